//! Per-provider circuit breaker: cooldowns from upstream hints or capped exponential backoff,
//! and a half-open trial when a cooldown ends.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::events::FailoverReason;

/// Longest backoff when the upstream gave no hint.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Cooldown after a rejected key (it will not fix itself; a key change resets it).
pub const KEY_REJECTED_COOLDOWN: Duration = Duration::from_secs(600);
/// Cooldown when no key is stored for a keyed provider.
pub const KEY_MISSING_COOLDOWN: Duration = Duration::from_secs(15);
/// Cooldown after "out of credit" (402).
pub const OUT_OF_CREDIT_COOLDOWN: Duration = Duration::from_secs(1800);
/// Longest cooldown we accept from an upstream hint.
pub const MAX_HINT: Duration = Duration::from_secs(7 * 24 * 3600);

/// A failure as the breaker sees it.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Category.
    pub reason: FailoverReason,
    /// Upstream status, if any.
    pub status: Option<u16>,
    /// Cooldown the upstream asked for (Retry-After, reset headers).
    pub hint: Option<Duration>,
    /// Text for people (upstream message or our description).
    pub message: String,
}

impl Failure {
    /// A failure with no upstream status and no cooldown hint.
    pub fn new(reason: FailoverReason, message: impl Into<String>) -> Self {
        Failure {
            reason,
            status: None,
            hint: None,
            message: message.into(),
        }
    }

    /// With the upstream status that caused it.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// With the cooldown the upstream asked for.
    pub fn with_hint(mut self, hint: Option<Duration>) -> Self {
        self.hint = hint;
        self
    }
}

/// Where a provider stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Ready.
    Available,
    /// Skipped until the instant.
    CoolingDown(Instant),
    /// Cooldown over; one trial request may go.
    HalfOpen,
}

/// The last failure, for status displays.
#[derive(Debug, Clone)]
pub struct LastError {
    /// What failed.
    pub failure: Failure,
    /// When.
    pub at: DateTime<Utc>,
}

/// A running cooldown as another replica of a team learns it (team mode).
#[derive(Debug, Clone)]
pub struct Cooling {
    /// Time left.
    pub remaining: Duration,
    /// Its whole length (a failed trial doubles it).
    pub length: Duration,
    /// Failures in a row.
    pub failures: u32,
    /// It came from an upstream hint.
    pub hinted: bool,
    /// A refused or missing key caused it.
    pub key_problem: bool,
    /// The failure behind it.
    pub last_error: Option<LastError>,
}

/// One provider's breaker.
#[derive(Debug, Default, Clone)]
pub struct Breaker {
    failures: u32,
    until: Option<Instant>,
    until_wall: Option<DateTime<Utc>>,
    /// The cooldown came from an upstream hint (so ignoring it would be rude or useless).
    hinted: bool,
    trial_in_flight: bool,
    last_cooldown: Duration,
    /// The key was refused or is missing: the provider is unhealthy until the user acts.
    pub key_problem: bool,
    /// The most recent failure.
    pub last_error: Option<LastError>,
}

impl Breaker {
    /// Current state.
    pub fn state(&self, now: Instant) -> State {
        match self.until {
            Some(t) if now < t => State::CoolingDown(t),
            Some(_) => State::HalfOpen,
            None => State::Available,
        }
    }

    /// Wall-clock end of the cooldown, if cooling.
    pub fn until_wall(&self, now: Instant) -> Option<DateTime<Utc>> {
        match self.state(now) {
            State::CoolingDown(_) => self.until_wall,
            _ => None,
        }
    }

    /// The end of the cooldown, if any (past or future).
    pub fn until(&self) -> Option<Instant> {
        self.until
    }

    /// The cooldown came from the upstream.
    pub fn hinted(&self) -> bool {
        self.hinted
    }

    /// Take the half-open trial slot if free. Returns false when another request holds it.
    pub fn try_begin_trial(&mut self) -> bool {
        if self.trial_in_flight {
            return false;
        }
        self.trial_in_flight = true;
        true
    }

    /// Release the trial slot without a verdict (request abandoned).
    pub fn abandon_trial(&mut self) {
        self.trial_in_flight = false;
    }

    /// A request succeeded. Returns true if this ended a cooldown or failure streak.
    pub fn success(&mut self) -> bool {
        let was_failing = self.failures > 0 || self.until.is_some();
        self.failures = 0;
        self.until = None;
        self.until_wall = None;
        self.hinted = false;
        self.trial_in_flight = false;
        self.last_cooldown = Duration::ZERO;
        self.key_problem = false;
        was_failing
    }

    /// Has failed since it last served (cooling, half-open, or a failure streak).
    pub fn is_failing(&self) -> bool {
        self.failures > 0 || self.until.is_some()
    }

    /// The running cooldown, to tell other replicas (team mode).
    pub fn cooling(&self, now: Instant) -> Option<Cooling> {
        let State::CoolingDown(until) = self.state(now) else {
            return None;
        };
        Some(Cooling {
            remaining: until - now,
            length: self.last_cooldown,
            failures: self.failures,
            hinted: self.hinted,
            key_problem: self.key_problem,
            last_error: self.last_error.clone(),
        })
    }

