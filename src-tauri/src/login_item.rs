//! Start at login: the OS's login item that starts the tray app with [`AUTOSTART_ARG`], so it
//! comes up in the tray without a window. On Linux an XDG autostart entry
//! (`~/.config/autostart/Switchyard.desktop`) written here; elsewhere the `auto-launch` crate
//! (a launch agent on macOS, a Run key on Windows).
//!
//! Both programs change it — the tray's "Start at login" and the window's Settings switch — so
//! both compile this one file (the window crate includes it by path) and always register the
//! tray app, found from wherever the running program is (see [`tray_program`]).

use std::path::{Path, PathBuf};

/// The argument the login item passes: start in the tray, no window.
pub const AUTOSTART_ARG: &str = "--autostart";

/// The login item's name (`Switchyard.desktop` on Linux).
const APP_NAME: &str = "Switchyard";

/// The tray app's file name.
const TRAY_PROGRAM: &str = "switchyard-desktop";

/// The tray app: beside the running program (a build tree, `/usr/bin`), or, from the window
/// program installed in `/usr/libexec/switchyard/`, in `../../bin`. An AppImage registers the
/// image itself (it mounts at a new path on every start).
fn tray_program() -> Result<PathBuf, String> {
    if let Some(image) = std::env::var_os("APPIMAGE").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(image));
    }
    let me = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let dir = me
        .parent()
        .ok_or_else(|| format!("{} has no directory", me.display()))?;
    let name = format!("{TRAY_PROGRAM}{}", std::env::consts::EXE_SUFFIX);
    let beside = dir.join(&name);
    let installed = dir.join("../../bin").join(&name);
    Ok(if !beside.exists() && installed.exists() {
        installed.canonicalize().unwrap_or(installed)
    } else {
        beside
    })
}

/// Whether the login item is there.
pub fn is_enabled() -> Result<bool, String> {
    imp::is_enabled()
}

/// Adds or removes the login item; answers the state it ended up in.
pub fn set_enabled(enabled: bool) -> Result<bool, String> {
    imp::set_enabled(enabled)?;
    imp::is_enabled()
}

#[cfg(target_os = "linux")]
mod imp {
    use super::*;

    /// `$XDG_CONFIG_HOME/autostart/Switchyard.desktop` (`~/.config/autostart/...` by default).
    fn entry_path() -> Result<PathBuf, String> {
        dirs::config_dir()
            .map(|d| d.join("autostart").join(format!("{APP_NAME}.desktop")))
            .ok_or_else(|| "cannot find the home directory".to_string())
    }

    pub fn is_enabled() -> Result<bool, String> {
        Ok(entry_path()?.exists())
    }

    pub fn set_enabled(enabled: bool) -> Result<(), String> {
        let path = entry_path()?;
        if !enabled {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(format!("cannot remove {}: {e}", path.display()))
                }
                _ => Ok(()),
            };
        }
        let text = entry(&tray_program()?);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// The desktop entry. `TryExec` makes sessions skip it once the program is gone (the
    /// package removed), so the entry left in the user's config does nothing.
    pub(super) fn entry(program: &Path) -> String {
        let exec = quote(&program.to_string_lossy());
        format!(
            "[Desktop Entry]\n\
             Type=Application\n\
             Name={APP_NAME}\n\
             Comment=Start Switchyard in the tray at login\n\
             Comment[zh_CN]=登录时在托盘中启动 Switchyard\n\
             Exec={exec} {AUTOSTART_ARG}\n\
             TryExec={try_exec}\n\
             Icon=switchyard\n\
             Terminal=false\n\
             StartupNotify=false\n\
             X-GNOME-Autostart-enabled=true\n",
            try_exec = escape(&program.to_string_lossy()),
        )
    }

    /// An `Exec` argument: quoted when it holds anything a desktop entry treats specially.
    fn quote(arg: &str) -> String {
        let plain = arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,@:".contains(c));
        if plain {
            return arg.to_string();
        }
        let mut out = String::from("\"");
        for c in arg.chars() {
            if matches!(c, '"' | '`' | '$' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        escape(&out)
    }

    /// The desktop-entry string escapes (a backslash, a line break).
    fn escape(s: &str) -> String {
        s.replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('\r', "\\r")
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;

    fn login_item() -> Result<auto_launch::AutoLaunch, String> {
        let program = tray_program()?;
        auto_launch::AutoLaunchBuilder::new()
            .set_app_name(APP_NAME)
            .set_app_path(&program.to_string_lossy())
            .set_args(&[AUTOSTART_ARG])
            .build()
            .map_err(|e| e.to_string())
    }

    pub fn is_enabled() -> Result<bool, String> {
        login_item()?.is_enabled().map_err(|e| e.to_string())
    }

    pub fn set_enabled(enabled: bool) -> Result<(), String> {
        let item = login_item()?;
        let done = if enabled {
            item.enable()
        } else {
            item.disable()
        };
        done.map_err(|e| e.to_string())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_entry_starts_the_tray_app_quietly_and_is_inert_once_it_is_gone() {
        let e = imp::entry(Path::new("/usr/bin/switchyard-desktop"));
        assert!(e.starts_with("[Desktop Entry]\n"));
        assert!(e.contains("\nExec=/usr/bin/switchyard-desktop --autostart\n"));
        assert!(e.contains("\nTryExec=/usr/bin/switchyard-desktop\n"));
        assert!(e.ends_with('\n'));
    }

    #[test]
    fn paths_with_spaces_and_quotes_are_quoted() {
        let e = imp::entry(Path::new("/home/a b/My \"Apps\"/switchyard-desktop"));
        assert!(
            e.contains("\nExec=\"/home/a b/My \\\\\"Apps\\\\\"/switchyard-desktop\" --autostart\n"),
            "{e}"
        );
    }
}
