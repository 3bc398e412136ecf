//! A conformance checker for Responses SSE streams: what the official OpenAI SDK's stream
//! accumulator refuses (an event before `response.created`, a response id that changes, a
//! duplicate output index, a content event for an item never added, a completed response
//! with unfinished items) and what Codex CLI needs (a stream that ends in
//! `response.completed`, or it reconnects and finally fails), plus the stricter shape every
//! Switchyard stream promises (sequence numbers 0, 1, 2...; one item open at a time; done
//! texts and arguments equal to their deltas).

use serde_json::Value;

use crate::protocol::sse;

/// The item being streamed.
struct Item {
    index: u64,
    id: String,
    ty: String,
    call_id: Option<String>,
    /// Accumulated deltas: text, arguments, custom input or summary text.
    acc: String,
    /// A content (or summary) part was added.
    part: bool,
}

#[derive(Default)]
struct Checker {
    id: Option<String>,
    seq: u64,
    added: u64,
    open: Option<Item>,
    done_ids: Vec<String>,
    ended: bool,
    error_pending: bool,
}

/// Check a complete Responses SSE stream. `Ok` when: every frame has `event:` and `data:`, the
/// data is JSON whose `type` equals the event name and whose `sequence_number` counts from 0
/// without gaps; `response.created` comes first and the response id never changes; output
/// indexes run 0, 1, 2... and one item is open at a time; every content event names the open
/// item (`output_index` and `item_id`) and fits its type; done texts, arguments and summaries
/// equal their deltas and `output_item.done` keeps the item's id, type and call id; the stream
/// ends with `response.completed` (every item done, the output listing them, usage given),
/// `response.incomplete` or `response.failed` (an `error` event only right before it), and
/// nothing follows.
pub fn check_responses_stream(bytes: &[u8]) -> Result<(), String> {
    let mut c = Checker::default();
    for (n, raw) in sse::frames(bytes).enumerate() {
        let f = sse::parse_frame(raw);
        if f.is_empty() {
            continue;
        }
        let text = String::from_utf8_lossy(raw);
        let at = |msg: &str| format!("frame {n} ({text:?}): {msg}");
        let event = f.event.ok_or_else(|| at("no `event:` line"))?;
        let data: Value =
            serde_json::from_str(&f.data).map_err(|e| at(&format!("data is not JSON: {e}")))?;
        if data["type"] != event {
            return Err(at("the data's `type` differs from the event name"));
        }
        c.event(event, &data).map_err(|e| at(&e))?;
    }
    if !c.ended {
        return Err(
            "the stream does not end with response.completed, .incomplete or .failed".into(),
        );
    }
    Ok(())
}

fn is_u64(v: &Value) -> bool {
    v.as_u64().is_some()
}

impl Checker {
    fn event(&mut self, event: &str, d: &Value) -> Result<(), String> {
        if self.ended {
            return Err("an event after the response ended".into());
        }
        if d["sequence_number"].as_u64() != Some(self.seq) {
            return Err(format!(
                "sequence_number {}, expected {}",
                d["sequence_number"], self.seq
            ));
        }
        self.seq += 1;
        if self.id.is_none() && event != "response.created" {
            return Err("an event before response.created".into());
        }
        if self.error_pending && event != "response.failed" {
            return Err("an error event not followed by response.failed".into());
        }
        match event {
            "response.created" | "response.in_progress" => {
                let id = self.lifecycle(d)?;
                if event == "response.created" && self.id.replace(id).is_some() {
                    return Err("a second response.created".into());
                }
            }
            "response.output_item.added" => {
                if self.open.is_some() {
                    return Err("an item is added while another is open".into());
                }
                let index = d["output_index"].as_u64().ok_or("no output_index")?;
                if index != self.added {
                    return Err(format!("output_index {index}, expected {}", self.added));
                }
                self.added += 1;
                let item = &d["item"];
                let ty = item["type"]
                    .as_str()
                    .ok_or("item without type")?
                    .to_string();
                let id = item["id"].as_str().ok_or("item without id")?.to_string();
                if matches!(
                    ty.as_str(),
                    "function_call" | "custom_tool_call" | "tool_search_call"
                ) && item["call_id"].as_str().is_none_or(str::is_empty)
                {
                    return Err(format!("{ty} without call_id"));
                }
                if ty == "function_call" && item["name"].as_str().is_none_or(str::is_empty) {
                    return Err("function_call without name".into());
                }
                self.open = Some(Item {
                    index,
                    id,
                    call_id: item["call_id"].as_str().map(String::from),
                    ty,
                    acc: String::new(),
                    part: false,
                });
            }
            "response.output_item.done" => self.item_done(d)?,
            "response.completed" | "response.incomplete" => {
                if let Some(o) = &self.open {
                    return Err(format!("{event} while item {} is open", o.id));
                }
                let id = self.lifecycle(d)?;
                let r = &d["response"];
                let want = if event == "response.completed" {
                    "completed"
                } else {
                    "incomplete"
                };
                if r["status"] != want {
                    return Err(format!("{event} with status {}", r["status"]));
                }
                if event == "response.incomplete" && !r["incomplete_details"]["reason"].is_string()
                {
                    return Err("response.incomplete without incomplete_details.reason".into());
                }
                let ids: Vec<&str> = r["output"]
                    .as_array()
                    .ok_or("no output list")?
                    .iter()
                    .filter_map(|i| i["id"].as_str())
                    .collect();
                if ids != self.done_ids.iter().map(String::as_str).collect::<Vec<_>>() {
                    return Err(format!(
                        "output {ids:?} differs from the items done {:?}",
                        self.done_ids
                    ));
                }
                let u = &r["usage"];
                if !(is_u64(&u["input_tokens"])
                    && is_u64(&u["output_tokens"])
                    && is_u64(&u["total_tokens"]))
                {
                    return Err(format!("{event} without usage"));
                }
                let _ = id;
                self.ended = true;
            }
            "response.failed" => {
                if let Some(o) = &self.open {
                    return Err(format!("response.failed while item {} is open", o.id));
                }
                self.lifecycle(d)?;
                let e = &d["response"]["error"];
                if !e["code"].is_string() || !e["message"].is_string() {
                    return Err("response.failed without error.code and error.message".into());
                }
                if d["response"]["status"] != "failed" {
                    return Err("response.failed with another status".into());
                }
                self.ended = true;
                self.error_pending = false;
            }
            "error" => {
                if !d["message"].is_string() {
                    return Err("an error event without message".into());
                }
                self.error_pending = true;
            }
            other => self.content(other, d)?,
        }
        Ok(())
    }

