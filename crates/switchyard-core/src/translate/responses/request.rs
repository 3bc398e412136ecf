//! Anthropic request -> Responses request (`kind = "openai-responses"` providers).

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use super::{signature_for, ResponsesOptions, TranslateError, Translated};
use crate::translate::history::sanitize_tool_id;
use crate::translate::openai::sanitize_tool_name;

/// The output given to a call that has no `tool_result` (the Responses API refuses a
/// `function_call` without its output).
pub const INTERRUPTED: &str = "(no result: the user interrupted)";

fn err(msg: impl Into<String>) -> TranslateError {
    TranslateError(msg.into())
}

fn block_type(b: &Value) -> &str {
    b.get("type").and_then(Value::as_str).unwrap_or("")
}

fn role(m: &Value) -> &str {
    m.get("role").and_then(Value::as_str).unwrap_or("")
}

/// Texts of a string or a list of text blocks, joined by blank lines.
fn plain_text(v: &Value, what: &str) -> Result<String, TranslateError> {
    match v {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Array(blocks) => {
            let mut texts = Vec::new();
            for b in blocks {
                match block_type(b) {
                    "text" => {
                        let t = b["text"].as_str().unwrap_or("");
                        if !t.is_empty() {
                            texts.push(t);
                        }
                    }
                    other => {
                        return Err(err(format!(
                            "{what} blocks of type `{other}` cannot be sent to a Responses provider"
                        )))
                    }
                }
            }
            Ok(texts.join("\n\n"))
        }
        _ => Err(err(format!(
            "{what} must be a string or a list of text blocks"
        ))),
    }
}

fn input_text(text: impl Into<String>) -> Value {
    json!({"type": "input_text", "text": text.into()})
}

/// An Anthropic `image` block as an `input_image` part.
fn image_part(b: &Value) -> Result<Value, TranslateError> {
    let src = &b["source"];
    let url = match src["type"].as_str() {
        Some("base64") => format!(
            "data:{};base64,{}",
            src["media_type"].as_str().unwrap_or("image/png"),
            src["data"].as_str().unwrap_or("")
        ),
        Some("url") => src["url"].as_str().unwrap_or("").to_string(),
        other => {
            return Err(err(format!(
                "image source type `{}` cannot be sent to a Responses provider",
                other.unwrap_or("(none)")
            )))
        }
    };
    Ok(json!({"type": "input_image", "image_url": url, "detail": "auto"}))
}

/// An Anthropic `document` block: a PDF as an `input_file`, text as `input_text`.
fn document_part(b: &Value) -> Result<Value, TranslateError> {
    let src = &b["source"];
    let title = b["title"].as_str().filter(|t| !t.is_empty());
    match (src["type"].as_str(), src["media_type"].as_str()) {
        (Some("base64"), Some("application/pdf")) => Ok(json!({
            "type": "input_file",
            "filename": title.unwrap_or("document.pdf"),
            "file_data": format!("data:application/pdf;base64,{}", src["data"].as_str().unwrap_or("")),
        })),
        (Some("text"), _) => {
            let body = src["data"].as_str().unwrap_or("");
            Ok(input_text(match title {
                Some(t) => format!("Document: {t}\n\n{body}"),
                None => body.to_string(),
            }))
        }
        (Some("content"), _) => Ok(input_text(plain_text(&src["content"], "document")?)),
        _ => Err(err(
            "this kind of `document` block cannot be sent to a Responses provider (PDFs and text can)",
        )),
    }
}

