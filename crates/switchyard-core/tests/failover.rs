//! Failover rules (issue: headless engine, items 6-7) against scripted mock upstreams.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use switchyard_core::secrets::SecretStore;
use switchyard_core::{Event, FailoverReason};
use switchyard_mock::{anthropic_stream_events, error_event, Reply, Step};

#[tokio::test]
async fn fails_over_on_every_retryable_status_before_the_client_sees_a_byte() {
    for status in [429u16, 500, 502, 503, 529, 401, 403, 402, 408] {
        for stream in [false, true] {
            let e = env(2).await;
            e.mocks[0].push(Reply::error(status, format!("upstream says {status}")));
            e.mocks[1].set_default(Reply::text("from backup"));
            let r = e.messages(stream).await;
            assert_eq!(r.status, 200, "status {status} stream {stream}: {}", r.text);
            assert_eq!(r.provider(), Some("p1"));
            assert_eq!(r.header("x-switchyard-attempts"), Some("2"));
            if stream {
                assert_valid_stream(&r);
                assert!(r.text.contains("from"), "{}", r.text);
            } else {
                assert_eq!(r.json()["content"][0]["text"], "from backup");
            }
            assert_eq!(e.mocks[0].request_count(), 1);
            assert_eq!(e.mocks[1].request_count(), 1);
        }
    }
}

#[tokio::test]
async fn client_errors_are_returned_unchanged_without_failover() {
    for status in [400u16, 404, 413, 422] {
        let e = env(2).await;
        e.mocks[0].push(
            Reply::error(status, "max_tokens: must be positive")
                .with_header("request-id", "req_up_1"),
        );
        let r = e.messages(false).await;
        assert_eq!(r.status, status);
        assert_eq!(r.json()["error"]["message"], "max_tokens: must be positive");
        assert_eq!(r.header("request-id"), Some("req_up_1"));
        assert_eq!(r.provider(), Some("p0"));
        assert_eq!(
            e.mocks[1].request_count(),
            0,
            "backup not contacted for {status}"
        );
    }
}

#[tokio::test]
async fn indicator_words_in_an_error_body_fail_over() {
    let e = env(2).await;
    e.mocks[0].push(Reply::error(400, "You have exceeded your monthly quota"));
    let r = e.messages(false).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.provider(), Some("p1"));

    let custom = |c: &mut switchyard_core::config::Config| {
        c.routing.failover_indicators = vec!["custom outage".into()]
    };
    let e = env_with(2, custom).await;
    e.mocks[0].push(Reply::error(400, "Custom Outage in progress"));
    assert_eq!(e.messages(false).await.provider(), Some("p1"));
    let e = env_with(2, custom).await;
    e.mocks[0].push(Reply::error(400, "quota"));
    let r = e.messages(false).await;
    assert_eq!(
        (r.status, r.provider()),
        (400, Some("p0")),
        "indicators are configurable"
    );
}

#[tokio::test]
async fn an_error_as_first_stream_event_fails_over() {
    let e = env(2).await;
    e.mocks[0].push(Reply::sse([error_event("overloaded_error", "Overloaded")]));
    let r = e.messages(true).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.provider(), Some("p1"));
    assert_valid_stream(&r);
    assert!(!r.text.contains("Overloaded"));
}

#[tokio::test]
async fn empty_answers_fail_over() {
    for stream in [false, true] {
        let e = env(2).await;
        e.mocks[0].push(Reply::empty_message());
        let r = e.messages(stream).await;
        assert_eq!(r.provider(), Some("p1"), "stream {stream}: {}", r.text);
        assert_eq!(r.status, 200);
    }
}

#[tokio::test]
async fn connect_refused_and_hangup_before_headers_fail_over() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_url = format!("http://{}", dead.local_addr().expect("addr"));
    drop(dead);
    let e = env_with(2, |c| c.providers[0].base_url = dead_url).await;
    let r = e.messages(false).await;
    assert_eq!((r.status, r.provider()), (200, Some("p1")));

    let e = env(2).await;
    e.mocks[0].push(Reply::hangup());
    let r = e.messages(true).await;
    assert_eq!((r.status, r.provider()), (200, Some("p1")));
    assert_valid_stream(&r);
}

