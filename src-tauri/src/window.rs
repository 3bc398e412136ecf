//! The main window is its own program, `switchyard-window` (the Tauri web view, in
//! `src-tauri/window/`), started beside this one with the page to show: the engine's own web
//! UI (`http://127.0.0.1:PORT/`), or a page saying why the engine is not running.
//!
//! A web engine keeps well over 100 MB in a process that once showed a page, plus helper
//! processes, even after the view is destroyed; a window process that exits when its window
//! closes gives all of it back, and whatever happens to it (a crash, `kill -9`) cannot reach
//! the tray process or the engine. "Open" while a window is up starts another window process,
//! which hands over to the first one (its own one-instance name) and focuses that window.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;

use crate::i18n::{t, Lang, Text};
use crate::shell::Shell;

/// The window program's file name, looked up beside this one.
const WINDOW_PROGRAM: &str = "switchyard-window";

/// The window program: beside this one (a build tree), else where the package installs it
/// (`/usr/libexec/switchyard/`, off the PATH: it is not a program to start by hand).
fn window_program() -> std::io::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let name = format!("{WINDOW_PROGRAM}{}", std::env::consts::EXE_SUFFIX);
    let beside = me.with_file_name(&name);
    let installed = me
        .parent()
        .map(|d| d.join("../libexec/switchyard").join(&name));
    Ok(match installed {
        Some(p) if !beside.exists() && p.exists() => p,
        _ => beside,
    })
}

/// Window processes this app started, ended when it quits.
#[derive(Default)]
pub struct Windows {
    children: Arc<Mutex<Vec<Child>>>,
}

impl Windows {
    /// Opens the window (or focuses the open one).
    pub fn open(&self, shell: &Shell) {
        let page = page(shell);
        let child = window_program()
            .and_then(|program| Command::new(program).arg(page).stdin(Stdio::null()).spawn());
        match child {
            Ok(child) => self.adopt(child),
            Err(e) => tracing::error!("cannot start the window ({WINDOW_PROGRAM}): {e}"),
        }
    }

    /// Keeps a window process so it can be ended on quit; a small thread collects its exit
    /// status once it is gone (no zombie is left behind).
    fn adopt(&self, child: Child) {
        let pid = child.id();
        self.children.lock().push(child);
        let children: Weak<Mutex<Vec<Child>>> = Arc::downgrade(&self.children);
        let reaper = std::thread::Builder::new()
            .name("window-reaper".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_millis(500));
                let Some(children) = children.upgrade() else {
                    return;
                };
                let mut list = children.lock();
                let Some(i) = list.iter().position(|c| c.id() == pid) else {
                    return;
                };
                if !matches!(list[i].try_wait(), Ok(None)) {
                    // Already exited: this wait only collects the status.
                    let _ = list.swap_remove(i).wait();
                    return;
                }
            });
        if let Err(e) = reaper {
            tracing::debug!("no reaper thread for window {pid}: {e}");
        }
    }

    /// Ends every window process (on quit).
    pub fn close_all(&self) {
        for mut c in self.children.lock().drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The page to show: the engine's UI, or why the engine is not running.
fn page(shell: &Shell) -> String {
    match &shell.engine {
        Ok(h) => format!("{}/", h.url()),
        Err(e) => error_page(shell.lang, e),
    }
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
    fn error_page_is_a_data_url_with_the_message_escaped() {
        let page = error_page(Lang::En, "port <3535> in use & busy");
        assert!(page.starts_with("data:text/html;charset=utf-8,"));
        assert!(!page.contains('<') && !page.contains(' '));
        assert!(
            page.contains("%26lt%3B3535%26gt%3B"),
            "escaped then encoded"
        );
    }
}
