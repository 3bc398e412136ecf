//! The opt-in response cache: identical non-streaming `/v1/messages` requests with an explicit
//! `temperature` of 0 are answered from memory.
//!
//! The key is a SHA-256 of a canonical form of the request (object keys sorted, `metadata`
//! removed), the `anthropic-beta` header, the provider that serves it and the upstream model.
//! Only 200 answers are kept; streams, errors and requests that declare server tools (such as
//! `web_search`, whose results change over time) never are. It is an in-memory LRU bounded by
//! entries and bytes, emptied by a config change, `DELETE /api/cache` and a restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderMap;
use parking_lot::Mutex;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::protocol::Dialect;

pub use crate::config::CacheConfig;

/// The request part of a key: what the client asked, before the route is known.
#[derive(Clone)]
pub struct Fingerprint(Sha256);

/// A full cache key.
pub type Key = [u8; 32];

impl Fingerprint {
    /// The fingerprint of a request that may be cached, or `None` when it may not: not a JSON
    /// object, streaming, `temperature` absent or not 0, or a server tool declared.
    pub fn of(body: &[u8], headers: &HeaderMap) -> Option<Fingerprint> {
        let mut v: serde_json::Value = serde_json::from_slice(body).ok()?;
        let obj = v.as_object_mut()?;
        if obj.get("stream").and_then(|s| s.as_bool()) == Some(true) {
            return None;
        }
        if obj.get("temperature").and_then(|t| t.as_f64()) != Some(0.0) {
            return None;
        }
        let server_tool = obj
            .get("tools")
            .and_then(|t| t.as_array())
            .is_some_and(|tools| {
                tools.iter().any(|t| {
                    t.get("type")
                        .and_then(|k| k.as_str())
                        .is_some_and(|k| k != "custom")
                })
            });
        if server_tool {
            return None;
        }
        obj.remove("metadata");
        let mut canon = Vec::with_capacity(body.len());
        canonical(&v, &mut canon);
        let mut h = Sha256::new();
        h.update(b"switchyard-cache-v1\0");
        h.update((canon.len() as u64).to_le_bytes());
        h.update(&canon);
        let beta = headers
            .get_all("anthropic-beta")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        h.update((beta.len() as u64).to_le_bytes());
        h.update(beta.as_bytes());
        Some(Fingerprint(h))
    }

    /// The key of this request on one route: the provider, the upstream model sent to it, and
    /// the dialect its answer is kept in (the hub's, or the client's own when it passed
    /// through).
    pub fn key(&self, provider: &str, upstream_model: &str, dialect: Dialect) -> Key {
        let mut h = self.0.clone();
        let dialect = format!("{dialect:?}");
        for part in [provider, upstream_model, &dialect] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().into()
    }
}

/// JSON with object keys sorted, no whitespace: the same request always gives the same bytes.
fn canonical(v: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(Value::String((*k).clone()).to_string().as_bytes());
                out.push(b':');
                canonical(&m[*k], out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(x, out);
            }
            out.push(b']');
        }
        // `0` and `0.0` are the same number to every vendor.
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                out.extend_from_slice((f as i64).to_string().as_bytes())
            }
            _ => out.extend_from_slice(n.to_string().as_bytes()),
        },
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

/// A stored answer.
#[derive(Clone)]
pub struct Cached {
    /// Relayed headers of the original answer.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// The provider that produced it.
    pub provider: String,
    /// The upstream model.
    pub upstream_model: String,
    /// Input tokens (incl. cache) of the original answer.
    pub input_tokens: u64,
    /// Output tokens of the original answer.
    pub output_tokens: u64,
    /// The dialect of the body.
    pub dialect: Dialect,
}

impl Cached {
    fn size(&self) -> usize {
        self.body.len()
            + self
                .headers
                .iter()
                .map(|(k, v)| k.as_str().len() + v.len() + 32)
                .sum::<usize>()
            + self.provider.len()
            + self.upstream_model.len()
            + 128
    }
}

