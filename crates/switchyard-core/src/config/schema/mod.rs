//! The config schema (serde) and its defaults.

use std::fmt;
use std::net::SocketAddr;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod budget;
mod cache;
mod cluster;
mod limits;
mod price;
mod rule;
mod token;

pub use budget::Period;
pub use cache::CacheConfig;
pub use cluster::{
    parse_redis_url, valid_cluster_name, Cluster, RedisUrl, RedisUrlError, REDIS_PASSWORD_ENV,
    REDIS_SECRET,
};
pub use limits::Limits;
pub use price::Price;
pub use rule::Rule;
pub use token::{valid_token_name, ClientToken};

/// The port Switchyard listens on when the config does not say.
pub const DEFAULT_PORT: u16 = 3535;

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Loopback by default; anything else requires an access token.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// How requests are spread over providers.
    #[serde(default)]
    pub routing: Routing,
    /// Connect / first-byte / idle limits for upstream calls.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Bounds on everything read and held (sizes, connections, header time).
    #[serde(default, skip_serializing_if = "Limits::is_default")]
    pub limits: Limits,
    /// Background health probes.
    #[serde(default)]
    pub health: Health,
    /// Host/Origin policy and the access token.
    #[serde(default)]
    pub security: Security,
    /// Which desktop notifications to show.
    #[serde(default)]
    pub notifications: Notifications,
    /// Web UI and tray preferences.
    #[serde(default)]
    pub ui: Ui,
    /// Providers in priority order (the first is the primary).
    #[serde(default)]
    pub providers: Vec<Provider>,
    /// Scenario rules, tried in order; the first match picks the provider (see `rules.rs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// Outbound network settings (the proxy every provider goes through).
    #[serde(default, skip_serializing_if = "Network::is_default")]
    pub network: Network,
    /// Upstream model name or glob -> USD per million tokens (overrides the built-in estimates).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub prices: std::collections::BTreeMap<String, Price>,
    /// The opt-in response cache.
    #[serde(default, skip_serializing_if = "CacheConfig::is_default")]
    pub cache: CacheConfig,
    /// Team mode: replicas sharing state through Redis (absent: this process alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Cluster>,
}

/// Outbound network settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Proxy for every provider without its own `proxy`: `http://`, `https://`, `socks5://`
    /// or `socks5h://` URL, with an optional user name (the password lives in the keychain as
    /// `proxy:global`). Unset: the `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY`
    /// environment variables are honoured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
}

impl Network {
    fn is_default(&self) -> bool {
        *self == Network::default()
    }
}

/// Desktop notifications, per kind, and how often one kind may repeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// Traffic moved to a backup provider.
    #[serde(default = "yes")]
    pub failover: bool,
    /// Traffic returned to a higher-priority provider.
    #[serde(default = "yes")]
    pub recovered: bool,
    /// No provider could serve.
    #[serde(default = "yes")]
    pub all_down: bool,
    /// A key was refused or is missing.
    #[serde(default = "yes")]
    pub key_problem: bool,
    /// At most one notification of a kind per this many seconds (no storm when a provider flaps).
    #[serde(default = "d_notify_interval")]
    pub min_interval_secs: u64,
    /// A provider went over its daily or monthly budget.
    #[serde(default = "yes")]
    pub budget: bool,
}

fn d_notify_interval() -> u64 {
    60
}

impl Default for Notifications {
    fn default() -> Self {
        Notifications {
            failover: true,
            recovered: true,
            all_down: true,
            key_problem: true,
            min_interval_secs: d_notify_interval(),
            budget: true,
        }
    }
}

/// Interface preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Ui {
    /// `en`, `zh-CN`, or empty for the system language.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub language: String,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT))
}

