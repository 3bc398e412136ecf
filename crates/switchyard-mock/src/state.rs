//! State shared by a mock's handle and its connections: the reply queue, recorded requests and
//! stream counters.

use crate::reply::Reply;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;

/// One request the mock received (control routes under `/__mock/` are not recorded).
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The HTTP method (`POST`).
    pub method: String,
    /// The path, without the query (`/v1/messages`).
    pub path: String,
    /// The query string without `?` (`beta=true`), if any.
    pub query: Option<String>,
    /// Every header in arrival order; names are lowercase, values lossy UTF-8.
    pub headers: Vec<(String, String)>,
    /// The complete request body.
    pub body: Bytes,
    /// When the request's body had been fully received.
    pub at: Instant,
}

impl Recorded {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, or `Null` when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body as (lossy) UTF-8 text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

struct Inner {
    queue: VecDeque<Reply>,
    recorded: VecDeque<Recorded>,
    request_count: usize,
    record_limit: usize,
    default: Arc<Reply>,
}

/// The state behind a [`MockHandle`](crate::MockHandle).
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    /// Source of `req_mock_<n>`, `msg_mock_<n>` ids; never reset.
    next_id: AtomicU64,
    streams_open: AtomicUsize,
    /// Requests whose handler is still running (before the response head is returned).
    handling: AtomicUsize,
    /// How many streams were dropped before finishing their script (since the last clear).
    aborted: watch::Sender<usize>,
    /// Set to `true` to stop the accept loop and every connection.
    pub(crate) shutdown: watch::Sender<bool>,
}

impl Shared {
    /// Fresh state whose default reply is `Reply::text("Hello from mock")`.
    pub(crate) fn new() -> Shared {
        Shared {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                recorded: VecDeque::new(),
                request_count: 0,
                record_limit: usize::MAX,
                default: Arc::new(Reply::text("Hello from mock")),
            }),
            next_id: AtomicU64::new(1),
            streams_open: AtomicUsize::new(0),
            handling: AtomicUsize::new(0),
            aborted: watch::channel(0).0,
            shutdown: watch::channel(false).0,
        }
    }

    /// A fresh id number.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Records a request and takes the reply for it: the oldest queued one, else `None` when
    /// the queue is empty (the caller then picks a built-in or the default).
    pub(crate) fn record_and_take(&self, recorded: Recorded) -> Option<Reply> {
        let mut inner = self.inner.lock();
        inner.request_count += 1;
        if inner.record_limit > 0 {
            while inner.recorded.len() >= inner.record_limit {
                inner.recorded.pop_front();
            }
            inner.recorded.push_back(recorded);
        }
        inner.queue.pop_front()
    }

    /// The default reply.
    pub(crate) fn default_reply(&self) -> Arc<Reply> {
        self.inner.lock().default.clone()
    }

    pub(crate) fn push(&self, replies: impl IntoIterator<Item = Reply>) -> usize {
        let mut inner = self.inner.lock();
        inner.queue.extend(replies);
        inner.queue.len()
    }

    pub(crate) fn set_default(&self, reply: Reply) {
        self.inner.lock().default = Arc::new(reply);
    }

    pub(crate) fn set_record_limit(&self, limit: Option<usize>) {
        let mut inner = self.inner.lock();
        inner.record_limit = limit.unwrap_or(usize::MAX);
        while inner.recorded.len() > inner.record_limit {
            inner.recorded.pop_front();
        }
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().recorded.iter().cloned().collect()
    }

    pub(crate) fn request_count(&self) -> usize {
        self.inner.lock().request_count
    }

    pub(crate) fn queued(&self) -> usize {
        self.inner.lock().queue.len()
    }

    pub(crate) fn clear(&self) {
        {
            let mut inner = self.inner.lock();
            inner.queue.clear();
            inner.recorded.clear();
            inner.request_count = 0;
        }
        self.aborted.send_replace(0);
    }

    pub(crate) fn streams_open(&self) -> usize {
        self.streams_open.load(Ordering::Relaxed)
    }

    pub(crate) fn streams_aborted(&self) -> usize {
        *self.aborted.borrow()
    }

    pub(crate) fn handling(&self) -> usize {
        self.handling.load(Ordering::Relaxed)
    }

    /// A receiver that sees every change of the aborted-streams count.
    pub(crate) fn watch_aborted(&self) -> watch::Receiver<usize> {
        self.aborted.subscribe()
    }
}

/// Counts one stream body as open while it lives; dropped before [`StreamGuard::finish`] it
/// counts as aborted (the client went away mid-stream).
pub(crate) struct StreamGuard {
    shared: Arc<Shared>,
    finished: bool,
}

impl StreamGuard {
    pub(crate) fn new(shared: Arc<Shared>) -> StreamGuard {
        shared.streams_open.fetch_add(1, Ordering::Relaxed);
        StreamGuard {
            shared,
            finished: false,
        }
    }

    /// The script ran to its end (or to a scripted hangup): not an abort.
    pub(crate) fn finish(&mut self) {
        self.finished = true;
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.shared.streams_open.fetch_sub(1, Ordering::Relaxed);
        if !self.finished {
            self.shared.aborted.send_modify(|n| *n += 1);
        }
    }
}

/// Counts one request as being handled (body read, delay, waiting for a hangup) until the
/// handler returns its response head or is dropped because the client left.
pub(crate) struct HandlingGuard {
    shared: Arc<Shared>,
}

impl HandlingGuard {
    pub(crate) fn new(shared: Arc<Shared>) -> HandlingGuard {
        shared.handling.fetch_add(1, Ordering::Relaxed);
        HandlingGuard { shared }
    }
}

impl Drop for HandlingGuard {
    fn drop(&mut self) {
        self.shared.handling.fetch_sub(1, Ordering::Relaxed);
    }
}
