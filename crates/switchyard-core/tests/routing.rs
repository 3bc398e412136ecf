//! Routing strategies, sticky sessions and scenario rules (issue 6, items 1-2) against
//! scripted mock upstreams.

mod common;

use std::collections::HashMap;

use common::*;
use serde_json::{json, Value};
use switchyard_core::config::{Config, Rule, Strategy};
use switchyard_mock::Reply;

fn with_strategy(s: Strategy) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| c.routing.strategy = s
}

/// A request carrying a Claude Code session id.
async fn with_session(e: &Env, session: &str, v: &Value) -> Resp {
    e.send(
        e.http
            .post(e.url("/v1/messages"))
            .header("x-api-key", CLIENT_KEY)
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .header("x-claude-code-session-id", session)
            .body(v.to_string()),
    )
    .await
}

/// Send `n` plain requests; count which provider answered each (all must succeed).
async fn spread(e: &Env, n: usize) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for _ in 0..n {
        let r = e.messages(false).await;
        assert_eq!(r.status, 200, "{}", r.text);
        *out.entry(r.provider().unwrap_or("-").to_string())
            .or_insert(0) += 1;
    }
    out
}

fn count(m: &HashMap<String, usize>, id: &str) -> usize {
    m.get(id).copied().unwrap_or(0)
}

fn within(got: usize, want: f64, tolerance: f64) -> bool {
    (got as f64 - want).abs() <= want * tolerance
}

#[tokio::test]
async fn round_robin_spreads_evenly_over_healthy_providers() {
    let e = env_with(3, with_strategy(Strategy::RoundRobin)).await;
    let got = spread(&e, 300).await;
    for id in ["p0", "p1", "p2"] {
        assert!(within(count(&got, id), 100.0, 0.08), "{got:?}");
    }
    // A disabled provider takes no share.
    let e = env_with(3, |c| {
        c.routing.strategy = Strategy::RoundRobin;
        c.providers[1].enabled = false;
    })
    .await;
    let got = spread(&e, 100).await;
    assert_eq!(count(&got, "p1"), 0, "{got:?}");
    assert!(within(count(&got, "p0"), 50.0, 0.08), "{got:?}");
}

#[tokio::test]
async fn weighted_follows_the_weights_and_zero_is_only_a_fallback() {
    let e = env_with(3, |c| {
        c.routing.strategy = Strategy::Weighted;
        c.providers[0].weight = 3;
        c.providers[1].weight = 1;
        c.providers[2].weight = 0;
    })
    .await;
    let got = spread(&e, 400).await;
    assert!(within(count(&got, "p0"), 300.0, 0.08), "{got:?}");
    assert!(within(count(&got, "p1"), 100.0, 0.08), "{got:?}");
    assert_eq!(
        count(&got, "p2"),
        0,
        "weight 0 serves only as a fallback: {got:?}"
    );
    // Both weighted providers down: the weight-0 one serves.
    e.mocks[0].set_default(Reply::error(503, "down"));
    e.mocks[1].set_default(Reply::error(503, "down"));
    let r = e.messages(false).await;
    assert_eq!((r.status, r.provider()), (200, Some("p2")), "{}", r.text);
}

#[tokio::test]
async fn least_latency_prefers_the_faster_provider_and_moves_when_it_slows() {
    let e = env_with(2, with_strategy(Strategy::LeastLatency)).await;
    e.mocks[0].set_default(Reply::text("slow").with_delay(150));
    e.mocks[1].set_default(Reply::text("fast").with_delay(5));
    // Warm-up: each unmeasured provider is tried once.
    let warm = spread(&e, 2).await;
    assert_eq!((count(&warm, "p0"), count(&warm, "p1")), (1, 1), "{warm:?}");
    let got = spread(&e, 10).await;
    assert_eq!(count(&got, "p1"), 10, "the faster one: {got:?}");
    // The fast one slows down: within a few requests its average passes the other's.
    e.mocks[1].set_default(Reply::text("fast no more").with_delay(1500));
    let mut moved_after = None;
    for i in 0..6 {
        if e.messages(false).await.provider() == Some("p0") {
            moved_after = Some(i);
            break;
        }
    }
    assert!(moved_after.is_some(), "never moved off the slowed provider");
    let got = spread(&e, 5).await;
    assert_eq!(count(&got, "p0"), 5, "{got:?}");
}

