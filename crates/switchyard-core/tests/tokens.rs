//! Named client access tokens (issue 6 item 6): created through the admin API with the value
//! shown once and kept in the secret store, per-token rate limits, never forwarded upstream,
//! and mandatory on a non-loopback listen address.

mod common;

use std::sync::Arc;

use common::{body, key_of};
use serde_json::{json, Value};
use switchyard_core::access_tokens::ClientToken;
use switchyard_core::config::{Config, Credential, Provider, ProviderKind};
use switchyard_core::secrets::{MemoryStore, Secret, SecretStore};
use switchyard_core::{Handle, StartOptions, Switchyard};
use switchyard_mock::{MockHandle, MockUpstream};

struct T {
    sy: Handle,
    mock: MockHandle,
    store: Arc<MemoryStore>,
    http: reqwest::Client,
    dir: std::path::PathBuf,
}

async fn start(tweak: impl FnOnce(&mut Config)) -> T {
    let mock = MockUpstream::start().await.expect("mock");
    let store = Arc::new(MemoryStore::new());
    store
        .set("p0", &Secret::new(&key_of("p0")).expect("k"))
        .expect("set");
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        ..Config::default()
    };
    cfg.providers.push(Provider::new(
        "p0",
        ProviderKind::Anthropic,
        mock.base_url(),
    ));
    cfg.security.local_without_token = false;
    tweak(&mut cfg);
    let dir = std::env::temp_dir().join(format!(
        "sy-tokens-{}-{}",
        std::process::id(),
        mock.addr().port()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("config.toml");
    let sy = Switchyard::start(StartOptions {
        config: cfg,
        config_path: Some(path),
        secrets: store.clone(),
        listen_override: None,
    })
    .await
    .expect("starts");
    T {
        sy,
        mock,
        store,
        http: reqwest::Client::builder().no_proxy().build().expect("c"),
        dir,
    }
}

impl T {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<(&str, &str)>,
        b: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.request(
            method.parse().expect("m"),
            format!("{}{path}", self.sy.url()),
        );
        if let Some((h, v)) = token {
            req = req.header(h, v);
        }
        if let Some(b) = b {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let r = req.send().await.expect("answer");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.expect("body");
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    /// Creates a token (authorised by `admin`) and returns its value.
    async fn create(&self, admin: &str, name: &str, rate: Option<u32>) -> String {
        let (status, _, v) = self
            .call(
                "POST",
                "/api/tokens",
                Some(("x-switchyard-token", admin)),
                Some(json!({"name": name, "rate_per_minute": rate})),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        v["token"].as_str().expect("value").to_string()
    }
}

const ADMIN: &str = "admin-token-0123456789";

fn with_admin_token(c: &mut Config) {
    c.security.access_token = Some(Credential::Env("SY_TOKENS_TEST_ADMIN".into()));
}

#[tokio::test]
async fn created_tokens_are_shown_once_rate_limited_and_never_forwarded() {
    std::env::set_var("SY_TOKENS_TEST_ADMIN", ADMIN);
    let t = start(with_admin_token).await;
    let laptop = t.create(ADMIN, "laptop", Some(2)).await;
    let ci = t.create(ADMIN, "ci", None).await;
    assert_ne!(laptop, ci);
    assert_eq!(
        t.store
            .get("token:laptop")
            .expect("get")
            .map(|s| s.expose().to_string()),
        Some(laptop.clone()),
        "the value is in the secret store"
    );
    // Each header form works and none reaches the provider.
    let forms = [
        ("x-api-key", laptop.clone()),
        ("authorization", format!("Bearer {laptop}")),
        ("x-switchyard-token", ci.clone()),
    ];
    for (h, v) in &forms {
        let (status, _, v2) = t
            .call("POST", "/v1/messages", Some((h, v)), Some(body(false)))
            .await;
        assert_eq!(status, 200, "{h}: {v2}");
    }
    for req in t.mock.requests() {
        let all = format!("{:?} {}", req.headers, req.body_text());
        assert!(
            !all.contains(&laptop) && !all.contains(&ci),
            "forwarded: {all}"
        );
        assert_eq!(req.header("x-api-key"), Some(key_of("p0").as_str()));
    }
    // laptop (2 per minute) has used its two: the third is refused with retry-after.
    let (status, headers, v) = t
        .call(
            "POST",
            "/v1/messages",
            Some(("x-api-key", &laptop)),
            Some(body(false)),
        )
        .await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "rate_limit_error");
    let retry: u64 = headers
        .get("retry-after")
        .and_then(|h| h.to_str().ok())
        .and_then(|s| s.parse().ok())
        .expect("retry-after");
    assert!((1..=30).contains(&retry), "{retry}");
    assert_eq!(
        t.mock.request_count(),
        3,
        "the refused request went nowhere"
    );
    // ci has no limit.
    for _ in 0..5 {
        let (status, _, _) = t
            .call("GET", "/v1/models", Some(("x-switchyard-token", &ci)), None)
            .await;
        assert_eq!(status, 200);
    }
    // A wrong token, or none: 401.
    for tok in [
        None,
        Some(("x-api-key", "syt_0000")),
        Some(("authorization", "Bearer nope")),
    ] {
        let (status, _, v) = t.call("POST", "/v1/messages", tok, Some(body(false))).await;
        assert_eq!(status, 401, "{v}");
        assert_eq!(v["error"]["type"], "authentication_error");
    }
    // The list shows usage, never a value.
    let (status, _, list) = t
        .call(
            "GET",
            "/api/tokens",
            Some(("x-switchyard-token", ADMIN)),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let text = list.to_string();
    assert!(!text.contains(&laptop) && !text.contains(&ci), "{text}");
    let l = &list["tokens"][0];
    assert_eq!(l["name"], "laptop");
    assert_eq!(l["rate_per_minute"], 2);
    assert_eq!(l["requests"], 2);
    assert!(
        l["last_used"].is_string() && l["created"].is_string(),
        "{l}"
    );
    assert_eq!(list["tokens"][1]["requests"], 6);
    // The config file holds names and rates only.
    let file = std::fs::read_to_string(t.dir.join("config.toml")).expect("saved");
    assert!(
        file.contains("[[security.tokens]]") && file.contains("name = \"laptop\""),
        "{file}"
    );
    assert!(!file.contains(&laptop) && !file.contains(&ci), "{file}");
    // A duplicate or a bad name is refused; delete stops the token at once.
    let dup = t
        .call(
            "POST",
            "/api/tokens",
            Some(("x-switchyard-token", ADMIN)),
            Some(json!({"name": "laptop"})),
        )
        .await;
    assert_eq!(dup.0, 409);
    let bad = t
        .call(
            "POST",
            "/api/tokens",
            Some(("x-switchyard-token", ADMIN)),
            Some(json!({"name": "Lap top\r\n"})),
        )
        .await;
    assert_eq!(bad.0, 400);
    let (status, _, _) = t
        .call(
            "DELETE",
            "/api/tokens/ci",
            Some(("x-switchyard-token", ADMIN)),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = t
        .call("GET", "/v1/models", Some(("x-switchyard-token", &ci)), None)
        .await;
    assert_eq!(status, 401, "deleted token refused");
    assert_eq!(t.store.get("token:ci").expect("get"), None, "value removed");
    let (status, _, _) = t
        .call(
            "DELETE",
            "/api/tokens/ci",
            Some(("x-switchyard-token", ADMIN)),
            None,
        )
        .await;
    assert_eq!(status, 404);
    t.sy.shutdown().await;
    let _ = std::fs::remove_dir_all(&t.dir);
}

#[tokio::test]
async fn a_non_loopback_bind_needs_a_usable_token() {
    let base = |tokens: Vec<ClientToken>| {
        let mut c = Config {
            listen: "0.0.0.0:0".parse().expect("addr"),
            ..Config::default()
        };
        c.security.tokens = tokens;
        c
    };
    let laptop = ClientToken {
        name: "laptop".into(),
        rate_per_minute: Some(60),
        created: None,
    };
    let run = |cfg: Config, store: Arc<MemoryStore>| async move {
        Switchyard::start(StartOptions {
            config: cfg,
            config_path: None,
            secrets: store,
            listen_override: None,
        })
        .await
    };
    let err = run(base(vec![]), Arc::new(MemoryStore::new()))
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("tokens add"), "{err}");
    // A token listed without a stored value cannot be used: still refused.
    let err = run(base(vec![laptop.clone()]), Arc::new(MemoryStore::new()))
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("access token"), "{err}");
    let store = Arc::new(MemoryStore::new());
    store
        .set(
            "token:laptop",
            &Secret::new("syt_lan_value_1234").expect("s"),
        )
        .expect("set");
    let h = run(base(vec![laptop]), store).await.expect("starts");
    assert!(h.addr().ip().is_unspecified());
    h.shutdown().await;
}

#[test]
fn token_names_are_checked_with_file_and_line() {
    let text = "[[providers]]\nid = \"a\"\nkind = \"anthropic\"\nbase_url = \"https://api.anthropic.com\"\n\n[[security.tokens]]\nname = \"ok\"\n\n[[security.tokens]]\nname = \"Not OK\"\n";
    let err = switchyard_core::config::parse_str(text, Some(std::path::Path::new("/tmp/c.toml")))
        .expect_err("refused");
    assert!(err.to_string().contains("/tmp/c.toml:10"), "{err}");
    let dup = text.replace("Not OK", "ok");
    let err = switchyard_core::config::parse_str(&dup, None).expect_err("refused");
    assert!(err.to_string().contains("duplicate token name"), "{err}");
    let stray = text.replace("name = \"Not OK\"", "name = \"x\"\nvalue = \"syt_secret\"");
    assert!(
        switchyard_core::config::parse_str(&stray, None).is_err(),
        "no value field"
    );
}

/// This machine's address on its network (not loopback), if it has one.
fn lan_ip() -> Option<std::net::IpAddr> {
    // Connecting a UDP socket sends nothing; it only picks the outgoing interface.
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn another_machine_needs_a_named_token_and_gets_its_rate() {
    let Some(ip) = lan_ip() else {
        eprintln!("no non-loopback address on this machine: test skipped");
        return;
    };
    let mock = MockUpstream::start().await.expect("mock");
    let store = Arc::new(MemoryStore::new());
    store
        .set(
            "token:desk",
            &Secret::new("syt_desk_value_000000").expect("s"),
        )
        .expect("set");
    let mut cfg = Config {
        listen: "0.0.0.0:0".parse().expect("addr"),
        ..Config::default()
    };
    cfg.providers.push(Provider {
        credential: Credential::None,
        ..Provider::new("p0", ProviderKind::Anthropic, mock.base_url())
    });
    cfg.security.tokens.push(ClientToken {
        name: "desk".into(),
        rate_per_minute: Some(1),
        created: None,
    });
    let sy = Switchyard::start(StartOptions {
        config: cfg,
        config_path: None,
        secrets: store,
        listen_override: None,
    })
    .await
    .expect("starts with a named token");
    let remote = reqwest::Client::builder()
        .no_proxy()
        .local_address(ip)
        .build()
        .expect("client");
    let url = format!("http://{ip}:{}/v1/messages", sy.addr().port());
    let send = |key: Option<&str>| {
        let mut r = remote
            .post(&url)
            .header("content-type", "application/json")
            .body(body(false).to_string());
        if let Some(k) = key {
            r = r.header("x-api-key", k);
        }
        r.send()
    };
    assert_eq!(send(None).await.expect("answer").status(), 401);
    assert_eq!(
        send(Some("syt_desk_value_000001"))
            .await
            .expect("answer")
            .status(),
        401
    );
    let ok = send(Some("syt_desk_value_000000")).await.expect("answer");
    assert_eq!(ok.status(), 200);
    let limited = send(Some("syt_desk_value_000000")).await.expect("answer");
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("retry-after");
    assert!((50..=60).contains(&retry), "one per minute: {retry}");
    assert_eq!(mock.request_count(), 1);
    assert_eq!(
        mock.requests()[0].header("x-api-key"),
        None,
        "token not forwarded"
    );
    sy.shutdown().await;
}
