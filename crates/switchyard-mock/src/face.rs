//! Which API dialect ("face") a request speaks, decided from its path, and the few request facts
//! replies adapt to.

use serde::Deserialize;
use std::borrow::Cow;

/// The API dialect a request is addressed to, decided from the request path alone.
///
/// Every face renders [`Body::Message`](crate::Body::Message),
/// [`Body::EmptyMessage`](crate::Body::EmptyMessage) and [`Body::Error`](crate::Body::Error)
/// in its dialect. Raw bodies (`json`, `raw`, `sse`, `empty`, `hangup`) work for every face.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Face {
    /// Anthropic Messages API (`/v1/messages`, `/v1/messages/count_tokens`, `/v1/models`), and
    /// every path no other face claims.
    Anthropic,
    /// OpenAI Chat Completions (`.../chat/completions`).
    OpenAi,
    /// Gemini (`.../models/{m}:generateContent`, `...:streamGenerateContent`).
    Gemini,
    /// OpenAI Responses (`.../responses`).
    OpenAiResponses,
}

impl Face {
    /// Every face, one per provider kind Switchyard speaks to.
    pub const ALL: [Face; 4] = [
        Face::Anthropic,
        Face::OpenAi,
        Face::Gemini,
        Face::OpenAiResponses,
    ];

    /// The face serving a Switchyard provider kind, by the kind's config name (`anthropic`,
    /// `openai`, `gemini`, `openai-responses`): tests iterate over the engine's kinds and ask for their faces here,
    /// so a kind without a face fails them.
    pub fn for_kind(name: &str) -> Option<Face> {
        Face::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The opening of a healthy streamed answer saying `text`, in this face's dialect: the
    /// frames up to and including the first content, nothing that ends the message.
    pub fn stream_opening(self, text: &str) -> Vec<crate::Step> {
        use serde_json::json;
        match self {
            Face::OpenAi => vec![crate::Step::data(json!({
                "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": text},
                             "finish_reason": null}]
            }))],
            Face::Gemini => vec![crate::Step::data(json!({
                "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}]
            }))],
            Face::OpenAiResponses => {
                let r = json!({"id": "resp_1", "object": "response", "created_at": 1,
                    "status": "in_progress", "model": "m", "output": []});
                let item = json!({"id": "msg_1", "type": "message", "status": "in_progress",
                    "role": "assistant", "content": []});
                let ev = |n: u64, ty: &str, mut v: serde_json::Value| {
                    v["type"] = json!(ty);
                    v["sequence_number"] = json!(n);
                    crate::Step::event(ty, v)
                };
                vec![
                    ev(0, "response.created", json!({"response": r})),
                    ev(1, "response.in_progress", json!({"response": r})),
                    ev(
                        2,
                        "response.output_item.added",
                        json!({"output_index": 0, "item": item}),
                    ),
                    ev(
                        3,
                        "response.content_part.added",
                        json!({"item_id": "msg_1", "output_index": 0,
                        "content_index": 0, "part": {"type": "output_text", "annotations": [], "text": ""}}),
                    ),
                    ev(
                        4,
                        "response.output_text.delta",
                        json!({"item_id": "msg_1", "output_index": 0,
                        "content_index": 0, "delta": text, "logprobs": []}),
                    ),
                ]
            }
            Face::Anthropic => {
                let mut steps = crate::anthropic_stream_events("m", &[text, "."], "end_turn", 2);
                steps.truncate(4);
                steps
            }
        }
    }

    /// A 200 stream whose first event is a server error, in this face's dialect.
    pub fn in_band_error(self) -> crate::Reply {
        use serde_json::json;
        match self {
            Face::OpenAi => crate::Reply::sse([crate::Step::data(json!({
                "error": {"message": "Internal server error", "type": "server_error"}
            }))]),
            Face::Gemini => crate::Reply::sse([crate::Step::data(json!({
                "error": {"code": 500, "message": "Internal error", "status": "INTERNAL"}
            }))]),
            Face::OpenAiResponses => crate::Reply::sse([crate::Step::event(
                "error",
                json!({"type": "error", "code": "server_error", "message": "Internal server error",
                       "param": null, "sequence_number": 0}),
            )]),
            Face::Anthropic => {
                crate::Reply::sse([crate::error_event("api_error", "Internal server error")])
            }
        }
    }

    /// The face a request path is addressed to. Prefixes are allowed (`/anthropic/v1/messages`).
    pub fn from_path(path: &str) -> Face {
        if path.ends_with("/chat/completions") {
            Face::OpenAi
        } else if path.ends_with("/responses") {
            Face::OpenAiResponses
        } else if path.ends_with(":generateContent") || path.ends_with(":streamGenerateContent") {
            Face::Gemini
        } else {
            Face::Anthropic
        }
    }

    /// A short lowercase name, the provider kind's config name (`anthropic`, `openai`, `gemini`,
    /// `openai-responses`).
    pub fn name(self) -> &'static str {
        match self {
            Face::Anthropic => "anthropic",
            Face::OpenAi => "openai",
            Face::Gemini => "gemini",
            Face::OpenAiResponses => "openai-responses",
        }
    }
}

