//! Usage and budgets: tokens and estimated cost per provider, upstream model and UTC day,
//! daily and monthly budgets per provider, and the `usage.json` file that keeps them across
//! restarts.
//!
//! Recording only touches memory; a background task writes the file (temp + rename) at most
//! every [`FLUSH_EVERY`] (the engine's flusher task), and [`Usage::flush`] runs once more on shutdown.

pub mod prices;
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::config::{Config, Provider};
use crate::events::Event;

pub use crate::config::Period;

pub use prices::{Price, PriceSource, Tokens};
pub use report::{BudgetState, UsageReport, UsageRow};

/// How often the file is written when something changed.
pub const FLUSH_EVERY: Duration = Duration::from_secs(3);
/// Days kept in the file.
pub const KEEP_DAYS: i64 = 400;
/// The file name, beside `config.toml`.
pub const FILE_NAME: &str = "usage.json";

/// One provider + model + day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests recorded.
    #[serde(default)]
    pub requests: u64,
    /// Tokens.
    #[serde(default)]
    pub tokens: Tokens,
    /// Estimated cost of the priced requests, USD.
    #[serde(default)]
    pub cost_usd: f64,
    /// Requests whose model had no price (their cost is unknown, not 0).
    #[serde(default)]
    pub unpriced: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.requests += o.requests;
        self.tokens.add(&o.tokens);
        self.cost_usd += o.cost_usd;
        self.unpriced += o.unpriced;
    }
}

/// A provider over one of its budgets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Over {
    /// Which budget.
    pub period: Period,
    /// Spent in the period, USD.
    pub spent: f64,
    /// The limit, USD.
    pub limit: f64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    version: u32,
    /// day -> provider -> upstream model -> counts.
    #[serde(default)]
    days: Days,
    /// provider -> period keys already notified.
    #[serde(default)]
    notified: BTreeMap<String, BTreeSet<String>>,
}

/// Why the usage file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is not a usage file.
    #[error("{path}: not a usage file ({source}); it was moved aside and usage starts fresh")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

/// The usage ledger of a running engine.
pub struct Usage {
    state: Mutex<State>,
    path: Option<PathBuf>,
    dirty: AtomicBool,
    /// Serialises file writes (the flush task and shutdown).
    writing: Mutex<()>,
}

