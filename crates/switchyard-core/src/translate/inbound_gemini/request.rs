//! A Gemini `generateContent` request -> an Anthropic Messages request (the hub). The model
//! comes from the URL (`/v1beta/models/{model}:generateContent`), not the body.

use serde_json::{json, Map, Value};

use super::carrier;
use super::contents::Builder;
use super::schema::{json_schema_of, output_schema};

/// `max_tokens` when the client sends no `maxOutputTokens` (Anthropic requires one; Gemini
/// defaults to the model's own limit, which differs per vendor behind us).
pub const DEFAULT_MAX_TOKENS: u64 = 16_384;
/// Anthropic's smallest thinking budget.
const MIN_BUDGET: u64 = 1024;
/// The budget for Gemini's "dynamic" thinking (`thinkingBudget: -1`).
const DYNAMIC_BUDGET: u64 = 8192;

/// A request that cannot be served: a 400 `INVALID_ARGUMENT` in Google's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InboundError {
    /// What is wrong, naming the field (`contents[2].parts[0]`, ...).
    pub message: String,
}

pub(super) fn invalid(message: impl Into<String>) -> InboundError {
    InboundError {
        message: message.into(),
    }
}

/// The translated request and what shaping the answer needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// The Anthropic Messages body.
    pub body: Value,
    /// The model the client named in the URL (echoed as `modelVersion`).
    pub model: String,
    /// The client asked for thought text (`thinkingConfig.includeThoughts`).
    pub include_thoughts: bool,
    /// What the translation dropped or changed, for the log.
    pub notes: Vec<String>,
}

/// The model named in a path segment such as `models/gemini-2.5-pro` or `gemini-2.5-pro`.
pub fn model_of(name: &str) -> &str {
    name.strip_prefix("models/")
        .or_else(|| name.strip_prefix("tunedModels/"))
        .unwrap_or(name)
}

/// A field in camelCase or, as Google's REST API also accepts, snake_case.
pub(super) fn field<'a>(obj: &'a Map<String, Value>, camel: &str) -> Option<&'a Value> {
    obj.get(camel)
        .or_else(|| {
            let snake: String = camel
                .chars()
                .flat_map(|c| {
                    let lower = c.to_ascii_lowercase();
                    (c.is_ascii_uppercase())
                        .then_some('_')
                        .into_iter()
                        .chain(std::iter::once(lower))
                })
                .collect();
            obj.get(&snake)
        })
        .filter(|v| !v.is_null())
}

