//! The price table: USD per million tokens for an upstream model name or glob.
//!
//! Lookup order: the config's `[prices]` first, then the built-in defaults. Within each, an
//! exact name beats any glob, and among globs the one with more literal (non-wildcard)
//! characters wins; a tie goes to the alphabetically first pattern, so the answer never
//! depends on the file's order. The built-in figures are public list prices at the time of
//! writing and are estimates: vendors change them, discount them and bill some tiers
//! differently.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::config::Price;

/// Tokens of one request, split the way vendors bill them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tokens {
    /// Uncached input tokens.
    #[serde(default)]
    pub input: u64,
    /// Output tokens.
    #[serde(default)]
    pub output: u64,
    /// Input tokens read from the prompt cache.
    #[serde(default)]
    pub cache_read: u64,
    /// Input tokens written to the prompt cache.
    #[serde(default)]
    pub cache_write: u64,
}

impl Tokens {
    /// Add another request's tokens.
    pub fn add(&mut self, o: &Tokens) {
        self.input += o.input;
        self.output += o.output;
        self.cache_read += o.cache_read;
        self.cache_write += o.cache_write;
    }
}

impl Price {
    /// The cost of these tokens, USD.
    pub fn cost(&self, t: &Tokens) -> f64 {
        (t.input as f64 * self.input
            + t.output as f64 * self.output
            + t.cache_read as f64 * self.cache_read
            + t.cache_write as f64 * self.cache_write)
            / 1_000_000.0
    }
}

const fn p(input: f64, output: f64, cache_read: f64, cache_write: f64) -> Price {
    Price {
        input,
        output,
        cache_read,
        cache_write,
    }
}

/// Built-in estimates for the Claude models and the preset vendors' models.
pub const DEFAULTS: &[(&str, Price)] = &[
    // Anthropic (cache write = 5-minute TTL rate).
    ("claude-opus-4-5*", p(5.0, 25.0, 0.5, 6.25)),
    ("claude-opus-4*", p(15.0, 75.0, 1.5, 18.75)),
    ("claude-3-opus*", p(15.0, 75.0, 1.5, 18.75)),
    ("claude-sonnet-4*", p(3.0, 15.0, 0.3, 3.75)),
    ("claude-3-7-sonnet*", p(3.0, 15.0, 0.3, 3.75)),
    ("claude-3-5-sonnet*", p(3.0, 15.0, 0.3, 3.75)),
    ("claude-haiku-4-5*", p(1.0, 5.0, 0.1, 1.25)),
    ("claude-3-5-haiku*", p(0.8, 4.0, 0.08, 1.0)),
    ("claude-3-haiku*", p(0.25, 1.25, 0.03, 0.3)),
    // OpenRouter names for the same models.
    ("anthropic/claude-opus-4.5*", p(5.0, 25.0, 0.5, 6.25)),
    ("anthropic/claude-opus-4*", p(15.0, 75.0, 1.5, 18.75)),
    ("anthropic/claude-sonnet-4*", p(3.0, 15.0, 0.3, 3.75)),
    ("anthropic/claude-haiku-4.5*", p(1.0, 5.0, 0.1, 1.25)),
    // DeepSeek.
    ("deepseek-chat", p(0.28, 0.42, 0.028, 0.28)),
    ("deepseek-reasoner", p(0.28, 0.42, 0.028, 0.28)),
    // Moonshot Kimi.
    ("kimi-k2-turbo-preview", p(1.15, 8.0, 0.15, 1.15)),
    ("kimi-k2*", p(0.6, 2.5, 0.15, 0.6)),
    // Z.ai GLM.
    ("glm-4.6", p(0.6, 2.2, 0.11, 0.6)),
    ("glm-4.5-air", p(0.2, 1.1, 0.03, 0.2)),
    // MiniMax.
    ("MiniMax-M2", p(0.3, 1.2, 0.03, 0.375)),
    // Qwen (DashScope international, lowest tier).
    ("qwen3-coder-plus", p(1.0, 5.0, 0.1, 1.0)),
    ("qwen3-coder-flash", p(0.3, 1.5, 0.03, 0.3)),
    // Google Gemini (prompts up to 200k tokens).
    ("gemini-2.5-pro", p(1.25, 10.0, 0.125, 1.25)),
    ("gemini-2.5-flash", p(0.3, 2.5, 0.03, 0.3)),
    // OpenAI.
    ("gpt-5", p(1.25, 10.0, 0.125, 1.25)),
    ("gpt-5-mini", p(0.25, 2.0, 0.025, 0.25)),
];

