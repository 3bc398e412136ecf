//! Tool parameter schemas: JSON Schema (what Anthropic tools carry in `input_schema`) to the
//! OpenAPI-style `Schema` subset Gemini accepts in `functionDeclarations[].parameters`.
//!
//! The sanitiser works from an allow-list, not a deny-list: every keyword Gemini's `Schema`
//! does not document (`$schema`, `$id`, `$comment`, `additionalProperties`, `propertyNames`,
//! `patternProperties`, `examples`, `exclusiveMinimum`, `exclusiveMaximum`, `not`, `if`/`then`/
//! `else`, `readOnly`, `deprecated`, `default`, ...) is dropped, because each unknown name is a
//! 400 ("Invalid JSON payload received. Unknown name ...") and MCP servers invent new ones.
//! `default` is documented by Gemini but dropped too: it is no constraint, and after the enum
//! rules below its type could disagree with the field's.
//!
//! Rewrites (each one fixed a real 400):
//! - `$ref` (`#/$defs/X`, `#/definitions/X`, `#`, any JSON pointer) is inlined, siblings of the
//!   `$ref` overriding the target; a reference already being expanded (recursion), more than
//!   [`MAX_REF_DEPTH`] expansions deep, or unresolvable becomes `{"type":"object"}`.
//!   `$defs` / `definitions` are removed. Inlining can multiply a schema (a definition that
//!   refers to another twice, eight levels deep, is 2^8 copies): the whole expansion is bounded
//!   by a number of schema nodes, and a schema over it is refused ([`SchemaTooLarge`]) rather
//!   than cut, since a silently different schema would change what the model may call.
//! - `allOf` members are merged into their parent (properties and `required` united).
//! - `type: [T, "null"]` becomes `type: T, nullable: true`; several non-null types become an
//!   `anyOf` of one branch per type. `anyOf` / `oneOf` with a null member become `nullable`,
//!   and a single remaining member is flattened into the parent; `oneOf` becomes `anyOf`.
//! - `const: v` is `enum: [v]`. Enums stay only on strings: on a `string` field every value is
//!   written as a string; on any other type the enum is dropped and the allowed values are
//!   appended to the `description` (converting a number field to string would make Gemini
//!   answer `"5"` where the client's tool validation wants `5`). A `null` value means nullable.
//! - `format` stays only where Gemini accepts it (`enum` and `date-time` on strings, `float` /
//!   `double` on numbers, `int32` / `int64` on integers); any other format goes into the
//!   description as a hint.
//! - Every schema gets a `type` (Gemini requires one): inferred from its keywords (properties ->
//!   object, items -> array, ...), else `string` (Gemini has no "any" type; text is what tools
//!   that accept anything usually take). Only a schema made of an `anyOf` has no type.
//! - Every `array` gets `items`; missing or boolean `items` become `{"type":"string"}` (a bare
//!   `{}` would itself need a type); tuple `items: [..]` / `prefixItems` use their first member.
//! - `required` keeps only names present in `properties`; an empty `properties` is removed
//!   (Gemini rejects an empty one), leaving a free-form `{"type":"object"}`.

use serde_json::{json, Map, Value};

/// Nested `$ref` expansions allowed before a reference is cut to `{"type":"object"}`.
pub const MAX_REF_DEPTH: usize = 8;
/// Schema nesting allowed before a subschema is cut to `{"type":"object"}`.
const MAX_DEPTH: usize = 40;

/// Keywords copied as they are, when their value has the right JSON type.
const NUMBER_KEYS: &[&str] = &[
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
];
const STRING_KEYS: &[&str] = &["title", "description", "pattern"];
const TYPES: &[&str] = &["string", "number", "integer", "boolean", "array", "object"];

/// Schema nodes an expansion may produce when the caller sets no bound.
pub const DEFAULT_MAX_NODES: usize = 65_536;

/// A schema whose `$ref`s expand to more than the allowed number of nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("its parameter schema expands to more than {0} schema nodes (its $refs multiply)")]
pub struct SchemaTooLarge(pub usize);

/// Rewrites a JSON Schema into one Gemini accepts (see the module docs for every rule).
/// Anything it cannot express degrades to a looser schema; only an expansion past `max_nodes`
/// schema nodes fails.
pub fn sanitize_schema(schema: &Value, max_nodes: usize) -> Result<Value, SchemaTooLarge> {
    let mut cx = Cx {
        root: schema,
        stack: Vec::new(),
        nodes_left: max_nodes,
        over: false,
    };
    let out = match schema {
        Value::Object(_) => cx.clean(schema, 0),
        _ => json!({"type": "object"}),
    };
    if cx.over {
        return Err(SchemaTooLarge(max_nodes));
    }
    Ok(out)
}

struct Cx<'a> {
    root: &'a Value,
    /// The `$ref`s being expanded, outermost first.
    stack: Vec<String>,
    /// Schema nodes the expansion may still produce.
    nodes_left: usize,
    /// The expansion ran out of nodes: the result is not to be used.
    over: bool,
}

