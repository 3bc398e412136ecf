//! Outbound proxies: which proxy each provider goes through, one HTTP client per distinct
//! proxy setting, and failure messages that name the proxy instead of the provider.
//!
//! A proxy URL in the config carries at most a user name; its password lives in the secret
//! store (`proxy:global` for `[network] proxy`, `proxy:<provider-id>` for a provider's own).
//! With no proxy configured anywhere, the default client honours `HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY` and `NO_PROXY` from the environment.

use std::collections::HashMap;
use std::time::Duration;

use super::transport::{Upstream, AGENT, POOL_IDLE, POOL_PER_HOST};
use crate::config::Config;
use crate::secrets::SecretStore;

pub use crate::config::proxy::{parse, Setting, GLOBAL_PROXY_SECRET};

/// The setting that applies to `[network] proxy` (unset: the environment).
fn global(cfg: &Config) -> Setting {
    cfg.network
        .proxy
        .as_deref()
        .and_then(|v| parse(v, None).ok())
        .unwrap_or(Setting::Environment)
}

/// The setting one provider uses: its own `proxy`, else the global one.
pub fn effective(cfg: &Config, provider: &crate::config::Provider) -> Setting {
    match provider.proxy.as_deref() {
        Some(v) => parse(v, Some(&provider.id)).unwrap_or_else(|_| global(cfg)),
        None => global(cfg),
    }
}

/// What decides how the clients are built: rebuild when this changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    connect_ms: u64,
    global: Setting,
    per_provider: Vec<(String, Setting)>,
}

/// The signature of a config's outbound settings.
pub fn signature(cfg: &Config) -> Signature {
    let global = global(cfg);
    let per_provider = cfg
        .providers
        .iter()
        .map(|p| (p.id.clone(), effective(cfg, p)))
        .filter(|(_, s)| *s != global)
        .collect();
    Signature {
        connect_ms: cfg.timeouts.connect_ms,
        global,
        per_provider,
    }
}

/// The HTTP clients: one for the global setting, and one per distinct provider override.
pub struct Clients {
    default: Upstream,
    default_label: Option<String>,
    /// Provider id -> (client, proxy label). Empty in the common case (no per-provider proxy).
    per_provider: HashMap<String, (Upstream, Option<String>)>,
    /// What these clients were built from.
    pub signature: Signature,
    /// Upstream URLs, parsed once.
    pub urls: super::urls::UrlCache,
}

impl Clients {
    /// Build the clients for a config, reading proxy passwords from `secrets`.
    pub fn build(cfg: &Config, secrets: &dyn SecretStore) -> Clients {
        let sig = signature(cfg);
        let connect = Duration::from_millis(cfg.timeouts.connect_ms);
        let mut by_setting: HashMap<Setting, Upstream> = HashMap::new();
        let default = client(connect, &sig.global, secrets);
        by_setting.insert(sig.global.clone(), default.clone());
        let mut per_provider = HashMap::new();
        for (id, setting) in &sig.per_provider {
            let c = by_setting
                .entry(setting.clone())
                .or_insert_with(|| client(connect, setting, secrets))
                .clone();
            per_provider.insert(id.clone(), (c, setting.label().map(String::from)));
        }
        Clients {
            default,
            default_label: sig.global.label().map(String::from),
            per_provider,
            signature: sig,
            urls: super::urls::UrlCache::default(),
        }
    }

    /// The client for a provider.
    pub fn for_provider(&self, id: &str) -> &Upstream {
        if self.per_provider.is_empty() {
            return &self.default;
        }
        self.per_provider
            .get(id)
            .map(|(c, _)| c)
            .unwrap_or(&self.default)
    }

    /// The configured proxy a provider goes through, for messages (no password).
    pub fn proxy_label(&self, id: &str) -> Option<&str> {
        match self.per_provider.get(id) {
            Some((_, label)) => label.as_deref(),
            None => self.default_label.as_deref(),
        }
    }
}

/// The proxy password for a setting, if one is stored.
fn password(setting: &Setting, secrets: &dyn SecretStore) -> Option<String> {
    let Setting::Via { secret, .. } = setting else {
        return None;
    };
    match secrets.get(secret) {
        Ok(v) => v.map(|s| s.expose().to_string()),
        Err(e) => {
            // The message is about the store, never the value.
            tracing::warn!("cannot read the proxy password {secret}: {e}");
            None
        }
    }
}

/// The client for one setting: reqwest, and the lean client for plain-HTTP URLs when the
/// setting uses no proxy.
fn client(connect: Duration, setting: &Setting, secrets: &dyn SecretStore) -> Upstream {
    Upstream::new(
        full_client(connect, setting, secrets),
        lean_allowed(setting),
        connect,
    )
}

fn full_client(connect: Duration, setting: &Setting, secrets: &dyn SecretStore) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .connect_timeout(connect)
        .tcp_nodelay(true)
        .pool_idle_timeout(POOL_IDLE)
        .pool_max_idle_per_host(POOL_PER_HOST)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(AGENT);
    match setting {
        // reqwest reads HTTP(S)_PROXY / ALL_PROXY / NO_PROXY itself when no proxy is given.
        Setting::Environment => {}
        Setting::Direct => b = b.no_proxy(),
        Setting::Via { url, .. } => match reqwest::Proxy::all(url.as_str()) {
            Ok(mut proxy) => {
                let user = reqwest::Url::parse(url)
                    .map(|u| u.username().to_string())
                    .unwrap_or_default();
                if let Some(pass) = password(setting, secrets) {
                    proxy = proxy.basic_auth(&user, &pass);
                } else if !user.is_empty() {
                    proxy = proxy.basic_auth(&user, "");
                }
                b = b.proxy(proxy);
            }
            Err(e) => {
                // parse() accepted it, so this is unexpected; never fall back to going direct.
                tracing::error!("cannot use proxy {url}: {e}");
                b = b.proxy(unusable_proxy());
            }
        },
    }
    b.build().unwrap_or_else(|e| {
        tracing::error!("cannot build the HTTP client with custom settings ({e}); using defaults");
        reqwest::Client::new()
    })
}

/// May a setting use the lean client: no proxy at all for plain-HTTP URLs? `Environment` means
/// reqwest's own reading of the proxy variables, so any variable that would apply to an
/// `http://` URL keeps the setting on reqwest.
pub fn lean_allowed(setting: &Setting) -> bool {
    match setting {
        Setting::Direct => true,
        Setting::Via { .. } => false,
        Setting::Environment => ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
            .iter()
            .all(|v| std::env::var_os(v).is_none_or(|x| x.is_empty())),
    }
}

/// A proxy that cannot be reached, so a broken setting fails instead of leaking traffic.
fn unusable_proxy() -> reqwest::Proxy {
    #[allow(clippy::expect_used)]
    reqwest::Proxy::all("http://127.0.0.1:9").expect("a constant proxy URL parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_setting_without_a_proxy_may_use_the_lean_client() {
        assert!(lean_allowed(&Setting::Direct));
        let via = parse("http://proxy.example:3128", None).expect("proxy");
        assert!(matches!(via, Setting::Via { .. }));
        assert!(!lean_allowed(&via));
    }

    #[test]
    fn signature_lists_only_providers_that_differ() {
        let mut cfg = Config::default();
        cfg.network.proxy = Some("http://p:1".into());
        assert!(signature(&cfg).per_provider.is_empty());
        cfg.providers[0].proxy = Some("direct".into());
        assert_eq!(
            signature(&cfg).per_provider,
            vec![("anthropic".to_string(), Setting::Direct)]
        );
    }
}
