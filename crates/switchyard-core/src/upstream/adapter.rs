//! The seam between the one attempt driver (`attempt.rs`) and the provider kinds. Everything
//! that differs between kinds is a method here, implemented once per kind in `adapters/`:
//! endpoint URLs (the request, the model list, token counting, the health probe all come from
//! [`ProviderAdapter::url`]), where the key goes, request encoding, error classification,
//! answer and stream decoding, and model listing. The driver does the rest the same way for
//! every kind: deadline, send, bounded read, peek before commit, emptiness check.
//!
//! The hub is Anthropic Messages: a request arrives as a [`HubRequest`] and a translated answer
//! leaves as Anthropic JSON or SSE. A provider that speaks the hub dialect itself relays bytes
//! (model name, history and credential aside).

use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::credentials::{Auth, KeyPlacement};
use super::observe::Observe;
use crate::config::{Limits, Provider, Timeouts};
use crate::events::FailoverReason;
use crate::protocol::Dialect;
use crate::translate::writer::StreamWriter;

/// What an attempt asks a provider for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Generate a message (`POST /v1/messages` in the hub dialect).
    Messages,
    /// Count a request's input tokens.
    CountTokens,
    /// List the models (also the health probe: never a billed call).
    Models,
}

/// A client request in the hub dialect (an Anthropic Messages body), parsed at most once
/// however many translating providers it is tried on, and, when the client spoke another
/// dialect, its own bytes (a provider of that dialect gets them as they are).
pub struct HubRequest {
    body: Bytes,
    parsed: OnceLock<Result<Value, String>>,
    native: Option<(Dialect, Bytes)>,
}

impl HubRequest {
    /// Wrap a Messages body (not parsed until a translating adapter asks).
    pub fn new(body: Bytes) -> Self {
        HubRequest {
            body,
            parsed: OnceLock::new(),
            native: None,
        }
    }

    /// A request the client sent in `dialect` as `native`, translated to the hub as `hub`.
    pub fn translated(hub: Bytes, dialect: Dialect, native: Bytes) -> Self {
        HubRequest {
            body: hub,
            parsed: OnceLock::new(),
            native: Some((dialect, native)),
        }
    }

    /// The client's own bytes when it spoke `dialect` (and it is not the hub's).
    pub fn native(&self, dialect: Dialect) -> Option<&Bytes> {
        self.native
            .as_ref()
            .filter(|(d, _)| *d == dialect)
            .map(|(_, b)| b)
    }

    /// The dialect the client spoke.
    pub fn client_dialect(&self) -> Dialect {
        self.native.as_ref().map_or(Dialect::Anthropic, |(d, _)| *d)
    }

