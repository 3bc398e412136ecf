//! The running engine and its [`Handle`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::config::{self, Config, ConfigError, Credential};
use crate::events::Event;
use crate::routing::{ProviderStatus, Router};
use crate::secrets::{self, CachedStore, Secret, SecretError, SecretStore};
use crate::stats::{ProviderTotals, Stats};

/// How long [`Handle::shutdown`] lets in-flight requests finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The keychain name of the client access token.
pub const ACCESS_TOKEN_NAME: &str = "access-token";

/// What to start.
pub struct StartOptions {
    /// The config to run.
    pub config: Config,
    /// Where it came from (enables hot reload and saving); `None` for the embedded default.
    pub config_path: Option<PathBuf>,
    /// Where keys live.
    pub secrets: Arc<dyn SecretStore>,
    /// Listen here instead of `config.listen` (e.g. `--listen`, or port 0 in tests).
    pub listen_override: Option<SocketAddr>,
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The port is taken.
    #[error("cannot listen on {addr}: the port is already in use (is another Switchyard running? change `listen` in the config or pass --listen 127.0.0.1:PORT)")]
    AddrInUse {
        /// The address.
        addr: SocketAddr,
    },
    /// Any other bind failure.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The config is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A non-loopback listen address without a usable access token.
    #[error("{0}")]
    AccessToken(String),
}

/// Why a switch was refused.
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    /// No such provider.
    #[error("unknown provider {id:?}; known providers: {known}")]
    Unknown {
        /// The id asked for.
        id: String,
        /// The ids that exist, comma-separated.
        known: String,
    },
    /// It exists but is disabled.
    #[error("provider {0:?} is disabled; enable it first")]
    Disabled(String),
}

/// Key state of one provider, without the key.
#[derive(Debug, Clone, Serialize)]
pub struct KeyStatus {
    /// Provider id.
    pub provider: String,
    /// The credential source from the config.
    pub source: String,
    /// A key is available.
    pub set: bool,
    /// Last 4 characters, when set.
    pub hint: Option<String>,
    /// Why it could not be read, if it could not.
    pub error: Option<String>,
}

/// The whole status, as `/api/status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Engine version.
    pub version: &'static str,
    /// Where we listen.
    pub listen: SocketAddr,
    /// Started at.
    pub started_at: DateTime<Utc>,
    /// `healthy` (primary available), `degraded` (on a backup) or `down` (nothing available).
    pub status: &'static str,
    /// The provider the next request goes to.
    pub current_provider: Option<String>,
    /// The provider that served the last successful request.
    pub active_provider: Option<String>,
    /// The pinned provider.
    pub pinned: Option<String>,
    /// Every provider, in priority order.
    pub providers: Vec<ProviderView>,
    /// Requests handled.
    pub requests_total: u64,
    /// The config file, if any.
    pub config_path: Option<PathBuf>,
}

/// A provider in the status.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderView {
    /// Routing state.
    #[serde(flatten)]
    pub status: ProviderStatus,
    /// Counters.
    pub totals: ProviderTotals,
    /// Kind.
    pub kind: crate::config::ProviderKind,
    /// Base URL.
    pub base_url: String,
    /// Credential source.
    pub credential: String,
}

/// Shared engine state. Handlers reach it through `Arc<Engine>`.
pub struct Engine {
    pub(crate) config: ArcSwap<Config>,
    pub(crate) config_path: Option<PathBuf>,
    pub(crate) secrets: Arc<CachedStore>,
    pub(crate) client: ArcSwap<reqwest::Client>,
    pub(crate) router: Arc<Router>,
    pub(crate) events: broadcast::Sender<Event>,
    pub(crate) stats: Stats,
    pub(crate) listen: SocketAddr,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) access_token: ArcSwap<Option<Secret>>,
    request_seq: AtomicU64,
    nonce: u64,
}

/// Idle upstream connections kept per provider host (they close after 90 s idle anyway).
const UPSTREAM_IDLE_PER_HOST: usize = 256;

