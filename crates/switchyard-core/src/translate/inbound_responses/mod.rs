//! OpenAI Responses clients (Codex CLI, the OpenAI SDKs' `responses` API) -> the Anthropic
//! Messages pipeline, and the answer back. This is the inbound direction; `translate::responses`
//! is the outbound one (hub requests to `openai-responses` providers).
//!
//! - [`to_anthropic`]: a Responses request body -> an Anthropic Messages body plus what the
//!   reply needs ([`Inbound`]: the client's model, the tool map, echoed fields), or an
//!   [`InboundError`] (an OpenAI-shaped 400);
//! - [`response`]: an Anthropic message -> a `response` object;
//! - [`EventStream`]: Anthropic SSE -> Responses SSE events (`response.created` ...
//!   `response.completed`);
//! - [`check_responses_stream`]: the conformance checker the tests and the fuzz target use;
//! - errors keep OpenAI's shape, `{"error":{"message","type","param","code"}}`
//!   (`translate::inbound_openai::error_body`).
//!
//! Decisions (each has a test):
//! - Switchyard keeps no state: `previous_response_id` is refused with a 400
//!   (`previous_response_not_found`), as are `conversation`, `background`, stored `prompt`s
//!   and `item_reference` items; `store` is accepted and nothing is stored;
//! - `instructions` and the leading `system`/`developer` messages become the Anthropic
//!   `system` (joined by blank lines); one later in the conversation stays where it is, as user
//!   text prefixed with `[developer]` (or `[system]`);
//! - items of one role merge into one turn; a call without its output gets an error result
//!   (`(no result: the call was interrupted)`), an output without its call becomes user text;
//! - hub thinking blocks leave as `reasoning` items carrying the whole block in
//!   `encrypted_content` (`carrier`), and come back from it; reasoning items that are not ours
//!   (OpenAI's own) are left out;
//! - tools: see `tools.rs` (functions, freeform `custom` tools such as `apply_patch`,
//!   namespaces, client-run `tool_search`; tools that run on OpenAI's servers, such as the
//!   `web_search` Codex sends every time, are left out with a note; forcing one is refused);
//! - `reasoning.effort` low/medium/high/xhigh become thinking budgets of 2048/8192/16384/24576
//!   tokens (none/minimal: no thinking), except a step answering a tool call whose turn has no
//!   signed thinking first (Anthropic would refuse it);
//! - without `max_output_tokens`, `max_tokens` is 32000 (Claude Code's default);
//! - `text.format` (JSON object or schema) and `text.verbosity` low/high become a system
//!   instruction, and a JSON schema also the hub's structured output (`output_config.format`,
//!   honoured natively by every provider kind); `include`, `prompt_cache_key`, `metadata`, `truncation`, `service_tier` and
//!   `store` need nothing (the carrier is always in `encrypted_content`); `safety_identifier`
//!   (or `user`) becomes `metadata.user_id`;
//! - a stream that fails after it started ends with `error` and `response.failed` (the error's
//!   `code` says `rate_limit_exceeded`, `invalid_prompt` or `server_error`, its `type` keeps
//!   the Anthropic error type); an answer cut by its token limit ends with
//!   `response.incomplete`.

mod carrier;
mod check;
mod input;
mod request;
mod response;
mod stream;
mod tools;

#[cfg(test)]
mod tests_request;
#[cfg(test)]
mod tests_stream;

pub use carrier::{decode as decode_carrier, is_ours as is_carrier, PREFIX as CARRIER_PREFIX};
pub use check::check_responses_stream;
pub use input::INTERRUPTED;
pub use request::{to_anthropic, Inbound, DEFAULT_MAX_TOKENS};
pub use response::{error_code, response, response_id, usage};
pub use stream::EventStream;
pub use tools::{ToolEntry, ToolKind, ToolMap};

pub use crate::translate::inbound_openai::{error_body, from_anthropic_error, InboundError};
