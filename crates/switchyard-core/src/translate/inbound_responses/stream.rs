//! Anthropic SSE events -> Responses SSE events.
//!
//! Output, in order: `response.created` and `response.in_progress`; for each content block,
//! its output item: `response.output_item.added`, then
//! - text: `response.content_part.added`, `response.output_text.delta`...,
//!   `response.output_text.done`, `response.content_part.done`;
//! - thinking: `response.reasoning_summary_part.added`,
//!   `response.reasoning_summary_text.delta`..., `response.reasoning_summary_text.done`,
//!   `response.reasoning_summary_part.done` (no summary part when the thinking has no text);
//! - a function call: `response.function_call_arguments.delta`...,
//!   `response.function_call_arguments.done`; a custom tool call:
//!   `response.custom_tool_call_input.delta`, `response.custom_tool_call_input.done`;
//!
//! then `response.output_item.done` with the whole item; last `response.completed` with the
//! output and `usage` (`response.incomplete` when the answer hit its token limit). Every event
//! has an `event:` line naming its `type` and a `sequence_number` counting from 0. Anthropic
//! `ping`s become SSE comments. An `error` event (or input that ends before `message_stop`)
//! ends the stream with an `error` event and `response.failed`, after an open item is closed
//! as incomplete.

use bytes::{Bytes, BytesMut};
use serde_json::{json, Map, Value};

use super::response::{
    call_item, call_of, call_prefix, custom_input, envelope, error_code, item_id, message_item,
    now, output_text, reasoning_item, response_id, status_of, usage, Call,
};
use super::tools::{ToolKind, ToolMap};
use crate::protocol::anthropic::{parse_error, ErrorType};
use crate::protocol::sse::{self, Splitter};
use crate::translate::responses::Args;

/// The output item being streamed.
enum Open {
    Text {
        index: usize,
        id: String,
        text: String,
    },
    Reasoning {
        index: usize,
        id: String,
        text: String,
        signature: String,
        part: bool,
    },
    Call {
        index: usize,
        id: String,
        call_id: String,
        hub_name: String,
        /// What was passed on (a JSON object prefix).
        args: String,
        /// The prefix check: an upstream that passes its stream as bytes may send anything.
        json: Args,
    },
    /// A block with no counterpart (a server tool's): its deltas are skipped.
    Skip,
}

/// The translator for one stream.
pub struct EventStream {
    model: String,
    tools: ToolMap,
    echo: Map<String, Value>,
    id: String,
    created: u64,
    seq: u64,
    splitter: Splitter,
    started: bool,
    output: Vec<Value>,
    open: Option<Open>,
    usage: Value,
    stop_reason: Option<String>,
    done: bool,
}

impl EventStream {
    /// A stream answering for `model` (the client's model name), with the request's tools and
    /// echoed fields.
    pub fn new(model: &str, tools: ToolMap, echo: Map<String, Value>) -> Self {
        EventStream {
            model: model.to_string(),
            tools,
            echo,
            id: response_id(None),
            created: now(),
            seq: 0,
            splitter: Splitter::new(),
            started: false,
            output: Vec::new(),
            open: None,
            usage: json!({}),
            stop_reason: None,
            done: false,
        }
    }

    /// Finished (after `response.completed` or a failure): nothing more will be produced.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feed hub SSE bytes (any split); returns the Responses SSE bytes to send (maybe empty).
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

    /// The input ended: a failure if the answer was not finished, else nothing.
    pub fn end(&mut self) -> Bytes {
        let mut out = BytesMut::new();
        if !self.done {
            self.fail(
                Some(ErrorType::Overloaded),
                "the upstream closed the stream before it finished",
                &mut out,
            );
        }
        out.freeze()
    }

