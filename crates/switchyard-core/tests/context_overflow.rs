//! Context overflow that clients understand: a provider's refusal of a conversation as too long,
//! in any vendor's words, reaches each client dialect in the words its client acts on (Claude
//! Code compacts on "prompt is too long: N tokens > M maximum"), fails over without cooling
//! the provider down, and providers whose window the conversation cannot fit are skipped.

mod common;

use common::*;
use serde_json::{json, Value};
use switchyard_core::config::{Config, ProviderKind};
use switchyard_mock::Reply;

fn setup(c: &mut Config, providers: &[(ProviderKind, &str)]) {
    for (p, (kind, model)) in c.providers.iter_mut().zip(providers) {
        p.kind = *kind;
        p.models.0 = vec![("*".into(), (*model).into())];
    }
}

fn openai_overflow() -> Reply {
    Reply::json(
        400,
        json!({"error": {"message": "This model's maximum context length is 128000 tokens. However, you requested 131000 tokens (130512 in the messages, 488 in the completion). Please reduce the length of the messages or completion.",
            "type": "invalid_request_error", "param": null, "code": "context_length_exceeded"}}),
    )
}

fn gemini_overflow() -> Reply {
    Reply::json(
        400,
        json!({"error": {"code": 400, "message": "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).", "status": "INVALID_ARGUMENT"}}),
    )
}

async fn status_of(e: &Env, id: &str) -> String {
    let s = e.get("/api/status").await.json();
    s["providers"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["id"] == id))
        .map(|p| p["state"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_dialect_gets_its_own_words() {
    let e = env_with(1, |c| setup(c, &[(ProviderKind::Openai, "deepseek-chat")])).await;
    // Anthropic clients: Anthropic's error, with the vendor's numbers.
    e.mocks[0].push(openai_overflow());
    let r = e.messages(false).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let v = r.json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(
        v["error"]["message"],
        "prompt is too long: 130512 tokens > 128000 maximum"
    );
    assert_eq!(status_of(&e, "p0").await, "available", "no cooldown");
    // A stream asked for: the same error, before any byte.
    e.mocks[0].push(openai_overflow());
    let r = e.messages(true).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("prompt is too long"), "{}", r.text);
    // Gemini clients: Gemini's words.
    e.mocks[0].push(openai_overflow());
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    let r = e
        .post_json("/v1beta/models/gemini-2.5-pro:generateContent", &body)
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(
        r.json()["error"]["message"],
        "The input token count (130512) exceeds the maximum number of tokens allowed (128000)."
    );
    // OpenAI clients on an OpenAI provider: the provider's own error, as it came.
    e.mocks[0].push(openai_overflow());
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let r = e.post_json("/v1/chat/completions", &chat).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"]["code"], "context_length_exceeded");
}

#[tokio::test]
async fn other_providers_words_reach_openai_and_anthropic_clients() {
    let e = env_with(1, |c| setup(c, &[(ProviderKind::Gemini, "gemini-2.5-pro")])).await;
    e.mocks[0].push(gemini_overflow());
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let r = e.post_json("/v1/chat/completions", &chat).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let err = &r.json()["error"];
    assert_eq!(err["code"], "context_length_exceeded", "{err}");
    assert!(err["message"]
        .as_str()
        .unwrap_or("")
        .contains("maximum context length is 1048576 tokens"));
    // A vendor that gives no numbers: ours (the estimate, the window) fill them in.
    e.mocks[0].push(Reply::json(
        400,
        json!({"error": {"code": 400, "status": "INVALID_ARGUMENT",
        "message": "Request exceeds the context window exceeded limit"}}),
    ));
    let r = e.messages(false).await;
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        msg.starts_with("prompt is too long: ") && msg.ends_with(" tokens > 1048576 maximum"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_refusal_fails_over_to_a_window_that_fits() {
    let mut e = env_with(3, |c| {
        setup(
            c,
            &[
                (ProviderKind::Anthropic, "claude-sonnet-4-5"),
                (ProviderKind::Openai, "deepseek-chat"),
                (ProviderKind::Gemini, "gemini-2.5-pro"),
            ],
        )
    })
    .await;
    e.mocks[0].push(Reply::error(
        400,
        "prompt is too long: 210000 tokens > 200000 maximum",
    ));
    e.mocks[2].set_default(Reply::text("a bigger window"));
    let r = e.messages(false).await;
    assert_eq!((r.status, r.provider()), (200, Some("p2")), "{}", r.text);
    assert_eq!(r.json()["content"][0]["text"], "a bigger window");
    assert_eq!(
        e.mocks[1].request_count(),
        0,
        "128k cannot hold the 210k tokens the primary counted"
    );
    assert_eq!(status_of(&e, "p0").await, "available");
    let rec = &e.get("/api/requests?limit=1").await.json()["requests"][0];
    let attempts: Vec<String> = rec["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["failure"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        attempts[1].contains("does not fit its window of 128000"),
        "{attempts:?}"
    );
    let evs = e.drain_events();
    assert!(
        !evs.iter().any(|ev| matches!(
            ev,
            switchyard_core::Event::CoolingDown { .. } | switchyard_core::Event::Failover { .. }
        )),
        "no cooldown, and no failover to notify about: {evs:?}"
    );
    // The next, shorter request goes to the primary again, without a "recovered" either.
    e.mocks[0].set_default(Reply::text("short"));
    let r = e.messages(false).await;
    assert_eq!(r.provider(), Some("p0"), "{}", r.text);
    let evs = e.drain_events();
    assert!(
        !evs.iter()
            .any(|ev| matches!(ev, switchyard_core::Event::Recovered { .. })),
        "{evs:?}"
    );
}

#[tokio::test]
async fn a_conversation_is_not_sent_where_it_cannot_fit() {
    let e = env_with(2, |c| {
        setup(
            c,
            &[
                (ProviderKind::Openai, "deepseek-chat"),
                (ProviderKind::Gemini, "gemini-2.5-pro"),
            ],
        )
    })
    .await;
    e.mocks[1].set_default(Reply::text("read it all"));
    // About 300k tokens of prose: far past 128k, well within Gemini's million.
    let long = "The quick brown fox jumps over the lazy dog. ".repeat(30_000);
    let mut b = body(false);
    b["messages"][0]["content"] = Value::String(long.clone());
    let r = e.post_json("/v1/messages", &b).await;
    assert_eq!((r.status, r.provider()), (200, Some("p1")), "{}", r.text);
    assert_eq!(e.mocks[0].request_count(), 0, "skipped without a call");
    // A short one still goes to the primary.
    e.mocks[0].set_default(Reply::text("short"));
    let r = e.messages(false).await;
    assert_eq!(r.provider(), Some("p0"), "{}", r.text);
    // When nothing fits, the providers answer for themselves.
    let e = env_with(1, |c| setup(c, &[(ProviderKind::Openai, "deepseek-chat")])).await;
    e.mocks[0].push(openai_overflow());
    let r = e.post_json("/v1/messages", &b).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(e.mocks[0].request_count(), 1);
}
