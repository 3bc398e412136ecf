//! Streams: look at the first events before committing to a provider (so failover stays
//! invisible), then relay whole SSE frames chunk by chunk, ending a broken stream with a
//! well-formed `event: error`.

use std::convert::Infallible;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use tokio::time::{timeout, Instant};

use super::classify::{cache_of, in_band_reason, message_facts, usage_of};
use super::redact::Redactor;
use super::FailedAnswer;
use crate::events::FailoverReason;
use crate::protocol::anthropic::{error_event, parse_error, replace_model, splice, ErrorType};
use crate::protocol::sse::{self, Splitter};
use crate::routing::Failure;

/// Upstream body chunks.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

/// How a relayed stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamOutcome {
    /// `message_stop` went through.
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
    /// Input tokens incl. cache.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache (part of `input_tokens`).
    pub cache_read_tokens: u64,
    /// Input tokens written to the prompt cache (part of `input_tokens`).
    pub cache_write_tokens: u64,
}

/// A stream whose opening was checked; the client has seen nothing yet.
pub struct Committed {
    held: Option<Bytes>,
    splitter: Splitter,
    body: ByteStream,
    idle: Duration,
    obs: Observer,
    /// Provider id whose signatures and tool ids are stamped (non-Anthropic vendors).
    stamp: Option<String>,
    /// The attempt's credentials, masked in every frame.
    redactor: Redactor,
}

/// `restamp` over a buffer of whole frames; the same buffer when no frame changes.
fn restamp_all(buf: Bytes, id: &str) -> Bytes {
    let stamped: Vec<(&[u8], Option<Bytes>)> = sse::frames(&buf)
        .map(|f| (f, restamp(f, Some(id))))
        .collect();
    if stamped.iter().all(|(_, s)| s.is_none()) {
        return buf;
    }
    let mut out = BytesMut::with_capacity(buf.len() + 64);
    for (f, s) in &stamped {
        out.extend_from_slice(s.as_deref().unwrap_or(f));
    }
    out.freeze()
}

/// A frame as it goes to the client: stamped for `stamp`'s provider when it needs to be.
fn restamp(frame: &[u8], stamp: Option<&str>) -> Option<Bytes> {
    let id = stamp?;
    let f = sse::parse_frame(frame);
    crate::translate::history::stamp_frame(f.event?, &f.data, id)
}

#[derive(Default)]
struct Observer {
    input_tokens: u64,
    output_tokens: u64,
    cache_read: u64,
    cache_write: u64,
    saw_stop: bool,
    error: Option<(FailoverReason, String)>,
    content: bool,
    /// The index of the content block started and not yet stopped, if any.
    open_block: Option<u64>,
}

impl Observer {
    fn frame(&mut self, raw: &[u8]) -> Option<&'static str> {
        let f = sse::parse_frame(raw);
        let ev = match f.event {
            Some("message_start") => "message_start",
            Some("content_block_start") => {
                self.content = true;
                self.open_block = block_index(&f.data);
                "content_block_start"
            }
            Some("content_block_stop") => {
                self.open_block = None;
                "content_block_stop"
            }
            Some("content_block_delta") => {
                self.content = true;
                "content_block_delta"
            }
            Some("message_delta") => {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&f.data) {
                    let (i, o) = usage_of(&v["usage"]);
                    self.output_tokens = self.output_tokens.max(o);
                    if i > 0 {
                        self.input_tokens = i;
                        (self.cache_read, self.cache_write) = cache_of(&v["usage"]);
                    }
                }
                "message_delta"
            }
            Some("message_stop") => {
                self.saw_stop = true;
                "message_stop"
            }
            Some("error") => {
                let (ty, msg) =
                    parse_error(f.data.as_bytes()).unwrap_or_else(|| (None, f.data.to_string()));
                self.error = Some((mid_stream_reason(in_band_reason(ty, &msg)), msg));
                "error"
            }
            _ => "other",
        };
        Some(ev)
    }
}

/// The `index` of a content-block frame's data.
fn block_index(data: &str) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Indexed {
        index: u64,
    }
    serde_json::from_str::<Indexed>(data).ok().map(|i| i.index)
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

