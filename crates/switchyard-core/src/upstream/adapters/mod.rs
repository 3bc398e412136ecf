//! One adapter per provider kind, and the registry: [`of`] holds the only `match` on
//! [`ProviderKind`] in the engine. A new kind is a new file here plus its line below (see
//! ARCHITECTURE.md, "Adding a provider kind").

mod anthropic;
mod gemini;
mod openai_chat;
mod openai_responses;

use super::adapter::ProviderAdapter;
use crate::config::{Provider, ProviderKind};

/// The adapter for a provider kind.
pub(crate) fn of(kind: ProviderKind) -> &'static dyn ProviderAdapter {
    match kind {
        ProviderKind::Anthropic => &anthropic::Anthropic,
        ProviderKind::Openai => &openai_chat::OpenAiChat,
        ProviderKind::Gemini => &gemini::Gemini,
        ProviderKind::OpenaiResponses => &openai_responses::OpenAiResponses,
    }
}

/// What a translation had to change, for the log ("clamped max_tokens 64000 -> 8192", ...).
fn log_notes(p: &Provider, notes: &[String]) {
    for n in notes {
        tracing::info!(provider = %p.id, "translation: {n}");
    }
}
