//! Responses `response` object -> Anthropic message, and the pieces the stream shares.

use serde_json::{json, Value};

use super::{signature_for, TranslateError};
use crate::protocol::anthropic::ErrorType;
use crate::translate::gemini::SIGNATURE_ONLY_THINKING;
use crate::translate::history::sanitize_tool_id;
use crate::translate::writer::Usage;

/// The client's name for an upstream tool name.
pub(super) fn client_tool_name(names: &[(String, String)], upstream: &str) -> String {
    names
        .iter()
        .find(|(up, _)| up == upstream)
        .map_or_else(|| upstream.to_string(), |(_, client)| client.clone())
}

/// Responses `usage` -> Anthropic counts (input without the cache reads).
pub(crate) fn map_usage(u: &Value) -> Usage {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let input = n(&u["input_tokens"]);
    let cached = n(&u["input_tokens_details"]["cached_tokens"]);
    Usage {
        input_tokens: input.saturating_sub(cached),
        output_tokens: n(&u["output_tokens"]),
        cache_read_input_tokens: cached,
        cache_creation_input_tokens: 0,
    }
}

/// The Anthropic stop reason of a finished response.
pub(super) fn stop_reason(response: &Value, has_tool_use: bool) -> &'static str {
    match (
        response["status"].as_str(),
        response["incomplete_details"]["reason"].as_str(),
    ) {
        (Some("incomplete"), Some("content_filter")) => "refusal",
        (Some("incomplete"), _) => "max_tokens",
        _ if has_tool_use => "tool_use",
        _ => "end_turn",
    }
}

/// The Anthropic error type of a Responses error code.
pub(crate) fn error_kind(code: Option<&str>) -> ErrorType {
    match code.unwrap_or("") {
        "rate_limit_exceeded" => ErrorType::RateLimit,
        "insufficient_quota" => ErrorType::Billing,
        "context_length_exceeded" | "invalid_prompt" => ErrorType::InvalidRequest,
        c if c.starts_with("invalid_image") || c.starts_with("image_") => ErrorType::InvalidRequest,
        _ => ErrorType::Api,
    }
}

/// Function-call `arguments` -> an Anthropic `input` object (`{}` when empty, `{"_raw": ..}`
/// when not an object).
pub(super) fn parse_arguments(args: &str) -> Value {
    if args.trim().is_empty() {
        return json!({});
    }
    match serde_json::from_str::<Value>(args) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({ "_raw": args }),
    }
}

/// The readable text of a reasoning item: its summaries, else its reasoning text.
pub(super) fn reasoning_text(item: &Value) -> String {
    let texts = |k: &str| -> Vec<String> {
        item[k]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["text"].as_str().map(String::from))
            .collect()
    };
    let summary = texts("summary");
    if summary.is_empty() {
        texts("content").join("\n\n")
    } else {
        summary.join("\n\n")
    }
}

/// A message id `msg_…` from a response id.
pub(super) fn message_id(response_id: Option<&str>) -> String {
    match response_id {
        Some(id) if !id.is_empty() => {
            let id = id.strip_prefix("resp_").unwrap_or(id);
            let clean: String = id
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .take(48)
                .collect();
            format!("msg_{clean}")
        }
        _ => {
            let n = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            format!("msg_sy{n:x}")
        }
    }
}

/// A whole Responses answer -> an Anthropic message for `client_model`.
pub fn from_response(
    resp: &Value,
    client_model: &str,
    provider_id: &str,
    tool_names: &[(String, String)],
) -> Result<Value, TranslateError> {
    if resp["status"] == "failed" || !resp["error"].is_null() {
        let msg = resp["error"]["message"]
            .as_str()
            .unwrap_or("the response failed");
        return Err(TranslateError(msg.to_string()));
    }
    let output = resp["output"]
        .as_array()
        .ok_or_else(|| TranslateError("the answer has no output".into()))?;
    let sig = signature_for(provider_id);
    let mut content = Vec::new();
    let mut has_tool = false;
    for item in output {
        match item["type"].as_str() {
            Some("reasoning") => {
                let text = reasoning_text(item);
                let enc = item["encrypted_content"].as_str().unwrap_or("");
                if text.is_empty() && enc.is_empty() {
                    continue;
                }
                let thinking = if text.is_empty() {
                    SIGNATURE_ONLY_THINKING.to_string()
                } else {
                    text
                };
                content.push(json!({"type": "thinking", "thinking": thinking, "signature": format!("{sig}{enc}")}));
            }
            Some("message") => {
                for part in item["content"].as_array().into_iter().flatten() {
                    let text = part["text"]
                        .as_str()
                        .or_else(|| part["refusal"].as_str())
                        .unwrap_or("");
                    if !text.is_empty() {
                        content.push(json!({"type": "text", "text": text}));
                    }
                }
            }
            Some("function_call") => {
                has_tool = true;
                content.push(json!({
                    "type": "tool_use",
                    "id": sanitize_tool_id(item["call_id"].as_str().unwrap_or("")),
                    "name": client_tool_name(tool_names, item["name"].as_str().unwrap_or("")),
                    "input": parse_arguments(item["arguments"].as_str().unwrap_or("")),
                }));
            }
            Some("custom_tool_call") => {
                has_tool = true;
                content.push(json!({
                    "type": "tool_use",
                    "id": sanitize_tool_id(item["call_id"].as_str().unwrap_or("")),
                    "name": client_tool_name(tool_names, item["name"].as_str().unwrap_or("")),
                    "input": {"input": item["input"].as_str().unwrap_or("")},
                }));
            }
            _ => {}
        }
    }
    let u = map_usage(&resp["usage"]);
    Ok(json!({
        "id": message_id(resp["id"].as_str()),
        "type": "message",
        "role": "assistant",
        "model": client_model,
        "content": content,
        "stop_reason": stop_reason(resp, has_tool),
        "stop_sequence": null,
        "usage": {
            "input_tokens": u.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": u.cache_read_input_tokens,
            "output_tokens": u.output_tokens,
        },
    }))
}
