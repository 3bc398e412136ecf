//! `switchyard-bench all`: start the mock upstream and two Switchyards (logging at `warn` and
//! at the default `info`), measure start-up, alternate direct and proxied load rounds, read
//! RSS, and write the markdown report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::load::{self, RunResult, Spec};
use crate::procs::{self, Memory, Proc};
use crate::stats::{median, range};

/// Targets from the issue.
const TARGET_ADDED_P50_US: f64 = 100.0;
const TARGET_ADDED_P99_US: f64 = 1000.0;
const TARGET_TTFB_ADDED_US: f64 = 200.0;
/// 15 MB, read as MiB (the more lenient reading; the report shows KiB too).
const TARGET_RSS_KB: u64 = 15 * 1024;
const TARGET_STARTUP_MS: f64 = 150.0;

/// What `all` needs.
#[derive(Debug, Clone)]
pub struct Options {
    pub switchyard: PathBuf,
    pub mock: PathBuf,
    pub work_dir: PathBuf,
    pub rounds: usize,
    pub startup_runs: usize,
    pub scale: f64,
    pub chunk_delay_ms: u64,
    pub command: String,
    pub commit: String,
    pub pidfile: Option<PathBuf>,
}

/// Who a run talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
enum Target {
    Direct,
    Baseline,
    ProxyWarn,
    ProxyInfo,
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Target::Direct => "direct",
            Target::Baseline => "pass-through floor (axum + reqwest)",
            Target::ProxyWarn => "proxy (RUST_LOG=warn)",
            Target::ProxyInfo => "proxy (default info)",
        }
    }
}

const TARGETS: [Target; 4] = [
    Target::Direct,
    Target::Baseline,
    Target::ProxyWarn,
    Target::ProxyInfo,
];

#[derive(Debug, Clone, Serialize)]
struct Run {
    round: usize,
    target: Target,
    result: RunResult,
    /// CPU time the process serving the client used per request (mock for direct runs,
    /// Switchyard for proxied ones), µs; the mock's share of proxied runs is separate.
    server_cpu_us_per_req: f64,
    mock_cpu_us_per_req: f64,
}

#[derive(Debug, Clone, Serialize)]
struct Startup {
    runs_ms: Vec<f64>,
    median_ms: f64,
    min_ms: f64,
    max_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
struct Rss {
    warn_after_start: Memory,
    warn_after_load: Memory,
    info_after_start: Memory,
    info_after_load: Memory,
    floor_after_start: Memory,
    floor_after_load: Memory,
}

#[derive(Debug, Serialize)]
struct Raw<'a> {
    startup: &'a Startup,
    rss: &'a Rss,
    plain: &'a [Run],
    stream: &'a [Run],
}

