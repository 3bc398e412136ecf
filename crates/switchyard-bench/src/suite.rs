//! `switchyard-bench all`: start the mock upstream, two Switchyards passing Anthropic requests
//! through (logging at `warn` and at the default `info`) and one translating them to the mock's
//! OpenAI face (`warn`), measure start-up, alternate direct and proxied load rounds, read RSS,
//! measure the translation cost of every client dialect × provider kind pair (`dialects.rs`),
//! and write the markdown report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::dialects;
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
/// Translated streaming may add at most this many times the passthrough overhead.
const TARGET_TRANSLATED_RATIO: f64 = 2.0;
/// Overheads this close to zero (µs) are within the noise of a shared machine: a translated
/// figure at or below it counts as meeting the ratio target whatever the ratio.
const NOISE_US: f64 = 10.0;

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
    /// Switchyard (`RUST_LOG=warn`) with a `kind = "openai"` provider: the same Anthropic
    /// request, translated to Chat Completions for the mock's OpenAI face, and its answer
    /// translated back. Streaming rounds only.
    Translated,
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Target::Direct => "direct",
            Target::Baseline => "pass-through floor (axum + reqwest)",
            Target::ProxyWarn => "proxy (RUST_LOG=warn)",
            Target::ProxyInfo => "proxy (default info)",
            Target::Translated => "translated (kind=openai, RUST_LOG=warn)",
        }
    }

    fn letter(self) -> &'static str {
        match self {
            Target::Direct => "D",
            Target::Baseline => "B",
            Target::ProxyWarn => "W",
            Target::ProxyInfo => "I",
            Target::Translated => "T",
        }
    }
}

const PLAIN_TARGETS: [Target; 4] = [
    Target::Direct,
    Target::Baseline,
    Target::ProxyWarn,
    Target::ProxyInfo,
];

const STREAM_TARGETS: [Target; 5] = [
    Target::Direct,
    Target::Baseline,
    Target::ProxyWarn,
    Target::ProxyInfo,
    Target::Translated,
];

const BURST_TARGETS: [Target; 3] = [Target::Direct, Target::ProxyWarn, Target::Translated];

#[derive(Debug, Clone, Serialize)]
struct Run {
    round: usize,
    target: Target,
    result: RunResult,
    /// CPU time the process serving the client used per request (mock for direct runs,
    /// Switchyard for proxied ones), µs; the mock's share of proxied runs is separate.
    server_cpu_us_per_req: f64,
    mock_cpu_us_per_req: f64,
    /// Requests the CPU figures are divided by (measured + warm-up).
    requests_done: f64,
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
    translated_after_start: Memory,
    translated_after_load: Memory,
}

#[derive(Debug, Serialize)]
struct Raw<'a> {
    startup: &'a Startup,
    rss: &'a Rss,
    plain: &'a [Run],
    stream: &'a [Run],
    burst: &'a [Run],
    dialects: &'a [dialects::Cell],
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

/// What a round loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Non-streaming requests.
    Plain,
    /// Streams of the default reply: a few deltas with the chunk delay between them.
    Stream,
    /// Streams of [`BURST_DELTAS`] deltas without pauses (the mock's default reply is
    /// switched for this phase): the per-chunk cost of each proxy.
    Burst,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Plain => "plain",
            Phase::Stream => "stream",
            Phase::Burst => "burst",
        }
    }

    fn stream(self) -> bool {
        self != Phase::Plain
    }
}

/// Deltas per stream in the burst phase.
const BURST_DELTAS: usize = 64;

/// Measured requests per run for a concurrency (before scaling).
fn requests_for(phase: Phase, c: usize) -> usize {
    match (phase, c) {
        (Phase::Plain, 1) => 3000,
        (Phase::Plain, 16) => 16_000,
        (Phase::Plain, _) => 400 * c,
        (Phase::Stream, 1) => 150,
        (Phase::Stream, _) => 50 * c,
        (Phase::Burst, 1) => 300,
        (Phase::Burst, _) => 50 * c,
    }
}

