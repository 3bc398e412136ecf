//! Anthropic request -> Chat Completions request (PROTOCOL.md §3, "Anthropic request -> OpenAI").

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use super::blocks::{
    block_type, content_value, document_text, err, image_part, plain_text, search_result_text,
    text_part, tool_result_content,
};
use super::{
    sanitize_tool_id, sanitize_tool_name, signature_for, OpenAiOptions, Prefill, TranslateError,
    Translated,
};

/// The tool message synthesized for a `tool_use` that has no `tool_result`.
pub(crate) const INTERRUPTED: &str = "(no result: the user interrupted)";

/// Top-level fields this module reads.
const KNOWN: [&str; 14] = [
    "model",
    "max_tokens",
    "messages",
    "system",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
    "metadata",
    "stream",
];

/// Anthropic server-side blocks in history: they ran on Anthropic's side and mean nothing to
/// another provider, so they are dropped (with a note).
const SERVER_BLOCKS: [&str; 10] = [
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "tool_search_tool_result",
    "mcp_tool_use",
    "mcp_tool_result",
    "container_upload",
];

/// Translate an Anthropic Messages request into a Chat Completions request for
/// `upstream_model`. `provider_id` names this provider in thinking signatures: only thinking
/// this provider produced can go back to it. See the module docs for the decisions made.
pub fn to_request(
    req: &Value,
    upstream_model: &str,
    stream: bool,
    provider_id: &str,
    opts: &OpenAiOptions,
) -> Result<Translated, TranslateError> {
    let obj = req
        .as_object()
        .ok_or_else(|| err("the request body must be a JSON object"))?;
    let mut cx = Cx {
        opts,
        sig: signature_for(provider_id),
        notes: Vec::new(),
        names: Vec::new(),
        out: Vec::new(),
        counts: Counts::default(),
    };
    let tools = cx.tools(obj.get("tools"))?;
    if let Some(system) = obj.get("system") {
        let text = plain_text(system, "system")?;
        if !text.is_empty() {
            cx.out.push(json!({"role": "system", "content": text}));
        }
    }
    let messages = obj
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| err("`messages` must be an array"))?;
    cx.messages(messages)?;
    cx.prefill(messages);
    cx.count_notes();

    let mut body = Map::new();
    body.insert("model".into(), json!(upstream_model));
    body.insert("messages".into(), Value::Array(std::mem::take(&mut cx.out)));
    cx.sampling(obj, &mut body);
    cx.tool_fields(obj, tools, &mut body);
    cx.reasoning(obj, &mut body);
    if stream {
        body.insert("stream".into(), json!(true));
        if opts.stream_usage {
            body.insert("stream_options".into(), json!({"include_usage": true}));
        }
    }
    if let Some(user) = obj
        .get("metadata")
        .and_then(|m| m.get("user_id"))
        .and_then(Value::as_str)
    {
        body.insert("user".into(), json!(user));
    }
    let unknown: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !KNOWN.contains(k) && *k != "service_tier")
        .collect();
    if !unknown.is_empty() {
        cx.notes.push(format!(
            "dropped field(s) {} (not supported by Chat Completions)",
            unknown.join(", ")
        ));
    }
    Ok(Translated {
        body: Value::Object(body),
        notes: cx.notes,
        tool_names: cx.names,
    })
}

/// Ids of the `tool_result` blocks of a message.
fn result_ids(m: &Value) -> HashSet<String> {
    m.get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|b| block_type(b) == "tool_result")
        .filter_map(|b| b.get("tool_use_id").and_then(Value::as_str))
        .map(sanitize_tool_id)
        .collect()
}

fn role(m: &Value) -> &str {
    m.get("role").and_then(Value::as_str).unwrap_or("")
}

#[derive(Default)]
struct Counts {
    dropped_thinking: usize,
    server_blocks: usize,
    orphan_calls: usize,
    orphan_results: usize,
    empty_reasoning: usize,
}

/// Translation context.
pub(super) struct Cx<'a> {
    pub(super) opts: &'a OpenAiOptions,
    sig: String,
    pub(super) notes: Vec<String>,
    names: Vec<(String, String)>,
    out: Vec<Value>,
    counts: Counts,
}

