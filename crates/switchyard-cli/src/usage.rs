//! `switchyard usage` and `switchyard cache`: usage, cost and budgets, and the response cache
//! of a running Switchyard.

use serde_json::Value;

use crate::admin::{call, Target};

/// What `switchyard cache` does.
#[derive(clap::Subcommand)]
pub enum CacheAction {
    /// Entries, bytes and hit rate.
    Status {
        #[command(flatten)]
        target: Target,
    },
    /// Forget every cached answer.
    Clear {
        #[command(flatten)]
        target: Target,
    },
}

/// A cost figure: unknown when no request of the row had a price, a lower bound when some had
/// none.
pub fn cost(c: &Value) -> String {
    let requests = c["requests"].as_u64().unwrap_or(0);
    let unpriced = c["unpriced"].as_u64().unwrap_or(0);
    let usd = c["cost_usd"].as_f64().unwrap_or(0.0);
    if requests > 0 && unpriced == requests {
        "unknown".into()
    } else if unpriced > 0 {
        format!(">= ${usd:.4}")
    } else {
        format!("${usd:.4}")
    }
}

fn tokens(c: &Value) -> String {
    let t = &c["tokens"];
    let n = |k: &str| t[k].as_u64().unwrap_or(0);
    format!(
        "{}/{}/{}/{}",
        n("input"),
        n("output"),
        n("cache_read"),
        n("cache_write")
    )
}

/// `switchyard usage [--days N] [--json]`.
pub async fn run(target: &Target, days: u32, json: bool) -> Result<(), String> {
    let v = call(
        target,
        reqwest::Method::GET,
        &format!("/api/usage?days={days}"),
        None,
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(());
    }
    println!(
        "Usage {} .. {} (UTC); tokens are input/output/cache read/cache write; costs are estimates",
        v["from"].as_str().unwrap_or("?"),
        v["to"].as_str().unwrap_or("?")
    );
    println!();
    println!(
        "{:<18} {:<28} {:>10} {:>12} {:>12} {:>12}  TOKENS (30 D)",
        "PROVIDER", "MODEL", "REQ (30 D)", "TODAY", "THIS MONTH", "LAST 30 D"
    );
    let mut any = false;
    for r in v["summary"].as_array().into_iter().flatten() {
        any = true;
        println!(
            "{:<18} {:<28} {:>10} {:>12} {:>12} {:>12}  {}",
            r["provider"].as_str().unwrap_or("?"),
            r["model"].as_str().unwrap_or("?"),
            r["last_30_days"]["requests"].as_u64().unwrap_or(0),
            cost(&r["today"]),
            cost(&r["month"]),
            cost(&r["last_30_days"]),
            tokens(&r["last_30_days"]),
        );
    }
    if !any {
        println!("(no requests recorded yet)");
    }
    let t = &v["totals"];
    println!();
    println!(
        "last {days} days: {} requests, {} tokens, {}",
        t["requests"].as_u64().unwrap_or(0),
        tokens(t),
        cost(t)
    );
    let budgets = v["budgets"].as_array().cloned().unwrap_or_default();
    if !budgets.is_empty() {
        println!();
        println!(
            "{:<18} {:>22} {:>22}  STATE",
            "BUDGET", "TODAY", "THIS MONTH"
        );
        for b in budgets {
            let part = |spent: &str, limit: &str| match b[limit].as_f64() {
                Some(l) => format!("${:.2} of ${l:.2}", b[spent].as_f64().unwrap_or(0.0)),
                None => "-".into(),
            };
            let state = match b["over"].as_str() {
                Some("day") => "over the daily budget: skipped until 00:00 UTC",
                Some("month") => "over the monthly budget: skipped until the 1st",
                _ => "ok",
            };
            println!(
                "{:<18} {:>22} {:>22}  {state}",
                b["provider"].as_str().unwrap_or("?"),
                part("daily_spent_usd", "daily_limit_usd"),
                part("monthly_spent_usd", "monthly_limit_usd"),
            );
        }
    }
    Ok(())
}

/// `switchyard cache status|clear`.
pub async fn cache(action: CacheAction) -> Result<(), String> {
    match action {
        CacheAction::Status { target } => {
            let v = call(&target, reqwest::Method::GET, "/api/status", None).await?;
            let c = &v["cache"];
            println!(
                "response cache: {} — {} entries, {} bytes, {} hits, {} misses ({:.0}% hit rate)",
                if c["enabled"].as_bool() == Some(true) {
                    "on"
                } else {
                    "off ([cache] enabled = false)"
                },
                c["entries"].as_u64().unwrap_or(0),
                c["bytes"].as_u64().unwrap_or(0),
                c["hits"].as_u64().unwrap_or(0),
                c["misses"].as_u64().unwrap_or(0),
                c["hit_rate"].as_f64().unwrap_or(0.0) * 100.0
            );
        }
        CacheAction::Clear { target } => {
            let v = call(&target, reqwest::Method::DELETE, "/api/cache", None).await?;
            println!(
                "cleared {} cached answers",
                v["cleared"].as_u64().unwrap_or(0)
            );
        }
    }
    Ok(())
}
