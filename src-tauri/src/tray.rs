//! The tray icon and its menu. Every action is a menu item (Linux delivers no tray clicks).
//! The menu is built once from a [`TrayModel`] and then updated in place (`set_text`,
//! `set_checked`, `set_enabled`); it is rebuilt only when the set of providers changes.
//!
//! All menu work happens on the main thread ([`schedule_refresh`] hops there), so the handles
//! below are only touched by one thread and menu calls never wait on a lock.

use tauri::image::Image;
use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Wry};

use crate::shell::{self, Shell};
use crate::tray_model::{Check, IconState, TrayModel};

const TRAY_ID: &str = "switchyard";
const PROVIDER_PREFIX: &str = "provider:";
const ID_STATUS: &str = "status";
const ID_AUTO: &str = "automatic";
const ID_OPEN: &str = "open";
const ID_COPY: &str = "copy-endpoint";
const ID_CLAUDE: &str = "claude-code";
const ID_AUTOSTART: &str = "start-at-login";
const ID_NOTIFY: &str = "notify-failover";
const ID_QUIT: &str = "quit";

/// The live menu items, kept so they can be changed in place.
pub struct TrayHandles {
    icon: TrayIcon<Wry>,
    status: MenuItem<Wry>,
    providers: Vec<(String, CheckMenuItem<Wry>)>,
    automatic: CheckMenuItem<Wry>,
    open: MenuItem<Wry>,
    copy: MenuItem<Wry>,
    claude_code: CheckMenuItem<Wry>,
    start_at_login: CheckMenuItem<Wry>,
    notify_failover: CheckMenuItem<Wry>,
    quit: MenuItem<Wry>,
    shown: TrayModel,
}

/// `&` marks a mnemonic in menu labels; names must show it as it is.
fn label(s: &str) -> String {
    s.replace('&', "&&")
}

fn icon_image(state: IconState) -> tauri::Result<Image<'static>> {
    let bytes: &[u8] = match state {
        IconState::Normal => include_bytes!("../../icons/tray-normal.png"),
        IconState::OnBackup => include_bytes!("../../icons/tray-backup.png"),
        IconState::AllDown => include_bytes!("../../icons/tray-down.png"),
    };
    Image::from_bytes(bytes)
}

fn check_item(app: &AppHandle, id: String, c: &Check) -> tauri::Result<CheckMenuItem<Wry>> {
    CheckMenuItem::with_id(app, id, label(&c.label), c.enabled, c.checked, None::<&str>)
}

/// Builds the menu for `m`; returns it with the handles (the tray icon is added by the caller).
fn build_menu(
    app: &AppHandle,
    m: &TrayModel,
) -> tauri::Result<(Menu<Wry>, impl FnOnce(TrayIcon<Wry>) -> TrayHandles)> {
    let status = MenuItem::with_id(app, ID_STATUS, label(&m.status_line), false, None::<&str>)?;
    let providers = m
        .providers
        .iter()
        .map(|p| {
            check_item(app, format!("{PROVIDER_PREFIX}{}", p.id), &p.item)
                .map(|i| (p.id.clone(), i))
        })
        .collect::<tauri::Result<Vec<_>>>()?;
    let automatic = check_item(app, ID_AUTO.into(), &m.automatic)?;
    let open = MenuItem::with_id(app, ID_OPEN, label(&m.open), true, None::<&str>)?;
    let copy = MenuItem::with_id(
        app,
        ID_COPY,
        label(&m.copy.label),
        m.copy.enabled,
        None::<&str>,
    )?;
    let claude_code = check_item(app, ID_CLAUDE.into(), &m.claude_code)?;
    let start_at_login = check_item(app, ID_AUTOSTART.into(), &m.start_at_login)?;
    let notify_failover = check_item(app, ID_NOTIFY.into(), &m.notify_failover)?;
    let quit = MenuItem::with_id(app, ID_QUIT, label(&m.quit), true, None::<&str>)?;
    let seps = (0..4)
        .map(|_| PredefinedMenuItem::separator(app))
        .collect::<tauri::Result<Vec<_>>>()?;

    let mut items: Vec<&dyn IsMenuItem<Wry>> = vec![&status, &seps[0]];
    items.extend(providers.iter().map(|(_, i)| i as &dyn IsMenuItem<Wry>));
    items.extend([
        &automatic as &dyn IsMenuItem<Wry>,
        &seps[1],
        &open,
        &copy,
        &claude_code,
        &seps[2],
        &start_at_login,
        &notify_failover,
        &seps[3],
        &quit,
    ]);
    let menu = Menu::with_items(app, &items)?;
    let shown = m.clone();
    Ok((menu, move |icon| TrayHandles {
        icon,
        status,
        providers,
        automatic,
        open,
        copy,
        claude_code,
        start_at_login,
        notify_failover,
        quit,
        shown,
    }))
}

