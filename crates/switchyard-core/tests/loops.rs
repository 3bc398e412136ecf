//! Loops: a provider whose base_url points back at this Switchyard, or two instances pointing
//! at each other, end at once with a clear error naming the provider (508, in the client's
//! dialect) instead of going round until a header grows too large; the hop header travels
//! once per hop and a client cannot make it grow without bound.

mod common;

use common::{body, env_with, Env};
use serde_json::{json, Value};
use switchyard_core::config::{Credential, Provider, ProviderKind};

/// A free loopback port (bound, read, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// An environment whose first provider, "Loopy", points at `target` (or at itself).
async fn with_loopy(port: u16, target: Option<u16>, backup: bool) -> Env {
    let to = target.unwrap_or(port);
    env_with(if backup { 2 } else { 1 }, |c| {
        c.listen = format!("127.0.0.1:{port}").parse().expect("addr");
        c.providers[0] = Provider {
            name: Some("Loopy".into()),
            credential: Credential::None,
            ..Provider::new(
                "loopy",
                ProviderKind::Anthropic,
                format!("http://127.0.0.1:{to}"),
            )
        };
    })
    .await
}

async fn last_request(e: &Env) -> Value {
    e.get("/api/requests?limit=1").await.json()["requests"][0].clone()
}

#[tokio::test]
async fn a_provider_pointing_back_here_fails_over_at_once_naming_itself() {
    let port = free_port();
    let e = with_loopy(port, None, true).await;
    let r = e.messages(false).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.provider(), Some("p1"));
    let rec = last_request(&e).await;
    assert_eq!(rec["attempts"][0]["provider"], "loopy", "{rec}");
    assert_eq!(rec["attempts"][0]["status"], 508, "{rec}");
    let failure = rec["attempts"][0]["failure"].as_str().unwrap_or_default();
    assert!(
        failure.starts_with(&format!(
            "leads back to Switchyard: Loopy (http://127.0.0.1:{port}) is this Switchyard itself"
        )),
        "{failure}"
    );
    // Cooling down now: the next request (a stream) goes straight to the backup.
    let r = e.messages(true).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rec = last_request(&e).await;
    assert_eq!(rec["attempts"].as_array().map(Vec::len), Some(1), "{rec}");
    assert_eq!(e.mocks[1].request_count(), 2);
    let status = e.get("/api/status").await.json();
    let loopy = status["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .find(|p| p["id"] == "loopy")
        .cloned()
        .expect("loopy");
    assert_eq!(loopy["last_error"]["reason"], "loop", "{loopy}");
}

#[tokio::test]
async fn with_nowhere_else_to_go_the_client_gets_508_in_its_own_dialect() {
    let port = free_port();
    let e = with_loopy(port, None, false).await;
    let r = e.messages(false).await;
    assert_eq!(r.status, 508, "{}", r.text);
    assert_eq!(r.header("x-switchyard-loop"), Some("1"));
    let v = r.json();
    assert_eq!(v["type"], "error");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("Loopy") && msg.contains("is this Switchyard itself"),
        "{msg}"
    );

    // An OpenAI client gets OpenAI's error shape.
    let r = e
        .post_json(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(r.status, 508, "{}", r.text);
    let v = r.json();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Loopy"),
        "{v}"
    );
    assert!(
        v.get("type").is_none() || v["type"] != "error",
        "OpenAI shape: {v}"
    );
}

#[tokio::test]
async fn two_instances_pointing_at_each_other_stop_after_one_round() {
    let (pa, pb) = (free_port(), free_port());
    let a = with_loopy(pa, Some(pb), false).await;
    let b = with_loopy(pb, Some(pa), false).await;
    let started = std::time::Instant::now();
    let r = a.messages(false).await;
    assert_eq!(r.status, 508, "{}", r.text);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        msg.contains(&format!("Loopy (http://127.0.0.1:{pb})")),
        "A names its own provider: {msg}"
    );
    // B saw the request once and refused the way back into A once.
    let rec = last_request(&b).await;
    assert_eq!(rec["status"], 508, "{rec}");
    assert_eq!(rec["attempts"].as_array().map(Vec::len), Some(1), "{rec}");
    drop(b);
}

#[tokio::test]
async fn the_hop_header_is_sent_once_and_cannot_be_made_to_grow() {
    let e = env_with(1, |_| {}).await;
    // A client (or a Switchyard in front) that already counted two hops.
    let r = e
        .send(
            e.http
                .post(e.url("/v1/messages"))
                .header("content-type", "application/json")
                .header("x-api-key", common::CLIENT_KEY)
                .header("x-switchyard-hops", "sy-aaaa, sy-bbbb")
                .body(body(false).to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let seen = e.mocks[0].requests();
    let hops: Vec<&str> = seen[0]
        .headers
        .iter()
        .filter(|(k, _)| k == "x-switchyard-hops")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(hops.len(), 1, "{hops:?}");
    let ids: Vec<&str> = hops[0].split(',').collect();
    assert_eq!(&ids[..2], ["sy-aaaa", "sy-bbbb"]);
    assert_eq!(ids.len(), 3);
    assert!(ids[2].starts_with("sy-") && ids[2].len() == 19, "{ids:?}");

    // Eight hops already: refused before any provider is asked.
    let many = (0..8)
        .map(|i| format!("sy-{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let r = e
        .send(
            e.http
                .post(e.url("/v1/messages"))
                .header("content-type", "application/json")
                .header("x-api-key", common::CLIENT_KEY)
                .header("x-switchyard-hops", many)
                .body(body(false).to_string()),
        )
        .await;
    assert_eq!(r.status, 508, "{}", r.text);
    assert_eq!(e.mocks[0].request_count(), 1, "no provider was asked");
}

#[tokio::test]
async fn a_health_probe_finds_the_loop_too() {
    let port = free_port();
    let e = with_loopy(port, None, true).await;
    let r = e
        .send(
            e.http
                .post(e.url("/api/providers/loopy/test"))
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await;
    let text = r.text.clone();
    assert!(
        text.contains("is this Switchyard itself"),
        "{} {text}",
        r.status
    );
}