struct Entry {
    value: Cached,
    size: usize,
    stored: Instant,
    tick: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Entry>,
    /// Last use -> key; the first is the least recently used.
    order: BTreeMap<u64, Key>,
    tick: u64,
    bytes: usize,
}

impl Inner {
    fn remove(&mut self, key: &Key) {
        if let Some(e) = self.map.remove(key) {
            self.order.remove(&e.tick);
            self.bytes -= e.size;
        }
    }
}

/// Counters for `/api/status`.
#[derive(Debug, Clone, Serialize)]
pub struct CacheStats {
    /// `[cache] enabled`.
    pub enabled: bool,
    /// Answers held.
    pub entries: usize,
    /// Bytes held.
    pub bytes: usize,
    /// Requests answered from the cache.
    pub hits: u64,
    /// Cacheable requests that went upstream.
    pub misses: u64,
    /// hits / (hits + misses), 0 when there were none.
    pub hit_rate: f64,
}

/// The cache of a running engine.
#[derive(Default)]
pub struct ResponseCache {
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ResponseCache {
    /// The answer for `key` if it is there and younger than the TTL. Counts a hit or a miss.
    pub fn get(&self, key: &Key, cfg: &CacheConfig) -> Option<Cached> {
        let ttl = Duration::from_secs(cfg.ttl_secs);
        let mut g = self.inner.lock();
        let inner = &mut *g;
        let fresh = match inner.map.get(key) {
            Some(e) if e.stored.elapsed() < ttl => true,
            Some(_) => {
                inner.remove(key);
                false
            }
            None => false,
        };
        if !fresh {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        inner.tick += 1;
        let tick = inner.tick;
        let e = inner.map.get_mut(key)?;
        inner.order.remove(&e.tick);
        e.tick = tick;
        inner.order.insert(tick, *key);
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(e.value.clone())
    }

    /// Keep an answer, evicting the least recently used ones past the caps. An answer larger
    /// than `max_bytes` on its own is not kept.
    pub fn put(&self, key: Key, value: Cached, cfg: &CacheConfig) {
        let size = value.size();
        if size > cfg.max_bytes || cfg.max_entries == 0 {
            return;
        }
        let mut inner = self.inner.lock();
        inner.remove(&key);
        while inner.map.len() >= cfg.max_entries || inner.bytes + size > cfg.max_bytes {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            if let Some(e) = inner.map.remove(&oldest) {
                inner.bytes -= e.size;
            }
        }
        inner.tick += 1;
        let tick = inner.tick;
        inner.order.insert(tick, key);
        inner.bytes += size;
        inner.map.insert(
            key,
            Entry {
                value,
                size,
                stored: Instant::now(),
                tick,
            },
        );
    }

    /// A lookup that missed here was answered from another replica's copy (team mode):
    /// count it as a hit.
    pub fn count_remote_hit(&self) {
        let _ = self
            .misses
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |m| m.checked_sub(1));
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Forget every answer (the counters stay).
    pub fn clear(&self) -> usize {
        let mut inner = self.inner.lock();
        let n = inner.map.len();
        *inner = Inner::default();
        n
    }

    /// Counters.
    pub fn stats(&self, cfg: &CacheConfig) -> CacheStats {
        let inner = self.inner.lock();
        let (hits, misses) = (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        );
        CacheStats {
            enabled: cfg.enabled,
            entries: inner.map.len(),
            bytes: inner.bytes,
            hits,
            misses,
            hit_rate: if hits + misses == 0 {
                0.0
            } else {
                hits as f64 / (hits + misses) as f64
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(body: &str) -> Option<Key> {
        Fingerprint::of(body.as_bytes(), &HeaderMap::new())
            .map(|f| f.key("p", "m", Dialect::Anthropic))
    }

    #[test]
    fn only_temperature_zero_non_streaming_without_server_tools() {
        assert!(fp(r#"{"model":"x","temperature":0}"#).is_some());
        assert!(fp(r#"{"model":"x","temperature":0.0}"#).is_some());
        assert!(fp(r#"{"model":"x"}"#).is_none());
        assert!(fp(r#"{"model":"x","temperature":0.7}"#).is_none());
        assert!(fp(r#"{"model":"x","temperature":0,"stream":true}"#).is_none());
        assert!(fp(
            r#"{"temperature":0,"tools":[{"type":"web_search_20250305","name":"web_search"}]}"#
        )
        .is_none());
        assert!(fp(r#"{"temperature":0,"tools":[{"name":"f","input_schema":{}}]}"#).is_some());
        assert!(fp("[1]").is_none());
    }

    #[test]
    fn key_ignores_key_order_and_metadata_but_not_route_or_beta() {
        let a = fp(r#"{"model":"x","temperature":0,"max_tokens":5,"metadata":{"user_id":"u1"}}"#);
        let b = fp(r#"{"max_tokens":5,"temperature":0,"model":"x"}"#);
        assert_eq!(a, b);
        assert_ne!(a, fp(r#"{"max_tokens":6,"temperature":0,"model":"x"}"#));
        assert_eq!(a, fp(r#"{"max_tokens":5.0,"temperature":0.0,"model":"x"}"#));
        let f = Fingerprint::of(br#"{"temperature":0}"#, &HeaderMap::new()).expect("cacheable");
        assert_ne!(
            f.key("p", "m", Dialect::Anthropic),
            f.key("q", "m", Dialect::Anthropic)
        );
        assert_ne!(
            f.key("p", "m", Dialect::Anthropic),
            f.key("p", "n", Dialect::Anthropic)
        );
        let mut h = HeaderMap::new();
        h.insert("anthropic-beta", "x-2025".parse().expect("value"));
        let g = Fingerprint::of(br#"{"temperature":0}"#, &h).expect("cacheable");
        assert_ne!(
            f.key("p", "m", Dialect::Anthropic),
            g.key("p", "m", Dialect::Anthropic)
        );
    }

    fn cached(n: usize) -> Cached {
        Cached {
            headers: HeaderMap::new(),
            body: Bytes::from(vec![b'x'; n]),
            provider: "p".into(),
            upstream_model: "m".into(),
            input_tokens: 1,
            output_tokens: 1,
            dialect: Dialect::Anthropic,
        }
    }

    #[test]
    fn lru_eviction_by_entries_and_bytes() {
        let c = ResponseCache::default();
        let cfg = CacheConfig {
            enabled: true,
            max_entries: 2,
            ..CacheConfig::default()
        };
        c.put([1; 32], cached(10), &cfg);
        c.put([2; 32], cached(10), &cfg);
        assert!(c.get(&[1; 32], &cfg).is_some(), "1 is now the most recent");
        c.put([3; 32], cached(10), &cfg);
        assert!(
            c.get(&[2; 32], &cfg).is_none(),
            "2 was the least recently used"
        );
        assert!(c.get(&[1; 32], &cfg).is_some());
        let small = CacheConfig {
            max_bytes: 500,
            ..cfg.clone()
        };
        c.clear();
        c.put([1; 32], cached(200), &small);
        c.put([2; 32], cached(200), &small);
        assert_eq!(c.stats(&small).entries, 1, "two do not fit in 500 bytes");
        c.put([3; 32], cached(1000), &small);
        assert!(c.get(&[3; 32], &small).is_none(), "too big to keep at all");
        assert!(c.get(&[2; 32], &small).is_some());
        let s = c.stats(&small);
        assert!(s.hits >= 3 && s.misses >= 2 && s.hit_rate > 0.0);
    }

    #[test]
    fn ttl_expires() {
        let c = ResponseCache::default();
        let cfg = CacheConfig {
            ttl_secs: 0,
            ..CacheConfig::default()
        };
        c.put([1; 32], cached(1), &cfg);
        assert!(c.get(&[1; 32], &cfg).is_none());
        assert_eq!(
            c.stats(&cfg).entries,
            0,
            "an expired entry is dropped on lookup"
        );
    }
}
