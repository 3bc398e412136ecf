//! Responses request -> Anthropic Messages request: the top-level fields (model, limits,
//! reasoning, sampling, output format, tools and tool choice). The `input` items are read in
//! `input.rs`.

use serde_json::{json, Map, Value};

use super::input::Conversation;
use super::tools::{ToolKind, ToolMap};
use crate::translate::inbound_openai::InboundError;

/// `max_tokens` when the client sends no `max_output_tokens` (Anthropic requires one; the
/// Responses API does not, and Codex CLI never sends it). Claude Code's own default: large
/// enough for a whole file edit in one tool call.
pub const DEFAULT_MAX_TOKENS: u64 = 32_000;

/// The translated request and what the reply needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// The Anthropic Messages body.
    pub body: Value,
    /// The model name the client asked for (echoed in every answer).
    pub model: String,
    /// Streaming was asked for.
    pub stream: bool,
    /// How hub tool names map back to the client's tools (function, custom, namespaced).
    pub tools: ToolMap,
    /// Request fields the response object echoes (`instructions`, `tool_choice`,
    /// `max_output_tokens`, `reasoning`, `text`, ...).
    pub echo: Map<String, Value>,
    /// What had to be dropped or changed, for the log.
    pub notes: Vec<String>,
}

pub(super) fn invalid(param: impl Into<String>, message: impl Into<String>) -> InboundError {
    InboundError {
        message: message.into(),
        param: Some(param.into()),
        code: "invalid_value",
    }
}

pub(super) fn unsupported(param: impl Into<String>, message: impl Into<String>) -> InboundError {
    InboundError {
        message: message.into(),
        param: Some(param.into()),
        code: "unsupported_parameter",
    }
}

/// Thinking budgets for `reasoning.effort` (Anthropic's minimum budget is 1024).
fn budget_for(effort: &str) -> Result<Option<u64>, InboundError> {
    Ok(match effort {
        "none" | "minimal" => None,
        "low" => Some(2048),
        "medium" => Some(8192),
        "high" => Some(16384),
        "xhigh" | "max" => Some(24576),
        other => {
            return Err(invalid(
                "reasoning.effort",
                format!(
                "reasoning.effort must be none, minimal, low, medium, high or xhigh, not {other:?}"
            ),
            ))
        }
    })
}

/// Request fields that need state Switchyard does not keep, or work it cannot do: refused
/// with a 400 naming the field, before anything reaches a provider.
fn refuse_stateful(obj: &Map<String, Value>) -> Result<(), InboundError> {
    let present = |k: &str| obj.get(k).is_some_and(|v| !v.is_null());
    if let Some(id) = obj.get("previous_response_id").filter(|v| !v.is_null()) {
        return Err(InboundError {
            message: format!(
                "Previous response with id {id} not found: Switchyard keeps no responses \
                 (every provider behind it must be able to serve every turn). Send the whole \
                 conversation in `input` with `store: false`, as Codex CLI does."
            ),
            param: Some("previous_response_id".into()),
            code: "previous_response_not_found",
        });
    }
    if present("conversation") {
        return Err(unsupported(
            "conversation",
            "conversations are not available through Switchyard (it keeps no state): send the \
             whole conversation in `input`",
        ));
    }
    if obj.get("background").and_then(Value::as_bool) == Some(true) {
        return Err(unsupported(
            "background",
            "background responses are not available through Switchyard: stream the response \
             or wait for it",
        ));
    }
    if present("prompt") {
        return Err(unsupported(
            "prompt",
            "stored prompt templates are not available through Switchyard: send the \
             instructions and input themselves",
        ));
    }
    if obj
        .get("top_logprobs")
        .and_then(Value::as_u64)
        .is_some_and(|n| n > 0)
    {
        return Err(unsupported(
            "top_logprobs",
            "logprobs are not available through Switchyard (Anthropic-API providers do not \
             return them)",
        ));
    }
    Ok(())
}

