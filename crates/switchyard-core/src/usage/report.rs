//! What `GET /api/usage`, `switchyard usage` and the Usage tab show.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{Counts, Period};
use crate::config::Config;

/// One provider + upstream model over a span of days.
#[derive(Debug, Clone, Serialize)]
pub struct UsageRow {
    /// The UTC day (`None` in summaries that span several days).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<NaiveDate>,
    /// Provider id.
    pub provider: String,
    /// Upstream model.
    pub model: String,
    /// Counts. `cost_usd` covers priced requests only; `unpriced` says how many had no price.
    #[serde(flatten)]
    pub counts: Counts,
}

/// Today / this month / the last 30 days for one provider + model.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryRow {
    /// Provider id.
    pub provider: String,
    /// Upstream model.
    pub model: String,
    /// The current UTC day.
    pub today: Counts,
    /// The current UTC month.
    pub month: Counts,
    /// The last 30 UTC days, today included.
    pub last_30_days: Counts,
}

/// A provider's budgets and what it spent against them.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetState {
    /// Provider id.
    pub provider: String,
    /// Daily limit, USD.
    pub daily_limit_usd: Option<f64>,
    /// Spent today, USD.
    pub daily_spent_usd: f64,
    /// Monthly limit, USD.
    pub monthly_limit_usd: Option<f64>,
    /// Spent this month, USD.
    pub monthly_spent_usd: f64,
    /// The budget it is over, if any (it is skipped until the period ends).
    pub over: Option<Period>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct UsageReport {
    /// First day covered by `rows` and `daily`.
    pub from: NaiveDate,
    /// Last day covered (today, UTC).
    pub to: NaiveDate,
    /// Per day, provider and model, oldest first.
    pub rows: Vec<UsageRow>,
    /// Per day over everything, oldest first, one entry per day (zeros included) for charts.
    pub daily: Vec<UsageRow>,
    /// Totals over `rows`.
    pub totals: Counts,
    /// Today / month / 30 days per provider and model.
    pub summary: Vec<SummaryRow>,
    /// Every provider with a budget.
    pub budgets: Vec<BudgetState>,
    /// Where the ledger is kept (`null`: memory only).
    pub file: Option<std::path::PathBuf>,
}

pub(super) fn build(
    days: &super::Days,
    cfg: &Config,
    file: Option<&std::path::Path>,
    n_days: u32,
    now: DateTime<Utc>,
) -> UsageReport {
    let today = now.date_naive();
    let n_days = n_days.clamp(1, super::KEEP_DAYS as u32);
    let from = today - chrono::Duration::days(i64::from(n_days) - 1);
    let from_30 = today - chrono::Duration::days(29);
    let month_start = Period::Month.start(today);
    let mut rows = Vec::new();
    let mut totals = Counts::default();
    let mut daily: BTreeMap<NaiveDate, Counts> = BTreeMap::new();
    let mut d = from;
    while d <= today {
        daily.insert(d, Counts::default());
        d = d.succ_opt().unwrap_or(today + chrono::Duration::days(1));
    }
    let mut summary: BTreeMap<(String, String), [Counts; 3]> = BTreeMap::new();
    let earliest = from.min(from_30).min(month_start);
    for (day, provs) in days.range(earliest..) {
        for (prov, models) in provs {
            for (model, c) in models {
                if *day >= from && *day <= today {
                    rows.push(UsageRow {
                        day: Some(*day),
                        provider: prov.clone(),
                        model: model.clone(),
                        counts: c.clone(),
                    });
                    totals.add(c);
                    daily.entry(*day).or_default().add(c);
                }
                let s = summary.entry((prov.clone(), model.clone())).or_default();
                if *day == today {
                    s[0].add(c);
                }
                if Period::Month.contains(today, *day) {
                    s[1].add(c);
                }
                if *day >= from_30 && *day <= today {
                    s[2].add(c);
                }
            }
        }
    }
    let summary = summary
        .into_iter()
        .filter(|(_, s)| s.iter().any(|c| c.requests > 0))
        .map(|((provider, model), [t, m, l])| SummaryRow {
            provider,
            model,
            today: t,
            month: m,
            last_30_days: l,
        })
        .collect();
    let daily = daily
        .into_iter()
        .map(|(day, counts)| UsageRow {
            day: Some(day),
            provider: String::new(),
            model: String::new(),
            counts,
        })
        .collect();
    let budgets = cfg
        .providers
        .iter()
        .filter(|p| p.budget_daily_usd.is_some() || p.budget_monthly_usd.is_some())
        .map(|p| BudgetState {
            provider: p.id.clone(),
            daily_limit_usd: p.budget_daily_usd,
            daily_spent_usd: super::spent_in(days, &p.id, Period::Day, today),
            monthly_limit_usd: p.budget_monthly_usd,
            monthly_spent_usd: super::spent_in(days, &p.id, Period::Month, today),
            over: [Period::Day, Period::Month].into_iter().find(|per| {
                per.limit(p)
                    .is_some_and(|l| super::spent_in(days, &p.id, *per, today) >= l)
            }),
        })
        .collect();
    UsageReport {
        from,
        to: today,
        rows,
        daily,
        totals,
        summary,
        budgets,
        file: file.map(|p| p.to_path_buf()),
    }
}
