//! `x-switchyard-overhead-ms`: every answer says how long Switchyard itself spent on the
//! request, leaving out the time its upstreams took (as LiteLLM's own header does), so users
//! can check the overhead claim themselves.

mod common;

use common::{env, Resp};
use serde_json::json;
use switchyard_mock::Reply;

const HEADER: &str = "x-switchyard-overhead-ms";

fn overhead(r: &Resp) -> f64 {
    let v = r.header(HEADER);
    assert!(
        v.is_some(),
        "no {HEADER} on a {} answer: {:?}",
        r.status,
        r.headers
    );
    let v = v.unwrap_or_default();
    let (whole, frac) = v.split_once('.').expect("milliseconds with decimals");
    assert_eq!(frac.len(), 3, "{v}");
    assert!(whole.bytes().all(|b| b.is_ascii_digit()), "{v}");
    v.parse().expect("a number")
}

/// Send a request and check its overhead leaves out `waited_ms` of upstream time: at most the
/// whole request's time less that (judged against the request's own time, so a busy machine
/// cannot make it flaky).
async fn check_waiting_left_out(r: impl std::future::Future<Output = Resp>, waited_ms: f64) {
    let started = std::time::Instant::now();
    let r = r.await;
    let total = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(r.status, 200, "{}", r.text);
    let ms = overhead(&r);
    assert!(
        ms <= total - waited_ms,
        "upstream wait counted: overhead {ms} ms of {total} ms"
    );
}

#[tokio::test]
async fn slow_upstreams_are_not_counted_as_overhead() {
    let e = env(2).await;
    // 300 ms at the upstream, answered and streamed.
    e.mocks[0].push(Reply::text("slow").with_delay(300));
    check_waiting_left_out(e.messages(false), 300.0).await;
    e.mocks[0].push(Reply::text("slow stream").with_delay(300));
    check_waiting_left_out(e.messages(true), 300.0).await;
    // A failover: the first provider's error and the second's answer are both waiting.
    e.mocks[0].push(Reply::error(429, "slow down").with_delay(300));
    e.mocks[1].push(Reply::text("backup").with_delay(300));
    check_waiting_left_out(e.messages(false), 600.0).await;
}

#[tokio::test]
async fn every_dialect_and_every_kind_of_answer_carries_it() {
    let e = env(1).await;
    // Anthropic: success, the client's own error, give-up, a request refused before routing.
    assert!(overhead(&e.messages(false).await) >= 0.0);
    e.mocks[0].push(Reply::error(400, "bad"));
    let r = e.messages(false).await;
    assert_eq!(r.status, 400, "{}", r.text);
    overhead(&r);
    e.mocks[0].push(Reply::error(529, "overloaded"));
    let r = e.messages(false).await;
    assert_eq!(r.status, 529, "{}", r.text);
    overhead(&r);
    let r = e
        .post_json("/v1/messages", &json!({"messages": "no"}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    overhead(&r);
    // OpenAI chat, Responses, Gemini and the model lists.
    let r = e
        .post_json(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    overhead(&r);
    let r = e
        .post_json(
            "/v1/responses",
            &json!({"model": "gpt-5-codex", "input": "hi", "store": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    overhead(&r);
    let r = e
        .post_json(
            "/v1beta/models/gemini-2.5-pro:generateContent",
            &json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    overhead(&r);
    overhead(&e.get("/v1/models").await);
}
