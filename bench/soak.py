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

    bench/soak.py --bin-dir target/release --out soak.md [--requests 10000] [QUICK=1]
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


class Sampler(threading.Thread):
    """VmRSS of one process every second."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.stop_flag, self.samples = pid, threading.Event(), []

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.stop_flag.is_set():
            self.samples.append((time.monotonic() - t0, L.status_kb(self.pid, "VmRSS")))
            self.stop_flag.wait(1.0)


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
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=3600)
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


async def drive(url: str, n: int, conc: int) -> dict:
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
    res = {"ok": 0, "ok_stream": 0, "ok_json": 0, "wrong_tag": 0, "bad_content": 0, "errors": Counter(), "first_errors": []}

    async def one(i: int) -> None:
        tag = f"claude-soak-{i:05d}"
        kw = dict(model=tag, max_tokens=64, messages=[{"role": "user", "content": f"soak request {tag}"}])
        async with sem:
            try:
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
    await asyncio.gather(*(one(i) for i in range(n)))
    res["elapsed_s"] = time.monotonic() - t0
    res["duplicated"] = sum(c - 1 for c in seen.values() if c > 1)
    res["answered"] = sum(seen.values())
    res["lost"] = n - res["answered"] - sum(res["errors"].values())
    await client.close()
    return res


def quarters(samples: list[tuple[float, int]]) -> list[int]:
    """RSS (KiB) at the samples nearest 25, 50, 75 and 100 % of the sampled time."""
    if not samples:
        return [0, 0, 0, 0]
    t0, t1 = samples[0][0], samples[-1][0]
    out = []
    for q in (0.25, 0.5, 0.75, 1.0):
        t = t0 + (t1 - t0) * q
        out.append(min(samples, key=lambda s: abs(s[0] - t))[1])
    return out


def slope_kib_per_min(samples: list[tuple[float, int]]) -> float:
    half = samples[len(samples) // 2 :]
    if len(half) < 2:
        return 0.0
    xs, ys = [t for t, _ in half], [kb for _, kb in half]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return (sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 60) if den else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=L.ROOT / "target" / "bench" / "soak")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--phase-secs", type=float, default=1.5)
    ap.add_argument("--quick", action="store_true", default=os.environ.get("QUICK") == "1")
    args = ap.parse_args()
    # SIGTERM (run.sh's timeout or cleanup) unwinds through the `finally` that stops our children.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.quick:
        args.requests = min(args.requests, 1000)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
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
            [str(args.bin_dir / "switchyard-bench"), "notices", "--url", sy.url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        sampler = Sampler(sy.pid)
        sampler.start()
        flapper = Flapper(primary.url, args.phase_secs)
        flapper.start()
        log(f"{args.requests} requests, {args.concurrency} concurrent, primary flapping every {args.phase_secs}s")
        cpu0 = L.cpu_seconds(sy.pid)
        res = asyncio.run(drive(sy.url, args.requests, args.concurrency))
        cpu = L.cpu_seconds(sy.pid) - cpu0
        flapper.stop_flag.set()
        flapper.join()
        time.sleep(1.5)  # trailing events and one more memory sample
        sampler.stop_flag.set()
        sampler.join()
        n_out, n_err = notices.communicate(input="", timeout=15)
        if notices.returncode != 0:
            raise RuntimeError(f"switchyard-bench notices failed: {n_err.strip()}")
        notified = json.loads(n_out)
        stats = {n: json.loads(L.http("GET", p.url + "/__mock/stats")[1]) for n, p in (("primary", primary), ("backup", backup))}
        hwm = L.status_kb(sy.pid, "VmHWM")
    finally:
        for p in (sy, primary, backup):
            if p is not None:
                p.stop()
    rss = [kb for _, kb in sampler.samples]
    phases = Counter(name for _, name in flapper.switches)
    failures = sum(res["errors"].values()) + res["wrong_tag"] + res["bad_content"] + res["duplicated"] + res["lost"]
    dur = res["elapsed_s"]
    md = [
        "## Chaos soak (`bench/soak.py`)",
        "",
        f"{args.requests} requests ({args.requests // 2} streaming, read with the official Anthropic Python SDK's accumulator: `messages.stream()` → `get_final_message()`; the rest `messages.create()`), {args.concurrency} concurrent, through one Switchyard (release build) with two providers: *primary* (a mock that flaps) and *backup* (a healthy mock). The primary's reply changed every {args.phase_secs} s in the cycle healthy → 429 (`retry-after: 1`) → healthy → 500 → healthy → 503 → healthy → 529 ({len(flapper.switches)} switches: {', '.join(f'{k} ×{v}' for k, v in sorted(phases.items()))}). SDK retries off (`max_retries=0`): every failover is Switchyard's. Each request's model is a unique tag (`claude-soak-NNNNN`) that the mock echoes; an answer counts as correct only with its own tag, the expected text and `end_turn`.",
        "",
        "| measure | result |",
        "|:--|---:|",
        f"| requests sent | {args.requests} |",
        f"| correct answers (own tag, full text, end_turn) | **{res['ok']}** ({res['ok_json']} JSON + {res['ok_stream']} streams) |",
        f"| lost (no answer, no error) | **{res['lost']}** |",
        f"| duplicated (a tag answered twice) | **{res['duplicated']}** |",
        f"| wrong tag (someone else's answer) | **{res['wrong_tag']}** |",
        f"| wrong content / stop reason | **{res['bad_content']}** |",
        f"| client errors (incl. malformed streams) | **{sum(res['errors'].values())}** {dict(res['errors']) or ''} |",
        f"| took | {dur:.1f} s ({args.requests / dur:.0f} req/s; the Python client is the bottleneck) |",
        f"| Switchyard CPU | {cpu:.2f} s ({cpu / args.requests * 1e6:.0f} µs per request) |",
        f"| upstream requests: primary / backup | {stats['primary'].get('requests')} / {stats['backup'].get('requests')} |",
        f"| Switchyard RSS: start / peak (sampled) / end; VmHWM | {rss[0] / 1024:.1f} / {max(rss) / 1024:.1f} / {rss[-1] / 1024:.1f} MiB; {hwm / 1024:.1f} MiB |",
        f"| Switchyard RSS at 25 / 50 / 75 / 100 % of the run | {' / '.join(f'{kb / 1024:.1f}' for kb in quarters(sampler.samples))} MiB |",
        f"| RSS slope over the second half ({len(rss) - len(rss) // 2} samples, 1 s apart) | {slope_kib_per_min(sampler.samples):+.0f} KiB/min |",
        f"| events on /api/events | {', '.join(f'{k} {v}' for k, v in sorted(events.counts.items())) or 'none'}{' (error: ' + events.error + ')' if events.error else ''} |",
        "",
        f"Desktop notifications: `switchyard-bench notices` applied the tray app's own policy (`switchyard_core::notify_policy`: one notification per kind per `notifications.min_interval_secs` = {notified['min_interval_secs']} s) to the live event stream for {notified['seconds']:.0f} s: it admitted {', '.join(f'{k} {v}' for k, v in sorted(notified['notifications'].items())) or 'none'} notification(s) for {', '.join(f'{k} {v}' for k, v in sorted(notified['events'].items()) if k in ('failover', 'recovered', 'all_down', 'key_problem', 'budget_exceeded')) or 'no'} event(s).",
        "",
        f"**Verdict:** {'0 lost, 0 duplicated, 0 malformed, 0 errors' if failures == 0 else f'{failures} FAILED requests (see above)'}.",
    ]
    if res["first_errors"]:
        md += ["", "First errors:", ""] + [f"- `{e}`" for e in res["first_errors"]]
    args.out.write_text("\n".join(md) + "\n")
    (work / "soak.json").write_text(json.dumps({"res": {k: (dict(v) if isinstance(v, Counter) else v) for k, v in res.items()}, "rss": sampler.samples, "events": dict(events.counts), "notices": notified, "switches": flapper.switches}, indent=1))
    log(f"ok {res['ok']} / {args.requests}, failures {failures}; wrote {args.out}")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
