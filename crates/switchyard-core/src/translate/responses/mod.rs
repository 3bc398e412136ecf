//! Anthropic Messages <-> OpenAI Responses (`kind = "openai-responses"` providers: models only
//! the Responses API serves, such as OpenAI's codex models). The outbound direction;
//! `translate::inbound_responses` is the inbound one (Responses clients).
//!
//! - [`to_request`]: an Anthropic request body -> a Responses body (`store: false`, the whole
//!   conversation as `input`, reasoning asked back as `encrypted_content`), plus notes and the
//!   tool-name mapping the answer needs;
//! - [`from_response`]: a `response` object -> an Anthropic message;
//! - [`StreamState`]: Responses stream events -> Anthropic SSE, through a
//!   [`StreamWriter`](crate::translate::writer::StreamWriter).
//!
//! Decisions worth knowing (each has a test):
//! - `system` becomes `instructions`; a system message later in the conversation becomes a
//!   `developer` message where it was;
//! - reasoning comes back as a thinking block whose signature is
//!   `sy1.<provider_id>.<encrypted_content>`; only this provider's go back to it, as
//!   `reasoning` items with that `encrypted_content` (others' thinking is dropped);
//! - every `function_call` gets its output: a `tool_use` without a `tool_result` is answered
//!   `(no result: the user interrupted)` (the API refuses a call without output), and a
//!   `tool_result` without its call becomes user text;
//! - the thinking budget (or `output_config.effort`) becomes `reasoning.effort`: under 4096
//!   tokens low, under 16384 medium, else high; adaptive thinking is medium; structured
//!   output (`output_config.format`, a JSON schema) becomes `text.format`;
//! - `max_tokens` becomes `max_output_tokens` (clamped to the provider's cap);
//!   `stop_sequences` and `top_k` have no counterpart and are dropped with a note, as are
//!   Anthropic's server tools and `metadata.user_id` (OpenAI caps user identifiers at 64
//!   characters; Claude Code's are longer).

mod request;
mod response;
mod stream;

#[cfg(test)]
mod tests;

pub use request::{to_request, INTERRUPTED};
pub(crate) use response::error_kind;
pub use response::from_response;
pub(crate) use stream::Args;
pub use stream::StreamState;

pub use super::TranslateError;
use serde_json::Value;

/// Per-provider translation options.
#[derive(Debug, Clone, Default)]
pub struct ResponsesOptions {
    /// Clamp `max_output_tokens` to this (a note says so).
    pub max_tokens_cap: Option<u64>,
}

/// A translated request.
#[derive(Debug, Clone)]
pub struct Translated {
    /// The Responses request body.
    pub body: Value,
    /// What had to change, for the log.
    pub notes: Vec<String>,
    /// Tool names that had to change: `(upstream name, client name)`.
    pub tool_names: Vec<(String, String)>,
}

/// The signature prefix of thinking blocks made from this provider's reasoning.
pub fn signature_for(provider_id: &str) -> String {
    format!("sy1.{provider_id}.")
}