impl Default for Config {
    /// The embedded default: one passthrough provider to Anthropic, so Claude Code works through
    /// Switchyard with no file at all.
    fn default() -> Self {
        Config {
            listen: default_listen(),
            routing: Routing::default(),
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            health: Health::default(),
            security: Security::default(),
            notifications: Notifications::default(),
            ui: Ui::default(),
            network: Network::default(),
            providers: vec![Provider {
                id: "anthropic".into(),
                name: Some("Anthropic".into()),
                kind: ProviderKind::Anthropic,
                base_url: "https://api.anthropic.com".into(),
                credential: Credential::Passthrough,
                auth_scheme: AuthScheme::XApiKey,
                enabled: true,
                models: ModelMap::default(),
                quirks: Quirks::default(),
                weight: 1,
                proxy: None,
                keys: 1,
                budget_daily_usd: None,
                budget_monthly_usd: None,
                context_window: None,
            }],
            rules: Vec::new(),
            prices: Default::default(),
            cache: Default::default(),
            cluster: None,
        }
    }
}

impl Config {
    /// The provider with this id.
    pub fn provider(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }
}

/// Routing policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    /// How the first provider is chosen; the rest follow in priority order (`[[providers]]`).
    #[serde(default)]
    pub strategy: Strategy,
    /// Text in an upstream error body that means "this provider is out for now", whatever the
    /// status (matched case-insensitively).
    #[serde(default = "default_indicators")]
    pub failover_indicators: Vec<String>,
    /// When a pinned provider fails, carry on down the list instead of returning the error.
    #[serde(default = "yes")]
    pub pin_fallback: bool,
    /// Under the spreading strategies, keep a Claude Code session (`x-claude-code-session-id`)
    /// on the provider that served it while that provider is healthy (prompt caches).
    #[serde(default = "yes")]
    pub sticky_sessions: bool,
}

impl Default for Routing {
    fn default() -> Self {
        Routing {
            strategy: Strategy::Failover,
            failover_indicators: default_indicators(),
            pin_fallback: true,
            sticky_sessions: true,
        }
    }
}

fn default_indicators() -> Vec<String> {
    ["usage limit", "rate limit", "quota"]
        .into_iter()
        .map(String::from)
        .collect()
}

fn yes() -> bool {
    true
}

/// How the next provider is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Highest-priority provider that is enabled and not cooling down.
    #[default]
    Failover,
    /// Each request to the next healthy provider in turn.
    RoundRobin,
    /// Healthy providers in proportion to their `weight` (0 = only as a fallback).
    Weighted,
    /// The healthy provider with the lowest moving average time to first byte.
    LeastLatency,
}

impl Strategy {
    /// Every strategy, as written in the config.
    pub const ALL: [Strategy; 4] = [
        Strategy::Failover,
        Strategy::RoundRobin,
        Strategy::Weighted,
        Strategy::LeastLatency,
    ];

    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Failover => "failover",
            Strategy::RoundRobin => "round-robin",
            Strategy::Weighted => "weighted",
            Strategy::LeastLatency => "least-latency",
        }
    }
}

impl std::str::FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Strategy::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown strategy {s:?}: use failover, round-robin, weighted or least-latency"
                )
            })
    }
}

/// Upstream time limits, in milliseconds. There is deliberately no whole-request limit on
/// streams: a long answer is not a failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// TCP + TLS connect.
    #[serde(default = "d_connect")]
    pub connect_ms: u64,
    /// Streaming: from sending the request to the first SSE event.
    #[serde(default = "d_first_byte")]
    pub first_byte_ms: u64,
    /// Streaming: longest silence between two chunks once the stream runs.
    #[serde(default = "d_idle")]
    pub idle_ms: u64,
    /// Non-streaming: the whole answer (the upstream sends nothing until it is done).
    #[serde(default = "d_request")]
    pub request_ms: u64,
}

fn d_connect() -> u64 {
    10_000
}
fn d_first_byte() -> u64 {
    60_000
}
fn d_idle() -> u64 {
    120_000
}
fn d_request() -> u64 {
    600_000
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect_ms: d_connect(),
            first_byte_ms: d_first_byte(),
            idle_ms: d_idle(),
            request_ms: d_request(),
        }
    }
}

/// Free background probes (`GET /v1/models`, never a billed call).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// Seconds between probes of each enabled provider; 0 turns probing off.
    #[serde(default)]
    pub probe_interval_secs: u64,
}