#[tokio::test]
async fn silence_before_the_first_byte_or_first_event_fails_over() {
    let e = env_with(2, |c| {
        c.timeouts.first_byte_ms = 300;
        c.timeouts.request_ms = 300;
    })
    .await;
    // No headers for too long (non-streaming).
    e.mocks[0].push(Reply::text("late").with_delay(1500));
    let r = e.messages(false).await;
    assert_eq!((r.status, r.provider()), (200, Some("p1")));
    // Headers, then a stream that stalls before its first event.
    e.sy.switch(None).expect("auto");
    let e = env_with(2, |c| c.timeouts.first_byte_ms = 300).await;
    e.mocks[0].push(Reply::sse([Step::Stall]));
    let started = std::time::Instant::now();
    let r = e.messages(true).await;
    assert_eq!((r.status, r.provider()), (200, Some("p1")));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_valid_stream(&r);
}

#[tokio::test]
async fn cooldown_is_respected_then_traffic_returns_to_the_primary() {
    let mut e = env(2).await;
    e.mocks[0].push(Reply::error(429, "rate limited").with_header("retry-after", "1"));
    assert_eq!(e.messages(false).await.provider(), Some("p1"));
    // During the cooldown the primary is not contacted at all.
    for _ in 0..3 {
        assert_eq!(e.messages(true).await.provider(), Some("p1"));
    }
    assert_eq!(e.mocks[0].request_count(), 1);
    let health = e.get("/v1/health").await.json();
    assert_eq!(health["providers"]["p0"], "cooling_down");
    assert_eq!(health["current_provider"], "p1");
    assert_eq!(health["status"], "degraded");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let r = e.messages(false).await;
    assert_eq!(
        r.provider(),
        Some("p0"),
        "back on the primary after its cooldown"
    );
    assert_eq!(e.get("/v1/health").await.json()["status"], "healthy");
    let evs = e.drain_events();
    assert!(evs.iter().any(|ev| matches!(ev, Event::Failover { from, to, reason: FailoverReason::RateLimited, .. } if from == "p0" && to == "p1")), "{evs:?}");
    assert!(
        evs.iter()
            .any(|ev| matches!(ev, Event::Recovered { provider, .. } if provider == "p0")),
        "{evs:?}"
    );
    let n_failover = evs
        .iter()
        .filter(|ev| matches!(ev, Event::Failover { .. }))
        .count();
    assert_eq!(n_failover, 1, "one failover event, not one per request");
}

