//! Talking to providers. One adapter per provider kind (`adapters/`, behind the
//! [`adapter::ProviderAdapter`] trait) knows the kind's URLs, auth, encoding, error wording and
//! decoding; one driver (`attempt.rs`) runs an attempt the same way for every kind and
//! classifies what comes back (success, the client's own error, or a reason to fail over)
//! before a byte reaches the client. Nothing here decides the order of providers.
//!
//! | file | owns |
//! |---|---|
//! | `adapter.rs` | the trait, the attempt context, the hub request |
//! | `adapters/` | one file per kind, and the registry (the only `match` on the kind) |
//! | `attempt.rs` | the driver: send, bounded read, peek, emptiness |
//! | `relay.rs` | hub-dialect streams: peek before commit, relay after |
//! | `decode.rs` | translated streams: vendor SSE to hub SSE |
//! | `credentials.rs`, `headers.rs` | what goes upstream: the credential policy, hop headers |
//! | `redact.rs` | masking the attempt's credentials in all it produced |
//! | `classify.rs` | pure failover classification |
//! | `urls.rs` | parsed upstream URLs, kept by their text |
//! | `wait.rs` | time spent waiting on upstreams (what the overhead header leaves out) |
//! | `net.rs`, `outbound.rs` | transport failures, bounded reads, HTTP clients and proxies |

pub mod adapter;
pub(crate) mod adapters;
mod attempt;
pub mod classify;
pub mod credentials;
pub mod decode;
pub(crate) mod gather;
pub mod headers;
pub(crate) mod net;
pub(crate) mod observe;
pub mod outbound;
pub mod redact;
pub mod relay;
pub mod transport;
pub mod urls;
pub mod wait;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

pub use adapter::{AttemptCtx, HubRequest, ModelInfo, Op};
#[cfg(feature = "fuzzing")]
pub(crate) use attempt::encode;
pub use attempt::run as attempt;
pub(crate) use attempt::{loop_failure, probe_request};
pub use credentials::Auth;

use crate::protocol::Dialect;
use crate::routing::Failure;
pub use observe::Counts;

/// An upstream answer ready to go to the client.
pub struct Answer {
    /// The dialect the body is in: the hub's, or the client's own when it passed through.
    pub dialect: Dialect,
    /// Status to send.
    pub status: StatusCode,
    /// Headers to relay (already filtered).
    pub headers: HeaderMap,
    /// Body.
    pub body: AnswerBody,
    /// The model sent upstream.
    pub upstream_model: String,
    /// Tokens known when the answer was committed (non-streaming: final).
    pub counts: Counts,
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
    dialect: Dialect,
) -> Outcome {
    match peeked {
        Ok(committed) => Outcome::Success(Answer {
            dialect,
            status,
            headers,
            counts: committed.counts(),
            body: AnswerBody::Stream(committed),
            upstream_model: upstream_model.to_string(),
        }),
        Err((f, ans)) => Outcome::Retry(f, ans),
    }
}

/// An upstream error answer kept for relaying if nothing else works.
#[derive(Debug, Clone)]
pub struct FailedAnswer {
    /// Relayable headers (retry-after, request-id, ...).
    pub headers: HeaderMap,
    /// The error object, when the answer was one of `dialect`'s error shape.
    pub body: Option<Bytes>,
    /// The dialect of `body`.
    pub dialect: Dialect,
}
