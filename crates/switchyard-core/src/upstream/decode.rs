//! Translated streams: a vendor's SSE bytes in, the hub's (Anthropic) SSE out, through the
//! adapter's [`StreamMachine`] and a [`StreamWriter`]. [`Decoder`] is the synchronous heart
//! (no I/O and no clock, so the fuzz targets drive exactly what the proxy runs);
//! [`translate_stream`] wraps it around the vendor's byte stream with pings and the idle limit.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::{timeout, Instant};

use super::adapter::StreamMachine;
use super::net::error_chain;
use super::relay::{describe_wait, ByteStream};
use crate::protocol::anthropic::ErrorType;
use crate::protocol::sse::{self, Splitter};
use crate::translate::writer::StreamWriter;

/// How long the vendor may stay silent before the client gets a `ping`.
const PING_EVERY: Duration = Duration::from_secs(15);

/// Vendor SSE bytes (split anywhere) in, Anthropic frames out through the writer.
pub struct Decoder {
    splitter: Splitter,
    machine: Box<dyn StreamMachine>,
}

impl Decoder {
    /// Around an adapter's stream machine.
    pub(crate) fn new(machine: Box<dyn StreamMachine>) -> Self {
        Decoder {
            splitter: Splitter::new(),
            machine,
        }
    }

    /// Bytes from the vendor: every frame completed by them is translated.
    pub fn chunk(&mut self, chunk: &[u8], w: &mut StreamWriter) {
        self.splitter.push(chunk);
        if let Some(buf) = self.splitter.take_complete() {
            for f in sse::frames(&buf) {
                let frame = sse::parse_frame(f);
                if !frame.data.is_empty() {
                    self.machine.feed(&frame.data, w);
                }
            }
        }
    }

    /// Bytes of an incomplete vendor frame held.
    pub fn pending(&self) -> usize {
        self.splitter.pending().len()
    }

    /// The vendor's connection broke mid-stream.
    pub fn broken(&mut self, w: &mut StreamWriter) {
        self.machine.end(false, w);
    }

    /// The vendor closed the stream normally.
    pub fn eof(&mut self, w: &mut StreamWriter) {
        // A last frame without its blank line still counts.
        let rest = String::from_utf8_lossy(self.splitter.pending()).into_owned();
        let frame = sse::parse_frame(rest.as_bytes());
        if !frame.data.is_empty() {
            self.machine.feed(&frame.data, w);
        }
        self.machine.end(true, w);
    }
}

/// A fresh message id for a translated answer (vendors' own ids are not Anthropic's).
pub(crate) fn message_id() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("msg_sy{n:x}")
}

struct Translating {
    upstream: ByteStream,
    max_frame: usize,
    decoder: Decoder,
    writer: StreamWriter,
    idle: Duration,
    last_upstream: Instant,
    finished: bool,
}

/// The vendor's byte stream as an Anthropic SSE byte stream. Sends `ping` while the vendor is
/// silent (once the message started), and enforces the idle limit itself (pings would
/// otherwise hide a dead vendor from the relay's own idle check).
pub(crate) fn translate_stream(
    upstream: ByteStream,
    decoder: Decoder,
    writer: StreamWriter,
    idle: Duration,
    max_frame: usize,
) -> ByteStream {
    let state = Translating {
        upstream,
        max_frame,
        decoder,
        writer,
        idle,
        last_upstream: Instant::now(),
        finished: false,
    };
    Box::pin(futures_util::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(out) = s.writer.take() {
                return Some((Ok(out), s));
            }
            if s.finished || s.writer.is_done() {
                return None;
            }
            let silent_for = s.last_upstream.elapsed();
            if silent_for >= s.idle {
                s.writer.error(
                    ErrorType::Timeout,
                    &format!("the vendor sent nothing for {}", describe_wait(s.idle)),
                );
                s.finished = true;
                continue;
            }
            let wait = PING_EVERY.min(s.idle - silent_for);
            match timeout(wait, s.upstream.next()).await {
                Err(_) => s.writer.ping(),
                Ok(Some(Ok(chunk))) => {
                    s.last_upstream = Instant::now();
                    s.decoder.chunk(&chunk, &mut s.writer);
                    if s.decoder.pending() > s.max_frame {
                        // One vendor event without end: it would grow without bound.
                        s.writer.error(
                            ErrorType::RequestTooLarge,
                            &format!(
                                "one event of the vendor's stream is larger than {} KiB (limits.max_frame_kb)",
                                s.max_frame / 1024
                            ),
                        );
                        s.finished = true;
                    }
                }
                Ok(Some(Err(e))) => {
                    tracing::warn!("vendor stream broke: {}", error_chain(&*e));
                    s.decoder.broken(&mut s.writer);
                    s.finished = true;
                }
                Ok(None) => {
                    s.decoder.eof(&mut s.writer);
                    s.finished = true;
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProviderKind;
    use crate::translate::check::check_anthropic_stream;
    use crate::upstream::adapters;
    use proptest::prelude::*;

    /// Drive `kind`'s translator with `pieces`, then end the stream (cleanly or not).
    fn run(kind: ProviderKind, pieces: &[Vec<u8>], clean: bool) -> Option<Vec<u8>> {
        let machine = adapters::of(kind).stream_machine("p", &[])?;
        let mut d = Decoder::new(machine);
        let mut w = StreamWriter::new("claude-x", "msg_x", "sy1.p.");
        let mut out = Vec::new();
        for piece in pieces {
            d.chunk(piece, &mut w);
            while let Some(b) = w.take() {
                out.extend_from_slice(&b);
            }
        }
        if clean {
            d.eof(&mut w);
        } else {
            d.broken(&mut w);
        }
        while let Some(b) = w.take() {
            out.extend_from_slice(&b);
        }
        Some(out)
    }

    proptest! {
        /// Whatever a vendor sends, every translating kind's output is a well-formed Anthropic
        /// stream (the registry decides which kinds are checked).
        #[test]
        fn every_kind_writes_valid_anthropic_streams(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just(b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n".to_vec()),
                    Just(b"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}]}}]}\n\n".to_vec()),
                    Just(b"data: [DONE]\n\n".to_vec()),
                    Just(b"data: {\"type\":\"response.output_text.delta\",\"item_id\":\"m\",\"delta\":\"hi\"}\n\n".to_vec()),
                    Just(b"data: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"output_tokens\":1}}}\n\n".to_vec()),
                    Just(b"data: {\"error\":{\"message\":\"boom\"}}\n\n".to_vec()),
                    proptest::collection::vec(any::<u8>(), 0..64),
                ],
                0..8,
            ),
            clean in any::<bool>(),
        ) {
            for &kind in ProviderKind::ALL {
                if let Some(out) = run(kind, &pieces, clean) {
                    prop_assert!(
                        check_anthropic_stream(&out).is_ok(),
                        "{kind:?}: {:?}\n{}",
                        check_anthropic_stream(&out),
                        String::from_utf8_lossy(&out)
                    );
                }
            }
        }
    }
}