impl Usage {
    /// A ledger kept beside `config_path` (or only in memory without one). A missing file is an
    /// empty ledger; an unreadable one is moved aside (`usage.json.corrupt`) and logged.
    pub fn open(config_path: Option<&Path>) -> Usage {
        let path = config_path.map(|c| {
            c.parent()
                .map(|d| d.join(FILE_NAME))
                .unwrap_or_else(|| PathBuf::from(FILE_NAME))
        });
        let state = match path.as_deref().map(read) {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                tracing::error!("usage: {e}");
                State::default()
            }
            None => State::default(),
        };
        Usage {
            state: Mutex::new(state),
            path,
            dirty: AtomicBool::new(false),
            writing: Mutex::new(()),
        }
    }

    /// Where the ledger is written, if anywhere.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Record one finished request and return the budget events it caused (each provider and
    /// period is announced once).
    pub fn record(
        &self,
        cfg: &Config,
        provider: &str,
        upstream_model: &str,
        tokens: Tokens,
        at: DateTime<Utc>,
    ) -> Vec<Event> {
        let price = prices::lookup(&cfg.prices, upstream_model).map(|x| x.1);
        let c = Counts {
            requests: 1,
            tokens,
            cost_usd: price.map(|p| p.cost(&tokens)).unwrap_or(0.0),
            unpriced: u64::from(price.is_none()),
        };
        let day = at.date_naive();
        {
            let mut st = self.state.lock();
            let by_provider = st.days.entry(day).or_default();
            if !by_provider.contains_key(provider) {
                by_provider.insert(provider.to_string(), BTreeMap::new());
            }
            if let Some(models) = by_provider.get_mut(provider) {
                // A client sending ever-new model names must not grow the ledger (and
                // usage.json) without bound: past the cap they are counted together.
                let key =
                    if models.contains_key(upstream_model) || models.len() < MAX_MODELS_PER_DAY {
                        upstream_model
                    } else {
                        OTHER_MODELS
                    };
                match models.get_mut(key) {
                    Some(counts) => counts.add(&c),
                    None => {
                        models.insert(key.to_string(), c.clone());
                    }
                }
            }
        }
        self.dirty.store(true, Ordering::Release);
        match cfg.provider(provider) {
            Some(p) => self.check(p, at),
            None => Vec::new(),
        }
    }

    /// Spent by a provider in the period containing `now`, USD (priced requests only).
    pub fn spent(&self, provider: &str, period: Period, now: DateTime<Utc>) -> f64 {
        spent_in(&self.state.lock().days, provider, period, now.date_naive())
    }

    /// The first budget the provider is over now (daily before monthly), if any.
    pub fn over_budget(&self, p: &Provider, now: DateTime<Utc>) -> Option<Over> {
        Usage::over_budget_with(p, |period| self.spent(&p.id, period, now))
    }

    /// [`Usage::over_budget`] with spend counted by `spent` (team mode: summed over replicas).
    pub fn over_budget_with(p: &Provider, spent: impl Fn(Period) -> f64) -> Option<Over> {
        [Period::Day, Period::Month].into_iter().find_map(|period| {
            let limit = period.limit(p)?;
            let spent = spent(period);
            (spent >= limit).then_some(Over {
                period,
                spent,
                limit,
            })
        })
    }

    /// Budget events not yet announced for this provider: one per provider and period.
    pub fn check(&self, p: &Provider, now: DateTime<Utc>) -> Vec<Event> {
        self.check_with(p, now, |period| self.spent(&p.id, period, now))
    }

    /// [`Usage::check`] with spend counted by `spent` (team mode: summed over replicas).
    pub fn check_with(
        &self,
        p: &Provider,
        now: DateTime<Utc>,
        spent: impl Fn(Period) -> f64,
    ) -> Vec<Event> {
        let mut out = Vec::new();
        for period in [Period::Day, Period::Month] {
            let Some(limit) = period.limit(p) else {
                continue;
            };
            let spent = spent(period);
            if spent < limit {
                continue;
            }
            let key = period.key(now.date_naive());
            let fresh = self
                .state
                .lock()
                .notified
                .entry(p.id.clone())
                .or_default()
                .insert(key);
            if fresh {
                self.dirty.store(true, Ordering::Release);
                out.push(Event::BudgetExceeded {
                    provider: p.id.clone(),
                    period,
                    spent,
                    limit,
                });
            }
        }
        out
    }

    /// A budget crossing another replica announced (team mode): not announced again here.
    pub fn mark_notified(&self, provider: &str, period: Period, now: DateTime<Utc>) {
        let fresh = self
            .state
            .lock()
            .notified
            .entry(provider.to_string())
            .or_default()
            .insert(period.key(now.date_naive()));
        if fresh {
            self.dirty.store(true, Ordering::Release);
        }
    }

    /// What a provider used on a day, per upstream model (team mode: published as a whole, so
    /// applying it twice changes nothing).
    pub fn provider_day(&self, day: NaiveDate, provider: &str) -> BTreeMap<String, Counts> {
        self.state
            .lock()
            .days
            .get(&day)
            .and_then(|d| d.get(provider))
            .cloned()
            .unwrap_or_default()
    }

    /// Every provider's day since `from`, oldest first (team mode: re-published when Redis
    /// comes back).
    pub fn provider_days_since(&self, from: NaiveDate) -> Vec<(NaiveDate, String)> {
        self.state
            .lock()
            .days
            .range(from..)
            .flat_map(|(d, provs)| provs.keys().map(move |p| (*d, p.clone())))
            .collect()
    }

    /// Replace what a provider used on a day (team mode: another replica's ledger, kept in
    /// memory beside this replica's own).
    pub fn set_provider_day(
        &self,
        day: NaiveDate,
        provider: &str,
        mut models: BTreeMap<String, Counts>,
    ) {
        if models.len() > MAX_MODELS_PER_DAY + 1 {
            let extra: Vec<String> = models.keys().skip(MAX_MODELS_PER_DAY).cloned().collect();
            let mut other = Counts::default();
            for k in extra {
                if let Some(c) = models.remove(&k) {
                    other.add(&c);
                }
            }
            models
                .entry(OTHER_MODELS.to_string())
                .or_default()
                .add(&other);
        }
        let mut st = self.state.lock();
        st.days
            .entry(day)
            .or_default()
            .insert(provider.to_string(), models);
        self.dirty.store(true, Ordering::Release);
    }

    /// A report over this ledger and `others` together (team mode: every replica's usage).
    pub fn report_with(
        &self,
        others: &[std::sync::Arc<Usage>],
        cfg: &Config,
        days: u32,
        now: DateTime<Utc>,
    ) -> UsageReport {
        let mut all = self.state.lock().days.clone();
        for o in others {
            for (day, provs) in o.state.lock().days.iter() {
                let into = all.entry(*day).or_default();
                for (prov, models) in provs {
                    let into = into.entry(prov.clone()).or_default();
                    for (model, c) in models {
                        into.entry(model.clone()).or_default().add(c);
                    }
                }
            }
        }
        report::build(&all, cfg, self.path(), days, now)
    }

    /// Write the file now if something changed. Safe to call from several places.
    pub fn flush(&self) -> Result<(), UsageError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let _w = self.writing.lock();
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let text = {
            let mut st = self.state.lock();
            prune(&mut st, Utc::now().date_naive());
            st.version = 1;
            serde_json::to_vec_pretty(&*st).unwrap_or_default()
        };
        write_atomic(path, &text).inspect_err(|_| self.dirty.store(true, Ordering::Release))
    }

    /// A report over the last `days` UTC days (today included).
    pub fn report(&self, cfg: &Config, days: u32, now: DateTime<Utc>) -> UsageReport {
        let st = self.state.lock();
        report::build(&st.days, cfg, self.path(), days, now)
    }
}

