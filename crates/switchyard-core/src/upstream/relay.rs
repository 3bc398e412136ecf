//! Streams that reach the client as bytes: look at the first frames before committing to a
//! provider (so failover stays invisible), then relay whole SSE frames chunk by chunk, ending
//! a broken stream with a well-formed error in the stream's own dialect. What each frame means
//! comes from the dialect's observer (`observe/`); this file is the same for every dialect.

use std::convert::Infallible;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use tokio::time::{timeout, Instant};

use super::classify::in_band_reason;
use super::observe::{Counts, FrameObserver, Seen};
use super::redact::Redactor;
use super::FailedAnswer;
use crate::events::FailoverReason;
use crate::protocol::anthropic::ErrorType;
use crate::protocol::sse::{self, Splitter};
use crate::protocol::Dialect;
use crate::routing::Failure;

pub use super::transport::ByteStream;

/// How a relayed stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamOutcome {
    /// The stream's end went through.
    Complete,
    /// The upstream failed mid-stream (error event, lost connection, truncation, silence):
    /// why (for the breaker) and the message sent to the client.
    UpstreamFailed(FailoverReason, String),
    /// The client went away; the upstream request was dropped with it.
    ClientGone,
}

/// Summary handed to the caller when a stream ends, however it ends.
#[derive(Debug, Clone)]
pub struct StreamEnd {
    /// How.
    pub outcome: StreamOutcome,
    /// The tokens the provider reported.
    pub counts: Counts,
}

/// A stream whose opening was checked; the client has seen nothing yet.
pub struct Committed {
    held: Option<Bytes>,
    splitter: Splitter,
    body: ByteStream,
    idle: Duration,
    /// Largest single frame, bytes.
    max_frame: usize,
    obs: Box<dyn FrameObserver>,
    /// The stream's end marker went through.
    ended: bool,
    /// An error came after the content started, already among the held frames.
    failed: Option<(FailoverReason, String)>,
    /// The attempt's credentials, masked in every frame.
    redactor: Redactor,
}

/// The breaker's reason for an error event after the stream started: timeouts and the
/// specific in-band reasons (rate limit, usage limit, key) keep theirs; anything else (a cut
/// or overloaded stream) counts as the provider becoming unreachable.
fn mid_stream_reason(r: FailoverReason) -> FailoverReason {
    match r {
        FailoverReason::InBandError => FailoverReason::Unreachable,
        other => other,
    }
}

/// How long `d` is, for a message: whole seconds, or milliseconds under ten seconds.
pub(crate) fn describe_wait(d: Duration) -> String {
    if d >= Duration::from_secs(10) || d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

fn failure(reason: FailoverReason, message: impl Into<String>) -> (Failure, Option<FailedAnswer>) {
    (Failure::new(reason, message), None)
}

/// What a stream's opening must say, and where its frames come from.
pub(crate) struct Opening<'a> {
    /// The dialect of the frames (for an error relayed as the final answer).
    pub dialect: Dialect,
    /// By when the first frame must come.
    pub first_frame_by: Instant,
    /// Longest silence between frames.
    pub idle: Duration,
    /// The upstream's response headers (for cooldown hints and relayable headers).
    pub headers: &'a http::HeaderMap,
    /// By when content must have started (pings do not count)...
    pub first_content_by: Instant,
    /// ...which is this long after the request was sent (for the message).
    pub first_content: Duration,
    /// Largest single frame, bytes.
    pub max_frame: usize,
    /// Most held before content, bytes.
    pub max_held: usize,
}