fn http_client(cfg: &Config) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(cfg.timeouts.connect_ms))
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        // Keep one idle connection per concurrent request up to UPSTREAM_IDLE_PER_HOST: below
        // the client's concurrency, every request beyond it opened (and closed) a fresh upstream
        // connection, which at 64 concurrent requests cost ~3x the CPU per request.
        .pool_max_idle_per_host(UPSTREAM_IDLE_PER_HOST)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("switchyard/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|e| {
            tracing::error!(
                "cannot build the HTTP client with custom settings ({e}); using defaults"
            );
            reqwest::Client::new()
        })
}

impl Engine {
    /// A fresh request id, `req_sy_…`.
    pub(crate) fn request_id(&self) -> String {
        let n = self.request_seq.fetch_add(1, Ordering::Relaxed);
        format!("req_sy_{:012x}{:08x}", self.nonce & 0xffff_ffff_ffff, n)
    }

    /// Emit an event (nobody listening is fine).
    pub(crate) fn emit(&self, e: Event) {
        if !matches!(e, Event::RequestFinished(_)) {
            tracing::debug!(event = ?e, "event");
        }
        let _ = self.events.send(e);
    }

    /// The key for a keyed provider. Keychain reads go to a blocking thread once, then come
    /// from the cache.
    pub(crate) async fn provider_key(
        &self,
        id: &str,
        cred: &Credential,
    ) -> Result<Option<Secret>, SecretError> {
        match cred {
            Credential::Env(var) => secrets::from_env(var),
            Credential::Keychain => {
                if let Some(v) = self.secrets.cached(id) {
                    return Ok(v);
                }
                let store = self.secrets.clone();
                let id = id.to_string();
                tokio::task::spawn_blocking(move || store.get(&id))
                    .await
                    .map_err(|e| SecretError::Unavailable(e.to_string()))?
            }
            Credential::Passthrough | Credential::None => Ok(None),
        }
    }

    pub(crate) fn resolve_access_token(&self, cfg: &Config) -> Result<Option<Secret>, String> {
        let Some(cred) = &cfg.security.access_token else {
            return Ok(None);
        };
        let v = match cred {
            Credential::Env(var) => secrets::from_env(var),
            Credential::Keychain => self.secrets.get(ACCESS_TOKEN_NAME),
            Credential::Passthrough | Credential::None => {
                return Err("security.access_token must be \"keychain\" or \"env:VAR\"".into())
            }
        };
        match v {
            Ok(Some(s)) => Ok(Some(s)),
            Ok(None) => Err(format!(
                "security.access_token = \"{cred}\" but no token is stored there (for the keychain: `switchyard keys set {ACCESS_TOKEN_NAME}`)"
            )),
            Err(e) => Err(format!("cannot read the access token: {e}")),
        }
    }

    /// Apply a validated config.
    pub(crate) fn apply(&self, cfg: Config) -> Result<(), ConfigError> {
        config::validate(&cfg)?;
        let token = self.resolve_access_token(&cfg).map_err(|m| ConfigError {
            file: self.config_path.clone(),
            line: None,
            field: Some("security.access_token".into()),
            message: m,
        })?;
        if cfg.timeouts.connect_ms != self.config.load().timeouts.connect_ms {
            self.client.store(Arc::new(http_client(&cfg)));
        }
        self.router.retain(&cfg);
        self.access_token.store(Arc::new(token));
        self.config.store(Arc::new(cfg));
        self.emit(Event::ConfigChanged);
        Ok(())
    }

    pub(crate) fn status(&self) -> Status {
        let cfg = self.config.load();
        let now = Instant::now();
        let totals = self.stats.totals();
        let statuses = self.router.statuses(&cfg, now);
        let current = self.router.current(&cfg, now);
        let primary = cfg
            .providers
            .iter()
            .find(|p| p.enabled)
            .map(|p| p.id.clone());
        let pinned = self.router.pinned();
        let status = match &current {
            None => "down",
            Some(c) if Some(c) == pinned.as_ref().or(primary.as_ref()) => "healthy",
            Some(_) => "degraded",
        };
        let providers = statuses
            .into_iter()
            .map(|s| {
                let p = cfg.provider(&s.id);
                ProviderView {
                    totals: totals.get(&s.id).cloned().unwrap_or_default(),
                    kind: p.map(|p| p.kind).unwrap_or_default(),
                    base_url: p.map(|p| p.base_url.clone()).unwrap_or_default(),
                    credential: p.map(|p| p.credential.to_string()).unwrap_or_default(),
                    status: s,
                }
            })
            .collect();
        Status {
            version: crate::VERSION,
            listen: self.listen,
            started_at: self.started_at,
            status,
            current_provider: current,
            active_provider: self.router.active(),
            pinned,
            providers,
            requests_total: self.stats.total(),
            config_path: self.config_path.clone(),
        }
    }

