//! The tray icon and its menu (`tray-icon` + `muda`). Every action is a menu item (Linux
//! delivers no tray clicks). The menu is built once from a [`TrayModel`] and then updated in
//! place (`set_text`, `set_checked`, `set_enabled`); it is rebuilt only when the set of
//! providers changes. Everything here lives on the event loop's thread.
//!
//! On Linux the icon is an AppIndicator (StatusNotifierItem over D-Bus, falling back to an
//! XEmbed tray icon): when the panel that shows it goes away and comes back, the indicator
//! registers again by itself, and the app never depends on it being there.

use tray_icon::menu::{CheckMenuItem, IsMenuItem, Menu, MenuId, MenuItem, PredefinedMenuItem};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use crate::tray_model::{Check, Client, IconState, TrayModel};

const TRAY_ID: &str = "switchyard";
const PROVIDER_PREFIX: &str = "provider:";
const CLIENT_PREFIX: &str = "configure:";
const ID_STATUS: &str = "status";
const ID_AUTO: &str = "automatic";
const ID_OPEN: &str = "open";
const ID_COPY: &str = "copy-endpoint";
const ID_AUTOSTART: &str = "start-at-login";
const ID_NOTIFY: &str = "notify-failover";
const ID_QUIT: &str = "quit";

/// What a menu item asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Pin this provider.
    Pin(String),
    /// Back to automatic.
    Automatic,
    /// Open the window.
    Open,
    /// Put the endpoint URL on the clipboard.
    CopyEndpoint,
    /// Set up this app (Claude Code, Codex CLI, Gemini CLI), or undo that.
    Configure(Client),
    /// Flip start-at-login.
    StartAtLogin,
    /// Flip "Notify on failover".
    NotifyOnFailover,
    /// Quit the app.
    Quit,
}

impl Action {
    /// The action of a menu item id, if it has one (the status line has none).
    pub fn of(id: &MenuId) -> Option<Action> {
        let id = id.as_ref();
        if let Some(provider) = id.strip_prefix(PROVIDER_PREFIX) {
            return Some(Action::Pin(provider.to_string()));
        }
        if let Some(client) = id.strip_prefix(CLIENT_PREFIX) {
            return Client::from_id(client).map(Action::Configure);
        }
        Some(match id {
            ID_AUTO => Action::Automatic,
            ID_OPEN => Action::Open,
            ID_COPY => Action::CopyEndpoint,
            ID_AUTOSTART => Action::StartAtLogin,
            ID_NOTIFY => Action::NotifyOnFailover,
            ID_QUIT => Action::Quit,
            _ => return None,
        })
    }
}

/// The tray icon and the live menu items, kept so they can be changed in place.
pub struct Tray {
    icon: TrayIcon,
    items: Items,
    shown: TrayModel,
}

struct Items {
    status: MenuItem,
    providers: Vec<CheckMenuItem>,
    automatic: CheckMenuItem,
    open: MenuItem,
    copy: MenuItem,
    clients: Vec<CheckMenuItem>,
    start_at_login: CheckMenuItem,
    notify_failover: CheckMenuItem,
    quit: MenuItem,
}

/// `&` marks a mnemonic in menu labels; names must show it as it is.
fn label(s: &str) -> String {
    s.replace('&', "&&")
}

fn icon_png(state: IconState) -> &'static [u8] {
    match state {
        IconState::Normal => include_bytes!("../../icons/tray-normal.png"),
        IconState::OnBackup => include_bytes!("../../icons/tray-backup.png"),
        IconState::AllDown => include_bytes!("../../icons/tray-down.png"),
    }
}

fn icon_image(state: IconState) -> Result<Icon, String> {
    let (rgba, width, height) =
        decode_png(icon_png(state)).map_err(|e| format!("tray icon: {e}"))?;
    Icon::from_rgba(rgba, width, height).map_err(|e| e.to_string())
}

/// RGBA8 pixels of a PNG (the tray icons are 16-bit RGBA; any PNG is accepted).
fn decode_png(bytes: &[u8]) -> Result<(Vec<u8>, u32, u32), png::DecodingError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader.next_frame(&mut buf)?;
    buf.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        png::ColorType::GrayscaleAlpha => buf
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        png::ColorType::Indexed => {
            return Err(png::DecodingError::LimitsExceeded);
        }
    };
    Ok((rgba, info.width, info.height))
}

fn check_item(id: String, c: &Check) -> CheckMenuItem {
    CheckMenuItem::with_id(id, label(&c.label), c.enabled, c.checked, None)
}

/// Builds the menu for `m` and the handles to its items.
fn build_menu(m: &TrayModel) -> Result<(Menu, Items), String> {
    let items = Items {
        status: MenuItem::with_id(ID_STATUS, label(&m.status_line), false, None),
        providers: m
            .providers
            .iter()
            .map(|p| check_item(format!("{PROVIDER_PREFIX}{}", p.id), &p.item))
            .collect(),
        automatic: check_item(ID_AUTO.into(), &m.automatic),
        open: MenuItem::with_id(ID_OPEN, label(&m.open), true, None),
        copy: MenuItem::with_id(ID_COPY, label(&m.copy.label), m.copy.enabled, None),
        clients: m
            .clients
            .iter()
            .map(|c| check_item(format!("{CLIENT_PREFIX}{}", c.client.id()), &c.item))
            .collect(),
        start_at_login: check_item(ID_AUTOSTART.into(), &m.start_at_login),
        notify_failover: check_item(ID_NOTIFY.into(), &m.notify_failover),
        quit: MenuItem::with_id(ID_QUIT, label(&m.quit), true, None),
    };
    let seps: Vec<PredefinedMenuItem> = (0..4).map(|_| PredefinedMenuItem::separator()).collect();
    let mut list: Vec<&dyn IsMenuItem> = vec![&items.status, &seps[0]];
    list.extend(items.providers.iter().map(|i| i as &dyn IsMenuItem));
    list.extend([
        &items.automatic as &dyn IsMenuItem,
        &seps[1],
        &items.open,
        &items.copy,
    ]);
    list.extend(items.clients.iter().map(|i| i as &dyn IsMenuItem));
    list.extend([
        &seps[2] as &dyn IsMenuItem,
        &items.start_at_login,
        &items.notify_failover,
        &seps[3],
        &items.quit,
    ]);
    let menu = Menu::with_items(&list).map_err(|e| e.to_string())?;
    Ok((menu, items))
}

