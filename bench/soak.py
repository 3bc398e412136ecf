#!/usr/bin/env python3
"""Chaos soak: many tagged requests through Switchyard while its primary upstream flaps.

Two switchyard-mock processes are the providers (primary first, backup second). A scheduler
switches the primary's default reply between healthy, 429 (retry-after 1) and 5xx every
--phase-secs through the mock's control API (`PUT /__mock/default`). Meanwhile --requests
requests (every other one streaming) go through Switchyard with the official Anthropic Python
SDK, --concurrency at a time. Every request carries a unique model name (`claude-soak-NNNNN`)
that the mock echoes in its answer, and the same tag in the user message; an answer must carry
its own tag exactly once. Streams are read with the SDK's stream accumulator
(`messages.stream()` → `get_final_message()`), which raises on a malformed stream. Switchyard's
RSS is sampled every second, and /api/events is subscribed to count failover/recovered events;
`switchyard-bench notices` applies the tray app's own notification policy
(`switchyard_core::notify_policy`) to the same live events to count the notifications a user
would have seen.

Memory: RSS is sampled with the count of finished requests, and the report judges whether it
stayed flat after warm-up (the first WARMUP share of the requests): RSS at the end against RSS
after warm-up, and the least-squares trend over the samples after warm-up, each at most
FLAT_LIMIT_KIB. A leak shows as "no".

With --duration the soak is bounded by time instead of a request count: requests start at a
steady --rate (a moderate one by default, so the soak itself uses little CPU) with the same
flapping primary, and every --cancel-every-th one is a stream the client hangs up on after its
first event (the connection is cut mid-answer). RSS is sampled every --sample-secs.

    bench/soak.py --bin-dir target/release --out soak.md [--requests 10000] [QUICK=1]
    bench/soak.py --bin-dir target/release --out longsoak.md --duration 3600 [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers_lib as L  # noqa: E402

TEXT = "Hello from the soak"
# Warm-up: the first 20 % of the requests (connection pools, allocator arenas, the recent-request
# log filling up). After it, RSS counts as flat when neither the end nor the trend is more than
# FLAT_LIMIT_KIB above it.
WARMUP = 0.2
FLAT_LIMIT_KIB = 2048
SCHEDULE = [
    ("healthy", {"body": {"type": "message", "text": TEXT}}),
    ("429", {"status": 429, "headers": [["retry-after", "1"]], "body": {"type": "error", "message": "soak: rate limited"}}),
    ("healthy", {"body": {"type": "message", "text": TEXT}}),
    ("500", {"status": 500, "body": {"type": "error", "message": "soak: internal error"}}),
    ("healthy", {"body": {"type": "message", "text": TEXT}}),
    ("503", {"status": 503, "body": {"type": "error", "message": "soak: unavailable"}}),
    ("healthy", {"body": {"type": "message", "text": TEXT}}),
    ("529", {"status": 529, "body": {"type": "error", "error_type": "overloaded_error", "message": "soak: overloaded"}}),
]


def log(msg: str) -> None:
    print(f"[soak] {msg}", file=sys.stderr, flush=True)


class Flapper(threading.Thread):
    """Cycles the primary mock through SCHEDULE until stopped; records each switch."""

    def __init__(self, mock_url: str, phase_secs: float):
        super().__init__(daemon=True)
        self.url, self.phase, self.stop_flag = mock_url, phase_secs, threading.Event()
        self.switches: list[tuple[float, str]] = []

    def run(self) -> None:
        i = 0
        while not self.stop_flag.is_set():
            name, reply = SCHEDULE[i % len(SCHEDULE)]
            st, _ = L.http("PUT", self.url + "/__mock/default", reply)
            if st == 200:
                self.switches.append((time.monotonic(), name))
            i += 1
            self.stop_flag.wait(self.phase)


class Progress:
    """Finished requests so far (written by the driver, read by the sampler)."""

    done = 0


class Sampler(threading.Thread):
    """VmRSS of one process every `every` seconds, with the requests finished by then."""

    def __init__(self, pid: int, progress: Progress, every: float):
        super().__init__(daemon=True)
        self.pid, self.progress, self.every = pid, progress, every
        self.stop_flag, self.samples, self.t0 = threading.Event(), [], time.monotonic()

    def sample(self) -> None:
        self.samples.append((time.monotonic() - self.t0, L.status_kb(self.pid, "VmRSS"), self.progress.done))

    def run(self) -> None:
        while not self.stop_flag.is_set():
            self.sample()
            self.stop_flag.wait(self.every)


class Events(threading.Thread):
    """Reads Switchyard's /api/events SSE stream and counts events by name."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.counts: Counter = Counter()
        self.times: dict[str, list[float]] = {}
        self.ready = threading.Event()
        self.error = None
        self.conn = None

    def run(self) -> None:
        try:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
            self.conn.request("GET", "/api/events", headers={"accept": "text/event-stream"})
            resp = self.conn.getresponse()
            if resp.status != 200:
                self.error = f"/api/events: {resp.status}"
                self.ready.set()
                return
            self.ready.set()
            name = None
            for raw in resp:
                line = raw.decode(errors="replace").rstrip("\r\n")
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line == "" and name:
                    self.counts[name] += 1
                    self.times.setdefault(name, []).append(time.monotonic())
                    name = None
        except (OSError, http.client.HTTPException) as e:
            if self.error is None and not isinstance(e, (ConnectionError, AttributeError)):
                self.error = str(e)
            self.ready.set()


