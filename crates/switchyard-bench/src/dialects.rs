//! Translation cost per dialect pair: for each client dialect (Anthropic Messages, OpenAI Chat
//! Completions, OpenAI Responses, Gemini) and each provider kind (`anthropic`, `openai`,
//! `gemini`, `openai-responses`), Switchyard's own CPU time per request, non-streaming and
//! streaming, against the mock's face for that kind. The same-dialect cells are the
//! passthrough (the client's bytes go as they came); every other cell is read into the hub and
//! encoded for the provider, and its answer translated back.
//!
//! One `switchyard serve` (`RUST_LOG=warn`) per provider kind, each with one provider on the
//! mock and no model map (the client's model goes upstream as it is, so passthrough cells do
//! no rewriting either); the mock answers every face with the same reply of [`DELTAS`] deltas
//! and no pauses. Bounded: a few seconds per round at `--scale 1`.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;

use crate::load::{self, Spec};
use crate::procs::{self, Proc};

/// Deltas in the mock's reply while this part runs.
pub const DELTAS: usize = 16;
/// Concurrent connections per run (a few, so that per-request CPU is not all wake-ups).
const CONCURRENCY: usize = 4;
/// Measured requests per run at `--scale 1`.
const PLAIN_REQUESTS: usize = 1500;
const STREAM_REQUESTS: usize = 600;
/// Rounds at most (the suite's `--rounds`, capped: the figures are pooled over rounds).
const MAX_ROUNDS: usize = 3;

/// A client dialect: where it posts and what.
pub struct Inbound {
    /// Short name for the tables.
    pub name: &'static str,
    /// Shorter, for progress lines.
    code: &'static str,
    plain_path: &'static str,
    stream_path: &'static str,
    plain_body: &'static str,
    stream_body: &'static str,
    /// What marks a content delta in its streams.
    marker: &'static [u8],
}

/// Every client dialect, in table order.
pub const INBOUND: [Inbound; 4] = [
    Inbound {
        name: "Anthropic Messages",
        code: "msg",
        plain_path: "/v1/messages",
        stream_path: "/v1/messages",
        plain_body: load::BODY,
        stream_body: load::STREAM_BODY,
        marker: load::ANTHROPIC_DELTA,
    },
    Inbound {
        name: "OpenAI Chat",
        code: "chat",
        plain_path: "/v1/chat/completions",
        stream_path: "/v1/chat/completions",
        plain_body: r#"{"model":"gpt-5","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}"#,
        stream_body: r#"{"model":"gpt-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello"}]}"#,
        marker: br#""content""#,
    },
    Inbound {
        name: "OpenAI Responses",
        code: "resp",
        plain_path: "/v1/responses",
        stream_path: "/v1/responses",
        plain_body: r#"{"model":"gpt-5.1-codex","max_output_tokens":64,"store":false,"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hello"}]}]}"#,
        stream_body: r#"{"model":"gpt-5.1-codex","max_output_tokens":64,"store":false,"stream":true,"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hello"}]}]}"#,
        marker: b"response.output_text.delta",
    },
    Inbound {
        name: "Gemini",
        code: "gem",
        plain_path: "/v1beta/models/gemini-2.5-flash:generateContent",
        stream_path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        plain_body: r#"{"contents":[{"role":"user","parts":[{"text":"hello"}]}],"generationConfig":{"maxOutputTokens":64}}"#,
        stream_body: r#"{"contents":[{"role":"user","parts":[{"text":"hello"}]}],"generationConfig":{"maxOutputTokens":64}}"#,
        marker: br#""text""#,
    },
];

/// A provider kind: its config name, the mock face's base URL suffix, and what the mock's
/// request path must contain when a request reaches that face.
pub struct Kind {
    /// `kind = "..."` in the config.
    pub name: &'static str,
    base_suffix: &'static str,
    path_has: &'static str,
    /// The client dialect it speaks (its passthrough cell), as an index into [`INBOUND`].
    native: usize,
}

