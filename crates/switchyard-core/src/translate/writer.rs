//! Writes a well-formed Anthropic SSE stream from translated pieces. Every stream translator
//! (OpenAI, Gemini) drives one of these, so the invariants the official SDKs check
//! (PROTOCOL.md §1) hold by construction:
//!
//! - exactly one `message_start`, first;
//! - block indexes 0, 1, 2… without gaps, one block open at a time, a new block whenever the
//!   kind changes;
//! - a thinking block gets its `signature_delta` before its `content_block_stop`;
//! - every open block is closed before `message_delta` / `message_stop` or an error;
//! - nothing after `message_stop` or an `error` event.

use bytes::{Bytes, BytesMut};
use serde_json::{json, Value};

use crate::protocol::anthropic::ErrorType;
use crate::protocol::sse;

/// The kind of the open content block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// `text`
    Text,
    /// `thinking`
    Thinking,
    /// `tool_use`
    ToolUse,
}

/// Token counts for `message_start` / `message_delta`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Input tokens, excluding cache reads and writes.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cache reads.
    pub cache_read_input_tokens: u64,
    /// Cache writes.
    pub cache_creation_input_tokens: u64,
}

impl Usage {
    fn to_json(self) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "output_tokens": self.output_tokens,
        })
    }
}

/// The writer.
#[derive(Debug)]
pub struct StreamWriter {
    model: String,
    id: String,
    /// Signature given to thinking blocks the upstream did not sign (see `translate::history`).
    unsigned_signature: String,
    started: bool,
    open: Option<BlockKind>,
    signed: bool,
    next_index: usize,
    done: bool,
    saw_tool: bool,
    out: BytesMut,
}

impl StreamWriter {
    /// A writer for a message that will echo `client_model`. `unsigned_signature` is what a
    /// thinking block without an upstream signature carries.
    pub fn new(client_model: &str, message_id: &str, unsigned_signature: &str) -> Self {
        StreamWriter {
            model: client_model.to_string(),
            id: message_id.to_string(),
            unsigned_signature: unsigned_signature.to_string(),
            started: false,
            open: None,
            signed: false,
            next_index: 0,
            done: false,
            saw_tool: false,
            out: BytesMut::new(),
        }
    }

    fn emit(&mut self, event: &str, data: &Value) {
        self.out
            .extend_from_slice(&sse::encode(event, &data.to_string()));
    }

    /// Has `message_start` been written?
    pub fn started(&self) -> bool {
        self.started
    }

    /// Has the stream ended (`message_stop` or `error`)?
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Did any tool_use block open?
    pub fn saw_tool_use(&self) -> bool {
        self.saw_tool
    }

    /// The kind of the open block.
    pub fn open_block(&self) -> Option<BlockKind> {
        self.open
    }

    /// Write `message_start` (once). Input tokens may be unknown yet (0): report them later in
    /// [`StreamWriter::finish`].
    pub fn start(&mut self, usage: Usage) {
        if self.started || self.done {
            return;
        }
        self.started = true;
        let mut u = usage;
        u.output_tokens = u.output_tokens.max(1);
        let data = json!({
            "type": "message_start",
            "message": {
                "id": self.id, "type": "message", "role": "assistant", "model": self.model,
                "content": [], "stop_reason": null, "stop_sequence": null, "usage": u.to_json(),
            }
        });
        self.emit("message_start", &data);
    }

    fn open_block_of(&mut self, kind: BlockKind, block: Value) {
        self.start(Usage::default());
        self.close_block();
        let index = self.next_index;
        self.next_index += 1;
        self.open = Some(kind);
        self.signed = false;
        if kind == BlockKind::ToolUse {
            self.saw_tool = true;
        }
        self.emit(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        );
    }

    fn index(&self) -> usize {
        self.next_index.saturating_sub(1)
    }

    fn delta(&mut self, delta: Value) {
        let index = self.index();
        self.emit(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": index, "delta": delta}),
        );
    }

    /// Append text, opening a text block if the open block is not one.
    pub fn text(&mut self, text: &str) {
        if self.done || text.is_empty() {
            return;
        }
        if self.open != Some(BlockKind::Text) {
            self.open_block_of(BlockKind::Text, json!({"type": "text", "text": ""}));
        }
        self.delta(json!({"type": "text_delta", "text": text}));
    }

    /// Append reasoning, opening a thinking block if the open block is not one.
    pub fn thinking(&mut self, text: &str) {
        if self.done || text.is_empty() {
            return;
        }
        if self.open != Some(BlockKind::Thinking) {
            self.open_block_of(
                BlockKind::Thinking,
                json!({"type": "thinking", "thinking": "", "signature": ""}),
            );
        }
        self.delta(json!({"type": "thinking_delta", "thinking": text}));
    }

    /// The signature of the open thinking block (ignored when none is open).
    pub fn signature(&mut self, signature: &str) {
        if self.done || self.open != Some(BlockKind::Thinking) {
            return;
        }
        self.signed = true;
        self.delta(json!({"type": "signature_delta", "signature": signature}));
    }

