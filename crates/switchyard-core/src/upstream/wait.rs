//! Time spent waiting on upstreams, summed over a request's attempts, so that what is left of
//! the request's time is Switchyard's own: the `x-switchyard-overhead-ms` answer header.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Nanoseconds a request waited on its upstreams (sending, the answer's head, a whole answer,
/// a stream's opening frames).
#[derive(Debug, Default)]
pub struct Waited(AtomicU64);

impl Waited {
    /// Nothing waited yet.
    pub const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// Await `f`, counting the time as waiting on an upstream.
    pub async fn on<F: Future>(&self, f: F) -> F::Output {
        let t = Instant::now();
        let out = f.await;
        self.add(t.elapsed());
        out
    }

    /// Count `d` as waiting.
    pub fn add(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.0.fetch_add(ns, Ordering::Relaxed);
    }

    /// The time waited so far.
    pub fn total(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }

    /// The header value for a request that started at `started`: its time so far less the
    /// waiting, in milliseconds with three decimals.
    pub fn overhead_header(&self, started: Instant) -> http::HeaderValue {
        let own = started.elapsed().saturating_sub(self.total());
        let us = own.as_micros();
        let text = format!("{}.{:03}", us / 1000, us % 1000);
        http::HeaderValue::from_str(&text).unwrap_or(http::HeaderValue::from_static("0.000"))
    }
}

/// The answer header that carries Switchyard's own share of a request's time.
pub const OVERHEAD_HEADER: &str = "x-switchyard-overhead-ms";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_is_left_out_of_the_overhead() {
        let w = Waited::new();
        let started = Instant::now();
        w.on(tokio::time::sleep(Duration::from_millis(30))).await;
        assert!(w.total() >= Duration::from_millis(30));
        let v = w.overhead_header(started);
        let ms: f64 = v.to_str().unwrap().parse().unwrap();
        assert!(ms < 25.0, "waiting counted as overhead: {ms}");
        // Time not spent waiting is overhead.
        std::thread::sleep(Duration::from_millis(20));
        let ms: f64 = w
            .overhead_header(started)
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(ms >= 20.0, "own time not counted: {ms}");
        assert_eq!(v.to_str().unwrap().split('.').nth(1).unwrap().len(), 3);
    }
}
