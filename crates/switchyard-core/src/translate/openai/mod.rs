//! Anthropic Messages <-> OpenAI Chat Completions (`kind = "openai"` providers: DeepSeek, Kimi,
//! OpenRouter, Ollama, LM Studio, vLLM, OpenAI), per PROTOCOL.md §3.
//!
//! - [`to_request`]: an Anthropic request body -> a Chat Completions body, plus human-readable
//!   notes on what had to change and the tool-name mapping the answer needs;
//! - [`from_response`]: a non-streaming Chat Completions answer -> an Anthropic message;
//! - [`StreamState`]: Chat Completions stream chunks -> Anthropic SSE events, through a
//!   [`StreamWriter`](crate::translate::writer::StreamWriter);
//! - [`error_message`] / [`is_quota_error`]: read OpenAI error bodies.
//!
//! Decisions worth knowing (each has a test in `cases_*`):
//! - a `tool_use` with no `tool_result` in the next user turn gets a synthesized tool message
//!   `(no result: the user interrupted)` (OpenAI rejects an assistant `tool_calls` message not
//!   followed by a tool message per call); a `tool_result` whose call is not in the assistant
//!   turn just before becomes user text;
//! - PDF `document` blocks are refused with a clear error (Chat Completions has no portable
//!   file input); text documents become text; unknown block types are refused, never dropped;
//! - a trailing assistant message (prefill) uses DeepSeek `prefix` / Kimi `partial`, else is
//!   sent as the last assistant message with a note (most servers continue it);
//! - tool-call arguments that are not a JSON object: empty -> `{}`, a JSON string holding an
//!   object -> that object, anything else -> `{"_raw": "<the text>"}` so the client sees what
//!   the model produced (and the tool's schema validation reports it to the model);
//! - thinking blocks produced by this translator carry the signature `sy1.<provider_id>.`;
//!   only those go back to the same provider (as `reasoning_content` when the vendor needs it).

mod blocks;
pub(crate) mod json_prefix;
mod params;
mod request;
mod response;
mod stream;

#[cfg(test)]
mod cases_request;
#[cfg(test)]
mod cases_stream;

use serde_json::Value;

use crate::translate::writer::Usage;

pub use request::to_request;
pub use response::{error_message, from_response, is_quota_error};
pub use stream::StreamState;

/// Vendor differences. [`Default`] (same as [`OpenAiOptions::new`]) describes a plain
/// OpenAI-compatible server: reasoning read from `reasoning_content`, no prefix mode, no
/// `top_k`, `max_tokens`, and `stream_options.include_usage` on.
#[derive(Debug, Clone)]
pub struct OpenAiOptions {
    /// Clamp `max_tokens` to this (a note says so).
    pub max_tokens_cap: Option<u64>,
    /// The field the vendor uses for reasoning in assistant messages we send back.
    pub reasoning: ReasoningField,
    /// DeepSeek thinking mode: assistant turns with `tool_calls` must carry their reasoning
    /// back. Reasoning this provider produced goes back in the [`ReasoningField`]; a tool-call
    /// turn without any gets an empty one.
    pub reasoning_round_trip: bool,
    /// How a trailing assistant message (prefill) is sent.
    pub prefill: Prefill,
    /// The vendor accepts `top_k` (else it is dropped with a note).
    pub top_k: bool,
    /// Send `max_completion_tokens` instead of `max_tokens` (OpenAI reasoning models).
    pub max_completion_tokens: bool,
    /// Send `stream_options: {"include_usage": true}` on streams (true by default).
    pub stream_usage: bool,
}

impl OpenAiOptions {
    /// The defaults: a plain OpenAI-compatible server, usage requested on streams.
    pub fn new() -> Self {
        OpenAiOptions {
            max_tokens_cap: None,
            reasoning: ReasoningField::default(),
            reasoning_round_trip: false,
            prefill: Prefill::default(),
            top_k: false,
            max_completion_tokens: false,
            stream_usage: true,
        }
    }
}

impl Default for OpenAiOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Where the vendor accepts reasoning on assistant messages sent back to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReasoningField {
    /// `reasoning_content` (DeepSeek, Kimi, vLLM).
    #[default]
    ReasoningContent,
    /// `reasoning` (OpenRouter, Ollama).
    Reasoning,
    /// Never send reasoning back.
    None,
}

