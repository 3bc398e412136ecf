//! Chat Completions stream chunks -> Anthropic SSE events (PROTOCOL.md §3, "Stream
//! translation").
//!
//! [`StreamState`] decides what to write; the [`StreamWriter`] keeps the SSE invariants. Tool
//! calls: a call's block opens once its id and name are known; one call streams live at a
//! time, the others buffer (parallel calls interleave by index upstream) and each gets its own
//! block when the live one is done (its JSON object closed) or at the finish. Arguments pass
//! through a [`JsonPrefix`] so the accumulated `input_json_delta`s are always a JSON object
//! prefix, completed when the block closes.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use super::json_prefix::JsonPrefix;
use super::response::{content_text, error_text, generated_tool_id, reasoning_text};
use super::{
    client_tool_name, map_finish, map_usage, nonce, parse_arguments, sanitize_tool_id,
    signature_for,
};
use crate::protocol::anthropic::ErrorType;
use crate::translate::writer::{BlockKind, StreamWriter, Usage};

/// The common stream chunk, borrowed from the frame: an id and choices whose delta holds at
/// most a plain-text `content`. Anything else a chunk may carry (an error, usage, tool calls,
/// reasoning, a refusal, content parts) makes [`TextChunk::is_plain_text`] false or the parse
/// fail, and the chunk takes the general `Value` path.
#[derive(Deserialize)]
struct TextChunk<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    choices: Vec<TextChoice<'a>>,
    #[serde(default)]
    error: Option<IgnoredAny>,
    #[serde(default)]
    usage: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct TextChoice<'a> {
    #[serde(default)]
    index: Option<u64>,
    #[serde(borrow, default)]
    delta: Option<TextDelta<'a>>,
    #[serde(borrow, default)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct TextDelta<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
    #[serde(default)]
    tool_calls: Option<IgnoredAny>,
    #[serde(default)]
    reasoning_content: Option<IgnoredAny>,
    #[serde(default)]
    reasoning: Option<IgnoredAny>,
    #[serde(default)]
    refusal: Option<IgnoredAny>,
}

impl TextChunk<'_> {
    /// Nothing but text (and a finish reason): the fast path gives the same events.
    fn is_plain_text(&self) -> bool {
        self.error.is_none()
            && self.usage.is_none()
            && self.choices.iter().all(|c| {
                c.delta.as_ref().is_none_or(|d| {
                    d.tool_calls.is_none()
                        && d.reasoning_content.is_none()
                        && d.reasoning.is_none()
                        && d.refusal.is_none()
                })
            })
    }
}

/// One tool call's arguments on their way out.
#[derive(Debug, Default)]
struct ArgStream {
    prefix: JsonPrefix,
    /// The upstream's text stopped being a JSON object prefix: the rest is held back.
    broken: bool,
    /// Everything received, for a one-shot parse when nothing could stream.
    all: String,
}

impl ArgStream {
    /// Takes a fragment; returns what may be passed on now.
    fn push(&mut self, frag: &str) -> String {
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

    /// The top-level object is closed: the call is complete.
    fn complete(&self) -> bool {
        self.prefix.is_complete()
    }

    /// What closes the block's JSON: the completion of what was passed on, or (when nothing
    /// could be passed on) the whole input parsed leniently.
    fn finish(&self) -> String {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Live,
    Closed,
}

#[derive(Debug)]
struct ToolCall {
    index: u64,
    id: String,
    name: String,
    /// Arguments received while not live.
    pending: String,
    args: ArgStream,
    phase: Phase,
}

/// The stream translation state machine. Feed it each upstream SSE frame's `data`, then call
/// [`end`](Self::end) once the upstream is done. Create the writer with
/// [`signature_for`]`(provider_id)` as its unsigned signature.
#[derive(Debug)]
pub struct StreamState {
    sig: String,
    names: Vec<(String, String)>,
    tools: Vec<ToolCall>,
    live: Option<usize>,
    finish: Option<&'static str>,
    usage: Option<Usage>,
    seed: Option<String>,
    content: bool,
}

impl StreamState {
    /// A new stream for `provider_id`. `tool_names` is
    /// [`Translated::tool_names`](super::Translated::tool_names) (upstream -> client names).
    pub fn new(provider_id: &str, tool_names: &[(String, String)]) -> Self {
        StreamState {
            sig: signature_for(provider_id),
            names: tool_names.to_vec(),
            tools: Vec::new(),
            live: None,
            finish: None,
            usage: None,
            seed: None,
            content: false,
        }
    }

    /// Did the upstream produce any content (text, reasoning or a tool call)? A stream that
    /// ends without any is an empty answer (PROTOCOL.md §7 case 20).
    pub fn produced_content(&self) -> bool {
        self.content
    }

    /// One upstream SSE frame's `data` (`[DONE]` included).
    pub fn feed(&mut self, data: &str, w: &mut StreamWriter) {
        if w.is_done() {
            return;
        }
        let data = data.trim();
        if data.is_empty() {
            return;
        }
        if data == "[DONE]" {
            self.complete(w);
            return;
        }
        // Most chunks carry only a piece of text: read those into borrowed typed structs, not
        // a serde_json::Value tree (which allocated a map and strings per chunk).
        if let Ok(chunk) = serde_json::from_str::<TextChunk<'_>>(data) {
            if chunk.is_plain_text() {
                self.feed_text_chunk(chunk, w);
                return;
            }
        }
        let chunk: Value = match serde_json::from_str(data) {
            Ok(v) => v,
            Err(e) if data.starts_with(['{', '[']) => {
                self.close_live(w);
                w.error(
                    ErrorType::Api,
                    &format!("the upstream sent a malformed stream chunk: {e}"),
                );
                return;
            }
            // Keep-alives and other non-JSON lines.
            Err(_) => return,
        };
        if let Some(e) = chunk.get("error").filter(|e| !e.is_null()) {
            let msg = error_text(e).unwrap_or_else(|| e.to_string());
            self.close_live(w);
            w.error(stream_error_kind(e), &msg);
            return;
        }
        if !chunk.is_object() {
            return;
        }
        if self.seed.is_none() {
            self.seed = chunk.get("id").and_then(Value::as_str).map(str::to_string);
        }
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(map_usage(u));
        }
        w.start(self.usage.unwrap_or_default());
        for choice in chunk["choices"].as_array().into_iter().flatten() {
            if choice["index"].as_u64().unwrap_or(0) != 0 || self.finish.is_some() {
                continue;
            }
            self.delta(&choice["delta"], w);
            if !self.finish_choice(choice["finish_reason"].as_str(), w) {
                return;
            }
        }
        if self.finish.is_some() && self.usage.is_some() {
            self.complete(w);
        }
    }