    pub(crate) fn switch(&self, target: Option<&str>) -> Result<(), SwitchError> {
        let cfg = self.config.load();
        if let Some(id) = target {
            match cfg.provider(id) {
                None => {
                    return Err(SwitchError::Unknown {
                        id: id.to_string(),
                        known: cfg
                            .providers
                            .iter()
                            .map(|p| p.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    })
                }
                Some(p) if !p.enabled => return Err(SwitchError::Disabled(id.to_string())),
                Some(_) => {}
            }
        }
        self.router.pin(target.map(String::from));
        self.emit(Event::Switched {
            pinned: target.map(String::from),
        });
        Ok(())
    }

    pub(crate) fn key_statuses(&self) -> Vec<KeyStatus> {
        let cfg = self.config.load();
        cfg.providers
            .iter()
            .map(|p| {
                let (v, error) = match &p.credential {
                    Credential::Keychain => match self.secrets.get(&p.id) {
                        Ok(v) => (v, None),
                        Err(e) => (None, Some(e.to_string())),
                    },
                    Credential::Env(var) => match secrets::from_env(var) {
                        Ok(v) => (v, None),
                        Err(e) => (None, Some(e.to_string())),
                    },
                    Credential::Passthrough | Credential::None => (None, None),
                };
                KeyStatus {
                    provider: p.id.clone(),
                    source: p.credential.to_string(),
                    set: v.is_some(),
                    hint: v.map(|s| s.hint()),
                    error,
                }
            })
            .collect()
    }
}

/// Entry point.
pub struct Switchyard;

impl Switchyard {
    /// Validate the config, bind the listener and start serving. Returns once listening.
    pub async fn start(opts: StartOptions) -> Result<Handle, StartError> {
        config::validate(&opts.config)?;
        let addr = opts.listen_override.unwrap_or(opts.config.listen);
        if !addr.ip().is_loopback() && opts.config.security.access_token.is_none() {
            return Err(StartError::AccessToken(format!(
                "{addr} is reachable from other machines: set [security] access_token in the config first"
            )));
        }
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                return Err(StartError::AddrInUse { addr })
            }
            Err(e) => return Err(StartError::Bind { addr, source: e }),
        };
        let listen = listener
            .local_addr()
            .map_err(|e| StartError::Bind { addr, source: e })?;
        let (events, _) = broadcast::channel(256);
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id());
        let engine = Arc::new(Engine {
            client: ArcSwap::from_pointee(http_client(&opts.config)),
            config: ArcSwap::from_pointee(opts.config.clone()),
            config_path: opts.config_path,
            secrets: Arc::new(CachedStore::new(opts.secrets)),
            router: Router::new(),
            events,
            stats: Stats::default(),
            listen,
            started_at: Utc::now(),
            access_token: ArcSwap::from_pointee(None),
            request_seq: AtomicU64::new(1),
            nonce,
        });
        let token = engine
            .resolve_access_token(&opts.config)
            .map_err(StartError::AccessToken)?;
        engine.access_token.store(Arc::new(token));

        let (stop_tx, stop_rx) = watch::channel(false);
        let app = crate::server::app(engine.clone());
        let mut rx = stop_rx.clone();
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            use axum::serve::ListenerExt;
            // Without TCP_NODELAY a stream's second small write waits for the client's
            // delayed ACK (~40 ms on Linux): every SSE chunk after the first would be late.
            let listener = listener.tap_io(|tcp| {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!("cannot set TCP_NODELAY: {e}");
                }
            });
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!("server stopped: {e}");
            }
        });
        if let Some(path) = &engine.config_path {
            // Stamp now, not when the task first runs, so an edit made right after start counts.
            let stamp = config::watch::stamp(path);
            tokio::spawn(watch_config(engine.clone(), stamp, stop_rx.clone()));
        }
        tokio::spawn(crate::server::probe::run(engine.clone(), stop_rx.clone()));
        tracing::info!(%listen, "switchyard listening");
        Ok(Handle {
            engine,
            stop: Arc::new(stop_tx),
            server: Arc::new(parking_lot::Mutex::new(Some(server))),
        })
    }
}

