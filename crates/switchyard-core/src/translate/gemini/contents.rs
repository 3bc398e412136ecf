//! Anthropic `messages` to Gemini `contents`.
//!
//! - `user` / `assistant` become `user` / `model`; consecutive messages of one role are merged
//!   into one content (Gemini wants turns to alternate).
//! - A `role: "system"` message inside `messages` (Claude Code's mid-conversation system) stays
//!   where it is, as a user text part prefixed `System: `. Gemini has no mid-conversation
//!   system role; appending it to `systemInstruction` instead would move it out of its place in
//!   time ("from now on ...") and change the very start of every later request, which defeats
//!   Gemini's implicit prefix caching.
//! - In a user content, `functionResponse` parts come first, in the order of the calls of the
//!   model content before it; a call without a result (the user interrupted it) gets a
//!   synthetic error response, because Gemini refuses a function call turn that is not answered
//!   call for call. A result whose call is unknown becomes a text part.
//! - Thinking: see the parent module's docs on thought signatures.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::{err, TranslateError, GEMINI_TAG, THOUGHT_SIGNATURE_BYPASS};

/// The text Gemini gets for a call that has no result.
const INTERRUPTED: &str = "The tool call was interrupted before it returned a result.";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    User,
    Model,
}

enum Item<'a> {
    Text(&'a str),
    System(String),
    Block(&'a Value),
}

/// The `id` a function call and its response carry back to Gemini: the one Gemini gave the
/// call, when it gave one (other providers' ids, and ours for Gemini 2.5's id-less calls,
/// Gemini never saw).
fn call_id(tool_use_id: &str) -> Option<&str> {
    tool_use_id
        .strip_prefix(super::GEMINI_CALL_PREFIX)
        .filter(|id| !id.is_empty())
}

/// Builds `contents` and collects notes.
pub(super) struct Builder<'a> {
    own_prefix: String,
    names: HashMap<&'a str, &'a str>,
    pending: Vec<(&'a str, &'a str)>,
    contents: Vec<(Role, Vec<Value>)>,
    pub(super) notes: Vec<String>,
    pub(super) cache_control: bool,
    dropped_thinking: usize,
    synthetic: usize,
}

fn block_type(b: &Value) -> &str {
    b.get("type").and_then(Value::as_str).unwrap_or("")
}

fn str_of<'v>(b: &'v Value, key: &str) -> Option<&'v str> {
    b.get(key).and_then(Value::as_str)
}

/// The text of a system message or of the `system` field: a string or text blocks.
pub(super) fn system_text(v: &Value, what: &str) -> Result<String, TranslateError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Array(blocks) => {
            let mut texts = Vec::new();
            for b in blocks {
                match (block_type(b), str_of(b, "text")) {
                    ("text", Some(t)) => {
                        if !t.is_empty() {
                            texts.push(t);
                        }
                    }
                    (other, _) => {
                        return Err(err(format!(
                            "{what}: a `{other}` block cannot be a system instruction for Gemini"
                        )))
                    }
                }
            }
            Ok(texts.join("\n\n"))
        }
        Value::Null => Ok(String::new()),
        _ => Err(err(format!(
            "{what} must be a string or a list of text blocks"
        ))),
    }
}

/// A media type from a URL's extension, else `fallback`.
fn mime_from_url(url: &str, fallback: &'static str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    let ext = path.rsplit('.').next().unwrap_or("");
    match ext {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        _ => fallback,
    }
}

/// An `image` or `document` block's source as a Gemini part.
fn media_part(b: &Value, fallback_mime: &'static str) -> Result<Value, TranslateError> {
    let kind = block_type(b);
    let source = b.get("source").unwrap_or(&Value::Null);
    match str_of(source, "type").unwrap_or("") {
        "base64" => {
            let data = str_of(source, "data").unwrap_or("");
            let mime = str_of(source, "media_type").unwrap_or(fallback_mime);
            Ok(json!({"inlineData": {"mimeType": mime, "data": data}}))
        }
        "url" => {
            let url = str_of(source, "url").unwrap_or("");
            Ok(json!({"fileData": {"mimeType": mime_from_url(url, fallback_mime), "fileUri": url}}))
        }
        "text" if kind == "document" => Ok(json!({"text": str_of(source, "data").unwrap_or("")})),
        other => Err(err(format!(
            "a `{kind}` block with a `{other}` source cannot be sent to Gemini (use base64 or url)"
        ))),
    }
}

