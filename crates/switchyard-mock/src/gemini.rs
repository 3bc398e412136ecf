//! The Gemini face: [`Body::Message`](crate::Body::Message),
//! [`Body::EmptyMessage`](crate::Body::EmptyMessage) and [`Body::Error`](crate::Body::Error)
//! rendered as Google's Gemini API (PROTOCOL.md §4).
//!
//! - JSON (`...:generateContent`): `{"candidates":[{"content":{"role":"model","parts":[..]},
//!   "finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount","candidatesTokenCount",
//!   "totalTokenCount","thoughtsTokenCount"?},"modelVersion","responseId"}`. Thinking is a
//!   `{"text":..,"thought":true}` part, the text a `{"text":..}` part, the tool call a
//!   `{"functionCall":{"name","args"},"thoughtSignature":"mock_thought_signature_N"}` part.
//!   Gemini 3 models (the model in the path starts with `gemini-3`) give the call an `id` (the
//!   scripted tool id, else `gm3call_N`), as Gemini 3 does; Gemini 2.5 calls have none.
//! - Stream (`...:streamGenerateContent`, whatever the query): data-only SSE frames, each a
//!   whole response chunk: one per thinking word, one per text piece (as the Anthropic face
//!   splits them), one with the call; the last chunk carries `finishReason` and the full
//!   usage, earlier ones `promptTokenCount` only. No `[DONE]`. `chunk_delay_ms` separates
//!   chunks.
//! - Errors: `{"error":{"code":N,"message":M,"status":S}}`; `S` is the reply's `error_type`
//!   when that is a Google status name (upper case, e.g. `RESOURCE_EXHAUSTED`), else derived
//!   from the HTTP status (429 `RESOURCE_EXHAUSTED`, 503 `UNAVAILABLE`, ...).
//!
//! Stop reasons map to finish reasons: `end_turn` / `tool_use` / `stop_sequence` -> `STOP`,
//! `max_tokens` -> `MAX_TOKENS`, `refusal` -> `SAFETY`; an upper-case value is sent as is (to
//! script `RECITATION`, `MALFORMED_FUNCTION_CALL`, ...).
//!
//! Output tokens (given or estimated as the Anthropic face does) split into
//! `thoughtsTokenCount` (the thinking's words, when there is thinking) and
//! `candidatesTokenCount` (the rest), so they add up to what the Anthropic face reports.

use crate::anthropic::{split_text, to_json, MessageCtx, MessageSpec};
use crate::body::Op;
use crate::face::RequestInfo;
use crate::reply::Body;
use crate::sse::sse_frame;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

/// What the face renders.
pub(crate) enum Rendered {
    /// A JSON body.
    Json(Bytes),
    /// An SSE stream.
    Stream(Vec<Op>),
}

/// Renders a model-answer or error body for a Gemini-face request; `None` for the raw body
/// types, which every face sends as they are.
pub(crate) fn render(body: &Body, status: u16, info: &RequestInfo, id: u64) -> Option<Rendered> {
    let ctx = MessageCtx {
        model: &info.model,
        id,
        input_tokens: info.input_tokens,
    };
    let spec = match MessageSpec::of_message(body) {
        Some(spec) => spec,
        None => match body {
            Body::Error {
                error_type,
                message,
            } => {
                return Some(Rendered::Json(error_json(
                    status,
                    error_type.as_deref(),
                    message,
                )))
            }
            _ => return None,
        },
    };
    Some(if info.stream {
        Rendered::Stream(stream_ops(&spec, &ctx))
    } else {
        Rendered::Json(Bytes::from(to_json(&response(
            &spec,
            &ctx,
            &Resolved::new(&spec, &ctx),
        ))))
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Response<'a> {
    candidates: Vec<Candidate<'a>>,
    usage_metadata: UsageMeta,
    model_version: &'a str,
    response_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Candidate<'a> {
    content: Content<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finish_reason: Option<&'a str>,
    index: u32,
}

#[derive(Serialize)]
struct Content<'a> {
    role: &'static str,
    parts: Vec<Part<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Part<'a> {
    Text {
        text: &'a str,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        thought: bool,
    },
    Call {
        #[serde(rename = "functionCall")]
        function_call: Call<'a>,
        #[serde(rename = "thoughtSignature")]
        thought_signature: &'a str,
    },
}

#[derive(Serialize)]
struct Call<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    name: &'a str,
    args: &'a Value,
}

