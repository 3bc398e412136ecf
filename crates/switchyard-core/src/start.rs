//! The composition root: [`Switchyard::start`] validates the config, binds the listener, builds
//! the engine and starts its tasks (the HTTP server, the config watcher, health probes, the
//! usage flusher), and returns the [`Handle`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config;
use crate::engine::{Engine, SharedState, StartError, StartOptions};
use crate::events::Event;
use crate::handle::Handle;
use crate::secrets::CachedStore;
use crate::state::redis::{Locals, Team};
use crate::state::{LocalEvents, ResponseCache, Router, Tokens, Usage, UsageLedger};

/// The longest start-up waits for the team's state from Redis.
const TEAM_START_WAIT: Duration = Duration::from_millis(1500);

/// Entry point.
pub struct Switchyard;

impl Switchyard {
    /// Validate the config, bind the listener and start serving. Returns once listening.
    pub async fn start(opts: StartOptions) -> Result<Handle, StartError> {
        config::validate(&opts.config)?;
        let addr = opts.listen_override.unwrap_or(opts.config.listen);
        let needs_token = !addr.ip().is_loopback();
        let no_token_msg = || {
            StartError::AccessToken(format!(
                "{addr} is reachable from other machines: create an access token first \
                 (`switchyard tokens add <name>`, or set [security] access_token in the config)"
            ))
        };
        if needs_token
            && opts.config.security.access_token.is_none()
            && opts.config.security.tokens.is_empty()
        {
            return Err(no_token_msg());
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
        let secrets = Arc::new(CachedStore::new(opts.secrets));
        let tokens = Arc::new(Tokens::default());
        let (state, team) = shared_state(
            &opts.config,
            opts.config_path.as_deref(),
            &secrets,
            &tokens,
            listen,
        )?;
        let engine = Arc::new(Engine::new(
            opts.config.clone(),
            opts.config_path,
            secrets,
            state,
            tokens,
            listen,
        ));
        let usable = engine
            .load_access_tokens(&opts.config)
            .map_err(StartError::AccessToken)?;
        if needs_token && !usable {
            return Err(no_token_msg());
        }

        let (stop_tx, stop_rx) = watch::channel(false);
        let app = crate::server::app(engine.clone());
        // Connection bounds are read once: they take effect at the next start.
        let limits = &opts.config.limits;
        let bounds = crate::server::listener::Bounds {
            max_connections: limits.max_connections,
            header_read: Duration::from_millis(limits.header_read_ms),
        };
        let server = tokio::spawn(crate::server::listener::serve(
            listener,
            app,
            bounds,
            stop_rx.clone(),
        ));
        if let Some(path) = engine.config_path() {
            // Stamp now, not when the task first runs, so an edit made right after start counts.
            let stamp = config::watch::stamp(path);
            tokio::spawn(watch_config(engine.clone(), stamp, stop_rx.clone()));
        }
        tokio::spawn(crate::pipeline::health::run(
            engine.clone(),
            stop_rx.clone(),
        ));
        let flusher = tokio::spawn(flush_usage(engine.usage_ledger(), stop_rx.clone()));
        if let Some(t) = &team {
            t.spawn(stop_rx.clone());
            // A replica that knows the team's cooldowns before its first request; Redis being
            // away delays start-up by this much at most, and fails nothing.
            t.wait_synced(TEAM_START_WAIT).await;
        }
        tracing::info!(%listen, "switchyard listening");
        Ok(Handle::new(engine, stop_tx, server, flusher))
    }
}

/// The shared-state implementations for this config: in-process, or (with `[cluster]`) the
/// team's Redis ones wrapping them.
fn shared_state(
    config: &config::Config,
    config_path: Option<&std::path::Path>,
    secrets: &Arc<CachedStore>,
    tokens: &Arc<Tokens>,
    listen: std::net::SocketAddr,
) -> Result<(SharedState, Option<Arc<Team>>), StartError> {
    let router = Router::new();
    let usage = Arc::new(Usage::open(config_path));
    let Some(c) = &config.cluster else {
        let state = SharedState {
            routing: router,
            usage,
            limits: tokens.clone(),
            cache: Arc::new(ResponseCache::default()),
            events: Arc::new(LocalEvents::new(256)),
            cluster: None,
        };
        return Ok((state, None));
    };
    let settings =
        crate::state::redis::settings(c, secrets.as_ref(), listen).map_err(StartError::Cluster)?;
    let locals = Locals {
        router,
        usage,
        tokens: tokens.clone(),
    };
    let t = Team::new(&settings, config, locals).map_err(|e| StartError::Cluster(e.to_string()))?;
    let state = SharedState {
        routing: t.clone(),
        usage: t.clone(),
        limits: t.clone(),
        cache: t.clone(),
        events: t.clone(),
        cluster: Some(t.clone()),
    };
    Ok((state, Some(t)))
}

async fn watch_config(
    engine: Arc<Engine>,
    mut last: Option<config::watch::Stamp>,
    mut stop: watch::Receiver<bool>,
) {
    let Some(path) = engine.config_path().map(std::path::Path::to_path_buf) else {
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
        let (p, e) = (path.clone(), engine.clone());
        // Reading the file and the keychain blocks: off the async workers.
        let loaded = tokio::task::spawn_blocking(move || e.reload_from_file(&p)).await;
        match loaded {
            Ok(Ok(true)) => tracing::info!(path = %path.display(), "config reloaded"),
            Ok(Ok(false)) => {}
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

/// Write the usage ledger every [`FLUSH_EVERY`](crate::usage::FLUSH_EVERY) and once more on
/// the way out.
async fn flush_usage(usage: Arc<dyn UsageLedger>, mut stop: watch::Receiver<bool>) {
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(crate::usage::FLUSH_EVERY) => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        let u = usage.clone();
        match tokio::task::spawn_blocking(move || u.flush()).await {
            Ok(Err(e)) => tracing::error!("usage: cannot save: {e}"),
            Err(e) => tracing::error!("usage: save task failed: {e}"),
            Ok(Ok(())) => {}
        }
        if stopping {
            return;
        }
    }
}
