//! Scenario rule matching: the first `[[rules]]` entry whose conditions all hold picks the
//! request's first provider. The body is only parsed beyond the model name when a rule that is
//! reached needs it, and each fact (tokens, images, ...) is computed at most once.

use serde_json::Value;

use crate::config::Rule;

/// Facts about one request body, computed on first use.
struct Facts<'b> {
    body: &'b [u8],
    json: Option<Option<Value>>,
    tokens: Option<u64>,
}

impl<'b> Facts<'b> {
    fn json(&mut self) -> Option<&Value> {
        let body = self.body;
        self.json
            .get_or_insert_with(|| serde_json::from_slice(body).ok())
            .as_ref()
    }

    fn tokens(&mut self) -> u64 {
        if let Some(n) = self.tokens {
            return n;
        }
        let n = self
            .json()
            .map(crate::translate::token_estimate::request_tokens)
            .unwrap_or(0);
        self.tokens = Some(n);
        n
    }
}

/// Extended thinking is on: `thinking.type` is anything but `disabled`.
fn thinking(v: &Value) -> bool {
    v.get("thinking")
        .and_then(|t| t.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t != "disabled")
}

/// An `image` block anywhere in the messages (also inside tool results).
fn has_image(v: &Value) -> bool {
    fn walk(blocks: &Value) -> bool {
        blocks.as_array().is_some_and(|a| {
            a.iter().any(|b| {
                b.get("type").and_then(Value::as_str) == Some("image")
                    || b.get("content").is_some_and(walk)
            })
        })
    }
    v.get("messages")
        .and_then(Value::as_array)
        .is_some_and(|ms| ms.iter().any(|m| m.get("content").is_some_and(walk)))
}

/// A tool named `want`, or a server tool whose type is `want` or `want_<version>`.
fn has_tool(v: &Value, want: &str) -> bool {
    v.get("tools").and_then(Value::as_array).is_some_and(|ts| {
        ts.iter().any(|t| {
            let name = t.get("name").and_then(Value::as_str);
            let kind = t.get("type").and_then(Value::as_str).unwrap_or("");
            name.is_some_and(|n| n.eq_ignore_ascii_case(want))
                || kind.eq_ignore_ascii_case(want)
                || kind
                    .strip_prefix(want)
                    .is_some_and(|rest| rest.starts_with('_'))
        })
    })
}

/// The text of the last user message that has text (tool-result-only turns are skipped).
fn last_user_text(v: &Value) -> Option<String> {
    let ms = v.get("messages")?.as_array()?;
    ms.iter()
        .rev()
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .find_map(|m| match m.get("content")? {
            Value::String(s) => Some(s.clone()),
            Value::Array(blocks) => {
                let text: Vec<&str> = blocks
                    .iter()
                    .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                    .filter_map(|b| b.get("text").and_then(Value::as_str))
                    .collect();
                (!text.is_empty()).then(|| text.join("\n"))
            }
            _ => None,
        })
}

fn matches(rule: &Rule, model: &str, facts: &mut Facts<'_>) -> bool {
    if let Some(glob) = &rule.model {
        if !crate::glob::matches(glob, model) {
            return false;
        }
    }
    if !rule.needs_body() {
        return true;
    }
    if let Some(min) = rule.min_input_tokens {
        if facts.tokens() < min {
            return false;
        }
    }
    let Some(v) = facts.json() else {
        return false;
    };
    if rule.thinking.is_some_and(|want| thinking(v) != want) {
        return false;
    }
    if rule.has_image.is_some_and(|want| has_image(v) != want) {
        return false;
    }
    if rule.tool.as_deref().is_some_and(|t| !has_tool(v, t)) {
        return false;
    }
    if let Some(k) = &rule.keyword {
        let text = last_user_text(v).unwrap_or_default().to_lowercase();
        if !text.contains(&k.to_lowercase()) {
            return false;
        }
    }
    true
}