struct Servers {
    mock: Proc,
    base: Proc,
    warn: Proc,
    info: Proc,
    translated: Proc,
}

impl Servers {
    fn target(&self, t: Target) -> &Proc {
        match t {
            Target::Direct => &self.mock,
            Target::Baseline => &self.base,
            Target::ProxyWarn => &self.warn,
            Target::ProxyInfo => &self.info,
            Target::Translated => &self.translated,
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
    phase: Phase,
) -> Result<Run, String> {
    let stream = phase.stream();
    let p = s.target(target);
    let n = ((requests_for(phase, c) as f64 * o.scale).round() as usize).max(c);
    let mut spec = Spec::new(p.addr, c, n, stream);
    spec.max_duration = Duration::from_secs(20);
    let served_by = p.pid();
    let mock = s.mock.pid();
    let cpu0 = procs::cpu_ticks(served_by)?;
    let mock0 = procs::cpu_ticks(mock)?;
    let result = load::run(&spec).map_err(|e| {
        // Say which child is gone, if one is: that explains the failures.
        let gone: Vec<String> = [&s.mock, p]
            .iter()
            .filter(|q| !procs::alive(q.pid()))
            .map(|q| {
                format!(
                    "{} (pid {}) has exited; see {}",
                    q.name,
                    q.pid(),
                    q.log.display()
                )
            })
            .collect();
        let gone = if gone.is_empty() {
            String::new()
        } else {
            format!(" [{}]", gone.join("; "))
        };
        format!("{} c={c} {}: {e}{gone}", target.label(), phase.name())
    })?;
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
        requests_done: done,
        result,
    })
}

