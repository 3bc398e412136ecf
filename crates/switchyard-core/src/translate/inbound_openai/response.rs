//! Anthropic message -> `chat.completion`, and errors in OpenAI's shape.

use serde_json::{json, Value};

use crate::protocol::anthropic::{parse_error, ErrorType};

/// Anthropic `stop_reason` -> OpenAI `finish_reason`.
pub fn finish_reason(stop_reason: Option<&str>, has_tool_calls: bool) -> &'static str {
    if has_tool_calls {
        return "tool_calls";
    }
    match stop_reason {
        Some("max_tokens") | Some("model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    }
}

/// Anthropic `usage` -> OpenAI `usage`. Anthropic's `input_tokens` excludes cache reads and
/// writes; OpenAI's `prompt_tokens` includes them, with reads as `cached_tokens`.
pub fn usage(u: &Value) -> Value {
    let n = |k: &str| u[k].as_u64().unwrap_or(0);
    let cached = n("cache_read_input_tokens");
    let prompt = n("input_tokens") + cached + n("cache_creation_input_tokens");
    let completion = n("output_tokens");
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    })
}

/// `chatcmpl-…` from an Anthropic message id.
pub(super) fn completion_id(message_id: Option<&str>) -> String {
    match message_id {
        Some(id) if !id.is_empty() => format!("chatcmpl-{}", id.strip_prefix("msg_").unwrap_or(id)),
        _ => format!("chatcmpl-sy{}", now()),
    }
}

pub(super) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A whole Anthropic message -> a `chat.completion` for `model` (the client's model name).
pub fn completion(msg: &Value, model: &str) -> Value {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for b in msg["content"].as_array().into_iter().flatten() {
        match b["type"].as_str() {
            Some("text") => text.push_str(b["text"].as_str().unwrap_or("")),
            Some("thinking") => reasoning.push_str(b["thinking"].as_str().unwrap_or("")),
            Some("tool_use") => calls.push(json!({
                "id": b["id"],
                "type": "function",
                "function": {
                    "name": b["name"],
                    "arguments": b["input"].to_string(),
                },
            })),
            _ => {}
        }
    }
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { Value::String(text) },
        "refusal": null,
    });
    if !reasoning.is_empty() {
        message["reasoning_content"] = Value::String(reasoning);
    }
    let finish = finish_reason(msg["stop_reason"].as_str(), !calls.is_empty());
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    json!({
        "id": completion_id(msg["id"].as_str()),
        "object": "chat.completion",
        "created": now(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish,
        }],
        "usage": usage(&msg["usage"]),
        "system_fingerprint": null,
    })
}

/// OpenAI's `error.type` for an HTTP status.
fn error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        402 => "insufficient_quota",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        400..=499 => "invalid_request_error",
        _ => "server_error",
    }
}

/// `{"error":{"message","type","param","code"}}` for `status`.
pub fn error_body(status: u16, message: &str, param: Option<&str>, code: Option<&str>) -> Value {
    json!({
        "error": {
            "message": message,
            "type": error_type(status),
            "param": param,
            "code": code,
        }
    })
}

