//! Outbound proxies against real proxy servers (switchyard-mock's HTTP and SOCKS5 proxies).

mod common;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use parking_lot::Mutex;
use switchyard_core::secrets::{Secret, SecretStore};
use switchyard_mock::{MockProxy, ProxyKind};

const PASSWORD: &str = "proxy-pass-7c1d9e";

fn failures(env: &Env) -> Vec<String> {
    env.sy
        .recent_requests(10)
        .into_iter()
        .flat_map(|r| r.attempts)
        .filter_map(|a| a.failure)
        .collect()
}

#[tokio::test]
async fn requests_go_through_an_http_proxy_with_credentials() {
    let proxy = MockProxy::start(ProxyKind::Http, Some(("alice", PASSWORD)))
        .await
        .expect("proxy");
    let url = proxy.url(Some("alice"));
    let env = env_with(1, |c| c.network.proxy = Some(url)).await;
    // The password goes in after start: storing it through the handle rebuilds the clients.
    env.sy.set_key("proxy:global", PASSWORD).expect("store");
    let r = env.messages(false).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(env.mocks[0].request_count(), 1);
    assert!(proxy.carried() >= 1, "the proxy carried the request");
    assert_eq!(proxy.auth_failures(), 0);
    assert_eq!(proxy.targets()[0], env.mocks[0].addr().to_string());
}

#[tokio::test]
async fn requests_go_through_socks5_with_auth_streaming_too() {
    let proxy = MockProxy::start(ProxyKind::Socks5, Some(("bob", PASSWORD)))
        .await
        .expect("proxy");
    let url = proxy.url(Some("bob"));
    let env = env_with(2, |c| c.providers[1].proxy = Some(url)).await;
    env.secrets
        .set("proxy:p1", &Secret::new(PASSWORD).expect("secret"))
        .expect("set");
    env.sy.switch(Some("p1")).expect("pin");
    env.sy.set_key("proxy:p1", PASSWORD).expect("store");
    let r = env.messages(true).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_valid_stream(&r);
    assert_eq!(r.provider(), Some("p1"));
    assert!(proxy.carried() >= 1);
    assert_eq!(proxy.auth_failures(), 0);
    // p0 has no proxy of its own and there is no global one: it stays direct.
    env.sy.switch(None).expect("unpin");
    let before = proxy.carried();
    assert_eq!(env.messages(false).await.provider(), Some("p0"));
    assert_eq!(proxy.carried(), before);
}

/// Collects log lines written by the engine, to prove the password is never logged.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_wrong_proxy_password_fails_over_naming_the_proxy() {
    let logs = Logs::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || sink.clone())
        .finish();
    // Global: the engine logs from its own tasks. Other tests in this binary log here too,
    // and none of them may log the password either.
    tracing::subscriber::set_global_default(subscriber).expect("first subscriber");

    for kind in [ProxyKind::Socks5, ProxyKind::Http] {
        let proxy = MockProxy::start(kind, Some(("carol", "the-right-one")))
            .await
            .expect("proxy");
        let url = proxy.url(Some("carol"));
        let env = env_with(2, |c| c.providers[0].proxy = Some(url.clone())).await;
        env.sy.set_key("proxy:p0", PASSWORD).expect("store");
        let r = env.messages(false).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.provider(), Some("p1"), "failed over to p1");
        assert_eq!(env.mocks[0].request_count(), 0);
        assert!(proxy.auth_failures() >= 1, "{kind:?}");
        let f = failures(&env);
        let what = match kind {
            ProxyKind::Socks5 => "failed the SOCKS handshake or authentication",
            ProxyKind::Http => "rejected the credentials (HTTP 407)",
        };
        assert!(
            f.iter().any(|m| m.contains(&format!("proxy {url} {what}"))),
            "{kind:?}: {f:?}"
        );
        assert!(
            !f.iter()
                .any(|m| m.contains("127.0.0.1:") && !m.contains("proxy")),
            "{f:?}"
        );
        let status = env.get("/api/status").await;
        assert!(status.text.contains("cooling"), "{}", status.text);
        let config = env.get("/api/config").await;
        assert!(config.text.contains(&url), "{}", config.text);
        for text in [&status.text, &config.text, &env.get("/api/keys").await.text] {
            assert!(!text.contains(PASSWORD));
        }
        assert!(!f.iter().any(|m| m.contains(PASSWORD)));
    }
    let logged = String::from_utf8_lossy(&logs.0.lock()).to_string();
    assert!(logged.contains("proxy"), "something was logged");
    assert!(!logged.contains(PASSWORD), "the password was logged");
}

