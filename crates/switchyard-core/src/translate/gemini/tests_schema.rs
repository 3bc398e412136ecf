//! The schema sanitiser, one test per rule, a real-world MCP schema, and a property test.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::{sanitize_schema, SchemaTooLarge, DEFAULT_MAX_NODES};

/// The sanitiser with its default bound (every schema here is far within it).
fn s(schema: &Value) -> Value {
    sanitize_schema(schema, DEFAULT_MAX_NODES).expect("within the bound")
}

/// Keywords Gemini's `Schema` documents (and the sanitiser may emit).
const ALLOWED: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "anyOf",
    "items",
    "minimum",
    "maximum",
];

/// Every schema in `v` uses only allowed keywords, has a type or an anyOf, arrays have items,
/// enums are string lists on strings, `required` names exist, `properties` are not empty.
fn assert_gemini_valid(v: &Value) {
    let o = v.as_object().unwrap_or_else(|| panic!("not a schema: {v}"));
    for k in o.keys() {
        assert!(ALLOWED.contains(&k.as_str()), "keyword {k} in {v}");
    }
    assert!(
        o.contains_key("type") || o.contains_key("anyOf"),
        "no type: {v}"
    );
    if o.get("type") == Some(&json!("array")) {
        assert!(
            o.get("items").is_some_and(Value::is_object),
            "array without items: {v}"
        );
    }
    if let Some(e) = o.get("enum") {
        assert_eq!(
            o.get("type"),
            Some(&json!("string")),
            "enum off a string: {v}"
        );
        assert!(
            e.as_array().is_some_and(|l| l.iter().all(Value::is_string)),
            "{v}"
        );
    }
    if let Some(p) = o.get("properties") {
        let p = p.as_object().expect("properties object");
        assert!(!p.is_empty(), "empty properties: {v}");
        p.values().for_each(assert_gemini_valid);
        for r in o
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            assert!(
                p.contains_key(r.as_str().unwrap_or("")),
                "required {r} not a property: {v}"
            );
        }
    } else {
        assert!(
            o.get("required").is_none(),
            "required without properties: {v}"
        );
    }
    if let Some(i) = o.get("items") {
        assert_gemini_valid(i);
    }
    for b in o
        .get("anyOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        assert_gemini_valid(b);
    }
}

#[test]
fn unsupported_keywords_are_removed() {
    let out = s(&json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "x", "$comment": "c",
        "type": "object", "additionalProperties": false, "propertyNames": {"pattern": "^a"},
        "patternProperties": {"^x": {"type": "string"}}, "examples": [{}], "default": {},
        "properties": {"n": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 9,
            "minimum": 1, "maximum": 8, "readOnly": true, "deprecated": true, "not": {"const": 5}}},
        "if": {}, "then": {}, "else": {}
    }));
    assert_eq!(
        out,
        json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 8}}})
    );
}

#[test]
fn const_becomes_a_one_value_enum() {
    assert_eq!(
        s(&json!({"const": "add"})),
        json!({"type": "string", "enum": ["add"]})
    );
    assert_eq!(
        s(&json!({"type": "string", "const": "add"})),
        json!({"type": "string", "enum": ["add"]})
    );
    assert_eq!(
        s(&json!({"type": "boolean", "const": true})),
        json!({"type": "boolean", "description": "(allowed values: true)"})
    );
}

#[test]
fn refs_are_inlined_from_defs_and_definitions() {
    let out = s(&json!({
        "type": "object",
        "$defs": {"A": {"type": "string", "description": "from A"}},
        "definitions": {"B": {"type": "integer"}},
        "properties": {
            "a": {"$ref": "#/$defs/A"},
            "a2": {"$ref": "#/$defs/A", "description": "sibling wins"},
            "b": {"$ref": "#/definitions/B"},
            "p": {"$ref": "#/properties/b"},
            "missing": {"$ref": "#/$defs/Nope"},
            "remote": {"$ref": "https://example.com/s.json"}
        }
    }));
    let p = &out["properties"];
    assert_eq!(p["a"], json!({"type": "string", "description": "from A"}));
    assert_eq!(
        p["a2"],
        json!({"type": "string", "description": "sibling wins"})
    );
    assert_eq!(p["b"], json!({"type": "integer"}));
    assert_eq!(p["p"], json!({"type": "integer"}));
    assert_eq!(p["missing"], json!({"type": "object"}));
    assert_eq!(p["remote"], json!({"type": "object"}));
    assert!(out.get("$defs").is_none() && out.get("definitions").is_none());
}