/// Who may talk to Switchyard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// Browser origins allowed to call the API (the UI's own origin is always allowed).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Extra `Host` header values accepted besides the listen address and loopback names.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Where the client access token lives (`keychain` = entry "access-token", or `env:VAR`).
    /// Required when `listen` is not a loopback address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<Credential>,
    /// Clients on this machine (loopback peers) need no token; other machines always do.
    /// Set to false to require the token from everyone.
    #[serde(default = "yes")]
    pub local_without_token: bool,
    /// Named client tokens (`[[security.tokens]]`), each with an optional rate limit; their
    /// values live in the secret store, never in this file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<ClientToken>,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            access_token: None,
            local_without_token: true,
            tokens: Vec::new(),
        }
    }
}

/// The secret-store name of a pool slot (0-based): `<id>` for the first key (as before pools
/// existed), `<id>#2`, `<id>#3`, ... for the others.
pub fn slot_name(provider: &str, slot: usize) -> String {
    if slot == 0 {
        provider.to_string()
    } else {
        format!("{provider}#{}", slot + 1)
    }
}

/// One upstream provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// Stable id, `[a-z0-9-]+`, unique. Also the keychain user name.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The wire protocol it speaks.
    #[serde(default)]
    pub kind: ProviderKind,
    /// Base URL without `/v1`.
    pub base_url: String,
    /// Where its key comes from.
    #[serde(default)]
    pub credential: Credential,
    /// How its own key is sent: `x-api-key` (default) or `bearer`.
    #[serde(default, skip_serializing_if = "AuthScheme::is_default")]
    pub auth_scheme: AuthScheme,
    /// Disabled providers are never tried.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Client model glob -> upstream model.
    #[serde(default, skip_serializing_if = "ModelMap::is_empty")]
    pub models: ModelMap,
    /// Vendor differences the translators need (limits, reasoning field, prefill style).
    #[serde(default, skip_serializing_if = "Quirks::is_default")]
    pub quirks: Quirks,
    /// Share of traffic under `strategy = "weighted"` (default 1; 0 = only as a fallback).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub weight: u32,
    /// This provider's own proxy URL (password in the keychain as `proxy:<id>`), or `direct`
    /// to bypass `[network] proxy` and the environment. Unset: the global setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// How many keys the provider's pool holds (keychain users `<id>`, `<id>#2`, ...). Requests
    /// rotate over them, and each key cools down on its own.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub keys: u32,
    /// Stop using this provider for the rest of the UTC day once it cost this much (USD, estimated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_daily_usd: Option<f64>,
    /// Stop using this provider for the rest of the UTC month once it cost this much (USD, estimated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_monthly_usd: Option<f64>,
    /// Input tokens its models take, when the built-in table does not know them (or is
    /// wrong). Claude Code is told to compact before the smallest window fills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
}

fn one() -> u32 {
    1
}

fn is_one(w: &u32) -> bool {
    *w == 1
}

/// Per-vendor behaviour. Presets fill these; hand-written providers rarely need them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quirks {
    /// Largest `max_tokens` the vendor accepts; larger requests are clamped (and logged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Where an OpenAI-kind vendor puts reasoning: `reasoning_content` (DeepSeek, Kimi),
    /// `reasoning` (OpenRouter) or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningField>,
    /// The vendor requires its reasoning sent back on assistant turns with tool calls
    /// (DeepSeek thinking mode).
    #[serde(default, skip_serializing_if = "is_false")]
    pub reasoning_round_trip: bool,
    /// How a trailing assistant message (prefill) is sent to an OpenAI-kind vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<PrefillStyle>,
    /// The vendor accepts `top_k` (OpenAI kind).
    #[serde(default, skip_serializing_if = "is_false")]
    pub top_k: bool,
    /// Send `max_completion_tokens` instead of `max_tokens` (OpenAI reasoning models).
    #[serde(default, skip_serializing_if = "is_false")]
    pub max_completion_tokens: bool,
    /// Gemini thinking control: `budget` (2.5) or `level` (3.x).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_style: Option<ThinkingStyle>,
    /// This endpoint is Anthropic's own API, or a relay in front of it: it issues and accepts
    /// Anthropic's thinking signatures. Default: true only for `api.anthropic.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anthropic_native: Option<bool>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Quirks {
    fn is_default(&self) -> bool {
        *self == Quirks::default()
    }
}

