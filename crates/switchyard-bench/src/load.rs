//! The load generator: N workers, each with its own HTTP/1.1 keep-alive connection, doing
//! sequential requests and timing each one with a monotonic clock.
//!
//! It runs on a single-threaded Tokio runtime so that on a small machine it takes one core
//! at most and leaves the rest to the servers under test.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::Barrier;

use crate::stats::{summarize, Summary};

/// The non-streaming request body.
pub const BODY: &str = r#"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}"#;
/// The streaming request body.
pub const STREAM_BODY: &str = r#"{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello"}]}"#;

/// What marks a content delta in an Anthropic stream (the default dialect).
pub const ANTHROPIC_DELTA: &[u8] = b"content_block_delta";

/// Give up on a run after this many failed requests.
const MAX_ERRORS: u64 = 50;

/// One load run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Where to connect (loopback only).
    pub addr: SocketAddr,
    /// Request path.
    pub path: String,
    /// Workers, each with one keep-alive connection.
    pub concurrency: usize,
    /// Measured requests in total (split evenly across workers).
    pub requests: usize,
    /// Unmeasured requests in total before the measured ones.
    pub warmup: usize,
    /// Ask for an SSE stream.
    pub stream: bool,
    /// Hard stop for the measured phase.
    pub max_duration: Duration,
    /// The request body [default: [`BODY`], or [`STREAM_BODY`] for streams].
    pub body: Option<Bytes>,
    /// Bytes that mark a stream frame as a content delta (the dialect's; default
    /// [`ANTHROPIC_DELTA`]).
    pub delta_marker: &'static [u8],
}

impl Spec {
    /// A spec with the default path and warm-up (10 % of the requests, at least one per worker).
    pub fn new(addr: SocketAddr, concurrency: usize, requests: usize, stream: bool) -> Spec {
        let concurrency = concurrency.max(1);
        Spec {
            addr,
            path: "/v1/messages".into(),
            concurrency,
            requests: requests.max(concurrency),
            warmup: (requests / 10).max(concurrency),
            stream,
            max_duration: Duration::from_secs(30),
            body: None,
            delta_marker: ANTHROPIC_DELTA,
        }
    }
}

/// Raw samples of one run, nanoseconds.
#[derive(Debug, Default)]
pub struct Samples {
    /// Request sent to last body byte read.
    pub total: Vec<u64>,
    /// Request sent to the first non-empty body chunk.
    pub first_byte: Vec<u64>,
    /// Request sent to the chunk completing the first `content_block_delta` (streams only).
    pub first_delta: Vec<u64>,
    /// Request sent to the chunk completing the last `content_block_delta` (streams only).
    pub last_delta: Vec<u64>,
    /// Mean gap between consecutive `content_block_delta`s of one stream (streams with at
    /// least two deltas).
    pub delta_gap: Vec<u64>,
    /// `content_block_delta`s over all measured streams.
    pub deltas: u64,
    /// Failed requests (non-2xx, connection errors).
    pub errors: u64,
    /// The first error seen, for the report.
    pub first_error: Option<String>,
    /// Wall time of the measured phase.
    pub elapsed: Duration,
    /// The measured phase hit `max_duration` before all requests were done.
    pub timed_out: bool,
}

/// Summary of one run, microseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunResult {
    pub concurrency: usize,
    pub stream: bool,
    pub total: Summary,
    pub first_byte: Summary,
    pub first_delta: Summary,
    pub last_delta: Summary,
    /// Per stream: (last delta − first delta) / (deltas − 1), µs.
    pub delta_gap: Summary,
    /// `content_block_delta`s per measured stream, mean.
    pub deltas_per_stream: f64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed_s: f64,
    pub throughput_rps: f64,
    pub timed_out: bool,
}

