//! Client access tokens for team use on a LAN: named bearer tokens, each with an optional
//! request-rate limit. The config file holds only each token's name, rate and creation time;
//! the value lives in the secret store (OS keychain) under `token:<name>` and is shown once,
//! when the token is created.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Serialize;

use crate::config::Config;
pub use crate::config::{valid_token_name as valid_name, ClientToken};
use crate::secrets::{Secret, SecretStore};

/// The secret-store user of a token's value is this prefix + the token's name.
pub const SECRET_PREFIX: &str = "token:";

/// The secret-store user holding `name`'s value.
pub fn secret_name(name: &str) -> String {
    format!("{SECRET_PREFIX}{name}")
}

/// The keychain name of the main client access token (`[security] access_token = "keychain"`).
pub const MAIN_TOKEN_NAME: &str = "access-token";

/// The main access token, read from where the config says it lives; `None` when the config
/// requires none. One implementation for the engine, the CLI and the desktop shell.
pub fn main_token(cfg: &Config, store: &dyn SecretStore) -> Result<Option<Secret>, String> {
    use crate::config::Credential;
    let Some(cred) = &cfg.security.access_token else {
        return Ok(None);
    };
    let v = match cred {
        Credential::Env(var) => crate::secrets::from_env(var),
        Credential::Keychain => store.get(MAIN_TOKEN_NAME),
        Credential::Passthrough | Credential::None => {
            return Err("security.access_token must be \"keychain\" or \"env:VAR\"".into())
        }
    };
    match v {
        Ok(Some(s)) => Ok(Some(s)),
        Ok(None) => Err(format!(
            "security.access_token = \"{cred}\" but no token is stored there (for the keychain: `switchyard keys set {MAIN_TOKEN_NAME}`)"
        )),
        Err(e) => Err(format!("cannot read the access token: {e}")),
    }
}

/// The values of the named tokens `cfg` lists (tokens without a stored value are skipped: they
/// cannot be used); a store that cannot be read is an error.
pub fn read_named(cfg: &Config, store: &dyn SecretStore) -> Result<Vec<(String, Secret)>, String> {
    let mut values = Vec::with_capacity(cfg.security.tokens.len());
    for t in &cfg.security.tokens {
        match store.get(&secret_name(&t.name)) {
            Ok(Some(v)) => values.push((t.name.clone(), v)),
            Ok(None) => {
                tracing::warn!(token = %t.name, "access token has no stored value: unusable")
            }
            Err(e) => return Err(format!("cannot read access token {:?}: {e}", t.name)),
        }
    }
    Ok(values)
}

/// A fresh token value: `syt_` and 48 hex digits (192 random bits from the OS).
pub fn generate() -> Result<String, String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the OS: {e}"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("syt_{hex}"))
}

/// What the admin API shows about a token (never its value).
#[derive(Debug, Clone, Serialize)]
pub struct TokenView {
    /// Name.
    pub name: String,
    /// Requests per minute allowed (`None`: no limit).
    pub rate_per_minute: Option<u32>,
    /// Created.
    pub created: Option<DateTime<Utc>>,
    /// Last request made with it since Switchyard started.
    pub last_used: Option<DateTime<Utc>>,
    /// Requests made with it since Switchyard started.
    pub requests: u64,
    /// Whether its value is in the secret store (a token without one cannot be used).
    pub usable: bool,
}

#[derive(Debug)]
struct Usage {
    /// Requests still allowed right now (a token bucket refilled at the per-minute rate).
    allowance: f64,
    refilled: Instant,
    last_used: Option<DateTime<Utc>>,
    requests: u64,
}

/// The engine's tokens: the values read from the store and per-token usage.
#[derive(Default)]
pub struct Tokens {
    values: ArcSwap<Vec<(String, Secret)>>,
    usage: Mutex<HashMap<String, Usage>>,
}