    /// Another replica saw the provider fail (team mode): cool down as it said, unless this
    /// breaker already cools down longer. A trial this replica runs is left alone.
    pub fn apply_remote(&mut self, c: &Cooling, now: Instant) {
        let until = now + c.remaining;
        if self.until.is_some_and(|u| u >= until) {
            return;
        }
        self.failures = self.failures.max(c.failures);
        self.until = Some(until);
        self.until_wall =
            Some(Utc::now() + chrono::Duration::from_std(c.remaining).unwrap_or_default());
        self.hinted = c.hinted;
        self.key_problem = c.key_problem;
        self.last_cooldown = c.length;
        if c.last_error.is_some() {
            self.last_error = c.last_error.clone();
        }
    }

    /// A request failed: start (or lengthen) the cooldown. Returns its length.
    pub fn failure(&mut self, f: &Failure, now: Instant) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let backoff = Duration::from_secs(1u64 << self.failures.min(6)).min(MAX_BACKOFF);
        // A failed half-open trial doubles the previous cooldown (still capped).
        let doubled = (self.last_cooldown * 2).min(MAX_BACKOFF);
        let mut cooldown = backoff.max(if self.trial_in_flight {
            doubled
        } else {
            Duration::ZERO
        });
        match f.reason {
            FailoverReason::KeyRejected => {
                cooldown = cooldown.max(KEY_REJECTED_COOLDOWN);
                self.key_problem = true;
            }
            // Short, so a key stored with the CLI while we run is picked up soon.
            FailoverReason::KeyMissing => {
                cooldown = cooldown.max(KEY_MISSING_COOLDOWN);
                self.key_problem = true;
            }
            FailoverReason::OutOfCredit => cooldown = cooldown.max(OUT_OF_CREDIT_COOLDOWN),
            // A config mistake: it stays until the address is fixed (a config change resets
            // the breaker) or the long cooldown ends.
            FailoverReason::Loop => cooldown = cooldown.max(KEY_REJECTED_COOLDOWN),
            _ => {}
        }
        self.hinted = false;
        if let Some(h) = f.hint.filter(|h| !h.is_zero()) {
            cooldown = h.min(MAX_HINT);
            self.hinted = true;
        }
        self.trial_in_flight = false;
        self.last_cooldown = cooldown;
        self.until = Some(now + cooldown);
        self.until_wall =
            Some(Utc::now() + chrono::Duration::from_std(cooldown).unwrap_or_default());
        self.last_error = Some(LastError {
            failure: f.clone(),
            at: Utc::now(),
        });
        cooldown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(reason: FailoverReason, hint: Option<u64>) -> Failure {
        Failure {
            reason,
            status: None,
            hint: hint.map(Duration::from_secs),
            message: String::new(),
        }
    }

    #[test]
    fn backoff_grows_and_caps_and_hints_win() {
        let now = Instant::now();
        let mut b = Breaker::default();
        assert_eq!(b.state(now), State::Available);
        assert_eq!(
            b.failure(&fail(FailoverReason::Overloaded, None), now),
            Duration::from_secs(2)
        );
        assert_eq!(
            b.failure(&fail(FailoverReason::Overloaded, None), now),
            Duration::from_secs(4)
        );
        for _ in 0..10 {
            b.failure(&fail(FailoverReason::Overloaded, None), now);
        }
        assert_eq!(
            b.failure(&fail(FailoverReason::Overloaded, None), now),
            MAX_BACKOFF
        );
        assert_eq!(
            b.failure(&fail(FailoverReason::UsageLimit, Some(5 * 3600)), now),
            Duration::from_secs(5 * 3600)
        );
        assert!(b.hinted());
        assert!(matches!(b.state(now), State::CoolingDown(_)));
        assert_eq!(
            b.state(now + Duration::from_secs(5 * 3600 + 1)),
            State::HalfOpen
        );
        assert!(b.success());
        assert_eq!(b.state(now), State::Available);
    }

    #[test]
    fn half_open_allows_one_trial_and_failure_doubles() {
        let now = Instant::now();
        let mut b = Breaker::default();
        b.failure(&fail(FailoverReason::Overloaded, Some(10)), now);
        let later = now + Duration::from_secs(11);
        assert_eq!(b.state(later), State::HalfOpen);
        assert!(b.try_begin_trial());
        assert!(!b.try_begin_trial());
        let d = b.failure(&fail(FailoverReason::Overloaded, None), later);
        assert_eq!(d, Duration::from_secs(20));
        b.abandon_trial();
        assert!(b.try_begin_trial());
    }

    #[test]
    fn a_remote_cooldown_is_adopted_unless_a_longer_one_runs() {
        let now = Instant::now();
        let mut a = Breaker::default();
        a.failure(&fail(FailoverReason::RateLimited, Some(30)), now);
        let c = a.cooling(now).expect("cooling");
        assert_eq!(c.remaining, Duration::from_secs(30));
        let mut b = Breaker::default();
        assert!(!b.is_failing());
        b.apply_remote(&c, now);
        assert!(b.is_failing() && b.hinted());
        assert_eq!(
            b.state(now + Duration::from_secs(29)),
            State::CoolingDown(now + Duration::from_secs(30))
        );
        let shorter = Cooling {
            remaining: Duration::from_secs(5),
            ..c
        };
        b.apply_remote(&shorter, now);
        assert!(matches!(
            b.state(now + Duration::from_secs(10)),
            State::CoolingDown(_)
        ));
        assert!(b.success());
        assert!(b.cooling(now).is_none());
    }

    #[test]
    fn key_problems_cool_long() {
        let mut b = Breaker::default();
        let d = b.failure(&fail(FailoverReason::KeyRejected, None), Instant::now());
        assert_eq!(d, KEY_REJECTED_COOLDOWN);
        assert!(b.key_problem);
    }
}
