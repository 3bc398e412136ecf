//! # switchyard-window
//!
//! The Switchyard window: the engine's web UI in a web view (Tauri). The tray app
//! (`switchyard-desktop`) starts it as `switchyard-window URL` and it exits when its window
//! closes, so the web engine's memory goes with it and the long-running tray process never
//! links a web engine at all. A second window process hands over to the first (its own
//! one-instance name, apart from the tray app's) and exits; the first focuses its window.
//!
//! The page may call two commands over Tauri's IPC: `get_autostart` and `set_autostart` (the
//! Settings switch). Both change the tray app's login item, never this program's.

// No console window behind the window on Windows release builds.
#![cfg_attr(
    all(not(debug_assertions), target_os = "windows"),
    windows_subsystem = "windows"
)]

#[path = "../../src/login_item.rs"]
mod login_item;

use std::process::ExitCode;

use tauri::{AppHandle, Manager, Url, WebviewUrl, WebviewWindowBuilder};

/// The window's label (the remote-IPC capability names it).
const MAIN: &str = "main";

/// The window process's one-instance name (D-Bus on Linux), apart from the tray app's.
const INSTANCE_ID: &str = "dev.switchyard.desktop.window";

/// `invoke('get_autostart')` from the web UI.
#[tauri::command]
fn get_autostart() -> Result<bool, String> {
    login_item::is_enabled()
}

/// `invoke('set_autostart', {enabled})` from the web UI; answers the new state.
#[tauri::command]
fn set_autostart(enabled: bool) -> Result<bool, String> {
    login_item::set_enabled(enabled)
}

fn focus(app: &AppHandle) {
    if let Some(w) = app.get_webview_window(MAIN) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// Where the web engine may keep its few files of its own (salts, HSTS): the session's runtime
/// directory, which is emptied at logout, so nothing of the window stays in the home directory.
fn web_engine_dir() -> Option<std::path::PathBuf> {
    dirs::runtime_dir().map(|d| d.join("switchyard").join("window"))
}

fn show(app: &AppHandle, url: Url) -> tauri::Result<()> {
    let mut builder = WebviewWindowBuilder::new(app, MAIN, WebviewUrl::External(url));
    if let Some(dir) = web_engine_dir() {
        builder = builder.data_directory(dir);
    }
    let w = builder
        .title("Switchyard")
        .inner_size(1120.0, 780.0)
        .min_inner_size(640.0, 420.0)
        // The UI keeps nothing in the browser (everything is in the engine): no cookies,
        // storage or cache on disk, so uninstalling leaves no web-view data behind. (Under
        // WebDriver the web view needs the one context that allows automation, and an
        // incognito view would get a fresh one.)
        .incognito(std::env::var("TAURI_WEBVIEW_AUTOMATION").as_deref() != Ok("true"))
        .build()?;
    w.set_focus()
}

fn fail(message: &str) -> ExitCode {
    eprintln!("switchyard-window: {message}");
    ExitCode::FAILURE
}

/// Linux rendering defaults when started on its own (the tray app sets the same): WebKitGTK's
/// DMA-BUF renderer paints a blank window where GPU buffer sharing does not work (VMs, Xvfb,
/// some drivers).
#[cfg(target_os = "linux")]
fn rendering_defaults() {
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
}

#[cfg(not(target_os = "linux"))]
fn rendering_defaults() {}

/// The page to show: an `http://` URL of the engine on this machine, or the tray app's
/// self-contained error page.
fn page(arg: Option<&str>) -> Result<Url, String> {
    let url = Url::parse(arg.unwrap_or_default())
        .map_err(|e| format!("usage: switchyard-window URL ({e})"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "http" if loopback => Ok(url),
        "data" => Ok(url),
        _ => Err(format!(
            "{url} is not Switchyard's own page (http://127.0.0.1:PORT/)"
        )),
    }
}

fn main() -> ExitCode {
    rendering_defaults();
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    // `RUST_LOG`: a default level and `target=level` directives; unreadable, the default.
    let default = "info,tao=warn,wry=warn";
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|spec| spec.parse::<tracing_subscriber::filter::Targets>().ok())
        .or_else(|| default.parse().ok())
        .unwrap_or_default();
    tracing_subscriber::fmt()
        // The level is the filter's to decide (the builder's own default caps it at info).
        .with_max_level(tracing::Level::TRACE)
        .with_writer(std::io::stderr)
        .finish()
        .with(filter)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-V") {
        println!("switchyard-window {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    // WebDriver (tauri-driver) adds arguments of its own: the page is the first URL.
    let url = match page(args.iter().find(|a| a.contains(':')).map(String::as_str)) {
        Ok(u) => u,
        Err(e) => return fail(&e),
    };
    let builder = tauri::Builder::default()
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(INSTANCE_ID)
                .callback(|app, _argv, _cwd| focus(app))
                .build(),
        )
        .invoke_handler(tauri::generate_handler![get_autostart, set_autostart])
        .setup(move |app| {
            show(app.handle(), url.clone())?;
            Ok(())
        });
    match builder.build(tauri::generate_context!("../../tauri.conf.json")) {
        // The last window closed: this process is done.
        Ok(app) => {
            app.run(|_, _| {});
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("cannot open the window: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_only_the_engines_own_pages() {
        assert!(page(Some("http://127.0.0.1:3535/")).is_ok());
        assert!(page(Some("http://localhost:9/")).is_ok());
        assert!(page(Some("data:text/html;charset=utf-8,%3Ch1%3E")).is_ok());
        assert!(page(Some("https://example.com/")).is_err());
        assert!(page(Some("http://192.168.1.2:3535/")).is_err());
        assert!(page(Some("file:///etc/passwd")).is_err());
        assert!(page(None).is_err());
    }
}
