//! Status, events, metrics, config saving and hot reload, health probes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use serde_json::json;
use switchyard_core::config::{self, Config};
use switchyard_core::secrets::MemoryStore;
use switchyard_core::{Event, StartOptions, Switchyard};
use switchyard_mock::{MockUpstream, Reply};

#[tokio::test]
async fn health_endpoints_have_the_documented_shapes() {
    let e = env(2).await;
    let v = e.get("/v1/health").await.json();
    assert_eq!(v["status"], "healthy");
    assert_eq!(v["current_provider"], "p0");
    assert_eq!(
        v["providers"],
        json!({"p0": "available", "p1": "available"})
    );
    let v = e.get("/health").await.json();
    assert_eq!(v["status"], "healthy");
    assert!(chrono::DateTime::parse_from_rfc3339(v["timestamp"].as_str().unwrap_or("")).is_ok());
    assert_eq!(v["providers"][0]["id"], "p0");
    assert_eq!(v["providers"][0]["current"], true);
    assert_eq!(v["providers"][1]["current"], false);
}

#[tokio::test]
async fn status_reports_pin_cooldowns_last_errors_and_counters() {
    let e = env(2).await;
    e.mocks[0].push(Reply::error(429, "slow down").with_header("retry-after", "120"));
    e.messages(false).await;
    e.messages(false).await;
    e.sy.switch(Some("p1")).expect("pin");
    let v = e.get("/api/status").await.json();
    assert_eq!(v["pinned"], "p1");
    assert_eq!(v["active_provider"], "p1");
    let p0 = &v["providers"][0];
    assert_eq!(p0["state"], "cooling_down");
    assert!(p0["cooldown_remaining_secs"]
        .as_u64()
        .is_some_and(|s| s > 100));
    assert_eq!(p0["last_error"]["status"], 429);
    assert_eq!(p0["last_error"]["message"], "slow down");
    assert_eq!(p0["totals"]["cooldowns"], 1);
    assert_eq!(p0["totals"]["failovers"], 1);
    assert_eq!(v["providers"][1]["totals"]["requests"], 2);
    assert_eq!(v["requests_total"], 2);
    let reqs = e.get("/api/requests").await.json();
    let first = &reqs["requests"][0];
    assert_eq!(first["provider"], "p1");
    assert_eq!(first["attempts"][0]["provider"], "p0");
    assert_eq!(first["attempts"][0]["status"], 429);
    assert_eq!(first["attempts"][1]["provider"], "p1");
    assert!(first["input_tokens"].as_u64().is_some_and(|n| n > 0));
}

#[tokio::test]
async fn events_stream_over_sse_starting_with_a_status_snapshot() {
    let e = env(2).await;
    let resp = e
        .http
        .get(e.url("/api/events"))
        .send()
        .await
        .expect("events");
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut stream = resp.bytes_stream();
    let mut text = String::new();
    let read_until = |needle: &'static str| {
        let needle = needle.to_string();
        move |text: &String| text.contains(&needle)
    };
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("first")
        .expect("some")
        .expect("ok");
    text.push_str(&String::from_utf8_lossy(&first));
    assert!(text.starts_with("event: status\n"), "{text}");
    e.mocks[0].push(Reply::error(503, "down"));
    e.messages(false).await;
    let done = read_until("event: failover");
    while !done(&text) {
        let c = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("event in time")
            .expect("some")
            .expect("ok");
        text.push_str(&String::from_utf8_lossy(&c));
    }
    assert!(text.contains("event: cooling_down"), "{text}");
    let failover = text
        .split("\n\n")
        .find(|f| f.starts_with("event: failover"))
        .expect("failover frame");
    let data: serde_json::Value =
        serde_json::from_str(failover.split("data: ").nth(1).unwrap_or("")).expect("json");
    assert_eq!(
        data,
        json!({"type": "failover", "from": "p0", "to": "p1", "reason": "overloaded", "retry_at": data["retry_at"]})
    );
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let e = env(2).await;
    e.mocks[0].push(Reply::error(500, "x"));
    e.messages(false).await;
    e.messages(true).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let r = e.get("/metrics").await;
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/plain"));
    // The second request skips p0, which is cooling down.
    assert!(
        r.text
            .contains("switchyard_requests_total{provider=\"p1\",status=\"200\"} 2"),
        "{}",
        r.text
    );
    assert!(r
        .text
        .contains("switchyard_failovers_total{provider=\"p0\"} 1"));
    assert!(r
        .text
        .contains("switchyard_cooldowns_total{provider=\"p0\"} 1"));
    assert!(r
        .text
        .contains("switchyard_request_duration_seconds_bucket{provider=\"p1\",le=\"+Inf\"} 2"));
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sy-{name}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    std::fs::create_dir_all(&d).expect("dir");
    d
}

