//! Misbehaving replies: hangups, mid-stream aborts, stalls, delays.

mod common;

use common::*;
use futures_util::StreamExt;
use serde_json::json;
use std::time::{Duration, Instant};
use switchyard_mock::{anthropic_stream_events, MockUpstream, Reply, Step};

#[tokio::test]
async fn hangup_before_headers_is_a_connection_error() {
    let mock = MockUpstream::start().await.expect("start");
    mock.push(Reply::hangup().with_delay(50));
    let started = Instant::now();
    let err = client()
        .post(format!("{}/v1/messages", mock.base_url()))
        .body(serde_json::to_vec(&request("m", false)).expect("json"))
        .send()
        .await
        .expect_err("no response expected");
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert!(err.status().is_none(), "{err:?}");
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    assert_eq!(mock.request_count(), 1, "the hung-up request is recorded");
    // The mock keeps serving on new connections.
    let resp = post(&mock, "/v1/messages", &request("m", false)).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn mid_stream_hangup_is_a_body_error() {
    let mock = MockUpstream::start().await.expect("start");
    let mut steps = anthropic_stream_events("m", &["a", "b"], "end_turn", 2);
    steps.truncate(1);
    steps.push(Step::delay(20));
    steps.push(Step::Hangup);
    mock.push(Reply::sse(steps));
    let resp = post(&mock, "/v1/messages", &request("m", true)).await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream();
    let first = body.next().await.expect("a chunk").expect("first chunk ok");
    let text = String::from_utf8_lossy(&first).into_owned();
    assert!(text.starts_with("event: message_start\n"), "{text}");
    let mut saw_error = false;
    while let Some(item) = body.next().await {
        if item.is_err() {
            saw_error = true;
            break;
        }
    }
    assert!(saw_error, "the body must end with an error, not cleanly");
    // A scripted hangup is the script's own end, not a client abort.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(mock.streams_aborted(), 0);
    assert_eq!(mock.streams_open(), 0);
}

#[tokio::test]
async fn stall_then_client_drop_is_detected() {
    let mock = MockUpstream::start().await.expect("start");
    let mut steps = anthropic_stream_events("m", &["a"], "end_turn", 1);
    steps.truncate(1);
    steps.push(Step::Stall);
    mock.push(Reply::sse(steps));
    assert!(!mock.wait_stream_closed(Duration::from_millis(10)).await);
    let resp = post(&mock, "/v1/messages", &request("m", true)).await;
    let mut body = resp.bytes_stream();
    let first = body.next().await.expect("a chunk").expect("first chunk ok");
    assert!(first.starts_with(b"event: message_start\n"));
    assert_eq!(mock.streams_open(), 1);
    // Nothing more comes while stalled.
    let more = tokio::time::timeout(Duration::from_millis(100), body.next()).await;
    assert!(more.is_err(), "stalled stream sent more: {more:?}");
    assert!(!mock.wait_stream_closed(Duration::from_millis(10)).await);
    drop(body);
    assert!(mock.wait_stream_closed(Duration::from_secs(1)).await);
    assert_eq!(mock.streams_aborted(), 1);
    assert_eq!(mock.streams_open(), 0);
    mock.clear();
    assert_eq!(mock.streams_aborted(), 0);
}

#[tokio::test]
async fn client_dropping_a_slow_message_stream_is_detected() {
    let mock = MockUpstream::start().await.expect("start");
    mock.push(Reply::text("a b c d e f g h").with_chunk_delay(200));
    let resp = post(&mock, "/v1/messages", &request("m", true)).await;
    let mut body = resp.bytes_stream();
    let _ = body.next().await.expect("chunk").expect("ok");
    drop(body);
    assert!(mock.wait_stream_closed(Duration::from_secs(1)).await);
}

#[tokio::test]
async fn finished_streams_are_not_aborts() {
    let mock = MockUpstream::start().await.expect("start");
    for _ in 0..3 {
        let text = post(&mock, "/v1/messages", &request("m", true))
            .await
            .text()
            .await
            .expect("text");
        validate_anthropic_stream(&parse_sse(&text));
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(mock.streams_aborted(), 0);
    assert_eq!(mock.streams_open(), 0);
}

#[tokio::test]
async fn delays_are_respected() {
    let mock = MockUpstream::start().await.expect("start");
    mock.push(Reply::text("slow").with_delay(200));
    let started = Instant::now();
    let resp = post(&mock, "/v1/messages", &request("m", false)).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(json_of(resp).await["content"][0]["text"], "slow");

    // Chunk delays: 4 deltas, 3 gaps of 150 ms; the headers come before the gaps (judged
    // against the whole stream's time, so a busy machine cannot make it flaky).
    mock.push(Reply::text("w x y z").with_chunk_delay(150));
    let started = Instant::now();
    let resp = post(&mock, "/v1/messages", &request("m", true)).await;
    let headers_at = started.elapsed();
    let text = resp.text().await.expect("text");
    let total = started.elapsed();
    assert!(total >= Duration::from_millis(450), "{total:?}");
    assert!(
        total - headers_at >= Duration::from_millis(300),
        "headers at {headers_at:?} of {total:?}"
    );
    assert_eq!(validate_anthropic_stream(&parse_sse(&text)).text, "w x y z");

    // Delay steps in a script.
    mock.push(Reply::sse([
        Step::event("ping", json!({"type": "ping"})),
        Step::delay(150),
        Step::event("ping", json!({"type": "ping"})),
    ]));
    let started = Instant::now();
    let text = post(&mock, "/v1/messages", &request("m", true))
        .await
        .text()
        .await
        .expect("text");
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(parse_sse(&text).len(), 2);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let mock = MockUpstream::start().await.expect("start");
    let resp = post(&mock, "/v1/messages", &request("m", false)).await;
    assert_eq!(resp.status(), 200);
    mock.shutdown();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let result = client()
        .post(format!("{}/v1/messages", mock.base_url()))
        .body("{}")
        .send()
        .await;
    assert!(result.is_err(), "{result:?}");
}