    /// Open a tool_use block. Call only once `id` and `name` are both known.
    pub fn tool_start(&mut self, id: &str, name: &str) {
        if self.done {
            return;
        }
        self.open_block_of(
            BlockKind::ToolUse,
            json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
        );
    }

    /// Append a fragment of the open tool_use block's JSON input.
    pub fn tool_args(&mut self, partial_json: &str) {
        if self.done || self.open != Some(BlockKind::ToolUse) || partial_json.is_empty() {
            return;
        }
        self.delta(json!({"type": "input_json_delta", "partial_json": partial_json}));
    }

    /// Close the open block, if any (a thinking block gets its signature first).
    pub fn close_block(&mut self) {
        let Some(kind) = self.open else { return };
        if kind == BlockKind::Thinking && !self.signed {
            let sig = self.unsigned_signature.clone();
            self.signed = true;
            self.delta(json!({"type": "signature_delta", "signature": sig}));
        }
        let index = self.index();
        self.open = None;
        self.emit(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        );
    }

    /// A `ping` (keeps clients from timing out while the upstream is silent).
    pub fn ping(&mut self) {
        if self.started && !self.done {
            self.emit("ping", &json!({"type": "ping"}));
        }
    }

    /// End the message: close the open block, `message_delta` (stop reason, usage) and
    /// `message_stop`. Any tool_use block forces `stop_reason: tool_use` unless the answer
    /// was cut by `max_tokens`.
    pub fn finish(&mut self, stop_reason: &str, stop_sequence: Option<&str>, usage: Usage) {
        if self.done {
            return;
        }
        self.start(usage);
        self.close_block();
        let reason = if self.saw_tool && stop_reason != "max_tokens" {
            "tool_use"
        } else {
            stop_reason
        };
        let mut u = json!({"output_tokens": usage.output_tokens});
        if usage.input_tokens > 0 {
            u["input_tokens"] = json!(usage.input_tokens);
        }
        if usage.cache_read_input_tokens > 0 {
            u["cache_read_input_tokens"] = json!(usage.cache_read_input_tokens);
        }
        if usage.cache_creation_input_tokens > 0 {
            u["cache_creation_input_tokens"] = json!(usage.cache_creation_input_tokens);
        }
        self.emit(
            "message_delta",
            &json!({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": stop_sequence}, "usage": u}),
        );
        self.emit("message_stop", &json!({"type": "message_stop"}));
        self.done = true;
    }

    /// End with an in-band error. Open blocks are closed first so what came before stays
    /// well-formed.
    pub fn error(&mut self, kind: ErrorType, message: &str) {
        if self.done {
            return;
        }
        self.close_block();
        self.out
            .extend_from_slice(&crate::protocol::anthropic::error_event(kind, message));
        self.done = true;
    }

    /// Take what was written since the last call.
    pub fn take(&mut self) -> Option<Bytes> {
        (!self.out.is_empty()).then(|| self.out.split().freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(b: &[u8]) -> Vec<(String, Value)> {
        sse::frames(b)
            .map(|f| {
                let p = sse::parse_frame(f);
                (
                    p.event.unwrap_or("").to_string(),
                    serde_json::from_str(&p.data).unwrap_or(Value::Null),
                )
            })
            .collect()
    }

    #[test]
    fn blocks_open_and_close_in_order_with_signatures() {
        let mut w = StreamWriter::new("claude-x", "msg_1", "sy:p:");
        w.thinking("hmm");
        w.text("I'll check.");
        w.tool_start("toolu_1", "get_weather");
        w.tool_args("{\"loc\":");
        w.tool_args("\"Paris\"}");
        w.text("done");
        w.finish(
            "end_turn",
            None,
            Usage {
                output_tokens: 9,
                input_tokens: 5,
                ..Default::default()
            },
        );
        w.text("ignored after the end");
        let ev = events(&w.take().expect("output"));
        let names: Vec<&str> = ev.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(ev[0].1["message"]["model"], "claude-x");
        assert_eq!(
            ev[3].1["delta"]["type"], "signature_delta",
            "signature before the thinking block stops"
        );
        let starts: Vec<u64> = ev
            .iter()
            .filter(|e| e.0 == "content_block_start")
            .map(|e| e.1["index"].as_u64().unwrap_or(99))
            .collect();
        assert_eq!(starts, [0, 1, 2, 3]);
        let md = &ev[ev.len() - 2].1;
        assert_eq!(
            md["delta"]["stop_reason"], "tool_use",
            "a tool_use block forces tool_use"
        );
        assert_eq!(md["usage"]["input_tokens"], 5);
        assert!(w.take().is_none());
    }

    #[test]
    fn errors_close_open_blocks_and_end_the_stream() {
        let mut w = StreamWriter::new("m", "id", "");
        w.text("partial");
        w.error(ErrorType::Overloaded, "upstream went away");
        w.finish("end_turn", None, Usage::default());
        let ev = events(&w.take().expect("output"));
        let names: Vec<&str> = ev.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "error"
            ]
        );
        assert_eq!(
            ev[4].1,
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "upstream went away"}})
        );
    }
}
