//! Linux: keep the tray icon registered with the StatusNotifier watcher (the D-Bus side of
//! GNOME's AppIndicator extension, KDE's panel and most others) whenever one runs.
//!
//! libappindicator registers the icon each time a watcher appears, but if that one call fails
//! it falls back to an XEmbed icon for good — and a watcher that has taken its bus name a moment
//! before it serves its object does fail it (seen with a restarting panel). So each time a
//! watcher appears, look again a moment later, and ask for a new icon when ours is not among the
//! watcher's items (a few times at most).

use std::sync::Arc;
use std::time::Duration;

use gtk::gio;
use gtk::glib;

const WATCHER: &str = "org.kde.StatusNotifierWatcher";
const WATCHER_PATH: &str = "/StatusNotifierWatcher";
/// Long enough for a panel to be up, short enough that nobody misses the icon.
const SETTLE: Duration = Duration::from_secs(2);
const TRIES: u32 = 3;

/// Asks the event loop for a new tray icon; callable from any thread.
pub type Recreate = Arc<dyn Fn() + Send + Sync>;

/// Watches for StatusNotifier watchers for as long as it lives.
pub struct HostWatch {
    // (gio names the id's type in two places and exports the other one.)
    unwatch: Option<Box<dyn FnOnce()>>,
}

impl Drop for HostWatch {
    fn drop(&mut self) {
        if let Some(unwatch) = self.unwatch.take() {
            unwatch();
        }
    }
}

/// Starts watching (on the GTK main context: call it from the event loop's thread).
pub fn watch(recreate: Recreate) -> HostWatch {
    let id = gio::bus_watch_name(
        gio::BusType::Session,
        WATCHER,
        gio::BusNameWatcherFlags::NONE,
        move |conn, _name, owner| {
            tracing::debug!(owner, "a StatusNotifier watcher appeared");
            verify_later(conn, recreate.clone(), TRIES)
        },
        |_, _| {},
    );
    HostWatch {
        unwatch: Some(Box::new(move || gio::bus_unwatch_name(id))),
    }
}

/// After [`SETTLE`], checks that the watcher lists this process's icon; if not, asks for a new
/// icon and checks again, `tries` times in all.
fn verify_later(conn: gio::DBusConnection, recreate: Recreate, tries: u32) {
    if tries == 0 {
        return;
    }
    glib::timeout_add_local_once(SETTLE, move || {
        // libappindicator registers over GTK's shared session connection, which is this one.
        let Some(me) = conn.unique_name().map(|n| n.to_string()) else {
            return;
        };
        let args = (WATCHER, "RegisteredStatusNotifierItems");
        let c = conn.clone();
        conn.call(
            Some(WATCHER),
            WATCHER_PATH,
            "org.freedesktop.DBus.Properties",
            "Get",
            Some(&glib::ToVariant::to_variant(&args)),
            Some(glib::VariantTy::new("(v)").unwrap_or(glib::VariantTy::ANY)),
            gio::DBusCallFlags::NONE,
            2000,
            None::<&gio::Cancellable>,
            move |answer| {
                let answer = match answer {
                    Ok(a) => a,
                    Err(e) => {
                        // The watcher went away again: the next one starts over.
                        tracing::debug!("cannot ask the StatusNotifier watcher: {e}");
                        return;
                    }
                };
                tracing::debug!(%answer, me, "StatusNotifier items");
                if !lists(&answer, &me) {
                    tracing::info!("the tray icon is not registered with the panel: a new one");
                    recreate();
                    verify_later(c, recreate, tries - 1);
                }
            },
        );
    });
}

/// Whether the watcher's `(v)` answer (an array of `":1.8"` or `":1.8/path"` strings) holds
/// an item of the connection named `me`.
fn lists(answer: &glib::Variant, me: &str) -> bool {
    let items: Vec<String> = answer
        .child_value(0)
        .as_variant()
        .and_then(|v| v.get::<Vec<String>>())
        .unwrap_or_default();
    items
        .iter()
        .any(|i| i == me || i.strip_prefix(me).is_some_and(|rest| rest.starts_with('/')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use glib::ToVariant as _;

    fn answer(items: &[&str]) -> glib::Variant {
        let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        glib::Variant::tuple_from_iter([glib::Variant::from_variant(&items.to_variant())])
    }

    #[test]
    fn finds_our_item_by_bus_name_with_or_without_a_path() {
        assert!(lists(&answer(&[":1.8"]), ":1.8"));
        assert!(lists(
            &answer(&[":1.3/x", ":1.8/org/ayatana/NotificationItem/a"]),
            ":1.8"
        ));
        assert!(!lists(&answer(&[":1.80", ":1.81/x"]), ":1.8"));
        assert!(!lists(&answer(&[]), ":1.8"));
    }
}
