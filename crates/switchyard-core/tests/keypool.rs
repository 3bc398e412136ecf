//! Key pools: round-robin rotation, per-key cooldown, and the provider cooling only when every
//! key is out.

mod common;

use common::*;
use switchyard_core::config::Credential;
use switchyard_core::secrets::{Secret, SecretStore};
use switchyard_mock::Reply;

fn pool_key(i: usize) -> String {
    format!("sk-pool-key-number-{i}-abc{i}")
}

/// p0 gets a pool of `n` keychain keys (`p0`, `p0#2`, ...); p1 is the backup.
async fn pool_env(n: u32) -> Env {
    let env = env_with(2, |c| {
        c.providers[0].credential = Credential::Keychain;
        c.providers[0].keys = n;
    })
    .await;
    for i in 0..n as usize {
        let name = if i == 0 {
            "p0".to_string()
        } else {
            format!("p0#{}", i + 1)
        };
        env.secrets
            .set(&name, &Secret::new(&pool_key(i + 1)).expect("key"))
            .expect("set");
    }
    env
}

fn keys_seen(env: &Env) -> Vec<String> {
    env.mocks[0]
        .requests()
        .iter()
        .map(|r| r.header("x-api-key").unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn keys_rotate_round_robin() {
    let env = pool_env(3).await;
    for _ in 0..6 {
        let r = env.messages(false).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.provider(), Some("p0"));
    }
    let want: Vec<String> = [1, 2, 3, 1, 2, 3].iter().map(|&i| pool_key(i)).collect();
    assert_eq!(keys_seen(&env), want);
}

#[tokio::test]
async fn a_rate_limited_key_cools_alone_and_the_provider_keeps_serving() {
    let env = pool_env(2).await;
    env.mocks[0].push(Reply::error(429, "rate limit exceeded"));
    for _ in 0..5 {
        let r = env.messages(false).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.provider(), Some("p0"), "no failover to another provider");
    }
    let seen = keys_seen(&env);
    assert_eq!(seen[0], pool_key(1));
    assert!(seen[1..].iter().all(|k| *k == pool_key(2)), "{seen:?}");
    assert_eq!(env.mocks[1].request_count(), 0);
    let status = env.get("/api/status").await.json();
    let p0 = &status["providers"][0];
    assert_eq!(p0["id"], "p0");
    assert_eq!(p0["state"], "available", "{p0}");
    let keys = env.get("/api/keys").await.json();
    let pool = &keys["keys"][0]["pool"];
    assert_eq!(pool[0]["state"], "cooling", "{keys}");
    assert_eq!(pool[1]["state"], "ok", "{keys}");
    assert_eq!(pool[1]["name"], "p0#2");
}

#[tokio::test]
async fn when_every_key_is_cooling_the_provider_cools_and_traffic_fails_over() {
    let env = pool_env(2).await;
    env.mocks[0].push_many([
        Reply::error(429, "rate limit exceeded"),
        Reply::error(429, "rate limit exceeded"),
    ]);
    let r = env.messages(false).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.provider(), Some("p1"));
    assert_eq!(env.mocks[0].request_count(), 2, "both keys were tried");
    let r = env.messages(false).await;
    assert_eq!(r.provider(), Some("p1"));
    assert_eq!(
        env.mocks[0].request_count(),
        2,
        "the cooling provider is skipped"
    );
    let status = env.get("/api/status").await.json();
    assert_eq!(status["providers"][0]["state"], "cooling_down", "{status}");
}

#[tokio::test]
async fn a_refused_key_is_named_by_its_last_four_characters_only() {
    let env = pool_env(2).await;
    env.mocks[0].push(Reply::error(401, "invalid x-api-key"));
    let r = env.messages(false).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.provider(), Some("p0"));
    let keys = env.get("/api/keys").await;
    let v = keys.json();
    let problem = v["keys"][0]["pool"][0]["problem"]
        .as_str()
        .expect("a problem")
        .to_string();
    let k1 = pool_key(1);
    assert!(problem.contains(&k1[k1.len() - 4..]), "{problem}");
    assert!(problem.contains("refused"), "{problem}");
    for i in 1..=2 {
        assert!(!keys.text.contains(&pool_key(i)), "{}", keys.text);
    }
    // The next requests use key 2 while key 1 stays out.
    env.messages(false).await;
    assert_eq!(keys_seen(&env)[2], pool_key(2));
}

#[tokio::test]
async fn a_missing_slot_is_skipped() {
    let env = pool_env(2).await;
    env.secrets.delete("p0#2").expect("delete");
    for _ in 0..3 {
        let r = env.messages(false).await;
        assert_eq!(r.provider(), Some("p0"));
    }
    assert!(keys_seen(&env).iter().all(|k| *k == pool_key(1)));
    let v = env.get("/api/keys").await.json();
    assert_eq!(v["keys"][0]["pool"][1]["set"], false, "{v}");
}

#[tokio::test]
async fn a_pool_with_no_key_at_all_is_a_key_problem() {
    let env = pool_env(2).await;
    env.secrets.delete("p0").expect("delete");
    env.secrets.delete("p0#2").expect("delete");
    let r = env.messages(false).await;
    assert_eq!(r.provider(), Some("p1"));
    assert_eq!(env.mocks[0].request_count(), 0);
    let rec = env.sy.recent_requests(1);
    let failure = rec[0].attempts[0].failure.clone().unwrap_or_default();
    assert!(failure.starts_with("no key set"), "{failure}");
    assert!(
        failure.contains("switchyard keys set p0 --slot"),
        "{failure}"
    );
}

#[tokio::test]
async fn an_env_credential_listing_several_variables_is_a_pool() {
    // Unique names: tests in this binary share the process environment.
    std::env::set_var("SY_POOL_TEST_A", pool_key(1));
    std::env::set_var("SY_POOL_TEST_B", pool_key(2));
    let env = env_with(2, |c| {
        c.providers[0].credential = Credential::Env("SY_POOL_TEST_A,SY_POOL_TEST_B".into());
    })
    .await;
    for _ in 0..4 {
        assert_eq!(env.messages(false).await.provider(), Some("p0"));
    }
    let want: Vec<String> = [1, 2, 1, 2].iter().map(|&i| pool_key(i)).collect();
    assert_eq!(keys_seen(&env), want);
    let v = env.get("/api/keys").await.json();
    assert_eq!(v["keys"][0]["pool"][1]["name"], "SY_POOL_TEST_B", "{v}");
    assert!("env:A,B".parse::<Credential>().is_ok());
    assert!("env:A,,B".parse::<Credential>().is_err());
}
