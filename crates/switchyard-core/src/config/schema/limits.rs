//! `[limits]`: bounds on everything Switchyard reads or holds, so no client, upstream or local
//! process can grow its memory or tie up its connections without end. The defaults fit every
//! real answer and stream with room to spare and never cut a long, healthy stream.

use serde::{Deserialize, Serialize};

/// Bounds on what is read and held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest request body a client may send, MiB (Anthropic accepts 32).
    #[serde(default = "d_request_mb")]
    pub max_request_mb: u64,
    /// Largest whole (non-streaming) answer read from a provider, MiB; larger is the
    /// provider's failure ("answer too large").
    #[serde(default = "d_answer_mb")]
    pub max_answer_mb: u64,
    /// Largest single stream event (one SSE frame or line), KiB.
    #[serde(default = "d_frame_kb")]
    pub max_frame_kb: u64,
    /// Most a stream may send before its first content (the opening held back until it is
    /// clear the provider answers), KiB.
    #[serde(default = "d_held_kb")]
    pub max_held_kb: u64,
    /// Most of an error answer read (its message is all that is needed), KiB.
    #[serde(default = "d_error_kb")]
    pub max_error_kb: u64,
    /// A stream must show content (text, thinking or a tool call) this soon after it was
    /// sent, ms; events without content (pings) do not count. Over it: the provider failed
    /// ("no content in time").
    #[serde(default = "d_first_content")]
    pub first_content_ms: u64,
    /// Most client connections open at once; more wait to be accepted.
    #[serde(default = "d_connections")]
    pub max_connections: usize,
    /// How long a client may take to send a request's headers (also the longest a kept-alive
    /// connection may sit idle between requests), ms. Answers, however long, are not cut.
    #[serde(default = "d_header_read")]
    pub header_read_ms: u64,
    /// Largest size a request may grow to in translation (a JSON schema built from `$ref`s,
    /// expanded), KiB; larger is refused naming the tool.
    #[serde(default = "d_translated_kb")]
    pub max_translated_kb: u64,
}

fn d_request_mb() -> u64 {
    32
}
fn d_answer_mb() -> u64 {
    16
}
fn d_frame_kb() -> u64 {
    1024
}
fn d_held_kb() -> u64 {
    1024
}
fn d_error_kb() -> u64 {
    64
}
fn d_first_content() -> u64 {
    300_000
}
fn d_connections() -> usize {
    512
}
fn d_header_read() -> u64 {
    30_000
}
fn d_translated_kb() -> u64 {
    4096
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_mb: d_request_mb(),
            max_answer_mb: d_answer_mb(),
            max_frame_kb: d_frame_kb(),
            max_held_kb: d_held_kb(),
            max_error_kb: d_error_kb(),
            first_content_ms: d_first_content(),
            max_connections: d_connections(),
            header_read_ms: d_header_read(),
            max_translated_kb: d_translated_kb(),
        }
    }
}

impl Limits {
    /// Is this the default (so the config file can leave it out)?
    pub fn is_default(&self) -> bool {
        *self == Limits::default()
    }

    /// Largest request body, bytes.
    pub fn request_bytes(&self) -> usize {
        mib(self.max_request_mb)
    }

    /// Largest whole answer, bytes.
    pub fn answer_bytes(&self) -> usize {
        mib(self.max_answer_mb)
    }

    /// Largest stream event, bytes.
    pub fn frame_bytes(&self) -> usize {
        kib(self.max_frame_kb)
    }

    /// Most held before content, bytes.
    pub fn held_bytes(&self) -> usize {
        kib(self.max_held_kb)
    }

    /// Most of an error answer read, bytes.
    pub fn error_bytes(&self) -> usize {
        kib(self.max_error_kb)
    }

    /// Largest translated request, bytes.
    pub fn translated_bytes(&self) -> usize {
        kib(self.max_translated_kb)
    }

    /// Each setting, its value and its allowed range, for validation.
    pub fn ranges(&self) -> [(&'static str, u64, u64, u64); 9] {
        [
            ("max_request_mb", self.max_request_mb, 1, 1024),
            ("max_answer_mb", self.max_answer_mb, 1, 1024),
            ("max_frame_kb", self.max_frame_kb, 16, 65_536),
            ("max_held_kb", self.max_held_kb, 16, 65_536),
            ("max_error_kb", self.max_error_kb, 1, 16_384),
            ("first_content_ms", self.first_content_ms, 1_000, 3_600_000),
            ("max_connections", self.max_connections as u64, 8, 1_000_000),
            ("header_read_ms", self.header_read_ms, 1_000, 3_600_000),
            ("max_translated_kb", self.max_translated_kb, 64, 1_048_576),
        ]
    }
}

fn mib(n: u64) -> usize {
    usize::try_from(n.saturating_mul(1 << 20)).unwrap_or(usize::MAX)
}

fn kib(n: u64) -> usize {
    usize::try_from(n.saturating_mul(1 << 10)).unwrap_or(usize::MAX)
}
