//! The link to Redis: one multiplexed connection (every command on it is pipelined), a bounded
//! outbox of fire-and-forget changes drained by one writer task, request-time queries with a
//! short timeout, and the link's health. When the link is down nothing waits for it: changes
//! are dropped (the re-sync after reconnecting re-publishes the state they carried) and
//! queries answer `None` at once, so callers decide on local state.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use redis::aio::MultiplexedConnection;
use redis::{Cmd, FromRedisValue};
use tokio::sync::{mpsc, Notify};

use super::wire::{Envelope, Keys, Msg};
use crate::config::RedisUrl;
use crate::secrets::Secret;
use crate::state::{ClusterHealth, Replica};

/// Changes waiting for the writer at most; past this they are dropped (and re-published by
/// the next re-sync).
pub(super) const OUTBOX: usize = 4096;
/// Changes sent in one pipeline at most.
pub(super) const BATCH: usize = 512;
/// Request-time queries that time out in a row before the link counts as broken.
const SLOW_IN_A_ROW: u32 = 3;

/// What the writer sends: commands and, optionally, a message on the team's channel.
pub(super) struct Out {
    pub cmds: Vec<Cmd>,
    pub msg: Option<Msg>,
}

/// Why the link could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    /// The CA file of `rediss://` could not be read.
    #[error("cannot read the Redis CA file {path}: {source}")]
    CaFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The Redis client refused the settings.
    #[error("Redis settings: {0}")]
    Client(String),
}

/// How the link is doing, for status displays.
#[derive(Default)]
struct Health {
    degraded_since: Option<DateTime<Utc>>,
    error: Option<String>,
    /// An outage was logged (it is logged once).
    logged: bool,
}

/// The link to Redis, shared by the team's state and its tasks.
pub(super) struct Link {
    /// This replica's node name.
    pub node: Arc<str>,
    /// This process (messages it sent are not applied again).
    pub instance: u64,
    /// Key names.
    pub keys: Keys,
    /// Where Redis is, for people.
    pub label: String,
    client: redis::Client,
    timeout: Duration,
    conn: ArcSwapOption<MultiplexedConnection>,
    synced: AtomicBool,
    outbox: mpsc::Sender<Out>,
    inbox: Mutex<Option<mpsc::Receiver<Out>>>,
    /// Wakes the supervisor when a query or the writer finds the link broken.
    pub broken: Notify,
    slow: AtomicU32,
    dropped: AtomicU64,
    health: Mutex<Health>,
    /// This replica's heartbeat.
    pub me: Replica,
    /// The replicas seen at the last heartbeat.
    pub replicas: ArcSwap<Vec<Replica>>,
}

/// Connection settings.
pub(crate) struct Settings {
    /// The checked URL.
    pub url: RedisUrl,
    /// The password, from the secret store or the environment.
    pub password: Option<Secret>,
    /// A private CA for `rediss://`.
    pub ca_file: Option<std::path::PathBuf>,
    /// This replica's node name.
    pub node: String,
    /// Key prefix.
    pub prefix: String,
    /// Request-time query timeout.
    pub timeout: Duration,
    /// The address we listen on (shown to the other replicas).
    pub listen: String,
}

fn client(s: &Settings) -> Result<redis::Client, LinkError> {
    use redis::{ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};
    let addr = if s.url.tls {
        ConnectionAddr::TcpTls {
            host: s.url.host.clone(),
            port: s.url.port,
            insecure: false,
            tls_params: None,
        }
    } else {
        ConnectionAddr::Tcp(s.url.host.clone(), s.url.port)
    };
    let mut redis_settings = RedisConnectionInfo::default().set_db(s.url.db);
    if let Some(u) = &s.url.user {
        redis_settings = redis_settings.set_username(u);
    }
    if let Some(p) = &s.password {
        redis_settings = redis_settings.set_password(p.expose());
    }
    let info = addr
        .into_connection_info()
        .map_err(|e| LinkError::Client(e.to_string()))?
        .set_redis_settings(redis_settings);
    match (&s.ca_file, s.url.tls) {
        (Some(path), true) => {
            let pem = std::fs::read(path).map_err(|source| LinkError::CaFile {
                path: path.clone(),
                source,
            })?;
            redis::Client::build_with_tls(
                info,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                },
            )
            .map_err(|e| LinkError::Client(e.to_string()))
        }
        _ => redis::Client::open(info).map_err(|e| LinkError::Client(e.to_string())),
    }
}

impl Link {
    pub(super) fn new(s: &Settings) -> Result<Link, LinkError> {
        let (tx, rx) = mpsc::channel(OUTBOX);
        let mut instance = [0u8; 8];
        let _ = getrandom::fill(&mut instance);
        let instance = u64::from_le_bytes(instance) ^ u64::from(std::process::id());
        let me = Replica {
            node: s.node.clone(),
            listen: s.listen.clone(),
            version: crate::VERSION.to_string(),
            started_at: Utc::now(),
            this: true,
        };
        Ok(Link {
            node: s.node.as_str().into(),
            instance,
            keys: Keys::new(&s.prefix),
            label: s.url.label(),
            client: client(s)?,
            timeout: s.timeout,
            conn: ArcSwapOption::empty(),
            synced: AtomicBool::new(false),
            outbox: tx,
            inbox: Mutex::new(Some(rx)),
            broken: Notify::new(),
            slow: AtomicU32::new(0),
            dropped: AtomicU64::new(0),
            health: Mutex::new(Health {
                degraded_since: Some(Utc::now()),
                error: Some("connecting".into()),
                logged: false,
            }),
            replicas: ArcSwap::from_pointee(vec![me.clone()]),
            me,
        })
    }

