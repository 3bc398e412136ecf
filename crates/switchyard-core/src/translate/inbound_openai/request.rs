//! Chat Completions request -> Anthropic Messages request.

use serde_json::{json, Map, Value};

/// `max_tokens` when the client sends neither `max_tokens` nor `max_completion_tokens`
/// (Anthropic requires one; Chat Completions does not).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// A request that cannot be served: an OpenAI-shaped 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InboundError {
    /// What is wrong, for a person.
    pub message: String,
    /// The offending parameter (`messages[2].content`, `n`...), when there is one.
    pub param: Option<String>,
    /// A machine-readable code (`unsupported_parameter`, `invalid_value`...).
    pub code: &'static str,
}

fn invalid(param: impl Into<String>, message: impl Into<String>) -> InboundError {
    InboundError {
        message: message.into(),
        param: Some(param.into()),
        code: "invalid_value",
    }
}

fn unsupported(param: &str, message: impl Into<String>) -> InboundError {
    InboundError {
        message: message.into(),
        param: Some(param.to_string()),
        code: "unsupported_parameter",
    }
}

/// The translated request and what the answer needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// The Anthropic Messages body.
    pub body: Value,
    /// The model name the client asked for (echoed in every answer).
    pub model: String,
    /// Streaming was asked for.
    pub stream: bool,
    /// `stream_options.include_usage`: send a usage chunk before `[DONE]`.
    pub include_usage: bool,
}

/// Thinking budgets for `reasoning_effort` (Anthropic's minimum budget is 1024).
fn budget_for(effort: &str) -> Result<Option<u64>, InboundError> {
    // "auto", "min" and "max" are SillyTavern's names.
    Ok(match effort {
        "none" | "minimal" | "min" | "auto" => None,
        "low" => Some(2048),
        "medium" => Some(8192),
        "high" | "xhigh" | "max" => Some(16384),
        other => {
            return Err(invalid(
                "reasoning_effort",
                format!(
                    "reasoning_effort must be none, minimal, low, medium or high, not {other:?}"
                ),
            ))
        }
    })
}

/// Translate a Chat Completions request body. See the module docs for the decisions made.
pub fn to_anthropic(req: &Value) -> Result<Inbound, InboundError> {
    let obj = req.as_object().ok_or_else(|| InboundError {
        message: "the request body must be a JSON object".into(),
        param: None,
        code: "invalid_value",
    })?;
    refuse_unservable(obj)?;
    let model = match obj.get("model") {
        Some(Value::String(m)) if !m.trim().is_empty() => m.clone(),
        _ => return Err(invalid("model", "model is required (a model name string)")),
    };
    let stream = match obj.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("stream", "stream must be true or false")),
    };
    let include_usage = stream
        && obj
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
    let messages = match obj.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        _ => {
            return Err(invalid(
                "messages",
                "messages must be a non-empty array of chat messages",
            ))
        }
    };
    let mut conv = Conversation::default();
    for (i, m) in messages.iter().enumerate() {
        conv.message(i, m)?;
    }
    let Conversation {
        mut system, turns, ..
    } = conv;
    if turns.is_empty() {
        return Err(invalid(
            "messages",
            "messages must include at least one user or assistant message",
        ));
    }
    if let Some(instr) = response_format(obj.get("response_format"))? {
        system.push(instr);
    }

    let mut out = Map::new();
    out.insert("model".into(), Value::String(model.clone()));
    let max_tokens = match obj
        .get("max_completion_tokens")
        .filter(|v| !v.is_null())
        .or_else(|| obj.get("max_tokens").filter(|v| !v.is_null()))
    {
        None => DEFAULT_MAX_TOKENS,
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => n,
            _ => {
                return Err(invalid(
                    "max_tokens",
                    "max_tokens must be a positive integer",
                ))
            }
        },
    };
    let mut budget = match obj.get("reasoning_effort") {
        None | Some(Value::Null) => None,
        Some(Value::String(e)) => budget_for(e)?,
        Some(_) => {
            return Err(invalid(
                "reasoning_effort",
                "reasoning_effort must be a string",
            ))
        }
    };
    if in_tool_loop(&turns) {
        // Anthropic wants the signed thinking block back before the tool call it led to, and
        // Chat Completions history cannot carry it: answer this step without thinking.
        budget = None;
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    out.insert("messages".into(), Value::Array(messages));
    if !system.is_empty() {
        out.insert("system".into(), Value::String(system.join("\n\n")));
    }
    match budget {
        Some(b) => {
            // Anthropic needs max_tokens above the budget; the client's limit is for the answer.
            let max = if max_tokens <= b {
                b + max_tokens
            } else {
                max_tokens
            };
            out.insert("max_tokens".into(), max.into());
            out.insert(
                "thinking".into(),
                json!({"type": "enabled", "budget_tokens": b}),
            );
        }
        None => {
            out.insert("max_tokens".into(), max_tokens.into());
        }
    }
    sampling(obj, budget.is_some(), &mut out)?;
    if let Some(stop) = stop_sequences(obj.get("stop"))? {
        out.insert("stop_sequences".into(), stop);
    }
    tools(obj, &mut out)?;
    if let Some(Value::String(u)) = obj.get("user") {
        if !u.is_empty() {
            out.insert("metadata".into(), json!({ "user_id": u }));
        }
    }
    if stream {
        out.insert("stream".into(), Value::Bool(true));
    }
    Ok(Inbound {
        body: Value::Object(out),
        model,
        stream,
        include_usage,
    })
}

