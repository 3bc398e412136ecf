//! Gemini `contents` -> Anthropic `messages`.
//!
//! - `user` (and the older `function`) contents become user turns, `model` contents assistant
//!   turns; neighbours of one role merge (Anthropic wants turns to alternate).
//! - `functionCall` parts become `tool_use` blocks. The id is the call's own `id` (Gemini 3
//!   sends one, and so does every answer Switchyard gives a Gemini client) made to fit
//!   Anthropic's id pattern, else one derived from the call's position, which stays the same
//!   every time the client resends its history.
//! - A `functionResponse` answers the call with its `id`; without an id (Gemini CLI invents its
//!   own ids for calls that came without one), the first unanswered call of that name in the
//!   model turn before it. Results lead their user turn, as Anthropic requires; a call left
//!   unanswered gets an error result, because Anthropic refuses a tool_use without one.
//! - `thought` text parts are dropped: a thought's signed text comes back packed in the
//!   `thoughtSignature` of the part after it (see `carrier`), in its place.
//! - `inlineData` images and PDFs become image and document blocks, text files documents;
//!   media the hub cannot carry (audio, video) and `fileData` that is not a web URL become a
//!   short text saying what was left out, so the rest of the conversation still goes through.

use serde_json::{json, Map, Value};

use super::request::{carried, field, invalid, InboundError};
use crate::translate::history::sanitize_tool_id;

/// The text of the result given to a call the client never answered.
const INTERRUPTED: &str = "The tool call was interrupted before it returned a result.";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    User,
    Assistant,
}

struct Call {
    orig: Option<String>,
    hub: String,
    name: String,
    answered: bool,
}

/// Builds the messages.
pub(super) struct Builder {
    turns: Vec<(Role, Vec<Value>)>,
    pending: Vec<Call>,
}

fn str_of<'a>(o: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    o.get(k).and_then(Value::as_str)
}

impl Builder {
    pub(super) fn new() -> Self {
        Builder {
            turns: Vec::new(),
            pending: Vec::new(),
        }
    }

    pub(super) fn build(
        mut self,
        contents: &[Value],
        notes: &mut Vec<String>,
    ) -> Result<Vec<Value>, InboundError> {
        for (i, c) in contents.iter().enumerate() {
            let c = c
                .as_object()
                .ok_or_else(|| invalid(format!("contents[{i}] must be a Content object")))?;
            let role = match str_of(c, "role").unwrap_or("user") {
                "user" | "function" | "" => Role::User,
                "model" => Role::Assistant,
                other => {
                    return Err(invalid(format!(
                        "contents[{i}].role must be user or model, not {other:?}"
                    )))
                }
            };
            let parts = match c.get("parts") {
                Some(Value::Array(p)) => p.as_slice(),
                None | Some(Value::Null) => &[],
                Some(_) => return Err(invalid(format!("contents[{i}].parts must be a list"))),
            };
            match role {
                Role::Assistant => {
                    self.close_calls();
                    let blocks = self.model_parts(i, parts, notes)?;
                    self.push(Role::Assistant, blocks);
                }
                Role::User => {
                    let blocks = self.user_parts(i, parts, notes)?;
                    self.push(Role::User, blocks);
                }
            }
        }
        Ok(self
            .turns
            .into_iter()
            .map(|(role, content)| {
                let role = if role == Role::User {
                    "user"
                } else {
                    "assistant"
                };
                json!({"role": role, "content": content})
            })
            .collect())
    }

    /// Add blocks to the conversation, merging a turn into the one before it of the same role
    /// (tool results first in a user turn).
    fn push(&mut self, role: Role, mut blocks: Vec<Value>) {
        if role == Role::User {
            let unanswered: Vec<Value> = self
                .pending
                .iter_mut()
                .filter(|c| !c.answered)
                .map(|c| {
                    c.answered = true;
                    json!({"type": "tool_result", "tool_use_id": c.hub, "is_error": true,
                        "content": INTERRUPTED})
                })
                .collect();
            if !self.pending.is_empty() {
                self.pending.clear();
                let at = blocks
                    .iter()
                    .position(|b| b["type"] != "tool_result")
                    .unwrap_or(blocks.len());
                blocks.splice(at..at, unanswered);
            }
        }
        if blocks.is_empty() {
            return;
        }
        match self.turns.last_mut() {
            Some((r, content)) if *r == role => {
                if role == Role::User {
                    let at = content
                        .iter()
                        .position(|b| b["type"] != "tool_result")
                        .unwrap_or(content.len());
                    let (results, rest): (Vec<Value>, Vec<Value>) =
                        blocks.into_iter().partition(|b| b["type"] == "tool_result");
                    content.splice(at..at, results);
                    content.extend(rest);
                } else {
                    content.extend(blocks);
                }
            }
            _ => self.turns.push((role, blocks)),
        }
    }

