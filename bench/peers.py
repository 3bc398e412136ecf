#!/usr/bin/env python3
"""Side-by-side benchmark: direct to the mock, nginx, Switchyard, claude-code-router and LiteLLM.

Every system forwards the same Anthropic /v1/messages request to the same switchyard-mock
process: passthrough to its Anthropic face, and (translation table) to its OpenAI face.
Non-streaming latency and throughput come from wrk (bench/peers/post.lua); streaming
first-byte and inter-chunk figures from `switchyard-bench latency --stream`. CPU time is the
utime+stime delta of each system's whole process tree (/proc/PID/stat) over its runs; memory is
VmHWM summed over the tree. Rounds rotate the order; tables show medians over rounds.

    bench/peers.py --bin-dir target/release --work target/bench/peers --out peers.md
    QUICK=1 bench/peers.py ...      # a short smoke run (1 round, 1 s runs)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers_lib as L  # noqa: E402
import peers_report  # noqa: E402

CONCS = [1, 16, 64, 256]
STREAM_CONCS = [1, 16]
LATENCIES = [0, 50]
STREAM_DELTAS = 64
STREAM_GAP_MS = 20
SHORT_TEXT = "Hello from mock"
# Idle time after the 256-connection burst before its memory is read.
BURST_IDLE_S = 5

PASS = ["direct", "nginx", "switchyard", "ccr", "litellm"]
TRANS = ["switchyard-openai", "ccr-openai", "litellm-openai"]
LABEL = {
    "direct": "direct (mock)",
    "nginx": "nginx",
    "switchyard": "Switchyard",
    "ccr": "claude-code-router",
    "litellm": "LiteLLM",
    "switchyard-openai": "Switchyard → OpenAI face",
    "ccr-openai": "claude-code-router → OpenAI face",
    "litellm-openai": "LiteLLM → OpenAI face",
}


def log(msg: str) -> None:
    print(f"[peers] {msg}", file=sys.stderr, flush=True)


def set_default(mock: L.Proc, latency_ms: int, stream: bool) -> None:
    if stream:
        text = " ".join(f"w{i}" for i in range(STREAM_DELTAS))
        body = {"type": "message", "text": text, "chunk_delay_ms": STREAM_GAP_MS}
    else:
        body = {"type": "message", "text": SHORT_TEXT}
    st, b = L.http("PUT", mock.url + "/__mock/default", {"delay_ms": latency_ms, "body": body})
    if st != 200:
        raise RuntimeError(f"mock default: {st} {b[:200]!r}")


def check(system: str, p: L.Proc, stream: bool) -> None:
    """One request must come back as a proper Anthropic answer before a system is measured."""
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hello"}]}
    if stream:
        body["stream"] = True
    st, b = L.http("POST", p.url + "/v1/messages", body, {"x-api-key": "bench", "anthropic-version": "2023-06-01"}, timeout=30)
    ok = st == 200 and (b"content_block_delta" in b and b"message_stop" in b if stream else b'"type":"message"' in b.replace(b" ", b""))
    if not ok:
        raise RuntimeError(f"{system}: sanity request failed ({'stream' if stream else 'json'}): {st} {b[:400]!r}")


def wrk(url: str, conc: int, secs: int, lua: Path) -> dict:
    threads = 1 if conc == 1 else 2
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(conc), "-d", f"{secs}s", "--timeout", "10s", "--latency", "-s", str(lua), url],
        capture_output=True,
        text=True,
        timeout=secs + 60,
    )
    for line in out.stdout.splitlines():
        if line.startswith("WRKJSON "):
            r = json.loads(line[8:])
            r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
            if r["requests"] == 0:  # nothing finished within the run: no percentiles
                r["p50_us"] = r["p90_us"] = r["p99_us"] = None
            r["errors"] = sum(r[k] for k in ("connect_err", "read_err", "write_err", "timeout_err", "status_err"))
            return r
    raise RuntimeError(f"wrk gave no summary: {out.stdout[-500:]} {out.stderr[-500:]}")


def stream_load(benchbin: Path, url: str, conc: int, n: int) -> dict:
    out = subprocess.run(
        [benchbin, "latency", "--url", url, "--stream", "--concurrency", str(conc), "--requests", str(n), "--warmup", str(conc), "--max-secs", "120"],
        capture_output=True,
        text=True,
        timeout=200,
    )
    if out.returncode != 0:
        raise RuntimeError(f"stream load on {url}: {out.stderr[-500:]}")
    return json.loads(out.stdout)


def stripped_size(binary: Path, work: Path) -> int | None:
    """Size of the binary as shipped: stripped of symbols (`strip`, as the package does)."""
    if not binary.exists() or shutil.which("strip") is None:
        return None
    out = work / (binary.name + ".stripped")
    subprocess.run(["strip", "-o", str(out), str(binary)], check=True)
    return out.stat().st_size


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def start_all(args, mock: L.Proc, work: Path, which: list[str]) -> dict[str, L.Proc]:
    procs: dict[str, L.Proc] = {"direct": mock}
    for s in which:
        if s == "direct":
            continue
        kind = "openai" if s.endswith("-openai") else "anthropic"
        base = s.removesuffix("-openai")
        t0 = time.monotonic()
        if base == "nginx":
            p = L.start_nginx(work, s, mock.url)
        elif base == "switchyard":
            p = L.start_switchyard(args.bin_dir, work, s, L.switchyard_config(mock.url, kind))
        elif base == "ccr":
            p = L.start_ccr(work, s, mock.url, kind)
        else:
            p = L.start_litellm(work, s, mock.url, kind)
        log(f"started {s} at {p.url} (pid {p.pid}) in {time.monotonic() - t0:.1f}s")
        procs[s] = p
    return procs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", type=Path, required=True, help="directory with release switchyard, switchyard-mock, switchyard-bench")
    ap.add_argument("--work", type=Path, default=L.ROOT / "target" / "bench" / "peers")
    ap.add_argument("--out", type=Path, required=True, help="markdown section to write")
    ap.add_argument("--raw", type=Path, help="raw JSON figures")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=2, help="seconds per wrk run")
    ap.add_argument("--stream-n1", type=int, default=3, help="measured streams at 1 connection")
    ap.add_argument("--stream-n16", type=int, default=16, help="measured streams at 16 connections")
    ap.add_argument("--systems", default=",".join(PASS + TRANS))
    ap.add_argument("--quick", action="store_true", default=os.environ.get("QUICK") == "1")
    args = ap.parse_args()
    # SIGTERM (run.sh's timeout or cleanup) unwinds through the `finally` that stops our children.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.quick:
        args.rounds, args.secs, args.stream_n1, args.stream_n16 = 1, 1, 2, 16
    if shutil.which("wrk") is None:
        log("wrk is missing: install the Debian package `wrk` (scripts/setup-test-deps.sh does)")
        return 2
    systems = [s for s in args.systems.split(",") if s]
    if "direct" not in systems:
        systems.insert(0, "direct")
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    lua = L.ROOT / "bench" / "peers" / "post.lua"
    benchbin = args.bin_dir / "switchyard-bench"
    started = time.monotonic()
    mock = L.start_mock(args.bin_dir, work, "mock", ["--max-recorded", "0"])
    procs: dict[str, L.Proc] = {}
    raw: dict = {"runs": [], "streams": [], "memory": {}, "machine": L.machine(), "args": vars(args) | {"bin_dir": str(args.bin_dir), "work": str(work), "out": str(args.out), "raw": str(args.raw)}}
    try:
        procs = start_all(args, mock, work, systems)
        # Right after start, before any request; then again after the sanity requests below.
        time.sleep(1)
        raw["memory_start_kb"] = {s: L.tree_kb(procs[s].pid, "VmRSS") for s in systems}
        set_default(mock, 0, False)
        for s in systems:
            check(s, procs[s], False)
        set_default(mock, 0, True)
        for s in systems:
            check(s, procs[s], True)
        raw["memory_idle_kb"] = {s: L.tree_kb(procs[s].pid, "VmRSS") for s in systems}
        for lat in LATENCIES:
            set_default(mock, lat, False)
            for rnd in range(args.rounds):
                for conc in CONCS:
                    order = systems[rnd % len(systems):] + systems[: rnd % len(systems)]
                    for s in order:
                        c0 = L.cpu_seconds(procs[s].pid)
                        r = wrk(procs[s].url + "/v1/messages", conc, args.secs, lua)
                        r["cpu_s"] = L.cpu_seconds(procs[s].pid) - c0
                        r.update(system=s, latency_ms=lat, round=rnd, conc=conc)
                        raw["runs"].append(r)
                        log(f"lat {lat} ms round {rnd} conc {conc:3} {s:18} {r['rps']:8.0f} req/s p50 {str(r['p50_us']):>7} µs p99 {str(r['p99_us']):>7} µs err {r['errors']}")
            if lat == 0:
                # Every system has just served 256 connections at once: what it holds once
                # idle (5 s: allocators hand freed memory back a moment after it is freed).
                time.sleep(BURST_IDLE_S)
                raw["memory_after_burst_kb"] = {s: L.tree_kb(procs[s].pid, "VmRSS") for s in systems}
            set_default(mock, lat, True)
            for rnd in range(args.rounds):
                for conc in STREAM_CONCS:
                    n = args.stream_n1 if conc == 1 else args.stream_n16
                    order = systems[rnd % len(systems):] + systems[: rnd % len(systems)]
                    for s in order:
                        c0 = L.cpu_seconds(procs[s].pid)
                        try:
                            r = stream_load(benchbin, procs[s].url, conc, n)
                        except (RuntimeError, subprocess.TimeoutExpired) as e:
                            # A system that cannot keep up is a result, not a reason to stop.
                            log(f"stream lat {lat} round {rnd} conc {conc:2} {s}: FAILED: {e}")
                            raw["stream_failures"] = raw.get("stream_failures", []) + [f"{s} lat {lat} conc {conc}: {str(e)[:200]}"]
                            continue
                        cpu = L.cpu_seconds(procs[s].pid) - c0
                        raw["streams"].append({
                            "system": s, "latency_ms": lat, "round": rnd, "conc": conc, "n": n + conc,
                            "cpu_s": cpu, "first_byte": r["first_byte"]["p50"], "first_delta": r["first_delta"]["p50"],
                            "total": r["total"]["p50"], "gap": r["delta_gap"]["p50"], "gap_p99": r["delta_gap"]["p99"],
                            "deltas": r["deltas_per_stream"], "errors": r["errors"],
                        })
                        log(f"stream lat {lat} round {rnd} conc {conc:2} {s:18} ttfb {r['first_byte']['p50']:8.0f} µs gap {r['delta_gap']['p50']:8.0f} µs deltas {r['deltas_per_stream']:.0f} err {r['errors']}")
        for s in systems:
            raw["memory"][s] = {"hwm_kb": L.tree_kb(procs[s].pid, "VmHWM"), "rss_kb": L.tree_kb(procs[s].pid, "VmRSS"), "procs": 1 + len(L.children_of(procs[s].pid))}
    finally:
        for s, p in procs.items():
            if s != "direct":
                p.stop()
        mock.stop()
    raw["took_s"] = time.monotonic() - started
    sy = args.bin_dir / "switchyard"
    raw["binary_bytes"] = stripped_size(sy, work)
    raw["versions"] = {"nginx": L.nginx_version()}
    if args.raw:
        args.raw.write_text(json.dumps(raw, indent=1))
    args.out.write_text(peers_report.render(raw, systems))
    log(f"wrote {args.out} in {raw['took_s']:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
