#!/usr/bin/env bash
# Switchyard benchmarks: build the release binaries, run the whole suite against the mock
# upstream on 127.0.0.1 (bounded: a few minutes), print the report and rewrite bench/RESULTS.md.
#
#   bench/run.sh                      # full suite (5 rounds)
#   bench/run.sh --rounds 2 --scale 0.2 --startup-runs 5   # quick smoke run
#
# Extra arguments go to `switchyard-bench all` (see `switchyard-bench all --help`).
# Every process the suite starts is killed on exit, however it exits.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
CARGO=${CARGO:-cargo}
WORK=${BENCH_WORK_DIR:-target/bench}
# Hard limit for the suite itself (the build is not counted).
LIMIT=${BENCH_TIME_LIMIT:-600}
OUT=${BENCH_OUT:-bench/RESULTS.md}

mkdir -p "$WORK"
PIDFILE=$WORK/pids
: >"$PIDFILE"
BENCH_PID=""

# Kill a pid from the pid file only if it is still one of the binaries we started (pids get
# reused): its executable must be ours and it must have been told to listen on 127.0.0.1:0.
kill_ours() {
  local pid=$1 exe
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 0
  case $exe in
  "$ROOT"/target/release/switchyard | "$ROOT"/target/release/switchyard-mock | "$ROOT"/target/release/switchyard-bench) ;;
  *) return 0 ;;
  esac
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -e '127.0.0.1:0' -e 'passthrough' || return 0
  kill "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $BENCH_PID ]] && kill -0 "$BENCH_PID" 2>/dev/null; then
    kill "$BENCH_PID" 2>/dev/null || true
    wait "$BENCH_PID" 2>/dev/null || true
  fi
  if [[ -s $PIDFILE ]]; then
    while read -r pid; do kill_ours "$pid"; done <"$PIDFILE"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== building release binaries"
"$CARGO" build --release -p switchyard-cli -p switchyard-mock -p switchyard-bench

for b in switchyard switchyard-mock switchyard-bench; do
  if [[ ! -x target/release/$b ]]; then
    echo "run.sh: target/release/$b was not built" >&2
    exit 1
  fi
done

COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# Read-only look (no optional index refresh) at whether the measured tree differs from HEAD.
if [[ -n $(GIT_OPTIONAL_LOCKS=0 git status --porcelain -- crates Cargo.toml Cargo.lock 2>/dev/null) ]]; then
  COMMIT="$COMMIT + uncommitted changes"
fi
COMMAND="bench/run.sh${*:+ $*}"

echo "== running the suite (loopback only, at most ${LIMIT}s; progress below, logs in $WORK/)"
# In the background so that the traps above can run while it does.
timeout --signal=TERM "$LIMIT" target/release/switchyard-bench all \
  --out "$OUT.tmp" \
  --work-dir "$WORK" \
  --pidfile "$PIDFILE" \
  --commit "$COMMIT" \
  --command "$COMMAND" \
  "$@" >"$WORK/report.md" &
BENCH_PID=$!
status=0
wait "$BENCH_PID" || status=$?
BENCH_PID=""
if [[ $status -ne 0 ]]; then
  rm -f "$OUT.tmp"
  if [[ $status -eq 124 ]]; then
    echo "run.sh: the suite did not finish within ${LIMIT}s; $OUT left unchanged" >&2
  else
    echo "run.sh: the suite failed (exit $status); see the message above and the logs in $WORK/; $OUT left unchanged" >&2
  fi
  exit 1
fi
mv "$OUT.tmp" "$OUT"

echo
cat "$WORK/report.md"
echo "== wrote $OUT (raw figures: $WORK/raw.json)"