/// Parts for a `document` block (a `content` source may hold several).
fn document_parts(b: &Value, out: &mut Vec<Value>) -> Result<(), TranslateError> {
    let source = b.get("source").unwrap_or(&Value::Null);
    if str_of(source, "type") == Some("content") {
        match source.get("content") {
            Some(Value::String(s)) => out.push(json!({"text": s})),
            Some(Value::Array(list)) => {
                for inner in list {
                    match block_type(inner) {
                        "text" => out.push(json!({"text": str_of(inner, "text").unwrap_or("")})),
                        "image" => out.push(media_part(inner, "image/jpeg")?),
                        other => {
                            return Err(err(format!(
                                "a `{other}` block inside a document cannot be sent to Gemini"
                            )))
                        }
                    }
                }
            }
            _ => {}
        }
        return Ok(());
    }
    out.push(media_part(b, "application/pdf")?);
    Ok(())
}

/// `search_result` blocks become text.
fn search_result_text(b: &Value) -> String {
    let title = str_of(b, "title").unwrap_or("");
    let source = str_of(b, "source").unwrap_or("");
    let body: Vec<&str> = match b.get("content") {
        Some(Value::Array(list)) => list.iter().filter_map(|c| str_of(c, "text")).collect(),
        _ => Vec::new(),
    };
    format!("{title} ({source})\n{}", body.join("\n"))
}

/// A server tool's result (e.g. `web_search_tool_result`) as text, keeping titles and URLs.
fn server_result_text(b: &Value) -> String {
    let mut lines = vec![format!("[{}]", block_type(b))];
    if let Some(Value::Array(list)) = b.get("content") {
        for r in list {
            let title = str_of(r, "title").unwrap_or("");
            let url = str_of(r, "url").unwrap_or("");
            let text = str_of(r, "text").unwrap_or("");
            lines.push(format!("{title} {url} {text}").trim().to_string());
        }
    } else if let Some(c) = b.get("content") {
        lines.push(c.to_string());
    }
    lines.join("\n")
}

impl<'a> Builder<'a> {
    pub(super) fn new(provider_id: &str) -> Self {
        Builder {
            own_prefix: super::unsigned_signature(provider_id),
            names: HashMap::new(),
            pending: Vec::new(),
            contents: Vec::new(),
            notes: Vec::new(),
            cache_control: false,
            dropped_thinking: 0,
            synthetic: 0,
        }
    }

    /// Translates every message; returns the `contents` array.
    pub(super) fn build(
        mut self,
        messages: &'a [Value],
    ) -> Result<(Value, Vec<String>, bool), TranslateError> {
        let mut turns: Vec<(Role, Vec<Item<'a>>)> = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let role = str_of(m, "role").unwrap_or("");
            let content = m.get("content").unwrap_or(&Value::Null);
            let (role, items) = match role {
                "user" | "assistant" => {
                    let items = match content {
                        Value::String(s) => vec![Item::Text(s)],
                        Value::Array(list) => list.iter().map(Item::Block).collect(),
                        _ => {
                            return Err(err(format!(
                                "messages[{i}].content must be a string or a list of blocks"
                            )))
                        }
                    };
                    let role = if role == "user" {
                        Role::User
                    } else {
                        Role::Model
                    };
                    (role, items)
                }
                "system" => {
                    let text = system_text(content, &format!("messages[{i}]"))?;
                    if text.is_empty() {
                        continue;
                    }
                    (Role::User, vec![Item::System(text)])
                }
                other => return Err(err(format!("messages[{i}]: unknown role `{other}`"))),
            };
            match turns.last_mut() {
                Some((last, list)) if *last == role => list.extend(items),
                _ => turns.push((role, items)),
            }
        }
        for (role, items) in turns {
            match role {
                Role::Model => self.model_turn(items)?,
                Role::User => self.user_turn(items)?,
            }
        }
        if self.contents.last().is_some_and(|c| c.0 == Role::Model) {
            self.notes.push("trailing assistant message kept as the last model turn (prefill): Gemini continues it".into());
        }
        if self.dropped_thinking > 0 {
            self.notes.push(format!(
                "dropped {} thinking block(s) signed by another provider",
                self.dropped_thinking
            ));
        }
        if self.synthetic > 0 {
            self.notes.push(format!(
                "answered {} tool call(s) that had no tool_result with an error response",
                self.synthetic
            ));
        }
        let contents = self
            .contents
            .into_iter()
            .map(|(role, parts)| {
                let role = if role == Role::User { "user" } else { "model" };
                json!({"role": role, "parts": parts})
            })
            .collect();
        Ok((Value::Array(contents), self.notes, self.cache_control))
    }

