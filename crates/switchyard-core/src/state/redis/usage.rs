//! Usage and budgets across the team: each replica records into its own ledger (its own
//! `usage.json`) and publishes each provider-day it changed as a whole, at most every
//! [`PUBLISH_EVERY`]; the others keep it in memory beside their own. Spend, budgets and
//! reports count every replica's usage.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use super::wire::{usage_field, Msg};
use super::Team;
use crate::config::{Config, Provider};
use crate::events::Event;
use crate::state::UsageLedger;
use crate::usage::{Counts, Over, Period, Tokens as TokenCounts, Usage, UsageError, UsageReport};

/// How often changed usage is published.
pub(super) const PUBLISH_EVERY: Duration = Duration::from_millis(200);

impl Team {
    /// Publish (and store) this replica's day of one provider.
    pub(super) fn publish_usage(&self, day: NaiveDate, provider: &str) {
        let models = self.usage.provider_day(day, provider);
        if models.is_empty() {
            return;
        }
        let mut hset = redis::cmd("HSET");
        hset.arg(self.link.keys.usage(&self.link.node))
            .arg(usage_field(day, provider))
            .arg(serde_json::to_string(&models).unwrap_or_default());
        let mut sadd = redis::cmd("SADD");
        sadd.arg(self.link.keys.usage_nodes())
            .arg(self.link.node.as_ref());
        self.link.send(
            vec![hset, sadd],
            Some(Msg::Usage {
                day,
                provider: provider.to_string(),
                models,
            }),
        );
    }

    /// Publish the provider-days recorded since the last time (the writer's tick).
    pub(super) fn publish_dirty_usage(&self) {
        if self.link.conn().is_none() {
            // The re-sync publishes everything when Redis is back.
            return;
        }
        let dirty = std::mem::take(&mut *self.dirty_usage.lock());
        for (day, provider) in dirty {
            self.publish_usage(day, &provider);
        }
    }

    /// Another replica's day of one provider.
    pub(super) fn apply_usage(
        &self,
        node: &str,
        day: NaiveDate,
        provider: &str,
        models: std::collections::BTreeMap<String, Counts>,
    ) {
        if node == &*self.link.node {
            return;
        }
        let ledger = {
            let others = self.others.read();
            others.get(node).cloned()
        };
        let ledger = match ledger {
            Some(l) => l,
            None => self
                .others
                .write()
                .entry(node.to_string())
                .or_insert_with(|| Arc::new(Usage::open(None)))
                .clone(),
        };
        ledger.set_provider_day(day, provider, models);
    }

    fn spent_everywhere(&self, provider: &str, period: Period, now: DateTime<Utc>) -> f64 {
        let own = self.usage.spent(provider, period, now);
        own + self
            .others
            .read()
            .values()
            .map(|o| o.spent(provider, period, now))
            .sum::<f64>()
    }
}

impl UsageLedger for Team {
    fn record(
        &self,
        cfg: &Config,
        provider: &str,
        upstream_model: &str,
        tokens: TokenCounts,
        now: DateTime<Utc>,
    ) -> Vec<Event> {
        let mut events = self
            .usage
            .record(cfg, provider, upstream_model, tokens, now);
        self.dirty_usage
            .lock()
            .insert((now.date_naive(), provider.to_string()));
        if let Some(p) = cfg.provider(provider) {
            events.extend(UsageLedger::check(self, p, now));
        }
        events
    }

    fn spent(&self, provider: &str, period: Period, now: DateTime<Utc>) -> f64 {
        self.spent_everywhere(provider, period, now)
    }

    fn over_budget(&self, p: &Provider, now: DateTime<Utc>) -> Option<Over> {
        Usage::over_budget_with(p, |period| self.spent_everywhere(&p.id, period, now))
    }

    fn check(&self, p: &Provider, now: DateTime<Utc>) -> Vec<Event> {
        self.usage
            .check_with(p, now, |period| self.spent_everywhere(&p.id, period, now))
    }

    fn report(&self, cfg: &Config, days: u32, now: DateTime<Utc>) -> UsageReport {
        let others: Vec<Arc<Usage>> = self.others.read().values().cloned().collect();
        self.usage.report_with(&others, cfg, days, now)
    }

    fn flush(&self) -> Result<(), UsageError> {
        self.usage.flush()
    }
}
