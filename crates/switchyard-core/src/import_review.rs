//! What an import would do with secrets, shown before anything is saved.
//!
//! A provider file is shared input: whoever wrote it chooses each provider's `base_url`, its
//! `credential` and its proxy. An import therefore lists every provider it would add or
//! replace with the URL it would send to and where its key would come from, and flags each
//! way the file could make Switchyard send a secret it already has somewhere new:
//!
//! - a credential read from an environment variable the current config does not read;
//! - a keychain entry that already holds a key, used by a provider the file adds;
//! - an existing provider's key (keychain or environment) pointed at a different URL;
//! - a new or moved provider that forwards the client's own key (`passthrough`) anywhere but
//!   a built-in preset's own endpoint;
//! - a proxy (per provider, or `[network] proxy`) the current config does not use.
//!
//! Any such risk needs the user's explicit confirmation: a prompt in the CLI, a dialog in the
//! UI, `confirm=true` on the API.

use std::collections::HashSet;

use serde::Serialize;

use crate::config::portable::Imported;
use crate::config::{slot_name, Config, Credential, Provider, ProviderKind};
use crate::secrets::SecretStore;

/// One way an imported provider would use a secret somewhere it was not used before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "risk", rename_all = "snake_case")]
pub enum Risk {
    /// Its key would be read from this environment variable, which nothing reads today.
    ReadsEnv {
        /// The variable.
        var: String,
    },
    /// Its key would be the one already stored in the keychain under this entry.
    UsesStoredKey {
        /// The keychain entry (`<id>` or `<id>#N`).
        entry: String,
    },
    /// The key this provider already uses would go to a different URL.
    KeyToNewUrl {
        /// Where the key comes from (`keychain`, `env:VAR`).
        source: String,
        /// The URL it goes to today.
        from: String,
        /// The URL it would go to.
        to: String,
    },
    /// The client's own key would be forwarded to this URL.
    ForwardsClientKey {
        /// The URL.
        to: String,
    },
    /// Requests (and the proxy's stored password, if any) would go through this proxy.
    ThroughProxy {
        /// The proxy URL (never holds a password).
        proxy: String,
    },
}

impl Risk {
    /// An English sentence for the CLI (the UI words it from the fields, translated).
    pub fn describe(&self) -> String {
        match self {
            Risk::ReadsEnv { var } => {
                format!("reads the environment variable {var} and sends it as the key")
            }
            Risk::UsesStoredKey { entry } => format!(
                "uses the key already stored in the keychain as {entry:?} (left from an earlier provider)"
            ),
            Risk::KeyToNewUrl { source, from, to } => {
                format!("sends its existing key ({source}) to {to} instead of {from}")
            }
            Risk::ForwardsClientKey { to } => {
                format!("forwards your clients' own API keys to {to}")
            }
            Risk::ThroughProxy { proxy } => format!("sends requests through the proxy {proxy}"),
        }
    }
}

/// One provider the import would add or replace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reviewed {
    /// Its id.
    pub id: String,
    /// `added` or `replaced`.
    pub change: &'static str,
    /// Its kind.
    pub kind: ProviderKind,
    /// Where its requests go.
    pub base_url: String,
    /// Where its key comes from (`keychain`, `env:VAR`, `passthrough`, `none`).
    pub credential: String,
    /// Its own proxy, if any.
    pub proxy: Option<String>,
    /// What needs confirmation.
    pub risks: Vec<Risk>,
}

/// Everything an import would send where, for the user to confirm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    /// Each provider added or replaced, in the file's order.
    pub providers: Vec<Reviewed>,
    /// Risks not tied to one provider (`[network] proxy`).
    pub global: Vec<Risk>,
}

impl Review {
    /// Does this import need the user's explicit confirmation?
    pub fn needs_confirmation(&self) -> bool {
        !self.global.is_empty() || self.providers.iter().any(|p| !p.risks.is_empty())
    }

    /// Every risk, with the provider it belongs to (`None`: the whole config).
    pub fn risks(&self) -> impl Iterator<Item = (Option<&str>, &Risk)> {
        self.global.iter().map(|r| (None, r)).chain(
            self.providers
                .iter()
                .flat_map(|p| p.risks.iter().map(move |r| (Some(p.id.as_str()), r))),
        )
    }
}

