//! Team-mode test harness: replicas in this process sharing a real `redis-server` (started
//! by the test on a free port, killed however the test ends) in front of mock upstreams.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{body, key_of, Resp, CLIENT_KEY};
use crate::redis_server::RedisServer;
use serde_json::Value;
use switchyard_core::config::{Cluster, Config, Credential, Provider, ProviderKind};
use switchyard_core::secrets::{MemoryStore, Secret, SecretStore};
use switchyard_core::{ClusterHealth, Handle, StartOptions, Switchyard};
use switchyard_mock::{MockHandle, MockUpstream, Reply};

pub const MODEL: &str = "claude-sonnet-4-5";
pub const NODES: [&str; 3] = ["replica-a", "replica-b", "replica-c"];
pub const SOON: Duration = Duration::from_secs(5);

pub struct Team {
    pub redis: RedisServer,
    pub mocks: Vec<MockHandle>,
    pub secrets: Arc<MemoryStore>,
    pub nodes: Vec<Handle>,
    pub config: Config,
    pub http: reqwest::Client,
}

/// `providers` mock upstreams p0..pN-1 (p0 passthrough, the others keyed) and `replicas`
/// Switchyards sharing one Redis, each in sync before this returns.
pub async fn team(replicas: usize, providers: usize, tweak: impl FnOnce(&mut Config)) -> Team {
    team_on(RedisServer::start(), replicas, providers, tweak).await
}

pub async fn team_on(
    redis: RedisServer,
    replicas: usize,
    providers: usize,
    tweak: impl FnOnce(&mut Config),
) -> Team {
    let mut mocks = Vec::new();
    for _ in 0..providers {
        mocks.push(MockUpstream::start().await.expect("mock starts"));
    }
    let secrets = Arc::new(MemoryStore::new());
    let mut list = Vec::new();
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
        list.push(Provider {
            credential,
            ..Provider::new(id, ProviderKind::Anthropic, m.base_url())
        });
    }
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        providers: list,
        cluster: Some(Cluster::new(redis.url())),
        ..Config::default()
    };
    config.timeouts.first_byte_ms = 3_000;
    config.timeouts.connect_ms = 1_000;
    config.timeouts.idle_ms = 3_000;
    config.timeouts.request_ms = 10_000;
    tweak(&mut config);
    let mut t = Team {
        redis,
        mocks,
        secrets,
        nodes: Vec::new(),
        config,
        http: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
    };
    t.start_all(replicas).await;
    t
}

impl Team {
    pub async fn start_node(&self, i: usize) -> Handle {
        let mut c = self.config.clone();
        if let Some(cl) = c.cluster.as_mut() {
            cl.node = Some(NODES[i].to_string());
        }
        Switchyard::start(StartOptions {
            config: c,
            config_path: None,
            secrets: self.secrets.clone(),
            listen_override: None,
        })
        .await
        .expect("replica starts")
    }

    /// Start replicas until there are `n`, and wait until they are in sync.
    pub async fn start_all(&mut self, n: usize) {
        while self.nodes.len() < n {
            let h = self.start_node(self.nodes.len()).await;
            self.nodes.push(h);
        }
        self.wait_all_ok(n).await;
    }

    /// Every replica connected, in sync and seeing `n` replicas.
    pub async fn wait_all_ok(&self, n: usize) {
        wait_until("every replica in sync and seeing the others", SOON, || {
            self.nodes.iter().all(|h| {
                h.status()
                    .cluster
                    .is_some_and(|c| c.status == ClusterHealth::Ok && c.replicas.len() == n)
            })
        })
        .await;
    }

    pub async fn send(&self, node: usize, req: reqwest::RequestBuilder) -> Resp {
        let _ = node;
        let r = tokio::time::timeout(Duration::from_secs(20), req.send())
            .await
            .expect("answer in time")
            .expect("request works");
        Resp {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            text: r.text().await.expect("body"),
        }
    }

    pub fn post(&self, node: usize, path: &str, v: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.nodes[node].url()))
            .header("x-api-key", CLIENT_KEY)
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .body(v.to_string())
    }

    pub async fn messages(&self, node: usize) -> Resp {
        self.send(node, self.post(node, "/v1/messages", &body(false)))
            .await
    }

    pub fn state(&self, node: usize, provider: &str) -> String {
        let s = self.nodes[node].status();
        let p = s
            .providers
            .iter()
            .find(|p| p.status.id == provider)
            .expect("provider");
        serde_json::to_value(p.status.state)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }
}

pub async fn wait_until(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn limited(secs: u64) -> Reply {
    Reply::error(429, "rate limited").with_header("retry-after", secs.to_string())
}
