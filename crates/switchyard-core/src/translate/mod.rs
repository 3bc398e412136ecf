//! Pure translation between the Anthropic Messages API (what clients speak to us) and the
//! protocols of non-Anthropic providers. No I/O here: request and response bodies in, bodies
//! and SSE frames out, so every case is a plain unit test.

pub mod check;
pub mod gemini;
pub mod history;
pub mod inbound_openai;
pub mod openai;
pub mod tokens;
pub mod writer;