    /// A lifecycle event's response id (the same throughout).
    fn lifecycle(&self, d: &Value) -> Result<String, String> {
        let r = &d["response"];
        let id = r["id"].as_str().ok_or("response without id")?.to_string();
        if r["object"] != "response" || !r["model"].is_string() || !r["output"].is_array() {
            return Err("response without object/model/output".into());
        }
        match &self.id {
            Some(known) if *known != id => Err(format!("response id changed: {known} -> {id}")),
            _ => Ok(id),
        }
    }

    fn item_done(&mut self, d: &Value) -> Result<(), String> {
        let Some(open) = self.open.take() else {
            return Err("output_item.done with no open item".into());
        };
        let item = &d["item"];
        if d["output_index"].as_u64() != Some(open.index)
            || item["id"].as_str() != Some(&open.id)
            || item["type"].as_str() != Some(&open.ty)
            || item["call_id"].as_str() != open.call_id.as_deref()
        {
            return Err(format!("output_item.done changes the item: {item}"));
        }
        let want = |v: &Value, what: &str| -> Result<(), String> {
            if open.acc.is_empty() && !open.part {
                return Ok(());
            }
            match v.as_str() {
                Some(s) if s == open.acc => Ok(()),
                _ => Err(format!(
                    "the done item's {what} {v} differs from its deltas {:?}",
                    open.acc
                )),
            }
        };
        match open.ty.as_str() {
            "message" if open.part => want(&item["content"][0]["text"], "text")?,
            "function_call" => {
                want(&item["arguments"], "arguments")?;
                let args = item["arguments"]
                    .as_str()
                    .ok_or("function_call without arguments")?;
                let whole = item["status"] != "incomplete";
                if whole
                    && !args.is_empty()
                    && !serde_json::from_str::<Value>(args).is_ok_and(|v| v.is_object())
                {
                    return Err(format!(
                        "function_call arguments {args:?} are not a JSON object"
                    ));
                }
            }
            "custom_tool_call" => want(&item["input"], "input")?,
            "reasoning" if open.part => want(&item["summary"][0]["text"], "summary")?,
            _ => {}
        }
        self.done_ids.push(open.id);
        Ok(())
    }

