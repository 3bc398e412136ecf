//! The OpenAI Responses face: [`Body::Message`](crate::Body::Message),
//! [`Body::EmptyMessage`](crate::Body::EmptyMessage) and [`Body::Error`](crate::Body::Error)
//! rendered as OpenAI's Responses API (`POST .../responses`), as the API streams it and the
//! official SDK parses it.
//!
//! - JSON: a `response` object (`"object":"response"`, `status`, `output` items, `usage` with
//!   `input_tokens_details.cached_tokens` and `output_tokens_details.reasoning_tokens`).
//!   Thinking becomes a `reasoning` item (summary text and `encrypted_content`
//!   `mock_encrypted_N`), the text a `message` item with one `output_text` part, the tool call a
//!   `function_call` item (`call_id`, `arguments` as a JSON string).
//! - Stream (`"stream": true`): `event:`/`data:` frames with a `sequence_number` from 0:
//!   `response.created`, `response.in_progress`; per item `response.output_item.added`, its
//!   parts and deltas (`reasoning_summary_part.added`, one `reasoning_summary_text.delta` per
//!   thinking word, `.done`s; `content_part.added`, one `output_text.delta` per text piece,
//!   `output_text.done`, `content_part.done`; `function_call_arguments.delta` in three pieces and
//!   `.done`), `response.output_item.done`; then `response.completed` with the output and usage
//!   (`response.incomplete` with `incomplete_details.reason: max_output_tokens` for
//!   `max_tokens`).
//! - Errors: `{"error":{"message","type","param","code"}}`, as the OpenAI face.

use crate::anthropic::{split_text, to_json, MessageCtx, MessageSpec};
use crate::body::Op;
use crate::face::RequestInfo;
use crate::reply::Body;
use crate::sse::sse_frame;
use bytes::Bytes;
use serde_json::{json, Value};

/// A fixed `created_at`: answers are reproducible.
const CREATED: u64 = 1_700_000_000;

/// What the face renders.
pub(crate) enum Rendered {
    /// A JSON body.
    Json(Bytes),
    /// An SSE stream.
    Stream(Vec<Op>),
}

/// Renders a model-answer or error body for a Responses-face request; `None` for the raw body
/// types, which every face sends as they are.
pub(crate) fn render(body: &Body, status: u16, info: &RequestInfo, id: u64) -> Option<Rendered> {
    let ctx = MessageCtx {
        model: &info.model,
        id,
        input_tokens: info.input_tokens,
    };
    let spec = match MessageSpec::of_message(body) {
        Some(spec) => spec,
        None => match body {
            Body::Error {
                error_type,
                message,
            } => {
                return Some(Rendered::Json(crate::openai::error_json(
                    status,
                    error_type.as_deref(),
                    message,
                )))
            }
            _ => return None,
        },
    };
    Some(if info.stream {
        Rendered::Stream(stream_ops(&spec, &ctx))
    } else {
        Rendered::Json(Bytes::from(to_json(&response(
            &spec,
            &ctx,
            &items(&spec, &ctx),
        ))))
    })
}

fn response_id(ctx: &MessageCtx<'_>) -> String {
    format!("resp_mock_{}", ctx.id)
}

fn output_tokens(spec: &MessageSpec<'_>) -> u64 {
    let words = |s: &str| s.split_whitespace().count() as u64;
    let has = !spec.text.is_empty() || spec.thinking.is_some() || spec.tool_use.is_some();
    let args = spec
        .tool_use
        .map(|t| to_json(&t.input).len() as u64 / 4)
        .unwrap_or(0);
    let estimate = words(spec.text) + spec.thinking.map_or(0, words) + args;
    spec.output_tokens
        .unwrap_or(if has { estimate.max(1) } else { 0 })
}

/// The finished output items.
fn items(spec: &MessageSpec<'_>, ctx: &MessageCtx<'_>) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(t) = spec.thinking {
        out.push(
            json!({"id": format!("rs_mock_{}", ctx.id), "type": "reasoning", "status": "completed",
            "summary": [{"type": "summary_text", "text": t}],
            "encrypted_content": format!("mock_encrypted_{}", ctx.id)}),
        );
    }
    if !spec.text.is_empty() {
        out.push(json!({"id": format!("msg_mock_{}", ctx.id), "type": "message", "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": spec.text}]}));
    }
    if let Some(tool) = spec.tool_use {
        let call_id = if tool.id.is_empty() {
            format!("call_mock_{}", ctx.id)
        } else {
            tool.id.clone()
        };
        out.push(json!({"id": format!("fc_mock_{}", ctx.id), "type": "function_call", "status": "completed",
            "call_id": call_id, "name": tool.name, "arguments": to_json(&tool.input)}));
    }
    out
}

