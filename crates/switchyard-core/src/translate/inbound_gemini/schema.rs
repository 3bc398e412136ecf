//! Gemini's OpenAPI-subset `Schema` (`parameters`, `responseSchema`) -> JSON Schema, which the
//! hub (Anthropic `input_schema`, `output_config.format`) takes.
//!
//! Types are upper case in Gemini's enum (`OBJECT`, `STRING`) and lower case in JSON Schema;
//! `nullable: true` becomes a `["t", "null"]` type; `propertyOrdering` is Gemini's alone and
//! goes. Everything else (`properties`, `items`, `required`, `enum`, `format`, `anyOf`,
//! bounds, descriptions) has the same meaning in both and is kept.

use serde_json::{json, Map, Value};

/// The JSON Schema for a Gemini `Schema`.
pub fn json_schema_of(s: &Value) -> Value {
    let Some(o) = s.as_object() else {
        return s.clone();
    };
    let mut out = Map::new();
    let nullable = o.get("nullable").and_then(Value::as_bool) == Some(true);
    for (k, v) in o {
        match k.as_str() {
            "nullable" | "propertyOrdering" => {}
            "type" => {
                let t = v.as_str().map(str::to_ascii_lowercase);
                let t = match t.as_deref() {
                    Some("type_unspecified") | None => continue,
                    Some(t) => t.to_string(),
                };
                out.insert(
                    "type".into(),
                    if nullable {
                        json!([t, "null"])
                    } else {
                        json!(t)
                    },
                );
            }
            "properties" => {
                let props = v
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .map(|(name, s)| (name.clone(), json_schema_of(s)))
                            .collect::<Map<_, _>>()
                    })
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" => {
                out.insert(k.clone(), json_schema_of(v));
            }
            "anyOf" => {
                let list = v
                    .as_array()
                    .map(|l| l.iter().map(json_schema_of).collect::<Vec<_>>())
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Array(list));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// A schema for structured output: objects that do not say otherwise admit no properties
/// beyond theirs, as Anthropic's and OpenAI's structured outputs require (Gemini's sanitiser
/// removes the key again for Gemini providers).
pub fn output_schema(mut s: Value) -> Value {
    close_objects(&mut s, 0);
    s
}

fn close_objects(s: &mut Value, depth: usize) {
    // Schemas nest only as deep as a person writes them; stop at an absurd depth.
    if depth > 64 {
        return;
    }
    match s {
        Value::Object(o) => {
            let is_object = match o.get("type") {
                Some(Value::String(t)) => t == "object",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
                None => o.contains_key("properties"),
                _ => false,
            };
            if is_object && o.contains_key("properties") {
                o.entry("additionalProperties").or_insert(json!(false));
            }
            for v in o.values_mut() {
                close_objects(v, depth + 1);
            }
        }
        Value::Array(list) => {
            for v in list {
                close_objects(v, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_types_become_json_schema() {
        let s = json!({"type": "OBJECT", "propertyOrdering": ["a"], "properties": {
            "a": {"type": "STRING", "nullable": true, "enum": ["x", "y"]},
            "b": {"type": "ARRAY", "items": {"type": "INTEGER", "format": "int32"}},
            "c": {"anyOf": [{"type": "NUMBER"}, {"type": "BOOLEAN"}]},
        }, "required": ["a"]});
        assert_eq!(
            json_schema_of(&s),
            json!({"type": "object", "properties": {
                "a": {"type": ["string", "null"], "enum": ["x", "y"]},
                "b": {"type": "array", "items": {"type": "integer", "format": "int32"}},
                "c": {"anyOf": [{"type": "number"}, {"type": "boolean"}]},
            }, "required": ["a"]})
        );
    }

    #[test]
    fn output_schemas_are_closed() {
        let s = output_schema(json!({"type": "object", "properties": {
            "inner": {"type": "object", "properties": {"x": {"type": "string"}}},
            "open": {"type": "object", "properties": {}, "additionalProperties": true},
        }}));
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["properties"]["inner"]["additionalProperties"], false);
        assert_eq!(s["properties"]["open"]["additionalProperties"], true);
    }
}