/// Does the conversation end with tool results (the model is in the middle of a tool loop)?
fn in_tool_loop(turns: &[(&'static str, Vec<Value>)]) -> bool {
    turns.last().is_some_and(|(role, content)| {
        *role == "user" && content.iter().any(|b| b["type"] == "tool_result")
    })
}

/// Parameters whose meaning no provider behind us can honour: refuse rather than pretend.
fn refuse_unservable(obj: &Map<String, Value>) -> Result<(), InboundError> {
    if let Some(n) = obj.get("n").filter(|v| !v.is_null()) {
        if n.as_u64() != Some(1) {
            return Err(unsupported(
                "n",
                "only n = 1 is supported: Switchyard returns a single choice",
            ));
        }
    }
    if obj.get("logprobs").and_then(Value::as_bool) == Some(true)
        || obj.get("top_logprobs").is_some_and(|v| !v.is_null())
    {
        return Err(unsupported(
            "logprobs",
            "logprobs are not available through Switchyard (Anthropic-API providers do not return them)",
        ));
    }
    let audio_out = obj
        .get("modalities")
        .and_then(Value::as_array)
        .is_some_and(|m| m.iter().any(|x| x == "audio"));
    if audio_out || obj.get("audio").is_some_and(|v| !v.is_null()) {
        return Err(unsupported(
            "audio",
            "audio output is not supported: Switchyard answers with text only",
        ));
    }
    Ok(())
}

fn sampling(
    obj: &Map<String, Value>,
    thinking: bool,
    out: &mut Map<String, Value>,
) -> Result<(), InboundError> {
    let num = |name: &str| -> Result<Option<f64>, InboundError> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| invalid(name, format!("{name} must be a number"))),
        }
    };
    if let Some(t) = num("temperature")? {
        if !thinking {
            out.insert("temperature".into(), json!(t.clamp(0.0, 1.0)));
        }
    }
    if let Some(p) = num("top_p")? {
        if !thinking || p >= 0.95 {
            out.insert("top_p".into(), json!(p.clamp(0.0, 1.0)));
        }
    }
    if let Some(k) = obj.get("top_k").and_then(Value::as_u64) {
        if !thinking && k > 0 {
            out.insert("top_k".into(), k.into());
        }
    }
    Ok(())
}

fn stop_sequences(stop: Option<&Value>) -> Result<Option<Value>, InboundError> {
    let list: Vec<String> = match stop {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| {
                s.as_str()
                    .map(String::from)
                    .ok_or_else(|| invalid("stop", "stop must be a string or a list of strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(invalid(
                "stop",
                "stop must be a string or a list of strings",
            ))
        }
    };
    let list: Vec<String> = list.into_iter().filter(|s| !s.is_empty()).collect();
    Ok((!list.is_empty()).then(|| json!(list)))
}

/// `response_format` as a system instruction (see the module docs).
fn response_format(rf: Option<&Value>) -> Result<Option<String>, InboundError> {
    let Some(rf) = rf.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    match rf.get("type").and_then(Value::as_str) {
        Some("text") => Ok(None),
        Some("json_object") => Ok(Some(
            "Respond with one valid JSON object and nothing else.".into(),
        )),
        Some("json_schema") => {
            let schema = &rf["json_schema"]["schema"];
            Ok(Some(format!(
                "Respond with one valid JSON value that matches this JSON Schema, and nothing else: {schema}"
            )))
        }
        _ => Err(invalid(
            "response_format",
            "response_format.type must be text, json_object or json_schema",
        )),
    }
}

