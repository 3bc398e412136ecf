//! Anthropic message -> Responses `response` object, the output items both the whole answer
//! and the stream use, and errors in the Responses dialect.

use serde_json::{json, Map, Value};

use super::carrier;
use super::tools::{ToolKind, ToolMap};
use crate::protocol::anthropic::ErrorType;

/// A response id from an Anthropic message id (`msg_01ab` -> `resp_01ab`), or a fresh one.
pub fn response_id(message_id: Option<&str>) -> String {
    match message_id {
        Some(id) if !id.is_empty() => format!("resp_{}", id.strip_prefix("msg_").unwrap_or(id)),
        _ => format!("resp_sy{:x}", now_nanos()),
    }
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

pub(super) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The id of output item `index` of response `resp_id`, with the item type's prefix
/// (`msg_`, `rs_`, `fc_`, `ctc_`, `tsc_`).
pub(super) fn item_id(prefix: &str, resp_id: &str, index: usize) -> String {
    format!(
        "{prefix}_{}{index:02}",
        resp_id.strip_prefix("resp_").unwrap_or(resp_id)
    )
}

/// Anthropic `usage` -> Responses `usage`. Anthropic's `input_tokens` excludes cache reads and
/// writes; the Responses API's includes them, with reads as `cached_tokens`.
pub fn usage(u: &Value) -> Value {
    let n = |k: &str| u[k].as_u64().unwrap_or(0);
    let cached = n("cache_read_input_tokens");
    let written = n("cache_creation_input_tokens");
    let input = n("input_tokens") + cached + written;
    let output = n("output_tokens");
    json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input + output,
    })
}

/// A `response` object with `status` and `output`, the request's echoed fields, and `usage`
/// when known.
pub(super) fn envelope(
    id: &str,
    created_at: u64,
    model: &str,
    echo: &Map<String, Value>,
    status: &str,
    output: Vec<Value>,
    usage: Option<Value>,
) -> Value {
    let mut r = Map::new();
    r.insert("id".into(), json!(id));
    r.insert("object".into(), json!("response"));
    r.insert("created_at".into(), json!(created_at));
    r.insert("status".into(), json!(status));
    r.insert("background".into(), json!(false));
    r.insert("error".into(), Value::Null);
    r.insert("incomplete_details".into(), Value::Null);
    r.insert("model".into(), json!(model));
    r.insert("output".into(), Value::Array(output));
    r.insert("previous_response_id".into(), Value::Null);
    // The client's tools are not repeated: Codex sends tens of kilobytes of them each turn.
    r.insert("tools".into(), json!([]));
    for (k, v) in echo {
        r.insert(k.clone(), v.clone());
    }
    r.insert("usage".into(), usage.unwrap_or(Value::Null));
    Value::Object(r)
}

/// A finished `message` output item.
pub(super) fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({
        "id": id, "type": "message", "status": status, "role": "assistant",
        "content": [output_text(text)],
    })
}

/// An `output_text` content part.
pub(super) fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text})
}

/// A finished `reasoning` output item for a hub thinking block (or, with `redacted`, a
/// `redacted_thinking` block's data): the thinking as its summary (when there is any text),
/// the block in `encrypted_content` (see `carrier`).
pub(super) fn reasoning_item(
    id: &str,
    thinking: &str,
    signature: &str,
    redacted: Option<&str>,
) -> Value {
    let (summary, encrypted) = match redacted {
        Some(data) => (json!([]), carrier::encode_redacted(data)),
        None if thinking.is_empty() => (json!([]), carrier::encode_thinking(thinking, signature)),
        None => (
            json!([{"type": "summary_text", "text": thinking}]),
            carrier::encode_thinking(thinking, signature),
        ),
    };
    json!({
        "id": id, "type": "reasoning", "status": "completed",
        "summary": summary, "encrypted_content": encrypted,
    })
}

/// What a hub `tool_use` is on the client's side.
pub(super) struct Call<'a> {
    /// Its kind.
    pub kind: ToolKind,
    /// The client's tool name.
    pub name: &'a str,
    /// The namespace, for a namespaced tool.
    pub namespace: Option<&'a str>,
}

/// The client's side of hub tool `hub_name` (a name the client never sent is a function).
pub(super) fn call_of<'a>(tools: &'a ToolMap, hub_name: &'a str) -> Call<'a> {
    match tools.get(hub_name) {
        Some(e) => Call {
            kind: e.kind,
            name: &e.name,
            namespace: e.namespace.as_deref(),
        },
        None => Call {
            kind: ToolKind::Function,
            name: hub_name,
            namespace: None,
        },
    }
}

