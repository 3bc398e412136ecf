//! Link the binary with packed relative relocations (`DT_RELR`) where the C library supports
//! them (glibc 2.36 and later).
//!
//! A position-independent Rust binary carries one 24-byte relocation for every pointer in its
//! read-only data (vtables, static strings in tables), ~17,000 of them here. The dynamic loader
//! reads them all at start-up, so those ~420 KB of the file stay resident in every running
//! process. Packed, the same relocations take ~5 KB: the binary and its memory after start are
//! ~0.4 MB smaller, and address-space layout randomisation is unchanged. A binary linked this
//! way needs glibc 2.36 to run, which is why it is only done when the C library it is built
//! against has it (Debian 12, Ubuntu 24.04 and later); older systems get the usual relocations.
//! `SWITCHYARD_PACKED_RELOCS=0` turns it off.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SWITCHYARD_PACKED_RELOCS");
    let on = std::env::var("SWITCHYARD_PACKED_RELOCS").as_deref() != Ok("0");
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    // The probe asks the build machine's C library; a cross build cannot ask the target's.
    let native = std::env::var("HOST").ok() == std::env::var("TARGET").ok();
    if on && linux_gnu && native && glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether `getconf GNU_LIBC_VERSION` says "glibc X.Y" with X.Y at least `major.minor`.
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}