#[derive(Serialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
struct UsageMeta {
    prompt_token_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    candidates_token_count: Option<u64>,
    total_token_count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    thoughts_token_count: Option<u64>,
}

/// Facts shared by the JSON and stream renderings.
struct Resolved {
    /// The call's id (Gemini 3 models only).
    call_id: Option<String>,
    response_id: String,
    signature: String,
    finish: String,
    usage: UsageMeta,
}

impl Resolved {
    fn new(spec: &MessageSpec<'_>, ctx: &MessageCtx<'_>) -> Resolved {
        let words = |s: &str| s.split_whitespace().count() as u64;
        let args_len = spec.tool_use.map_or(0, |t| to_json(&t.input).len() as u64);
        let has_content =
            !spec.text.is_empty() || spec.thinking.is_some() || spec.tool_use.is_some();
        let estimate = words(spec.text) + spec.thinking.map_or(0, words) + args_len / 4;
        let output = spec
            .output_tokens
            .unwrap_or(if has_content { estimate.max(1) } else { 0 });
        let thoughts = spec.thinking.map(|t| words(t).min(output));
        let candidates = output - thoughts.unwrap_or(0);
        let stop = spec.stop_reason.unwrap_or("end_turn");
        let finish = match stop {
            "end_turn" | "tool_use" | "stop_sequence" => "STOP".to_owned(),
            "max_tokens" => "MAX_TOKENS".to_owned(),
            "refusal" => "SAFETY".to_owned(),
            s if !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') => {
                s.to_owned()
            }
            _ => "STOP".to_owned(),
        };
        let call_id = spec
            .tool_use
            .filter(|_| ctx.model.starts_with("gemini-3"))
            .map(|t| match t.id.as_str() {
                "" => format!("gm3call_{}", ctx.id),
                id => id.to_owned(),
            });
        Resolved {
            call_id,
            response_id: format!("mock_resp_{}", ctx.id),
            signature: format!("mock_thought_signature_{}", ctx.id),
            finish,
            usage: UsageMeta {
                prompt_token_count: ctx.input_tokens,
                candidates_token_count: Some(candidates),
                total_token_count: ctx.input_tokens + output,
                thoughts_token_count: thoughts,
            },
        }
    }

    /// The usage of a chunk before the last: the prompt only.
    fn early_usage(&self) -> UsageMeta {
        UsageMeta {
            prompt_token_count: self.usage.prompt_token_count,
            candidates_token_count: None,
            total_token_count: self.usage.prompt_token_count,
            thoughts_token_count: None,
        }
    }
}

fn parts<'a>(spec: &MessageSpec<'a>, r: &'a Resolved) -> Vec<Part<'a>> {
    let mut out = Vec::new();
    if let Some(thinking) = spec.thinking {
        out.push(Part::Text {
            text: thinking,
            thought: true,
        });
    }
    if !spec.text.is_empty() {
        out.push(Part::Text {
            text: spec.text,
            thought: false,
        });
    }
    if let Some(tool) = spec.tool_use {
        out.push(Part::Call {
            function_call: Call {
                id: r.call_id.as_deref(),
                name: &tool.name,
                args: &tool.input,
            },
            thought_signature: &r.signature,
        });
    }
    out
}

fn response<'a>(spec: &MessageSpec<'a>, ctx: &MessageCtx<'a>, r: &'a Resolved) -> Response<'a> {
    chunk(ctx, r, parts(spec, r), Some(&r.finish), r.usage)
}

fn chunk<'a>(
    ctx: &MessageCtx<'a>,
    r: &'a Resolved,
    parts: Vec<Part<'a>>,
    finish: Option<&'a str>,
    usage: UsageMeta,
) -> Response<'a> {
    Response {
        candidates: vec![Candidate {
            content: Content {
                role: "model",
                parts,
            },
            finish_reason: finish,
            index: 0,
        }],
        usage_metadata: usage,
        model_version: ctx.model,
        response_id: &r.response_id,
    }
}

