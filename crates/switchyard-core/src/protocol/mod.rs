//! Wire types and framing. No policy lives here.

pub mod anthropic;
pub mod sse;

/// A wire dialect: how a client speaks to us, or how we speak to a provider. When the two are
/// the same, the request and its answer pass as bytes (model, history and credential aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Anthropic Messages (the hub every translation goes through).
    Anthropic,
    /// OpenAI Chat Completions.
    OpenAiChat,
    /// OpenAI Responses (`/v1/responses`: Codex CLI, the OpenAI SDKs' `responses` API).
    OpenAiResponses,
    /// Gemini `generateContent`.
    Gemini,
}
