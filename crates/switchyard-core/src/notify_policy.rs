//! Which engine events deserve a desktop notification, and how often: each kind has its own
//! switch in `[notifications]` and is shown at most once per `min_interval_secs`, so a flapping
//! provider makes no storm. The desktop shell renders and shows what this admits; the chaos
//! soak bench counts what it admits.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::Event;

/// The kinds of notification, each with its own switch in `config.notifications`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Traffic moved to a backup.
    Failover,
    /// Traffic returned to a higher-priority provider.
    Recovered,
    /// Nothing could serve.
    AllDown,
    /// A key was refused or is missing.
    KeyProblem,
    /// A provider went over a budget.
    Budget,
}

impl Kind {
    /// The kind of notification an event would make, if any.
    pub fn of(ev: &Event) -> Option<Kind> {
        match ev {
            Event::Failover { .. } => Some(Kind::Failover),
            Event::Recovered { .. } => Some(Kind::Recovered),
            Event::AllDown { .. } => Some(Kind::AllDown),
            Event::KeyProblem { .. } => Some(Kind::KeyProblem),
            Event::BudgetExceeded { .. } => Some(Kind::Budget),
            _ => None,
        }
    }

    /// The kind for an event's name on `/api/events` (`failover`, `recovered`, `all_down`,
    /// `key_problem`, `budget_exceeded`), for listeners outside the process.
    pub fn of_event_name(name: &str) -> Option<Kind> {
        match name {
            "failover" => Some(Kind::Failover),
            "recovered" => Some(Kind::Recovered),
            "all_down" => Some(Kind::AllDown),
            "key_problem" => Some(Kind::KeyProblem),
            "budget_exceeded" => Some(Kind::Budget),
            _ => None,
        }
    }

    /// Switched on in `cfg.notifications`.
    pub fn enabled(self, cfg: &Config) -> bool {
        let n = &cfg.notifications;
        match self {
            Kind::Failover => n.failover,
            Kind::Recovered => n.recovered,
            Kind::AllDown => n.all_down,
            Kind::KeyProblem => n.key_problem,
            Kind::Budget => n.budget,
        }
    }
}

/// Remembers when each kind was last admitted.
#[derive(Debug, Default)]
pub struct NotifyPolicy {
    last: HashMap<Kind, Instant>,
}

impl NotifyPolicy {
    /// Whether `ev` gets a notification at `now`: its kind must be switched on and not shown
    /// within the last `min_interval_secs`. Admitting it starts that kind's interval.
    pub fn admit(&mut self, ev: &Event, cfg: &Config, now: Instant) -> Option<Kind> {
        self.admit_kind(Kind::of(ev)?, cfg, now)
    }

    /// [`NotifyPolicy::admit`] for an event already known by its kind.
    pub fn admit_kind(&mut self, kind: Kind, cfg: &Config, now: Instant) -> Option<Kind> {
        if !kind.enabled(cfg) {
            return None;
        }
        // The engine announces each budget once per period already: no rate limit on top,
        // so a second provider's budget is not swallowed.
        let gap = match kind {
            Kind::Budget => Duration::ZERO,
            _ => Duration::from_secs(cfg.notifications.min_interval_secs),
        };
        if self
            .last
            .get(&kind)
            .is_some_and(|last| now.saturating_duration_since(*last) < gap)
        {
            return None;
        }
        self.last.insert(kind, now);
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FailoverReason;

    fn failover() -> Event {
        Event::Failover {
            from: "a".into(),
            to: "b".into(),
            reason: FailoverReason::RateLimited,
            retry_at: None,
        }
    }

    #[test]
    fn one_per_kind_per_interval_and_switches_respected() {
        let mut cfg = Config::default();
        cfg.notifications.min_interval_secs = 60;
        let mut p = NotifyPolicy::default();
        let t0 = Instant::now();
        assert_eq!(p.admit(&failover(), &cfg, t0), Some(Kind::Failover));
        assert_eq!(
            p.admit(&failover(), &cfg, t0 + Duration::from_secs(59)),
            None
        );
        let recovered = Event::Recovered {
            provider: "a".into(),
            from: Some("b".into()),
        };
        assert_eq!(
            p.admit(&recovered, &cfg, t0 + Duration::from_secs(1)),
            Some(Kind::Recovered),
            "kinds are limited separately"
        );
        assert_eq!(
            p.admit(&failover(), &cfg, t0 + Duration::from_secs(60)),
            Some(Kind::Failover)
        );
        cfg.notifications.failover = false;
        assert_eq!(
            p.admit(&failover(), &cfg, t0 + Duration::from_secs(600)),
            None
        );
        assert_eq!(p.admit(&Event::ConfigChanged, &cfg, t0), None);
        assert_eq!(Kind::of_event_name("budget_exceeded"), Some(Kind::Budget));
        assert_eq!(Kind::of_event_name("cooling_down"), None);
    }
}