fn file_config(m1: &str, m2: &str) -> String {
    format!(
        "# my comment\nlisten = \"127.0.0.1:0\"\n\n[[providers]]\nid = \"main\"\nbase_url = \"{m1}\"\ncredential = \"none\"\n\n[[providers]]\nid = \"backup\"\nbase_url = \"{m2}\"\ncredential = \"none\"\n"
    )
}

#[tokio::test]
async fn saving_the_config_is_atomic_keeps_a_backup_and_applies() {
    let m1 = MockUpstream::start().await.expect("mock");
    let m2 = MockUpstream::start().await.expect("mock");
    let dir = temp_dir("save");
    let path = dir.join("config.toml");
    let original = file_config(&m1.base_url(), &m2.base_url());
    std::fs::write(&path, &original).expect("write");
    let cfg = config::load_file(&path).expect("valid");
    let sy = Switchyard::start(StartOptions {
        config: cfg,
        config_path: Some(path.clone()),
        secrets: Arc::new(MemoryStore::new()),
        listen_override: None,
    })
    .await
    .expect("start");
    let http = reqwest::Client::new();
    let current: serde_json::Value = serde_json::from_str(
        &http
            .get(format!("{}/api/config", sy.url()))
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("text"),
    )
    .expect("json");
    let mut new_cfg = current["config"].clone();
    new_cfg["providers"] = json!([new_cfg["providers"][1], new_cfg["providers"][0]]);
    let r = http
        .put(format!("{}/api/config", sy.url()))
        .header("content-type", "application/json")
        .body(new_cfg.to_string())
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
    assert_eq!(
        std::fs::read_to_string(dir.join("config.toml.bak")).expect("backup"),
        original
    );
    let saved = config::load_file(&path).expect("saved file is valid");
    assert_eq!(saved.providers[0].id, "backup");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(
        text.starts_with("# my comment\n") && !text.contains("[timeouts]"),
        "the user's comment stays and no defaults are added:\n{text}"
    );
    assert_eq!(sy.config().providers[0].id, "backup");
    assert_eq!(sy.status().current_provider.as_deref(), Some("backup"));
    // An invalid config is refused and nothing changes on disk.
    let before = std::fs::read_to_string(&path).expect("read");
    let mut bad = new_cfg.clone();
    bad["providers"][0]["id"] = json!("Bad Id");
    let r = http
        .put(format!("{}/api/config", sy.url()))
        .header("content-type", "application/json")
        .body(bad.to_string())
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 400);
    let msg: serde_json::Value =
        serde_json::from_str(&r.text().await.expect("text")).expect("json");
    assert!(
        msg["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("providers[0].id"),
        "{msg}"
    );
    assert_eq!(std::fs::read_to_string(&path).expect("read"), before);
    sy.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn editing_the_file_hot_reloads_and_a_broken_edit_is_rejected() {
    let m1 = MockUpstream::start().await.expect("mock");
    let m2 = MockUpstream::start().await.expect("mock");
    let dir = temp_dir("reload");
    let path = dir.join("config.toml");
    std::fs::write(&path, file_config(&m1.base_url(), &m2.base_url())).expect("write");
    let sy = Switchyard::start(StartOptions {
        config: config::load_file(&path).expect("valid"),
        config_path: Some(path.clone()),
        secrets: Arc::new(MemoryStore::new()),
        listen_override: None,
    })
    .await
    .expect("start");
    let mut events = sy.subscribe();
    let edited = file_config(&m1.base_url(), &m2.base_url()).replace(
        "id = \"main\"\nbase_url",
        "id = \"main\"\nenabled = false\nbase_url",
    );
    std::fs::write(&path, edited).expect("edit");
    let ev = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("reload in time")
        .expect("event");
    assert_eq!(ev, Event::ConfigChanged);
    assert_eq!(sy.status().current_provider.as_deref(), Some("backup"));
    std::fs::write(&path, "listen = \n").expect("break it");
    let ev = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("event in time")
        .expect("event");
    match ev {
        Event::ConfigError { message } => assert!(message.contains("config.toml:1"), "{message}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(sy.config().providers.len(), 2, "running config kept");
    sy.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn health_probes_mark_unreachable_providers_without_billed_calls() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_url = format!("http://{}", dead.local_addr().expect("addr"));
    drop(dead);
    let e = env_with(2, |c: &mut Config| {
        c.health.probe_interval_secs = 1;
        c.providers[0].base_url = dead_url;
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let v = e.get("/v1/health").await.json();
    assert_eq!(v["providers"]["p0"], "cooling_down", "{v}");
    assert_eq!(v["current_provider"], "p1");
    let probes = e.mocks[1].requests();
    assert!(!probes.is_empty());
    assert!(
        probes
            .iter()
            .all(|r| r.method == "GET" && r.path == "/v1/models"),
        "only free calls"
    );
}

#[tokio::test]
async fn presets_provider_tests_and_claude_code_setup() {
    let e = env(2).await;
    let v = e.get("/api/presets").await.json();
    let ids: Vec<&str> = v["presets"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    for want in [
        "anthropic",
        "deepseek",
        "deepseek-openai",
        "kimi",
        "glm",
        "minimax",
        "qwen",
        "openrouter",
        "gemini",
        "openai",
        "ollama",
        "lmstudio",
    ] {
        assert!(ids.contains(&want), "{want} preset");
    }
    let r = e.post_json("/api/providers/p1/test", &json!({})).await;
    assert_eq!(r.json()["ok"], true, "{}", r.text);
    assert!(r.json()["latency_ms"].as_f64().is_some());
    let probe = e.mocks[1].requests().last().cloned().expect("probed");
    assert_eq!(
        (probe.method.as_str(), probe.path.as_str()),
        ("GET", "/v1/models")
    );
    assert_eq!(probe.header("x-api-key"), Some(key_of("p1").as_str()));
    e.sy.delete_key("p1").expect("delete");
    let r = e.post_json("/api/providers/p1/test", &json!({})).await;
    assert_eq!(r.json()["ok"], false);
    assert!(
        r.json()["error"].as_str().unwrap_or("").contains("no key"),
        "{}",
        r.text
    );
    e.mocks[1].push(Reply::error(401, "invalid x-api-key"));
    e.sy.set_key("p1", "sk-bad-key-000000").expect("set");
    let r = e.post_json("/api/providers/p1/test", &json!({})).await;
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap_or("")
            .contains("invalid x-api-key"),
        "{}",
        r.text
    );

    let home = temp_dir("claude");
    std::env::set_var("CLAUDE_CONFIG_DIR", &home);
    let settings = home.join("settings.json");
    let original = "{\n  \"hooks\": {\"Stop\": []},\n  \"enabledPlugins\": {\"a@b\": true}\n}\n";
    std::fs::write(&settings, original).expect("write");
    let r = e
        .post_json("/api/integrations/claude-code", &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).expect("read")).expect("json");
    assert_eq!(v["env"]["ANTHROPIC_BASE_URL"], e.sy.url());
    assert!(
        v["env"].get("ANTHROPIC_AUTH_TOKEN").is_none(),
        "the first provider is passthrough: the user's login stays"
    );
    assert_eq!(v["enabledPlugins"]["a@b"], true);
    assert_eq!(
        e.get("/api/integrations/claude-code").await.json()["configured"],
        true
    );
    let r = e
        .post_json("/api/integrations/claude-code", &json!({"undo": true}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(std::fs::read_to_string(&settings).expect("read"), original);
    let _ = std::fs::remove_dir_all(home);

    // Codex CLI: its config.toml merged (comments and tables kept), then put back.
    let home = temp_dir("codex");
    std::env::set_var("CODEX_HOME", &home);
    let config = home.join("config.toml");
    let original = "# mine\nmodel = \"gpt-5.1-codex\"\n\n[mcp_servers.docs]\ncommand = \"docs\"\n";
    std::fs::write(&config, original).expect("write");
    let r = e.post_json("/api/integrations/codex", &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let text = std::fs::read_to_string(&config).expect("read");
    let v: toml::Table = toml::from_str(&text).expect("toml");
    assert_eq!(v["model_provider"].as_str(), Some("switchyard"));
    assert_eq!(
        v["model_providers"]["switchyard"]["base_url"].as_str(),
        Some(format!("{}/v1", e.sy.url()).as_str())
    );
    assert!(
        text.starts_with("# mine\n") && text.contains("[mcp_servers.docs]"),
        "{text}"
    );
    let st = e.get("/api/integrations/codex").await.json();
    assert_eq!(
        (st["configured"].as_bool(), st["key_var"].as_str()),
        (Some(true), Some("OPENAI_API_KEY"))
    );
    let r = e
        .post_json("/api/integrations/codex", &json!({"undo": true}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(std::fs::read_to_string(&config).expect("read"), original);
    let _ = std::fs::remove_dir_all(home);
}

#[tokio::test]
async fn shutdown_finishes_with_an_idle_keep_alive_client_connected() {
    let e = env(1).await;
    // An idle keep-alive connection, as every HTTP client pool leaves behind.
    let mut idle = tokio::net::TcpStream::connect(e.sy.addr())
        .await
        .expect("connect");
    use tokio::io::AsyncWriteExt;
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(15), e.sy.shutdown())
        .await
        .expect("shutdown finishes");
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(idle);
}
