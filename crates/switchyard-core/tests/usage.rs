//! Usage and budgets against the mock upstreams: tokens and cost per provider/model/day,
//! budgets crossed mid-stream, the next request skipping the provider, one notification per
//! period, and the ledger surviving a restart.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use switchyard_core::config::Config;
use switchyard_core::secrets::MemoryStore;
use switchyard_core::usage::{Period, Price};
use switchyard_core::{Event, StartOptions, Switchyard};
use switchyard_mock::{MockUpstream, Reply, Step};

const MODEL: &str = "claude-sonnet-4-5";

/// $1 per 1000 input tokens, $2 per 1000 output, $0.1 per 1000 cache reads, $1.25 per 1000
/// cache writes: figures that are easy to check.
fn priced(c: &mut Config) {
    c.prices.insert(
        MODEL.into(),
        Price {
            input: 1000.0,
            output: 2000.0,
            cache_read: 100.0,
            cache_write: 1250.0,
        },
    );
}

fn message(input: u64, output: u64, cache_read: u64, cache_write: u64) -> Reply {
    Reply::json(
        200,
        json!({
            "id": "msg_u", "type": "message", "role": "assistant", "model": MODEL,
            "content": [{"type": "text", "text": "hi"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": input, "output_tokens": output,
                      "cache_read_input_tokens": cache_read,
                      "cache_creation_input_tokens": cache_write},
        }),
    )
}

fn stream(input: u64, output: u64) -> Reply {
    Reply::sse([
        Step::event(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_s", "type": "message",
                "role": "assistant", "model": MODEL, "content": [], "stop_reason": null,
                "stop_sequence": null, "usage": {"input_tokens": input, "output_tokens": 1}}}),
        ),
        Step::event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        Step::event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hello"}}),
        ),
        Step::event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        Step::event(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                   "usage": {"output_tokens": output}}),
        ),
        Step::event("message_stop", json!({"type": "message_stop"})),
    ])
}