impl ReasoningField {
    fn key(self) -> Option<&'static str> {
        match self {
            ReasoningField::ReasoningContent => Some("reasoning_content"),
            ReasoningField::Reasoning => Some("reasoning"),
            ReasoningField::None => None,
        }
    }
}

/// How a trailing assistant message (prefill) is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Prefill {
    /// Sent as the last (ordinary) assistant message, with a note: many servers continue it,
    /// some answer a new turn.
    #[default]
    Fallback,
    /// DeepSeek: `"prefix": true` on that message (DeepSeek serves it on its beta base URL).
    DeepSeekPrefix,
    /// Kimi: `"partial": true` on that message.
    KimiPartial,
}

/// A translated request.
#[derive(Debug, Clone)]
pub struct Translated {
    /// The Chat Completions request body.
    pub body: Value,
    /// What had to change, for the log ("clamped max_tokens 64000 -> 8192", ...).
    pub notes: Vec<String>,
    /// Tool names that had to change: `(upstream name, client name)`. Pass them to
    /// [`from_response`] / [`StreamState::new`] so answers use the client's names.
    pub tool_names: Vec<(String, String)>,
}

pub use super::TranslateError;

/// The signature prefix of thinking blocks this translator produced for `provider_id`.
pub fn signature_for(provider_id: &str) -> String {
    format!("sy1.{provider_id}.")
}

/// FNV-1a, folded to 32 bits: a short hash that is stable across runs and builds.
fn short_hash(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:08x}", (h ^ (h >> 32)) as u32)
}

fn id_char_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// A tool id that matches Anthropic's `^[a-zA-Z0-9_-]+$`: unchanged when it already does,
/// else other characters become `_` and a short stable hash of the original is appended, so
/// distinct ids stay distinct. The same function as
/// [`history::sanitize_tool_id`](crate::translate::history::sanitize_tool_id), applied to ids
/// in both directions so a conversation's `tool_use.id` and `tool_result.tool_use_id` stay
/// paired.
pub fn sanitize_tool_id(id: &str) -> String {
    crate::translate::history::sanitize_tool_id(id)
}

/// A function name OpenAI accepts (`[a-zA-Z0-9_-]{1,64}`): unchanged when valid, else
/// cleaned, cut to 55 characters and suffixed with a short hash of the original.
pub(crate) fn sanitize_tool_name(name: &str) -> String {
    let len = name.chars().count();
    if (1..=64).contains(&len) && name.chars().all(id_char_ok) {
        return name.to_string();
    }
    let cleaned: String = name
        .chars()
        .map(|c| if id_char_ok(c) { c } else { '_' })
        .take(55)
        .collect();
    let base = if cleaned.is_empty() { "tool" } else { &cleaned };
    format!("{base}_{}", short_hash(name))
}

/// The client's name for an upstream tool name.
fn client_tool_name(names: &[(String, String)], upstream: &str) -> String {
    names
        .iter()
        .find(|(up, _)| up == upstream)
        .map_or_else(|| upstream.to_string(), |(_, client)| client.clone())
}

/// OpenAI `usage` -> Anthropic token counts (input excludes cache reads). Reasoning tokens are
/// output: most vendors count them inside `completion_tokens`, xAI reports them beside it
/// (its `total_tokens` is prompt + completion + reasoning), and then they are added.
pub(crate) fn map_usage(u: &Value) -> Usage {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let prompt = n(&u["prompt_tokens"]);
    let cached = u["prompt_tokens_details"]["cached_tokens"]
        .as_u64()
        .or_else(|| u["prompt_cache_hit_tokens"].as_u64())
        .unwrap_or(0);
    let completion = n(&u["completion_tokens"]);
    let reasoning = n(&u["completion_tokens_details"]["reasoning_tokens"]);
    let outside =
        reasoning > 0 && u["total_tokens"].as_u64() == Some(prompt + completion + reasoning);
    Usage {
        input_tokens: prompt.saturating_sub(cached),
        output_tokens: if outside {
            completion + reasoning
        } else {
            completion
        },
        cache_read_input_tokens: cached,
        cache_creation_input_tokens: 0,
    }
}

