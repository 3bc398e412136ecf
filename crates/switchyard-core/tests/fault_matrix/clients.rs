//! The client dialects the fault matrix speaks. Each sends a row's request in its own dialect
//! and judges the answer by its own dialect's rules; a new inbound dialect is a new variant
//! here, and every provider kind × fault row runs for it.

use serde_json::{json, Value};
use switchyard_core::translate::check::check_anthropic_stream;
use switchyard_core::translate::inbound_gemini::check_gemini_stream;
use switchyard_core::translate::inbound_responses::check_responses_stream;

use crate::common::{self, Env, Resp, CLIENT_KEY};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// `POST /v1/messages` (the hub dialect itself).
    Anthropic,
    /// `POST /v1beta/models/{model}:generateContent` / `:streamGenerateContent?alt=sse`.
    Gemini,
    /// `POST /v1/responses` (Codex CLI, the OpenAI SDKs' `responses`).
    Responses,
    /// `POST /v1/chat/completions` (SillyTavern, the OpenAI SDKs' `chat.completions`).
    Chat,
}

/// Every client dialect the matrix runs.
pub const CLIENTS: [Client; 4] = [
    Client::Anthropic,
    Client::Gemini,
    Client::Responses,
    Client::Chat,
];

/// The `data:` payloads of a Chat Completions stream, in order (`[DONE]` as a string).
fn chat_data(text: &str) -> Vec<&str> {
    text.split("\n\n")
        .filter_map(|f| f.strip_prefix("data: "))
        .collect()
}

/// A Chat Completions stream as the OpenAI SDK reads it: every payload a JSON object; chunks
/// of one completion (`chat.completion.chunk`, one id) ending either with exactly one chunk
/// that has a `finish_reason` and then `[DONE]`, or with an `{"error":...}` object and nothing
/// after it (no `[DONE]`: a cut answer is not a finished one).
fn check_chat_stream(bytes: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let data = chat_data(text);
    let Some((last, body)) = data.split_last() else {
        return Err("no data lines".into());
    };
    let mut id: Option<String> = None;
    let mut finished = 0;
    for d in body {
        let v: Value = serde_json::from_str(d).map_err(|e| format!("{d}: {e}"))?;
        if v.get("error").is_some() {
            return Err(format!("an error chunk before the end: {d}"));
        }
        if v["object"] != "chat.completion.chunk" {
            return Err(format!("not a chunk: {d}"));
        }
        let this = v["id"].as_str().unwrap_or_default().to_string();
        if id.get_or_insert_with(|| this.clone()) != &this {
            return Err(format!("the id changed: {d}"));
        }
        let choices = v["choices"].as_array().cloned().unwrap_or_default();
        finished += choices
            .iter()
            .filter(|c| !c["finish_reason"].is_null())
            .count();
    }
    if *last == "[DONE]" {
        return match finished {
            1 => Ok(()),
            n => Err(format!("{n} chunks with a finish_reason before [DONE]")),
        };
    }
    let v: Value = serde_json::from_str(last).map_err(|e| format!("{last}: {e}"))?;
    if v.get("error").is_none() {
        return Err(format!("ends with neither [DONE] nor an error: {last}"));
    }
    match finished {
        0 => Ok(()),
        _ => Err("an error after the finish chunk".into()),
    }
}

/// The text a Chat Completions client assembles from a stream's deltas.
fn chat_stream_text(text: &str) -> String {
    chat_data(text)
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(String::from)
        })
        .collect()
}

/// Google's status for an Anthropic error type, as a Gemini client gets it.
fn google_status(anthropic_type: &str) -> &'static str {
    match anthropic_type {
        "timeout_error" => "DEADLINE_EXCEEDED",
        "overloaded_error" => "UNAVAILABLE",
        "rate_limit_error" => "RESOURCE_EXHAUSTED",
        "authentication_error" => "UNAUTHENTICATED",
        "api_error" => "INTERNAL",
        _ => "INVALID_ARGUMENT",
    }
}