#[tokio::test]
async fn cooldowns_apply_under_every_strategy() {
    for s in Strategy::ALL {
        let e = env_with(3, |c| {
            c.routing.strategy = s;
            // Under failover the primary would hide p1; make p1 the primary there.
            if s == Strategy::Failover {
                c.providers.swap(0, 1);
            }
        })
        .await;
        e.mocks[1].set_default(Reply::error(429, "slow down").with_header("retry-after", "60"));
        let got = spread(&e, 30).await;
        assert_eq!(count(&got, "p1"), 0, "{s:?}: {got:?}");
        assert_eq!(
            e.mocks[1].request_count(),
            1,
            "{s:?}: tried once, then cooling: {got:?}"
        );
        assert!(got.values().sum::<usize>() == 30);
    }
}

#[tokio::test]
async fn a_session_sticks_to_its_provider_until_that_provider_cools() {
    let e = env_with(3, with_strategy(Strategy::RoundRobin)).await;
    let first = with_session(&e, "sess-a", &body(false)).await;
    let home = first.provider().expect("provider").to_string();
    for _ in 0..9 {
        // Other traffic keeps the round-robin turning meanwhile.
        e.messages(false).await;
        let r = with_session(&e, "sess-a", &body(false)).await;
        assert_eq!(r.provider(), Some(home.as_str()), "stays on {home}");
    }
    // Another session is spread as usual.
    let mut others = std::collections::HashSet::new();
    for i in 0..6 {
        others.insert(
            with_session(&e, &format!("sess-{i}"), &body(false))
                .await
                .provider()
                .map(String::from),
        );
    }
    assert!(others.len() > 1, "{others:?}");
    // Its provider fails: the session moves once and stays on the new one.
    let idx: usize = home[1..].parse().expect("pN");
    e.mocks[idx].set_default(Reply::error(503, "down").with_header("retry-after", "60"));
    let r = with_session(&e, "sess-a", &body(false)).await;
    assert_eq!(r.status, 200);
    let new_home = r.provider().expect("provider").to_string();
    assert_ne!(new_home, home);
    for _ in 0..5 {
        e.messages(false).await;
        let r = with_session(&e, "sess-a", &body(false)).await;
        assert_eq!(r.provider(), Some(new_home.as_str()));
    }

    // With sticky sessions off, the same session is spread like anything else.
    let e = env_with(3, |c| {
        c.routing.strategy = Strategy::RoundRobin;
        c.routing.sticky_sessions = false;
    })
    .await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..6 {
        seen.insert(
            with_session(&e, "sess-a", &body(false))
                .await
                .provider()
                .map(String::from),
        );
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
}

fn rule(provider: &str) -> Rule {
    Rule {
        provider: provider.into(),
        ..Rule::default()
    }
}

fn user(content: Value) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 32, "messages": [{"role": "user", "content": content}]})
}

async fn last_record(e: &Env) -> Value {
    let r = e.get("/api/requests?limit=1").await;
    r.json()["requests"][0].clone()
}