#[tokio::test]
async fn failed_half_open_trial_doubles_the_cooldown() {
    let e = env(2).await;
    e.mocks[0].push(Reply::error(503, "down").with_header("retry-after", "1"));
    e.mocks[0].push(Reply::error(503, "still down"));
    assert_eq!(e.messages(false).await.provider(), Some("p1"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        e.messages(false).await.provider(),
        Some("p1"),
        "trial failed"
    );
    assert_eq!(e.mocks[0].request_count(), 2);
    let st = e.sy.status();
    let until = st.providers[0].status.cooldown_until.expect("cooling");
    let left = (until - chrono::Utc::now()).num_milliseconds();
    assert!(
        (1_800..=4_100).contains(&left),
        "at least doubled from 1 s, got {left} ms"
    );
}

#[tokio::test]
async fn subscription_usage_limits_cool_down_until_their_reset() {
    let e = env(2).await;
    let reset = (chrono::Utc::now() + chrono::Duration::hours(5)).timestamp();
    e.mocks[0].push(
        Reply::error(429, "Claude AI usage limit reached")
            .with_header("anthropic-ratelimit-unified-status", "rejected")
            .with_header("anthropic-ratelimit-unified-reset", reset.to_string()),
    );
    assert_eq!(e.messages(false).await.provider(), Some("p1"));
    let p0 = &e.sy.status().providers[0];
    let secs = p0.status.cooldown_remaining_secs.expect("cooling");
    assert!(secs > 4 * 3600, "cools until the reset, got {secs}s");
    assert_eq!(
        p0.status.last_error.as_ref().map(|l| l.reason),
        Some(FailoverReason::UsageLimit)
    );
}

#[tokio::test]
async fn the_client_credential_never_reaches_a_keyed_provider() {
    let e = env(3).await;
    e.mocks[0].push(Reply::error(529, "overloaded"));
    e.mocks[1].push(Reply::error(500, "boom"));
    let r = e
        .send(
            e.http
                .post(e.url("/v1/messages?beta=true"))
                .header("x-api-key", CLIENT_KEY)
                .header("authorization", "Bearer sk-ant-oat01-client-oauth")
                .header(
                    "anthropic-beta",
                    "oauth-2025-04-20,interleaved-thinking-2025-05-14",
                )
                .header("anthropic-version", "2023-06-01")
                .header("x-claude-code-session-id", "sess-1")
                .header("content-type", "application/json")
                .body(body(true).to_string()),
        )
        .await;
    assert_eq!(
        (r.status, r.provider(), r.header("x-switchyard-attempts")),
        (200, Some("p2"), Some("3"))
    );
    let p0 = &e.mocks[0].requests()[0];
    assert_eq!(
        p0.header("x-api-key"),
        Some(CLIENT_KEY),
        "passthrough gets the client key"
    );
    assert_eq!(
        p0.header("authorization"),
        Some("Bearer sk-ant-oat01-client-oauth")
    );
    assert_eq!(p0.query.as_deref(), Some("beta=true"));
    for (i, m) in e.mocks.iter().enumerate().skip(1) {
        let req = &m.requests()[0];
        let key = key_of(&format!("p{i}"));
        assert_eq!(req.header("x-api-key"), Some(key.as_str()));
        assert_eq!(req.header("authorization"), None);
        let all = format!("{:?}", req.headers);
        assert!(
            !all.contains(CLIENT_KEY) && !all.contains("client-oauth"),
            "{all}"
        );
        assert_eq!(
            req.header("anthropic-beta"),
            Some("oauth-2025-04-20,interleaved-thinking-2025-05-14")
        );
        assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(req.header("x-claude-code-session-id"), Some("sess-1"));
        assert_eq!(
            req.header("host")
                .map(|h| h.contains(&m.addr().port().to_string())),
            Some(true)
        );
    }
}

#[tokio::test]
async fn a_passthrough_credential_refused_fails_over_without_cooling_the_provider() {
    let e = env(2).await;
    e.mocks[0].push(Reply::error(401, "invalid x-api-key"));
    assert_eq!(e.messages(false).await.provider(), Some("p1"));
    assert_eq!(
        e.messages(false).await.provider(),
        Some("p0"),
        "the next client may have a good key"
    );
}

#[tokio::test]
async fn a_rejected_stored_key_is_reported_and_cools_the_provider() {
    let mut e = env(3).await;
    e.mocks[0].set_default(Reply::error(529, "overloaded"));
    e.mocks[1].push(Reply::error(401, "invalid x-api-key"));
    assert_eq!(e.messages(false).await.provider(), Some("p2"));
    let evs = e.drain_events();
    assert!(evs.iter().any(|ev| matches!(ev, Event::KeyProblem { provider, reason: FailoverReason::KeyRejected } if provider == "p1")), "{evs:?}");
    assert_eq!(
        e.get("/v1/health").await.json()["providers"]["p1"],
        "unhealthy"
    );
}

#[tokio::test]
async fn a_missing_key_skips_the_provider_and_says_so() {
    let mut e = env(3).await;
    e.secrets.delete("p1").ok();
    e.mocks[0].push(Reply::error(529, "overloaded"));
    let r = e.messages(false).await;
    assert_eq!(r.provider(), Some("p2"));
    assert_eq!(e.mocks[1].request_count(), 0);
    let evs = e.drain_events();
    assert!(evs.iter().any(|ev| matches!(ev, Event::KeyProblem { provider, reason: FailoverReason::KeyMissing } if provider == "p1")));
}

#[tokio::test]
async fn when_everything_fails_the_client_gets_the_last_upstream_error() {
    let e = env(2).await;
    e.mocks[0].push(Reply::error(529, "overloaded").with_header("retry-after", "5"));
    e.mocks[1].push(
        Reply::error(
            429,
            "Number of request tokens has exceeded your per-minute rate limit",
        )
        .with_header("retry-after", "7")
        .with_header("request-id", "req_last"),
    );
    let r = e.messages(true).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.json()["type"], "error");
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");
    assert_eq!(
        r.json()["error"]["message"],
        "Number of request tokens has exceeded your per-minute rate limit"
    );
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.header("request-id"), Some("req_last"));
    assert_eq!(r.provider(), Some("p1"));
    // Both are cooling with upstream hints: the next request is answered at once, with a retry time.
    let r = e.messages(false).await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    assert_eq!(
        e.mocks[0].request_count() + e.mocks[1].request_count(),
        2,
        "nobody contacted"
    );
    assert_eq!(e.get("/v1/health").await.json()["status"], "down");
}

