//! Admin routes for usage, prices and the response cache (`/api/usage`, `/api/prices`,
//! `DELETE /api/cache`), and their Prometheus lines.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use crate::engine::Engine;
use crate::usage::Period;

/// Prometheus lines for the response cache and today's / this month's estimated cost.
pub(crate) fn prometheus(e: &Engine) -> String {
    use std::fmt::Write;
    let cfg = e.config();
    let c = e.cache().stats(&cfg.cache);
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
                e.usage().spent(&p.id, period, now)
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
    let cfg = e.config();
    Ok(Json(e.usage().report(&cfg, days, Utc::now())))
}

/// `GET /api/prices`: the config's `[prices]` and the built-in estimates (edit prices with
/// `PUT /api/config`).
pub async fn prices(State(e): State<Arc<Engine>>) -> Json<serde_json::Value> {
    let cfg = e.config();
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
    let n = e.cache().clear();
    Json(json!({"success": true, "cleared": n}))
}