    fn push(&mut self, role: Role, parts: Vec<Value>) {
        if parts.is_empty() {
            return;
        }
        match self.contents.last_mut() {
            Some((last, list)) if *last == role => list.extend(parts),
            _ => self.contents.push((role, parts)),
        }
    }

    fn note_cache(&mut self, b: &Value) {
        if b.get("cache_control").is_some() {
            self.cache_control = true;
        }
    }

    fn model_turn(&mut self, items: Vec<Item<'a>>) -> Result<(), TranslateError> {
        let mut parts: Vec<Value> = Vec::new();
        let mut calls = Vec::new();
        let mut carried: Option<&'a str> = None;
        let mut signed = false;
        for item in items {
            let b = match item {
                Item::Text(t) => {
                    if !t.is_empty() {
                        parts.push(json!({"text": t}));
                    }
                    continue;
                }
                Item::System(_) => continue,
                Item::Block(b) => b,
            };
            self.note_cache(b);
            match block_type(b) {
                "text" => {
                    let t = str_of(b, "text").unwrap_or("");
                    if t.is_empty() {
                        continue;
                    }
                    let mut part = json!({"text": t});
                    if let Some(sig) = carried.take() {
                        part["thoughtSignature"] = json!(sig);
                        signed = true;
                    }
                    parts.push(part);
                }
                "thinking" => {
                    // Ours: `sy1.<id>.gemini:<sig>` / `sy1.<id>.` as we wrote them, or
                    // `gemini:<sig>` once history normalisation has unstamped them.
                    let sig = str_of(b, "signature").unwrap_or("");
                    let rest = sig
                        .strip_prefix(self.own_prefix.as_str())
                        .or_else(|| sig.starts_with(GEMINI_TAG).then_some(sig));
                    match rest {
                        Some(rest) => {
                            if let Some(g) = rest.strip_prefix(GEMINI_TAG).filter(|g| !g.is_empty())
                            {
                                carried = Some(g);
                            }
                        }
                        // Empty: our unsigned thinking once unstamped; nothing to carry.
                        None if sig.is_empty() => {}
                        None => self.dropped_thinking += 1,
                    }
                }
                "redacted_thinking" => self.dropped_thinking += 1,
                "tool_use" => {
                    let id = str_of(b, "id").unwrap_or("");
                    let name =
                        str_of(b, "name").ok_or_else(|| err("a tool_use block has no name"))?;
                    let args = match b.get("input") {
                        Some(v @ Value::Object(_)) => v.clone(),
                        _ => json!({}),
                    };
                    let mut part = json!({"functionCall": {"name": name, "args": args}});
                    if let Some(id) = call_id(id) {
                        part["functionCall"]["id"] = json!(id);
                    }
                    match carried.take() {
                        Some(sig) => {
                            part["thoughtSignature"] = json!(sig);
                            signed = true;
                        }
                        None if !signed => {
                            part["thoughtSignature"] = json!(THOUGHT_SIGNATURE_BYPASS)
                        }
                        None => {}
                    }
                    parts.push(part);
                    self.names.insert(id, name);
                    calls.push((id, name));
                }
                "server_tool_use" => self.notes.push(
                    "dropped a server_tool_use block (server tools do not run on Gemini)".into(),
                ),
                t if t.ends_with("_tool_result") => {
                    parts.push(json!({"text": server_result_text(b)}))
                }
                other => {
                    return Err(err(format!(
                        "a `{other}` block in an assistant message cannot be sent to Gemini"
                    )))
                }
            }
        }
        if !parts.is_empty() {
            self.pending.extend(calls);
            self.push(Role::Model, parts);
        }
        Ok(())
    }