#[tokio::test]
async fn when_all_cool_on_our_own_backoff_the_soonest_is_tried_anyway() {
    let e = env(2).await;
    e.mocks[0].push(Reply::error(500, "boom"));
    e.mocks[1].push(Reply::error(500, "boom"));
    assert_eq!(e.messages(false).await.status, 500);
    // No upstream asked us to wait: rather than refuse, try the provider back soonest.
    let r = e.messages(false).await;
    assert_eq!(r.status, 200);
    assert_eq!(e.mocks[0].request_count() + e.mocks[1].request_count(), 3);
}

#[tokio::test]
async fn final_errors_without_an_anthropic_body_are_mapped() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_url = format!("http://{}", dead.local_addr().expect("addr"));
    drop(dead);
    let e = env_with(1, |c| c.providers[0].base_url = dead_url).await;
    let r = e.messages(false).await;
    assert_eq!(r.status, 529);
    assert_eq!(r.json()["error"]["type"], "overloaded_error");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("cannot connect"),
        "{}",
        r.text
    );

    let e = env(1).await;
    e.mocks[0].push(
        Reply::new(switchyard_mock::Body::Raw {
            text: "<html>Bad Gateway</html>".into(),
            content_type: Some("text/html".into()),
        })
        .with_status(502),
    );
    let r = e.messages(false).await;
    assert_eq!(r.status, 529, "502 maps to overloaded: {}", r.text);
    assert_eq!(r.json()["error"]["type"], "overloaded_error");

    let e = env(1).await;
    e.mocks[0].push(Reply::error(402, "Insufficient Balance"));
    let r = e.messages(false).await;
    assert_eq!(r.status, 402);
    assert_eq!(r.header("x-should-retry"), Some("false"));
}

#[tokio::test]
async fn model_mapping_goes_upstream_and_the_client_model_comes_back() {
    let e = env_with(2, |c| {
        c.providers[1].models.0 = vec![
            ("*haiku*".into(), "small-model".into()),
            ("*".into(), "big-model".into()),
        ];
    })
    .await;
    e.mocks[0].set_default(Reply::error(503, "down"));
    let raw = r#"{"model":"claude-sonnet-4-5","max_tokens":64,"stream":false,"messages":[{"role":"user","content":"hello"}],"metadata":{"user_id":"u"},"future_field":{"x":[1,2]}}"#;
    let r = e
        .send(
            e.http
                .post(e.url("/v1/messages"))
                .header("content-type", "application/json")
                .body(raw),
        )
        .await;
    assert_eq!(r.json()["model"], "claude-sonnet-4-5", "{}", r.text);
    let got = e.mocks[1].requests()[0].body_text();
    assert_eq!(
        got,
        raw.replace("claude-sonnet-4-5", "big-model"),
        "bytes unchanged except the model"
    );
    e.sy.switch(Some("p1")).expect("pin");
    let mut b = body(true);
    b["model"] = json!("claude-haiku-4-5");
    let r = e.post_json("/v1/messages", &b).await;
    assert_valid_stream(&r);
    assert_eq!(r.events()[0].1["message"]["model"], "claude-haiku-4-5");
    assert_eq!(
        e.mocks[1]
            .requests()
            .last()
            .map(|q| q.json()["model"].clone()),
        Some(json!("small-model"))
    );
}

#[tokio::test]
async fn upstream_headers_are_relayed_back() {
    let e = env(1).await;
    e.mocks[0].push(
        Reply::text("hi")
            .with_header("request-id", "req_abc")
            .with_header("anthropic-ratelimit-requests-remaining", "99")
            .with_header("x-internal-thing", "no"),
    );
    let r = e.messages(false).await;
    assert_eq!(r.header("request-id"), Some("req_abc"));
    assert_eq!(
        r.header("anthropic-ratelimit-requests-remaining"),
        Some("99")
    );
    assert_eq!(r.header("x-internal-thing"), None);
    assert_eq!(
        r.header("x-switchyard-attempts"),
        None,
        "only after failovers"
    );
}

#[tokio::test]
async fn after_the_first_byte_an_upstream_failure_becomes_a_clean_error_event() {
    let e = env(2).await;
    let mut steps = anthropic_stream_events("m", &["Hel", "lo"], "end_turn", 2);
    steps.truncate(4); // message_start, block start, ping?, first delta
    steps.push(Step::Hangup);
    e.mocks[0].push(Reply::sse(steps));
    let r = e.messages(true).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.provider(), Some("p0"), "no failover once bytes flowed");
    let evs = r.events();
    let last = evs.last().expect("events");
    assert_eq!(last.0, "error", "{}", r.text);
    assert_eq!(last.1["type"], "error");
    assert!(last.1["error"]["message"].is_string());
    assert_eq!(e.mocks[1].request_count(), 0);
}

