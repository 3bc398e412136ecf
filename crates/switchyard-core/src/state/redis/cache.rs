//! The response cache across the team: a local LRU in front; a local miss asks Redis once
//! (bounded by the team's timeout) and keeps what it finds; an answer kept here is stored in
//! Redis too, expiring with the cache's TTL. Emptying the cache starts a new generation, so
//! every replica's older answers are gone at once (Redis drops them as they expire).

use futures_util::future::BoxFuture;

use super::wire::{decode_cached, encode_cached, Msg};
use super::Team;
use crate::cache::{CacheStats, Cached, Key};
use crate::config::CacheConfig;
use crate::state::AnswerCache;

/// Answers larger than this are kept on their replica only.
const MAX_SHARED_BYTES: usize = 4 * 1024 * 1024;

impl Team {
    fn generation(&self) -> u64 {
        self.cache_generation
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Another replica emptied the cache.
    pub(super) fn apply_cache_generation(&self, generation: u64) {
        let old = self
            .cache_generation
            .swap(generation, std::sync::atomic::Ordering::AcqRel);
        if old != generation {
            self.cache.clear();
        }
    }
}

impl AnswerCache for Team {
    fn get(&self, key: &Key, cfg: &CacheConfig) -> BoxFuture<'_, Option<Cached>> {
        let key = *key;
        let cfg = cfg.clone();
        Box::pin(async move {
            if let Some(c) = self.cache.get(&key, &cfg) {
                return Some(c);
            }
            let mut get = redis::cmd("GET");
            get.arg(self.link.keys.cache(self.generation(), &key));
            let bytes = self.link.query::<Option<Vec<u8>>>(&get).await??;
            let c = decode_cached(&bytes)?;
            self.cache.put(key, c.clone(), &cfg);
            self.cache.count_remote_hit();
            Some(c)
        })
    }

    fn put(&self, key: Key, value: Cached, cfg: &CacheConfig) {
        let bytes = encode_cached(&value);
        if bytes.len() <= MAX_SHARED_BYTES.min(cfg.max_bytes) {
            let mut set = redis::cmd("SET");
            set.arg(self.link.keys.cache(self.generation(), &key))
                .arg(bytes)
                .arg("PX")
                .arg(cfg.ttl_secs.saturating_mul(1000).max(1));
            self.link.send(vec![set], None);
        }
        self.cache.put(key, value, cfg);
    }

    fn clear(&self) -> usize {
        let n = self.cache.clear();
        // A fresh generation no replica used before: the clock, made unique by this process.
        let generation = (chrono::Utc::now().timestamp_micros() as u64)
            .wrapping_mul(1024)
            .wrapping_add(self.link.instance % 1024);
        self.cache_generation
            .store(generation, std::sync::atomic::Ordering::Release);
        let mut set = redis::cmd("SET");
        set.arg(self.link.keys.cache_gen()).arg(generation);
        self.link
            .send(vec![set], Some(Msg::CacheGen { generation }));
        n
    }

    fn stats(&self, cfg: &CacheConfig) -> CacheStats {
        self.cache.stats(cfg)
    }
}
