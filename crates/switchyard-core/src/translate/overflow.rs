//! Context overflow: a provider refused a conversation as longer than its window. Each vendor
//! words it its own way; each client dialect has one wording its clients act on (Claude Code
//! compacts on Anthropic's "prompt is too long: N tokens > M maximum" instead of blaming the
//! model). This module reads the vendors' wordings and writes the clients'.
//!
//! Read: OpenAI's `context_length_exceeded` ("This model's maximum context length is M tokens.
//! However, your messages resulted in N tokens", or "Your input exceeds the context window of
//! this model"), DeepSeek's and vLLM's "maximum context length is M tokens ... requested N
//! tokens (X in the messages, Y in the completion)", Gemini's "The input token count (N)
//! exceeds the maximum number of tokens allowed (M)", Anthropic's own wording, and the
//! generic "context length/window exceeded" / "too many tokens" phrasings of other servers.

/// A refusal for length, with whatever numbers the vendor gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Overflow {
    /// The conversation's tokens, as the vendor counted them.
    pub tokens: Option<u64>,
    /// The window.
    pub limit: Option<u64>,
}

/// The first integer after `marker` in `text` (digits may carry `,` separators).
fn number_after(text: &str, marker: &str) -> Option<u64> {
    let at = text.find(marker)? + marker.len();
    let rest = &text[at..];
    let start = rest.find(|c: char| c.is_ascii_digit())?;
    // Only a number close to the marker belongs to it.
    if start > 12 {
        return None;
    }
    let digits: String = rest[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Is `message` (an upstream error's message or whole body) a refusal for length?
pub fn parse(message: &str) -> Option<Overflow> {
    let m = message.to_ascii_lowercase();
    let said = |w: &str| m.contains(w);
    if said("prompt is too long") {
        return Some(Overflow {
            tokens: number_after(&m, "prompt is too long:"),
            limit: number_after(&m, "tokens >"),
        });
    }
    if said("input token count") && said("exceeds the maximum") {
        return Some(Overflow {
            tokens: number_after(&m, "input token count"),
            limit: number_after(&m, "tokens allowed"),
        });
    }
    if said("maximum context length") {
        let in_messages = || {
            // "(X in the messages, ...)": X comes before the words.
            let at = m.find(" in the messages")?;
            let head = &m[..at];
            let start = head.rfind(|c: char| !c.is_ascii_digit())? + 1;
            head[start..].parse().ok()
        };
        let tokens = in_messages()
            .or_else(|| number_after(&m, "resulted in"))
            .or_else(|| number_after(&m, "requested"));
        return Some(Overflow {
            tokens,
            limit: number_after(&m, "maximum context length is"),
        });
    }
    let generic = said("context_length_exceeded")
        || said("context length exceeded")
        || said("exceeds the context window")
        || said("context window exceeded")
        || said("exceeds the model's context")
        || (said("too many tokens") && said("context"));
    generic.then_some(Overflow::default())
}

impl Overflow {
    /// The numbers filled in where the vendor gave none.
    pub fn or(self, tokens: u64, limit: Option<u64>) -> Overflow {
        Overflow {
            tokens: self.tokens.or(Some(tokens)),
            limit: self.limit.or(limit),
        }
    }

    /// Anthropic's wording (Claude Code reads both numbers to decide how much to compact).
    pub fn anthropic_message(&self) -> String {
        match (self.tokens, self.limit) {
            (Some(n), Some(m)) => format!("prompt is too long: {n} tokens > {m} maximum"),
            (Some(n), None) => format!("prompt is too long: {n} tokens"),
            _ => "prompt is too long".to_string(),
        }
    }

    /// Gemini's wording.
    pub fn gemini_message(&self) -> String {
        match (self.tokens, self.limit) {
            (Some(n), Some(m)) => format!(
                "The input token count ({n}) exceeds the maximum number of tokens allowed ({m})."
            ),
            _ => "The input token count exceeds the maximum number of tokens allowed.".to_string(),
        }
    }

    /// OpenAI's wording (Chat Completions and Responses clients), with `context_length_exceeded`
    /// as its code.
    pub fn openai_message(&self) -> String {
        match (self.tokens, self.limit) {
            (Some(n), Some(m)) => format!(
                "This model's maximum context length is {m} tokens. However, your messages resulted in {n} tokens. Please reduce the length of the messages."
            ),
            _ => "Your input exceeds the context window of this model. Please adjust your input and try again.".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(tokens: Option<u64>, limit: Option<u64>) -> Option<Overflow> {
        Some(Overflow { tokens, limit })
    }

    #[test]
    fn vendor_wordings() {
        assert_eq!(
            parse("prompt is too long: 210345 tokens > 200000 maximum"),
            o(Some(210_345), Some(200_000))
        );
        assert_eq!(
            parse("This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens. Please reduce the length of the messages."),
            o(Some(130_512), Some(128_000))
        );
        assert_eq!(
            parse("This model's maximum context length is 65536 tokens. However, you requested 70000 tokens (68000 in the messages, 2000 in the completion). Please reduce the length of the messages or completion."),
            o(Some(68_000), Some(65_536))
        );
        assert_eq!(
            parse("The input token count (1234567) exceeds the maximum number of tokens allowed (1048576)."),
            o(Some(1_234_567), Some(1_048_576))
        );
        assert_eq!(
            parse(
                r#"{"error":{"message":"Your input exceeds the context window of this model. Please adjust your input and try again.","type":"invalid_request_error","param":"input","code":"context_length_exceeded"}}"#
            ),
            o(None, None)
        );
        assert_eq!(parse("max_tokens: 9000 > 8192, which is the maximum"), None);
        assert_eq!(parse("rate limited"), None);
        assert_eq!(parse("Invalid `signature` in `thinking` block"), None);
    }

    #[test]
    fn client_wordings() {
        let x = Overflow {
            tokens: Some(5),
            limit: Some(4),
        };
        assert_eq!(
            x.anthropic_message(),
            "prompt is too long: 5 tokens > 4 maximum"
        );
        assert!(x.gemini_message().contains("(5) exceeds"));
        assert!(x
            .openai_message()
            .contains("maximum context length is 4 tokens"));
        assert_eq!(Overflow::default().or(9, Some(8)), x_with(9, 8));
        assert_eq!(parse(&x.gemini_message()), Some(x));
        assert_eq!(parse(&x.openai_message()), Some(x));
    }

    fn x_with(n: u64, m: u64) -> Overflow {
        Overflow {
            tokens: Some(n),
            limit: Some(m),
        }
    }
}