    /// [`feed`](Self::feed) for a chunk that [`TextChunk::is_plain_text`]: the same steps as
    /// the general path, without the `Value` tree.
    fn feed_text_chunk(&mut self, chunk: TextChunk<'_>, w: &mut StreamWriter) {
        if self.seed.is_none() {
            self.seed = chunk.id.map(|id| id.into_owned());
        }
        w.start(self.usage.unwrap_or_default());
        for choice in &chunk.choices {
            if choice.index.unwrap_or(0) != 0 || self.finish.is_some() {
                continue;
            }
            let text = choice
                .delta
                .as_ref()
                .and_then(|d| d.content.as_deref())
                .unwrap_or("");
            self.text(text, w);
            self.pump(w);
            if !self.finish_choice(choice.finish_reason.as_deref(), w) {
                return;
            }
        }
        if self.finish.is_some() && self.usage.is_some() {
            self.complete(w);
        }
    }

    /// A choice's `finish_reason`: closes the answer's blocks. `false` when the upstream
    /// reported an error (an `error` event was written; stop reading the chunk).
    fn finish_choice(&mut self, reason: Option<&str>, w: &mut StreamWriter) -> bool {
        let Some(reason) = reason.filter(|r| !r.is_empty()) else {
            return true;
        };
        if reason == "error" {
            self.close_live(w);
            w.error(ErrorType::Api, "the upstream reported an error mid-answer");
            return false;
        }
        self.finish = Some(map_finish(reason));
        self.flush_tools(w);
        self.sign(w);
        w.close_block();
        true
    }

    /// Answer text from a delta.
    fn text(&mut self, text: &str, w: &mut StreamWriter) {
        if !text.is_empty() {
            self.close_live(w);
            self.sign(w);
            self.content = true;
            w.text(text);
        }
    }

    /// The upstream ended. `clean`: after `[DONE]` or a normal close; otherwise it was cut off.
    /// A cut answer without its finish ends with an `error` event (the client must know).
    pub fn end(&mut self, clean: bool, w: &mut StreamWriter) {
        if w.is_done() {
            return;
        }
        if clean || self.finish.is_some() {
            self.complete(w);
        } else {
            self.close_live(w);
            w.error(
                ErrorType::Overloaded,
                "the upstream stream ended before the answer was complete",
            );
        }
    }

    fn delta(&mut self, d: &Value, w: &mut StreamWriter) {
        if let Some(r) = reasoning_text(d) {
            self.close_live(w);
            self.content = true;
            w.thinking(&r);
        }
        let mut text = content_text(&d["content"]);
        if let Some(r) = d["refusal"].as_str() {
            text.push_str(r);
        }
        self.text(&text, w);
        for call in d["tool_calls"].as_array().into_iter().flatten() {
            self.tool_delta(call);
        }
        self.pump(w);
    }

