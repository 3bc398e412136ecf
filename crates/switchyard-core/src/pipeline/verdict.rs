//! What an attempt's outcome means for everyone else: the breaker's feedback (cooldowns, a
//! closed breaker), the strategies' measurements, and the events a person sees: a provider
//! cooling down, a refused key, traffic moving to a backup (failover) or back (recovered).
//! This is the product's core behaviour; it is decided here, once, for every dialect.

use std::time::{Duration, Instant};

use super::context::{Failed, RequestCtx};
use crate::config::{Config, Credential, Provider, Strategy};
use crate::engine::Engine;
use crate::events::{Event, FailoverReason};
use crate::routing::{Failure, Served};

/// A provider failed: cool it down (unless `cool` is false) and tell listeners.
pub(crate) fn failed(e: &Engine, p: &Provider, f: &Failure, cool: bool) {
    tracing::warn!(provider = %p.id, reason = ?f.reason, status = ?f.status, "attempt failed: {}", f.message);
    if matches!(f.reason, FailoverReason::KeyRejected)
        && matches!(p.credential, Credential::Keychain)
    {
        // The stored key may have been replaced since we cached it.
        e.secrets().invalidate_one(&p.id);
    }
    if !cool {
        return;
    }
    let (_, until) = e.routing().failed(&p.id, f, Instant::now());
    e.stats().cooldown(&p.id);
    e.emit(Event::CoolingDown {
        provider: p.id.clone(),
        reason: f.reason,
        until,
        status: f.status,
        message: f.message.clone(),
    });
    if matches!(
        f.reason,
        FailoverReason::KeyRejected | FailoverReason::KeyMissing
    ) {
        e.emit(Event::KeyProblem {
            provider: p.id.clone(),
            reason: f.reason,
        });
    }
}

/// Whether a failure should cool the provider down for everyone. A passthrough provider that
/// refuses the client's own credential, or a conversation too long for its window, says
/// nothing about the provider: fail over, but don't cool it down.
pub(crate) fn cools(p: &Provider, f: &Failure) -> bool {
    let own_key_refused =
        matches!(p.credential, Credential::Passthrough) && f.reason == FailoverReason::KeyRejected;
    // A conversation too long for the window is the request's fault, not the provider's.
    !own_key_refused && f.reason != FailoverReason::ContextOverflow
}

/// `p` served the request of `ctx` (its first byte came after `ttfb`): close its breaker,
/// feed the strategies and, when traffic moved, say so once.
pub(crate) fn served(ctx: &RequestCtx, p: &Provider, ttfb: Duration, pinned: bool) {
    let e = &*ctx.engine;
    let cfg = &*ctx.cfg;
    // Only requests the strategy routed say where traffic is: a rule or a pin chose for this
    // request alone, so neither moves the active provider nor binds the session. Nor does a
    // conversation too long for the providers before: it says nothing about them (the next,
    // shorter request goes back to them), and telling it would notify on every long request.
    let overflow_only = !ctx.failed.is_empty()
        && ctx
            .failed
            .iter()
            .all(|f| f.failure.reason == FailoverReason::ContextOverflow);
    let by_strategy = ctx.rule.is_none() && !pinned && !overflow_only;
    let served = Served {
        ttfb: Some(ttfb),
        session: ctx.session(),
        strategy: cfg.routing.strategy,
        sticky: cfg.routing.sticky_sessions && by_strategy,
        track_active: ctx.rule.is_none() && !overflow_only,
    };
    let prev = e.routing().served(&p.id, &served);
    if overflow_only {
        return;
    }
    if cfg.routing.strategy != Strategy::Failover || !served.track_active {
        // Spread or rule-routed: there is no priority order to compare with, so only a
        // failed attempt before this one is a failover.
        if let Some(f) = ctx.failed.first() {
            e.stats().failover(&f.provider);
            e.emit(Event::Failover {
                from: f.provider.clone(),
                to: p.id.clone(),
                reason: f.failure.reason,
                retry_at: None,
            });
        }
        return;
    }
    let Some(prev) = prev else {
        return;
    };
    moved(e, cfg, p, &ctx.failed, prev);
}

/// The active provider changed from `prev` to `p`: a failover when `p` ranks lower, a recovery
/// when it ranks higher.
fn moved(e: &Engine, cfg: &Config, p: &Provider, failed: &[Failed], prev: Option<String>) {
    let rank = |id: &str| {
        cfg.providers
            .iter()
            .position(|x| x.id == id)
            .unwrap_or(usize::MAX)
    };
    let from = prev
        .clone()
        .or_else(|| failed.first().map(|f| f.provider.clone()));
    match from {
        Some(from) if rank(&from) < rank(&p.id) => {
            let reason = failed
                .iter()
                .find(|f| f.provider == from)
                .map(|f| f.failure.reason)
                .or_else(|| failed.first().map(|f| f.failure.reason))
                .unwrap_or(FailoverReason::Unreachable);
            let retry_at = e
                .routing()
                .statuses(cfg, Instant::now())
                .into_iter()
                .find(|s| s.id == from)
                .and_then(|s| s.cooldown_until);
            e.stats().failover(&from);
            tracing::warn!(from = %from, to = %p.id, ?reason, "failover");
            e.emit(Event::Failover {
                from,
                to: p.id.clone(),
                reason,
                retry_at,
            });
        }
        Some(from) if rank(&from) > rank(&p.id) && prev.is_some() => {
            tracing::info!(provider = %p.id, from = %from, "back on a higher-priority provider");
            e.emit(Event::Recovered {
                provider: p.id.clone(),
                from: Some(from),
            });
        }
        _ => {}
    }
}
