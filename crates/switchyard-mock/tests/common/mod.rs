//! Helpers shared by the integration tests: an HTTP client, a tiny SSE parser and an Anthropic
//! stream validator (the rules the official SDKs enforce, PROTOCOL.md §1).

#![allow(dead_code)]

use serde_json::Value;
use switchyard_mock::MockHandle;

/// One parsed SSE frame.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).expect("data is JSON")
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// POSTs `body` as JSON to `path` on the mock.
pub async fn post(mock: &MockHandle, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}{}", mock.base_url(), path))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).expect("serialize"))
        .send()
        .await
        .expect("request")
}

pub async fn json_of(resp: reqwest::Response) -> Value {
    let bytes = resp.bytes().await.expect("body");
    serde_json::from_slice(&bytes).expect("JSON body")
}

/// A messages request body.
pub fn request(model: &str, stream: bool) -> Value {
    serde_json::json!({
        "model": model,
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": "Hi there"}],
    })
}

/// Parses a complete SSE text into frames; panics on a frame that is not `event:`/`data:`
/// lines or on a trailing partial frame.
pub fn parse_sse(text: &str) -> Vec<SseEvent> {
    assert!(
        text.is_empty() || text.ends_with("\n\n"),
        "stream ends mid-frame: {text:?}"
    );
    text.split("\n\n")
        .filter(|f| !f.is_empty())
        .map(|frame| {
            let mut event = None;
            let mut data: Vec<&str> = Vec::new();
            for line in frame.split('\n') {
                if let Some(v) = line.strip_prefix("event: ") {
                    event = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push(v);
                } else {
                    unreachable!("unexpected SSE line {line:?}");
                }
            }
            SseEvent {
                event,
                data: data.join("\n"),
            }
        })
        .collect()
}

/// Checks a parsed Anthropic stream the way the SDKs do; returns the text, thinking and
/// tool-input JSON it accumulates, and the final message_delta.
pub struct Accumulated {
    pub text: String,
    pub thinking: String,
    pub signature: String,
    pub tool_json: String,
    pub block_types: Vec<String>,
    pub text_deltas: usize,
    pub message_start: Value,
    pub message_delta: Value,
}

pub fn validate_anthropic_stream(events: &[SseEvent]) -> Accumulated {
    assert!(!events.is_empty(), "empty stream");
    let names: Vec<&str> = events
        .iter()
        .map(|e| e.event.as_deref().expect("every frame is named"))
        .collect();
    assert_eq!(names[0], "message_start", "first event: {names:?}");
    assert_eq!(
        names.iter().filter(|n| **n == "message_start").count(),
        1,
        "exactly one message_start: {names:?}"
    );
    assert_eq!(names.last().copied(), Some("message_stop"), "{names:?}");
    let mut acc = Accumulated {
        text: String::new(),
        thinking: String::new(),
        signature: String::new(),
        tool_json: String::new(),
        block_types: Vec::new(),
        text_deltas: 0,
        message_start: Value::Null,
        message_delta: Value::Null,
    };
    let mut open: Option<u64> = None;
    let mut next_index = 0u64;
    for ev in events {
        let data = ev.json();
        let name = ev.event.as_deref().unwrap_or_default();
        assert_eq!(data["type"], name, "event name matches data.type");
        match name {
            "message_start" => acc.message_start = data,
            "content_block_start" => {
                assert!(open.is_none(), "block opened while another is open");
                assert_eq!(data["index"], next_index, "contiguous indexes");
                open = Some(next_index);
                next_index += 1;
                let ty = data["content_block"]["type"].as_str().expect("block type");
                acc.block_types.push(ty.to_owned());
            }
            "content_block_delta" => {
                assert_eq!(data["index"].as_u64(), open, "delta for the open block");
                let d = &data["delta"];
                match d["type"].as_str().expect("delta type") {
                    "text_delta" => {
                        acc.text_deltas += 1;
                        acc.text.push_str(d["text"].as_str().expect("text"));
                    }
                    "thinking_delta" => acc
                        .thinking
                        .push_str(d["thinking"].as_str().expect("thinking")),
                    "signature_delta" => {
                        acc.signature = d["signature"].as_str().expect("signature").to_owned()
                    }
                    "input_json_delta" => acc
                        .tool_json
                        .push_str(d["partial_json"].as_str().expect("partial_json")),
                    other => unreachable!("unknown delta {other}"),
                }
            }
            "content_block_stop" => {
                assert_eq!(data["index"].as_u64(), open, "stop for the open block");
                open = None;
            }
            "message_delta" => {
                assert!(open.is_none(), "message_delta with a block open");
                assert!(
                    data["usage"]["output_tokens"].is_u64(),
                    "message_delta has usage"
                );
                assert!(data["delta"]["stop_reason"].is_string());
                assert!(data["delta"]
                    .as_object()
                    .expect("delta")
                    .contains_key("stop_sequence"));
                acc.message_delta = data;
            }
            "ping" | "message_stop" => {}
            other => unreachable!("unexpected event {other}"),
        }
    }
    assert!(!acc.message_delta.is_null(), "a message_delta was sent");
    acc
}
