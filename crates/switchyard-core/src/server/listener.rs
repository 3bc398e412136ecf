//! Accepting connections, with bounds no local process can exhaust: at most
//! `limits.max_connections` open at once (more wait in the kernel's backlog instead of taking
//! descriptors), and a client must send each request's headers within `limits.header_read_ms`,
//! which also closes a kept-alive connection left idle that long. Answers are never cut: the
//! header timer runs only while a request's headers are awaited, never while a stream is sent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use super::App;

/// How the server accepts connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    /// Open connections at most.
    pub max_connections: usize,
    /// Time for a request's headers (and for an idle kept-alive connection).
    pub header_read: Duration,
}

/// Serve `app` on `listener` until `stop` turns true; then stop accepting, let open requests
/// finish, and return once every connection closed (the caller bounds that wait).
pub(crate) async fn serve(
    listener: TcpListener,
    app: App,
    bounds: Bounds,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(bounds.max_connections.max(1)));
    let mut conns = JoinSet::new();
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stopped(&mut stop) => break,
        };
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors, or the peer left before we got to it: wait a moment
                    // rather than spin.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => break,
        };
        // Without TCP_NODELAY a stream's second small write waits for the client's delayed
        // ACK (~40 ms on Linux): every SSE chunk after the first would be late.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
        conns.spawn(connection(
            tcp,
            peer,
            app.clone(),
            bounds,
            stop.clone(),
            permit,
        ));
        while conns.try_join_next().is_some() {}
    }
    while conns.join_next().await.is_some() {}
}

async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    app: App,
    bounds: Bounds,
    mut stop: watch::Receiver<bool>,
    _permit: tokio::sync::OwnedSemaphorePermit,
) {
    // hyper's header timer starts with the first byte (before it, the protocol is not even
    // known): a socket that never sends one would hold its place for good.
    let mut first = [0u8; 1];
    match tokio::time::timeout(bounds.header_read, tcp.peek(&mut first)).await {
        Ok(Ok(n)) if n > 0 => {}
        _ => return,
    }
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        // The guard tells this machine's clients from other machines' by the peer address.
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(req.map(axum::body::Body::new))
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(bounds.header_read);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
    tokio::pin!(conn);
    let stopping = async move { stopped(&mut stop).await };
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, "connection ended: {e}");
            }
            return;
        }
        _ = stopping => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// Until `stop` turns true. (The guard `wait_for` hands back is dropped in here, so the
/// futures that wait on this stay `Send`.)
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}
