//! Security tests (issue 5): DNS-rebinding hosts, cross-site origins, admin routes from
//! another machine, header injection, path tricks, and keys that must never show up in logs,
//! API answers, saved config files or error output.

mod common;

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};

use common::*;
use serde_json::{json, Value};
use switchyard_core::config::{self, Config, Credential, ProviderKind};
use switchyard_core::secrets::{MemoryStore, Secret, SecretStore};
use switchyard_core::{StartOptions, Switchyard};
use switchyard_mock::{MockUpstream, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LAN_TOKEN: &str = "lan-token-0123456789abcdef";

/// Every admin route, as (method, path, JSON body).
const ADMIN_ROUTES: [(&str, &str, &str); 27] = [
    ("GET", "/api/status", ""),
    ("GET", "/api/events", ""),
    ("GET", "/api/requests", ""),
    ("GET", "/api/config", ""),
    ("PUT", "/api/config", "{}"),
    ("GET", "/api/keys", ""),
    ("POST", "/api/keys/refresh", "{}"),
    ("PUT", "/api/keys/p0", "{\"key\":\"sk-attacker-key-0000\"}"),
    ("DELETE", "/api/keys/p0", ""),
    ("GET", "/metrics", ""),
    ("GET", "/api/presets", ""),
    ("POST", "/api/providers/p0/test", "{}"),
    ("GET", "/api/integrations/claude-code", ""),
    ("POST", "/api/integrations/claude-code", "{}"),
    ("GET", "/api/integrations/codex", ""),
    ("POST", "/api/integrations/codex", "{}"),
    ("POST", "/api/switch", "{\"provider\":\"p0\"}"),
    ("POST", "/v1/switch-provider", "{\"provider\":\"p0\"}"),
    ("GET", "/api/hello", ""),
    ("GET", "/api/export", ""),
    (
        "POST",
        "/api/import",
        "[[providers]]\nid = \"evil\"\nbase_url = \"http://x\"\n",
    ),
    ("GET", "/api/usage", ""),
    ("GET", "/api/prices", ""),
    ("DELETE", "/api/cache", ""),
    ("GET", "/api/tokens", ""),
    ("POST", "/api/tokens", "{\"name\":\"attacker\"}"),
    ("DELETE", "/api/tokens/laptop", ""),
];

fn assert_error(status: u16, text: &str, want: u16, kind: &str, what: &str) {
    assert_eq!(status, want, "{what}: {text}");
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    assert_eq!(v["type"], "error", "{what}: {text}");
    assert_eq!(v["error"]["type"], kind, "{what}: {text}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {text}"
    );
}

/// One raw HTTP/1.1 exchange, so paths reach the server exactly as written (no client-side
/// normalisation of `..`, `%2F` or backslashes). Returns (status, body).
async fn raw_http(addr: SocketAddr, local: Option<IpAddr>, head: &str) -> (u16, String) {
    let sock = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
    }
    .expect("socket");
    if let Some(ip) = local {
        sock.bind(SocketAddr::new(ip, 0)).expect("bind source");
    }
    let mut s = sock.connect(addr).await.expect("connect");
    s.write_all(head.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut buf));
    read.await.expect("answer in time").expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// This machine's address on its network (not loopback), if it has one.
