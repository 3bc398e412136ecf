//! What one read from the upstream brought leaves in one write to the client.
//!
//! An upstream often sends several stream events in one packet (a vendor's opening events,
//! or deltas produced faster than the network round trip). The HTTP client hands them over
//! one HTTP chunk at a time, and relaying each on its own cost one write to the client (a
//! system call and a wake-up of the client) per event. [`gather`] takes a chunk and then
//! whatever else has *already* arrived, and hands them on together. It never waits for more:
//! a chunk is never held back for a later one, so nothing is coalesced in time and a paced
//! stream reaches the client exactly as paced.

use bytes::{Bytes, BytesMut};
use futures_util::{FutureExt, Stream, StreamExt};

/// At most this much is put together into one chunk.
pub const GATHER_MAX: usize = 64 << 10;

/// `upstream`'s chunks, each followed by every chunk already waiting behind it (up to
/// [`GATHER_MAX`] bytes). An error or the end behind a chunk comes after that chunk.
pub fn gather<S, E>(upstream: S) -> impl Stream<Item = Result<Bytes, E>> + Send
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: Send,
{
    // `stash`: what came after the last gathered chunk and is not a chunk (an error, or the
    // end as `Some(None)`), handed on next.
    futures_util::stream::unfold((upstream, None), |(mut s, stash)| async move {
        let first = match stash {
            Some(item) => item?,
            None => s.next().await?,
        };
        let Ok(first) = first else {
            return Some((first, (s, None)));
        };
        let mut more: Option<BytesMut> = None;
        let mut len = first.len();
        let mut stash = None;
        while len < GATHER_MAX {
            // The connection's own task decodes the next chunk when it gets to run: let it,
            // then take what it has, without waiting.
            tokio::task::yield_now().await;
            match s.next().now_or_never() {
                Some(Some(Ok(c))) => {
                    len += c.len();
                    more.get_or_insert_with(|| {
                        let mut b = BytesMut::with_capacity(first.len() + c.len() + 256);
                        b.extend_from_slice(&first);
                        b
                    })
                    .extend_from_slice(&c);
                }
                Some(other) => {
                    stash = Some(other);
                    break;
                }
                None => break,
            }
        }
        let out = more.map_or(first, BytesMut::freeze);
        Some((Ok(out), (s, stash)))
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ok(s: &'static str) -> Result<Bytes, String> {
        Ok(Bytes::from_static(s.as_bytes()))
    }

    #[tokio::test]
    async fn chunks_already_there_leave_together_and_errors_keep_their_place() {
        let up = futures_util::stream::iter(vec![ok("a"), ok("b"), ok("c"), Err("cut".into())]);
        let out: Vec<_> = gather(up).collect().await;
        assert_eq!(out, vec![ok("abc"), Err("cut".to_string())]);

        let up = futures_util::stream::iter(vec![ok("a"), ok("b")]);
        let out: Vec<_> = gather(up).collect().await;
        assert_eq!(out, vec![ok("ab")]);

        let up = futures_util::stream::iter(vec![Err("first".to_string()), ok("b")]);
        let out: Vec<_> = gather(up).collect().await;
        assert_eq!(out, vec![Err("first".to_string()), ok("b")]);
    }

    #[tokio::test]
    async fn gathering_is_bounded() {
        let big = Bytes::from(vec![b'x'; GATHER_MAX / 2 + 1]);
        let up = futures_util::stream::iter(vec![
            Ok::<_, String>(big.clone()),
            Ok(big.clone()),
            Ok(big.clone()),
        ]);
        let out: Vec<_> = gather(up).collect().await;
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].as_ref().map(Bytes::len), Ok(2 * big.len()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_chunk_is_never_held_for_a_later_one() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, String>>(4);
        let mut out = Box::pin(gather(tokio_stream_of(rx)));
        tx.send(ok("first")).await.expect("send");
        let later = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            tx.send(ok("later")).await.expect("send");
        });
        let t0 = tokio::time::Instant::now();
        assert_eq!(out.next().await, Some(ok("first")));
        assert_eq!(t0.elapsed(), Duration::ZERO, "the first chunk waited");
        assert_eq!(out.next().await, Some(ok("later")));
        assert_eq!(out.next().await, None);
        later.await.expect("sender");
    }

    fn tokio_stream_of<T: Send + 'static>(
        mut rx: tokio::sync::mpsc::Receiver<T>,
    ) -> impl Stream<Item = T> + Send + Unpin {
        Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
    }
}