/// Which endpoint of its face a request hits, for the endpoints that have a built-in default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST .../messages/count_tokens`.
    CountTokens,
    /// `GET .../models`.
    ListModels,
    /// `GET .../models/{id}`.
    GetModel(String),
    /// Anything else (messages, unknown paths).
    Other,
}

impl Endpoint {
    /// The endpoint of an Anthropic-face request.
    pub(crate) fn anthropic(method: &http::Method, path: &str) -> Endpoint {
        let trimmed = path.trim_end_matches('/');
        if *method == http::Method::POST && trimmed.ends_with("/messages/count_tokens") {
            Endpoint::CountTokens
        } else if *method == http::Method::GET && trimmed.ends_with("/models") {
            Endpoint::ListModels
        } else if *method == http::Method::GET {
            match trimmed.rsplit_once("/models/") {
                Some((_, id)) if !id.is_empty() && !id.contains('/') => {
                    Endpoint::GetModel(id.to_owned())
                }
                _ => Endpoint::Other,
            }
        } else {
            Endpoint::Other
        }
    }
}

/// The request facts a reply adapts to.
#[derive(Clone, Debug)]
pub(crate) struct RequestInfo {
    /// The dialect.
    pub face: Face,
    /// The model the client asked for (`claude-mock` when absent).
    pub model: String,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// OpenAI face: the request has `stream_options.include_usage: true`.
    pub include_usage: bool,
    /// Request body length / 4, at least 1.
    pub input_tokens: u64,
}

/// Only the fields we need; everything else in the body is skipped without being built.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    stream_options: Option<StreamOptions>,
}

/// OpenAI's `stream_options`.
#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

impl RequestInfo {
    /// Reads the facts from a request's path and body.
    pub(crate) fn new(face: Face, path: &str, body: &[u8]) -> RequestInfo {
        let peek = serde_json::from_slice::<Peek<'_>>(body).ok();
        let (body_model, body_stream, include_usage) = match peek {
            Some(p) => (
                p.model.map(Cow::into_owned),
                p.stream.unwrap_or(false),
                p.stream_options.is_some_and(|o| o.include_usage),
            ),
            None => (None, false, false),
        };
        let (model, stream) = match face {
            Face::Gemini => {
                let model = path
                    .rsplit_once("/models/")
                    .and_then(|(_, rest)| rest.split_once(':'))
                    .map(|(m, _)| m.to_owned());
                (model, path.ends_with(":streamGenerateContent"))
            }
            _ => (body_model, body_stream),
        };
        RequestInfo {
            face,
            model: model.unwrap_or_else(|| "claude-mock".to_owned()),
            stream,
            include_usage,
            input_tokens: (body.len() as u64 / 4).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faces_from_paths() {
        assert_eq!(Face::from_path("/v1/messages"), Face::Anthropic);
        assert_eq!(Face::from_path("/anthropic/v1/messages"), Face::Anthropic);
        assert_eq!(Face::from_path("/whatever"), Face::Anthropic);
        assert_eq!(Face::from_path("/v1/chat/completions"), Face::OpenAi);
        assert_eq!(Face::from_path("/v1/responses"), Face::OpenAiResponses);
        assert_eq!(
            Face::from_path("/v1beta/models/gemini-2.5-pro:streamGenerateContent"),
            Face::Gemini
        );
    }

    #[test]
    fn endpoints() {
        let get = http::Method::GET;
        let post = http::Method::POST;
        assert_eq!(
            Endpoint::anthropic(&post, "/v1/messages/count_tokens"),
            Endpoint::CountTokens
        );
        assert_eq!(
            Endpoint::anthropic(&get, "/v1/models"),
            Endpoint::ListModels
        );
        assert_eq!(
            Endpoint::anthropic(&get, "/v1/models/claude-x"),
            Endpoint::GetModel("claude-x".into())
        );
        assert_eq!(Endpoint::anthropic(&post, "/v1/messages"), Endpoint::Other);
    }

    #[test]
    fn request_info() {
        let body = br#"{"model":"claude-haiku","stream":true,"messages":[]}"#;
        let info = RequestInfo::new(Face::Anthropic, "/v1/messages", body);
        assert_eq!(info.model, "claude-haiku");
        assert!(info.stream);
        assert_eq!(info.input_tokens, body.len() as u64 / 4);
        let info = RequestInfo::new(Face::Anthropic, "/v1/messages", b"not json");
        assert_eq!(info.model, "claude-mock");
        assert!(!info.stream);
        let info = RequestInfo::new(
            Face::Gemini,
            "/v1beta/models/gemini-x:streamGenerateContent",
            b"{}",
        );
        assert_eq!(info.model, "gemini-x");
        assert!(info.stream);
    }
}
