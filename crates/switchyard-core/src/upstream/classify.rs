//! Deciding what an upstream answer means: serve it, return it as the client's own error, or
//! fail over. Pure functions over status, headers and body.

use crate::events::FailoverReason;

/// How much of an error body is searched for indicator words.
const SCAN_LIMIT: usize = 8 * 1024;

/// Why an upstream error answer should make us fail over, or `None` when it is the client's
/// own mistake and must be returned as it is.
pub fn error_reason(status: u16, body: &[u8], indicators: &[String]) -> Option<FailoverReason> {
    let text = String::from_utf8_lossy(&body[..body.len().min(SCAN_LIMIT)]).to_lowercase();
    let has = |w: &str| text.contains(w);
    let usage = has("usage limit") || has("usage_limit");
    let credit =
        has("quota") || has("insufficient") || has("balance") || has("credit") || has("billing");
    match status {
        429 if usage => Some(FailoverReason::UsageLimit),
        429 if credit && !has("rate limit") => Some(FailoverReason::OutOfCredit),
        429 => Some(FailoverReason::RateLimited),
        402 => Some(FailoverReason::OutOfCredit),
        401 | 403 => Some(FailoverReason::KeyRejected),
        408 => Some(FailoverReason::Timeout),
        500..=599 => Some(FailoverReason::Overloaded),
        _ => {
            let matched = indicators
                .iter()
                .any(|i| !i.is_empty() && text.contains(&i.to_lowercase()));
            if !matched {
                None
            } else if usage {
                Some(FailoverReason::UsageLimit)
            } else if credit {
                Some(FailoverReason::OutOfCredit)
            } else {
                Some(FailoverReason::RateLimited)
            }
        }
    }
}

/// The reason for an in-band `event: error` (or an error body's `error.type`).
pub fn in_band_reason(
    error_type: Option<crate::protocol::anthropic::ErrorType>,
    message: &str,
) -> FailoverReason {
    use crate::protocol::anthropic::ErrorType as E;
    let m = message.to_lowercase();
    match error_type {
        _ if m.contains("usage limit") => FailoverReason::UsageLimit,
        Some(E::RateLimit) => FailoverReason::RateLimited,
        Some(E::Billing) => FailoverReason::OutOfCredit,
        Some(E::Authentication) | Some(E::Permission) => FailoverReason::KeyRejected,
        Some(E::Timeout) => FailoverReason::Timeout,
        // Our own translators' word for a vendor event over `limits.max_frame_kb`.
        Some(E::RequestTooLarge) => FailoverReason::TooLarge,
        _ => FailoverReason::InBandError,
    }
}

/// What one pass over a non-streaming Messages answer tells: whether it is empty, its
/// tokens, and where its `model` is (to echo the client's model without re-serialising).
pub struct MessageFacts<'a> {
    /// No content and 0 output tokens.
    pub empty: bool,
    /// Input tokens incl. cache reads and writes.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Of the input tokens: read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Of the input tokens: written to the prompt cache.
    pub cache_write_tokens: u64,
    /// The raw `model` value, a slice of the body.
    pub model: Option<&'a serde_json::value::RawValue>,
}

/// Read a non-streaming Messages answer once; `None` when it is not a JSON object.
pub fn message_facts(body: &[u8]) -> Option<MessageFacts<'_>> {
    use std::borrow::Cow;
    #[derive(serde::Deserialize)]
    struct Block<'a> {
        #[serde(borrow, rename = "type", default)]
        kind: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        text: Option<Cow<'a, str>>,
    }
    #[derive(serde::Deserialize, Default)]
    struct Usage {
        #[serde(default)]
        input_tokens: u64,
        #[serde(default)]
        output_tokens: u64,
        #[serde(default)]
        cache_read_input_tokens: Option<u64>,
        #[serde(default)]
        cache_creation_input_tokens: Option<u64>,
    }
    #[derive(serde::Deserialize)]
    struct Msg<'a> {
        #[serde(borrow, default)]
        model: Option<&'a serde_json::value::RawValue>,
        #[serde(borrow, default)]
        content: Vec<Block<'a>>,
        #[serde(default)]
        usage: Option<Usage>,
    }
    let m: Msg<'_> = serde_json::from_slice(body).ok()?;
    let no_content = m.content.iter().all(|b| {
        b.kind.as_deref() == Some("text") && b.text.as_deref().is_none_or(|t| t.trim().is_empty())
    });
    let u = m.usage.unwrap_or_default();
    let (cache_read_tokens, cache_write_tokens) = (
        u.cache_read_input_tokens.unwrap_or(0),
        u.cache_creation_input_tokens.unwrap_or(0),
    );
    Some(MessageFacts {
        empty: no_content && u.output_tokens == 0,
        input_tokens: u.input_tokens + cache_read_tokens + cache_write_tokens,
        output_tokens: u.output_tokens,
        cache_read_tokens,
        cache_write_tokens,
        model: m.model,
    })
}