/// The variables a credential reads (a key pool lists several, comma-separated).
fn env_vars(c: &Credential) -> Vec<&str> {
    match c {
        Credential::Env(v) => v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// Is `url` exactly a built-in preset's HTTPS endpoint (the vendor's own API, where a
/// client's key for it belongs)?
fn vendor_url(url: &str) -> bool {
    crate::presets::all()
        .iter()
        .any(|p| p.base_url.starts_with("https://") && same_url(p.base_url, url))
}

/// Does `store` hold the entry? (A store that cannot be read counts as holding nothing.)
fn stored(store: &dyn SecretStore, name: &str) -> bool {
    matches!(store.get(name), Ok(Some(_)))
}

/// Review `got` (the outcome of [`crate::config::portable::import`] into `current`). `store` is
/// asked which keychain entries already hold a key; it may block (the OS keychain).
pub fn review(current: &Config, got: &Imported, store: &dyn SecretStore) -> Review {
    let mut env_read: HashSet<&str> = current
        .providers
        .iter()
        .flat_map(|p| env_vars(&p.credential))
        .collect();
    if let Some(c) = &current.security.access_token {
        env_read.extend(env_vars(c));
    }
    let proxies: HashSet<&str> = current
        .providers
        .iter()
        .filter_map(|p| p.proxy.as_deref())
        .chain(current.network.proxy.as_deref())
        .collect();
    let mut providers = Vec::new();
    for (id, change) in got
        .added
        .iter()
        .map(|id| (id, "added"))
        .chain(got.replaced.iter().map(|id| (id, "replaced")))
    {
        let Some(new) = got.config.provider(id) else {
            continue;
        };
        let old = current.provider(id).filter(|_| change == "replaced");
        providers.push(Reviewed {
            id: id.clone(),
            change,
            kind: new.kind,
            base_url: new.base_url.clone(),
            credential: new.credential.to_string(),
            proxy: new.proxy.clone(),
            risks: provider_risks(new, old, &env_read, &proxies, store),
        });
    }
    // Keep the file's order (added and replaced are listed separately).
    let order: Vec<&str> = got.config.providers.iter().map(|p| p.id.as_str()).collect();
    providers.sort_by_key(|r| order.iter().position(|id| *id == r.id));
    let mut global = Vec::new();
    if let Some(p) = got.config.network.proxy.as_deref() {
        if current.network.proxy.as_deref() != Some(p) && p != "direct" {
            global.push(Risk::ThroughProxy {
                proxy: p.to_string(),
            });
        }
    }
    Review { providers, global }
}

fn provider_risks(
    new: &Provider,
    old: Option<&Provider>,
    env_read: &HashSet<&str>,
    proxies: &HashSet<&str>,
    store: &dyn SecretStore,
) -> Vec<Risk> {
    let mut risks = Vec::new();
    for var in env_vars(&new.credential) {
        if !env_read.contains(var) {
            risks.push(Risk::ReadsEnv {
                var: var.to_string(),
            });
        }
    }
    let moved = old.is_some_and(|o| !same_url(&o.base_url, &new.base_url));
    match (&new.credential, old) {
        (Credential::Keychain, None) => {
            for slot in 0..new.keys.max(1) as usize {
                let entry = slot_name(&new.id, slot);
                if stored(store, &entry) {
                    risks.push(Risk::UsesStoredKey { entry });
                }
            }
        }
        (Credential::Keychain, Some(o))
            if moved
                && (0..new.keys.max(1) as usize).any(|s| stored(store, &slot_name(&new.id, s))) =>
        {
            risks.push(Risk::KeyToNewUrl {
                source: "keychain".into(),
                from: o.base_url.clone(),
                to: new.base_url.clone(),
            });
        }
        // Only the variables the provider already read: new ones are flagged above.
        (Credential::Env(_), Some(o))
            if moved
                && env_vars(&new.credential)
                    .iter()
                    .any(|v| env_read.contains(v)) =>
        {
            risks.push(Risk::KeyToNewUrl {
                source: new.credential.to_string(),
                from: o.base_url.clone(),
                to: new.base_url.clone(),
            });
        }
        (Credential::Passthrough, o)
            if o.is_none_or(|o| moved || o.credential != Credential::Passthrough)
                && !vendor_url(&new.base_url) =>
        {
            risks.push(Risk::ForwardsClientKey {
                to: new.base_url.clone(),
            });
        }
        _ => {}
    }
    if let Some(p) = new.proxy.as_deref() {
        let unchanged = old.is_some_and(|o| o.proxy.as_deref() == Some(p));
        if p != "direct" && !unchanged && !proxies.contains(p) {
            risks.push(Risk::ThroughProxy {
                proxy: p.to_string(),
            });
        }
    }
    risks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::portable::{import, ImportMode};
    use crate::secrets::{MemoryStore, Secret};

    fn current() -> Config {
        let mut cfg = Config::default();
        let mut a = Provider::new(
            "anthropic",
            ProviderKind::Anthropic,
            "https://api.anthropic.com",
        );
        a.credential = Credential::Keychain;
        let mut d = Provider::new("deepseek", ProviderKind::Openai, "https://api.deepseek.com");
        d.credential = Credential::Env("DEEPSEEK_API_KEY".into());
        let mut p = Provider::new("relay", ProviderKind::Anthropic, "https://relay.example");
        p.credential = Credential::Passthrough;
        cfg.providers = vec![a, d, p];
        cfg
    }

    fn store() -> MemoryStore {
        let s = MemoryStore::new();
        for name in ["anthropic", "orphan"] {
            s.set(name, &Secret::new("sk-stored-key-000000001").expect("key"))
                .expect("set");
        }
        s
    }

    fn run(file: &str, mode: ImportMode) -> Review {
        let cur = current();
        let got = import(&cur, file, None, mode).expect("import");
        review(&cur, &got, &store())
    }

    #[test]
    fn a_harmless_file_needs_no_confirmation_but_is_listed() {
        let r = run(
            "[[providers]]\nid = \"local\"\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:11434/v1\"\ncredential = \"none\"\n\
             [[providers]]\nid = \"fresh\"\nkind = \"anthropic\"\nbase_url = \"https://fresh.example\"\ncredential = \"keychain\"\n",
            ImportMode::Merge,
        );
        assert!(!r.needs_confirmation(), "{r:?}");
        let ids: Vec<_> = r
            .providers
            .iter()
            .map(|p| (p.id.as_str(), p.base_url.as_str(), p.credential.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                ("local", "http://127.0.0.1:11434/v1", "none"),
                ("fresh", "https://fresh.example", "keychain")
            ]
        );
    }

    #[test]
    fn each_way_to_reach_a_secret_is_flagged() {
        let r = run(
            "[network]\nproxy = \"http://mitm.example:8080\"\n\
             [[providers]]\nid = \"gh\"\nkind = \"openai\"\nbase_url = \"https://evil.example/v1\"\ncredential = \"env:GITHUB_TOKEN\"\n\
             [[providers]]\nid = \"orphan\"\nkind = \"openai\"\nbase_url = \"https://evil.example/v1\"\n\
             [[providers]]\nid = \"anthropic\"\nkind = \"anthropic\"\nbase_url = \"https://evil.example\"\n\
             [[providers]]\nid = \"deepseek\"\nkind = \"openai\"\nbase_url = \"https://evil.example/v1\"\ncredential = \"env:DEEPSEEK_API_KEY\"\n\
             [[providers]]\nid = \"relay\"\nkind = \"anthropic\"\nbase_url = \"https://evil.example\"\ncredential = \"passthrough\"\n\
             [[providers]]\nid = \"official\"\nkind = \"anthropic\"\nbase_url = \"https://api.anthropic.com\"\ncredential = \"passthrough\"\n\
             [[providers]]\nid = \"viaproxy\"\nkind = \"openai\"\nbase_url = \"https://ok.example/v1\"\ncredential = \"none\"\nproxy = \"socks5h://me@tunnel.example:1080\"\n",
            ImportMode::Replace,
        );
        assert!(r.needs_confirmation());
        let by = |id: &str| {
            r.providers
                .iter()
                .find(|p| p.id == id)
                .expect(id)
                .risks
                .clone()
        };
        assert_eq!(
            by("gh"),
            [Risk::ReadsEnv {
                var: "GITHUB_TOKEN".into()
            }]
        );
        assert_eq!(
            by("orphan"),
            [Risk::UsesStoredKey {
                entry: "orphan".into()
            }]
        );
        assert_eq!(
            by("anthropic"),
            [Risk::KeyToNewUrl {
                source: "keychain".into(),
                from: "https://api.anthropic.com".into(),
                to: "https://evil.example".into()
            }]
        );
        assert!(
            matches!(&by("deepseek")[..], [Risk::KeyToNewUrl { source, .. }] if source == "env:DEEPSEEK_API_KEY")
        );
        assert_eq!(
            by("relay"),
            [Risk::ForwardsClientKey {
                to: "https://evil.example".into()
            }]
        );
        assert!(matches!(&by("viaproxy")[..], [Risk::ThroughProxy { .. }]));
        assert_eq!(
            by("official"),
            [],
            "a client's key to the vendor's own API is no risk"
        );
        assert_eq!(
            r.global,
            [Risk::ThroughProxy {
                proxy: "http://mitm.example:8080".into()
            }]
        );
        // Every risk is worded for the CLI without a secret in it.
        for (_, risk) in r.risks() {
            assert!(!risk.describe().contains("sk-stored"), "{risk:?}");
        }
    }

    #[test]
    fn merge_mode_keeps_existing_providers_so_their_keys_stay_put() {
        let r = run(
            "[[providers]]\nid = \"anthropic\"\nkind = \"anthropic\"\nbase_url = \"https://evil.example\"\n",
            ImportMode::Merge,
        );
        assert!(r.providers.is_empty());
        assert!(!r.needs_confirmation());
    }

    #[test]
    fn a_replaced_provider_at_the_same_url_is_not_a_risk() {
        let r = run(
            "[[providers]]\nid = \"anthropic\"\nkind = \"anthropic\"\nbase_url = \"https://api.anthropic.com/\"\nweight = 3\n",
            ImportMode::Replace,
        );
        assert_eq!(r.providers.len(), 1);
        assert!(!r.needs_confirmation(), "{r:?}");
    }
}
