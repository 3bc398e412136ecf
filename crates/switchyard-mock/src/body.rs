//! The HTTP response body: either a fixed buffer or a scripted stream sent step by step.

use crate::state::StreamGuard;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// One step of a rendered stream.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    /// Send these bytes as one chunk (flushed on its own).
    Send(Bytes),
    /// Wait this many milliseconds.
    Delay(u64),
    /// Send nothing more; never finish (until the client goes away).
    Stall,
    /// Abort the body with an error: the connection is cut without a terminating chunk.
    Hangup,
}

/// A response body.
pub(crate) enum MockBody {
    /// A complete body (`None` once sent).
    Full(Option<Bytes>),
    /// A scripted stream.
    Script(Box<ScriptBody>),
    /// A hostile flood: the head, then the chunk until `remaining` runs out (`None`: never).
    Flood {
        /// Not sent yet.
        head: Option<Bytes>,
        /// Repeated.
        chunk: Bytes,
        /// Bytes still to send.
        remaining: Option<u64>,
    },
}

impl MockBody {
    /// A complete body.
    pub(crate) fn full(bytes: impl Into<Bytes>) -> MockBody {
        let bytes = bytes.into();
        MockBody::Full(if bytes.is_empty() { None } else { Some(bytes) })
    }

    /// A scripted stream, tracked by `guard`.
    pub(crate) fn script(ops: Vec<Op>, guard: StreamGuard) -> MockBody {
        MockBody::Script(Box::new(ScriptBody {
            ops: ops.into_iter(),
            sleep: None,
            yield_before_next: false,
            stalled: false,
            guard,
        }))
    }
}

impl MockBody {
    /// Drops a body that will never be sent, without counting a scripted stream as aborted.
    pub(crate) fn discard(self) {
        if let MockBody::Script(mut script) = self {
            script.guard.finish();
        }
    }
}

/// The state of a scripted stream.
pub(crate) struct ScriptBody {
    ops: std::vec::IntoIter<Op>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Set after each chunk: the next poll returns `Pending` once (with a wake-up) so that the
    /// connection flushes every chunk on its own instead of coalescing ready chunks.
    yield_before_next: bool,
    /// A `Stall` step was reached: stay pending for good.
    stalled: bool,
    guard: StreamGuard,
}

impl HttpBody for MockBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            MockBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            MockBody::Script(script) => script.poll_next(cx),
            MockBody::Flood {
                head,
                chunk,
                remaining,
            } => {
                if let Some(h) = head.take() {
                    return Poll::Ready(Some(Ok(Frame::data(h))));
                }
                match remaining {
                    Some(0) => Poll::Ready(None),
                    Some(n) => {
                        let take = (*n).min(chunk.len() as u64) as usize;
                        *n -= take as u64;
                        Poll::Ready(Some(Ok(Frame::data(chunk.slice(..take)))))
                    }
                    None => Poll::Ready(Some(Ok(Frame::data(chunk.clone())))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, MockBody::Full(None))
            || matches!(
                self,
                MockBody::Flood {
                    head: None,
                    remaining: Some(0),
                    ..
                }
            )
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            MockBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            MockBody::Script(_) | MockBody::Flood { .. } => SizeHint::default(),
        }
    }
}

impl ScriptBody {
    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.stalled {
            return Poll::Pending;
        }
        loop {
            if let Some(sleep) = self.sleep.as_mut() {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.sleep = None;
            }
            if self.yield_before_next {
                self.yield_before_next = false;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            match self.ops.next() {
                None => {
                    self.guard.finish();
                    return Poll::Ready(None);
                }
                Some(Op::Send(bytes)) => {
                    self.yield_before_next = true;
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                Some(Op::Delay(0)) => {}
                Some(Op::Delay(ms)) => {
                    self.sleep = Some(Box::pin(tokio::time::sleep(Duration::from_millis(ms))));
                }
                Some(Op::Stall) => {
                    // Never woken: the body lives until hyper drops it because the client left
                    // (or the server shuts down); the guard then records the abort.
                    self.stalled = true;
                    return Poll::Pending;
                }
                Some(Op::Hangup) => {
                    self.guard.finish();
                    self.ops = Vec::new().into_iter();
                    return Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "switchyard-mock: scripted hangup mid-body",
                    ))));
                }
            }
        }
    }
}