/// The item-id prefix of a call kind.
pub(super) fn call_prefix(kind: ToolKind) -> &'static str {
    match kind {
        ToolKind::Function => "fc",
        ToolKind::Custom => "ctc",
        ToolKind::ToolSearch => "tsc",
    }
}

/// A custom tool's string input from the hub's `{"input": "..."}` (any other shape: the JSON).
pub(super) fn custom_input(input: &Value) -> String {
    match input.get("input") {
        Some(Value::String(s)) => s.clone(),
        _ => match input {
            Value::Object(o) if o.is_empty() => String::new(),
            other => other.to_string(),
        },
    }
}

/// A call output item (`function_call`, `custom_tool_call` or `tool_search_call`) with
/// `status`. `arguments` is the JSON text of the hub's tool input (empty while in progress).
pub(super) fn call_item(
    id: &str,
    call_id: &str,
    call: &Call<'_>,
    arguments: &str,
    status: &str,
) -> Value {
    let parsed = || serde_json::from_str::<Value>(arguments).unwrap_or_else(|_| json!({}));
    let mut item = match call.kind {
        ToolKind::Function => json!({
            "id": id, "type": "function_call", "status": status, "call_id": call_id,
            "name": call.name, "arguments": arguments,
        }),
        ToolKind::Custom => json!({
            "id": id, "type": "custom_tool_call", "status": status, "call_id": call_id,
            "name": call.name,
            "input": if arguments.is_empty() { String::new() } else { custom_input(&parsed()) },
        }),
        ToolKind::ToolSearch => json!({
            "id": id, "type": "tool_search_call", "status": status, "call_id": call_id,
            "execution": "client", "arguments": parsed(),
        }),
    };
    if let Some(ns) = call.namespace {
        item["namespace"] = json!(ns);
    }
    item
}

/// How a response ends, from the Anthropic `stop_reason`: `("completed", None)` or
/// `("incomplete", Some(reason))`.
pub(super) fn status_of(stop_reason: Option<&str>) -> (&'static str, Option<&'static str>) {
    match stop_reason {
        Some("max_tokens") | Some("model_context_window_exceeded") => {
            ("incomplete", Some("max_output_tokens"))
        }
        _ => ("completed", None),
    }
}

/// A whole Anthropic message -> a `response` object for `model` (the client's model name).
pub fn response(msg: &Value, model: &str, tools: &ToolMap, echo: &Map<String, Value>) -> Value {
    let id = response_id(msg["id"].as_str());
    let mut output: Vec<Value> = Vec::new();
    for b in msg["content"].as_array().into_iter().flatten() {
        let index = output.len();
        match b["type"].as_str() {
            Some("text") => {
                let text = b["text"].as_str().unwrap_or("");
                // Consecutive texts are one message, as a stream would give them.
                match output.last_mut() {
                    Some(last) if last["type"] == "message" => {
                        let t = last["content"][0]["text"]
                            .as_str()
                            .unwrap_or("")
                            .to_string();
                        last["content"][0]["text"] = json!(t + text);
                    }
                    _ => output.push(message_item(&item_id("msg", &id, index), text, "completed")),
                }
            }
            Some("thinking") => output.push(reasoning_item(
                &item_id("rs", &id, index),
                b["thinking"].as_str().unwrap_or(""),
                b["signature"].as_str().unwrap_or(""),
                None,
            )),
            Some("redacted_thinking") => output.push(reasoning_item(
                &item_id("rs", &id, index),
                "",
                "",
                Some(b["data"].as_str().unwrap_or("")),
            )),
            Some("tool_use") => {
                let hub = b["name"].as_str().unwrap_or("");
                let call = call_of(tools, hub);
                let input = b.get("input").cloned().unwrap_or_else(|| json!({}));
                output.push(call_item(
                    &item_id(call_prefix(call.kind), &id, index),
                    b["id"].as_str().unwrap_or(""),
                    &call,
                    &input.to_string(),
                    "completed",
                ));
            }
            _ => {}
        }
    }
    let (status, reason) = status_of(msg["stop_reason"].as_str());
    let created = now();
    let mut r = envelope(
        &id,
        created,
        model,
        echo,
        status,
        output,
        Some(usage(&msg["usage"])),
    );
    if let Some(reason) = reason {
        r["incomplete_details"] = json!({ "reason": reason });
    }
    if status == "completed" {
        r["completed_at"] = json!(created);
    }
    r
}

/// The `response.error.code` for an Anthropic error type.
pub fn error_code(kind: Option<ErrorType>) -> &'static str {
    match kind {
        Some(ErrorType::RateLimit) => "rate_limit_exceeded",
        Some(ErrorType::InvalidRequest) => "invalid_prompt",
        _ => "server_error",
    }
}
