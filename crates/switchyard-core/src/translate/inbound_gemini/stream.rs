//! Anthropic SSE events -> Gemini `streamGenerateContent?alt=sse` frames.
//!
//! Every frame is `data: <GenerateContentResponse>` (no `event:` line, no `[DONE]`), as
//! Google sends them. A text delta is one chunk with one text part; a thought delta one
//! `thought` part (when the client asked for thoughts); a tool call one `functionCall` part,
//! sent whole when its block ends (Gemini never splits a call's `args`). The last chunk
//! carries `finishReason` and the whole `usageMetadata`; earlier ones the prompt count.
//! An Anthropic `error` event, or an input that ends before `message_stop`, becomes a last
//! `data: {"error": {...}}` frame, which the Gemini SDKs raise as an API error. Pings are
//! dropped: Gemini streams have no keep-alive frame.

use bytes::{Bytes, BytesMut};
use serde_json::{json, Value};

use super::response::{
    finish_reason, from_anthropic_error, response_id, tokens, usage_metadata, Parts,
};
use crate::protocol::sse::{self, Splitter};

/// The block being streamed.
enum Open {
    None,
    Text,
    Thinking {
        text: String,
        signature: String,
    },
    Tool {
        id: String,
        name: String,
        json: String,
    },
    Other,
}

/// The translator for one stream.
pub struct GeminiStream {
    model: String,
    id: String,
    splitter: Splitter,
    parts: Parts,
    open: Open,
    prompt: u64,
    cached: u64,
    output: u64,
    stop_reason: Option<String>,
    done: bool,
}

impl GeminiStream {
    /// A stream answering `model` (the client's); `include_thoughts`: send thought text.
    pub fn new(model: &str, include_thoughts: bool) -> Self {
        GeminiStream {
            model: model.to_string(),
            id: response_id(None),
            splitter: Splitter::new(),
            parts: Parts::new(include_thoughts),
            open: Open::None,
            prompt: 0,
            cached: 0,
            output: 0,
            stop_reason: None,
            done: false,
        }
    }

    /// Finished: nothing more will be produced.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feed Anthropic SSE bytes (any split); returns the Gemini frames to send (maybe none).
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

    /// The input ended: an error frame if the answer was not finished.
    pub fn end(&mut self) -> Bytes {
        if self.done {
            return Bytes::new();
        }
        let mut out = BytesMut::new();
        let e = super::response::error_body(
            503,
            "the upstream closed the stream before it finished",
            None,
        );
        frame(&e, &mut out);
        self.done = true;
        out.freeze()
    }

    fn event(&mut self, ev: &str, data: &str, out: &mut BytesMut) {
        if ev == "error" {
            let e = from_anthropic_error(0, data.as_bytes(), None)
                .map(|(_, body)| body)
                .unwrap_or_else(|| super::response::error_body(500, data, None));
            frame(&e, out);
            self.done = true;
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return;
        };
        match ev {
            "message_start" => {
                let m = &v["message"];
                self.id = response_id(m["id"].as_str());
                let (prompt, cached, _) = tokens(&m["usage"]);
                (self.prompt, self.cached) = (prompt, cached);
            }
            "content_block_start" => {
                let b = &v["content_block"];
                self.open = match b["type"].as_str() {
                    Some("text") => {
                        self.text(b["text"].as_str().unwrap_or(""), out);
                        Open::Text
                    }
                    Some("thinking") => {
                        let t = b["thinking"].as_str().unwrap_or("");
                        self.thought(t, out);
                        Open::Thinking {
                            text: t.to_string(),
                            signature: b["signature"].as_str().unwrap_or("").to_string(),
                        }
                    }
                    Some("redacted_thinking") => {
                        self.parts.hold(b.clone());
                        Open::Other
                    }
                    Some("tool_use") => {
                        let input = &b["input"];
                        let json = match input.as_object() {
                            Some(o) if !o.is_empty() => input.to_string(),
                            _ => String::new(),
                        };
                        Open::Tool {
                            id: b["id"].as_str().unwrap_or("").to_string(),
                            name: b["name"].as_str().unwrap_or("").to_string(),
                            json,
                        }
                    }
                    _ => Open::Other,
                };
            }
            "content_block_delta" => {
                let d = &v["delta"];
                match (d["type"].as_str(), &mut self.open) {
                    (Some("text_delta"), _) => self.text(d["text"].as_str().unwrap_or(""), out),
                    (Some("thinking_delta"), Open::Thinking { text, .. }) => {
                        let t = d["thinking"].as_str().unwrap_or("");
                        text.push_str(t);
                        self.thought(t, out);
                    }
                    (Some("signature_delta"), Open::Thinking { signature, .. }) => {
                        signature.push_str(d["signature"].as_str().unwrap_or(""));
                    }
                    (Some("input_json_delta"), Open::Tool { json, .. }) => {
                        json.push_str(d["partial_json"].as_str().unwrap_or(""));
                    }
                    _ => {}
                }
            }
            "content_block_stop" => match std::mem::replace(&mut self.open, Open::None) {
                Open::Thinking { text, signature } => self
                    .parts
                    .hold(json!({"type": "thinking", "thinking": text, "signature": signature})),
                // A call without a name is nothing a client can run.
                Open::Tool { name, .. } if name.is_empty() => {}
                Open::Tool { id, name, json } => {
                    let args = if json.trim().is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(&json).unwrap_or_else(|_| json!({}))
                    };
                    let part = self.parts.call(&id, &name, args);
                    self.chunk(vec![part], out);
                }
                Open::Text | Open::Other | Open::None => {}
            },
            "message_delta" => {
                if let Some(r) = v["delta"]["stop_reason"].as_str() {
                    self.stop_reason = Some(r.to_string());
                }
                let u = &v["usage"];
                if let Some(o) = u["output_tokens"].as_u64() {
                    self.output = o;
                }
                if u.get("input_tokens")
                    .and_then(Value::as_u64)
                    .is_some_and(|n| n > 0)
                {
                    let (prompt, cached, _) = tokens(u);
                    (self.prompt, self.cached) = (prompt, cached);
                }
            }
            "message_stop" => self.finish(out),
            _ => {}
        }
    }

    fn text(&mut self, t: &str, out: &mut BytesMut) {
        if !t.is_empty() {
            let part = self.parts.sign(json!({ "text": t }));
            self.chunk(vec![part], out);
        }
    }

    fn thought(&mut self, t: &str, out: &mut BytesMut) {
        if let Some(part) = self.parts.thought(t) {
            self.chunk(vec![part], out);
        }
    }

    fn chunk(&self, parts: Vec<Value>, out: &mut BytesMut) {
        let c = json!({
            "candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
            "usageMetadata": usage_metadata(self.prompt, self.cached, None),
            "modelVersion": self.model,
            "responseId": self.id,
        });
        frame(&c, out);
    }

    fn finish(&mut self, out: &mut BytesMut) {
        let parts: Vec<Value> = self.parts.rest().into_iter().collect();
        let c = json!({
            "candidates": [{
                "content": {"role": "model", "parts": parts},
                "finishReason": finish_reason(self.stop_reason.as_deref()),
                "index": 0,
            }],
            "usageMetadata": usage_metadata(self.prompt, self.cached, Some(self.output)),
            "modelVersion": self.model,
            "responseId": self.id,
        });
        frame(&c, out);
        self.done = true;
    }
}

fn frame(v: &Value, out: &mut BytesMut) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(v.to_string().as_bytes());
    out.extend_from_slice(b"\n\n");
}