fn rounds(
    o: &Options,
    s: &Servers,
    ticks: u64,
    phase: Phase,
    concurrencies: &[usize],
    targets: &[Target],
) -> Result<Vec<Run>, String> {
    let mut out = Vec::new();
    for round in 0..o.rounds {
        for &c in concurrencies {
            // Rotate the order every round so drift and warm-up effects spread evenly.
            let mut order = targets.to_vec();
            order.rotate_left(round % targets.len());
            let mut line = format!("{} round {}/{} c={c}:", phase.name(), round + 1, o.rounds);
            for t in order {
                std::thread::sleep(Duration::from_millis(50));
                let r = one_run(o, s, ticks, round, t, c, phase)?;
                let fig = match phase {
                    Phase::Plain | Phase::Burst => r.result.total.p50,
                    Phase::Stream => r.result.first_delta.p50,
                };
                let _ = write!(
                    line,
                    " {}={:.0}µs/{:.0}rps",
                    t.letter(),
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

/// Per-round (proxy − direct) of a figure, by round.
fn added_by_round(runs: &[Run], c: usize, t: Target, f: impl Fn(&Run) -> f64) -> Vec<(usize, f64)> {
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
            v.push((round, f(p) - f(d)));
        }
    }
    v
}

/// Per-round (proxy − direct) of a figure, then its median and range over rounds.
fn added(runs: &[Run], c: usize, t: Target, f: impl Fn(&Run) -> f64) -> (f64, f64, f64) {
    let v: Vec<f64> = added_by_round(runs, c, t, f)
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    let (lo, hi) = range(&v);
    (median(&v), lo, hi)
}

/// CPU per request of one target over all its runs at a concurrency (total CPU / total
/// requests: steadier than a median of per-run figures, each only a few clock ticks).
fn pooled(runs: &[Run], c: usize, t: Target, f: impl Fn(&Run) -> f64) -> f64 {
    let (cpu, n) = runs
        .iter()
        .filter(|r| r.target == t && r.result.concurrency == c)
        .fold((0.0, 0.0), |(cpu, n), r| {
            (cpu + f(r) * r.requests_done, n + r.requests_done)
        });
    if n > 0.0 {
        cpu / n
    } else {
        f64::NAN
    }
}

/// Translated vs passthrough overhead of one figure (median over rounds of each proxy's
/// added time).
struct Overheads {
    pass: (f64, f64, f64),
    trans: (f64, f64, f64),
    /// Per-round translated / passthrough ratios (rounds with a positive passthrough overhead).
    ratios: Vec<f64>,
}

impl Overheads {
    fn of(runs: &[Run], c: usize, f: impl Fn(&Run) -> f64 + Copy) -> Overheads {
        let p = added_by_round(runs, c, Target::ProxyWarn, f);
        let t = added_by_round(runs, c, Target::Translated, f);
        let ratios = p
            .iter()
            .filter(|(_, pa)| *pa > 0.0)
            .filter_map(|(round, pa)| t.iter().find(|(tr, _)| tr == round).map(|(_, ta)| ta / pa))
            .collect();
        Overheads {
            pass: added(runs, c, Target::ProxyWarn, f),
            trans: added(runs, c, Target::Translated, f),
            ratios,
        }
    }

    /// Translated overhead / passthrough overhead (medians), if the latter is positive.
    fn ratio(&self) -> Option<f64> {
        (self.pass.0 > 0.0).then(|| self.trans.0 / self.pass.0)
    }

    /// At most twice the passthrough overhead, or within noise of zero.
    fn met(&self) -> bool {
        self.trans.0 <= NOISE_US || self.ratio().is_some_and(|r| r <= TARGET_TRANSLATED_RATIO)
    }

    fn ratio_text(&self) -> String {
        match self.ratio() {
            Some(r) => format!("{r:.2}×"),
            None => "n/a".into(),
        }
    }
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

type Pick = fn(&Run) -> f64;

/// The passthrough instance shows the ≈ 40 ms stall of Nagle's algorithm meeting delayed ACKs
/// on its client-facing socket (first delta, one connection) and the floor does not.
fn nagle_stall(stream: &[Run]) -> bool {
    let sy_fd = added(stream, 1, Target::ProxyWarn, |r| r.result.first_delta.p50).0;
    let floor_fd = added(stream, 1, Target::Baseline, |r| r.result.first_delta.p50).0;
    (30_000.0..50_000.0).contains(&sy_fd) && floor_fd < 5_000.0
}

/// What the Nagle stall does to the translated comparison (the verdict's margin and the
/// section both say it).
const NAGLE_CAVEAT: &str = "both instances pay the ≈ 40 ms Nagle stall (see the diagnosis), \
     the passthrough one before its first delta, the translated one after it; only the first-byte ratio \
     is clean";

/// What the translated-streaming table compares: name, p50 figure, p99 figure if any.
/// One row of a translated-vs-passthrough table: name, p50 figure, p99 figure if any.
type Measure = (&'static str, Pick, Option<Pick>);

/// The paced stream (the default reply: a few deltas with the chunk delay between them).
const PACED_MEASURES: [Measure; 4] = [
    (
        "first body byte",
        |r| r.result.first_byte.p50,
        Some(|r| r.result.first_byte.p99),
    ),
    (
        "first `content_block_delta`",
        |r| r.result.first_delta.p50,
        Some(|r| r.result.first_delta.p99),
    ),
    (
        "whole stream",
        |r| r.result.total.p50,
        Some(|r| r.result.total.p99),
    ),
    (
        "gap between deltas",
        |r| r.result.delta_gap.p50,
        Some(|r| r.result.delta_gap.p99),
    ),
];

/// The burst stream ([`BURST_DELTAS`] deltas back to back).
const BURST_MEASURES: [Measure; 3] = [
    (
        "first body byte",
        |r| r.result.first_byte.p50,
        Some(|r| r.result.first_byte.p99),
    ),
    (
        "whole stream",
        |r| r.result.total.p50,
        Some(|r| r.result.total.p99),
    ),
    (
        "**per chunk**: (whole stream − first byte) / deltas",
        per_chunk,
        None,
    ),
];

/// (whole stream − first byte) / deltas of one run, µs (p50s).
fn per_chunk(r: &Run) -> f64 {
    (r.result.total.p50 - r.result.first_byte.p50) / r.result.deltas_per_stream.max(1.0)
}

/// The four figures the verdict line judges, by concurrency: (short name, overheads).
fn translated_verdict(stream: &[Run], burst: &[Run], c: usize) -> Vec<(&'static str, Overheads)> {
    vec![
        ("first byte", Overheads::of(stream, c, PACED_MEASURES[0].1)),
        ("first delta", Overheads::of(stream, c, PACED_MEASURES[1].1)),
        (
            "whole stream",
            Overheads::of(stream, c, PACED_MEASURES[2].1),
        ),
        ("per chunk", Overheads::of(burst, c, per_chunk)),
    ]
}

/// Passthrough vs translated added time, one row per measure and concurrency.
fn overhead_table(md: &mut String, runs: &[Run], concs: &[usize], measures: &[Measure]) {
    let _ = writeln!(
        md,
        "| conc. | measure (p50) | direct | passthrough added (min..max) | translated added (min..max) | translation extra | **ratio** (per round) | ≤ 2× | added p99: passthrough / translated |"
    );
    let _ = writeln!(md, "|---:|:--|---:|---:|---:|---:|---:|:--:|---:|");
    for &c in concs {
        for &(name, p50, p99) in measures {
            let o = Overheads::of(runs, c, p50);
            let (rlo, rhi) = range(&o.ratios);
            let per_round = if o.ratios.is_empty() {
                String::new()
            } else {
                format!(" ({rlo:.2}..{rhi:.2})")
            };
            let tail = match p99 {
                Some(p99) => {
                    let q = Overheads::of(runs, c, p99);
                    format!("{} / {}", us(q.pass.0), us(q.trans.0))
                }
                None => "–".into(),
            };
            let _ = writeln!(
                md,
                "| {c} | {name} | {} | {} ({}..{}) | {} ({}..{}) | {} | **{}**{per_round} | {} | {tail} |",
                us(med(runs, c, Target::Direct, p50)),
                us(o.pass.0),
                us(o.pass.1),
                us(o.pass.2),
                us(o.trans.0),
                us(o.trans.1),
                us(o.trans.2),
                us(o.trans.0 - o.pass.0),
                o.ratio_text(),
                met(o.met()),
            );
        }
    }
    let _ = writeln!(md);
}

fn translated_section(
    md: &mut String,
    stream: &[Run],
    burst: &[Run],
    concs: &[usize],
    chunk_delay_ms: u64,
) {
    let _ = writeln!(
        md,
        "## Translated streaming (µs): `kind = \"openai\"` vs passthrough, both RUST_LOG=warn\n"
    );
    let _ = writeln!(
        md,
        "The same Anthropic streaming request through Switchyard with a `kind = \"openai\"` provider (translated to Chat Completions \
         for the mock's OpenAI face, whose data-only chunks are translated back into Anthropic events) and through the passthrough \
         instance (`kind = \"anthropic\"`). *Added* = proxy − direct (Anthropic face) of the same round, median over rounds \
         (min..max); **ratio** = translated added / passthrough added (medians; per-round ratios in brackets); target: translation \
         adds no more than {TARGET_TRANSLATED_RATIO}× the passthrough overhead (a translated overhead ≤ {NOISE_US} µs counts as met: noise). \
         Both faces of the mock send the same text in the same number of deltas with the same pauses.\n"
    );
    let _ = writeln!(
        md,
        "### Paced stream: the default reply ({:.0} deltas, {chunk_delay_ms} ms apart)\n",
        med(stream, 1, Target::Translated, |r| r
            .result
            .deltas_per_stream)
    );
    overhead_table(md, stream, concs, &PACED_MEASURES);
    if nagle_stall(stream) {
        let _ = writeln!(
            md,
            "**Caveat:** these ratios are distorted: {NAGLE_CAVEAT}. The passthrough instance writes the held-back prefix (`message_start`, \
             `content_block_start`, `ping`) and then the first delta as a second small write, which waits ≈ 40 ms for the \
             client's delayed ACK; the translated instance writes the prefix and the first delta together, so its first \
             delta is on time and the stall comes with its second delta instead. Whole-stream figures of both are dominated \
             by that stall and hide the cost of translation; the first body byte comes before any stall (the client's next \
             request acknowledges the previous answer) and so is the clean comparison, together with the CPU figures below.\n"
        );
    }
    let _ = writeln!(
        md,
        "The mock's pauses end on its 1 ms timer grid, so most of the time a request spends in a proxy on its way in is absorbed \
         by the first pause: on this stream *whole stream added* is smaller than *first byte added* and is in effect the \
         latency the proxy adds to the last chunks (the last delta and the closing events). *Gap between deltas* (per stream: \
         (last delta − first delta) / (deltas − 1)) stays near zero when a proxy keeps pace with the chunks. For the same \
         reason a per-chunk figure derived from this stream would be meaningless; the burst stream below gives it.\n"
    );
    let _ = writeln!(
        md,
        "### Per-chunk cost: a burst stream ({BURST_DELTAS} deltas, no pauses)\n"
    );
    let _ = writeln!(
        md,
        "After the other rounds the mock's default reply is switched to {BURST_DELTAS} one-word deltas sent back to back \
         (`PUT /__mock/default`), and direct, passthrough and translated are loaded again (same rounds, order rotating). \
         With no pauses to hide in, the time from a proxy's first byte to the end of the stream is its per-chunk work: \
         **per chunk** = ((whole stream − first byte) of the proxy − the same of direct) / deltas.\n"
    );
    overhead_table(md, burst, concs, &BURST_MEASURES);
    let _ = writeln!(
        md,
        "### CPU per streamed request (µs, user + system, all rounds pooled: total CPU / requests incl. warm-up)\n"
    );
    let _ = writeln!(
        md,
        "| stream | conc. | deltas | Switchyard passthrough | Switchyard translated | translated − passthrough | translated / passthrough | extra per delta | mock: Anthropic face (passthrough runs) / OpenAI face (translated runs) |"
    );
    let _ = writeln!(md, "|:--|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (kind, runs) in [("paced", stream), ("burst", burst)] {
        for &c in concs {
            let cpu = |t: Target| pooled(runs, c, t, |r| r.server_cpu_us_per_req);
            let mock = |t: Target| pooled(runs, c, t, |r| r.mock_cpu_us_per_req);
            let (p, t) = (cpu(Target::ProxyWarn), cpu(Target::Translated));
            let deltas = med(runs, c, Target::Translated, |r| r.result.deltas_per_stream);
            let _ = writeln!(
                md,
                "| {kind} | {c} | {deltas:.0} | {p:.0} | {t:.0} | {:.0} | {:.2}× | {:.1} | {:.0} / {:.0} |",
                t - p,
                t / p,
                (t - p) / deltas.max(1.0),
                mock(Target::ProxyWarn),
                mock(Target::Translated),
            );
        }
    }
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "*Extra per delta* spreads the whole difference (request translation included) over the deltas, so it is an upper bound \
         on the per-chunk translation work. The mock's own CPU is listed because it shares the {} CPUs with the proxies: \
         where its OpenAI face costs more than its Anthropic face, the translated runs have less CPU left, which at 16 \
         connections (CPUs saturated) shows up as translated latency that is not Switchyard's.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
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
    burst: &[Run],
    plain_concs: &[usize],
    stream_concs: &[usize],
    dialect_cells: &[dialects::Cell],
    ticks: u64,
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
    for &c in stream_concs {
        let os = translated_verdict(stream, burst, c);
        let ok = os.iter().all(|(_, o)| o.met());
        let measured = os
            .iter()
            .map(|(_, o)| o.ratio_text())
            .collect::<Vec<_>>()
            .join(" / ");
        let amounts = os
            .iter()
            .map(|(_, o)| format!("{}/{}", us(o.trans.0), us(o.pass.0)))
            .collect::<Vec<_>>()
            .join(", ");
        // The measure furthest from the target decides the margin.
        let worst = os
            .iter()
            .filter(|(_, o)| o.trans.0 > NOISE_US)
            .max_by(|a, b| {
                let r = |o: &Overheads| o.ratio().unwrap_or(f64::INFINITY);
                r(&a.1).total_cmp(&r(&b.1))
            });
        let margin_text = match worst {
            None => format!("all within noise (≤ {NOISE_US} µs)"),
            Some((name, o)) => match o.ratio() {
                Some(r) if r <= TARGET_TRANSLATED_RATIO => format!(
                    "worst: {name}, {r:.2}× ({:.0} % of the allowed {TARGET_TRANSLATED_RATIO}×)",
                    r / TARGET_TRANSLATED_RATIO * 100.0
                ),
                Some(r) => format!(
                    "worst: {name}, {r:.2}×: translation adds {} µs where {TARGET_TRANSLATED_RATIO} × {} = {} µs is allowed",
                    us(o.trans.0),
                    us(o.pass.0),
                    us(TARGET_TRANSLATED_RATIO * o.pass.0)
                ),
                None => format!(
                    "worst: {name}: passthrough adds nothing measurable, translation {} µs",
                    us(o.trans.0)
                ),
            },
        };
        let margin_text = if nagle_stall(stream) {
            format!("**distorted**: {NAGLE_CAVEAT}; {margin_text}")
        } else {
            margin_text
        };
        let _ = writeln!(
            md,
            "| translated streaming overhead ≤ 2× passthrough (p50), {c} conn.: first byte / first delta / whole stream / per chunk | {measured} (translated/passthrough µs: {amounts}) | {} | {margin_text} |",
            met(ok)
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
        "Latency verdicts use the `RUST_LOG=warn` instance; the default-`info` instance is reported below. The translated-streaming \
         ratios compare the `kind = \"openai\"` instance with that passthrough instance (see its section). The RSS verdicts cover \
         the two passthrough instances; the translated one is in the memory table.\n"
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
        "- Each round runs direct, floor, proxy-warn and proxy-info (streaming rounds: and translated) back to back for each concurrency, the order rotating every round. \
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
        "- A fourth proxy, a third `switchyard serve` (`RUST_LOG=warn`), has one provider of `kind = \"openai\"` whose `base_url` is the same mock's OpenAI face \
         (`http://127.0.0.1:PORT/v1`, models `\"*\" = \"mock-model\"`): it answers the same Anthropic request by translating it to \
         `/v1/chat/completions` and the data-only chunks (ending `data: [DONE]`) back into Anthropic events. It joins the streaming \
         rounds only (order rotating with the others); before the rounds one request through it is checked to reach the mock as a \
         streaming Chat Completions request for `mock-model` and to come back as an Anthropic stream. Last, a burst phase \
         (the mock's default reply switched to {BURST_DELTAS} deltas without pauses) loads direct, passthrough (`warn`) and \
         translated again for the per-chunk cost; memory is read before it."
    );
    let _ = writeln!(
        md,
        "- Body `{}` (streaming: `{}`); headers `content-type: application/json`, `x-api-key: bench`, `anthropic-version: 2023-06-01`.",
        load::BODY,
        load::STREAM_BODY
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
    if nagle_stall(stream) {
        let _ = writeln!(
            md,
            "**Diagnosis:** an added ≈ 40 ms on every frame after the first write, absent from the floor, is the signature of \
             Nagle's algorithm on the proxy's client-facing socket meeting the client's delayed ACK: Switchyard's accepted \
             connections lack `TCP_NODELAY` (`axum::serve` does not set it), so each SSE write waits for the ACK of the previous \
             one. The floor sets `TCP_NODELAY` and shows no such delay.\n"
        );
    }

    translated_section(&mut md, stream, burst, stream_concs, o.chunk_delay_ms);
    dialects::section(&mut md, dialect_cells, ticks, o.scale);

    let _ = writeln!(md, "## Memory (VmRSS)\n");
    let _ = writeln!(md, "| instance | after start (idle 1 s) | after the load (idle 3 s) | peak (VmHWM) | threads |");
    let _ = writeln!(md, "|:--|---:|---:|---:|---:|");
    for (name, a, b) in [
        ("RUST_LOG=warn", rss.warn_after_start, rss.warn_after_load),
        ("default info", rss.info_after_start, rss.info_after_load),
        (
            "translated (kind=openai), RUST_LOG=warn",
            rss.translated_after_start,
            rss.translated_after_load,
        ),
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

/// The burst phase's default reply: [`BURST_DELTAS`] one-word deltas, no pause between them.
fn burst_reply() -> String {
    let words: Vec<String> = (0..BURST_DELTAS).map(|i| format!("w{i}")).collect();
    serde_json::json!({
        "body": {
            "type": "message",
            "text": words.join(" "),
            "chunks": BURST_DELTAS,
            "chunk_delay_ms": 0,
        }
    })
    .to_string()
}

/// Replace the mock's default reply (`PUT /__mock/default`).
pub(crate) fn set_mock_default(mock: &Proc, reply: &str) -> Result<(), String> {
    let (status, body) = load::fetch(
        mock.addr,
        http::Method::PUT,
        "/__mock/default",
        reply.to_string(),
    )?;
    if !status.is_success() {
        return Err(format!(
            "mock PUT /__mock/default: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    Ok(())
}

/// The newest request the mock recorded: (path, its JSON body).
pub(crate) fn last_upstream_request(mock: &Proc) -> Result<(String, serde_json::Value), String> {
    let (status, body) = load::fetch(mock.addr, http::Method::GET, "/__mock/requests", "")?;
    if !status.is_success() {
        return Err(format!("mock /__mock/requests: HTTP {status}"));
    }
    let list: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("mock /__mock/requests: {e}"))?;
    let last = list
        .as_array()
        .and_then(|a| a.last())
        .ok_or("the mock recorded no request")?;
    let path = last["path"].as_str().unwrap_or_default().to_string();
    Ok((path, last["json"].clone()))
}

/// One streaming request through each Switchyard that the streaming rounds load, checked at
/// both ends: the translated one must reach the mock as a streaming Chat Completions request
/// for the mapped model, the passthrough one as an Anthropic Messages request, and both must
/// come back as complete Anthropic streams.
fn check_translation(s: &Servers) -> Result<(), String> {
    for (p, want_path, want_model) in [
        (&s.translated, "/v1/chat/completions", "mock-model"),
        (&s.warn, "/v1/messages", "claude-sonnet-4-5"),
    ] {
        let (status, body) = load::fetch(
            p.addr,
            http::Method::POST,
            "/v1/messages",
            load::STREAM_BODY,
        )?;
        let text = String::from_utf8_lossy(&body);
        if !status.is_success()
            || !text.contains("event: content_block_delta")
            || !text.contains("event: message_stop")
        {
            return Err(format!(
                "{}: the check request got HTTP {status} and no complete Anthropic stream: {}",
                p.name,
                text.chars().take(400).collect::<String>()
            ));
        }
        let (path, json) = last_upstream_request(&s.mock)?;
        if path != want_path
            || json["model"] != want_model
            || json["stream"] != serde_json::Value::Bool(true)
        {
            return Err(format!(
                "{}: the mock saw {path} with model {} and stream {}; expected {want_path}, {want_model}, true",
                p.name, json["model"], json["stream"]
            ));
        }
    }
    say("checked: translated requests reach the mock as streaming chat completions");
    Ok(())
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
    let openai_config = o.work_dir.join("config-openai.toml");
    procs::write_openai_config(&openai_config, mock.addr)?;

    say(&format!("start-up: {} runs", o.startup_runs));
    let startup = startup(o, &config)?;
    say(&format!(
        "start-up median {:.1} ms (min {:.1}, max {:.1})",
        startup.median_ms, startup.min_ms, startup.max_ms
    ));

    let start_sy = |name: &str, config: &Path, log: &str, level: Option<&str>| {
        let path = o.work_dir.join(log);
        let _ = std::fs::remove_file(&path);
        procs::spawn(
            name,
            switchyard_cmd(o, config, level),
            SY_PREFIX,
            &path,
            START_TIMEOUT,
            o.pidfile.as_deref(),
        )
        .map(|(p, _)| p)
    };
    let warn = start_sy(
        "switchyard (warn)",
        &config,
        "switchyard-warn.log",
        Some("warn"),
    )?;
    let info = start_sy("switchyard (info)", &config, "switchyard-info.log", None)?;
    let translated = start_sy(
        "switchyard (translated, warn)",
        &openai_config,
        "switchyard-translated.log",
        Some("warn"),
    )?;
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
        "mock {} (pid {}), switchyard warn {} (pid {}), info {} (pid {}), translated {} (pid {})",
        mock.addr,
        mock.pid(),
        warn.addr,
        warn.pid(),
        info.addr,
        info.pid(),
        translated.addr,
        translated.pid()
    ));
    std::thread::sleep(Duration::from_secs(1));
    let warn_after_start = procs::memory(warn.pid())?;
    let info_after_start = procs::memory(info.pid())?;
    let floor_after_start = procs::memory(base.pid())?;
    let translated_after_start = procs::memory(translated.pid())?;
    let servers = Servers {
        mock,
        base,
        warn,
        info,
        translated,
    };
    check_translation(&servers)?;

    let plain_concs = [1, 16, 64];
    let stream_concs = [1, 16];
    let plain = rounds(
        o,
        &servers,
        ticks,
        Phase::Plain,
        &plain_concs,
        &PLAIN_TARGETS,
    )?;
    let stream = rounds(
        o,
        &servers,
        ticks,
        Phase::Stream,
        &stream_concs,
        &STREAM_TARGETS,
    )?;

    say("waiting 3 s for the proxies to go idle");
    std::thread::sleep(Duration::from_secs(3));
    // Read before the burst phase, which only some instances take part in.
    let rss = Rss {
        warn_after_start,
        warn_after_load: procs::memory(servers.warn.pid())?,
        info_after_start,
        info_after_load: procs::memory(servers.info.pid())?,
        floor_after_start,
        floor_after_load: procs::memory(servers.base.pid())?,
        translated_after_start,
        translated_after_load: procs::memory(servers.translated.pid())?,
    };
    set_mock_default(&servers.mock, &burst_reply())?;
    let burst = rounds(
        o,
        &servers,
        ticks,
        Phase::Burst,
        &stream_concs,
        &BURST_TARGETS,
    )?;

    say("dialect pairs: one switchyard per provider kind, every client dialect");
    set_mock_default(&servers.mock, &dialects::reply())?;
    let mut kinds = Vec::new();
    for k in &dialects::KINDS {
        let cfg = o.work_dir.join(format!("config-{}.toml", k.name));
        dialects::write_config(&cfg, servers.mock.addr, k)?;
        let p = start_sy(
            &format!("switchyard (kind {}, warn)", k.name),
            &cfg,
            &format!("switchyard-{}.log", k.name),
            Some("warn"),
        )?;
        kinds.push((k, p));
    }
    dialects::check(&kinds, &servers.mock, |m| {
        last_upstream_request(m).map(|(path, _)| path)
    })?;
    say("checked: every client dialect reaches every provider kind's face and gets its own dialect back");
    let dialect_cells = dialects::measure(&kinds, o.rounds, o.scale, say)?;

    let load_after = loadavg();
    let kind_procs = kinds.iter().map(|(_, p)| p);
    for p in [&servers.warn, &servers.info, &servers.translated]
        .into_iter()
        .chain(kind_procs)
    {
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
    drop(kinds);
    drop(servers);

    let raw = Raw {
        startup: &startup,
        rss: &rss,
        plain: &plain,
        stream: &stream,
        burst: &burst,
        dialects: &dialect_cells,
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
        &burst,
        &plain_concs,
        &stream_concs,
        &dialect_cells,
        ticks,
    ))
}