/// Read the opening of a stream until content starts. Fails over (returns `Err`) on silence,
/// an error before content, an empty answer, or a stream that ends early.
pub(crate) async fn peek(
    mut body: ByteStream,
    mut obs: Box<dyn FrameObserver>,
    open: Opening<'_>,
    redactor: Redactor,
) -> Result<Committed, (Failure, Option<FailedAnswer>)> {
    let mut splitter = Splitter::new();
    let mut held = BytesMut::new();
    let mut saw_frame = false;
    let mut content = false;
    let mut ended = false;
    let mut failed = None;
    loop {
        let now = Instant::now();
        let until_content = open.first_content_by.saturating_duration_since(now);
        let wait = if saw_frame {
            open.idle
        } else {
            open.first_frame_by.saturating_duration_since(now)
        };
        let chunk = match timeout(wait.min(until_content), body.next()).await {
            Err(_) if Instant::now() >= open.first_content_by => {
                return Err(failure(
                    FailoverReason::NoContent,
                    format!(
                        "the stream showed no content within {} (limits.first_content_ms)",
                        describe_wait(open.first_content)
                    ),
                ))
            }
            Err(_) if saw_frame => {
                return Err(failure(
                    FailoverReason::Timeout,
                    format!(
                        "stream stalled for {} before any content",
                        describe_wait(open.idle)
                    ),
                ))
            }
            Err(_) => {
                return Err(failure(
                    FailoverReason::Timeout,
                    "no first event from the upstream in time",
                ))
            }
            Ok(None) => {
                return Err(failure(
                    FailoverReason::Malformed,
                    "the upstream stream ended before any content",
                ))
            }
            Ok(Some(Err(e))) => {
                return Err(failure(
                    FailoverReason::Unreachable,
                    format!("connection to the upstream lost: {e}"),
                ))
            }
            Ok(Some(Ok(c))) => c,
        };
        splitter.push(&chunk);
        let complete = splitter.take_complete();
        if splitter.pending().len() > open.max_frame {
            return Err(failure(
                FailoverReason::TooLarge,
                format!(
                    "one event of the stream is larger than {} KiB (limits.max_frame_kb)",
                    open.max_frame / 1024
                ),
            ));
        }
        let Some(buf) = complete else {
            continue;
        };
        let buf = redactor.bytes(buf);
        if held.len() + buf.len() > open.max_held {
            return Err(failure(
                FailoverReason::TooLarge,
                format!(
                    "the stream sent more than {} KiB before any content (limits.max_held_kb)",
                    open.max_held / 1024
                ),
            ));
        }
        for frame in sse::frames(&buf) {
            saw_frame = true;
            let (seen, out) = obs.frame(frame);
            match seen {
                Seen::Error { kind, message } if !content => {
                    let status = kind.unwrap_or(ErrorType::Overloaded).status();
                    let data = Bytes::from(sse::parse_frame(frame).data.into_owned());
                    return Err((
                        Failure::new(in_band_reason(kind, &message), message)
                            .with_status(status)
                            .with_hint(crate::routing::hints::cooldown_hint(
                                open.headers,
                                chrono::Utc::now(),
                            )),
                        Some(FailedAnswer {
                            headers: super::headers::relay_back(open.headers),
                            body: Some(data),
                            dialect: open.dialect,
                        }),
                    ));
                }
                Seen::End if !content && obs.counts().output == 0 => {
                    return Err(failure(
                        FailoverReason::EmptyAnswer,
                        "the upstream answered with no content",
                    ));
                }
                Seen::End => ended = true,
                Seen::Content => content = true,
                Seen::Error { kind, message } => {
                    failed = Some((mid_stream_reason(in_band_reason(kind, &message)), message))
                }
                Seen::Other => {}
            }
            held.extend_from_slice(out.as_deref().unwrap_or(frame));
        }
        if content || ended {
            return Ok(Committed {
                held: Some(held.freeze()),
                splitter,
                body,
                idle: open.idle,
                max_frame: open.max_frame,
                obs,
                ended,
                failed,
                redactor,
            });
        }
    }
}

/// The relay stream: held frames first, then the upstream's frames as they come.
struct Relay {
    c: Committed,
    on_end: Option<Box<dyn FnOnce(StreamEnd) + Send>>,
    done: bool,
}

impl Relay {
    fn finish(&mut self, outcome: StreamOutcome) {
        self.done = true;
        if let Some(f) = self.on_end.take() {
            f(StreamEnd {
                outcome,
                counts: self.c.obs.counts(),
            });
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if self.on_end.is_some() {
            self.finish(StreamOutcome::ClientGone);
        }
    }
}

impl Committed {
    /// Tokens seen so far.
    pub fn counts(&self) -> Counts {
        self.obs.counts()
    }