async def drive(url: str, n: int, conc: int, progress: Progress, duration: float = 0, rate: float = 0, cancel_every: int = 0) -> dict:
    """n requests as fast as conc allows; or, with duration, requests started at a steady rate
    until duration seconds have passed. Every cancel_every-th (if set) is a stream the client
    abandons after its first event."""
    import anthropic

    try:  # the SDK's HTTP library: httpx, or its successor httpx2 in newer SDKs
        import httpx2 as httpx
    except ImportError:
        import httpx

    client = anthropic.AsyncAnthropic(
        base_url=url,
        api_key="soak",
        max_retries=0,
        timeout=60.0,
        http_client=anthropic.DefaultAsyncHttpxClient(limits=httpx.Limits(max_connections=conc, max_keepalive_connections=conc)),
    )
    sem = asyncio.Semaphore(conc)
    seen: Counter = Counter()
    res = {"ok": 0, "ok_stream": 0, "ok_json": 0, "cancelled": 0, "wrong_tag": 0, "bad_content": 0, "errors": Counter(), "first_errors": []}

    async def one(i: int) -> None:
        try:
            await one_inner(i)
        finally:
            progress.done += 1

    async def one_inner(i: int) -> None:
        tag = f"claude-soak-{i:05d}"
        kw = dict(model=tag, max_tokens=64, messages=[{"role": "user", "content": f"soak request {tag}"}])
        async with sem:
            try:
                if cancel_every and i % cancel_every == cancel_every - 1:
                    # Hang up after the first event: leaving the block closes the response
                    # unread, which closes its connection.
                    async with client.messages.stream(**kw) as s:
                        async for _ in s:
                            break
                    res["cancelled"] += 1
                    return
                if i % 2:
                    async with client.messages.stream(**kw) as s:
                        async for _ in s:
                            pass
                        msg = await s.get_final_message()
                    kind = "ok_stream"
                else:
                    msg = await client.messages.create(**kw)
                    kind = "ok_json"
            except Exception as e:  # every failure is counted and reported by type
                key = type(e).__name__
                res["errors"][key] += 1
                if len(res["first_errors"]) < 5:
                    res["first_errors"].append(f"#{i} {key}: {str(e)[:200]}")
                return
        seen[msg.model] += 1
        text = "".join(b.text for b in msg.content if b.type == "text")
        if msg.model != tag:
            res["wrong_tag"] += 1
        elif text != TEXT or msg.stop_reason != "end_turn":
            res["bad_content"] += 1
        else:
            res["ok"] += 1
            res[kind] += 1

    t0 = time.monotonic()
    if duration:
        tasks: set = set()
        n = 0
        while True:
            now = time.monotonic()
            if now - t0 >= duration:
                break
            start = t0 + n / rate
            if start > now:
                await asyncio.sleep(start - now)
                continue
            task = asyncio.create_task(one(n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
        await asyncio.gather(*tasks)
    else:
        await asyncio.gather(*(one(i) for i in range(n)))
    res["elapsed_s"] = time.monotonic() - t0
    res["sent"] = n
    res["duplicated"] = sum(c - 1 for c in seen.values() if c > 1)
    res["answered"] = sum(seen.values())
    res["lost"] = n - res["answered"] - res["cancelled"] - sum(res["errors"].values())
    await client.close()
    return res


def lsq_slope(xs: list[float], ys: list[float]) -> float:
    if len(xs) < 2:
        return 0.0
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def memory(samples: list[tuple[float, int, int]]) -> dict:
    """RSS after warm-up (the first sample once WARMUP of the requests are done) against the
    end (the last sample, taken after the last request), growth per 1,000 requests and per
    10 minutes, the least-squares trend over the samples after warm-up, and the verdict."""
    total = samples[-1][2]
    warm = next(i for i, s in enumerate(samples) if s[2] >= WARMUP * total)
    after = samples[warm:]
    (t_w, kb_w, n_w), (t_e, kb_e, n_e) = after[0], after[-1]
    growth = kb_e - kb_w
    per_req = lsq_slope([n for _, _, n in after], [kb for _, kb, _ in after])  # KiB per request
    per_sec = lsq_slope([t for t, _, _ in after], [kb for _, kb, _ in after])  # KiB per second
    trend = per_req * (n_e - n_w)
    return {
        "warm_index": warm,
        "warm_t": t_w,
        "warm_requests": n_w,
        "warm_kib": kb_w,
        "end_t": t_e,
        "end_kib": kb_e,
        "growth_kib": growth,
        "growth_per_1000_kib": growth / (n_e - n_w) * 1000 if n_e > n_w else 0.0,
        "growth_per_10min_kib": growth / (t_e - t_w) * 600 if t_e > t_w else 0.0,
        "trend_per_1000_kib": per_req * 1000,
        "trend_per_10min_kib": per_sec * 600,
        "trend_kib": trend,
        "samples_after": len(after),
        "flat": growth <= FLAT_LIMIT_KIB and trend <= FLAT_LIMIT_KIB,
    }


def timeline(samples: list[tuple[float, int, int]], rows: int = 10) -> list[tuple[float, int, int]]:
    """The samples nearest 0, 1/rows, ..., 100 % of the sampled time."""
    t0, t1 = samples[0][0], samples[-1][0]
    picked = []
    for k in range(rows + 1):
        t = t0 + (t1 - t0) * k / rows
        s = min(samples, key=lambda s: abs(s[0] - t))
        if s not in picked:
            picked.append(s)
    return picked


def mib(kb: float) -> str:
    return f"{kb / 1024:.1f}"


def clock(secs: float) -> str:
    return f"{int(secs) // 60}:{int(secs) % 60:02d}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=L.ROOT / "target" / "bench" / "soak")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--duration", type=float, default=0, help="seconds; bounds the soak by time instead of --requests")
    ap.add_argument("--rate", type=float, default=20, help="requests started per second with --duration")
    ap.add_argument("--concurrency", type=int, help="at most this many in flight (default 64; 16 with --duration)")
    ap.add_argument("--cancel-every", type=int, help="every Nth request is a stream cut after its first event (default 0; 10 with --duration)")
    ap.add_argument("--sample-secs", type=float, help="RSS sampling interval (default 1; 30 with --duration)")
    ap.add_argument("--phase-secs", type=float, default=1.5)
    ap.add_argument("--quick", action="store_true", default=os.environ.get("QUICK") == "1")
    args = ap.parse_args()
    # SIGTERM (run.sh's timeout or cleanup) unwinds through the `finally` that stops our children.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    timed = args.duration > 0
    if args.concurrency is None:
        args.concurrency = 16 if timed else 64
    if args.cancel_every is None:
        args.cancel_every = 10 if timed else 0
    if args.sample_secs is None:
        args.sample_secs = 30.0 if timed else 1.0
    if args.quick:
        args.requests = min(args.requests, 1000)
        if timed:
            args.duration, args.sample_secs = min(args.duration, 120), min(args.sample_secs, 5)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    import anthropic  # noqa: F401  (imported before the clock starts: it takes seconds)

    primary = L.start_mock(args.bin_dir, work, "soak-primary", ["--max-recorded", "0", "--default-text", TEXT])
    backup = L.start_mock(args.bin_dir, work, "soak-backup", ["--max-recorded", "0", "--default-text", TEXT])
    sy = None
    try:
        cfg = (
            'listen = "127.0.0.1:0"\n\n[health]\nprobe_interval_secs = 0\n\n'
            f'[[providers]]\nid = "primary"\nbase_url = "{primary.url}"\ncredential = "none"\n\n'
            f'[[providers]]\nid = "backup"\nbase_url = "{backup.url}"\ncredential = "none"\n'
        )
        sy = L.start_switchyard(args.bin_dir, work, "soak-switchyard", cfg)
        events = Events(sy.url)
        events.start()
        events.ready.wait(5)
        notices = subprocess.Popen(
            [str(args.bin_dir / "switchyard-bench"), "notices", "--url", sy.url, "--max-secs", str(int(args.duration) + 900 if timed else 600)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        progress = Progress()
        sampler = Sampler(sy.pid, progress, args.sample_secs)
        sampler.start()
        flapper = Flapper(primary.url, args.phase_secs)
        flapper.start()
        if timed:
            log(f"{args.duration:.0f} s at {args.rate:g} req/s, at most {args.concurrency} in flight, every {args.cancel_every or 'no'}th cut, primary flapping every {args.phase_secs}s, RSS every {args.sample_secs:g}s")
        else:
            log(f"{args.requests} requests, {args.concurrency} concurrent, primary flapping every {args.phase_secs}s")
        cpu0 = L.cpu_seconds(sy.pid)
        res = asyncio.run(drive(sy.url, args.requests, args.concurrency, progress, args.duration, args.rate, args.cancel_every))
        cpu = L.cpu_seconds(sy.pid) - cpu0
        flapper.stop_flag.set()
        flapper.join()
        time.sleep(1.5)  # trailing events
        sampler.stop_flag.set()
        sampler.join()
        sampler.sample()  # the end: after the last request
        n_out, n_err = notices.communicate(input="", timeout=15)
        if notices.returncode != 0:
            raise RuntimeError(f"switchyard-bench notices failed: {n_err.strip()}")
        notified = json.loads(n_out)
        stats = {n: json.loads(L.http("GET", p.url + "/__mock/stats")[1]) for n, p in (("primary", primary), ("backup", backup))}
        hwm = L.status_kb(sy.pid, "VmHWM")
        # Cut streams Switchyard saw cut: the rest were complete before the client hung up.
        cut_seen = sy.log.read_text(errors="replace").count('error="client closed the connection"')
    finally:
        for p in (sy, primary, backup):
            if p is not None:
                p.stop()
    n = res["sent"]
    rss = [kb for _, kb, _ in sampler.samples]
    mem = memory(sampler.samples)
    phases = Counter(name for _, name in flapper.switches)
    per_10min = lambda kib: f", {kib:+.0f} KiB per 10 min" if timed else ""  # noqa: E731
    failures = sum(res["errors"].values()) + res["wrong_tag"] + res["bad_content"] + res["duplicated"] + res["lost"]
    dur = res["elapsed_s"]
    flapping = f"The primary's reply changed every {args.phase_secs} s in the cycle healthy → 429 (`retry-after: 1`) → healthy → 500 → healthy → 503 → healthy → 529 ({len(flapper.switches)} switches: {', '.join(f'{k} ×{v}' for k, v in sorted(phases.items()))}). SDK retries off (`max_retries=0`): every failover is Switchyard's. Each request's model is a unique tag (`claude-soak-NNNNN`) that the mock echoes; an answer counts as correct only with its own tag, the expected text and `end_turn`."
    if timed:
        answered = n - res["cancelled"]
        md = [
            f"## Long chaos soak (`bench/soak.py --duration {args.duration:.0f}`)",
            "",
            f"{f'{args.duration / 60:.0f} minutes' if args.duration >= 120 else f'{args.duration:.0f} s'} of requests started at a steady {args.rate:g} per second (at most {args.concurrency} in flight; a moderate rate, so that the soak itself uses little CPU), through one Switchyard (release build) with the same two providers and the same chaos as the 10,000-request soak: *primary* (a mock that flaps) and *backup* (a healthy mock). Every other request streams (official Anthropic Python SDK, `messages.stream()` → `get_final_message()`); every {args.cancel_every}th is a stream the client hangs up on after its first event, closing its connection (the mock's answer is short, so most of these are already complete when it does; Switchyard's request log tells the ones it saw cut). {flapping} RSS sampled every {args.sample_secs:g} s.",
            "",
            "| measure | result |",
            "|:--|---:|",
            f"| requests sent | {n} ({n / dur:.1f} req/s over {dur / 60:.1f} min) |",
            f"| correct answers (own tag, full text, end_turn) | **{res['ok']}** of {answered} not cut ({res['ok_json']} JSON + {res['ok_stream']} streams) |",
            f"| streams the client hung up on after the first event | {res['cancelled']} ({cut_seen} still being relayed: \"client closed the connection\" in Switchyard's log) |",
        ]
    else:
        md = [
            "## Chaos soak (`bench/soak.py`)",
            "",
            f"{n} requests ({n // 2} streaming, read with the official Anthropic Python SDK's accumulator: `messages.stream()` → `get_final_message()`; the rest `messages.create()`), {args.concurrency} concurrent, through one Switchyard (release build) with two providers: *primary* (a mock that flaps) and *backup* (a healthy mock). {flapping}",
            "",
            "| measure | result |",
            "|:--|---:|",
            f"| requests sent | {n} |",
            f"| correct answers (own tag, full text, end_turn) | **{res['ok']}** ({res['ok_json']} JSON + {res['ok_stream']} streams) |",
        ]
    md += [
        f"| lost (no answer, no error) | **{res['lost']}** |",
        f"| duplicated (a tag answered twice) | **{res['duplicated']}** |",
        f"| wrong tag (someone else's answer) | **{res['wrong_tag']}** |",
        f"| wrong content / stop reason | **{res['bad_content']}** |",
        f"| client errors (incl. malformed streams) | **{sum(res['errors'].values())}** {dict(res['errors']) or ''} |",
    ]
    if not timed:
        md.append(f"| took | {dur:.1f} s ({n / dur:.0f} req/s; the Python client is the bottleneck) |")
    md += [
        f"| Switchyard CPU | {cpu:.2f} s ({cpu / n * 1e6:.0f} µs per request{f'; {cpu / dur * 100:.1f} % of one core' if timed else ''}) |",
        f"| upstream requests: primary / backup | {stats['primary'].get('requests')} / {stats['backup'].get('requests')} |",
        f"| events on /api/events | {', '.join(f'{k} {v}' for k, v in sorted(events.counts.items())) or 'none'}{' (error: ' + events.error + ')' if events.error else ''} |",
        f"| Switchyard RSS: start / peak (sampled) / end; VmHWM | {mib(rss[0])} / {mib(max(rss))} / {mib(rss[-1])} MiB; {mib(hwm)} MiB |",
        f"| RSS after warm-up (first {WARMUP:.0%} of the requests: {mem['warm_requests']} done, at {clock(mem['warm_t'])}) → at the end ({clock(mem['end_t'])}) | {mib(mem['warm_kib'])} → {mib(mem['end_kib'])} MiB |",
        f"| growth after warm-up: end − after warm-up | {mem['growth_kib']:+d} KiB ({mem['growth_per_1000_kib']:+.1f} KiB per 1,000 requests{per_10min(mem['growth_per_10min_kib'])}) |",
        f"| least-squares trend after warm-up ({mem['samples_after']} samples) | {mem['trend_per_1000_kib']:+.1f} KiB per 1,000 requests{per_10min(mem['trend_per_10min_kib'])} ({mem['trend_kib']:+.0f} KiB over the span) |",
        f"| **RSS flat after warm-up?** (end and trend each ≤ {FLAT_LIMIT_KIB // 1024} MiB above it) | **{'yes' if mem['flat'] else 'NO'}** |",
        "",
        "RSS over time (VmRSS from `/proc/PID/status`):",
        "",
        "| time (m:ss) | requests done | RSS (MiB) |",
        "|--:|--:|--:|",
    ]
    md += [f"| {clock(t)} | {done} | {mib(kb)} |" for t, kb, done in timeline(sampler.samples)]
    md += [
        "",
        f"Desktop notifications: `switchyard-bench notices` applied the tray app's own policy (`switchyard_core::notify_policy`: one notification per kind per `notifications.min_interval_secs` = {notified['min_interval_secs']} s) to the live event stream for {notified['seconds']:.0f} s: it admitted {', '.join(f'{k} {v}' for k, v in sorted(notified['notifications'].items())) or 'none'} notification(s) for {', '.join(f'{k} {v}' for k, v in sorted(notified['events'].items()) if k in ('failover', 'recovered', 'all_down', 'key_problem', 'budget_exceeded')) or 'no'} event(s).",
        "",
        f"**Verdict:** {'0 lost, 0 duplicated, 0 malformed, 0 errors' if failures == 0 else f'{failures} FAILED requests (see above)'}; RSS {'flat' if mem['flat'] else 'NOT flat'} after warm-up ({mem['growth_kib'] / 1024:+.1f} MiB from {mib(mem['warm_kib'])} MiB).",
    ]
    if res["first_errors"]:
        md += ["", "First errors:", ""] + [f"- `{e}`" for e in res["first_errors"]]
    args.out.write_text("\n".join(md) + "\n")
    (work / "soak.json").write_text(json.dumps({"res": {k: (dict(v) if isinstance(v, Counter) else v) for k, v in res.items()}, "rss": sampler.samples, "memory": mem, "events": dict(events.counts), "notices": notified, "switches": flapper.switches}, indent=1))
    log(f"ok {res['ok']} / {n}, failures {failures}, RSS {'flat' if mem['flat'] else 'NOT flat'} ({mib(mem['warm_kib'])} -> {mib(mem['end_kib'])} MiB); wrote {args.out}")
    return 0 if failures == 0 and mem["flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