fn lan_ip() -> Option<IpAddr> {
    // Connecting a UDP socket sends nothing; it only picks the outgoing interface.
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9")
        .or_else(|_| s.connect("203.0.113.1:9"))
        .ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Switchyard on every interface with a LAN token in the (test) keychain and one mock.
async fn lan_server() -> (switchyard_core::Handle, switchyard_mock::MockHandle) {
    let mock = MockUpstream::start().await.expect("mock");
    let store = Arc::new(MemoryStore::new());
    store
        .set("access-token", &Secret::new(LAN_TOKEN).expect("t"))
        .expect("set");
    store
        .set("p0", &Secret::new(&key_of("p0")).expect("k"))
        .expect("set");
    let mut cfg = Config {
        listen: "0.0.0.0:0".parse().expect("addr"),
        ..Config::default()
    };
    cfg.security.access_token = Some(Credential::Keychain);
    let mut p = config::Provider::new("p0", ProviderKind::Anthropic, mock.base_url());
    p.name = Some("LAN provider".into());
    cfg.providers.push(p);
    let h = Switchyard::start(StartOptions {
        config: cfg,
        config_path: None,
        secrets: store,
        listen_override: None,
    })
    .await
    .expect("starts with a token");
    (h, mock)
}

#[tokio::test]
async fn rebinding_hosts_are_refused_on_every_route_family() {
    let e = env(1).await;
    let port = e.sy.addr().port();
    let hosts = [
        format!("evil.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
        format!("localhost.evil.example:{port}"),
        format!("localhost.:{port}"),
        "127.0.0.1:1".to_string(),
        "[::1]:1".to_string(),
        "evil.example".to_string(),
    ];
    let targets = [
        ("GET", "/api/status"),
        ("GET", "/api/config"),
        ("GET", "/ui"),
        ("GET", "/v1/models"),
        ("POST", "/v1/messages"),
        ("PUT", "/api/config"),
    ];
    for host in &hosts {
        for (method, path) in targets {
            let body = body(false).to_string();
            let head = format!(
                "{method} {path} HTTP/1.1\r\nHost: {host}\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let (status, text) = raw_http(e.sy.addr(), None, &head).await;
            assert_error(
                status,
                &text,
                403,
                "permission_error",
                &format!("{host} {path}"),
            );
        }
    }
    assert_eq!(e.mocks[0].request_count(), 0, "nothing reached upstream");
}

#[tokio::test]
async fn cross_site_origins_are_refused_for_json_and_text_plain() {
    let e = env(2).await;
    let port = e.sy.addr().port();
    let before = e.get("/api/config").await.text;
    let origins = [
        "https://evil.example".to_string(),
        "null".to_string(),
        "http://127.0.0.1:1".to_string(),
        format!("http://localhost.evil.example:{port}"),
        format!("https://127.0.0.1:{port}"),
    ];
    let mut cfg: Value = serde_json::from_str(&before).expect("config json");
    cfg = cfg["config"].take();
    cfg["providers"] = json!([]);
    let targets = [
        ("POST", "/v1/messages", body(false).to_string()),
        ("PUT", "/api/config", cfg.to_string()),
        ("POST", "/api/switch", json!({"provider": "p1"}).to_string()),
        (
            "PUT",
            "/api/keys/p1",
            json!({"key": "sk-evil-0000"}).to_string(),
        ),
    ];
    for origin in &origins {
        for ct in ["application/json", "text/plain"] {
            for (method, path, payload) in &targets {
                let req = e
                    .http
                    .request(method.parse().expect("method"), e.url(path))
                    .header("origin", origin)
                    .header("content-type", ct)
                    .body(payload.clone());
                let r = e.send(req).await;
                let what = format!("{origin} {ct} {method} {path}");
                assert_error(r.status, &r.text, 403, "permission_error", &what);
                assert_eq!(r.header("access-control-allow-origin"), None, "{what}");
            }
        }
    }
    // A browser that hides the Origin still says the request is cross-site.
    let r = e
        .send(
            e.http
                .post(e.url("/api/switch"))
                .header("sec-fetch-site", "cross-site")
                .header("content-type", "text/plain")
                .body(json!({"provider": "p1"}).to_string()),
        )
        .await;
    assert_error(r.status, &r.text, 403, "permission_error", "sec-fetch-site");
    assert_eq!(e.mocks[0].request_count() + e.mocks[1].request_count(), 0);
    assert_eq!(e.get("/api/config").await.text, before, "config unchanged");
    assert_eq!(e.sy.status().pinned, None, "nothing pinned");
    assert_eq!(
        e.secrets
            .get("p1")
            .expect("get")
            .map(|s| s.expose().to_string()),
        Some(key_of("p1")),
        "key unchanged"
    );
}

#[tokio::test]
async fn admin_routes_need_the_token_from_another_machine() {
    let (sy, mock) = lan_server().await;
    let Some(ip) = lan_ip() else {
        // Without a network address the other-machine case cannot be reproduced here; the
        // loopback rules are covered by security.rs.
        eprintln!("no non-loopback address on this machine: test skipped");
        return;
    };
    let target = SocketAddr::new(ip, sy.addr().port());
    let remote = reqwest::Client::builder()
        .no_proxy()
        .local_address(ip)
        .build()
        .expect("client");
    let send = |method: &str, path: &str, body: &str, token: Option<&str>| {
        let mut req = remote
            .request(
                method.parse().expect("method"),
                format!("http://{target}{path}"),
            )
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            req = req.header("x-switchyard-token", t);
        }
        req
    };
    for (method, path, body) in ADMIN_ROUTES
        .iter()
        .copied()
        .chain([("POST", "/v1/messages", "{}"), ("GET", "/v1/models", "")])
    {
        for token in [None, Some("lan-token-wrong-guess-0000"), Some("")] {
            let r = send(method, path, body, token)
                .send()
                .await
                .expect("answer");
            let status = r.status().as_u16();
            let text = r.text().await.expect("body");
            let what = format!("{method} {path} token {token:?} from {ip}");
            assert_error(status, &text, 401, "authentication_error", &what);
        }
    }
    assert_eq!(mock.request_count(), 0, "nothing reached upstream");
    // The right token opens the door; the same request from loopback needs none.
    let r = send("GET", "/api/status", "", Some(LAN_TOKEN))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    let local = format!("http://127.0.0.1:{}/api/status", sy.addr().port());
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(local)
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200, "loopback clients are exempt by default");
    sy.shutdown().await;
}

#[tokio::test]
async fn path_tricks_reach_no_admin_route_without_the_token() {
    let (sy, _mock) = lan_server().await;
    let source = lan_ip();
    let addr = SocketAddr::new(
        source.unwrap_or(IpAddr::from([127, 0, 0, 1])),
        sy.addr().port(),
    );
    if source.is_none() {
        eprintln!("no non-loopback address: path tricks checked from loopback only");
    }
    let tricks = [
        "/v1/../api/config",
        "/v1/%2e%2e/api/config",
        "/v1/%2E%2E/api/config",
        "/v1%2F..%2Fapi%2Fconfig",
        "/api%2Fconfig",
        "/api%2fkeys",
        "//api/config",
        "/api//config",
        "///api///keys",
        "/v1/messages/../../api/config",
        "/v1/./../api/status",
        "\\api\\config",
        "/v1\\..\\api\\config",
        "/%61pi/config",
        "/API/CONFIG",
        "/api/config%00",
        "/api/config/",
        "/api/config?x=/v1/messages",
        "/ui/../api/config",
        "/ui/%2e%2e/api/keys",
        "/ui/..%2Fapi%2Fkeys",
    ];
    for path in tricks {
        let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nconnection: close\r\n\r\n");
        let (status, text) = raw_http(addr, source, &head).await;
        let guarded = source.is_some();
        assert_ne!(status, 200, "{path} answered: {text}");
        assert!(
            !text.contains("\"providers\"") && !text.contains("\"keys\""),
            "{path} leaked: {text}"
        );
        if guarded {
            assert!(
                matches!(status, 400 | 401 | 404),
                "{path}: status {status}: {text}"
            );
        }
    }
    sy.shutdown().await;
}

#[tokio::test]
async fn model_names_cannot_inject_headers() {
    let e = env_with(2, |c| {
        c.providers[1].kind = ProviderKind::Gemini;
        c.providers[1].models.0 = vec![("gemini-*".into(), "gemini-x".into())];
    })
    .await;
    let models = [
        "claude\r\nx-injected: yes",
        "claude\nx-injected: yes",
        "claude\rx-injected: yes",
        "clau\u{e9}de-\u{4e2d}\u{6587}",
        "claude\u{0}x-injected: yes",
        "claude\u{2028}x-injected: yes",
    ];
    for (i, model) in models.iter().enumerate() {
        let mut b = body(i % 2 == 0);
        b["model"] = json!(model);
        let r = e.post_json("/v1/messages", &b).await;
        let what = format!("model {model:?}");
        assert!(
            r.status == 200 || r.status == 400,
            "{what}: {} {}",
            r.status,
            r.text
        );
        for (name, value) in &r.headers {
            assert!(!name.as_str().contains("injected"), "{what}: {name}");
            let v = value.as_bytes();
            assert!(!v.contains(&b'\r') && !v.contains(&b'\n'), "{what}: {name}");
        }
    }
    // Gemini puts the model in the URL path: a client model must not walk out of it.
    e.sy.switch(Some("p1")).expect("pin");
    for model in [
        "gemini-../../../v1/evil?x=",
        "gemini-a/b#frag",
        "gemini-\r\nx: y",
    ] {
        let mut b = body(false);
        b["model"] = json!(model);
        let r = e.post_json("/v1/messages", &b).await;
        assert!(r.status == 200 || r.status == 400, "{model}: {}", r.text);
    }
    for m in &e.mocks {
        for req in m.requests() {
            assert!(
                req.headers.iter().all(|(k, _)| !k.contains("injected")),
                "{:?}",
                req.headers
            );
            assert!(!req.path.contains("evil"), "path escaped: {}", req.path);
            if req.path.contains("/models/") {
                assert!(
                    req.path.starts_with("/v1beta/models/"),
                    "gemini path: {}",
                    req.path
                );
            }
        }
    }
}

#[test]
fn unsafe_provider_ids_are_config_errors_with_a_line() {
    for id in [
        "p0\\r\\nx-injected: yes",
        "p0\\nx",
        "../etc",
        "p 1",
        "caf\u{e9}",
        "P0",
        "a/b",
        "",
    ] {
        let text = format!(
            "listen = \"127.0.0.1:3535\"\n\n[[providers]]\nid = \"{id}\"\nkind = \"anthropic\"\nbase_url = \"http://127.0.0.1:1\"\n"
        );
        let err = config::parse_str(&text, Some(std::path::Path::new("/tmp/sy.toml")))
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("/tmp/sy.toml:"), "{id:?}: {err}");
        assert!(err.contains("id"), "{id:?}: {err}");
    }
}