impl Samples {
    /// Sort and summarise.
    pub fn finish(mut self, spec: &Spec) -> RunResult {
        let elapsed_s = self.elapsed.as_secs_f64();
        let n = self.total.len();
        RunResult {
            concurrency: spec.concurrency,
            stream: spec.stream,
            total: summarize(&mut self.total),
            first_byte: summarize(&mut self.first_byte),
            first_delta: summarize(&mut self.first_delta),
            last_delta: summarize(&mut self.last_delta),
            delta_gap: summarize(&mut self.delta_gap),
            deltas_per_stream: if spec.stream && n > 0 {
                self.deltas as f64 / n as f64
            } else {
                0.0
            },
            errors: self.errors,
            first_error: self.first_error,
            elapsed_s,
            throughput_rps: if elapsed_s > 0.0 {
                n as f64 / elapsed_s
            } else {
                0.0
            },
            timed_out: self.timed_out,
        }
    }
}

struct Sample {
    total: u64,
    first_byte: Option<u64>,
    first_delta: Option<u64>,
    last_delta: Option<u64>,
    deltas: u32,
}

struct Worker {
    sender: SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    host: http::HeaderValue,
    path: String,
    body: Bytes,
    stream: bool,
    marker: &'static [u8],
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    tcp.set_nodelay(true)
        .map_err(|e| format!("set_nodelay: {e}"))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("HTTP handshake with {addr}: {e}"))?;
    tokio::spawn(async move {
        // Ends when the sender is dropped or the peer closes.
        let _ = conn.await;
    });
    Ok(sender)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Splits an SSE body into frames (ended by a blank line) as its chunks arrive and counts the
/// delta frames (`content_block_delta` in Anthropic's dialect).
struct FrameScan {
    /// The unfinished frame so far.
    buf: Vec<u8>,
    /// What makes a frame a delta (never empty).
    marker: &'static [u8],
}

impl Default for FrameScan {
    fn default() -> Self {
        FrameScan::new(ANTHROPIC_DELTA)
    }
}

impl FrameScan {
    fn new(marker: &'static [u8]) -> Self {
        FrameScan {
            buf: Vec::new(),
            marker: if marker.is_empty() {
                ANTHROPIC_DELTA
            } else {
                marker
            },
        }
    }

    /// Feed one body chunk; returns how many delta frames it completed.
    fn push(&mut self, data: &[u8]) -> u32 {
        // A blank line may straddle two chunks: look again from just before the new bytes.
        let mut from = self.buf.len().saturating_sub(1);
        self.buf.extend_from_slice(data);
        let mut start = 0;
        let mut n = 0;
        while let Some(i) = self.buf[from..].windows(2).position(|w| w == b"\n\n") {
            let end = from + i;
            if contains(&self.buf[start..end], self.marker) {
                n += 1;
            }
            start = end + 2;
            from = start;
        }
        self.buf.drain(..start);
        n
    }
}

impl Worker {
    async fn new(spec: &Spec) -> Result<Worker, String> {
        let host = http::HeaderValue::from_str(&spec.addr.to_string())
            .map_err(|e| format!("bad host header: {e}"))?;
        Ok(Worker {
            sender: connect(spec.addr).await?,
            addr: spec.addr,
            host,
            path: spec.path.clone(),
            body: spec.body.clone().unwrap_or_else(|| {
                Bytes::from_static(if spec.stream {
                    STREAM_BODY.as_bytes()
                } else {
                    BODY.as_bytes()
                })
            }),
            stream: spec.stream,
            marker: spec.delta_marker,
        })
    }

    fn request(&self) -> Result<Request<Full<Bytes>>, String> {
        build_request(
            Method::POST,
            self.host.clone(),
            &self.path,
            self.body.clone(),
        )
    }

