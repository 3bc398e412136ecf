//! A Gemini `GenerateContentResponse` to an Anthropic message, and the part mapping shared with
//! the stream translator.
//!
//! Parts: `thought: true` text is thinking, other text is text, `functionCall` is a `tool_use`
//! whose whole `args` is its input; other parts (inline images, executable code) have no
//! Anthropic counterpart in an answer and are skipped. A new block starts whenever the kind
//! changes. `thoughtSignature`s travel in thinking blocks (see the parent module): a signature
//! signs the open unsigned thinking block, or a new signature-only thinking block is opened
//! before a function call. A signature on text is kept only when that does not split the text
//! (Gemini requires signatures back on function calls only).
//!
//! Only the first candidate is read. Usage: input = promptTokenCount - cachedContentTokenCount,
//! cache read = cachedContentTokenCount, output = candidatesTokenCount + thoughtsTokenCount.

use std::hash::BuildHasher;

use serde_json::{json, Value};

use super::{err, signature_for, unsigned_signature, TranslateError, SIGNATURE_ONLY_THINKING};
use crate::translate::writer::{BlockKind, Usage};

/// How a Gemini answer ended, in Anthropic terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// `end_turn` (`tool_use` when a call was made: the writer forces it).
    EndTurn,
    /// `max_tokens`.
    MaxTokens,
    /// `refusal`.
    Refusal,
    /// The model failed (a malformed function call): an error, not an answer.
    Failed,
}

impl Stop {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Stop::EndTurn | Stop::Failed => "end_turn",
            Stop::MaxTokens => "max_tokens",
            Stop::Refusal => "refusal",
        }
    }
}

/// A Gemini `finishReason`.
pub(super) fn stop_of(finish: &str) -> Stop {
    match finish {
        "MAX_TOKENS" => Stop::MaxTokens,
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT" => Stop::Refusal,
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" | "TOO_MANY_TOOL_CALLS" => Stop::Failed,
        _ => Stop::EndTurn,
    }
}

/// `usageMetadata` in Anthropic terms.
pub(super) fn usage_of(meta: &Value) -> Usage {
    let n = |k: &str| meta.get(k).and_then(Value::as_u64).unwrap_or(0);
    let cached = n("cachedContentTokenCount");
    Usage {
        input_tokens: n("promptTokenCount").saturating_sub(cached),
        output_tokens: n("candidatesTokenCount") + n("thoughtsTokenCount"),
        cache_read_input_tokens: cached,
        cache_creation_input_tokens: 0,
    }
}

/// Where mapped parts go: the stream writer, or a list of blocks.
pub(super) trait Sink {
    fn open(&self) -> Option<BlockKind>;
    fn close(&mut self);
    fn thinking(&mut self, text: &str);
    fn signature(&mut self, signature: &str);
    fn text(&mut self, text: &str);
    fn tool(&mut self, id: &str, name: &str, args_json: &str);
}

impl Sink for crate::translate::writer::StreamWriter {
    fn open(&self) -> Option<BlockKind> {
        self.open_block()
    }
    fn close(&mut self) {
        self.close_block();
    }
    fn thinking(&mut self, text: &str) {
        crate::translate::writer::StreamWriter::thinking(self, text);
    }
    fn signature(&mut self, signature: &str) {
        crate::translate::writer::StreamWriter::signature(self, signature);
    }
    fn text(&mut self, text: &str) {
        crate::translate::writer::StreamWriter::text(self, text);
    }
    fn tool(&mut self, id: &str, name: &str, args_json: &str) {
        self.tool_start(id, name);
        self.tool_args(args_json);
    }
}

/// Turns parts into blocks, remembering what the open block is across stream chunks.
#[derive(Debug)]
pub(super) struct PartMapper {
    provider_id: String,
    nonce: u64,
    calls: usize,
    /// The open thinking block already has its signature.
    signed: bool,
}

impl PartMapper {
    pub(super) fn new(provider_id: &str) -> Self {
        // Tool ids must not repeat across the turns of a conversation: seed them from the
        // clock through a randomly keyed hasher.
        let nonce =
            std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now());
        PartMapper {
            provider_id: provider_id.to_string(),
            nonce,
            calls: 0,
            signed: false,
        }
    }

    /// Did any function call come?
    pub(super) fn saw_call(&self) -> bool {
        self.calls > 0
    }

    fn tool_id(&mut self) -> String {
        self.calls += 1;
        format!("toolu_gm{:016x}{:02}", self.nonce, self.calls)
    }

    /// Signs the open unsigned thinking block, or opens a signature-only one.
    fn carry(&mut self, sig: &str, sink: &mut impl Sink) {
        let full = signature_for(&self.provider_id, sig);
        if sink.open() == Some(BlockKind::Thinking) && !self.signed {
            sink.signature(&full);
        } else {
            sink.close();
            sink.thinking(SIGNATURE_ONLY_THINKING);
            sink.signature(&full);
        }
        self.signed = true;
    }

    /// Maps one part.
    pub(super) fn part(&mut self, part: &Value, sink: &mut impl Sink) {
        let sig = part
            .get("thoughtSignature")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let thought = part.get("thought") == Some(&Value::Bool(true));
        if let Some(call) = part.get("functionCall") {
            let Some(name) = call
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
            else {
                return;
            };
            if let Some(sig) = sig {
                self.carry(sig, sink);
            }
            let args = match call.get("args") {
                Some(v @ Value::Object(_)) => v.to_string(),
                _ => "{}".to_string(),
            };
            // Gemini 3 gives each call an id, which must come back on its functionResponse:
            // it travels in the tool_use id (the contents builder sends it back).
            let id = match call
                .get("id")
                .and_then(Value::as_str)
                .filter(|i| !i.is_empty())
            {
                Some(own) => {
                    self.calls += 1;
                    super::tool_id_for(own)
                }
                None => self.tool_id(),
            };
            sink.tool(&id, name, &args);
        } else if let Some(text) = part.get("text").and_then(Value::as_str) {
            if thought {
                if sink.open() == Some(BlockKind::Thinking) && self.signed {
                    sink.close();
                }
                if !text.is_empty() && sink.open() != Some(BlockKind::Thinking) {
                    self.signed = false;
                }
                sink.thinking(text);
                if let Some(sig) = sig {
                    self.carry(sig, sink);
                }
            } else {
                match (sig, sink.open()) {
                    (Some(sig), Some(BlockKind::Thinking)) if !self.signed => self.carry(sig, sink),
                    (Some(sig), None) if !text.is_empty() => self.carry(sig, sink),
                    _ => {}
                }
                sink.text(text);
            }
        }
    }
}

