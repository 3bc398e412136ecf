//! Key pools: a provider with several keys rotates over them round-robin, one key per request,
//! and each key has its own cooldown. A rate-limited or refused key only takes itself out; the
//! provider cools down only when every key is cooling.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Serialize;

use super::breaker::{
    Failure, KEY_MISSING_COOLDOWN, KEY_REJECTED_COOLDOWN, MAX_BACKOFF, MAX_HINT,
    OUT_OF_CREDIT_COOLDOWN,
};
use crate::config::{Config, Credential, Provider};
use crate::events::FailoverReason;

pub use crate::config::slot_name;

/// Where one key of a pool stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySlotState {
    /// In rotation.
    Ok,
    /// Out of rotation until its cooldown ends.
    Cooling,
}

/// How many keys a provider's pool holds: `keys` for the keychain, the number of variables for
/// `env:A,B,C`, 1 otherwise.
pub fn pool_size(p: &Provider) -> usize {
    match &p.credential {
        Credential::Keychain => p.keys.max(1) as usize,
        Credential::Env(vars) => vars.split(',').count().max(1),
        Credential::Passthrough | Credential::None => 1,
    }
}

/// Failures that belong to one key rather than to the provider.
pub fn is_key_failure(reason: FailoverReason) -> bool {
    matches!(
        reason,
        FailoverReason::RateLimited
            | FailoverReason::UsageLimit
            | FailoverReason::OutOfCredit
            | FailoverReason::KeyRejected
            | FailoverReason::KeyMissing
    )
}

#[derive(Debug, Default, Clone)]
struct Slot {
    until: Option<Instant>,
    until_wall: Option<DateTime<Utc>>,
    failures: u32,
    problem: Option<String>,
}

#[derive(Debug, Default)]
struct Pool {
    next: usize,
    slots: Vec<Slot>,
}

impl Pool {
    fn sized(&mut self, n: usize) {
        self.slots.resize(n, Slot::default());
        if self.next >= n {
            self.next = 0;
        }
    }
}

/// One key's state, as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SlotState {
    /// 1-based position in the pool.
    pub slot: usize,
    /// In rotation or cooling.
    pub state: KeySlotState,
    /// End of its cooldown.
    pub cooldown_until: Option<DateTime<Utc>>,
    /// Why it was last taken out (no key material; a refused key is named by its last 4
    /// characters).
    pub problem: Option<String>,
}

/// A key's running cooldown as another replica of a team learns it (team mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotCooling {
    /// 0-based slot.
    pub slot: usize,
    /// Time left.
    pub remaining: Duration,
    /// Failures in a row.
    pub failures: u32,
    /// Why it was taken out (never key material).
    pub problem: Option<String>,
}

/// Per-provider key pools.
#[derive(Default)]
pub struct KeyPools {
    pools: Mutex<HashMap<String, Pool>>,
}

impl KeyPools {
    /// The slots to try for one request, in order: starting at the pool's round-robin cursor
    /// (which then moves on by one), skipping cooling keys. Empty when every key is cooling.
    pub fn order(&self, provider: &str, n: usize, now: Instant) -> Vec<usize> {
        if n <= 1 {
            return vec![0];
        }
        let mut pools = self.pools.lock();
        let pool = pools.entry(provider.to_string()).or_default();
        pool.sized(n);
        let start = pool.next;
        pool.next = (start + 1) % n;
        (0..n)
            .map(|i| (start + i) % n)
            .filter(|&s| pool.slots[s].until.is_none_or(|u| u <= now))
            .collect()
    }

    /// A key failed: cool it down. Returns how long.
    pub fn failed(&self, provider: &str, slot: usize, f: &Failure, now: Instant) -> Duration {
        let mut pools = self.pools.lock();
        let pool = pools.entry(provider.to_string()).or_default();
        if pool.slots.len() <= slot {
            pool.slots.resize(slot + 1, Slot::default());
        }
        let s = &mut pool.slots[slot];
        s.failures = s.failures.saturating_add(1);
        let backoff = Duration::from_secs(1u64 << s.failures.min(6)).min(MAX_BACKOFF);
        let floor = match f.reason {
            FailoverReason::KeyRejected => KEY_REJECTED_COOLDOWN,
            FailoverReason::KeyMissing => KEY_MISSING_COOLDOWN,
            FailoverReason::OutOfCredit => OUT_OF_CREDIT_COOLDOWN,
            _ => Duration::ZERO,
        };
        let cooldown = match f.hint {
            Some(h) => h.min(MAX_HINT).max(floor),
            None => backoff.max(floor),
        };
        s.until = Some(now + cooldown);
        s.until_wall = Some(Utc::now() + chrono::Duration::from_std(cooldown).unwrap_or_default());
        s.problem = Some(f.message.clone());
        cooldown
    }

    /// A key served a request.
    pub fn succeeded(&self, provider: &str, slot: usize) {
        let mut pools = self.pools.lock();
        if let Some(s) = pools.get_mut(provider).and_then(|p| p.slots.get_mut(slot)) {
            *s = Slot::default();
        }
    }

    /// How long until the first cooling key of a pool is back (None: one is available).
    pub fn next_back(&self, provider: &str, n: usize, now: Instant) -> Option<Duration> {
        let pools = self.pools.lock();
        let pool = pools.get(provider)?;
        let mut earliest: Option<Duration> = None;
        for s in pool.slots.iter().take(n) {
            match s.until {
                Some(u) if u > now => {
                    let left = u - now;
                    earliest = Some(earliest.map_or(left, |e| e.min(left)));
                }
                _ => return None,
            }
        }
        if pool.slots.len() < n {
            return None;
        }
        earliest
    }

