//! Team mode (issue 13): two and three replicas on loopback sharing state through a real
//! `redis-server` this test starts on a free port (and kills however the test ends). Each
//! behaviour is checked on the replicas' own answers and on the mock upstreams: a cooldown one
//! replica saw is honoured by the others without contacting the provider, one half-open trial
//! runs in the whole team, pins, sticky sessions and key cooldowns are shared, budgets and
//! token rates count every replica, a cached answer is found everywhere, events fan out with
//! their node, and Redis dying, returning and being wiped under load fails no request.

mod common;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{body, key_of, Resp, CLIENT_KEY};
use redis_server::RedisServer;
use serde_json::{json, Value};
use switchyard_core::access_tokens::ClientToken;
use switchyard_core::config::{Cluster, Config, Credential, Provider, ProviderKind, Strategy};
use switchyard_core::secrets::{MemoryStore, Secret, SecretStore};
use switchyard_core::usage::Price;
use switchyard_core::{ClusterHealth, Event, Handle, StartOptions, Switchyard};
use switchyard_mock::{MockHandle, MockUpstream, Reply};

const MODEL: &str = "claude-sonnet-4-5";
const NODES: [&str; 3] = ["replica-a", "replica-b", "replica-c"];
const SOON: Duration = Duration::from_secs(5);

struct Team {
    redis: RedisServer,
    mocks: Vec<MockHandle>,
    secrets: Arc<MemoryStore>,
    nodes: Vec<Handle>,
    config: Config,
    http: reqwest::Client,
}

/// `providers` mock upstreams p0..pN-1 (p0 passthrough, the others keyed) and `replicas`
/// Switchyards sharing one Redis, each in sync before this returns.
async fn team(replicas: usize, providers: usize, tweak: impl FnOnce(&mut Config)) -> Team {
    team_on(RedisServer::start(), replicas, providers, tweak).await
}

