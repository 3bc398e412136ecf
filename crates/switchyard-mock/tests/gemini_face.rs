//! The Gemini face over HTTP: `generateContent` JSON, `streamGenerateContent?alt=sse` data-only
//! frames, and Google error bodies.

mod common;

use common::{json_of, post};
use serde_json::{json, Value};
use switchyard_mock::{MockUpstream, Reply};

fn gemini_request() -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]})
}

#[tokio::test]
async fn generate_content_json() {
    let mock = MockUpstream::start().await.expect("start");
    mock.push(Reply::text("Hello there").with_tool_use("", "f", json!({"a": 1})));
    let resp = post(
        &mock,
        "/v1beta/models/gemini-2.5-flash:generateContent",
        &gemini_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v = json_of(resp).await;
    let c = &v["candidates"][0];
    assert_eq!(c["finishReason"], "STOP");
    assert_eq!(c["content"]["role"], "model");
    assert_eq!(c["content"]["parts"][0], json!({"text": "Hello there"}));
    assert_eq!(
        c["content"]["parts"][1]["functionCall"],
        json!({"name": "f", "args": {"a": 1}})
    );
    assert!(c["content"]["parts"][1]["thoughtSignature"].is_string());
    assert_eq!(v["modelVersion"], "gemini-2.5-flash");
    assert!(v["usageMetadata"]["promptTokenCount"]
        .as_u64()
        .is_some_and(|n| n > 0));
    // The default reply renders too.
    let resp = post(&mock, "/v1beta/models/g:generateContent", &gemini_request()).await;
    assert_eq!(
        json_of(resp).await["candidates"][0]["content"]["parts"][0]["text"],
        "Hello from mock"
    );
}

#[tokio::test]
async fn stream_generate_content_sse() {
    let mock = MockUpstream::start().await.expect("start");
    mock.push(Reply::text("one two three").with_thinking("hmm"));
    let resp = post(
        &mock,
        "/v1beta/models/gemini-3-pro:streamGenerateContent?alt=sse",
        &gemini_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = resp.text().await.expect("body");
    assert!(
        !text.contains("event:") && !text.contains("[DONE]"),
        "{text}"
    );
    let chunks: Vec<Value> = text
        .split("\n\n")
        .filter(|f| !f.is_empty())
        .map(|f| serde_json::from_str(f.strip_prefix("data: ").expect("data-only")).expect("json"))
        .collect();
    assert_eq!(chunks.len(), 4, "{text}");
    assert_eq!(
        chunks[0]["candidates"][0]["content"]["parts"][0]["thought"],
        true
    );
    assert_eq!(chunks[3]["candidates"][0]["finishReason"], "STOP");
    assert_eq!(mock.requests()[0].query.as_deref(), Some("alt=sse"));
}

#[tokio::test]
async fn errors_and_empty_answers() {
    let mock = MockUpstream::start().await.expect("start");
    mock.push(Reply::error(429, "Quota exceeded"));
    mock.push(Reply::empty_message());
    let resp = post(&mock, "/v1beta/models/g:generateContent", &gemini_request()).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(
        json_of(resp).await,
        json!({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}})
    );
    let resp = post(&mock, "/v1beta/models/g:generateContent", &gemini_request()).await;
    let v = json_of(resp).await;
    assert_eq!(v["candidates"][0]["content"]["parts"], json!([]));
    assert_eq!(v["usageMetadata"]["candidatesTokenCount"], 0);
}
