//! The in-process implementations: each trait delegates to the structure that always held that
//! state in one process. Nothing here waits on anything.

use std::future::ready;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use tokio::sync::broadcast;

use super::{AnswerCache, EventBus, RateLimits, RoutingState, Stamped, UsageLedger};
use crate::access_tokens::Tokens;
use crate::cache::{CacheStats, Cached, Key, ResponseCache};
use crate::config::{CacheConfig, Config, Provider};
use crate::events::Event;
use crate::routing::keys::SlotState;
use crate::routing::{Failure, Plan, ProviderStatus, RequestCtx as RouteHints, Router, Served};
use crate::usage::{Over, Period, Tokens as TokenCounts, Usage, UsageError, UsageReport};

impl RoutingState for Router {
    fn plan(&self, cfg: &Config, hints: &RouteHints<'_>, now: Instant) -> Plan {
        Router::plan(self, cfg, hints, now)
    }

    fn failed(&self, provider: &str, failure: &Failure, now: Instant) -> (Duration, DateTime<Utc>) {
        Router::failed(self, provider, failure, now)
    }

    fn served(&self, provider: &str, served: &Served<'_>) -> Option<Option<String>> {
        Router::served(self, provider, served)
    }

    fn pin(&self, provider: Option<String>) {
        Router::pin(self, provider)
    }

    fn pinned(&self) -> Option<String> {
        Router::pinned(self)
    }

    fn active(&self) -> Option<String> {
        Router::active(self)
    }

    fn current(&self, cfg: &Config, now: Instant) -> Option<String> {
        Router::current(self, cfg, now)
    }

    fn statuses(&self, cfg: &Config, now: Instant) -> Vec<ProviderStatus> {
        Router::statuses(self, cfg, now)
    }

    fn reset(&self, provider: &str) {
        Router::reset(self, provider)
    }

    fn retain(&self, cfg: &Config) {
        Router::retain(self, cfg)
    }

    fn key_order(&self, provider: &str, n: usize, now: Instant) -> Vec<usize> {
        self.keys.order(provider, n, now)
    }

    fn key_failed(&self, provider: &str, slot: usize, failure: &Failure, now: Instant) -> Duration {
        self.keys.failed(provider, slot, failure, now)
    }

    fn key_succeeded(&self, provider: &str, slot: usize) {
        self.keys.succeeded(provider, slot)
    }

    fn key_next_back(&self, provider: &str, n: usize, now: Instant) -> Option<Duration> {
        self.keys.next_back(provider, n, now)
    }

    fn key_states(&self, provider: &str, n: usize, now: Instant) -> Vec<SlotState> {
        self.keys.states(provider, n, now)
    }
}

impl UsageLedger for Usage {
    fn record(
        &self,
        cfg: &Config,
        provider: &str,
        upstream_model: &str,
        tokens: TokenCounts,
        now: DateTime<Utc>,
    ) -> Vec<Event> {
        Usage::record(self, cfg, provider, upstream_model, tokens, now)
    }

    fn spent(&self, provider: &str, period: Period, now: DateTime<Utc>) -> f64 {
        Usage::spent(self, provider, period, now)
    }

    fn over_budget(&self, p: &Provider, now: DateTime<Utc>) -> Option<Over> {
        Usage::over_budget(self, p, now)
    }

    fn check(&self, p: &Provider, now: DateTime<Utc>) -> Vec<Event> {
        Usage::check(self, p, now)
    }

    fn report(&self, cfg: &Config, days: u32, now: DateTime<Utc>) -> UsageReport {
        Usage::report(self, cfg, days, now)
    }

    fn flush(&self) -> Result<(), UsageError> {
        Usage::flush(self)
    }
}

impl RateLimits for Tokens {
    fn admit(
        &self,
        name: &str,
        rate_per_minute: Option<u32>,
        now: Instant,
    ) -> BoxFuture<'_, Result<(), Duration>> {
        Box::pin(ready(Tokens::admit(self, name, rate_per_minute, now)))
    }
}

impl AnswerCache for ResponseCache {
    fn get(&self, key: &Key, cfg: &CacheConfig) -> BoxFuture<'_, Option<Cached>> {
        Box::pin(ready(ResponseCache::get(self, key, cfg)))
    }

    fn put(&self, key: Key, value: Cached, cfg: &CacheConfig) {
        ResponseCache::put(self, key, value, cfg)
    }

    fn clear(&self) -> usize {
        ResponseCache::clear(self)
    }

    fn stats(&self, cfg: &CacheConfig) -> CacheStats {
        ResponseCache::stats(self, cfg)
    }
}

/// Events within this process: a broadcast channel (a slow listener misses events rather than
/// slowing requests down), and one with each event's replica for the listeners that show it.
pub struct LocalEvents {
    tx: broadcast::Sender<Event>,
    stamped: broadcast::Sender<Stamped>,
}

impl LocalEvents {
    /// A channel keeping the last `capacity` events for slow listeners.
    pub fn new(capacity: usize) -> Self {
        LocalEvents {
            tx: broadcast::channel(capacity).0,
            stamped: broadcast::channel(capacity).0,
        }
    }

    /// Send an event that happened on replica `node` (team mode).
    pub fn emit_from(&self, node: Option<Arc<str>>, event: Event) {
        if self.stamped.receiver_count() > 0 {
            let _ = self.stamped.send(Stamped {
                node,
                event: event.clone(),
            });
        }
        let _ = self.tx.send(event);
    }
}

impl EventBus for LocalEvents {
    fn emit(&self, event: Event) {
        self.emit_from(None, event);
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    fn subscribe_stamped(&self) -> broadcast::Receiver<Stamped> {
        self.stamped.subscribe()
    }

    fn has_listeners(&self) -> bool {
        self.tx.receiver_count() > 0 || self.stamped.receiver_count() > 0
    }
}