    /// One request, timed from just before it is handed to the connection until its body
    /// is fully read.
    async fn one(&mut self) -> Result<Sample, String> {
        if self.sender.is_closed() {
            self.sender = connect(self.addr).await?;
        }
        self.sender
            .ready()
            .await
            .map_err(|e| format!("connection not ready: {e}"))?;
        let req = self.request()?;
        let t0 = Instant::now();
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = resp.status();
        let mut body = resp.into_body();
        let mut first_byte = None;
        let mut first_delta = None;
        let mut last_delta = None;
        let mut deltas = 0u32;
        let mut frames = FrameScan::new(self.marker);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| format!("body read failed: {e}"))?;
            let Some(data) = frame.data_ref() else {
                continue;
            };
            if data.is_empty() {
                continue;
            }
            if first_byte.is_none() {
                first_byte = Some(t0.elapsed().as_nanos() as u64);
            }
            if self.stream {
                // A delta counts once its frame is complete (its blank line has arrived).
                let n = frames.push(data);
                if n > 0 {
                    let at = t0.elapsed().as_nanos() as u64;
                    first_delta.get_or_insert(at);
                    last_delta = Some(at);
                    deltas += n;
                }
            }
        }
        let total = t0.elapsed().as_nanos() as u64;
        if !status.is_success() {
            return Err(format!("HTTP status {status}"));
        }
        if self.stream && first_delta.is_none() {
            return Err(format!(
                "stream without a delta ({})",
                String::from_utf8_lossy(self.marker)
            ));
        }
        Ok(Sample {
            total,
            first_byte,
            first_delta,
            last_delta,
            deltas,
        })
    }
}

struct WorkerOut {
    samples: Vec<Sample>,
    errors: u64,
    first_error: Option<String>,
    start: Instant,
    end: Instant,
    timed_out: bool,
}

async fn worker(
    spec: Spec,
    measured: usize,
    warmup: usize,
    barrier: std::sync::Arc<Barrier>,
) -> Result<WorkerOut, String> {
    let mut w = Worker::new(&spec).await?;
    let mut errors = 0u64;
    let mut first_error = None;
    let mut note = |e: String, errors: &mut u64| -> Result<(), String> {
        *errors += 1;
        if first_error.is_none() {
            first_error = Some(e.clone());
        }
        if *errors > MAX_ERRORS {
            return Err(format!("too many failed requests; first: {e}"));
        }
        Ok(())
    };
    for _ in 0..warmup {
        if let Err(e) = w.one().await {
            note(e, &mut errors)?;
        }
    }
    // Everybody connected and warm: start the measured phase together.
    barrier.wait().await;
    let start = Instant::now();
    let deadline = start + spec.max_duration;
    let mut samples = Vec::with_capacity(measured);
    let mut timed_out = false;
    for _ in 0..measured {
        if Instant::now() >= deadline {
            timed_out = true;
            break;
        }
        match w.one().await {
            Ok(s) => samples.push(s),
            Err(e) => note(e, &mut errors)?,
        }
    }
    Ok(WorkerOut {
        samples,
        errors,
        first_error,
        start,
        end: Instant::now(),
        timed_out,
    })
}