/// The data frames of a Gemini stream, as JSON.
fn gemini_frames(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|f| f.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

/// The text of a Responses `response` object's message items.
fn responses_text(v: &Value) -> String {
    v["output"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["text"].as_str().map(String::from))
        .collect()
}

fn gemini_text(v: &Value) -> String {
    v["candidates"][0]["content"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["thought"] != true)
        .filter_map(|p| p["text"].as_str())
        .collect()
}

impl Client {
    /// The request body.
    pub fn payload(self, stream: bool) -> Value {
        match self {
            Client::Anthropic => common::body(stream),
            Client::Gemini => json!({
                "contents": [{"role": "user", "parts": [{"text": "hello"}]}],
                "generationConfig": {"maxOutputTokens": 64},
            }),
            Client::Responses => json!({
                "model": "claude-sonnet-4-5", "max_output_tokens": 64, "stream": stream,
                "store": false, "input": [{"role": "user", "content": "hello"}],
            }),
            Client::Chat => json!({
                "model": "claude-sonnet-4-5", "max_tokens": 64, "stream": stream,
                "messages": [{"role": "user", "content": "hello"}],
            }),
        }
    }

    /// The request, as the dialect's clients send it.
    pub fn request(self, e: &Env, stream: bool, bytes: Vec<u8>) -> reqwest::RequestBuilder {
        let r = match (self, stream) {
            (Client::Anthropic, _) => e
                .http
                .post(e.url("/v1/messages"))
                .header("x-api-key", CLIENT_KEY)
                .header("anthropic-version", "2023-06-01"),
            (Client::Gemini, true) => e
                .http
                .post(e.url("/v1beta/models/gemini-x:streamGenerateContent?alt=sse"))
                .header("x-goog-api-key", CLIENT_KEY),
            (Client::Gemini, false) => e
                .http
                .post(e.url("/v1beta/models/gemini-x:generateContent"))
                .header("x-goog-api-key", CLIENT_KEY),
            (Client::Responses, _) => e.http.post(e.url("/v1/responses")).bearer_auth(CLIENT_KEY),
            (Client::Chat, _) => e
                .http
                .post(e.url("/v1/chat/completions"))
                .bearer_auth(CLIENT_KEY),
        };
        r.header("content-type", "application/json").body(bytes)
    }

    /// A complete stream, valid by the dialect's rules.
    pub fn check_stream(self, bytes: &[u8]) -> Result<(), String> {
        match self {
            Client::Anthropic => check_anthropic_stream(bytes),
            Client::Gemini => check_gemini_stream(bytes),
            Client::Responses => check_responses_stream(bytes),
            Client::Chat => check_chat_stream(bytes),
        }
    }

    /// Does a stream's first chunk open the dialect's stream?
    pub fn opens_stream(self, first: &[u8]) -> bool {
        match self {
            Client::Anthropic => first.starts_with(b"event: message_start"),
            Client::Gemini => first.starts_with(b"data: {\"candidates\""),
            Client::Responses => first.starts_with(b"event: response.created"),
            Client::Chat => {
                first.starts_with(b"data: {")
                    && !first.starts_with(b"data: {\"error\"")
                    && first.windows(21).any(|w| w == b"chat.completion.chunk")
            }
        }
    }

    /// The text a client assembles from a stream.
    pub fn stream_text(self, r: &Resp) -> String {
        match self {
            Client::Anthropic => common::stream_text(r),
            Client::Gemini => gemini_frames(&r.text).iter().map(gemini_text).collect(),
            Client::Responses => r
                .events()
                .iter()
                .filter(|(n, _)| n == "response.output_text.delta")
                .filter_map(|(_, d)| d["delta"].as_str().map(String::from))
                .collect(),
            Client::Chat => chat_stream_text(&r.text),
        }
    }

    /// The text of a whole answer; `None` when it is not one.
    pub fn answer_text(self, r: &Resp) -> Option<String> {
        let v = r.json();
        match self {
            Client::Anthropic => (v["type"] == "message")
                .then(|| v["content"][0]["text"].as_str().unwrap_or("").to_string()),
            Client::Gemini => v.get("candidates").map(|_| gemini_text(&v)),
            Client::Responses => (v["object"] == "response").then(|| responses_text(&v)),
            Client::Chat => (v["object"] == "chat.completion").then(|| {
                v["choices"][0]["message"]["content"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            }),
        }
    }

    /// Whether the stream ends with an error of Anthropic type `ty` in the dialect's words.
    pub fn ends_with_error(self, r: &Resp, ty: &str) -> bool {
        match self {
            Client::Anthropic => r
                .events()
                .last()
                .is_some_and(|(n, d)| n == "error" && d["error"]["type"] == ty),
            Client::Gemini => gemini_frames(&r.text)
                .last()
                .is_some_and(|f| f["error"]["status"] == google_status(ty)),
            // `response.failed` keeps the Anthropic type beside OpenAI's code.
            Client::Responses => r.events().last().is_some_and(|(n, d)| {
                n == "response.failed" && d["response"]["error"]["type"] == ty
            }),
            // The Anthropic type is kept as OpenAI's `code`.
            Client::Chat => chat_data(&r.text)
                .last()
                .and_then(|d| serde_json::from_str::<Value>(d).ok())
                .is_some_and(|v| v["error"]["code"] == ty),
        }
    }

    /// Whether `v` is the dialect's error body for Anthropic type `ty`.
    pub fn is_error(self, v: &Value, ty: &str) -> bool {
        let has_message = |m: &Value| m.as_str().is_some_and(|m| !m.is_empty());
        match self {
            Client::Anthropic => {
                v["type"] == "error"
                    && v["error"]["type"] == ty
                    && has_message(&v["error"]["message"])
            }
            Client::Gemini => {
                v["error"]["status"] == google_status(ty)
                    && v["error"]["code"].is_u64()
                    && has_message(&v["error"]["message"])
            }
            // OpenAI's shape: the type, or (for types OpenAI has no name for) the code.
            Client::Responses | Client::Chat => {
                v.get("type").is_none()
                    && (v["error"]["type"] == ty || v["error"]["code"] == ty)
                    && v["error"].get("param").is_some()
                    && has_message(&v["error"]["message"])
            }
        }
    }
}
