#!/usr/bin/env bash
# Installs what the client tests (tests/clients) need, on a fresh Debian 12 / Ubuntu machine:
#   1. system packages (apt), only the missing ones;
#   2. a project-local Python venv at <repo>/.venv with tests/clients/requirements.txt;
#   3. the Claude Code, Gemini and Codex CLIs into tests/clients/node_modules (npm ci, from
#      package-lock.json).
# Idempotent: a second run checks stamps and finishes in seconds.
# Env: SKIP_APT=1 skips step 1; SKIP_NODE=1 skips step 3; PYTHON=python3.x picks the interpreter.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLIENTS="$ROOT/tests/clients"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

say() { printf '[setup-test-deps] %s\n' "$*"; }
die() { printf '[setup-test-deps] ERROR: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo when it exists.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# ---------------------------------------------------------------------------------------------
# 1. System packages. Add to APT_PACKAGES as tests grow (the desktop-app packages -- webkit,
#    Xvfb, openbox ... -- will join here).
# ---------------------------------------------------------------------------------------------
APT_PACKAGES=(
    build-essential pkg-config curl
    libdbus-1-dev dbus dbus-x11          # D-Bus: keychain + notifications
    gnome-keyring libsecret-tools        # Secret Service + secret-tool for cross-checks
    keyutils                             # keyctl: a fresh session keyring per test session
    dunst libnotify-bin                  # notification daemon + notify-send
    nodejs npm                           # Claude Code CLI (only installed when node is absent)
    chromium                             # browser tests of the web UI (tests/browser)
    xvfb xauth x11-utils x11-xserver-utils openbox  # a display for the desktop app (tests/desktop)
    imagemagick xdotool trayer           # screenshots, input, a real XEmbed tray host
    at-spi2-core webkit2gtk-driver       # WebKitWebDriver (tauri-driver drives it)
    dpkg-dev desktop-file-utils          # the .deb: dpkg-shlibdeps, desktop-file-validate
    haskell-status-notifier-item-utils   # a StatusNotifier watcher (the tray over D-Bus)
    libglib2.0-bin                       # gdbus: ask the watcher what is registered
    wrk                                  # HTTP load generator (make bench)
    redis-server nginx-light haproxy openssl  # team mode: our own Redis, load balancers, TLS certs
)

install_apt_packages() {
    if [ "${SKIP_APT:-0}" = 1 ]; then
        say "apt: skipped (SKIP_APT=1)"
        return
    fi
    if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        say "apt: no dpkg/apt-get here (not Debian/Ubuntu?); install these yourself: ${APT_PACKAGES[*]}"
        return
    fi
    local wanted=("${APT_PACKAGES[@]}")
    # python3 without the venv module (Debian splits it out): add python3-venv.
    if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        wanted+=(python3-venv)
    fi
    local missing=() p
    for p in "${wanted[@]}"; do
        # A node/npm that did not come from apt (nodesource, nvm, a tarball) is fine as it is.
        case "$p" in
            nodejs) command -v node >/dev/null 2>&1 && continue ;;
            npm) command -v npm >/dev/null 2>&1 && continue ;;
        esac
        # (dpkg -s also knows removed-but-not-purged packages: look at the status line.)
        if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
            missing+=("$p")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        say "apt: all ${#wanted[@]} packages already installed"
        return
    fi
    say "apt: missing ${missing[*]}; running apt-get update + install"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    say "apt: installed ${missing[*]}"
}

