//! "Copy endpoint URL": text onto the system clipboard, from the event loop's thread.

/// Puts `text` on the clipboard. GTK serves it for as long as the tray app runs, and hands it
/// to a clipboard manager, where there is one, so it outlives "Quit".
#[cfg(target_os = "linux")]
pub fn copy(text: &str) -> Result<(), String> {
    let clipboard = gtk::Clipboard::get(&gtk::gdk::SELECTION_CLIPBOARD);
    clipboard.set_text(text);
    clipboard.store();
    Ok(())
}

/// Not built or tested on this platform yet.
#[cfg(not(target_os = "linux"))]
pub fn copy(text: &str) -> Result<(), String> {
    arboard::Clipboard::new()
        .and_then(|mut c| c.set_text(text.to_owned()))
        .map_err(|e| e.to_string())
}