/// Creates the tray. A missing tray host is not an error here: on Linux the icon then falls
/// back to XEmbed, or simply shows nowhere, and the app keeps running.
pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let model = shell::current_model(app);
    let (menu, finish) = build_menu(app, &model)?;
    let icon = TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon_image(model.icon)?)
        .tooltip("Switchyard")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(on_menu_event)
        .build(app)?;
    if let Some(shell) = app.try_state::<Shell>() {
        *shell.tray.lock() = Some(finish(icon));
    }
    Ok(())
}

fn set_check(item: &CheckMenuItem<Wry>, old: &Check, new: &Check) -> tauri::Result<()> {
    if old.label != new.label {
        item.set_text(label(&new.label))?;
    }
    if old.enabled != new.enabled {
        item.set_enabled(new.enabled)?;
    }
    // Always: clicking a check item flips its mark by itself, whatever we decide.
    item.set_checked(new.checked)
}

fn apply(h: &mut TrayHandles, m: &TrayModel) -> tauri::Result<()> {
    let old = h.shown.clone();
    if old.icon != m.icon {
        h.icon.set_icon(Some(icon_image(m.icon)?))?;
    }
    if old.status_line != m.status_line {
        h.status.set_text(label(&m.status_line))?;
        // macOS and Windows show a tooltip; Linux ignores it.
        h.icon
            .set_tooltip(Some(format!("Switchyard — {}", m.status_line)))?;
    }
    for ((_, item), (new, old)) in h
        .providers
        .iter()
        .zip(m.providers.iter().zip(old.providers.iter()))
    {
        set_check(item, &old.item, &new.item)?;
    }
    set_check(&h.automatic, &old.automatic, &m.automatic)?;
    if old.open != m.open {
        h.open.set_text(label(&m.open))?;
    }
    if old.copy != m.copy {
        h.copy.set_text(label(&m.copy.label))?;
        h.copy.set_enabled(m.copy.enabled)?;
    }
    set_check(&h.claude_code, &old.claude_code, &m.claude_code)?;
    set_check(&h.start_at_login, &old.start_at_login, &m.start_at_login)?;
    set_check(&h.notify_failover, &old.notify_failover, &m.notify_failover)?;
    if old.quit != m.quit {
        h.quit.set_text(label(&m.quit))?;
    }
    h.shown = m.clone();
    Ok(())
}

/// Brings the menu up to date with the engine. Main thread only.
fn refresh_now(app: &AppHandle) {
    let Some(shell) = app.try_state::<Shell>() else {
        return;
    };
    let model = shell::current_model(app);
    let mut guard = shell.tray.lock();
    let Some(h) = guard.as_mut() else {
        return;
    };
    let res = if h.shown.provider_ids() == model.provider_ids() {
        apply(h, &model)
    } else {
        // The provider set changed: a new menu on the same icon.
        build_menu(app, &model).and_then(|(menu, finish)| {
            h.icon.set_menu(Some(menu.clone()))?;
            if h.shown.icon != model.icon {
                h.icon.set_icon(Some(icon_image(model.icon)?))?;
            }
            *h = finish(h.icon.clone());
            Ok(())
        })
    };
    if let Err(e) = res {
        tracing::warn!("cannot update the tray menu: {e}");
    }
}

/// Refreshes the tray from any thread.
pub fn schedule_refresh(app: &AppHandle) {
    let a = app.clone();
    if let Err(e) = app.run_on_main_thread(move || refresh_now(&a)) {
        tracing::debug!("tray refresh not scheduled: {e}");
    }
}

fn on_menu_event(app: &AppHandle, event: MenuEvent) {
    let id = event.id().as_ref();
    if let Some(provider) = id.strip_prefix(PROVIDER_PREFIX) {
        shell::pin(app, Some(provider));
    } else {
        match id {
            ID_AUTO => shell::pin(app, None),
            ID_OPEN => crate::window::open(app),
            ID_COPY => shell::copy_endpoint(app),
            ID_CLAUDE => shell::toggle_claude_code(app),
            ID_AUTOSTART => shell::toggle_autostart(app),
            ID_NOTIFY => shell::toggle_failover_notifications(app),
            ID_QUIT => app.exit(0),
            _ => {}
        }
    }
    // Check items flip themselves on click; put every mark back where the state says.
    refresh_now(app);
}