#[test]
fn recursive_refs_stop_at_an_object() {
    let tree = json!({
        "$defs": {"Node": {"type": "object", "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
        }}},
        "$ref": "#/$defs/Node"
    });
    let out = s(&tree);
    assert_eq!(
        out,
        json!({"type": "object", "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"type": "object"}}
        }})
    );
    // The root itself, recursively.
    let out = s(&json!({"type": "object", "properties": {"self": {"$ref": "#"}}}));
    assert_eq!(
        out["properties"]["self"]["properties"]["self"],
        json!({"type": "object"})
    );
    // A long non-recursive chain is cut at the depth limit.
    let mut defs = serde_json::Map::new();
    for i in 0..20 {
        defs.insert(format!("D{i}"), json!({"type": "object", "properties": {"next": {"$ref": format!("#/$defs/D{}", i + 1)}}}));
    }
    defs.insert("D20".into(), json!({"type": "string"}));
    let out = s(&json!({"$defs": defs, "$ref": "#/$defs/D0"}));
    let mut cur = &out;
    let mut depth = 0;
    while let Some(next) = cur.get("properties").and_then(|p| p.get("next")) {
        cur = next;
        depth += 1;
    }
    assert_eq!(depth, super::MAX_REF_DEPTH);
    assert_eq!(cur, &json!({"type": "object"}));
}

#[test]
fn type_lists_with_null_become_nullable() {
    assert_eq!(
        s(&json!({"type": ["string", "null"]})),
        json!({"type": "string", "nullable": true})
    );
    assert_eq!(
        s(&json!({"type": "null"})),
        json!({"type": "string", "nullable": true})
    );
    assert_eq!(
        s(&json!({"type": ["string", "integer"], "description": "d"})),
        json!({"description": "d", "anyOf": [{"type": "string"}, {"type": "integer"}]})
    );
    assert_eq!(
        s(&json!({"type": ["array", "null"]})),
        json!({"type": "array", "items": {"type": "string"}, "nullable": true})
    );
}

#[test]
fn any_of_and_one_of_with_null_become_nullable() {
    assert_eq!(
        s(
            &json!({"anyOf": [{"type": "integer"}, {"type": "null"}], "description": "n", "default": null})
        ),
        json!({"type": "integer", "description": "n", "nullable": true})
    );
    assert_eq!(
        s(&json!({"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]})),
        json!({"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": true})
    );
    assert_eq!(
        s(
            &json!({"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer"}}, "required": ["b"]}]})
        ),
        json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a", "b"]})
    );
}

#[test]
fn every_array_gets_items() {
    assert_eq!(
        s(&json!({"type": "array"})),
        json!({"type": "array", "items": {"type": "string"}})
    );
    assert_eq!(
        s(&json!({"type": "array", "items": true})),
        json!({"type": "array", "items": {"type": "string"}})
    );
    assert_eq!(
        s(&json!({"type": "array", "items": [{"type": "integer"}, {"type": "string"}]})),
        json!({"type": "array", "items": {"type": "integer"}})
    );
    assert_eq!(
        s(&json!({"type": "array", "prefixItems": [{"type": "number"}], "minItems": 1})),
        json!({"type": "array", "items": {"type": "number"}, "minItems": 1})
    );
    assert_eq!(
        s(&json!({"type": "array", "items": {}})),
        json!({"type": "array", "items": {"type": "string"}})
    );
}

#[test]
fn enums_stay_only_on_strings() {
    assert_eq!(
        s(&json!({"type": "integer", "enum": [1, 2], "description": "Level"})),
        json!({"type": "integer", "description": "Level (allowed values: 1, 2)"})
    );
    assert_eq!(
        s(&json!({"type": "string", "enum": ["a", 1, null]})),
        json!({"type": "string", "enum": ["a", "1"], "nullable": true})
    );
    assert_eq!(
        s(&json!({"enum": ["x", "y"]})),
        json!({"type": "string", "enum": ["x", "y"]})
    );
    assert_eq!(
        s(&json!({"enum": [0.5, 1.5]})),
        json!({"type": "number", "description": "(allowed values: 0.5, 1.5)"})
    );
}

#[test]
fn formats_only_where_gemini_takes_them() {
    assert_eq!(
        s(&json!({"type": "string", "format": "date-time"})),
        json!({"type": "string", "format": "date-time"})
    );
    assert_eq!(
        s(&json!({"type": "integer", "format": "int64"})),
        json!({"type": "integer", "format": "int64"})
    );
    assert_eq!(
        s(&json!({"type": "string", "format": "uri", "description": "Link"})),
        json!({"type": "string", "description": "Link (format: uri)"})
    );
}

#[test]
fn properties_and_required_stay_consistent() {
    assert_eq!(
        s(&json!({"type": "object", "properties": {}, "required": ["x"]})),
        json!({"type": "object"})
    );
    assert_eq!(
        s(
            &json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "ghost"]})
        ),
        json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]})
    );
    assert_eq!(s(&json!({})), json!({"type": "string"}));
    assert_eq!(s(&json!(true)), json!({"type": "object"}));
    assert_eq!(
        s(&json!({"description": "anything"})),
        json!({"type": "string", "description": "anything"})
    );
}