/// Collects blocks for a non-streaming answer.
struct Blocks {
    unsigned: String,
    blocks: Vec<Value>,
    open: Option<BlockKind>,
}

impl Sink for Blocks {
    fn open(&self) -> Option<BlockKind> {
        self.open
    }
    fn close(&mut self) {
        self.open = None;
    }
    fn thinking(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.open == Some(BlockKind::Thinking) {
            if let Some(Value::String(t)) =
                self.blocks.last_mut().and_then(|b| b.get_mut("thinking"))
            {
                t.push_str(text);
                return;
            }
        }
        self.blocks
            .push(json!({"type": "thinking", "thinking": text, "signature": self.unsigned}));
        self.open = Some(BlockKind::Thinking);
    }
    fn signature(&mut self, signature: &str) {
        if self.open == Some(BlockKind::Thinking) {
            if let Some(b) = self.blocks.last_mut() {
                b["signature"] = json!(signature);
            }
        }
    }
    fn text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.open == Some(BlockKind::Text) {
            if let Some(Value::String(t)) = self.blocks.last_mut().and_then(|b| b.get_mut("text")) {
                t.push_str(text);
                return;
            }
        }
        self.blocks.push(json!({"type": "text", "text": text}));
        self.open = Some(BlockKind::Text);
    }
    fn tool(&mut self, id: &str, name: &str, args_json: &str) {
        let input: Value = serde_json::from_str(args_json).unwrap_or_else(|_| json!({}));
        self.blocks
            .push(json!({"type": "tool_use", "id": id, "name": name, "input": input}));
        self.open = Some(BlockKind::ToolUse);
    }
}

/// A message id from Gemini's `responseId` (or a generated one).
pub(super) fn message_id(body: &Value, nonce_source: &PartMapper) -> String {
    let clean: String = body
        .get("responseId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    if clean.is_empty() {
        format!("msg_gm{:016x}", nonce_source.nonce)
    } else {
        format!("msg_{clean}")
    }
}

/// Translates a non-streaming Gemini answer into an Anthropic message echoing `client_model`.
/// A body holding an `error` is an `Err` with its message. A blocked prompt
/// (`promptFeedback.blockReason`) is an empty `refusal`; a malformed function call is an empty
/// `end_turn` (the caller's empty-answer check treats both as a provider failure).
pub fn from_response(
    body: &Value,
    client_model: &str,
    provider_id: &str,
) -> Result<Value, TranslateError> {
    if let Some(e) = body.get("error") {
        let msg = e
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| e.to_string(), String::from);
        return Err(err(format!("Gemini error: {msg}")));
    }
    if !body.is_object() {
        return Err(err("Gemini answered something that is not a JSON object"));
    }
    let mut mapper = PartMapper::new(provider_id);
    let mut sink = Blocks {
        unsigned: unsigned_signature(provider_id),
        blocks: Vec::new(),
        open: None,
    };
    let candidate = body.get("candidates").and_then(|c| c.get(0));
    let mut stop = Stop::EndTurn;
    match candidate {
        Some(c) => {
            if let Some(Value::Array(parts)) = c.get("content").and_then(|c| c.get("parts")) {
                for p in parts {
                    mapper.part(p, &mut sink);
                }
            }
            if let Some(f) = c.get("finishReason").and_then(Value::as_str) {
                stop = stop_of(f);
            }
        }
        None => {
            let blocked = body
                .get("promptFeedback")
                .and_then(|f| f.get("blockReason"))
                .is_some();
            if blocked {
                stop = Stop::Refusal;
            }
        }
    }
    let usage = body.get("usageMetadata").map(usage_of).unwrap_or_default();
    let reason = if mapper.saw_call() && stop != Stop::MaxTokens {
        "tool_use"
    } else {
        stop.as_str()
    };
    Ok(json!({
        "id": message_id(body, &mapper),
        "type": "message",
        "role": "assistant",
        "model": client_model,
        "content": sink.blocks,
        "stop_reason": reason,
        "stop_sequence": null,
        "usage": {
            "input_tokens": usage.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": usage.cache_read_input_tokens,
            "output_tokens": usage.output_tokens,
        }
    }))
}