#[tokio::test]
async fn mid_stream_silence_ends_with_a_timeout_error_event() {
    let e = env_with(1, |c| c.timeouts.idle_ms = 300).await;
    let mut steps = anthropic_stream_events("m", &["Hel", "lo"], "end_turn", 2);
    steps.truncate(4);
    steps.push(Step::Stall);
    e.mocks[0].push(Reply::sse(steps));
    let r = e.messages(true).await;
    let last = r.events().last().cloned().expect("events");
    assert_eq!(last.0, "error");
    assert_eq!(last.1["error"]["type"], "timeout_error");
    assert!(
        e.mocks[0].wait_stream_closed(Duration::from_secs(1)).await,
        "upstream dropped"
    );
}

#[tokio::test]
async fn client_hang_up_mid_stream_closes_the_upstream_within_a_second() {
    let e = env(1).await;
    e.mocks[0].push(
        Reply::text("one two three four five six seven eight nine ten")
            .with_chunks(10)
            .with_chunk_delay(200),
    );
    let mut resp = e
        .http
        .post(e.url("/v1/messages"))
        .header("content-type", "application/json")
        .body(body(true).to_string())
        .send()
        .await
        .expect("response");
    let first = resp.chunk().await.expect("chunk").expect("some bytes");
    assert!(first.starts_with(b"event: message_start"));
    assert_eq!(e.mocks[0].streams_open(), 1);
    drop(resp);
    let closed = e.mocks[0].wait_stream_closed(Duration::from_secs(1)).await;
    assert!(
        closed,
        "upstream stream still open a second after the client left"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let rec = e.sy.recent_requests(1);
    assert_eq!(
        rec[0].error.as_deref(),
        Some("client closed the connection")
    );
}

#[tokio::test]
async fn streams_are_relayed_chunk_by_chunk_not_buffered() {
    let e = env(1).await;
    e.mocks[0].push(Reply::text("a b c d").with_chunks(4).with_chunk_delay(300));
    let started = std::time::Instant::now();
    let mut resp = e
        .http
        .post(e.url("/v1/messages"))
        .header("content-type", "application/json")
        .body(body(true).to_string())
        .send()
        .await
        .expect("response");
    let mut first_delta = None;
    while let Some(c) = resp.chunk().await.expect("chunk") {
        if first_delta.is_none() && c.windows(10).any(|w| w == b"text_delta") {
            first_delta = Some(started.elapsed());
        }
    }
    let total = started.elapsed();
    let first = first_delta.expect("saw a delta");
    assert!(total >= Duration::from_millis(900), "{total:?}");
    assert!(
        first + Duration::from_millis(600) < total,
        "first delta at {first:?}, end at {total:?}: buffered?"
    );
}

#[tokio::test]
async fn pinning_routes_to_the_pinned_provider_and_auto_returns() {
    let mut e = env(3).await;
    let r = e
        .post_json("/v1/switch-provider", &json!({"provider": "p2"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["current_provider"], "p2");
    assert_eq!(e.messages(false).await.provider(), Some("p2"));
    assert_eq!(e.get("/v1/health").await.json()["current_provider"], "p2");
    // A failing pinned provider still falls back (pin_fallback = true by default).
    e.mocks[2].push(Reply::error(500, "x"));
    assert_eq!(e.messages(false).await.provider(), Some("p0"));
    let r = e
        .post_json("/v1/switch-provider", &json!({"provider": "auto"}))
        .await;
    assert_eq!(r.json()["pinned"], serde_json::Value::Null);
    assert_eq!(e.messages(false).await.provider(), Some("p0"));
    let r = e
        .post_json("/v1/switch-provider", &json!({"provider": "nope"}))
        .await;
    assert_eq!(r.status, 400);
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(msg.contains("p0, p1, p2"), "{msg}");
    let evs = e.drain_events();
    assert!(evs.contains(&Event::Switched {
        pinned: Some("p2".into())
    }));
    assert!(evs.contains(&Event::Switched { pinned: None }));
}

#[tokio::test]
async fn a_strict_pin_does_not_fall_back() {
    let e = env_with(2, |c| c.routing.pin_fallback = false).await;
    e.sy.switch(Some("p1")).expect("pin");
    e.mocks[1].push(Reply::error(529, "overloaded"));
    let r = e.messages(false).await;
    assert_eq!((r.status, r.provider()), (529, Some("p1")));
    assert_eq!(e.mocks[0].request_count(), 0);
}
