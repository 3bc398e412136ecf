//! Context windows: how many input tokens each mapped model takes, and what Claude Code must
//! be told so it compacts a conversation before the smallest provider in the failover chain
//! would refuse it.
//!
//! Claude Code assumes 200k tokens for every `claude-*` model. Two environment variables of
//! the Claude Code CLI change when it compacts (read from the bundled CLI, version 2.x):
//!
//! - `CLAUDE_CODE_AUTO_COMPACT_WINDOW` (tokens): the window it plans with, at least 100,000
//!   (smaller values are raised to it) and at most the model's own window. It compacts at
//!   about this window minus 20,000 (room for the answer) minus 13,000 (a margin).
//! - `CLAUDE_AUTOCOMPACT_PCT_OVERRIDE` (1-100): compact at this percentage of that window
//!   minus 20,000 instead, whichever comes first. Needed below the 100,000 floor.

use crate::config::{Config, Provider, ProviderKind};

/// The window Claude Code assumes for Claude models.
pub const CLAUDE_WINDOW: u64 = 200_000;
/// The variable that sets Claude Code's auto-compact window.
pub const COMPACT_WINDOW_VAR: &str = "CLAUDE_CODE_AUTO_COMPACT_WINDOW";
/// The variable that sets the percentage at which Claude Code compacts.
pub const COMPACT_PCT_VAR: &str = "CLAUDE_AUTOCOMPACT_PCT_OVERRIDE";
/// Claude Code raises a smaller `CLAUDE_CODE_AUTO_COMPACT_WINDOW` to this.
const CLAUDE_CODE_MIN_WINDOW: u64 = 100_000;
/// Tokens Claude Code keeps free for the answer, and its margin below that.
const ANSWER_RESERVE: u64 = 20_000;
const MARGIN: u64 = 13_000;

/// Known input windows, by model name prefix (lowercase, without a `vendor/` prefix). The
/// longest matching prefix wins. Figures are the vendors' published input limits.
const KNOWN: &[(&str, u64)] = &[
    ("claude-", 200_000),
    ("deepseek-chat", 128_000),
    ("deepseek-reasoner", 128_000),
    ("kimi-k2-0711", 131_072),
    ("kimi-k2", 262_144),
    ("glm-4.5", 128_000),
    ("glm-4.6", 200_000),
    ("minimax-m2", 204_800),
    ("qwen3-coder-plus", 1_000_000),
    ("qwen3-coder-flash", 1_000_000),
    ("gemini-2.5", 1_048_576),
    ("gemini-3", 1_048_576),
    ("gpt-5", 272_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4o", 128_000),
];

/// The known input window of a vendor model, if we know it.
pub fn known(vendor_model: &str) -> Option<u64> {
    let m = vendor_model.to_ascii_lowercase();
    let m = m.rsplit('/').next().unwrap_or(&m);
    KNOWN
        .iter()
        .filter(|(prefix, _)| m.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, w)| *w)
}

/// The window of `client_model` on provider `p`: the provider's `context_window` when set,
/// else what we know of the model it maps to (an unmapped model goes through as named).
pub fn for_model(p: &Provider, client_model: &str) -> Option<u64> {
    p.context_window
        .or_else(|| known(p.models.map(client_model).unwrap_or(client_model)))
}

/// The smallest window of any model provider `p` serves: its `context_window` when set, else
/// the smallest known window among its mapped models. An Anthropic-kind provider without a
/// mapping serves Claude models as asked (200k).
pub fn of_provider(p: &Provider) -> Option<u64> {
    if let Some(w) = p.context_window {
        return Some(w);
    }
    if p.models.is_empty() {
        return (p.kind == ProviderKind::Anthropic).then_some(CLAUDE_WINDOW);
    }
    p.models.0.iter().filter_map(|(_, m)| known(m)).min()
}

/// The smallest window among the enabled providers (unknown ones are skipped).
pub fn smallest(cfg: &Config) -> Option<u64> {
    cfg.providers
        .iter()
        .filter(|p| p.enabled)
        .filter_map(of_provider)
        .min()
}