    fn emit(&mut self, ty: &str, fields: Value, out: &mut BytesMut) {
        let mut data = Map::new();
        data.insert("type".into(), json!(ty));
        if let Value::Object(f) = fields {
            data.extend(f);
        }
        data.insert("sequence_number".into(), json!(self.seq));
        self.seq += 1;
        out.extend_from_slice(&sse::encode(ty, &Value::Object(data).to_string()));
    }

    fn envelope(&self, status: &str, usage_now: Option<Value>) -> Value {
        envelope(
            &self.id,
            self.created,
            &self.model,
            &self.echo,
            status,
            self.output.clone(),
            usage_now,
        )
    }

    fn start(&mut self, message_id: Option<&str>, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        if message_id.is_some() {
            self.id = response_id(message_id);
        }
        let r = self.envelope("in_progress", None);
        self.emit("response.created", json!({ "response": r }), out);
        let r = self.envelope("in_progress", None);
        self.emit("response.in_progress", json!({ "response": r }), out);
    }

    fn event(&mut self, ev: &str, data: &str, out: &mut BytesMut) {
        match ev {
            "ping" => {
                out.extend_from_slice(b": ping\n\n");
                return;
            }
            "error" => {
                let (kind, message) =
                    parse_error(data.as_bytes()).unwrap_or((None, data.to_string()));
                self.fail(kind, &message, out);
                return;
            }
            _ => {}
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return;
        };
        match ev {
            "message_start" => {
                self.usage = v["message"]["usage"].clone();
                self.start(v["message"]["id"].as_str(), out);
            }
            "content_block_start" => {
                self.start(None, out);
                self.close(out);
                self.open_block(&v["content_block"], out);
            }
            "content_block_delta" => {
                self.start(None, out);
                self.delta(&v["delta"], out);
            }
            "content_block_stop" => self.close(out),
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

    fn open_block(&mut self, b: &Value, out: &mut BytesMut) {
        let index = self.output.len();
        match b["type"].as_str() {
            Some("text") => {
                let id = item_id("msg", &self.id, index);
                let item = json!({"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []});
                self.emit(
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                    out,
                );
                self.emit(
                    "response.content_part.added",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "part": output_text("")}),
                    out,
                );
                self.open = Some(Open::Text {
                    index,
                    id,
                    text: String::new(),
                });
                if let Some(t) = b["text"].as_str().filter(|t| !t.is_empty()) {
                    self.delta(&json!({"type": "text_delta", "text": t}), out);
                }
            }
            Some("thinking") => {
                let id = item_id("rs", &self.id, index);
                let item =
                    json!({"id": id, "type": "reasoning", "status": "in_progress", "summary": []});
                self.emit(
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                    out,
                );
                self.open = Some(Open::Reasoning {
                    index,
                    id,
                    text: String::new(),
                    signature: b["signature"].as_str().unwrap_or("").to_string(),
                    part: false,
                });
                if let Some(t) = b["thinking"].as_str().filter(|t| !t.is_empty()) {
                    self.delta(&json!({"type": "thinking_delta", "thinking": t}), out);
                }
            }
            Some("redacted_thinking") => {
                let id = item_id("rs", &self.id, index);
                let item = reasoning_item(&id, "", "", Some(b["data"].as_str().unwrap_or("")));
                let mut added = item.clone();
                added["status"] = json!("in_progress");
                self.emit(
                    "response.output_item.added",
                    json!({"output_index": index, "item": added}),
                    out,
                );
                self.emit(
                    "response.output_item.done",
                    json!({"output_index": index, "item": item}),
                    out,
                );
                self.output.push(item);
                self.open = Some(Open::Skip);
            }
            Some("tool_use") => {
                // Passed-through upstream bytes may lack either; clients need both.
                let hub_name = match b["name"].as_str() {
                    Some(n) if !n.is_empty() => n.to_string(),
                    _ => "unknown".to_string(),
                };
                let call_id = match b["id"].as_str() {
                    Some(c) if !c.is_empty() => c.to_string(),
                    _ => item_id("call", &self.id, index),
                };
                let call = call_of(&self.tools, &hub_name);
                let id = item_id(call_prefix(call.kind), &self.id, index);
                let item = call_item(&id, &call_id, &call, "", "in_progress");
                self.emit(
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                    out,
                );
                self.open = Some(Open::Call {
                    index,
                    id,
                    call_id,
                    hub_name,
                    args: String::new(),
                    json: Args::default(),
                });
            }
            _ => self.open = Some(Open::Skip),
        }
    }

    fn delta(&mut self, d: &Value, out: &mut BytesMut) {
        let mut events: Vec<(&'static str, Value)> = Vec::new();
        match (&mut self.open, d["type"].as_str()) {
            (Some(Open::Text { index, id, text }), Some("text_delta")) => {
                let t = d["text"].as_str().unwrap_or("");
                if !t.is_empty() {
                    text.push_str(t);
                    events.push((
                        "response.output_text.delta",
                        json!({"item_id": id, "output_index": index, "content_index": 0, "delta": t, "logprobs": []}),
                    ));
                }
            }
            (
                Some(Open::Reasoning {
                    index,
                    id,
                    text,
                    part,
                    ..
                }),
                Some("thinking_delta"),
            ) => {
                let t = d["thinking"].as_str().unwrap_or("");
                if !t.is_empty() {
                    if !*part {
                        *part = true;
                        events.push((
                            "response.reasoning_summary_part.added",
                            json!({"item_id": id, "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
                        ));
                    }
                    text.push_str(t);
                    events.push((
                        "response.reasoning_summary_text.delta",
                        json!({"item_id": id, "output_index": index, "summary_index": 0, "delta": t}),
                    ));
                }
            }
            (Some(Open::Reasoning { signature, .. }), Some("signature_delta")) => {
                *signature = d["signature"].as_str().unwrap_or("").to_string();
            }
            (
                Some(Open::Call {
                    index,
                    id,
                    hub_name,
                    args,
                    json,
                    ..
                }),
                Some("input_json_delta"),
            ) => {
                let part = json.push(d["partial_json"].as_str().unwrap_or(""));
                let part = part.as_str();
                args.push_str(part);
                // Custom tools take a string, known only once the JSON around it is whole.
                let function = self
                    .tools
                    .get(hub_name)
                    .is_none_or(|e| e.kind == ToolKind::Function);
                if function && !part.is_empty() {
                    events.push((
                        "response.function_call_arguments.delta",
                        json!({"item_id": id, "output_index": index, "delta": part}),
                    ));
                }
            }
            _ => {}
        }
        for (ty, data) in events {
            self.emit(ty, data, out);
        }
    }

    /// Close the open item: its done events and `response.output_item.done`.
    fn close(&mut self, out: &mut BytesMut) {
        let Some(open) = self.open.take() else {
            return;
        };
        match open {
            Open::Skip => {}
            Open::Text { index, id, text } => {
                self.emit(
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": []}),
                    out,
                );
                self.emit(
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "part": output_text(&text)}),
                    out,
                );
                self.item_done(index, message_item(&id, &text, "completed"), out);
            }
            Open::Reasoning {
                index,
                id,
                text,
                signature,
                part,
            } => {
                if part {
                    self.emit(
                        "response.reasoning_summary_text.done",
                        json!({"item_id": id, "output_index": index, "summary_index": 0, "text": text}),
                        out,
                    );
                    self.emit(
                        "response.reasoning_summary_part.done",
                        json!({"item_id": id, "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": text}}),
                        out,
                    );
                }
                self.item_done(index, reasoning_item(&id, &text, &signature, None), out);
            }
            Open::Call {
                index,
                id,
                call_id,
                hub_name,
                mut args,
                json,
            } => {
                let tools = std::mem::take(&mut self.tools);
                let call: Call<'_> = call_of(&tools, &hub_name);
                // Whatever closes the object goes out as a last delta, so done == deltas.
                let rest = json.finish();
                if !rest.is_empty() {
                    if call.kind == ToolKind::Function {
                        self.emit(
                            "response.function_call_arguments.delta",
                            json!({"item_id": id, "output_index": index, "delta": rest}),
                            out,
                        );
                    }
                    args.push_str(&rest);
                }
                if args.trim().is_empty() {
                    args = "{}".to_string();
                }
                match call.kind {
                    ToolKind::Function => self.emit(
                        "response.function_call_arguments.done",
                        json!({"item_id": id, "output_index": index, "arguments": args}),
                        out,
                    ),
                    ToolKind::Custom => {
                        let input = custom_input(
                            &serde_json::from_str::<Value>(&args).unwrap_or_else(|_| json!({})),
                        );
                        if !input.is_empty() {
                            self.emit(
                                "response.custom_tool_call_input.delta",
                                json!({"item_id": id, "output_index": index, "delta": input}),
                                out,
                            );
                        }
                        self.emit(
                            "response.custom_tool_call_input.done",
                            json!({"item_id": id, "output_index": index, "input": input}),
                            out,
                        );
                    }
                    ToolKind::ToolSearch => {}
                }
                let item = call_item(&id, &call_id, &call, &args, "completed");
                self.tools = tools;
                self.item_done(index, item, out);
            }
        }
    }

    fn item_done(&mut self, index: usize, item: Value, out: &mut BytesMut) {
        self.emit(
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
            out,
        );
        self.output.push(item);
    }

    fn finish(&mut self, out: &mut BytesMut) {
        self.start(None, out);
        self.close(out);
        let (status, reason) = status_of(self.stop_reason.as_deref());
        let mut r = self.envelope(status, Some(usage(&self.usage)));
        let event = match reason {
            Some(reason) => {
                r["incomplete_details"] = json!({ "reason": reason });
                "response.incomplete"
            }
            None => {
                r["completed_at"] = json!(now());
                "response.completed"
            }
        };
        self.emit(event, json!({ "response": r }), out);
        self.done = true;
    }

    /// End with a failure: the open item closed as incomplete, then `error` and
    /// `response.failed`.
    fn fail(&mut self, kind: Option<ErrorType>, message: &str, out: &mut BytesMut) {
        if self.done {
            return;
        }
        self.start(None, out);
        if let Some(open) = self.open.take() {
            let unfinished = match open {
                Open::Skip => None,
                Open::Text { index, id, text } => {
                    Some((index, message_item(&id, &text, "incomplete")))
                }
                Open::Reasoning {
                    index, id, text, ..
                } => Some((
                    index,
                    json!({"id": id, "type": "reasoning", "status": "incomplete",
                           "summary": if text.is_empty() { json!([]) } else { json!([{"type": "summary_text", "text": text}]) }}),
                )),
                Open::Call {
                    index,
                    id,
                    call_id,
                    hub_name,
                    args,
                    ..
                } => {
                    let item = call_item(
                        &id,
                        &call_id,
                        &call_of(&self.tools, &hub_name),
                        &args,
                        "incomplete",
                    );
                    Some((index, item))
                }
            };
            if let Some((index, item)) = unfinished {
                self.item_done(index, item, out);
            }
        }
        // Codex compacts its conversation on this code instead of retrying it.
        let code = if crate::translate::overflow::parse(message).is_some() {
            "context_length_exceeded"
        } else {
            error_code(kind)
        };
        self.emit(
            "error",
            json!({"code": code, "message": message, "param": null}),
            out,
        );
        let mut r = self.envelope("failed", Some(usage(&self.usage)));
        r["error"] = json!({
            "code": code,
            "message": message,
            "type": kind.map_or("api_error", ErrorType::as_str),
        });
        self.emit("response.failed", json!({ "response": r }), out);
        self.done = true;
    }
}
