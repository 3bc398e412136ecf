//! `[cluster]`: team mode. Several Switchyard replicas share cooldowns, trials, pins, sticky
//! sessions, key-pool cooldowns, usage and budgets, access-token rate limits, the response
//! cache and events through one Redis (the shared state itself is `crate::state`).
//!
//! The URL never holds a password: it comes from the secret store (entry [`REDIS_SECRET`]) or
//! the [`REDIS_PASSWORD_ENV`] environment variable.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Secret-store name of the Redis password.
pub const REDIS_SECRET: &str = "redis";

/// Environment variable holding the Redis password (takes precedence over the secret store).
pub const REDIS_PASSWORD_ENV: &str = "SWITCHYARD_REDIS_PASSWORD";

/// `[cluster]` in the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// `redis://[user@]host[:port][/db]`, or `rediss://...` for TLS. Never a password.
    pub redis: String,
    /// This replica's name in status, events and the request log (default: the host name and
    /// the listen port). Keep it stable across restarts: usage is kept per replica name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Namespace of Switchyard's keys and channel in Redis (teams sharing one Redis use
    /// different prefixes).
    #[serde(default = "d_prefix", skip_serializing_if = "is_default_prefix")]
    pub prefix: String,
    /// PEM file with the certificate authority of a `rediss://` server signed by a private CA
    /// (default: the system's trusted roots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The longest a request waits for Redis (a cluster-wide trial, a rate limit, a cache
    /// lookup) before it decides on this replica's own state, milliseconds.
    #[serde(default = "d_timeout", skip_serializing_if = "is_default_timeout")]
    pub timeout_ms: u64,
}

fn d_prefix() -> String {
    "switchyard".into()
}

fn is_default_prefix(p: &str) -> bool {
    p == d_prefix()
}

fn d_timeout() -> u64 {
    50
}

fn is_default_timeout(t: &u64) -> bool {
    *t == d_timeout()
}

impl Cluster {
    /// A cluster on this Redis URL, everything else by default.
    pub fn new(redis: impl Into<String>) -> Self {
        Cluster {
            redis: redis.into(),
            node: None,
            prefix: d_prefix(),
            ca_file: None,
            timeout_ms: d_timeout(),
        }
    }
}

/// A node name or key prefix: 1-64 characters of letters, digits, `-`, `_` and `.`.
pub fn valid_cluster_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Why a `[cluster] redis` URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedisUrlError {
    /// A password written into the URL.
    #[error("the Redis password must not be written in the config file. Write the URL without it (e.g. {scheme}://{user}{host}) and store the password with `switchyard keys set {secret}` (it goes to the OS keychain) or in the {env} environment variable")]
    LiteralPassword {
        /// `redis` or `rediss`.
        scheme: String,
        /// `user@`, or empty.
        user: String,
        /// host[:port][/db].
        host: String,
        /// The secret-store name.
        secret: &'static str,
        /// The environment variable.
        env: &'static str,
    },
    /// Anything else.
    #[error("{0}")]
    Invalid(String),
}

/// A checked Redis URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisUrl {
    /// `rediss://`.
    pub tls: bool,
    /// Host name or address.
    pub host: String,
    /// Port (6379 by default).
    pub port: u16,
    /// ACL user name, if any.
    pub user: Option<String>,
    /// Database number.
    pub db: i64,
}

impl RedisUrl {
    /// The URL to show (never holds a password).
    pub fn label(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        let user = self
            .user
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        format!("{scheme}://{user}{}:{}/{}", self.host, self.port, self.db)
    }
}

/// Check a `[cluster] redis` URL.
pub fn parse_redis_url(value: &str) -> Result<RedisUrl, RedisUrlError> {
    let value = value.trim();
    let url = reqwest::Url::parse(value).map_err(|e| {
        RedisUrlError::Invalid(format!(
            "redis {value:?} is not a URL ({e}); write e.g. \"redis://127.0.0.1:6379/0\" or \"rediss://redis.internal:6380/0\""
        ))
    })?;
    let tls = match url.scheme() {
        "redis" => false,
        "rediss" => true,
        other => {
            return Err(RedisUrlError::Invalid(format!(
                "redis URL scheme {other:?} is not supported: use redis:// or rediss:// (TLS)"
            )))
        }
    };
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err(RedisUrlError::Invalid(format!(
            "redis URL {value:?} has no host"
        )));
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url.port().unwrap_or(6379);
    let db_text = url.path().trim_start_matches('/');
    let db = if db_text.is_empty() {
        0
    } else {
        db_text
            .parse::<i64>()
            .ok()
            .filter(|d| *d >= 0)
            .ok_or_else(|| {
                RedisUrlError::Invalid(format!(
                    "redis URL {value:?}: the path must be a database number (e.g. /0)"
                ))
            })?
    };
    let user = (!url.username().is_empty()).then(|| url.username().to_string());
    if url.password().is_some() {
        return Err(RedisUrlError::LiteralPassword {
            scheme: url.scheme().to_string(),
            user: user.as_deref().map(|u| format!("{u}@")).unwrap_or_default(),
            host: format!("{}:{port}/{db}", url.host_str().unwrap_or(&host)),
            secret: REDIS_SECRET,
            env: REDIS_PASSWORD_ENV,
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(RedisUrlError::Invalid(format!(
            "redis URL {value:?} must be just scheme://[user@]host[:port][/db]"
        )));
    }
    Ok(RedisUrl {
        tls,
        host,
        port,
        user,
        db,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_redis_url("redis://127.0.0.1:6380/2").expect("valid");
        assert_eq!((u.tls, u.port, u.db), (false, 6380, 2));
        assert_eq!(u.label(), "redis://127.0.0.1:6380/2");
        let u = parse_redis_url("rediss://team@redis.lan").expect("valid");
        assert!(u.tls);
        assert_eq!(u.user.as_deref(), Some("team"));
        assert_eq!(u.label(), "rediss://team@redis.lan:6379/0");
        for bad in [
            "http://x",
            "redis://",
            "redis://h/x",
            "redis://h/0?a=1",
            "nope",
        ] {
            assert!(
                matches!(parse_redis_url(bad), Err(RedisUrlError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_password_is_refused_without_echoing_it() {
        for url in ["redis://:hunter2@h:6379/0", "rediss://team:hunter2@h/1"] {
            let e = parse_redis_url(url).expect_err("refused");
            let m = e.to_string();
            assert!(!m.contains("hunter2"), "{m}");
            assert!(m.contains("switchyard keys set redis"), "{m}");
            assert!(m.contains("SWITCHYARD_REDIS_PASSWORD"), "{m}");
        }
    }

    #[test]
    fn names() {
        assert!(valid_cluster_name("replica-a") && valid_cluster_name("host.lan_1"));
        assert!(
            !valid_cluster_name("") && !valid_cluster_name("a b") && !valid_cluster_name("a:b")
        );
    }
}
