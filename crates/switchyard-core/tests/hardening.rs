//! Hostile inputs, class by class: request translation that would multiply, keys quoted back
//! and split across network chunks, the access token in every spelling and place, a guard that
//! fails closed, loops and hop headers. (Memory under hostile upstreams runs against the real
//! binary in `switchyard-cli/tests/hostile_upstreams.rs`.)

mod common;

use common::*;
use serde_json::{json, Value};
use switchyard_core::config::{Credential, ProviderKind};
use switchyard_mock::{Reply, Step};

/// A tool whose parameter schema is ~1 KB of `$ref`s that expand to 6^8 copies.
fn multiplying_tool() -> Value {
    let mut defs = serde_json::Map::new();
    for i in 0..8 {
        let next = format!("#/$defs/d{}", i + 1);
        let props: serde_json::Map<String, Value> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|k| (k.to_string(), json!({"$ref": next})))
            .collect();
        defs.insert(
            format!("d{i}"),
            json!({"type": "object", "properties": props}),
        );
    }
    defs.insert("d8".into(), json!({"type": "string"}));
    json!({"name": "fan_out", "description": "x",
           "input_schema": {"$defs": defs, "$ref": "#/$defs/d0"}})
}

#[tokio::test]
async fn translation_that_would_multiply_is_refused_naming_the_tool() {
    let mut req = body(false);
    req["tools"] = json!([multiplying_tool()]);
    assert!(req.to_string().len() < 3_000);

    // A Gemini provider cannot take it (the schema must be inlined); the next provider can.
    let e = env_with(2, |c| {
        c.providers[0].kind = ProviderKind::Gemini;
        c.providers[0].credential = Credential::None;
        c.providers[0].models.0 = vec![("*".into(), "gemini-x".into())];
    })
    .await;
    e.mocks[1].set_default(Reply::text("ok"));
    // Two at once, and an ordinary request beside them: none waits on the others.
    let (a, b, plain) = tokio::join!(
        e.post_json("/v1/messages", &req),
        e.post_json("/v1/messages", &req),
        e.messages(false)
    );
    for r in [&a, &b] {
        assert_eq!((r.status, r.provider()), (200, Some("p1")), "{}", r.text);
    }
    assert_eq!(plain.status, 200);
    assert!(
        e.mocks[0]
            .requests()
            .iter()
            .all(|q| !q.body_text().contains("fan_out")),
        "nothing of it was sent to Gemini"
    );
    let status = e.get("/api/status").await.json();
    assert_eq!(
        status["providers"][0]["state"], "available",
        "not the provider's fault"
    );

    // Only Gemini: a 400 that names the tool.
    let e = env_with(1, |c| {
        c.providers[0].kind = ProviderKind::Gemini;
        c.providers[0].credential = Credential::None;
    })
    .await;
    let r = e.post_json("/v1/messages", &req).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(msg.contains("fan_out") && msg.contains("expands"), "{msg}");
}

#[tokio::test]
async fn a_key_split_across_network_chunks_is_masked_in_the_stream() {
    let e = env_with(2, |c| c.providers[0].credential = Credential::Keychain).await;
    use switchyard_core::secrets::{Secret, SecretStore};
    let key = "sk-provider-zero-secret-0123456789";
    e.secrets
        .set("p0", &Secret::new(key).expect("key"))
        .expect("store");
    let opening = switchyard_mock::anthropic_stream_events("m", &["Hel", "lo"], "end_turn", 2);
    let mut steps: Vec<Step> = opening.into_iter().take(4).collect();
    // The error event arrives in two writes, cut in the middle of the key.
    let frame = format!(
        "event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key {key}\"}}}}\n\n"
    );
    let cut = frame.find("secret").expect("in the key") + 3;
    steps.push(Step::raw(frame[..cut].to_string()));
    steps.push(Step::delay(30));
    steps.push(Step::raw(frame[cut..].to_string()));
    e.mocks[0].push(Reply::sse(steps));
    let r = e.messages(true).await;
    assert_eq!(r.status, 200);
    assert!(!r.text.contains(key), "{}", r.text);
    assert!(!r.text.contains("secret-0123"), "no part of it: {}", r.text);
    assert!(r.text.contains("[key removed]"), "{}", r.text);
    for path in ["/api/requests", "/api/status"] {
        let t = e.get(path).await.text;
        assert!(!t.contains("secret-0123"), "{path}: {t}");
    }
}