impl Tray {
    /// Creates the tray icon. Where no panel shows tray icons the icon simply shows nowhere
    /// (and appears once a panel comes); an error here means no tray support at all.
    ///
    /// `generation` counts the icons made before this one: each gets its own D-Bus object, as
    /// the one it replaces may still be on the bus for a moment.
    pub fn create(model: TrayModel, generation: u32) -> Result<Tray, String> {
        let (menu, items) = build_menu(&model)?;
        let id = match generation {
            0 => TRAY_ID.to_string(),
            n => format!("{TRAY_ID}-{n}"),
        };
        let icon = TrayIconBuilder::new()
            .with_id(id)
            .with_icon(icon_image(model.icon)?)
            .with_tooltip("Switchyard")
            .with_menu(Box::new(menu))
            .with_menu_on_left_click(true)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Tray {
            icon,
            items,
            shown: model,
        })
    }

    /// Brings the menu up to date with `model`.
    pub fn show(&mut self, model: TrayModel) {
        let res = if self.shown.provider_ids() == model.provider_ids() {
            self.apply(&model)
        } else {
            // The provider set changed: a new menu on the same icon.
            self.rebuild(&model)
        };
        if let Err(e) = res {
            tracing::warn!("cannot update the tray menu: {e}");
        }
        self.shown = model;
    }

    fn rebuild(&mut self, m: &TrayModel) -> Result<(), String> {
        let (menu, items) = build_menu(m)?;
        self.icon.set_menu(Some(Box::new(menu)));
        self.items = items;
        if self.shown.icon != m.icon {
            self.icon
                .set_icon(Some(icon_image(m.icon)?))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn apply(&self, m: &TrayModel) -> Result<(), String> {
        let (old, h) = (&self.shown, &self.items);
        if old.icon != m.icon {
            self.icon
                .set_icon(Some(icon_image(m.icon)?))
                .map_err(|e| e.to_string())?;
        }
        if old.status_line != m.status_line {
            h.status.set_text(label(&m.status_line));
            // macOS and Windows show a tooltip; Linux ignores it.
            self.icon
                .set_tooltip(Some(format!("Switchyard — {}", m.status_line)))
                .map_err(|e| e.to_string())?;
        }
        for (item, (new, old)) in h
            .providers
            .iter()
            .zip(m.providers.iter().zip(old.providers.iter()))
        {
            set_check(item, &old.item, &new.item);
        }
        set_check(&h.automatic, &old.automatic, &m.automatic);
        if old.open != m.open {
            h.open.set_text(label(&m.open));
        }
        if old.copy != m.copy {
            h.copy.set_text(label(&m.copy.label));
            h.copy.set_enabled(m.copy.enabled);
        }
        for (item, (new, old)) in h
            .clients
            .iter()
            .zip(m.clients.iter().zip(old.clients.iter()))
        {
            set_check(item, &old.item, &new.item);
        }
        set_check(&h.start_at_login, &old.start_at_login, &m.start_at_login);
        set_check(&h.notify_failover, &old.notify_failover, &m.notify_failover);
        if old.quit != m.quit {
            h.quit.set_text(label(&m.quit));
        }
        Ok(())
    }
}

fn set_check(item: &CheckMenuItem, old: &Check, new: &Check) {
    if old.label != new.label {
        item.set_text(label(&new.label));
    }
    if old.enabled != new.enabled {
        item.set_enabled(new.enabled);
    }
    // Always: choosing a check item flips its mark by itself, whatever we decide.
    item.set_checked(new.checked);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn menu_ids_map_to_actions() {
        let id = |s: &str| MenuId::new(s);
        assert_eq!(
            Action::of(&id("provider:deep-seek")),
            Some(Action::Pin("deep-seek".into()))
        );
        assert_eq!(Action::of(&id(ID_AUTO)), Some(Action::Automatic));
        assert_eq!(Action::of(&id(ID_QUIT)), Some(Action::Quit));
        assert_eq!(Action::of(&id(ID_STATUS)), None);
        for c in Client::ALL {
            let menu_id = format!("{CLIENT_PREFIX}{}", c.id());
            assert_eq!(Action::of(&id(&menu_id)), Some(Action::Configure(c)));
        }
        assert_eq!(Action::of(&id("configure:cursor")), None);
    }

    #[test]
    fn tray_icons_decode() {
        for state in [IconState::Normal, IconState::OnBackup, IconState::AllDown] {
            let (rgba, w, h) = decode_png(icon_png(state)).expect("decodes");
            assert_eq!((w, h), (64, 64));
            assert_eq!(rgba.len(), 64 * 64 * 4);
        }
    }
}
