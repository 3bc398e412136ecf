//! Atomic config writes that keep a backup of what was there.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a save failed. The original file is untouched when this is returned.
#[derive(Debug, thiserror::Error)]
#[error("cannot save {path}: {source}")]
pub struct SaveError {
    /// The file we tried to write.
    pub path: PathBuf,
    /// The I/O failure.
    #[source]
    pub source: std::io::Error,
}

/// Write `contents` to `path` atomically: write a temporary file beside it, flush it to disk,
/// copy the current file to `<path>.bak`, then rename the temporary file over `path`.
/// A crash at any point leaves either the old or the new file, never a torn one.
pub fn save_atomic(path: &Path, contents: &[u8]) -> Result<(), SaveError> {
    write(path, contents, true)
}

/// Like [`save_atomic`] but without the `.bak` copy (for files whose previous version the
/// caller keeps itself, and where a `.bak` beside them might be the user's own).
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), SaveError> {
    write(path, contents, false)
}

fn write(path: &Path, contents: &[u8], backup: bool) -> Result<(), SaveError> {
    let err = |source| SaveError {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    // A name of its own for every save: two saves at once (two processes, or two threads of
    // one) never write into each other's temporary file.
    let mut nonce = [0u8; 8];
    let _ = getrandom::fill(&mut nonce);
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = dir.join(format!(".{file_name}.tmp-{}-{nonce}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            // Keep the user's permissions (e.g. 0600) on the new file.
            std::fs::set_permissions(&tmp, meta.permissions())?;
            if backup {
                std::fs::copy(path, dir.join(format!("{file_name}.bak")))?;
            }
        }
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_backup_and_replaces_atomically() {
        let dir = std::env::temp_dir().join(format!("sy-save-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("config.toml");
        save_atomic(&path, b"one").expect("first save");
        assert_eq!(std::fs::read(&path).expect("read"), b"one");
        assert!(!dir.join("config.toml.bak").exists());
        save_atomic(&path, b"two").expect("second save");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        assert_eq!(
            std::fs::read(dir.join("config.toml.bak")).expect("bak"),
            b"one"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .expect("dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
