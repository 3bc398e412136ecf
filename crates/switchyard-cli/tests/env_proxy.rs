//! With no proxy in the config, `switchyard serve` honours HTTP(S)_PROXY / NO_PROXY from its
//! environment. Run as the real binary so each case has its own process environment.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use switchyard_mock::{MockProxy, MockUpstream, ProxyKind};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(name: &str, upstream: &str, network: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sy-env-proxy-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!("{network}\n[[providers]]\nid = \"up\"\nbase_url = \"{upstream}\"\ncredential = \"none\"\n"),
    )
    .expect("write");
    path
}

/// Start `switchyard serve` with exactly these proxy variables; returns it and its URL.
fn serve(config: &PathBuf, vars: &[(&str, String)]) -> (Serve, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for v in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn switchyard");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let url = loop {
        let line = lines.next().expect("a line").expect("read");
        if let Some(u) = line.strip_prefix("switchyard listening on ") {
            break u.trim().to_string();
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Serve(child), url)
}

async fn ask(url: &str) -> (u16, String) {
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!("{url}/v1/messages"))
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .body(r#"{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#)
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn environment_proxy_is_used_and_no_proxy_and_direct_bypass_it() {
    let mock = MockUpstream::start().await.expect("mock");
    let proxy = MockProxy::start(ProxyKind::Http, None)
        .await
        .expect("proxy");
    let cfg = config("env", &mock.base_url(), "");

    // HTTP_PROXY alone: the request goes through the proxy.
    let (sy, url) = serve(&cfg, &[("HTTP_PROXY", proxy.url(None))]);
    let (status, text) = ask(&url).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(proxy.carried(), 1, "HTTP_PROXY was honoured");
    assert_eq!(mock.request_count(), 1);
    drop(sy);

    // NO_PROXY naming the upstream host: direct.
    let (sy, url) = serve(
        &cfg,
        &[
            ("HTTP_PROXY", proxy.url(None)),
            ("NO_PROXY", "127.0.0.1".into()),
        ],
    );
    assert_eq!(ask(&url).await.0, 200);
    assert_eq!(proxy.carried(), 1, "NO_PROXY was honoured");
    assert_eq!(mock.request_count(), 2);
    drop(sy);

    // `[network] proxy = "direct"` ignores the environment.
    let direct = config(
        "direct",
        &mock.base_url(),
        "[network]\nproxy = \"direct\"\n",
    );
    let (sy, url) = serve(&direct, &[("HTTP_PROXY", proxy.url(None))]);
    assert_eq!(ask(&url).await.0, 200);
    assert_eq!(proxy.carried(), 1, "direct bypasses the environment");
    assert_eq!(mock.request_count(), 3);
    drop(sy);
}