async fn team_on(
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
    async fn start_node(&self, i: usize) -> Handle {
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
    async fn start_all(&mut self, n: usize) {
        while self.nodes.len() < n {
            let h = self.start_node(self.nodes.len()).await;
            self.nodes.push(h);
        }
        self.wait_all_ok(n).await;
    }

    /// Every replica connected, in sync and seeing `n` replicas.
    async fn wait_all_ok(&self, n: usize) {
        wait_until("every replica in sync and seeing the others", SOON, || {
            self.nodes.iter().all(|h| {
                h.status()
                    .cluster
                    .is_some_and(|c| c.status == ClusterHealth::Ok && c.replicas.len() == n)
            })
        })
        .await;
    }

    async fn send(&self, node: usize, req: reqwest::RequestBuilder) -> Resp {
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

    fn post(&self, node: usize, path: &str, v: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.nodes[node].url()))
            .header("x-api-key", CLIENT_KEY)
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .body(v.to_string())
    }

    async fn messages(&self, node: usize) -> Resp {
        self.send(node, self.post(node, "/v1/messages", &body(false)))
            .await
    }

    fn state(&self, node: usize, provider: &str) -> String {
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

async fn wait_until(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn limited(secs: u64) -> Reply {
    Reply::error(429, "rate limited").with_header("retry-after", secs.to_string())
}

#[tokio::test]
async fn a_cooldown_one_replica_saw_is_honoured_by_the_other_without_contacting_the_provider() {
    let t = team(2, 2, |_| {}).await;
    let mut b_events = t.nodes[1].subscribe();
    t.mocks[0].push(limited(30));
    let r = t.messages(0).await;
    assert_eq!((r.status, r.provider()), (200, Some("p1")), "{}", r.text);
    assert_eq!(t.mocks[0].request_count(), 1);
    wait_until(
        "replica b to see p0 cooling down",
        Duration::from_secs(1),
        || t.state(1, "p0") == "cooling_down",
    )
    .await;
    for _ in 0..3 {
        let r = t.messages(1).await;
        assert_eq!((r.status, r.provider()), (200, Some("p1")), "{}", r.text);
    }
    assert_eq!(t.mocks[0].request_count(), 1, "b never contacted p0");
    let s = t.nodes[1].status();
    let p0 = &s.providers[0].status;
    assert!(p0
        .cooldown_remaining_secs
        .is_some_and(|s| (25..=30).contains(&s)));
    assert_eq!(p0.last_error.as_ref().and_then(|e| e.status), Some(429));
    // The failover itself was seen by a, and b's listeners heard of it.
    let mut seen = Vec::new();
    while let Ok(e) = b_events.try_recv() {
        seen.push(e);
    }
    assert!(
        seen.iter()
            .any(|e| matches!(e, Event::Failover { from, to, .. } if from == "p0" && to == "p1")),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|e| matches!(e, Event::CoolingDown { provider, .. } if provider == "p0")),
        "{seen:?}"
    );
    // b did not announce a failover of its own: one story.
    assert_eq!(
        seen.iter()
            .filter(|e| matches!(e, Event::Failover { .. }))
            .count(),
        1,
        "{seen:?}"
    );
}

#[tokio::test]
async fn one_half_open_trial_runs_in_the_whole_team() {
    let t = team(3, 2, |_| {}).await;
    t.mocks[0].push(limited(1));
    assert_eq!(t.messages(0).await.provider(), Some("p1"));
    for n in 1..3 {
        wait_until("the cooldown everywhere", Duration::from_secs(1), || {
            t.state(n, "p0") == "cooling_down"
        })
        .await;
    }
    wait_until("the cooldown to end", Duration::from_secs(3), || {
        (0..3).all(|n| t.state(n, "p0") == "available")
    })
    .await;
    // The trial is slow: every request that arrives meanwhile, on any replica, goes to p1.
    t.mocks[0].push(Reply::text("trial").with_delay(1_000));
    let mut burst = Vec::new();
    for i in 0..9 {
        burst.push(t.send(i % 3, t.post(i % 3, "/v1/messages", &body(false))));
    }
    let answers = futures_util::future::join_all(burst).await;
    let on_p0 = answers
        .iter()
        .filter(|r| r.provider() == Some("p0"))
        .count();
    assert!(answers.iter().all(|r| r.status == 200));
    assert_eq!(on_p0, 1, "one trial in the whole team");
    assert_eq!(t.mocks[0].request_count(), 2, "the failure and the trial");
    // The trial closed p0's breaker everywhere.
    wait_until("p0 back everywhere", Duration::from_secs(1), || {
        (0..3).all(|n| {
            t.state(n, "p0") == "available"
                && t.nodes[n].status().current_provider.as_deref() == Some("p0")
        })
    })
    .await;
    assert_eq!(t.messages(2).await.provider(), Some("p0"));
}

#[tokio::test]
async fn a_pin_on_one_replica_applies_to_all() {
    let t = team(2, 2, |_| {}).await;
    t.nodes[0].switch(Some("p1")).expect("pin");
    wait_until("b pinned", Duration::from_secs(1), || {
        t.nodes[1].status().pinned.as_deref() == Some("p1")
    })
    .await;
    assert_eq!(t.messages(1).await.provider(), Some("p1"));
    // Through b's admin API, back to automatic on a.
    let r = t
        .send(
            1,
            t.http
                .post(format!("{}/v1/switch-provider", t.nodes[1].url()))
                .header("content-type", "application/json")
                .body(json!({"provider": "auto"}).to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    wait_until("a automatic", Duration::from_secs(1), || {
        t.nodes[0].status().pinned.is_none()
    })
    .await;
    assert_eq!(t.messages(0).await.provider(), Some("p0"));
}

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

/// An answer with `output` tokens ($2 per 1000 with [`priced`]).
fn costing(output: u64) -> Reply {
    Reply::json(
        200,
        json!({
            "id": "msg_u", "type": "message", "role": "assistant", "model": MODEL,
            "content": [{"type": "text", "text": "hi"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": output},
        }),
    )
}

#[tokio::test]
async fn a_budget_is_crossed_by_the_sum_of_every_replicas_spend() {
    let t = team(2, 2, |c| {
        priced(c);
        c.providers[0].budget_daily_usd = Some(1.0);
    })
    .await;
    // $0.60 on each replica: under the $1 budget alone, over it together.
    t.mocks[0].push(costing(300));
    t.mocks[0].push(costing(300));
    assert_eq!(t.messages(0).await.provider(), Some("p0"));
    wait_until("b to count a's spend", Duration::from_secs(2), || {
        (t.nodes[1].usage(1).totals.cost_usd - 0.6).abs() < 1e-9
    })
    .await;
    assert!(t.nodes[1].status().providers[0].over_budget.is_none());
    let mut a_events = t.nodes[0].subscribe();
    assert_eq!(t.messages(1).await.provider(), Some("p0"));
    for n in 0..2 {
        wait_until("both replicas over budget", Duration::from_secs(2), || {
            t.nodes[n].status().providers[0].over_budget.is_some()
        })
        .await;
        let u = t.nodes[n].usage(1);
        assert!((u.totals.cost_usd - 1.2).abs() < 1e-9, "{:?}", u.totals);
        assert_eq!(u.totals.requests, 2);
    }
    for n in 0..2 {
        assert_eq!(t.messages(n).await.provider(), Some("p1"));
    }
    assert_eq!(t.mocks[0].request_count(), 2);
    // The crossing was announced by b; a heard it and did not announce it again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut budget = 0;
    while let Ok(e) = a_events.try_recv() {
        if matches!(e, Event::BudgetExceeded { .. }) {
            budget += 1;
        }
    }
    assert_eq!(budget, 1, "announced once in the team");
}

#[tokio::test]
async fn an_access_token_rate_is_one_limit_across_replicas() {
    let rate = 4;
    let mut t = team_on(RedisServer::start(), 0, 1, |c| {
        c.security.tokens.push(ClientToken {
            name: "laptop".into(),
            rate_per_minute: Some(rate),
            created: None,
        });
    })
    .await;
    t.secrets
        .set("token:laptop", &Secret::new("syt_team_token").expect("s"))
        .expect("set");
    t.start_all(3).await;
    let req = |n: usize| {
        t.post(n, "/v1/messages", &body(false))
            .header("x-switchyard-token", "syt_team_token")
    };
    let mut statuses = Vec::new();
    for i in 0..rate as usize {
        statuses.push(t.send(i % 3, req(i % 3)).await.status);
    }
    assert_eq!(statuses, vec![200; rate as usize]);
    for n in 0..3 {
        let r = t.send(n, req(n)).await;
        assert_eq!(r.status, 429, "{}", r.text);
        let wait: u64 = r
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!((1..=15).contains(&wait), "{wait}");
    }
}

#[tokio::test]
async fn a_cached_answer_on_one_replica_is_a_hit_on_another() {
    let t = team(2, 1, |c| c.cache.enabled = true).await;
    let mut v = body(false);
    v["temperature"] = json!(0);
    let r = t.send(0, t.post(0, "/v1/messages", &v)).await;
    assert_eq!(
        (r.status, r.header("x-switchyard-cache")),
        (200, Some("miss"))
    );
    wait_until("the answer in Redis", SOON, || {
        t.redis.keys().iter().any(|k| k.contains(":cache:"))
    })
    .await;
    let r2 = t.send(1, t.post(1, "/v1/messages", &v)).await;
    assert_eq!(
        (r2.status, r2.header("x-switchyard-cache")),
        (200, Some("hit")),
        "{}",
        r2.text
    );
    assert_eq!(r2.json()["content"], r.json()["content"]);
    assert_eq!(t.mocks[0].request_count(), 1);
    let stats = t.nodes[1].status().cache;
    assert_eq!((stats.hits, stats.misses), (1, 0));
    // Emptying the cache on b empties it for a too.
    t.nodes[1].clear_cache();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r3 = t.send(0, t.post(0, "/v1/messages", &v)).await;
    assert_eq!(r3.header("x-switchyard-cache"), Some("miss"));
}

#[tokio::test]
async fn events_fan_out_to_every_replicas_event_stream_with_their_node() {
    let t = team(2, 2, |_| {}).await;
    let mut sse = t
        .http
        .get(format!("{}/api/events", t.nodes[1].url()))
        .send()
        .await
        .expect("events");
    let first = tokio::time::timeout(SOON, sse.chunk())
        .await
        .expect("status snapshot")
        .expect("chunk")
        .expect("bytes");
    assert!(String::from_utf8_lossy(&first).contains("event: status"));
    t.mocks[0].push(limited(30));
    assert_eq!(t.messages(0).await.provider(), Some("p1"));
    let mut text = String::new();
    let deadline = Instant::now() + SOON;
    while !text.contains("event: failover") {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, sse.chunk())
            .await
            .expect("a failover event on b's stream")
            .expect("chunk")
            .expect("bytes");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let line = text
        .split("\n\n")
        .find(|f| f.contains("event: failover"))
        .and_then(|f| f.lines().find_map(|l| l.strip_prefix("data: ")))
        .expect("data");
    let v: Value = serde_json::from_str(line).expect("json");
    assert_eq!(
        (v["from"].as_str(), v["to"].as_str()),
        (Some("p0"), Some("p1"))
    );
    assert_eq!(v["node"], "replica-a");
    // Each replica's request log says whose it is.
    let log = t
        .send(1, t.http.get(format!("{}/api/requests", t.nodes[1].url())))
        .await
        .json();
    assert_eq!(log["node"], "replica-b");
}

#[tokio::test]
async fn sticky_sessions_and_key_cooldowns_are_shared() {
    let t = team(2, 3, |c| {
        c.routing.strategy = Strategy::RoundRobin;
        c.providers[1].keys = 2;
    })
    .await;
    t.secrets
        .set("p1#2", &Secret::new(&key_of("p1-second")).expect("k"))
        .expect("set");
    let with_session = |n: usize| {
        t.post(n, "/v1/messages", &body(false))
            .header("x-claude-code-session-id", "session-42")
    };
    let first = t.send(0, with_session(0)).await;
    let bound = first.provider().expect("provider").to_string();
    wait_until("the binding in Redis", SOON, || {
        t.redis.keys().iter().any(|k| k.contains(":sticky:"))
    })
    .await;
    for _ in 0..4 {
        assert_eq!(
            t.send(1, with_session(1)).await.provider(),
            Some(bound.as_str())
        );
    }
    // The session id itself is not in Redis.
    assert!(!t.redis.dump().contains("session-42"));

    // A key of p1's pool is rate limited on a: b leaves it out too.
    t.nodes[0].switch(Some("p1")).expect("pin");
    t.mocks[1].push(limited(30));
    let r = t.messages(0).await;
    assert_eq!((r.status, r.provider()), (200, Some("p1")), "{}", r.text);
    wait_until("b to see the key cooling", Duration::from_secs(1), || {
        let keys = t.nodes[1].keys();
        let p1 = keys.iter().find(|k| k.provider == "p1").expect("p1");
        p1.pool
            .iter()
            .filter(|s| s.cooldown_until.is_some())
            .count()
            == 1
    })
    .await;
    let before = t.mocks[1].requests().len();
    for _ in 0..3 {
        assert_eq!(t.messages(1).await.provider(), Some("p1"));
    }
    let sent: Vec<String> = t.mocks[1].requests()[before..]
        .iter()
        .map(|r| r.header("x-api-key").unwrap_or_default().to_string())
        .collect();
    let cooled = t.mocks[1].requests()[0]
        .header("x-api-key")
        .unwrap_or_default()
        .to_string();
    assert!(sent.iter().all(|k| *k != cooled), "b used the cooling key");
    // Keys never reach Redis.
    let dump = t.redis.dump();
    for id in ["p1", "p1-second", "p2"] {
        assert!(!dump.contains(&key_of(id)), "{id}'s key in Redis");
    }
}

/// Send requests to the first `replicas` replicas in turn until stopped; count what failed.
fn load(
    t: &Team,
    replicas: usize,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (
    Arc<AtomicU64>,
    Arc<AtomicU64>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..4 {
        let urls: Vec<String> = t.nodes.iter().take(replicas).map(|h| h.url()).collect();
        let http = t.http.clone();
        let (ok, failed, stop) = (ok.clone(), failed.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let url = &urls[i % urls.len()];
                i += 1;
                let r = http
                    .post(format!("{url}/v1/messages"))
                    .header("x-api-key", CLIENT_KEY)
                    .header("anthropic-version", "2023-06-01")
                    .header("content-type", "application/json")
                    .body(body(i % 2 == 0).to_string())
                    .send()
                    .await;
                let good = match r {
                    Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                    _ => false,
                };
                if good {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    (ok, failed, tasks)
}

#[tokio::test]
async fn redis_killed_and_restarted_under_load_fails_nothing_and_the_team_resyncs() {
    let mut t = team(3, 2, |_| {}).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Load on a and b; c only gets the requests below.
    let (ok, failed, tasks) = load(&t, 2, stop.clone());
    wait_until("load running", SOON, || ok.load(Ordering::Relaxed) > 30).await;

    t.redis.kill();
    wait_until("every replica degraded", SOON, || {
        t.nodes.iter().all(|h| {
            h.status()
                .cluster
                .is_some_and(|c| c.status == ClusterHealth::Degraded)
        })
    })
    .await;
    assert_eq!(t.messages(2).await.status, 200, "c serves on its own state");
    // While Redis is away p0 rate-limits everyone: a and b learn it on their own, c (idle)
    // does not.
    t.mocks[0].set_default(limited(60));
    wait_until("a and b cooling p0 on their own", SOON, || {
        (0..2).all(|n| t.state(n, "p0") == "cooling_down")
    })
    .await;
    assert_eq!(t.state(2, "p0"), "available");
    let at = ok.load(Ordering::Relaxed);
    wait_until("serving on local state", SOON, || {
        ok.load(Ordering::Relaxed) > at + 30
    })
    .await;
    let h = t.nodes[0].status();
    let c = h.cluster.as_ref().expect("cluster");
    assert!(c.error.is_some() && c.degraded_since.is_some());
    assert_eq!(c.replicas.len(), 1, "only itself while degraded");
    let v1 = t
        .send(0, t.http.get(format!("{}/v1/health", t.nodes[0].url())))
        .await
        .json();
    assert_eq!(v1["cluster"]["status"], "degraded");
    assert_eq!(v1["cluster"]["node"], "replica-a");

    t.redis.restart();
    t.wait_all_ok(3).await;
    // The cooldowns still running were re-published: c honours p0's without ever trying it.
    wait_until("c to learn p0's cooldown from the re-sync", SOON, || {
        t.state(2, "p0") == "cooling_down"
    })
    .await;
    let before = t.mocks[0].request_count();
    assert_eq!(t.messages(2).await.provider(), Some("p1"));
    t.mocks[0].set_default(Reply::text("Hello from mock"));
    let at = ok.load(Ordering::Relaxed);
    wait_until("serving shared again", SOON, || {
        ok.load(Ordering::Relaxed) > at + 30
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("load task");
    }
    assert_eq!(t.mocks[0].request_count(), before, "p0 cooled everywhere");
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no request failed because of Redis"
    );
    assert!(ok.load(Ordering::Relaxed) > 100);
}

#[tokio::test]
async fn a_wiped_redis_is_refilled_by_the_replicas() {
    let t = team(2, 2, |_| {}).await;
    t.nodes[0].switch(Some("p1")).expect("pin");
    t.nodes[0].switch(None).expect("unpin");
    t.nodes[1].switch(Some("p1")).expect("pin");
    wait_until("the pin stored", SOON, || {
        t.redis
            .command("GET switchyard:pin")
            .is_some_and(|v| v.contains("p1"))
    })
    .await;
    assert_eq!(
        t.redis.command("FLUSHALL").as_deref().map(str::trim),
        Some("+OK")
    );
    wait_until("the pin and the heartbeats back", SOON, || {
        t.redis
            .command("GET switchyard:pin")
            .is_some_and(|v| v.contains("p1"))
            && t.redis
                .keys()
                .iter()
                .filter(|k| k.contains(":replica:"))
                .count()
                == 2
    })
    .await;
    t.wait_all_ok(2).await;
    // A replica that joins now learns the pin from Redis.
    let mut t = t;
    let c = t.start_node(2).await;
    t.nodes.push(c);
    t.wait_all_ok(3).await;
    assert_eq!(t.nodes[2].status().pinned.as_deref(), Some("p1"));
}

#[tokio::test]
async fn the_password_comes_from_the_keychain_and_is_never_shown() {
    let password = "team-redis-password-9f8e7d";
    let redis = RedisServer::start_with_password(password);
    // No replica yet: the store gets the password before they start.
    let t = team_on(redis, 0, 1, |_| {}).await;
    let mut t = t;
    t.secrets
        .set("redis", &Secret::new(password).expect("s"))
        .expect("set");
    t.start_all(2).await;
    for path in ["/api/status", "/v1/health", "/health", "/api/config"] {
        let text = t
            .http
            .get(format!("{}{path}", t.nodes[0].url()))
            .send()
            .await
            .expect("answer")
            .text()
            .await
            .expect("text");
        assert!(!text.contains(password), "{path} shows the password");
        if path != "/api/config" {
            assert!(text.contains("\"cluster\""), "{path}: {text}");
        }
    }
    assert!(!t.redis.dump().contains(password));

    // A wrong password: the replica serves anyway, degraded, and says why.
    t.secrets
        .set("redis", &Secret::new("wrong-password").expect("s"))
        .expect("set");
    let h = t.start_node(2).await;
    let c = h.status().cluster.expect("cluster");
    assert_eq!(c.status, ClusterHealth::Degraded);
    assert!(c.error.is_some());
    let r = t
        .send(
            2,
            t.http
                .post(format!("{}/v1/messages", h.url()))
                .header("x-api-key", CLIENT_KEY)
                .header("anthropic-version", "2023-06-01")
                .header("content-type", "application/json")
                .body(body(false).to_string()),
        )
        .await;
    assert_eq!(r.status, 200);
    h.shutdown().await;
}

#[tokio::test]
async fn rediss_with_a_private_ca() {
    let dir = std::env::temp_dir().join(format!("sy-team-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let redis = RedisServer::start_tls(&dir);
    let ca = dir.join("ca.crt");
    let t = team_on(redis, 2, 2, |c| {
        if let Some(cl) = c.cluster.as_mut() {
            cl.ca_file = Some(ca.clone());
        }
    })
    .await;
    assert!(t.nodes[0]
        .status()
        .cluster
        .is_some_and(|c| c.redis.starts_with("rediss://localhost:")));
    t.nodes[0].switch(Some("p1")).expect("pin");
    wait_until("b pinned over TLS", Duration::from_secs(1), || {
        t.nodes[1].status().pinned.as_deref() == Some("p1")
    })
    .await;
    drop(t);
    let _ = std::fs::remove_dir_all(&dir);
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {sig} {pid}");
}

#[tokio::test]
async fn a_hung_redis_slows_no_request_past_the_timeout_and_fails_none() {
    let mut t = team_on(RedisServer::start(), 0, 2, |c| {
        c.security.tokens.push(ClientToken {
            name: "ci".into(),
            rate_per_minute: Some(100_000),
            created: None,
        });
    })
    .await;
    t.secrets
        .set("token:ci", &Secret::new("syt_ci_token").expect("s"))
        .expect("set");
    t.start_all(2).await;
    // Every request asks Redis for the token's rate: one round trip while it answers.
    let pid = t.redis.pid().expect("pid");
    signal(pid, "-STOP");
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let t0 = Instant::now();
        let r = t
            .send(
                n % 2,
                t.post(n % 2, "/v1/messages", &body(false))
                    .header("x-switchyard-token", "syt_ci_token"),
            )
            .await;
        slowest = slowest.max(t0.elapsed());
        assert_eq!(r.status, 200, "{}", r.text);
        n += 1;
    }
    assert!(n > 20, "{n} requests in 3 s");
    // Each waits at most the 50 ms timeout (plus the request itself), and after a few
    // timeouts the replica stops asking.
    assert!(slowest < Duration::from_millis(1000), "{slowest:?}");
    wait_until("degraded while Redis hangs", SOON, || {
        t.nodes.iter().all(|h| {
            h.status()
                .cluster
                .is_some_and(|c| c.status == ClusterHealth::Degraded)
        })
    })
    .await;
    signal(pid, "-CONT");
    t.wait_all_ok(2).await;
}

#[tokio::test]
async fn a_trial_lock_left_by_a_replica_that_went_away_expires_on_its_own() {
    // Short timeouts: a trial lock lives connect + first byte + 2 s = 3 s.
    let t = team(2, 2, |c| {
        c.timeouts.connect_ms = 200;
        c.timeouts.first_byte_ms = 800;
    })
    .await;
    t.mocks[0].push(limited(1));
    assert_eq!(t.messages(0).await.provider(), Some("p1"));
    wait_until("p0 half-open everywhere", Duration::from_secs(4), || {
        (0..2).all(|n| t.state(n, "p0") == "available")
    })
    .await;
    // a takes the trial, then its client goes away before any verdict: a replica that
    // vanished mid-trial, as far as Redis can tell.
    t.mocks[0].push(Reply::text("slow").with_delay(600));
    let claimed = Instant::now();
    let gone = t
        .post(0, "/v1/messages", &body(false))
        .timeout(Duration::from_millis(150))
        .send()
        .await;
    assert!(gone.is_err(), "the client gave up");
    wait_until("the trial lock in Redis", Duration::from_secs(1), || {
        t.redis.keys().iter().any(|k| k.contains(":trial:p0"))
    })
    .await;
    let ttl: i64 = t
        .redis
        .command("PTTL switchyard:trial:p0")
        .and_then(|r| r.trim().trim_start_matches(':').parse().ok())
        .unwrap_or(-1);
    assert!((1..=3_000).contains(&ttl), "{ttl}");
    // Meanwhile b leaves p0 alone.
    let at = t.mocks[0].request_count();
    assert_eq!(t.messages(1).await.provider(), Some("p1"));
    assert_eq!(t.mocks[0].request_count(), at);
    // Once the lock expired, b runs the trial itself and p0 is back.
    wait_until("the lock to expire", Duration::from_secs(4), || {
        !t.redis.keys().iter().any(|k| k.contains(":trial:"))
    })
    .await;
    assert!(
        claimed.elapsed() > Duration::from_millis(2_500),
        "the lock went by its TTL, not by a verdict: {:?}",
        claimed.elapsed()
    );
    assert_eq!(t.messages(1).await.provider(), Some("p0"));
}