    /// A model turn follows while calls of the one before are unanswered: answer them.
    fn close_calls(&mut self) {
        if self.pending.iter().any(|c| !c.answered) {
            self.push(Role::User, Vec::new());
        }
        self.pending.clear();
    }

    fn model_parts(
        &mut self,
        i: usize,
        parts: &[Value],
        notes: &mut Vec<String>,
    ) -> Result<Vec<Value>, InboundError> {
        let mut blocks = Vec::new();
        for (j, p) in parts.iter().enumerate() {
            let at = format!("contents[{i}].parts[{j}]");
            let p = p
                .as_object()
                .ok_or_else(|| invalid(format!("{at} must be a Part object")))?;
            blocks.extend(carried(p));
            if p.get("thought").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if let Some(t) = str_of(p, "text") {
                if !t.is_empty() {
                    blocks.push(json!({"type": "text", "text": t}));
                }
            } else if let Some(call) = field(p, "functionCall") {
                let call = call
                    .as_object()
                    .ok_or_else(|| invalid(format!("{at}.functionCall must be an object")))?;
                let name = str_of(call, "name")
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| invalid(format!("{at}.functionCall.name is required")))?;
                let orig = str_of(call, "id")
                    .filter(|s| !s.is_empty())
                    .map(String::from);
                let hub = match &orig {
                    Some(id) => sanitize_tool_id(id),
                    None => format!("toolu_gc{i}_{j}"),
                };
                let input = match call.get("args") {
                    Some(v @ Value::Object(_)) => v.clone(),
                    _ => json!({}),
                };
                blocks.push(json!({"type": "tool_use", "id": hub, "name": name, "input": input}));
                self.pending.push(Call {
                    orig,
                    hub,
                    name: name.to_string(),
                    answered: false,
                });
            } else if let Some(text) = code_text(p) {
                blocks.push(json!({"type": "text", "text": text}));
            } else if field(p, "inlineData").is_some() || field(p, "fileData").is_some() {
                notes.push(format!(
                    "{at}: media the model produced cannot go back to it: dropped"
                ));
            } else if p.contains_key("thoughtSignature") && p.len() == 1 {
                // A signature on its own (what Gemini sends at the end of a stream).
            } else {
                return Err(invalid(format!("{at}: a model turn cannot hold this part")));
            }
        }
        Ok(blocks)
    }

    fn user_parts(
        &mut self,
        i: usize,
        parts: &[Value],
        notes: &mut Vec<String>,
    ) -> Result<Vec<Value>, InboundError> {
        let mut blocks = Vec::new();
        for (j, p) in parts.iter().enumerate() {
            let at = format!("contents[{i}].parts[{j}]");
            let p = p
                .as_object()
                .ok_or_else(|| invalid(format!("{at} must be a Part object")))?;
            if p.get("thought").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if let Some(t) = str_of(p, "text") {
                if !t.is_empty() {
                    blocks.push(json!({"type": "text", "text": t}));
                }
            } else if let Some(d) = field(p, "inlineData") {
                blocks.push(inline(d, &at, notes)?);
            } else if let Some(f) = field(p, "fileData") {
                blocks.push(file(f, &at, notes)?);
            } else if let Some(r) = field(p, "functionResponse") {
                blocks.push(self.result(r, &at, notes)?);
            } else if field(p, "functionCall").is_some() {
                return Err(invalid(format!(
                    "{at}: a functionCall belongs in a model turn, not a user turn"
                )));
            } else if let Some(text) = code_text(p) {
                blocks.push(json!({"type": "text", "text": text}));
            } else {
                return Err(invalid(format!(
                    "{at}: unknown part (expected text, inlineData, fileData or functionResponse)"
                )));
            }
        }
        Ok(blocks)
    }

    fn result(
        &mut self,
        r: &Value,
        at: &str,
        notes: &mut Vec<String>,
    ) -> Result<Value, InboundError> {
        let r = r
            .as_object()
            .ok_or_else(|| invalid(format!("{at}.functionResponse must be an object")))?;
        let name = str_of(r, "name").unwrap_or("");
        let id = str_of(r, "id").filter(|s| !s.is_empty());
        let by_id = id.and_then(|id| {
            self.pending
                .iter()
                .position(|c| !c.answered && (c.orig.as_deref() == Some(id) || c.hub == id))
        });
        let found = by_id.or_else(|| {
            self.pending
                .iter()
                .position(|c| !c.answered && c.name == name)
        });
        let (text, is_error) = response_text(r.get("response").unwrap_or(&Value::Null));
        let mut media = Vec::new();
        if let Some(Value::Array(parts)) = r.get("parts") {
            for (k, p) in parts.iter().enumerate() {
                if let Some(d) = p.as_object().and_then(|p| field(p, "inlineData")) {
                    media.push(inline(
                        d,
                        &format!("{at}.functionResponse.parts[{k}]"),
                        notes,
                    )?);
                }
            }
        }
        let Some(idx) = found else {
            notes.push(format!(
                "{at}: a functionResponse for {name:?} answers no call: sent as text"
            ));
            return Ok(
                json!({"type": "text", "text": format!("Result of function {name}:\n{text}")}),
            );
        };
        let call = &mut self.pending[idx];
        call.answered = true;
        let content = if media.is_empty() {
            json!(text)
        } else {
            let mut list = vec![json!({"type": "text", "text": text})];
            list.extend(media);
            Value::Array(list)
        };
        let mut block = json!({"type": "tool_result", "tool_use_id": call.hub, "content": content});
        if is_error {
            block["is_error"] = json!(true);
        }
        Ok(block)
    }
}

