//! Embeds the web UI (`<repo>/ui`) into the engine at compile time: every file becomes an
//! `include_bytes!` entry with its content type and an ETag, so the binary serves the UI with
//! no file access at run time. A missing `ui/` directory (e.g. the crate built on its own)
//! gives an empty table and the UI routes answer 404.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() -> std::io::Result<()> {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let ui = manifest.join("../../ui");
    // A directory here makes Cargo rescan everything below it for changes.
    println!("cargo:rerun-if-changed=../../ui");
    println!("cargo:rerun-if-changed=build.rs");

    let mut files = Vec::new();
    if ui.is_dir() {
        collect(&ui, &ui, &mut files)?;
    }
    files.sort();

    let mut out = String::from(
        "/// The embedded UI files, sorted by path.\npub(crate) static ASSETS: &[Asset] = &[\n",
    );
    for rel in &files {
        let abs = ui.join(rel);
        let bytes = std::fs::read(&abs)?;
        let abs = abs.canonicalize()?;
        let _ = writeln!(
            out,
            "    Asset {{ path: {rel:?}, content_type: {ct:?}, etag: {etag:?}, bytes: include_bytes!({abs:?}) }},",
            ct = content_type(rel),
            etag = format!("\"{:016x}\"", fnv1a(&bytes)),
            abs = abs.display().to_string(),
        );
    }
    out.push_str("];\n");

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    std::fs::write(out_dir.join("ui_assets.rs"), out)
}

/// Relative paths (with `/` separators) of the files to embed. Hidden files and editor
/// leftovers are skipped.
fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(rel.join("/"));
        }
    }
    Ok(())
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// FNV-1a: a stable content hash for the ETag (no dependency needed for this).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