/// Constant-time comparison, so a token cannot be guessed byte by byte from timings.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Tokens {
    /// Reads the value of every configured token from `store`. Tokens without a stored value
    /// are skipped (they cannot be used); a store that cannot be read is an error.
    pub fn load(&self, cfg: &Config, store: &dyn SecretStore) -> Result<(), String> {
        let values = read_named(cfg, store)?;
        self.install(cfg, values);
        Ok(())
    }

    /// Put values read by [`read_named`] in force for `cfg`.
    pub fn install(&self, cfg: &Config, values: Vec<(String, Secret)>) {
        self.usage
            .lock()
            .retain(|name, _| cfg.security.tokens.iter().any(|t| &t.name == name));
        self.values.store(std::sync::Arc::new(values));
    }

    /// How many tokens can be used.
    pub fn usable(&self) -> usize {
        self.values.load().len()
    }

    /// The name of the token whose value is `presented`, if any.
    pub fn matching(&self, presented: &[u8]) -> Option<String> {
        let values = self.values.load();
        let mut found = None;
        // Compare with every token, so the time taken does not tell which one matched.
        for (name, v) in values.iter() {
            if same(presented, v.expose().as_bytes()) {
                found = Some(name.clone());
            }
        }
        found
    }

    /// Counts one request by `name` and applies its rate (`None` or 0: unlimited). `Err`
    /// holds how long to wait before the next request is allowed.
    pub fn admit(
        &self,
        name: &str,
        rate_per_minute: Option<u32>,
        now: Instant,
    ) -> Result<(), Duration> {
        let rate = f64::from(rate_per_minute.unwrap_or(0));
        let mut usage = self.usage.lock();
        let u = usage.entry(name.to_string()).or_insert(Usage {
            allowance: rate,
            refilled: now,
            last_used: None,
            requests: 0,
        });
        if rate > 0.0 {
            let per_sec = rate / 60.0;
            let elapsed = now.saturating_duration_since(u.refilled).as_secs_f64();
            u.allowance = (u.allowance + elapsed * per_sec).min(rate);
            u.refilled = now;
            if u.allowance < 1.0 {
                return Err(Duration::from_secs_f64((1.0 - u.allowance) / per_sec));
            }
            u.allowance -= 1.0;
        }
        u.requests += 1;
        u.last_used = Some(Utc::now());
        Ok(())
    }

    /// Every configured token with its usage, in config order.
    pub fn views(&self, cfg: &Config) -> Vec<TokenView> {
        let usage = self.usage.lock();
        let values = self.values.load();
        cfg.security
            .tokens
            .iter()
            .map(|t| {
                let u = usage.get(&t.name);
                TokenView {
                    name: t.name.clone(),
                    rate_per_minute: t.rate_per_minute.filter(|r| *r > 0),
                    created: t.created,
                    last_used: u.and_then(|u| u.last_used),
                    requests: u.map_or(0, |u| u.requests),
                    usable: values.iter().any(|(n, _)| n == &t.name),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemoryStore;

    #[test]
    fn names_and_values() {
        assert!(valid_name("laptop") && valid_name("team_a-2"));
        for bad in ["", "Laptop", "a b", "a\r\nb", "é", "a/b", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        let (a, b) = (generate().expect("rng"), generate().expect("rng"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 52);
        assert!(a.starts_with("syt_"));
    }

    #[test]
    fn rate_is_a_bucket_per_token() {
        let t = Tokens::default();
        let now = Instant::now();
        for _ in 0..3 {
            assert!(t.admit("a", Some(3), now).is_ok());
        }
        let wait = t.admit("a", Some(3), now).expect_err("over the rate");
        assert!((19..=20).contains(&wait.as_secs()), "{wait:?}");
        assert!(t.admit("b", Some(3), now).is_ok(), "per token");
        assert!(
            t.admit("a", Some(3), now + Duration::from_secs(20)).is_ok(),
            "refilled"
        );
        for _ in 0..100 {
            assert!(t.admit("c", None, now).is_ok(), "no limit");
        }
    }

    #[test]
    fn load_reads_values_and_matching_finds_them() {
        let store = MemoryStore::new();
        store
            .set("token:laptop", &Secret::new("syt_abc").expect("s"))
            .expect("set");
        let mut cfg = Config::default();
        for name in ["laptop", "ghost"] {
            cfg.security.tokens.push(ClientToken {
                name: name.into(),
                rate_per_minute: Some(5),
                created: None,
            });
        }
        let t = Tokens::default();
        t.load(&cfg, &store).expect("load");
        assert_eq!(t.usable(), 1);
        assert_eq!(t.matching(b"syt_abc").as_deref(), Some("laptop"));
        assert_eq!(t.matching(b"syt_abd"), None);
        let v = t.views(&cfg);
        assert!(v[0].usable && !v[1].usable);
        let json = serde_json::to_string(&v).expect("json");
        assert!(!json.contains("syt_abc"));
    }
}
