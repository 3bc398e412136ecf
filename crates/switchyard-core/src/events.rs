//! Typed engine events, broadcast to whoever listens (tray, notifications, web UI, logs).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a provider was left for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailoverReason {
    /// HTTP 429 or a rate-limit error.
    RateLimited,
    /// Subscription / plan usage limit ("usage limit reached").
    UsageLimit,
    /// 402 or a quota/balance message.
    OutOfCredit,
    /// 5xx or 529.
    Overloaded,
    /// 401/403: the key was refused.
    KeyRejected,
    /// No key is stored for a keyed provider.
    KeyMissing,
    /// Connect, DNS or TLS failure.
    Unreachable,
    /// No first byte, or silence between chunks, for too long.
    Timeout,
    /// A 200 stream whose first event was an error.
    InBandError,
    /// A 200 with no content and 0 output tokens.
    EmptyAnswer,
    /// The upstream answered with something that is not the protocol.
    Malformed,
    /// The provider's protocol cannot carry this request (not its fault; no cooldown).
    Unsupported,
    /// The answer (or one of its events) was larger than `[limits]` allows.
    TooLarge,
    /// A stream sent no content (only pings or nothing) within `limits.first_content_ms`.
    NoContent,
    /// The conversation is longer than the provider's context window (not its fault; no
    /// cooldown).
    ContextOverflow,
    /// The provider's address leads back to this Switchyard (or round a ring of them): a
    /// config mistake, found by the hop header.
    Loop,
}

impl FailoverReason {
    /// Words for a person.
    pub fn describe(self) -> &'static str {
        match self {
            FailoverReason::RateLimited => "rate limited",
            FailoverReason::UsageLimit => "usage limit reached",
            FailoverReason::OutOfCredit => "out of credit",
            FailoverReason::Overloaded => "overloaded or failing",
            FailoverReason::KeyRejected => "key rejected",
            FailoverReason::KeyMissing => "no key set",
            FailoverReason::Unreachable => "unreachable",
            FailoverReason::Timeout => "timed out",
            FailoverReason::InBandError => "error in stream",
            FailoverReason::EmptyAnswer => "empty answer",
            FailoverReason::Malformed => "malformed answer",
            FailoverReason::Unsupported => "cannot take this request",
            FailoverReason::TooLarge => "answer too large",
            FailoverReason::NoContent => "no content in time",
            FailoverReason::ContextOverflow => "conversation too long",
            FailoverReason::Loop => "leads back to Switchyard",
        }
    }
}

/// Something the user may want to know happened. (Read back only in team mode, where other
/// replicas' events arrive through Redis; request records stay with their replica.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Traffic moved from a provider to a lower-priority one.
    Failover {
        /// The provider that failed.
        from: String,
        /// The provider now serving.
        to: String,
        /// Why.
        reason: FailoverReason,
        /// When `from` may be tried again.
        retry_at: Option<DateTime<Utc>>,
    },
    /// Traffic returned to a higher-priority provider after it recovered.
    Recovered {
        /// The provider serving again.
        provider: String,
        /// The backup it replaces.
        from: Option<String>,
    },
    /// A provider failed and will be skipped until `until`.
    CoolingDown {
        /// The provider.
        provider: String,
        /// Why.
        reason: FailoverReason,
        /// End of the cooldown.
        until: DateTime<Utc>,
        /// Status returned by the upstream, if any.
        status: Option<u16>,
        /// The upstream's message (never contains a key).
        message: String,
    },
    /// The user pinned a provider (`Some`) or returned to automatic (`None`).
    Switched {
        /// The pinned provider.
        pinned: Option<String>,
    },
    /// No provider could serve a request.
    AllDown {
        /// The soonest a provider comes back, if known.
        retry_at: Option<DateTime<Utc>>,
    },
    /// A provider's key was refused (401/403) or is missing: the user must act.
    KeyProblem {
        /// The provider.
        provider: String,
        /// What is wrong.
        reason: FailoverReason,
    },
    /// The configuration was reloaded.
    ConfigChanged,
    /// A config file change was rejected; the running config is unchanged.
    ConfigError {
        /// The located error.
        message: String,
    },
    /// A provider went over a budget: it is skipped until the period ends. Sent once per
    /// provider and period.
    BudgetExceeded {
        /// The provider.
        provider: String,
        /// Which budget.
        period: crate::config::Period,
        /// Spent in the period, USD (estimated).
        spent: f64,
        /// The limit, USD.
        limit: f64,
    },
    /// A request finished (for live request logs).
    #[serde(skip_deserializing)]
    RequestFinished(Box<RequestRecord>),
}

/// One finished request, as the request log shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct RequestRecord {
    /// When it started.
    pub at: DateTime<Utc>,
    /// Route (`messages`, `count_tokens`, `models`).
    pub route: &'static str,
    /// Model the client asked for.
    pub model: String,
    /// Provider that answered last (success or final error).
    pub provider: Option<String>,
    /// Model sent upstream.
    pub upstream_model: Option<String>,
    /// Status returned to the client.
    pub status: u16,
    /// Whole time, ms (for streams: until the stream ended).
    pub latency_ms: f64,
    /// Time to the first byte sent to the client, ms.
    pub ttfb_ms: Option<f64>,
    /// Streaming?
    pub stream: bool,
    /// Providers tried in order, with the outcome of each failed one.
    pub attempts: Vec<AttemptRecord>,
    /// Input tokens (incl. cache) reported by the upstream.
    pub input_tokens: u64,
    /// Output tokens reported by the upstream.
    pub output_tokens: u64,
    /// An error text, when the request failed.
    pub error: Option<String>,
    /// The scenario rule that chose the provider, if one matched.
    pub rule: Option<String>,
    /// Answered from the response cache (no upstream call, no cost).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cache_hit: bool,
}

/// One provider tried for a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptRecord {
    /// Provider id.
    pub provider: String,
    /// Upstream status, if one came.
    pub status: Option<u16>,
    /// Why it failed; `None` for the attempt that answered.
    pub failure: Option<String>,
}
