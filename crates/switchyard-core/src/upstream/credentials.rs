//! The credential policy, in one place for every dialect and spelling: which client headers and
//! query parameters carry a credential, how a bearer token is read, and what may go upstream.
//!
//! - A provider with its own key (`keychain`, `env:`) or none (`none`) never sees any client
//!   credential: every credential header and query parameter is removed, and its own key goes in
//!   the header its kind expects.
//! - A `passthrough` provider gets the client's own credential. An Anthropic-kind provider gets
//!   the client's headers as they were (an OAuth token and its `anthropic-beta` list keep
//!   working); other kinds get the client's key in their own header.
//! - Switchyard's access token is never forwarded: the guard removes it wherever the client put it
//!   (see `server::guard`), using [`bearer`] so every spelling of `Bearer` is recognised.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::config::AuthScheme;
use crate::protocol::Dialect;
use crate::secrets::Secret;

/// Client request headers that carry a credential, in any dialect we speak or relay:
/// Anthropic (`x-api-key`), OpenAI and most vendors (`authorization`), Gemini
/// (`x-goog-api-key`), Azure OpenAI (`api-key`).
pub const CREDENTIAL_HEADERS: &[&str] =
    &["authorization", "x-api-key", "x-goog-api-key", "api-key"];

/// Query parameters that carry a credential (Gemini's `?key=`, and the spellings some
/// gateways accept).
pub const CREDENTIAL_PARAMS: &[&str] = &["key", "api_key", "api-key", "access_token"];

/// Is this a client header that carries a credential?
pub fn is_credential_header(name: &str) -> bool {
    CREDENTIAL_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

/// The token of an `Authorization` value in the bearer scheme, whatever the scheme's case and
/// however many spaces follow it (`Bearer T`, `bearer T`, `BEARER  T`).
pub fn bearer(value: &[u8]) -> Option<&[u8]> {
    let scheme = b"bearer";
    if value.len() <= scheme.len() || !value[..scheme.len()].eq_ignore_ascii_case(scheme) {
        return None;
    }
    let rest = &value[scheme.len()..];
    let start = rest.iter().position(|b| *b != b' ' && *b != b'\t')?;
    if start == 0 {
        // `BearerX`: not the bearer scheme.
        return None;
    }
    let token = &rest[start..];
    let end = token
        .iter()
        .rposition(|b| *b != b' ' && *b != b'\t')
        .map_or(0, |i| i + 1);
    (end > 0).then(|| &token[..end])
}

/// The client's own key, from whichever header its dialect uses (for a passthrough provider of
/// another kind, and for redaction).
pub fn client_key(headers: &HeaderMap) -> Option<&str> {
    let from = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    from("x-api-key")
        .or_else(|| from("x-goog-api-key"))
        .or_else(|| from("api-key"))
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| bearer(v.as_bytes()))
                .and_then(|t| std::str::from_utf8(t).ok())
        })
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// Every credential value the client presented (headers and query), for redaction.
pub fn presented(headers: &HeaderMap, query: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    for name in CREDENTIAL_HEADERS {
        for v in headers.get_all(*name) {
            let raw = v.as_bytes();
            let value = bearer(raw).unwrap_or(raw);
            if let Ok(s) = std::str::from_utf8(value) {
                out.push(s.trim().to_string());
            }
        }
    }
    if let Some(q) = query {
        for (k, v) in pairs(q) {
            if is_credential_param(k) {
                out.push(percent_decode(v));
            }
        }
    }
    out
}

fn is_credential_param(name: &str) -> bool {
    CREDENTIAL_PARAMS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name))
}

fn pairs(q: &str) -> impl Iterator<Item = (&str, &str)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The client's query string without credential parameters (`None` when nothing is left).
pub fn forwardable_query(query: Option<&str>) -> Option<String> {
    let q = query?;
    let kept: Vec<&str> = q
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| !is_credential_param(p.split_once('=').map_or(*p, |(k, _)| k)))
        .collect();
    (!kept.is_empty()).then(|| kept.join("&"))
}

/// The credential for one attempt.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    /// Forward the client's own credential.
    Passthrough,
    /// Strip the client's credential and send this key (where the kind's adapter says).
    Key(&'a Secret),
    /// Strip the client's credential and send none.
    Nothing,
}