fn tools(obj: &Map<String, Value>, out: &mut Map<String, Value>) -> Result<(), InboundError> {
    let mut list = Vec::new();
    if let Some(Value::Array(ts)) = obj.get("tools") {
        for (i, t) in ts.iter().enumerate() {
            if t.get("type").and_then(Value::as_str).unwrap_or("function") != "function" {
                return Err(unsupported(
                    &format!("tools[{i}].type"),
                    "only function tools are supported",
                ));
            }
            list.push(function_tool(
                &t["function"],
                &format!("tools[{i}].function"),
            )?);
        }
    }
    if let Some(Value::Array(fs)) = obj.get("functions") {
        for (i, f) in fs.iter().enumerate() {
            list.push(function_tool(f, &format!("functions[{i}]"))?);
        }
    }
    if list.is_empty() {
        return Ok(());
    }
    out.insert("tools".into(), Value::Array(list));
    let choice = obj
        .get("tool_choice")
        .or_else(|| obj.get("function_call"))
        .filter(|v| !v.is_null());
    let mut tc = match choice {
        None => None,
        Some(Value::String(s)) => match s.as_str() {
            "auto" => Some(json!({"type": "auto"})),
            "none" => Some(json!({"type": "none"})),
            "required" => Some(json!({"type": "any"})),
            other => {
                return Err(invalid(
                    "tool_choice",
                    format!(
                    "tool_choice must be auto, none, required or a named function, not {other:?}"
                ),
                ))
            }
        },
        Some(Value::Object(o)) => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .or_else(|| o.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("tool_choice", "a named tool_choice needs function.name"))?;
            Some(json!({"type": "tool", "name": name}))
        }
        Some(_) => return Err(invalid("tool_choice", "tool_choice has an unknown shape")),
    };
    if obj.get("parallel_tool_calls").and_then(Value::as_bool) == Some(false) {
        let t = tc.get_or_insert_with(|| json!({"type": "auto"}));
        if t["type"] != "none" {
            t["disable_parallel_tool_use"] = Value::Bool(true);
        }
    }
    if let Some(tc) = tc {
        out.insert("tool_choice".into(), tc);
    }
    Ok(())
}

fn function_tool(f: &Value, param: &str) -> Result<Value, InboundError> {
    let name = f
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid(param, "a function tool needs a name"))?;
    let mut t = Map::new();
    t.insert("name".into(), name.into());
    if let Some(d) = f.get("description").and_then(Value::as_str) {
        t.insert("description".into(), d.into());
    }
    let schema = match f.get("parameters") {
        // Anthropic requires an object schema; OpenAI clients sometimes leave `type` out.
        Some(Value::Object(p)) => {
            let mut p = p.clone();
            p.entry("type").or_insert_with(|| json!("object"));
            Value::Object(p)
        }
        _ => json!({"type": "object", "properties": {}}),
    };
    t.insert("input_schema".into(), schema);
    Ok(Value::Object(t))
}

/// Turns being built: `(role, content blocks)`; same-role neighbours are merged.
#[derive(Default)]
struct Conversation {
    system: Vec<String>,
    turns: Vec<(&'static str, Vec<Value>)>,
    /// Ids given to legacy `function_call`s, to pair them with `function` results.
    legacy_calls: Vec<String>,
}

impl Conversation {
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

    fn message(&mut self, i: usize, m: &Value) -> Result<(), InboundError> {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let param = format!("messages[{i}]");
        match role {
            "system" | "developer" => {
                let text = text_only(&m["content"], &format!("{param}.content"))?;
                if text.is_empty() {
                    return Ok(());
                }
                if self.turns.is_empty() {
                    self.system.push(text);
                } else {
                    self.push("user", vec![text_block(format!("[system] {text}"))]);
                }
            }
            "user" => {
                let blocks = user_content(&m["content"], &format!("{param}.content"))?;
                self.push("user", blocks);
            }
            "assistant" => {
                let mut blocks = Vec::new();
                let text = assistant_text(&m["content"], &format!("{param}.content"))?;
                if !text.is_empty() {
                    blocks.push(text_block(text));
                }
                if let Some(Value::Array(calls)) = m.get("tool_calls") {
                    for (j, c) in calls.iter().enumerate() {
                        let f = &c["function"];
                        let name =
                            f["name"]
                                .as_str()
                                .filter(|n| !n.is_empty())
                                .ok_or_else(|| {
                                    invalid(
                                        format!("{param}.tool_calls[{j}]"),
                                        "a tool call needs function.name",
                                    )
                                })?;
                        let id = c["id"].as_str().unwrap_or("");
                        blocks.push(json!({
                            "type": "tool_use",
                            "id": tool_id(id, i, j),
                            "name": name,
                            "input": parse_arguments(&f["arguments"]),
                        }));
                    }
                }
                if let Some(f) = m.get("function_call").filter(|v| v.is_object()) {
                    let id = format!("call_legacy_{i}");
                    self.legacy_calls.push(id.clone());
                    blocks.push(json!({
                        "type": "tool_use",
                        "id": id,
                        "name": f["name"].as_str().unwrap_or("function"),
                        "input": parse_arguments(&f["arguments"]),
                    }));
                }
                self.push("assistant", blocks);
            }
            "tool" | "function" => {
                let id = if role == "tool" {
                    let raw = m["tool_call_id"].as_str().ok_or_else(|| {
                        invalid(
                            format!("{param}.tool_call_id"),
                            "a tool message needs tool_call_id",
                        )
                    })?;
                    tool_id(raw, i, 0)
                } else {
                    self.legacy_calls.pop().ok_or_else(|| {
                        invalid(
                            param.clone(),
                            "a function message has no function_call before it",
                        )
                    })?
                };
                let text = text_only(&m["content"], &format!("{param}.content"))?;
                let mut block = json!({"type": "tool_result", "tool_use_id": id});
                if !text.is_empty() {
                    block["content"] = Value::String(text);
                }
                self.push("user", vec![block]);
            }
            "" => {
                return Err(invalid(
                    format!("{param}.role"),
                    "every message needs a role",
                ))
            }
            other => {
                return Err(invalid(
                    format!("{param}.role"),
                    format!("unknown message role {other:?}"),
                ))
            }
        }
        Ok(())
    }
}

fn text_block(text: String) -> Value {
    json!({"type": "text", "text": text})
}

/// A tool-call id in Anthropic's pattern (`^[a-zA-Z0-9_-]+$`); the same input always gives
/// the same id, so a call and its result still match.
fn tool_id(raw: &str, i: usize, j: usize) -> String {
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        format!("call_{i}_{j}")
    } else {
        clean
    }
}