/// Follows a local reference (`#`, `#/a/b`, with `~0`/`~1` escapes) inside `root`.
fn resolve<'v>(root: &'v Value, reference: &str) -> Option<&'v Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    root.pointer(pointer)
}

fn is_null_schema(v: &Value) -> bool {
    match v.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(ts)) => !ts.is_empty() && ts.iter().all(|t| t == "null"),
        _ => false,
    }
}

fn append_hint(out: &mut Map<String, Value>, hint: &str) {
    let text = match out.get("description").and_then(Value::as_str) {
        Some(d) if !d.is_empty() => format!("{d} ({hint})"),
        _ => format!("({hint})"),
    };
    out.insert("description".into(), Value::String(text));
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Merges a sanitised `from` into `into`: `into`'s keys win, properties and required are united.
/// A member of another type than `into` lends only its description and title.
fn merge_into(into: &mut Map<String, Value>, from: Value) {
    let Value::Object(from) = from else { return };
    let clash = matches!((into.get("type"), from.get("type")), (Some(a), Some(b)) if a != b);
    for (k, v) in from {
        if clash && k != "description" && k != "title" {
            continue;
        }
        match (k.as_str(), into.get_mut(&k)) {
            ("properties", Some(Value::Object(mine))) => {
                if let Value::Object(theirs) = v {
                    for (pk, pv) in theirs {
                        mine.entry(pk).or_insert(pv);
                    }
                }
            }
            ("required", Some(Value::Array(mine))) => {
                if let Value::Array(theirs) = v {
                    for r in theirs {
                        if !mine.contains(&r) {
                            mine.push(r);
                        }
                    }
                }
            }
            (_, Some(_)) => {}
            (_, None) => {
                into.insert(k, v);
            }
        }
    }
}

impl Cx<'_> {
    fn clean(&mut self, schema: &Value, depth: usize) -> Value {
        if self.nodes_left == 0 {
            self.over = true;
            return json!({"type": "object"});
        }
        self.nodes_left -= 1;
        let Some(obj) = schema.as_object() else {
            // `true` / `{}`-like: anything goes; Gemini needs a type.
            return json!({"type": "string"});
        };
        if depth > MAX_DEPTH {
            return json!({"type": "object"});
        }
        if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
            return self.expand_ref(obj, reference, depth);
        }
        let mut out = Map::new();
        for key in STRING_KEYS {
            if let Some(v @ Value::String(_)) = obj.get(*key) {
                out.insert((*key).into(), v.clone());
            }
        }
        for key in NUMBER_KEYS {
            if let Some(v @ Value::Number(_)) = obj.get(*key) {
                out.insert((*key).into(), v.clone());
            }
        }
        let mut nullable = obj.get("nullable") == Some(&Value::Bool(true));

        // The declared type(s).
        let mut types: Vec<String> = match obj.get("type") {
            Some(Value::String(t)) => vec![t.clone()],
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        };
        if types.iter().any(|t| t == "null") {
            nullable = true;
            types.retain(|t| t != "null");
            if types.is_empty() {
                types.push("string".into());
            }
        }
        types.retain(|t| TYPES.contains(&t.as_str()));
        types.dedup();

        // anyOf / oneOf.
        let mut branches = Vec::new();
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(members)) = obj.get(key) {
                for m in members {
                    if is_null_schema(m) {
                        nullable = true;
                    } else {
                        branches.push(self.clean(m, depth + 1));
                    }
                }
            }
        }

        if types.len() > 1 {
            // One branch per type; type-specific keywords go to their branch.
            for t in &types {
                let mut b = Map::new();
                b.insert("type".into(), Value::String(t.clone()));
                if t == "array" {
                    b.insert("items".into(), self.items(obj, depth));
                }
                if t == "object" {
                    self.object_keywords(obj, &mut b, depth);
                }
                branches.push(Value::Object(b));
            }
            types.clear();
        }

        let composite = !branches.is_empty()
            || obj
                .get("allOf")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
        let ty = types
            .pop()
            .or_else(|| infer_type(obj).map(String::from))
            .or_else(|| (!composite).then(|| "string".to_string()));

        if let Some(ty) = &ty {
            out.insert("type".into(), Value::String(ty.clone()));
            match ty.as_str() {
                "object" => self.object_keywords(obj, &mut out, depth),
                "array" => {
                    let items = self.items(obj, depth);
                    out.insert("items".into(), items);
                }
                _ => {}
            }
            self.enum_and_format(obj, ty, &mut out, &mut nullable);
        }

        match branches.len() {
            0 => {}
            1 if ty.is_none() => {
                let only = branches.pop().unwrap_or(Value::Null);
                merge_into(&mut out, only);
            }
            _ => {
                out.insert("anyOf".into(), Value::Array(branches));
            }
        }

        if let Some(Value::Array(members)) = obj.get("allOf") {
            for m in members {
                let cleaned = self.clean(m, depth + 1);
                merge_into(&mut out, cleaned);
            }
        }
        if !out.contains_key("type") && !out.contains_key("anyOf") {
            out.insert("type".into(), json!("string"));
        }
        if nullable {
            out.insert("nullable".into(), Value::Bool(true));
        }
        Value::Object(out)
    }

    fn expand_ref(&mut self, obj: &Map<String, Value>, reference: &str, depth: usize) -> Value {
        let recursive = self.stack.iter().any(|r| r == reference);
        let target = resolve(self.root, reference).and_then(Value::as_object);
        let (false, Some(target), true) = (recursive, target, self.stack.len() < MAX_REF_DEPTH)
        else {
            let mut out = Map::new();
            out.insert("type".into(), json!("object"));
            if let Some(d @ Value::String(_)) = obj.get("description") {
                out.insert("description".into(), d.clone());
            }
            return Value::Object(out);
        };
        let mut merged = target.clone();
        // The referenced schema's own definitions stay reachable only through the root.
        merged.remove("$defs");
        merged.remove("definitions");
        for (k, v) in obj {
            if k != "$ref" {
                merged.insert(k.clone(), v.clone());
            }
        }
        self.stack.push(reference.to_string());
        let out = self.clean(&Value::Object(merged), depth + 1);
        self.stack.pop();
        out
    }

    fn items(&mut self, obj: &Map<String, Value>, depth: usize) -> Value {
        let first = |v: Option<&Value>| match v {
            Some(Value::Array(list)) => list.first().cloned(),
            _ => None,
        };
        let item = match obj.get("items") {
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(Value::Array(list)) => list.first().cloned(),
            _ => first(obj.get("prefixItems")),
        };
        match item {
            Some(v @ Value::Object(_)) => self.clean(&v, depth + 1),
            _ => json!({"type": "string"}),
        }
    }

    fn object_keywords(
        &mut self,
        obj: &Map<String, Value>,
        out: &mut Map<String, Value>,
        depth: usize,
    ) {
        let mut props = Map::new();
        if let Some(Value::Object(p)) = obj.get("properties") {
            for (name, sub) in p {
                props.insert(name.clone(), self.clean(sub, depth + 1));
            }
        }
        if props.is_empty() {
            return;
        }
        if let Some(Value::Array(req)) = obj.get("required") {
            let kept: Vec<Value> = req
                .iter()
                .filter(|r| r.as_str().is_some_and(|n| props.contains_key(n)))
                .cloned()
                .collect();
            if !kept.is_empty() {
                out.insert("required".into(), Value::Array(kept));
            }
        }
        out.insert("properties".into(), Value::Object(props));
    }

    fn enum_and_format(
        &self,
        obj: &Map<String, Value>,
        ty: &str,
        out: &mut Map<String, Value>,
        nullable: &mut bool,
    ) {
        let mut values: Vec<Value> = match (obj.get("enum"), obj.get("const")) {
            (Some(Value::Array(list)), _) => list.clone(),
            (_, Some(c)) => vec![c.clone()],
            _ => Vec::new(),
        };
        if values.iter().any(Value::is_null) {
            *nullable = true;
            values.retain(|v| !v.is_null());
        }
        if !values.is_empty() {
            if ty == "string" {
                let list = values
                    .iter()
                    .map(|v| Value::String(value_text(v)))
                    .collect();
                out.insert("enum".into(), Value::Array(list));
            } else {
                let list: Vec<String> = values.iter().map(Value::to_string).collect();
                append_hint(out, &format!("allowed values: {}", list.join(", ")));
            }
        }
        if let Some(format) = obj.get("format").and_then(Value::as_str) {
            let ok = match ty {
                "string" => matches!(format, "enum" | "date-time"),
                "number" => matches!(format, "float" | "double"),
                "integer" => matches!(format, "int32" | "int64"),
                _ => false,
            };
            if ok {
                out.insert("format".into(), Value::String(format.into()));
            } else {
                append_hint(out, &format!("format: {format}"));
            }
        }
    }
}

/// The type a schema without a usable `type` implies through its other keywords, if any.
fn infer_type(obj: &Map<String, Value>) -> Option<&'static str> {
    let has = |k: &str| obj.contains_key(k);
    if has("properties") || has("required") || has("minProperties") || has("maxProperties") {
        return Some("object");
    }
    if has("items") || has("prefixItems") || has("minItems") || has("maxItems") {
        return Some("array");
    }
    if has("minimum") || has("maximum") {
        return Some("number");
    }
    if has("minLength") || has("maxLength") || has("pattern") || has("format") {
        return Some("string");
    }
    let values: Vec<&Value> = match (obj.get("enum"), obj.get("const")) {
        (Some(Value::Array(list)), _) => list.iter().filter(|v| !v.is_null()).collect(),
        (_, Some(c)) => vec![c],
        _ => return None,
    };
    if values.is_empty() {
        None
    } else if values.iter().all(|v| v.is_boolean()) {
        Some("boolean")
    } else if values.iter().all(|v| v.is_i64() || v.is_u64()) {
        Some("integer")
    } else if values.iter().all(|v| v.is_number()) {
        Some("number")
    } else {
        Some("string")
    }
}
