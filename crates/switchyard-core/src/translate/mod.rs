//! Pure translation between the Anthropic Messages API (what clients speak to us) and the
//! protocols of non-Anthropic providers. No I/O here: request and response bodies in, bodies
//! and SSE frames out, so every case is a plain unit test.

pub mod check;
pub mod gemini;
pub mod history;
pub mod inbound_gemini;
pub mod inbound_openai;
pub mod openai;
pub mod overflow;
pub mod token_estimate;
pub mod writer;

/// A request (or answer) that cannot be translated; the client gets a 400 with this text.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TranslateError(pub String);
