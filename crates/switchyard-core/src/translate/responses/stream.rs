//! Responses SSE events (an `openai-responses` provider's stream) -> Anthropic SSE, through a
//! [`StreamWriter`].
//!
//! Items arrive one after another, each `response.output_item.added` ... `.done`: reasoning
//! becomes a thinking block (summary or reasoning text deltas; the item's `encrypted_content`
//! as its signature, stamped `sy1.<provider>.`), message text a text block, a function call a
//! tool_use block whose argument fragments pass through a JSON-prefix check (what the SDKs
//! accumulate is always a JSON object prefix, and whole when the block stops). A call whose
//! item opens while another call streams waits for it. `response.completed` and
//! `response.incomplete` end the message with the usage; `response.failed` and `error` end it
//! with an error event; a stream that stops before any of these ends with an error too.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::response::{
    client_tool_name, error_kind, map_usage, parse_arguments, reasoning_text, stop_reason,
};
use super::signature_for;
use crate::protocol::anthropic::ErrorType;
use crate::translate::gemini::SIGNATURE_ONLY_THINKING;
use crate::translate::history::sanitize_tool_id;
use crate::translate::openai::json_prefix::JsonPrefix;
use crate::translate::writer::{BlockKind, StreamWriter};

/// A call's arguments on their way out: passed on while they stay a JSON object prefix, and
/// completed into a whole object at the end (what a client accumulates is always valid).
#[derive(Default)]
pub(crate) struct Args {
    prefix: JsonPrefix,
    broken: bool,
    all: String,
}

impl Args {
    /// Takes a fragment; returns what may be passed on now.
    pub(crate) fn push(&mut self, frag: &str) -> String {
        self.all.push_str(frag);
        if self.broken {
            return String::new();
        }
        let mut out = String::new();
        for c in frag.chars() {
            if !self.prefix.started() && c.is_whitespace() {
                continue;
            }
            if !self.prefix.push(c) {
                self.broken = true;
                break;
            }
            out.push(c);
        }
        out
    }

    /// What closes the block's JSON.
    pub(crate) fn finish(&self) -> String {
        if self.prefix.started() {
            self.prefix.completion()
        } else {
            let v = parse_arguments(&self.all);
            if v.as_object().is_some_and(serde_json::Map::is_empty) {
                String::new()
            } else {
                v.to_string()
            }
        }
    }
}

/// An output item as far as it came.
enum Item {
    Reasoning {
        text: bool,
    },
    Message {
        text: bool,
    },
    Call {
        id: String,
        name: String,
        args: Args,
        open: bool,
        custom: bool,
        seen: bool,
    },
    Other,
}

/// The state of one translated stream.
pub struct StreamState {
    sig: String,
    names: Vec<(String, String)>,
    items: HashMap<String, Item>,
    /// The item whose block is open in the writer.
    current: Option<String>,
    /// Calls waiting for the streaming one, in order.
    waiting: Vec<String>,
    saw_tool: bool,
    finished: bool,
}

impl StreamState {
    /// A stream from `provider_id` whose tools were renamed as `tool_names` says
    /// ((upstream name, client name)).
    pub fn new(provider_id: &str, tool_names: &[(String, String)]) -> Self {
        StreamState {
            sig: signature_for(provider_id),
            names: tool_names.to_vec(),
            items: HashMap::new(),
            current: None,
            waiting: Vec::new(),
            saw_tool: false,
            finished: false,
        }
    }

