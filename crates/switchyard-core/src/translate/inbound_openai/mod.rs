//! OpenAI Chat Completions clients (SillyTavern's Custom source, Cursor-style tools, the
//! OpenAI SDK) -> the Anthropic Messages pipeline, and the answer back. This is the inbound
//! direction; `translate::openai` is the outbound one (Anthropic requests to OpenAI-kind
//! providers).
//!
//! - [`to_anthropic`]: a Chat Completions request body -> an Anthropic Messages body plus the
//!   few facts the answer needs ([`Inbound`]), or an [`InboundError`] (OpenAI-shaped 400);
//! - [`completion`]: an Anthropic message -> a `chat.completion` object;
//! - [`ChunkStream`]: Anthropic SSE frames -> `chat.completion.chunk` SSE lines ending with
//!   `data: [DONE]`;
//! - [`error_body`] / [`from_anthropic_error`]: errors in OpenAI's shape.
//!
//! Decisions (each has a test):
//! - leading `system`/`developer` messages become the Anthropic `system` text (joined by blank
//!   lines); a system message later in the conversation stays where it is, as user text
//!   prefixed with `[system]`, so its position keeps its meaning;
//! - consecutive messages that map to the same role are merged into one turn (tool results
//!   first, as Anthropic requires);
//! - `temperature` is clamped to Anthropic's 0..1; with thinking on (`reasoning_effort`),
//!   `temperature` and `top_k` are dropped and `top_p` below 0.95 is dropped, as Anthropic
//!   refuses them together with thinking;
//! - `reasoning_effort` low/medium/high (SillyTavern's max) become thinking budgets of
//!   2048/8192/16384 tokens; none/minimal/auto/min leave thinking off; and when the
//!   conversation ends with tool results thinking stays off for that step, because Anthropic
//!   wants the signed thinking block back before the tool call and Chat Completions history
//!   cannot carry it;
//! - `response_format` json_object / json_schema becomes a system instruction (best effort:
//!   not every provider has a native JSON mode);
//! - `n > 1`, `logprobs`/`top_logprobs`, audio output/input and non-function tools are refused
//!   with a 400 naming the parameter; `seed`, penalties, `logit_bias`, `store`, `metadata`,
//!   `service_tier` and `prediction` are ignored;
//! - a stream that fails after it started ends with `data: {"error":{...}}` and no
//!   `data: [DONE]`, so a client can tell a cut answer from a finished one (the OpenAI SDK
//!   raises `APIError` on that chunk).

mod request;
mod response;
mod stream;

#[cfg(test)]
mod tests_request;
#[cfg(test)]
mod tests_stream;

pub use request::{to_anthropic, Inbound, InboundError, DEFAULT_MAX_TOKENS};
pub use response::{completion, error_body, finish_reason, from_anthropic_error, usage};
pub use stream::ChunkStream;
