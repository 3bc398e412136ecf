"""Markdown tables for bench/peers.py's raw figures (medians over rounds, ratios, targets)."""

from __future__ import annotations

import statistics

CONCS = [1, 16, 64, 256]
LABEL = {
    "direct": "direct (mock)",
    "nginx": "nginx",
    "switchyard": "**Switchyard**",
    "ccr": "claude-code-router",
    "litellm": "LiteLLM",
    "switchyard-openai": "**Switchyard** (openai kind)",
    "ccr-openai": "claude-code-router (OpenAI provider)",
    "litellm-openai": "LiteLLM (openai/ model)",
}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def f(x, nd=0, unit=""):
    if x is None:
        return "–"
    return f"{x:,.{nd}f}{unit}"


def ms(us):
    """µs → a compact string in µs below 10 ms, else ms."""
    if us is None:
        return "–"
    return f"{us:,.0f} µs" if abs(us) < 10000 else f"{us / 1000:,.1f} ms"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    return f"{r:.1f}×" if r < 100 else f"{r:,.0f}×"


def runs(raw, system, lat, conc):
    return [r for r in raw["runs"] if r["system"] == system and r["latency_ms"] == lat and r["conc"] == conc]


def added(raw, system, lat, conc, key):
    """Median over rounds of (system − direct) for the same round."""
    direct = {r["round"]: r for r in runs(raw, "direct", lat, conc)}
    vals = [
        r[key] - direct[r["round"]][key]
        for r in runs(raw, system, lat, conc)
        if r["round"] in direct and r[key] is not None and direct[r["round"]][key] is not None
    ]
    return med(vals)


def throughput(raw, system, lat):
    """(max over concurrencies of the median req/s, at which concurrency)."""
    best = (None, None)
    for c in CONCS:
        v = med([r["rps"] for r in runs(raw, system, lat, c)])
        if v is not None and (best[0] is None or v > best[0]):
            best = (v, c)
    return best


def cpu_per_req(raw, system, lat=0, min_conc=16):
    """CPU µs per request pooled over the runs at >= min_conc connections (saturated CPUs)."""
    rs = [r for r in raw["runs"] if r["system"] == system and r["latency_ms"] == lat and r["conc"] >= min_conc]
    reqs = sum(r["requests"] for r in rs)
    cpu = sum(r["cpu_s"] for r in rs)
    return (cpu / reqs * 1e6) if reqs else None


def cpu_at(raw, system, conc, lat=0):
    """CPU µs per request pooled over the runs at exactly `conc` connections."""
    rs = runs(raw, system, lat, conc)
    reqs = sum(r["requests"] for r in rs)
    return (sum(r["cpu_s"] for r in rs) / reqs * 1e6) if reqs else None


def rps_at(raw, system, conc, lat=0):
    return med([r["rps"] for r in runs(raw, system, lat, conc)])


def versus(raw, system, other, lat, conc, key):
    """Median over rounds of (system − other) for the same round."""
    theirs = {r["round"]: r for r in runs(raw, other, lat, conc)}
    vals = [
        r[key] - theirs[r["round"]][key]
        for r in runs(raw, system, lat, conc)
        if r["round"] in theirs and r[key] is not None and theirs[r["round"]][key] is not None
    ]
    return med(vals)


def errors(raw, system):
    return sum(r["errors"] for r in raw["runs"] if r["system"] == system) + sum(
        s["errors"] for s in raw["streams"] if s["system"] == system
    )


def stream_added(raw, system, lat, conc, key):
    direct = {s["round"]: s for s in raw["streams"] if s["system"] == "direct" and s["latency_ms"] == lat and s["conc"] == conc}
    vals = [
        s[key] - direct[s["round"]][key]
        for s in raw["streams"]
        if s["system"] == system and s["latency_ms"] == lat and s["conc"] == conc and s["round"] in direct
    ]
    return med(vals)


def stream_val(raw, system, lat, conc, key):
    return med([s[key] for s in raw["streams"] if s["system"] == system and s["latency_ms"] == lat and s["conc"] == conc])


def stream_cpu(raw, system):
    ss = [s for s in raw["streams"] if s["system"] == system]
    n = sum(s["n"] for s in ss)
    return sum(s["cpu_s"] for s in ss) / n * 1e6 if n else None