/// Translate a `generateContent` body for `model` (from the URL).
pub fn to_anthropic(req: &Value, model: &str, stream: bool) -> Result<Inbound, InboundError> {
    let obj = req
        .as_object()
        .ok_or_else(|| invalid("the request body must be a JSON object"))?;
    let model = model_of(model);
    if model.trim().is_empty() {
        return Err(invalid(
            "the URL names no model (models/{model}:generateContent)",
        ));
    }
    let mut notes = Vec::new();
    let contents = match field(obj, "contents") {
        Some(Value::Array(c)) if !c.is_empty() => c,
        _ => return Err(invalid("contents must be a non-empty list of Content")),
    };
    let messages = Builder::new().build(contents, &mut notes)?;
    if messages.is_empty() {
        return Err(invalid("contents holds no text, media or function parts"));
    }
    let mut out = Map::new();
    out.insert("model".into(), json!(model));
    let mut system = match field(obj, "systemInstruction") {
        Some(s) => system_text(s)?,
        None => String::new(),
    };

    let gc = match field(obj, "generationConfig") {
        None => Map::new(),
        Some(Value::Object(g)) => g.clone(),
        Some(_) => return Err(invalid("generationConfig must be an object")),
    };
    refuse_unservable(&gc)?;
    let mut budget = thinking_budget(&gc, &mut notes)?;
    if budget.is_some() && tool_loop_without_thinking(&messages) {
        // Anthropic wants the signed thinking that led to a tool call back before it; the
        // client's history lost it (or never had it): answer this step without thinking.
        notes.push(
            "thinking off for this step: the tool call's signed thinking is not in the history"
                .into(),
        );
        budget = None;
    }
    let max_tokens = match field(&gc, "maxOutputTokens") {
        None => DEFAULT_MAX_TOKENS,
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => n,
            _ => {
                return Err(invalid(
                    "generationConfig.maxOutputTokens must be a positive integer",
                ))
            }
        },
    };
    match budget {
        Some(b) => {
            // Anthropic counts thinking inside max_tokens; the client's limit is for the answer.
            let max = if max_tokens <= b {
                b + max_tokens
            } else {
                max_tokens
            };
            out.insert("max_tokens".into(), json!(max));
            out.insert(
                "thinking".into(),
                json!({"type": "enabled", "budget_tokens": b}),
            );
        }
        None => {
            out.insert("max_tokens".into(), json!(max_tokens));
        }
    }
    sampling(&gc, budget.is_some(), &mut out)?;
    if let Some(stops) = stop_sequences(&gc)? {
        out.insert("stop_sequences".into(), stops);
    }
    structured_output(&gc, &mut out, &mut system, &mut notes)?;
    out.insert("messages".into(), Value::Array(messages));
    if !system.is_empty() {
        out.insert("system".into(), json!(system));
    }
    tools(obj, &mut out, &mut notes)?;
    for (key, why) in [
        ("cachedContent", "cached contents live at Google: dropped"),
        (
            "safetySettings",
            "safety settings have no equivalent: dropped",
        ),
    ] {
        if field(obj, key).is_some() {
            notes.push(format!("{key}: {why}"));
        }
    }
    if stream {
        out.insert("stream".into(), json!(true));
    }
    let include_thoughts = field(&gc, "thinkingConfig")
        .and_then(|t| t.as_object())
        .and_then(|t| field(t, "includeThoughts"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(Inbound {
        body: Value::Object(out),
        model: model.to_string(),
        include_thoughts,
        notes,
    })
}

/// A `countTokens` body (`{"contents"}` or `{"generateContentRequest"}`) as an Anthropic
/// `count_tokens` body.
pub fn count_request(req: &Value, model: &str) -> Result<Value, InboundError> {
    let inner = req
        .get("generateContentRequest")
        .or_else(|| req.get("generate_content_request"))
        .filter(|v| v.is_object())
        .unwrap_or(req);
    let mut t = to_anthropic(inner, model, false)?.body;
    if let Some(o) = t.as_object_mut() {
        for k in [
            "max_tokens",
            "stream",
            "temperature",
            "top_p",
            "top_k",
            "stop_sequences",
        ] {
            o.remove(k);
        }
    }
    Ok(t)
}

/// `systemInstruction`: a Content of text parts (or a bare string, as some clients send).
fn system_text(v: &Value) -> Result<String, InboundError> {
    let parts = match v {
        Value::String(s) => return Ok(s.clone()),
        Value::Object(o) => match o.get("parts") {
            Some(Value::Array(p)) => p,
            None => return Ok(String::new()),
            Some(_) => return Err(invalid("systemInstruction.parts must be a list")),
        },
        _ => return Err(invalid("systemInstruction must be a Content object")),
    };
    let mut texts = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        match p.get("text").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => texts.push(t),
            Some(_) => {}
            None => {
                return Err(invalid(format!(
                    "systemInstruction.parts[{i}]: only text parts can be a system instruction"
                )))
            }
        }
    }
    Ok(texts.join("\n\n"))
}

/// Options no provider behind us can honour: refuse rather than pretend.
fn refuse_unservable(gc: &Map<String, Value>) -> Result<(), InboundError> {
    if let Some(n) = field(gc, "candidateCount") {
        if n.as_u64() != Some(1) {
            return Err(invalid(
                "generationConfig.candidateCount: only 1 is supported (Switchyard returns one candidate)",
            ));
        }
    }
    if field(gc, "responseLogprobs").and_then(Value::as_bool) == Some(true) {
        return Err(invalid(
            "generationConfig.responseLogprobs: log probabilities are not available through Switchyard",
        ));
    }
    if let Some(Value::Array(m)) = field(gc, "responseModalities") {
        if m.iter()
            .any(|x| !x.as_str().is_some_and(|s| s.eq_ignore_ascii_case("text")))
        {
            return Err(invalid(
                "generationConfig.responseModalities: Switchyard answers with TEXT only",
            ));
        }
    }
    Ok(())
}

/// `thinkingConfig` -> a thinking budget (`None`: thinking off).
///
/// | Gemini | budget |
/// |---|---|
/// | `thinkingBudget: 0`, or under 1024 | off (Anthropic's minimum is 1024: the client wants next to none) |
/// | `thinkingBudget: -1` (dynamic) | 8192 |
/// | `thinkingBudget: N` | N |
/// | `thinkingLevel` MINIMAL / LOW / MEDIUM / HIGH | off / 2048 / 8192 / 16384 |
fn thinking_budget(
    gc: &Map<String, Value>,
    notes: &mut Vec<String>,
) -> Result<Option<u64>, InboundError> {
    let Some(tc) = field(gc, "thinkingConfig") else {
        return Ok(None);
    };
    let tc = tc
        .as_object()
        .ok_or_else(|| invalid("generationConfig.thinkingConfig must be an object"))?;
    if let Some(b) = field(tc, "thinkingBudget") {
        let b = b
            .as_i64()
            .ok_or_else(|| invalid("thinkingConfig.thinkingBudget must be an integer"))?;
        return Ok(match b {
            -1 => Some(DYNAMIC_BUDGET),
            b if b < 0 => return Err(invalid("thinkingConfig.thinkingBudget must be -1 or more")),
            0 => None,
            b if (b as u64) < MIN_BUDGET => {
                notes.push(format!("thinking budget {b} is under Anthropic's minimum of {MIN_BUDGET}: thinking off"));
                None
            }
            b => Some(b as u64),
        });
    }
    if let Some(level) = field(tc, "thinkingLevel") {
        let level = level
            .as_str()
            .ok_or_else(|| invalid("thinkingConfig.thinkingLevel must be a string"))?;
        return match level.to_ascii_lowercase().as_str() {
            "minimal" | "thinking_level_unspecified" => Ok(None),
            "low" => Ok(Some(2048)),
            "medium" => Ok(Some(8192)),
            "high" => Ok(Some(16384)),
            other => Err(invalid(format!(
                "thinkingConfig.thinkingLevel must be MINIMAL, LOW, MEDIUM or HIGH, not {other:?}"
            ))),
        };
    }
    Ok(None)
}

