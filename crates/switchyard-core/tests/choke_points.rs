//! Rules that once lived in several code paths and drifted apart, each now decided at one choke
//! point and checked here through every path a client can take: model lists in the client's
//! shape, probe URLs from the adapters, keys masked in streams that fail after they started,
//! every dialect's credentials kept from keyed providers, usage recorded on every route, the
//! cache keyed by what was sent, and sticky sessions bound only by the strategy.

mod common;

use common::*;
use serde_json::{json, Value};
use switchyard_core::config::{Config, ProviderKind, Rule, Strategy};
use switchyard_core::usage::Price;
use switchyard_mock::{Face, Reply, Step};

/// The mock face that plays a provider kind.
fn face(kind: ProviderKind) -> Face {
    let name = serde_json::to_value(kind).expect("name");
    Face::for_kind(name.as_str().expect("string")).expect("every kind has a mock face")
}

/// p0 of `kind` (keyed), p1 Anthropic (keyed).
async fn keyed(kind: ProviderKind, tweak: impl FnOnce(&mut Config)) -> Env {
    let e = env_with(2, |c| {
        c.providers[0].kind = kind;
        c.providers[0].credential = switchyard_core::config::Credential::Keychain;
        if kind != ProviderKind::Anthropic {
            c.providers[0].models.0 = vec![("*".into(), "vendor-model".into())];
        }
        tweak(c);
    })
    .await;
    use switchyard_core::secrets::{Secret, SecretStore};
    e.secrets
        .set("p0", &Secret::new(&key_of("p0")).expect("key"))
        .expect("store");
    e
}

#[tokio::test]
async fn anthropic_clients_get_anthropics_model_list_whatever_provider_is_current() {
    for &kind in ProviderKind::ALL {
        let e = keyed(kind, |_| {}).await;
        let r = e
            .send(
                e.http
                    .get(e.url("/v1/models?limit=1000"))
                    .header("x-api-key", CLIENT_KEY)
                    .header("anthropic-version", "2023-06-01"),
            )
            .await;
        assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
        let v = r.json();
        let data = v["data"].as_array().expect("data");
        assert!(!data.is_empty(), "{kind:?}: {v}");
        for m in data {
            assert_eq!(m["type"], "model", "{kind:?}: {m}");
            for field in ["id", "display_name", "created_at"] {
                assert!(m[field].is_string(), "{kind:?}: {field} in {m}");
            }
        }
        assert!(
            v.get("has_more").is_some() && v.get("first_id").is_some(),
            "{v}"
        );
        if kind != ProviderKind::Anthropic {
            // Claude Code's gateway discovery keeps ids naming claude: the names we route.
            assert!(
                data.iter().any(|m| m["id"] == "claude-sonnet-4-5"),
                "{kind:?}: {v}"
            );
        }
        // OpenAI clients get OpenAI's shape.
        let r = e
            .send(e.http.get(e.url("/v1/models")).bearer_auth("x"))
            .await;
        let v = r.json();
        assert_eq!(v["object"], "list", "{kind:?}: {v}");
        assert!(v["data"].as_array().is_some_and(|d| d
            .iter()
            .all(|m| m["object"] == "model" && m.get("type").is_none())));
    }
}

#[tokio::test]
async fn probes_use_the_same_urls_as_requests() {
    // A DeepSeek-style `/beta` base (OpenAI kind) and a Gemini base that ends in `/v1beta`.
    for (kind, suffix, models_path, generate_path) in [
        (
            ProviderKind::Openai,
            "/beta",
            "/beta/models",
            "/beta/chat/completions",
        ),
        (
            ProviderKind::Gemini,
            "/v1beta",
            "/v1beta/models",
            "/v1beta/models/vendor-model:generateContent",
        ),
        (
            ProviderKind::Anthropic,
            "/anthropic",
            "/anthropic/v1/models",
            "/anthropic/v1/messages",
        ),
    ] {
        let e = keyed(kind, |c| {
            let base = format!("{}{suffix}", c.providers[0].base_url);
            c.providers[0].base_url = base;
        })
        .await;
        let r = e
            .send(
                e.http
                    .post(e.url("/api/providers/p0/test"))
                    .header("content-type", "application/json"),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["ok"], true, "{kind:?}: {}", r.text);
        e.mocks[0].set_default(Reply::text("hi"));
        let r = e.messages(false).await;
        assert_eq!((r.status, r.provider()), (200, Some("p0")), "{}", r.text);
        let paths: Vec<String> = e.mocks[0]
            .requests()
            .iter()
            .map(|q| q.path.clone())
            .collect();
        assert_eq!(paths, [models_path, generate_path], "{kind:?}");
    }
}