    /// A content event of the open item.
    fn content(&mut self, event: &str, d: &Value) -> Result<(), String> {
        let Some(open) = self.open.as_mut() else {
            return Err(format!("{event} with no open item"));
        };
        if d["output_index"].as_u64() != Some(open.index) || d["item_id"].as_str() != Some(&open.id)
        {
            return Err(format!("{event} for an item that is not open"));
        }
        let text = |k: &str| d[k].as_str().ok_or(format!("{event} without {k}"));
        match (event, open.ty.as_str()) {
            ("response.content_part.added", "message") => {
                if open.part || d["content_index"] != 0 || d["part"]["type"] != "output_text" {
                    return Err("a second or odd content part".into());
                }
                open.part = true;
            }
            ("response.output_text.delta", "message") => {
                if !open.part {
                    return Err("output_text.delta before content_part.added".into());
                }
                open.acc.push_str(text("delta")?);
            }
            ("response.output_text.done", "message") => {
                if text("text")? != open.acc {
                    return Err("output_text.done differs from its deltas".into());
                }
            }
            ("response.content_part.done", "message") => {
                if d["part"]["text"].as_str() != Some(&open.acc) {
                    return Err("content_part.done differs from its deltas".into());
                }
            }
            ("response.function_call_arguments.delta", "function_call") => {
                open.acc.push_str(text("delta")?)
            }
            ("response.function_call_arguments.done", "function_call") => {
                let args = text("arguments")?;
                if !open.acc.is_empty() && args != open.acc {
                    return Err("function_call_arguments.done differs from its deltas".into());
                }
                open.acc = args.to_string();
            }
            ("response.custom_tool_call_input.delta", "custom_tool_call") => {
                open.acc.push_str(text("delta")?)
            }
            ("response.custom_tool_call_input.done", "custom_tool_call") => {
                if text("input")? != open.acc {
                    return Err("custom_tool_call_input.done differs from its deltas".into());
                }
                open.part = true;
            }
            ("response.reasoning_summary_part.added", "reasoning") => {
                if open.part || d["summary_index"] != 0 {
                    return Err("a second or odd summary part".into());
                }
                open.part = true;
            }
            ("response.reasoning_summary_text.delta", "reasoning") => {
                if !open.part {
                    return Err("reasoning_summary_text.delta before its part".into());
                }
                open.acc.push_str(text("delta")?);
            }
            ("response.reasoning_summary_text.done", "reasoning")
            | ("response.reasoning_summary_part.done", "reasoning") => {
                let got = d["text"].as_str().or_else(|| d["part"]["text"].as_str());
                if got != Some(&open.acc) {
                    return Err(format!("{event} differs from its deltas"));
                }
            }
            (e, ty) => return Err(format!("{e} does not belong to a {ty} item")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn frame(v: Value) -> String {
        format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap_or(""))
    }

    fn resp(status: &str, output: Value) -> Value {
        json!({"id": "resp_1", "object": "response", "model": "m", "status": status, "output": output,
               "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}})
    }

    fn good() -> Vec<Value> {
        let item = json!({"id": "fc_1", "type": "function_call", "call_id": "c1", "name": "f", "arguments": ""});
        let done = json!({"id": "fc_1", "type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"a\":1}"});
        vec![
            json!({"type": "response.created", "response": resp("in_progress", json!([]))}),
            json!({"type": "response.output_item.added", "output_index": 0, "item": item}),
            json!({"type": "response.function_call_arguments.delta", "output_index": 0, "item_id": "fc_1", "delta": "{\"a\":"}),
            json!({"type": "response.function_call_arguments.delta", "output_index": 0, "item_id": "fc_1", "delta": "1}"}),
            json!({"type": "response.function_call_arguments.done", "output_index": 0, "item_id": "fc_1", "arguments": "{\"a\":1}"}),
            json!({"type": "response.output_item.done", "output_index": 0, "item": done.clone()}),
            json!({"type": "response.completed", "response": resp("completed", json!([done]))}),
        ]
    }

    fn stream(events: &[Value]) -> String {
        events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut e = e.clone();
                e["sequence_number"] = json!(i);
                frame(e)
            })
            .collect()
    }

    #[test]
    fn accepts_a_good_stream_and_rejects_each_breakage() {
        assert_eq!(check_responses_stream(stream(&good()).as_bytes()), Ok(()));
        let mut broken: Vec<(&str, Vec<Value>)> = vec![
            ("no end", good()[..6].to_vec()),
            ("no created", good()[1..].to_vec()),
            ("item never done", {
                let mut g = good();
                g.remove(5);
                g
            }),
            ("args differ", {
                let mut g = good();
                g.remove(3);
                g
            }),
        ];
        let mut changed_id = good();
        changed_id[6]["response"]["id"] = json!("resp_2");
        broken.push(("id changes", changed_id));
        let mut dup = good();
        dup[1]["output_index"] = json!(1);
        broken.push(("index gap", dup));
        for (what, events) in broken {
            assert!(
                check_responses_stream(stream(&events).as_bytes()).is_err(),
                "{what}"
            );
        }
        let mut gap = stream(&good());
        gap = gap.replace("\"sequence_number\":3", "\"sequence_number\":9");
        assert!(
            check_responses_stream(gap.as_bytes()).is_err(),
            "sequence gap"
        );
    }
}
