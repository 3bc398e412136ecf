//! Gemini `streamGenerateContent?alt=sse` to an Anthropic stream.
//!
//! Each upstream frame is a whole `GenerateContentResponse` chunk. The state machine decides
//! what to write; the [`StreamWriter`] keeps the SDK invariants (one `message_start`, gap-free
//! indexes, signatures before thinking stops, nothing after the end).
//!
//! - The first chunk writes `message_start`, with the input tokens when the chunk carries
//!   `usageMetadata` (Gemini sends it on every chunk).
//! - Parts map as in the `response` module; a function call is one `tool_use` block whose whole
//!   `args` is one `input_json_delta`.
//! - The last chunk's `usageMetadata` wins; the `finishReason` is remembered and the message is
//!   finished when the upstream ends (cleanly or not: the answer was complete).
//! - A chunk holding `error` ends the stream with an `error` event; so do a malformed chunk, a
//!   `MALFORMED_FUNCTION_CALL`-like finish, and an upstream that is cut off before any
//!   `finishReason`. A blocked prompt (`promptFeedback.blockReason`, no candidates) finishes as
//!   `refusal`. A clean end without a `finishReason` finishes as `end_turn`.

use serde_json::Value;

use super::response::{stop_of, usage_of, PartMapper, Stop};
use crate::protocol::anthropic::ErrorType;
use crate::translate::writer::{StreamWriter, Usage};

/// The translation state of one Gemini stream.
#[derive(Debug)]
pub struct StreamState {
    mapper: PartMapper,
    stop: Option<Stop>,
    usage: Usage,
}

impl StreamState {
    /// A fresh state for one response of provider `provider_id` (used in thinking signatures).
    pub fn new(provider_id: &str) -> Self {
        StreamState {
            mapper: PartMapper::new(provider_id),
            stop: None,
            usage: Usage::default(),
        }
    }

    /// One upstream SSE frame's data (a full GenerateContentResponse chunk).
    pub fn feed(&mut self, data: &str, w: &mut StreamWriter) {
        if w.is_done() {
            return;
        }
        let data = data.trim();
        // `[DONE]` is not Gemini's, but OpenAI-style relays in front of it send one.
        if data.is_empty() || data == "[DONE]" {
            return;
        }
        match serde_json::from_str::<Value>(data) {
            Ok(Value::Array(chunks)) => {
                for c in &chunks {
                    self.chunk(c, w);
                }
            }
            Ok(chunk) => self.chunk(&chunk, w),
            Err(e) => w.error(
                ErrorType::Api,
                &format!("Gemini sent a malformed stream chunk: {e}"),
            ),
        }
    }

    fn chunk(&mut self, chunk: &Value, w: &mut StreamWriter) {
        if w.is_done() {
            return;
        }
        if let Some(e) = chunk.get("error") {
            let status = e.get("status").and_then(Value::as_str);
            let code = e
                .get("code")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(500);
            let msg = e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("Gemini reported an error");
            w.error(super::error_type(status, code), msg);
            return;
        }
        if let Some(meta) = chunk.get("usageMetadata") {
            self.usage = usage_of(meta);
        }
        w.start(self.usage);
        let Some(candidate) = chunk.get("candidates").and_then(|c| c.get(0)) else {
            let blocked = chunk
                .get("promptFeedback")
                .and_then(|f| f.get("blockReason"))
                .is_some();
            if blocked {
                self.stop = Some(Stop::Refusal);
            }
            return;
        };
        if let Some(Value::Array(parts)) = candidate.get("content").and_then(|c| c.get("parts")) {
            for part in parts {
                self.mapper.part(part, w);
            }
        }
        if let Some(finish) = candidate.get("finishReason").and_then(Value::as_str) {
            let stop = stop_of(finish);
            if stop == Stop::Failed {
                w.error(
                    ErrorType::Api,
                    &format!("Gemini stopped with {finish}: the model produced no usable answer"),
                );
                return;
            }
            self.stop = Some(stop);
        }
    }

    /// Upstream ended: clean = normal close.
    pub fn end(&mut self, clean: bool, w: &mut StreamWriter) {
        if w.is_done() {
            return;
        }
        match (self.stop, clean) {
            (Some(stop), _) => w.finish(stop.as_str(), None, self.usage),
            (None, true) => w.finish("end_turn", None, self.usage),
            // Same type as every other cut stream: clients retry overloaded errors.
            (None, false) => w.error(
                ErrorType::Overloaded,
                "the Gemini stream ended before the answer was complete",
            ),
        }
    }
}