    fn tool_delta(&mut self, call: &Value) {
        let index = call["index"]
            .as_u64()
            .unwrap_or_else(|| self.tools.last().map_or(0, |t| t.index));
        let new_id = call["id"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(sanitize_tool_id);
        // Some servers send every call on index 0: a different id there is a new call.
        let found = self.tools.iter().rposition(|t| {
            t.index == index && (t.id.is_empty() || new_id.as_ref().is_none_or(|id| *id == t.id))
        });
        let pos = match found {
            Some(p) => p,
            None => {
                self.tools.push(ToolCall {
                    index,
                    id: String::new(),
                    name: String::new(),
                    pending: String::new(),
                    args: ArgStream::default(),
                    phase: Phase::Waiting,
                });
                self.tools.len() - 1
            }
        };
        let t = &mut self.tools[pos];
        if t.phase == Phase::Closed {
            return;
        }
        if let Some(id) = new_id {
            if t.id.is_empty() {
                t.id = id;
            }
        }
        let f = &call["function"];
        if let Some(name) = f["name"].as_str().filter(|s| !s.is_empty()) {
            if t.name.is_empty() {
                t.name = client_tool_name(&self.names, name);
            }
        }
        if let Some(args) = f["arguments"].as_str() {
            t.pending.push_str(args);
        }
    }

    /// Streams the live call's arguments; when it completes, moves on to the next call
    /// whose id and name are known.
    fn pump(&mut self, w: &mut StreamWriter) {
        loop {
            if let Some(i) = self.live {
                let t = &mut self.tools[i];
                let pending = std::mem::take(&mut t.pending);
                w.tool_args(&t.args.push(&pending));
                if !t.args.complete() {
                    return;
                }
                self.close_live(w);
            }
            let mut order: Vec<usize> = (0..self.tools.len())
                .filter(|&i| {
                    let t = &self.tools[i];
                    t.phase == Phase::Waiting && !t.id.is_empty() && !t.name.is_empty()
                })
                .collect();
            order.sort_by_key(|&i| self.tools[i].index);
            let Some(&next) = order.first() else { return };
            self.open(next, w);
        }
    }

    fn open(&mut self, i: usize, w: &mut StreamWriter) {
        self.sign(w);
        let t = &mut self.tools[i];
        if t.id.is_empty() {
            let seed = self.seed.get_or_insert_with(nonce);
            t.id = generated_tool_id(seed, t.index);
        }
        if t.name.is_empty() {
            t.name = "unknown".to_string();
        }
        w.tool_start(&t.id, &t.name);
        t.phase = Phase::Live;
        self.content = true;
        self.live = Some(i);
    }

    /// Closes the live call's block, completing its JSON.
    fn close_live(&mut self, w: &mut StreamWriter) {
        let Some(i) = self.live.take() else { return };
        let t = &mut self.tools[i];
        let pending = std::mem::take(&mut t.pending);
        w.tool_args(&t.args.push(&pending));
        w.tool_args(&t.args.finish());
        t.phase = Phase::Closed;
        w.close_block();
    }

    /// Every call still buffered gets its block, in index order.
    fn flush_tools(&mut self, w: &mut StreamWriter) {
        self.pump(w);
        self.close_live(w);
        let mut order: Vec<usize> = (0..self.tools.len())
            .filter(|&i| self.tools[i].phase == Phase::Waiting)
            .collect();
        order.sort_by_key(|&i| self.tools[i].index);
        for i in order {
            let t = &self.tools[i];
            if t.id.is_empty() && t.name.is_empty() && t.pending.trim().is_empty() {
                continue;
            }
            self.open(i, w);
            self.close_live(w);
        }
    }

    /// A thinking block about to be left gets this provider's signature.
    fn sign(&self, w: &mut StreamWriter) {
        if w.open_block() == Some(BlockKind::Thinking) {
            w.signature(&self.sig);
        }
    }

    fn complete(&mut self, w: &mut StreamWriter) {
        if w.is_done() {
            return;
        }
        self.flush_tools(w);
        self.sign(w);
        w.finish(
            self.finish.unwrap_or("end_turn"),
            None,
            self.usage.unwrap_or_default(),
        );
    }
}

/// The Anthropic error type of an in-stream OpenAI error.
fn stream_error_kind(e: &Value) -> ErrorType {
    if let Some(code) = e["code"].as_u64().and_then(|c| u16::try_from(c).ok()) {
        return ErrorType::from_status(code);
    }
    let words = format!(
        "{} {}",
        e["type"].as_str().unwrap_or(""),
        e["code"].as_str().unwrap_or("")
    );
    if words.contains("insufficient_quota") {
        ErrorType::Billing
    } else if words.contains("rate_limit") {
        ErrorType::RateLimit
    } else if words.contains("invalid_request") {
        ErrorType::InvalidRequest
    } else if words.contains("overloaded") || words.contains("unavailable") {
        ErrorType::Overloaded
    } else {
        ErrorType::Api
    }
}