async fn watch_config(
    engine: Arc<Engine>,
    mut last: Option<config::watch::Stamp>,
    mut stop: watch::Receiver<bool>,
) {
    let Some(path) = engine.config_path.clone() else {
        return;
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let now = config::watch::stamp(&path);
        if now == last {
            continue;
        }
        last = now;
        if now.is_none() {
            continue;
        }
        let p = path.clone();
        let loaded = tokio::task::spawn_blocking(move || config::load_file(&p)).await;
        match loaded {
            Ok(Ok(cfg)) => {
                if **engine.config.load() == cfg {
                    continue;
                }
                match engine.apply(cfg) {
                    Ok(()) => tracing::info!(path = %path.display(), "config reloaded"),
                    Err(e) => {
                        tracing::error!("config change rejected, keeping the running config: {e}");
                        engine.emit(Event::ConfigError {
                            message: e.to_string(),
                        });
                    }
                }
            }
            Ok(Err(e)) => {
                tracing::error!("config change rejected, keeping the running config: {e}");
                engine.emit(Event::ConfigError {
                    message: e.to_string(),
                });
            }
            Err(e) => tracing::error!("config reload task failed: {e}"),
        }
    }
}

/// The one way in for the desktop shell, the CLI and tests. Cheap to clone.
#[derive(Clone)]
pub struct Handle {
    engine: Arc<Engine>,
    stop: Arc<watch::Sender<bool>>,
    server: Arc<parking_lot::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl Handle {
    /// The address we listen on.
    pub fn addr(&self) -> SocketAddr {
        self.engine.listen
    }

    /// `http://ADDR` — what clients use as their base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.engine.listen)
    }

    /// Current status.
    pub fn status(&self) -> Status {
        self.engine.status()
    }

    /// Pin a provider (`Some(id)`) or go back to automatic (`None`).
    pub fn switch(&self, target: Option<&str>) -> Result<(), SwitchError> {
        self.engine.switch(target)
    }

    /// Subscribe to engine events.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.engine.events.subscribe()
    }

    /// The running config.
    pub fn config(&self) -> Arc<Config> {
        self.engine.config.load_full()
    }

    /// Where the config lives, if it came from a file.
    pub fn config_path(&self) -> Option<PathBuf> {
        self.engine.config_path.clone()
    }

    /// Replace the running config (validated first; the listen address does not change
    /// until restart).
    pub fn reload(&self, cfg: Config) -> Result<(), ConfigError> {
        self.engine.apply(cfg)
    }

    /// Validate, save atomically (with a backup) and apply.
    pub fn save_config(&self, cfg: Config) -> Result<(), ConfigError> {
        crate::server::admin::save_and_apply(&self.engine, cfg)
    }

    /// Key state per provider (never the keys).
    pub fn keys(&self) -> Vec<KeyStatus> {
        self.engine.key_statuses()
    }

    /// Store a provider's key in the secret store.
    pub fn set_key(&self, provider: &str, key: &str) -> Result<(), SecretError> {
        let s = Secret::new(key)?;
        self.engine.secrets.set(provider, &s)?;
        self.engine.router.reset(provider);
        Ok(())
    }

    /// Delete a provider's key.
    pub fn delete_key(&self, provider: &str) -> Result<bool, SecretError> {
        self.engine.secrets.delete(provider)
    }

    /// Recent requests, newest last.
    pub fn recent_requests(&self, limit: usize) -> Vec<crate::stats::RequestRecord> {
        self.engine.stats.recent(limit)
    }

    /// Stop serving; in-flight requests finish first.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let task = self.server.lock().take();
        if let Some(mut t) = task {
            // Graceful shutdown waits for every connection to close, and clients keep idle
            // keep-alive connections open: give in-flight requests a few seconds, then stop.
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut t).await.is_err() {
                tracing::info!(
                    "connections still open after {} s: closing them",
                    SHUTDOWN_GRACE.as_secs()
                );
                t.abort();
                let _ = t.await;
            }
        }
    }

    /// Wait until the server stops (after [`Handle::shutdown`] or a fatal error).
    pub async fn wait(&self) {
        let task = self.server.lock().take();
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}
