//! An Anthropic Messages request to a Gemini `generateContent` body (PROTOCOL.md §4).
//!
//! | Anthropic | Gemini |
//! |---|---|
//! | `system` (string or blocks) | `systemInstruction.parts[0].text`, block texts joined by blank lines |
//! | `messages` | `contents` (see the `contents` module) |
//! | `tools` | `tools[0].functionDeclarations` (server tools dropped, noted) |
//! | `tool_choice` auto / any / tool / none | `toolConfig.functionCallingConfig.mode` AUTO / ANY / ANY + `allowedFunctionNames` / NONE |
//! | `max_tokens` | `maxOutputTokens`, clamped to the provider's cap (noted) |
//! | `stop_sequences` | `stopSequences`, at most 5 (noted when cut) |
//! | `temperature`, `top_p`, `top_k` | `temperature`, `topP`, `topK` |
//! | `thinking`, `output_config.effort` | `thinkingConfig` (see [`thinking_config`]) |
//! | `output_config.format` json_schema | `responseMimeType: application/json` + `responseSchema` |
//! | `cache_control` | dropped (Gemini caches prefixes implicitly) |
//! | anything else (`context_management`, `container`, ...) | dropped, noted |

use serde_json::{json, Map, Value};

use super::contents::{system_text, Builder};
use super::{err, sanitize_schema, GeminiOptions, ThinkingStyle, TranslateError, Translated};

/// Gemini accepts at most this many stop sequences.
const MAX_STOP_SEQUENCES: usize = 5;
/// The largest thinking budget every Gemini 2.5 model accepts (Flash and Flash-Lite top out
/// here; Pro allows 32768). Larger Anthropic budgets are clamped rather than refused.
const MAX_THINKING_BUDGET: u64 = 24_576;
/// Top-level fields read by the translation (or deliberately ignored without a note).
const KNOWN: &[&str] = &[
    "model",
    "messages",
    "system",
    "max_tokens",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
    "output_config",
    "stream",
    "metadata",
];

/// Translates an Anthropic request body for a Gemini provider. The model is not in the body
/// (it goes in the URL). Fails with a message for the client when the request holds something
/// Gemini cannot take (unknown block types, unsupported sources, malformed fields).
pub fn to_request(
    req: &Value,
    provider_id: &str,
    opts: &GeminiOptions,
) -> Result<Translated, TranslateError> {
    let obj = req
        .as_object()
        .ok_or_else(|| err("the request body must be a JSON object"))?;
    let mut body = Map::new();

    let messages = obj
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| err("`messages` must be a list"))?;
    let (contents, mut notes, mut cache_control) = Builder::new(provider_id).build(messages)?;
    if contents.as_array().is_none_or(Vec::is_empty) {
        return Err(err(
            "the request has no content Gemini can take (every message is empty)",
        ));
    }

    if let Some(system) = obj.get("system") {
        if let Value::Array(blocks) = system {
            cache_control |= blocks.iter().any(|b| b.get("cache_control").is_some());
        }
        let text = system_text(system, "system")?;
        if !text.is_empty() {
            body.insert(
                "systemInstruction".into(),
                json!({"parts": [{"text": text}]}),
            );
        }
    }
    body.insert("contents".into(), contents);

    let tool_names = tools(obj, opts, &mut body, &mut notes, &mut cache_control)?;
    tool_config(obj, &tool_names, &mut body, &mut notes);

    let mut gc = Map::new();
    generation(obj, opts, &mut gc, &mut notes)?;
    if let Some(tc) = thinking_config(obj, opts.thinking, &mut notes) {
        gc.insert("thinkingConfig".into(), tc);
    }
    if !gc.is_empty() {
        body.insert("generationConfig".into(), Value::Object(gc));
    }

    if cache_control {
        notes.push("cache_control dropped (Gemini caches prompt prefixes implicitly)".into());
    }
    let unknown: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !KNOWN.contains(k))
        .collect();
    if !unknown.is_empty() {
        notes.push(format!(
            "dropped fields Gemini does not take: {}",
            unknown.join(", ")
        ));
    }
    Ok(Translated {
        body: Value::Object(body),
        notes,
    })
}

