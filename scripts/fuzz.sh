#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (see fuzz/README.md).
#   scripts/fuzz.sh smoke          each target for SMOKE_SECONDS (default 12 s): `make fuzz-smoke`
#   scripts/fuzz.sh long           each target for FUZZ_SECONDS (default 240 s): `make fuzz`
#   scripts/fuzz.sh long TARGET..  only those targets
# Works on stable Rust: cargo-fuzz needs nightly flags, so RUSTC_BOOTSTRAP=1 unlocks them, and
# no sanitizer is used (`-s none`: the engine forbids unsafe code, so libFuzzer's coverage
# guidance, panics and the invariant checks in switchyard_core::fuzzing are what count).
# Each run starts from the committed seeds in fuzz/corpus/<target>/ and writes what it finds
# to a scratch corpus (fuzz/.work/<target>/, not committed). A crash leaves its input in
# fuzz/artifacts/<target>/ and makes this script fail. Prints one summary line per target.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MODE="${1:-smoke}"
shift || true
# The smoke run (part of `make test`, so of CI) builds unoptimised: it compiles in about half the
# time, and a few seconds per target is about catching regressions on the seeds, not depth.
case "$MODE" in
    smoke) SECONDS_EACH="${SMOKE_SECONDS:-12}"; BUILD=(--dev) ;;
    long) SECONDS_EACH="${FUZZ_SECONDS:-240}"; BUILD=() ;;
    *) echo "usage: scripts/fuzz.sh smoke|long [TARGET...]" >&2; exit 2 ;;
esac
TARGETS=("$@")

CARGO_FUZZ="$ROOT/.tools/bin/cargo-fuzz"
[ -x "$CARGO_FUZZ" ] || CARGO_FUZZ="$(command -v cargo-fuzz || true)"
[ -n "$CARGO_FUZZ" ] || { echo "cargo-fuzz is missing: run scripts/setup-test-deps.sh" >&2; exit 1; }
export RUSTC_BOOTSTRAP=1
# Every target fuzz/Cargo.toml declares, unless some were named.
[ "${#TARGETS[@]}" -gt 0 ] || mapfile -t TARGETS < <("$CARGO_FUZZ" fuzz list)

say() { printf '[fuzz] %s\n' "$*"; }
say "building the targets (cargo fuzz build -s none; the first build takes a few minutes)"
"$CARGO_FUZZ" fuzz build -s none "${BUILD[@]}"

failed=0
summary=()
for t in "${TARGETS[@]}"; do
    work="fuzz/.work/$t"
    mkdir -p "$work" "fuzz/artifacts/$t"
    log="fuzz/.work/$t.log"
    say "$t: ${SECONDS_EACH} s"
    if "$CARGO_FUZZ" fuzz run -s none "${BUILD[@]}" "$t" "$work" "fuzz/corpus/$t" -- \
        -max_total_time="$SECONDS_EACH" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        status=ok
    else
        status=CRASH
        failed=1
        grep -E 'invariant violated|panicked|Test unit written|SUMMARY' "$log" | head -n 20 >&2 || true
    fi
    runs="$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -n 1 || true)"
    cov="$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+' || true)"
    files="$(find "$work" -type f | wc -l)"
    line="$t: $status, ${runs:-?} executions in ${SECONDS_EACH} s, coverage ${cov:-?} edges, corpus $files files"
    summary+=("$line")
    say "$line"
done
say "summary:"
for l in "${summary[@]}"; do say "  $l"; done
exit "$failed"
