//! The shell's state and actions: start the engine in-process, follow its events
//! (notifications, and a nudge to redraw the tray), and carry out what the tray asks for. No
//! proxy logic lives here; everything goes through the engine's [`Handle`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{FixedOffset, Local};
use parking_lot::Mutex;
use switchyard_core::config::{self, Config};
use switchyard_core::integrations::gemini_cli;
use switchyard_core::secrets::KeychainStore;
use switchyard_core::{Event, Handle, StartOptions, Switchyard};
use tokio::sync::broadcast::error::RecvError;

use crate::i18n::{t, tf, Lang, Text};
use crate::login_item;
use crate::notify::{Notices, Notifier};
use crate::tray_model::{self, Client, Prefs, Snapshot, TrayModel};

/// Listen here instead of the config's `listen` (tests, a second copy beside a headless one).
pub const LISTEN_ENV: &str = "SWITCHYARD_LISTEN";

/// Asks the event loop to bring the tray up to date; callable from any thread.
pub type Redraw = Arc<dyn Fn() + Send + Sync>;

/// Everything the shell keeps. Shared with the engine's tasks, so it is `Send + Sync`; the tray
/// menu itself lives on the event loop's thread (`app.rs`).
pub struct Shell {
    /// The running engine, or why it is not running.
    pub engine: Result<Handle, String>,
    /// Tray and notification language.
    pub lang: Lang,
    notifier: Mutex<Notifier>,
    notices: Notices,
    runtime: tokio::runtime::Handle,
    redraw: Redraw,
}

/// The user's time zone right now (DST changes are picked up on the next call).
pub fn local_tz() -> FixedOffset {
    *Local::now().offset()
}

/// The config to run and the file it belongs to: the file when there is one (an invalid file is
/// an error, never silently replaced), else the embedded default — still tied to the default
/// path, so that the first save (the web UI's first-run setup) creates that file, and the
/// engine follows it from then on without a restart.
fn load_config() -> Result<(Config, Option<PathBuf>), String> {
    match config::default_config_path() {
        Some(p) if p.exists() => config::load_file(&p)
            .map(|c| (c, Some(p)))
            .map_err(|e| e.to_string()),
        path => Ok((Config::default(), path)),
    }
}

fn listen_override() -> Result<Option<SocketAddr>, String> {
    match std::env::var(LISTEN_ENV) {
        Ok(v) if !v.trim().is_empty() => {
            v.trim().parse().map(Some).map_err(|e| {
                format!("{LISTEN_ENV}={v:?} is not an address like 127.0.0.1:3535: {e}")
            })
        }
        _ => Ok(None),
    }
}

impl Shell {
    /// Starts the engine on `runtime`. A failure is kept (the tray and the window show it), not
    /// returned: the app stays up so that the user can read why.
    pub fn start(runtime: &tokio::runtime::Runtime, redraw: Redraw) -> Arc<Shell> {
        let loaded = load_config();
        let lang = Lang::resolve(
            loaded
                .as_ref()
                .map(|(c, _)| c.ui.language.as_str())
                .unwrap_or_default(),
        );
        let engine = loaded.and_then(|(config, config_path)| {
            let listen_override = listen_override()?;
            runtime
                .block_on(Switchyard::start(StartOptions {
                    config,
                    config_path,
                    secrets: Arc::new(KeychainStore),
                    listen_override,
                }))
                .map_err(|e| e.to_string())
        });
        let notices = Notices::new(runtime.handle().clone());
        match &engine {
            Ok(h) => tracing::info!(url = %h.url(), "engine started"),
            Err(e) => {
                tracing::error!("the engine did not start: {e}");
                notices.show(t(lang, Text::NotStartedTitle).into(), e.clone());
            }
        }
        let shell = Arc::new(Shell {
            engine,
            lang,
            notifier: Mutex::new(Notifier::default()),
            notices,
            runtime: runtime.handle().clone(),
            redraw,
        });
        if let Ok(h) = &shell.engine {
            runtime.spawn(follow_events(shell.clone(), h.clone()));
        }
        shell
    }

