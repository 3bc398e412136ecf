//! Which providers a request tries, in what order: priority order, the user's pin, cooldowns
//! and half-open trials. Routing decides; it never sends anything.

pub mod breaker;
pub mod hints;
pub mod keys;
pub mod rule_match;
pub mod sticky;
pub mod strategy;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Serialize;

use crate::config::Config;
pub use breaker::{Breaker, Cooling, Failure, State};
pub use strategy::{RequestCtx, Served};

/// One provider a request will try.
pub struct PlannedAttempt {
    /// Provider id.
    pub provider: String,
    trial: Option<TrialGuard>,
}

impl PlannedAttempt {
    /// This attempt is the half-open trial of a recovering provider.
    pub fn is_trial(&self) -> bool {
        self.trial.is_some()
    }
}

/// Holds a half-open trial slot; releases it if the request goes away without a verdict.
struct TrialGuard {
    state: Arc<Mutex<RouterState>>,
    provider: String,
}

impl Drop for TrialGuard {
    fn drop(&mut self) {
        if let Some(b) = self.state.lock().breakers.get_mut(&self.provider) {
            b.abandon_trial();
        }
    }
}

/// The attempts for one request, and when the soonest cooling provider returns.
pub struct Plan {
    /// In order.
    pub attempts: Vec<PlannedAttempt>,
    /// Earliest cooldown end among skipped providers.
    pub retry_at: Option<(Instant, DateTime<Utc>)>,
    /// A pinned provider decided the order (rules and strategies did not apply).
    pub pinned: bool,
}

/// A provider's routing state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderState {
    /// Can take requests.
    Available,
    /// Skipped until its cooldown ends.
    CoolingDown,
    /// Failing for a reason that will not pass by itself (a refused or missing key).
    Unhealthy,
    /// Turned off in the config.
    Disabled,
}

impl ProviderState {
    /// The wire name (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderState::Available => "available",
            ProviderState::CoolingDown => "cooling_down",
            ProviderState::Unhealthy => "unhealthy",
            ProviderState::Disabled => "disabled",
        }
    }
}

/// What the status API says of a provider.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderStatus {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Where it stands.
    pub state: ProviderState,
    /// Enabled in config.
    pub enabled: bool,
    /// Cooldown end.
    pub cooldown_until: Option<DateTime<Utc>>,
    /// Seconds left in the cooldown.
    pub cooldown_remaining_secs: Option<u64>,
    /// Last failure, if any.
    pub last_error: Option<LastErrorView>,
    /// Moving average time to first byte, ms (measured under `least-latency`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg_ttfb_ms: Option<f64>,
}

/// A provider's last failure, for display.
#[derive(Debug, Clone, Serialize)]
pub struct LastErrorView {
    /// When.
    pub at: DateTime<Utc>,
    /// Category.
    pub reason: crate::events::FailoverReason,
    /// Upstream status.
    pub status: Option<u16>,
    /// Message.
    pub message: String,
}

#[derive(Default)]
struct RouterState {
    pinned: Option<String>,
    breakers: HashMap<String, Breaker>,
    /// The provider that served the most recent successful request.
    active: Option<String>,
    /// Round-robin counters, weights, latency averages and sticky sessions.
    spread: strategy::SpreadState,
}

/// Routing state shared by all requests.
#[derive(Default)]
pub struct Router {
    state: Arc<Mutex<RouterState>>,
    /// Per-key state of providers with key pools.
    pub keys: keys::KeyPools,
}