/// The first rule that matches a request, with its index.
pub fn first_match<'r>(rules: &'r [Rule], model: &str, body: &[u8]) -> Option<(usize, &'r Rule)> {
    if rules.is_empty() {
        return None;
    }
    let mut facts = Facts {
        body,
        json: None,
        tokens: None,
    };
    rules
        .iter()
        .enumerate()
        .find(|(_, r)| matches(r, model, &mut facts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(provider: &str) -> Rule {
        Rule {
            provider: provider.into(),
            ..Rule::default()
        }
    }

    fn pick(rules: &[Rule], body: &Value) -> Option<String> {
        let model = body["model"].as_str().unwrap_or("");
        first_match(rules, model, body.to_string().as_bytes()).map(|(_, r)| r.provider.clone())
    }

    #[test]
    fn each_condition_and_first_match_wins() {
        let rules = vec![
            Rule {
                model: Some("claude-haiku*".into()),
                ..rule("cheap")
            },
            Rule {
                thinking: Some(true),
                ..rule("thinker")
            },
            Rule {
                min_input_tokens: Some(5000),
                ..rule("long")
            },
            Rule {
                has_image: Some(true),
                ..rule("eyes")
            },
            Rule {
                tool: Some("web_search".into()),
                ..rule("search")
            },
            Rule {
                keyword: Some("TRANSLATE".into()),
                ..rule("words")
            },
        ];
        let base =
            json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(pick(&rules, &base), None);
        let with = |f: &dyn Fn(&mut Value)| {
            let mut b = base.clone();
            f(&mut b);
            pick(&rules, &b)
        };
        assert_eq!(
            with(&|b| b["model"] = json!("claude-haiku-4-5")).as_deref(),
            Some("cheap")
        );
        // Haiku with thinking: the earlier rule wins.
        assert_eq!(
            with(&|b| {
                b["model"] = json!("claude-haiku-4-5");
                b["thinking"] = json!({"type": "enabled", "budget_tokens": 1024});
            })
            .as_deref(),
            Some("cheap")
        );
        assert_eq!(
            with(&|b| b["thinking"] = json!({"type": "enabled", "budget_tokens": 1024})).as_deref(),
            Some("thinker")
        );
        assert_eq!(with(&|b| b["thinking"] = json!({"type": "disabled"})), None);
        assert_eq!(
            with(&|b| b["messages"][0]["content"] = json!("word ".repeat(20000))).as_deref(),
            Some("long")
        );
        assert_eq!(
            with(&|b| b["messages"][0]["content"] = json!([{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}, {"type": "text", "text": "what is it"}])).as_deref(),
            Some("eyes")
        );
        assert_eq!(
            with(&|b| b["messages"][0]["content"] = json!([{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "image", "source": {}}]}])).as_deref(),
            Some("eyes"),
            "images inside tool results count"
        );
        assert_eq!(
            with(&|b| b["tools"] = json!([{"type": "web_search_20250305", "name": "web_search"}]))
                .as_deref(),
            Some("search")
        );
        assert_eq!(
            with(&|b| b["tools"] = json!([{"name": "Web_Search", "input_schema": {}}])).as_deref(),
            Some("search")
        );
        assert_eq!(
            with(&|b| b["tools"] = json!([{"name": "web_searcher", "input_schema": {}}])),
            None
        );
        assert_eq!(
            with(&|b| b["messages"] = json!([
                {"role": "user", "content": "please translate this"},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "x"}]},
            ]))
            .as_deref(),
            Some("words"),
            "tool-result-only turns are skipped"
        );
        assert_eq!(
            with(&|b| b["messages"] = json!([
                {"role": "user", "content": "translate"},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": [{"type": "text", "text": "thanks"}]},
            ])),
            None,
            "only the last user message counts"
        );
        // All conditions of one rule must hold.
        let both = vec![Rule {
            model: Some("*opus*".into()),
            keyword: Some("plan".into()),
            ..rule("x")
        }];
        assert_eq!(pick(&both, &json!({"model": "claude-opus-4", "messages": [{"role": "user", "content": "Plan it"}]})).as_deref(), Some("x"));
        assert_eq!(
            pick(
                &both,
                &json!({"model": "claude-opus-4", "messages": [{"role": "user", "content": "do it"}]})
            ),
            None
        );
        assert_eq!(pick(&[], &base), None);
    }
}
