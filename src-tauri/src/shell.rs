//! The shell's state and actions: start the engine in-process, follow its events (tray +
//! notifications), and carry out what the tray and the web UI ask for. No proxy logic lives
//! here; everything goes through the engine's [`Handle`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{FixedOffset, Local};
use parking_lot::Mutex;
use switchyard_core::config::{self, Config};
use switchyard_core::integrations::claude_code;
use switchyard_core::secrets::KeychainStore;
use switchyard_core::{Event, Handle, StartOptions, Switchyard};
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_clipboard_manager::ClipboardExt as _;
use tokio::sync::broadcast::error::RecvError;

use crate::i18n::{t, tf, Lang, Text};
use crate::notify::{self, Notifier};
use crate::tray::{self, TrayHandles};
use crate::tray_model::{self, Prefs, Snapshot, TrayModel};

/// Everything the shell keeps, managed by Tauri.
pub struct Shell {
    /// The running engine, or why it is not running.
    pub engine: Result<Handle, String>,
    /// Tray and notification language.
    pub lang: Lang,
    /// The live tray menu (main thread only).
    pub tray: Mutex<Option<TrayHandles>>,
    notifier: Mutex<Notifier>,
    /// Window processes (Linux), ended when the app quits.
    windows: Arc<Mutex<Vec<std::process::Child>>>,
}

impl Shell {
    /// Keeps a window process so it can be ended on quit; a small thread reaps it once it exits.
    pub fn adopt_window(&self, child: std::process::Child) {
        let pid = child.id();
        self.windows.lock().push(child);
        let windows = Arc::downgrade(&self.windows);
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            let Some(windows) = windows.upgrade() else {
                return;
            };
            let mut list = windows.lock();
            let Some(i) = list.iter().position(|c| c.id() == pid) else {
                return;
            };
            if !matches!(list[i].try_wait(), Ok(None)) {
                // Already exited: this wait only collects the status.
                let _ = list.swap_remove(i).wait();
                return;
            }
        });
    }

    fn end_windows(&self) {
        for mut c in self.windows.lock().drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The user's time zone right now (DST changes are picked up on the next call).
pub fn local_tz() -> FixedOffset {
    *Local::now().offset()
}

/// The config to run: the file when there is one (an invalid file is an error, never silently
/// replaced), else the embedded default.
fn load_config() -> Result<(Config, Option<PathBuf>), String> {
    match config::default_config_path() {
        Some(p) if p.exists() => config::load_file(&p)
            .map(|c| (c, Some(p)))
            .map_err(|e| e.to_string()),
        _ => Ok((Config::default(), None)),
    }
}

/// Starts the engine on Tauri's runtime. Called once from `setup`, on the main thread.
pub fn start(app: &AppHandle) {
    let loaded = load_config();
    let lang = Lang::resolve(
        loaded
            .as_ref()
            .map(|(c, _)| c.ui.language.as_str())
            .unwrap_or_default(),
    );
    let engine = loaded.and_then(|(config, config_path)| {
        tauri::async_runtime::block_on(Switchyard::start(StartOptions {
            config,
            config_path,
            secrets: Arc::new(KeychainStore),
            listen_override: None,
        }))
        .map_err(|e| e.to_string())
    });
    match &engine {
        Ok(h) => tracing::info!(url = %h.url(), "engine started"),
        Err(e) => {
            tracing::error!("the engine did not start: {e}");
            notify::show_async(t(lang, Text::NotStartedTitle).into(), e.clone());
        }
    }
    let follow = engine.clone().ok();
    app.manage(Shell {
        engine,
        lang,
        tray: Mutex::new(None),
        notifier: Mutex::new(Notifier::default()),
        windows: Arc::new(Mutex::new(Vec::new())),
    });
    if let Some(h) = follow {
        tauri::async_runtime::spawn(follow_events(app.clone(), h));
    }
}

/// Stops the engine (in-flight requests finish, at most a few seconds).
pub fn stop(app: &AppHandle) {
    if let Some(shell) = app.try_state::<Shell>() {
        shell.end_windows();
    }
    if let Some(Ok(h)) = app.try_state::<Shell>().map(|s| s.engine.clone()) {
        tauri::async_runtime::block_on(async {
            let _ = tokio::time::timeout(Duration::from_secs(5), h.shutdown()).await;
        });
    }
}

/// Engine events -> notifications and tray updates. Request events only mark the tray dirty
/// (they can come by the thousand); a periodic refresh also catches cooldowns that end.
async fn follow_events(app: AppHandle, handle: Handle) {
    let mut rx = handle.subscribe();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let mut dirty = false;
    let mut last_refresh = Instant::now();
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(Event::RequestFinished(_)) => dirty = true,
                Ok(ev) => {
                    on_event(&app, &handle, &ev);
                    tray::schedule_refresh(&app);
                    last_refresh = Instant::now();
                    dirty = false;
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::debug!("tray missed {n} events");
                    dirty = true;
                }
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                if dirty || last_refresh.elapsed() >= Duration::from_secs(15) {
                    tray::schedule_refresh(&app);
                    last_refresh = Instant::now();
                    dirty = false;
                }
            }
        }
    }
}

