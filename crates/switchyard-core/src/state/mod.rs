//! Shared state behind traits: everything a request reads or changes that several Switchyard
//! replicas of a team would share. The engine and the pipeline only ever talk to these traits;
//! the in-process implementations (`local.rs`) are today's structures (the router, the usage
//! ledger, the token limits, the response cache, a broadcast channel). A replicated
//! implementation keeps a local one as its first tier and carries changes between replicas,
//! so Redis is never more than one round trip on a request.
//!
//! | trait | shared | in-process implementation |
//! |---|---|---|
//! | [`RoutingState`] | breakers and cooldowns, half-open trials, pins, sticky sessions, the key pools' cooldowns | [`Router`] |
//! | [`UsageLedger`] | spend and tokens per provider, model and day; budgets | [`Usage`] |
//! | [`RateLimits`] | client access tokens' request rates | [`Tokens`] |
//! | [`AnswerCache`] | the response cache | [`ResponseCache`] |
//! | [`EventBus`] | events, so every UI and tray tells the same story | [`LocalEvents`] |
//!
//! Team mode (`[cluster]` in the config) wraps each in-process implementation in a Redis one
//! (`redis/`): decisions stay local, changes travel through Redis, and [`Membership`] says how
//! the cluster is doing.

mod local;
pub(crate) mod redis;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::cache::{CacheStats, Cached, Key};
use crate::config::{CacheConfig, Config, Provider};
use crate::events::Event;
use crate::routing::keys::SlotState;
use crate::routing::{Failure, Plan, ProviderStatus, RequestCtx as RouteHints, Served};
use crate::usage::{Over, Period, Tokens as TokenCounts, UsageError, UsageReport};

pub use local::LocalEvents;

pub use crate::access_tokens::Tokens;
pub use crate::cache::ResponseCache;
pub use crate::routing::Router;
pub use crate::usage::Usage;

/// Breakers, cooldowns, trials, pins, sticky sessions and key-pool cooldowns.
pub trait RoutingState: Send + Sync {
    /// The attempts for one request, in order. A pin wins over rules and strategies.
    fn plan(&self, cfg: &Config, hints: &RouteHints<'_>, now: Instant) -> Plan;

    /// Take the one half-open trial of `provider` that may run at a time (cluster-wide where
    /// state is shared). `false`: another request (or replica) runs it; skip the provider.
    fn claim_trial(&self, _provider: &str) -> BoxFuture<'_, bool> {
        Box::pin(std::future::ready(true))
    }

    /// A provider failed: start (or lengthen) its cooldown. Returns its length and end.
    fn failed(&self, provider: &str, failure: &Failure, now: Instant) -> (Duration, DateTime<Utc>);

    /// A provider served: close its breaker, record the strategies' measurements and, for
    /// requests the strategy routed, which provider serves. Returns the previous active
    /// provider when it changed.
    fn served(&self, provider: &str, served: &Served<'_>) -> Option<Option<String>>;

    /// Pin a provider (`Some`) or return to automatic (`None`).
    fn pin(&self, provider: Option<String>);

    /// The pinned provider.
    fn pinned(&self) -> Option<String>;

    /// The provider that served the most recent successful request.
    fn active(&self) -> Option<String>;

    /// The provider the next request would go to, taking no trial.
    fn current(&self, cfg: &Config, now: Instant) -> Option<String>;

    /// Every configured provider's state, in config order.
    fn statuses(&self, cfg: &Config, now: Instant) -> Vec<ProviderStatus>;

    /// Forget a provider's failures and its keys' (its key changed, or the user asked).
    fn reset(&self, provider: &str);

    /// After a config change: drop the state of providers that are gone.
    fn retain(&self, cfg: &Config);

    /// The order to try the `n` keys of a provider's pool in (cooling keys left out).
    fn key_order(&self, provider: &str, n: usize, now: Instant) -> Vec<usize>;

    /// A key failed: cool it down; returns how long.
    fn key_failed(&self, provider: &str, slot: usize, failure: &Failure, now: Instant) -> Duration;

    /// A key served.
    fn key_succeeded(&self, provider: &str, slot: usize);

    /// When the first cooling key of a pool is back.
    fn key_next_back(&self, provider: &str, n: usize, now: Instant) -> Option<Duration>;

    /// Every key slot's state.
    fn key_states(&self, provider: &str, n: usize, now: Instant) -> Vec<SlotState>;
}

/// What was spent, on what, and the budgets.
pub trait UsageLedger: Send + Sync {
    /// Record a served request's tokens; returns the budget events it caused (each crossing
    /// is announced once).
    fn record(
        &self,
        cfg: &Config,
        provider: &str,
        upstream_model: &str,
        tokens: TokenCounts,
        now: DateTime<Utc>,
    ) -> Vec<Event>;