#[tokio::test]
async fn a_key_quoted_in_a_stream_that_already_started_is_masked_everywhere() {
    for &kind in ProviderKind::ALL {
        let mut e = keyed(kind, |_| {}).await;
        let key = key_of("p0");
        let f = face(kind);
        let mut steps = f.stream_opening("Hel");
        let quote = format!("Incorrect API key provided: {key}");
        steps.push(match f {
            Face::Anthropic => switchyard_mock::error_event("authentication_error", &quote),
            Face::OpenAi => {
                Step::data(json!({"error": {"message": quote, "type": "invalid_request_error"}}))
            }
            _ => Step::data(
                json!({"error": {"code": 401, "message": quote, "status": "UNAUTHENTICATED"}}),
            ),
        });
        // Cut it in the middle of the key, as a network would.
        e.mocks[0].push(Reply::sse(steps).with_chunks(7));
        let r = e.messages(true).await;
        assert_eq!(r.status, 200);
        assert!(!r.text.contains(&key), "{kind:?} stream: {}", r.text);
        assert!(
            r.text.contains("[key removed]") || r.text.contains("error"),
            "{}",
            r.text
        );
        let log = e.get("/api/requests").await.text;
        assert!(!log.contains(&key), "{kind:?} request log: {log}");
        let status = e.get("/api/status").await.text;
        assert!(!status.contains(&key), "{kind:?} status: {status}");
        for ev in e.drain_events() {
            let text = serde_json::to_string(&ev).expect("json");
            assert!(!text.contains(&key), "{kind:?} event: {text}");
        }
    }
}

#[tokio::test]
async fn no_dialects_client_credential_reaches_a_keyed_provider() {
    let gemini = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    // Every client dialect's route, each with the client's credential everywhere it can go.
    let routes = [
        (
            "/v1/messages?key=client-secret-credential&beta=true",
            body(false),
        ),
        ("/v1/chat/completions?key=client-secret-credential", chat),
        (
            "/v1beta/models/m:generateContent?key=client-secret-credential",
            gemini,
        ),
    ];
    for &kind in ProviderKind::ALL {
        for (path, req) in &routes {
            let e = keyed(kind, |_| {}).await;
            e.mocks[0].set_default(Reply::text("hi"));
            let secret = "client-secret-credential";
            let r = e
                .send(
                    e.http
                        .post(e.url(path))
                        .header("x-api-key", secret)
                        .header("authorization", format!("Bearer {secret}"))
                        .header("x-goog-api-key", secret)
                        .header("api-key", secret)
                        .header("anthropic-version", "2023-06-01")
                        .header("content-type", "application/json")
                        .body(req.to_string()),
                )
                .await;
            assert_eq!(
                (r.status, r.provider()),
                (200, Some("p0")),
                "{path}: {}",
                r.text
            );
            let got = e.mocks[0].requests().last().cloned().expect("request");
            let seen = format!("{:?} {:?}", got.headers, got.query);
            assert!(!seen.contains(secret), "{kind:?} {path}: {seen}");
            assert!(
                seen.contains(&key_of("p0")),
                "{kind:?} {path} gets its own key: {seen}"
            );
        }
    }
}

const PRICED: &str = "priced-model";

fn priced(c: &mut Config) {
    c.prices.insert(
        PRICED.into(),
        Price {
            input: 0.0,
            output: 1_000_000.0,
            cache_read: 0.0,
            cache_write: 0.0,
        },
    );
    c.providers[0].models.0 = vec![("*".into(), PRICED.into())];
    c.providers[0].budget_daily_usd = Some(1.0);
}

