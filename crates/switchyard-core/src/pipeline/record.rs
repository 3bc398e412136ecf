//! One request's log entry: opened when the request enters the pipeline, finished exactly once
//! whatever happens to it (answered, refused, a stream that ends or breaks, or a client that
//! goes away before the answer), then logged, counted and sent to live listeners.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::engine::Engine;
use crate::events::{AttemptRecord, Event, RequestRecord};

/// Milliseconds, for the request log.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The open log entry of one request.
pub(crate) struct RequestLog {
    engine: Arc<Engine>,
    started: Instant,
    rec: RequestRecord,
    finished: bool,
}

impl RequestLog {
    /// Open the entry of a request on `route` (`messages`, `chat_completions`, ...).
    pub(crate) fn open(engine: Arc<Engine>, route: &'static str) -> Self {
        RequestLog {
            engine,
            started: Instant::now(),
            rec: RequestRecord {
                at: Utc::now(),
                route,
                ..RequestRecord::default()
            },
            finished: false,
        }
    }

    /// The entry so far, to fill in as the request goes.
    pub(crate) fn rec(&mut self) -> &mut RequestRecord {
        &mut self.rec
    }

    /// Time since entry, ms.
    pub(crate) fn elapsed_ms(&self) -> f64 {
        ms(self.started.elapsed())
    }

    /// Note the first byte going to the client now.
    pub(crate) fn first_byte(&mut self) {
        self.rec.ttfb_ms = Some(self.elapsed_ms());
    }

    /// Append a provider that was tried.
    pub(crate) fn attempt(&mut self, a: AttemptRecord) {
        self.rec.attempts.push(a);
    }

    /// Finish the entry: `status` went to the client; `error` says why it failed, if it did.
    pub(crate) fn finish(mut self, status: u16, error: Option<String>) {
        self.rec.status = status;
        if error.is_some() {
            self.rec.error = error;
        }
        self.publish();
    }

    fn publish(&mut self) {
        self.finished = true;
        self.rec.latency_ms = self.elapsed_ms();
        publish(&self.engine, std::mem::take(&mut self.rec));
    }
}

impl Drop for RequestLog {
    /// A request dropped before it was answered: the client went away while it waited.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if self.rec.status == 0 {
            self.rec.status = 499;
        }
        self.rec
            .error
            .get_or_insert_with(|| "client closed the connection".into());
        self.publish();
    }
}

/// Log, count and tell live listeners (the request log in the UI).
fn publish(e: &Engine, rec: RequestRecord) {
    tracing::info!(
        target: "switchyard::request",
        route = rec.route,
        provider = rec.provider.as_deref().unwrap_or("-"),
        model_in = %rec.model,
        model_out = rec.upstream_model.as_deref().unwrap_or("-"),
        status = rec.status,
        latency_ms = format_args!("{:.1}", rec.latency_ms),
        attempts = rec.attempts.len(),
        stream = rec.stream,
        input_tokens = rec.input_tokens,
        output_tokens = rec.output_tokens,
        error = rec.error.as_deref().unwrap_or(""),
        rule = rec.rule.as_deref().unwrap_or("-"),
        "request"
    );
    if e.has_listeners() {
        e.emit(Event::RequestFinished(Box::new(rec.clone())));
    }
    e.stats().record(rec);
}