/// Translate an Anthropic Messages request into a Responses request for `upstream_model`.
/// `provider_id` names this provider in thinking signatures: only reasoning this provider
/// produced goes back to it (as a reasoning item with its `encrypted_content`).
pub fn to_request(
    req: &Value,
    upstream_model: &str,
    stream: bool,
    provider_id: &str,
    opts: &ResponsesOptions,
) -> Result<Translated, TranslateError> {
    let obj = req
        .as_object()
        .ok_or_else(|| err("the request body must be a JSON object"))?;
    let mut cx = Cx {
        sig: signature_for(provider_id),
        notes: Vec::new(),
        names: Vec::new(),
        input: Vec::new(),
        dropped_thinking: 0,
        interrupted: 0,
        orphans: 0,
    };
    let mut body = Map::new();
    body.insert("model".into(), json!(upstream_model));
    if let Some(system) = obj.get("system") {
        let text = plain_text(system, "system")?;
        if !text.is_empty() {
            body.insert("instructions".into(), json!(text));
        }
    }
    let tools = cx.tools(obj.get("tools"))?;
    let messages = obj
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| err("`messages` must be an array"))?;
    cx.messages(messages)?;
    if messages.last().map(role) == Some("assistant") {
        cx.notes.push(
            "trailing assistant message (prefill) sent as the last assistant message; the provider may answer anew instead of continuing it".into(),
        );
    }
    body.insert("input".into(), Value::Array(std::mem::take(&mut cx.input)));
    cx.params(obj, opts, &mut body);
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
        cx.tool_choice(obj, &mut body);
    }
    cx.reasoning(obj, &mut body);
    body.insert("store".into(), json!(false));
    body.insert("include".into(), json!(["reasoning.encrypted_content"]));
    if stream {
        body.insert("stream".into(), json!(true));
    }
    cx.count_notes();
    Ok(Translated {
        body: Value::Object(body),
        notes: cx.notes,
        tool_names: cx.names,
    })
}

struct Cx {
    sig: String,
    notes: Vec<String>,
    names: Vec<(String, String)>,
    input: Vec<Value>,
    dropped_thinking: usize,
    interrupted: usize,
    orphans: usize,
}

impl Cx {
    fn tool_name(&mut self, client: &str) -> String {
        let up = sanitize_tool_name(client);
        if up != client && !self.names.iter().any(|(u, _)| *u == up) {
            self.names.push((up.clone(), client.to_string()));
        }
        up
    }