fn on_event(app: &AppHandle, handle: &Handle, ev: &Event) {
    let Some(shell) = app.try_state::<Shell>() else {
        return;
    };
    let cfg = handle.config();
    let notice = shell
        .notifier
        .lock()
        .decide(ev, &cfg, shell.lang, &local_tz(), Instant::now());
    if let Some(n) = notice {
        notify::show_async(n.title, n.body);
    }
}

fn prefs(app: &AppHandle, engine_running: bool) -> Prefs {
    Prefs {
        start_at_login: app.autolaunch().is_enabled().unwrap_or(false),
        claude_code_configured: engine_running
            && claude_code::settings_path().is_some_and(|p| claude_code::is_configured(&p)),
    }
}

/// What the tray should show now.
pub fn current_model(app: &AppHandle) -> TrayModel {
    let Some(shell) = app.try_state::<Shell>() else {
        return tray_model::not_running_model("starting", Lang::En, Prefs::default());
    };
    match &shell.engine {
        Ok(h) => tray_model::tray_model(
            &Snapshot::from_status(&h.status()),
            &h.config(),
            shell.lang,
            &local_tz(),
            prefs(app, true),
        ),
        Err(e) => tray_model::not_running_model(e, shell.lang, prefs(app, false)),
    }
}

fn engine(app: &AppHandle) -> Option<(Handle, Lang)> {
    let shell = app.try_state::<Shell>()?;
    let lang = shell.lang;
    shell.engine.clone().ok().map(|h| (h, lang))
}

fn failed(lang: Lang, message: String) {
    tracing::warn!("{message}");
    notify::show_async(t(lang, Text::ActionFailedTitle).into(), message);
}

/// Pin a provider, or back to automatic.
pub fn pin(app: &AppHandle, provider: Option<&str>) {
    if let Some((h, lang)) = engine(app) {
        if let Err(e) = h.switch(provider) {
            failed(lang, e.to_string());
        }
    }
}

/// Put the endpoint URL on the clipboard.
pub fn copy_endpoint(app: &AppHandle) {
    if let Some((h, lang)) = engine(app) {
        if let Err(e) = app.clipboard().write_text(h.url()) {
            failed(lang, format!("clipboard: {e}"));
        }
    }
}

/// "Configure Claude Code": point it at this Switchyard, or undo that when it is already set
/// (the engine's one implementation, shared with the CLI and the web UI). Returns the title
/// and body to tell the user.
pub fn claude_code_action(h: &Handle, lang: Lang) -> Result<(String, String), String> {
    let undo = h.claude_code_status().configured;
    let st = h.configure_claude_code(undo)?;
    let shown = st
        .settings_path
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    if undo {
        return Ok((
            t(lang, Text::ClaudeCodeRestoredTitle).into(),
            tf(lang, Text::ClaudeCodeRestoredBody, &[("path", &shown)]),
        ));
    }
    Ok((
        t(lang, Text::ClaudeCodeConfiguredTitle).into(),
        tf(
            lang,
            Text::ClaudeCodeConfiguredBody,
            &[("url", &st.base_url), ("path", &shown)],
        ),
    ))
}

/// Tray: configure / undo Claude Code (file and keychain work off the main thread).
pub fn toggle_claude_code(app: &AppHandle) {
    let Some((h, lang)) = engine(app) else {
        return;
    };
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        match claude_code_action(&h, lang) {
            Ok((title, body)) => {
                tracing::info!("{title}: {body}");
                notify::show(&title, &body);
            }
            Err(e) => failed(lang, e),
        }
        tray::schedule_refresh(&app);
    });
}

/// Turn start-at-login on or off; returns the new state.
pub fn change_autostart(app: &AppHandle, enabled: bool) -> Result<bool, String> {
    let al = app.autolaunch();
    let res = if enabled { al.enable() } else { al.disable() };
    res.map_err(|e| e.to_string())?;
    tray::schedule_refresh(app);
    al.is_enabled().map_err(|e| e.to_string())
}

/// Tray: flip start-at-login.
pub fn toggle_autostart(app: &AppHandle) {
    let now = app.autolaunch().is_enabled().unwrap_or(false);
    if let Err(e) = change_autostart(app, !now) {
        let lang = app.try_state::<Shell>().map(|s| s.lang).unwrap_or(Lang::En);
        failed(lang, format!("start at login: {e}"));
    }
}

/// Tray: flip "Notify on failover" and save it into the config file.
pub fn toggle_failover_notifications(app: &AppHandle) {
    let Some((h, lang)) = engine(app) else {
        return;
    };
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let mut cfg = (*h.config()).clone();
        cfg.notifications.failover = !cfg.notifications.failover;
        if let Err(e) = h.save_config(cfg) {
            failed(lang, e.to_string());
        }
        tray::schedule_refresh(&app);
    });
}

/// `invoke('get_autostart')` from the web UI.
#[tauri::command]
pub fn get_autostart(app: AppHandle) -> Result<bool, String> {
    app.autolaunch().is_enabled().map_err(|e| e.to_string())
}

/// `invoke('set_autostart', {enabled})` from the web UI; answers the new state.
#[tauri::command]
pub fn set_autostart(app: AppHandle, enabled: bool) -> Result<bool, String> {
    change_autostart(&app, enabled)
}