#[tokio::test]
async fn the_access_token_is_never_forwarded_in_any_spelling_or_place() {
    std::env::set_var("SY_HARDEN_TOKEN", "team-token-hardening-42");
    let token = "team-token-hardening-42";
    let e = env_with(1, |c| {
        c.security.access_token = Some(Credential::Env("SY_HARDEN_TOKEN".into()));
        c.security.local_without_token = false;
    })
    .await;
    e.mocks[0].set_default(Reply::text("ok"));
    let post = |path: &str| {
        e.http
            .post(e.url(path))
            .header("content-type", "application/json")
            .header("anthropic-version", "2023-06-01")
            .body(body(false).to_string())
    };
    let spellings = [
        post("/v1/messages").header("authorization", format!("Bearer {token}")),
        post("/v1/messages").header("authorization", format!("bearer {token}")),
        post("/v1/messages").header("authorization", format!("Bearer  {token}")),
        post("/v1/messages").header("authorization", format!("BEARER\t{token} ")),
        post("/v1/messages").header("x-api-key", token),
        post("/v1/messages").header("x-goog-api-key", token),
        post("/v1/messages").header("api-key", token),
        post(&format!("/v1/messages?key={token}&beta=true")),
    ];
    for (i, req) in spellings.into_iter().enumerate() {
        let r = e.send(req).await;
        assert_eq!(r.status, 200, "spelling {i}: {}", r.text);
        let got = e.mocks[0].requests().last().cloned().expect("request");
        let seen = format!("{:?} {:?} {}", got.headers, got.query, got.body_text());
        assert!(
            !seen.contains(token),
            "spelling {i} reached the provider: {seen}"
        );
    }
    let r = e
        .send(post("/v1/messages").header("authorization", "Bearer wrong-token"))
        .await;
    assert_eq!(r.status, 401);
}

/// A raw HTTP/1.1 exchange (reqwest always sends a valid Host).
async fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn the_guard_fails_closed() {
    let e = env(1).await;
    let addr = e.sy.addr();
    // No Host at all (HTTP/1.0 allows it), a Host that is not text, a Host with a path in it.
    for req in [
        b"GET /api/status HTTP/1.0\r\n\r\n".to_vec(),
        [
            b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\xff:".as_slice(),
            format!("{}\r\nConnection: close\r\n\r\n", addr.port()).as_bytes(),
        ]
        .concat(),
        format!(
            "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:{}/x\r\nConnection: close\r\n\r\n",
            addr.port()
        )
        .into_bytes(),
    ] {
        let answer = raw(addr, &req).await;
        let status = answer.split_whitespace().nth(1).unwrap_or("");
        assert!(
            matches!(status, "400" | "403"),
            "{:?} -> {answer}",
            String::from_utf8_lossy(&req)
        );
        assert!(
            !answer.contains("\"providers\""),
            "the admin API answered: {answer}"
        );
    }
    // The same request with our Host is served.
    let ok = raw(
        addr,
        format!(
            "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            addr.port()
        )
        .as_bytes(),
    )
    .await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
}

/// Reads until the server closes the connection (or `limit` passes); returns whether it did.
async fn closed_within(s: &mut tokio::net::TcpStream, limit: std::time::Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    let until = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(until, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn connections_cannot_be_hoarded_and_long_streams_are_not_cut() {
    use tokio::io::AsyncWriteExt;
    let e = env_with(1, |c| {
        c.limits.max_connections = 8;
        c.limits.header_read_ms = 1_000;
        c.timeouts.idle_ms = 5_000;
    })
    .await;
    let addr = e.sy.addr();
    // Half a request's headers, then nothing (slowloris): closed.
    let mut slow = tokio::net::TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .expect("write");
    assert!(closed_within(&mut slow, std::time::Duration::from_secs(4)).await);
    // A kept-alive connection left idle after an answer: closed.
    let mut idle = tokio::net::TcpStream::connect(addr).await.expect("connect");
    idle.write_all(
        format!(
            "GET /api/hello HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
            addr.port()
        )
        .as_bytes(),
    )
    .await
    .expect("write");
    assert!(closed_within(&mut idle, std::time::Duration::from_secs(4)).await);
    // Many idle sockets from some local process: more than the cap. A real client still gets
    // through, once the hoarded ones time out.
    let mut hoard = Vec::new();
    for _ in 0..24 {
        hoard.push(tokio::net::TcpStream::connect(addr).await.expect("connect"));
    }
    let r = tokio::time::timeout(std::time::Duration::from_secs(10), e.messages(false))
        .await
        .expect("served despite the hoard");
    assert_eq!(r.status, 200);
    drop(hoard);
    // A stream slower than the header timer, in all, is not cut: the timer guards headers only.
    e.mocks[0].push(Reply::text("one two three four five six").with_chunk_delay(400));
    let r = e.messages(true).await;
    assert_eq!(r.status, 200);
    assert_valid_stream(&r);
    assert_eq!(stream_text(&r), "one two three four five six");
}
