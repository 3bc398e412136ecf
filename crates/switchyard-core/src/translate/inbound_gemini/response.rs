//! Hub answers -> Gemini `GenerateContentResponse`s, Gemini error bodies, model lists and
//! token counts.
//!
//! Parts: `thinking` -> `{"text", "thought": true}` (only when the client asked for thoughts),
//! `text` -> `{"text"}`, `tool_use` -> `{"functionCall": {"id", "name", "args"}}`. The thinking
//! blocks before a part ride on that part's `thoughtSignature`, packed (see `carrier`); when
//! nothing follows them, a last empty text part carries them, as Gemini itself ends streams.
//! `stop_reason` -> `finishReason`: `max_tokens` and `model_context_window_exceeded` ->
//! `MAX_TOKENS`, `refusal` -> `SAFETY`, everything else `STOP`. Usage: `promptTokenCount` is
//! every input token (cache reads and writes included), `cachedContentTokenCount` the reads,
//! `candidatesTokenCount` the output.

use serde_json::{json, Value};

use super::carrier;
use crate::protocol::anthropic::{parse_error, ErrorType};
use crate::translate::overflow;

/// Gemini's `finishReason` for an Anthropic `stop_reason`.
pub fn finish_reason(stop_reason: Option<&str>) -> &'static str {
    match stop_reason {
        Some("max_tokens") | Some("model_context_window_exceeded") => "MAX_TOKENS",
        Some("refusal") => "SAFETY",
        _ => "STOP",
    }
}

/// Input tokens (cache included), cache reads, output tokens of an Anthropic `usage`.
pub(super) fn tokens(u: &Value) -> (u64, u64, u64) {
    let n = |k: &str| u[k].as_u64().unwrap_or(0);
    let cached = n("cache_read_input_tokens");
    (
        n("input_tokens") + cached + n("cache_creation_input_tokens"),
        cached,
        n("output_tokens"),
    )
}

/// `usageMetadata`. `output: None` for chunks before the last (the prompt only).
pub(super) fn usage_metadata(prompt: u64, cached: u64, output: Option<u64>) -> Value {
    let mut u =
        json!({"promptTokenCount": prompt, "totalTokenCount": prompt + output.unwrap_or(0)});
    if let Some(o) = output {
        u["candidatesTokenCount"] = json!(o);
    }
    if cached > 0 {
        u["cachedContentTokenCount"] = json!(cached);
    }
    u
}

/// The `responseId` for an Anthropic message id.
pub(super) fn response_id(id: Option<&str>) -> String {
    id.map(|i| i.strip_prefix("msg_").unwrap_or(i).to_string())
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| "sy".to_string())
}

/// Turns hub blocks into parts, holding thinking until the part it leads to.
#[derive(Debug, Default)]
pub(super) struct Parts {
    include_thoughts: bool,
    held: Vec<Value>,
}

impl Parts {
    pub(super) fn new(include_thoughts: bool) -> Self {
        Parts {
            include_thoughts,
            held: Vec::new(),
        }
    }

    /// A thought's text part, when the client wants it (`None` otherwise).
    pub(super) fn thought(&self, text: &str) -> Option<Value> {
        // " " is the text of a thinking block that only carries a signature.
        (self.include_thoughts && !text.trim().is_empty())
            .then(|| json!({"text": text, "thought": true}))
    }

    /// A finished thinking or redacted-thinking block: carried by the next part.
    pub(super) fn hold(&mut self, block: Value) {
        self.held.push(block);
    }

    /// `part` with the held thinking as its signature.
    pub(super) fn sign(&mut self, mut part: Value) -> Value {
        if let Some(sig) = carrier::pack(&std::mem::take(&mut self.held)) {
            part["thoughtSignature"] = json!(sig);
        }
        part
    }

    /// A last part for thinking that nothing followed.
    pub(super) fn rest(&mut self) -> Option<Value> {
        let sig = carrier::pack(&std::mem::take(&mut self.held))?;
        Some(json!({"text": "", "thoughtSignature": sig}))
    }

    /// A tool call's part.
    pub(super) fn call(&mut self, id: &str, name: &str, args: Value) -> Value {
        let args = if args.is_object() { args } else { json!({}) };
        self.sign(json!({"functionCall": {"id": id, "name": name, "args": args}}))
    }
}

