//! Responses `input` items -> Anthropic turns.
//!
//! Items of the same role are merged into one turn (a step's reasoning, text and calls into
//! one assistant turn; its outputs into one user turn, tool results first, as Anthropic
//! requires). Afterwards every `tool_use` is paired: a call whose output is missing (the user
//! interrupted) gets an error result, and an output whose call is not in the assistant turn
//! just before becomes user text, because Anthropic refuses either.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::carrier;
use super::request::{invalid, unsupported};
use super::tools::{ToolKind, ToolMap};
use crate::translate::history::sanitize_tool_id;
use crate::translate::inbound_openai::InboundError;

/// The result given to a call whose output is not in the conversation.
pub const INTERRUPTED: &str = "(no result: the call was interrupted)";

/// Items that ran on OpenAI's servers: they mean nothing to another provider and are left
/// out (the conversation goes on without them).
const HOSTED_ITEMS: [&str; 12] = [
    "web_search_call",
    "file_search_call",
    "image_generation_call",
    "code_interpreter_call",
    "computer_call",
    "computer_call_output",
    "mcp_list_tools",
    "mcp_call",
    "mcp_approval_request",
    "mcp_approval_response",
    "compaction",
    "compaction_summary",
];

/// The turns being built.
pub(super) struct Conversation<'a> {
    tools: &'a mut ToolMap,
    system: Vec<String>,
    turns: Vec<(&'static str, Vec<Value>)>,
    loaded_tools: Vec<Value>,
    dropped_reasoning: usize,
    hosted: Vec<String>,
    unknown: Vec<String>,
}

/// What the conversation came to.
pub(super) struct Done {
    /// System texts, in order.
    pub system: Vec<String>,
    /// `(role, content blocks)`, alternating.
    pub turns: Vec<(&'static str, Vec<Value>)>,
    /// Tools a client-run `tool_search` loaded (hub tools).
    pub loaded_tools: Vec<Value>,
    /// The conversation ends with tool results whose assistant turn has no thinking first.
    pub tool_loop_without_thinking: bool,
    /// For the log.
    pub notes: Vec<String>,
}

fn text_block(text: impl Into<String>) -> Value {
    json!({"type": "text", "text": text.into()})
}

impl<'a> Conversation<'a> {
    pub(super) fn new(tools: &'a mut ToolMap) -> Self {
        Conversation {
            tools,
            system: Vec::new(),
            turns: Vec::new(),
            loaded_tools: Vec::new(),
            dropped_reasoning: 0,
            hosted: Vec::new(),
            unknown: Vec::new(),
        }
    }

    /// The request's `instructions` string.
    pub(super) fn instructions(&mut self, text: &str) {
        if !text.trim().is_empty() {
            self.system.push(text.to_string());
        }
    }

    /// `input` given as a plain string.
    pub(super) fn user_text(&mut self, text: &str) {
        self.push("user", vec![text_block(text)]);
    }