/// `/api/usage` once it shows `n` requests (a stream's usage lands when its end is seen).
async fn usage_with(e: &Env, n: u64) -> Value {
    for _ in 0..100 {
        let u = e.get("/api/usage?days=3").await.json();
        if u["totals"]["requests"].as_u64() == Some(n) {
            return u;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let u = e.get("/api/usage?days=3").await.json();
    assert_eq!(
        u["totals"]["requests"], n,
        "usage never reached {n} requests: {u}"
    );
    u
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

#[tokio::test]
async fn tokens_and_cost_per_provider_model_day() {
    let e = env_with(1, priced).await;
    e.mocks[0].push(message(1000, 500, 2000, 400));
    e.mocks[0].push(stream(100, 50));
    assert_eq!(e.messages(false).await.status, 200);
    let r = e.messages(true).await;
    assert_eq!(r.status, 200);
    assert_valid_stream(&r);
    let u = usage_with(&e, 2).await;
    let rows = u["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "one provider, model and day: {u}");
    let row = &rows[0];
    assert_eq!(row["provider"], "p0");
    assert_eq!(row["model"], MODEL);
    assert_eq!(row["day"], chrono::Utc::now().date_naive().to_string());
    assert_eq!(
        row["tokens"],
        json!({"input": 1100, "output": 550, "cache_read": 2000, "cache_write": 400})
    );
    // 1 + 1 + 0.2 + 0.5 for the first, 0.1 + 0.1 for the stream.
    assert!(close(&row["cost_usd"], 2.9), "{row}");
    assert_eq!(row["unpriced"], 0);
    assert!(close(&u["summary"][0]["today"]["cost_usd"], 2.9));
    assert!(close(&u["summary"][0]["month"]["cost_usd"], 2.9));
    assert_eq!(u["daily"].as_array().map(|d| d.len()), Some(3));
    let m = e.get("/metrics").await.text;
    let line = m
        .lines()
        .find(|l| l.starts_with("switchyard_cost_usd{provider=\"p0\",period=\"day\"}"))
        .unwrap_or_default();
    let v: f64 = line
        .rsplit(' ')
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or(-1.0);
    assert!((v - 2.9).abs() < 1e-9, "{m}");
    // A 4xx answer costs nothing and is not counted.
    e.mocks[0].push(Reply::error(400, "bad"));
    assert_eq!(e.messages(false).await.status, 400);
    assert_eq!(usage_with(&e, 2).await["totals"]["requests"], 2);
}

#[tokio::test]
async fn unknown_models_count_tokens_with_unknown_cost() {
    let e = env_with(1, |c| {
        c.providers[0].models.0 = vec![("*".into(), "house-model-x".into())];
    })
    .await;
    e.mocks[0].push(message(10, 20, 0, 0));
    assert_eq!(e.messages(false).await.status, 200);
    let u = usage_with(&e, 1).await;
    assert_eq!(u["rows"][0]["model"], "house-model-x");
    assert_eq!(u["rows"][0]["unpriced"], 1);
    assert_eq!(u["rows"][0]["tokens"]["output"], 20);
    assert_eq!(u["totals"]["cost_usd"], 0.0);
    assert_eq!(e.get("/api/usage?days=0").await.status, 400);
}

#[tokio::test]
async fn budget_crossed_mid_stream_is_counted_and_the_next_request_skips() {
    let mut e = env_with(2, |c| {
        priced(c);
        c.providers[0].budget_daily_usd = Some(0.5);
    })
    .await;
    // 2.0 USD of output in one stream: far past the 0.5 budget, counted in full.
    e.mocks[0].push(stream(10, 1000));
    let r = e.messages(true).await;
    assert_eq!((r.status, r.provider()), (200, Some("p0")));
    assert_valid_stream(&r);
    let u = usage_with(&e, 1).await;
    assert!(close(&u["rows"][0]["cost_usd"], 2.01), "{u}");
    assert_eq!(u["budgets"][0]["provider"], "p0");
    assert_eq!(u["budgets"][0]["over"], "day");

    for _ in 0..2 {
        let r = e.messages(false).await;
        assert_eq!((r.status, r.provider()), (200, Some("p1")));
    }
    assert_eq!(
        e.mocks[0].request_count(),
        1,
        "p0 is skipped while over budget"
    );
    let budget_events: Vec<Event> = e
        .drain_events()
        .into_iter()
        .filter(|ev| matches!(ev, Event::BudgetExceeded { .. }))
        .collect();
    assert_eq!(budget_events.len(), 1, "announced once: {budget_events:?}");
    match &budget_events[0] {
        Event::BudgetExceeded {
            provider,
            period,
            spent,
            limit,
        } => {
            assert_eq!((provider.as_str(), *period), ("p0", Period::Day));
            assert!((spent - 2.01).abs() < 1e-9 && *limit == 0.5);
        }
        other => panic!("{other:?}"),
    }
    let s = e.get("/api/status").await.json();
    assert_eq!(s["providers"][0]["over_budget"], "day");
    assert_eq!(s["providers"][1]["over_budget"], Value::Null);
    assert_eq!(s["current_provider"], "p1", "the status passes over it too");
    assert_eq!(s["status"], "degraded");
    let h = e.get("/v1/health").await.json();
    assert_eq!(h["providers"]["p0"], "over_budget", "{h}");
    assert_eq!(h["providers"]["p1"], "available", "{h}");

    // Once every provider is over budget the client gets an Anthropic-shaped error saying so.
    let mut cfg = (*e.sy.config()).clone();
    cfg.providers[1].budget_monthly_usd = Some(0.000_001);
    e.sy.reload(cfg).expect("reload");
    let r = e.messages(false).await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.json()["type"], "error");
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        msg.contains("over its budget") && msg.contains("p0") && msg.contains("p1"),
        "{msg}"
    );
    assert_eq!(r.header("x-should-retry"), Some("false"));
    assert!(r.header("retry-after").is_some());
    let ev = e.drain_events();
    let months = ev
        .iter()
        .filter(|ev| matches!(ev, Event::BudgetExceeded { provider, period: Period::Month, .. } if provider == "p1"))
        .count();
    assert_eq!(months, 1, "{ev:?}");
}

#[tokio::test]
async fn usage_persists_across_a_restart() {
    let mock = MockUpstream::start().await.expect("mock");
    let dir = std::env::temp_dir().join(format!(
        "sy-usage-it-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("config.toml");
    let mut cfg: Config = toml::from_str(&format!(
        "listen = \"127.0.0.1:0\"\n[[providers]]\nid = \"p0\"\nbase_url = \"{}\"\ncredential = \"passthrough\"\n[prices.\"{MODEL}\"]\ninput = 1000.0\noutput = 2000.0\n",
        mock.base_url()
    ))
    .expect("config");
    cfg.timeouts.first_byte_ms = 2_000;
    std::fs::write(&path, toml::to_string(&cfg).expect("toml")).expect("write");
    let start = |cfg: Config| {
        let path = path.clone();
        async move {
            Switchyard::start(StartOptions {
                config: cfg,
                config_path: Some(path),
                secrets: Arc::new(MemoryStore::new()),
                listen_override: None,
            })
            .await
            .expect("start")
        }
    };
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let send = |url: String| {
        let http = http.clone();
        async move {
            http.post(format!("{url}/v1/messages"))
                .header("x-api-key", CLIENT_KEY)
                .header("anthropic-version", "2023-06-01")
                .header("content-type", "application/json")
                .body(body(false).to_string())
                .send()
                .await
                .expect("send")
                .status()
                .as_u16()
        }
    };
    let sy = start(cfg.clone()).await;
    mock.push(message(1000, 0, 0, 0));
    assert_eq!(send(sy.url()).await, 200);
    sy.shutdown().await;
    let saved: Value =
        serde_json::from_slice(&std::fs::read(dir.join("usage.json")).expect("usage.json written"))
            .expect("json");
    assert!(saved["days"].is_object(), "{saved}");

    let sy = start(cfg).await;
    let u = sy.usage(7);
    assert_eq!(u.totals.requests, 1);
    assert!((u.totals.cost_usd - 1.0).abs() < 1e-9);
    mock.push(message(1000, 0, 0, 0));
    assert_eq!(send(sy.url()).await, 200);
    assert_eq!(sy.usage(7).totals.requests, 2);
    sy.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn prices_and_budgets_round_trip_through_the_config_api_and_file() {
    let mock = MockUpstream::start().await.expect("mock");
    let dir = std::env::temp_dir().join(format!(
        "sy-usage-cfg-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("config.toml");
    let cfg: Config = toml::from_str(&format!(
        "listen = \"127.0.0.1:0\"\n[[providers]]\nid = \"p0\"\nbase_url = \"{}\"\ncredential = \"none\"\n",
        mock.base_url()
    ))
    .expect("config");
    std::fs::write(&path, toml::to_string(&cfg).expect("toml")).expect("write");
    let sy = Switchyard::start(StartOptions {
        config: cfg,
        config_path: Some(path.clone()),
        secrets: Arc::new(MemoryStore::new()),
        listen_override: None,
    })
    .await
    .expect("start");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let put = |v: Value| {
        let http = http.clone();
        let url = format!("{}/api/config", sy.url());
        async move {
            let r = http
                .put(url)
                .header("content-type", "application/json")
                .body(v.to_string())
                .send()
                .await
                .expect("put");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    let mut v = serde_json::to_value(&*sy.config()).expect("json");
    v["prices"] = json!({"gpt-5*": {"input": 1.25, "output": 10.0}, "local-*": {}});
    v["providers"][0]["budget_daily_usd"] = json!(2.5);
    v["cache"] = json!({"enabled": true, "ttl_secs": 60});
    assert_eq!(put(v.clone()).await.0, 200);
    let saved = switchyard_core::config::load_file(&path).expect("the saved file loads");
    assert_eq!(saved.prices["gpt-5*"].output, 10.0);
    assert_eq!(saved.prices["local-*"].input, 0.0);
    assert_eq!(saved.providers[0].budget_daily_usd, Some(2.5));
    assert!(saved.cache.enabled && saved.cache.ttl_secs == 60 && saved.cache.max_entries == 1000);
    let prices: Value = serde_json::from_str(
        &http
            .get(format!("{}/api/prices", sy.url()))
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("body"),
    )
    .expect("json");
    assert_eq!(prices["prices"]["gpt-5*"]["input"], 1.25);
    assert_eq!(prices["defaults"]["claude-sonnet-4*"]["output"], 15.0);

    let mut bad = v.clone();
    bad["prices"]["gpt-5*"]["input"] = json!(-1.0);
    let (status, text) = put(bad).await;
    assert_eq!(status, 400);
    assert!(text.contains("prices") && text.contains(">= 0"), "{text}");
    let mut bad = v.clone();
    bad["providers"][0]["budget_monthly_usd"] = json!(0);
    let (status, text) = put(bad).await;
    assert_eq!(status, 400);
    assert!(text.contains("providers[0].budget_monthly_usd"), "{text}");

    // Removing prices, a budget and the cache section from the UI removes them from the file.
    let mut v = v;
    v["prices"] = json!({});
    v["providers"][0]
        .as_object_mut()
        .expect("provider")
        .remove("budget_daily_usd");
    v["cache"] = json!({"enabled": false});
    assert_eq!(put(v).await.0, 200);
    let saved = switchyard_core::config::load_file(&path).expect("the saved file loads");
    assert!(saved.prices.is_empty());
    assert_eq!(saved.providers[0].budget_daily_usd, None);
    assert!(!saved.cache.enabled);
    sy.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
