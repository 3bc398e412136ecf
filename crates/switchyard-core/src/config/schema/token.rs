//! `[[security.tokens]]`: named client access tokens as the config file holds them (name, rate,
//! creation time; never the value, which lives in the secret store).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A named client token, as written in the config (`[[security.tokens]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientToken {
    /// 1-64 characters of a-z, 0-9, `-` and `_`.
    pub name: String,
    /// Requests per minute this token may make (absent or 0: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_minute: Option<u32>,
    /// When the token was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
}

/// Is `name` usable as a token name?
pub fn valid_token_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}
