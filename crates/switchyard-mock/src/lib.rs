//! # switchyard-mock
//!
//! A scripted fake upstream for Switchyard's tests, benchmarks and demos. It listens on loopback,
//! speaks the Anthropic Messages API as described in `PROTOCOL.md` §1 (message JSON, SSE streams
//! with byte-exact framing, error bodies, token counts, model lists), records every request, and
//! answers each one with the next scripted [`Reply`] (FIFO), or the default reply when the queue
//! is empty.
//!
//! Replies can also misbehave on purpose: delay the first byte ([`Reply::delay_ms`]), close the
//! socket without answering ([`Body::Hangup`]), send a hand-written SSE script with malformed
//! frames, pauses, stalls or a mid-body abort ([`Body::Sse`], [`Step`]), or an in-band error
//! ([`error_event`]).
//!
//! Three ways to use it:
//! - in-process: [`MockUpstream::start`] gives a [`MockHandle`] to script and inspect;
//! - out-of-process: the `switchyard-mock` binary plus the HTTP control API under `/__mock/`
//!   (same port, see [`control`]);
//! - benchmarks: the binary's `--latency-ms` / `--chunk-delay-ms` default reply.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use switchyard_mock::{MockUpstream, Reply};
//! let mock = MockUpstream::start().await?;
//! mock.push(Reply::error(529, "Overloaded"));
//! mock.push(Reply::text("Hello!"));
//! // point the code under test at mock.base_url() ...
//! assert_eq!(mock.request_count(), 0);
//! # Ok(()) }
//! ```
//!
//! ## Routes
//! - `POST /v1/messages` (any query, any path prefix): the next reply.
//! - `POST /v1/messages/count_tokens`: the next queued reply, else `{"input_tokens":N}` with
//!   N = body bytes / 4.
//! - `GET /v1/models`, `GET /v1/models/{id}`: the next queued reply, else an Anthropic model list
//!   (two Claude models) or model object.
//! - any other path: recorded and answered with the next reply.
//! - `/__mock/...`: the control API (not recorded), see [`control`].
//!
//! Which dialect a path speaks is a [`Face`]; the Anthropic, OpenAI (Chat Completions), Gemini
//! (`generateContent`) and OpenAI Responses (`/responses`) faces render model answers and
//! errors.

mod anthropic;
mod body;
pub mod control;
mod face;
mod gemini;
mod openai;
pub mod proxy;
mod reply;
mod responses;
mod server;
mod sse;
mod state;

pub use anthropic::anthropic_stream_events;
pub use face::Face;
pub use proxy::{MockProxy, ProxyKind};
pub use reply::{error_event, error_type_for_status, Body, Reply, Step, ToolUse};
pub use state::Recorded;

use state::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Starts mock upstreams. Every mock is independent: its own port, queue and records.
#[derive(Clone, Copy, Debug, Default)]
pub struct MockUpstream;

impl MockUpstream {
    /// Starts a mock on `127.0.0.1` with a free port. Must be called inside a Tokio runtime;
    /// the server runs on that runtime until [`MockHandle::shutdown`] or the runtime ends.
    pub async fn start() -> std::io::Result<MockHandle> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a mock on `addr` (port 0 picks a free port).
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<MockHandle> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new());
        tokio::spawn(server::accept_loop(listener, shared.clone()));
        Ok(MockHandle { shared, addr })
    }
}

/// A running mock: script its replies and inspect what it received. Cheap to clone; every
/// clone controls the same mock.
#[derive(Clone)]
pub struct MockHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl std::fmt::Debug for MockHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MockHandle {
    /// The address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, without a trailing slash and without `/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues a reply: each request takes the oldest queued reply.
    pub fn push(&self, reply: Reply) {
        self.shared.push([reply]);
    }

    /// Queues several replies, in order.
    pub fn push_many(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.push(replies);
    }

    /// Sets the reply used when the queue is empty (initially `Reply::text("Hello from mock")`).
    pub fn set_default(&self, reply: Reply) {
        self.shared.set_default(reply);
    }

    /// Keeps only the newest `limit` recorded requests (`None`: keep all, the default). For long
    /// benchmarks; [`request_count`](Self::request_count) still counts every request.
    pub fn set_record_limit(&self, limit: Option<usize>) {
        self.shared.set_record_limit(limit);
    }

    /// Every request received (control routes excluded), oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests()
    }

    /// How many requests were received (control routes excluded) since start or the last
    /// [`clear`](Self::clear).
    pub fn request_count(&self) -> usize {
        self.shared.request_count()
    }

    /// How many replies are queued.
    pub fn queued(&self) -> usize {
        self.shared.queued()
    }

    /// Clears the queue, the recorded requests and the counters; keeps the default reply.
    pub fn clear(&self) {
        self.shared.clear();
    }

    /// How many SSE bodies are being sent right now.
    pub fn streams_open(&self) -> usize {
        self.shared.streams_open()
    }

    /// How many requests are open right now: handlers still working on a response head
    /// (reading the body, a scripted delay, a stall before headers) plus SSE bodies being
    /// sent. A request whose client went away stops counting as soon as the mock notices.
    pub fn requests_open(&self) -> usize {
        self.shared.handling() + self.shared.streams_open()
    }

    /// Waits until no request is open (see [`requests_open`](Self::requests_open)); `false`
    /// if some still are when `timeout` passes.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.requests_open() == 0 {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// How many SSE bodies were dropped before finishing their script (the client hung up, or
    /// the mock shut down) since start or the last [`clear`](Self::clear). A scripted
    /// [`Step::Hangup`] is not counted: it is the script's own end.
    pub fn streams_aborted(&self) -> usize {
        self.shared.streams_aborted()
    }

    /// Waits until at least one SSE body has been aborted (see
    /// [`streams_aborted`](Self::streams_aborted)); `true` at once if one already was, `false`
    /// if `timeout` passes first.
    pub async fn wait_stream_closed(&self, timeout: Duration) -> bool {
        let mut rx = self.shared.watch_aborted();
        let waited = tokio::time::timeout(
            timeout,
            async move { rx.wait_for(|n| *n > 0).await.is_ok() },
        )
        .await;
        waited.unwrap_or(false)
    }

    /// Stops accepting connections and drops every open connection.
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
    }
}