type Days = BTreeMap<NaiveDate, BTreeMap<String, BTreeMap<String, Counts>>>;

/// Distinct upstream models kept per provider and day; further ones are counted under
/// [`OTHER_MODELS`].
pub const MAX_MODELS_PER_DAY: usize = 100;

/// Where the models past [`MAX_MODELS_PER_DAY`] are counted.
pub const OTHER_MODELS: &str = "(other models)";

/// Spent by a provider in the period containing `today`, USD.
fn spent_in(days: &Days, provider: &str, period: Period, today: NaiveDate) -> f64 {
    days.range(period.start(today)..)
        .filter(|(d, _)| period.contains(today, **d))
        .filter_map(|(_, provs)| provs.get(provider))
        .flat_map(|models| models.values())
        .map(|c| c.cost_usd)
        .sum()
}

/// Drop days older than [`KEEP_DAYS`] and notifications of periods that are over.
fn prune(st: &mut State, today: NaiveDate) {
    let cutoff = today - chrono::Duration::days(KEEP_DAYS);
    st.days.retain(|d, _| *d > cutoff);
    let keep = [Period::Day.key(today), Period::Month.key(today)];
    for keys in st.notified.values_mut() {
        keys.retain(|k| keep.contains(k));
    }
    st.notified.retain(|_, k| !k.is_empty());
}

fn read(path: &Path) -> Result<State, UsageError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
        Err(source) => {
            return Err(UsageError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_slice(&bytes).map_err(|source| {
        let _ = std::fs::rename(path, path.with_extension("json.corrupt"));
        UsageError::Corrupt {
            path: path.to_path_buf(),
            source,
        }
    })
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), UsageError> {
    use std::io::Write;
    let io = |source| UsageError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests;
