//! Non-streaming Chat Completions answer -> Anthropic message, and OpenAI error bodies
//! (PROTOCOL.md §3, "OpenAI response -> Anthropic").

use serde_json::{json, Value};

use super::{
    client_tool_name, map_finish, map_usage, message_id, nonce, parse_arguments, sanitize_tool_id,
    short_hash, signature_for, TranslateError,
};

/// Text of a message `content`: a string, or the texts of a parts array.
pub(crate) fn content_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// The reasoning text of a message or delta: `reasoning_content`, else `reasoning`, else the
/// `thinking` parts of a `content` array (Mistral's Magistral models send
/// `{"type": "thinking", "thinking": [{"type": "text", "text": ...}]}` there).
pub(crate) fn reasoning_text(m: &Value) -> Option<std::borrow::Cow<'_, str>> {
    ["reasoning_content", "reasoning"]
        .iter()
        .filter_map(|k| m.get(*k).and_then(Value::as_str))
        .find(|s| !s.is_empty())
        .map(std::borrow::Cow::Borrowed)
        .or_else(|| {
            let parts = m.get("content")?.as_array()?;
            let text: String = parts
                .iter()
                .filter(|p| p["type"] == "thinking")
                .map(|p| match &p["thinking"] {
                    Value::String(s) => s.clone(),
                    other => content_text(other),
                })
                .collect();
            (!text.is_empty()).then_some(std::borrow::Cow::Owned(text))
        })
}

/// A tool id for a call the upstream gave none.
pub(crate) fn generated_tool_id(seed: &str, index: u64) -> String {
    format!("toolu_sy{}_{index}", short_hash(seed))
}

/// Translate a non-streaming Chat Completions answer into an Anthropic message that echoes
/// `client_model`. `tool_names` is [`Translated::tool_names`](super::Translated::tool_names)
/// (upstream name -> client name). Thinking blocks get the signature `sy1.<provider_id>.`.
pub fn from_response(
    body: &Value,
    client_model: &str,
    provider_id: &str,
    tool_names: &[(String, String)],
) -> Result<Value, TranslateError> {
    let Some(choice) = body
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
    else {
        let msg = body
            .get("error")
            .map(|e| error_text(e).unwrap_or_else(|| e.to_string()))
            .unwrap_or_else(|| "the upstream answer has no choices".to_string());
        return Err(TranslateError(msg));
    };
    let msg = &choice["message"];
    let mut content = Vec::new();
    if let Some(r) = reasoning_text(msg) {
        content.push(json!({"type": "thinking", "thinking": r.as_ref(),
            "signature": signature_for(provider_id)}));
    }
    let text = content_text(&msg["content"]);
    if !text.is_empty() {
        content.push(json!({"type": "text", "text": text}));
    }
    let refusal = msg["refusal"].as_str().filter(|r| !r.is_empty());
    if let Some(r) = refusal {
        content.push(json!({"type": "text", "text": r}));
    }
    let id = message_id(body.get("id").and_then(Value::as_str));
    let seed = body
        .get("id")
        .and_then(Value::as_str)
        .map_or_else(nonce, str::to_string);
    let mut saw_tool = false;
    for (i, call) in msg["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let f = &call["function"];
        let tool_id = match call["id"].as_str() {
            Some(raw) if !raw.is_empty() => sanitize_tool_id(raw),
            _ => generated_tool_id(&seed, i as u64),
        };
        let name = client_tool_name(tool_names, f["name"].as_str().unwrap_or("unknown"));
        let input = parse_arguments(f["arguments"].as_str().unwrap_or(""));
        content.push(json!({"type": "tool_use", "id": tool_id, "name": name, "input": input}));
        saw_tool = true;
    }
    let finish = choice["finish_reason"].as_str().unwrap_or("stop");
    let mut stop_reason = map_finish(finish);
    if refusal.is_some() {
        stop_reason = "refusal";
    }
    if saw_tool && stop_reason != "max_tokens" {
        stop_reason = "tool_use";
    }
    let u = map_usage(&body["usage"]);
    Ok(json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": client_model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {
            "input_tokens": u.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": u.cache_read_input_tokens,
            "output_tokens": u.output_tokens,
        },
    }))
}

/// The message of an OpenAI `error` value: `{"message": ..}` (OpenRouter's
/// `metadata.raw` appended), or a bare string (Ollama).
pub(crate) fn error_text(e: &Value) -> Option<String> {
    match e {
        Value::String(s) => Some(s.clone()),
        Value::Object(_) => {
            let msg = e.get("message").and_then(Value::as_str)?;
            Some(match e["metadata"]["raw"].as_str() {
                Some(raw) if !raw.is_empty() && raw != msg => format!("{msg}: {raw}"),
                _ => msg.to_string(),
            })
        }
        _ => None,
    }
}

