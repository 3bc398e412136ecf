#!/usr/bin/env bash
# Memory of the desktop app (release build), under Xvfb in a throwaway desktop session:
#   1. idle in the tray, started with --autostart (the window never opened);
#   2. with the window open (the web UI showing live status): the tray process and the window
#      process with its WebKit helpers;
#   3. idle in the tray after the window was opened and closed;
#   4. the window opened and closed CYCLES times (default 50) in one tray process: the tray
#      process's RSS before and after (target: within +5 MB).
# States 1-3 are measured RUNS times (default 3, fresh app each time) and the median is
# reported, as RSS (what `top` shows), PSS (shared pages split between processes, so sums are
# fair) and private dirty memory (heap and written pages only this app holds). The window is
# opened the way a person does it a second time: launching the app again, which hands over to
# the running one. Two switchyard-mock upstreams serve a few requests so the engine has done
# real work. Results are appended to bench/DESKTOP.md. Target: the tray process <= 60 MB RSS.
#
# Usage: bench/desktop-rss.sh   (env: RUNS=3, SETTLE=8 seconds before each reading, CYCLES=50)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-3}"
SETTLE="${SETTLE:-8}"
CYCLES="${CYCLES:-50}"

if [ "${SWITCHYARD_DESKTOP_SESSION:-}" != 1 ] || [ -z "${DISPLAY:-}" ]; then
    # The selection `make run` and `make package` build too: cargo unifies features per
    # selection, so the same one means nothing is compiled twice.
    cargo build -q --release -p switchyard-cli -p switchyard-mock -p switchyard-desktop \
        -p switchyard-window --features switchyard-window/custom-protocol
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
main_private() { awk '/^Private_Dirty:/ {print $2}' "/proc/$1/smaps_rollup"; }

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
# Opens the window the way a person does once the app runs: start it again (it hands over).
open_window() {
    "$APP" >>"$TMP/launch.log" 2>&1
    for _ in $(seq 150); do [ -n "$(window_id)" ] && return 0; sleep 0.1; done
    say "no window appeared"; return 1
}
# Closes it as a person does (Alt+F4) and waits for the window process to be gone.
close_window() {
    local pid="$1"
    xdotool windowactivate --sync "$(window_id)" key alt+F4 >/dev/null 2>&1 || true
    for _ in $(seq 100); do
        [ -z "$(window_id)" ] && [ "$(tree "$pid" | wc -l)" = 1 ] && return 0
        sleep 0.1
    done
    say "the window did not close"; return 1
}

# Results per state: lines "rss pss procs main_rss private_dirty main_private".
: >"$TMP/tray"; : >"$TMP/open"; : >"$TMP/closed"
for run in $(seq "$RUNS"); do
    say "run $run/$RUNS: tray only"
    "$APP" --autostart >"$TMP/app-a$run.log" 2>&1 &
    pid=$!
    wait_engine; traffic; sleep "$SETTLE"
    echo "$(measure $pid) $(main_only $pid) $(private_dirty $pid) $(main_private $pid)" >>"$TMP/tray"

    say "run $run/$RUNS: window open, then closed"
    open_window
    traffic; sleep "$SETTLE"
    echo "$(measure $pid) $(main_only $pid) $(private_dirty $pid) $(main_private $pid)" >>"$TMP/open"
    close_window "$pid"
    traffic; sleep "$SETTLE"
    echo "$(measure $pid) $(main_only $pid) $(private_dirty $pid) $(main_private $pid)" >>"$TMP/closed"
    kill "$pid"; wait "$pid" 2>/dev/null || true
done

say "open and close the window $CYCLES times in one tray process"
"$APP" --autostart >"$TMP/app-cycles.log" 2>&1 &
pid=$!
wait_engine; traffic
open_window; sleep 2; close_window "$pid"
sleep "$SETTLE"
cycles_before="$(main_only "$pid")"
for i in $(seq "$CYCLES"); do
    open_window
    sleep 1.5
    traffic
    close_window "$pid"
    [ $((i % 10)) = 0 ] && say "  $i/$CYCLES: $(main_only "$pid") kB"
done
sleep "$SETTLE"
cycles_after="$(main_only "$pid")"
kill "$pid"; wait "$pid" 2>/dev/null || true

# median of column $2 in file $1, in MB with one decimal
median_mb() { sort -n -k"$2" "$1" | awk -v c="$2" '{v[NR]=$c} END {m=v[int((NR+1)/2)]; printf "%.1f", m/1024}'; }
procs_of() { sort -n -k1 "$1" | awk '{v[NR]=$3} END {print v[int((NR+1)/2)]}'; }
row() { # label file
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(median_mb "$2" 4)" "$(median_mb "$2" 6)" \
        "$(median_mb "$2" 1)" "$(median_mb "$2" 2)" "$(median_mb "$2" 5)" "$(procs_of "$2")"
}
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k/1024}'; }
tray_rss="$(median_mb "$TMP/closed" 4)"
worst_rss="$(for f in tray open closed; do median_mb "$TMP/$f" 4; echo; done | sort -n | tail -n1)"
delta_kb=$((cycles_after - cycles_before))
verdict="$(awk -v v="$worst_rss" 'BEGIN {print (v <= 60 ? "meets" : "misses")}')"
cycles_verdict="$(awk -v d="$delta_kb" 'BEGIN {print (d <= 5 * 1024 ? "meets" : "misses")}')"

{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%MZ) — $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty')"
    echo
    echo "Release build (\`--features switchyard-window/custom-protocol\`), Xvfb + openbox, $(nproc) cores, median"
    echo "of $RUNS runs, ${SETTLE}s after the last action; 5 proxied requests before each reading. The tray"
    echo "process runs the engine; the window is its own process (switchyard-window + WebKit's helpers),"
    echo "counted in the sums while it is open."
    echo
    echo "| state | tray process RSS (MB) | tray process private dirty (MB) | RSS sum (MB) | PSS sum (MB) | private dirty sum (MB) | processes |"
    echo "|---|---|---|---|---|---|---|"
    row "in the tray, window never opened (--autostart)" "$TMP/tray"
    row "window open (web UI, live status)" "$TMP/open"
    row "in the tray after the window was opened and closed" "$TMP/closed"
    echo
    echo "Window opened and closed $CYCLES times (a second launch opens it, Alt+F4 closes it; 5 requests"
    echo "each time): tray process $(mb "$cycles_before") MB RSS before, $(mb "$cycles_after") MB after, change $(mb "$delta_kb") MB."
    echo
    echo "Targets: the tray process <= 60 MB RSS in every state: **$verdict** (at most $worst_rss MB; $tray_rss MB"
    echo "after closing the window). $CYCLES open/close cycles within +5 MB: **$cycles_verdict**."
} | tee -a "$ROOT/bench/DESKTOP.md"
