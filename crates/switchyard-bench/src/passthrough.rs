//! `switchyard-bench passthrough`: the smallest proxy on Switchyard's own stack (axum server,
//! reqwest client, multi-threaded Tokio), with none of its logic: no guard, no JSON peek, no
//! routing, no stats, no logging. It forwards the request and streams the answer back.
//!
//! Benchmarked next to Switchyard it separates what the stack costs on this machine from what
//! Switchyard's request path adds on top. Unlike Switchyard it sets `TCP_NODELAY` on accepted
//! connections.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::serve::ListenerExt as _;

struct Upstream {
    client: reqwest::Client,
    base: String,
}

const FORWARDED: [&str; 4] = [
    "content-type",
    "x-api-key",
    "anthropic-version",
    "anthropic-beta",
];

async fn forward(
    State(up): State<Arc<Upstream>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = format!(
        "{}{}",
        up.base,
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut req = up.client.request(method, url).body(body);
    for name in FORWARDED {
        if let Some(v) = headers.get(name) {
            req = req.header(name, v.clone());
        }
    }
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            let mut r = Response::new(Body::from(format!("passthrough: {e}")));
            *r.status_mut() = StatusCode::BAD_GATEWAY;
            return r;
        }
    };
    let status = resp.status();
    let content_type = resp.headers().get(http::header::CONTENT_TYPE).cloned();
    let mut out = Response::new(Body::from_stream(resp.bytes_stream()));
    *out.status_mut() = status;
    if let Some(ct) = content_type {
        out.headers_mut().insert(http::header::CONTENT_TYPE, ct);
    }
    out
}

/// Serve until killed. Prints `passthrough listening on http://ADDR` once bound.
pub fn run(listen: SocketAddr, upstream: &str) -> Result<(), String> {
    if !listen.ip().is_loopback() {
        return Err(format!("refusing to listen on {listen}: loopback only"));
    }
    let base = upstream.trim_end_matches('/').to_string();
    crate::load::parse_url(&base)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the runtime: {e}"))?;
    rt.block_on(async move {
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(Arc::new(Upstream { client, base }));
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("local_addr: {e}"))?;
        let listener = listener.tap_io(|s| {
            let _ = s.set_nodelay(true);
        });
        println!("passthrough listening on http://{addr}");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        axum::serve(listener, app)
            .await
            .map_err(|e| format!("server stopped: {e}"))
    })
}
