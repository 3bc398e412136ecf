//! The guard: Host and Origin policy, access tokens, body limits, bad input in Anthropic shape.

mod common;

use common::*;
use serde_json::json;
use switchyard_core::secrets::{MemoryStore, Secret, SecretStore};
use switchyard_core::{StartError, StartOptions, Switchyard};
use switchyard_mock::Reply;

fn assert_anthropic_error(r: &Resp, status: u16, kind: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    let v = r.json();
    assert_eq!(v["type"], "error", "{}", r.text);
    assert_eq!(v["error"]["type"], kind, "{}", r.text);
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn foreign_host_headers_are_refused() {
    let e = env(1).await;
    let port = e.sy.addr().port();
    for host in [
        "evil.example",
        &format!("attacker.com:{port}"),
        &format!("127.0.0.1.nip.io:{port}"),
        "localhost:1",
    ] {
        let r = e
            .send(
                e.http
                    .post(e.url("/v1/messages"))
                    .header("host", host)
                    .header("content-type", "application/json")
                    .body(body(false).to_string()),
            )
            .await;
        assert_anthropic_error(&r, 403, "permission_error");
        let r = e
            .send(e.http.get(e.url("/api/status")).header("host", host))
            .await;
        assert_eq!(r.status, 403, "admin too, host {host}");
    }
    assert_eq!(e.mocks[0].request_count(), 0);
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let r = e
            .send(e.http.get(e.url("/v1/health")).header("host", host))
            .await;
        assert_eq!(r.status, 200);
    }
}

#[tokio::test]
async fn cross_site_browser_requests_are_refused_including_simple_posts() {
    let e = env(1).await;
    // A "simple" cross-site POST (text/plain, no preflight) from a web page.
    let r = e
        .send(
            e.http
                .post(e.url("/v1/messages"))
                .header("origin", "https://evil.example")
                .header("content-type", "text/plain")
                .body(body(false).to_string()),
        )
        .await;
    assert_anthropic_error(&r, 403, "permission_error");
    let r = e
        .send(
            e.http
                .post(e.url("/v1/switch-provider"))
                .header("origin", "http://localhost:8080")
                .header("content-type", "text/plain")
                .body(r#"{"provider":"p0"}"#),
        )
        .await;
    assert_eq!(r.status, 403);
    // Preflight from a foreign origin.
    let r = e
        .send(
            e.http
                .request(reqwest::Method::OPTIONS, e.url("/v1/messages"))
                .header("origin", "https://evil.example")
                .header("access-control-request-method", "POST"),
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.header("access-control-allow-origin").is_none());
    // No Origin but the browser says cross-site.
    let r = e
        .send(
            e.http
                .get(e.url("/api/status"))
                .header("sec-fetch-site", "cross-site"),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(e.mocks[0].request_count(), 0);
}

#[tokio::test]
async fn the_ui_own_origin_and_allow_listed_origins_work() {
    let e = env_with(1, |c| {
        c.security.allowed_origins = vec!["http://localhost:8000".into()]
    })
    .await;
    let own = e.sy.url();
    let r = e
        .send(e.http.get(e.url("/api/status")).header("origin", &own))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some(own.as_str()));
    let r = e
        .send(
            e.http
                .request(reqwest::Method::OPTIONS, e.url("/v1/messages"))
                .header("origin", "http://localhost:8000")
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type,x-api-key"),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:8000")
    );
    let r = e
        .send(
            e.http
                .post(e.url("/v1/messages"))
                .header("origin", "http://localhost:8000")
                .header("content-type", "application/json")
                .body(body(false).to_string()),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        e.mocks[0].requests()[0].header("origin").is_none(),
        "browser context is not forwarded"
    );
}

