//! Built-in provider presets: base URL, kind, a sensible model map (the client's model tier →
//! the vendor's models) and the vendor's quirks.
//!
//! Model maps sort the names every client sends into tiers, the same way for each client
//! family: the small models (Claude's `*haiku*`, Gemini's `*flash*`, OpenAI's `*-mini*`, see
//! [`SMALL`]) go to the vendor's small model where it has one, Claude's `*opus*` to its
//! reasoning model where it has one, and everything else (sonnet, `gemini-*-pro*`, `gpt-5*`,
//! the codex models) to its main model (`*`). `switchyard providers add --preset ID` and the
//! web UI start from these; every field can be edited afterwards.

use serde::Serialize;

use crate::config::{
    AuthScheme, Credential, ModelMap, PrefillStyle, Provider, ProviderKind, Quirks, ReasoningField,
    ThinkingStyle,
};

/// The client model patterns of the small tier, one per client family: Claude Code's haiku,
/// Gemini CLI's flash (and flash-lite), Codex CLI's and OpenAI's minis (`-mini`, not `mini`:
/// every Gemini model has "mini" in its name).
pub const SMALL: [&str; 3] = ["*haiku*", "*flash*", "*-mini*"];

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
            models: &[("*haiku*", "glm-4.5-air"), ("*flash*", "glm-4.5-air"), ("*-mini*", "glm-4.5-air"), ("*", "glm-4.6")],
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
            models: &[("*haiku*", "qwen3-coder-flash"), ("*flash*", "qwen3-coder-flash"), ("*-mini*", "qwen3-coder-flash"), ("*", "qwen3-coder-plus")],
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
                ("*flash*", "anthropic/claude-haiku-4.5"),
                ("*-mini*", "anthropic/claude-haiku-4.5"),
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
            models: &[("*haiku*", "gemini-2.5-flash"), ("*flash*", "gemini-2.5-flash"), ("*-mini*", "gemini-2.5-flash"), ("*", "gemini-2.5-pro")],
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
            models: &[("*haiku*", "gpt-5-mini"), ("*flash*", "gpt-5-mini"), ("*-mini*", "gpt-5-mini"), ("*", "gpt-5")],
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
            models: &[("*haiku*", "gpt-5.1-codex-mini"), ("*flash*", "gpt-5.1-codex-mini"), ("*-mini*", "gpt-5.1-codex-mini"), ("*", "gpt-5.1-codex")],
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

    /// What each client family asks for: Claude Code, Gemini CLI, Codex CLI / OpenAI SDKs.
    const SMALL_NAMES: [&str; 6] = [
        "claude-haiku-4-5",
        "claude-3-5-haiku-latest",
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
        "gpt-5.1-codex-mini",
        "gpt-4o-mini",
    ];
    const MAIN_NAMES: [&str; 6] = [
        "claude-sonnet-4-5",
        "gemini-2.5-pro",
        "gemini-3-pro-preview",
        "gpt-5.1-codex",
        "gpt-5",
        "o3",
    ];

    fn mapped(p: &Preset, client_model: &str) -> Option<String> {
        p.provider(p.id).models.map(client_model).map(String::from)
    }

    #[test]
    fn every_client_familys_model_names_land_in_the_same_tier() {
        for p in all() {
            if p.models.is_empty() {
                // Passthrough (Anthropic): every model goes as the client named it.
                assert_eq!(mapped(&p, "gemini-2.5-pro"), None, "{}", p.id);
                continue;
            }
            let small = mapped(&p, "claude-haiku-4-5");
            let main = mapped(&p, "claude-sonnet-4-5");
            assert!(small.is_some() && main.is_some(), "{}", p.id);
            for name in SMALL_NAMES {
                assert_eq!(mapped(&p, name), small, "{}: {name}", p.id);
            }
            for name in MAIN_NAMES {
                assert_eq!(mapped(&p, name), main, "{}: {name}", p.id);
            }
            // A small tier is all of the small patterns or none of them.
            let patterns: Vec<&str> = p.models.iter().map(|(pat, _)| *pat).collect();
            let has = SMALL.iter().filter(|s| patterns.contains(s)).count();
            assert!(has == 0 || has == SMALL.len(), "{}: {patterns:?}", p.id);
        }
        // Gemini names on vendors that are not Google: the vendor's own models.
        let tier = |preset: &str, model: &str| get(preset).and_then(|p| mapped(&p, model));
        assert_eq!(
            tier("deepseek", "gemini-2.5-pro").as_deref(),
            Some("deepseek-chat")
        );
        assert_eq!(
            tier("deepseek", "gemini-2.5-flash").as_deref(),
            Some("deepseek-chat")
        );
        assert_eq!(
            tier("deepseek", "claude-opus-4-1").as_deref(),
            Some("deepseek-reasoner")
        );
        assert_eq!(
            tier("kimi", "gemini-3-pro-preview").as_deref(),
            Some("kimi-k2-turbo-preview")
        );
        assert_eq!(
            tier("glm", "gemini-2.5-flash").as_deref(),
            Some("glm-4.5-air")
        );
        assert_eq!(tier("glm", "gemini-2.5-pro").as_deref(), Some("glm-4.6"));
        assert_eq!(
            tier("qwen", "gemini-2.5-flash-lite").as_deref(),
            Some("qwen3-coder-flash")
        );
        assert_eq!(
            tier("openrouter", "gemini-2.5-flash").as_deref(),
            Some("anthropic/claude-haiku-4.5")
        );
        assert_eq!(
            tier("openai", "gemini-2.5-flash").as_deref(),
            Some("gpt-5-mini")
        );
        assert_eq!(
            tier("deepseek-openai", "gemini-2.5-pro").as_deref(),
            Some("deepseek-chat")
        );
        assert_eq!(
            tier("openai-responses", "gemini-3-pro-preview").as_deref(),
            Some("gpt-5.1-codex")
        );
        // A Gemini client on Google keeps to the tier it asked for.
        assert_eq!(
            tier("gemini", "gemini-2.5-flash").as_deref(),
            Some("gemini-2.5-flash")
        );
        assert_eq!(
            tier("gemini", "gemini-2.5-pro").as_deref(),
            Some("gemini-2.5-pro")
        );
        // Codex's small model on OpenAI's Responses API stays the small one.
        assert_eq!(
            tier("openai-responses", "gpt-5.1-codex-mini").as_deref(),
            Some("gpt-5.1-codex-mini")
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
