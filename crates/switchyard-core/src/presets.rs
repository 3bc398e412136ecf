//! Built-in provider presets: base URL, kind, a sensible model map (haiku / sonnet / opus →
//! the vendor's models) and the vendor's quirks. `switchyard providers add --preset ID` and the
//! web UI start from these; every field can be edited afterwards.

use serde::Serialize;

use crate::config::{
    AuthScheme, Credential, ModelMap, PrefillStyle, Provider, ProviderKind, Quirks, ReasoningField,
    ThinkingStyle,
};

/// One preset.
#[derive(Debug, Clone, Serialize)]
pub struct Preset {
    /// Preset id (also the default provider id).
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Wire protocol.
    pub kind: ProviderKind,
    /// Base URL.
    pub base_url: &'static str,
    /// Default credential source.
    #[serde(serialize_with = "ser_cred")]
    pub credential: Credential,
    /// How the key is sent (Anthropic kind).
    pub auth_scheme: AuthScheme,
    /// Client model glob → vendor model.
    pub models: &'static [(&'static str, &'static str)],
    /// Vendor quirks.
    pub quirks: Quirks,
    /// Where to get a key, and anything a person should know.
    pub note: &'static str,
}

fn ser_cred<S: serde::Serializer>(c: &Credential, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(c)
}

impl Preset {
    /// A provider built from this preset, with the given id.
    pub fn provider(&self, id: &str) -> Provider {
        Provider {
            id: id.to_string(),
            name: Some(self.name.to_string()),
            kind: self.kind,
            base_url: self.base_url.to_string(),
            credential: self.credential.clone(),
            auth_scheme: self.auth_scheme,
            enabled: true,
            models: ModelMap(
                self.models
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
            ),
            quirks: self.quirks.clone(),
            weight: 1,
            proxy: None,
            keys: 1,
            budget_daily_usd: None,
            budget_monthly_usd: None,
            context_window: None,
        }
    }
}

impl Preset {
    /// The smallest known context window among the models this preset maps to (Claude's
    /// own for an Anthropic-kind preset without a mapping); `None` for local servers whose
    /// model the user picks.
    pub fn context_window(&self) -> Option<u64> {
        crate::context_window::of_provider(&self.provider(self.id))
    }
}