/// Does the conversation end in a tool loop whose last assistant turn has a tool call but no
/// thinking block before it?
fn tool_loop_without_thinking(messages: &[Value]) -> bool {
    let n = messages.len();
    if n < 2 || messages[n - 1]["role"] != "user" {
        return false;
    }
    let results = messages[n - 1]["content"]
        .as_array()
        .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result"));
    let assistant = messages[n - 2]["content"].as_array();
    let first = assistant.and_then(|c| c.first());
    results
        && assistant.is_some_and(|c| c.iter().any(|b| b["type"] == "tool_use"))
        && !first.is_some_and(|b| b["type"] == "thinking" || b["type"] == "redacted_thinking")
}

fn sampling(
    gc: &Map<String, Value>,
    thinking: bool,
    out: &mut Map<String, Value>,
) -> Result<(), InboundError> {
    let num = |name: &str| -> Result<Option<f64>, InboundError> {
        match field(gc, name) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| invalid(format!("generationConfig.{name} must be a number"))),
        }
    };
    // Anthropic refuses temperature and top_k beside thinking, and top_p under 0.95.
    if let Some(t) = num("temperature")? {
        if !thinking {
            out.insert("temperature".into(), json!(t.clamp(0.0, 1.0)));
        }
    }
    if let Some(p) = num("topP")? {
        if !thinking || p >= 0.95 {
            out.insert("top_p".into(), json!(p.clamp(0.0, 1.0)));
        }
    }
    if let Some(k) = num("topK")? {
        if !thinking && k >= 1.0 {
            out.insert("top_k".into(), json!(k as u64));
        }
    }
    Ok(())
}

fn stop_sequences(gc: &Map<String, Value>) -> Result<Option<Value>, InboundError> {
    let Some(v) = field(gc, "stopSequences") else {
        return Ok(None);
    };
    let list = v
        .as_array()
        .ok_or_else(|| invalid("generationConfig.stopSequences must be a list of strings"))?;
    let mut out = Vec::new();
    for s in list {
        let s = s
            .as_str()
            .ok_or_else(|| invalid("generationConfig.stopSequences must be a list of strings"))?;
        if !s.is_empty() {
            out.push(s);
        }
    }
    Ok((!out.is_empty()).then(|| json!(out)))
}

/// `responseMimeType: application/json` with `responseJsonSchema` / `responseSchema` ->
/// `output_config.format` (the hub's structured output: Anthropic's own, which every
/// provider kind's adapter honours natively); JSON without a schema -> an instruction.
fn structured_output(
    gc: &Map<String, Value>,
    out: &mut Map<String, Value>,
    system: &mut String,
    notes: &mut Vec<String>,
) -> Result<(), InboundError> {
    let mime = field(gc, "responseMimeType")
        .and_then(Value::as_str)
        .unwrap_or("text/plain");
    let schema = match (field(gc, "responseJsonSchema"), field(gc, "responseSchema")) {
        // Gemini CLI writes its JSON schemas with Gemini's upper-case type names.
        (Some(s), _) => Some(output_schema(json_schema_of(s))),
        (None, Some(s)) => Some(output_schema(json_schema_of(s))),
        (None, None) => None,
    };
    match (mime, schema) {
        ("application/json", Some(schema)) => {
            // Said in words too: not every vendor behind an Anthropic-style endpoint honours
            // `output_config.format`, and Gemini CLI retries a classifier call five times when
            // its answer is not JSON.
            if !system.is_empty() {
                system.push_str("\n\n");
            }
            system.push_str(&format!(
                "Respond with one valid JSON value that matches this JSON Schema, and nothing else: {schema}"
            ));
            out.insert(
                "output_config".into(),
                json!({"format": {"type": "json_schema", "schema": schema}}),
            );
        }
        ("application/json", None) => {
            if !system.is_empty() {
                system.push_str("\n\n");
            }
            system.push_str("Respond with one valid JSON value and nothing else.");
        }
        ("text/plain", None) => {}
        ("text/x.enum", Some(schema)) => {
            let values = schema["enum"].clone();
            if !system.is_empty() {
                system.push_str("\n\n");
            }
            system.push_str(&format!(
                "Respond with exactly one of these values and nothing else: {values}"
            ));
        }
        (other, _) => notes.push(format!("responseMimeType {other} not honoured: plain text")),
    }
    Ok(())
}