/// How specific a pattern is: exact names first, then more literal characters.
fn rank(pattern: &str) -> (bool, usize) {
    let exact = !pattern.contains(['*', '?']);
    let literal = pattern.chars().filter(|c| !matches!(c, '*' | '?')).count();
    (exact, literal)
}

fn best<'a, I>(entries: I, model: &str) -> Option<(&'a str, Price)>
where
    I: Iterator<Item = (&'a str, Price)>,
{
    let mut found: Option<(&'a str, Price)> = None;
    for (pat, price) in entries {
        if !crate::glob::matches(pat, model) {
            continue;
        }
        let better = match &found {
            None => true,
            Some((cur, _)) => {
                let (a, b) = (rank(pat), rank(cur));
                a > b || (a == b && pat < *cur)
            }
        };
        if better {
            found = Some((pat, price));
        }
    }
    found
}

/// Where a price came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    /// The config's `[prices]`.
    Config,
    /// The built-in estimates.
    Default,
}

/// The price for an upstream model, and the pattern and table that gave it.
pub fn lookup<'a>(
    config: &'a BTreeMap<String, Price>,
    model: &str,
) -> Option<(&'a str, Price, PriceSource)> {
    if let Some((pat, price)) = best(config.iter().map(|(k, v)| (k.as_str(), *v)), model) {
        return Some((pat, price, PriceSource::Config));
    }
    best(DEFAULTS.iter().map(|(k, v)| (*k, *v)), model).map(|(k, v)| (k, v, PriceSource::Default))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(entries: &[(&str, f64)]) -> BTreeMap<String, Price> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), p(*v, 0.0, 0.0, 0.0)))
            .collect()
    }

    #[test]
    fn exact_beats_glob_and_longer_glob_beats_shorter() {
        let t = table(&[("*", 1.0), ("gpt-*", 2.0), ("gpt-5*", 3.0), ("gpt-5", 4.0)]);
        assert_eq!(lookup(&t, "gpt-5").map(|x| x.1.input), Some(4.0));
        assert_eq!(lookup(&t, "gpt-5-mini").map(|x| x.1.input), Some(3.0));
        assert_eq!(lookup(&t, "gpt-4o").map(|x| x.1.input), Some(2.0));
        assert_eq!(lookup(&t, "llama").map(|x| x.1.input), Some(1.0));
        let (pat, _, src) = lookup(&t, "gpt-5-mini").expect("match");
        assert_eq!((pat, src), ("gpt-5*", PriceSource::Config));
    }

    #[test]
    fn config_beats_defaults_and_ties_do_not_depend_on_order() {
        let t = table(&[("claude-*", 9.0)]);
        let (_, price, src) = lookup(&t, "claude-sonnet-4-5").expect("match");
        assert_eq!((price.input, src), (9.0, PriceSource::Config));
        // Same literal count: the alphabetically first pattern wins.
        let t = table(&[("a*c", 1.0), ("ab*", 2.0)]);
        assert_eq!(lookup(&t, "abc").map(|x| x.1.input), Some(1.0));
    }

    #[test]
    fn defaults_pick_the_specific_claude_family() {
        let none = BTreeMap::new();
        let opus45 = lookup(&none, "claude-opus-4-5-20251101").expect("opus 4.5");
        assert_eq!((opus45.0, opus45.1.input), ("claude-opus-4-5*", 5.0));
        let opus41 = lookup(&none, "claude-opus-4-1-20250805").expect("opus 4.1");
        assert_eq!(opus41.1.input, 15.0);
        assert_eq!(
            lookup(&none, "deepseek-chat").map(|x| x.2),
            Some(PriceSource::Default)
        );
        assert!(lookup(&none, "my-local-model").is_none());
    }

    #[test]
    fn cost_uses_each_rate() {
        let price = p(3.0, 15.0, 0.3, 3.75);
        let t = Tokens {
            input: 1_000_000,
            output: 100_000,
            cache_read: 2_000_000,
            cache_write: 0,
        };
        assert!((price.cost(&t) - (3.0 + 1.5 + 0.6)).abs() < 1e-9);
        assert!(price.is_valid());
        assert!(!p(-1.0, 0.0, 0.0, 0.0).is_valid());
        assert!(!p(f64::NAN, 0.0, 0.0, 0.0).is_valid());
    }
}
