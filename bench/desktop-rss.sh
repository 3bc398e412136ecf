#!/usr/bin/env bash
# Memory of the desktop app (release build), under Xvfb in a throwaway desktop session:
#   1. idle in the tray, started with --autostart (the window never opened);
#   2. with the window open (the web UI showing live status), app + WebKit child processes;
#   3. idle in the tray after the window was opened and closed (the webview is destroyed).
# Each state is measured RUNS times (default 3, fresh app each time) and the median is reported,
# as RSS (what `top` shows), PSS (shared pages split between processes, so sums are fair) and
# private dirty memory (heap and written pages only this app holds: what it really costs; the
# rest of RSS is clean, evictable file pages of the libraries, mostly WebKitGTK and GTK).
# Two switchyard-mock upstreams serve a few requests so the engine has done real work.
# Results are appended to bench/DESKTOP.md. Target: state 3 <= 60 MB.
#
# Usage: bench/desktop-rss.sh   (env: RUNS=3, SETTLE=8 seconds before each reading)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-3}"
SETTLE="${SETTLE:-8}"

if [ "${SWITCHYARD_DESKTOP_SESSION:-}" != 1 ] || [ -z "${DISPLAY:-}" ]; then
    cargo build -q --release -p switchyard-desktop --features custom-protocol
    cargo build -q --release -p switchyard-mock
    exec scripts/desktop-session.sh --display "$0" "$@"
fi

APP="$ROOT/target/release/switchyard-desktop"
MOCK="$ROOT/target/release/switchyard-mock"
TMP="$SWITCHYARD_DESKTOP_TMP/bench"
mkdir -p "$TMP"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

say() { printf '[desktop-rss] %s\n' "$*" >&2; }

start_mock() {
    "$MOCK" >"$TMP/$1.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do
        grep -q 'listening on' "$TMP/$1.log" && break
        sleep 0.05
    done
    grep -o 'http://[0-9.:]*' "$TMP/$1.log"
}
U1="$(start_mock m1)"
U2="$(start_mock m2)"
PORT=$((20000 + RANDOM % 20000))
mkdir -p "$XDG_CONFIG_HOME/switchyard"
cat >"$XDG_CONFIG_HOME/switchyard/config.toml" <<EOF
listen = "127.0.0.1:$PORT"
[[providers]]
id = "claude"
name = "Claude"
base_url = "$U1"
credential = "none"
[[providers]]
id = "deepseek"
name = "DeepSeek"
base_url = "$U2"
credential = "none"
EOF

# The process and all its descendants.
tree() {
    local p="$1" c
    echo "$p"
    for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree "$c"; done
}
# "<rss_kb> <pss_kb> <processes>" summed over the tree.
measure() {
    local rss=0 pss=0 n=0 p r s
    for p in $(tree "$1"); do
        r=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        s=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        rss=$((rss + ${r:-0})); pss=$((pss + ${s:-0})); n=$((n + 1))
    done
    echo "$rss $pss $n"
}
# Private dirty kB summed over the tree.
private_dirty() {
    local t=0 p d
    for p in $(tree "$1"); do
        d=$(awk '/^Private_Dirty:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        t=$((t + ${d:-0}))
    done
    echo "$t"
}
main_only() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

wait_engine() {
    for _ in $(seq 200); do
        curl -sf "http://127.0.0.1:$PORT/v1/health" >/dev/null && return 0
        sleep 0.05
    done
    say "engine did not answer"; return 1
}
traffic() {
    for _ in 1 2 3 4 5; do
        curl -sf -o /dev/null "http://127.0.0.1:$PORT/v1/messages" -H 'content-type: application/json' \
            -H 'anthropic-version: 2023-06-01' \
            -d '{"model":"claude-sonnet-4-5","max_tokens":32,"messages":[{"role":"user","content":"hi"}]}'
    done
}
window_id() { xdotool search --onlyvisible --name '^Switchyard$' 2>/dev/null | head -n1; }

# Results per state: lines "rss pss procs main_rss private_dirty".
: >"$TMP/tray"; : >"$TMP/open"; : >"$TMP/closed"
for run in $(seq "$RUNS"); do
    say "run $run/$RUNS: tray only"
    "$APP" --autostart >"$TMP/app-a$run.log" 2>&1 &
    pid=$!
    wait_engine; traffic; sleep "$SETTLE"
    echo "$(measure $pid) $(main_only $pid) $(private_dirty $pid)" >>"$TMP/tray"
    kill "$pid"; wait "$pid" 2>/dev/null || true

    say "run $run/$RUNS: window open, then closed"
    "$APP" >"$TMP/app-b$run.log" 2>&1 &
    pid=$!
    wait_engine
    for _ in $(seq 100); do [ -n "$(window_id)" ] && break; sleep 0.1; done
    traffic; sleep "$SETTLE"
    echo "$(measure $pid) $(main_only $pid) $(private_dirty $pid)" >>"$TMP/open"
    xdotool windowactivate --sync "$(window_id)" key alt+F4 >/dev/null 2>&1 || true
    for _ in $(seq 100); do [ -z "$(window_id)" ] && break; sleep 0.1; done
    traffic; sleep "$SETTLE"
    echo "$(measure $pid) $(main_only $pid) $(private_dirty $pid)" >>"$TMP/closed"
    kill "$pid"; wait "$pid" 2>/dev/null || true
done

# median of column $2 in file $1, in MB with one decimal
median_mb() { sort -n -k"$2" "$1" | awk -v c="$2" '{v[NR]=$c} END {m=v[int((NR+1)/2)]; printf "%.1f", m/1024}'; }
procs_of() { sort -n -k1 "$1" | awk '{v[NR]=$3} END {print v[int((NR+1)/2)]}'; }
row() { # label file
    printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(median_mb "$2" 1)" "$(median_mb "$2" 2)" \
        "$(median_mb "$2" 5)" "$(median_mb "$2" 4)" "$(procs_of "$2")"
}
closed_rss="$(median_mb "$TMP/closed" 1)"
verdict="$(awk -v v="$closed_rss" 'BEGIN {print (v <= 60 ? "meets" : "misses")}')"

{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%MZ) — $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty')"
    echo
    echo "Release build (\`--features custom-protocol\`), Xvfb + openbox, $(nproc) cores, median of $RUNS runs,"
    echo "${SETTLE}s after the last action; 5 proxied requests before each reading. Sums cover the app and"
    echo "every process it started (WebKitWebProcess, WebKitNetworkProcess)."
    echo
    echo "| state | RSS sum (MB) | PSS sum (MB) | private dirty sum (MB) | tray process alone, RSS (MB) | processes |"
    echo "|---|---|---|---|---|---|"
    row "in the tray, window never opened (--autostart)" "$TMP/tray"
    row "window open (web UI, live status)" "$TMP/open"
    row "in the tray after the window was opened and closed" "$TMP/closed"
    echo
    echo "Target: <= 60 MB in the tray after closing the window: **$verdict** ($closed_rss MB RSS)."
} | tee -a "$ROOT/bench/DESKTOP.md"