/// Where reasoning text travels on an OpenAI-kind vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningField {
    /// `reasoning_content` (DeepSeek, Kimi, many local servers).
    ReasoningContent,
    /// `reasoning` (OpenRouter).
    Reasoning,
    /// The vendor returns no reasoning.
    None,
}

/// How a prefill is sent to an OpenAI-kind vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrefillStyle {
    /// DeepSeek: `"prefix": true` on the last assistant message.
    DeepseekPrefix,
    /// Kimi: `"partial": true` on the last assistant message.
    KimiPartial,
    /// Send it as a plain last assistant message (most servers continue it).
    Plain,
}

/// How Gemini's thinking is controlled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThinkingStyle {
    /// `thinkingConfig.thinkingBudget` (Gemini 2.5).
    Budget,
    /// `thinkingConfig.thinkingLevel` (Gemini 3).
    Level,
}

impl Provider {
    /// A provider with every optional setting at its default: key from the keychain, `x-api-key`
    /// auth, enabled, no model mapping, no quirks, weight 1, one key, no proxy, no budget.
    /// Change what differs with struct update syntax: `Provider { credential, ..Provider::new(…) }`.
    pub fn new(id: impl Into<String>, kind: ProviderKind, base_url: impl Into<String>) -> Self {
        Provider {
            id: id.into(),
            name: None,
            kind,
            base_url: base_url.into(),
            credential: Credential::default(),
            auth_scheme: AuthScheme::default(),
            enabled: true,
            models: ModelMap::default(),
            quirks: Quirks::default(),
            weight: 1,
            proxy: None,
            keys: 1,
            budget_daily_usd: None,
            budget_monthly_usd: None,
            context_window: None,
        }
    }

    /// The name to show a person.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// The protocol a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Anthropic Messages API (Anthropic, DeepSeek, Kimi, GLM, ... `/anthropic` endpoints).
    #[default]
    Anthropic,
    /// OpenAI Chat Completions.
    Openai,
    /// Google Gemini `generateContent`.
    Gemini,
    /// OpenAI Responses (`/v1/responses`: models only it serves, such as OpenAI's codex models).
    #[serde(rename = "openai-responses")]
    OpenaiResponses,
}

impl ProviderKind {
    /// Every kind, in the order the UI and the docs list them. Tests, fuzz targets and the
    /// mock's faces iterate over this, so a new kind is covered without new test code.
    pub const ALL: &[ProviderKind] = &[
        ProviderKind::Anthropic,
        ProviderKind::Openai,
        ProviderKind::Gemini,
        ProviderKind::OpenaiResponses,
    ];
}

/// How a provider's own key goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum AuthScheme {
    /// `x-api-key: KEY` (Anthropic and most vendors' Anthropic endpoints).
    #[default]
    #[serde(rename = "x-api-key")]
    XApiKey,
    /// `Authorization: Bearer KEY` (OpenRouter and friends).
    #[serde(rename = "bearer")]
    Bearer,
}

impl AuthScheme {
    fn is_default(&self) -> bool {
        *self == AuthScheme::XApiKey
    }
}

/// Where a provider's key comes from. Written as a string in the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Credential {
    /// The OS keychain, service "switchyard", user = provider id.
    #[default]
    Keychain,
    /// An environment variable (or several, comma-separated: a key pool).
    Env(String),
    /// The client's own `x-api-key` / `Authorization`.
    Passthrough,
    /// No credential (local servers).
    None,
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Keychain => f.write_str("keychain"),
            Credential::Env(v) => write!(f, "env:{v}"),
            Credential::Passthrough => f.write_str("passthrough"),
            Credential::None => f.write_str("none"),
        }
    }
}

