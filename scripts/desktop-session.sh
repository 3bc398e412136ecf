#!/usr/bin/env bash
# Runs a command inside a throwaway desktop session:
#   - a new kernel session keyring (keyutils; the default one can refuse access in containers),
#   - a private D-Bus session bus,
#   - an unlocked gnome-keyring Secret Service with a default collection ("login"),
#   - with --display: Xvfb (display number picked by Xvfb) + openbox, and the D-Bus activation
#     environment updated so that activated services (dunst for notifications) find the display.
# HOME and the XDG dirs point into a temp dir, so the developer's real keyring, config and display
# are never touched; RUSTUP_HOME/CARGO_HOME keep pointing at the real toolchain.
#
# Usage: scripts/desktop-session.sh [-v] [--display] [--] CMD [ARGS...]
# Exit code: CMD's (128+N when CMD died of signal N). Daemons and the temp dir are removed on exit.
# The child sees SWITCHYARD_DESKTOP_SESSION=1 and SWITCHYARD_DESKTOP_TMP=<temp dir>.
# Env: SWITCHYARD_DESKTOP_KEEP=1 keeps the temp dir (its path is printed).
set -uo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
PROG="desktop-session"
VERBOSE=0
WANT_DISPLAY=0
ORIG_ARGS=("$@")

usage() { sed -n '2,15p' "$SELF" | sed 's/^# \{0,1\}//'; }
log() { [ "$VERBOSE" = 1 ] && printf '[%s] %s\n' "$PROG" "$*" >&2; return 0; }
err() { printf '[%s] ERROR: %s\n' "$PROG" "$*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --display) WANT_DISPLAY=1; shift ;;
        -v|--verbose) VERBOSE=1; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        -*) err "unknown option $1"; usage >&2; exit 2 ;;
        *) break ;;
    esac
