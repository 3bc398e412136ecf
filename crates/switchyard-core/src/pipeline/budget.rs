//! Budgets: providers over theirs are passed over (each crossing announced once), what a
//! served request used is recorded (whatever the client's dialect), and when every provider
//! that could serve is over budget the client gets a `rate_limit_error` that names each
//! budget and when the first resets.

use bytes::Bytes;
use chrono::{Datelike, Utc};
use http::{HeaderValue, StatusCode};

use crate::config::Config;
use crate::engine::Engine;
use crate::inbound::Reply;
use crate::protocol::anthropic::{error_body, ErrorType};
use crate::routing::Plan;
use crate::usage::{Over, Period, Tokens};

/// Drop planned attempts of providers over a budget, announcing each newly crossed budget once.
/// Returns the providers skipped, in plan order.
pub(crate) fn skip_over_budget(e: &Engine, cfg: &Config, plan: &mut Plan) -> Vec<(String, Over)> {
    let now = Utc::now();
    let mut skipped = Vec::new();
    plan.attempts.retain(|a| {
        let Some(p) = cfg.provider(&a.provider) else {
            return true;
        };
        if p.budget_daily_usd.is_none() && p.budget_monthly_usd.is_none() {
            return true;
        }
        match e.usage().over_budget(p, now) {
            Some(over) => {
                for ev in e.usage().check(p, now) {
                    e.emit(ev);
                }
                skipped.push((p.id.clone(), over));
                false
            }
            None => true,
        }
    });
    skipped
}

/// Record what a served request used (answers with a 2xx status only) and announce a budget it
/// crossed. Runs on the request's own task (or at a stream's end); touches memory only.
pub(crate) fn record_usage(e: &Engine, provider: &str, upstream_model: &str, tokens: Tokens) {
    let cfg = e.config();
    for ev in e
        .usage()
        .record(&cfg, provider, upstream_model, tokens, Utc::now())
    {
        tracing::warn!(provider, "over budget: {ev:?}");
        e.emit(ev);
    }
}

/// Words for one skipped provider.
fn describe(id: &str, o: &Over) -> String {
    let period = match o.period {
        Period::Day => "daily",
        Period::Month => "monthly",
    };
    format!(
        "{id} spent ${:.2} of its ${:.2} {period} budget",
        o.spent, o.limit
    )
}

/// When the soonest of these budgets resets (the next UTC midnight or month start).
fn reset_at(skipped: &[(String, Over)]) -> chrono::DateTime<Utc> {
    let today = Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap_or(today);
    let next_month = if today.month() == 12 {
        chrono::NaiveDate::from_ymd_opt(today.year() + 1, 1, 1)
    } else {
        chrono::NaiveDate::from_ymd_opt(today.year(), today.month() + 1, 1)
    }
    .unwrap_or(tomorrow);
    let day = skipped
        .iter()
        .map(|(_, o)| match o.period {
            Period::Day => tomorrow,
            Period::Month => next_month,
        })
        .min()
        .unwrap_or(tomorrow);
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// The answer when every provider that could serve is over its budget: an Anthropic-shaped
/// `rate_limit_error` that names each budget, with `retry-after` at the soonest reset and
/// `x-should-retry: false` (retrying in seconds cannot help).
pub(crate) fn over_budget_reply(request_id: &str, skipped: &[(String, Over)]) -> Reply {
    let parts: Vec<String> = skipped.iter().map(|(id, o)| describe(id, o)).collect();
    let at = reset_at(skipped);
    let msg = format!(
        "every available provider is over its budget ({}); the first budget resets at {}. Raise budget_daily_usd / budget_monthly_usd to continue now.",
        parts.join("; "),
        at.to_rfc3339()
    );
    let body: Bytes = error_body(ErrorType::RateLimit, &msg, request_id);
    let mut resp = Reply::json(StatusCode::TOO_MANY_REQUESTS, body);
    let h = &mut resp.headers;
    h.insert("x-should-retry", HeaderValue::from_static("false"));
    h.insert(
        http::header::RETRY_AFTER,
        HeaderValue::from((at - Utc::now()).num_seconds().max(1)),
    );
    resp
}
