//! Scenario rules (`[[rules]]`): conditions on a request that send it to a chosen provider,
//! optionally with a model override. Matching lives in `routing::rule_match`; the
//! comment-preserving file edits are in `config::edit::rules`.

use serde::{Deserialize, Serialize};

use super::Config;

/// One scenario rule. Every condition that is given must match; a rule without conditions
/// matches every request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A label for the request log (default: `rule N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The provider id matching requests go to first.
    pub provider: String,
    /// Send this model upstream instead of the provider's model mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_model: Option<String>,
    /// Condition: the client's model matches this glob (`claude-haiku*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Condition: extended thinking is on (true) or off (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<bool>,
    /// Condition: the estimated input is at least this many tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_input_tokens: Option<u64>,
    /// Condition: the messages hold an image (true) or none (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_image: Option<bool>,
    /// Condition: a tool with this name, or a server tool of this type (`web_search` matches
    /// `web_search_20250305`), is offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// Condition: the last user message contains this text (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
}

impl Rule {
    /// The label shown in the request log for the rule at `index` (0-based).
    pub fn label(&self, index: usize) -> String {
        match &self.name {
            Some(n) if !n.trim().is_empty() => n.clone(),
            _ => format!("rule {}", index + 1),
        }
    }

    /// Whether matching needs more of the body than the model name.
    pub fn needs_body(&self) -> bool {
        self.thinking.is_some()
            || self.min_input_tokens.is_some()
            || self.has_image.is_some()
            || self.tool.is_some()
            || self.keyword.is_some()
    }

    /// The first problem with this rule in `cfg`, as (field, message).
    pub fn problem(&self, cfg: &Config) -> Option<(&'static str, String)> {
        if cfg.provider(&self.provider).is_none() {
            let known: Vec<&str> = cfg.providers.iter().map(|p| p.id.as_str()).collect();
            return Some((
                "provider",
                format!(
                    "no provider {:?}; known: {} (fix the id or remove this rule)",
                    self.provider,
                    known.join(", ")
                ),
            ));
        }
        let empty = |v: &Option<String>| v.as_ref().is_some_and(|s| s.trim().is_empty());
        for (field, v) in [
            ("upstream_model", &self.upstream_model),
            ("model", &self.model),
            ("tool", &self.tool),
            ("keyword", &self.keyword),
        ] {
            if empty(v) {
                return Some((
                    field,
                    "must not be empty (leave the line out instead)".into(),
                ));
            }
        }
        None
    }
}
