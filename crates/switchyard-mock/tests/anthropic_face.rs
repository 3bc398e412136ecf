//! The Anthropic face: queue order, recording, message JSON and streams, errors, built-ins.

mod common;

use common::*;
use serde_json::{json, Value};
use switchyard_mock::{anthropic_stream_events, error_event, MockUpstream, Reply, Step};

#[tokio::test]
async fn queue_is_fifo_then_default() {
    let mock = MockUpstream::start().await.expect("start");
    mock.push(Reply::text("first"));
    mock.push_many([Reply::text("second"), Reply::error(500, "boom")]);
    assert_eq!(mock.queued(), 3);
    let texts: Vec<Value> = {
        let mut out = Vec::new();
        for _ in 0..3 {
            let resp = post(&mock, "/v1/messages", &request("m", false)).await;
            out.push(json!([resp.status().as_u16(), json_of(resp).await]));
        }
        out
    };
    assert_eq!(texts[0][1]["content"][0]["text"], "first");
    assert_eq!(texts[1][1]["content"][0]["text"], "second");
    assert_eq!(texts[2][0], 500);
    // Queue empty: the initial default.
    let resp = post(&mock, "/v1/messages", &request("m", false)).await;
    assert_eq!(json_of(resp).await["content"][0]["text"], "Hello from mock");
    mock.set_default(Reply::text("new default"));
    let resp = post(&mock, "/v1/messages", &request("m", false)).await;
    assert_eq!(json_of(resp).await["content"][0]["text"], "new default");
    assert_eq!(mock.request_count(), 5);
    assert_eq!(mock.queued(), 0);
}

#[tokio::test]
async fn records_method_path_query_headers_body() {
    let mock = MockUpstream::start().await.expect("start");
    let body = request("claude-x", false);
    let resp = client()
        .post(format!("{}/v1/messages?beta=true", mock.base_url()))
        .header("x-api-key", "sk-test")
        .header("Anthropic-Version", "2023-06-01")
        .header("anthropic-beta", "a,b")
        .body(serde_json::to_vec(&body).expect("json"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let _ = client()
        .get(format!("{}/anthropic/v1/other", mock.base_url()))
        .send()
        .await
        .expect("send");
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 2);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.query.as_deref(), Some("beta=true"));
    assert_eq!(r.header("x-api-key"), Some("sk-test"));
    assert_eq!(r.header("ANTHROPIC-VERSION"), Some("2023-06-01"));
    assert!(r.headers.iter().any(|(k, _)| k == "anthropic-version"));
    assert_eq!(r.header("anthropic-beta"), Some("a,b"));
    assert_eq!(r.json(), body);
    assert_eq!(reqs[1].method, "GET");
    assert_eq!(reqs[1].path, "/anthropic/v1/other");
    assert_eq!(reqs[1].query, None);
    assert_eq!(reqs[1].json(), Value::Null);
    assert!(reqs[0].at <= reqs[1].at);
    mock.push(Reply::text("queued"));
    mock.clear();
    assert_eq!(mock.request_count(), 0);
    assert!(mock.requests().is_empty());
    assert_eq!(mock.queued(), 0);
}

