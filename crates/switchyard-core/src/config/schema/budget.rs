//! Budget periods: a provider's `budget_daily_usd` and `budget_monthly_usd` apply to the UTC
//! day and the UTC calendar month.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::Provider;

/// A budget period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// The UTC day.
    Day,
    /// The UTC calendar month.
    Month,
}

impl Period {
    /// The key of the period containing `day` (`2026-11-22` or `2026-11`).
    pub fn key(self, day: NaiveDate) -> String {
        match self {
            Period::Day => day.format("%Y-%m-%d").to_string(),
            Period::Month => day.format("%Y-%m").to_string(),
        }
    }

    /// The first day of the period containing `day`.
    pub fn start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => day,
            Period::Month => day.with_day(1).unwrap_or(day),
        }
    }

    /// Does `day` fall in the period containing `now`?
    pub fn contains(self, now: NaiveDate, day: NaiveDate) -> bool {
        match self {
            Period::Day => day == now,
            Period::Month => day.year() == now.year() && day.month() == now.month(),
        }
    }

    /// The provider's limit for this period.
    pub fn limit(self, p: &Provider) -> Option<f64> {
        match self {
            Period::Day => p.budget_daily_usd,
            Period::Month => p.budget_monthly_usd,
        }
    }
}
