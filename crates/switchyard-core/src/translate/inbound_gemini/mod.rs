//! Gemini API clients (Gemini CLI, the `google-genai` SDKs) -> the Anthropic Messages hub, and
//! the hub's answers back. This is the inbound direction; `translate::gemini` is the outbound
//! one (hub requests to Gemini-kind providers).
//!
//! - [`to_anthropic`]: a `generateContent` body (and the model from its URL) -> an Anthropic
//!   Messages body ([`Inbound`]), or an [`InboundError`] (a Google-shaped 400);
//! - [`count_request`]: a `countTokens` body -> an Anthropic `count_tokens` body;
//! - [`answer`]: an Anthropic message -> a `GenerateContentResponse`;
//! - [`GeminiStream`]: Anthropic SSE -> `streamGenerateContent?alt=sse` frames;
//! - [`error_body`] / [`from_anthropic_error`]: errors in Google's shape, with the `RetryInfo`
//!   Gemini CLI's retry logic reads;
//! - [`check_gemini_stream`]: the rules every Gemini stream we send keeps.
//!
//! Decisions (each has a test):
//! - `systemInstruction` -> `system`; `contents` -> `messages` (see the `contents` module for
//!   roles, function calls and their ids, results and media);
//! - thinking: `thinkingConfig.thinkingBudget` / `thinkingLevel` -> an Anthropic budget (see
//!   `thinking_budget`); thought text goes to the client only with `includeThoughts`; a
//!   thought's signed text travels in the `thoughtSignature` of the part after it (see
//!   `carrier`), so Anthropic gets its thinking back in a tool loop; when the history lost it,
//!   thinking is off for that step;
//! - structured output (`responseMimeType: application/json` + `responseJsonSchema` or
//!   `responseSchema`) -> the hub's `output_config.format` (`{"type": "json_schema",
//!   "schema"}`, Anthropic's own structured output). Each provider kind honours it natively:
//!   Anthropic takes it as it is, OpenAI-style providers get `response_format: json_schema`,
//!   Gemini providers `responseSchema` (`translate::openai`, `translate::gemini`). The schema
//!   is also said in words in the system prompt, for vendors behind Anthropic-style endpoints
//!   that ignore `output_config`. JSON without a schema becomes that instruction alone;
//! - `temperature` is clamped to Anthropic's 0..1; with thinking on, `temperature` and `topK`
//!   are dropped and `topP` under 0.95 too (Anthropic refuses them beside thinking);
//! - `candidateCount` > 1, `responseLogprobs` and non-text `responseModalities` are refused
//!   with a 400 naming the field; Google's server tools (`googleSearch`, `codeExecution`, ...),
//!   `cachedContent` and `safetySettings` are dropped with a note (a same-dialect Gemini
//!   provider gets the client's own bytes, and honours them);
//! - a stream that fails after it started ends with a `data: {"error": ...}` frame and no
//!   `finishReason`, so a client tells a cut answer from a finished one;
//! - `:streamGenerateContent` always answers in SSE frames (what `?alt=sse` asks for, and what
//!   every Gemini SDK and Gemini CLI ask for); the REST default of one streamed JSON array is
//!   not produced.

mod carrier;
mod check;
mod contents;
mod request;
mod response;
mod schema;
mod stream;

#[cfg(test)]
mod tests_request;
#[cfg(test)]
mod tests_stream;

pub use carrier::{pack, unpack, CARRIER_PREFIX};
pub use check::check_gemini_stream;
pub use request::{
    count_request, model_of, to_anthropic, Inbound, InboundError, DEFAULT_MAX_TOKENS,
};
pub use response::{
    answer, count_answer, error_body, finish_reason, from_anthropic_error, gemini_status,
    google_status, model_list, model_object,
};
pub use schema::json_schema_of;
pub use stream::GeminiStream;
