//! The running engine and its [`Handle`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::access_tokens::Tokens;
use crate::config::{self, Config, ConfigError, Credential};
use crate::events::Event;
use crate::integrations::{claude_code, codex, gemini_cli};
use crate::routing::ProviderStatus;
use crate::secrets::{self, CachedStore, Secret, SecretError, SecretStore};
use crate::state::{
    AnswerCache, EventBus, Membership, RateLimits, RoutingState, Stamped, UsageLedger,
};
use crate::stats::{ProviderTotals, Stats};
use crate::upstream::outbound::Clients;

/// How long [`Handle::shutdown`] lets in-flight requests finish.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The keychain name of the client access token.
pub const ACCESS_TOKEN_NAME: &str = crate::access_tokens::MAIN_TOKEN_NAME;

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
    /// `[cluster]` cannot be used.
    #[error("team mode ([cluster]): {0}")]
    Cluster(String),
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

/// How the engine as a whole is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// The primary (or the pinned provider) serves.
    Healthy,
    /// A backup serves.
    Degraded,
    /// Nothing can serve.
    Down,
}

/// What a config needs from outside (the keychain, the environment) to run, read before
/// anything changes.
pub(crate) struct Preflight {
    main: Option<Secret>,
    named: Vec<(String, Secret)>,
}

/// Check `cfg` as `serve` would before running it: its own rules ([`config::validate`]), the
/// access tokens it names being readable, and a token for a listen address other machines can
/// reach. `file` locates the errors.
pub(crate) fn preflight(
    cfg: &Config,
    store: &dyn SecretStore,
    file: Option<&std::path::Path>,
) -> Result<Preflight, ConfigError> {
    config::validate(cfg)?;
    let err = |field: &str, message: String| ConfigError {
        file: file.map(std::path::Path::to_path_buf),
        line: None,
        field: Some(field.into()),
        message,
    };
    let main = crate::access_tokens::main_token(cfg, store)
        .map_err(|m| err("security.access_token", m))?;
    let named =
        crate::access_tokens::read_named(cfg, store).map_err(|m| err("security.tokens", m))?;
    if !cfg.listen.ip().is_loopback() && main.is_none() && named.is_empty() {
        return Err(err(
            "listen",
            format!(
                "{} is reachable from other machines, but no access token is stored: create one with `switchyard tokens add <name>`",
                cfg.listen
            ),
        ));
    }
    Ok(Preflight { main, named })
}

/// Where Claude Code's settings stand.
#[derive(Debug, Clone, Serialize)]
pub struct ClaudeCodeStatus {
    /// `~/.claude/settings.json` (or under `CLAUDE_CONFIG_DIR`), when a home directory exists.
    pub settings_path: Option<PathBuf>,
    /// They point at this Switchyard (Switchyard's backup of them exists).
    pub configured: bool,
    /// The base URL Claude Code is (or would be) given.
    pub base_url: String,
}

/// Where Codex CLI's config stands.
#[derive(Debug, Clone, Serialize)]
pub struct CodexStatus {
    /// `~/.codex/config.toml` (or under `CODEX_HOME`), when a home directory exists.
    pub config_path: Option<PathBuf>,
    /// It points at this Switchyard (Switchyard's backup of it exists).
    pub configured: bool,
    /// The base URL Codex is (or would be) given.
    pub base_url: String,
    /// The environment variable whose value Codex sends as its key.
    pub key_var: &'static str,
}

/// Where Gemini CLI's files stand.
#[derive(Debug, Clone, Serialize)]
pub struct GeminiCliStatus {
    /// `~/.gemini`, when a home directory exists.
    pub dir: Option<PathBuf>,
    /// Its `.env` and `settings.json` point at this Switchyard (Switchyard's backup exists).
    pub configured: bool,
    /// The base URL Gemini CLI is (or would be) given.
    pub base_url: String,
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
    /// Every key of the provider's pool (one entry when it has no pool), never the keys.
    pub pool: Vec<PoolKeyStatus>,
}

