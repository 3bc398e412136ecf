//! The HTTP client an attempt sends with.
//!
//! Two clients behind one type: reqwest for everything that needs it (HTTPS with the system's
//! trust store and HTTP/2, and every kind of outbound proxy), and a lean HTTP/1.1 client built
//! on hyper's own pooled client for plain-`http://` upstreams reached directly (local models,
//! gateways on the same network). reqwest's generality costs ~5 µs of CPU per request there
//! (a parse of the URL by its redirect policy, a copy of the headers for its retry layer, a
//! clone of its service stack), about a tenth of a proxied request; the lean client skips those
//! layers and nothing else: same keep-alive pool size, `TCP_NODELAY`, connect timeout and
//! `user-agent`, and no redirect is ever followed by either. Only the idle timeout differs
//! ([`POOL_IDLE_PLAIN`]).

use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use http::header::{HeaderValue, ACCEPT, USER_AGENT};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The `user-agent` every upstream request carries.
pub const AGENT: &str = concat!("switchyard/", env!("CARGO_PKG_VERSION"));

/// Idle upstream connections kept per provider host (they close after [`POOL_IDLE`], or
/// [`POOL_IDLE_PLAIN`], anyway).
/// One per concurrent request up to this: below the client's concurrency, every request beyond
/// it opened (and closed) a fresh upstream connection, which at 64 concurrent requests cost
/// ~3x the CPU per request.
pub const POOL_PER_HOST: usize = 256;

/// How long an idle upstream connection is kept (HTTPS and proxied upstreams: reopening one
/// costs a TLS handshake over the internet).
pub const POOL_IDLE: Duration = Duration::from_secs(90);

/// How long an idle plain-`http://` upstream connection is kept. Those upstreams are local or
/// on the same network (a local model server, a team gateway): reopening a connection costs a
/// TCP handshake, ~0.1 ms on loopback, nothing next to a model's answer. Under load connections
/// are reused within milliseconds, so the pool still keeps one per concurrent request; once
/// the load stops, what a burst opened closes within about two seconds instead of ninety.
/// Each idle connection holds ~60 KB of this process's memory (its buffers and the allocator
/// pages around them): ~15 MB kept for 90 s after a 256-connection burst.
pub const POOL_IDLE_PLAIN: Duration = Duration::from_secs(1);

/// An error from reading an upstream body.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// Upstream body chunks.
pub type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, BodyError>> + Send>>;

/// What an upstream answered, its body still to be read.
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body chunks as they arrive.
    pub body: ByteStream,
}

/// A request that got no answer.
#[derive(Debug)]
pub enum SendError {
    /// From reqwest.
    Full(reqwest::Error),
    /// From the lean client.
    Lean(hyper_util::client::legacy::Error),
}

impl SendError {
    /// The connection could not be made (refused, DNS, connect timeout, TLS).
    pub fn is_connect(&self) -> bool {
        match self {
            SendError::Full(e) => e.is_connect(),
            SendError::Lean(e) => e.is_connect(),
        }
    }

    /// A timeout of the client's own (the attempt's deadline is separate).
    pub fn is_timeout(&self) -> bool {
        match self {
            SendError::Full(e) => e.is_timeout(),
            SendError::Lean(e) => io_kind(e) == Some(std::io::ErrorKind::TimedOut),
        }
    }

    /// The error itself, for its message and causes.
    pub fn as_error(&self) -> &(dyn std::error::Error + 'static) {
        match self {
            SendError::Full(e) => e,
            SendError::Lean(e) => e,
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Full(e) => e.fmt(f),
            SendError::Lean(e) => e.fmt(f),
        }
    }
}

/// The kind of the first I/O error among `e` and its causes.
pub(crate) fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        src = s.source();
    }
    None
}

type Lean = hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>;

/// One outbound setting's client: reqwest, plus the lean client when the setting reaches
/// plain-HTTP upstreams without a proxy.
#[derive(Clone)]
pub struct Upstream {
    full: reqwest::Client,
    lean: Option<Lean>,
}

impl Upstream {
    /// reqwest alone (`lean`: also use the lean client for plain-HTTP URLs, which only a setting
    /// without any proxy may).
    pub fn new(full: reqwest::Client, lean: bool, connect: Duration) -> Upstream {
        let lean = lean.then(|| {
            let mut c = HttpConnector::new();
            c.set_connect_timeout(Some(connect));
            c.set_nodelay(true);
            // `http://` only: anything else goes through reqwest.
            c.enforce_http(true);
            hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                .pool_idle_timeout(POOL_IDLE_PLAIN)
                .pool_max_idle_per_host(POOL_PER_HOST)
                .pool_timer(hyper_util::rt::TokioTimer::new())
                .build(c)
        });
        Upstream { full, lean }
    }

    /// reqwest (health probes, and every URL the lean client does not take).
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.full
    }

    /// Send one request; the answer's body is left to read.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        urls: &super::urls::UrlCache,
        mut headers: HeaderMap,
        body: Option<Bytes>,
    ) -> Result<Answer, SendError> {
        if let (Some(lean), true) = (&self.lean, url.starts_with("http://")) {
            if let Ok(uri) = urls.uri(url) {
                headers
                    .entry(USER_AGENT)
                    .or_insert(HeaderValue::from_static(AGENT));
                headers
                    .entry(ACCEPT)
                    .or_insert(HeaderValue::from_static("*/*"));
                let mut req = http::Request::new(Full::new(body.unwrap_or_default()));
                *req.method_mut() = method;
                *req.uri_mut() = uri;
                *req.headers_mut() = headers;
                let resp = lean.request(req).await.map_err(SendError::Lean)?;
                let (parts, incoming) = resp.into_parts();
                let body: ByteStream = Box::pin(
                    incoming
                        .into_data_stream()
                        .map_err(|e| -> BodyError { Box::new(e) }),
                );
                return Ok(Answer {
                    status: parts.status,
                    headers: parts.headers,
                    body,
                });
            }
        }
        // A URL that does not parse fails in reqwest, as it always did.
        let mut req = match urls.get(url) {
            Ok(u) => self.full.request(method, u),
            Err(_) => self.full.request(method, url),
        }
        .headers(headers);
        if let Some(b) = body {
            req = req.body(b);
        }
        let mut resp = req.send().await.map_err(SendError::Full)?;
        let status = resp.status();
        // Moved out, not copied: the body stream needs only the rest.
        let headers = std::mem::take(resp.headers_mut());
        Ok(Answer {
            status,
            headers,
            body: Box::pin(
                resp.bytes_stream()
                    .map_err(|e| -> BodyError { Box::new(e) }),
            ),
        })
    }
}
