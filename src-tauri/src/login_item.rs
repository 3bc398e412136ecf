//! Start at login: the OS's login item (an XDG autostart entry on Linux, a launch agent on
//! macOS, a Run key on Windows — the `auto-launch` crate) that starts the tray app with
//! [`AUTOSTART_ARG`], so it comes up in the tray without a window.
//!
//! Both programs change it — the tray's "Start at login" and the window's Settings switch — so
//! both compile this one file (the window crate includes it by path) and always register the
//! tray app: `switchyard-desktop` beside the running program, or the AppImage when run from one.

use std::path::PathBuf;

/// The argument the login item passes: start in the tray, no window.
pub const AUTOSTART_ARG: &str = "--autostart";

/// The login item's name (`~/.config/autostart/Switchyard.desktop` on Linux).
const APP_NAME: &str = "Switchyard";

/// The tray app's file name.
const TRAY_PROGRAM: &str = "switchyard-desktop";

/// The program the login item starts.
fn tray_program() -> Result<PathBuf, String> {
    // An AppImage mounts at a new path on every start: register the image itself.
    if let Some(image) = std::env::var_os("APPIMAGE").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(image));
    }
    let me = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let dir = me
        .parent()
        .ok_or_else(|| format!("{} has no directory", me.display()))?;
    Ok(dir.join(format!("{TRAY_PROGRAM}{}", std::env::consts::EXE_SUFFIX)))
}

fn login_item() -> Result<auto_launch::AutoLaunch, String> {
    let program = tray_program()?;
    auto_launch::AutoLaunchBuilder::new()
        .set_app_name(APP_NAME)
        .set_app_path(&program.to_string_lossy())
        .set_args(&[AUTOSTART_ARG])
        .build()
        .map_err(|e| e.to_string())
}

/// Whether the login item is there.
pub fn is_enabled() -> Result<bool, String> {
    login_item()?.is_enabled().map_err(|e| e.to_string())
}

/// Adds or removes the login item; answers the state it ended up in.
pub fn set_enabled(enabled: bool) -> Result<bool, String> {
    let item = login_item()?;
    let done = if enabled {
        item.enable()
    } else {
        item.disable()
    };
    done.map_err(|e| e.to_string())?;
    item.is_enabled().map_err(|e| e.to_string())
}