/// A whole Anthropic message -> a `GenerateContentResponse` answering `model`.
pub fn answer(msg: &Value, model: &str, include_thoughts: bool) -> Value {
    let mut p = Parts::new(include_thoughts);
    let mut parts = Vec::new();
    for b in msg["content"].as_array().into_iter().flatten() {
        match b["type"].as_str() {
            Some("thinking") => {
                if let Some(t) = p.thought(b["thinking"].as_str().unwrap_or("")) {
                    parts.push(t);
                }
                p.hold(b.clone());
            }
            Some("redacted_thinking") => p.hold(b.clone()),
            Some("text") => {
                let t = b["text"].as_str().unwrap_or("");
                if !t.is_empty() {
                    parts.push(p.sign(json!({"text": t})));
                }
            }
            Some("tool_use") if b["name"].as_str().is_some_and(|n| !n.is_empty()) => {
                parts.push(p.call(
                    b["id"].as_str().unwrap_or(""),
                    b["name"].as_str().unwrap_or(""),
                    b["input"].clone(),
                ))
            }
            _ => {}
        }
    }
    parts.extend(p.rest());
    let (prompt, cached, output) = tokens(&msg["usage"]);
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": parts},
            "finishReason": finish_reason(msg["stop_reason"].as_str()),
            "index": 0,
        }],
        "usageMetadata": usage_metadata(prompt, cached, Some(output)),
        "modelVersion": model,
        "responseId": response_id(msg["id"].as_str()),
    })
}

/// Google's status name for an HTTP status.
pub fn google_status(code: u16) -> &'static str {
    match code {
        400 | 413 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        402 => "FAILED_PRECONDITION",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        500..=599 => "INTERNAL",
        _ => "FAILED_PRECONDITION",
    }
}

/// The HTTP status a Gemini client gets for ours: Anthropic's 529 (overloaded) is Google's
/// 503, which Gemini clients retry.
pub fn gemini_status(status: u16) -> u16 {
    if status == 529 {
        503
    } else {
        status
    }
}

/// `{"error":{"code","message","status"}}`, with a `RetryInfo` detail when the retry delay is
/// known: Gemini CLI waits for exactly that long before it retries a 429.
pub fn error_body(status: u16, message: &str, retry_after_secs: Option<u64>) -> Value {
    let code = gemini_status(status);
    let mut e = json!({"code": code, "message": message, "status": google_status(code)});
    if let Some(s) = retry_after_secs {
        e["details"] = json!([{
            "@type": "type.googleapis.com/google.rpc.RetryInfo",
            "retryDelay": format!("{s}s"),
        }]);
    }
    json!({ "error": e })
}

/// The HTTP status and Google error body for an Anthropic error body (or event data); `None`
/// when it is not one. A context overflow is worded as Gemini words its own.
pub fn from_anthropic_error(
    status: u16,
    text: &[u8],
    retry_after: Option<u64>,
) -> Option<(u16, Value)> {
    let v: Value = serde_json::from_slice(text).ok()?;
    if v.get("type").and_then(Value::as_str) != Some("error") {
        return None;
    }
    let (kind, message) = parse_error(text)?;
    let status = if status < 400 {
        kind.map_or(500, ErrorType::status)
    } else {
        status
    };
    let message = match overflow::parse(&message) {
        Some(o) if status == 400 => o.gemini_message(),
        _ => message,
    };
    Some((
        gemini_status(status),
        error_body(status, &message, retry_after),
    ))
}

/// The model list (`GET /v1beta/models`).
pub fn model_list(ids: &[(String, Option<String>)]) -> Value {
    let models: Vec<Value> = ids
        .iter()
        .map(|(id, name)| model_object(id, name.as_deref()))
        .collect();
    json!({ "models": models })
}

/// One model (`GET /v1beta/models/{model}`).
pub fn model_object(id: &str, display_name: Option<&str>) -> Value {
    json!({
        "name": format!("models/{id}"),
        "version": "001",
        "displayName": display_name.unwrap_or(id),
        "description": "Served through Switchyard",
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
    })
}

/// `countTokens`'s answer for an Anthropic `{"input_tokens": N}`.
pub fn count_answer(body: &[u8]) -> Option<Value> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let n = v.get("input_tokens")?.as_u64()?;
    Some(json!({"totalTokens": n}))
}