done
if [ $# -eq 0 ]; then
    usage >&2
    exit 2
fi

for tool in keyctl dbus-daemon dbus-send gnome-keyring-daemon; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        err "$tool not found: run scripts/setup-test-deps.sh"
        exit 127
    fi
done

# --- 1. A new session keyring for this process and everything it starts. ----------------------
# `keyctl new_session` moves this very shell into a fresh session keyring. Where the kernel refuses
# that, re-run the script under `keyctl session -` (which forks and waits) instead.
if [ -z "${_SWITCHYARD_DS_KEYRING:-}" ]; then
    if keyctl new_session >/dev/null 2>&1; then
        log "joined a new session keyring"
    else
        log "keyctl new_session refused; re-running under keyctl session -"
        export _SWITCHYARD_DS_KEYRING=1
        exec keyctl session - "$BASH" "$SELF" "${ORIG_ARGS[@]}"
    fi
fi
unset _SWITCHYARD_DS_KEYRING

# --- 2. Throwaway HOME / XDG dirs. --------------------------------------------------------------
# Unix socket paths are limited to ~100 bytes: fall back to /tmp when TMPDIR is long.
base="${TMPDIR:-/tmp}"
[ "${#base}" -gt 40 ] && base=/tmp
TMP="$(mktemp -d "$base/switchyard-desktop.XXXXXX")" || { err "mktemp failed"; exit 1; }
chmod 700 "$TMP"
mkdir -p "$TMP/home" "$TMP/run" "$TMP/data" "$TMP/config" "$TMP/cache" "$TMP/state"
chmod 700 "$TMP/run"

REAL_HOME="${HOME:-}"
if [ -n "$REAL_HOME" ]; then
    [ -z "${RUSTUP_HOME:-}" ] && [ -d "$REAL_HOME/.rustup" ] && export RUSTUP_HOME="$REAL_HOME/.rustup"
    [ -z "${CARGO_HOME:-}" ] && [ -d "$REAL_HOME/.cargo" ] && export CARGO_HOME="$REAL_HOME/.cargo"
fi
export SWITCHYARD_REAL_HOME="$REAL_HOME"
export HOME="$TMP/home"
export XDG_RUNTIME_DIR="$TMP/run"
export XDG_DATA_HOME="$TMP/data"
export XDG_CONFIG_HOME="$TMP/config"
export XDG_CACHE_HOME="$TMP/cache"
export XDG_STATE_HOME="$TMP/state"
export SWITCHYARD_DESKTOP_SESSION=1
export SWITCHYARD_DESKTOP_TMP="$TMP"
# Nothing from the developer's own session leaks in.
unset DBUS_SESSION_BUS_ADDRESS DISPLAY WAYLAND_DISPLAY XAUTHORITY GNOME_KEYRING_CONTROL \
      GNOME_KEYRING_PID SSH_AUTH_SOCK DBUS_SESSION_BUS_PID

DBUS_PID=""
KEYRING_PID=""
XVFB_PID=""
WM_PID=""
CMD_PID=""

# Sends TERM to the given pids, waits up to ~2 s, then KILLs what is left.
stop_pids() {
    local pids=() p i
    for p in "$@"; do
        [ -n "$p" ] && kill -0 "$p" 2>/dev/null && pids+=("$p")
    done
    [ "${#pids[@]}" -eq 0 ] && return 0
    kill -TERM "${pids[@]}" 2>/dev/null
    for i in $(seq 20); do
        local alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null
    return 0
}

cleanup() {
    trap - EXIT INT TERM HUP
    stop_pids "$CMD_PID"
    # Services the bus activated on demand (dunst, ...) are children of the dbus-daemon.
    local activated=""
    [ -n "$DBUS_PID" ] && activated="$(pgrep -P "$DBUS_PID" 2>/dev/null | tr '\n' ' ')"
    # shellcheck disable=SC2086
    stop_pids "$WM_PID" "$KEYRING_PID" $activated
    stop_pids "$XVFB_PID" "$DBUS_PID"
    wait 2>/dev/null
    if [ "${SWITCHYARD_DESKTOP_KEEP:-0}" = 1 ]; then
        printf '[%s] kept %s\n' "$PROG" "$TMP" >&2
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
# A signal to this script ends the command and then the session.
on_signal() {
    local sig="$1"
    log "got SIG$sig"
    if [ -n "$CMD_PID" ] && kill -0 "$CMD_PID" 2>/dev/null; then
        kill -"$sig" "$CMD_PID" 2>/dev/null
    else
        exit $((128 + $(kill -l "$sig")))
    fi
}
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT
trap 'on_signal HUP' HUP

# wait_until N CMD...: runs CMD every 0.1 s until it succeeds, at most N times.
wait_until() {
    local tries="$1" i
    shift
    for i in $(seq "$tries"); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# --- 3. Private D-Bus session bus. ---------------------------------------------------------------
# --nofork: it stays our child, so we reap it ourselves on exit.
dbus-daemon --session --nofork --nopidfile --address="unix:path=$XDG_RUNTIME_DIR/bus" \
    --print-address=5 5>"$TMP/dbus.addr" >"$TMP/dbus.log" 2>&1 </dev/null &
DBUS_PID=$!
has_bus_address() { [ -s "$TMP/dbus.addr" ]; }
if ! wait_until 100 has_bus_address; then
    err "dbus-daemon did not start: $(cat "$TMP/dbus.log" 2>/dev/null)"
    exit 1
fi
DBUS_SESSION_BUS_ADDRESS="$(head -n1 "$TMP/dbus.addr")"
export DBUS_SESSION_BUS_ADDRESS
log "D-Bus session bus $DBUS_SESSION_BUS_ADDRESS (pid $DBUS_PID)"

name_has_owner() {
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner "string:$1" 2>/dev/null | grep -q 'boolean true'
}

# --- 4. gnome-keyring Secret Service, unlocked (creates the default "login" collection). -------
printf '%s' "switchyard-test-password" |
    gnome-keyring-daemon --foreground --unlock --components=secrets \
        >"$TMP/keyring.log" 2>&1 &
KEYRING_PID=$!
if ! wait_until 100 name_has_owner org.freedesktop.secrets; then
    err "gnome-keyring-daemon did not register org.freedesktop.secrets: $(cat "$TMP/keyring.log")"
    exit 1
fi
export GNOME_KEYRING_CONTROL="$XDG_RUNTIME_DIR/keyring"
log "Secret Service up (gnome-keyring pid $KEYRING_PID)"

# --- 5. Optional display: Xvfb + openbox. --------------------------------------------------------
if [ "$WANT_DISPLAY" = 1 ]; then
    if ! command -v Xvfb >/dev/null 2>&1; then
        err "--display needs Xvfb (apt-get install xvfb xauth openbox x11-utils)"
        exit 127
    fi
    # -displayfd: Xvfb picks a free display number and writes it to fd 7 once it accepts clients.
    Xvfb -displayfd 7 -screen 0 1280x800x24 -nolisten tcp 7>"$TMP/xvfb.display" \
        >"$TMP/xvfb.log" 2>&1 &
    XVFB_PID=$!
    has_display_number() { [ -s "$TMP/xvfb.display" ]; }
    if ! wait_until 100 has_display_number; then
        err "Xvfb did not start: $(tail -n5 "$TMP/xvfb.log")"
        exit 1
    fi
    export DISPLAY=":$(head -n1 "$TMP/xvfb.display" | tr -d '[:space:]')"
    if command -v xdpyinfo >/dev/null 2>&1 && ! wait_until 100 xdpyinfo; then
        err "display $DISPLAY does not answer"
        exit 1
    fi
    if command -v openbox >/dev/null 2>&1; then
        openbox >"$TMP/openbox.log" 2>&1 &
        WM_PID=$!
    else
        log "openbox not installed: no window manager"
    fi
    log "display $DISPLAY (Xvfb pid $XVFB_PID)"
fi

# Without this, D-Bus-activated services (dunst) start without DISPLAY/HOME and die.
if command -v dbus-update-activation-environment >/dev/null 2>&1; then
    vars=(XDG_RUNTIME_DIR HOME XDG_DATA_HOME XDG_CONFIG_HOME XDG_CACHE_HOME)
    [ -n "${DISPLAY:-}" ] && vars+=(DISPLAY)
    dbus-update-activation-environment "${vars[@]}" >/dev/null 2>&1 ||
        log "dbus-update-activation-environment failed"
fi

# --- 6. The command. -----------------------------------------------------------------------------
# Run in the background (so that signals reach our trap at once) but on our own stdin
# (bash would give a background job /dev/null).
log "running: $*"
exec 3<&0
"$@" <&3 3<&- &
CMD_PID=$!
exec 3<&-
rc=0
while :; do
    wait "$CMD_PID"
    rc=$?
    # wait returns early (>128) when a trapped signal arrives while the command still runs.
    [ "$rc" -gt 128 ] || break
    if ! kill -0 "$CMD_PID" 2>/dev/null; then
        # It ended meanwhile: collect its own status if bash still holds it.
        wait "$CMD_PID" 2>/dev/null
        r2=$?
        [ "$r2" != 127 ] && rc=$r2
        break
    fi
done
CMD_PID=""
exit "$rc"