/// Every provider kind, in column order.
pub const KINDS: [Kind; 4] = [
    Kind {
        name: "anthropic",
        base_suffix: "",
        path_has: "/v1/messages",
        native: 0,
    },
    Kind {
        name: "openai",
        base_suffix: "/v1",
        path_has: "/chat/completions",
        native: 1,
    },
    Kind {
        name: "openai-responses",
        base_suffix: "/v1",
        path_has: "/responses",
        native: 2,
    },
    Kind {
        name: "gemini",
        base_suffix: "",
        path_has: "Content",
        native: 3,
    },
];

/// One measured run.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub round: usize,
    pub inbound: &'static str,
    pub kind: &'static str,
    pub stream: bool,
    /// Switchyard's CPU over the run, µs.
    pub cpu_us: f64,
    /// Read per thread in ns (else from clock ticks: a thread ended mid-run, or no schedstat).
    pub fine: bool,
    /// Requests the CPU is divided by (measured + warm-up).
    pub requests_done: f64,
    pub p50_us: f64,
    pub throughput_rps: f64,
    pub errors: u64,
}

/// The mock's default reply for this part: [`DELTAS`] one-word deltas, no pauses.
pub fn reply() -> String {
    let words: Vec<String> = (0..DELTAS).map(|i| format!("w{i}")).collect();
    serde_json::json!({
        "body": {"type": "message", "text": words.join(" "), "chunks": DELTAS, "chunk_delay_ms": 0}
    })
    .to_string()
}

