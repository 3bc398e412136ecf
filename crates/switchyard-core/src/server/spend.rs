//! Where the proxy meets usage, budgets and the response cache: skipping providers over
//! budget, recording what a finished request used, answering from the cache, and the admin
//! routes for all three (`/api/usage`, `/api/prices`, `DELETE /api/cache`).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Json;
use bytes::Bytes;
use chrono::{Datelike, Utc};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use crate::cache::{Cached, Fingerprint};
use crate::config::Config;
use crate::engine::Engine;
use crate::protocol::anthropic::{error_body, ErrorType};
use crate::routing::Plan;
use crate::stats::RequestRecord;
use crate::upstream::{Answer, AnswerBody};
use crate::usage::{Over, Period, Tokens};

/// The header that says whether an answer came from the cache.
pub(crate) const CACHE_HEADER: &str = "x-switchyard-cache";

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
        match e.usage.over_budget(p, now) {
            Some(over) => {
                for ev in e.usage.check(p, now) {
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
    let cfg = e.config.load();
    for ev in e
        .usage
        .record(&cfg, provider, upstream_model, tokens, Utc::now())
    {
        tracing::warn!(provider, "over budget: {ev:?}");
        e.emit(ev);
    }
}

/// Tokens of a non-streaming Anthropic-shaped answer body, split for billing.
/// A typed pass over `usage` only (no JSON tree is built for the content).
pub(crate) fn tokens_of_body(body: &[u8]) -> Tokens {
    let Some(f) = crate::upstream::classify::message_facts(body) else {
        return Tokens::default();
    };
    Tokens {
        input: f
            .input_tokens
            .saturating_sub(f.cache_read_tokens + f.cache_write_tokens),
        output: f.output_tokens,
        cache_read: f.cache_read_tokens,
        cache_write: f.cache_write_tokens,
    }
}

/// Tokens at a stream's end (its input count includes the cache reads and writes).
pub(crate) fn tokens_of_stream(end: &crate::upstream::relay::StreamEnd) -> Tokens {
    Tokens {
        input: end
            .input_tokens
            .saturating_sub(end.cache_read_tokens + end.cache_write_tokens),
        output: end.output_tokens,
        cache_read: end.cache_read_tokens,
        cache_write: end.cache_write_tokens,
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
pub(crate) fn over_budget_answer(request_id: &str, skipped: &[(String, Over)]) -> Response {
    let parts: Vec<String> = skipped.iter().map(|(id, o)| describe(id, o)).collect();
    let at = reset_at(skipped);
    let msg = format!(
        "every available provider is over its budget ({}); the first budget resets at {}. Raise budget_daily_usd / budget_monthly_usd to continue now.",
        parts.join("; "),
        at.to_rfc3339()
    );
    let body = error_body(ErrorType::RateLimit, &msg, request_id);
    let mut resp = Response::new(axum::body::Body::from(body));
    *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("x-should-retry", HeaderValue::from_static("false"));
    h.insert(
        http::header::RETRY_AFTER,
        HeaderValue::from((at - Utc::now()).num_seconds().max(1)),
    );
    resp
}

/// The fingerprint of a cacheable request when the cache is on.
pub(crate) fn fingerprint(cfg: &Config, body: &[u8], headers: &HeaderMap) -> Option<Fingerprint> {
    if !cfg.cache.enabled {
        return None;
    }
    Fingerprint::of(body, headers)
}

/// A cached answer for the first planned provider, ready to send.
pub(crate) fn cache_hit(
    e: &Engine,
    cfg: &Config,
    fp: &Fingerprint,
    provider: &str,
    client_model: &str,
) -> Option<Cached> {
    let p = cfg.provider(provider)?;
    let upstream_model = p.models.map(client_model).unwrap_or(client_model);
    e.cache.get(&fp.key(&p.id, upstream_model), &cfg.cache)
}

/// The response for a cache hit.
pub(crate) fn hit_response(c: Cached) -> Response {
    let mut resp = Response::new(axum::body::Body::from(c.body));
    *resp.headers_mut() = c.headers;
    if let Ok(v) = HeaderValue::from_str(&c.provider) {
        resp.headers_mut().insert("x-switchyard-provider", v);
    }
    resp.headers_mut()
        .insert(CACHE_HEADER, HeaderValue::from_static("hit"));
    resp
}

/// Keep a successful non-streaming answer under the route that produced it.
pub(crate) fn cache_store(
    e: &Engine,
    cfg: &Config,
    fp: &Fingerprint,
    provider: &str,
    answer: &Answer,
) {
    let AnswerBody::Full(body) = &answer.body else {
        return;
    };
    if answer.status != StatusCode::OK {
        return;
    }
    let value = Cached {
        headers: answer.headers.clone(),
        body: Bytes::clone(body),
        provider: provider.to_string(),
        upstream_model: answer.upstream_model.clone(),
        input_tokens: answer.input_tokens,
        output_tokens: answer.output_tokens,
    };
    e.cache
        .put(fp.key(provider, &answer.upstream_model), value, &cfg.cache);
}

/// The request-log entry of a request answered from the response cache.
pub(crate) fn cache_record(
    at: chrono::DateTime<Utc>,
    started: std::time::Instant,
    model: &str,
    hit: &crate::cache::Cached,
) -> RequestRecord {
    RequestRecord {
        at,
        rule: None,
        route: "messages",
        model: model.to_string(),
        provider: Some(hit.provider.clone()),
        upstream_model: Some(hit.upstream_model.clone()),
        status: 200,
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        ttfb_ms: Some(started.elapsed().as_secs_f64() * 1000.0),
        stream: false,
        attempts: vec![],
        input_tokens: hit.input_tokens,
        output_tokens: hit.output_tokens,
        error: None,
        cache_hit: true,
    }
}

/// The request-log entry of a request refused because every provider is over budget.
pub(crate) fn over_budget_record(
    at: chrono::DateTime<Utc>,
    started: std::time::Instant,
    route: &'static str,
    model: &str,
    stream: bool,
    resp: &Response,
    skipped: &[(String, crate::usage::Over)],
) -> RequestRecord {
    RequestRecord {
        at,
        rule: None,
        route,
        model: model.to_string(),
        provider: None,
        upstream_model: None,
        status: resp.status().as_u16(),
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        ttfb_ms: None,
        stream,
        attempts: vec![],
        input_tokens: 0,
        output_tokens: 0,
        error: Some(format!(
            "over budget: {}",
            skipped
                .iter()
                .map(|s| s.0.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        cache_hit: false,
    }
}

/// Prometheus lines for the response cache and today's / this month's estimated cost.
pub(crate) fn prometheus(e: &Engine) -> String {
    use std::fmt::Write;
    let cfg = e.config.load();
    let c = e.cache.stats(&cfg.cache);
    let mut out = String::new();
    let _ = writeln!(out, "# HELP switchyard_cache_hits_total Requests answered from the response cache.\n# TYPE switchyard_cache_hits_total counter\nswitchyard_cache_hits_total {}", c.hits);
    let _ = writeln!(out, "# HELP switchyard_cache_misses_total Cacheable requests that went upstream.\n# TYPE switchyard_cache_misses_total counter\nswitchyard_cache_misses_total {}", c.misses);
    let _ = writeln!(out, "# HELP switchyard_cache_entries Answers held by the response cache.\n# TYPE switchyard_cache_entries gauge\nswitchyard_cache_entries {}", c.entries);
    let _ = writeln!(out, "# HELP switchyard_cost_usd Estimated cost of priced requests in the current UTC period.\n# TYPE switchyard_cost_usd gauge");
    let now = Utc::now();
    for p in &cfg.providers {
        for (period, name) in [(Period::Day, "day"), (Period::Month, "month")] {
            let _ = writeln!(
                out,
                "switchyard_cost_usd{{provider=\"{}\",period=\"{name}\"}} {}",
                p.id,
                e.usage.spent(&p.id, period, now)
            );
        }
    }
    out
}

/// Query of `GET /api/usage`.
#[derive(Deserialize)]
pub struct UsageQuery {
    days: Option<u32>,
}

/// `GET /api/usage?days=N` (default 30): rows per day, provider and model, totals, today /
/// month / 30-day summaries and budget state.
pub async fn usage(
    State(e): State<Arc<Engine>>,
    q: Result<Query<UsageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<crate::usage::UsageReport>, ApiError> {
    let q = q.map_err(|r| ApiError::bad_request(r.body_text()))?;
    let days = q.days.unwrap_or(30);
    if days == 0 || days > crate::usage::KEEP_DAYS as u32 {
        return Err(ApiError::bad_request(format!(
            "days must be between 1 and {}",
            crate::usage::KEEP_DAYS
        )));
    }
    let cfg = e.config.load();
    Ok(Json(e.usage.report(&cfg, days, Utc::now())))
}

/// `GET /api/prices`: the config's `[prices]` and the built-in estimates (edit prices with
/// `PUT /api/config`).
pub async fn prices(State(e): State<Arc<Engine>>) -> Json<serde_json::Value> {
    let cfg = e.config.load();
    let defaults: serde_json::Map<String, serde_json::Value> = crate::usage::prices::DEFAULTS
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    Json(json!({
        "prices": cfg.prices,
        "defaults": defaults,
        "unit": "USD per million tokens",
        "note": "Built-in prices are public list prices at release time: estimates only.",
    }))
}

/// `DELETE /api/cache`: forget every cached answer.
pub async fn clear_cache(State(e): State<Arc<Engine>>) -> Json<serde_json::Value> {
    let n = e.cache.clear();
    Json(json!({"success": true, "cleared": n}))
}
