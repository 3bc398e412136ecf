//! The response cache against a mock upstream: temperature-0 non-streaming requests are
//! answered once upstream, everything else always goes upstream.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use switchyard_core::config::Config;
use switchyard_mock::Reply;

fn cached(c: &mut Config) {
    c.cache.enabled = true;
}

fn req(temperature: Option<f64>, stream: bool, text: &str) -> Value {
    let mut b = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
        "metadata": {"user_id": format!("user-{}", rand_suffix())},
    });
    if let Some(t) = temperature {
        b["temperature"] = json!(t);
    }
    b
}

/// Different metadata each call: it must not change the key.
fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[tokio::test]
async fn identical_temperature_zero_requests_go_upstream_once() {
    let e = env_with(1, cached).await;
    e.mocks[0].set_default(Reply::text("the same answer"));
    let a = e
        .post_json("/v1/messages", &req(Some(0.0), false, "hi"))
        .await;
    // Same request, keys in another order.
    let reordered: Value = serde_json::from_str(
        r#"{"temperature":0,"messages":[{"content":"hi","role":"user"}],"max_tokens":64,"stream":false,"model":"claude-sonnet-4-5"}"#,
    )
    .expect("json");
    let b = e.post_json("/v1/messages", &reordered).await;
    assert_eq!((a.status, b.status), (200, 200));
    assert_eq!(a.header("x-switchyard-cache"), Some("miss"));
    assert_eq!(b.header("x-switchyard-cache"), Some("hit"));
    assert_eq!(b.provider(), Some("p0"));
    assert_eq!(a.text, b.text);
    assert_eq!(
        e.mocks[0].request_count(),
        1,
        "the second came from the cache"
    );

    let s = e.get("/api/status").await.json();
    assert_eq!(s["cache"]["entries"], 1);
    assert_eq!(s["cache"]["hits"], 1);
    assert_eq!(s["cache"]["misses"], 1);
    assert_eq!(s["cache"]["hit_rate"], 0.5);
    let m = e.get("/metrics").await.text;
    assert!(m.contains("switchyard_cache_hits_total 1\n"), "{m}");
    assert!(m.contains("switchyard_cache_entries 1\n"), "{m}");
    let log = e.get("/api/requests").await.json();
    let last = log
        .as_array()
        .or_else(|| log["requests"].as_array())
        .and_then(|a| a.last().cloned())
        .expect("request log");
    assert_eq!(last["cache_hit"], true, "{last}");
    // A hit costs nothing: usage counts the one upstream answer.
    let u = e.get("/api/usage?days=1").await.json();
    assert_eq!(u["totals"]["requests"], 1);

    // A different question is a miss.
    let c = e
        .post_json("/v1/messages", &req(Some(0.0), false, "other"))
        .await;
    assert_eq!(c.header("x-switchyard-cache"), Some("miss"));
    assert_eq!(e.mocks[0].request_count(), 2);
}

#[tokio::test]
async fn non_zero_temperature_streams_and_errors_are_never_cached() {
    let e = env_with(1, cached).await;
    e.mocks[0].set_default(Reply::text("answer"));
    for _ in 0..2 {
        let r = e
            .post_json("/v1/messages", &req(Some(0.7), false, "hi"))
            .await;
        assert_eq!(r.header("x-switchyard-cache"), None);
    }
    assert_eq!(e.mocks[0].request_count(), 2);
    for _ in 0..2 {
        let r = e.post_json("/v1/messages", &req(None, false, "hi")).await;
        assert_eq!(r.header("x-switchyard-cache"), None);
    }
    assert_eq!(e.mocks[0].request_count(), 4, "no temperature: not cached");
    for _ in 0..2 {
        let r = e
            .post_json("/v1/messages", &req(Some(0.0), true, "hi"))
            .await;
        assert_eq!(r.status, 200);
        assert_valid_stream(&r);
        assert_eq!(r.header("x-switchyard-cache"), None);
    }
    assert_eq!(e.mocks[0].request_count(), 6, "streams are never cached");
    e.mocks[0].push(Reply::error(400, "bad request"));
    let r = e
        .post_json("/v1/messages", &req(Some(0.0), false, "err"))
        .await;
    assert_eq!(r.status, 400);
    let r = e
        .post_json("/v1/messages", &req(Some(0.0), false, "err"))
        .await;
    assert_eq!(
        (r.status, r.header("x-switchyard-cache")),
        (200, Some("miss"))
    );
    assert_eq!(e.mocks[0].request_count(), 8, "errors are not cached");
}

#[tokio::test]
async fn off_by_default() {
    let e = env(1).await;
    e.mocks[0].set_default(Reply::text("answer"));
    for _ in 0..2 {
        let r = e
            .post_json("/v1/messages", &req(Some(0.0), false, "hi"))
            .await;
        assert_eq!(r.header("x-switchyard-cache"), None);
    }
    assert_eq!(e.mocks[0].request_count(), 2);
    assert_eq!(e.get("/api/status").await.json()["cache"]["enabled"], false);
}

#[tokio::test]
async fn ttl_expiry() {
    let e = env_with(1, |c| {
        c.cache.enabled = true;
        c.cache.ttl_secs = 1;
    })
    .await;
    e.mocks[0].set_default(Reply::text("answer"));
    let body = req(Some(0.0), false, "hi");
    e.post_json("/v1/messages", &body).await;
    let r = e.post_json("/v1/messages", &body).await;
    assert_eq!(r.header("x-switchyard-cache"), Some("hit"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = e.post_json("/v1/messages", &body).await;
    assert_eq!(r.header("x-switchyard-cache"), Some("miss"));
    assert_eq!(e.mocks[0].request_count(), 2);
}

#[tokio::test]
async fn size_cap_evicts_and_clearing_empties() {
    let e = env_with(1, |c| {
        c.cache.enabled = true;
        c.cache.max_entries = 1;
    })
    .await;
    e.mocks[0].set_default(Reply::text("answer"));
    let a = req(Some(0.0), false, "a");
    let b = req(Some(0.0), false, "b");
    e.post_json("/v1/messages", &a).await;
    e.post_json("/v1/messages", &b).await;
    let r = e.post_json("/v1/messages", &a).await;
    assert_eq!(
        r.header("x-switchyard-cache"),
        Some("miss"),
        "a was evicted by b"
    );
    assert_eq!(e.mocks[0].request_count(), 3);
    assert_eq!(e.get("/api/status").await.json()["cache"]["entries"], 1);

    // DELETE /api/cache empties it.
    let r = e.send(e.http.delete(e.url("/api/cache"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["cleared"], 1);
    let r = e.post_json("/v1/messages", &a).await;
    assert_eq!(r.header("x-switchyard-cache"), Some("miss"));

    // So does a config change.
    let r = e.post_json("/v1/messages", &a).await;
    assert_eq!(r.header("x-switchyard-cache"), Some("hit"));
    let mut cfg = (*e.sy.config()).clone();
    cfg.cache.ttl_secs = 120;
    e.sy.reload(cfg).expect("reload");
    let r = e.post_json("/v1/messages", &a).await;
    assert_eq!(r.header("x-switchyard-cache"), Some("miss"));
    assert_eq!(e.mocks[0].request_count(), 5);
}
