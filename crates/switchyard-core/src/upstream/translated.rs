//! Providers that do not speak Anthropic (`kind = "openai"`, `kind = "gemini"`): translate the
//! request, call the vendor, translate the answer — as a whole body, or as a stream through a
//! state machine — and classify failures exactly as for Anthropic-kind providers, so failover
//! before the first byte works the same.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::Value;
use tokio::time::{timeout, Instant};

use super::anthropic::{error_chain, net_failure, read_limited, Attempt, MAX_ERROR_BODY};
use super::classify::{error_reason, message_facts};
use super::headers::{relay_back, Auth};
use super::relay::{self, ByteStream};
use super::{Answer, AnswerBody, FailedAnswer, Outcome};
use crate::config::{PrefillStyle, Provider, ProviderKind, ReasoningField, ThinkingStyle};
use crate::events::FailoverReason;
use crate::protocol::anthropic::{error_body, ErrorType};
use crate::protocol::sse::{self, Splitter};
use crate::routing::{hints::cooldown_hint, Failure};
use crate::translate::writer::StreamWriter;
use crate::translate::{gemini, openai};

/// How long the vendor may stay silent before the client gets a `ping`.
const PING_EVERY: Duration = Duration::from_secs(15);

/// A translated request, ready to send.
struct Prepared {
    url: String,
    body: Bytes,
    dialect: Dialect,
}

/// What the answer translation needs to know about its request.
enum Dialect {
    OpenAi { tool_names: Vec<(String, String)> },
    Gemini,
}

fn openai_options(p: &Provider) -> openai::OpenAiOptions {
    let q = &p.quirks;
    openai::OpenAiOptions {
        max_tokens_cap: q.max_tokens,
        reasoning: match q.reasoning {
            Some(ReasoningField::Reasoning) => openai::ReasoningField::Reasoning,
            Some(ReasoningField::None) => openai::ReasoningField::None,
            Some(ReasoningField::ReasoningContent) | None => {
                openai::ReasoningField::ReasoningContent
            }
        },
        reasoning_round_trip: q.reasoning_round_trip,
        prefill: match q.prefill {
            Some(PrefillStyle::DeepseekPrefix) => openai::Prefill::DeepSeekPrefix,
            Some(PrefillStyle::KimiPartial) => openai::Prefill::KimiPartial,
            Some(PrefillStyle::Plain) | None => openai::Prefill::Fallback,
        },
        top_k: q.top_k,
        max_completion_tokens: q.max_completion_tokens,
        stream_usage: true,
    }
}

fn gemini_options(p: &Provider) -> gemini::GeminiOptions {
    gemini::GeminiOptions {
        max_tokens_cap: p.quirks.max_tokens,
        thinking: match p.quirks.thinking_style {
            Some(ThinkingStyle::Level) => gemini::ThinkingStyle::Level,
            Some(ThinkingStyle::Budget) | None => gemini::ThinkingStyle::Budget,
        },
    }
}

/// `{base}/chat/completions`, with `/v1` added unless the base already ends in a version.
pub fn openai_url(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let versioned = base.rsplit('/').next().is_some_and(|seg| {
        seg.len() >= 2 && seg.starts_with('v') && seg[1..].chars().all(|c| c.is_ascii_digit())
    });
    if versioned || base.ends_with("/beta") {
        format!("{base}/chat/completions")
    } else {
        format!("{base}/v1/chat/completions")
    }
}