impl Cx<'_> {
    /// The upstream name of a client tool name, recording the mapping when it changes.
    pub(super) fn tool_name(&mut self, client: &str) -> String {
        let up = sanitize_tool_name(client);
        if up != client && !self.names.iter().any(|(u, _)| *u == up) {
            self.names.push((up.clone(), client.to_string()));
        }
        up
    }

    fn tools(&mut self, tools: Option<&Value>) -> Result<Vec<Value>, TranslateError> {
        let Some(list) = tools.and_then(Value::as_array) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut dropped = Vec::new();
        for t in list {
            let ty = t.get("type").and_then(Value::as_str);
            let name = t.get("name").and_then(Value::as_str);
            if t.get("input_schema").is_none() && !matches!(ty, None | Some("custom")) {
                dropped.push(name.or(ty).unwrap_or("?").to_string());
                continue;
            }
            let name = name.ok_or_else(|| err("a tool has no `name`"))?;
            let mut f = json!({
                "name": self.tool_name(name),
                "parameters": t.get("input_schema").cloned()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
            });
            if let Some(d) = t.get("description").and_then(Value::as_str) {
                if !d.is_empty() {
                    f["description"] = json!(d);
                }
            }
            out.push(json!({"type": "function", "function": f}));
        }
        if !dropped.is_empty() {
            self.notes.push(format!(
                "dropped server tool(s) {} (they run only on Anthropic)",
                dropped.join(", ")
            ));
        }
        Ok(out)
    }

    fn messages(&mut self, msgs: &[Value]) -> Result<(), TranslateError> {
        // Calls of the assistant turn just before that the next user turn answers.
        let mut expected: Vec<String> = Vec::new();
        // System messages between those calls and their results (tool messages must follow
        // their assistant message directly).
        let mut deferred: Vec<Value> = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            let content = m.get("content").unwrap_or(&Value::Null);
            match role(m) {
                "system" => {
                    let text = plain_text(content, "system message")?;
                    if !text.is_empty() {
                        let msg = json!({"role": "system", "content": text});
                        if expected.is_empty() {
                            self.out.push(msg);
                        } else {
                            deferred.push(msg);
                        }
                    }
                }
                "user" => {
                    self.user(content, &expected, &mut deferred)
                        .map_err(|e| err(format!("messages[{i}]: {}", e.0)))?;
                    expected.clear();
                }
                "assistant" => {
                    let answered = msgs[i + 1..]
                        .iter()
                        .find(|m| role(m) != "system")
                        .filter(|m| role(m) == "user")
                        .map(result_ids)
                        .unwrap_or_default();
                    self.out.append(&mut deferred);
                    expected = self
                        .assistant(content, &answered)
                        .map_err(|e| err(format!("messages[{i}]: {}", e.0)))?;
                }
                other => return Err(err(format!("messages[{i}]: unknown role `{other}`"))),
            }
        }
        self.out.append(&mut deferred);
        Ok(())
    }

    fn user(
        &mut self,
        content: &Value,
        expected: &[String],
        deferred: &mut Vec<Value>,
    ) -> Result<(), TranslateError> {
        let blocks = match content {
            Value::String(s) => {
                self.out.append(deferred);
                if !s.is_empty() {
                    self.out.push(json!({"role": "user", "content": s}));
                }
                return Ok(());
            }
            Value::Array(blocks) => blocks,
            _ => return Err(err("user content must be a string or a list of blocks")),
        };
        let mut tool_msgs = Vec::new();
        let mut result_images = Vec::new();
        let mut parts = Vec::new();
        let mut answered = HashSet::new();
        for b in blocks {
            match block_type(b) {
                "tool_result" => {
                    let raw_id = b.get("tool_use_id").and_then(Value::as_str).unwrap_or("");
                    let id = sanitize_tool_id(raw_id);
                    let (text, images) = tool_result_content(b.get("content"))?;
                    let is_error = b.get("is_error").and_then(Value::as_bool) == Some(true);
                    let prefix = if is_error { "Error: " } else { "" };
                    if expected.contains(&id) && answered.insert(id.clone()) {
                        let text = match (text.is_empty(), images.is_empty()) {
                            (false, _) => text,
                            (true, true) => "(no output)".to_string(),
                            (true, false) => "(see the image(s) in the next message)".to_string(),
                        };
                        tool_msgs.push(json!({
                            "role": "tool", "tool_call_id": id, "content": format!("{prefix}{text}"),
                        }));
                        if !images.is_empty() {
                            result_images.push(text_part(format!("Image(s) from tool call {id}:")));
                            result_images.extend(images);
                        }
                    } else {
                        self.counts.orphan_results += 1;
                        parts.push(text_part(format!(
                            "[{prefix}result of tool call {id}, whose call is not in this \
                             conversation]\n{text}"
                        )));
                        parts.extend(images);
                    }
                }
                ty => {
                    if let Some(p) = self.user_part(b, ty)? {
                        parts.push(p);
                    }
                }
            }
        }
        self.out.append(&mut tool_msgs);
        self.out.append(deferred);
        result_images.append(&mut parts);
        if !result_images.is_empty() {
            self.out
                .push(json!({"role": "user", "content": content_value(result_images)}));
        }
        Ok(())
    }

    fn user_part(&mut self, b: &Value, ty: &str) -> Result<Option<Value>, TranslateError> {
        Ok(match ty {
            "text" => b
                .get("text")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(text_part),
            "image" => Some(image_part(b)?),
            "document" => Some(text_part(document_text(b)?)),
            "search_result" => Some(text_part(search_result_text(b)?)),
            "thinking" | "redacted_thinking" => {
                self.counts.dropped_thinking += 1;
                None
            }
            t if SERVER_BLOCKS.contains(&t) => {
                self.counts.server_blocks += 1;
                None
            }
            other => {
                return Err(err(format!(
                    "content blocks of type `{other}` in a user message cannot be sent to an \
                     OpenAI-compatible provider"
                )))
            }
        })
    }

    /// Emits the assistant message (and synthesized results for unanswered calls); returns
    /// the ids of the calls the next user turn answers.
    fn assistant(
        &mut self,
        content: &Value,
        answered: &HashSet<String>,
    ) -> Result<Vec<String>, TranslateError> {
        let mut texts: Vec<String> = Vec::new();
        let mut calls = Vec::new();
        let mut ids = Vec::new();
        let mut reasoning = String::new();
        let round_trip = self.opts.reasoning_round_trip;
        match content {
            Value::Null => {}
            Value::String(s) => texts.push(s.clone()),
            Value::Array(blocks) => {
                for b in blocks {
                    match block_type(b) {
                        "text" => texts.push(b["text"].as_str().unwrap_or("").to_string()),
                        "tool_use" => {
                            let id = sanitize_tool_id(b["id"].as_str().unwrap_or(""));
                            let name = self.tool_name(b["name"].as_str().unwrap_or(""));
                            let input = b.get("input").cloned().unwrap_or_else(|| json!({}));
                            calls.push(json!({"id": id, "type": "function",
                                "function": {"name": name, "arguments": input.to_string()}}));
                            ids.push(id);
                        }
                        "thinking" => {
                            let sig = b["signature"].as_str().unwrap_or("");
                            if round_trip && sig.starts_with(&self.sig) {
                                reasoning.push_str(b["thinking"].as_str().unwrap_or(""));
                            } else {
                                self.counts.dropped_thinking += 1;
                            }
                        }
                        "redacted_thinking" => self.counts.dropped_thinking += 1,
                        t if SERVER_BLOCKS.contains(&t) => self.counts.server_blocks += 1,
                        other => {
                            return Err(err(format!(
                                "content blocks of type `{other}` in an assistant message cannot \
                                 be sent to an OpenAI-compatible provider"
                            )))
                        }
                    }
                }
            }
            _ => {
                return Err(err(
                    "assistant content must be a string or a list of blocks",
                ))
            }
        }
        texts.retain(|t| !t.is_empty());
        if texts.is_empty() && calls.is_empty() {
            return Ok(Vec::new());
        }
        let mut msg = json!({"role": "assistant",
            "content": if texts.is_empty() { Value::Null } else { json!(texts.join("\n\n")) }});
        if !calls.is_empty() {
            msg["tool_calls"] = Value::Array(calls);
        }
        if let (true, Some(key)) = (round_trip, self.opts.reasoning.key()) {
            if !reasoning.is_empty() {
                msg[key] = json!(reasoning);
            } else if !ids.is_empty() {
                self.counts.empty_reasoning += 1;
                msg[key] = json!("");
            }
        }
        self.out.push(msg);
        let mut expected = Vec::new();
        for id in ids {
            if answered.contains(&id) {
                expected.push(id);
            } else {
                self.counts.orphan_calls += 1;
                self.out
                    .push(json!({"role": "tool", "tool_call_id": id, "content": INTERRUPTED}));
            }
        }
        Ok(expected)
    }

    /// Marks a trailing assistant message (prefill) per [`Prefill`].
    fn prefill(&mut self, msgs: &[Value]) {
        if msgs.last().map(role) != Some("assistant") {
            return;
        }
        let Some(last) = self.out.last_mut() else {
            return;
        };
        if last["role"] != "assistant" || last.get("tool_calls").is_some() {
            return;
        }
        match self.opts.prefill {
            Prefill::DeepSeekPrefix => last["prefix"] = json!(true),
            Prefill::KimiPartial => last["partial"] = json!(true),
            Prefill::Fallback => self.notes.push(
                "trailing assistant message (prefill) sent as the last assistant message; the \
                 provider may answer anew instead of continuing it"
                    .into(),
            ),
        }
    }

    fn count_notes(&mut self) {
        let c = &self.counts;
        for (n, what) in [
            (
                c.dropped_thinking,
                "dropped thinking block(s) from other providers",
            ),
            (c.server_blocks, "dropped server-tool block(s) from history"),
            (
                c.orphan_calls,
                "tool call(s) without a result answered with \"(no result: the user interrupted)\"",
            ),
            (
                c.orphan_results,
                "tool result(s) without their call sent as user text",
            ),
            (
                c.empty_reasoning,
                "empty reasoning sent back on tool-call turn(s) without this provider's reasoning",
            ),
        ] {
            if n > 0 {
                self.notes.push(format!("{n} {what}"));
            }
        }
    }
}