    fn push(&mut self, role: &'static str, blocks: Vec<Value>) {
        if blocks.is_empty() {
            return;
        }
        match self.turns.last_mut() {
            Some((r, content)) if *r == role => {
                if role == "user" && blocks.iter().any(|b| b["type"] == "tool_result") {
                    // Tool results lead a user turn.
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

    /// One input item.
    pub(super) fn item(&mut self, param: &str, it: &Value) -> Result<(), InboundError> {
        let ty = it.get("type").and_then(Value::as_str);
        let ty = match ty {
            Some(t) => t,
            None if it.get("role").is_some() => "message",
            None => return Err(invalid(param, "an input item needs a type")),
        };
        match ty {
            "message" => self.message(param, it),
            "function_call" | "custom_tool_call" | "tool_search_call" | "local_shell_call" => {
                self.call(param, ty, it)
            }
            "function_call_output" | "custom_tool_call_output" | "local_shell_call_output" => {
                let call_id = call_id(param, it)?;
                let (content, is_error) =
                    output_content(&format!("{param}.output"), &it["output"])?;
                self.push("user", vec![tool_result(&call_id, content, is_error)]);
                Ok(())
            }
            "tool_search_output" => self.tool_search_output(param, it),
            // Tools declared at a point in the conversation (Codex's "responses lite" mode
            // sends all its tools this way): callable from then on, like top-level tools.
            "additional_tools" => {
                let mut left_out = Vec::new();
                for (j, t) in it["tools"].as_array().into_iter().flatten().enumerate() {
                    self.tools.tool(
                        &format!("{param}.tools[{j}]"),
                        t,
                        None,
                        &mut self.loaded_tools,
                        &mut left_out,
                    )?;
                }
                self.hosted
                    .extend(left_out.into_iter().map(|t| format!("{t} tool")));
                Ok(())
            }
            // An assistant message by another name.
            "agent_message" => {
                let text = assistant_text(&format!("{param}.content"), &it["content"])?;
                if !text.is_empty() {
                    self.push("assistant", vec![text_block(text)]);
                }
                Ok(())
            }
            "reasoning" => {
                let block = it
                    .get("encrypted_content")
                    .and_then(Value::as_str)
                    .and_then(carrier::decode);
                match block {
                    Some(b) => self.push("assistant", vec![b]),
                    // OpenAI's own encrypted reasoning, or a summary alone: no provider behind
                    // the hub can take it back.
                    None => self.dropped_reasoning += 1,
                }
                Ok(())
            }
            "item_reference" => Err(unsupported(
                format!("{param}.type"),
                "item references need stored responses, which Switchyard does not keep: send \
                 the items themselves",
            )),
            t if HOSTED_ITEMS.contains(&t) => {
                self.hosted.push(t.to_string());
                Ok(())
            }
            // Items a newer client keeps in its history (control and bookkeeping items) are
            // left out with a note rather than refused: a refusal would fail every later turn
            // of that conversation, since the client sends its whole history each time.
            other => {
                self.unknown.push(other.to_string());
                Ok(())
            }
        }
    }

    fn message(&mut self, param: &str, m: &Value) -> Result<(), InboundError> {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let content = &m["content"];
        let here = format!("{param}.content");
        match role {
            "system" | "developer" => {
                let text = only_text(&here, content)?;
                if text.is_empty() {
                    return Ok(());
                }
                if self.turns.is_empty() {
                    self.system.push(text);
                } else {
                    // Later instructions keep their place in the conversation.
                    self.push("user", vec![text_block(format!("[{role}] {text}"))]);
                }
            }
            "user" => {
                let blocks = user_content(&here, content)?;
                self.push("user", blocks);
            }
            "assistant" => {
                let text = assistant_text(&here, content)?;
                if !text.is_empty() {
                    self.push("assistant", vec![text_block(text)]);
                }
            }
            "" => return Err(invalid(format!("{param}.role"), "a message needs a role")),
            other => {
                return Err(invalid(
                    format!("{param}.role"),
                    format!("unknown message role {other:?}"),
                ))
            }
        }
        Ok(())
    }

    fn call(&mut self, param: &str, ty: &str, it: &Value) -> Result<(), InboundError> {
        let id = call_id(param, it)?;
        let name = it.get("name").and_then(Value::as_str).unwrap_or("");
        let namespace = it.get("namespace").and_then(Value::as_str);
        let (name, input) = match ty {
            "function_call" => {
                if name.is_empty() {
                    return Err(invalid(
                        format!("{param}.name"),
                        "a function call needs a name",
                    ));
                }
                let hub = self
                    .tools
                    .hub_name_or_new(ToolKind::Function, namespace, name);
                (hub, parse_arguments(&it["arguments"]))
            }
            "custom_tool_call" => {
                if name.is_empty() {
                    return Err(invalid(
                        format!("{param}.name"),
                        "a custom tool call needs a name",
                    ));
                }
                let hub = self
                    .tools
                    .hub_name_or_new(ToolKind::Custom, namespace, name);
                let input = it["input"].as_str().unwrap_or("");
                (hub, json!({ "input": input }))
            }
            "tool_search_call" => {
                if it.get("execution").and_then(Value::as_str) == Some("server") {
                    self.hosted.push(ty.to_string());
                    return Ok(());
                }
                let hub = self
                    .tools
                    .hub_name_or_new(ToolKind::ToolSearch, None, "tool_search");
                let args = match &it["arguments"] {
                    v @ Value::Object(_) => v.clone(),
                    other => parse_arguments(other),
                };
                (hub, args)
            }
            // The old local shell tool: a call with an action.
            _ => (
                "local_shell".to_string(),
                json!({"action": it.get("action").cloned().unwrap_or(Value::Null)}),
            ),
        };
        self.push(
            "assistant",
            vec![json!({"type": "tool_use", "id": id, "name": name, "input": input})],
        );
        Ok(())
    }

    fn tool_search_output(&mut self, param: &str, it: &Value) -> Result<(), InboundError> {
        if it.get("execution").and_then(Value::as_str) == Some("server") {
            self.hosted.push("tool_search_output".into());
            return Ok(());
        }
        let id = call_id(param, it)?;
        let mut names = Vec::new();
        let mut left_out = Vec::new();
        if let Some(list) = it.get("tools").and_then(Value::as_array) {
            for (j, t) in list.iter().enumerate() {
                let before = self.loaded_tools.len();
                self.tools.tool(
                    &format!("{param}.tools[{j}]"),
                    t,
                    None,
                    &mut self.loaded_tools,
                    &mut left_out,
                )?;
                names.extend(
                    self.loaded_tools[before..]
                        .iter()
                        .filter_map(|t| t["name"].as_str().map(String::from)),
                );
            }
        }
        let text = if names.is_empty() {
            "No tools found.".to_string()
        } else {
            format!("Tools loaded, now callable: {}", names.join(", "))
        };
        self.push(
            "user",
            vec![tool_result(&id, vec![text_block(text)], false)],
        );
        Ok(())
    }

    /// Pair calls and results, and say what was left out.
    pub(super) fn finish(mut self) -> Done {
        let mut notes = Vec::new();
        let (interrupted, orphans) = pair_tools(&mut self.turns);
        if interrupted > 0 {
            notes.push(format!(
                "{interrupted} tool call(s) without an output answered with {INTERRUPTED:?}"
            ));
        }
        if orphans > 0 {
            notes.push(format!(
                "{orphans} tool output(s) without their call sent as user text"
            ));
        }
        if self.dropped_reasoning > 0 {
            notes.push(format!(
                "left out {} reasoning item(s) not made through Switchyard (another provider's encrypted reasoning)",
                self.dropped_reasoning
            ));
        }
        if !self.unknown.is_empty() {
            notes.push(format!(
                "left out input item(s) of unknown type: {}",
                self.unknown.join(", ")
            ));
        }
        if !self.hosted.is_empty() {
            notes.push(format!(
                "left out item(s) of tools that ran on OpenAI's servers: {}",
                self.hosted.join(", ")
            ));
        }
        let tool_loop_without_thinking = match self.turns.as_slice() {
            [.., (_, assistant), ("user", last)]
                if last.iter().any(|b| b["type"] == "tool_result") =>
            {
                !assistant.first().is_some_and(|b| {
                    matches!(b["type"].as_str(), Some("thinking" | "redacted_thinking"))
                })
            }
            _ => false,
        };
        Done {
            system: self.system,
            turns: self.turns,
            loaded_tools: self.loaded_tools,
            tool_loop_without_thinking,
            notes,
        }
    }
}

/// Every `tool_use` answered in the next user turn, every `tool_result` answering a call of
/// the assistant turn before. Returns (calls answered as interrupted, results made text).
fn pair_tools(turns: &mut Vec<(&'static str, Vec<Value>)>) -> (usize, usize) {
    let mut interrupted = 0;
    let mut orphans = 0;
    let mut calls: HashSet<String> = HashSet::new();
    let mut i = 0;
    while i < turns.len() {
        if turns[i].0 == "assistant" {
            calls = turns[i]
                .1
                .iter()
                .filter(|b| b["type"] == "tool_use")
                .filter_map(|b| b["id"].as_str().map(String::from))
                .collect();
            if !calls.is_empty() && turns.get(i + 1).is_none_or(|t| t.0 != "user") {
                turns.insert(i + 1, ("user", Vec::new()));
            }
            i += 1;
            continue;
        }
        let content = &mut turns[i].1;
        let mut answered = HashSet::new();
        for b in content.iter_mut() {
            if b["type"] != "tool_result" {
                continue;
            }
            let id = b["tool_use_id"].as_str().unwrap_or("").to_string();
            if calls.contains(&id) && answered.insert(id.clone()) {
                continue;
            }
            orphans += 1;
            let mut text =
                format!("[result of tool call {id}, whose call is not in this conversation]");
            for part in b["content"].as_array().into_iter().flatten() {
                if let Some(t) = part["text"].as_str() {
                    text.push('\n');
                    text.push_str(t);
                }
            }
            *b = text_block(text);
        }
        let mut missing: Vec<Value> = calls
            .iter()
            .filter(|id| !answered.contains(*id))
            .map(|id| tool_result(id, vec![text_block(INTERRUPTED)], true))
            .collect();
        interrupted += missing.len();
        missing.sort_by(|a, b| a["tool_use_id"].as_str().cmp(&b["tool_use_id"].as_str()));
        let at = content
            .iter()
            .position(|b| b["type"] != "tool_result")
            .unwrap_or(content.len());
        content.splice(at..at, missing);
        calls.clear();
        i += 1;
    }
    (interrupted, orphans)
}

fn tool_result(id: &str, content: Vec<Value>, is_error: bool) -> Value {
    let mut r = json!({"type": "tool_result", "tool_use_id": id});
    if !content.is_empty() {
        r["content"] = Value::Array(content);
    }
    if is_error {
        r["is_error"] = Value::Bool(true);
    }
    r
}

/// A call's id in Anthropic's pattern; the same for the call and its output.
fn call_id(param: &str, it: &Value) -> Result<String, InboundError> {
    let raw = it
        .get("call_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid(format!("{param}.call_id"), "this item needs a call_id"))?;
    Ok(sanitize_tool_id(raw))
}

/// Function-call `arguments` (a JSON string) -> an `input` object. Empty -> `{}`; not an object
/// -> `{"_raw": text}`, so nothing the model produced is lost.
fn parse_arguments(args: &Value) -> Value {
    let text = match args {
        Value::String(s) => s.as_str(),
        Value::Object(_) => return args.clone(),
        _ => "",
    };
    if text.trim().is_empty() {
        return json!({});
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({ "_raw": text }),
    }
}

/// A tool output: a string, a list of content parts, or `{content, success}` (how older
/// clients report a failure). Returns the blocks and whether it is an error.
fn output_content(param: &str, out: &Value) -> Result<(Vec<Value>, bool), InboundError> {
    match out {
        Value::Null => Ok((Vec::new(), false)),
        Value::String(s) if s.is_empty() => Ok((Vec::new(), false)),
        Value::String(s) => Ok((vec![text_block(s.clone())], false)),
        Value::Array(_) => Ok((user_content(param, out)?, false)),
        Value::Object(o) => {
            let failed = o.get("success").and_then(Value::as_bool) == Some(false);
            let (blocks, _) = output_content(param, o.get("content").unwrap_or(&Value::Null))?;
            Ok((blocks, failed))
        }
        _ => Err(invalid(
            param,
            "a tool output must be a string or a list of parts",
        )),
    }
}

/// Text of a system or developer message.
fn only_text(param: &str, content: &Value) -> Result<String, InboundError> {
    match content {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => {
            let mut out = Vec::new();
            for (k, p) in parts.iter().enumerate() {
                match (p["type"].as_str(), p["text"].as_str()) {
                    (Some("input_text" | "text" | "output_text"), Some(t)) => out.push(t),
                    _ => {
                        return Err(invalid(
                            format!("{param}[{k}]"),
                            "only text is allowed in system and developer messages",
                        ))
                    }
                }
            }
            Ok(out.join("\n\n"))
        }
        _ => Err(invalid(
            param,
            "content must be a string or a list of parts",
        )),
    }
}

fn assistant_text(param: &str, content: &Value) -> Result<String, InboundError> {
    match content {
        Value::Array(parts) => {
            let mut out = Vec::new();
            for (k, p) in parts.iter().enumerate() {
                match p["type"].as_str() {
                    Some("output_text" | "input_text" | "text") => {
                        out.push(p["text"].as_str().unwrap_or(""))
                    }
                    Some("refusal") => out.push(p["refusal"].as_str().unwrap_or("")),
                    _ => {
                        return Err(invalid(
                            format!("{param}[{k}]"),
                            "assistant content parts must be output_text or refusal",
                        ))
                    }
                }
            }
            Ok(out.concat())
        }
        other => only_text(param, other),
    }
}

/// User content (also tool outputs given as parts): text, images and PDF files.
fn user_content(param: &str, content: &Value) -> Result<Vec<Value>, InboundError> {
    let parts = match content {
        Value::Null => return Ok(Vec::new()),
        Value::String(s) if s.is_empty() => return Ok(Vec::new()),
        Value::String(s) => return Ok(vec![text_block(s.clone())]),
        Value::Array(parts) => parts,
        _ => {
            return Err(invalid(
                param,
                "content must be a string or a list of parts",
            ))
        }
    };
    let mut out = Vec::new();
    for (k, p) in parts.iter().enumerate() {
        let here = format!("{param}[{k}]");
        match p["type"].as_str() {
            Some("input_text" | "text" | "output_text") => {
                let t = p["text"].as_str().unwrap_or("");
                if !t.is_empty() {
                    out.push(text_block(t));
                }
            }
            Some("input_image") => out.push(image_block(&here, p)?),
            Some("input_file") => out.push(file_block(&here, p)?),
            Some("input_audio") => return Err(unsupported(here, "audio input is not supported")),
            other => {
                return Err(invalid(
                    here,
                    format!("unknown content part type {:?}", other.unwrap_or("")),
                ))
            }
        }
    }
    Ok(out)
}

/// `data:<mime>;base64,<data>` -> `(mime, data)`.
fn data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    Some((meta.strip_suffix(";base64")?, data))
}

fn image_block(param: &str, p: &Value) -> Result<Value, InboundError> {
    let url = p["image_url"]
        .as_str()
        .or_else(|| p["image_url"]["url"].as_str())
        .ok_or_else(|| {
            if p.get("file_id").is_some() {
                unsupported(param, "images sent as file_id need OpenAI's file storage: send them as image_url (a data URL or https)")
            } else {
                invalid(param, "input_image needs an image_url")
            }
        })?;
    if url.starts_with("data:") {
        let (mime, data) = data_url(url)
            .ok_or_else(|| invalid(param, "an image data URL must be data:<type>;base64,<data>"))?;
        if !matches!(
            mime,
            "image/jpeg" | "image/png" | "image/gif" | "image/webp"
        ) {
            return Err(invalid(
                param,
                format!("image type {mime:?} is not supported (jpeg, png, gif, webp)"),
            ));
        }
        return Ok(
            json!({"type": "image", "source": {"type": "base64", "media_type": mime, "data": data}}),
        );
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(json!({"type": "image", "source": {"type": "url", "url": url}}));
    }
    Err(invalid(
        param,
        "an image_url must be http(s) or a base64 data URL",
    ))
}

fn file_block(param: &str, p: &Value) -> Result<Value, InboundError> {
    let data = p["file_data"].as_str().unwrap_or("");
    match data_url(data) {
        Some(("application/pdf", b64)) => {
            let mut d = json!({"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": b64}});
            if let Some(name) = p["filename"].as_str().filter(|n| !n.is_empty()) {
                d["title"] = json!(name);
            }
            Ok(d)
        }
        // A bare base64 payload with a .pdf name (how the OpenAI SDK examples send it).
        None if !data.is_empty()
            && p["filename"].as_str().is_some_and(|n| n.to_ascii_lowercase().ends_with(".pdf")) =>
        {
            Ok(json!({"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": data}}))
        }
        _ => Err(unsupported(
            param,
            "only PDF files sent inline as file_data (data:application/pdf;base64,...) are supported",
        )),
    }
}