#[tokio::test]
async fn message_json_shape() {
    let mock = MockUpstream::start().await.expect("start");
    let body = request("claude-opus-test", false);
    let resp = post(&mock, "/v1/messages", &body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let rid = resp.headers()["request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(rid.starts_with("req_mock_"), "{rid}");
    let raw = resp.text().await.expect("text");
    assert!(raw.starts_with(r#"{"id":"msg_mock_"#), "{raw}");
    let v: Value = serde_json::from_str(&raw).expect("json");
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["model"], "claude-opus-test");
    assert_eq!(
        v["content"],
        json!([{"type": "text", "text": "Hello from mock"}])
    );
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["stop_sequence"], Value::Null);
    let len = serde_json::to_vec(&body).expect("json").len() as u64;
    assert_eq!(v["usage"]["input_tokens"], len / 4);
    assert_eq!(v["usage"]["output_tokens"], 3);
    assert_eq!(v["usage"]["cache_creation_input_tokens"], 0);
    assert_eq!(v["usage"]["cache_read_input_tokens"], 0);

    mock.push(
        Reply::text("Let me look.")
            .with_thinking("Hmm, weather.")
            .with_tool_use("toolu_01abc", "get_weather", json!({"location": "Paris"}))
            .with_output_tokens(42),
    );
    let v = json_of(post(&mock, "/v1/messages", &request("m", false)).await).await;
    let content = v["content"].as_array().expect("content");
    assert_eq!(content.len(), 3);
    assert_eq!(content[0]["type"], "thinking");
    assert_eq!(content[0]["thinking"], "Hmm, weather.");
    assert!(content[0]["signature"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert_eq!(content[1], json!({"type": "text", "text": "Let me look."}));
    assert_eq!(
        content[2],
        json!({"type": "tool_use", "id": "toolu_01abc", "name": "get_weather", "input": {"location": "Paris"}})
    );
    assert_eq!(v["stop_reason"], "tool_use");
    assert_eq!(v["usage"]["output_tokens"], 42);
}

async fn stream_events(mock: &switchyard_mock::MockHandle, model: &str) -> Vec<SseEvent> {
    let resp = post(mock, "/v1/messages?beta=true", &request(model, true)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert!(resp.headers().contains_key("request-id"));
    parse_sse(&resp.text().await.expect("text"))
}

#[tokio::test]
async fn message_stream_order_and_content() {
    let mock = MockUpstream::start().await.expect("start");
    mock.push(Reply::text("The quick brown fox jumps"));
    let events = stream_events(&mock, "claude-stream").await;
    let acc = validate_anthropic_stream(&events);
    assert_eq!(acc.text, "The quick brown fox jumps");
    assert_eq!(acc.text_deltas, 5, "one delta per word by default");
    assert_eq!(acc.block_types, ["text"]);
    let names: Vec<_> = events.iter().filter_map(|e| e.event.clone()).collect();
    assert_eq!(
        names[..3],
        ["message_start", "content_block_start", "ping"],
        "{names:?}"
    );
    let start = &acc.message_start["message"];
    assert_eq!(start["model"], "claude-stream");
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["stop_reason"], Value::Null);
    assert_eq!(start["usage"]["output_tokens"], 1);
    assert_eq!(start["usage"]["cache_creation_input_tokens"], 0);
    assert_eq!(start["usage"]["cache_read_input_tokens"], 0);
    assert!(start["usage"]["input_tokens"].as_u64() > Some(0));
    assert_eq!(acc.message_delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(acc.message_delta["usage"]["output_tokens"], 5);
    // Byte-exact framing of a frame.
    assert_eq!(events[2].data, r#"{"type":"ping"}"#);

    mock.push(Reply::text("abcdefghij").with_chunks(3));
    let acc = validate_anthropic_stream(&stream_events(&mock, "m").await);
    assert_eq!(acc.text, "abcdefghij");
    assert_eq!(acc.text_deltas, 3);
}

#[tokio::test]
async fn message_stream_with_thinking_and_tool_use() {
    let mock = MockUpstream::start().await.expect("start");
    mock.push(
        Reply::text("I'll check.")
            .with_thinking("User wants weather.")
            .with_tool_use("", "get_weather", json!({"location": "Paris", "unit": "c"})),
    );
    let events = stream_events(&mock, "m").await;
    let acc = validate_anthropic_stream(&events);
    assert_eq!(acc.block_types, ["thinking", "text", "tool_use"]);
    assert_eq!(acc.thinking, "User wants weather.");
    assert!(!acc.signature.is_empty());
    assert_eq!(acc.text, "I'll check.");
    let input: Value = serde_json::from_str(&acc.tool_json).expect("tool json");
    assert_eq!(input, json!({"location": "Paris", "unit": "c"}));
    assert_eq!(acc.message_delta["delta"]["stop_reason"], "tool_use");
    // The signature delta is the last delta of the thinking block.
    let thinking_stop = events
        .iter()
        .position(|e| e.event.as_deref() == Some("content_block_stop"))
        .expect("a stop");
    assert_eq!(
        events[thinking_stop - 1].json()["delta"]["type"],
        "signature_delta"
    );
    let tool_start = events
        .iter()
        .map(SseEvent::json)
        .find(|d| d["content_block"]["type"] == "tool_use")
        .expect("tool start");
    assert!(tool_start["content_block"]["id"]
        .as_str()
        .is_some_and(|id| id.starts_with("toolu_")));
    assert_eq!(tool_start["content_block"]["input"], json!({}));
}

#[tokio::test]
async fn sse_frames_arrive_as_separate_chunks() {
    use futures_util::StreamExt;
    let mock = MockUpstream::start().await.expect("start");
    mock.push(Reply::text("one two three four five six"));
    let resp = post(&mock, "/v1/messages", &request("m", true)).await;
    let mut stream = resp.bytes_stream();
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.next().await {
        chunks.push(chunk.expect("chunk"));
    }
    assert!(chunks.len() >= 10, "{} chunks", chunks.len());
    for chunk in &chunks {
        let text = std::str::from_utf8(chunk).expect("utf8");
        assert!(text.ends_with("\n\n"), "chunk is whole frames: {text:?}");
        assert_eq!(text.matches("\n\n").count(), 1, "one frame: {text:?}");
    }
}

#[tokio::test]
async fn errors_have_anthropic_shape() {
    let mock = MockUpstream::start().await.expect("start");
    mock.push(Reply::error(429, "Rate limited").with_header("retry-after", "30"));
    mock.push(Reply::error(529, "Overloaded"));
    mock.push(Reply {
        status: 400,
        body: switchyard_mock::Body::Error {
            error_type: Some("custom_error".into()),
            message: "nope".into(),
        },
        ..Reply::empty_message()
    });
    mock.push(Reply::error(503, "down").with_header("request-id", "req_fixed"));

    let resp = post(&mock, "/v1/messages", &request("m", true)).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "30");
    assert_eq!(resp.headers()["content-type"], "application/json");
    let rid = resp.headers()["request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let raw = resp.text().await.expect("text");
    assert!(
        raw.starts_with(r#"{"type":"error","error":{"type":"#),
        "{raw}"
    );
    let v: Value = serde_json::from_str(&raw).expect("json");
    assert_eq!(
        v,
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limited"}, "request_id": rid})
    );
    let resp = post(&mock, "/v1/messages", &request("m", false)).await;
    assert_eq!(resp.status(), 529);
    assert_eq!(json_of(resp).await["error"]["type"], "overloaded_error");
    let resp = post(&mock, "/v1/messages", &request("m", false)).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(json_of(resp).await["error"]["type"], "custom_error");
    let resp = post(&mock, "/v1/messages", &request("m", false)).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["request-id"], "req_fixed");
    assert_eq!(resp.headers().get_all("request-id").iter().count(), 1);
    let v = json_of(resp).await;
    assert_eq!(v["error"]["type"], "api_error");
    assert_eq!(v["request_id"], "req_fixed");
}

#[tokio::test]
async fn empty_message_stream_and_json() {
    let mock = MockUpstream::start().await.expect("start");
    mock.push_many([Reply::empty_message(), Reply::empty_message()]);
    let v = json_of(post(&mock, "/v1/messages", &request("m", false)).await).await;
    assert_eq!(v["content"], json!([]));
    assert_eq!(v["usage"]["output_tokens"], 0);
    assert_eq!(v["stop_reason"], "end_turn");
    let events = stream_events(&mock, "m").await;
    let acc = validate_anthropic_stream(&events);
    assert!(acc.block_types.is_empty());
    assert_eq!(acc.message_delta["usage"]["output_tokens"], 0);
    let names: Vec<_> = events.iter().filter_map(|e| e.event.clone()).collect();
    assert_eq!(
        names,
        ["message_start", "ping", "message_delta", "message_stop"]
    );
}

#[tokio::test]
async fn builtins_count_tokens_and_models() {
    let mock = MockUpstream::start().await.expect("start");
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "count me please"}]});
    let len = serde_json::to_vec(&body).expect("json").len() as u64;
    let resp = post(&mock, "/v1/messages/count_tokens?beta=true", &body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(json_of(resp).await, json!({"input_tokens": len / 4}));
    // A queued reply wins over the built-in.
    mock.push(Reply::error(500, "x"));
    let resp = post(&mock, "/v1/messages/count_tokens", &body).await;
    assert_eq!(resp.status(), 500);

    let resp = client()
        .get(format!("{}/v1/models?limit=1000", mock.base_url()))
        .send()
        .await
        .expect("send");
    let v = json_of(resp).await;
    let data = v["data"].as_array().expect("data");
    assert_eq!(data.len(), 2);
    for m in data {
        assert_eq!(m["type"], "model");
        assert!(m["id"].as_str().is_some_and(|id| id.contains("claude")));
        assert!(m["display_name"].is_string() && m["created_at"].is_string());
    }
    assert_eq!(v["has_more"], false);
    assert_eq!(v["first_id"], data[0]["id"]);
    assert_eq!(v["last_id"], data[1]["id"]);
    let resp = client()
        .get(format!("{}/v1/models/claude-x", mock.base_url()))
        .send()
        .await
        .expect("send");
    assert_eq!(json_of(resp).await["id"], "claude-x");
    // Prefixed paths and warm-ups get the default reply.
    let v = json_of(post(&mock, "/anthropic/v1/messages", &request("m", false)).await).await;
    assert_eq!(v["content"][0]["text"], "Hello from mock");
    let resp = client()
        .head(format!("{}/api/hello", mock.base_url()))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    assert_eq!(mock.request_count(), 6);
}

#[tokio::test]
async fn scripted_sse_and_helpers() {
    let mock = MockUpstream::start().await.expect("start");
    let mut steps = anthropic_stream_events("claude-h", &["Hel", "lo", "!"], "max_tokens", 7);
    mock.push(Reply::sse(steps.clone()));
    let acc = validate_anthropic_stream(&stream_events(&mock, "ignored").await);
    assert_eq!(acc.text, "Hello!");
    assert_eq!(acc.text_deltas, 3);
    assert_eq!(acc.message_start["message"]["model"], "claude-h");
    assert_eq!(acc.message_delta["delta"]["stop_reason"], "max_tokens");
    assert_eq!(acc.message_delta["usage"]["output_tokens"], 7);

    // In-band error after two events, raw bytes, data-only frame.
    steps.truncate(2);
    steps.push(error_event("overloaded_error", "Overloaded"));
    steps.push(Step::data(json!("[DONE]")));
    steps.push(Step::raw("event: broken\ndata: {\"type\":"));
    mock.push(Reply::sse(steps));
    let text = post(&mock, "/v1/messages", &request("m", true))
        .await
        .text()
        .await
        .expect("text");
    assert!(
        text.contains(
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
        ),
        "{text}"
    );
    assert!(text.contains("\n\ndata: [DONE]\n\n"), "{text}");
    assert!(text.ends_with("event: broken\ndata: {\"type\":"), "{text}");

    // Json and Raw bodies.
    mock.push(Reply::json(201, json!({"a": 1})).with_header("x-custom", "yes"));
    mock.push(Reply::new(switchyard_mock::Body::Raw {
        text: "<html>".into(),
        content_type: Some("text/html".into()),
    }));
    let resp = post(&mock, "/v1/messages", &request("m", false)).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()["x-custom"], "yes");
    assert_eq!(json_of(resp).await, json!({"a": 1}));
    let resp = post(&mock, "/v1/messages", &request("m", false)).await;
    assert_eq!(resp.headers()["content-type"], "text/html");
    assert_eq!(resp.text().await.expect("text"), "<html>");
}

#[tokio::test]
async fn other_faces_are_detected() {
    let mock = MockUpstream::start().await.expect("start");
    let resp = post(&mock, "/v1/chat/completions", &request("gpt", false)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(json_of(resp).await["object"], "chat.completion");
    mock.push(Reply::json(200, json!({"choices": []})));
    let resp = post(&mock, "/v1/chat/completions", &request("gpt", false)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        switchyard_mock::Face::from_path("/v1beta/models/g:generateContent"),
        switchyard_mock::Face::Gemini
    );
}

#[test]
fn reply_json_round_trip() {
    let reply: Reply = serde_json::from_value(json!({
        "status": 429,
        "headers": [["retry-after", "30"]],
        "body": {"type": "error", "message": "slow"}
    }))
    .expect("reply");
    assert_eq!(
        reply,
        Reply::error(429, "slow").with_header("retry-after", "30")
    );
    let reply: Reply =
        serde_json::from_value(json!({"body": {"type": "message", "text": "hi", "chunks": 2}}))
            .expect("reply");
    assert_eq!(reply, Reply::text("hi").with_chunks(2));
    let reply: Reply = serde_json::from_value(json!({})).expect("reply");
    assert_eq!(reply.status, 200);
    let reply: Reply = serde_json::from_value(json!({"delay_ms": 5, "body": {"type": "sse", "steps": [
        {"type": "event", "event": "ping", "data": {"type": "ping"}},
        {"type": "delay", "ms": 10}, {"type": "stall"}, {"type": "hangup"}, {"type": "raw", "text": "x"}
    ]}}))
    .expect("reply");
    assert_eq!(reply.delay_ms, 5);
    let back = serde_json::to_value(&reply).expect("serialize");
    assert_eq!(serde_json::from_value::<Reply>(back).expect("again"), reply);
}

#[tokio::test]
async fn http2_prior_knowledge_streams() {
    let mock = MockUpstream::start().await.expect("start");
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let resp = h2
        .post(format!("{}/v1/messages", mock.base_url()))
        .body(serde_json::to_vec(&request("m", true)).expect("json"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    let acc = validate_anthropic_stream(&parse_sse(&resp.text().await.expect("text")));
    assert_eq!(acc.text, "Hello from mock");
}
