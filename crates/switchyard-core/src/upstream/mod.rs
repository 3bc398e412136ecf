//! Talking to providers: one adapter per provider kind builds the upstream request and
//! classifies what comes back (success, the client's own error, or a reason to fail over)
//! before a byte reaches the client. Adapters do not decide order.

pub mod anthropic;
pub mod classify;
pub mod headers;
pub mod outbound;
mod redact;
pub mod relay;
pub mod translated;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::routing::Failure;

/// An upstream answer ready to go to the client.
pub struct Answer {
    /// Status to send.
    pub status: StatusCode,
    /// Headers to relay (already filtered).
    pub headers: HeaderMap,
    /// Body.
    pub body: AnswerBody,
    /// The model sent upstream.
    pub upstream_model: String,
    /// Tokens known when the answer was committed (non-streaming: final).
    pub input_tokens: u64,
    /// Tokens known when the answer was committed (non-streaming: final).
    pub output_tokens: u64,
}

/// A whole body or a committed stream.
pub enum AnswerBody {
    /// Non-streaming.
    Full(Bytes),
    /// A stream whose first events were checked.
    Stream(relay::Committed),
}

/// What one attempt produced.
pub enum Outcome {
    /// Send it to the client.
    Success(Answer),
    /// The client's own mistake (400, 404, 413...): return it as it is, no failover.
    ClientError(Answer),
    /// This provider cannot serve now: try the next. Carries the upstream error answer when
    /// there was one, so the final error can relay it.
    Retry(Failure, Option<FailedAnswer>),
    /// This provider can never take this request (e.g. content its protocol has no way to
    /// express): try the next without cooling it down; if none can, the client gets a 400
    /// with this message.
    Unsupported(String),
}

/// The outcome of a stream whose opening was peeked: served, or fail over.
pub(crate) fn stream_outcome(
    peeked: Result<relay::Committed, (Failure, Option<FailedAnswer>)>,
    status: StatusCode,
    headers: HeaderMap,
    upstream_model: &str,
) -> Outcome {
    match peeked {
        Ok(committed) => {
            let (input_tokens, output_tokens) = committed.tokens();
            Outcome::Success(Answer {
                status,
                headers,
                body: AnswerBody::Stream(committed),
                upstream_model: upstream_model.to_string(),
                input_tokens,
                output_tokens,
            })
        }
        Err((f, ans)) => Outcome::Retry(f, ans),
    }
}

/// Run one attempt with the adapter for the provider's kind.
pub async fn attempt(a: anthropic::Attempt<'_>) -> Outcome {
    let secrets = redact::credentials(&a);
    let outcome = match a.provider.kind {
        crate::config::ProviderKind::Anthropic => anthropic::attempt(a).await,
        crate::config::ProviderKind::Openai | crate::config::ProviderKind::Gemini => {
            translated::attempt(a).await
        }
    };
    redact::outcome(outcome, &secrets)
}

/// An upstream error answer kept for relaying if nothing else works.
#[derive(Debug, Clone)]
pub struct FailedAnswer {
    /// Upstream status.
    pub status: u16,
    /// Relayable headers (retry-after, request-id, ...).
    pub headers: HeaderMap,
    /// Body, when it was an Anthropic-shaped error.
    pub anthropic_body: Option<Bytes>,
}
