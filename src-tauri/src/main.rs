//! # switchyard-desktop
//!
//! The Switchyard desktop app's tray process: the engine runs in-process (one
//! [`switchyard_core::Handle`]), a tray menu shows and switches providers, notifications report
//! failovers, and "Open Switchyard" starts the window — a separate program
//! (`switchyard-window`, the Tauri web view) that exits when its window closes. The shell holds
//! no proxy logic.
//!
//! This process links no web engine: WebKitGTK alone maps ~40 MB into any process that links
//! it, whether or not a web view is ever shown, and the tray process is the one that runs for
//! weeks (see `bench/DESKTOP.md`). Its event loop is `tao` with `tray-icon`/`muda` — the same
//! crates Tauri uses for its own tray — and nothing the GUI does can stop the engine: the
//! window is another process, the tray icon re-registers with a panel that comes back, and a
//! missing notification service only costs the notification.
//!
//! Launched with [`AUTOSTART_ARG`] (as the login item does) it starts in the tray without a
//! window. A second launch hands over to the first (see `single_instance.rs`) and opens its
//! window; the app keeps running in the tray until "Quit".

// No console window behind the app on Windows release builds.
#![cfg_attr(
    all(not(debug_assertions), target_os = "windows"),
    windows_subsystem = "windows"
)]

mod app;
mod clipboard;
mod i18n;
mod login_item;
mod notify;
mod shell;
mod single_instance;
mod tray;
#[cfg(target_os = "linux")]
mod tray_host;
mod tray_model;
mod window;

use std::process::ExitCode;

use single_instance::{Claim, Request};

/// The argument the login item passes: start in the tray, no window.
pub const AUTOSTART_ARG: &str = "--autostart";

fn init_logs() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let (filter, problem) = switchyard_core::logs::filter("info,hyper=warn,reqwest=warn,tao=warn");
    if let Some(p) = problem {
        eprintln!("switchyard-desktop: {p}");
    }
    tracing_subscriber::fmt()
        // The level is the filter's to decide (the builder's own default caps it at info).
        .with_max_level(tracing::Level::TRACE)
        .with_writer(std::io::stderr)
        // Every value escaped: a model name or an upstream's error text cannot forge a line.
        .fmt_fields(switchyard_core::logs::fields())
        .finish()
        .with(filter)
        .init();
}

/// GTK cannot start without a display: say so plainly instead of failing inside it.
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

/// Linux rendering defaults, set before any thread exists (the window process inherits them);
/// an explicit user setting wins.
/// - WebKitGTK's DMA-BUF renderer paints nothing (a blank window) where there is no usable GPU
///   buffer sharing: virtual machines, Xvfb, some NVIDIA drivers. The shared-memory path is
///   plenty for this UI.
/// - GDK otherwise loads OpenGL (Mesa, LLVM: ~50 MB) at start-up just to pick visuals, in a
///   tray process that never draws with it.
#[cfg(target_os = "linux")]
fn rendering_defaults() {
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
fn rendering_defaults() {}

fn fail(message: &str) -> ExitCode {
    eprintln!("switchyard-desktop: {message}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    rendering_defaults();
    init_logs();
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--version" || a == "-V") {
        println!("switchyard-desktop {}", switchyard_core::VERSION);
        return ExitCode::SUCCESS;
    }
    if let Some(problem) = display_problem() {
        return fail(&problem);
    }
    let autostarted = args.iter().any(|a| a == AUTOSTART_ARG);
    let request = if autostarted {
        Request::Autostart
    } else {
        Request::Open
    };
    // First, so that a second launch hands over before anything else starts.
    let instance = match single_instance::claim(request) {
        Claim::First(instance) => Some(instance),
        Claim::HandedOver => return ExitCode::SUCCESS,
        Claim::Busy(why) => return fail(&why),
        Claim::Unavailable(why) => {
            tracing::warn!("running without the one-instance check: {why}");
            None
        }
    };
    match app::run(autostarted, instance) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}
