//! Desktop notifications: which engine events deserve one ([`Notifier::decide`], pure and
//! rate-limited per kind), and showing them ([`Notices`]) without ever taking the app down when
//! the system has no notification service.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::FixedOffset;
use switchyard_core::config::Config;
use switchyard_core::usage::Period;
use switchyard_core::Event;

use crate::i18n::{reason, t, tf, Lang, Text};
use crate::tray_model::clock;

pub use switchyard_core::notify_policy::Kind;
use switchyard_core::notify_policy::NotifyPolicy;

/// A notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Which kind (for rate limiting).
    pub kind: Kind,
    /// Title line.
    pub title: String,
    /// Body text.
    pub body: String,
}

/// Decides with the engine's notification policy (switches and `min_interval_secs`, so a
/// flapping provider makes no storm) and renders what it admits.
#[derive(Debug, Default)]
pub struct Notifier {
    policy: NotifyPolicy,
}

/// The words for an event (no switches, no rate limit).
pub fn render(ev: &Event, cfg: &Config, lang: Lang, tz: &FixedOffset) -> Option<Notice> {
    let name = |id: &str| {
        cfg.provider(id)
            .map(|p| p.display_name().to_string())
            .unwrap_or_else(|| id.to_string())
    };
    let kind = Kind::of(ev)?;
    let (title, body) = match ev {
        Event::Failover {
            from,
            to,
            reason: why,
            retry_at,
        } => {
            let (from, to) = (name(from), name(to));
            let why = reason(lang, *why);
            let body = match retry_at {
                Some(at) => tf(
                    lang,
                    Text::FailoverBody,
                    &[
                        ("from", &from),
                        ("to", &to),
                        ("reason", why),
                        ("time", &clock(*at, tz)),
                    ],
                ),
                None => tf(
                    lang,
                    Text::FailoverBodyNoTime,
                    &[("from", &from), ("to", &to), ("reason", why)],
                ),
            };
            (tf(lang, Text::FailoverTitle, &[("to", &to)]), body)
        }
        Event::Recovered { provider, from } => {
            let p = name(provider);
            let body = match from {
                Some(f) => tf(
                    lang,
                    Text::RecoveredBody,
                    &[("name", &p), ("from", &name(f))],
                ),
                None => tf(lang, Text::RecoveredBodyPlain, &[("name", &p)]),
            };
            (tf(lang, Text::RecoveredTitle, &[("name", &p)]), body)
        }
        Event::AllDown { retry_at } => {
            let body = match retry_at {
                Some(at) => tf(lang, Text::AllDownBody, &[("time", &clock(*at, tz))]),
                None => t(lang, Text::AllDownBodyNoTime).to_string(),
            };
            (t(lang, Text::AllDownTitle).to_string(), body)
        }
        Event::KeyProblem {
            provider,
            reason: why,
        } => {
            let p = name(provider);
            (
                tf(lang, Text::KeyProblemTitle, &[("name", &p)]),
                tf(
                    lang,
                    Text::KeyProblemBody,
                    &[("name", &p), ("reason", reason(lang, *why))],
                ),
            )
        }
        Event::BudgetExceeded {
            provider,
            period,
            spent,
            limit,
        } => {
            let p = name(provider);
            let (title, body) = match period {
                Period::Day => (Text::BudgetDayTitle, Text::BudgetDayBody),
                Period::Month => (Text::BudgetMonthTitle, Text::BudgetMonthBody),
            };
            let (spent, limit) = (format!("{spent:.2}"), format!("{limit:.2}"));
            (
                tf(lang, title, &[("name", &p)]),
                tf(
                    lang,
                    body,
                    &[("name", &p), ("spent", &spent), ("limit", &limit)],
                ),
            )
        }
        _ => return None,
    };
    Some(Notice { kind, title, body })
}

impl Notifier {
    /// The notification this event deserves now, if any: its kind must be switched on in
    /// `cfg.notifications` and not shown within the last `min_interval_secs`.
    pub fn decide(
        &mut self,
        ev: &Event,
        cfg: &Config,
        lang: Lang,
        tz: &FixedOffset,
        now: Instant,
    ) -> Option<Notice> {
        self.policy.admit(ev, cfg, now)?;
        render(ev, cfg, lang, tz)
    }
}

