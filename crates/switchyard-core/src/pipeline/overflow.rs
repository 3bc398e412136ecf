//! A conversation longer than a provider's window. Two decisions, both made here:
//!
//! - **plan**: a provider whose known window the conversation clearly cannot fit (the local
//!   estimate above the window by more than the estimate's own error) is skipped when another
//!   planned provider fits or has an unknown window; when none would remain, the plan is kept
//!   and the providers answer for themselves. Small requests are never parsed for this: a
//!   request of fewer bytes than the smallest window cannot hold more tokens than it.
//! - **refusal**: a provider that refused the conversation as too long (its adapter's
//!   `ContextOverflow` verdict) is not cooled down (the request is at fault, not the
//!   provider); the count it reported skips later providers with smaller windows; and its
//!   Anthropic-shaped error gets the numbers the vendor left out (our estimate, its window),
//!   because Claude Code reads "prompt is too long: N tokens > M maximum" to decide how much to
//!   compact. Each client dialect words that error its own way (`inbound/`).

use super::context::{Failed, RequestCtx};
use crate::config::{Config, Provider};
use crate::context_window;
use crate::events::FailoverReason;
use crate::protocol::anthropic::{error_body, ErrorType};
use crate::protocol::Dialect;
use crate::routing::{Failure, Plan};
use crate::translate::{overflow, token_estimate};
use crate::upstream::{FailedAnswer, Op};

/// How far above a window the local estimate must be before a provider is skipped: the
/// estimate errs high by up to about 30%.
const ESTIMATE_SLACK: f64 = 1.3;

fn window(ctx: &RequestCtx, p: &Provider) -> Option<u64> {
    context_window::for_model(p, &ctx.model)
}

fn skipped(p: &Provider, tokens: u64, window: u64, how: &str) -> Failed {
    Failed {
        provider: p.id.clone(),
        failure: Failure::new(
            FailoverReason::ContextOverflow,
            format!(
                "skipped: the conversation ({how} {tokens} tokens) does not fit its window of {window}"
            ),
        ),
        answer: None,
    }
}

/// Skip the planned providers the conversation clearly cannot fit (see the module docs).
pub(crate) fn skip_unfit(ctx: &RequestCtx, cfg: &Config, plan: &mut Plan) -> Vec<Failed> {
    if ctx.op != Op::Messages {
        return Vec::new();
    }
    let windows: Vec<Option<u64>> = plan
        .attempts
        .iter()
        .map(|a| cfg.provider(&a.provider).and_then(|p| window(ctx, p)))
        .collect();
    let Some(smallest) = windows.iter().flatten().min().copied() else {
        return Vec::new();
    };
    if ctx.request.bytes().len() as u64 <= smallest {
        return Vec::new();
    }
    let Ok(req) = ctx.request.json() else {
        return Vec::new();
    };
    let estimate = token_estimate::request_tokens(req);
    let fits = |w: &Option<u64>| w.is_none_or(|w| estimate as f64 <= w as f64 * ESTIMATE_SLACK);
    if !windows.iter().any(fits) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut i = 0;
    plan.attempts.retain(|a| {
        let w = windows[i];
        i += 1;
        match (fits(&w), w, cfg.provider(&a.provider)) {
            (false, Some(w), Some(p)) => {
                out.push(skipped(p, estimate, w, "about"));
                false
            }
            _ => true,
        }
    });
    out
}

/// The token count a provider reported when it refused this conversation as too long.
pub(crate) fn reported(ctx: &RequestCtx) -> Option<u64> {
    ctx.failed
        .iter()
        .filter(|f| f.failure.reason == FailoverReason::ContextOverflow)
        .filter_map(|f| overflow::parse(&f.failure.message)?.tokens)
        .max()
}

/// Whether `p` is skipped because an earlier provider counted more tokens than `p`'s window.
pub(crate) fn too_small(ctx: &RequestCtx, p: &Provider) -> Option<Failed> {
    let tokens = reported(ctx)?;
    let w = window(ctx, p)?;
    (tokens > w).then(|| skipped(p, tokens, w, "counted at"))
}

/// A provider's refusal for length, completed: the Anthropic error with the numbers the
/// vendor left out.
pub(crate) fn refused(
    ctx: &RequestCtx,
    p: &Provider,
    f: &mut Failure,
    answer: &mut Option<FailedAnswer>,
) {
    let Some(o) = overflow::parse(&f.message) else {
        return;
    };
    let estimate = || match ctx.request.json() {
        Ok(v) => token_estimate::request_tokens(v),
        Err(_) => (ctx.request.bytes().len() / 4) as u64,
    };
    let o = if o.tokens.is_none() || o.limit.is_none() {
        o.or(estimate(), window(ctx, p))
    } else {
        o
    };
    let message = o.anthropic_message();
    f.message = message.clone();
    if let Some(a) = answer.as_mut().filter(|a| a.dialect == Dialect::Anthropic) {
        a.body = Some(error_body(ErrorType::InvalidRequest, &message, ""));
    }
}