    /// One SSE frame's data.
    pub fn feed(&mut self, data: &str, w: &mut StreamWriter) {
        if self.finished || w.is_done() {
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return;
        };
        let id = || v["item_id"].as_str().unwrap_or("").to_string();
        match v["type"].as_str().unwrap_or("") {
            "response.created" | "response.in_progress" => w.start(Default::default()),
            "response.output_item.added" => self.added(&v["item"], w),
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                self.reasoning(&id(), v["delta"].as_str().unwrap_or(""), w)
            }
            "response.reasoning_summary_part.added"
                if v["summary_index"].as_u64().unwrap_or(0) > 0 =>
            {
                self.reasoning(&id(), "\n\n", w)
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                self.text(&id(), v["delta"].as_str().unwrap_or(""), w)
            }
            "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => {
                self.args(&id(), v["delta"].as_str().unwrap_or(""), w)
            }
            "response.output_item.done" => self.done(&v["item"], w),
            "response.completed" | "response.incomplete" => {
                let r = &v["response"];
                self.flush(w);
                w.finish(stop_reason(r, self.saw_tool), None, map_usage(&r["usage"]));
                self.finished = true;
            }
            "response.failed" => {
                let e = &v["response"]["error"];
                self.fail(
                    error_kind(e["code"].as_str()),
                    e["message"].as_str().unwrap_or("the response failed"),
                    w,
                );
            }
            "error" => self.fail(
                error_kind(v["code"].as_str()),
                v["message"]
                    .as_str()
                    .unwrap_or("the provider reported an error"),
                w,
            ),
            _ => {}
        }
    }

    /// The stream ended; `clean` when it closed normally.
    pub fn end(&mut self, clean: bool, w: &mut StreamWriter) {
        if self.finished || w.is_done() {
            return;
        }
        let message = if clean {
            "the vendor closed the stream before it finished"
        } else {
            "the vendor's stream broke off"
        };
        self.fail(ErrorType::Overloaded, message, w);
    }

    fn fail(&mut self, kind: ErrorType, message: &str, w: &mut StreamWriter) {
        self.flush(w);
        w.error(kind, message);
        self.finished = true;
    }

    /// Make `id` the item whose block is open (closing another's first).
    fn switch_to(&mut self, id: &str, w: &mut StreamWriter) {
        if self.current.as_deref() != Some(id) {
            self.close_current(w);
            self.current = Some(id.to_string());
        }
    }

    fn close_current(&mut self, w: &mut StreamWriter) {
        let Some(cur) = self.current.take() else {
            return;
        };
        if let Some(Item::Call { args, .. }) = self.items.get_mut(&cur) {
            w.tool_args(&args.finish());
        }
        w.close_block();
    }

    fn added(&mut self, item: &Value, w: &mut StreamWriter) {
        let id = item["id"].as_str().unwrap_or("").to_string();
        let state = match item["type"].as_str() {
            Some("reasoning") => Item::Reasoning { text: false },
            Some("message") => Item::Message { text: false },
            Some(t @ ("function_call" | "custom_tool_call")) => Item::Call {
                id: sanitize_tool_id(item["call_id"].as_str().unwrap_or(&id)),
                name: client_tool_name(&self.names, item["name"].as_str().unwrap_or("")),
                args: Args::default(),
                open: false,
                custom: t == "custom_tool_call",
                seen: false,
            },
            _ => Item::Other,
        };
        let is_call = matches!(state, Item::Call { .. });
        self.items.insert(id.clone(), state);
        if is_call {
            self.waiting.push(id);
            self.pump(w);
        }
    }

    /// Open the next waiting call when no call streams.
    fn pump(&mut self, w: &mut StreamWriter) {
        let streaming = self
            .current
            .as_ref()
            .is_some_and(|c| matches!(self.items.get(c), Some(Item::Call { .. })));
        if streaming || self.waiting.is_empty() {
            return;
        }
        let next = self.waiting.remove(0);
        self.switch_to(&next, w);
        if let Some(Item::Call {
            id,
            name,
            args,
            open,
            custom,
            ..
        }) = self.items.get_mut(&next)
        {
            w.tool_start(id, name);
            *open = true;
            self.saw_tool = true;
            if !*custom && !args.all.is_empty() {
                let pending = std::mem::take(&mut args.all);
                w.tool_args(&args.push(&pending));
            }
        }
    }

    fn reasoning(&mut self, id: &str, delta: &str, w: &mut StreamWriter) {
        if delta.is_empty() {
            return;
        }
        if let Some(Item::Reasoning { text }) = self.items.get_mut(id) {
            *text = true;
        }
        self.switch_to(id, w);
        w.thinking(delta);
    }

    fn text(&mut self, id: &str, delta: &str, w: &mut StreamWriter) {
        if delta.is_empty() {
            return;
        }
        if let Some(Item::Message { text }) = self.items.get_mut(id) {
            *text = true;
        }
        self.switch_to(id, w);
        w.text(delta);
    }

    fn args(&mut self, id: &str, delta: &str, w: &mut StreamWriter) {
        let live = self.current.as_deref() == Some(id);
        let Some(Item::Call {
            args,
            open,
            custom,
            seen,
            ..
        }) = self.items.get_mut(id)
        else {
            return;
        };
        *seen = true;
        if *custom {
            // A freeform input is one string: passed on whole when the item is done.
            args.all.push_str(delta);
        } else if live && *open {
            w.tool_args(&args.push(delta));
        } else {
            args.all.push_str(delta);
        }
    }

    fn done(&mut self, item: &Value, w: &mut StreamWriter) {
        let id = item["id"].as_str().unwrap_or("").to_string();
        match self.items.get(&id) {
            None => {
                // Done without added: treat it as both.
                self.added(item, w);
                if self.items.contains_key(&id) {
                    self.done(item, w);
                }
            }
            Some(Item::Reasoning { text }) => {
                let had_text = *text;
                self.switch_to(&id, w);
                if !had_text {
                    let t = reasoning_text(item);
                    w.thinking(if t.is_empty() {
                        SIGNATURE_ONLY_THINKING
                    } else {
                        &t
                    });
                }
                let enc = item["encrypted_content"].as_str().unwrap_or("");
                if !enc.is_empty() && w.open_block() == Some(BlockKind::Thinking) {
                    w.signature(&format!("{}{enc}", self.sig));
                }
                self.close_current(w);
            }
            Some(Item::Message { text }) => {
                if !*text {
                    for part in item["content"].as_array().into_iter().flatten() {
                        let t = part["text"]
                            .as_str()
                            .or_else(|| part["refusal"].as_str())
                            .unwrap_or("");
                        self.text(&id, t, w);
                    }
                }
                if self.current.as_deref() == Some(&id) {
                    self.close_current(w);
                }
            }
            Some(Item::Call { .. }) => {
                // Finish this call (it may still be waiting behind another).
                while self.waiting.contains(&id) && self.current.as_deref() != Some(&id) {
                    if self.current.is_some()
                        && matches!(
                            self.items.get(self.current.as_deref().unwrap_or("")),
                            Some(Item::Call { .. })
                        )
                    {
                        self.close_current(w);
                    }
                    self.pump(w);
                }
                if let Some(Item::Call {
                    args, custom, seen, ..
                }) = self.items.get_mut(&id)
                {
                    if *custom {
                        let input = if *seen {
                            std::mem::take(&mut args.all)
                        } else {
                            item["input"].as_str().unwrap_or("").to_string()
                        };
                        args.all.clear();
                        w.tool_args(&json!({ "input": input }).to_string());
                        // The input is complete: nothing more to close.
                        args.prefix = JsonPrefix::new();
                    } else if !*seen {
                        let whole = item["arguments"].as_str().unwrap_or("");
                        w.tool_args(&args.push(whole));
                    }
                }
                if self.current.as_deref() == Some(&id) {
                    self.close_current(w);
                }
                self.pump(w);
            }
            Some(Item::Other) => {}
        }
    }

    /// Close what is open and give every waiting call its block.
    fn flush(&mut self, w: &mut StreamWriter) {
        loop {
            self.close_current(w);
            if self.waiting.is_empty() {
                break;
            }
            self.pump(w);
        }
        if w.open_block() == Some(BlockKind::Thinking) {
            w.close_block();
        }
    }
}