/// Cache-read and cache-write input tokens of a `usage` object.
pub fn cache_of(u: &serde_json::Value) -> (u64, u64) {
    let n = |k: &str| u.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
    (
        n("cache_read_input_tokens"),
        n("cache_creation_input_tokens"),
    )
}

/// Input (incl. cache) and output tokens of a `usage` object.
pub fn usage_of(u: &serde_json::Value) -> (u64, u64) {
    let n = |k: &str| u.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
    (
        n("input_tokens") + n("cache_read_input_tokens") + n("cache_creation_input_tokens"),
        n("output_tokens"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ind() -> Vec<String> {
        vec!["usage limit".into(), "rate limit".into(), "quota".into()]
    }

    #[test]
    fn statuses_and_indicators() {
        assert_eq!(
            error_reason(429, b"{}", &ind()),
            Some(FailoverReason::RateLimited)
        );
        assert_eq!(
            error_reason(429, b"Claude AI usage limit reached|1735689600", &ind()),
            Some(FailoverReason::UsageLimit)
        );
        assert_eq!(
            error_reason(402, b"", &ind()),
            Some(FailoverReason::OutOfCredit)
        );
        assert_eq!(
            error_reason(401, b"", &ind()),
            Some(FailoverReason::KeyRejected)
        );
        assert_eq!(
            error_reason(529, b"", &ind()),
            Some(FailoverReason::Overloaded)
        );
        assert_eq!(
            error_reason(503, b"", &ind()),
            Some(FailoverReason::Overloaded)
        );
        assert_eq!(
            error_reason(
                400,
                b"{\"error\":{\"message\":\"max_tokens too big\"}}",
                &ind()
            ),
            None
        );
        assert_eq!(error_reason(404, b"model not found", &ind()), None);
        assert_eq!(error_reason(413, b"too large", &ind()), None);
        assert_eq!(
            error_reason(400, b"You exceeded your current QUOTA", &ind()),
            Some(FailoverReason::OutOfCredit)
        );
        assert_eq!(
            error_reason(400, b"quota", &[]),
            None,
            "indicators are configurable"
        );
    }

    #[test]
    fn empty_answers() {
        let empty = |b: &[u8]| message_facts(b).is_some_and(|f| f.empty);
        assert!(empty(
            br#"{"content":[],"usage":{"input_tokens":5,"output_tokens":0}}"#
        ));
        assert!(empty(
            br#"{"content":[{"type":"text","text":""}],"usage":{"output_tokens":0}}"#
        ));
        assert!(!empty(
            br#"{"content":[{"type":"text","text":"hi"}],"usage":{"output_tokens":1}}"#
        ));
        assert!(!empty(br#"{"content":[{"type":"tool_use","id":"t","name":"n","input":{}}],"usage":{"output_tokens":0}}"#));
        let f = message_facts(
            br#"{"usage":{"input_tokens":5,"cache_read_input_tokens":100,"output_tokens":7}}"#,
        )
        .expect("facts");
        assert_eq!((f.input_tokens, f.output_tokens), (105, 7));
        assert_eq!((f.cache_read_tokens, f.cache_write_tokens), (100, 0));
    }
}
