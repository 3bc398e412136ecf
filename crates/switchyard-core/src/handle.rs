//! [`Handle`]: the one way in for the desktop shell, the CLI and tests. Every user action has one
//! implementation here, shared by all of them and by the admin API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{broadcast, watch};

use crate::config::{Config, ConfigError};
use crate::engine::{
    ClaudeCodeStatus, Engine, GeminiCliStatus, KeyStatus, Status, SwitchError, SHUTDOWN_GRACE,
};
use crate::events::Event;
use crate::secrets::{Secret, SecretError, SecretStore};

/// The one way in for the desktop shell, the CLI and tests. Cheap to clone.
#[derive(Clone)]
pub struct Handle {
    engine: Arc<Engine>,
    stop: Arc<watch::Sender<bool>>,
    server: Arc<parking_lot::Mutex<Option<tokio::task::JoinHandle<()>>>>,
    flusher: Arc<parking_lot::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl Handle {
    /// The handle of a started engine and its tasks (see `start.rs`).
    pub(crate) fn new(
        engine: Arc<Engine>,
        stop: watch::Sender<bool>,
        server: tokio::task::JoinHandle<()>,
        flusher: tokio::task::JoinHandle<()>,
    ) -> Self {
        Handle {
            engine,
            stop: Arc::new(stop),
            server: Arc::new(parking_lot::Mutex::new(Some(server))),
            flusher: Arc::new(parking_lot::Mutex::new(Some(flusher))),
        }
    }
}

impl Handle {
    /// The address we listen on.
    pub fn addr(&self) -> SocketAddr {
        self.engine.listen()
    }

    /// `http://ADDR` — what clients use as their base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.engine.listen())
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
        self.engine.subscribe()
    }

    /// The running config.
    pub fn config(&self) -> Arc<Config> {
        self.engine.config()
    }

    /// Where the config lives, if it came from a file.
    pub fn config_path(&self) -> Option<PathBuf> {
        self.engine.config_path().map(std::path::Path::to_path_buf)
    }

    /// Replace the running config (validated first; the listen address does not change
    /// until restart).
    pub fn reload(&self, cfg: Config) -> Result<(), ConfigError> {
        self.engine.apply(cfg)
    }

    /// Validate, save atomically (with a backup) and apply.
    pub fn save_config(&self, cfg: Config) -> Result<(), ConfigError> {
        self.engine.save_config(cfg)
    }

    /// Claude Code's settings: whether they point here, and where they are.
    pub fn claude_code_status(&self) -> ClaudeCodeStatus {
        self.engine.claude_code_status()
    }

    /// Point Claude Code at this Switchyard (its settings merged, never replaced; undo restores
    /// them), or undo that. Blocking (file I/O): call it off the async workers.
    pub fn configure_claude_code(&self, undo: bool) -> Result<ClaudeCodeStatus, String> {
        self.engine.configure_claude_code(undo)
    }

    /// Gemini CLI's files: whether they point here, and where they are.
    pub fn gemini_cli_status(&self) -> GeminiCliStatus {
        self.engine.gemini_cli_status()
    }

    /// Point Gemini CLI at this Switchyard (`~/.gemini/.env` and `settings.json` merged, never
    /// replaced; undo restores them), or undo that. Blocking (file I/O).
    pub fn configure_gemini_cli(&self, undo: bool) -> Result<GeminiCliStatus, String> {
        self.engine.configure_gemini_cli(undo)
    }

    /// The access token clients must present, when this Switchyard requires one.
    pub fn access_token(&self) -> Option<String> {
        self.engine
            .access_token()
            .as_ref()
            .as_ref()
            .map(|t| t.expose().to_string())
    }

    /// Key state per provider (never the keys).
    pub fn keys(&self) -> Vec<KeyStatus> {
        self.engine.key_statuses()
    }

    /// Store a provider's key in the secret store.
    pub fn set_key(&self, provider: &str, key: &str) -> Result<(), SecretError> {
        let s = Secret::new(key)?;
        self.engine.secrets().set(provider, &s)?;
        self.engine.secret_changed(provider);
        Ok(())
    }

    /// Delete a provider's key.
    pub fn delete_key(&self, provider: &str) -> Result<bool, SecretError> {
        let existed = self.engine.secrets().delete(provider)?;
        self.engine.secret_changed(provider);
        Ok(existed)
    }

    /// Recent requests, newest last.
    pub fn recent_requests(&self, limit: usize) -> Vec<crate::stats::RequestRecord> {
        self.engine.stats().recent(limit)
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
        // The flusher writes once more on its way out; streams that ended during the grace
        // period recorded their usage after that, so write again.
        let flusher = self.flusher.lock().take();
        if let Some(f) = flusher {
            let _ = f.await;
        }
        let usage = self.engine.usage_ledger();
        match tokio::task::spawn_blocking(move || usage.flush()).await {
            Ok(Err(e)) => tracing::error!("usage: cannot save: {e}"),
            Err(e) => tracing::error!("usage: save task failed: {e}"),
            Ok(Ok(())) => {}
        }
    }

    /// Usage over the last `days` UTC days, with budgets.
    pub fn usage(&self, days: u32) -> crate::usage::UsageReport {
        self.engine
            .usage()
            .report(&self.engine.config(), days, Utc::now())
    }

    /// Forget every cached answer; returns how many there were.
    pub fn clear_cache(&self) -> usize {
        self.engine.cache().clear()
    }

    /// Wait until the server stops (after [`Handle::shutdown`] or a fatal error).
    pub async fn wait(&self) {
        let task = self.server.lock().take();
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}