struct Machine {
    nproc: usize,
    cpu: String,
    mem: String,
    kernel: String,
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|r| r.trim_start_matches([' ', '\t', ':']).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    Machine {
        nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu,
        mem,
        kernel,
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn say(msg: &str) {
    eprintln!("[bench] {msg}");
}

fn mock_cmd(o: &Options) -> Command {
    let mut c = Command::new(&o.mock);
    c.args([
        "--listen",
        "127.0.0.1:0",
        "--max-recorded",
        "1000",
        "--chunk-delay-ms",
        &o.chunk_delay_ms.to_string(),
    ]);
    c
}

fn switchyard_cmd(o: &Options, config: &Path, rust_log: Option<&str>) -> Command {
    let mut c = Command::new(&o.switchyard);
    c.arg("serve")
        .arg("--config")
        .arg(config)
        .args(["--listen", "127.0.0.1:0"]);
    // Never touch the user's own config or keychain by accident.
    c.env_remove("SWITCHYARD_CONFIG");
    match rust_log {
        Some(level) => c.env("RUST_LOG", level),
        None => c.env_remove("RUST_LOG"),
    };
    c
}

const SY_PREFIX: &str = "switchyard listening on ";
const MOCK_PREFIX: &str = "listening on ";
const START_TIMEOUT: Duration = Duration::from_secs(10);

fn startup(o: &Options, config: &Path) -> Result<Startup, String> {
    let log = o.work_dir.join("startup.log");
    let _ = std::fs::remove_file(&log);
    let mut runs_ms = Vec::with_capacity(o.startup_runs);
    // One untimed run first: page cache, dynamic loader.
    for i in 0..=o.startup_runs {
        let (p, took) = procs::spawn(
            "switchyard (start-up run)",
            switchyard_cmd(o, config, None),
            SY_PREFIX,
            &log,
            START_TIMEOUT,
            o.pidfile.as_deref(),
        )?;
        drop(p);
        if i > 0 {
            runs_ms.push(took.as_secs_f64() * 1000.0);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (min_ms, max_ms) = range(&runs_ms);
    Ok(Startup {
        median_ms: median(&runs_ms),
        min_ms,
        max_ms,
        runs_ms,
    })
}

/// Measured requests per run for a concurrency (before scaling).
fn requests_for(stream: bool, c: usize) -> usize {
    match (stream, c) {
        (false, 1) => 3000,
        (false, 16) => 16_000,
        (false, _) => 400 * c,
        (true, 1) => 150,
        (true, _) => 50 * c,
    }
}

struct Servers {
    mock: Proc,
    base: Proc,
    warn: Proc,
    info: Proc,
}

impl Servers {
    fn target(&self, t: Target) -> &Proc {
        match t {
            Target::Direct => &self.mock,
            Target::Baseline => &self.base,
            Target::ProxyWarn => &self.warn,
            Target::ProxyInfo => &self.info,
        }
    }
}

fn one_run(
    o: &Options,
    s: &Servers,
    ticks: u64,
    round: usize,
    target: Target,
    c: usize,
    stream: bool,
) -> Result<Run, String> {
    let p = s.target(target);
    let n = ((requests_for(stream, c) as f64 * o.scale).round() as usize).max(c);
    let mut spec = Spec::new(p.addr, c, n, stream);
    spec.max_duration = Duration::from_secs(20);
    let served_by = p.pid();
    let mock = s.mock.pid();
    let cpu0 = procs::cpu_ticks(served_by)?;
    let mock0 = procs::cpu_ticks(mock)?;
    let result =
        load::run(&spec).map_err(|e| format!("{} c={c} stream={stream}: {e}", target.label()))?;
    let cpu1 = procs::cpu_ticks(served_by)?;
    let mock1 = procs::cpu_ticks(mock)?;
    // Warm-up requests used CPU too.
    let done = (result.total.n + spec.warmup.div_ceil(c) * c).max(1) as f64;
    let per_req = |t: u64| t as f64 * 1e6 / ticks as f64 / done;
    if result.errors > 0 {
        say(&format!(
            "warning: {} failed requests ({}); first: {}",
            result.errors,
            target.label(),
            result.first_error.as_deref().unwrap_or("?")
        ));
    }
    if result.timed_out {
        say(&format!(
            "warning: {} c={c} hit its time limit after {} requests",
            target.label(),
            result.total.n
        ));
    }
    Ok(Run {
        round,
        target,
        server_cpu_us_per_req: per_req(cpu1.saturating_sub(cpu0)),
        mock_cpu_us_per_req: per_req(mock1.saturating_sub(mock0)),
        result,
    })
}

fn rounds(
    o: &Options,
    s: &Servers,
    ticks: u64,
    stream: bool,
    concurrencies: &[usize],
) -> Result<Vec<Run>, String> {
    let mut out = Vec::new();
    for round in 0..o.rounds {
        for &c in concurrencies {
            // Rotate the order every round so drift and warm-up effects spread evenly.
            let mut order = TARGETS;
            order.rotate_left(round % TARGETS.len());
            let mut line = format!(
                "{} round {}/{} c={c}:",
                if stream { "stream" } else { "plain" },
                round + 1,
                o.rounds
            );
            for t in order {
                std::thread::sleep(Duration::from_millis(50));
                let r = one_run(o, s, ticks, round, t, c, stream)?;
                let fig = if stream {
                    r.result.first_delta.p50
                } else {
                    r.result.total.p50
                };
                let _ = write!(
                    line,
                    " {}={:.0}µs/{:.0}rps",
                    match t {
                        Target::Direct => "D",
                        Target::Baseline => "B",
                        Target::ProxyWarn => "W",
                        Target::ProxyInfo => "I",
                    },
                    fig,
                    r.result.throughput_rps
                );
                out.push(r);
            }
            say(&line);
        }
    }
    Ok(out)
}

/// Median over rounds of a per-round figure of one target.
fn med(runs: &[Run], c: usize, t: Target, f: impl Fn(&Run) -> f64) -> f64 {
    let v: Vec<f64> = runs
        .iter()
        .filter(|r| r.target == t && r.result.concurrency == c)
        .map(f)
        .collect();
    median(&v)
}

/// Per-round (proxy − direct) of a figure, then its median and range over rounds.
fn added(runs: &[Run], c: usize, t: Target, f: impl Fn(&Run) -> f64) -> (f64, f64, f64) {
    let mut rounds: Vec<usize> = runs.iter().map(|r| r.round).collect();
    rounds.sort_unstable();
    rounds.dedup();
    let mut v = Vec::new();
    for round in rounds {
        let pick = |tt: Target| {
            runs.iter()
                .find(|r| r.round == round && r.target == tt && r.result.concurrency == c)
        };
        if let (Some(d), Some(p)) = (pick(Target::Direct), pick(t)) {
            v.push(f(p) - f(d));
        }
    }
    let (lo, hi) = range(&v);
    (median(&v), lo, hi)
}

fn met(ok: bool) -> &'static str {
    if ok {
        "yes"
    } else {
        "**no**"
    }
}

/// How far a lower-is-better figure is from its target.
fn margin(measured: f64, target: f64, unit: &str) -> String {
    let ratio = measured / target;
    if measured <= target {
        format!("{:.0} % of the target", ratio.max(0.0) * 100.0)
    } else {
        let r = if ratio < 10.0 {
            format!("{ratio:.2}")
        } else {
            format!("{ratio:.0}")
        };
        format!("over by {:.1} {unit} ({r}× the target)", measured - target)
    }
}

fn us(v: f64) -> String {
    format!("{v:.1}")
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB ({kb} KiB)", kb as f64 / 1024.0)
}

/// Added latency of every proxy side by side.
fn glance(md: &mut String, plain: &[Run], stream: &[Run], pc: &[usize], sc: &[usize]) {
    let proxies = [Target::Baseline, Target::ProxyWarn, Target::ProxyInfo];
    let trio = |runs: &[Run], c: usize, f: fn(&Run) -> f64| -> String {
        proxies
            .iter()
            .map(|&t| us(added(runs, c, t, f).0))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let _ = writeln!(
        md,
        "### Added latency at a glance (µs, median over rounds)\n"
    );
    let _ = writeln!(
        md,
        "Each cell: pass-through floor / Switchyard `warn` / Switchyard `info`.\n"
    );
    let _ = writeln!(md, "| conc. | non-streaming added p50 | non-streaming added p99 | stream first byte added p50 | stream first delta added p50 |");
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|");
    for &c in pc {
        let (fb, fd) = if sc.contains(&c) {
            (
                trio(stream, c, |r| r.result.first_byte.p50),
                trio(stream, c, |r| r.result.first_delta.p50),
            )
        } else {
            ("–".into(), "–".into())
        };
        let _ = writeln!(
            md,
            "| {c} | {} | {} | {fb} | {fd} |",
            trio(plain, c, |r| r.result.total.p50),
            trio(plain, c, |r| r.result.total.p99),
        );
    }
    let _ = writeln!(md);
}

fn plain_table(md: &mut String, runs: &[Run], concs: &[usize], t: Target) {
    let _ = writeln!(
        md,
        "| conc. | direct p50 | direct p99 | proxy p50 | proxy p99 | **added p50** (min..max) | **added p99** (min..max) | p50 ≤ 100 µs | p99 ≤ 1 ms | direct req/s | proxy req/s | CPU µs/req: mock (direct run) / this proxy |"
    );
    let _ = writeln!(
        md,
        "|---:|---:|---:|---:|---:|---:|---:|:--:|:--:|---:|---:|---:|"
    );
    for &c in concs {
        let dp50 = med(runs, c, Target::Direct, |r| r.result.total.p50);
        let dp99 = med(runs, c, Target::Direct, |r| r.result.total.p99);
        let pp50 = med(runs, c, t, |r| r.result.total.p50);
        let pp99 = med(runs, c, t, |r| r.result.total.p99);
        let (a50, a50lo, a50hi) = added(runs, c, t, |r| r.result.total.p50);
        let (a99, a99lo, a99hi) = added(runs, c, t, |r| r.result.total.p99);
        let drps = med(runs, c, Target::Direct, |r| r.result.throughput_rps);
        let prps = med(runs, c, t, |r| r.result.throughput_rps);
        let dcpu = med(runs, c, Target::Direct, |r| r.server_cpu_us_per_req);
        let pcpu = med(runs, c, t, |r| r.server_cpu_us_per_req);
        let _ = writeln!(
            md,
            "| {c} | {} | {} | {} | {} | **{}** ({}..{}) | **{}** ({}..{}) | {} | {} | {drps:.0} | {prps:.0} | {dcpu:.0} / {pcpu:.0} |",
            us(dp50),
            us(dp99),
            us(pp50),
            us(pp99),
            us(a50),
            us(a50lo),
            us(a50hi),
            us(a99),
            us(a99lo),
            us(a99hi),
            met(a50 <= TARGET_ADDED_P50_US),
            met(a99 <= TARGET_ADDED_P99_US),
        );
    }
}

fn stream_table(md: &mut String, runs: &[Run], concs: &[usize], t: Target) {
    let _ = writeln!(
        md,
        "| conc. | measure | direct p50 | direct p99 | proxy p50 | proxy p99 | **added p50** (min..max) | added p99 | p50 added ≤ 200 µs |"
    );
    let _ = writeln!(md, "|---:|:--|---:|---:|---:|---:|---:|---:|:--:|");
    type Pick = fn(&Run) -> f64;
    let measures: [(&str, Pick, Pick); 3] = [
        (
            "first body byte",
            |r| r.result.first_byte.p50,
            |r| r.result.first_byte.p99,
        ),
        (
            "first `content_block_delta`",
            |r| r.result.first_delta.p50,
            |r| r.result.first_delta.p99,
        ),
        (
            "whole stream",
            |r| r.result.total.p50,
            |r| r.result.total.p99,
        ),
    ];
    for &c in concs {
        for (i, (name, p50, p99)) in measures.iter().enumerate() {
            let (a50, lo, hi) = added(runs, c, t, p50);
            let (a99, _, _) = added(runs, c, t, p99);
            let verdict = if i < 2 {
                met(a50 <= TARGET_TTFB_ADDED_US)
            } else {
                "n/a"
            };
            let _ = writeln!(
                md,
                "| {c} | {name} | {} | {} | {} | {} | **{}** ({}..{}) | {} | {verdict} |",
                us(med(runs, c, Target::Direct, p50)),
                us(med(runs, c, Target::Direct, p99)),
                us(med(runs, c, t, p50)),
                us(med(runs, c, t, p99)),
                us(a50),
                us(lo),
                us(hi),
                us(a99),
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn render(
    o: &Options,
    m: &Machine,
    date: &str,
    load_before: &str,
    load_after: &str,
    took: Duration,
    startup: &Startup,
    rss: &Rss,
    plain: &[Run],
    stream: &[Run],
    plain_concs: &[usize],
    stream_concs: &[usize],
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Switchyard benchmark results\n");
    let _ = writeln!(
        md,
        "Generated by `bench/run.sh` (do not edit by hand; re-run it). Numbers are from one machine, \
         in one session; compare runs only on the same machine.\n"
    );
    let _ = writeln!(md, "- **Date:** {date}");
    let _ = writeln!(
        md,
        "- **Machine:** {} CPUs (`nproc`), {}, {} RAM, Linux {}",
        m.nproc, m.cpu, m.mem, m.kernel
    );
    let _ = writeln!(
        md,
        "- **Load average** before / after: {load_before} / {load_after}"
    );
    let _ = writeln!(md, "- **Commit:** `{}`", o.commit);
    let _ = writeln!(md, "- **Command:** `{}`", o.command);
    let _ = writeln!(
        md,
        "- **Suite:** {} rounds, scale {}, mock chunk delay {} ms, {} start-up runs; took {:.0} s\n",
        o.rounds,
        o.scale,
        o.chunk_delay_ms,
        o.startup_runs,
        took.as_secs_f64()
    );

    let _ = writeln!(md, "## Verdict\n");
    let _ = writeln!(md, "| target | measured | met? | margin |");
    let _ = writeln!(md, "|:--|:--|:--:|:--|");
    for &c in plain_concs {
        let (a50, _, _) = added(plain, c, Target::ProxyWarn, |r| r.result.total.p50);
        let (a99, _, _) = added(plain, c, Target::ProxyWarn, |r| r.result.total.p99);
        let _ = writeln!(
            md,
            "| added p50 ≤ 100 µs, {c} conn. | {} µs | {} | {} |",
            us(a50),
            met(a50 <= TARGET_ADDED_P50_US),
            margin(a50, TARGET_ADDED_P50_US, "µs")
        );
        let _ = writeln!(
            md,
            "| added p99 ≤ 1 ms, {c} conn. | {} µs | {} | {} |",
            us(a99),
            met(a99 <= TARGET_ADDED_P99_US),
            margin(a99, TARGET_ADDED_P99_US, "µs")
        );
    }
    for &c in stream_concs {
        let (fb, _, _) = added(stream, c, Target::ProxyWarn, |r| r.result.first_byte.p50);
        let (fd, _, _) = added(stream, c, Target::ProxyWarn, |r| r.result.first_delta.p50);
        let _ = writeln!(
            md,
            "| streaming TTFB added ≤ 200 µs (p50), {c} conn.: first byte / first delta | {} / {} µs | {} | {} |",
            us(fb),
            us(fd),
            met(fb.max(fd) <= TARGET_TTFB_ADDED_US),
            margin(fb.max(fd), TARGET_TTFB_ADDED_US, "µs")
        );
    }
    let idle = rss.warn_after_load.rss_kb.max(rss.info_after_load.rss_kb);
    let _ = writeln!(
        md,
        "| idle RSS ≤ 15 MiB (after load, worst instance) | {} | {} | {} |",
        mib(idle),
        met(idle <= TARGET_RSS_KB),
        margin(idle as f64 / 1024.0, TARGET_RSS_KB as f64 / 1024.0, "MiB")
    );
    let start_rss = rss.warn_after_start.rss_kb.max(rss.info_after_start.rss_kb);
    let _ = writeln!(
        md,
        "| idle RSS ≤ 15 MiB (after start, worst instance) | {} | {} | {} |",
        mib(start_rss),
        met(start_rss <= TARGET_RSS_KB),
        margin(
            start_rss as f64 / 1024.0,
            TARGET_RSS_KB as f64 / 1024.0,
            "MiB"
        )
    );
    let _ = writeln!(
        md,
        "| start to listening ≤ 150 ms (median) | {:.1} ms | {} | {} |\n",
        startup.median_ms,
        met(startup.median_ms <= TARGET_STARTUP_MS),
        margin(startup.median_ms, TARGET_STARTUP_MS, "ms")
    );
    let _ = writeln!(
        md,
        "Latency verdicts use the `RUST_LOG=warn` instance; the default-`info` instance is reported below.\n"
    );
    glance(&mut md, plain, stream, plain_concs, stream_concs);

    let _ = writeln!(md, "## Method\n");
    let _ = writeln!(
        md,
        "- `switchyard-mock` (`--max-recorded 1000`, default reply, chunk delay {} ms between stream deltas) is the upstream. \
         Two `switchyard serve` instances forward to it with a one-provider config (`credential = \"none\"`): one with `RUST_LOG=warn`, \
         one with the default filter (`info`, one log line per request, stderr to a file).",
        o.chunk_delay_ms
    );
    let _ = writeln!(
        md,
        "- The load generator (`switchyard-bench`, hyper 1 client, single-threaded Tokio runtime) opens one keep-alive HTTP/1.1 connection per worker; \
         each worker sends its requests one after another (closed loop). A run is: connect, warm-up (10 % of the count, unmeasured), \
         all workers start together, measured requests. Latency = request handed to the connection → last body byte read, per request, \
         monotonic clock; percentiles are exact (nearest rank on the sorted samples)."
    );
    let _ = writeln!(
        md,
        "- Each round runs direct, floor, proxy-warn and proxy-info back to back for each concurrency, the order rotating every round. \
         *Added* = proxy − direct of the same round; tables show the **median over rounds** of each per-round figure (and the min..max of the added ones)."
    );
    let _ = writeln!(
        md,
        "- A third proxy, `switchyard-bench passthrough`, is the *floor*: axum server + reqwest client on a multi-threaded Tokio runtime \
         (Switchyard's own stack) forwarding the request and streaming the answer back, with no guard, JSON peek, routing, stats or logging, \
         and `TCP_NODELAY` on accepted connections. Switchyard − floor is what Switchyard's request path costs; floor − direct is what any \
         proxy on this stack costs on this machine."
    );
    let _ = writeln!(
        md,
        "- Body `{}`; headers `content-type: application/json`, `x-api-key: bench`, `anthropic-version: 2023-06-01`.",
        load::BODY
    );
    let _ = writeln!(
        md,
        "- CPU µs/req: user+system CPU of the process answering the client (mock for direct, Switchyard for proxied) per request \
         (warm-up included), from `/proc/PID/stat`. It shows how much work the proxy does per request independently of queueing.\n"
    );

    for (t, title) in [
        (Target::ProxyWarn, "Switchyard, RUST_LOG=warn"),
        (Target::ProxyInfo, "Switchyard, default `info` logging"),
        (
            Target::Baseline,
            "pass-through floor (axum + reqwest, no Switchyard logic)",
        ),
    ] {
        let _ = writeln!(md, "## Non-streaming latency (µs): {title}\n");
        plain_table(&mut md, plain, plain_concs, t);
        let _ = writeln!(md);
    }
    let _ = writeln!(
        md,
        "\nAll loads run on the same {} CPUs as the servers: from about {} connections on, the CPUs are saturated and latency is mostly \
         queueing (≈ connections / throughput), so added latency there measures the proxy's CPU cost per request rather than its \
         path length.\n",
        m.nproc,
        plain_concs.get(1).copied().unwrap_or(16)
    );

    for (t, title) in [
        (Target::ProxyWarn, "Switchyard, RUST_LOG=warn"),
        (Target::ProxyInfo, "Switchyard, default `info` logging"),
        (Target::Baseline, "pass-through floor"),
    ] {
        let _ = writeln!(md, "## Streaming time to first byte (µs): {title}\n");
        stream_table(&mut md, stream, stream_concs, t);
        let _ = writeln!(md);
    }
    let _ = writeln!(
        md,
        "Switchyard holds a stream back until its first content event (`content_block_start`) has arrived, so that it can still \
         fail over invisibly; its first byte therefore cannot come before the upstream's first content event. The mock sends \
         `message_start`, `content_block_start`, `ping` and the first delta without pause, so this costs nothing extra here.\n"
    );
    let sy_fd = added(stream, 1, Target::ProxyWarn, |r| r.result.first_delta.p50).0;
    let floor_fd = added(stream, 1, Target::Baseline, |r| r.result.first_delta.p50).0;
    if (30_000.0..50_000.0).contains(&sy_fd) && floor_fd < 5_000.0 {
        let _ = writeln!(
            md,
            "**Diagnosis:** an added ≈ 40 ms on every frame after the first write, absent from the floor, is the signature of \
             Nagle's algorithm on the proxy's client-facing socket meeting the client's delayed ACK: Switchyard's accepted \
             connections lack `TCP_NODELAY` (`axum::serve` does not set it), so each SSE write waits for the ACK of the previous \
             one. The floor sets `TCP_NODELAY` and shows no such delay.\n"
        );
    }

    let _ = writeln!(md, "## Memory (VmRSS)\n");
    let _ = writeln!(md, "| instance | after start (idle 1 s) | after the load (idle 3 s) | peak (VmHWM) | threads |");
    let _ = writeln!(md, "|:--|---:|---:|---:|---:|");
    for (name, a, b) in [
        ("RUST_LOG=warn", rss.warn_after_start, rss.warn_after_load),
        ("default info", rss.info_after_start, rss.info_after_load),
        (
            "pass-through floor (for comparison)",
            rss.floor_after_start,
            rss.floor_after_load,
        ),
    ] {
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} |",
            mib(a.rss_kb),
            mib(b.rss_kb),
            mib(b.hwm_kb),
            b.threads
        );
    }

    let _ = writeln!(
        md,
        "\n## Start-up (spawn → `switchyard listening on …` on stdout)\n"
    );
    let _ = writeln!(
        md,
        "`switchyard serve --config X --listen 127.0.0.1:0`, default logging, {} runs after one untimed run: \
         median **{:.1} ms**, min {:.1} ms, max {:.1} ms (target ≤ 150 ms: {}).\n",
        startup.runs_ms.len(),
        startup.median_ms,
        startup.min_ms,
        startup.max_ms,
        met(startup.median_ms <= TARGET_STARTUP_MS)
    );

    let _ = writeln!(md, "## Noise\n");
    let _ = writeln!(
        md,
        "The machine is shared and small: the load generator, the mock and Switchyard compete for the same {} CPUs, and other \
         tenants may run too (see the load average above). Per-round spreads are shown as min..max; single-digit-µs differences \
         are within noise. Raw per-run figures: `{}`.",
        m.nproc,
        o.work_dir.join("raw.json").display()
    );
    md
}

/// Run the whole suite; returns the markdown.
pub fn all(o: &Options) -> Result<String, String> {
    let started = Instant::now();
    std::fs::create_dir_all(&o.work_dir)
        .map_err(|e| format!("cannot create {}: {e}", o.work_dir.display()))?;
    for (name, p) in [("switchyard", &o.switchyard), ("switchyard-mock", &o.mock)] {
        if !p.is_file() {
            return Err(format!("{name} binary not found at {}", p.display()));
        }
    }
    let m = machine();
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let load_before = loadavg();
    let ticks = procs::clock_ticks_per_sec();

    say("starting the mock upstream");
    let mock_log = o.work_dir.join("mock.log");
    let _ = std::fs::remove_file(&mock_log);
    let (mock, _) = procs::spawn(
        "switchyard-mock",
        mock_cmd(o),
        MOCK_PREFIX,
        &mock_log,
        START_TIMEOUT,
        o.pidfile.as_deref(),
    )?;
    let config = o.work_dir.join("config.toml");
    procs::write_config(&config, mock.addr)?;

    say(&format!("start-up: {} runs", o.startup_runs));
    let startup = startup(o, &config)?;
    say(&format!(
        "start-up median {:.1} ms (min {:.1}, max {:.1})",
        startup.median_ms, startup.min_ms, startup.max_ms
    ));

    let start_sy = |name: &str, log: &str, level: Option<&str>| {
        let path = o.work_dir.join(log);
        let _ = std::fs::remove_file(&path);
        procs::spawn(
            name,
            switchyard_cmd(o, &config, level),
            SY_PREFIX,
            &path,
            START_TIMEOUT,
            o.pidfile.as_deref(),
        )
        .map(|(p, _)| p)
    };
    let warn = start_sy("switchyard (warn)", "switchyard-warn.log", Some("warn"))?;
    let info = start_sy("switchyard (info)", "switchyard-info.log", None)?;
    let base_log = o.work_dir.join("passthrough.log");
    let _ = std::fs::remove_file(&base_log);
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut base_cmd = Command::new(exe);
    base_cmd.args([
        "passthrough",
        "--upstream",
        &format!("http://{}", mock.addr),
    ]);
    let (base, _) = procs::spawn(
        "passthrough",
        base_cmd,
        "passthrough listening on ",
        &base_log,
        START_TIMEOUT,
        o.pidfile.as_deref(),
    )?;
    say(&format!(
        "mock {} (pid {}), switchyard warn {} (pid {}), info {} (pid {})",
        mock.addr,
        mock.pid(),
        warn.addr,
        warn.pid(),
        info.addr,
        info.pid()
    ));
    std::thread::sleep(Duration::from_secs(1));
    let warn_after_start = procs::memory(warn.pid())?;
    let info_after_start = procs::memory(info.pid())?;
    let floor_after_start = procs::memory(base.pid())?;
    let servers = Servers {
        mock,
        base,
        warn,
        info,
    };

    let plain_concs = [1, 16, 64];
    let stream_concs = [1, 16];
    let plain = rounds(o, &servers, ticks, false, &plain_concs)?;
    let stream = rounds(o, &servers, ticks, true, &stream_concs)?;

    say("waiting 3 s for the proxies to go idle");
    std::thread::sleep(Duration::from_secs(3));
    let rss = Rss {
        warn_after_start,
        warn_after_load: procs::memory(servers.warn.pid())?,
        info_after_start,
        info_after_load: procs::memory(servers.info.pid())?,
        floor_after_start,
        floor_after_load: procs::memory(servers.base.pid())?,
    };
    let load_after = loadavg();
    for p in [&servers.warn, &servers.info] {
        let log = std::fs::read_to_string(&p.log).unwrap_or_default();
        let bad = log
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
            .count();
        if bad > 0 {
            say(&format!(
                "note: {} logged {bad} warnings/errors (see {})",
                p.name,
                p.log.display()
            ));
        }
    }
    drop(servers);

    let raw = Raw {
        startup: &startup,
        rss: &rss,
        plain: &plain,
        stream: &stream,
    };
    let raw_path = o.work_dir.join("raw.json");
    let json = serde_json::to_string_pretty(&raw).map_err(|e| format!("raw.json: {e}"))?;
    std::fs::write(&raw_path, json).map_err(|e| format!("{}: {e}", raw_path.display()))?;

    Ok(render(
        o,
        &m,
        &date,
        &load_before,
        &load_after,
        started.elapsed(),
        &startup,
        &rss,
        &plain,
        &stream,
        &plain_concs,
        &stream_concs,
    ))
}