/// Every built-in preset, in the order a person would look for them.
pub fn all() -> Vec<Preset> {
    let anth = ProviderKind::Anthropic;
    let q = Quirks::default;
    vec![
        Preset {
            id: "anthropic",
            name: "Anthropic",
            kind: anth,
            base_url: "https://api.anthropic.com",
            credential: Credential::Passthrough,
            auth_scheme: AuthScheme::XApiKey,
            models: &[],
            quirks: q(),
            note: "Passes your client's own key or Claude login through. For a stored API key set credential = \"keychain\".",
        },
        Preset {
            id: "deepseek",
            name: "DeepSeek",
            kind: anth,
            base_url: "https://api.deepseek.com/anthropic",
            credential: Credential::Keychain,
            auth_scheme: AuthScheme::XApiKey,
            models: &[("*opus*", "deepseek-reasoner"), ("*", "deepseek-chat")],
            quirks: Quirks { max_tokens: Some(8192), ..q() },
            note: "DeepSeek's Anthropic-compatible endpoint. Keys: platform.deepseek.com. It ignores anthropic-beta features and image input.",
        },
        Preset {
            id: "deepseek-openai",
            name: "DeepSeek (OpenAI API)",
            kind: ProviderKind::Openai,
            base_url: "https://api.deepseek.com/beta",
            credential: Credential::Keychain,
            auth_scheme: AuthScheme::Bearer,
            models: &[("*opus*", "deepseek-reasoner"), ("*", "deepseek-chat")],
            quirks: Quirks {
                max_tokens: Some(8192),
                reasoning: Some(ReasoningField::ReasoningContent),
                reasoning_round_trip: true,
                prefill: Some(PrefillStyle::DeepseekPrefix),
                ..q()
            },
            note: "DeepSeek's Chat Completions API (the /beta base enables prefill). Keys: platform.deepseek.com.",
        },
        Preset {
            id: "kimi",
            name: "Kimi (Moonshot)",
            kind: anth,
            base_url: "https://api.moonshot.ai/anthropic",
            credential: Credential::Keychain,
            auth_scheme: AuthScheme::XApiKey,
            models: &[("*", "kimi-k2-turbo-preview")],
            quirks: Quirks { max_tokens: Some(32768), ..q() },
            note: "Moonshot's Anthropic-compatible endpoint (use api.moonshot.cn in mainland China). Keys: platform.moonshot.ai.",
        },
        Preset {
            id: "glm",
            name: "GLM (Z.ai)",
            kind: anth,
            base_url: "https://api.z.ai/api/anthropic",
            credential: Credential::Keychain,
            auth_scheme: AuthScheme::XApiKey,
            models: &[("*haiku*", "glm-4.5-air"), ("*", "glm-4.6")],
            quirks: q(),
            note: "Zhipu's Anthropic-compatible endpoint (open.bigmodel.cn/api/anthropic in mainland China).",
        },
        Preset {
            id: "minimax",
            name: "MiniMax",
            kind: anth,
            base_url: "https://api.minimax.io/anthropic",
            credential: Credential::Keychain,
            auth_scheme: AuthScheme::XApiKey,
            models: &[("*", "MiniMax-M2")],
            quirks: q(),
            note: "MiniMax's Anthropic-compatible endpoint. No image or document input.",
        },
        Preset {
            id: "qwen",
            name: "Qwen (DashScope)",
            kind: anth,
            base_url: "https://dashscope-intl.aliyuncs.com/apps/anthropic",
            credential: Credential::Keychain,
            auth_scheme: AuthScheme::XApiKey,
            models: &[("*haiku*", "qwen3-coder-flash"), ("*", "qwen3-coder-plus")],
            quirks: q(),
            note: "Alibaba Cloud Model Studio's Anthropic-compatible endpoint.",
        },
        Preset {
            id: "openrouter",
            name: "OpenRouter",
            kind: anth,
            base_url: "https://openrouter.ai/api",
            credential: Credential::Keychain,
            auth_scheme: AuthScheme::Bearer,
            models: &[
                ("*haiku*", "anthropic/claude-haiku-4.5"),
                ("*opus*", "anthropic/claude-opus-4.1"),
                ("*", "anthropic/claude-sonnet-4.5"),
            ],
            quirks: q(),
            note: "OpenRouter's Anthropic-compatible endpoint; map to any model it lists.",
        },
        Preset {
            id: "gemini",
            name: "Google Gemini",
            kind: ProviderKind::Gemini,
            base_url: "https://generativelanguage.googleapis.com",
            credential: Credential::Keychain,
            auth_scheme: AuthScheme::XApiKey,
            models: &[("*haiku*", "gemini-2.5-flash"), ("*", "gemini-2.5-pro")],
            quirks: Quirks { max_tokens: Some(65536), thinking_style: Some(ThinkingStyle::Budget), ..q() },
            note: "Gemini API (native generateContent). Keys: aistudio.google.com. For Gemini 3 models set quirks.thinking_style = \"level\".",
        },
        Preset {
            id: "openai",
            name: "OpenAI",
            kind: ProviderKind::Openai,
            base_url: "https://api.openai.com/v1",
            credential: Credential::Keychain,
            auth_scheme: AuthScheme::Bearer,
            models: &[("*haiku*", "gpt-5-mini"), ("*", "gpt-5")],
            quirks: Quirks { reasoning: Some(ReasoningField::None), max_completion_tokens: true, ..q() },
            note: "OpenAI Chat Completions. Keys: platform.openai.com.",
        },
        Preset {
            id: "openai-responses",
            name: "OpenAI (Responses API)",
            kind: ProviderKind::OpenaiResponses,
            base_url: "https://api.openai.com/v1",
            credential: Credential::Keychain,
            auth_scheme: AuthScheme::Bearer,
            models: &[("*haiku*", "gpt-5.1-codex-mini"), ("*", "gpt-5.1-codex")],
            quirks: q(),
            note: "OpenAI's Responses API, for models only it serves (the codex models). Codex CLI's own requests pass through unchanged. Keys: platform.openai.com.",
        },
        Preset {
            id: "ollama",
            name: "Ollama (local)",
            kind: ProviderKind::Openai,
            base_url: "http://localhost:11434/v1",
            credential: Credential::None,
            auth_scheme: AuthScheme::Bearer,
            models: &[("*", "qwen3-coder")],
            quirks: Quirks { reasoning: Some(ReasoningField::Reasoning), top_k: true, prefill: Some(PrefillStyle::Plain), ..q() },
            note: "A local Ollama server. Set the model to one you have pulled (`ollama list`).",
        },
        Preset {
            id: "lmstudio",
            name: "LM Studio (local)",
            kind: ProviderKind::Openai,
            base_url: "http://localhost:1234/v1",
            credential: Credential::None,
            auth_scheme: AuthScheme::Bearer,
            models: &[("*", "local-model")],
            quirks: Quirks { reasoning: Some(ReasoningField::ReasoningContent), top_k: true, prefill: Some(PrefillStyle::Plain), ..q() },
            note: "LM Studio's local server. Set the model to the one you loaded.",
        },
    ]
}

/// The preset with this id.
pub fn get(id: &str) -> Option<Preset> {
    all().into_iter().find(|p| p.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_providers_with_unique_ids() {
        let all = all();
        let mut ids: Vec<_> = all.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
        let cfg = crate::config::Config {
            providers: all.iter().map(|p| p.provider(p.id)).collect(),
            ..Default::default()
        };
        let anthropic_kind = crate::config::Config {
            providers: cfg
                .providers
                .iter()
                .filter(|p| p.kind == ProviderKind::Anthropic)
                .cloned()
                .collect(),
            ..Default::default()
        };
        crate::config::validate(&anthropic_kind).expect("every preset validates");
        // Round trip through TOML keeps everything.
        let text = toml::to_string_pretty(&cfg).expect("serialise");
        assert_eq!(crate::config::parse_str(&text, None).expect("parse"), cfg);
        assert_eq!(
            get("deepseek").map(|p| p
                .provider("ds")
                .models
                .map("claude-opus-4-1")
                .map(String::from)),
            Some(Some("deepseek-reasoner".into()))
        );
    }

    #[test]
    fn every_cloud_preset_knows_its_context_windows() {
        for p in all() {
            let local = p.base_url.starts_with("http://localhost");
            for (_, model) in p.models {
                assert_eq!(
                    crate::context_window::known(model).is_some(),
                    !local,
                    "{}: {model}",
                    p.id
                );
            }
            assert_eq!(p.context_window().is_some(), !local, "{}", p.id);
        }
        assert_eq!(
            get("deepseek").and_then(|p| p.context_window()),
            Some(128_000)
        );
        assert_eq!(
            get("anthropic").and_then(|p| p.context_window()),
            Some(200_000)
        );
    }
}
