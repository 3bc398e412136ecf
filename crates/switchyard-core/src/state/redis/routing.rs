//! Routing state across the team: the router plans locally; cooldowns, closed breakers, the
//! failover strategy's active provider, pins, resets, sticky sessions and key cooldowns are
//! published when they change (stored with their TTL), and a half-open trial takes a
//! cluster-wide lock so only one replica runs it.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use super::wire::{ms, session_hash, CoolWire, Msg, SlotWire};
use super::Team;
use crate::config::{Config, Strategy};
use crate::routing::keys::SlotState;
use crate::routing::{Failure, Plan, ProviderStatus, RequestCtx as RouteHints, Served};
use crate::state::RoutingState;

/// How long a sticky session is kept in Redis without a change (the in-process TTL).
const STICKY_TTL: Duration = crate::routing::sticky::TTL;

impl Team {
    /// Publish (and store, expiring with it) a provider's running cooldown.
    pub(super) fn publish_cooldown(&self, provider: &str, now: Instant) {
        let Some(c) = self.router.cooling(provider, now) else {
            return;
        };
        let wire = CoolWire::of(&c);
        let mut set = redis::cmd("SET");
        set.arg(self.link.keys.cool(provider))
            .arg(serde_json::to_string(&wire).unwrap_or_default())
            .arg("PX")
            .arg(ms(c.remaining));
        self.link.send(
            vec![set],
            Some(Msg::Cool {
                provider: provider.to_string(),
                c: wire,
            }),
        );
    }

    /// Publish (and store) a pool key's running cooldown.
    pub(super) fn publish_key_cooldown(&self, provider: &str, slot: usize, now: Instant) {
        let Some(c) = self.router.keys.cooling(provider, slot, now) else {
            return;
        };
        let wire = SlotWire::of(&c);
        let mut set = redis::cmd("SET");
        set.arg(self.link.keys.key_cool(provider, slot))
            .arg(serde_json::to_string(&wire).unwrap_or_default())
            .arg("PX")
            .arg(ms(c.remaining));
        self.link.send(
            vec![set],
            Some(Msg::KeyCool {
                provider: provider.to_string(),
                c: wire,
            }),
        );
    }

    /// Publish (and store) the pin.
    pub(super) fn publish_pin(&self, provider: Option<String>) {
        // "Automatic" is written out: a missing key means Redis lost it.
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.link.keys.pin())
            .arg(provider.as_deref().unwrap_or("auto"));
        self.link.send(vec![cmd], Some(Msg::Pin { provider }));
    }

    /// A trial this replica ran ended: give its lock back.
    fn release_trial(&self, provider: &str) {
        if self.claimed.lock().remove(provider) {
            let mut del = redis::cmd("DEL");
            del.arg(self.link.keys.trial(provider));
            self.link.send(vec![del], None);
        }
    }
}

impl RoutingState for Team {
    fn plan(&self, cfg: &Config, hints: &RouteHints<'_>, now: Instant) -> Plan {
        let session = hints.session.map(session_hash);
        let hints = RouteHints {
            session: session.as_deref(),
            ..*hints
        };
        self.router.plan(cfg, &hints, now)
    }