/// Rewrite `message.model` of a `message_start` frame to what the client asked for, and read
/// its input tokens. Everything else in the frame keeps its bytes and key order.
fn rewrite_message_start(raw: &[u8], client_model: &str, obs: &mut Observer) -> Option<Bytes> {
    #[derive(serde::Deserialize)]
    struct Start<'a> {
        #[serde(borrow)]
        message: &'a serde_json::value::RawValue,
    }
    #[derive(serde::Deserialize)]
    struct Msg<'a> {
        #[serde(borrow, default)]
        model: Option<std::borrow::Cow<'a, str>>,
        #[serde(default)]
        usage: serde_json::Value,
    }
    let f = sse::parse_frame(raw);
    let data: &str = &f.data;
    let start: Start<'_> = serde_json::from_str(data).ok()?;
    let msg: Msg<'_> = serde_json::from_str(start.message.get()).ok()?;
    obs.input_tokens = usage_of(&msg.usage).0;
    (obs.cache_read, obs.cache_write) = cache_of(&msg.usage);
    if msg.model.as_deref() == Some(client_model) {
        return None;
    }
    let new_msg = replace_model(start.message.get().as_bytes(), client_model)?;
    let new_msg = std::str::from_utf8(&new_msg).ok()?;
    let new_data = splice(data.as_bytes(), start.message, new_msg)?;
    Some(sse::encode(
        "message_start",
        std::str::from_utf8(&new_data).ok()?,
    ))
}

fn failure(reason: FailoverReason, message: impl Into<String>) -> (Failure, Option<FailedAnswer>) {
    (
        Failure {
            reason,
            status: None,
            hint: None,
            message: message.into(),
        },
        None,
    )
}

/// What one pass over a whole Messages answer told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// No content and 0 output tokens.
    pub empty: bool,
    /// Input tokens incl. cache reads and writes.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
}

/// A whole hub-dialect (Anthropic) answer as it goes to the client: the client's model echoed
/// (the rest of the body keeps its bytes and key order) and, for `stamp`'s provider, thinking
/// signatures and tool ids stamped. One typed pass also tells emptiness and tokens. `None`
/// when the body is not a JSON object.
pub(crate) fn whole_answer(
    body: Bytes,
    client_model: &str,
    stamp: Option<&str>,
) -> Option<(Bytes, Facts)> {
    let facts = message_facts(&body)?;
    let out = Facts {
        empty: facts.empty,
        input_tokens: facts.input_tokens,
        output_tokens: facts.output_tokens,
    };
    let echoed = match facts.model {
        Some(raw)
            if serde_json::from_str::<std::borrow::Cow<'_, str>>(raw.get())
                .ok()
                .as_deref()
                != Some(client_model) =>
        {
            let new = serde_json::to_string(client_model).unwrap_or_default();
            splice(&body, raw, &new)
        }
        _ => None,
    };
    let body = echoed.unwrap_or(body);
    let body = match stamp {
        Some(id) => crate::translate::history::stamp_response(&body, id).unwrap_or(body),
        None => body,
    };
    Some((body, out))
}