/// One key of a pool, without the key.
#[derive(Debug, Clone, Serialize)]
pub struct PoolKeyStatus {
    /// 1-based slot.
    pub slot: usize,
    /// Where it is stored (`<id>`, `<id>#2`, ... or the environment variable).
    pub name: String,
    /// A key is available.
    pub set: bool,
    /// Last 4 characters, when set.
    pub hint: Option<String>,
    /// In rotation or cooling.
    pub state: crate::routing::keys::KeySlotState,
    /// End of its cooldown, when cooling.
    pub cooldown_until: Option<DateTime<Utc>>,
    /// Why it was last taken out of rotation.
    pub problem: Option<String>,
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
    /// Whether the primary (or the pinned provider) serves.
    pub status: Health,
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
    /// The response cache.
    pub cache: crate::cache::CacheStats,
    /// The smallest context window among the enabled providers, when known: what Claude
    /// Code is told to plan with.
    pub context_window: Option<u64>,
    /// Team mode: the Redis link and the replicas seen (absent outside team mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<crate::state::ClusterStatus>,
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
    /// The budget it is over (`day` or `month`), if any: it is skipped until the period ends.
    pub over_budget: Option<crate::usage::Period>,
    /// The smallest input window (tokens) among its models, when known.
    pub context_window: Option<u64>,
}

/// A random id for the hop header (the clock-based nonce if the OS gives no randomness).
fn hop_id(nonce: u64) -> String {
    let mut b = [0u8; 8];
    let n = match getrandom::fill(&mut b) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => nonce,
    };
    format!("sy-{n:016x}")
}

/// The running engine's state. Handlers and pipeline phases reach it through `Arc<Engine>` and
/// its methods; the fields are private, so every reach is a named capability.
pub struct Engine {
    config: ArcSwap<Config>,
    config_path: Option<PathBuf>,
    secrets: Arc<CachedStore>,
    clients: ArcSwap<Clients>,
    state: SharedState,
    /// Named client tokens: the values read from the secret store.
    tokens: Arc<Tokens>,
    stats: Stats,
    listen: SocketAddr,
    started_at: DateTime<Utc>,
    access_token: ArcSwap<Option<Secret>>,
    request_seq: AtomicU64,
    nonce: u64,
    /// This process's id in the hop header (`x-switchyard-hops`): random, so two instances
    /// (or two replicas of a team) never share one.
    hop_id: String,
    /// Held by whoever changes the running config (a save, the file watcher).
    config_writer: parking_lot::Mutex<()>,
}

/// The shared-state implementations an engine runs with (see `state/`).
pub(crate) struct SharedState {
    /// Breakers, cooldowns, trials, pins, sticky sessions, key pools.
    pub routing: Arc<dyn RoutingState>,
    /// Spend and budgets.
    pub usage: Arc<dyn UsageLedger>,
    /// Access-token request rates.
    pub limits: Arc<dyn RateLimits>,
    /// The response cache.
    pub cache: Arc<dyn AnswerCache>,
    /// Events.
    pub events: Arc<dyn EventBus>,
    /// Team mode: how the cluster is doing.
    pub cluster: Option<Arc<dyn Membership>>,
}

