//! # switchyard-desktop
//!
//! The Switchyard desktop app: the engine runs in-process (one [`switchyard_core::Handle`]),
//! a tray menu shows and switches providers, notifications report failovers, and the engine's
//! own web UI opens in a window. The shell holds no proxy logic.
//!
//! Launched with [`AUTOSTART_ARG`] (as the login item does) it starts in the tray without a
//! window. A second launch opens the first one's window. Closing the window destroys its
//! webview (on Linux: ends the window process, see `window.rs`); the app keeps running in the
//! tray until "Quit".

// No console window behind the app on Windows release builds.
#![cfg_attr(
    all(not(debug_assertions), target_os = "windows"),
    windows_subsystem = "windows"
)]

mod i18n;
mod notify;
mod shell;
mod tray;
mod tray_model;
mod window;

use std::process::ExitCode;

use tauri::{Manager as _, RunEvent};
use tauri_plugin_autostart::MacosLauncher;

/// The argument the login item passes: start in the tray, no window.
pub const AUTOSTART_ARG: &str = "--autostart";

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,hyper=warn,reqwest=warn,tao=warn,wry=warn")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// GTK cannot start without a display (Tauri would panic): say so plainly instead.
#[cfg(all(unix, not(target_os = "macos")))]
fn display_problem() -> Option<String> {
    let has = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    (!has("DISPLAY") && !has("WAYLAND_DISPLAY")).then(|| {
        "no graphical display (neither DISPLAY nor WAYLAND_DISPLAY is set). \
         The desktop app needs one; on a server run the headless engine instead: `switchyard serve`"
            .to_string()
    })
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn display_problem() -> Option<String> {
    None
}

/// Linux rendering defaults, set before any thread exists; an explicit user setting wins.
/// - WebKitGTK's DMA-BUF renderer paints nothing (a blank window) where there is no usable GPU
///   buffer sharing: virtual machines, Xvfb, some NVIDIA drivers. The shared-memory path is
///   plenty for this UI.
/// - GDK otherwise loads OpenGL (Mesa, LLVM: ~50 MB) at start-up just to pick visuals, in the
///   tray process that never draws with it.
#[cfg(target_os = "linux")]
fn webkit_defaults() {
    for (var, value) in [
        ("WEBKIT_DISABLE_DMABUF_RENDERER", "1"),
        ("GDK_GL", "disable"),
    ] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, value);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn webkit_defaults() {}

fn fail(message: &str) -> ExitCode {
    eprintln!("switchyard-desktop: {message}");
    ExitCode::FAILURE
}

/// Builds the Tauri app, turning a GTK panic (a display that is set but unusable) into a
/// message.
fn build(builder: tauri::Builder<tauri::Wry>) -> Result<tauri::App, String> {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        builder.build(tauri::generate_context!("../tauri.conf.json"))
    }));
    std::panic::set_hook(quiet);
    match built {
        Ok(Ok(app)) => Ok(app),
        Ok(Err(e)) => Err(format!("cannot start: {e}")),
        Err(p) => {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!(
                "cannot open the display ({what}). The desktop app needs a graphical session; \
                 on a server run the headless engine instead: `switchyard serve`"
            ))
        }
    }
}

/// The commands the web UI may call (see capabilities/main.json).
fn with_commands(builder: tauri::Builder<tauri::Wry>) -> tauri::Builder<tauri::Wry> {
    builder
        .plugin(tauri_plugin_autostart::init(
            MacosLauncher::LaunchAgent,
            Some(vec![AUTOSTART_ARG]),
        ))
        .invoke_handler(tauri::generate_handler![
            shell::get_autostart,
            shell::set_autostart
        ])
}

/// The tray app: engine, tray, notifications; windows on demand.
fn run_app(autostarted: bool) -> ExitCode {
    let builder = tauri::Builder::default()
        // First, so that a second launch hands over before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            // A person launching the app again wants its window; the login item does not.
            if !argv.iter().any(|a| a == AUTOSTART_ARG) {
                window::open(app);
            }
        }));
    let builder = with_commands(builder)
        .plugin(tauri_plugin_clipboard_manager::init())
        .setup(move |app| {
            let handle = app.handle().clone();
            shell::start(&handle);
            if let Err(e) = tray::create(&handle) {
                // No tray host, or no tray support at all: the window and the engine still work.
                tracing::warn!("no tray icon: {e}");
            }
            let engine_ok = app
                .try_state::<shell::Shell>()
                .is_some_and(|s| s.engine.is_ok());
            if !autostarted || !engine_ok {
                window::open(&handle);
            }
            Ok(())
        });
    let app = match build(builder) {
        Ok(app) => app,
        Err(e) => return fail(&e),
    };
    app.run(|app, event| match event {
        // The last window closed: stay in the tray. An explicit exit (Quit) has a code.
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        RunEvent::Exit => shell::stop(app),
        _ => {}
    });
    ExitCode::SUCCESS
}

/// A window process (Linux): shows `url` until its window closes, then exits.
fn run_window(url: &str) -> ExitCode {
    let Ok(url) = tauri::Url::parse(url) else {
        return fail(&format!("{} needs a URL", window::WINDOW_ARG));
    };
    let builder = tauri::Builder::default().plugin(
        tauri_plugin_single_instance::Builder::new()
            .dbus_id(WINDOW_INSTANCE_ID)
            .callback(|app, _argv, _cwd| {
                window::focus(app);
            })
            .build(),
    );
    let builder = with_commands(builder).setup(move |app| {
        window::show_in_process(app.handle(), url.clone());
        Ok(())
    });
    match build(builder) {
        Ok(app) => {
            app.run(|_, _| {});
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// The window process's single-instance name (Linux D-Bus), apart from the tray app's.
const WINDOW_INSTANCE_ID: &str = "dev.switchyard.desktop.window";

fn main() -> ExitCode {
    webkit_defaults();
    init_logs();
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--version" || a == "-V") {
        println!("switchyard-desktop {}", switchyard_core::VERSION);
        return ExitCode::SUCCESS;
    }
    if let Some(problem) = display_problem() {
        return fail(&problem);
    }
    if let Some(i) = args.iter().position(|a| a == window::WINDOW_ARG) {
        return run_window(args.get(i + 1).map(String::as_str).unwrap_or_default());
    }
    run_app(args.iter().any(|a| a == AUTOSTART_ARG))
}