    /// Spent by a provider in the period containing `now`, USD.
    fn spent(&self, provider: &str, period: Period, now: DateTime<Utc>) -> f64;

    /// The budget a provider is over, if any.
    fn over_budget(&self, p: &Provider, now: DateTime<Utc>) -> Option<Over>;

    /// The budget events a provider is due (each crossing announced once).
    fn check(&self, p: &Provider, now: DateTime<Utc>) -> Vec<Event>;

    /// Usage over the last `days` days.
    fn report(&self, cfg: &Config, days: u32, now: DateTime<Utc>) -> UsageReport;

    /// Persist what is not persisted yet.
    fn flush(&self) -> Result<(), UsageError>;
}

/// Request rates of named client access tokens.
pub trait RateLimits: Send + Sync {
    /// Count one request by token `name` at `rate_per_minute` (`None` or 0: unlimited). `Err`
    /// holds how long to wait before the next request is allowed.
    fn admit(
        &self,
        name: &str,
        rate_per_minute: Option<u32>,
        now: Instant,
    ) -> BoxFuture<'_, Result<(), Duration>>;
}

/// The response cache.
pub trait AnswerCache: Send + Sync {
    /// A kept answer, if fresh.
    fn get(&self, key: &Key, cfg: &CacheConfig) -> BoxFuture<'_, Option<Cached>>;

    /// Keep an answer.
    fn put(&self, key: Key, value: Cached, cfg: &CacheConfig);

    /// Forget every answer; returns how many there were (here).
    fn clear(&self) -> usize;

    /// Counters.
    fn stats(&self, cfg: &CacheConfig) -> CacheStats;
}

/// An event and the replica it happened on (`None` outside team mode).
#[derive(Debug, Clone)]
pub struct Stamped {
    /// The replica's node name.
    pub node: Option<Arc<str>>,
    /// What happened.
    pub event: Event,
}

/// Events, to whoever listens.
pub trait EventBus: Send + Sync {
    /// Send an event (nobody listening is fine).
    fn emit(&self, event: Event);

    /// Listen from now on.
    fn subscribe(&self) -> broadcast::Receiver<Event>;

    /// Listen from now on, with the replica each event happened on.
    fn subscribe_stamped(&self) -> broadcast::Receiver<Stamped>;

    /// Whether anyone listens (to skip building events nobody reads).
    fn has_listeners(&self) -> bool;
}

/// How a team's Redis link is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterHealth {
    /// Connected: state is shared.
    Ok,
    /// Redis is unreachable, slow or re-syncing: this replica serves on its own state.
    Degraded,
}

/// One replica of the team, as its heartbeat in Redis describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Replica {
    /// Its node name.
    pub node: String,
    /// The address it listens on (as it sees it).
    pub listen: String,
    /// Its version.
    pub version: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// This replica.
    #[serde(rename = "self", default)]
    pub this: bool,
}

/// The `cluster` object of `/api/status` and `/v1/health`.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    /// `ok` or `degraded`.
    pub status: ClusterHealth,
    /// This replica's node name.
    pub node: String,
    /// Where Redis is (never with a password).
    pub redis: String,
    /// The replicas seen (heartbeats in the last few seconds), this one included.
    pub replicas: Vec<Replica>,
    /// Since when the cluster is degraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degraded_since: Option<DateTime<Utc>>,
    /// Why, in words (never a password).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A team's view of itself, for status displays.
pub trait Membership: Send + Sync {
    /// Where the link stands and who is in the team.
    fn status(&self) -> ClusterStatus;
}