/// Tool-call `arguments` (a JSON string) -> an `input` object. Empty -> `{}`; not an object
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

/// Text from a string or a list of `text` parts (system, tool and function messages).
fn text_only(content: &Value, param: &str) -> Result<String, InboundError> {
    match content {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => {
            let mut out = Vec::new();
            for p in parts {
                match (p["type"].as_str(), p["text"].as_str()) {
                    (Some("text"), Some(t)) => out.push(t),
                    _ => {
                        return Err(invalid(
                            param,
                            "only text parts are allowed in this message",
                        ))
                    }
                }
            }
            Ok(out.join("\n"))
        }
        _ => Err(invalid(
            param,
            "content must be a string or a list of parts",
        )),
    }
}

/// Assistant content: a string or `text`/`refusal` parts.
fn assistant_text(content: &Value, param: &str) -> Result<String, InboundError> {
    match content {
        Value::Array(parts) => {
            let mut out = Vec::new();
            for p in parts {
                match p["type"].as_str() {
                    Some("text") => out.push(p["text"].as_str().unwrap_or("")),
                    Some("refusal") => out.push(p["refusal"].as_str().unwrap_or("")),
                    _ => {
                        return Err(invalid(
                            param,
                            "assistant content parts must be text or refusal",
                        ))
                    }
                }
            }
            Ok(out.concat())
        }
        other => text_only(other, param),
    }
}

fn user_content(content: &Value, param: &str) -> Result<Vec<Value>, InboundError> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(vec![text_block(s.clone())]),
        Value::Array(parts) => {
            let mut out = Vec::new();
            for (k, p) in parts.iter().enumerate() {
                let here = format!("{param}[{k}]");
                match p["type"].as_str() {
                    Some("text") => {
                        let t = p["text"].as_str().unwrap_or("");
                        if !t.is_empty() {
                            out.push(text_block(t.to_string()));
                        }
                    }
                    Some("image_url") => {
                        let url = p["image_url"]["url"]
                            .as_str()
                            .or_else(|| p["image_url"].as_str())
                            .ok_or_else(|| invalid(here.clone(), "image_url needs a url"))?;
                        out.push(image_block(url, &here)?);
                    }
                    Some("file") => out.push(file_block(&p["file"], &here)?),
                    Some("input_audio") => {
                        return Err(unsupported(&here, "audio input is not supported"))
                    }
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
        _ => Err(invalid(
            param,
            "content must be a string or a list of parts",
        )),
    }
}

/// `data:<mime>;base64,<data>` -> `(mime, data)`.
fn data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let mime = meta.strip_suffix(";base64")?;
    Some((mime, data))
}

fn image_block(url: &str, param: &str) -> Result<Value, InboundError> {
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
        return Ok(json!({
            "type": "image",
            "source": {"type": "base64", "media_type": mime, "data": data},
        }));
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(json!({"type": "image", "source": {"type": "url", "url": url}}));
    }
    Err(invalid(
        param,
        "an image url must be http(s) or a base64 data URL",
    ))
}

fn file_block(file: &Value, param: &str) -> Result<Value, InboundError> {
    let data = file["file_data"].as_str().unwrap_or("");
    match data_url(data) {
        Some(("application/pdf", b64)) => Ok(json!({
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": b64},
        })),
        _ => Err(unsupported(
            param,
            "only PDF files sent inline as file_data (data:application/pdf;base64,...) are supported",
        )),
    }
}
