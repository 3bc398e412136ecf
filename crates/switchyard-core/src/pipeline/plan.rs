//! Plan: which providers a request tries, in what order. A scenario rule may choose a provider
//! (a pin wins over rules); the router orders the rest by strategy, cooldowns and trials;
//! providers over budget are passed over; and a cached answer may make every attempt
//! unnecessary.

use std::time::Instant;

use super::budget;
use super::cache;
use super::context::RequestCtx;
use super::record::RequestLog;
use crate::cache::Fingerprint;
use crate::inbound::Reply;
use crate::routing::{rule_match::first_match, Plan, RequestCtx as RouteHints};

/// What planning decided.
pub(crate) enum Planned {
    /// Answered without any provider (every provider over budget, or a cache hit); the log
    /// entry holds what to record, and the status is the reply's.
    Answered(Reply),
    /// Try these, in order.
    Attempts {
        /// The order and trials.
        plan: Plan,
        /// A pin decided the order.
        pinned: bool,
        /// The request's cache fingerprint, when its answer may be kept.
        cache: Option<Fingerprint>,
    },
}

/// Plan the request of `ctx` (setting its routing rule); `log` gets what an answer without
/// any provider records.
pub(crate) async fn plan(ctx: &mut RequestCtx, log: &mut RequestLog) -> Planned {
    let e = ctx.engine.clone();
    let cfg = ctx.cfg.clone();
    let rule = first_match(&cfg.rules, &ctx.model, ctx.request.bytes());
    let hints = RouteHints {
        session: ctx.session(),
        rule_provider: rule.map(|(_, r)| r.provider.as_str()),
    };
    let mut plan = e.routing().plan(&cfg, &hints, Instant::now());
    let over_budget = budget::skip_over_budget(&e, &cfg, &mut plan);
    if plan.attempts.is_empty() && !over_budget.is_empty() {
        let reply = budget::over_budget_reply(&e.request_id(), &over_budget);
        log.rec().error = Some(format!(
            "over budget: {}",
            over_budget
                .iter()
                .map(|s| s.0.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return Planned::Answered(reply);
    }
    // A pin wins over rules (and their model override).
    ctx.rule = rule.filter(|_| !plan.pinned).map(|(i, _)| i);
    let unfit = super::overflow::skip_unfit(ctx, &cfg, &mut plan);
    ctx.failed.extend(unfit);
    let fp = cache::fingerprint(ctx);
    let first = plan
        .attempts
        .first()
        .and_then(|a| cfg.provider(&a.provider));
    if let (Some(fp), Some(first)) = (&fp, first) {
        if let Some(hit) = cache::lookup(ctx, fp, first).await {
            log.first_byte();
            let rec = log.rec();
            rec.provider = Some(hit.provider.clone());
            rec.upstream_model = Some(hit.upstream_model.clone());
            rec.input_tokens = hit.input_tokens;
            rec.output_tokens = hit.output_tokens;
            rec.cache_hit = true;
            return Planned::Answered(cache::hit_reply(hit));
        }
    }
    let pinned = plan.pinned;
    Planned::Attempts {
        plan,
        pinned,
        cache: fp,
    }
}