/// `{base}/v1beta/models/{model}:generateContent` (or the SSE streaming method).
pub fn gemini_url(base_url: &str, model: &str, stream: bool) -> String {
    let base = base_url.trim_end_matches('/');
    let base = base.strip_suffix("/v1beta").unwrap_or(base);
    let model = model.strip_prefix("models/").unwrap_or(model);
    if stream {
        format!("{base}/v1beta/models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("{base}/v1beta/models/{model}:generateContent")
    }
}

fn prepare(a: &Attempt<'_>, req: &Value) -> Result<Prepared, String> {
    let p = a.provider;
    match p.kind {
        ProviderKind::Openai => {
            let t = openai::to_request(req, a.upstream_model, a.stream, &p.id, &openai_options(p))
                .map_err(|e| e.0)?;
            log_notes(p, &t.notes);
            Ok(Prepared {
                url: openai_url(&p.base_url),
                body: serde_json::to_vec(&t.body)
                    .map_err(|e| e.to_string())?
                    .into(),
                dialect: Dialect::OpenAi {
                    tool_names: t.tool_names,
                },
            })
        }
        ProviderKind::Gemini => {
            let t = gemini::to_request(req, &p.id, &gemini_options(p)).map_err(|e| e.0)?;
            log_notes(p, &t.notes);
            Ok(Prepared {
                url: gemini_url(&p.base_url, a.upstream_model, a.stream),
                body: serde_json::to_vec(&t.body)
                    .map_err(|e| e.to_string())?
                    .into(),
                dialect: Dialect::Gemini,
            })
        }
        ProviderKind::Anthropic => {
            Err("internal: an Anthropic-kind provider reached the translator".into())
        }
    }
}

fn log_notes(p: &Provider, notes: &[String]) {
    for n in notes {
        tracing::info!(provider = %p.id, "translation: {n}");
    }
}

/// Headers for the vendor: JSON, the vendor's auth header, nothing of the client's.
fn vendor_headers(p: &Provider, auth: &Auth<'_>, client: &HeaderMap) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let key: Option<String> = match auth {
        Auth::Key(s, _) => Some(s.expose().to_string()),
        // A passthrough vendor gets the client's own key in its own header.
        Auth::Passthrough => client
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(String::from)
            .or_else(|| {
                client
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .map(String::from)
            }),
        Auth::Nothing => None,
    };
    if let Some(k) = key {
        let (name, value) = match p.kind {
            ProviderKind::Gemini => (
                http::HeaderName::from_static("x-goog-api-key"),
                HeaderValue::from_str(&k),
            ),
            _ => (
                http::header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {k}")),
            ),
        };
        if let Ok(mut v) = value {
            v.set_sensitive(true);
            h.insert(name, v);
        }
    }
    h
}

fn failure(reason: FailoverReason, status: Option<u16>, message: String) -> Failure {
    Failure {
        reason,
        status,
        hint: None,
        message,
    }
}

/// The vendor's error, in Anthropic's words: type and message.
fn vendor_error(kind: ProviderKind, status: u16, body: &[u8]) -> (ErrorType, String) {
    match kind {
        ProviderKind::Gemini => match gemini::error_message(body) {
            Some((st, msg)) => (gemini::error_type(st.as_deref(), status), msg),
            None => (ErrorType::from_status(status), summarize(body)),
        },
        _ => (
            ErrorType::from_status(status),
            openai::error_message(body).unwrap_or_else(|| summarize(body)),
        ),
    }
}

fn summarize(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(300)]);
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.is_empty() {
        "(empty body)".into()
    } else {
        s
    }
}

fn message_id() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("msg_sy{n:x}")
}