# ---------------------------------------------------------------------------------------------
# 2. Python venv at <repo>/.venv with the pinned clients + pytest.
# ---------------------------------------------------------------------------------------------
install_python_venv() {
    local req="$CLIENTS/requirements.txt" stamp="$VENV/.switchyard-requirements.sha256"
    local req_desktop="$ROOT/tests/desktop/requirements.txt"
    [ -f "$req" ] || die "missing $req"
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found"
    local pyver='import sys; print("%d.%d.%d" % sys.version_info[:3])'
    local want have_py
    want="$(hash_of "$req" "$req_desktop") $("$PYTHON" -c "$pyver")"
    have_py="$("$VENV/bin/python" -c "$pyver" 2>/dev/null || true)"
    if [ -n "$have_py" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        say "venv: $VENV is up to date with tests/clients/requirements.txt"
        return
    fi
    if [ "$have_py" != "$("$PYTHON" -c "$pyver")" ]; then
        # Missing, broken, or made by another Python: (re)create it.
        say "venv: creating $VENV with $PYTHON"
        "$PYTHON" -m venv --clear "$VENV"
    fi
    say "venv: installing tests/clients/requirements.txt"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$req" -r "$req_desktop"
    printf '%s\n' "$want" > "$stamp"
    say "venv: done ($("$VENV/bin/python" -m pip freeze --disable-pip-version-check | grep -Ei '^(anthropic|openai|pytest)' | tr '\n' ' '))"
}

# ---------------------------------------------------------------------------------------------
# 3. Claude Code CLI, pinned in tests/clients/package-lock.json.
# ---------------------------------------------------------------------------------------------
install_claude_code() {
    if [ "${SKIP_NODE:-0}" = 1 ]; then
        say "npm: skipped (SKIP_NODE=1)"
        return
    fi
    command -v npm >/dev/null 2>&1 || die "npm not found (install nodejs + npm)"
    local lock="$CLIENTS/package-lock.json" stamp="$CLIENTS/node_modules/.switchyard-lock.sha256"
    # The pinned Claude Code and the newest (npm alias claude-code-latest); both are native
    # binaries put in place by the packages' postinstall.
    local bin="$CLIENTS/node_modules/@anthropic-ai/claude-code/bin/claude.exe"
    local latest="$CLIENTS/node_modules/claude-code-latest/bin/claude.exe"
    [ -f "$lock" ] || die "missing $lock"
    local want
    want="$(hash_of "$CLIENTS/package.json" "$lock") $(node --version)"
    local gemini="$CLIENTS/node_modules/.bin/gemini"
    local codex="$CLIENTS/node_modules/.bin/codex"
    if [ -x "$bin" ] && [ -x "$gemini" ] && [ -x "$codex" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$bin" --version >/dev/null 2>&1; then
        say "npm: Claude Code, Gemini CLI and Codex CLI in tests/clients/node_modules are up to date"
        return
    fi
    say "npm: npm ci --prefix tests/clients (Claude Code, Gemini CLI, Codex CLI)"
    npm ci --prefix "$CLIENTS" --no-audit --no-fund --loglevel=error
    [ -x "$bin" ] || die "npm ci finished but $bin is missing"
    if ! "$bin" --version >/dev/null 2>&1; then
        # The package's postinstall puts the native binary in place; an npm that holds back
        # install scripts leaves a placeholder. Run that postinstall explicitly.
        say "npm: claude does not run yet; running its postinstall (install.cjs)"
        (cd "$CLIENTS/node_modules/@anthropic-ai/claude-code" && node install.cjs)
        "$bin" --version >/dev/null 2>&1 || die "$bin does not run after npm ci"
    fi
    if ! "$latest" --version >/dev/null 2>&1; then
        say "npm: the newest claude does not run yet; running its postinstall (install.cjs)"
        (cd "$CLIENTS/node_modules/claude-code-latest" && node install.cjs)
        "$latest" --version >/dev/null 2>&1 || die "$latest does not run after npm ci"
    fi
    [ -x "$gemini" ] || die "npm ci finished but $gemini is missing"
    "$codex" --version >/dev/null 2>&1 || die "npm ci finished but $codex does not run"
    printf '%s\n' "$want" > "$stamp"
    say "npm: installed Claude Code $("$bin" --version) and $("$latest" --version), Gemini CLI $(node "$(readlink -f "$gemini")" --version 2>/dev/null || echo '?')"
}

# ---------------------------------------------------------------------------------------------
# 4. tauri-driver (WebDriver for the desktop app) into <repo>/.tools, from crates.io.
# ---------------------------------------------------------------------------------------------
install_tauri_driver() {
    local bin="$ROOT/.tools/bin/tauri-driver"
    if [ -x "$bin" ]; then
        say "tauri-driver: $("$bin" --version 2>/dev/null || echo present) in .tools/"
        return
    fi
    command -v cargo >/dev/null 2>&1 || die "cargo not found (run scripts/setup-build-deps.sh)"
    say "tauri-driver: cargo install tauri-driver --locked --version '^2' --root .tools (about 30 s)"
    cargo install -q tauri-driver --locked --version '^2' --root "$ROOT/.tools"
}

# ---------------------------------------------------------------------------------------------
# 5. cargo-fuzz (for `make fuzz-smoke` / `make fuzz`) into <repo>/.tools, from crates.io.
# ---------------------------------------------------------------------------------------------
install_cargo_fuzz() {
    local bin="$ROOT/.tools/bin/cargo-fuzz"
    if [ -x "$bin" ]; then
        say "cargo-fuzz: $("$bin" --version 2>/dev/null || echo present) in .tools/"
        return
    fi
    command -v cargo >/dev/null 2>&1 || die "cargo not found (run scripts/setup-build-deps.sh)"
    say "cargo-fuzz: cargo install cargo-fuzz --locked --root .tools (about a minute)"
    cargo install -q cargo-fuzz --locked --root "$ROOT/.tools"
}

install_apt_packages
install_python_venv
install_claude_code
install_tauri_driver
install_cargo_fuzz
say "all set. Run the client tests with:"
say "  scripts/desktop-session.sh .venv/bin/python -m pytest tests/clients -q"
