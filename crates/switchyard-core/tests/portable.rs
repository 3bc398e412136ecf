//! Export / import of providers over the admin API: no secret ever leaves, a round trip
//! keeps the providers, a broken file is refused with its line, missing keys are reported.

mod common;

use std::sync::Arc;

use common::{env_with, key_of};
use switchyard_core::config::{self, Credential};
use switchyard_core::secrets::{MemoryStore, Secret, SecretStore};
use switchyard_core::{StartOptions, Switchyard};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sy-portable-{name}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    std::fs::create_dir_all(&d).expect("dir");
    d
}

#[tokio::test]
async fn export_has_no_secret_and_import_round_trips_asking_for_keys() {
    // The only test in this binary, so setting a variable races with nothing.
    std::env::set_var("SY_PORTABLE_ACCESS_TOKEN", "tok-the-access-token-77");
    let mut e = env_with(3, |c| {
        c.security.access_token = Some(Credential::Env("SY_PORTABLE_ACCESS_TOKEN".into()));
        c.security.local_without_token = true;
    })
    .await;
    let r = e.get("/api/export").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"switchyard-providers.toml\"")
    );
    let text = r.text.clone();
    for id in ["p1", "p2"] {
        assert!(!text.contains(&key_of(id)), "the key of {id} leaked");
        assert!(
            text.contains(&format!("# {id}: needs a key after import")),
            "{text}"
        );
    }
    assert!(!text.contains("tok-the-access-token") && !text.contains("access_token"));
    assert!(!text.contains("[security]"));
    let original = e.sy.config().providers.clone();

    // Into a second Switchyard with its own config file and an empty keychain.
    let dir = temp_dir("rt");
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        "[[providers]]\nid = \"local\"\nbase_url = \"http://127.0.0.1:9\"\ncredential = \"none\"\n",
    )
    .expect("write");
    let store = Arc::new(MemoryStore::new());
    store
        .set("p2", &Secret::new(&key_of("p2")).expect("key"))
        .expect("set");
    let sy2 = Switchyard::start(StartOptions {
        config: config::load_file(&path).expect("valid"),
        config_path: Some(path.clone()),
        secrets: store.clone(),
        listen_override: None,
    })
    .await
    .expect("start");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let r = http
        .post(format!("{}/api/import?mode=merge", sy2.url()))
        .header("content-type", "application/toml")
        .body(text.clone())
        .send()
        .await
        .expect("import");
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&r.text().await.expect("text")).expect("json");
    assert_eq!(v["added"], serde_json::json!(["p0", "p1", "p2"]));
    assert_eq!(
        v["needs_key"],
        serde_json::json!(["p1"]),
        "p2's key is already there"
    );
    let cfg = sy2.config();
    assert_eq!(
        cfg.providers[0].id, "local",
        "existing providers stay first"
    );
    assert_eq!(&cfg.providers[1..], &original[..]);
    let saved = config::load_file(&path).expect("saved");
    assert_eq!(saved.providers, cfg.providers);
    assert!(dir.join("config.toml.bak").exists());

    // A broken file: 400 with the line, nothing changed.
    let before = std::fs::read_to_string(&path).expect("read");
    let r = http
        .post(format!("{}/api/import", sy2.url()))
        .header("content-type", "application/toml")
        .body("[[providers]]\nid = \"ok\"\nbase_url = 42\n")
        .send()
        .await
        .expect("import");
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = serde_json::from_str(&r.text().await.expect("text")).expect("json");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.starts_with("import.toml:3:"), "{msg}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), before);
    let r = http
        .post(format!("{}/api/import?mode=sideways", sy2.url()))
        .header("content-type", "application/toml")
        .body(text.clone())
        .send()
        .await
        .expect("import");
    assert_eq!(r.status(), 400);
    // What an HTML form could send is refused.
    let r = http
        .post(format!("{}/api/import", sy2.url()))
        .header("content-type", "text/plain")
        .body(text)
        .send()
        .await
        .expect("import");
    assert_eq!(r.status(), 415);
    sy2.shutdown().await;
    e.drain_events();
    let _ = std::fs::remove_dir_all(dir);
}