// ---- keys never appear -------------------------------------------------------------------

/// Everything every tracing subscriber level writes in this test binary, including the `log`
/// records of reqwest and hyper.
fn captured_logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    static INSTALLED: OnceLock<()> = OnceLock::new();
    let logs = LOGS.get_or_init(|| Mutex::new(Vec::new()));
    INSTALLED.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| LogWriter)
            .try_init();
    });
    logs
}

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut l) = captured_logs().lock() {
            l.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Fails if any of `secrets` occurs in `text` (`what` names the place).
fn assert_no_secret(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "{s} appears in {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_never_appear_in_logs_answers_files_or_errors() {
    let logs = captured_logs();
    let dir = std::env::temp_dir().join(format!("sy-sec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("config.toml");
    let mock_a = MockUpstream::start().await.expect("mock");
    let mock_b = MockUpstream::start().await.expect("mock");
    let store = Arc::new(MemoryStore::new());
    let keys = [
        "sk-ant-api03-LEAKCHECK-aaaaaaaaaaaaaaaa".to_string(),
        "sk-proj-LEAKCHECK-bbbbbbbbbbbbbbbbbbbb".to_string(),
    ];
    let client_key = "sk-ant-client-LEAKCHECK-cccccccc".to_string();
    let new_key = "sk-ant-api03-LEAKCHECK-dddddddddddd".to_string();
    store
        .set("a", &Secret::new(&keys[0]).expect("k"))
        .expect("set");
    store
        .set("b", &Secret::new(&keys[1]).expect("k"))
        .expect("set");
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        ..Config::default()
    };
    for (id, kind, m) in [
        ("a", ProviderKind::Anthropic, &mock_a),
        ("b", ProviderKind::Openai, &mock_b),
    ] {
        cfg.providers.push(config::Provider {
            models: config::ModelMap(vec![("*".into(), "m".into())]),
            ..config::Provider::new(id, kind, m.base_url())
        });
    }
    std::fs::write(&path, config::edit::new_file(&cfg).expect("toml")).expect("write");
    let sy = Switchyard::start(StartOptions {
        config: cfg.clone(),
        config_path: Some(path.clone()),
        secrets: store.clone(),
        listen_override: None,
    })
    .await
    .expect("starts");
    let http = reqwest::Client::builder().no_proxy().build().expect("c");
    let url = |p: &str| format!("{}{p}", sy.url());
    // The upstream echoes the key it got in its error (some vendors do).
    mock_a.push(Reply::error(
        401,
        format!("Incorrect API key provided: {}", keys[0]),
    ));
    mock_b.push(Reply::error(
        429,
        format!("rate limited for key {}", keys[1]),
    ));
    for stream in [false, true, false] {
        let mut b = body(stream);
        b["metadata"] = json!({"user_id": "u"});
        let _ = http
            .post(url("/v1/messages"))
            .header("x-api-key", &client_key)
            .header("authorization", format!("Bearer {client_key}"))
            .header("content-type", "application/json")
            .body(b.to_string())
            .send()
            .await
            .expect("answer")
            .text()
            .await;
    }
    // Saves: a new key, a config change, a switch.
    let r = http
        .put(url("/api/keys/a"))
        .header("content-type", "application/json")
        .body(json!({ "key": new_key }).to_string())
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    let current = http
        .get(url("/api/config"))
        .send()
        .await
        .expect("answer")
        .text()
        .await
        .expect("body");
    let current: Value = serde_json::from_str(&current).expect("json");
    let mut current = current["config"].clone();
    current["providers"][0]["name"] = json!("Renamed");
    let r = http
        .put(url("/api/config"))
        .header("content-type", "application/json")
        .body(current.to_string())
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let mut secrets: Vec<String> = keys.to_vec();
    secrets.push(client_key.clone());
    secrets.push(new_key.clone());

    // Every GET /api route (and the other read-only ones).
    let mut answers = String::new();
    for (method, path, _) in ADMIN_ROUTES {
        if method != "GET" || path == "/api/events" {
            continue;
        }
        let r = http.get(url(path)).send().await.expect("answer");
        answers.push_str(&r.text().await.expect("body"));
    }
    for path in [
        "/health",
        "/v1/health",
        "/v1/models",
        "/api/requests?limit=100",
    ] {
        let r = http.get(url(path)).send().await.expect("answer");
        answers.push_str(&r.text().await.expect("body"));
    }
    // The event stream's first frame (a status snapshot).
    let mut ev = http.get(url("/api/events")).send().await.expect("answer");
    if let Ok(Ok(Some(chunk))) =
        tokio::time::timeout(std::time::Duration::from_secs(2), ev.chunk()).await
    {
        answers.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(answers.contains("\"providers\""), "the walk saw the status");
    assert!(answers.contains("[[providers]]"), "the walk saw the export");
    assert_no_secret("/api answers", &answers, &secrets);

    // Config files written by saves (and their backups).
    let mut files = String::new();
    for entry in std::fs::read_dir(&dir).expect("dir") {
        let p = entry.expect("entry").path();
        files.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
    }
    assert!(files.contains("Renamed"), "the save was written");
    assert_no_secret("config files", &files, &secrets);

    // Error output: a key written into a config file, Debug of configs and secrets.
    let bad = format!(
        "[[providers]]\nid = \"x\"\nkind = \"anthropic\"\nbase_url = \"https://api.anthropic.com\"\ncredential = \"{}\"\n",
        keys[0]
    );
    let err = config::parse_str(&bad, Some(&path)).expect_err("refused");
    assert!(err.to_string().contains("config.toml:"), "{err}");
    let bad2 = format!("[[providers]]\nid = \"x\"\napi_key = \"{}\"\n", keys[1]);
    let err2 = config::parse_str(&bad2, Some(&path)).expect_err("refused");
    let secret = Secret::new(&keys[0]).expect("k");
    let debug = format!(
        "{err}\n{err:?}\n{err2}\n{err2:?}\n{secret:?}\n{cfg:?}\n{:?}",
        sy.status()
    );
    assert_no_secret("error and Debug output", &debug, &secrets);

    sy.shutdown().await;
    let _ = std::io::stdout().flush();
    let logged = String::from_utf8_lossy(&logs.lock().expect("logs")).into_owned();
    assert!(
        logged.contains("TRACE") || logged.contains("DEBUG"),
        "the subscriber captured low levels"
    );
    assert!(logged.contains("attempt failed"), "failures were logged");
    assert!(
        logged.contains("hyper") || logged.contains("reqwest"),
        "HTTP library records were captured too"
    );
    // The keys really were used (so their absence above means something).
    assert_eq!(
        mock_a.requests()[0].header("x-api-key"),
        Some(keys[0].as_str())
    );
    assert_eq!(
        mock_b.requests()[0].header("authorization"),
        Some(format!("Bearer {}", keys[1]).as_str())
    );
    assert_no_secret("logs", &logged, &secrets);
    let _ = std::fs::remove_dir_all(&dir);
}