#[tokio::test]
async fn usage_and_budgets_count_every_route() {
    let e = env_with(2, priced).await;
    // Two output tokens: $2 against a $1 daily budget, through Chat Completions, not streamed.
    e.mocks[0].push(Reply::text("hi").with_output_tokens(2));
    e.mocks[1].set_default(Reply::text("from p1"));
    let chat =
        json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]});
    let r = e
        .send(
            e.http
                .post(e.url("/v1/chat/completions"))
                .bearer_auth(CLIENT_KEY)
                .header("content-type", "application/json")
                .body(chat.to_string()),
        )
        .await;
    assert_eq!((r.status, r.provider()), (200, Some("p0")), "{}", r.text);
    let u = e.get("/api/usage?days=1").await.json();
    assert_eq!(u["budgets"][0]["over"], "day", "{u}");
    let r = e.messages(false).await;
    assert_eq!(r.provider(), Some("p1"), "p0 is over its budget");
    assert_eq!(e.mocks[0].request_count(), 1);
}

fn cached(c: &mut Config) {
    c.cache.enabled = true;
}

fn zero_temp(model: &str) -> Value {
    json!({"model": model, "max_tokens": 16, "temperature": 0,
           "messages": [{"role": "user", "content": "same question"}]})
}

#[tokio::test]
async fn the_cache_keys_answers_by_the_model_actually_sent() {
    let e = env_with(2, |c| {
        cached(c);
        c.rules = vec![Rule {
            provider: "p0".into(),
            model: Some("claude-haiku*".into()),
            upstream_model: Some("haiku-upstream".into()),
            ..Rule::default()
        }];
    })
    .await;
    e.mocks[0].set_default(Reply::text("answer"));
    let a = e
        .post_json("/v1/messages", &zero_temp("claude-haiku-4-5"))
        .await;
    assert_eq!(a.header("x-switchyard-cache"), Some("miss"));
    let b = e
        .post_json("/v1/messages", &zero_temp("claude-haiku-4-5"))
        .await;
    assert_eq!(
        b.header("x-switchyard-cache"),
        Some("hit"),
        "a rule's model override is part of the key on lookup and store"
    );
    assert_eq!(e.mocks[0].request_count(), 1);

    // A pinned request (rules do not apply) sends the client's model; its answer must not be
    // served to the rule-routed request for the same body.
    let e = env_with(1, |c| {
        cached(c);
        c.rules = vec![Rule {
            provider: "p0".into(),
            upstream_model: Some("rule-model".into()),
            ..Rule::default()
        }];
    })
    .await;
    e.mocks[0].set_default(Reply::text("answer"));
    e.sy.switch(Some("p0")).expect("pin");
    let pinned = e
        .post_json("/v1/messages", &zero_temp("claude-sonnet-4-5"))
        .await;
    assert_eq!(pinned.header("x-switchyard-cache"), Some("miss"));
    e.sy.switch(None).expect("unpin");
    let routed = e
        .post_json("/v1/messages", &zero_temp("claude-sonnet-4-5"))
        .await;
    assert_eq!(
        routed.header("x-switchyard-cache"),
        Some("miss"),
        "a different upstream model is a different answer"
    );
    let models: Vec<String> = e.mocks[0]
        .requests()
        .iter()
        .map(|q| q.json()["model"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(models, ["claude-sonnet-4-5", "rule-model"]);
}

#[tokio::test]
async fn only_requests_the_strategy_routed_bind_a_sticky_session() {
    let e = env_with(3, |c| {
        c.routing.strategy = Strategy::Weighted;
        c.routing.sticky_sessions = true;
        c.providers[2].weight = 0;
        c.rules = vec![Rule {
            provider: "p2".into(),
            model: Some("claude-haiku*".into()),
            ..Rule::default()
        }];
    })
    .await;
    let send = |model: &str| {
        let v = json!({"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]});
        e.http
            .post(e.url("/v1/messages"))
            .header("x-api-key", CLIENT_KEY)
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .header("x-claude-code-session-id", "sess-1")
            .body(v.to_string())
    };
    let r = e.send(send("claude-haiku-4-5")).await;
    assert_eq!(r.provider(), Some("p2"), "the rule routes haiku");
    for _ in 0..6 {
        let r = e.send(send("claude-sonnet-4-5")).await;
        assert_ne!(
            r.provider(),
            Some("p2"),
            "the rule's weight-0 provider must not capture the session"
        );
    }
}