/// OpenAI `finish_reason` -> Anthropic `stop_reason` (unknown reasons end the turn).
fn map_finish(reason: &str) -> &'static str {
    match reason {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    }
}

/// A message id `msg_…` derived from the upstream's id (or a fresh one).
fn message_id(upstream_id: Option<&str>) -> String {
    match upstream_id {
        Some(id) if !id.is_empty() => {
            let id = id.strip_prefix("chatcmpl-").unwrap_or(id);
            let cleaned: String = id.chars().filter(|c| id_char_ok(*c)).take(48).collect();
            if cleaned.is_empty() {
                format!("msg_sy{}", short_hash(id))
            } else {
                format!("msg_{cleaned}")
            }
        }
        _ => format!("msg_sy{}", short_hash(&nonce())),
    }
}

/// Something different on every call, to make ids for answers that carry none.
fn nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{t}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Parse tool-call arguments into an Anthropic `input` object (see the module docs).
fn parse_arguments(args: &str) -> Value {
    let trimmed = args.trim();
    if trimmed.is_empty() {
        return Value::Object(serde_json::Map::new());
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(v @ Value::Object(_)) => v,
        Ok(Value::String(inner)) => match serde_json::from_str::<Value>(&inner) {
            Ok(v @ Value::Object(_)) => v,
            _ => serde_json::json!({"_raw": args}),
        },
        _ => serde_json::json!({"_raw": args}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tool_ids_are_sanitised_stably_and_distinctly() {
        assert_eq!(sanitize_tool_id("toolu_01AbC-x"), "toolu_01AbC-x");
        let kimi = sanitize_tool_id("functions.get_weather:3");
        assert!(kimi.starts_with("functions_get_weather_3_"), "{kimi}");
        assert!(kimi.chars().all(id_char_ok));
        assert_eq!(kimi, sanitize_tool_id("functions.get_weather:3"), "stable");
        assert_ne!(
            sanitize_tool_id("a.b"),
            sanitize_tool_id("a:b"),
            "distinct ids stay distinct"
        );
        assert!(!sanitize_tool_id("").is_empty());
    }

    #[test]
    fn tool_names_fit_openai_limits() {
        assert_eq!(sanitize_tool_name("Read"), "Read");
        let long = format!("mcp__{}__tool", "x".repeat(80));
        let s = sanitize_tool_name(&long);
        assert!(s.len() <= 64 && s.chars().all(id_char_ok), "{s}");
        assert_ne!(s, sanitize_tool_name(&format!("{long}2")));
        assert_eq!(
            sanitize_tool_name("a.b"),
            format!("a_b_{}", short_hash("a.b"))
        );
    }

    #[test]
    fn arguments_parse_leniently() {
        assert_eq!(parse_arguments(""), json!({}));
        assert_eq!(parse_arguments(" {\"a\":1} "), json!({"a": 1}));
        assert_eq!(parse_arguments("\"{\\\"a\\\":1}\""), json!({"a": 1}));
        assert_eq!(parse_arguments("{\"a\":"), json!({"_raw": "{\"a\":"}));
        assert_eq!(parse_arguments("[1]"), json!({"_raw": "[1]"}));
    }

    #[test]
    fn usage_subtracts_cache_reads() {
        let u = map_usage(&json!({"prompt_tokens": 100, "completion_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 60}}));
        assert_eq!(
            (u.input_tokens, u.cache_read_input_tokens, u.output_tokens),
            (40, 60, 7)
        );
        let u = map_usage(&json!({"prompt_tokens": 100, "completion_tokens": 7,
            "prompt_cache_hit_tokens": 30, "prompt_cache_miss_tokens": 70}));
        assert_eq!((u.input_tokens, u.cache_read_input_tokens), (70, 30));
    }

    #[test]
    fn message_ids() {
        assert_eq!(message_id(Some("chatcmpl-abc123")), "msg_abc123");
        assert!(message_id(None).starts_with("msg_sy"));
        assert_ne!(message_id(None), message_id(None));
    }
}