/// Why a credential string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialParseError {
    /// It looks like a key written into the file.
    LiteralKey,
    /// Anything else.
    Unknown(String),
}

impl fmt::Display for CredentialParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialParseError::LiteralKey => f.write_str(
                "this looks like an API key written into the config file; keys never go in files. \
                 Store it with `switchyard keys set <provider-id>` (it goes to the OS keychain) \
                 and write credential = \"keychain\", or use credential = \"env:VAR\"",
            ),
            CredentialParseError::Unknown(s) => write!(
                f,
                "unknown credential {s:?}: expected \"keychain\", \"passthrough\", \"none\" or \"env:VAR\""
            ),
        }
    }
}

impl std::str::FromStr for Credential {
    type Err = CredentialParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "keychain" => Ok(Credential::Keychain),
            "passthrough" => Ok(Credential::Passthrough),
            "none" => Ok(Credential::None),
            _ => {
                if let Some(var) = s.strip_prefix("env:") {
                    // `env:A,B,C` lists a key pool, one variable per key.
                    let valid = var.split(',').all(|v| {
                        !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    });
                    return if valid {
                        Ok(Credential::Env(var.to_string()))
                    } else {
                        Err(CredentialParseError::Unknown(s.to_string()))
                    };
                }
                if looks_like_key(s) {
                    Err(CredentialParseError::LiteralKey)
                } else {
                    Err(CredentialParseError::Unknown(s.to_string()))
                }
            }
        }
    }
}

/// Heuristic for "someone pasted a key here": long, no spaces, key-ish prefix or mostly
/// alphanumeric.
pub fn looks_like_key(s: &str) -> bool {
    let s = s.trim();
    let prefixed = ["sk-", "sk_", "AIza", "key-", "Bearer "]
        .iter()
        .any(|p| s.starts_with(p));
    prefixed || (s.len() >= 20 && !s.contains(' '))
}

impl Serialize for Credential {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Credential {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

/// Client model glob -> upstream model, kept in the order written. Lookup prefers the most
/// specific pattern (most literal characters), so `"*"` is always the last resort.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModelMap(pub Vec<(String, String)>);

impl ModelMap {
    /// No mappings.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The upstream model for a client model, if a pattern matches.
    pub fn map(&self, client_model: &str) -> Option<&str> {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, (pat, _))| crate::glob::matches(pat, client_model))
            .max_by_key(|(i, (pat, _))| {
                (
                    pat.chars().filter(|c| *c != '*' && *c != '?').count(),
                    usize::MAX - i,
                )
            })
            .map(|(_, (_, target))| target.as_str())
    }
}

impl Serialize for ModelMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ModelMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ModelMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of \"client model glob\" = \"upstream model\"")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<ModelMap, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, String>()? {
                    out.push((k, v));
                }
                Ok(ModelMap(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_pattern_wins_regardless_of_order() {
        let m = ModelMap(vec![
            ("*".into(), "general".into()),
            ("*haiku*".into(), "small".into()),
            ("claude-opus-4".into(), "big".into()),
        ]);
        assert_eq!(m.map("claude-3-5-haiku-latest"), Some("small"));
        assert_eq!(m.map("claude-opus-4"), Some("big"));
        assert_eq!(m.map("claude-sonnet-4-5"), Some("general"));
        assert_eq!(ModelMap::default().map("x"), None);
    }

    #[test]
    fn credentials_parse_and_refuse_literal_keys() {
        assert_eq!("keychain".parse(), Ok(Credential::Keychain));
        assert_eq!(
            "env:DEEPSEEK_KEY".parse(),
            Ok(Credential::Env("DEEPSEEK_KEY".into()))
        );
        assert_eq!(
            "sk-ant-api03-abcdef".parse::<Credential>(),
            Err(CredentialParseError::LiteralKey)
        );
        assert!(matches!(
            "env:".parse::<Credential>(),
            Err(CredentialParseError::Unknown(_))
        ));
        assert!(matches!(
            "vault".parse::<Credential>(),
            Err(CredentialParseError::Unknown(_))
        ));
    }
}