    /// Turn into the client's body stream. `on_end` runs exactly once when the stream ends,
    /// including when the client hangs up (the upstream request is dropped then).
    pub fn into_stream(
        self,
        on_end: Box<dyn FnOnce(StreamEnd) + Send>,
    ) -> impl Stream<Item = Result<Bytes, Infallible>> + Send {
        let relay = Relay {
            c: self,
            on_end: Some(on_end),
            done: false,
        };
        futures_util::stream::unfold(relay, |mut r| async move {
            if let Some(h) = r.c.held.take() {
                if let Some((reason, m)) = r.c.failed.take() {
                    r.finish(StreamOutcome::UpstreamFailed(reason, m));
                }
                return Some((Ok(h), r));
            }
            loop {
                if r.done {
                    return None;
                }
                if r.c.ended {
                    r.finish(StreamOutcome::Complete);
                    return None;
                }
                let next = timeout(r.c.idle, r.c.body.next()).await;
                let (kind, reason, msg) = match next {
                    Ok(Some(Ok(chunk))) => {
                        r.c.splitter.push(&chunk);
                        let complete = r.c.splitter.take_complete();
                        if r.c.splitter.pending().len() > r.c.max_frame {
                            let msg = format!(
                                "one event of the stream is larger than {} KiB (limits.max_frame_kb)",
                                r.c.max_frame / 1024
                            );
                            let mut out = BytesMut::new();
                            // The whole frames before the oversized one still go out first.
                            if let Some(b) = complete {
                                out.extend_from_slice(&r.c.redactor.bytes(b));
                            }
                            out.extend_from_slice(&r.c.obs.failure_frames(ErrorType::Api, &msg));
                            r.finish(StreamOutcome::UpstreamFailed(FailoverReason::TooLarge, msg));
                            return Some((Ok(out.freeze()), r));
                        }
                        let Some(buf) = complete else {
                            continue;
                        };
                        let buf = r.c.redactor.bytes(buf);
                        let mut out: Option<BytesMut> = None;
                        let mut failed = None;
                        let mut at = 0;
                        for f in sse::frames(&buf) {
                            let (seen, changed) = r.c.obs.frame(f);
                            match seen {
                                Seen::End => r.c.ended = true,
                                Seen::Error { kind, message } => {
                                    failed = Some((
                                        mid_stream_reason(in_band_reason(kind, &message)),
                                        message,
                                    ))
                                }
                                Seen::Content | Seen::Other => {}
                            }
                            if let Some(c) = changed {
                                let o = out
                                    .get_or_insert_with(|| BytesMut::with_capacity(buf.len() + 64));
                                o.extend_from_slice(&buf[at..offset(&buf, f)]);
                                o.extend_from_slice(&c);
                                at = offset(&buf, f) + f.len();
                            }
                        }
                        let buf = match out {
                            Some(mut o) => {
                                o.extend_from_slice(&buf[at..]);
                                o.freeze()
                            }
                            None => buf,
                        };
                        if let Some((reason, m)) = failed {
                            // The upstream's own error event is well-formed: pass it and stop.
                            r.finish(StreamOutcome::UpstreamFailed(reason, m));
                        }
                        if buf.is_empty() {
                            continue;
                        }
                        return Some((Ok(buf), r));
                    }
                    Ok(None) if r.c.obs.complete_at_eof() => {
                        r.finish(StreamOutcome::Complete);
                        return None;
                    }
                    // A cut stream is reported as overloaded, as the translators do: clients
                    // (Claude Code included) retry that.
                    Ok(None) => (
                        ErrorType::Overloaded,
                        FailoverReason::Unreachable,
                        "the upstream closed the stream before it finished".to_string(),
                    ),
                    Ok(Some(Err(e))) => (
                        ErrorType::Overloaded,
                        FailoverReason::Unreachable,
                        format!("connection to the upstream lost mid-stream: {e}"),
                    ),
                    Err(_) => (
                        ErrorType::Timeout,
                        FailoverReason::Timeout,
                        format!("the upstream sent nothing for {}", describe_wait(r.c.idle)),
                    ),
                };
                let ev = r.c.obs.failure_frames(kind, &msg);
                r.finish(StreamOutcome::UpstreamFailed(reason, msg));
                return Some((Ok(ev), r));
            }
        })
    }
}

/// Where the frame `f` (a slice of `buf`) starts in `buf`.
fn offset(buf: &[u8], f: &[u8]) -> usize {
    (f.as_ptr() as usize).saturating_sub(buf.as_ptr() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(chunks: Vec<&'static str>) -> ByteStream {
        Box::pin(futures_util::stream::iter(
            chunks.into_iter().map(|c| Ok(Bytes::from(c))),
        ))
    }

    const START: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"up-model\",\"content\":[],\"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}\n\n";
    const BLOCK: &str = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
    const DELTA: &str = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n";
    const STOP_BLOCK: &str =
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n";
    const MDELTA: &str = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n";
    const MDELTA0: &str = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":0}}\n\n";
    const MSTOP: &str = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

    async fn peek_anthropic(
        b: ByteStream,
        first_frame_by: Instant,
        model: &str,
    ) -> Result<Committed, (Failure, Option<FailedAnswer>)> {
        use crate::upstream::observe::{anthropic::AnthropicAnswers, Observe};
        let headers = http::HeaderMap::new();
        let open = Opening {
            dialect: Dialect::Anthropic,
            first_frame_by,
            idle: Duration::from_secs(5),
            headers: &headers,
            first_content_by: Instant::now() + Duration::from_secs(60),
            first_content: Duration::from_secs(60),
            max_frame: 1 << 20,
            max_held: 1 << 20,
        };
        let obs = AnthropicAnswers { stamp: None }.stream(model);
        peek(b, obs, open, Redactor::default()).await
    }

    fn deadline() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    async fn collect(c: Committed) -> (String, StreamEnd) {
        let (tx, rx) = std::sync::mpsc::channel();
        let s = c.into_stream(Box::new(move |e| {
            let _ = tx.send(e);
        }));
        let parts: Vec<_> = s.collect().await;
        let text = parts
            .into_iter()
            .map(|r| match r {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => match e {},
            })
            .collect();
        (text, rx.recv().expect("on_end ran"))
    }

    #[tokio::test]
    async fn passes_frames_and_echoes_model() {
        let b = body(vec![
            START,
            BLOCK,
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,",
            "\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n",
            STOP_BLOCK,
            MDELTA,
            MSTOP,
        ]);
        let c = peek_anthropic(b, deadline(), "claude-x")
            .await
            .map_err(|e| e.0.message)
            .expect("commits");
        let (text, end) = collect(c).await;
        assert!(text.contains("\"model\":\"claude-x\""), "{text}");
        assert!(text.contains("data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"claude-x\""), "key order kept: {text}");
        assert!(!text.contains("up-model"));
        assert!(text.contains(DELTA));
        assert!(text.ends_with(MSTOP));
        assert_eq!(end.outcome, StreamOutcome::Complete);
        assert_eq!((end.counts.input, end.counts.output), (7, 3));
    }

    #[tokio::test]
    async fn fails_over_on_first_error_and_empty_answers() {
        let err = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        let e = peek_anthropic(body(vec![err]), deadline(), "m")
            .await
            .err()
            .expect("fails");
        assert_eq!(e.0.reason, FailoverReason::InBandError);
        assert_eq!(e.0.status, Some(529));
        let e = peek_anthropic(body(vec![START, MDELTA0, MSTOP]), deadline(), "m")
            .await
            .err()
            .expect("fails");
        assert_eq!(e.0.reason, FailoverReason::EmptyAnswer);
        let e = peek_anthropic(body(vec![START]), deadline(), "m")
            .await
            .err()
            .expect("fails");
        assert_eq!(e.0.reason, FailoverReason::Malformed);
    }

    #[tokio::test]
    async fn truncated_stream_ends_with_an_error_event() {
        let c = peek_anthropic(
            body(vec![
                START,
                BLOCK,
                DELTA,
                "event: content_block_delta\ndata: {\"trunc",
            ]),
            deadline(),
            "up-model",
        )
        .await
        .map_err(|e| e.0.message)
        .expect("commits");
        let (text, end) = collect(c).await;
        assert!(!text.contains("trunc"), "half frames are never sent");
        assert!(text.ends_with("\n\n"));
        let last = sse::frames(text.as_bytes()).last().expect("frames");
        let f = sse::parse_frame(last);
        assert_eq!(f.event, Some("error"));
        assert!(matches!(
            end.outcome,
            StreamOutcome::UpstreamFailed(FailoverReason::Unreachable, _)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn silence_before_first_event_is_a_timeout() {
        let b: ByteStream = Box::pin(futures_util::stream::pending());
        let e = peek_anthropic(b, Instant::now() + Duration::from_secs(3), "m")
            .await
            .err()
            .expect("times out");
        assert_eq!(e.0.reason, FailoverReason::Timeout);
    }
}
