//! Access-token rates across the team: one GCRA bucket per token in Redis (the same shape as
//! the in-process bucket: `rate` requests at once, then one every `60 / rate` seconds), on
//! Redis' own clock so replicas' clocks do not matter. When Redis does not answer in time the
//! replica's own bucket decides (fail-open: the limit is then per replica).

use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

use super::Team;
use crate::state::RateLimits;

/// KEYS[1]: the token's key; ARGV[1]: microseconds between requests; ARGV[2]: the burst.
/// Returns 0 when admitted, else the microseconds to wait.
pub(super) const RATE_SCRIPT: &str = r"local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next_tat = tat + interval
local allow_at = next_tat - burst * interval
if allow_at > now then return math.ceil(allow_at - now) end
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1)
return 0";

impl RateLimits for Team {
    fn admit(
        &self,
        name: &str,
        rate_per_minute: Option<u32>,
        now: Instant,
    ) -> BoxFuture<'_, Result<(), Duration>> {
        let name = name.to_string();
        Box::pin(async move {
            let Some(rate) = rate_per_minute.filter(|r| *r > 0) else {
                return self.tokens.admit(&name, None, now);
            };
            let interval_us = 60_000_000 / u64::from(rate);
            let mut inv = self.scripts.rate.prepare_invoke();
            inv.key(self.link.keys.rate(&name))
                .arg(interval_us)
                .arg(rate);
            match self.link.script::<i64>(&inv).await {
                // Admitted by the team's bucket: count it here (no local limit).
                Some(0) => self.tokens.admit(&name, None, now),
                Some(wait_us) => Err(Duration::from_micros(wait_us.max(1) as u64)),
                None => self.tokens.admit(&name, rate_per_minute, now),
            }
        })
    }
}