/// The message of an OpenAI error body `{"error":{"message","type","param","code"}}` (or
/// `{"error":"text"}`); `None` when the body is not that shape.
pub fn error_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    error_text(v.get("error")?)
}

/// Is this OpenAI error body a spend limit (OpenAI `insufficient_quota`, an exhausted
/// balance) rather than a temporary rate limit? Such a 429 must not be retried.
pub fn is_quota_error(body: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let e = &v["error"];
    let fields = [&e["type"], &e["code"]];
    if fields.iter().any(|f| {
        matches!(
            f.as_str(),
            Some("insufficient_quota" | "billing_hard_limit_reached")
        )
    }) {
        return true;
    }
    let msg = error_text(e).unwrap_or_default().to_ascii_lowercase();
    msg.contains("insufficient balance") || msg.contains("exceeded your current quota")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<(String, String)> {
        vec![("mcp_x_1a2b3c4d".into(), "mcp.x".into())]
    }

    #[test]
    fn full_answer_maps_every_part() {
        let body = json!({
            "id": "chatcmpl-9x", "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Let me look.", "reasoning_content": "hmm",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "mcp_x_1a2b3c4d", "arguments": "{\"q\":1}"}},
                    {"id": "functions.read:2", "type": "function", "function": {"name": "read", "arguments": ""}},
                    {"id": "", "type": "function", "function": {"name": "bad", "arguments": "{oops"}}
                ]}}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 9, "prompt_tokens_details": {"cached_tokens": 20}}
        });
        let m = from_response(&body, "claude-x", "ds", &names()).expect("ok");
        assert_eq!(m["id"], "msg_9x");
        assert_eq!(m["model"], "claude-x");
        assert_eq!(m["stop_sequence"], Value::Null);
        let c = m["content"].as_array().expect("content");
        assert_eq!(
            c[0],
            json!({"type": "thinking", "thinking": "hmm", "signature": "sy1.ds."})
        );
        assert_eq!(c[1], json!({"type": "text", "text": "Let me look."}));
        assert_eq!(c[2]["name"], "mcp.x", "name mapped back");
        assert_eq!(c[2]["input"], json!({"q": 1}));
        assert_eq!(c[3]["id"], sanitize_tool_id("functions.read:2"));
        assert_eq!(c[3]["input"], json!({}));
        assert!(c[4]["id"].as_str().expect("id").starts_with("toolu_sy"));
        assert_eq!(c[4]["input"], json!({"_raw": "{oops"}));
        assert_eq!(m["stop_reason"], "tool_use");
        assert_eq!(
            m["usage"],
            json!({"input_tokens": 30, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 20, "output_tokens": 9})
        );
    }

    #[test]
    fn finish_reasons_and_empty_content() {
        let one = |finish: &str, msg: Value| {
            let body = json!({"choices": [{"message": msg, "finish_reason": finish}]});
            from_response(&body, "m", "p", &[]).expect("ok")
        };
        let m = one("length", json!({"content": "abc"}));
        assert_eq!(m["stop_reason"], "max_tokens");
        let m = one("content_filter", json!({"content": ""}));
        assert_eq!(m["stop_reason"], "refusal");
        assert_eq!(m["content"], json!([]), "empty text omitted");
        let m = one("stop", json!({"content": null, "refusal": "I can't"}));
        assert_eq!(m["stop_reason"], "refusal");
        let m = one(
            "stop",
            json!({"content": null, "reasoning": "r",
            "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]}),
        );
        assert_eq!(
            m["stop_reason"], "tool_use",
            "tool calls with stop -> tool_use"
        );
        assert_eq!(
            m["content"][0]["type"], "thinking",
            "OpenRouter `reasoning`"
        );
    }

    #[test]
    fn errors() {
        let e = br#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
        assert_eq!(error_message(e).as_deref(), Some("Rate limit reached"));
        assert!(!is_quota_error(e));
        let q = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
        assert!(is_quota_error(q));
        assert_eq!(
            error_message(br#"{"error":"model not found"}"#).as_deref(),
            Some("model not found")
        );
        assert_eq!(
            error_message(br#"{"error":{"message":"Provider returned error","code":502,"metadata":{"raw":"upstream 503"}}}"#).as_deref(),
            Some("Provider returned error: upstream 503")
        );
        assert_eq!(error_message(b"<html>"), None);
        assert_eq!(error_message(br#"{"type":"message"}"#), None);
        let err = from_response(&json!({"error": {"message": "bad"}}), "m", "p", &[]);
        assert_eq!(err.expect_err("error").0, "bad");
    }
}