/// A function's `response` object as the text a tool result carries: Gemini CLI's
/// `{"output": ...}` and `{"error": ...}` give their string, anything else its JSON.
fn response_text(resp: &Value) -> (String, bool) {
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match resp {
        Value::Object(o) if o.contains_key("error") => (as_text(&o["error"]), true),
        Value::Object(o)
            if o.len() == 1 && (o.contains_key("output") || o.contains_key("content")) =>
        {
            (as_text(o.values().next().unwrap_or(&Value::Null)), false)
        }
        Value::Null => (String::new(), false),
        other => (other.to_string(), false),
    }
}

/// `executableCode` / `codeExecutionResult` parts, as text.
fn code_text(p: &Map<String, Value>) -> Option<String> {
    if let Some(c) = field(p, "executableCode").and_then(Value::as_object) {
        let lang = str_of(c, "language").unwrap_or("").to_ascii_lowercase();
        return Some(format!(
            "```{lang}\n{}\n```",
            str_of(c, "code").unwrap_or("")
        ));
    }
    let r = field(p, "codeExecutionResult").and_then(Value::as_object)?;
    Some(format!(
        "Code execution ({}):\n{}",
        str_of(r, "outcome").unwrap_or("OUTCOME_UNSPECIFIED"),
        str_of(r, "output").unwrap_or("")
    ))
}

fn omitted(mime: &str, at: &str, notes: &mut Vec<String>) -> Value {
    notes.push(format!(
        "{at}: {mime} cannot be carried to every provider: left out"
    ));
    json!({"type": "text", "text": format!("[a {mime} attachment was left out: this model cannot read it]")})
}

/// An `inlineData` part as a hub block.
fn inline(d: &Value, at: &str, notes: &mut Vec<String>) -> Result<Value, InboundError> {
    let d = d
        .as_object()
        .ok_or_else(|| invalid(format!("{at}.inlineData must be an object")))?;
    let mime = field(d, "mimeType").and_then(Value::as_str).unwrap_or("");
    let data = str_of(d, "data")
        .ok_or_else(|| invalid(format!("{at}.inlineData.data is required (base64)")))?;
    Ok(match mime {
        "image/jpeg" | "image/png" | "image/gif" | "image/webp" => {
            json!({"type": "image", "source": {"type": "base64", "media_type": mime, "data": data}})
        }
        "application/pdf" => json!({"type": "document",
            "source": {"type": "base64", "media_type": mime, "data": data}}),
        m if m.starts_with("text/") || m == "application/json" => {
            match super::carrier::b64_decode(data).and_then(|b| String::from_utf8(b).ok()) {
                Some(text) => json!({"type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": text}}),
                None => return Err(invalid(format!("{at}.inlineData.data is not base64 text"))),
            }
        }
        other => omitted(other, at, notes),
    })
}

/// A `fileData` part: web URLs of images and PDFs go as URL sources.
fn file(f: &Value, at: &str, notes: &mut Vec<String>) -> Result<Value, InboundError> {
    let f = f
        .as_object()
        .ok_or_else(|| invalid(format!("{at}.fileData must be an object")))?;
    let mime = field(f, "mimeType").and_then(Value::as_str).unwrap_or("");
    let uri = field(f, "fileUri").and_then(Value::as_str).unwrap_or("");
    let web = uri.starts_with("https://") || uri.starts_with("http://");
    Ok(match (web, mime) {
        (true, m) if m.starts_with("image/") => {
            json!({"type": "image", "source": {"type": "url", "url": uri}})
        }
        (true, "application/pdf") => {
            json!({"type": "document", "source": {"type": "url", "url": uri}})
        }
        _ => omitted(if mime.is_empty() { "file" } else { mime }, at, notes),
    })
}
