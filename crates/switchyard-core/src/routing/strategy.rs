//! The order a request tries providers in, when it is not pinned: a matching rule's provider
//! first, then (under the spreading strategies) the session's sticky provider, providers due a
//! half-open trial, and the strategy's pick among the healthy ones; everything else follows in
//! priority order as failover. Cooldowns are applied afterwards by `Router::plan`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::breaker::{Breaker, State};
use super::sticky::Sticky;
use crate::config::{Config, Provider, Strategy};

/// Weight of the newest sample in the time-to-first-byte moving average.
pub const EWMA_ALPHA: f64 = 0.3;
/// A provider not measured for this long counts as unmeasured again and is re-tried, so a
/// provider that was slow once is not avoided forever.
pub const LATENCY_STALE: Duration = Duration::from_secs(300);

/// What the router knows about a request before planning it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestCtx<'a> {
    /// `x-claude-code-session-id`, if the client sent one.
    pub session: Option<&'a str>,
    /// The provider a scenario rule chose.
    pub rule_provider: Option<&'a str>,
}

/// What happened on a successful attempt, for the strategies' bookkeeping.
#[derive(Debug, Clone, Copy, Default)]
pub struct Served<'a> {
    /// Time from sending the attempt to its first byte.
    pub ttfb: Option<Duration>,
    /// The request's session id.
    pub session: Option<&'a str>,
    /// The strategy in force (decides what is recorded).
    pub strategy: Strategy,
    /// Sticky sessions are on.
    pub sticky: bool,
    /// The request took the normal route (no rule): it may change the "active" provider.
    pub track_active: bool,
}

/// Counters and measurements behind the spreading strategies.
#[derive(Default)]
pub struct SpreadState {
    next: usize,
    /// Smooth weighted round-robin: each provider's current weight.
    current: HashMap<String, i64>,
    /// Moving average time to first byte (ms) and when it was last updated.
    ewma: HashMap<String, (f64, Instant)>,
    /// Session -> provider.
    pub sticky: Sticky,
}

impl SpreadState {
    /// Record a success's measurements.
    pub fn served(&mut self, id: &str, s: &Served<'_>, now: Instant) {
        if s.strategy == Strategy::Failover {
            return;
        }
        if s.strategy == Strategy::LeastLatency {
            if let Some(t) = s.ttfb {
                let ms = t.as_secs_f64() * 1000.0;
                match self.ewma.get_mut(id) {
                    Some((v, at)) => {
                        *v = EWMA_ALPHA * ms + (1.0 - EWMA_ALPHA) * *v;
                        *at = now;
                    }
                    None => {
                        self.ewma.insert(id.to_string(), (ms, now));
                    }
                }
            }
        }
        if s.sticky {
            if let Some(session) = s.session {
                self.sticky.bind(session, id, now);
            }
        }
    }

    /// The moving average time to first byte of a provider, ms.
    pub fn latency_ms(&self, id: &str) -> Option<f64> {
        self.ewma.get(id).map(|(v, _)| *v)
    }

    /// Forget providers that are gone.
    pub fn retain(&mut self, cfg: &Config) {
        self.current.retain(|id, _| cfg.provider(id).is_some());
        self.ewma.retain(|id, _| cfg.provider(id).is_some());
        self.sticky.retain(|id| cfg.provider(id).is_some());
    }

    /// Order the enabled providers for a request that is not pinned.
    pub fn order<'c>(
        &mut self,
        cfg: &'c Config,
        ctx: &RequestCtx<'_>,
        breakers: &HashMap<String, Breaker>,
        now: Instant,
    ) -> Vec<&'c Provider> {
        let strategy = cfg.routing.strategy;
        let enabled = || cfg.providers.iter().filter(|p| p.enabled);
        let rule = ctx
            .rule_provider
            .and_then(|id| cfg.provider(id))
            .filter(|p| p.enabled);
        if strategy == Strategy::Failover && rule.is_none() {
            return enabled().collect();
        }
        let state = |p: &Provider| {
            breakers
                .get(&p.id)
                .map_or(State::Available, |b| b.state(now))
        };
        let healthy = |p: &Provider| state(p) == State::Available;
        let mut out: Vec<&Provider> = Vec::with_capacity(cfg.providers.len());
        let placed = |out: &[&Provider], p: &Provider| out.iter().any(|x| std::ptr::eq(*x, p));
        out.extend(rule);
        if strategy != Strategy::Failover {
            if let Some(session) = ctx.session.filter(|_| cfg.routing.sticky_sessions) {
                let bound = self
                    .sticky
                    .get(session, now)
                    .and_then(|id| cfg.provider(id));
                if let Some(p) = bound.filter(|p| p.enabled && healthy(p) && !placed(&out, p)) {
                    out.push(p);
                }
            }
            // A recovering provider gets its trial first, so it rejoins the rotation.
            for p in enabled() {
                if state(p) == State::HalfOpen && !placed(&out, p) {
                    out.push(p);
                }
            }
            if !out.iter().any(|p| healthy(p)) {
                let pick = self.pick(strategy, enabled().filter(|p| healthy(p)), now);
                out.extend(pick);
            }
        }
        for p in enabled() {
            if !placed(&out, p) {
                out.push(p);
            }
        }
        out
    }

    /// The strategy's choice among the healthy providers (in priority order).
    fn pick<'c>(
        &mut self,
        strategy: Strategy,
        healthy: impl Iterator<Item = &'c Provider> + Clone,
        now: Instant,
    ) -> Option<&'c Provider> {
        match strategy {
            Strategy::Failover => healthy.clone().next(),
            Strategy::RoundRobin => {
                let n = healthy.clone().count();
                if n == 0 {
                    return None;
                }
                let i = self.next % n;
                self.next = self.next.wrapping_add(1);
                healthy.clone().nth(i)
            }
            Strategy::Weighted => {
                // Smooth weighted round-robin: exact shares, evenly interleaved.
                let mut total = 0i64;
                let mut best: Option<(&Provider, i64)> = None;
                for p in healthy.filter(|p| p.weight > 0) {
                    let w = i64::from(p.weight);
                    total += w;
                    let cur = match self.current.get_mut(&p.id) {
                        Some(c) => {
                            *c += w;
                            *c
                        }
                        None => {
                            self.current.insert(p.id.clone(), w);
                            w
                        }
                    };
                    if best.is_none_or(|(_, b)| cur > b) {
                        best = Some((p, cur));
                    }
                }
                let (p, _) = best?;
                if let Some(c) = self.current.get_mut(&p.id) {
                    *c -= total;
                }
                Some(p)
            }
            Strategy::LeastLatency => {
                // Unmeasured (or long unmeasured) providers first, so every one gets measured.
                let fresh = |id: &str| {
                    self.ewma
                        .get(id)
                        .filter(|(_, at)| now.saturating_duration_since(*at) < LATENCY_STALE)
                        .map(|(v, _)| *v)
                };
                if let Some(p) = healthy.clone().find(|p| fresh(&p.id).is_none()) {
                    return Some(p);
                }
                healthy.min_by(|a, b| {
                    let la = fresh(&a.id).unwrap_or(f64::MAX);
                    let lb = fresh(&b.id).unwrap_or(f64::MAX);
                    la.total_cmp(&lb)
                })
            }
        }
    }
}