/// Shows notifications on the engine runtime's blocking threads: the notification service is
/// a D-Bus call that can take seconds (a daemon being started on demand, or one that hangs),
/// and nothing else may wait for it. A failure is logged once and otherwise ignored: the app
/// works without notifications, and a daemon that dies is started again by the next call.
#[derive(Clone)]
pub struct Notices {
    runtime: tokio::runtime::Handle,
    warned: Arc<AtomicBool>,
}

impl Notices {
    /// Notices shown from `runtime`'s blocking pool.
    pub fn new(runtime: tokio::runtime::Handle) -> Notices {
        Notices {
            runtime,
            warned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Shows one, in the background.
    pub fn show(&self, title: String, body: String) {
        let warned = self.warned.clone();
        self.runtime
            .spawn_blocking(move || show_now(&title, &body, &warned));
    }
}

fn show_now(title: &str, body: &str, warned: &AtomicBool) {
    let res = notify_rust::Notification::new()
        .appname("Switchyard")
        .summary(title)
        .body(body)
        .icon("network-transmit-receive")
        .timeout(notify_rust::Timeout::Milliseconds(8000))
        .show();
    match res {
        Ok(_) => {
            tracing::debug!(title, "notification shown");
            warned.store(false, Ordering::Relaxed);
        }
        Err(e) => {
            if !warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "cannot show desktop notifications ({e}); Switchyard keeps working without them"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use std::time::Duration;
    use switchyard_core::config::{Credential, Provider};
    use switchyard_core::FailoverReason;

    fn cfg() -> Config {
        let mut c = Config::default();
        let p = |id: &str, name: &str| {
            let mut x: Provider = c.providers[0].clone();
            x.id = id.into();
            x.name = Some(name.into());
            x.credential = Credential::Keychain;
            x
        };
        let a = p("claude", "Claude");
        let b = p("deepseek", "DeepSeek");
        c.providers = vec![a, b];
        c
    }

    fn tz() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).expect("offset")
    }

    fn failover() -> Event {
        Event::Failover {
            from: "claude".into(),
            to: "deepseek".into(),
            reason: FailoverReason::RateLimited,
            retry_at: Utc.with_ymd_and_hms(2026, 5, 1, 6, 5, 0).single(),
        }
    }

    #[test]
    fn failover_says_from_to_why_and_when() {
        let mut n = Notifier::default();
        let got = n
            .decide(&failover(), &cfg(), Lang::En, &tz(), Instant::now())
            .expect("notice");
        assert_eq!(got.kind, Kind::Failover);
        assert_eq!(got.title, "Switched to DeepSeek");
        assert_eq!(got.body, "Claude → DeepSeek: rate limited, retry at 14:05");

        let zh = render(&failover(), &cfg(), Lang::ZhCn, &tz()).expect("zh");
        assert_eq!(zh.title, "已切换到 DeepSeek");
        assert_eq!(zh.body, "Claude → DeepSeek：触发速率限制，14:05 重试");
    }

    #[test]
    fn every_kind_renders() {
        let c = cfg();
        let r = render(
            &Event::Recovered {
                provider: "claude".into(),
                from: Some("deepseek".into()),
            },
            &c,
            Lang::En,
            &tz(),
        )
        .expect("recovered");
        assert_eq!(r.title, "Back on Claude");
        assert_eq!(r.body, "DeepSeek → Claude: Claude has recovered");
        let d = render(&Event::AllDown { retry_at: None }, &c, Lang::En, &tz()).expect("down");
        assert_eq!(d.kind, Kind::AllDown);
        assert_eq!(d.body, "No provider can answer right now.");
        let k = render(
            &Event::KeyProblem {
                provider: "deepseek".into(),
                reason: FailoverReason::KeyRejected,
            },
            &c,
            Lang::En,
            &tz(),
        )
        .expect("key");
        assert_eq!(k.title, "Key problem: DeepSeek");
        assert_eq!(
            k.body,
            "DeepSeek: key rejected. Open Switchyard to enter a key."
        );
        assert_eq!(render(&Event::ConfigChanged, &c, Lang::En, &tz()), None);
        assert_eq!(
            render(&Event::Switched { pinned: None }, &c, Lang::En, &tz()),
            None
        );
    }

    #[test]
    fn rate_limited_per_kind() {
        let c = cfg(); // min_interval_secs = 60
        let mut n = Notifier::default();
        let t0 = Instant::now();
        assert!(n.decide(&failover(), &c, Lang::En, &tz(), t0).is_some());
        // A flapping provider: more failovers within the minute are dropped...
        for s in [1, 10, 59] {
            let at = t0 + Duration::from_secs(s);
            assert!(n.decide(&failover(), &c, Lang::En, &tz(), at).is_none());
        }
        // ...but another kind is not held back by it.
        let rec = Event::Recovered {
            provider: "claude".into(),
            from: None,
        };
        assert!(n
            .decide(&rec, &c, Lang::En, &tz(), t0 + Duration::from_secs(5))
            .is_some());
        // A minute after the last one shown, failovers show again.
        assert!(n
            .decide(
                &failover(),
                &c,
                Lang::En,
                &tz(),
                t0 + Duration::from_secs(60)
            )
            .is_some());
    }

    #[test]
    fn zero_interval_never_limits() {
        let mut c = cfg();
        c.notifications.min_interval_secs = 0;
        let mut n = Notifier::default();
        let t0 = Instant::now();
        assert!(n.decide(&failover(), &c, Lang::En, &tz(), t0).is_some());
        assert!(n.decide(&failover(), &c, Lang::En, &tz(), t0).is_some());
    }

    #[test]
    fn each_kind_can_be_switched_off() {
        let events = [
            failover(),
            Event::Recovered {
                provider: "claude".into(),
                from: None,
            },
            Event::AllDown { retry_at: None },
            Event::KeyProblem {
                provider: "claude".into(),
                reason: FailoverReason::KeyMissing,
            },
        ];
        for (i, ev) in events.iter().enumerate() {
            let mut c = cfg();
            let n = &mut c.notifications;
            match i {
                0 => n.failover = false,
                1 => n.recovered = false,
                2 => n.all_down = false,
                _ => n.key_problem = false,
            }
            let mut notifier = Notifier::default();
            assert!(
                notifier
                    .decide(ev, &c, Lang::En, &tz(), Instant::now())
                    .is_none(),
                "{ev:?} should be off"
            );
            // The others stay on.
            let other = &events[(i + 1) % events.len()];
            assert!(notifier
                .decide(other, &c, Lang::En, &tz(), Instant::now())
                .is_some());
        }
    }

    #[test]
    fn budget_notices_in_both_languages_and_their_switch() {
        let mut c = cfg();
        let ev = |provider: &str| Event::BudgetExceeded {
            provider: provider.into(),
            period: Period::Day,
            spent: 5.123,
            limit: 5.0,
        };
        let en = render(&ev("deepseek"), &c, Lang::En, &tz()).expect("budget");
        assert_eq!(en.kind, Kind::Budget);
        assert_eq!(en.title, "DeepSeek is over its daily budget");
        assert!(
            en.body.contains("$5.12") && en.body.contains("$5.00"),
            "{}",
            en.body
        );
        let zh = render(&ev("deepseek"), &c, Lang::ZhCn, &tz()).expect("budget");
        assert_eq!(zh.title, "DeepSeek 已超出每日预算");
        let month = Event::BudgetExceeded {
            provider: "claude".into(),
            period: Period::Month,
            spent: 1.0,
            limit: 1.0,
        };
        assert_eq!(
            render(&month, &c, Lang::En, &tz()).expect("month").title,
            "Claude is over its monthly budget"
        );
        // Two providers within a minute: both shown (the engine sends each once per period).
        let mut n = Notifier::default();
        let t0 = Instant::now();
        assert!(n.decide(&ev("deepseek"), &c, Lang::En, &tz(), t0).is_some());
        assert!(n.decide(&month, &c, Lang::En, &tz(), t0).is_some());
        c.notifications.budget = false;
        assert!(Notifier::default()
            .decide(&ev("deepseek"), &c, Lang::En, &tz(), t0)
            .is_none());
    }

    #[test]
    fn a_dropped_notice_does_not_restart_the_window() {
        let c = cfg();
        let mut n = Notifier::default();
        let t0 = Instant::now();
        assert!(n.decide(&failover(), &c, Lang::En, &tz(), t0).is_some());
        assert!(n
            .decide(
                &failover(),
                &c,
                Lang::En,
                &tz(),
                t0 + Duration::from_secs(50)
            )
            .is_none());
        // 60 s after the one shown (not after the dropped one at 50 s).
        assert!(n
            .decide(
                &failover(),
                &c,
                Lang::En,
                &tz(),
                t0 + Duration::from_secs(61)
            )
            .is_some());
    }
}
