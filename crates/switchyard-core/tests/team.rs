//! Team mode (issue 13), what the replicas share: two and three replicas on loopback sharing
//! state through a real `redis-server` the test starts on a free port (and kills however the
//! test ends). Each behaviour is checked on the replicas' own answers and on the mock
//! upstreams: a cooldown one replica saw is honoured by the others without contacting the
//! provider, one half-open trial runs in the whole team, pins, sticky sessions and key
//! cooldowns are shared, budgets and token rates count every replica, a cached answer is found
//! everywhere, and events fan out with their node. (`team_outage.rs`: Redis going away.)

mod common;
#[path = "common/redis_server.rs"]
mod redis_server;
#[path = "common/team.rs"]
mod team_harness;

use std::time::{Duration, Instant};

use common::{body, key_of};
use redis_server::RedisServer;
use serde_json::{json, Value};
use switchyard_core::access_tokens::ClientToken;
use switchyard_core::config::{Config, Strategy};
use switchyard_core::secrets::{Secret, SecretStore};
use switchyard_core::usage::Price;
use switchyard_core::Event;
use switchyard_mock::Reply;
use team_harness::*;

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
        wait_until("the cooldown everywhere", Duration::from_secs(2), || {
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
    wait_until("p0 back everywhere", SOON, || {
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
    wait_until("b pinned", SOON, || {
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
    wait_until("a automatic", SOON, || t.nodes[0].status().pinned.is_none()).await;
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
    wait_until("b to count a's spend", SOON, || {
        (t.nodes[1].usage(1).totals.cost_usd - 0.6).abs() < 1e-9
    })
    .await;
    assert!(t.nodes[1].status().providers[0].over_budget.is_none());
    let mut a_events = t.nodes[0].subscribe();
    assert_eq!(t.messages(1).await.provider(), Some("p0"));
    for n in 0..2 {
        wait_until("both replicas over budget", SOON, || {
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
    wait_until("b to see the key cooling", SOON, || {
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