    pub(super) fn client(&self) -> &redis::Client {
        &self.client
    }

    /// The writer's end of the outbox (taken once).
    pub(super) fn take_inbox(&self) -> Option<mpsc::Receiver<Out>> {
        self.inbox.lock().take()
    }

    /// Connected (the writer may send).
    pub(super) fn conn(&self) -> Option<MultiplexedConnection> {
        self.conn.load().as_deref().cloned()
    }

    /// Connected and in sync: state is shared.
    pub(super) fn is_up(&self) -> bool {
        self.synced.load(Ordering::Acquire) && self.conn.load().is_some()
    }

    pub(super) fn connected(&self, conn: MultiplexedConnection) {
        self.slow.store(0, Ordering::Relaxed);
        self.conn.store(Some(Arc::new(conn)));
    }

    /// The re-sync finished: shared again.
    pub(super) fn synced(&self) {
        self.synced.store(true, Ordering::Release);
        // The re-sync re-published what was dropped; a later backlog is news again.
        self.dropped.store(0, Ordering::Relaxed);
        let mut h = self.health.lock();
        if h.logged {
            tracing::info!(redis = %self.label, node = %self.node, "team: Redis is back; shared state re-synced");
        } else {
            tracing::info!(redis = %self.label, node = %self.node, "team: connected to Redis");
        }
        *h = Health::default();
    }

    /// The link is down (or never came up): serve on local state, say so once.
    pub(super) fn down(&self, why: &str) {
        self.synced.store(false, Ordering::Release);
        self.conn.store(None);
        let mut h = self.health.lock();
        h.degraded_since.get_or_insert_with(Utc::now);
        h.error = Some(why.to_string());
        if !h.logged {
            h.logged = true;
            tracing::warn!(redis = %self.label, node = %self.node, "team: Redis unavailable ({why}); serving on this replica's own state until it is back");
        } else {
            tracing::debug!(redis = %self.label, "team: Redis still unavailable: {why}");
        }
    }

    /// `ok` or `degraded`, since when and why.
    pub(super) fn health(&self) -> (ClusterHealth, Option<DateTime<Utc>>, Option<String>) {
        if self.is_up() {
            return (ClusterHealth::Ok, None, None);
        }
        let h = self.health.lock();
        (
            ClusterHealth::Degraded,
            h.degraded_since.or_else(|| Some(Utc::now())),
            h.error.clone().or_else(|| Some("re-syncing".into())),
        )
    }

    /// Queue a change for the writer. Never waits: a full outbox drops it.
    pub(super) fn send(&self, cmds: Vec<Cmd>, msg: Option<Msg>) {
        if self.conn.load().is_none() {
            return;
        }
        if self.outbox.try_send(Out { cmds, msg }).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed);
            if n == 0 {
                tracing::warn!(
                    "team: Redis is not keeping up; changes are dropped until the next re-sync"
                );
            }
        }
    }

    /// Publish a change without storing anything.
    pub(super) fn publish(&self, msg: Msg) {
        self.send(Vec::new(), Some(msg));
    }

    /// The bytes of a message from this replica.
    pub(super) fn envelope(&self, msg: Msg) -> Vec<u8> {
        serde_json::to_vec(&Envelope {
            from: self.instance,
            node: self.node.to_string(),
            msg,
        })
        .unwrap_or_default()
    }

    /// One round trip for a request, bounded by the team's timeout; `None` when Redis is not
    /// there, slow or failing (the caller decides locally).
    pub(super) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Option<T> {
        if !self.is_up() {
            return None;
        }
        let mut c = self.conn()?;
        let r = tokio::time::timeout(self.timeout, cmd.query_async::<T>(&mut c)).await;
        self.verdict(r)
    }

    /// A script, the same way as [`Link::query`].
    pub(super) async fn script<T: FromRedisValue>(
        &self,
        inv: &redis::ScriptInvocation<'_>,
    ) -> Option<T> {
        if !self.is_up() {
            return None;
        }
        let mut c = self.conn()?;
        let r = tokio::time::timeout(self.timeout, inv.invoke_async::<T>(&mut c)).await;
        self.verdict(r)
    }

    fn verdict<T>(
        &self,
        r: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>,
    ) -> Option<T> {
        match r {
            Ok(Ok(v)) => {
                self.slow.store(0, Ordering::Relaxed);
                Some(v)
            }
            Ok(Err(e)) => {
                if e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error() {
                    self.fail(&e.to_string());
                } else {
                    tracing::debug!("team: Redis answered an error: {e}");
                }
                None
            }
            Err(_) => {
                if self.slow.fetch_add(1, Ordering::Relaxed) + 1 >= SLOW_IN_A_ROW {
                    self.fail("too slow");
                }
                None
            }
        }
    }

    /// A command failed on the connection: stop using it and wake the supervisor.
    pub(super) fn fail(&self, why: &str) {
        if self.conn.load().is_some() {
            self.down(why);
            self.broken.notify_one();
        }
    }
}
