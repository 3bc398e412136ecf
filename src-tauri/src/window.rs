//! The main window: the engine's own web UI (`http://127.0.0.1:PORT/`) in a webview. When the
//! engine is not running, the window explains why instead.
//!
//! On Linux the window lives in a child process (this same binary, started with
//! [`WINDOW_ARG`]): WebKitGTK keeps well over 100 MB in the process that once showed a web
//! view, plus a network process, even after the view is destroyed. A window process that exits
//! when its window closes gives all of it back, so the tray app stays small. The window
//! process has its own single-instance name: "Open" while a window is up focuses it. On macOS
//! and Windows the web view already runs out of process; the window stays in-process there and
//! closing it destroys the web view.

use tauri::{AppHandle, Manager, Url, WebviewUrl, WebviewWindowBuilder};

use crate::i18n::{t, Lang, Text};
use crate::shell::Shell;

/// The main window's label (the remote-IPC capability names it).
pub const MAIN: &str = "main";

/// The argument that makes this binary a window process: `--window URL`.
pub const WINDOW_ARG: &str = "--window";

/// Shows the main window, creating it when it does not exist.
pub fn open(app: &AppHandle) {
    let Some(url) = target(app) else {
        tracing::error!("no page to show in the window");
        return;
    };
    #[cfg(target_os = "linux")]
    spawn_window_process(app, &url);
    #[cfg(not(target_os = "linux"))]
    show_in_process(app, url);
}

/// Focuses the window when it exists; answers whether it did.
pub fn focus(app: &AppHandle) -> bool {
    match app.get_webview_window(MAIN) {
        Some(w) => {
            let _ = w.unminimize();
            let _ = w.show();
            let _ = w.set_focus();
            true
        }
        None => false,
    }
}

/// Builds the window showing `url` in this process (or focuses it when it exists).
pub fn show_in_process(app: &AppHandle, url: Url) {
    if focus(app) {
        return;
    }
    let built = WebviewWindowBuilder::new(app, MAIN, WebviewUrl::External(url))
        .title("Switchyard")
        .inner_size(1120.0, 780.0)
        .min_inner_size(640.0, 420.0)
        .build();
    match built {
        Ok(w) => {
            let _ = w.set_focus();
        }
        Err(e) => tracing::error!("cannot open the window: {e}"),
    }
}

/// Starts `<this binary> --window URL`. A window process that is already up takes the request
/// over (its single-instance name) and focuses its window; the new one then exits at once.
#[cfg(target_os = "linux")]
fn spawn_window_process(app: &AppHandle, url: &Url) {
    let child = std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe)
            .arg(WINDOW_ARG)
            .arg(url.as_str())
            .stdin(std::process::Stdio::null())
            .spawn()
    });
    match child {
        Ok(child) => {
            if let Some(shell) = app.try_state::<Shell>() {
                shell.adopt_window(child);
            }
        }
        Err(e) => tracing::error!("cannot start the window process: {e}"),
    }
}

/// The page to show: the engine's UI, or why the engine is not running.
fn target(app: &AppHandle) -> Option<Url> {
    let shell = app.try_state::<Shell>()?;
    let url = match &shell.engine {
        Ok(h) => format!("{}/", h.url()),
        Err(e) => error_page(shell.lang, e),
    };
    Url::parse(&url).ok()
}

/// A self-contained page (a `data:` URL) saying why the engine is not running.
fn error_page(lang: Lang, error: &str) -> String {
    let (hint, title) = match lang {
        Lang::En => (
            "Fix the problem (another program on the port, or the config file), then quit \
             Switchyard from the tray and start it again.",
            "Switchyard could not start",
        ),
        Lang::ZhCn => (
            "请先解决问题（端口被其他程序占用，或配置文件有误），然后从托盘退出 Switchyard 并重新启动。",
            t(lang, Text::NotStartedTitle),
        ),
    };
    let html = format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Switchyard</title><style>\
         body{{font:15px/1.5 system-ui,sans-serif;margin:3em;color:#222;background:#fafafa}}\
         h1{{font-size:1.4em;color:#b3261e}}pre{{white-space:pre-wrap;background:#fff;\
         border:1px solid #ddd;border-radius:6px;padding:1em}}</style></head><body>\
         <h1 id=error-title>{}</h1><pre id=error>{}</pre><p>{}</p></body></html>",
        escape(title),
        escape(error),
        escape(hint)
    );
    format!("data:text/html;charset=utf-8,{}", percent_encode(&html))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_page_is_a_parseable_data_url_with_the_message_escaped() {
        let page = error_page(Lang::En, "port <3535> in use & busy");
        let url = Url::parse(&page).expect("url");
        assert_eq!(url.scheme(), "data");
        assert!(!page.contains('<') && !page.contains(' '));
        assert!(
            page.contains("%26lt%3B3535%26gt%3B"),
            "escaped then encoded"
        );
    }
}