    /// Stops the engine (in-flight requests finish, at most a few seconds). Not from a runtime
    /// thread.
    pub fn stop(&self) {
        if let Ok(h) = &self.engine {
            self.runtime.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(5), h.shutdown()).await;
            });
        }
    }

    fn engine(&self) -> Option<Handle> {
        self.engine.clone().ok()
    }

    fn failed(&self, message: String) {
        tracing::warn!("{message}");
        self.notices
            .show(t(self.lang, Text::ActionFailedTitle).into(), message);
    }

    /// What the tray should show now. Reads files (the apps' settings, the login item):
    /// cheap, and only when the tray redraws.
    pub fn model(&self) -> TrayModel {
        match &self.engine {
            Ok(h) => tray_model::tray_model(
                &Snapshot::from_status(&h.status()),
                &h.config(),
                self.lang,
                &local_tz(),
                prefs(Some(h)),
            ),
            Err(e) => tray_model::not_running_model(e, self.lang, prefs(None)),
        }
    }

    /// Pin a provider, or back to automatic.
    pub fn pin(&self, provider: Option<&str>) {
        if let Some(h) = self.engine() {
            if let Err(e) = h.switch(provider) {
                self.failed(e.to_string());
            }
        }
    }

    /// The endpoint URL (for the clipboard).
    pub fn endpoint(&self) -> Option<String> {
        self.engine().map(|h| h.url())
    }

    /// Tray: set up / undo an app (file and keychain work off the event loop).
    pub fn toggle_client(self: &Arc<Self>, client: Client) {
        let Some(h) = self.engine() else { return };
        let shell = self.clone();
        self.runtime.spawn_blocking(move || {
            match client_action(&h, client, shell.lang) {
                Ok((title, body)) => {
                    tracing::info!("{title}: {body}");
                    shell.notices.show(title, body);
                }
                Err(e) => shell.failed(e),
            }
            (shell.redraw)();
        });
    }

    /// Tray: flip start-at-login.
    pub fn toggle_autostart(&self) {
        let now = login_item::is_enabled().unwrap_or(false);
        if let Err(e) = login_item::set_enabled(!now) {
            self.failed(format!("start at login: {e}"));
        }
    }

    /// Tray: flip "Notify on failover" and save it into the config file.
    pub fn toggle_failover_notifications(self: &Arc<Self>) {
        let Some(h) = self.engine() else { return };
        let shell = self.clone();
        self.runtime.spawn_blocking(move || {
            let mut cfg = (*h.config()).clone();
            cfg.notifications.failover = !cfg.notifications.failover;
            if let Err(e) = h.save_config(cfg) {
                shell.failed(e.to_string());
            }
            (shell.redraw)();
        });
    }

    fn on_event(&self, handle: &Handle, ev: &Event) {
        let cfg = handle.config();
        let notice = self
            .notifier
            .lock()
            .decide(ev, &cfg, self.lang, &local_tz(), Instant::now());
        if let Some(n) = notice {
            self.notices.show(n.title, n.body);
        }
    }
}

/// The login item, and which apps point at this Switchyard (as the engine sees them; none
/// without a running engine, whose entries are then disabled anyway).
fn prefs(engine: Option<&Handle>) -> Prefs {
    Prefs {
        start_at_login: login_item::is_enabled().unwrap_or(false),
        claude_code_configured: engine.is_some_and(|h| h.claude_code_status().configured),
        codex_configured: engine.is_some_and(|h| h.codex_status().configured),
        gemini_cli_configured: engine.is_some_and(|h| h.gemini_cli_status().configured),
    }
}

/// Engine events -> notifications and tray redraws. Request events only mark the tray dirty
/// (they can come by the thousand); a periodic redraw also catches cooldowns that end and
/// changes made elsewhere (start at login from the window, an app's settings by hand).
async fn follow_events(shell: Arc<Shell>, handle: Handle) {
    let mut rx = handle.subscribe();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let mut dirty = false;
    let mut last_redraw = Instant::now();
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(Event::RequestFinished(_)) => dirty = true,
                Ok(ev) => {
                    shell.on_event(&handle, &ev);
                    (shell.redraw)();
                    last_redraw = Instant::now();
                    dirty = false;
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::debug!("tray missed {n} events");
                    dirty = true;
                }
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                if dirty || last_redraw.elapsed() >= Duration::from_secs(15) {
                    (shell.redraw)();
                    last_redraw = Instant::now();
                    dirty = false;
                }
            }
        }
    }
}

/// "Configure <app>": point it at this Switchyard, or undo that when it is already set (the
/// engine's one implementation per app, shared with the CLI and the web UI). Returns the title
/// and body to tell the user.
pub fn client_action(h: &Handle, client: Client, lang: Lang) -> Result<(String, String), String> {
    let name = [("name", client.name())];
    let shown =
        |p: Option<std::path::PathBuf>| p.map(|p| p.display().to_string()).unwrap_or_default();
    let (undo, path, body) = match client {
        Client::ClaudeCode => {
            let undo = h.claude_code_status().configured;
            let st = h.configure_claude_code(undo)?;
            let path = shown(st.settings_path);
            let body = tf(
                lang,
                Text::ClaudeCodeConfiguredBody,
                &[("url", &st.base_url), ("path", &path)],
            );
            (undo, path, body)
        }
        Client::Codex => {
            let undo = h.codex_status().configured;
            let st = h.configure_codex(undo)?;
            let path = shown(st.config_path);
            let body = tf(
                lang,
                Text::CodexConfiguredBody,
                &[("url", &st.base_url), ("path", &path), ("var", st.key_var)],
            );
            (undo, path, body)
        }
        Client::GeminiCli => {
            let undo = h.gemini_cli_status().configured;
            let st = h.configure_gemini_cli(undo)?;
            let dir = shown(st.dir.clone());
            let env = shown(st.dir.as_deref().map(gemini_cli::env_path));
            let body = tf(
                lang,
                Text::GeminiCliConfiguredBody,
                &[("url", &st.base_url), ("path", &env)],
            );
            (undo, dir, body)
        }
    };
    if undo {
        return Ok((
            tf(lang, Text::ClientRestoredTitle, &name),
            tf(lang, Text::ClientRestoredBody, &[("path", &path)]),
        ));
    }
    Ok((tf(lang, Text::ClientConfiguredTitle, &name), body))
}
