use super::*;
use crate::config::{Credential, ProviderKind};
use chrono::TimeZone;

fn provider(id: &str, daily: Option<f64>, monthly: Option<f64>) -> Provider {
    Provider {
        credential: Credential::None,
        budget_daily_usd: daily,
        budget_monthly_usd: monthly,
        ..Provider::new(id, ProviderKind::Anthropic, "http://x")
    }
}

fn cfg(p: Provider) -> Config {
    let mut c = Config {
        providers: vec![p],
        ..Config::default()
    };
    c.prices.insert(
        "m".into(),
        Price {
            input: 1.0,
            output: 1.0,
            cache_read: 0.0,
            cache_write: 0.0,
        },
    );
    c
}

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("date")
}

/// `usd` dollars of tokens at $1 per million.
fn tokens(usd: u64) -> Tokens {
    Tokens {
        input: usd * 1_000_000,
        ..Tokens::default()
    }
}

#[test]
fn day_budget_rolls_over_at_utc_midnight() {
    let u = Usage::open(None);
    let c = cfg(provider("a", Some(2.0), None));
    let p = &c.providers[0];
    assert!(u
        .record(&c, "a", "m", tokens(1), at(2026, 3, 9, 10))
        .is_empty());
    let ev = u.record(&c, "a", "m", tokens(1), at(2026, 3, 9, 23));
    assert_eq!(ev.len(), 1, "crossing the daily budget is announced");
    assert!(matches!(
        &ev[0],
        Event::BudgetExceeded { period: Period::Day, spent, limit, .. } if (*spent - 2.0).abs() < 1e-9 && *limit == 2.0
    ));
    assert_eq!(
        u.over_budget(p, at(2026, 3, 9, 23)).map(|o| o.period),
        Some(Period::Day)
    );
    // Announced once per period.
    assert!(u
        .record(&c, "a", "m", tokens(1), at(2026, 3, 9, 23))
        .is_empty());
    assert!(u.check(p, at(2026, 3, 9, 23)).is_empty());
    // The next UTC day starts fresh.
    assert_eq!(u.over_budget(p, at(2026, 3, 10, 0)), None);
    assert_eq!(u.spent("a", Period::Day, at(2026, 3, 10, 0)), 0.0);
}

#[test]
fn month_budget_sums_the_calendar_month_only() {
    let u = Usage::open(None);
    let c = cfg(provider("a", None, Some(3.0)));
    let p = &c.providers[0];
    u.record(&c, "a", "m", tokens(2), at(2026, 1, 31, 12));
    u.record(&c, "a", "m", tokens(1), at(2026, 2, 1, 0));
    u.record(&c, "a", "m", tokens(1), at(2026, 2, 27, 0));
    assert_eq!(u.spent("a", Period::Month, at(2026, 2, 28, 0)), 2.0);
    assert_eq!(u.over_budget(p, at(2026, 2, 28, 0)), None);
    let ev = u.record(&c, "a", "m", tokens(1), at(2026, 2, 28, 1));
    assert_eq!(ev.len(), 1);
    assert_eq!(
        u.over_budget(p, at(2026, 2, 28, 2)).map(|o| o.period),
        Some(Period::Month)
    );
    assert_eq!(
        u.over_budget(p, at(2026, 3, 1, 0)),
        None,
        "March is a new month"
    );
    assert_eq!(
        Period::Month.key(at(2026, 2, 28, 0).date_naive()),
        "2026-02"
    );
    assert_eq!(
        Period::Day.key(at(2026, 2, 28, 0).date_naive()),
        "2026-02-28"
    );
}

#[test]
fn unknown_models_count_tokens_but_no_cost() {
    let u = Usage::open(None);
    let c = cfg(provider("a", Some(0.5), None));
    u.record(&c, "a", "mystery", tokens(5), at(2026, 5, 1, 0));
    let r = u.report(&c, 7, at(2026, 5, 1, 1));
    assert_eq!(r.totals.requests, 1);
    assert_eq!(r.totals.unpriced, 1);
    assert_eq!(r.totals.cost_usd, 0.0);
    assert_eq!(r.totals.tokens.input, 5_000_000);
    assert_eq!(r.daily.len(), 7);
    assert_eq!(r.budgets.len(), 1);
    assert_eq!(r.budgets[0].over, None);
}

#[test]
fn file_round_trip_and_pruning() {
    let dir = std::env::temp_dir().join(format!("sy-usage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let conf = dir.join("config.toml");
    let c = cfg(provider("a", None, None));
    let now = Utc::now();
    {
        let u = Usage::open(Some(&conf));
        u.record(&c, "a", "m", tokens(1), now);
        u.record(
            &c,
            "a",
            "m",
            tokens(1),
            now - chrono::Duration::days(KEEP_DAYS + 5),
        );
        u.flush().expect("flush");
        assert!(dir.join(FILE_NAME).exists());
    }
    let u = Usage::open(Some(&conf));
    assert_eq!(u.spent("a", Period::Day, now), 1.0);
    assert_eq!(u.state.lock().days.len(), 1, "old days are pruned");
    std::fs::write(dir.join(FILE_NAME), b"not json").expect("write");
    let u = Usage::open(Some(&conf));
    assert_eq!(u.spent("a", Period::Day, now), 0.0);
    assert!(dir.join("usage.json.corrupt").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ever_new_model_names_are_capped_per_provider_and_day() {
    let u = Usage::open(None);
    let c = cfg(provider("a", None, None));
    for i in 0..MAX_MODELS_PER_DAY + 50 {
        u.record(&c, "a", &format!("model-{i}"), tokens(1), at(2026, 5, 1, 0));
    }
    u.record(&c, "a", "model-0", tokens(1), at(2026, 5, 1, 0));
    let r = u.report(&c, 1, at(2026, 5, 1, 1));
    assert_eq!(
        r.totals.requests,
        MAX_MODELS_PER_DAY as u64 + 51,
        "nothing is lost"
    );
    assert_eq!(r.rows.len(), MAX_MODELS_PER_DAY + 1);
    let other = r
        .rows
        .iter()
        .find(|row| row.model == OTHER_MODELS)
        .expect("the overflow row");
    assert_eq!(other.counts.requests, 50);
    let first = r
        .rows
        .iter()
        .find(|row| row.model == "model-0")
        .expect("kept");
    assert_eq!(first.counts.requests, 2, "a known model keeps its own row");
}