async fn run_async(spec: &Spec) -> Result<Samples, String> {
    let n = spec.concurrency;
    let per_worker = spec.requests.div_ceil(n);
    let warm_per_worker = spec.warmup.div_ceil(n);
    let barrier = std::sync::Arc::new(Barrier::new(n));
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        handles.push(tokio::spawn(worker(
            spec.clone(),
            per_worker,
            warm_per_worker,
            barrier.clone(),
        )));
    }
    let mut out = Samples::default();
    let mut start: Option<Instant> = None;
    let mut end: Option<Instant> = None;
    let mut failure = None;
    for h in handles {
        match h.await {
            Ok(Ok(w)) => {
                start = Some(start.map_or(w.start, |s| s.min(w.start)));
                end = Some(end.map_or(w.end, |e| e.max(w.end)));
                out.errors += w.errors;
                if out.first_error.is_none() {
                    out.first_error = w.first_error;
                }
                out.timed_out |= w.timed_out;
                for s in w.samples {
                    out.total.push(s.total);
                    if let Some(b) = s.first_byte {
                        out.first_byte.push(b);
                    }
                    if let Some(d) = s.first_delta {
                        out.first_delta.push(d);
                        if let Some(l) = s.last_delta {
                            out.last_delta.push(l);
                            if s.deltas > 1 {
                                out.delta_gap.push((l - d) / u64::from(s.deltas - 1));
                            }
                        }
                    }
                    out.deltas += u64::from(s.deltas);
                }
            }
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(e) => failure = failure.or(Some(format!("worker task failed: {e}"))),
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    if let (Some(s), Some(e)) = (start, end) {
        out.elapsed = e.saturating_duration_since(s);
    }
    Ok(out)
}

/// Run one load on a fresh single-threaded runtime. Connections are closed when it returns.
pub fn run(spec: &Spec) -> Result<RunResult, String> {
    if !spec.addr.ip().is_loopback() {
        return Err(format!(
            "refusing to load {}: only loopback targets are allowed",
            spec.addr
        ));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the runtime: {e}"))?;
    // A worker that fails leaves the others waiting at the barrier: bound the whole run.
    let limit = spec.max_duration * 2 + Duration::from_secs(30);
    let samples = rt.block_on(async {
        match tokio::time::timeout(limit, run_async(spec)).await {
            Ok(r) => r,
            Err(_) => Err(format!("run did not finish in {} s", limit.as_secs())),
        }
    })?;
    Ok(samples.finish(spec))
}

/// The request every run sends (and [`fetch`] too): the body with the load's headers.
fn build_request(
    method: Method,
    host: http::HeaderValue,
    path: &str,
    body: Bytes,
) -> Result<Request<Full<Bytes>>, String> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, host)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-api-key", "bench")
        .header("anthropic-version", "2023-06-01")
        .body(Full::new(body))
        .map_err(|e| format!("cannot build the request: {e}"))
}

/// One untimed request with the load's headers (for checks before and after the runs):
/// the status and the whole body. Loopback only; at most 10 s.
pub fn fetch(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: impl Into<Bytes>,
) -> Result<(http::StatusCode, Bytes), String> {
    if !addr.ip().is_loopback() {
        return Err(format!("refusing to fetch from {addr}: loopback only"));
    }
    let host = http::HeaderValue::from_str(&addr.to_string())
        .map_err(|e| format!("bad host header: {e}"))?;
    let req = build_request(method, host, path, body.into())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the runtime: {e}"))?;
    rt.block_on(async {
        let work = async {
            let mut sender = connect(addr).await?;
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| format!("{path}: request failed: {e}"))?;
            let status = resp.status();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("{path}: body read failed: {e}"))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(Duration::from_secs(10), work)
            .await
            .map_err(|_| format!("{path}: no answer within 10 s"))?
    })
}

/// `http://127.0.0.1:PORT[/...]` -> the socket address.
pub fn parse_url(url: &str) -> Result<SocketAddr, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    authority
        .parse()
        .map_err(|e| format!("{url}: expected http://IP:PORT ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://127.0.0.1:3535").expect("ok"),
            "127.0.0.1:3535".parse::<SocketAddr>().expect("addr")
        );
        assert_eq!(parse_url("http://127.0.0.1:80/v1").expect("ok").port(), 80);
        assert!(parse_url("https://127.0.0.1:1").is_err());
        assert!(parse_url("http://localhost:1").is_err());
    }

    #[test]
    fn finds_bytes() {
        assert!(contains(b"abc\n\ndef", b"\n\n"));
        assert!(!contains(b"abc\ndef", b"\n\n"));
    }

    #[test]
    fn counts_delta_frames_across_chunks() {
        let mut f = FrameScan::default();
        assert_eq!(
            f.push(b"event: message_start\ndata: {}\n\nevent: content_block_"),
            0
        );
        assert_eq!(f.push(b"delta\ndata: {}\n"), 0);
        // The blank line completing the frame arrives alone.
        assert_eq!(f.push(b"\n"), 1);
        assert_eq!(
            f.push(
                b"event: content_block_delta\ndata: {}\n\nevent: content_block_delta\ndata: {}\n\n"
            ),
            2
        );
        assert_eq!(f.push(b"event: message_stop\ndata: {}\n\n"), 0);
        assert!(f.buf.is_empty());
    }
}