/// Run one attempt against an OpenAI- or Gemini-kind provider. A request the vendor cannot
/// take at all (untranslatable content) is `Outcome::Unsupported`: the next provider may.
pub async fn attempt(a: Attempt<'_>) -> Outcome {
    let started = Instant::now();
    let p = a.provider;
    let req: Value = match serde_json::from_slice(a.body) {
        Ok(v) => v,
        Err(e) => return Outcome::Unsupported(format!("the request body is not valid JSON: {e}")),
    };
    let prep = match prepare(&a, &req) {
        Ok(p) => p,
        Err(msg) => {
            return Outcome::Unsupported(format!(
                "{} cannot take this request: {msg}",
                p.display_name()
            ))
        }
    };
    let headers = vendor_headers(p, &a.auth, a.client_headers);
    let limit = Duration::from_millis(if a.stream {
        a.timeouts.first_byte_ms
    } else {
        a.timeouts.request_ms
    });
    let deadline = started + limit;
    let send = a
        .client
        .post(&prep.url)
        .headers(headers)
        .body(prep.body)
        .send();
    let resp = match tokio::time::timeout_at(deadline, send).await {
        Err(_) => {
            return Outcome::Retry(
                failure(
                    FailoverReason::Timeout,
                    None,
                    format!(
                        "{} sent no response in {} s",
                        p.display_name(),
                        limit.as_secs()
                    ),
                ),
                None,
            )
        }
        Ok(Err(e)) => return Outcome::Retry(net_failure(&e, p, a.proxy), None),
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    let up_headers = resp.headers().clone();
    let mut relayed = relay_back(&up_headers);
    relayed.remove(http::header::CONTENT_TYPE);

    if !status.is_success() {
        let body = match read_limited(
            resp,
            MAX_ERROR_BODY,
            Instant::now() + Duration::from_secs(30),
        )
        .await
        {
            Ok(b) => b,
            Err(f) => return Outcome::Retry(f, None),
        };
        let (kind, message) = vendor_error(p.kind, status.as_u16(), &body);
        let mut reason = error_reason(status.as_u16(), &body, a.indicators);
        if p.kind == ProviderKind::Openai && openai::is_quota_error(&body) {
            reason = Some(FailoverReason::OutOfCredit);
        }
        let anthropic = error_body(kind, &message, "");
        relayed.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return match reason {
            None => Outcome::ClientError(Answer {
                status: StatusCode::from_u16(kind.status()).unwrap_or(status),
                headers: relayed,
                body: AnswerBody::Full(anthropic),
                upstream_model: a.upstream_model.to_string(),
                input_tokens: 0,
                output_tokens: 0,
            }),
            Some(reason) => Outcome::Retry(
                Failure {
                    reason,
                    status: Some(status.as_u16()),
                    hint: cooldown_hint(&up_headers, chrono::Utc::now()),
                    message,
                },
                Some(FailedAnswer {
                    status: status.as_u16(),
                    headers: relayed,
                    anthropic_body: Some(anthropic),
                }),
            ),
        };
    }

    if a.stream {
        relayed.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        let idle = Duration::from_millis(a.timeouts.idle_ms);
        let decoder = match prep.dialect {
            Dialect::OpenAi { tool_names } => Decoder::openai(&p.id, &tool_names),
            Dialect::Gemini => Decoder::gemini(&p.id),
        };
        let writer = StreamWriter::new(a.client_model, &message_id(), &format!("sy1.{}.", p.id));
        let upstream: ByteStream = Box::pin(resp.bytes_stream());
        let translated = translate_stream(upstream, decoder, writer, idle);
        let peeked = relay::peek(
            translated,
            deadline,
            idle,
            a.client_model,
            &up_headers,
            None,
        )
        .await;
        return super::stream_outcome(peeked, status, relayed, a.upstream_model);
    }

    let body = match read_limited(resp, usize::MAX, deadline).await {
        Ok(b) => b,
        Err(f) => return Outcome::Retry(f, None),
    };
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return Outcome::Retry(
                failure(
                    FailoverReason::Malformed,
                    Some(status.as_u16()),
                    "the vendor's answer is not JSON".into(),
                ),
                None,
            )
        }
    };
    let message = match prep.dialect {
        Dialect::OpenAi { tool_names } => {
            openai::from_response(&parsed, a.client_model, &p.id, &tool_names).map_err(|e| e.0)
        }
        Dialect::Gemini => gemini::from_response(&parsed, a.client_model, &p.id).map_err(|e| e.0),
    };
    let message = match message {
        Ok(m) => m,
        Err(msg) => {
            return Outcome::Retry(
                failure(FailoverReason::Malformed, Some(status.as_u16()), msg),
                None,
            )
        }
    };
    let out: Bytes = match serde_json::to_vec(&message) {
        Ok(v) => v.into(),
        Err(e) => {
            return Outcome::Retry(
                failure(FailoverReason::Malformed, None, e.to_string()),
                None,
            )
        }
    };
    // One typed pass over the translated answer: emptiness and tokens together.
    let (empty, input_tokens, output_tokens) = message_facts(&out)
        .map(|f| (f.empty, f.input_tokens, f.output_tokens))
        .unwrap_or((false, 0, 0));
    if empty {
        return Outcome::Retry(
            failure(
                FailoverReason::EmptyAnswer,
                Some(status.as_u16()),
                "the vendor answered with no content".into(),
            ),
            None,
        );
    }
    relayed.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Outcome::Success(Answer {
        status,
        headers: relayed,
        body: AnswerBody::Full(out),
        upstream_model: a.upstream_model.to_string(),
        input_tokens,
        output_tokens,
    })
}

