//! Team mode: the shared state of several replicas, through Redis.
//!
//! [`Team`] wraps each in-process implementation (the router, the usage ledger, the token
//! limits, the response cache, the local event channel) as its first tier and implements the
//! same traits over it (one file per trait):
//!
//! - **decisions are local**: a request plans, checks budgets and emits events on this
//!   replica's memory, as in a single process;
//! - **changes are published**, fire-and-forget, through a bounded outbox drained by one
//!   writer task in pipelines (`link.rs`), and stored with a TTL where they expire (cooldowns,
//!   trial locks, sticky sessions, heartbeats);
//! - **remote changes** arrive on the team's pub/sub channel and are applied to the local tier
//!   (`sync.rs`); a replica never applies its own;
//! - three questions need the cluster while a request waits, each one round trip bounded by
//!   `[cluster] timeout_ms`: the half-open trial lock ([`RoutingState::claim_trial`]), the
//!   global rate of an access token ([`RateLimits::admit`]) and a cache lookup that missed
//!   locally ([`AnswerCache::get`]). On error or timeout they answer from local state.
//!
//! When Redis is down, slow or wiped every replica keeps serving on its own state, logs it
//! once, reconnects with capped backoff, and re-syncs when it is back: it reads what the
//! others published and re-publishes its running cooldowns, pin and usage (`sync.rs`).
//! Provider keys and Redis passwords are never written to Redis; session ids travel hashed.
//!
//! [`RoutingState::claim_trial`]: crate::state::RoutingState::claim_trial
//! [`RateLimits::admit`]: crate::state::RateLimits::admit
//! [`AnswerCache::get`]: crate::state::AnswerCache::get

mod cache;
mod events;
mod limits;
mod link;
mod routing;
mod sync;
mod usage;
mod wire;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use super::{ClusterStatus, LocalEvents, Membership, ResponseCache, Router, Tokens, Usage};
use crate::config::{Cluster, Config, REDIS_PASSWORD_ENV, REDIS_SECRET};
use crate::routing::keys::pool_size;
use crate::secrets::{Secret, SecretStore};

pub(crate) use link::{LinkError, Settings};

/// The shared state of one replica of a team.
pub(crate) struct Team {
    link: link::Link,
    router: Arc<Router>,
    usage: Arc<Usage>,
    /// The other replicas' ledgers, by node name (memory only: each keeps its own file).
    others: RwLock<BTreeMap<String, Arc<Usage>>>,
    /// Provider days recorded since the last publish.
    dirty_usage: Mutex<BTreeSet<(NaiveDate, String)>>,
    tokens: Arc<Tokens>,
    cache: ResponseCache,
    /// The response cache's generation in Redis.
    cache_generation: AtomicU64,
    events: LocalEvents,
    /// Configured providers and their pool sizes (the keys to read on a re-sync).
    providers: Mutex<Vec<(String, usize)>>,
    /// How long a trial lock lives when its holder vanishes, ms.
    trial_ttl_ms: AtomicU64,
    /// Trials this replica holds the cluster-wide lock of.
    claimed: Mutex<HashSet<String>>,
    /// The pin changed while Redis was away: publish it on the re-sync.
    pin_dirty: AtomicBool,
    scripts: Scripts,
}

/// The Lua scripts a request may run (one round trip each, atomic in Redis).
struct Scripts {
    /// Take a trial lock, or renew it when this process already holds it: 1 taken, 0 not.
    trial: redis::Script,
    /// GCRA over Redis' own clock: 0 admitted, else microseconds to wait.
    rate: redis::Script,
}

impl Scripts {
    fn new() -> Self {
        Scripts {
            trial: redis::Script::new(
                r"if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0",
            ),
            rate: redis::Script::new(limits::RATE_SCRIPT),
        }
    }
}