#[tokio::test]
async fn a_refused_proxy_is_named_and_direct_bypasses_the_global_proxy() {
    // A port with nothing listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let dead = format!("socks5h://127.0.0.1:{port}");
    let d = dead.clone();
    let env = env_with(2, move |c| {
        c.network.proxy = Some(d);
        c.providers[1].proxy = Some("direct".into());
    })
    .await;
    let r = env.messages(false).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.provider(), Some("p1"), "p1 goes direct");
    let f = failures(&env);
    assert!(
        f.iter()
            .any(|m| m.contains(&format!("proxy {dead} refused the connection"))),
        "{f:?}"
    );
}

#[tokio::test]
async fn a_providers_own_proxy_wins_over_the_global_one() {
    let global = MockProxy::start(ProxyKind::Http, None)
        .await
        .expect("proxy");
    let own = MockProxy::start(ProxyKind::Http, None)
        .await
        .expect("proxy");
    let (g, o) = (global.url(None), own.url(None));
    let env = env_with(1, move |c| {
        c.network.proxy = Some(g);
        c.providers[0].proxy = Some(o);
    })
    .await;
    assert_eq!(env.messages(false).await.status, 200);
    assert!(own.carried() >= 1);
    assert_eq!(global.carried(), 0);
}

#[test]
fn a_password_in_the_config_file_is_refused_with_its_line() {
    let text = "[network]\nproxy = \"socks5h://me:hunter2@127.0.0.1:1080\"\n\n[[providers]]\nid = \"a\"\nbase_url = \"https://x.y\"\ncredential = \"none\"\n";
    let e = switchyard_core::config::parse_str(text, Some(std::path::Path::new("/c.toml")))
        .expect_err("refused");
    let m = e.to_string();
    assert!(m.starts_with("/c.toml:2:"), "{m}");
    assert!(m.contains("switchyard keys set proxy:global"), "{m}");
    assert!(!m.contains("hunter2"), "{m}");
    let text = "[[providers]]\nid = \"a\"\nbase_url = \"https://x.y\"\ncredential = \"none\"\nproxy = \"http://u:pw@h:3128\"\n";
    let m = switchyard_core::config::parse_str(text, None)
        .expect_err("refused")
        .to_string();
    assert!(m.contains("proxy:a"), "{m}");
}

#[tokio::test]
async fn a_connect_tunnel_refused_with_407_names_the_proxy_and_its_credentials() {
    // An https provider goes through CONNECT; the proxy refuses before any TLS starts.
    let proxy = MockProxy::start(ProxyKind::Http, Some(("dave", "right")))
        .await
        .expect("proxy");
    let url = proxy.url(Some("dave"));
    let env = env_with(2, |c| {
        c.providers[0].base_url = "https://127.0.0.1:9".into();
        c.providers[0].proxy = Some(url.clone());
    })
    .await;
    env.sy.set_key("proxy:p0", "wrong-password").expect("store");
    let r = env.messages(false).await;
    assert_eq!(r.provider(), Some("p1"), "{}", r.text);
    assert_eq!(proxy.auth_failures(), 1);
    let f = failures(&env);
    assert!(
        f.iter()
            .any(|m| m.contains(&format!("proxy {url} rejected the credentials (HTTP 407)"))),
        "{f:?}"
    );
}

/// The header names of a recorded upstream request, sorted, without the ones a proxy adds.
fn names(r: &switchyard_mock::Recorded) -> Vec<String> {
    let mut n: Vec<String> = r
        .headers
        .iter()
        .map(|(k, _)| k.clone())
        .filter(|k| !k.starts_with("proxy-") && k != "connection")
        .collect();
    n.sort();
    n
}

