//! Counters, latency histograms, token totals and the recent-request log, with Prometheus text.
//! Recording takes one short lock per finished request; nothing here blocks the request path
//! on I/O.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write;

use parking_lot::Mutex;
use serde::Serialize;

/// Latency histogram bucket bounds, seconds.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];
/// How many finished requests the recent log keeps.
pub const RECENT_CAPACITY: usize = 500;

pub use crate::events::{AttemptRecord, RequestRecord};

#[derive(Default)]
struct ProviderCounters {
    by_status: HashMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    latency_sum: f64,
    latency_count: u64,
    failovers: u64,
    cooldowns: u64,
    input_tokens: u64,
    output_tokens: u64,
}

#[derive(Default)]
struct Inner {
    providers: HashMap<String, ProviderCounters>,
    /// Requests answered without any provider (bad request, all down).
    local: HashMap<u16, u64>,
    recent: VecDeque<RequestRecord>,
    total: u64,
}

/// All statistics of one engine.
#[derive(Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

/// Totals for the status API.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ProviderTotals {
    /// Requests answered by it, any status.
    pub requests: u64,
    /// Requests answered with 2xx.
    pub ok: u64,
    /// Times traffic left it for another.
    pub failovers: u64,
    /// Times it was put in cooldown.
    pub cooldowns: u64,
    /// Tokens.
    pub input_tokens: u64,
    /// Tokens.
    pub output_tokens: u64,
}

impl Stats {
    /// Record a finished request.
    pub fn record(&self, rec: RequestRecord) {
        let mut g = self.inner.lock();
        g.total += 1;
        match &rec.provider {
            Some(p) => {
                if !g.providers.contains_key(p.as_str()) {
                    g.providers.insert(p.clone(), ProviderCounters::default());
                }
                let Some(c) = g.providers.get_mut(p.as_str()) else {
                    return;
                };
                *c.by_status.entry(rec.status).or_default() += 1;
                let secs = rec.latency_ms / 1000.0;
                if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
                    c.buckets[i] += 1;
                }
                c.latency_sum += secs;
                c.latency_count += 1;
                c.input_tokens += rec.input_tokens;
                c.output_tokens += rec.output_tokens;
            }
            None => *g.local.entry(rec.status).or_default() += 1,
        }
        let evicted = if g.recent.len() == RECENT_CAPACITY {
            g.recent.pop_front()
        } else {
            None
        };
        g.recent.push_back(rec);
        drop(g);
        // Freed after the lock is released.
        drop(evicted);
    }

    /// Count a failover away from `provider`.
    pub fn failover(&self, provider: &str) {
        self.inner
            .lock()
            .providers
            .entry(provider.into())
            .or_default()
            .failovers += 1;
    }

    /// Count a cooldown of `provider`.
    pub fn cooldown(&self, provider: &str) {
        self.inner
            .lock()
            .providers
            .entry(provider.into())
            .or_default()
            .cooldowns += 1;
    }

    /// The most recent requests, newest last.
    pub fn recent(&self, limit: usize) -> Vec<RequestRecord> {
        let g = self.inner.lock();
        let skip = g.recent.len().saturating_sub(limit);
        g.recent.iter().skip(skip).cloned().collect()
    }

    /// Totals per provider.
    pub fn totals(&self) -> HashMap<String, ProviderTotals> {
        let g = self.inner.lock();
        g.providers
            .iter()
            .map(|(id, c)| {
                let requests = c.by_status.values().sum();
                let ok = c
                    .by_status
                    .iter()
                    .filter(|(s, _)| (200..300).contains(*s))
                    .map(|(_, n)| n)
                    .sum();
                (
                    id.clone(),
                    ProviderTotals {
                        requests,
                        ok,
                        failovers: c.failovers,
                        cooldowns: c.cooldowns,
                        input_tokens: c.input_tokens,
                        output_tokens: c.output_tokens,
                    },
                )
            })
            .collect()
    }

    /// All requests seen.
    pub fn total(&self) -> u64 {
        self.inner.lock().total
    }

    /// Prometheus text exposition format.
    pub fn prometheus(&self) -> String {
        let g = self.inner.lock();
        let mut ids: Vec<&String> = g.providers.keys().collect();
        ids.sort();
        let mut o = String::with_capacity(4096);
        o.push_str("# HELP switchyard_requests_total Requests answered, by provider and status.\n# TYPE switchyard_requests_total counter\n");
        for id in &ids {
            let mut st: Vec<_> = g.providers[*id].by_status.iter().collect();
            st.sort();
            for (s, n) in st {
                let _ = writeln!(
                    o,
                    "switchyard_requests_total{{provider=\"{id}\",status=\"{s}\"}} {n}"
                );
            }
        }
        let mut local: Vec<_> = g.local.iter().collect();
        local.sort();
        for (s, n) in local {
            let _ = writeln!(
                o,
                "switchyard_requests_total{{provider=\"\",status=\"{s}\"}} {n}"
            );
        }
        o.push_str("# HELP switchyard_request_duration_seconds Request latency (streams: until the end).\n# TYPE switchyard_request_duration_seconds histogram\n");
        for id in &ids {
            let c = &g.providers[*id];
            let mut cum = 0;
            for (i, b) in BUCKETS.iter().enumerate() {
                cum += c.buckets[i];
                let _ = writeln!(o, "switchyard_request_duration_seconds_bucket{{provider=\"{id}\",le=\"{b}\"}} {cum}");
            }
            let _ = writeln!(
                o,
                "switchyard_request_duration_seconds_bucket{{provider=\"{id}\",le=\"+Inf\"}} {}",
                c.latency_count
            );
            let _ = writeln!(
                o,
                "switchyard_request_duration_seconds_sum{{provider=\"{id}\"}} {}",
                c.latency_sum
            );
            let _ = writeln!(
                o,
                "switchyard_request_duration_seconds_count{{provider=\"{id}\"}} {}",
                c.latency_count
            );
        }
        for (name, help, get) in [
            (
                "switchyard_failovers_total",
                "Times traffic left a provider for another.",
                (|c: &ProviderCounters| c.failovers) as fn(&ProviderCounters) -> u64,
            ),
            (
                "switchyard_cooldowns_total",
                "Times a provider was put in cooldown.",
                |c| c.cooldowns,
            ),
            (
                "switchyard_input_tokens_total",
                "Input tokens reported by upstreams.",
                |c| c.input_tokens,
            ),
            (
                "switchyard_output_tokens_total",
                "Output tokens reported by upstreams.",
                |c| c.output_tokens,
            ),
        ] {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter");
            for id in &ids {
                let _ = writeln!(o, "{name}{{provider=\"{id}\"}} {}", get(&g.providers[*id]));
            }
        }
        o
    }
}
