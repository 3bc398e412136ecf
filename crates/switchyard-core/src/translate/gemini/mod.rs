//! Anthropic Messages API <-> Google Gemini native API (`generateContent`,
//! `streamGenerateContent?alt=sse`), PROTOCOL.md §4.
//!
//! - [`to_request`]: an Anthropic request body to a Gemini body (the model goes in the URL).
//! - [`from_response`]: a Gemini `GenerateContentResponse` to an Anthropic message.
//! - [`StreamState`]: Gemini SSE chunks to an Anthropic stream, through a
//!   [`StreamWriter`](crate::translate::writer::StreamWriter).
//! - [`error_message`] / [`error_type`]: Gemini error bodies.
//! - [`sanitize_schema`]: tool parameter schemas Gemini accepts.
//!
//! ## Thought signatures
//! Gemini 3 rejects a conversation whose function calls come back without the
//! `thoughtSignature` it attached to them. A signature travels through the client inside a
//! `thinking` block placed just before the part it signs, whose signature is
//! `sy1.<provider_id>.gemini:<thoughtSignature>` ([`signature_for`]). When Gemini sent thought
//! text the block holds it; when it sent only a signature the block's text is a single space
//! ([`SIGNATURE_ONLY_THINKING`]; the writer and Anthropic clients skip empty thinking text).
//! On the way back that signature is attached to the next `functionCall` (or text) part of the
//! same assistant message.
//!
//! Why a thinking block and not the tool_use id: signatures are hundreds to thousands of
//! characters. Ids that long are truncated or refused elsewhere (OpenAI caps ids at 40
//! characters; clients and proxies cap them at 64), and a mangled id breaks the
//! tool_use/tool_result pairing, which fails the whole conversation on every provider. A
//! thinking block's signature is opaque and unbounded by design, clients already echo it
//! verbatim (Claude Code does), other providers' history normalisation strips it as foreign,
//! and if a client drops it anyway the call falls back to the documented bypass value
//! ([`THOUGHT_SIGNATURE_BYPASS`]), which degrades gracefully instead of failing.
//!
//! ## Function call ids
//! Gemini 3 gives every function call an `id` and wants it back on the matching
//! `functionResponse`. It travels in the tool_use id as `gmcall_<id>` ([`tool_id_for`]), so
//! the way back can tell Gemini's own ids (sent back without the prefix) from every other
//! provider's and from the ones made up for Gemini 2.5's id-less calls (never sent).
//!
//! Thinking blocks whose signature does not start with `sy1.<provider_id>.` are foreign and
//! dropped; ours give back only their signature (Gemini takes no thought text back). A bare
//! `gemini:<sig>` is ours too: it is what `translate::history` leaves after unstamping. A
//! `functionCall` with no known signature gets [`THOUGHT_SIGNATURE_BYPASS`], except the parallel
//! siblings of a call that has a real one (Gemini signs only the first call of a step).

mod contents;
mod request;
mod response;
mod schema;
mod stream;

#[cfg(test)]
mod tests_cases;
#[cfg(test)]
mod tests_claude_code;
#[cfg(test)]
mod tests_schema;
#[cfg(test)]
mod tests_stream;

pub use request::to_request;
pub use response::from_response;
pub use schema::{sanitize_schema, SchemaTooLarge, DEFAULT_MAX_NODES, MAX_REF_DEPTH};
pub use stream::StreamState;

use crate::protocol::anthropic::ErrorType;
use serde_json::Value;

/// What Gemini accepts as a function call's signature when the real one is unknown (a
/// conversation started on another provider): documented by Google for exactly that case.
pub const THOUGHT_SIGNATURE_BYPASS: &str = "skip_thought_signature_validator";

/// What precedes Gemini's own signature inside ours (`sy1.<provider_id>.gemini:<sig>`).
pub const GEMINI_TAG: &str = "gemini:";

/// What precedes the id Gemini gave a function call inside the tool_use id that carries it.
pub const GEMINI_CALL_PREFIX: &str = "gmcall_";

/// The tool_use id for a call Gemini gave `id`: `gmcall_<id>`, in Anthropic's id pattern (an
/// id outside it is made to fit, and then no longer goes back to Gemini as it was).
pub fn tool_id_for(id: &str) -> String {
    crate::translate::history::sanitize_tool_id(&format!("{GEMINI_CALL_PREFIX}{id}"))
}

/// The text of a thinking block that exists only to carry a signature.
pub const SIGNATURE_ONLY_THINKING: &str = " ";

