//! Top-level request fields: sampling, tools and tool choice, reasoning effort.

use serde_json::{json, Map, Value};

use super::request::Cx;

impl Cx<'_> {
    pub(super) fn sampling(&mut self, obj: &Map<String, Value>, body: &mut Map<String, Value>) {
        if let Some(n) = obj.get("max_tokens").and_then(Value::as_u64) {
            let capped = self.opts.max_tokens_cap.map_or(n, |cap| n.min(cap));
            if capped < n {
                self.notes
                    .push(format!("clamped max_tokens {n} -> {capped}"));
            }
            let key = if self.opts.max_completion_tokens {
                "max_completion_tokens"
            } else {
                "max_tokens"
            };
            body.insert(key.into(), json!(capped));
        }
        for key in ["temperature", "top_p"] {
            if let Some(v) = obj.get(key).filter(|v| v.is_number()) {
                body.insert(key.into(), v.clone());
            }
        }
        if let Some(k) = obj.get("top_k").filter(|v| v.is_number()) {
            if self.opts.top_k {
                body.insert("top_k".into(), k.clone());
            } else {
                self.notes
                    .push("dropped top_k (this provider does not accept it)".into());
            }
        }
        let stops: Vec<&str> = obj
            .get("stop_sequences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        if stops.len() > 4 {
            self.notes.push(format!(
                "kept the first 4 of {} stop_sequences (Chat Completions allows 4)",
                stops.len()
            ));
        }
        if !stops.is_empty() {
            body.insert(
                "stop".into(),
                json!(stops.iter().take(4).collect::<Vec<_>>()),
            );
        }
    }

    pub(super) fn tool_fields(
        &mut self,
        obj: &Map<String, Value>,
        tools: Vec<Value>,
        body: &mut Map<String, Value>,
    ) {
        let choice = obj.get("tool_choice");
        if tools.is_empty() {
            if choice.is_some_and(|c| !matches!(c["type"].as_str(), Some("auto" | "none"))) {
                self.notes
                    .push("dropped tool_choice (no tools to choose from)".into());
            }
            return;
        }
        body.insert("tools".into(), Value::Array(tools));
        let Some(choice) = choice else { return };
        let mapped = match choice["type"].as_str() {
            Some("any") => json!("required"),
            Some("none") => json!("none"),
            Some("tool") => {
                let name = self.tool_name(choice["name"].as_str().unwrap_or(""));
                json!({"type": "function", "function": {"name": name}})
            }
            _ => json!("auto"),
        };
        let none = mapped == "none";
        body.insert("tool_choice".into(), mapped);
        if !none && choice["disable_parallel_tool_use"].as_bool() == Some(true) {
            body.insert("parallel_tool_calls".into(), json!(false));
        }
    }

    /// `thinking` / `output_config.effort` -> `reasoning_effort` (never a token budget);
    /// `output_config.format` (JSON schema) -> `response_format`.
    pub(super) fn reasoning(&mut self, obj: &Map<String, Value>, body: &mut Map<String, Value>) {
        if let Some(format) = obj.get("output_config").and_then(|o| o.get("format")) {
            if format["type"] == "json_schema" {
                body.insert(
                    "response_format".into(),
                    json!({"type": "json_schema",
                        "json_schema": {"name": "output", "schema": format["schema"]}}),
                );
            }
        }
        let thinking = obj.get("thinking");
        let kind = thinking.and_then(|t| t["type"].as_str()).unwrap_or("");
        if !matches!(kind, "enabled" | "adaptive") {
            return;
        }
        let effort = obj
            .get("output_config")
            .and_then(|o| o.get("effort"))
            .and_then(Value::as_str);
        let budget = thinking.and_then(|t| t["budget_tokens"].as_u64());
        let mapped = match (effort, budget) {
            (Some(e), _) => match e {
                "low" | "medium" | "high" => Some((e, format!("effort {e}"))),
                "max" | "xhigh" => Some(("high", format!("effort {e}"))),
                other => {
                    self.notes.push(format!("ignored unknown effort `{other}`"));
                    None
                }
            },
            (None, Some(b)) => {
                let e = match b {
                    0..4096 => "low",
                    4096..16384 => "medium",
                    _ => "high",
                };
                Some((e, format!("thinking budget {b}")))
            }
            (None, None) => None,
        };
        if let Some((e, from)) = mapped {
            body.insert("reasoning_effort".into(), json!(e));
            self.notes.push(format!("{from} -> reasoning_effort {e}"));
        }
    }
}
