//! Noticing that the config file changed on disk. Polling a file's modification time and
//! size once a second costs nothing measurable and works on every platform and filesystem
//! (editors that replace the file by rename included), which an inotify watch does not.

use std::path::Path;
use std::time::SystemTime;

/// What we remember about the file to notice a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

/// The file's current stamp, or `None` if it does not exist.
pub fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
    })
}
