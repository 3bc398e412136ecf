//! OpenAI- and Gemini-kind providers through the proxy: requests translated on the way out,
//! answers and streams translated back, failover before the first byte as for Anthropic kind.

mod common;

use common::*;
use serde_json::json;
use switchyard_core::config::{Config, ProviderKind};
use switchyard_mock::Reply;

fn kinds(c: &mut Config, kinds: &[ProviderKind]) {
    for (p, k) in c.providers.iter_mut().zip(kinds) {
        p.kind = *k;
        p.models.0 = vec![("*".into(), format!("{:?}-model", k).to_lowercase())];
    }
}

#[tokio::test]
async fn gemini_provider_answers_in_anthropic_shape() {
    let e = env_with(2, |c| {
        kinds(c, &[ProviderKind::Anthropic, ProviderKind::Gemini])
    })
    .await;
    e.sy.switch(Some("p1")).expect("pin");
    e.mocks[1].set_default(Reply::text("Bonjour from Gemini").with_chunks(3));
    let r = e.messages(false).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["type"], "message");
    assert_eq!(v["model"], "claude-sonnet-4-5");
    assert_eq!(v["content"][0]["text"], "Bonjour from Gemini");
    assert_eq!(v["stop_reason"], "end_turn");
    let got = e.mocks[1].requests().last().cloned().expect("request");
    assert_eq!(got.path, "/v1beta/models/gemini-model:generateContent");
    assert_eq!(got.header("x-goog-api-key"), Some(key_of("p1").as_str()));
    assert_eq!(got.header("x-api-key"), None);
    assert_eq!(got.json()["contents"][0]["role"], "user");
    assert_eq!(got.json()["contents"][0]["parts"][0]["text"], "hello");
    let r = e.messages(true).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_valid_stream(&r);
    assert_eq!(stream_text(&r), "Bonjour from Gemini");
    let got = e.mocks[1].requests().last().cloned().expect("request");
    assert_eq!(
        got.path,
        "/v1beta/models/gemini-model:streamGenerateContent"
    );
    assert_eq!(got.query.as_deref(), Some("alt=sse"));
}

#[tokio::test]
async fn openai_provider_answers_in_anthropic_shape() {
    let e = env_with(2, |c| {
        kinds(c, &[ProviderKind::Anthropic, ProviderKind::Openai])
    })
    .await;
    e.sy.switch(Some("p1")).expect("pin");
    e.mocks[1].set_default(Reply::text("Hello from a chat completion").with_chunks(4));
    let r = e.messages(false).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["content"][0]["text"],
        "Hello from a chat completion"
    );
    assert_eq!(r.json()["model"], "claude-sonnet-4-5");
    let got = e.mocks[1].requests().last().cloned().expect("request");
    assert_eq!(got.path, "/v1/chat/completions");
    assert_eq!(
        got.header("authorization").map(String::from),
        Some(format!("Bearer {}", key_of("p1")))
    );
    assert_eq!(got.json()["model"], "openai-model");
    assert_eq!(got.json()["messages"][0]["role"], "user");
    let r = e.messages(true).await;
    assert_valid_stream(&r);
    let got = e.mocks[1].requests().last().cloned().expect("request");
    assert_eq!(got.json()["stream"], true);
    assert_eq!(got.json()["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn failover_from_anthropic_to_translated_kinds_before_the_first_byte() {
    for kind in [ProviderKind::Openai, ProviderKind::Gemini] {
        for stream in [false, true] {
            let e = env_with(2, |c| kinds(c, &[ProviderKind::Anthropic, kind])).await;
            e.mocks[0].push(Reply::error(429, "rate limited").with_header("retry-after", "30"));
            e.mocks[1].set_default(Reply::text("backup speaking"));
            let r = e.messages(stream).await;
            assert_eq!(
                (r.status, r.provider()),
                (200, Some("p1")),
                "{kind:?} stream {stream}: {}",
                r.text
            );
            if stream {
                assert_valid_stream(&r);
            }
            if stream {
                assert_eq!(stream_text(&r), "backup speaking");
            } else {
                assert_eq!(r.json()["content"][0]["text"], "backup speaking");
            }
        }
    }
}

#[tokio::test]
async fn translated_vendor_failures_fail_over_like_any_other() {
    for kind in [ProviderKind::Openai, ProviderKind::Gemini] {
        for (status, stream) in [(429u16, true), (503, false), (500, true)] {
            let e = env_with(3, |c| kinds(c, &[kind, kind, ProviderKind::Anthropic])).await;
            e.mocks[0].push(Reply::error(status, "vendor trouble"));
            e.mocks[1].push(Reply::empty_message());
            let r = e.messages(stream).await;
            assert_eq!(
                (r.status, r.provider()),
                (200, Some("p2")),
                "{kind:?} {status}: {}",
                r.text
            );
            assert_eq!(r.header("x-switchyard-attempts"), Some("3"));
        }
        // When every vendor fails, the client gets an Anthropic-shaped error with the vendor's words.
        let e = env_with(1, |c| kinds(c, &[kind])).await;
        e.mocks[0].push(Reply::error(429, "slow down please").with_header("retry-after", "9"));
        let r = e.messages(false).await;
        assert_eq!(r.status, 429, "{}", r.text);
        assert_eq!(r.json()["type"], "error");
        assert_eq!(r.json()["error"]["type"], "rate_limit_error");
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("slow down please"),
            "{}",
            r.text
        );
        assert_eq!(r.header("retry-after"), Some("9"));
        // A vendor's 400 is the client's problem: returned in Anthropic shape, no failover.
        let e = env_with(2, |c| kinds(c, &[kind, ProviderKind::Anthropic])).await;
        e.mocks[0].push(Reply::error(400, "bad field foo"));
        let r = e.messages(false).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.json()["error"]["type"], "invalid_request_error");
        assert_eq!(e.mocks[1].request_count(), 0);
    }
}