#[tokio::test]
async fn state_changing_admin_routes_take_json_only() {
    let e = env(2).await;
    let r = e
        .send(
            e.http
                .post(e.url("/v1/switch-provider"))
                .header("content-type", "text/plain")
                .body(r#"{"provider":"p1"}"#),
        )
        .await;
    assert_eq!(r.status, 415);
    let r = e
        .send(
            e.http
                .post(e.url("/v1/switch-provider"))
                .body(r#"{"provider":"p1"}"#),
        )
        .await;
    assert_eq!(r.status, 415);
    assert_eq!(e.sy.status().pinned, None);
    let r = e
        .post_json("/v1/switch-provider", &json!({"nope": 1}))
        .await;
    assert_anthropic_error(&r, 400, "invalid_request_error");
}

#[tokio::test]
async fn bad_bodies_get_anthropic_shaped_errors() {
    let e = env(1).await;
    let r = e
        .send(
            e.http
                .post(e.url("/v1/messages"))
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_anthropic_error(&r, 400, "invalid_request_error");
    let r = e
        .send(
            e.http
                .post(e.url("/v1/messages"))
                .header("content-type", "application/json")
                .body(r#"{"max_tokens":1}"#),
        )
        .await;
    assert_anthropic_error(&r, 400, "invalid_request_error");
    assert!(r.text.contains("model"));
    let r = e.send(e.http.get(e.url("/v1/nothing-here"))).await;
    assert_anthropic_error(&r, 404, "not_found_error");
    let r = e.send(e.http.get(e.url("/v1/messages"))).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["type"], "error");
    assert_eq!(e.mocks[0].request_count(), 0);
}

#[tokio::test]
async fn bodies_up_to_32_mb_pass_and_larger_ones_are_refused() {
    let e = env(1).await;
    let big = "x".repeat(31 * 1024 * 1024);
    let b = json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": big}]});
    let r = e.post_json("/v1/messages", &b).await;
    assert_eq!(r.status, 200, "31 MB must be accepted");
    assert!(e.mocks[0].requests()[0].body.len() > 31 * 1024 * 1024);
    let huge = "x".repeat(33 * 1024 * 1024);
    let b = json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": huge}]});
    let r = e.post_json("/v1/messages", &b).await;
    assert_anthropic_error(&r, 413, "request_too_large");
    assert_eq!(e.mocks[0].request_count(), 1);
}

/// The same on the wire: a client that keeps sending a refused body (declared 40 MB, sent in
/// pieces) can write all of it and then read its 413; a server that closed at once would make
/// its writes fail with a reset and lose the answer.
#[tokio::test]
async fn a_refused_body_is_drained_so_the_client_can_read_its_413() {
    use std::io::{Read, Write};
    let e = env(1).await;
    let addr = e.sy.url().trim_start_matches("http://").to_string();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&addr).expect("connect");
        let total = 40 * 1024 * 1024;
        let head = format!(
            "POST /v1/messages HTTP/1.1\r\nHost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {total}\r\n\r\n"
        );
        s.write_all(head.as_bytes()).expect("head");
        let piece = vec![b'x'; 1024 * 1024];
        for i in 0..40 {
            if let Err(err) = s.write_all(&piece) {
                return Err(format!("write {i} failed: {err}"));
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        Ok(String::from_utf8_lossy(&answer).into_owned())
    })
    .await
    .expect("join");
    let answer = outcome.expect("the whole body could be sent");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("request_too_large"), "{answer}");
}

/// A refused upload is read to its end before the connection closes, so the client gets its
/// 413 every time instead of "broken pipe" (with or without a declared length, every dialect).
#[tokio::test]
async fn an_oversized_upload_always_gets_its_413_not_a_broken_pipe() {
    let e = env(1).await;
    let huge = "x".repeat(40 * 1024 * 1024);
    let b = json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": huge}]})
        .to_string()
        .into_bytes();
    for path in ["/v1/messages", "/v1/chat/completions", "/v1/responses"] {
        for _ in 0..3 {
            let r = e
                .send(
                    e.http
                        .post(e.url(path))
                        .header("x-api-key", CLIENT_KEY)
                        .header("content-type", "application/json")
                        .body(b.clone()),
                )
                .await;
            assert_eq!(r.status, 413, "{path}: {}", r.text);
        }
    }
    // Without a declared length (chunked): refused once the limit is crossed, still cleanly.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        b.chunks(1 << 20).map(|c| Ok(c.to_vec())).collect();
    let r = e
        .send(
            e.http
                .post(e.url("/v1/messages"))
                .header("x-api-key", CLIENT_KEY)
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                    chunks,
                ))),
        )
        .await;
    assert_anthropic_error(&r, 413, "request_too_large");
    assert_eq!(e.mocks[0].request_count(), 0);
}