impl Router {
    /// A fresh router.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The order in which providers are considered, before cooldowns.
    fn order<'c>(cfg: &'c Config, pinned: Option<&str>) -> Vec<&'c crate::config::Provider> {
        let enabled = cfg.providers.iter().filter(|p| p.enabled);
        match pinned.and_then(|id| cfg.provider(id)).filter(|p| p.enabled) {
            Some(pin) if cfg.routing.pin_fallback => std::iter::once(pin)
                .chain(enabled.filter(|p| p.id != pin.id))
                .collect(),
            Some(pin) => vec![pin],
            None => enabled.collect(),
        }
    }

    /// Plan the attempts for a request. A pin wins over rules and strategies.
    pub fn plan(&self, cfg: &Config, ctx: &RequestCtx<'_>, now: Instant) -> Plan {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        let pinned = st.pinned.as_deref().and_then(|id| cfg.provider(id));
        let is_pinned = pinned.is_some_and(|p| p.enabled);
        let order = match pinned.filter(|p| p.enabled) {
            Some(pin) => Self::order(cfg, Some(&pin.id)),
            None => st.spread.order(cfg, ctx, &st.breakers, now),
        };
        let mut attempts = Vec::new();
        let mut retry_at: Option<(Instant, DateTime<Utc>)> = None;
        let mut last_resort: Option<(Instant, String)> = None;
        for p in order {
            let b = st.breakers.entry(p.id.clone()).or_default();
            match b.state(now) {
                State::Available => attempts.push(PlannedAttempt {
                    provider: p.id.clone(),
                    trial: None,
                }),
                State::HalfOpen => {
                    if b.try_begin_trial() {
                        attempts.push(PlannedAttempt {
                            provider: p.id.clone(),
                            trial: Some(TrialGuard {
                                state: self.state.clone(),
                                provider: p.id.clone(),
                            }),
                        });
                    }
                }
                State::CoolingDown(until) => {
                    if let Some(wall) = b.until_wall(now) {
                        if retry_at.is_none_or(|(t, _)| until < t) {
                            retry_at = Some((until, wall));
                        }
                    }
                    // Our own backoff guesses are worth overriding when nothing else is left;
                    // an upstream's explicit "come back at" or a refused key is not.
                    if !b.hinted()
                        && !b.key_problem
                        && last_resort.as_ref().is_none_or(|(t, _)| until < *t)
                    {
                        last_resort = Some((until, p.id.clone()));
                    }
                }
            }
        }
        if attempts.is_empty() {
            if let Some((_, id)) = last_resort {
                attempts.push(PlannedAttempt {
                    provider: id,
                    trial: None,
                });
            }
        }
        Plan {
            attempts,
            retry_at,
            pinned: is_pinned,
        }
    }

    /// Record a success. Returns true when the provider was failing before.
    pub fn succeeded(&self, id: &str) -> bool {
        self.state
            .lock()
            .breakers
            .entry(id.into())
            .or_default()
            .success()
    }

    /// Record a failure and return the cooldown it started.
    pub fn failed(
        &self,
        id: &str,
        failure: &Failure,
        now: Instant,
    ) -> (std::time::Duration, DateTime<Utc>) {
        let mut st = self.state.lock();
        let b = st.breakers.entry(id.into()).or_default();
        let d = b.failure(failure, now);
        (d, b.until_wall(now).unwrap_or_else(Utc::now))
    }

    /// Record a success, the strategies' measurements and (for requests on the normal route)
    /// which provider served, under one lock. Returns the previous active provider when it
    /// changed.
    pub fn served(&self, id: &str, s: &Served<'_>) -> Option<Option<String>> {
        let mut st = self.state.lock();
        if let Some(b) = st.breakers.get_mut(id) {
            b.success();
        }
        st.spread.served(id, s, Instant::now());
        if !s.track_active || st.active.as_deref() == Some(id) {
            return None;
        }
        Some(st.active.replace(id.to_string()))
    }

    /// Note which provider served; returns the previous one when it changed.
    pub fn set_active(&self, id: &str) -> Option<Option<String>> {
        let mut st = self.state.lock();
        if st.active.as_deref() == Some(id) {
            return None;
        }
        Some(st.active.replace(id.to_string()))
    }

    /// The moving average time to first byte of a provider (least-latency), ms.
    pub fn latency_ms(&self, id: &str) -> Option<f64> {
        self.state.lock().spread.latency_ms(id)
    }

    /// The provider that served last.
    pub fn active(&self) -> Option<String> {
        self.state.lock().active.clone()
    }

    /// Pin a provider (`Some`) or return to automatic (`None`).
    pub fn pin(&self, id: Option<String>) {
        self.state.lock().pinned = id;
    }

    /// The pinned provider.
    pub fn pinned(&self) -> Option<String> {
        self.state.lock().pinned.clone()
    }

    /// Forget a provider's failures (its key changed, or the user asked).
    pub fn reset(&self, id: &str) {
        self.state.lock().breakers.remove(id);
        self.keys.reset(id);
    }

    /// After a config change: drop state of providers that no longer exist; unpin a removed one.
    pub fn retain(&self, cfg: &Config) {
        self.keys.retain(cfg);
        let mut st = self.state.lock();
        st.breakers.retain(|id, _| cfg.provider(id).is_some());
        st.spread.retain(cfg);
        if st
            .pinned
            .as_deref()
            .is_some_and(|id| cfg.provider(id).is_none())
        {
            st.pinned = None;
        }
    }

    /// Whether a provider has failed since it last served.
    pub fn is_failing(&self, id: &str) -> bool {
        self.state
            .lock()
            .breakers
            .get(id)
            .is_some_and(Breaker::is_failing)
    }

    /// A provider's running cooldown (team mode: to tell the other replicas).
    pub fn cooling(&self, id: &str, now: Instant) -> Option<Cooling> {
        self.state.lock().breakers.get(id)?.cooling(now)
    }

    /// Every running cooldown (team mode: re-published when Redis comes back).
    pub fn cooling_all(&self, now: Instant) -> Vec<(String, Cooling)> {
        let st = self.state.lock();
        st.breakers
            .iter()
            .filter_map(|(id, b)| Some((id.clone(), b.cooling(now)?)))
            .collect()
    }

    /// Another replica saw a provider fail (team mode): cool it down here too. No event.
    pub fn apply_cooldown(&self, id: &str, c: &Cooling, now: Instant) {
        self.state
            .lock()
            .breakers
            .entry(id.into())
            .or_default()
            .apply_remote(c, now);
    }

    /// Another replica saw a provider serve again (team mode): close its breaker here. No
    /// event.
    pub fn apply_closed(&self, id: &str) {
        if let Some(b) = self.state.lock().breakers.get_mut(id) {
            b.success();
        }
    }

    /// The provider a session is bound to, without refreshing the binding.
    pub fn sticky_of(&self, session: &str, now: Instant) -> Option<String> {
        self.state
            .lock()
            .spread
            .sticky
            .peek(session, now)
            .map(String::from)
    }

    /// Another replica bound a session to a provider (team mode).
    pub fn apply_sticky(&self, session: &str, provider: &str, now: Instant) {
        self.state.lock().spread.sticky.bind(session, provider, now);
    }

    /// The provider the next request would go to, without taking any trial slot.
    pub fn current(&self, cfg: &Config, now: Instant) -> Option<String> {
        let st = self.state.lock();
        Self::order(cfg, st.pinned.as_deref())
            .into_iter()
            .find(|p| {
                st.breakers
                    .get(&p.id)
                    .is_none_or(|b| !matches!(b.state(now), State::CoolingDown(_)))
            })
            .map(|p| p.id.clone())
    }

    /// Every configured provider's state, in config order.
    pub fn statuses(&self, cfg: &Config, now: Instant) -> Vec<ProviderStatus> {
        let st = self.state.lock();
        cfg.providers
            .iter()
            .map(|p| {
                let b = st.breakers.get(&p.id);
                let cooling = b.and_then(|b| match b.state(now) {
                    State::CoolingDown(t) => Some(t),
                    _ => None,
                });
                let state = if !p.enabled {
                    ProviderState::Disabled
                } else if b.is_some_and(|b| b.key_problem && cooling.is_some()) {
                    ProviderState::Unhealthy
                } else if cooling.is_some() {
                    ProviderState::CoolingDown
                } else {
                    ProviderState::Available
                };
                ProviderStatus {
                    id: p.id.clone(),
                    name: p.display_name().to_string(),
                    state,
                    enabled: p.enabled,
                    cooldown_until: b.and_then(|b| b.until_wall(now)),
                    cooldown_remaining_secs: cooling
                        .map(|t| t.saturating_duration_since(now).as_secs()),
                    last_error: b
                        .and_then(|b| b.last_error.as_ref())
                        .map(|e| LastErrorView {
                            at: e.at,
                            reason: e.failure.reason,
                            status: e.failure.status,
                            message: e.failure.message.clone(),
                        }),
                    avg_ttfb_ms: st.spread.latency_ms(&p.id),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Credential, Provider, ProviderKind};
    use crate::events::FailoverReason;
    use std::time::Duration;

    fn cfg(ids: &[&str]) -> Config {
        Config {
            providers: ids
                .iter()
                .map(|id| Provider {
                    credential: Credential::None,
                    ..Provider::new(*id, ProviderKind::Anthropic, "http://x")
                })
                .collect(),
            ..Config::default()
        }
    }

    fn ids(p: &Plan) -> Vec<&str> {
        p.attempts.iter().map(|a| a.provider.as_str()).collect()
    }

    fn fail(hint: Option<u64>) -> Failure {
        Failure {
            reason: FailoverReason::RateLimited,
            status: Some(429),
            hint: hint.map(Duration::from_secs),
            message: "x".into(),
        }
    }

    #[test]
    fn priority_pin_and_cooldown() {
        let c = cfg(&["a", "b", "c"]);
        let r = Router::new();
        let now = Instant::now();
        assert_eq!(
            ids(&r.plan(&c, &RequestCtx::default(), now)),
            ["a", "b", "c"]
        );
        r.pin(Some("b".into()));
        assert_eq!(
            ids(&r.plan(&c, &RequestCtx::default(), now)),
            ["b", "a", "c"]
        );
        r.pin(None);
        r.failed("a", &fail(Some(30)), now);
        let p = r.plan(&c, &RequestCtx::default(), now);
        assert_eq!(ids(&p), ["b", "c"]);
        assert!(p.retry_at.is_some());
        assert_eq!(r.current(&c, now).as_deref(), Some("b"));
        // After the cooldown: a single half-open trial, first in line again.
        let later = now + Duration::from_secs(31);
        let p1 = r.plan(&c, &RequestCtx::default(), later);
        assert_eq!(ids(&p1), ["a", "b", "c"]);
        assert!(p1.attempts[0].is_trial());
        let p2 = r.plan(&c, &RequestCtx::default(), later);
        assert_eq!(ids(&p2), ["b", "c"], "trial slot is taken");
        drop(p1);
        assert_eq!(
            ids(&r.plan(&c, &RequestCtx::default(), later)),
            ["a", "b", "c"],
            "released when abandoned"
        );
    }

    #[test]
    fn spreading_strategies_rules_sticky_and_trials() {
        use crate::config::Strategy;
        let mut c = cfg(&["a", "b", "c"]);
        c.routing.strategy = Strategy::RoundRobin;
        let r = Router::new();
        let now = Instant::now();
        let none = RequestCtx::default();
        let firsts: Vec<String> = (0..6)
            .map(|_| r.plan(&c, &none, now).attempts[0].provider.clone())
            .collect();
        assert_eq!(firsts, ["a", "b", "c", "a", "b", "c"]);
        // The rest follow in priority order.
        assert_eq!(ids(&r.plan(&c, &none, now)), ["a", "b", "c"]);
        assert_eq!(ids(&r.plan(&c, &none, now)), ["b", "a", "c"]);
        // A rule's provider goes first; the pick is not consumed.
        let rule = RequestCtx {
            rule_provider: Some("c"),
            ..none
        };
        assert_eq!(ids(&r.plan(&c, &rule, now)), ["c", "a", "b"]);
        // A cooling provider is out of the rotation; after its cooldown its trial goes first.
        r.failed("b", &fail(Some(30)), now);
        for _ in 0..4 {
            assert!(!ids(&r.plan(&c, &none, now)).contains(&"b"));
        }
        let later = now + Duration::from_secs(31);
        let p = r.plan(&c, &none, later);
        assert_eq!(p.attempts[0].provider, "b");
        assert!(p.attempts[0].is_trial());
        assert_eq!(p.attempts.len(), 3);
        drop(p);
        // Sticky: a served session comes back to its provider, ahead of the rotation.
        let s = RequestCtx {
            session: Some("s1"),
            ..none
        };
        let served = Served {
            session: Some("s1"),
            strategy: Strategy::RoundRobin,
            sticky: true,
            track_active: true,
            ttfb: None,
        };
        r.served("c", &served);
        for _ in 0..3 {
            assert_eq!(r.plan(&c, &s, later).attempts[0].provider, "c");
        }
        c.routing.sticky_sessions = false;
        let firsts: Vec<String> = (0..3)
            .map(|_| r.plan(&c, &s, later).attempts[0].provider.clone())
            .collect();
        assert_ne!(firsts, ["c", "c", "c"]);
        // A pin wins over everything.
        r.pin(Some("a".into()));
        let p = r.plan(&c, &rule, later);
        assert!(p.pinned);
        assert_eq!(ids(&p), ["a", "b", "c"]);
    }

    #[test]
    fn least_latency_measures_everyone_and_re_measures_stale_providers() {
        use crate::config::Strategy;
        let mut c = cfg(&["a", "b"]);
        c.routing.strategy = Strategy::LeastLatency;
        let r = Router::new();
        let now = Instant::now();
        let none = RequestCtx::default();
        let first = |at| r.plan(&c, &none, at).attempts[0].provider.clone();
        let served = |id: &str, ms: u64| {
            r.served(
                id,
                &Served {
                    ttfb: Some(Duration::from_millis(ms)),
                    strategy: Strategy::LeastLatency,
                    track_active: true,
                    ..Served::default()
                },
            );
        };
        assert_eq!(first(now), "a");
        served("a", 300);
        assert_eq!(first(now), "b", "unmeasured goes next");
        served("b", 100);
        assert_eq!(first(now), "b");
        assert_eq!(r.latency_ms("b"), Some(100.0));
        served("b", 1000);
        // 0.3 * 1000 + 0.7 * 100 = 370 > 300
        assert_eq!(first(now), "a");
        // Long after a's last sample, it is measured again (b would win on its average).
        served("b", 10);
        served("b", 10);
        served("b", 10);
        served("b", 10);
        served("b", 10);
        assert_eq!(first(Instant::now()), "b");
        let much_later = Instant::now() + strategy::LATENCY_STALE + Duration::from_secs(1);
        assert_eq!(first(much_later), "a");
    }

    #[test]
    fn all_cooling_tries_the_soonest_unhinted_or_nothing() {
        let c = cfg(&["a", "b"]);
        let r = Router::new();
        let now = Instant::now();
        r.failed("a", &fail(None), now);
        r.failed("b", &fail(None), now);
        r.failed("b", &fail(None), now);
        assert_eq!(ids(&r.plan(&c, &RequestCtx::default(), now)), ["a"]);
        r.failed("a", &fail(Some(100)), now);
        r.failed("b", &fail(Some(100)), now);
        let p = r.plan(&c, &RequestCtx::default(), now);
        assert!(p.attempts.is_empty());
        assert!(p.retry_at.is_some());
    }
}
