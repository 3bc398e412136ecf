//! `[prices]`: USD per million tokens for an upstream model name or glob (the lookup and the
//! built-in table are in `crate::usage::prices`).

use serde::{Deserialize, Serialize};

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Uncached input tokens.
    #[serde(default)]
    pub input: f64,
    /// Output tokens (reasoning included).
    #[serde(default)]
    pub output: f64,
    /// Input tokens read from the prompt cache.
    #[serde(default)]
    pub cache_read: f64,
    /// Input tokens written to the prompt cache.
    #[serde(default)]
    pub cache_write: f64,
}

impl Price {
    /// Every figure is a finite number >= 0.
    pub fn is_valid(&self) -> bool {
        [self.input, self.output, self.cache_read, self.cache_write]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0)
    }
}