/// The credential a `passthrough` provider speaking `provider` gets from a client speaking
/// `client`. A Gemini client's key is Google's: it goes to Gemini providers only, never across
/// dialects (a provider of another dialect gets none, fails, and the request fails over).
pub fn passthrough_to(auth: Auth<'_>, client: Dialect, provider: Dialect) -> Auth<'_> {
    match auth {
        Auth::Passthrough if client == Dialect::Gemini && provider != Dialect::Gemini => {
            Auth::Nothing
        }
        other => other,
    }
}

/// Where a provider kind puts a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPlacement {
    /// `x-api-key: K` (Anthropic's own scheme).
    XApiKey,
    /// `Authorization: Bearer K`.
    Bearer,
    /// `x-goog-api-key: K` (Gemini).
    GoogApiKey,
}

impl KeyPlacement {
    /// The header for `key`, marked sensitive (never printed by the HTTP stack). `None` when
    /// the key cannot be a header value (stored keys are validated, so this does not happen).
    pub fn header(self, key: &str) -> Option<(HeaderName, HeaderValue)> {
        let (name, value) = match self {
            KeyPlacement::XApiKey => (
                HeaderName::from_static("x-api-key"),
                HeaderValue::from_str(key),
            ),
            KeyPlacement::Bearer => (
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {key}")),
            ),
            KeyPlacement::GoogApiKey => (
                HeaderName::from_static("x-goog-api-key"),
                HeaderValue::from_str(key),
            ),
        };
        let mut v = value.ok()?;
        v.set_sensitive(true);
        Some((name, v))
    }
}

impl From<AuthScheme> for KeyPlacement {
    fn from(s: AuthScheme) -> Self {
        match s {
            AuthScheme::XApiKey => KeyPlacement::XApiKey,
            AuthScheme::Bearer => KeyPlacement::Bearer,
        }
    }
}

/// Remove every client credential header.
pub fn strip(headers: &mut HeaderMap) {
    for name in CREDENTIAL_HEADERS {
        headers.remove(*name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_in_every_spelling() {
        for v in [
            "Bearer tok",
            "bearer tok",
            "BEARER tok",
            "Bearer  tok",
            "Bearer\ttok ",
        ] {
            assert_eq!(bearer(v.as_bytes()), Some(&b"tok"[..]), "{v:?}");
        }
        for v in ["Bearertok", "Basic dXNlcg==", "Bearer", "Bearer   ", "tok"] {
            assert_eq!(bearer(v.as_bytes()), None, "{v:?}");
        }
    }

    #[test]
    fn every_dialects_credential_is_one() {
        for h in ["Authorization", "x-api-key", "X-Goog-Api-Key", "api-key"] {
            assert!(is_credential_header(h), "{h}");
        }
        assert!(!is_credential_header("anthropic-version"));
    }

    #[test]
    fn query_credentials_are_dropped_and_seen() {
        assert_eq!(
            forwardable_query(Some("alt=sse&key=AIza%2Bsecret&beta=true")).as_deref(),
            Some("alt=sse&beta=true")
        );
        assert_eq!(forwardable_query(Some("key=x")), None);
        assert_eq!(
            forwardable_query(Some("beta=true")).as_deref(),
            Some("beta=true")
        );
        let mut h = HeaderMap::new();
        h.insert("x-goog-api-key", HeaderValue::from_static("goog-secret"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  tok-secret"),
        );
        let seen = presented(&h, Some("alt=sse&key=AIza%2Bsecret"));
        for s in ["goog-secret", "tok-secret", "AIza+secret"] {
            assert!(seen.iter().any(|v| v == s), "{s} in {seen:?}");
        }
    }

    #[test]
    fn client_key_from_any_header() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer k1"));
        assert_eq!(client_key(&h), Some("k1"));
        h.insert("x-goog-api-key", HeaderValue::from_static("k2"));
        assert_eq!(client_key(&h), Some("k2"));
        h.insert("x-api-key", HeaderValue::from_static("k3"));
        assert_eq!(client_key(&h), Some("k3"));
    }
}