    fn tools(&mut self, tools: Option<&Value>) -> Result<Vec<Value>, TranslateError> {
        let mut out = Vec::new();
        let mut dropped = Vec::new();
        for t in tools.and_then(Value::as_array).into_iter().flatten() {
            let ty = t["type"].as_str();
            let name = t["name"].as_str();
            if t.get("input_schema").is_none() && !matches!(ty, None | Some("custom")) {
                dropped.push(name.or(ty).unwrap_or("?").to_string());
                continue;
            }
            let name = name.ok_or_else(|| err("a tool has no `name`"))?;
            let mut f = json!({
                "type": "function",
                "name": self.tool_name(name),
                "parameters": t.get("input_schema").cloned()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                "strict": false,
            });
            if let Some(d) = t["description"].as_str().filter(|d| !d.is_empty()) {
                f["description"] = json!(d);
            }
            out.push(f);
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
        let mut expected: HashSet<String> = HashSet::new();
        for (i, m) in msgs.iter().enumerate() {
            let content = m.get("content").unwrap_or(&Value::Null);
            let at = |e: TranslateError| err(format!("messages[{i}]: {}", e.0));
            match role(m) {
                "system" => {
                    let text = plain_text(content, "system message").map_err(at)?;
                    if !text.is_empty() {
                        self.input.push(json!({"type": "message", "role": "developer", "content": [input_text(text)]}));
                    }
                }
                "user" => {
                    self.user(content, &mut expected).map_err(at)?;
                }
                "assistant" => {
                    self.close_calls(&mut expected);
                    expected = self.assistant(content).map_err(at)?;
                }
                other => return Err(err(format!("messages[{i}]: unknown role `{other}`"))),
            }
        }
        self.close_calls(&mut expected);
        Ok(())
    }

    /// Calls still waiting for their output get [`INTERRUPTED`].
    fn close_calls(&mut self, expected: &mut HashSet<String>) {
        let mut ids: Vec<String> = expected.drain().collect();
        ids.sort();
        for id in ids {
            self.interrupted += 1;
            self.input.push(
                json!({"type": "function_call_output", "call_id": id, "output": INTERRUPTED}),
            );
        }
    }

    fn user(
        &mut self,
        content: &Value,
        expected: &mut HashSet<String>,
    ) -> Result<(), TranslateError> {
        let blocks = match content {
            Value::String(s) => {
                self.close_calls(expected);
                if !s.is_empty() {
                    self.input.push(json!({"type": "message", "role": "user", "content": [input_text(s.clone())]}));
                }
                return Ok(());
            }
            Value::Array(b) => b,
            _ => return Err(err("user content must be a string or a list of blocks")),
        };
        let mut parts = Vec::new();
        for b in blocks {
            match block_type(b) {
                "tool_result" => {
                    let id = sanitize_tool_id(b["tool_use_id"].as_str().unwrap_or(""));
                    let is_error = b["is_error"].as_bool() == Some(true);
                    let output = self.result_output(b.get("content"), is_error)?;
                    if expected.remove(&id) {
                        self.input.push(json!({"type": "function_call_output", "call_id": id, "output": output}));
                    } else {
                        self.orphans += 1;
                        let text = match &output {
                            Value::String(s) => s.clone(),
                            _ => "(see the content that follows)".into(),
                        };
                        parts.push(input_text(format!(
                            "[result of tool call {id}, whose call is not in this conversation]\n{text}"
                        )));
                    }
                }
                "text" => {
                    if let Some(t) = b["text"].as_str().filter(|t| !t.is_empty()) {
                        parts.push(input_text(t));
                    }
                }
                "image" => parts.push(image_part(b)?),
                "document" => parts.push(document_part(b)?),
                "thinking" | "redacted_thinking" => self.dropped_thinking += 1,
                other => {
                    return Err(err(format!(
                        "content blocks of type `{other}` in a user message cannot be sent to a Responses provider"
                    )))
                }
            }
        }
        self.close_calls(expected);
        if !parts.is_empty() {
            self.input
                .push(json!({"type": "message", "role": "user", "content": parts}));
        }
        Ok(())
    }

    /// A `tool_result`'s content as a call output: a string, or parts when it holds images.
    fn result_output(
        &mut self,
        content: Option<&Value>,
        is_error: bool,
    ) -> Result<Value, TranslateError> {
        let prefix = if is_error { "Error: " } else { "" };
        let (texts, images) = match content {
            None | Some(Value::Null) => (Vec::new(), Vec::new()),
            Some(Value::String(s)) => (vec![s.clone()], Vec::new()),
            Some(Value::Array(blocks)) => {
                let mut texts = Vec::new();
                let mut images = Vec::new();
                for b in blocks {
                    match block_type(b) {
                        "text" => texts.push(b["text"].as_str().unwrap_or("").to_string()),
                        "image" => images.push(image_part(b)?),
                        "document" => match document_part(b)? {
                            p if p["type"] == "input_text" => {
                                texts.push(p["text"].as_str().unwrap_or("").to_string())
                            }
                            p => images.push(p),
                        },
                        other => {
                            return Err(err(format!(
                                "tool_result content blocks of type `{other}` cannot be sent to a Responses provider"
                            )))
                        }
                    }
                }
                (texts, images)
            }
            Some(_) => {
                return Err(err(
                    "tool_result content must be a string or a list of blocks",
                ))
            }
        };
        let text = texts
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        if images.is_empty() {
            let text = if text.is_empty() {
                "(no output)".to_string()
            } else {
                text
            };
            return Ok(json!(format!("{prefix}{text}")));
        }
        let mut parts = Vec::new();
        if !text.is_empty() || is_error {
            parts.push(input_text(format!("{prefix}{text}")));
        }
        parts.extend(images);
        Ok(Value::Array(parts))
    }

    /// Emits the assistant turn as items; returns the ids of its calls.
    fn assistant(&mut self, content: &Value) -> Result<HashSet<String>, TranslateError> {
        let mut calls = HashSet::new();
        let blocks = match content {
            Value::Null => return Ok(calls),
            Value::String(s) => {
                if !s.is_empty() {
                    self.input.push(json!({"role": "assistant", "content": s}));
                }
                return Ok(calls);
            }
            Value::Array(b) => b,
            _ => {
                return Err(err(
                    "assistant content must be a string or a list of blocks",
                ))
            }
        };
        for b in blocks {
            match block_type(b) {
                "text" => {
                    if let Some(t) = b["text"].as_str().filter(|t| !t.is_empty()) {
                        self.input.push(json!({"role": "assistant", "content": t}));
                    }
                }
                "tool_use" => {
                    let id = sanitize_tool_id(b["id"].as_str().unwrap_or(""));
                    let name = self.tool_name(b["name"].as_str().unwrap_or(""));
                    let input = b.get("input").cloned().unwrap_or_else(|| json!({}));
                    self.input.push(json!({"type": "function_call", "call_id": id, "name": name, "arguments": input.to_string()}));
                    calls.insert(id);
                }
                "thinking" => {
                    let sig = b["signature"].as_str().unwrap_or("");
                    match sig.strip_prefix(&self.sig).filter(|enc| !enc.is_empty()) {
                        Some(enc) => {
                            let text = b["thinking"].as_str().unwrap_or("");
                            let summary = if text.trim().is_empty() {
                                json!([])
                            } else {
                                json!([{"type": "summary_text", "text": text}])
                            };
                            self.input.push(json!({"type": "reasoning", "summary": summary, "encrypted_content": enc}));
                        }
                        None => self.dropped_thinking += 1,
                    }
                }
                "redacted_thinking" => self.dropped_thinking += 1,
                // Server tools ran on Anthropic's side; another provider cannot continue them.
                t if t.starts_with("server_tool_use") || t.ends_with("_tool_result") || t.starts_with("mcp_") => {
                    self.notes.push(format!("dropped a `{t}` block from history (it ran on Anthropic)"));
                }
                other => {
                    return Err(err(format!(
                        "content blocks of type `{other}` in an assistant message cannot be sent to a Responses provider"
                    )))
                }
            }
        }
        Ok(calls)
    }

    fn params(
        &mut self,
        obj: &Map<String, Value>,
        opts: &ResponsesOptions,
        body: &mut Map<String, Value>,
    ) {
        if let Some(n) = obj.get("max_tokens").and_then(Value::as_u64) {
            let capped = opts.max_tokens_cap.map_or(n, |cap| n.min(cap));
            if capped < n {
                self.notes
                    .push(format!("clamped max_tokens {n} -> {capped}"));
            }
            body.insert("max_output_tokens".into(), json!(capped));
        }
        for key in ["temperature", "top_p"] {
            if let Some(v) = obj.get(key).filter(|v| v.is_number()) {
                body.insert(key.into(), v.clone());
            }
        }
        if obj.get("top_k").is_some_and(|v| !v.is_null()) {
            self.notes
                .push("dropped top_k (the Responses API has none)".into());
        }
        if obj
            .get("stop_sequences")
            .and_then(Value::as_array)
            .is_some_and(|s| !s.is_empty())
        {
            self.notes
                .push("dropped stop_sequences (the Responses API has none)".into());
        }
    }

    fn tool_choice(&mut self, obj: &Map<String, Value>, body: &mut Map<String, Value>) {
        let Some(choice) = obj.get("tool_choice") else {
            return;
        };
        let mapped = match choice["type"].as_str() {
            Some("any") => json!("required"),
            Some("none") => json!("none"),
            Some("tool") => {
                let name = self.tool_name(choice["name"].as_str().unwrap_or(""));
                json!({"type": "function", "name": name})
            }
            _ => json!("auto"),
        };
        body.insert("tool_choice".into(), mapped);
        if choice["disable_parallel_tool_use"].as_bool() == Some(true) {
            body.insert("parallel_tool_calls".into(), json!(false));
        }
    }

    /// Thinking settings as `reasoning.effort` (with the summary a client can show), and
    /// structured output (`output_config.format`) as `text.format`.
    fn reasoning(&mut self, obj: &Map<String, Value>, body: &mut Map<String, Value>) {
        if let Some(format) = obj.get("output_config").and_then(|o| o.get("format")) {
            if format["type"] == "json_schema" {
                body.insert(
                    "text".into(),
                    json!({"format": {"type": "json_schema", "name": "output",
                        "schema": format["schema"], "strict": false}}),
                );
            }
        }
        let effort = obj
            .get("output_config")
            .and_then(|o| o["effort"].as_str())
            .map(|e| match e {
                "max" => "high",
                other => other,
            })
            .map(String::from)
            .or_else(
                || match obj.get("thinking").and_then(|t| t["type"].as_str()) {
                    Some("enabled") => {
                        let budget = obj["thinking"]["budget_tokens"].as_u64().unwrap_or(0);
                        Some(
                            match budget {
                                0..=4095 => "low",
                                4096..=16383 => "medium",
                                _ => "high",
                            }
                            .into(),
                        )
                    }
                    Some("adaptive") => Some("medium".into()),
                    _ => None,
                },
            );
        if let Some(e) = effort {
            body.insert("reasoning".into(), json!({"effort": e, "summary": "auto"}));
        }
    }

    fn count_notes(&mut self) {
        for (n, what) in [
            (
                self.dropped_thinking,
                "dropped thinking block(s) from other providers",
            ),
            (
                self.interrupted,
                "tool call(s) without a result answered with \"(no result: the user interrupted)\"",
            ),
            (
                self.orphans,
                "tool result(s) without their call sent as user text",
            ),
        ] {
            if n > 0 {
                self.notes.push(format!("{n} {what}"));
            }
        }
    }
}