fn response(spec: &MessageSpec<'_>, ctx: &MessageCtx<'_>, output: &[Value]) -> Value {
    let out_tokens = output_tokens(spec);
    let (status, incomplete) = match spec.stop_reason {
        Some("max_tokens") => ("incomplete", json!({"reason": "max_output_tokens"})),
        _ => ("completed", Value::Null),
    };
    json!({
        "id": response_id(ctx), "object": "response", "created_at": CREATED, "status": status,
        "error": null, "incomplete_details": incomplete, "model": ctx.model, "output": output,
        "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
        "usage": {
            "input_tokens": ctx.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": out_tokens,
            "output_tokens_details": {"reasoning_tokens": spec.thinking.map_or(0, |t| t.split_whitespace().count() as u64)},
            "total_tokens": ctx.input_tokens + out_tokens,
        },
    })
}

/// The stream, with the chunk delay between deltas.
pub(crate) fn stream_ops(spec: &MessageSpec<'_>, ctx: &MessageCtx<'_>) -> Vec<Op> {
    let mut s = Script {
        ops: Vec::new(),
        seq: 0,
        delay: spec.chunk_delay_ms,
        deltas: 0,
    };
    let done = items(spec, ctx);
    let mut lifecycle = response(spec, ctx, &[]);
    lifecycle["status"] = json!("in_progress");
    lifecycle["usage"] = Value::Null;
    lifecycle["incomplete_details"] = Value::Null;
    s.event("response.created", json!({"response": lifecycle}));
    s.event("response.in_progress", json!({"response": lifecycle}));
    for (index, item) in done.iter().enumerate() {
        let id = item["id"].as_str().unwrap_or("").to_string();
        let mut added = item.clone();
        added["status"] = json!("in_progress");
        match item["type"].as_str() {
            Some("reasoning") => {
                added["summary"] = json!([]);
                added["encrypted_content"] = Value::Null;
                s.event(
                    "response.output_item.added",
                    json!({"output_index": index, "item": added}),
                );
                let text = item["summary"][0]["text"].as_str().unwrap_or("");
                let part = json!({"item_id": id, "output_index": index, "summary_index": 0});
                s.event(
                    "response.reasoning_summary_part.added",
                    with(&part, "part", json!({"type": "summary_text", "text": ""})),
                );
                for piece in split_text(text, None) {
                    s.delta(
                        "response.reasoning_summary_text.delta",
                        with(&part, "delta", json!(piece)),
                    );
                }
                s.event(
                    "response.reasoning_summary_text.done",
                    with(&part, "text", json!(text)),
                );
                s.event(
                    "response.reasoning_summary_part.done",
                    with(&part, "part", json!({"type": "summary_text", "text": text})),
                );
            }
            Some("message") => {
                added["content"] = json!([]);
                s.event(
                    "response.output_item.added",
                    json!({"output_index": index, "item": added}),
                );
                let part = json!({"item_id": id, "output_index": index, "content_index": 0});
                s.event("response.content_part.added", with(&part, "part", json!({"type": "output_text", "annotations": [], "logprobs": [], "text": ""})));
                let pieces = match spec.pieces {
                    Some(p) => p.to_vec(),
                    None => split_text(spec.text, spec.chunks),
                };
                for piece in pieces {
                    let mut d = with(&part, "delta", json!(piece));
                    d["logprobs"] = json!([]);
                    s.delta("response.output_text.delta", d);
                }
                let mut done_ev = with(&part, "text", json!(spec.text));
                done_ev["logprobs"] = json!([]);
                s.event("response.output_text.done", done_ev);
                s.event(
                    "response.content_part.done",
                    with(&part, "part", item["content"][0].clone()),
                );
            }
            _ => {
                added["arguments"] = json!("");
                s.event(
                    "response.output_item.added",
                    json!({"output_index": index, "item": added}),
                );
                let args = item["arguments"].as_str().unwrap_or("");
                let part = json!({"item_id": id, "output_index": index});
                for piece in split_text(args, Some(3)) {
                    s.delta(
                        "response.function_call_arguments.delta",
                        with(&part, "delta", json!(piece)),
                    );
                }
                s.event(
                    "response.function_call_arguments.done",
                    with(&part, "arguments", json!(args)),
                );
            }
        }
        s.event(
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
        );
    }
    let last = response(spec, ctx, &done);
    let end = if last["status"] == "incomplete" {
        "response.incomplete"
    } else {
        "response.completed"
    };
    s.event(end, json!({"response": last}));
    s.ops
}

