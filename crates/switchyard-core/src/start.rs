//! The composition root: [`Switchyard::start`] validates the config, binds the listener, builds
//! the engine and starts its tasks (the HTTP server, the config watcher, health probes, the
//! usage flusher), and returns the [`Handle`].

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use chrono::Utc;
use tokio::sync::{broadcast, watch};

use crate::config;
use crate::engine::{Engine, StartError, StartOptions};
use crate::events::Event;
use crate::handle::Handle;
use crate::routing::Router;
use crate::secrets::CachedStore;
use crate::stats::Stats;

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
        let (events, _) = broadcast::channel(256);
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id());
        let secrets = Arc::new(CachedStore::new(opts.secrets));
        let usage = Arc::new(crate::usage::Usage::open(opts.config_path.as_deref()));
        let engine = Arc::new(Engine {
            usage: usage.clone(),
            cache: Default::default(),
            client: ArcSwap::from_pointee(crate::upstream::outbound::Clients::build(
                &opts.config,
                secrets.as_ref(),
            )),
            config: ArcSwap::from_pointee(opts.config.clone()),
            config_path: opts.config_path,
            secrets,
            router: Router::new(),
            events,
            stats: Stats::default(),
            listen,
            started_at: Utc::now(),
            access_token: ArcSwap::from_pointee(None),
            request_seq: AtomicU64::new(1),
            nonce,
            tokens: crate::tokens::Tokens::default(),
        });
        let token = engine
            .resolve_access_token(&opts.config)
            .map_err(StartError::AccessToken)?;
        engine
            .tokens
            .load(&opts.config, &*engine.secrets)
            .map_err(StartError::AccessToken)?;
        if needs_token && token.is_none() && engine.tokens.usable() == 0 {
            return Err(no_token_msg());
        }
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
        tokio::spawn(crate::pipeline::health::run(
            engine.clone(),
            stop_rx.clone(),
        ));
        let flusher = tokio::spawn(crate::usage::run_flusher(usage, stop_rx.clone()));
        tracing::info!(%listen, "switchyard listening");
        Ok(Handle::new(engine, stop_tx, server, flusher))
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