#[test]
fn a_real_world_mcp_schema() {
    // Shaped like a pydantic v2 / zod-to-json-schema MCP tool input.
    let schema = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "CreateEventArgs", "type": "object", "additionalProperties": false,
        "$defs": {
            "Attendee": {"title": "Attendee", "type": "object", "additionalProperties": false,
                "properties": {
                    "email": {"type": "string", "format": "email", "title": "Email"},
                    "optional": {"anyOf": [{"type": "boolean"}, {"type": "null"}], "default": null, "title": "Optional"}
                }, "required": ["email"]},
            "Visibility": {"enum": ["public", "private"], "title": "Visibility", "type": "string"}
        },
        "properties": {
            "action": {"const": "create", "type": "string"},
            "start": {"type": "string", "format": "date-time"},
            "attendees": {"type": "array", "items": {"$ref": "#/$defs/Attendee"}, "default": []},
            "tags": {"type": "array"},
            "visibility": {"$ref": "#/$defs/Visibility", "default": "public"},
            "reminders": {"anyOf": [{"type": "array", "items": {"type": "integer", "exclusiveMinimum": 0}}, {"type": "null"}]},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}, "patternProperties": {"^x-": {}}}
        },
        "required": ["action", "start"]
    });
    let out = s(&schema);
    assert_gemini_valid(&out);
    assert_eq!(
        out,
        json!({
            "title": "CreateEventArgs", "type": "object", "required": ["action", "start"],
            "properties": {
                "action": {"type": "string", "enum": ["create"]},
                "start": {"type": "string", "format": "date-time"},
                "attendees": {"type": "array", "items": {"title": "Attendee", "type": "object", "required": ["email"],
                    "properties": {
                        "email": {"type": "string", "title": "Email", "description": "(format: email)"},
                        "optional": {"type": "boolean", "title": "Optional", "nullable": true}
                    }}},
                "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": {"type": "string", "title": "Visibility", "enum": ["public", "private"]},
                "reminders": {"type": "array", "items": {"type": "integer"}, "nullable": true},
                "metadata": {"type": "object"}
            }
        })
    );
}

fn arb_schema() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(json!({})),
        Just(json!(true)),
        Just(json!({"type": "string"})),
        Just(json!({"type": ["integer", "null"]})),
        Just(json!({"const": 3})),
        Just(json!({"enum": ["a", null, 2]})),
        Just(json!({"type": "array"})),
        Just(json!({"$ref": "#"})),
        Just(json!({"$ref": "#/$defs/X"})),
        Just(json!({"type": "string", "format": "uuid", "default": "x"})),
        Just(json!({"type": "null"})),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::btree_map("[a-c]", inner.clone(), 0..3).prop_map(|m| {
                let req: Vec<String> = m.keys().cloned().chain(["zz".to_string()]).collect();
                json!({"type": "object", "properties": m, "required": req, "additionalProperties": false})
            }),
            inner.clone().prop_map(|i| json!({"type": "array", "items": i})),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| json!({"anyOf": v})),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| json!({"oneOf": v, "description": "d"})),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| json!({"allOf": v})),
            inner.clone().prop_map(|i| json!({"$defs": {"X": i}, "type": "object", "properties": {"x": {"$ref": "#/$defs/X"}}})),
        ]
    })
}

proptest! {
    #[test]
    fn any_schema_comes_out_gemini_valid(schema in arb_schema()) {
        let out = s(&schema);
        assert_gemini_valid(&out);
    }
}

#[test]
fn refs_that_multiply_are_refused_not_expanded() {
    // Eight definitions, each referring to the next twice: 2^8 copies of the last, from a
    // schema of a few hundred bytes. With ten references each it would be 10^8.
    let mut defs = serde_json::Map::new();
    for i in 0..8 {
        let next = format!("#/$defs/d{}", i + 1);
        defs.insert(
            format!("d{i}"),
            json!({"type": "object", "properties": {
                "a": {"$ref": next}, "b": {"$ref": next}, "c": {"$ref": next},
                "d": {"$ref": next}, "e": {"$ref": next}, "f": {"$ref": next}}}),
        );
    }
    defs.insert("d8".into(), json!({"type": "string"}));
    let schema = json!({"$defs": defs, "$ref": "#/$defs/d0"});
    assert!(schema.to_string().len() < 2_000);
    assert_eq!(
        sanitize_schema(&schema, 10_000),
        Err(SchemaTooLarge(10_000)),
        "bounded by the whole expansion, not only its depth"
    );
    assert!(sanitize_schema(&schema, DEFAULT_MAX_NODES).is_err());
    // The same shape two levels deep fits.
    let small = json!({"$defs": {"x": {"type": "object", "properties": {"a": {"$ref": "#/$defs/y"}, "b": {"$ref": "#/$defs/y"}}}, "y": {"type": "string"}}, "$ref": "#/$defs/x"});
    assert!(sanitize_schema(&small, 100).is_ok());
}