/// Read the opening of an Anthropic SSE stream until content starts. Fails over (returns
/// `Err`) on silence, an `error` first event, an empty answer, or a stream that ends early.
pub async fn peek(
    mut body: ByteStream,
    first_event_deadline: Instant,
    idle: Duration,
    client_model: &str,
    status_headers: &http::HeaderMap,
    stamp: Option<&str>,
    redactor: Redactor,
) -> Result<Committed, (Failure, Option<FailedAnswer>)> {
    let mut splitter = Splitter::new();
    let mut held = BytesMut::new();
    let mut obs = Observer::default();
    let mut saw_event = false;
    loop {
        let wait = if saw_event {
            idle
        } else {
            first_event_deadline.saturating_duration_since(Instant::now())
        };
        let chunk = match timeout(wait, body.next()).await {
            Err(_) if saw_event => {
                return Err(failure(
                    FailoverReason::Timeout,
                    format!("stream stalled for {} s before any content", idle.as_secs()),
                ))
            }
            Err(_) => {
                return Err(failure(
                    FailoverReason::Timeout,
                    "no first event from the upstream in time",
                ))
            }
            Ok(None) if obs.saw_stop && !obs.content => {
                return Err(failure(
                    FailoverReason::EmptyAnswer,
                    "the upstream answered with no content",
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
        let Some(buf) = splitter.take_complete() else {
            continue;
        };
        let buf = redactor.bytes(buf);
        for frame in sse::frames(&buf) {
            let before_content = !obs.content;
            match obs.frame(frame) {
                Some("error") if before_content => {
                    let parsed = parse_error(sse::parse_frame(frame).data.as_bytes());
                    let kind = parsed.as_ref().and_then(|p| p.0);
                    let message = obs.error.clone().map(|e| e.1).unwrap_or_default();
                    let status = kind.unwrap_or(ErrorType::Overloaded).status();
                    let data = sse::parse_frame(frame).data.to_string();
                    return Err((
                        Failure {
                            reason: in_band_reason(kind, &message),
                            status: Some(status),
                            hint: crate::routing::hints::cooldown_hint(
                                status_headers,
                                chrono::Utc::now(),
                            ),
                            message,
                        },
                        Some(FailedAnswer {
                            headers: super::headers::relay_back(status_headers),
                            anthropic_body: Some(Bytes::from(data)),
                        }),
                    ));
                }
                Some("message_start") => {
                    match rewrite_message_start(frame, client_model, &mut obs) {
                        Some(b) => held.extend_from_slice(&b),
                        None => held.extend_from_slice(frame),
                    }
                }
                Some("message_stop") if !obs.content => {
                    if obs.output_tokens == 0 {
                        return Err(failure(
                            FailoverReason::EmptyAnswer,
                            "the upstream answered with no content",
                        ));
                    }
                    held.extend_from_slice(frame);
                }
                _ => match restamp(frame, stamp) {
                    Some(b) => held.extend_from_slice(&b),
                    None => held.extend_from_slice(frame),
                },
            }
            saw_event = true;
        }
        if obs.content || obs.saw_stop {
            return Ok(Committed {
                held: Some(held.freeze()),
                splitter,
                body,
                idle,
                obs,
                stamp: stamp.map(String::from),
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
                input_tokens: self.c.obs.input_tokens,
                output_tokens: self.c.obs.output_tokens,
                cache_read_tokens: self.c.obs.cache_read,
                cache_write_tokens: self.c.obs.cache_write,
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
    pub fn tokens(&self) -> (u64, u64) {
        (self.obs.input_tokens, self.obs.output_tokens)
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
                return Some((Ok(h), r));
            }
            loop {
                if r.done {
                    return None;
                }
                if r.c.obs.saw_stop {
                    r.finish(StreamOutcome::Complete);
                    return None;
                }
                let next = timeout(r.c.idle, r.c.body.next()).await;
                let (kind, reason, msg) = match next {
                    Ok(Some(Ok(chunk))) => {
                        r.c.splitter.push(&chunk);
                        let Some(buf) = r.c.splitter.take_complete() else {
                            continue;
                        };
                        let buf = r.c.redactor.bytes(buf);
                        for f in sse::frames(&buf) {
                            r.c.obs.frame(f);
                        }
                        let buf = match r.c.stamp.as_deref() {
                            Some(id) => restamp_all(buf, id),
                            None => buf,
                        };
                        if let Some((reason, m)) = r.c.obs.error.clone() {
                            // The upstream's own error event is well-formed: pass it and stop.
                            r.finish(StreamOutcome::UpstreamFailed(reason, m));
                        }
                        return Some((Ok(buf), r));
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
                // A block left open is closed first: an error inside a block is not a stream
                // the SDKs accept.
                let ev = match r.c.obs.open_block.take() {
                    Some(index) => {
                        let stop =
                            serde_json::json!({"type": "content_block_stop", "index": index});
                        let mut out = BytesMut::from(
                            &sse::encode("content_block_stop", &stop.to_string())[..],
                        );
                        out.extend_from_slice(&error_event(kind, &msg));
                        out.freeze()
                    }
                    None => error_event(kind, &msg),
                };
                r.finish(StreamOutcome::UpstreamFailed(reason, msg));
                return Some((Ok(ev), r));
            }
        })
    }
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
        let c = peek(
            b,
            deadline(),
            Duration::from_secs(5),
            "claude-x",
            &Default::default(),
            None,
            Redactor::default(),
        )
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
        assert_eq!((end.input_tokens, end.output_tokens), (7, 3));
    }

    #[tokio::test]
    async fn fails_over_on_first_error_and_empty_answers() {
        let err = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        let e = peek(
            body(vec![err]),
            deadline(),
            Duration::from_secs(5),
            "m",
            &Default::default(),
            None,
            Redactor::default(),
        )
        .await
        .err()
        .expect("fails");
        assert_eq!(e.0.reason, FailoverReason::InBandError);
        assert_eq!(e.0.status, Some(529));
        let e = peek(
            body(vec![START, MDELTA0, MSTOP]),
            deadline(),
            Duration::from_secs(5),
            "m",
            &Default::default(),
            None,
            Redactor::default(),
        )
        .await
        .err()
        .expect("fails");
        assert_eq!(e.0.reason, FailoverReason::EmptyAnswer);
        let e = peek(
            body(vec![START]),
            deadline(),
            Duration::from_secs(5),
            "m",
            &Default::default(),
            None,
            Redactor::default(),
        )
        .await
        .err()
        .expect("fails");
        assert_eq!(e.0.reason, FailoverReason::Malformed);
    }

    #[tokio::test]
    async fn truncated_stream_ends_with_an_error_event() {
        let c = peek(
            body(vec![
                START,
                BLOCK,
                DELTA,
                "event: content_block_delta\ndata: {\"trunc",
            ]),
            deadline(),
            Duration::from_secs(5),
            "up-model",
            &Default::default(),
            None,
            Redactor::default(),
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
        let e = peek(
            b,
            Instant::now() + Duration::from_secs(3),
            Duration::from_secs(5),
            "m",
            &Default::default(),
            None,
            Redactor::default(),
        )
        .await
        .err()
        .expect("times out");
        assert_eq!(e.0.reason, FailoverReason::Timeout);
    }
}