    /// The body as the client sent it (after inbound translation, if any).
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as JSON, parsed on first use.
    pub fn json(&self) -> Result<&Value, &str> {
        self.parsed
            .get_or_init(|| {
                serde_json::from_slice(&self.body)
                    .map_err(|e| format!("the request body is not valid JSON: {e}"))
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

/// Everything one attempt needs.
#[derive(Clone, Copy)]
pub struct AttemptCtx<'a> {
    /// The HTTP client (with this provider's proxy).
    pub client: &'a super::transport::Upstream,
    /// The provider.
    pub provider: &'a Provider,
    /// What is asked.
    pub op: Op,
    /// The client's query string (e.g. `beta=true`), credentials already removed.
    pub query: Option<&'a str>,
    /// The client's headers.
    pub client_headers: &'a HeaderMap,
    /// The request, in the hub dialect.
    pub request: &'a HubRequest,
    /// The model the client asked for (empty for `Models`).
    pub client_model: &'a str,
    /// The model to send upstream (after mapping and rules).
    pub upstream_model: &'a str,
    /// Streaming?
    pub stream: bool,
    /// Credential.
    pub auth: Auth<'a>,
    /// Time limits.
    pub timeouts: &'a Timeouts,
    /// Size limits.
    pub limits: &'a Limits,
    /// Error-body words that mean "fail over".
    pub indicators: &'a [String],
    /// The configured proxy this attempt goes through (no password), to name it in failures.
    pub proxy: Option<&'a str>,
    /// The hop header to send (`headers::next_hops`): how loops are found.
    pub hops: &'a http::HeaderValue,
    /// Parsed upstream URLs.
    pub urls: &'a super::urls::UrlCache,
    /// Where the attempt counts its time waiting on the upstream.
    pub waited: &'a super::wait::Waited,
}

/// A request body ready for the wire, and how its answer comes back to the hub.
pub(crate) struct Encoded {
    /// The body (`None` for `GET`s).
    pub body: Option<Bytes>,
    /// How the answer is read.
    pub codec: Codec,
}

/// How an answer comes back.
pub(crate) enum Codec {
    /// The provider speaks the dialect of the body it was sent (the hub's, or the client's
    /// own): its answer passes as bytes, read by this dialect's observer (which echoes the
    /// client's model and, for the hub, stamps other vendors' signatures).
    Relay(Box<dyn Observe>),
    /// The provider speaks another dialect than the hub's: translate.
    Translate(Box<dyn Translation>),
}

/// Turns one request's answer from a provider's dialect into the hub's.
pub(crate) trait Translation: Send + Sync {
    /// A whole answer as an Anthropic message (JSON), carrying `client_model`. `Err` when the
    /// answer is not what the dialect promises.
    fn answer(&self, body: &[u8], client_model: &str) -> Result<Bytes, String>;
    /// A state machine for the streamed answer.
    fn stream(&self) -> Box<dyn StreamMachine>;
}

/// Translates one vendor stream, frame by frame, into the hub's SSE through a
/// [`StreamWriter`] (which keeps the Anthropic stream rules by construction).
pub(crate) trait StreamMachine: Send {
    /// One SSE frame's `data`.
    fn feed(&mut self, data: &str, w: &mut StreamWriter);
    /// The vendor's stream ended: `clean` when it closed normally, not when it broke.
    fn end(&mut self, clean: bool, w: &mut StreamWriter);
}

/// What an upstream error answer means.
pub(crate) struct ErrorVerdict {
    /// `Some`: fail over for this reason. `None`: it is the client's own mistake.
    pub reason: Option<FailoverReason>,
    /// The upstream's message, for people.
    pub message: String,
    /// The answer an Anthropic client gets: status and body.
    pub status: StatusCode,
    /// The body, in `dialect`.
    pub body: Bytes,
    /// The dialect of `body`.
    pub dialect: Dialect,
    /// The body is the upstream's own (its content type is relayed with it).
    pub own_body: bool,
    /// The body is an error object of `dialect` (the final error may relay it as it is).
    pub shaped: bool,
}

impl ErrorVerdict {
    /// The verdict for a refusal of the conversation as longer than the window (a 400, 413 or
    /// 422 whose message says so, in any vendor's words): fail over without blame, and give an
    /// Anthropic client Anthropic's own wording, which Claude Code compacts on. The vendor's
    /// message stays the verdict's message (its numbers are read again later).
    pub(crate) fn or_context_overflow(mut self, status: StatusCode, raw: &[u8]) -> Self {
        if !matches!(status.as_u16(), 400 | 413 | 422) {
            return self;
        }
        let said = crate::translate::overflow::parse(&self.message)
            .or_else(|| crate::translate::overflow::parse(&String::from_utf8_lossy(raw)));
        let Some(o) = said else {
            return self;
        };
        self.reason = Some(FailoverReason::ContextOverflow);
        let anthropic_words =
            self.dialect == Dialect::Anthropic && self.message.contains("prompt is too long");
        if !anthropic_words {
            self.status = StatusCode::BAD_REQUEST;
            self.body = crate::protocol::anthropic::error_body(
                crate::protocol::anthropic::ErrorType::InvalidRequest,
                &o.anthropic_message(),
                "",
            );
            self.dialect = Dialect::Anthropic;
            self.own_body = false;
            self.shaped = true;
        }
        self
    }
}

/// A model a provider lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// The id to ask for.
    pub id: String,
    /// A name for people, when the provider gives one.
    pub display_name: Option<String>,
    /// When it was published (RFC 3339), when known.
    pub created_at: Option<String>,
}

/// One provider kind.
pub(crate) trait ProviderAdapter: Sync {
    /// The dialect this kind speaks.
    fn dialect(&self) -> Dialect;

    /// The endpoint of `op` for `p`. `model` and `stream` matter where the URL names them;
    /// `query` is the client's (credential-free) query string, forwarded where the dialects
    /// match.
    fn url(&self, p: &Provider, op: Op, model: &str, stream: bool, query: Option<&str>) -> String;

    /// Where this kind sends its own key.
    fn key_placement(&self, p: &Provider) -> KeyPlacement;

    /// Whether the client's own headers go upstream (same dialect), or a fresh set is built.
    fn forwards_client_headers(&self) -> bool {
        false
    }

    /// Headers this kind always needs (added when the client did not send them).
    fn fixed_headers(&self, _headers: &mut HeaderMap) {}

    /// The request body for `a`, or why this kind cannot carry the request.
    fn encode(&self, a: &AttemptCtx<'_>) -> Result<Encoded, String>;

    /// The request for `a` from the client's own bytes, when the client speaks this kind's
    /// dialect (and it is not the hub's, which `encode` already passes through): the model
    /// mapped, everything else as the client sent it. `None`: this kind always translates.
    fn native(&self, _a: &AttemptCtx<'_>, _body: &Bytes) -> Option<Result<Encoded, String>> {
        None
    }

    /// What an error answer means.
    fn error(&self, status: StatusCode, body: &[u8], indicators: &[String]) -> ErrorVerdict;

    /// The models in this kind's model-list answer; `None` when the body is not one.
    fn model_ids(&self, body: &[u8]) -> Option<Vec<ModelInfo>>;

    /// Whether it has a token-counting endpoint (others get a local estimate).
    fn counts_tokens(&self) -> bool {
        false
    }

    /// The stream machine `encode` sets up for a request whose tools were renamed as
    /// `tool_names` says ((upstream name, client name)); `None` for the hub dialect, whose
    /// streams are relayed. The fuzz targets and property tests drive every kind through this.
    #[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
    fn stream_machine(
        &self,
        _provider_id: &str,
        _tool_names: &[(String, String)],
    ) -> Option<Box<dyn StreamMachine>> {
        None
    }
}