#[tokio::test]
async fn rules_first_match_wins_and_each_condition_routes() {
    let e = env_with(7, |c| {
        c.rules = vec![
            Rule {
                name: Some("background".into()),
                model: Some("claude-haiku*".into()),
                ..rule("p6")
            },
            Rule {
                thinking: Some(true),
                ..rule("p1")
            },
            Rule {
                min_input_tokens: Some(20_000),
                ..rule("p2")
            },
            Rule {
                has_image: Some(true),
                ..rule("p3")
            },
            Rule {
                tool: Some("web_search".into()),
                ..rule("p4")
            },
            Rule {
                keyword: Some("Translate".into()),
                ..rule("p5")
            },
            // Never reached for haiku: the first rule already matched.
            Rule {
                model: Some("*haiku*".into()),
                ..rule("p1")
            },
        ];
    })
    .await;
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (user(json!("hello")), "p0", None),
        (
            json!({"model": "claude-haiku-4-5", "max_tokens": 32, "thinking": {"type": "enabled", "budget_tokens": 1024}, "messages": [{"role": "user", "content": "translate"}]}),
            "p6",
            Some("background"),
        ),
        (
            json!({"model": "claude-sonnet-4-5", "max_tokens": 2048, "thinking": {"type": "enabled", "budget_tokens": 1024}, "messages": [{"role": "user", "content": "hi"}]}),
            "p1",
            Some("rule 2"),
        ),
        (
            user(json!("lorem ipsum ".repeat(40_000))),
            "p2",
            Some("rule 3"),
        ),
        (
            user(
                json!([{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}, {"type": "text", "text": "what is this"}]),
            ),
            "p3",
            Some("rule 4"),
        ),
        (
            json!({"model": "claude-sonnet-4-5", "max_tokens": 32, "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}], "messages": [{"role": "user", "content": "news?"}]}),
            "p4",
            Some("rule 5"),
        ),
        (user(json!("please TRANSLATE this")), "p5", Some("rule 6")),
    ];
    for (body, want, label) in cases {
        let r = e.post_json("/v1/messages", &body).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.provider(), Some(want), "{body}");
        let rec = last_record(&e).await;
        assert_eq!(rec["provider"], want);
        assert_eq!(rec["rule"].as_str(), label, "{rec}");
    }
}

#[tokio::test]
async fn a_rule_can_override_the_model_and_falls_back_when_its_provider_fails() {
    let e = env_with(2, |c| {
        c.rules = vec![Rule {
            name: Some("cheap".into()),
            model: Some("claude-haiku*".into()),
            upstream_model: Some("tiny-model-1".into()),
            ..rule("p1")
        }];
    })
    .await;
    let mut haiku = body(false);
    haiku["model"] = json!("claude-haiku-4-5");
    let r = e.post_json("/v1/messages", &haiku).await;
    assert_eq!((r.status, r.provider()), (200, Some("p1")), "{}", r.text);
    let sent = e.mocks[1].requests();
    assert_eq!(sent[0].json()["model"], "tiny-model-1");
    let rec = last_record(&e).await;
    assert_eq!(rec["upstream_model"], "tiny-model-1");
    assert_eq!(rec["rule"], "cheap");
    // Streaming takes the same route.
    let mut streamed = haiku.clone();
    streamed["stream"] = json!(true);
    let r = e.post_json("/v1/messages", &streamed).await;
    assert_eq!(r.provider(), Some("p1"));
    assert_valid_stream(&r);
    assert_eq!(e.mocks[1].requests()[1].json()["model"], "tiny-model-1");
    assert_eq!(last_record(&e).await["rule"], "cheap");
    // Not a failover and not a change of the active provider: no event for rule routing.
    let mut e = e;
    assert!(
        !e.drain_events()
            .iter()
            .any(|ev| matches!(ev, switchyard_core::Event::Failover { .. })),
        "rule routing is not a failover"
    );

    // A pin wins over rules (and their model override).
    e.sy.switch(Some("p0")).expect("pin");
    let r = e.post_json("/v1/messages", &haiku).await;
    assert_eq!(r.provider(), Some("p0"));
    assert_eq!(e.mocks[0].requests()[0].json()["model"], "claude-haiku-4-5");
    assert!(last_record(&e).await["rule"].is_null());
    e.sy.switch(None).expect("unpin");

    // The rule's provider fails: the normal order follows, with the client's model.
    e.mocks[1].set_default(Reply::error(529, "overloaded"));
    let r = e.post_json("/v1/messages", &haiku).await;
    assert_eq!((r.status, r.provider()), (200, Some("p0")), "{}", r.text);
    assert_eq!(e.mocks[0].requests()[1].json()["model"], "claude-haiku-4-5");
    assert_eq!(last_record(&e).await["rule"], "cheap");
}

#[tokio::test]
async fn the_admin_api_refuses_a_rule_naming_an_unknown_provider() {
    let e = env(2).await;
    let mut cfg = e.get("/api/config").await.json()["config"].clone();
    cfg["rules"] = json!([{"provider": "nope", "model": "*"}]);
    let r = e
        .send(
            e.http
                .put(e.url("/api/config"))
                .header("content-type", "application/json")
                .body(cfg.to_string()),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("rules[0].provider"), "{}", r.text);
}