/// The stream as body operations.
fn stream_ops(spec: &MessageSpec<'_>, ctx: &MessageCtx<'_>) -> Vec<Op> {
    let r = Resolved::new(spec, ctx);
    let mut pieces: Vec<Vec<Part<'_>>> = Vec::new();
    if let Some(thinking) = spec.thinking {
        for text in split_text(thinking, None) {
            pieces.push(vec![Part::Text {
                text,
                thought: true,
            }]);
        }
    }
    for text in split_text(spec.text, spec.chunks) {
        pieces.push(vec![Part::Text {
            text,
            thought: false,
        }]);
    }
    if let Some(tool) = spec.tool_use {
        pieces.push(vec![Part::Call {
            function_call: Call {
                id: r.call_id.as_deref(),
                name: &tool.name,
                args: &tool.input,
            },
            thought_signature: &r.signature,
        }]);
    }
    if pieces.is_empty() {
        pieces.push(Vec::new());
    }
    let n = pieces.len();
    let mut ops = Vec::with_capacity(n * 2);
    for (i, parts) in pieces.into_iter().enumerate() {
        if i > 0 && spec.chunk_delay_ms > 0 {
            ops.push(Op::Delay(spec.chunk_delay_ms));
        }
        let last = i + 1 == n;
        let (finish, usage) = if last {
            (Some(r.finish.as_str()), r.usage)
        } else {
            (None, r.early_usage())
        };
        let json = to_json(&chunk(ctx, &r, parts, finish, usage));
        ops.push(Op::Send(sse_frame(None, &json)));
    }
    ops
}

/// The Google status name for an HTTP status.
pub(crate) fn google_status(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        s if s >= 500 => "INTERNAL",
        s if s >= 400 => "FAILED_PRECONDITION",
        _ => "UNKNOWN",
    }
}

