#!/usr/bin/env bash
# Makes sure this machine can build Switchyard: a C toolchain and pkg-config from apt (the TLS
# library has C parts), the GTK/WebKitGTK/appindicator/D-Bus development packages the desktop
# app (src-tauri, Tauri v2) links against, and a Rust toolchain new enough for the workspace
# (rust-version in Cargo.toml). Installs only what is missing; a second run takes a moment.
set -euo pipefail

say() { printf '[setup-build-deps] %s\n' "$*"; }
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else say "need root (or sudo) to run: $*"; exit 1; fi
}

APT_PACKAGES=(build-essential pkg-config curl ca-certificates
    # The desktop app (Tauri v2 on Linux). Debian 12 has no libappindicator3-dev: the ayatana one.
    libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev
    libayatana-appindicator3-dev librsvg2-dev libxdo-dev libdbus-1-dev)
if command -v dpkg >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing ${missing[*]} (apt)"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
fi

need="1.85"
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    say "no Rust toolchain found: installing rustup's stable toolchain into ~/.cargo"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy -c rustfmt
    say "done: open a new shell (or run: source ~/.cargo/env) and re-run make"
    exit 1
fi
have="$(rustc --version | awk '{print $2}')"
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1)" != "$need" ]; then
    say "rustc $have is older than $need: run 'rustup update stable' (Debian's own rustc is too old)"
    exit 1
fi
for pair in clippy:clippy fmt:rustfmt; do
    sub="${pair%%:*}" component="${pair##*:}"
    if ! cargo "$sub" --version >/dev/null 2>&1 && command -v rustup >/dev/null 2>&1; then
        say "adding the $component component"
        rustup component add "$component"
    fi
done