/// `tools[].functionDeclarations` -> Anthropic tools; `toolConfig` -> `tool_choice`. Gemini's
/// server tools (`googleSearch`, `codeExecution`, `urlContext`, ...) run only at Google: they
/// are dropped (a same-dialect Gemini provider gets the client's own bytes, with them).
fn tools(
    obj: &Map<String, Value>,
    out: &mut Map<String, Value>,
    notes: &mut Vec<String>,
) -> Result<(), InboundError> {
    let mut list = Vec::new();
    if let Some(v) = field(obj, "tools") {
        let tools = v
            .as_array()
            .ok_or_else(|| invalid("tools must be a list"))?;
        for (i, t) in tools.iter().enumerate() {
            let Some(t) = t.as_object() else {
                return Err(invalid(format!("tools[{i}] must be an object")));
            };
            for (key, v) in t {
                if key == "functionDeclarations" || key == "function_declarations" {
                    let decls = v.as_array().ok_or_else(|| {
                        invalid(format!("tools[{i}].functionDeclarations must be a list"))
                    })?;
                    for (j, d) in decls.iter().enumerate() {
                        list.push(declaration(
                            d,
                            &format!("tools[{i}].functionDeclarations[{j}]"),
                        )?);
                    }
                } else {
                    notes.push(format!("the {key} tool runs only at Google: dropped"));
                }
            }
        }
    }
    if list.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = list
        .iter()
        .filter_map(|t| t["name"].as_str().map(String::from))
        .collect();
    out.insert("tools".into(), Value::Array(list));
    let fcc = field(obj, "toolConfig")
        .and_then(Value::as_object)
        .and_then(|t| field(t, "functionCallingConfig"))
        .and_then(Value::as_object);
    let Some(fcc) = fcc else {
        return Ok(());
    };
    let mode = field(fcc, "mode").and_then(Value::as_str).unwrap_or("AUTO");
    let allowed: Vec<&str> = field(fcc, "allowedFunctionNames")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let choice = match mode.to_ascii_uppercase().as_str() {
        "ANY" if allowed.len() == 1 => {
            if !names.iter().any(|n| n == allowed[0]) {
                return Err(invalid(format!(
                    "toolConfig.functionCallingConfig.allowedFunctionNames names {:?}, which no functionDeclaration declares",
                    allowed[0]
                )));
            }
            json!({"type": "tool", "name": allowed[0]})
        }
        "ANY" => {
            if allowed.len() > 1 {
                notes.push("allowedFunctionNames with several names: any declared function may be called".into());
            }
            json!({"type": "any"})
        }
        "NONE" => json!({"type": "none"}),
        "AUTO" | "VALIDATED" | "MODE_UNSPECIFIED" => json!({"type": "auto"}),
        other => {
            return Err(invalid(format!(
                "toolConfig.functionCallingConfig.mode must be AUTO, ANY, NONE or VALIDATED, not {other:?}"
            )))
        }
    };
    out.insert("tool_choice".into(), choice);
    Ok(())
}

fn declaration(d: &Value, at: &str) -> Result<Value, InboundError> {
    let d = d
        .as_object()
        .ok_or_else(|| invalid(format!("{at} must be an object")))?;
    let name = d
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid(format!("{at}.name is required")))?;
    let mut schema = match (field(d, "parametersJsonSchema"), field(d, "parameters")) {
        (Some(s), _) | (None, Some(s)) => json_schema_of(s),
        (None, None) => json!({"type": "object", "properties": {}}),
    };
    match schema.as_object_mut() {
        // Anthropic requires an object schema at the top.
        Some(o) => {
            o.entry("type").or_insert_with(|| json!("object"));
        }
        None => return Err(invalid(format!("{at}.parameters must be a schema object"))),
    }
    let mut t = json!({"name": name, "input_schema": schema});
    if let Some(desc) = d
        .get("description")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        t["description"] = json!(desc);
    }
    Ok(t)
}

/// The hub thinking blocks a client's `thoughtSignature` carries (empty when it is not ours).
pub(super) fn carried(part: &Map<String, Value>) -> Vec<Value> {
    field(part, "thoughtSignature")
        .and_then(Value::as_str)
        .and_then(carrier::unpack)
        .unwrap_or_default()
}
