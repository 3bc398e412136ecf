//! Test harness: Switchyard in-process in front of scripted mock upstreams.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use switchyard_core::config::{Config, Credential, Provider, ProviderKind};
use switchyard_core::secrets::{MemoryStore, Secret, SecretStore};
use switchyard_core::{Event, Handle, StartOptions, Switchyard};
use switchyard_mock::{MockHandle, MockUpstream};
use tokio::sync::broadcast;

pub const CLIENT_KEY: &str = "sk-client-0000";

pub fn key_of(id: &str) -> String {
    format!("sk-{id}-secret-key-123")
}

pub struct Env {
    pub sy: Handle,
    pub mocks: Vec<MockHandle>,
    pub http: reqwest::Client,
    pub secrets: Arc<MemoryStore>,
    pub events: broadcast::Receiver<Event>,
}

/// Providers p0..pN-1 in priority order; p0 is passthrough, the others use stored keys.
pub async fn env_with(n: usize, tweak: impl FnOnce(&mut Config)) -> Env {
    let mut mocks = Vec::new();
    for _ in 0..n {
        mocks.push(MockUpstream::start().await.expect("mock starts"));
    }
    let secrets = Arc::new(MemoryStore::new());
    let mut providers = Vec::new();
    for (i, m) in mocks.iter().enumerate() {
        let id = format!("p{i}");
        let credential = if i == 0 {
            Credential::Passthrough
        } else {
            secrets
                .set(&id, &Secret::new(&key_of(&id)).expect("key"))
                .expect("set");
            Credential::Keychain
        };
        providers.push(Provider {
            name: Some(format!("Provider {i}")),
            credential,
            ..Provider::new(id, ProviderKind::Anthropic, m.base_url())
        });
    }
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        providers,
        ..Config::default()
    };
    config.timeouts.first_byte_ms = 2_000;
    config.timeouts.idle_ms = 2_000;
    config.timeouts.request_ms = 5_000;
    config.timeouts.connect_ms = 2_000;
    tweak(&mut config);
    let sy = Switchyard::start(StartOptions {
        config,
        config_path: None,
        secrets: secrets.clone(),
        listen_override: None,
    })
    .await
    .expect("switchyard starts");
    let events = sy.subscribe();
    Env {
        sy,
        mocks,
        http: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
        secrets,
        events,
    }
}

pub async fn env(n: usize) -> Env {
    env_with(n, |_| {}).await
}

pub fn body(stream: bool) -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": "hello"}],
    })
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn provider(&self) -> Option<&str> {
        self.header("x-switchyard-provider")
    }
    /// SSE events as (name, data json).
    pub fn events(&self) -> Vec<(String, Value)> {
        self.text
            .split("\n\n")
            .filter(|f| !f.trim().is_empty())
            .map(|f| {
                let mut name = String::new();
                let mut data = String::new();
                for line in f.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        name = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                (name, serde_json::from_str(&data).unwrap_or(Value::Null))
            })
            .collect()
    }
    pub fn event_names(&self) -> Vec<String> {
        self.events().into_iter().map(|e| e.0).collect()
    }
}

impl Env {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sy.url())
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let r = tokio::time::timeout(Duration::from_secs(20), req.send())
            .await
            .expect("answer in time")
            .expect("request works");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.expect("body");
        Resp {
            status,
            headers,
            text,
        }
    }

    pub async fn post_json(&self, path: &str, v: &Value) -> Resp {
        self.send(
            self.http
                .post(self.url(path))
                .header("x-api-key", CLIENT_KEY)
                .header("anthropic-version", "2023-06-01")
                .header("content-type", "application/json")
                .body(v.to_string()),
        )
        .await
    }

    pub async fn messages(&self, stream: bool) -> Resp {
        self.post_json("/v1/messages", &body(stream)).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.http.get(self.url(path))).await
    }

    /// Events emitted so far (drains the receiver).
    pub fn drain_events(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }
}

/// Validate an Anthropic SSE body the way the official SDKs do (PROTOCOL.md §1).
pub fn assert_valid_stream(r: &Resp) {
    let evs = r.events();
    assert!(!evs.is_empty(), "empty stream");
    assert_eq!(evs[0].0, "message_start", "first event: {}", r.text);
    let mut open: Vec<bool> = Vec::new();
    let mut starts = 0;
    let mut saw_stop = false;
    for (name, data) in &evs {
        assert!(!name.is_empty(), "data-only frame in {}", r.text);
        assert_eq!(
            data["type"].as_str(),
            Some(name.as_str()),
            "type matches event name"
        );
        match name.as_str() {
            "message_start" => starts += 1,
            "content_block_start" => {
                let i = data["index"].as_u64().expect("index") as usize;
                assert_eq!(i, open.len(), "indexes without gaps");
                open.push(true);
            }
            "content_block_delta" | "content_block_stop" => {
                let i = data["index"].as_u64().expect("index") as usize;
                assert!(i < open.len() && open[i], "delta/stop for an open block");
                if name == "content_block_stop" {
                    open[i] = false;
                }
            }
            "message_delta" => assert!(data.get("usage").is_some(), "message_delta has usage"),
            "message_stop" => saw_stop = true,
            _ => {}
        }
    }
    assert_eq!(starts, 1, "exactly one message_start");
    assert!(saw_stop, "message_stop present");
}

/// The text a client assembles from a stream's text deltas.
pub fn stream_text(r: &Resp) -> String {
    r.events()
        .iter()
        .filter(|(n, d)| n == "content_block_delta" && d["delta"]["type"] == "text_delta")
        .filter_map(|(_, d)| d["delta"]["text"].as_str().map(String::from))
        .collect()
}