/// An Anthropic error body or event data -> the OpenAI shape; `None` when the text is not an
/// Anthropic error. The Anthropic error type becomes `code`, so nothing is lost.
pub fn from_anthropic_error(status: u16, text: &[u8]) -> Option<Value> {
    let v: Value = serde_json::from_slice(text).ok()?;
    if v.get("type").and_then(Value::as_str) != Some("error") {
        return None;
    }
    let (kind, message) = parse_error(text)?;
    if let Some(o) = crate::translate::overflow::parse(&message).filter(|_| status == 400) {
        // OpenAI clients know an overflow by this code and wording.
        return Some(error_body(
            400,
            &o.openai_message(),
            Some("messages"),
            Some("context_length_exceeded"),
        ));
    }
    let code = v["error"]["type"].as_str().map(String::from);
    let status = if status < 400 {
        kind.map_or(500, ErrorType::status)
    } else {
        status
    };
    Some(error_body(status, &message, None, code.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_thinking_and_tool_calls() {
        let msg = json!({
            "id": "msg_01abc", "type": "message", "role": "assistant", "model": "up",
            "content": [
                {"type": "thinking", "thinking": "let me see", "signature": "s"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 90, "cache_creation_input_tokens": 3},
        });
        let c = completion(&msg, "claude-sonnet-4-5");
        assert_eq!(c["object"], "chat.completion");
        assert_eq!(c["id"], "chatcmpl-01abc");
        assert_eq!(c["model"], "claude-sonnet-4-5");
        let m = &c["choices"][0]["message"];
        assert_eq!(m["role"], "assistant");
        assert_eq!(m["content"], "Checking.");
        assert_eq!(m["reasoning_content"], "let me see");
        assert_eq!(m["tool_calls"][0]["id"], "toolu_1");
        assert_eq!(m["tool_calls"][0]["type"], "function");
        assert_eq!(m["tool_calls"][0]["function"]["name"], "get_weather");
        let args: Value = serde_json::from_str(
            m["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(args, json!({"city": "Paris"}));
        assert_eq!(m["tool_calls"][1]["function"]["arguments"], "{}");
        assert_eq!(c["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(c["usage"]["prompt_tokens"], 103);
        assert_eq!(c["usage"]["completion_tokens"], 5);
        assert_eq!(c["usage"]["total_tokens"], 108);
        assert_eq!(c["usage"]["prompt_tokens_details"]["cached_tokens"], 90);
    }

    #[test]
    fn content_is_null_only_beside_tool_calls() {
        let only_tool = json!({"content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}], "stop_reason": "tool_use"});
        assert_eq!(
            completion(&only_tool, "m")["choices"][0]["message"]["content"],
            Value::Null
        );
        let empty = json!({"content": [], "stop_reason": "end_turn"});
        let c = completion(&empty, "m");
        assert_eq!(c["choices"][0]["message"]["content"], "");
        assert!(c["choices"][0]["message"].get("tool_calls").is_none());
        assert!(c["choices"][0]["message"]
            .get("reasoning_content")
            .is_none());
    }

    #[test]
    fn finish_reasons() {
        for (stop, tools, want) in [
            (Some("end_turn"), false, "stop"),
            (Some("stop_sequence"), false, "stop"),
            (Some("pause_turn"), false, "stop"),
            (None, false, "stop"),
            (Some("max_tokens"), false, "length"),
            (Some("model_context_window_exceeded"), false, "length"),
            (Some("tool_use"), false, "tool_calls"),
            (Some("end_turn"), true, "tool_calls"),
            (Some("refusal"), false, "content_filter"),
        ] {
            assert_eq!(finish_reason(stop, tools), want, "{stop:?} {tools}");
        }
    }

    #[test]
    fn errors_in_openai_shape() {
        let a = br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"},"request_id":"r"}"#;
        let e = from_anthropic_error(429, a).expect("converts");
        assert_eq!(
            e,
            json!({"error": {"message": "slow down", "type": "rate_limit_error", "param": null, "code": "rate_limit_error"}})
        );
        let e = from_anthropic_error(
            529,
            br#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#,
        )
        .expect("converts");
        assert_eq!(e["error"]["type"], "server_error");
        assert_eq!(e["error"]["code"], "overloaded_error");
        let e = from_anthropic_error(
            401,
            br#"{"type":"error","error":{"type":"authentication_error","message":"bad key"}}"#,
        )
        .expect("converts");
        assert_eq!(e["error"]["type"], "authentication_error");
        assert!(from_anthropic_error(400, br#"{"error":{"message":"already openai"}}"#).is_none());
        assert!(from_anthropic_error(400, b"not json").is_none());
        assert_eq!(
            error_body(400, "m", Some("n"), Some("c"))["error"]["type"],
            "invalid_request_error"
        );
        assert_eq!(
            error_body(500, "m", None, None)["error"]["type"],
            "server_error"
        );
    }
}
