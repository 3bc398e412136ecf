//! `[cache]`: the opt-in response cache's settings (the cache itself is `crate::cache`).

use serde::{Deserialize, Serialize};

/// `[cache]` in the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Off by default.
    #[serde(default)]
    pub enabled: bool,
    /// How long an answer stays valid, seconds.
    #[serde(default = "d_ttl")]
    pub ttl_secs: u64,
    /// At most this many answers.
    #[serde(default = "d_entries")]
    pub max_entries: usize,
    /// At most this many bytes of answers.
    #[serde(default = "d_bytes")]
    pub max_bytes: usize,
}

fn d_ttl() -> u64 {
    3600
}
fn d_entries() -> usize {
    1000
}
fn d_bytes() -> usize {
    64 * 1024 * 1024
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: false,
            ttl_secs: d_ttl(),
            max_entries: d_entries(),
            max_bytes: d_bytes(),
        }
    }
}

impl CacheConfig {
    /// Is this the default (so the config file can leave it out)?
    pub fn is_default(&self) -> bool {
        *self == CacheConfig::default()
    }
}
