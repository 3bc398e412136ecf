#!/usr/bin/env bash
# Switchyard benchmarks: build the release binaries, then, all against the mock upstream on
# 127.0.0.1 (bounded: about 80 minutes in all, most of it the one-hour soak; a few with QUICK=1):
#   1. the peer comparison (bench/peers.py): direct, Switchyard, claude-code-router and LiteLLM
#      (installed into bench/peers/ by bench/peers/install.sh when missing), wrk for load;
#   2. the chaos soak (bench/soak.py): 10,000 tagged requests while the primary flaps;
#   3. the long soak (bench/soak.py --duration): one hour at a steady, moderate rate, same chaos
#      plus cut streams, RSS every 30 s (LONGSOAK_SECS sets the length);
#   4. the engine detail suite (`switchyard-bench all`): Switchyard vs a bare axum+reqwest floor;
#   5. team mode (`switchyard-bench team`): what Redis adds to a request (its own redis-server);
# then rewrite bench/RESULTS.md from the five reports (plus bench/FUZZ.md when present).
#
#   bench/run.sh                      # full run
#   QUICK=1 bench/run.sh              # smoke run for development (1 round, short runs)
#   BENCH_PARTS=soak bench/run.sh     # only some parts (peers, soak, longsoak, suite, team;
#                                     # comma-separated); RESULTS.md is then left alone, reports
#                                     # in $WORK/ ...
#   BENCH_PARTS=soak,longsoak BENCH_UPDATE=1 bench/run.sh
#                                     # ... unless BENCH_UPDATE=1: then the sections of the soak
#                                     # parts that ran are replaced in it (with a dated note)
#
# Extra arguments go to `switchyard-bench all` (see `switchyard-bench all --help`).
# Every process the suite starts is killed on exit, however it exits.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
CARGO=${CARGO:-cargo}
WORK=${BENCH_WORK_DIR:-target/bench}
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
ALL_PARTS=peers,soak,longsoak,suite,team
PARTS=${BENCH_PARTS:-$ALL_PARTS}
PY=${PYTHON:-$ROOT/.venv/bin/python}
# Hard limit for the suite itself (the build is not counted).
LIMIT=${BENCH_TIME_LIMIT:-600}
# Length of the long soak, seconds.
LONGSOAK_SECS=${LONGSOAK_SECS:-3600}
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
  "$BIN"/switchyard | "$BIN"/switchyard-mock | "$BIN"/switchyard-bench) ;;
  # The team part's own Redis (it renames its process title, so only the pid file vouches).
  */redis-server) kill "$pid" 2>/dev/null || true; return 0 ;;
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
  if [[ ! -x $BIN/$b ]]; then
    echo "run.sh: $BIN/$b was not built" >&2
    exit 1
  fi
