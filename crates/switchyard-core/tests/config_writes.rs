//! Config writes cannot race or half-apply, and bad config is refused, not served: concurrent
//! saves through the API, a refused save leaving the file byte for byte as it was (and the file
//! watcher never applying it), secrets written into a URL, ids that are Switchyard's own
//! secret names.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use switchyard_core::config::{self, Config, Credential, Provider, ProviderKind};
use switchyard_core::secrets::MemoryStore;
use switchyard_core::{Handle, StartOptions, Switchyard};

fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sy-cfgw-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("dir");
    d
}

/// Switchyard running from a config file with a comment in it.
async fn from_file(name: &str) -> (Handle, std::path::PathBuf, reqwest::Client) {
    let d = dir(name);
    let path = d.join("config.toml");
    let text = "# my own comment\nlisten = \"127.0.0.1:0\"\n\n[[providers]]\nid = \"p0\"\nbase_url = \"http://127.0.0.1:9\"\ncredential = \"none\"\n";
    std::fs::write(&path, text).expect("write");
    let cfg = config::load_file(&path).expect("loads");
    let sy = Switchyard::start(StartOptions {
        config: cfg,
        config_path: Some(path.clone()),
        secrets: Arc::new(MemoryStore::new()),
        listen_override: None,
    })
    .await
    .expect("starts");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    (sy, path, http)
}

async fn put_config(http: &reqwest::Client, sy: &Handle, cfg: &Value) -> (u16, String) {
    let r = http
        .put(format!("{}/api/config", sy.url()))
        .header("content-type", "application/json")
        .body(cfg.to_string())
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

fn with_providers(sy: &Handle, n: usize) -> Value {
    let mut cfg = (*sy.config()).clone();
    cfg.providers = (0..n)
        .map(|i| Provider {
            credential: Credential::None,
            ..Provider::new(
                format!("p{i}"),
                ProviderKind::Anthropic,
                "http://127.0.0.1:9",
            )
        })
        .collect();
    serde_json::to_value(&cfg).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_saves_all_land_whole() {
    let (sy, path, http) = from_file("race").await;
    let saves: Vec<_> = (1..=16)
        .map(|n| {
            let (http, sy) = (http.clone(), sy.clone());
            let cfg = with_providers(&sy, n);
            tokio::spawn(async move { put_config(&http, &sy, &cfg).await })
        })
        .collect();
    for s in saves {
        let (status, text) = s.await.expect("task");
        assert_eq!(status, 200, "{text}");
    }
    // The file is one of the saved configs, whole, with the user's comment kept.
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains("# my own comment"), "{text}");
    let on_disk = config::load_file(&path).expect("the file parses");
    assert_eq!(*sy.config(), on_disk, "the running config is the file's");
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_refused_save_leaves_the_file_as_it_was_and_the_watcher_does_not_apply_it() {
    let (sy, path, http) = from_file("refused").await;
    let before = std::fs::read(&path).expect("read");
    // The access token lives in the keychain, but none is stored: `serve` would refuse it.
    let mut cfg = with_providers(&sy, 2);
    cfg["security"]["access_token"] = json!("keychain");
    let (status, text) = put_config(&http, &sy, &cfg).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("access_token"), "{text}");
    assert_eq!(std::fs::read(&path).expect("read"), before, "byte for byte");
    // Give the watcher (1 s period) time to act on anything it might have seen.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        sy.config().providers.len(),
        1,
        "the refused config never ran"
    );
    // And `check` agrees with `serve` on it.
    let refused: Config = serde_json::from_value(cfg).expect("config");
    assert!(switchyard_core::check_config(&refused, &MemoryStore::new(), None).is_err());
}

#[tokio::test]
async fn secrets_in_urls_and_reserved_ids_are_refused() {
    let (sy, path, http) = from_file("bad").await;
    let before = std::fs::read(&path).expect("read");
    let mut cfg = with_providers(&sy, 1);
    cfg["providers"][0]["base_url"] = json!("https://me:hunter2@api.example.com/v1");
    let (status, text) = put_config(&http, &sy, &cfg).await;
    assert_eq!(status, 400, "{text}");
    assert!(
        !text.contains("hunter2"),
        "the password is not echoed: {text}"
    );
    assert!(text.contains("base_url"), "{text}");
    for id in ["access-token", "redis"] {
        let mut cfg = with_providers(&sy, 1);
        cfg["providers"][0]["id"] = json!(id);
        let (status, text) = put_config(&http, &sy, &cfg).await;
        assert_eq!(status, 400, "{id}: {text}");
    }
    assert_eq!(std::fs::read(&path).expect("read"), before);
    // In a file: refused with its line, the password not repeated.
    let d = dir("bad-file");
    let p = d.join("config.toml");
    std::fs::write(
        &p,
        "[[providers]]\nid = \"x\"\nbase_url = \"https://me:hunter2@api.example.com\"\n",
    )
    .expect("write");
    let e = config::load_file(&p).expect_err("refused");
    let shown = e.to_string();
    assert!(
        e.line.map(|l| l.0) == Some(3) && !shown.contains("hunter2"),
        "{shown}"
    );
    for v in ["/api/status", "/api/config"] {
        let t = http
            .get(format!("{}{v}", sy.url()))
            .send()
            .await
            .expect("send")
            .text()
            .await
            .unwrap_or_default();
        assert!(!t.contains("hunter2"), "{v}: {t}");
    }
}
