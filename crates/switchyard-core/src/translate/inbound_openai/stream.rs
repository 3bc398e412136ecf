//! Anthropic SSE events -> `chat.completion.chunk` SSE lines.
//!
//! Output, in order: a first chunk with `delta.role`; `content` / `reasoning_content` /
//! `tool_calls` deltas (a tool call's first delta carries `index`, `id`, `type` and `name`
//! with empty `arguments`, later ones only `index` and argument fragments; `index` counts
//! tool calls from 0 in the order they open); a chunk with an empty delta and the
//! `finish_reason`; with `include_usage`, a chunk with `choices: []` and `usage`; then
//! `data: [DONE]`. Anthropic `ping`s become SSE comments (`: ping`) so idle connections stay
//! open. An `error` event (or input that ends before `message_stop`) becomes
//! `data: {"error":{...}}` and nothing follows it: no finish chunk, no `[DONE]`.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use serde_json::{json, Value};

use super::response::{completion_id, error_body, finish_reason, now, usage};
use crate::protocol::anthropic::parse_error;
use crate::protocol::sse::{self, Splitter};

/// The translator for one stream.
pub struct ChunkStream {
    model: String,
    include_usage: bool,
    id: String,
    created: u64,
    splitter: Splitter,
    started: bool,
    /// Anthropic block index -> tool-call index.
    tools: HashMap<u64, usize>,
    stop_reason: Option<String>,
    usage: Value,
    done: bool,
}

impl ChunkStream {
    /// A stream answering for `model` (the client's model name).
    pub fn new(model: &str, include_usage: bool) -> Self {
        ChunkStream {
            model: model.to_string(),
            include_usage,
            id: completion_id(None),
            created: now(),
            splitter: Splitter::new(),
            started: false,
            tools: HashMap::new(),
            stop_reason: None,
            usage: json!({}),
            done: false,
        }
    }

    /// Finished (after `[DONE]` or an error chunk): nothing more will be produced.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feed upstream bytes (any split); returns the SSE bytes to send (maybe empty).
    pub fn push(&mut self, chunk: &[u8]) -> Bytes {
        let mut out = BytesMut::new();
        self.splitter.push(chunk);
        if let Some(buf) = self.splitter.take_complete() {
            for raw in sse::frames(&buf) {
                if self.done {
                    break;
                }
                let f = sse::parse_frame(raw);
                if let Some(ev) = f.event {
                    self.event(ev, &f.data, &mut out);
                }
            }
        }
        out.freeze()
    }

    /// The input ended: an error chunk if the answer was not finished, else nothing.
    pub fn end(&mut self) -> Bytes {
        if self.done {
            return Bytes::new();
        }
        let mut out = BytesMut::new();
        self.error(
            529,
            "the upstream closed the stream before it finished",
            Some("overloaded_error"),
            &mut out,
        );
        out.freeze()
    }

    fn event(&mut self, ev: &str, data: &str, out: &mut BytesMut) {
        if ev == "ping" {
            out.extend_from_slice(b": ping\n\n");
            return;
        }
        if ev == "error" {
            let (kind, message) = parse_error(data.as_bytes()).unwrap_or((None, data.to_string()));
            let status = kind.map_or(500, |k| k.status());
            let code = kind.map(|k| k.as_str());
            self.error(status, &message, code, out);
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return;
        };
        match ev {
            "message_start" => {
                let m = &v["message"];
                self.id = completion_id(m["id"].as_str());
                self.usage = m["usage"].clone();
                self.start(out);
            }
            "content_block_start" => {
                self.start(out);
                let b = &v["content_block"];
                match b["type"].as_str() {
                    Some("tool_use") => {
                        let index = self.tools.len();
                        self.tools.insert(v["index"].as_u64().unwrap_or(0), index);
                        self.delta(
                            json!({"tool_calls": [{
                                "index": index,
                                "id": b["id"],
                                "type": "function",
                                "function": {"name": b["name"], "arguments": ""},
                            }]}),
                            out,
                        );
                    }
                    Some("text") => self.text(b["text"].as_str(), "content", out),
                    Some("thinking") => self.text(b["thinking"].as_str(), "reasoning_content", out),
                    _ => {}
                }
            }
            "content_block_delta" => {
                self.start(out);
                let d = &v["delta"];
                match d["type"].as_str() {
                    Some("text_delta") => self.text(d["text"].as_str(), "content", out),
                    Some("thinking_delta") => {
                        self.text(d["thinking"].as_str(), "reasoning_content", out)
                    }
                    Some("input_json_delta") => {
                        let part = d["partial_json"].as_str().unwrap_or("");
                        let tool = v["index"].as_u64().and_then(|i| self.tools.get(&i));
                        if let (false, Some(&index)) = (part.is_empty(), tool) {
                            self.delta(
                                json!({"tool_calls": [{"index": index, "function": {"arguments": part}}]}),
                                out,
                            );
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(r) = v["delta"]["stop_reason"].as_str() {
                    self.stop_reason = Some(r.to_string());
                }
                if let Some(u) = v["usage"].as_object() {
                    for (k, n) in u {
                        if n.as_u64().is_some_and(|n| n > 0) || k == "output_tokens" {
                            self.usage[k] = n.clone();
                        }
                    }
                }
            }
            "message_stop" => self.finish(out),
            _ => {}
        }
    }

    fn chunk(&self, choices: Value, usage: Option<Value>, out: &mut BytesMut) {
        let mut c = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": null,
            "choices": choices,
        });
        if self.include_usage {
            c["usage"] = usage.unwrap_or(Value::Null);
        }
        data_line(&c.to_string(), out);
    }

    fn delta(&self, delta: Value, out: &mut BytesMut) {
        self.chunk(
            json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": null}]),
            None,
            out,
        );
    }

    fn start(&mut self, out: &mut BytesMut) {
        if !self.started {
            self.started = true;
            self.delta(json!({"role": "assistant", "content": ""}), out);
        }
    }

    fn text(&self, t: Option<&str>, field: &str, out: &mut BytesMut) {
        if let Some(t) = t.filter(|t| !t.is_empty()) {
            self.delta(json!({ field: t }), out);
        }
    }

    fn finish(&mut self, out: &mut BytesMut) {
        self.start(out);
        let reason = finish_reason(self.stop_reason.as_deref(), !self.tools.is_empty());
        self.chunk(
            json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": reason}]),
            None,
            out,
        );
        if self.include_usage {
            self.chunk(json!([]), Some(usage(&self.usage)), out);
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
        self.done = true;
    }

    fn error(&mut self, status: u16, message: &str, code: Option<&str>, out: &mut BytesMut) {
        data_line(&error_body(status, message, None, code).to_string(), out);
        self.done = true;
    }
}

fn data_line(json: &str, out: &mut BytesMut) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(b"\n\n");
}