    fn claim_trial(&self, provider: &str) -> BoxFuture<'_, bool> {
        let provider = provider.to_string();
        Box::pin(async move {
            let mut inv = self.scripts.trial.prepare_invoke();
            inv.key(self.link.keys.trial(&provider))
                .arg(self.link.instance.to_string())
                .arg(self.trial_ttl_ms());
            match self.link.script::<i64>(&inv).await {
                Some(1) => {
                    self.claimed.lock().insert(provider);
                    true
                }
                // Another replica runs it.
                Some(_) => false,
                // Redis is not there: this replica's own trial slot decides (fail-open).
                None => true,
            }
        })
    }

    fn failed(&self, provider: &str, failure: &Failure, now: Instant) -> (Duration, DateTime<Utc>) {
        let r = self.router.failed(provider, failure, now);
        self.publish_cooldown(provider, now);
        self.release_trial(provider);
        r
    }

    fn served(&self, provider: &str, served: &Served<'_>) -> Option<Option<String>> {
        let was_failing = self.router.is_failing(provider);
        let session = served.session.map(session_hash);
        let now = Instant::now();
        let bound_before = match (&session, served.sticky) {
            (Some(s), true) => Some(self.router.sticky_of(s, now)),
            _ => None,
        };
        let local = Served {
            session: session.as_deref(),
            ..*served
        };
        let prev = self.router.served(provider, &local);
        if was_failing {
            let mut del = redis::cmd("DEL");
            del.arg(self.link.keys.cool(provider));
            self.link.send(
                vec![del],
                Some(Msg::Closed {
                    provider: provider.to_string(),
                }),
            );
        }
        self.release_trial(provider);
        if prev.is_some() && served.strategy == Strategy::Failover {
            let mut set = redis::cmd("SET");
            set.arg(self.link.keys.active()).arg(provider);
            self.link.send(
                vec![set],
                Some(Msg::Active {
                    provider: provider.to_string(),
                }),
            );
        }
        if let (Some(s), Some(before)) = (session, bound_before) {
            if before.as_deref() != Some(provider) {
                let mut set = redis::cmd("SET");
                set.arg(self.link.keys.sticky(&s))
                    .arg(provider)
                    .arg("PX")
                    .arg(ms(STICKY_TTL));
                self.link.send(
                    vec![set],
                    Some(Msg::Sticky {
                        session: s,
                        provider: provider.to_string(),
                    }),
                );
            }
        }
        prev
    }

    fn pin(&self, provider: Option<String>) {
        self.router.pin(provider.clone());
        if self.link.is_up() {
            self.publish_pin(provider);
        } else {
            self.pin_dirty
                .store(true, std::sync::atomic::Ordering::Release);
        }
    }

    fn pinned(&self) -> Option<String> {
        self.router.pinned()
    }

    fn active(&self) -> Option<String> {
        self.router.active()
    }

    fn current(&self, cfg: &Config, now: Instant) -> Option<String> {
        self.router.current(cfg, now)
    }

    fn statuses(&self, cfg: &Config, now: Instant) -> Vec<ProviderStatus> {
        self.router.statuses(cfg, now)
    }

    fn reset(&self, provider: &str) {
        let slots = self
            .providers
            .lock()
            .iter()
            .find(|(id, _)| id == provider)
            .map_or(1, |(_, n)| *n);
        self.router.reset(provider);
        let mut del = redis::cmd("DEL");
        del.arg(self.link.keys.cool(provider));
        for slot in 0..slots {
            del.arg(self.link.keys.key_cool(provider, slot));
        }
        self.link.send(
            vec![del],
            Some(Msg::Reset {
                provider: provider.to_string(),
            }),
        );
    }

    fn retain(&self, cfg: &Config) {
        self.router.retain(cfg);
        self.configure(cfg);
    }

    fn key_order(&self, provider: &str, n: usize, now: Instant) -> Vec<usize> {
        self.router.keys.order(provider, n, now)
    }

    fn key_failed(&self, provider: &str, slot: usize, failure: &Failure, now: Instant) -> Duration {
        let d = self.router.keys.failed(provider, slot, failure, now);
        self.publish_key_cooldown(provider, slot, now);
        d
    }

    fn key_succeeded(&self, provider: &str, slot: usize) {
        let was_failing = self.router.keys.is_failing(provider, slot);
        self.router.keys.succeeded(provider, slot);
        if was_failing {
            let mut del = redis::cmd("DEL");
            del.arg(self.link.keys.key_cool(provider, slot));
            self.link.send(
                vec![del],
                Some(Msg::KeyOk {
                    provider: provider.to_string(),
                    slot,
                }),
            );
        }
    }

    fn key_next_back(&self, provider: &str, n: usize, now: Instant) -> Option<Duration> {
        self.router.keys.next_back(provider, n, now)
    }

    fn key_states(&self, provider: &str, n: usize, now: Instant) -> Vec<SlotState> {
        self.router.keys.states(provider, n, now)
    }
}