def latency_table(raw, systems, lat):
    out = [
        f"#### Upstream latency {lat} ms: added latency (system − direct, same round; median over rounds)",
        "",
        "– : no request finished within the run (the system could not answer any in time at that load).",
        "",
        "| system | " + " | ".join(f"{c} conn. p50 / p99" for c in CONCS) + " | errors |",
        "|:--|" + "---:|" * len(CONCS) + "---:|",
    ]
    d = ["direct (mock): absolute"]
    for c in CONCS:
        d.append(f"{ms(med([r['p50_us'] for r in runs(raw, 'direct', lat, c)]))} / {ms(med([r['p99_us'] for r in runs(raw, 'direct', lat, c)]))}")
    out.append("| " + " | ".join(d) + f" | {errors(raw, 'direct')} |")
    for s in systems:
        if s == "direct":
            continue
        cells = [f"{ms(added(raw, s, lat, c, 'p50_us'))} / {ms(added(raw, s, lat, c, 'p99_us'))}" for c in CONCS]
        out.append(f"| {LABEL[s]} | " + " | ".join(cells) + f" | {errors(raw, s)} |")
    return out


def cost_table(raw, systems):
    out = [
        "| system | max req/s (at conn.) | CPU µs / request | **requests per CPU-second** | peak RSS (VmHWM, all processes) | processes | CPU µs / stream (64 deltas) |",
        "|:--|---:|---:|---:|---:|---:|---:|",
    ]
    for s in systems:
        tp, at = throughput(raw, s, 0)
        cpu = cpu_per_req(raw, s)
        mem = raw["memory"].get(s, {})
        out.append(
            f"| {LABEL[s]} | {f(tp)} ({at}) | {f(cpu, 1)} | {f(1e6 / cpu if cpu else None)} | "
            f"{f(mem.get('hwm_kb', 0) / 1024, 1)} MiB | {mem.get('procs', '–')} | {f(stream_cpu(raw, s))} |"
        )
    return out