/// Function declarations; returns the declared names.
fn tools(
    obj: &Map<String, Value>,
    opts: &GeminiOptions,
    body: &mut Map<String, Value>,
    notes: &mut Vec<String>,
    cache_control: &mut bool,
) -> Result<Vec<String>, TranslateError> {
    let Some(Value::Array(tools)) = obj.get("tools") else {
        return Ok(Vec::new());
    };
    let mut decls = Vec::new();
    let mut names = Vec::new();
    let mut dropped = Vec::new();
    for t in tools {
        *cache_control |= t.get("cache_control").is_some();
        let kind = t.get("type").and_then(Value::as_str).unwrap_or("custom");
        let name = t.get("name").and_then(Value::as_str).unwrap_or("");
        let schema = t.get("input_schema").filter(|s| s.is_object());
        let (Some(schema), "custom", false) = (schema, kind, name.is_empty()) else {
            dropped.push(if name.is_empty() { kind } else { name });
            continue;
        };
        let mut decl = Map::new();
        decl.insert("name".into(), json!(name));
        if let Some(d) = t
            .get("description")
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
        {
            decl.insert("description".into(), json!(d));
        }
        let params = sanitize_schema(schema, max_nodes(opts))
            .map_err(|e| err(format!("tool {name:?}: {e}")))?;
        // Gemini refuses an object without properties as `parameters`: a tool that takes
        // nothing declares no parameters.
        if params.get("properties").is_some() || params.get("type") != Some(&json!("object")) {
            decl.insert("parameters".into(), params);
        }
        decls.push(Value::Object(decl));
        names.push(name.to_string());
    }
    if !dropped.is_empty() {
        notes.push(format!(
            "dropped tools Gemini cannot run (server tools): {}",
            dropped.join(", ")
        ));
    }
    if !decls.is_empty() {
        body.insert("tools".into(), json!([{"functionDeclarations": decls}]));
    }
    Ok(names)
}

fn tool_config(
    obj: &Map<String, Value>,
    names: &[String],
    body: &mut Map<String, Value>,
    notes: &mut Vec<String>,
) {
    let Some(choice) = obj.get("tool_choice") else {
        return;
    };
    if names.is_empty() {
        return;
    }
    let config = match choice.get("type").and_then(Value::as_str).unwrap_or("auto") {
        "any" => json!({"mode": "ANY"}),
        "none" => json!({"mode": "NONE"}),
        "tool" => {
            let name = choice.get("name").and_then(Value::as_str).unwrap_or("");
            json!({"mode": "ANY", "allowedFunctionNames": [name]})
        }
        _ => json!({"mode": "AUTO"}),
    };
    if choice.get("disable_parallel_tool_use") == Some(&Value::Bool(true)) {
        notes.push("disable_parallel_tool_use has no Gemini equivalent: dropped".into());
    }
    body.insert(
        "toolConfig".into(),
        json!({"functionCallingConfig": config}),
    );
}

fn generation(
    obj: &Map<String, Value>,
    opts: &GeminiOptions,
    gc: &mut Map<String, Value>,
    notes: &mut Vec<String>,
) -> Result<(), TranslateError> {
    if let Some(max) = obj.get("max_tokens").and_then(Value::as_u64) {
        let capped = match opts.max_tokens_cap {
            Some(cap) if max > cap => {
                notes.push(format!(
                    "max_tokens {max} clamped to {cap} for this provider"
                ));
                cap
            }
            _ => max,
        };
        gc.insert("maxOutputTokens".into(), json!(capped));
    }
    if let Some(Value::Array(stops)) = obj.get("stop_sequences") {
        let stops: Vec<&str> = stops
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        if stops.len() > MAX_STOP_SEQUENCES {
            notes.push(format!(
                "stop_sequences cut from {} to Gemini's limit of {MAX_STOP_SEQUENCES}",
                stops.len()
            ));
        }
        let kept: Vec<&str> = stops.into_iter().take(MAX_STOP_SEQUENCES).collect();
        if !kept.is_empty() {
            gc.insert("stopSequences".into(), json!(kept));
        }
    }
    for (from, to) in [
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("top_k", "topK"),
    ] {
        if let Some(v @ Value::Number(_)) = obj.get(from) {
            gc.insert(to.into(), v.clone());
        }
    }
    let format = obj.get("output_config").and_then(|o| o.get("format"));
    if let Some(format) = format.filter(|f| !f.is_null()) {
        match (
            format.get("type").and_then(Value::as_str),
            format.get("schema"),
        ) {
            (Some("json_schema"), Some(schema)) => {
                gc.insert("responseMimeType".into(), json!("application/json"));
                let schema = sanitize_schema(schema, max_nodes(opts))
                    .map_err(|e| err(format!("output_config.format: {e}")))?;
                gc.insert("responseSchema".into(), schema);
            }
            _ => notes.push("output_config.format of an unknown kind: dropped".into()),
        }
    }
    Ok(())
}