    fn user_turn(&mut self, items: Vec<Item<'a>>) -> Result<(), TranslateError> {
        let mut responses: Vec<(&'a str, Value)> = Vec::new();
        let mut media: Vec<Value> = Vec::new();
        let mut others: Vec<Value> = Vec::new();
        for item in items {
            let b = match item {
                Item::Text(t) => {
                    if !t.is_empty() {
                        others.push(json!({"text": t}));
                    }
                    continue;
                }
                Item::System(s) => {
                    others.push(json!({"text": format!("System: {s}")}));
                    continue;
                }
                Item::Block(b) => b,
            };
            self.note_cache(b);
            match block_type(b) {
                "text" => {
                    let t = str_of(b, "text").unwrap_or("");
                    if !t.is_empty() {
                        others.push(json!({"text": t}));
                    }
                }
                "image" => others.push(media_part(b, "image/jpeg")?),
                "document" => document_parts(b, &mut others)?,
                "search_result" => others.push(json!({"text": search_result_text(b)})),
                "tool_result" => {
                    let id = str_of(b, "tool_use_id").unwrap_or("");
                    let is_error = b.get("is_error") == Some(&Value::Bool(true));
                    let (text, extra) = self.tool_result_content(b.get("content"))?;
                    match self.names.get(id) {
                        Some(name) => {
                            let key = if is_error { "error" } else { "content" };
                            let mut part = json!({"functionResponse": {"name": name, "response": {key: text}}});
                            if let Some(id) = call_id(id) {
                                part["functionResponse"]["id"] = json!(id);
                            }
                            responses.push((id, part));
                            media.extend(extra);
                        }
                        None => {
                            let label = if is_error {
                                "Error from tool call"
                            } else {
                                "Result of tool call"
                            };
                            others.push(json!({"text": format!("{label} {id}:\n{text}")}));
                            others.extend(extra);
                            self.notes.push(format!(
                                "tool_result {id} has no matching tool_use: sent as text"
                            ));
                        }
                    }
                }
                "thinking" | "redacted_thinking" => self.dropped_thinking += 1,
                other => {
                    return Err(err(format!(
                        "a `{other}` block in a user message cannot be sent to Gemini"
                    )))
                }
            }
        }
        let mut parts = Vec::new();
        for (id, name) in std::mem::take(&mut self.pending) {
            match responses.iter().position(|(rid, _)| *rid == id) {
                Some(pos) => parts.push(responses.remove(pos).1),
                None => {
                    self.synthetic += 1;
                    let mut part = json!({"functionResponse": {"name": name, "response": {"error": INTERRUPTED}}});
                    if let Some(id) = call_id(id) {
                        part["functionResponse"]["id"] = json!(id);
                    }
                    parts.push(part);
                }
            }
        }
        parts.extend(responses.into_iter().map(|(_, p)| p));
        parts.extend(media);
        parts.extend(others);
        self.push(Role::User, parts);
        Ok(())
    }

    /// A tool_result's content: its text (text blocks joined by newlines) and its media parts.
    fn tool_result_content(
        &mut self,
        content: Option<&Value>,
    ) -> Result<(String, Vec<Value>), TranslateError> {
        let mut texts = Vec::new();
        let mut media = Vec::new();
        match content {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => texts.push(s.clone()),
            Some(Value::Array(list)) => {
                for b in list {
                    self.note_cache(b);
                    match block_type(b) {
                        "text" => texts.push(str_of(b, "text").unwrap_or("").to_string()),
                        "image" => media.push(media_part(b, "image/jpeg")?),
                        "document" => document_parts(b, &mut media)?,
                        "search_result" => texts.push(search_result_text(b)),
                        other => {
                            return Err(err(format!(
                                "a `{other}` block inside a tool_result cannot be sent to Gemini"
                            )))
                        }
                    }
                }
            }
            Some(_) => {
                return Err(err(
                    "tool_result content must be a string or a list of blocks",
                ))
            }
        }
        Ok((texts.join("\n"), media))
    }
}