/// This replica's node name: `[cluster] node`, else the host name and the listen port.
pub(crate) fn node_name(c: &Cluster, listen_port: u16) -> String {
    if let Some(n) = &c.node {
        return n.clone();
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default();
    let host: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(48)
        .collect();
    let host = if host.is_empty() {
        "switchyard".into()
    } else {
        host
    };
    format!("{host}-{listen_port}")
}

/// The Redis password: `SWITCHYARD_REDIS_PASSWORD`, else the secret store's `redis` entry.
/// A store that cannot be read (a headless server without a keychain) means none.
pub(crate) fn password(store: &dyn SecretStore) -> Option<Secret> {
    if let Ok(Some(s)) = crate::secrets::from_env(REDIS_PASSWORD_ENV) {
        return Some(s);
    }
    match store.get(REDIS_SECRET) {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!("team: no Redis password from the secret store: {e}");
            None
        }
    }
}

/// The local tiers a team wraps.
pub(crate) struct Locals {
    pub router: Arc<Router>,
    pub usage: Arc<Usage>,
    pub tokens: Arc<Tokens>,
}

impl Team {
    /// A team member over these local tiers. Nothing connects until [`Team::spawn`].
    pub(crate) fn new(s: &Settings, cfg: &Config, locals: Locals) -> Result<Arc<Team>, LinkError> {
        let team = Team {
            link: link::Link::new(s)?,
            router: locals.router,
            usage: locals.usage,
            others: RwLock::new(BTreeMap::new()),
            dirty_usage: Mutex::new(BTreeSet::new()),
            tokens: locals.tokens,
            cache: ResponseCache::default(),
            cache_generation: AtomicU64::new(0),
            events: LocalEvents::new(256),
            providers: Mutex::new(Vec::new()),
            trial_ttl_ms: AtomicU64::new(0),
            claimed: Mutex::new(HashSet::new()),
            pin_dirty: AtomicBool::new(false),
            scripts: Scripts::new(),
        };
        team.configure(cfg);
        Ok(Arc::new(team))
    }

    /// Start the link's tasks: the supervisor (connect, re-sync, heartbeat, listen) and the
    /// writer. Both stop when `stop` turns true.
    pub(crate) fn spawn(self: &Arc<Self>, stop: watch::Receiver<bool>) {
        tokio::spawn(sync::supervise(self.clone(), stop.clone()));
        if let Some(rx) = self.link.take_inbox() {
            tokio::spawn(sync::write(self.clone(), rx, stop));
        }
    }

    /// Wait until the first re-sync is done, at most `within` (start-up does not fail when
    /// Redis is away).
    pub(crate) async fn wait_synced(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while !self.link.is_up() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Note the providers (and pools) to share and how long a trial lock lives.
    fn configure(&self, cfg: &Config) {
        *self.providers.lock() = cfg
            .providers
            .iter()
            .map(|p| (p.id.clone(), pool_size(p)))
            .collect();
        // A trial's verdict comes by the first byte: a lock outliving that belongs to a
        // replica that went away.
        let t = &cfg.timeouts;
        let ttl = (t.connect_ms + t.first_byte_ms + 2_000).min(t.request_ms.max(1_000));
        self.trial_ttl_ms.store(ttl, Ordering::Relaxed);
    }

    fn trial_ttl_ms(&self) -> u64 {
        self.trial_ttl_ms.load(Ordering::Relaxed).max(1_000)
    }
}

impl Membership for Team {
    fn status(&self) -> ClusterStatus {
        let (status, degraded_since, error) = self.link.health();
        let mut replicas = if self.link.is_up() {
            self.link.replicas.load().as_ref().clone()
        } else {
            vec![self.link.me.clone()]
        };
        replicas.sort_by(|a, b| a.node.cmp(&b.node));
        ClusterStatus {
            status,
            node: self.link.node.to_string(),
            redis: self.link.label.clone(),
            replicas,
            degraded_since,
            error,
        }
    }
}

/// The cluster's settings for `cfg`, or why they cannot be used.
pub(crate) fn settings(
    c: &Cluster,
    store: &dyn SecretStore,
    listen: std::net::SocketAddr,
) -> Result<Settings, String> {
    let url = crate::config::parse_redis_url(&c.redis).map_err(|e| e.to_string())?;
    Ok(Settings {
        url,
        password: password(store),
        ca_file: c.ca_file.clone(),
        node: node_name(c, listen.port()),
        prefix: c.prefix.clone(),
        timeout: Duration::from_millis(c.timeout_ms.max(1)),
        listen: listen.to_string(),
    })
}