#[tokio::test]
async fn direct_plain_http_requests_go_out_as_they_do_through_a_proxy() {
    // No proxy: a plain-http provider is reached by the lean client.
    let env = env(1).await;
    let r = env.messages(false).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let models = env.get("/v1/models").await;
    assert_eq!(models.status, 200, "{}", models.text);
    let sent = env.mocks[0].requests();
    let post = sent.iter().find(|r| r.method == "POST").expect("the POST");
    let agent = format!("switchyard/{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(post.header("user-agent"), Some(agent.as_str()));
    assert_eq!(post.header("accept"), Some("*/*"));
    assert_eq!(
        post.header("host"),
        Some(env.mocks[0].addr().to_string().as_str())
    );
    assert_eq!(post.header("content-type"), Some("application/json"));
    let types = post
        .headers
        .iter()
        .filter(|(k, _)| k == "content-type")
        .count();
    assert_eq!(types, 1, "one content-type: {:?}", post.headers);
    assert_eq!(
        post.header("content-length"),
        Some(post.body.len().to_string().as_str())
    );
    assert!(post.header("x-switchyard-hops").is_some());
    // A model listing is a GET with no body and no content type.
    if let Some(get) = sent.iter().find(|r| r.method == "GET") {
        assert!(get.header("content-type").is_none(), "{:?}", get.headers);
        assert!(get.body.is_empty());
    }

    // The same request through an HTTP proxy (reqwest): the same headers reach the provider.
    let proxy = MockProxy::start(ProxyKind::Http, None)
        .await
        .expect("proxy");
    let url = proxy.url(None);
    let via = env_with(1, |c| c.network.proxy = Some(url)).await;
    let r = via.messages(false).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(proxy.carried() >= 1, "the proxy carried the request");
    let proxied = via.mocks[0].requests();
    let proxied_post = proxied.iter().find(|r| r.method == "POST").expect("POST");
    assert_eq!(names(post), names(proxied_post));
    assert_eq!(post.body, proxied_post.body);
}

/// A keep-alive HTTP/1.1 upstream on a raw socket that answers every request with one short
/// Anthropic message and tells, per connection, how many requests it carried and whether the
/// client has closed it.
struct CountingUpstream {
    addr: std::net::SocketAddr,
    conns: Arc<Mutex<Vec<(usize, bool)>>>,
}

impl CountingUpstream {
    async fn start() -> CountingUpstream {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let conns: Arc<Mutex<Vec<(usize, bool)>>> = Arc::default();
        let all = conns.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let idx = {
                    let mut c = all.lock();
                    c.push((0, false));
                    c.len() - 1
                };
                let all = all.clone();
                tokio::spawn(async move {
                    let answer = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}"#;
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        // One whole request: the head, then content-length bytes of body.
                        let whole = buf
                            .windows(4)
                            .position(|w| w == b"\r\n\r\n")
                            .and_then(|end| {
                                let head =
                                    String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                                let len = head
                                    .lines()
                                    .find_map(|l| l.strip_prefix("content-length:"))
                                    .and_then(|v| v.trim().parse::<usize>().ok())
                                    .unwrap_or(0);
                                (buf.len() >= end + 4 + len).then_some(end + 4 + len)
                            });
                        if let Some(n) = whole {
                            buf.drain(..n);
                            all.lock()[idx].0 += 1;
                            let head = format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                                answer.len()
                            );
                            let mut out = head.into_bytes();
                            out.extend_from_slice(answer);
                            if sock.write_all(&out).await.is_err() {
                                break;
                            }
                            continue;
                        }
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    all.lock()[idx].1 = true;
                });
            }
        });
        CountingUpstream { addr, conns }
    }

    /// (connections opened, requests each carried, connections the client has closed)
    fn seen(&self) -> (usize, Vec<usize>, usize) {
        let c = self.conns.lock();
        (
            c.len(),
            c.iter().map(|x| x.0).collect(),
            c.iter().filter(|x| x.1).count(),
        )
    }
}

#[tokio::test]
async fn idle_plain_http_connections_are_reused_then_let_go() {
    let up = CountingUpstream::start().await;
    let base = format!("http://{}", up.addr);
    let env = env_with(1, |c| {
        c.providers[0].base_url = base;
        c.health.probe_interval_secs = 0;
    })
    .await;
    // Back to back: one connection carries both.
    for _ in 0..2 {
        let r = env.messages(false).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    assert_eq!(
        up.seen(),
        (1, vec![2], 0),
        "the second request reused the connection"
    );
    // Idle, it is closed after POOL_IDLE_PLAIN (the pool checks once a second).
    let idle = std::time::Instant::now();
    while up.seen().2 == 0 && idle.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = idle.elapsed();
    assert_eq!(up.seen().2, 1, "the idle connection was closed");
    assert!(
        after >= Duration::from_millis(900),
        "closed too early: {after:?}"
    );
    // The next request opens a fresh one and is answered as before.
    let r = env.messages(false).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(up.seen(), (2, vec![2, 1], 1));
}