/// Translate a Responses request body. See the module docs for the decisions made.
pub fn to_anthropic(req: &Value) -> Result<Inbound, InboundError> {
    let obj = req.as_object().ok_or_else(|| InboundError {
        message: "the request body must be a JSON object".into(),
        param: None,
        code: "invalid_value",
    })?;
    refuse_stateful(obj)?;
    let model = match obj.get("model") {
        Some(Value::String(m)) if !m.trim().is_empty() => m.clone(),
        _ => return Err(invalid("model", "model is required (a model name string)")),
    };
    let stream = match obj.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("stream", "stream must be true or false")),
    };
    let mut tools = ToolMap::default();
    let mut hub_tools = tools.read(obj.get("tools"))?;

    let mut conv = Conversation::new(&mut tools);
    match obj.get("instructions") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => conv.instructions(s),
        Some(Value::Array(items)) => {
            for (i, it) in items.iter().enumerate() {
                conv.item(&format!("instructions[{i}]"), it)?;
            }
        }
        Some(_) => {
            return Err(invalid(
                "instructions",
                "instructions must be a string or a list of messages",
            ))
        }
    }
    match obj.get("input") {
        Some(Value::String(s)) if !s.is_empty() => conv.user_text(s),
        Some(Value::Array(items)) => {
            for (i, it) in items.iter().enumerate() {
                conv.item(&format!("input[{i}]"), it)?;
            }
        }
        _ => {
            return Err(invalid(
                "input",
                "input must be a non-empty string or a list of input items",
            ))
        }
    }
    let done = conv.finish();
    if done.turns.is_empty() {
        return Err(invalid(
            "input",
            "input must include at least one user or assistant message",
        ));
    }
    let mut system = done.system;
    let mut notes = done.notes;
    for t in done.loaded_tools {
        if !hub_tools.iter().any(|h| h["name"] == t["name"]) {
            hub_tools.push(t);
        }
    }
    if let Some(instr) = text_format(obj.get("text"))? {
        system.push(instr);
    }
    // A JSON schema is also the hub's structured output, which every provider kind honours
    // natively (the instruction above is for vendors that ignore it).
    let schema = obj
        .get("text")
        .and_then(|t| t.get("format"))
        .filter(|f| f["type"] == "json_schema")
        .map(|f| f["schema"].clone())
        .filter(Value::is_object);

    let mut out = Map::new();
    out.insert("model".into(), Value::String(model.clone()));
    let max_tokens = match obj.get("max_output_tokens").filter(|v| !v.is_null()) {
        None => DEFAULT_MAX_TOKENS,
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => n,
            _ => {
                return Err(invalid(
                    "max_output_tokens",
                    "max_output_tokens must be a positive integer",
                ))
            }
        },
    };
    let reasoning = obj.get("reasoning").filter(|v| !v.is_null());
    let mut budget = match reasoning.map(|r| &r["effort"]) {
        None | Some(Value::Null) => None,
        Some(Value::String(e)) => budget_for(e)?,
        Some(_) => {
            return Err(invalid(
                "reasoning.effort",
                "reasoning.effort must be a string",
            ))
        }
    };
    if budget.is_some() && done.tool_loop_without_thinking {
        // Anthropic wants the signed thinking block back before the tool call it led to; this
        // step's history has none (the call came from a provider that did not think, or the
        // client dropped it), so this step is answered without thinking.
        budget = None;
        notes.push("thinking off for this step: the tool call being answered has no signed thinking before it".into());
    }
    let messages: Vec<Value> = done
        .turns
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
    if let Some(schema) = schema {
        out.insert(
            "output_config".into(),
            json!({"format": {"type": "json_schema", "schema": schema}}),
        );
    }
    if !hub_tools.is_empty() {
        out.insert("tools".into(), Value::Array(hub_tools));
        if let Some(tc) = tool_choice(obj, &tools)? {
            out.insert("tool_choice".into(), tc);
        }
    }
    let user = obj
        .get("safety_identifier")
        .or_else(|| obj.get("user"))
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty());
    if let Some(u) = user {
        out.insert("metadata".into(), json!({ "user_id": u }));
    }
    if stream {
        out.insert("stream".into(), Value::Bool(true));
    }
    notes.append(&mut tools.notes);
    Ok(Inbound {
        body: Value::Object(out),
        model,
        stream,
        echo: echo(obj),
        tools,
        notes,
    })
}