/// `{"error":{"code":N,"message":M,"status":S}}`.
fn error_json(status: u16, error_type: Option<&str>, message: &str) -> Bytes {
    #[derive(Serialize)]
    struct Inner<'a> {
        code: u16,
        message: &'a str,
        status: &'a str,
    }
    #[derive(Serialize)]
    struct Outer<'a> {
        error: Inner<'a>,
    }
    let google = error_type
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
        .unwrap_or_else(|| google_status(status));
    Bytes::from(to_json(&Outer {
        error: Inner {
            code: status,
            message,
            status: google,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::Face;
    use crate::reply::Reply;
    use serde_json::json;

    fn info(stream: bool) -> RequestInfo {
        let path = if stream {
            "/v1beta/models/gemini-2.5-pro:streamGenerateContent"
        } else {
            "/v1beta/models/gemini-2.5-pro:generateContent"
        };
        RequestInfo::new(Face::Gemini, path, &[b'x'; 40])
    }

    fn json_of(r: Option<Rendered>) -> Value {
        match r {
            Some(Rendered::Json(b)) => serde_json::from_slice(&b).expect("json"),
            _ => panic!("expected JSON"),
        }
    }

    fn frames(r: Option<Rendered>) -> Vec<Value> {
        let Some(Rendered::Stream(ops)) = r else {
            panic!("expected a stream")
        };
        ops.into_iter()
            .filter_map(|op| match op {
                Op::Send(b) => {
                    let text = String::from_utf8(b.to_vec()).expect("utf8");
                    assert!(
                        text.starts_with("data: ") && text.ends_with("\n\n"),
                        "{text}"
                    );
                    Some(serde_json::from_str(text["data: ".len()..].trim()).expect("json"))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn message_as_json() {
        let reply = Reply::text("Hello there")
            .with_thinking("hmm ok")
            .with_tool_use("", "get_weather", json!({"city": "Paris"}))
            .with_output_tokens(12);
        let v = json_of(render(&reply.body, 200, &info(false), 7));
        assert_eq!(
            v,
            json!({
                "candidates": [{"content": {"role": "model", "parts": [
                    {"text": "hmm ok", "thought": true},
                    {"text": "Hello there"},
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                     "thoughtSignature": "mock_thought_signature_7"}
                ]}, "finishReason": "STOP", "index": 0}],
                "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 10,
                    "totalTokenCount": 22, "thoughtsTokenCount": 2},
                "modelVersion": "gemini-2.5-pro",
                "responseId": "mock_resp_7"
            })
        );
        let v = json_of(render(
            &Reply::text("x").with_stop_reason("max_tokens").body,
            200,
            &info(false),
            1,
        ));
        assert_eq!(v["candidates"][0]["finishReason"], "MAX_TOKENS");
        let v = json_of(render(
            &Reply::text("x").with_stop_reason("RECITATION").body,
            200,
            &info(false),
            1,
        ));
        assert_eq!(v["candidates"][0]["finishReason"], "RECITATION");
    }

    #[test]
    fn message_as_stream() {
        let reply = Reply::text("a b c")
            .with_thinking("think")
            .with_tool_use("", "f", json!({}))
            .with_chunk_delay(5);
        let r = render(&reply.body, 200, &info(true), 3);
        let Some(Rendered::Stream(ops)) = &r else {
            panic!("stream")
        };
        assert!(ops.iter().any(|op| matches!(op, Op::Delay(5))));
        let f = frames(r);
        assert_eq!(f.len(), 5, "{f:?}");
        assert_eq!(
            f[0]["candidates"][0]["content"]["parts"][0],
            json!({"text": "think", "thought": true})
        );
        let text: String = f[1..4]
            .iter()
            .filter_map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str())
            .collect();
        assert_eq!(text, "a b c");
        assert!(f[..4]
            .iter()
            .all(|c| c["candidates"][0].get("finishReason").is_none()));
        assert_eq!(f[4]["candidates"][0]["finishReason"], "STOP");
        assert_eq!(
            f[4]["candidates"][0]["content"]["parts"][0]["thoughtSignature"],
            "mock_thought_signature_3"
        );
        assert!(f[4]["usageMetadata"]["candidatesTokenCount"].is_u64());
        assert!(f[0]["usageMetadata"].get("candidatesTokenCount").is_none());
        // An empty message: one chunk, no parts, 0 tokens.
        let f = frames(render(&Body::EmptyMessage, 200, &info(true), 4));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0]["candidates"][0]["content"]["parts"], json!([]));
        assert_eq!(f[0]["usageMetadata"]["candidatesTokenCount"], 0);
    }

    #[test]
    fn gemini_3_calls_carry_ids() {
        let g3 = RequestInfo::new(
            Face::Gemini,
            "/v1beta/models/gemini-3-pro:generateContent",
            b"{}",
        );
        let reply = Reply::text("").with_tool_use("", "f", json!({}));
        let v = json_of(render(&reply.body, 200, &g3, 5));
        assert_eq!(
            v["candidates"][0]["content"]["parts"][0]["functionCall"]["id"],
            "gm3call_5"
        );
        let v = json_of(render(&reply.body, 200, &info(false), 5));
        assert!(v["candidates"][0]["content"]["parts"][0]["functionCall"]
            .get("id")
            .is_none());
    }

    #[test]
    fn errors() {
        let v = json_of(render(
            &Reply::error(429, "slow down").body,
            429,
            &info(false),
            1,
        ));
        assert_eq!(
            v,
            json!({"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}})
        );
        let body = Body::Error {
            error_type: Some("UNAVAILABLE".into()),
            message: "m".into(),
        };
        assert_eq!(
            json_of(render(&body, 503, &info(true), 1))["error"]["status"],
            "UNAVAILABLE"
        );
        let body = Body::Error {
            error_type: Some("overloaded_error".into()),
            message: "m".into(),
        };
        assert_eq!(
            json_of(render(&body, 503, &info(false), 1))["error"]["status"],
            "UNAVAILABLE"
        );
        assert_eq!(google_status(400), "INVALID_ARGUMENT");
        assert_eq!(google_status(504), "DEADLINE_EXCEEDED");
        assert!(render(&Body::Hangup, 200, &info(false), 1).is_none());
    }
}