/// The variables Claude Code needs so that it compacts before a conversation outgrows a
/// `window`-token provider: none when the window is Claude's own or larger.
pub fn claude_code_env_for(window: u64) -> Vec<(&'static str, String)> {
    if window >= CLAUDE_WINDOW {
        return Vec::new();
    }
    let planned = window.max(CLAUDE_CODE_MIN_WINDOW);
    let mut env = vec![(COMPACT_WINDOW_VAR, planned.to_string())];
    if window < CLAUDE_CODE_MIN_WINDOW {
        // Below Claude Code's floor: compact at a share of its 100k plan instead. Aim for the
        // same margin as above, but never below half the window.
        let target = window
            .saturating_sub(ANSWER_RESERVE + MARGIN)
            .max(window / 2);
        let usable = planned - ANSWER_RESERVE;
        let pct = (target * 100 / usable).clamp(1, 100);
        env.push((COMPACT_PCT_VAR, pct.to_string()));
    }
    env
}

/// [`claude_code_env_for`] the smallest window among the enabled providers.
pub fn claude_code_env(cfg: &Config) -> Vec<(&'static str, String)> {
    smallest(cfg).map(claude_code_env_for).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelMap;

    /// What Claude Code 2.x computes from the two variables (see the module docs): the
    /// token count at which it compacts.
    fn claude_code_threshold(env: &[(&str, String)]) -> u64 {
        let get = |k: &str| {
            env.iter()
                .find(|(n, _)| *n == k)
                .and_then(|(_, v)| v.parse::<u64>().ok())
        };
        let window = get(COMPACT_WINDOW_VAR)
            .map_or(CLAUDE_WINDOW, |w| w.max(CLAUDE_CODE_MIN_WINDOW))
            .min(CLAUDE_WINDOW);
        let effective = window - ANSWER_RESERVE;
        let normal = effective - MARGIN;
        match get(COMPACT_PCT_VAR) {
            Some(p) => (effective * p / 100).min(normal),
            None => normal,
        }
    }

    #[test]
    fn known_models_and_prefixes() {
        assert_eq!(known("deepseek-chat"), Some(128_000));
        assert_eq!(known("anthropic/claude-sonnet-4.5"), Some(200_000));
        assert_eq!(known("kimi-k2-turbo-preview"), Some(262_144));
        assert_eq!(known("kimi-k2-0711-preview"), Some(131_072));
        assert_eq!(known("GLM-4.5-Air"), Some(128_000));
        assert_eq!(known("gpt-5-mini"), Some(272_000));
        assert_eq!(known("local-model"), None);
    }

    #[test]
    fn compaction_happens_before_the_smallest_window_fills() {
        assert!(claude_code_env_for(200_000).is_empty());
        assert!(claude_code_env_for(1_000_000).is_empty());
        for window in [
            8_000, 32_000, 64_000, 100_000, 110_000, 128_000, 131_072, 160_000, 199_999,
        ] {
            let env = claude_code_env_for(window);
            assert!(!env.is_empty(), "{window}");
            let at = claude_code_threshold(&env);
            // Compacting leaves room for the answer and the next turn...
            assert!(at < window, "{window}: compacts at {at}");
            // ...without throwing away most of the window.
            assert!(
                at >= window / 2 - 1,
                "{window}: compacts at {at}, too early"
            );
        }
        assert_eq!(
            claude_code_env_for(128_000),
            vec![(COMPACT_WINDOW_VAR, "128000".to_string())]
        );
        assert_eq!(
            claude_code_env_for(64_000),
            vec![
                (COMPACT_WINDOW_VAR, "100000".to_string()),
                (COMPACT_PCT_VAR, "40".to_string())
            ]
        );
    }

    #[test]
    fn provider_override_mapping_and_smallest_enabled() {
        let mut cfg = Config::default();
        let anthropic = cfg.providers[0].clone();
        assert_eq!(of_provider(&anthropic), Some(CLAUDE_WINDOW));
        let mut ds = crate::presets::get("deepseek")
            .expect("preset")
            .provider("deepseek");
        assert_eq!(of_provider(&ds), Some(128_000));
        assert_eq!(for_model(&ds, "claude-opus-4-1"), Some(128_000));
        ds.models = ModelMap(vec![("*".into(), "local-thing".into())]);
        assert_eq!(of_provider(&ds), None, "unknown model, no override");
        ds.context_window = Some(32_768);
        assert_eq!(of_provider(&ds), Some(32_768));
        assert_eq!(for_model(&ds, "claude-haiku-4-5"), Some(32_768));
        cfg.providers.push(ds);
        assert_eq!(smallest(&cfg), Some(32_768));
        assert_eq!(claude_code_env(&cfg)[0].0, COMPACT_WINDOW_VAR);
        cfg.providers[1].enabled = false;
        assert_eq!(smallest(&cfg), Some(CLAUDE_WINDOW));
        assert!(claude_code_env(&cfg).is_empty());
    }
}
