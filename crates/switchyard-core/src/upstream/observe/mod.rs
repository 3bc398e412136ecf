//! Answers that reach the client in the dialect they came in (the hub dialect from an
//! Anthropic-kind provider, or any dialect from a provider of the client's own dialect) pass
//! as bytes. What the engine still needs to know about them (is there content yet, did an
//! error come, how many tokens, what the client's model name must replace) is read here, per
//! dialect, frame by frame: the relay (`relay.rs`) is the same for every dialect.

pub(crate) mod anthropic;
pub(crate) mod gemini;
pub(crate) mod openai_chat;

use bytes::Bytes;

use crate::protocol::anthropic::ErrorType;
use crate::protocol::Dialect;
use crate::usage::Tokens;

/// Tokens of an answer as the provider reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Input tokens, cache reads and writes included.
    pub input: u64,
    /// Output tokens (reasoning included).
    pub output: u64,
    /// Of the input: read from the prompt cache.
    pub cache_read: u64,
    /// Of the input: written to the prompt cache.
    pub cache_write: u64,
}

impl Counts {
    /// Split the way vendors bill them (input without the cache).
    pub fn billed(&self) -> Tokens {
        Tokens {
            input: self
                .input
                .saturating_sub(self.cache_read + self.cache_write),
            output: self.output,
            cache_read: self.cache_read,
            cache_write: self.cache_write,
        }
    }
}

/// What one pass over a whole answer told.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// No content and no output tokens: the provider failed to answer.
    pub empty: bool,
    /// Its tokens.
    pub counts: Counts,
}

/// What one stream frame is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Nothing that changes where the stream stands (its start, pings, block ends, usage).
    Other,
    /// Content (text, thinking, a tool call): the answer is real.
    Content,
    /// The message ended normally.
    End,
    /// An error.
    Error {
        /// Its type in Anthropic's words, when it says.
        kind: Option<ErrorType>,
        /// Its message.
        message: String,
    },
}

/// Reads one stream of a dialect, frame by frame.
pub(crate) trait FrameObserver: Send {
    /// One whole SSE frame: what it is, and the bytes the client gets instead of it when they
    /// differ (the client's model echoed, foreign signatures stamped, a frame hidden).
    fn frame(&mut self, raw: &[u8]) -> (Seen, Option<Bytes>);

    /// Tokens reported so far.
    fn counts(&self) -> Counts;

    /// A stream that stops without its end marker is complete anyway (the dialect's finish was
    /// seen, and some servers omit the marker).
    fn complete_at_eof(&self) -> bool {
        false
    }

    /// Frames that end a stream well-formed after it broke mid-way (an open block closed, then
    /// the error), in this dialect.
    fn failure_frames(&mut self, kind: ErrorType, message: &str) -> Bytes;
}

/// One dialect's answers, read as they pass.
pub(crate) trait Observe: Send + Sync {
    /// The dialect.
    fn dialect(&self) -> Dialect;

    /// A whole answer as the client gets it (the client's model echoed), and what it told.
    /// `None` when it is not an answer of this dialect.
    fn whole(&self, body: bytes::Bytes, client_model: &str) -> Option<(Bytes, Facts)>;

    /// An observer for a stream answering `client_model`.
    fn stream(&self, client_model: &str) -> Box<dyn FrameObserver>;
}

/// Replace the top-level `model` of a JSON object with `model` when it differs; the rest keeps
/// its bytes and key order. `None` when nothing changes.
pub(crate) fn echo_model(json: &[u8], model: &str) -> Option<Bytes> {
    #[derive(serde::Deserialize)]
    struct M<'a> {
        #[serde(borrow, default)]
        model: Option<&'a serde_json::value::RawValue>,
    }
    let m: M<'_> = serde_json::from_slice(json).ok()?;
    let raw = m.model?;
    let current: std::borrow::Cow<'_, str> = serde_json::from_str(raw.get()).ok()?;
    if current == model {
        return None;
    }
    let new = serde_json::to_string(model).ok()?;
    crate::protocol::anthropic::splice(json, raw, &new)
}