def stream_table(raw, systems):
    out = [
        "| system | upstream | conn. | first byte added (p50) | first delta added (p50) | inter-chunk gap (p50; direct ≈ 20 ms) | gap added | gap p99 | deltas/stream |",
        "|:--|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lats = sorted({s["latency_ms"] for s in raw["streams"]})
    for s in systems:
        for lat in lats:
            for c in (1, 16):
                if stream_val(raw, s, lat, c, "first_byte") is None:
                    continue
                if s == "direct":
                    fb = f"{ms(stream_val(raw, s, lat, c, 'first_byte'))} (absolute)"
                    fd = f"{ms(stream_val(raw, s, lat, c, 'first_delta'))} (absolute)"
                    ga = "–"
                else:
                    fb = ms(stream_added(raw, s, lat, c, "first_byte"))
                    fd = ms(stream_added(raw, s, lat, c, "first_delta"))
                    ga = ms(stream_added(raw, s, lat, c, "gap"))
                out.append(
                    f"| {LABEL[s]} | {lat} ms | {c} | {fb} | {fd} | {ms(stream_val(raw, s, lat, c, 'gap'))} | {ga} | "
                    f"{ms(stream_val(raw, s, lat, c, 'gap_p99'))} | {f(stream_val(raw, s, lat, c, 'deltas'))} |"
                )
    return out


def ratio_table(raw, me, peers):
    tp_me, _ = throughput(raw, me, 0)
    cpu_me = cpu_per_req(raw, me)
    out = [
        f"| {LABEL[me]} vs | max throughput | requests per CPU-second | added p50 at 64 conn. (theirs / ours) | added p99 at 64 conn. (theirs / ours) | streaming first byte added, 1 conn. (theirs / ours) |",
        "|:--|---:|---:|---:|---:|---:|",
    ]
    for p in peers:
        tp, _ = throughput(raw, p, 0)
        cpu = cpu_per_req(raw, p)
        if p == "direct":
            out.append(
                f"| direct (the physical limit) | {ratio(tp_me, tp)} of direct | {ratio(cpu, cpu_me)} of the mock's | – | – | – |"
            )
            continue
        out.append(
            f"| {LABEL[p]} | {ratio(tp_me, tp)} | {ratio(cpu, cpu_me)} | "
            f"{ratio(added(raw, p, 0, 64, 'p50_us'), added(raw, me, 0, 64, 'p50_us'))} | "
            f"{ratio(added(raw, p, 0, 64, 'p99_us'), added(raw, me, 0, 64, 'p99_us'))} | "
            f"{ratio(stream_added(raw, p, 0, 1, 'first_byte'), stream_added(raw, me, 0, 1, 'first_byte'))} |"
        )
    return out


def verdict(raw, systems):
    rows = ["| target | measured | met? |", "|:--|---:|:--:|"]

    def row(name, val, ok):
        rows.append(f"| {name} | {val} | {'–' if ok is None else ('yes' if ok else '**no**')} |")

    if "switchyard" not in systems:
        return rows
    me = "switchyard"
    if "nginx" in systems:
        mine, theirs = cpu_at(raw, me, 64), cpu_at(raw, "nginx", 64)
        r = mine / theirs if mine and theirs else None
        row(
            f"proxy CPU per request at 64 conn. ≤ 2.5× nginx's ({f(mine, 1)} µs vs {f(theirs, 1)} µs)",
            f"{r:.2f}×" if r else "–",
            r is not None and r <= 2.5,
        )
        mine, theirs = rps_at(raw, me, 64), rps_at(raw, "nginx", 64)
        r = mine / theirs if mine and theirs else None
        row(
            f"requests/s at 64 conn. ≥ 0.4× nginx's ({f(mine)} vs {f(theirs)})",
            f"{r:.2f}×" if r else "–",
            r is not None and r >= 0.4,
        )
        d = versus(raw, me, "nginx", 0, 1, "p50_us")
        row("added p50 at 1 conn. ≤ nginx's + 30 µs (median over rounds of the same-round difference)", ms(d), d is not None and d <= 30)
    if "switchyard-openai" in systems:
        mine, base = cpu_at(raw, "switchyard-openai", 64), cpu_at(raw, me, 64)
        r = mine / base if mine and base else None
        row(
            f"translated (openai kind) CPU per request ≤ 1.5× passthrough ({f(mine, 1)} µs vs {f(base, 1)} µs, 64 conn.)",
            f"{r:.2f}×" if r else "–",
            r is not None and r <= 1.5,
        )
    fb = stream_added(raw, me, 0, 1, "first_byte")
    row("streaming first byte added ≤ 150 µs (1 conn., upstream 0 ms, peek included)", ms(fb), fb is not None and fb <= 150)
    start = raw.get("memory_start_kb", {}).get(me)
    if start is not None:
        row("idle RSS right after start ≤ 12 MiB", f"{start / 1024:.1f} MiB", start <= 12 * 1024)
    idle = raw.get("memory_idle_kb", {}).get(me)
    row(
        "idle RSS after start and its first two requests (one streamed) ≤ 12 MiB",
        f"{idle / 1024:.1f} MiB" if idle else "–",
        idle is not None and idle <= 12 * 1024,
    )
    burst = raw.get("memory_after_burst_kb", {}).get(me)
    row("RSS after a 256-connection burst (then 5 s idle) ≤ 16 MiB", f"{burst / 1024:.1f} MiB" if burst else "–", burst is not None and burst <= 16 * 1024)
    size = raw.get("binary_bytes")
    row("release binary (stripped) ≤ 15 MB", f"{size / 1e6:.1f} MB" if size else "–", size is not None and size <= 15e6)
    mine = cpu_per_req(raw, me)
    for peer, want in (("ccr", 10), ("litellm", 30)):
        if peer in systems:
            theirs = cpu_per_req(raw, peer)
            r = theirs / mine if theirs and mine else None
            row(f"≥ {want}× {LABEL[peer]} throughput at equal CPU (requests per CPU-second)", f"{r:.1f}×" if r else "–", r is not None and r >= want)
    return rows


def render(raw, systems) -> str:
    passthrough = [s for s in systems if not s.endswith("-openai")]
    translated = [s for s in systems if s.endswith("-openai")]
    m = raw["machine"]
    md = [
        "## Side by side: direct, nginx, Switchyard, claude-code-router, LiteLLM",
        "",
        f"Took {raw['took_s']:.0f} s; {raw['args']['rounds']} round(s), {raw['args']['secs']} s per wrk run; load average at start {' '.join(m['loadavg'])}.",
        "",
        "### Targets (Switchyard, from the tables below)",
        "",
        *verdict(raw, systems),
        "",
        "For a target that is missed, [bench/PROFILE.md](PROFILE.md) has the CPU profile: where the remaining time goes and why it does not go lower without a different HTTP stack. CPU per request and requests/s are pooled over the rounds at exactly 64 connections; nginx runs one worker per CPU, Switchyard its default (one worker thread).",
        "",
        "### Cost: throughput, CPU and memory (non-streaming, upstream 0 ms)",
        "",
        "*Requests per CPU-second* = requests served ÷ CPU seconds (user + system) the system's processes used, pooled over the runs at ≥ 16 connections: the fair throughput comparison on a 2-CPU machine where the load tool, the mock and the proxy share the CPUs. *Max req/s* is the best median over the connection counts.",
        "",
        *cost_table(raw, passthrough),
        "",
        "### Ratios (passthrough)",
        "",
        "Throughput and requests-per-CPU-second columns: Switchyard's figure ÷ the other's (above 1 = Switchyard better). Latency columns: the other's added latency ÷ Switchyard's (above 1 = Switchyard adds less).",
        "",
        *(ratio_table(raw, "switchyard", [p for p in passthrough if p != "switchyard"]) if "switchyard" in passthrough else []),
        "",
        "### Non-streaming latency (passthrough to the mock's Anthropic face)",
        "",
    ]
    for lat in sorted({r["latency_ms"] for r in raw["runs"]}):
        md += latency_table(raw, passthrough, lat) + [""]
    md += [
        "### Streaming (64 deltas, 20 ms apart)",
        "",
        "Measured by `switchyard-bench latency --stream` (one keep-alive connection per worker). *First byte* = request sent → first body byte; *first delta* = → first `content_block_delta` frame; *gap* = per stream (last delta − first delta) / (deltas − 1). A proxy that keeps pace shows gap added ≈ 0.",
        "",
        *stream_table(raw, passthrough),
        "",
    ]
    if translated:
        md += [
            "### Translation cost: Anthropic request in, the mock's OpenAI Chat Completions face upstream",
            "",
            "Each system translates the Anthropic request to `/v1/chat/completions` and the answer (JSON or data-only chunks) back into Anthropic form. *Added* is still against direct to the mock's Anthropic face.",
            "",
            *cost_table(raw, translated),
            "",
        ]
        if "switchyard-openai" in translated:
            md += ratio_table(raw, "switchyard-openai", [t for t in translated if t != "switchyard-openai"]) + [""]
        for lat in sorted({r["latency_ms"] for r in raw["runs"]}):
            md += latency_table(raw, translated, lat) + [""]
        md += stream_table(raw, translated) + [""]
    if raw.get("stream_failures"):
        md += ["Stream runs that failed (not in the tables):", ""] + [f"- {x}" for x in raw["stream_failures"]] + [""]
    md += [
        "### How the peers were set up",
        "",
        "- Same mock process for all (`switchyard-mock --max-recorded 0`); its default reply is switched with `PUT /__mock/default` (`delay_ms` = upstream latency; streams: 64 one-word deltas, `chunk_delay_ms` 20).",
        "- **nginx** (the Debian package, `nginx-light`): the floor for any HTTP reverse proxy. Started by the bench with its own config on a free port: `proxy_pass` to an `upstream` block with `keepalive 256` (a keep-alive pool to the mock), `proxy_http_version 1.1`, buffering off, the access log on (`combined`, `buffer=64k`), one worker per CPU.",
        "- **Switchyard**: `switchyard serve` (release build, default logging `info`), one provider (`credential = \"none\"`, probes off); translated: `kind = \"openai\"`, `base_url = MOCK/v1`, models `\"*\" = \"mock-model\"`.",
        "- **claude-code-router** (`bench/peers/install.sh`, npm `@musistudio/claude-code-router`): `node dist/cli.js start` in the foreground with `~/.claude-code-router/config.json` in a private HOME: one provider, `api_base_url` = `MOCK/v1/messages` with `transformer.use = [\"Anthropic\"]` (passthrough), or `MOCK/v1/chat/completions` with no transformer (its default OpenAI format); `Router.default` = that provider; `LOG: false`. CCR has no byte passthrough: even with the Anthropic transformer it converts the request to its internal format and back.",
        "- **LiteLLM** (`litellm[proxy]` in `bench/peers/litellm-venv`): `litellm --config config.yaml --host 127.0.0.1 --port P` (one uvicorn worker, its default), `model_list` with `claude-sonnet-4-5` → `anthropic/claude-sonnet-4-5` at `api_base: MOCK` (passthrough) or `openai/mock-model` at `MOCK/v1`; `telemetry: false`, `LITELLM_LOCAL_MODEL_COST_MAP=True` (no network fetch); requests to its `/v1/messages` endpoint.",
        "- Non-streaming load: `wrk -t T -c C -d S --timeout 10s --latency -s bench/peers/post.lua URL/v1/messages` (T = 1 at 1 connection, else 2); wrk's percentiles. Systems run one at a time, order rotating per round; all stay up for the whole run (idle ones use no measurable CPU).",
        "- Versions: see `bench/peers/install.sh` (pinned).",
    ]
    return "\n".join(md) + "\n"


if __name__ == "__main__":
    import json
    import sys

    data = json.load(open(sys.argv[1]))
    names = sorted({r["system"] for r in data["runs"]}, key=lambda s: list(LABEL).index(s))
    sys.stdout.write(render(data, names))
