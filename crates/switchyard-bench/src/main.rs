//! `switchyard-bench`: how much latency, memory and start-up time Switchyard adds, measured
//! against a direct connection to the same mock upstream. Loopback only.
//!
//! `all` runs the whole suite and writes the markdown report; `team` measures what team mode
//! (Redis) adds; `latency`, `startup` and `rss` are the pieces, for ad-hoc use.

mod dialects;
mod load;
mod notices;
mod passthrough;
mod procs;
mod stats;
mod suite;
mod team;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// Switchyard load and start-up benchmarks (loopback only, bounded in count and time).
#[derive(Parser)]
#[command(name = "switchyard-bench", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the whole suite (spawns the mock and Switchyard) and write the markdown report.
    All {
        /// The `switchyard` binary.
        #[arg(long, default_value = "target/release/switchyard")]
        switchyard: PathBuf,
        /// The `switchyard-mock` binary.
        #[arg(long, default_value = "target/release/switchyard-mock")]
        mock: PathBuf,
        /// Write the report here (it is always printed to stdout too).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Configs, logs and raw.json go here.
        #[arg(long, default_value = "target/bench")]
        work_dir: PathBuf,
        /// Rounds of direct/proxy runs (medians are taken over rounds).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Timed start-up runs.
        #[arg(long, default_value_t = 20)]
        startup_runs: usize,
        /// Multiply every run's request count (e.g. 0.1 for a smoke test).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// The mock's pause between stream deltas, ms.
        #[arg(long, default_value_t = 2)]
        chunk_delay_ms: u64,
        /// The command line to record in the report [default: this one].
        #[arg(long)]
        command: Option<String>,
        /// The commit to record in the report.
        #[arg(long, default_value = "unknown")]
        commit: String,
        /// Append the pid of every child started to this file (for the caller's cleanup).
        #[arg(long)]
        pidfile: Option<PathBuf>,
    },
    /// What team mode adds to a request: engines alone vs in a team on a local redis-server
    /// (started and stopped here), with and without a Redis round trip; the markdown report.
    Team {
        /// The `switchyard-mock` binary.
        #[arg(long, default_value = "target/release/switchyard-mock")]
        mock: PathBuf,
        /// Write the report here (it is always printed to stdout too).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Logs go here.
        #[arg(long, default_value = "target/bench/team")]
        work_dir: PathBuf,
        /// Rounds (medians are taken over rounds).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Measured requests per worker per run.
        #[arg(long, default_value_t = 1500)]
        requests: usize,
        /// Append the pid of every child started to this file (for the caller's cleanup).
        #[arg(long)]
        pidfile: Option<PathBuf>,
    },
    /// Load one URL and print latency percentiles as JSON.
    Latency {
        /// Base URL, `http://127.0.0.1:PORT` (loopback only).
        #[arg(long)]
        url: String,
        /// Request path.
        #[arg(long, default_value = "/v1/messages")]
        path: String,
        /// Concurrent keep-alive connections.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Measured requests in total.
        #[arg(long, default_value_t = 1000)]
        requests: usize,
        /// Unmeasured warm-up requests in total [default: 10 % of --requests].
        #[arg(long)]
        warmup: Option<usize>,
        /// Ask for SSE streams (adds first-byte and first-delta times).
        #[arg(long)]
        stream: bool,
        /// Stop the measured phase after this many seconds.
        #[arg(long, default_value_t = 30)]
        max_secs: u64,
    },
    /// Time `switchyard serve` from spawn to its "listening" line.
    Startup {
        /// The `switchyard` binary.
        #[arg(long, default_value = "target/release/switchyard")]
        bin: PathBuf,
        /// Config file.
        #[arg(long)]
        config: PathBuf,
        /// Timed runs (after one untimed run).
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// A bare axum + reqwest forwarder to the upstream: the floor Switchyard is compared with.
    Passthrough {
        /// Address to listen on (loopback only; port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        /// Upstream base URL, `http://127.0.0.1:PORT`.
        #[arg(long)]
        upstream: String,
    },
    /// Count the desktop notifications the app's policy would show for a running Switchyard's
    /// events (until stdin closes), as JSON.
    Notices {
        /// Base URL, `http://127.0.0.1:PORT` (loopback only).
        #[arg(long)]
        url: String,
        /// Stop after this many seconds at the latest.
        #[arg(long, default_value_t = 600)]
        max_secs: u64,
    },
    /// Print VmRSS / VmHWM / threads of a process as JSON.
    Rss {
        /// Process id.
        #[arg(long)]
        pid: u32,
    },
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Cmd::All {
            switchyard,
            mock,
            out,
            work_dir,
            rounds,
            startup_runs,
            scale,
            chunk_delay_ms,
            command,
            commit,
            pidfile,
        } => {
            if !(scale > 0.0 && scale <= 10.0) {
                return Err("--scale must be in (0, 10]".into());
            }
            let opts = suite::Options {
                switchyard,
                mock,
                work_dir,
                rounds: rounds.clamp(1, 20),
                startup_runs: startup_runs.clamp(1, 200),
                scale,
                chunk_delay_ms,
                command: command.unwrap_or_else(|| std::env::args().collect::<Vec<_>>().join(" ")),
                commit,
                pidfile,
            };
            let md = suite::all(&opts)?;
            if let Some(path) = &out {
                std::fs::write(path, &md).map_err(|e| format!("{}: {e}", path.display()))?;
                eprintln!("[bench] wrote {}", path.display());
            }
            println!("{md}");
            Ok(())
        }
        Cmd::Team {
            mock,
            out,
            work_dir,
            rounds,
            requests,
            pidfile,
        } => {
            let opts = team::Options {
                mock,
                work_dir,
                rounds: rounds.clamp(1, 20),
                requests: requests.clamp(10, 100_000),
                pidfile,
            };
            let md = team::run(&opts)?;
            if let Some(path) = &out {
                team::write(path, &md)?;
                eprintln!("[bench] wrote {}", path.display());
            }
            println!("{md}");
            Ok(())
        }
        Cmd::Latency {
            url,
            path,
            concurrency,
            requests,
            warmup,
            stream,
            max_secs,
        } => {
            let addr = load::parse_url(&url)?;
            let mut spec = load::Spec::new(addr, concurrency, requests, stream);
            spec.path = path;
            if let Some(w) = warmup {
                spec.warmup = w;
            }
            spec.max_duration = Duration::from_secs(max_secs.clamp(1, 600));
            let r = load::run(&spec)?;
            let json = serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?;
            println!("{json}");
            Ok(())
        }
        Cmd::Notices { url, max_secs } => {
            load::parse_url(&url)?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let counts = rt.block_on(notices::run(
                url.trim_end_matches('/'),
                Duration::from_secs(max_secs.clamp(1, 3600)),
            ))?;
            let json = serde_json::to_string_pretty(&counts).map_err(|e| e.to_string())?;
            println!("{json}");
            Ok(())
        }
        Cmd::Startup { bin, config, runs } => {
            let log = std::env::temp_dir().join(format!(
                "switchyard-bench-startup-{}.log",
                std::process::id()
            ));
            let mut ms = Vec::new();
            for i in 0..=runs.clamp(1, 200) {
                let mut cmd = std::process::Command::new(&bin);
                cmd.arg("serve")
                    .arg("--config")
                    .arg(&config)
                    .args(["--listen", "127.0.0.1:0"]);
                let (p, took) = procs::spawn(
                    "switchyard",
                    cmd,
                    "switchyard listening on ",
                    &log,
                    Duration::from_secs(10),
                    None,
                )?;
                drop(p);
                if i > 0 {
                    ms.push(took.as_secs_f64() * 1000.0);
                }
            }
            let _ = std::fs::remove_file(&log);
            let (min, max) = stats::range(&ms);
            let json = serde_json::json!({
                "runs": ms.len(),
                "median_ms": stats::median(&ms),
                "min_ms": min,
                "max_ms": max,
                "runs_ms": ms,
            });
            println!("{json:#}");
            Ok(())
        }
        Cmd::Passthrough { listen, upstream } => passthrough::run(listen, &upstream),
        Cmd::Rss { pid } => {
            let m = procs::memory(pid)?;
            let json = serde_json::to_string(&m).map_err(|e| e.to_string())?;
            println!("{json}");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchyard-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
