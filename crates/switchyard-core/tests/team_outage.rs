//! Team mode (issue 13) when Redis goes away: killed and restarted under load (no request
//! fails, the team re-syncs and re-publishes running cooldowns), wiped (refilled), hung (no
//! request waits past the timeout), a wrong password (serves anyway, degraded), `rediss://`
//! with a private CA, and a trial lock left by a replica that went away (expires by itself).

mod common;
#[path = "common/redis_server.rs"]
mod redis_server;
#[path = "common/team.rs"]
mod team_harness;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{body, CLIENT_KEY};
use redis_server::RedisServer;
use switchyard_core::access_tokens::ClientToken;
use switchyard_core::secrets::{Secret, SecretStore};
use switchyard_core::ClusterHealth;
use switchyard_mock::Reply;
use team_harness::*;

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
    let _scratch = Scratch(dir.clone());
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
    wait_until("b pinned over TLS", SOON, || {
        t.nodes[1].status().pinned.as_deref() == Some("p1")
    })
    .await;
    drop(t);
}

/// A scratch directory, removed however the test ends.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
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
    wait_until("the trial lock in Redis", SOON, || {
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
