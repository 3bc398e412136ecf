//! Client request bodies, read within `limits.max_request_mb`. A body over the limit is
//! refused with 413, but first the rest of it is read and thrown away (bounded in bytes and
//! time, nginx's "lingering close"): a server that closes while the client is still sending
//! makes the client's kernel see a reset, and the client reports "broken pipe" instead of the
//! clear 413 it was sent.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::engine::Engine;

/// The most of a refused body read and discarded so the client gets its 413.
pub const LINGER_BYTES: usize = 64 << 20;
/// The longest that takes.
pub const LINGER_TIME: Duration = Duration::from_secs(5);

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Larger than the limit.
    TooLarge,
    /// The upload broke off or was malformed.
    Read(String),
}

/// The request body of an API route, or why it could not be read.
pub struct ClientBody(pub Result<Bytes, BodyError>);

impl FromRequest<Arc<Engine>> for ClientBody {
    type Rejection = Infallible;

    async fn from_request(req: Request, engine: &Arc<Engine>) -> Result<Self, Infallible> {
        let limit = engine.config().limits.request_bytes();
        let declared = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            // Refused by its declared length: nothing of it is kept, the rest is drained.
            linger(req.into_body().into_data_stream()).await;
            return Ok(ClientBody(Err(BodyError::TooLarge)));
        }
        Ok(ClientBody(read(req.into_body(), limit).await))
    }
}

/// `body`, whole, if it is at most `limit` bytes.
pub async fn read(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Read(e.to_string()))?;
        total += chunk.len();
        if total > limit {
            linger(stream).await;
            return Err(BodyError::TooLarge);
        }
        // One chunk (the common case for small bodies) is kept as it came, without a copy.
        match &first {
            None => first = Some(chunk),
            Some(f) => {
                if rest.is_empty() {
                    rest.reserve(total.min(limit));
                    rest.extend_from_slice(f);
                }
                rest.extend_from_slice(&chunk);
            }
        }
    }
    Ok(if rest.is_empty() {
        first.unwrap_or_default()
    } else {
        rest.freeze()
    })
}

/// Read and drop what is left of a refused body, within [`LINGER_BYTES`] and [`LINGER_TIME`].
async fn linger(mut stream: axum::body::BodyDataStream) {
    let drain = async {
        let mut dropped = 0usize;
        while let Some(Ok(chunk)) = stream.next().await {
            dropped += chunk.len();
            if dropped > LINGER_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(parts: Vec<&'static [u8]>) -> Body {
        let s = futures_util::stream::iter(
            parts
                .into_iter()
                .map(|p| Ok::<_, std::io::Error>(Bytes::from_static(p))),
        );
        Body::from_stream(s)
    }

    #[tokio::test]
    async fn bodies_within_the_limit_come_whole() {
        let b = read(chunked(vec![b"ab", b"cd", b"e"]), 5)
            .await
            .expect("read");
        assert_eq!(&b[..], b"abcde");
        let b = read(Body::from("hello"), 5).await.expect("read");
        assert_eq!(&b[..], b"hello");
        assert!(read(Body::empty(), 5).await.expect("read").is_empty());
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_after_it_was_read_to_the_end() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
        let body = Body::from_stream(tokio_stream_of(rx));
        let sender = tokio::spawn(async move {
            for _ in 0..10 {
                if tx
                    .send(Ok(Bytes::from_static(b"0123456789")))
                    .await
                    .is_err()
                {
                    return false;
                }
            }
            true
        });
        assert!(matches!(read(body, 15).await, Err(BodyError::TooLarge)));
        // The sender was never cut off: everything it sent was read.
        assert!(sender.await.expect("join"));
    }

    fn tokio_stream_of(
        mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