#[tokio::test]
async fn count_tokens_is_estimated_locally_for_translated_kinds() {
    let e = env_with(1, |c| kinds(c, &[ProviderKind::Gemini])).await;
    let r = e.post_json("/v1/messages/count_tokens", &json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hello there, how are you today?"}]})).await;
    assert_eq!(r.status, 200);
    let n = r.json()["input_tokens"].as_u64().expect("count");
    assert!((1..100).contains(&n), "{n}");
    assert_eq!(e.mocks[0].request_count(), 0, "no upstream call");
}

#[tokio::test]
async fn requests_a_vendor_cannot_take_go_to_one_that_can() {
    let e = env_with(2, |c| {
        kinds(c, &[ProviderKind::Openai, ProviderKind::Anthropic])
    })
    .await;
    let mut b = body(false);
    b["messages"] = json!([{"role": "user", "content": [{"type": "mystery_block", "x": 1}]}]);
    let r = e.post_json("/v1/messages", &b).await;
    assert_eq!((r.status, r.provider()), (200, Some("p1")), "{}", r.text);
    assert_eq!(e.mocks[0].request_count(), 0);
    // Nobody left: a clear 400 naming the problem, and the vendor is not cooled down.
    let e = env_with(1, |c| kinds(c, &[ProviderKind::Openai])).await;
    let r = e.post_json("/v1/messages", &b).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("mystery_block"),
        "{}",
        r.text
    );
    assert_eq!(
        e.get("/v1/health").await.json()["providers"]["p0"],
        "available"
    );
}

#[tokio::test]
async fn provider_tests_and_probes_use_each_vendors_free_listing_call() {
    let e = env_with(3, |c| {
        kinds(
            c,
            &[
                ProviderKind::Anthropic,
                ProviderKind::Openai,
                ProviderKind::Gemini,
            ],
        );
        c.providers[1].base_url.push_str("/v1");
    })
    .await;
    for (i, path, header) in [
        (1usize, "/v1/models", "authorization"),
        (2, "/v1beta/models", "x-goog-api-key"),
    ] {
        let id = format!("p{i}");
        let r = e
            .post_json(&format!("/api/providers/{id}/test"), &json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let got = e.mocks[i].requests().last().cloned().expect("probe");
        assert_eq!((got.method.as_str(), got.path.as_str()), ("GET", path));
        assert!(
            got.header(header).is_some_and(|v| v.contains(&key_of(&id))),
            "{:?}",
            got.headers
        );
    }
}