/// The request fields a response object repeats (what the API documents it echoes).
fn echo(obj: &Map<String, Value>) -> Map<String, Value> {
    let mut e = Map::new();
    let get = |k: &str| obj.get(k).filter(|v| !v.is_null()).cloned();
    e.insert(
        "instructions".into(),
        match obj.get("instructions") {
            Some(Value::String(s)) => Value::String(s.clone()),
            _ => Value::Null,
        },
    );
    e.insert(
        "max_output_tokens".into(),
        get("max_output_tokens").unwrap_or(Value::Null),
    );
    e.insert(
        "parallel_tool_calls".into(),
        get("parallel_tool_calls").unwrap_or(Value::Bool(true)),
    );
    e.insert(
        "tool_choice".into(),
        get("tool_choice").unwrap_or_else(|| json!("auto")),
    );
    e.insert(
        "temperature".into(),
        get("temperature").unwrap_or(json!(1.0)),
    );
    e.insert("top_p".into(), get("top_p").unwrap_or(json!(1.0)));
    let reasoning = obj.get("reasoning");
    e.insert(
        "reasoning".into(),
        json!({
            "effort": reasoning.map_or(Value::Null, |r| r["effort"].clone()),
            "summary": reasoning.map_or(Value::Null, |r| r["summary"].clone()),
        }),
    );
    let mut text = get("text").unwrap_or_else(|| json!({}));
    if text.get("format").is_none() {
        text["format"] = json!({"type": "text"});
    }
    e.insert("text".into(), text);
    e.insert("store".into(), get("store").unwrap_or(Value::Bool(false)));
    e.insert(
        "metadata".into(),
        get("metadata").unwrap_or_else(|| json!({})),
    );
    e.insert(
        "truncation".into(),
        get("truncation").unwrap_or_else(|| json!("disabled")),
    );
    for k in [
        "prompt_cache_key",
        "safety_identifier",
        "user",
        "service_tier",
    ] {
        if let Some(v) = get(k) {
            e.insert(k.into(), v);
        }
    }
    e
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
    // Anthropic refuses temperature with thinking, and top_p below 0.95 with it.
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
    Ok(())
}

/// `text.format` (structured output) and `text.verbosity` as a system instruction (best
/// effort: not every provider behind Switchyard has a native JSON mode).
fn text_format(text: Option<&Value>) -> Result<Option<String>, InboundError> {
    let Some(text) = text.filter(|v| v.is_object()) else {
        return Ok(None);
    };
    let mut parts = Vec::new();
    match text.get("format").filter(|f| !f.is_null()) {
        None => {}
        Some(f) => match f.get("type").and_then(Value::as_str) {
            Some("text") => {}
            Some("json_object") => {
                parts.push("Respond with one valid JSON object and nothing else.".to_string())
            }
            Some("json_schema") => parts.push(format!(
                "Respond with one valid JSON value that matches this JSON Schema, and nothing \
                 else: {}",
                f["schema"]
            )),
            _ => {
                return Err(invalid(
                    "text.format.type",
                    "text.format.type must be text, json_object or json_schema",
                ))
            }
        },
    }
    match text.get("verbosity").and_then(Value::as_str) {
        Some("low") => parts.push("Keep the answer short: no more detail than asked for.".into()),
        Some("high") => parts.push("Answer thoroughly, with full detail.".into()),
        _ => {}
    }
    Ok((!parts.is_empty()).then(|| parts.join("\n\n")))
}

fn tool_choice(obj: &Map<String, Value>, tools: &ToolMap) -> Result<Option<Value>, InboundError> {
    let mut tc = match obj.get("tool_choice").filter(|v| !v.is_null()) {
        None => None,
        Some(Value::String(s)) => match s.as_str() {
            "auto" => Some(json!({"type": "auto"})),
            "none" => Some(json!({"type": "none"})),
            "required" => Some(json!({"type": "any"})),
            other => {
                return Err(invalid(
                    "tool_choice",
                    format!(
                        "tool_choice must be auto, none, required or a named tool, not {other:?}"
                    ),
                ))
            }
        },
        Some(Value::Object(o)) => match o.get("type").and_then(Value::as_str) {
            Some("function") | Some("custom") => {
                let name = o.get("name").and_then(Value::as_str).ok_or_else(|| {
                    invalid("tool_choice.name", "a named tool_choice needs a name")
                })?;
                let kind = if o["type"] == "custom" {
                    ToolKind::Custom
                } else {
                    ToolKind::Function
                };
                let hub = tools.hub_name(kind, None, name).ok_or_else(|| {
                    invalid(
                        "tool_choice.name",
                        format!("tool_choice names {name:?}, which is not among the tools"),
                    )
                })?;
                Some(json!({"type": "tool", "name": hub}))
            }
            Some("allowed_tools") => match o.get("mode").and_then(Value::as_str) {
                Some("required") => Some(json!({"type": "any"})),
                _ => Some(json!({"type": "auto"})),
            },
            Some(other) => {
                return Err(unsupported(
                    "tool_choice",
                    format!(
                        "tool_choice {other:?} needs a tool that runs on OpenAI's servers, which \
                         the providers behind Switchyard do not have"
                    ),
                ))
            }
            None => return Err(invalid("tool_choice", "tool_choice has an unknown shape")),
        },
        Some(_) => return Err(invalid("tool_choice", "tool_choice has an unknown shape")),
    };
    if obj.get("parallel_tool_calls").and_then(Value::as_bool) == Some(false) {
        let t = tc.get_or_insert_with(|| json!({"type": "auto"}));
        if t["type"] != "none" {
            t["disable_parallel_tool_use"] = Value::Bool(true);
        }
    }
    Ok(tc)
}
