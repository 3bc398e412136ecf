//! `switchyard tokens add/list/remove`, run as the real binary against a real engine.

use std::process::Command;
use std::sync::Arc;

use switchyard_core::config::{Config, Credential, Provider, ProviderKind};
use switchyard_core::secrets::{MemoryStore, SecretStore};
use switchyard_core::{StartOptions, Switchyard};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

fn run(args: &[&str], url: &str) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .args(["--url", url])
        .env_remove("SWITCHYARD_TOKEN")
        .output()
        .expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_add_list_remove() {
    let dir = std::env::temp_dir().join(format!("sy-cli-tokens-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        ..Config::default()
    };
    cfg.providers.push(Provider {
        credential: Credential::Passthrough,
        ..Provider::new("a", ProviderKind::Anthropic, "http://127.0.0.1:9")
    });
    let store = Arc::new(MemoryStore::default());
    let sy = Switchyard::start(StartOptions {
        config: cfg,
        config_path: Some(dir.join("config.toml")),
        secrets: store.clone(),
        listen_override: None,
    })
    .await
    .expect("starts");
    let url = sy.url();
    let url2 = url.clone();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        run(&["tokens", "add", "laptop", "--rate", "60"], &url2)
    })
    .await
    .expect("join");
    assert!(ok, "{err}");
    let value = out.trim().to_string();
    assert!(value.starts_with("syt_"), "{out}");
    assert!(err.contains("shown only this once"), "{err}");
    assert_eq!(
        store
            .get("token:laptop")
            .expect("get")
            .map(|s| s.expose().to_string()),
        Some(value.clone())
    );
    let url2 = url.clone();
    let (ok, out, err) = tokio::task::spawn_blocking(move || run(&["tokens", "list"], &url2))
        .await
        .expect("join");
    assert!(ok, "{err}");
    assert!(out.contains("laptop") && out.contains("60"), "{out}");
    assert!(!out.contains(&value) && !err.contains(&value), "{out}");
    let url2 = url.clone();
    let (ok, _, err) =
        tokio::task::spawn_blocking(move || run(&["tokens", "add", "laptop"], &url2))
            .await
            .expect("join");
    assert!(!ok && err.contains("already exists"), "{err}");
    let url2 = url.clone();
    let (ok, out, err) =
        tokio::task::spawn_blocking(move || run(&["tokens", "remove", "laptop"], &url2))
            .await
            .expect("join");
    assert!(ok, "{err}");
    assert!(out.contains("deleted"), "{out}");
    assert_eq!(store.get("token:laptop").expect("get"), None);
    let url2 = url.clone();
    let (ok, out, _) = tokio::task::spawn_blocking(move || run(&["tokens", "list"], &url2))
        .await
        .expect("join");
    assert!(ok && out.contains("no access tokens"), "{out}");
    sy.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
