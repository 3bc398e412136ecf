//! Proxy settings as the config writes them: a proxy URL (`http://`, `https://`, `socks5://`,
//! `socks5h://`, with at most a user name) or `direct`. The password never appears here: it
//! lives in the secret store (`proxy:global` or `proxy:<provider-id>`). The HTTP clients built
//! from these settings are in `crate::upstream::outbound`.

/// Secret-store name of the `[network] proxy` password.
pub const GLOBAL_PROXY_SECRET: &str = "proxy:global";

/// Secret-store name of a proxy password: `proxy:global`, or `proxy:<provider-id>`.
pub fn secret_name(provider: Option<&str>) -> String {
    match provider {
        Some(id) => format!("proxy:{id}"),
        None => GLOBAL_PROXY_SECRET.to_string(),
    }
}

/// Why a proxy setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyParseError {
    /// A password written into the URL.
    #[error("the proxy password must not be written in the config file. Write the URL without it (e.g. socks5h://{user}@{host}) and store the password with `switchyard keys set {secret}` (it goes to the OS keychain)")]
    LiteralPassword {
        /// The user name (shown; it is not secret).
        user: String,
        /// host:port.
        host: String,
        /// The secret-store name to use.
        secret: String,
    },
    /// Anything else.
    #[error("{0}")]
    Invalid(String),
}

/// A parsed proxy setting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Setting {
    /// No proxy configured: honour the environment variables.
    Environment,
    /// `direct`: no proxy at all, whatever the environment says.
    Direct,
    /// Through this proxy.
    Via {
        /// The URL as written (never holds a password).
        url: String,
        /// Where its password is stored.
        secret: String,
    },
}

impl Setting {
    /// The proxy URL to name in messages (user name kept, never a password).
    pub fn label(&self) -> Option<&str> {
        match self {
            Setting::Via { url, .. } => Some(url),
            _ => None,
        }
    }
}

/// Check a proxy URL (or `direct`) from the config. `provider` is the owning provider's id,
/// `None` for `[network] proxy` (it decides where the password is looked for).
pub fn parse(value: &str, provider: Option<&str>) -> Result<Setting, ProxyParseError> {
    let value = value.trim();
    if value == "direct" {
        return Ok(Setting::Direct);
    }
    let secret = secret_name(provider);
    let url = reqwest::Url::parse(value).map_err(|e| {
        ProxyParseError::Invalid(format!(
            "proxy {value:?} is not a URL ({e}); write e.g. \"http://proxy.example:8080\", \"socks5h://user@127.0.0.1:1080\" or \"direct\""
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
        return Err(ProxyParseError::Invalid(format!(
            "proxy scheme {:?} is not supported: use http, https, socks5 or socks5h",
            url.scheme()
        )));
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err(ProxyParseError::Invalid(format!(
            "proxy {value:?} has no host"
        )));
    };
    let hostport = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    if url.password().is_some() {
        return Err(ProxyParseError::LiteralPassword {
            user: url.username().to_string(),
            host: hostport,
            secret,
        });
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(ProxyParseError::Invalid(format!(
            "proxy {value:?} must be just scheme://[user@]host[:port]"
        )));
    }
    let user = url.username();
    let label = if user.is_empty() {
        format!("{}://{hostport}", url.scheme())
    } else {
        format!("{}://{user}@{hostport}", url.scheme())
    };
    Ok(Setting::Via { url: label, secret })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schemes_users_and_direct() {
        assert_eq!(parse("direct", Some("a")), Ok(Setting::Direct));
        assert_eq!(
            parse("socks5h://me@127.0.0.1:1080", None),
            Ok(Setting::Via {
                url: "socks5h://me@127.0.0.1:1080".into(),
                secret: "proxy:global".into()
            })
        );
        assert_eq!(
            parse("http://proxy.lan:3128/", Some("ds")),
            Ok(Setting::Via {
                url: "http://proxy.lan:3128".into(),
                secret: "proxy:ds".into()
            })
        );
        assert!(matches!(
            parse("ftp://x:21", None),
            Err(ProxyParseError::Invalid(_))
        ));
        assert!(matches!(
            parse("not a url", None),
            Err(ProxyParseError::Invalid(_))
        ));
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_echoing_it() {
        let e = parse("socks5://me:hunter2@h:1080", Some("ds")).unwrap_err();
        let m = e.to_string();
        assert!(!m.contains("hunter2"), "{m}");
        assert!(m.contains("switchyard keys set proxy:ds"), "{m}");
        assert!(m.contains("socks5h://me@h:1080"), "{m}");
    }
}