/// A Switchyard config with one provider of `kind` on the mock's face for it.
pub fn write_config(path: &Path, mock: SocketAddr, kind: &Kind) -> Result<(), String> {
    let text = format!(
        "listen = \"127.0.0.1:0\"\n\n[[providers]]\nid = \"mock-{0}\"\nkind = \"{0}\"\n\
         base_url = \"http://{mock}{1}\"\ncredential = \"none\"\n",
        kind.name, kind.base_suffix
    );
    File::create(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn spec(addr: SocketAddr, i: &Inbound, stream: bool, scale: f64) -> Spec {
    let base = if stream {
        STREAM_REQUESTS
    } else {
        PLAIN_REQUESTS
    };
    let n = ((base as f64 * scale).round() as usize).max(CONCURRENCY * 10);
    let mut s = Spec::new(addr, CONCURRENCY, n, stream);
    s.path = if stream { i.stream_path } else { i.plain_path }.to_string();
    s.body = Some(Bytes::from_static(
        if stream { i.stream_body } else { i.plain_body }.as_bytes(),
    ));
    s.delta_marker = i.marker;
    s.max_duration = Duration::from_secs(10);
    s
}

/// One request of every pair, checked at both ends before anything is measured: the
/// answer is a success in the client's dialect (a stream with deltas when one was asked for),
/// and the mock saw it at the provider kind's face.
pub fn check(
    servers: &[(&Kind, Proc)],
    mock: &Proc,
    last_path: impl Fn(&Proc) -> Result<String, String>,
) -> Result<(), String> {
    for (kind, sy) in servers {
        for i in &INBOUND {
            for stream in [false, true] {
                let s = spec(sy.addr, i, stream, 1.0);
                let body = s.body.clone().unwrap_or_default();
                let (status, answer) = load::fetch(sy.addr, http::Method::POST, &s.path, body)?;
                let text = String::from_utf8_lossy(&answer);
                let marker = String::from_utf8_lossy(i.marker);
                if !status.is_success() || (stream && !text.contains(&*marker)) {
                    return Err(format!(
                        "{} client → kind {} (stream {stream}): HTTP {status}: {}",
                        i.name,
                        kind.name,
                        text.chars().take(300).collect::<String>()
                    ));
                }
                let path = last_path(mock)?;
                if !path.contains(kind.path_has) {
                    return Err(format!(
                        "{} client → kind {}: the mock saw {path}, not its {} face",
                        i.name, kind.name, kind.name
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Every pair, non-streaming and streaming, for up to [`MAX_ROUNDS`] rounds (the order of the
/// kinds rotating every round).
pub fn measure(
    servers: &[(&Kind, Proc)],
    ticks: u64,
    rounds: usize,
    scale: f64,
    say: impl Fn(&str),
) -> Result<Vec<Cell>, String> {
    let mut out = Vec::new();
    let rounds = rounds.clamp(1, MAX_ROUNDS);
    for round in 0..rounds {
        let mut order: Vec<&(&Kind, Proc)> = servers.iter().collect();
        order.rotate_left(round % servers.len().max(1));
        for (kind, sy) in order {
            let mut line = format!("dialects round {}/{rounds}, kind {}:", round + 1, kind.name);
            for i in &INBOUND {
                for stream in [false, true] {
                    std::thread::sleep(Duration::from_millis(30));
                    let s = spec(sy.addr, i, stream, scale);
                    let ns0 = procs::thread_cpu_ns(sy.pid());
                    let cpu0 = procs::cpu_ticks(sy.pid())?;
                    let r = load::run(&s).map_err(|e| {
                        format!(
                            "{} client → kind {} (stream {stream}): {e}",
                            i.name, kind.name
                        )
                    })?;
                    let cpu1 = procs::cpu_ticks(sy.pid())?;
                    let ns = procs::cpu_ns_between(&ns0, &procs::thread_cpu_ns(sy.pid()));
                    let cpu_us = ns.map_or_else(
                        || cpu1.saturating_sub(cpu0) as f64 * 1e6 / ticks.max(1) as f64,
                        |ns| ns as f64 / 1e3,
                    );
                    let done = (r.total.n + s.warmup.div_ceil(CONCURRENCY) * CONCURRENCY).max(1);
                    let _ = write!(
                        line,
                        " {}{}={:.0}rps",
                        i.code,
                        if stream { "/s" } else { "" },
                        r.throughput_rps
                    );
                    out.push(Cell {
                        round,
                        inbound: i.name,
                        kind: kind.name,
                        stream,
                        cpu_us,
                        fine: ns.is_some(),
                        requests_done: done as f64,
                        p50_us: r.total.p50,
                        throughput_rps: r.throughput_rps,
                        errors: r.errors,
                    });
                }
            }
            say(&line);
        }
    }
    Ok(out)
}

/// CPU µs per request of one pair, pooled over rounds (total CPU / total requests).
fn cpu_us(cells: &[Cell], inbound: &str, kind: &str, stream: bool) -> Option<f64> {
    let (t, n) = cells
        .iter()
        .filter(|c| c.inbound == inbound && c.kind == kind && c.stream == stream)
        .fold((0.0, 0.0), |(t, n), c| (t + c.cpu_us, n + c.requests_done));
    (n > 0.0).then(|| t / n)
}

fn fig(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:.0}"))
}

fn signed(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:+.0}"))
}

/// The report section: per pair, CPU µs per request beside the client dialect's passthrough.
/// `ticks`: clock ticks per second (the resolution of runs not read per thread).
pub fn section(md: &mut String, cells: &[Cell], ticks: u64, scale: f64) {
    let _ = writeln!(
        md,
        "## Translation cost per dialect pair (CPU µs per request)\n"
    );
    if cells.is_empty() {
        let _ = writeln!(md, "Not measured in this run.\n");
        return;
    }
    let rounds = cells.iter().map(|c| c.round).max().map_or(0, |r| r + 1);
    let _ = writeln!(
        md,
        "Switchyard's own CPU time per request (the sum over its threads of `/proc/PID/task/TID/schedstat`, ns), pooled \
         over {rounds} round(s): one `switchyard serve` (`RUST_LOG=warn`) per provider kind, each with one provider on the mock's face for that kind \
         (`credential = \"none\"`, no model map), loaded by each client dialect in turn, {CONCURRENCY} keep-alive connections, \
         {} non-streaming and {} streaming requests per run (plus 10 % warm-up). The mock answers every face with {DELTAS} \
         deltas and no pauses. Rows: what the client speaks; columns: what the provider speaks. **Bold** = the same dialect \
         on both sides, the passthrough (the client's own request goes upstream untranslated); every other cell reads \
         the request into the hub, encodes it for the provider and translates the answer back.\n",
        ((PLAIN_REQUESTS as f64 * scale).round() as usize).max(CONCURRENCY * 10),
        ((STREAM_REQUESTS as f64 * scale).round() as usize).max(CONCURRENCY * 10),
    );
    for (stream, title) in [(false, "Non-streaming"), (true, "Streaming")] {
        let _ = writeln!(
            md,
            "### {title}: CPU µs per request (in brackets: minus the row's passthrough)\n"
        );
        let mut head = String::from("| client \\ provider kind |");
        let mut rule = String::from("|:--|");
        for k in &KINDS {
            let _ = write!(head, " `{}` |", k.name);
            rule.push_str("---:|");
        }
        let _ = writeln!(md, "{head}\n{rule}");
        for (row, i) in INBOUND.iter().enumerate() {
            let pass = KINDS
                .iter()
                .find(|k| k.native == row)
                .and_then(|k| cpu_us(cells, i.name, k.name, stream));
            let mut line = format!("| {} |", i.name);
            for k in &KINDS {
                let v = cpu_us(cells, i.name, k.name, stream);
                if k.native == row {
                    let _ = write!(line, " **{}** |", fig(v));
                } else {
                    let extra = v.zip(pass).map(|(v, p)| v - p);
                    let _ = write!(line, " {} ({}) |", fig(v), signed(extra));
                }
            }
            let _ = writeln!(md, "{line}");
        }
        let _ = writeln!(md);
    }
    let errors: u64 = cells.iter().map(|c| c.errors).sum();
    let coarse = cells.iter().filter(|c| !c.fine).count();
    let _ = write!(
        md,
        "The mock's CPU is not counted. Failed requests in this part: {errors}."
    );
    if coarse > 0 {
        // One tick over the fewest requests of a run: how coarse those runs are.
        let fewest = cells
            .iter()
            .map(|c| c.requests_done)
            .fold(f64::MAX, f64::min);
        let _ = write!(
            md,
            " {coarse} of {} runs were read from `/proc/PID/stat` instead (a thread ended during the run, or no \
             schedstat): in clock ticks of {} µs, good to about ±{:.0} µs per request.",
            cells.len(),
            1_000_000u64.checked_div(ticks).unwrap_or(0),
            1e6 / ticks.max(1) as f64 / fewest.max(1.0),
        );
    }
    let _ = writeln!(md, "\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_native_to_one_client_dialect() {
        let mut natives: Vec<usize> = KINDS.iter().map(|k| k.native).collect();
        natives.sort_unstable();
        assert_eq!(natives, [0, 1, 2, 3]);
        for i in &INBOUND {
            for b in [i.plain_body, i.stream_body] {
                serde_json::from_str::<serde_json::Value>(b).expect("body is JSON");
            }
            assert!(!i.marker.is_empty());
        }
    }

    #[test]
    fn the_table_pools_rounds_and_subtracts_the_rows_passthrough() {
        let cell = |round, inbound, kind, ticks| Cell {
            round,
            inbound,
            kind,
            stream: false,
            cpu_us: ticks as f64 * 1e4,
            fine: true,
            requests_done: 1000.0,
            p50_us: 0.0,
            throughput_rps: 0.0,
            errors: 0,
        };
        let cells = vec![
            cell(0, "Gemini", "gemini", 10),
            cell(1, "Gemini", "gemini", 30),
            cell(0, "Gemini", "openai", 50),
            cell(1, "Gemini", "openai", 50),
        ];
        // 40 × 10 ms over 2000 requests.
        assert_eq!(cpu_us(&cells, "Gemini", "gemini", false), Some(200.0));
        assert_eq!(cpu_us(&cells, "Gemini", "openai", false), Some(500.0));
        assert_eq!(cpu_us(&cells, "Gemini", "anthropic", false), None);
        let mut md = String::new();
        section(&mut md, &cells, 100, 1.0);
        assert!(
            md.contains("| Gemini | – (–) | 500 (+300) | – (–) | **200** |"),
            "{md}"
        );
    }
}