/// A vendor stream translator.
enum Machine {
    OpenAi(openai::StreamState),
    Gemini(gemini::StreamState),
}

impl Machine {
    fn feed(&mut self, data: &str, w: &mut StreamWriter) {
        match self {
            Machine::OpenAi(m) => m.feed(data, w),
            Machine::Gemini(m) => m.feed(data, w),
        }
    }
    fn end(&mut self, clean: bool, w: &mut StreamWriter) {
        match self {
            Machine::OpenAi(m) => m.end(clean, w),
            Machine::Gemini(m) => m.end(clean, w),
        }
    }
}

/// The synchronous heart of [`translate_stream`]: vendor SSE bytes in (split anywhere),
/// Anthropic frames out through the [`StreamWriter`]. No I/O and no clock, so the fuzz
/// targets drive exactly what the proxy runs.
pub(crate) struct Decoder {
    splitter: Splitter,
    machine: Machine,
}

impl Decoder {
    /// For an `openai`-kind provider; `tool_names` maps upstream to client tool names.
    pub(crate) fn openai(provider_id: &str, tool_names: &[(String, String)]) -> Self {
        Self::with(Machine::OpenAi(openai::StreamState::new(
            provider_id,
            tool_names,
        )))
    }

    /// For a `gemini`-kind provider.
    pub(crate) fn gemini(provider_id: &str) -> Self {
        Self::with(Machine::Gemini(gemini::StreamState::new(provider_id)))
    }

    fn with(machine: Machine) -> Self {
        Decoder {
            splitter: Splitter::new(),
            machine,
        }
    }

    /// Bytes from the vendor: every frame completed by them is translated.
    pub(crate) fn chunk(&mut self, chunk: &[u8], w: &mut StreamWriter) {
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

    /// The vendor's connection broke mid-stream.
    pub(crate) fn broken(&mut self, w: &mut StreamWriter) {
        self.machine.end(false, w);
    }

    /// The vendor closed the stream normally.
    pub(crate) fn eof(&mut self, w: &mut StreamWriter) {
        // A last frame without its blank line still counts.
        let rest = String::from_utf8_lossy(self.splitter.pending()).into_owned();
        let frame = sse::parse_frame(rest.as_bytes());
        if !frame.data.is_empty() {
            self.machine.feed(&frame.data, w);
        }
        self.machine.end(true, w);
    }
}

struct Translating {
    upstream: ByteStream,
    decoder: Decoder,
    writer: StreamWriter,
    idle: Duration,
    last_upstream: Instant,
    finished: bool,
}

/// The vendor's byte stream as an Anthropic SSE byte stream. Sends `ping` while the vendor is
/// silent (once the message started), and enforces the idle limit itself (pings would
/// otherwise hide a dead vendor from the relay's own idle check).
fn translate_stream(
    upstream: ByteStream,
    decoder: Decoder,
    writer: StreamWriter,
    idle: Duration,
) -> ByteStream {
    let state = Translating {
        upstream,
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
                    &format!(
                        "the vendor sent nothing for {}",
                        super::relay::describe_wait(s.idle)
                    ),
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
                }
                Ok(Some(Err(e))) => {
                    tracing::warn!("vendor stream broke: {}", error_chain(&e));
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

    #[test]
    fn urls() {
        assert_eq!(
            openai_url("https://api.openai.com/v1"),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(
            openai_url("https://api.deepseek.com/"),
            "https://api.deepseek.com/v1/chat/completions"
        );
        assert_eq!(
            openai_url("https://api.deepseek.com/beta"),
            "https://api.deepseek.com/beta/chat/completions"
        );
        assert_eq!(
            openai_url("https://open.bigmodel.cn/api/paas/v4"),
            "https://open.bigmodel.cn/api/paas/v4/chat/completions"
        );
        assert_eq!(
            openai_url("http://localhost:11434/v1"),
            "http://localhost:11434/v1/chat/completions"
        );
        assert_eq!(
            gemini_url("https://generativelanguage.googleapis.com", "gemini-2.5-pro", true),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            gemini_url("https://generativelanguage.googleapis.com/v1beta/", "models/gemini-2.5-flash", false),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
        );
    }
}