    /// Each key's state, slot by slot.
    pub fn states(&self, provider: &str, n: usize, now: Instant) -> Vec<SlotState> {
        let pools = self.pools.lock();
        let pool = pools.get(provider);
        (0..n)
            .map(|i| {
                let s = pool
                    .and_then(|p| p.slots.get(i))
                    .cloned()
                    .unwrap_or_default();
                let cooling = s.until.is_some_and(|u| u > now);
                SlotState {
                    slot: i + 1,
                    state: if cooling {
                        KeySlotState::Cooling
                    } else {
                        KeySlotState::Ok
                    },
                    cooldown_until: if cooling { s.until_wall } else { None },
                    problem: s.problem,
                }
            })
            .collect()
    }

    /// Whether a key has failed since it last served.
    pub fn is_failing(&self, provider: &str, slot: usize) -> bool {
        self.pools
            .lock()
            .get(provider)
            .and_then(|p| p.slots.get(slot))
            .is_some_and(|s| s.failures > 0 || s.until.is_some())
    }

    /// A key's running cooldown, to tell other replicas (team mode).
    pub fn cooling(&self, provider: &str, slot: usize, now: Instant) -> Option<SlotCooling> {
        let pools = self.pools.lock();
        let s = pools.get(provider)?.slots.get(slot)?;
        slot_cooling(slot, s, now)
    }

    /// Every running key cooldown (team mode: re-published when Redis comes back).
    pub fn cooling_all(&self, now: Instant) -> Vec<(String, SlotCooling)> {
        let pools = self.pools.lock();
        pools
            .iter()
            .flat_map(|(id, pool)| {
                pool.slots
                    .iter()
                    .enumerate()
                    .filter_map(move |(i, s)| Some((id.clone(), slot_cooling(i, s, now)?)))
            })
            .collect()
    }

    /// Another replica cooled a key down (team mode), unless it already cools down longer here.
    pub fn apply_failed(&self, provider: &str, c: &SlotCooling, now: Instant) {
        let mut pools = self.pools.lock();
        let pool = pools.entry(provider.to_string()).or_default();
        if pool.slots.len() <= c.slot {
            pool.slots.resize(c.slot + 1, Slot::default());
        }
        let s = &mut pool.slots[c.slot];
        let until = now + c.remaining;
        if s.until.is_some_and(|u| u >= until) {
            return;
        }
        s.until = Some(until);
        s.until_wall =
            Some(Utc::now() + chrono::Duration::from_std(c.remaining).unwrap_or_default());
        s.failures = s.failures.max(c.failures);
        s.problem = c.problem.clone();
    }

    /// Forget a provider's key states (a key was replaced, or the user asked).
    pub fn reset(&self, provider: &str) {
        self.pools.lock().remove(provider);
    }

    /// After a config change: drop pools of providers that no longer exist.
    pub fn retain(&self, cfg: &Config) {
        self.pools.lock().retain(|id, _| cfg.provider(id).is_some());
    }
}

fn slot_cooling(slot: usize, s: &Slot, now: Instant) -> Option<SlotCooling> {
    let until = s.until.filter(|u| *u > now)?;
    Some(SlotCooling {
        slot,
        remaining: until - now,
        failures: s.failures,
        problem: s.problem.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(hint: Option<u64>) -> Failure {
        Failure {
            reason: FailoverReason::RateLimited,
            status: Some(429),
            hint: hint.map(Duration::from_secs),
            message: "rate limited".into(),
        }
    }

    #[test]
    fn rotates_round_robin() {
        let k = KeyPools::default();
        let now = Instant::now();
        let firsts: Vec<usize> = (0..6).map(|_| k.order("a", 3, now)[0]).collect();
        assert_eq!(firsts, vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(k.order("b", 1, now), vec![0]);
    }

    #[test]
    fn a_cooling_key_is_skipped_until_it_is_back() {
        let k = KeyPools::default();
        let now = Instant::now();
        k.failed("a", 0, &limited(Some(30)), now);
        for _ in 0..4 {
            assert_eq!(k.order("a", 2, now), vec![1]);
        }
        assert_eq!(k.next_back("a", 2, now), None);
        k.failed("a", 1, &limited(Some(10)), now);
        assert!(k.order("a", 2, now).is_empty());
        assert_eq!(k.next_back("a", 2, now), Some(Duration::from_secs(10)));
        let later = now + Duration::from_secs(11);
        assert_eq!(k.order("a", 2, later), vec![1]);
        let states = k.states("a", 2, later);
        assert_eq!(states[0].state, KeySlotState::Cooling);
        assert_eq!(states[1].state, KeySlotState::Ok);
        k.succeeded("a", 1);
        assert_eq!(k.states("a", 2, later)[1].problem, None);
    }

    #[test]
    fn remote_key_cooldowns_apply_and_list() {
        let (a, b) = (KeyPools::default(), KeyPools::default());
        let now = Instant::now();
        a.failed("p", 1, &limited(Some(30)), now);
        assert!(a.is_failing("p", 1) && !a.is_failing("p", 0));
        let c = a.cooling("p", 1, now).expect("cooling");
        assert_eq!(a.cooling_all(now), vec![("p".to_string(), c.clone())]);
        b.apply_failed("p", &c, now);
        assert_eq!(b.order("p", 2, now), vec![0]);
        assert_eq!(
            b.states("p", 2, now)[1].problem.as_deref(),
            Some("rate limited")
        );
        b.succeeded("p", 1);
        assert!(!b.is_failing("p", 1));
    }

    #[test]
    fn slot_names_keep_the_first_key_compatible() {
        assert_eq!(slot_name("ds", 0), "ds");
        assert_eq!(slot_name("ds", 2), "ds#3");
    }
}