impl Engine {
    /// An engine for `config` (validated by the caller), listening on `listen`.
    pub(crate) fn new(
        config: Config,
        config_path: Option<PathBuf>,
        secrets: Arc<CachedStore>,
        state: SharedState,
        tokens: Arc<Tokens>,
        listen: SocketAddr,
    ) -> Engine {
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id());
        Engine {
            clients: ArcSwap::from_pointee(Clients::build(&config, secrets.as_ref())),
            config: ArcSwap::from_pointee(config),
            config_path,
            secrets,
            state,
            tokens,
            stats: Stats::default(),
            listen,
            started_at: Utc::now(),
            access_token: ArcSwap::from_pointee(None),
            request_seq: AtomicU64::new(1),
            nonce,
            hop_id: hop_id(nonce),
            config_writer: parking_lot::Mutex::new(()),
        }
    }

    /// This process's id in the hop header.
    pub(crate) fn hop_id(&self) -> &str {
        &self.hop_id
    }

    /// The running config.
    pub(crate) fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    /// Where the config lives, if it came from a file.
    pub(crate) fn config_path(&self) -> Option<&std::path::Path> {
        self.config_path.as_deref()
    }

    /// The HTTP clients (one per distinct proxy setting).
    pub(crate) fn clients(&self) -> Arc<Clients> {
        self.clients.load_full()
    }

    /// Breakers, cooldowns, trials, pins, sticky sessions, key pools.
    pub(crate) fn routing(&self) -> &dyn RoutingState {
        &*self.state.routing
    }

    /// Spend and budgets.
    pub(crate) fn usage(&self) -> &dyn UsageLedger {
        &*self.state.usage
    }

    /// The shared usage ledger (for the flusher task).
    pub(crate) fn usage_ledger(&self) -> Arc<dyn UsageLedger> {
        self.state.usage.clone()
    }

    /// Access-token request rates.
    pub(crate) fn limits(&self) -> &dyn RateLimits {
        &*self.state.limits
    }

    /// The response cache.
    pub(crate) fn cache(&self) -> &dyn AnswerCache {
        &*self.state.cache
    }

    /// Counters and the recent-request log.
    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The secret store (with its cache).
    pub(crate) fn secrets(&self) -> &Arc<CachedStore> {
        &self.secrets
    }

    /// Named client tokens.
    pub(crate) fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// Where we listen.
    pub(crate) fn listen(&self) -> SocketAddr {
        self.listen
    }

    /// The main access token, when one is configured.
    pub(crate) fn access_token(&self) -> Arc<Option<Secret>> {
        self.access_token.load_full()
    }

    /// Listen to events.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.state.events.subscribe()
    }

    /// Listen to events, each with the replica it happened on (team mode).
    pub(crate) fn subscribe_stamped(&self) -> broadcast::Receiver<Stamped> {
        self.state.events.subscribe_stamped()
    }

    /// Team mode: how the cluster is doing.
    pub(crate) fn cluster(&self) -> Option<crate::state::ClusterStatus> {
        self.state.cluster.as_ref().map(|c| c.status())
    }

    /// Whether anyone listens to events.
    pub(crate) fn has_listeners(&self) -> bool {
        self.state.events.has_listeners()
    }

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
        self.state.events.emit(e);
    }

    /// The key for a keyed provider. Keychain reads go to a blocking thread once, then come
    /// from the cache.
    pub(crate) async fn provider_key(
        &self,
        id: &str,
        cred: &Credential,
    ) -> Result<Option<Secret>, SecretError> {
        match cred {
            // `env:A,B` lists a pool; outside the pool logic the first variable is the key.
            Credential::Env(var) => secrets::from_env(var.split(',').next().unwrap_or(var).trim()),
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
        crate::access_tokens::main_token(cfg, self.secrets.as_ref())
    }

    /// Claude Code's settings: whether they point here, and where they are.
    pub(crate) fn claude_code_status(&self) -> ClaudeCodeStatus {
        let path = claude_code::settings_path();
        ClaudeCodeStatus {
            configured: path.as_deref().is_some_and(claude_code::is_configured),
            settings_path: path,
            base_url: format!("http://{}", self.listen),
        }
    }

    /// Point Claude Code at this Switchyard, or undo that (blocking: file I/O).
    pub(crate) fn configure_claude_code(&self, undo: bool) -> Result<ClaudeCodeStatus, String> {
        let path = claude_code::settings_path().ok_or(
            "cannot find the home directory for Claude Code's settings (set CLAUDE_CONFIG_DIR)",
        )?;
        if undo {
            claude_code::undo(&path).map_err(|e| e.to_string())?;
        } else {
            let token = self.access_token.load();
            let token = token.as_ref().as_ref().map(|t| t.expose());
            let base = format!("http://{}", self.listen);
            claude_code::set_up(&path, &self.config.load(), &base, token)
                .map_err(|e| e.to_string())?;
        }
        Ok(self.claude_code_status())
    }

    /// Codex CLI's config: whether it points here, and where it is.
    pub(crate) fn codex_status(&self) -> CodexStatus {
        let path = codex::config_path();
        CodexStatus {
            configured: path.as_deref().is_some_and(codex::is_configured),
            config_path: path,
            base_url: codex::codex_base_url(&format!("http://{}", self.listen)),
            key_var: codex::KEY_VAR,
        }
    }

    /// Point Codex CLI at this Switchyard, or undo that (blocking: file I/O).
    pub(crate) fn configure_codex(&self, undo: bool) -> Result<CodexStatus, String> {
        let path = codex::config_path()
            .ok_or("cannot find the home directory for Codex's config (set CODEX_HOME)")?;
        if undo {
            codex::undo(&path).map_err(|e| e.to_string())?;
        } else {
            codex::configure(&path, &format!("http://{}", self.listen))
                .map_err(|e| e.to_string())?;
        }
        Ok(self.codex_status())
    }

    /// Gemini CLI's files: whether they point here, and where they are.
    pub(crate) fn gemini_cli_status(&self) -> GeminiCliStatus {
        let dir = gemini_cli::gemini_dir();
        GeminiCliStatus {
            configured: dir.as_deref().is_some_and(gemini_cli::is_configured),
            dir,
            base_url: format!("http://{}", self.listen),
        }
    }

    /// Point Gemini CLI at this Switchyard, or undo that (blocking: file I/O).
    pub(crate) fn configure_gemini_cli(&self, undo: bool) -> Result<GeminiCliStatus, String> {
        let dir = gemini_cli::gemini_dir().ok_or("cannot find the home directory for ~/.gemini")?;
        if undo {
            gemini_cli::undo(&dir).map_err(|e| e.to_string())?;
        } else {
            let token = self.access_token.load();
            let token = token.as_ref().as_ref().map(|t| t.expose());
            let base = format!("http://{}", self.listen);
            gemini_cli::set_up(&dir, &self.config.load(), &base, token)
                .map_err(|e| e.to_string())?;
        }
        Ok(self.gemini_cli_status())
    }

    /// Build the HTTP clients again (proxy settings or a proxy password changed).
    pub(crate) fn rebuild_clients(&self, cfg: &Config) {
        let clients = Clients::build(cfg, self.secrets.as_ref());
        self.clients.store(Arc::new(clients));
    }

    /// A secret was stored or deleted under `name`: a proxy password rebuilds the clients; a
    /// provider key gives the provider (and its pool) a fresh start.
    pub(crate) fn secret_changed(&self, name: &str) {
        if name.starts_with("proxy:") {
            let cfg = self.config.load_full();
            self.rebuild_clients(&cfg);
        } else {
            self.state
                .routing
                .reset(name.split('#').next().unwrap_or(name));
        }
    }

    /// Whether `name` is something the secret store may hold for this config: a provider id,
    /// a pool slot `<id>#N`, `proxy:global`, `proxy:<id>`, the access token or the Redis
    /// password (`redis`, read when the engine starts).
    pub(crate) fn known_secret_name(&self, name: &str) -> bool {
        let cfg = self.config.load();
        if name == ACCESS_TOKEN_NAME
            || name == crate::upstream::outbound::GLOBAL_PROXY_SECRET
            || name == config::REDIS_SECRET
        {
            return true;
        }
        if let Some(id) = name.strip_prefix("proxy:") {
            return cfg.provider(id).is_some();
        }
        match name.split_once('#') {
            Some((id, n)) => {
                cfg.provider(id).is_some()
                    && n.parse::<u32>()
                        .is_ok_and(|n| (2..=config::MAX_KEYS).contains(&n))
            }
            None => cfg.provider(name).is_some(),
        }
    }

    /// Validate, save atomically with a backup, apply.
    pub(crate) fn save_config(&self, cfg: Config) -> Result<(), ConfigError> {
        // One writer at a time: a save reads the file, merges, writes and applies as one step,
        // and the config watcher waits for it.
        let _writer = self.config_writer.lock();
        // Everything `apply` could refuse is checked before the file is touched: a refused
        // save leaves it byte for byte as it was.
        let ready = preflight(&cfg, self.secrets.as_ref(), self.config_path.as_deref())?;
        let path = self
            .config_path
            .clone()
            .or_else(config::default_config_path)
            .ok_or_else(|| ConfigError {
                file: None,
                line: None,
                field: None,
                message: "no config path: set SWITCHYARD_CONFIG".into(),
            })?;
        // Keep the user's comments and layout when there is a file; write afresh otherwise (or
        // when it cannot be merged — the previous file stays in `.bak` either way).
        let merged = std::fs::read_to_string(&path)
            .ok()
            .and_then(|old| config::update_document(&old, &cfg).ok());
        let text = match merged {
            Some(t) => t,
            None => {
                let body = toml::to_string_pretty(&cfg).map_err(|err| ConfigError {
                    file: Some(path.clone()),
                    line: None,
                    field: None,
                    message: format!("cannot serialise the config: {err}"),
                })?;
                format!(
                    "# Switchyard configuration (saved by Switchyard; the previous version is in {}.bak).\n\n{body}",
                    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
                )
            }
        };
        config::save_atomic(&path, text.as_bytes()).map_err(|err| ConfigError {
            file: Some(path.clone()),
            line: None,
            field: None,
            message: err.to_string(),
        })?;
        self.commit(cfg, ready);
        Ok(())
    }

    /// [`Engine::save_config`] off the async workers (it reads and writes files and the
    /// keychain).
    pub(crate) async fn save(self: &Arc<Self>, cfg: Config) -> Result<(), ConfigError> {
        let e = self.clone();
        tokio::task::spawn_blocking(move || e.save_config(cfg))
            .await
            .map_err(|j| ConfigError {
                file: None,
                line: None,
                field: None,
                message: format!("the save did not finish: {j}"),
            })?
    }

    /// Apply a config (validated here) without writing it anywhere: from the file watcher, or
    /// a caller that keeps the file itself.
    pub(crate) fn apply(&self, cfg: Config) -> Result<(), ConfigError> {
        let _writer = self.config_writer.lock();
        let ready = preflight(&cfg, self.secrets.as_ref(), self.config_path.as_deref())?;
        self.commit(cfg, ready);
        Ok(())
    }

    /// Read the config file and apply it, unless it is what runs already (a save of ours). The
    /// file is read under the writer lock: read before a save and applied after it, it would
    /// put the save's predecessor back in force.
    pub(crate) fn reload_from_file(&self, path: &std::path::Path) -> Result<bool, ConfigError> {
        let _writer = self.config_writer.lock();
        let cfg = crate::config::load_file(path)?;
        if **self.config.load() == cfg {
            return Ok(false);
        }
        let ready = preflight(&cfg, self.secrets.as_ref(), self.config_path.as_deref())?;
        self.commit(cfg, ready);
        Ok(true)
    }

    /// Put a checked config in force. Nothing here can fail.
    fn commit(&self, cfg: Config, ready: Preflight) {
        if self.config.load().cluster != cfg.cluster {
            tracing::warn!("[cluster] changed: it takes effect when Switchyard restarts");
        }
        if crate::upstream::outbound::signature(&cfg) != self.clients.load().signature {
            self.rebuild_clients(&cfg);
        }
        self.tokens.install(&cfg, ready.named);
        self.state.routing.retain(&cfg);
        self.access_token.store(Arc::new(ready.main));
        self.config.store(Arc::new(cfg));
        self.state.cache.clear();
        self.emit(Event::ConfigChanged);
    }

    /// Read the access tokens `cfg` names (the main one and the named ones) and put them in
    /// force. Returns whether any token can be used.
    pub(crate) fn load_access_tokens(&self, cfg: &Config) -> Result<bool, String> {
        let token = self.resolve_access_token(cfg)?;
        self.tokens.load(cfg, &*self.secrets)?;
        let usable = token.is_some() || self.tokens.usable() > 0;
        self.access_token.store(Arc::new(token));
        Ok(usable)
    }

    pub(crate) fn status(&self) -> Status {
        let cfg = self.config.load();
        let now = Instant::now();
        let totals = self.stats.totals();
        let statuses = self.state.routing.statuses(&cfg, now);
        let wall = Utc::now();
        let over = |id: &str| {
            cfg.provider(id)
                .is_some_and(|p| self.state.usage.over_budget(p, wall).is_some())
        };
        // The router does not know budgets: a provider over one is passed over like the proxy does.
        let current = match self.state.routing.current(&cfg, now) {
            Some(c) if over(&c) => statuses
                .iter()
                .find(|s| {
                    s.enabled && s.state == crate::routing::ProviderState::Available && !over(&s.id)
                })
                .map(|s| s.id.clone()),
            c => c,
        };
        let primary = cfg
            .providers
            .iter()
            .find(|p| p.enabled)
            .map(|p| p.id.clone());
        let pinned = self.state.routing.pinned();
        let status = match &current {
            None => Health::Down,
            Some(c) if Some(c) == pinned.as_ref().or(primary.as_ref()) => Health::Healthy,
            Some(_) => Health::Degraded,
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
                    over_budget: p
                        .and_then(|p| self.state.usage.over_budget(p, wall))
                        .map(|o| o.period),
                    context_window: p.and_then(crate::context_window::of_provider),
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
            active_provider: self.state.routing.active(),
            pinned,
            providers,
            requests_total: self.stats.total(),
            config_path: self.config_path.clone(),
            cache: self.state.cache.stats(&cfg.cache),
            context_window: crate::context_window::smallest(&cfg),
            cluster: self.cluster(),
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
        self.state.routing.pin(target.map(String::from));
        self.emit(Event::Switched {
            pinned: target.map(String::from),
        });
        Ok(())
    }

    /// Each key of a provider's pool (blocking: reads the store).
    fn pool_statuses(&self, p: &crate::config::Provider) -> Vec<PoolKeyStatus> {
        use crate::routing::keys::{pool_size, slot_name};
        if matches!(p.credential, Credential::Passthrough | Credential::None) {
            return Vec::new();
        }
        let n = pool_size(p);
        let states = self.state.routing.key_states(&p.id, n, Instant::now());
        states
            .into_iter()
            .enumerate()
            .map(|(i, st)| {
                let (name, v) = match &p.credential {
                    Credential::Env(vars) => {
                        let var = vars.split(',').nth(i).unwrap_or("").trim().to_string();
                        let v = secrets::from_env(&var).ok().flatten();
                        (var, v)
                    }
                    _ => {
                        let name = slot_name(&p.id, i);
                        let v = self.secrets.get(&name).ok().flatten();
                        (name, v)
                    }
                };
                PoolKeyStatus {
                    slot: st.slot,
                    name,
                    set: v.is_some(),
                    hint: v.map(|s| s.hint()),
                    state: st.state,
                    cooldown_until: st.cooldown_until,
                    problem: st.problem,
                }
            })
            .collect()
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
                    Credential::Env(var) => {
                        match secrets::from_env(var.split(',').next().unwrap_or(var).trim()) {
                            Ok(v) => (v, None),
                            Err(e) => (None, Some(e.to_string())),
                        }
                    }
                    Credential::Passthrough | Credential::None => (None, None),
                };
                KeyStatus {
                    provider: p.id.clone(),
                    source: p.credential.to_string(),
                    set: v.is_some(),
                    hint: v.map(|s| s.hint()),
                    error,
                    pool: self.pool_statuses(p),
                }
            })
            .collect()
    }
}