done
has_part() { [[ ,$PARTS, == *,$1,* ]]; }
# BENCH_REUSE=longsoak: use that part's report from an earlier run in $WORK as it is (the
# one-hour soak need not run again to regenerate everything else); RESULTS.md says so.
REUSE=${BENCH_REUSE:-}
reused() { [[ ,$REUSE, == *,$1,* ]]; }
runs_part() { has_part "$1" && ! reused "$1"; }
for part in ${REUSE//,/ }; do
  [[ -s $WORK/$part.md ]] || { echo "run.sh: BENCH_REUSE=$part but $WORK/$part.md is missing" >&2; exit 1; }
done

COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# Read-only look (no optional index refresh) at whether the measured tree differs from HEAD.
if [[ -n $(GIT_OPTIONAL_LOCKS=0 git status --porcelain -- crates Cargo.toml Cargo.lock bench 2>/dev/null) ]]; then
  COMMIT="$COMMIT + uncommitted changes"
fi
QUICK=${QUICK:-0}
SUITE_ARGS=()
[[ $QUICK == 1 ]] && SUITE_ARGS=(--rounds 1 --scale 0.2 --startup-runs 3)
TEAM_ARGS=()
[[ $QUICK == 1 ]] && TEAM_ARGS=(--rounds 1 --requests 300)
COMMAND="bench/run.sh${*:+ $*}"
[[ $QUICK == 1 ]] && COMMAND="QUICK=1 $COMMAND"
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

if runs_part peers; then
  if ! command -v wrk >/dev/null 2>&1; then
    echo "== installing wrk (Debian package)"
    if [[ $(id -u) -eq 0 ]]; then apt-get install -y -q wrk >/dev/null; else sudo apt-get install -y -q wrk >/dev/null; fi
  fi
  echo "== peers: installing claude-code-router and LiteLLM when missing (bench/peers/)"
  bench/peers/install.sh
  echo "== peers: direct vs Switchyard vs claude-code-router vs LiteLLM (progress below)"
  timeout --signal=TERM 1100 "$PY" bench/peers.py --bin-dir "$BIN" --work "$WORK/peers" \
    --out "$WORK/peers.md" --raw "$WORK/peers.json" &
  BENCH_PID=$!
  wait "$BENCH_PID" || { echo "run.sh: bench/peers.py failed; logs in $WORK/peers/" >&2; exit 1; }
  BENCH_PID=""
fi

if runs_part soak; then
  echo "== chaos soak (bench/soak.py)"
  soak_status=0
  timeout --signal=TERM 400 "$PY" bench/soak.py --bin-dir "$BIN" --work "$WORK/soak" --out "$WORK/soak.md" &
  BENCH_PID=$!
  wait "$BENCH_PID" || soak_status=$?
  BENCH_PID=""
  # A soak with failed requests still writes its report (the failures are the result).
  [[ -s $WORK/soak.md ]] || { echo "run.sh: bench/soak.py failed (exit $soak_status); logs in $WORK/soak/" >&2; exit 1; }
fi

if runs_part longsoak; then
  echo "== long soak (bench/soak.py --duration $LONGSOAK_SECS; RSS every 30 s, progress below)"
  soak_status=0
  timeout --signal=TERM $((LONGSOAK_SECS + 600)) "$PY" bench/soak.py --bin-dir "$BIN" --work "$WORK/longsoak" \
    --out "$WORK/longsoak.md" --duration "$LONGSOAK_SECS" &
  BENCH_PID=$!
  wait "$BENCH_PID" || soak_status=$?
  BENCH_PID=""
  [[ -s $WORK/longsoak.md ]] || { echo "run.sh: bench/soak.py --duration failed (exit $soak_status); logs in $WORK/longsoak/" >&2; exit 1; }
fi

if runs_part suite; then
  echo "== engine detail suite (loopback only, at most ${LIMIT}s; progress below, logs in $WORK/)"
  # In the background so that the traps above can run while it does.
  timeout --signal=TERM "$LIMIT" "$BIN"/switchyard-bench all \
    --switchyard "$BIN"/switchyard \
    --mock "$BIN"/switchyard-mock \
    --out "$WORK/suite.md" \
    --work-dir "$WORK" \
    --pidfile "$PIDFILE" \
    --commit "$COMMIT" \
    --command "$COMMAND" \
    "${SUITE_ARGS[@]}" "$@" >"$WORK/report.md" &
  BENCH_PID=$!
  status=0
  wait "$BENCH_PID" || status=$?
  BENCH_PID=""
  if [[ $status -ne 0 ]]; then
    if [[ $status -eq 124 ]]; then
      echo "run.sh: the suite did not finish within ${LIMIT}s; $OUT left unchanged" >&2
    else
      echo "run.sh: the suite failed (exit $status); see the message above and the logs in $WORK/; $OUT left unchanged" >&2
    fi
    exit 1
  fi
fi

if runs_part team; then
  echo "== team mode: what Redis adds (switchyard-bench team; its own redis-server on loopback)"
  timeout --signal=TERM 300 "$BIN"/switchyard-bench team \
    --mock "$BIN"/switchyard-mock \
    --out "$WORK/team.md" \
    --work-dir "$WORK/team" \
    --pidfile "$PIDFILE" \
    "${TEAM_ARGS[@]}" >/dev/null &
  BENCH_PID=$!
  wait "$BENCH_PID" || { echo "run.sh: switchyard-bench team failed; logs in $WORK/team/" >&2; exit 1; }
  BENCH_PID=""
fi

if [[ $PARTS != "$ALL_PARTS" ]]; then
  if [[ ${BENCH_UPDATE:-0} == 1 ]]; then
    for part in soak longsoak; do
      has_part $part || continue
      "$PY" bench/results_section.py "$OUT" "$WORK/$part.md" \
        --note "Measured on its own on $STARTED at commit \`$COMMIT\` (\`BENCH_PARTS=$PARTS BENCH_UPDATE=1 $COMMAND\`), load average before / after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg); the header at the top describes the last full run."
    done
    echo "== BENCH_PARTS=$PARTS BENCH_UPDATE=1: replaced the soak sections of $OUT; reports in $WORK/"
    exit 0
  fi
  echo "== BENCH_PARTS=$PARTS: $OUT left unchanged; reports in $WORK/ (peers.md, soak.md, longsoak.md, suite.md, team.md)"
  exit 0
fi

# The engine suite's own header (date, machine, verdict...) becomes a section of the whole.
{
  echo "# Switchyard benchmark results"
  echo
  echo "Generated by \`make bench\` (\`bench/run.sh\`; do not edit by hand, re-run it). One machine, one session: compare runs only on the same machine. The machine is small and may be shared: see the load average."
  echo
  echo "- **Date:** $STARTED"
  echo "- **Machine:** $(nproc) CPUs (\`nproc\`), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
  echo "- **Load average** before / after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- **Commit:** \`$COMMIT\`"
  echo "- **Command:** \`$COMMAND\` (= \`make bench\`$([[ $QUICK == 1 ]] && echo ' in QUICK mode: 1 round, short runs; for development only'))"
  echo "- **Peers:** nginx $( (/usr/sbin/nginx -v 2>&1 || nginx -v 2>&1) | sed -n "s|.*nginx/\([^ ]*\).*|\1|p"), claude-code-router $(sed -n 's/^CCR_VERSION="${CCR_VERSION:-\(.*\)}"/\1/p' bench/peers/install.sh), LiteLLM $(sed -n 's/^LITELLM_VERSION="${LITELLM_VERSION:-\(.*\)}"/\1/p' bench/peers/install.sh), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), Node $(node --version 2>/dev/null), $("$ROOT"/bench/peers/litellm-venv/bin/python --version 2>&1)"
  echo "- **Sub-commands** (run by bench/run.sh): \`bench/peers/install.sh\`; \`.venv/bin/python bench/peers.py --bin-dir ${BIN#"$ROOT"/} --work $WORK/peers --out $WORK/peers.md$([[ $QUICK == 1 ]] && echo ' --quick')\`; \`.venv/bin/python bench/soak.py --bin-dir ${BIN#"$ROOT"/} --out $WORK/soak.md$([[ $QUICK == 1 ]] && echo ' --quick')\`; \`.venv/bin/python bench/soak.py --bin-dir ${BIN#"$ROOT"/} --out $WORK/longsoak.md --duration $LONGSOAK_SECS$([[ $QUICK == 1 ]] && echo ' --quick')\`; \`switchyard-bench all${SUITE_ARGS[*]:+ ${SUITE_ARGS[*]}}${*:+ $*}\`; \`switchyard-bench team${TEAM_ARGS[*]:+ ${TEAM_ARGS[*]}}\`"
  echo
  cat "$WORK/peers.md"
  echo
  cat "$WORK/soak.md"
  echo
  if reused longsoak; then
    sed -n '1p' "$WORK/longsoak.md"
    echo
    echo "_This part's report is from an earlier run ($(date -u -r "$WORK/longsoak.md" '+%Y-%m-%d %H:%M UTC'), kept with \`BENCH_REUSE=longsoak\`); everything else is from this run._"
    sed '1d' "$WORK/longsoak.md"
  else
    cat "$WORK/longsoak.md"
  fi
  echo
  echo "## Fuzzing"
  echo
  if [[ -s bench/FUZZ.md ]]; then
    # Demote its headings by one level so that they sit under this section.
    sed 's/^#/##/' bench/FUZZ.md
  else
    echo "bench/FUZZ.md is not present in this tree: no fuzzing figures to include."
  fi
  echo
  echo "## Engine detail: Switchyard vs a bare axum + reqwest floor (\`switchyard-bench all\`)"
  echo
  # Drop the suite's title and first paragraph; demote its headings.
  sed '1,/^- \*\*Suite:\*\*/d' "$WORK/suite.md" | sed 's/^## /### /'
  echo
  cat "$WORK/team.md"
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"

echo
cat "$WORK/report.md"
echo "== wrote $OUT (raw figures: $WORK/raw.json, $WORK/peers.json, $WORK/soak/soak.json, $WORK/longsoak/soak.json)"