#[tokio::test]
async fn sillytavern_style_paths_work() {
    let e = env(1).await;
    for path in [
        "/messages",
        "//messages",
        "/v1//messages",
        "/v1/messages/",
        "/v1/messages?beta=true",
    ] {
        let r = e.post_json(path, &body(false)).await;
        assert_eq!(r.status, 200, "{path}");
    }
    assert_eq!(
        e.mocks[0]
            .requests()
            .last()
            .and_then(|r| r.query.clone())
            .as_deref(),
        Some("beta=true")
    );
    for path in ["/models?limit=100", "/v1/models"] {
        let r = e.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.json()["data"].is_array());
    }
    let r = e.send(e.http.head(e.url("/"))).await;
    assert_eq!(r.status, 200);
    let r = e.send(e.http.head(e.url("/api/hello"))).await;
    assert_eq!(r.status, 200);
    let r = e.post_json("/v1/messages/count_tokens", &body(false)).await;
    assert_eq!(r.status, 200);
    assert!(r.json()["input_tokens"].as_u64().is_some());
}

#[tokio::test]
async fn an_access_token_is_required_when_configured_and_never_forwarded() {
    std::env::set_var("SY_TEST_TOKEN_A", "team-token-123456");
    let e = env_with(1, |c| {
        c.security.access_token = Some(switchyard_core::config::Credential::Env(
            "SY_TEST_TOKEN_A".into(),
        ));
        // The test client is on this machine: make the token mandatory for it too.
        c.security.local_without_token = false;
    })
    .await;
    let r = e.messages(false).await;
    assert_anthropic_error(&r, 401, "authentication_error");
    let r = e.send(e.http.get(e.url("/api/status"))).await;
    assert_eq!(r.status, 401, "admin routes too");
    let r = e
        .send(
            e.http
                .post(e.url("/v1/messages"))
                .header("x-switchyard-token", "team-token-123456")
                .header("x-api-key", "sk-client-own")
                .header("content-type", "application/json")
                .body(body(false).to_string()),
        )
        .await;
    assert_eq!(r.status, 200);
    let got = &e.mocks[0].requests()[0];
    assert_eq!(got.header("x-switchyard-token"), None);
    assert_eq!(
        got.header("x-api-key"),
        Some("sk-client-own"),
        "passthrough keeps the client's own key"
    );
    // The token given as the API key is consumed here, not passed on.
    let r = e
        .send(
            e.http
                .post(e.url("/v1/messages"))
                .header("authorization", "Bearer team-token-123456")
                .header("content-type", "application/json")
                .body(body(false).to_string()),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(e.mocks[0].requests()[1].header("authorization"), None);
    let r = e
        .send(
            e.http
                .get(e.url("/api/status"))
                .header("x-switchyard-token", "team-token-12345X"),
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn local_clients_need_no_token_by_default_but_never_forward_it() {
    std::env::set_var("SY_TEST_TOKEN_B", "team-token-abcdef");
    let e = env_with(1, |c| {
        c.security.access_token = Some(switchyard_core::config::Credential::Env(
            "SY_TEST_TOKEN_B".into(),
        ))
    })
    .await;
    assert_eq!(
        e.get("/").await.status,
        200,
        "the UI loads in the desktop window without a token"
    );
    assert_eq!(e.messages(false).await.status, 200);
    let r = e
        .send(
            e.http
                .post(e.url("/v1/messages"))
                .header("authorization", "Bearer team-token-abcdef")
                .header("content-type", "application/json")
                .body(body(false).to_string()),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        e.mocks[0]
            .requests()
            .last()
            .and_then(|q| q.header("authorization").map(String::from)),
        None,
        "the token stays here"
    );
}

#[tokio::test]
async fn a_non_loopback_listen_address_needs_a_token() {
    let mut cfg = switchyard_core::config::Config {
        listen: "0.0.0.0:0".parse().expect("addr"),
        ..Default::default()
    };
    let err = Switchyard::start(StartOptions {
        config: cfg.clone(),
        config_path: None,
        secrets: std::sync::Arc::new(MemoryStore::new()),
        listen_override: None,
    })
    .await
    .err()
    .expect("refused");
    assert!(err.to_string().contains("access token"), "{err}");
    // With a token stored in the (test) keychain it starts.
    let store = std::sync::Arc::new(MemoryStore::new());
    store
        .set("access-token", &Secret::new("lan-token-abcdef").expect("t"))
        .expect("set");
    cfg.security.access_token = Some(switchyard_core::config::Credential::Keychain);
    let h = Switchyard::start(StartOptions {
        config: cfg,
        config_path: None,
        secrets: store,
        listen_override: None,
    })
    .await
    .expect("starts with a token");
    assert!(h.addr().ip().is_unspecified());
    h.shutdown().await;
}

#[tokio::test]
async fn a_busy_port_is_a_clear_error() {
    let e = env(1).await;
    let err = Switchyard::start(StartOptions {
        config: switchyard_core::config::Config::default(),
        config_path: None,
        secrets: std::sync::Arc::new(MemoryStore::new()),
        listen_override: Some(e.sy.addr()),
    })
    .await
    .err()
    .expect("refused");
    assert!(matches!(err, StartError::AddrInUse { .. }));
    assert!(err.to_string().contains("already in use"), "{err}");
}

#[tokio::test]
async fn keys_never_appear_in_api_answers() {
    let e = env(3).await;
    e.mocks[0].push(Reply::error(500, "x"));
    e.messages(false).await;
    let r = e
        .send(
            e.http
                .put(e.url("/api/keys/p2"))
                .header("content-type", "application/json")
                .body(r#"{"key":"  sk-brand-new-key-7777\n"}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["hint"], "…7777");
    assert_eq!(
        e.secrets
            .get("p2")
            .expect("get")
            .map(|s| s.expose().to_string())
            .as_deref(),
        Some("sk-brand-new-key-7777")
    );
    let mut all = String::new();
    for path in [
        "/api/keys",
        "/api/status",
        "/api/config",
        "/v1/health",
        "/health",
        "/api/requests",
        "/metrics",
    ] {
        let r = e.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        all.push_str(&r.text);
    }
    for secret in [
        key_of("p1"),
        key_of("p2"),
        "sk-brand-new-key-7777".to_string(),
        CLIENT_KEY.to_string(),
    ] {
        assert!(!all.contains(&secret), "{secret} leaked");
    }
    let keys = e.get("/api/keys").await.json();
    let p1 = keys["keys"]
        .as_array()
        .and_then(|a| a.iter().find(|k| k["provider"] == "p1"))
        .cloned()
        .expect("p1");
    assert_eq!(p1["set"], true);
    assert_eq!(p1["hint"], "…-123");
    let r = e.send(e.http.delete(e.url("/api/keys/p2"))).await;
    assert_eq!(r.json()["deleted"], true);
    let r = e
        .send(
            e.http
                .put(e.url("/api/keys/nope"))
                .header("content-type", "application/json")
                .body(r#"{"key":"k"}"#),
        )
        .await;
    assert_eq!(r.status, 404);
}
