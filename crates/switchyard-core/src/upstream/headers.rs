//! Which headers go upstream and which come back.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::secrets::Secret;

/// Headers never forwarded upstream: hop-by-hop, ones the HTTP client sets itself, browser
/// context, and our own.
const DROP_UPSTREAM: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    // We must read SSE frames; ask for identity encoding.
    "accept-encoding",
    "cookie",
    "origin",
    "referer",
    "x-switchyard-token",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "forwarded",
];

pub use crate::config::AuthScheme;

/// The credential for one attempt.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    /// Forward the client's `x-api-key` / `Authorization` unchanged.
    Passthrough,
    /// Strip the client's credential and send this key.
    Key(&'a Secret, AuthScheme),
    /// Strip the client's credential and send none.
    Nothing,
}

/// Build the upstream headers from the client's.
pub fn upstream_headers(client: &HeaderMap, auth: Auth<'_>) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(client.len() + 2);
    for (name, value) in client {
        let n = name.as_str();
        if DROP_UPSTREAM.contains(&n) || n.starts_with("sec-") {
            continue;
        }
        if !matches!(auth, Auth::Passthrough) && (name == header::AUTHORIZATION || n == "x-api-key")
        {
            // The client's credential never reaches a provider that has its own key.
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    // Anthropic requires a version header; curl users and some scripts forget it.
    if !out.contains_key("anthropic-version") {
        out.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static("2023-06-01"),
        );
    }
    if let Auth::Key(secret, scheme) = auth {
        // Secret::new guarantees visible ASCII, so this cannot fail; skip rather than panic.
        let (name, value) = match scheme {
            AuthScheme::XApiKey => (
                HeaderName::from_static("x-api-key"),
                HeaderValue::from_str(secret.expose()),
            ),
            AuthScheme::Bearer => (
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {}", secret.expose())),
            ),
        };
        if let Ok(mut v) = value {
            v.set_sensitive(true);
            out.insert(name, v);
        }
    }
    out
}

/// Is this upstream response header relayed to the client?
pub fn relayed(name: &str) -> bool {
    matches!(
        name,
        "request-id" | "retry-after" | "retry-after-ms" | "x-should-retry" | "content-type"
    ) || name.starts_with("anthropic-ratelimit-")
}

/// The relayed subset of upstream response headers.
pub fn relay_back(upstream: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in upstream {
        if relayed(name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("x-api-key", "client-key"),
            ("authorization", "Bearer client-oauth"),
            ("anthropic-version", "2023-06-01"),
            ("anthropic-beta", "a,b"),
            ("x-claude-code-session-id", "s1"),
            ("accept-encoding", "gzip, br"),
            ("host", "127.0.0.1:3535"),
            ("x-switchyard-token", "t"),
        ] {
            h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn passthrough_keeps_client_credentials() {
        let h = upstream_headers(&client(), Auth::Passthrough);
        assert_eq!(h["x-api-key"], "client-key");
        assert_eq!(h["authorization"], "Bearer client-oauth");
        assert_eq!(h["anthropic-beta"], "a,b");
        assert_eq!(h["x-claude-code-session-id"], "s1");
        assert!(
            h.get("accept-encoding").is_none()
                && h.get("host").is_none()
                && h.get("x-switchyard-token").is_none()
        );
    }

    #[test]
    fn keyed_provider_never_sees_client_credentials() {
        let s = Secret::new("sk-provider").expect("key");
        let h = upstream_headers(&client(), Auth::Key(&s, AuthScheme::XApiKey));
        assert_eq!(h["x-api-key"], "sk-provider");
        assert!(h.get("authorization").is_none());
        let h = upstream_headers(&client(), Auth::Key(&s, AuthScheme::Bearer));
        assert_eq!(h["authorization"], "Bearer sk-provider");
        assert!(h.get("x-api-key").is_none());
        let h = upstream_headers(&client(), Auth::Nothing);
        assert!(h.get("x-api-key").is_none() && h.get("authorization").is_none());
        assert_eq!(h["anthropic-version"], "2023-06-01");
        let h = upstream_headers(&HeaderMap::new(), Auth::Passthrough);
        assert_eq!(
            h["anthropic-version"], "2023-06-01",
            "a missing version gets the stable default"
        );
    }
}