fn with(base: &Value, key: &str, value: Value) -> Value {
    let mut v = base.clone();
    v[key] = value;
    v
}

struct Script {
    ops: Vec<Op>,
    seq: u64,
    delay: u64,
    deltas: usize,
}

impl Script {
    fn event(&mut self, ty: &str, fields: Value) {
        let mut data = serde_json::Map::new();
        data.insert("type".into(), json!(ty));
        if let Value::Object(f) = fields {
            data.extend(f);
        }
        data.insert("sequence_number".into(), json!(self.seq));
        self.seq += 1;
        self.ops.push(Op::Send(sse_frame(
            Some(ty),
            &to_json(&Value::Object(data)),
        )));
    }

    fn delta(&mut self, ty: &str, fields: Value) {
        if self.deltas > 0 && self.delay > 0 {
            self.ops.push(Op::Delay(self.delay));
        }
        self.deltas += 1;
        self.event(ty, fields);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::Face;
    use crate::reply::Reply;

    fn info(stream: bool) -> RequestInfo {
        RequestInfo {
            face: Face::OpenAiResponses,
            model: "gpt-mock".into(),
            stream,
            include_usage: false,
            input_tokens: 12,
        }
    }

    fn frames(r: Option<Rendered>) -> Vec<(String, Value)> {
        let Some(Rendered::Stream(ops)) = r else {
            panic!("not a stream")
        };
        ops.into_iter()
            .filter_map(|op| match op {
                Op::Send(b) => Some(String::from_utf8(b.to_vec()).expect("utf8")),
                _ => None,
            })
            .map(|s| {
                let (head, data) = s.split_once("\ndata: ").expect("event and data");
                (
                    head.trim_start_matches("event: ").to_string(),
                    serde_json::from_str(data.trim_end()).expect("json"),
                )
            })
            .collect()
    }

    #[test]
    fn a_stream_has_every_event_in_order() {
        let reply = Reply::text("Hi there")
            .with_thinking("hmm ok")
            .with_tool_use("call_x", "exec_command", json!({"cmd": "ls"}));
        let f = frames(render(&reply.body, 200, &info(true), 4));
        for (i, (name, data)) in f.iter().enumerate() {
            assert_eq!(data["type"], name.as_str());
            assert_eq!(data["sequence_number"], i);
        }
        let names: Vec<&str> = f.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(names.first(), Some(&"response.created"));
        assert_eq!(names.last(), Some(&"response.completed"));
        assert_eq!(
            names
                .iter()
                .filter(|n| **n == "response.output_item.added")
                .count(),
            3
        );
        assert_eq!(
            names
                .iter()
                .filter(|n| **n == "response.output_item.done")
                .count(),
            3
        );
        let text: String = f
            .iter()
            .filter(|e| e.0 == "response.output_text.delta")
            .filter_map(|e| e.1["delta"].as_str())
            .collect();
        assert_eq!(text, "Hi there");
        let args: String = f
            .iter()
            .filter(|e| e.0 == "response.function_call_arguments.delta")
            .filter_map(|e| e.1["delta"].as_str())
            .collect();
        assert_eq!(args, "{\"cmd\":\"ls\"}");
        let done = &f.last().expect("frames").1["response"];
        assert_eq!(done["output"].as_array().map(Vec::len), Some(3));
        assert_eq!(done["output"][2]["call_id"], "call_x");
        assert_eq!(done["usage"]["input_tokens"], 12);
    }

    #[test]
    fn whole_answers_errors_and_limits() {
        let Some(Rendered::Json(b)) = render(&Reply::text("Hello").body, 200, &info(false), 2)
        else {
            panic!("json")
        };
        let v: Value = serde_json::from_slice(&b).expect("json");
        assert_eq!(v["object"], "response");
        assert_eq!(v["output"][0]["content"][0]["text"], "Hello");
        let r = Reply::text("cut").with_stop_reason("max_tokens");
        let f = frames(render(&r.body, 200, &info(true), 1));
        assert_eq!(f.last().expect("frames").0, "response.incomplete");
        let Some(Rendered::Json(b)) = render(&Reply::error(429, "slow").body, 429, &info(true), 1)
        else {
            panic!("json")
        };
        let v: Value = serde_json::from_slice(&b).expect("json");
        assert_eq!(v["error"]["message"], "slow");
        let Some(Rendered::Json(b)) = render(&Body::EmptyMessage, 200, &info(false), 1) else {
            panic!("json")
        };
        let v: Value = serde_json::from_slice(&b).expect("json");
        assert_eq!(
            (
                v["output"].as_array().map(Vec::len),
                &v["usage"]["output_tokens"]
            ),
            (Some(0), &json!(0))
        );
    }
}