/// `thinking` + `output_config.effort` to `thinkingConfig`.
///
/// | request | Budget style (2.5) | Level style (3.x) |
/// |---|---|---|
/// | `enabled`, `budget_tokens: N` | `thinkingBudget: min(N, 24576)` | `thinkingLevel: low` if N <= 4096, else `high` |
/// | `adaptive` | `thinkingBudget`: effort low 1024, medium 8192, else -1 (dynamic) | effort low / medium `low`, else `high` |
/// | `disabled` | nothing (2.5 Pro refuses budget 0; the model's default applies) | `thinkingLevel: low` (3.x cannot turn thinking off) |
/// | absent | nothing (effort alone: nothing) | effort alone: its level, no thoughts |
///
/// `includeThoughts: true` whenever the client asked for thinking. A budget and a level are
/// never sent together (Gemini refuses that).
pub(super) fn thinking_config(
    obj: &Map<String, Value>,
    style: ThinkingStyle,
    notes: &mut Vec<String>,
) -> Option<Value> {
    let thinking = obj.get("thinking");
    let kind = thinking.and_then(|t| t.get("type")).and_then(Value::as_str);
    let effort = obj
        .get("output_config")
        .and_then(|o| o.get("effort"))
        .and_then(Value::as_str);
    let level_of_effort = || match effort {
        Some("low" | "medium") => "low",
        _ => "high",
    };
    match (style, kind) {
        (ThinkingStyle::Budget, Some("enabled")) => {
            let budget = thinking
                .and_then(|t| t.get("budget_tokens"))
                .and_then(Value::as_u64);
            let budget = match budget {
                Some(b) if b > MAX_THINKING_BUDGET => {
                    notes.push(format!(
                        "thinking budget {b} clamped to {MAX_THINKING_BUDGET} for Gemini"
                    ));
                    json!(MAX_THINKING_BUDGET)
                }
                Some(b) => json!(b),
                None => json!(-1),
            };
            Some(json!({"thinkingBudget": budget, "includeThoughts": true}))
        }
        (ThinkingStyle::Budget, Some("adaptive")) => {
            let budget: i64 = match effort {
                Some("low") => 1024,
                Some("medium") => 8192,
                _ => -1,
            };
            Some(json!({"thinkingBudget": budget, "includeThoughts": true}))
        }
        (ThinkingStyle::Level, Some("enabled")) => {
            let budget = thinking
                .and_then(|t| t.get("budget_tokens"))
                .and_then(Value::as_u64)
                .unwrap_or(u64::MAX);
            let level = if budget <= 4096 { "low" } else { "high" };
            Some(json!({"thinkingLevel": level, "includeThoughts": true}))
        }
        (ThinkingStyle::Level, Some("adaptive")) => {
            Some(json!({"thinkingLevel": level_of_effort(), "includeThoughts": true}))
        }
        (ThinkingStyle::Budget, Some("disabled")) => {
            notes.push("thinking disabled: no thinkingConfig sent (budget 0 is refused by some Gemini models)".into());
            None
        }
        (ThinkingStyle::Level, Some("disabled")) => {
            notes.push("thinking disabled: Gemini 3 cannot turn it off, thinkingLevel low".into());
            Some(json!({"thinkingLevel": "low"}))
        }
        (ThinkingStyle::Level, None) if effort.is_some() => {
            Some(json!({"thinkingLevel": level_of_effort()}))
        }
        (_, None) => None,
        (_, Some(other)) => {
            notes.push(format!("unknown thinking type `{other}`: dropped"));
            None
        }
    }
}

/// The schema-node bound of `opts` (its default when unset).
fn max_nodes(opts: &GeminiOptions) -> usize {
    if opts.max_schema_nodes == 0 {
        super::DEFAULT_MAX_NODES
    } else {
        opts.max_schema_nodes
    }
}