/// Per-provider translation options.
#[derive(Debug, Clone, Default)]
pub struct GeminiOptions {
    /// Clamp `maxOutputTokens` to this (a note says so when it bites).
    pub max_tokens_cap: Option<u64>,
    /// How the model family takes its thinking settings.
    pub thinking: ThinkingStyle,
    /// Schema nodes a tool's parameter schema may expand to (0: [`DEFAULT_MAX_NODES`]).
    pub max_schema_nodes: usize,
}

/// How a Gemini model family takes its thinking settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ThinkingStyle {
    /// Gemini 2.5: `thinkingConfig.thinkingBudget` (tokens; -1 = dynamic).
    #[default]
    Budget,
    /// Gemini 3.x: `thinkingConfig.thinkingLevel` (`low` / `high`); never with a budget.
    Level,
}

/// A translated request body and what the translation changed or dropped (for the log).
#[derive(Debug, Clone)]
pub struct Translated {
    /// The Gemini request body.
    pub body: Value,
    /// One line per noteworthy change (clamps, drops, fallbacks).
    pub notes: Vec<String>,
}

pub use super::TranslateError;

pub(crate) fn err(msg: impl Into<String>) -> TranslateError {
    TranslateError(msg.into())
}

/// The signature of a thinking block carrying Gemini's `thought_signature`.
pub fn signature_for(provider_id: &str, thought_signature: &str) -> String {
    format!("sy1.{provider_id}.{GEMINI_TAG}{thought_signature}")
}

/// The signature of thinking that Gemini did not sign (give it to the
/// [`StreamWriter`](crate::translate::writer::StreamWriter) as its unsigned signature).
pub fn unsigned_signature(provider_id: &str) -> String {
    format!("sy1.{provider_id}.")
}

/// The `status` (e.g. `RESOURCE_EXHAUSTED`) and message of a Gemini error body
/// `{"error":{"code":429,"message":"..","status":".."}}` (also inside a one-element array, as
/// the non-SSE stream endpoint sends it). `None` when the body is not one.
pub fn error_message(body: &[u8]) -> Option<(Option<String>, String)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let v = match &v {
        Value::Array(list) => list.first()?,
        other => other,
    };
    let e = v.get("error")?;
    if let Some(msg) = e.as_str() {
        return Some((None, msg.to_string()));
    }
    let e = e.as_object()?;
    let status = e.get("status").and_then(Value::as_str).map(String::from);
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_default();
    Some((status, message))
}

/// The Anthropic error type for a Gemini error (PROTOCOL.md §5): by `status` when it is a
/// known gRPC status name, else by HTTP status.
pub fn error_type(status: Option<&str>, http_status: u16) -> ErrorType {
    match status.unwrap_or("") {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => ErrorType::InvalidRequest,
        "UNAUTHENTICATED" => ErrorType::Authentication,
        "PERMISSION_DENIED" => ErrorType::Permission,
        "NOT_FOUND" => ErrorType::NotFound,
        "RESOURCE_EXHAUSTED" => ErrorType::RateLimit,
        "UNAVAILABLE" => ErrorType::Overloaded,
        "DEADLINE_EXCEEDED" => ErrorType::Timeout,
        "INTERNAL" | "UNKNOWN" => ErrorType::Api,
        _ => ErrorType::from_status(http_status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_parse() {
        let body =
            br#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}"#;
        assert_eq!(
            error_message(body),
            Some((Some("RESOURCE_EXHAUSTED".into()), "Quota exceeded".into()))
        );
        let arr = br#"[{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}]"#;
        assert_eq!(
            error_message(arr),
            Some((Some("INVALID_ARGUMENT".into()), "bad".into()))
        );
        assert_eq!(error_message(b"<html>"), None);
        assert_eq!(error_message(br#"{"candidates":[]}"#), None);
        assert_eq!(
            error_type(Some("RESOURCE_EXHAUSTED"), 429),
            ErrorType::RateLimit
        );
        assert_eq!(error_type(Some("UNAVAILABLE"), 503), ErrorType::Overloaded);
        assert_eq!(
            error_type(Some("DEADLINE_EXCEEDED"), 504),
            ErrorType::Timeout
        );
        assert_eq!(
            error_type(Some("INVALID_ARGUMENT"), 400),
            ErrorType::InvalidRequest
        );
        assert_eq!(error_type(None, 401), ErrorType::Authentication);
        assert_eq!(error_type(None, 503), ErrorType::Overloaded);
    }

    #[test]
    fn signatures() {
        assert_eq!(signature_for("g1", "AbC="), "sy1.g1.gemini:AbC=");
        assert_eq!(unsigned_signature("g1"), "sy1.g1.");
    }
}
