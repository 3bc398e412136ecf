//! Sticky sessions: which provider served a Claude Code session last, so the session's next
//! request goes there again while it is healthy (its prompt cache lives there). Bounded: at
//! most `capacity` sessions, each forgotten after `ttl` without a request.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

/// Sessions remembered at most.
pub const CAPACITY: usize = 10_000;
/// A session is forgotten after this long without a request.
pub const TTL: Duration = Duration::from_secs(3600);

struct Entry {
    provider: Box<str>,
    seen: Instant,
}

/// Session -> provider, keyed by a hash of the session id (the id itself is not kept).
pub struct Sticky {
    map: HashMap<u64, Entry>,
    hasher: RandomState,
    capacity: usize,
    ttl: Duration,
}

impl Default for Sticky {
    fn default() -> Self {
        Sticky::new(CAPACITY, TTL)
    }
}

impl Sticky {
    /// An empty table with these bounds.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Sticky {
            map: HashMap::new(),
            hasher: RandomState::new(),
            capacity: capacity.max(1),
            ttl,
        }
    }

    fn key(&self, session: &str) -> u64 {
        self.hasher.hash_one(session)
    }

    /// The provider bound to a session, if the binding is still fresh. Refreshes it.
    pub fn get(&mut self, session: &str, now: Instant) -> Option<&str> {
        let k = self.key(session);
        let fresh = self.map.get(&k)?.seen;
        if now.saturating_duration_since(fresh) >= self.ttl {
            self.map.remove(&k);
            return None;
        }
        let e = self.map.get_mut(&k)?;
        e.seen = now;
        Some(&e.provider)
    }

    /// The provider bound to a session, without refreshing the binding.
    pub fn peek(&self, session: &str, now: Instant) -> Option<&str> {
        let e = self.map.get(&self.key(session))?;
        (now.saturating_duration_since(e.seen) < self.ttl).then_some(&*e.provider)
    }

    /// Bind a session to the provider that served it.
    pub fn bind(&mut self, session: &str, provider: &str, now: Instant) {
        let k = self.key(session);
        if let Some(e) = self.map.get_mut(&k) {
            e.seen = now;
            if &*e.provider != provider {
                e.provider = provider.into();
            }
            return;
        }
        if self.map.len() >= self.capacity {
            self.evict(now);
        }
        self.map.insert(
            k,
            Entry {
                provider: provider.into(),
                seen: now,
            },
        );
    }

    /// Make room: drop expired sessions, then (if still full) the least recently seen tenth,
    /// so a full table pays for one scan per `capacity / 10` new sessions.
    fn evict(&mut self, now: Instant) {
        let ttl = self.ttl;
        self.map
            .retain(|_, e| now.saturating_duration_since(e.seen) < ttl);
        if self.map.len() < self.capacity {
            return;
        }
        let drop_n = (self.capacity / 10).max(1);
        let mut seen: Vec<Instant> = self.map.values().map(|e| e.seen).collect();
        let (_, cut, _) = seen.select_nth_unstable(drop_n - 1);
        let cut = *cut;
        let mut dropped = 0;
        self.map.retain(|_, e| {
            if dropped < drop_n && e.seen <= cut {
                dropped += 1;
                false
            } else {
                true
            }
        });
    }

    /// Sessions remembered now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No session remembered.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Forget every session bound to a provider that is gone.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.map.retain(|_, e| keep(&e.provider));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_refreshes_expires_and_stays_bounded() {
        let now = Instant::now();
        let mut s = Sticky::new(100, Duration::from_secs(10));
        assert_eq!(s.get("a", now), None);
        s.bind("a", "p1", now);
        assert_eq!(s.get("a", now), Some("p1"));
        s.bind("a", "p2", now);
        assert_eq!(s.get("a", now + Duration::from_secs(9)), Some("p2"));
        // The lookup at +9 s refreshed it.
        assert_eq!(s.get("a", now + Duration::from_secs(18)), Some("p2"));
        assert_eq!(
            s.get("a", now + Duration::from_secs(29)),
            None,
            "idle too long"
        );
        assert!(s.is_empty());

        for i in 0..1000 {
            s.bind(&format!("s{i}"), "p", now + Duration::from_millis(i));
        }
        assert!(s.len() <= 100, "bounded: {}", s.len());
        // The newest sessions survive; the oldest were evicted.
        assert_eq!(s.get("s999", now + Duration::from_secs(1)), Some("p"));
        assert_eq!(s.get("s0", now + Duration::from_secs(1)), None);
        s.retain(|p| p != "p");
        assert!(s.is_empty());
    }
}
