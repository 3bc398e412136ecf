//! Which headers go upstream and which come back.

use http::header::{self, HeaderMap, HeaderValue};

use super::credentials::{self, Auth, KeyPlacement};

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
    // The driver sets its own; a second one must not reach the provider.
    "content-type",
    // We never send `100-continue` bodies upstream.
    "expect",
    // We must read SSE frames; ask for identity encoding.
    "accept-encoding",
    "cookie",
    "origin",
    "referer",
    "x-switchyard-token",
    // Set afresh on every attempt (`HOPS`).
    "x-switchyard-hops",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "forwarded",
];

/// The hop header: every Switchyard a request has passed through, oldest first, as opaque
/// per-process ids. Each attempt sends the client's list plus our own id.
pub const HOPS: &str = "x-switchyard-hops";
/// Set on the 508 a Switchyard answers to a request that came back to it.
pub const LOOP: &str = "x-switchyard-loop";
/// More Switchyards in a row than this is a loop too (a ring of several instances, or a
/// header sent to make us believe one).
pub const MAX_HOPS: usize = 8;

/// The ids in a request's hop header(s).
fn hops(client: &HeaderMap) -> impl Iterator<Item = &str> {
    client
        .get_all(HOPS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Has a request with these headers already passed through the Switchyard whose id is `own`,
/// or through more than [`MAX_HOPS`] of them?
pub fn looped(client: &HeaderMap, own: &str) -> bool {
    let mut n = 0;
    for id in hops(client) {
        if id == own {
            return true;
        }
        n += 1;
    }
    n >= MAX_HOPS
}

/// The hop header to send upstream: the client's list and `own`.
pub fn next_hops(client: &HeaderMap, own: &str) -> HeaderValue {
    let mut list: Vec<&str> = hops(client).take(MAX_HOPS).collect();
    list.push(own);
    HeaderValue::from_str(&list.join(","))
        .unwrap_or_else(|_| HeaderValue::from_str(own).unwrap_or(HeaderValue::from_static("sy")))
}

/// The client's headers that may go upstream to a provider of the client's own dialect:
/// everything but hop-by-hop and framing headers (including any the client's `Connection`
/// names), headers the HTTP client sets itself, browser context, our own, and (unless the
/// provider passes the client's credential through) every credential header.
pub fn forwarded(client: &HeaderMap, auth: Auth<'_>) -> HeaderMap {
    let named_by_connection: Vec<String> = client
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    let mut out = HeaderMap::with_capacity(client.len() + 2);
    for (name, value) in client {
        let n = name.as_str();
        if DROP_UPSTREAM.contains(&n)
            || n.starts_with("sec-")
            || named_by_connection.iter().any(|c| c == n)
        {
            continue;
        }
        if !matches!(auth, Auth::Passthrough) && credentials::is_credential_header(n) {
            // The client's credential never reaches a provider that has its own key.
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// Put the attempt's credential in: the stored key where `placement` says; for a passthrough
/// provider whose headers were not forwarded, the client's own key in that place.
pub fn authorize(
    out: &mut HeaderMap,
    auth: Auth<'_>,
    placement: KeyPlacement,
    client: &HeaderMap,
    forwarded: bool,
) {
    let key = match auth {
        Auth::Key(secret) => Some(secret.expose()),
        Auth::Passthrough if !forwarded => credentials::client_key(client),
        Auth::Passthrough | Auth::Nothing => None,
    };
    if let Some((name, value)) = key.and_then(|k| placement.header(k)) {
        if matches!(auth, Auth::Key(..)) {
            credentials::strip(out);
        }
        out.insert(name, value);
    }
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
    use crate::secrets::Secret;
    use http::header::{HeaderName, HeaderValue};

    fn client() -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("x-api-key", "client-key"),
            ("authorization", "Bearer client-oauth"),
            ("x-goog-api-key", "client-goog"),
            ("anthropic-version", "2023-06-01"),
            ("anthropic-beta", "a,b"),
            ("x-claude-code-session-id", "s1"),
            ("accept-encoding", "gzip, br"),
            ("host", "127.0.0.1:3535"),
            ("x-switchyard-token", "t"),
            ("expect", "100-continue"),
            ("content-type", "text/plain"),
            ("connection", "x-private"),
            ("x-private", "1"),
        ] {
            h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    fn headers(auth: Auth<'_>, placement: KeyPlacement) -> HeaderMap {
        let c = client();
        let mut h = forwarded(&c, auth);
        authorize(&mut h, auth, placement, &c, true);
        h
    }

    #[test]
    fn passthrough_keeps_client_credentials() {
        let h = headers(Auth::Passthrough, KeyPlacement::XApiKey);
        assert_eq!(h["x-api-key"], "client-key");
        assert_eq!(h["authorization"], "Bearer client-oauth");
        assert_eq!(h["anthropic-beta"], "a,b");
        assert_eq!(h["x-claude-code-session-id"], "s1");
        for gone in [
            "accept-encoding",
            "host",
            "x-switchyard-token",
            "expect",
            "content-type",
            "x-private",
        ] {
            assert!(h.get(gone).is_none(), "{gone} forwarded");
        }
    }

    #[test]
    fn keyed_provider_never_sees_client_credentials() {
        let s = Secret::new("sk-provider").expect("key");
        let h = headers(Auth::Key(&s), KeyPlacement::XApiKey);
        assert_eq!(h["x-api-key"], "sk-provider");
        assert!(h.get("authorization").is_none() && h.get("x-goog-api-key").is_none());
        let h = headers(Auth::Key(&s), KeyPlacement::Bearer);
        assert_eq!(h["authorization"], "Bearer sk-provider");
        assert!(h.get("x-api-key").is_none() && h.get("x-goog-api-key").is_none());
        let h = headers(Auth::Nothing, KeyPlacement::XApiKey);
        for c in crate::upstream::credentials::CREDENTIAL_HEADERS {
            assert!(h.get(*c).is_none(), "{c}");
        }
    }

    #[test]
    fn passthrough_to_another_dialect_moves_the_key() {
        let c = client();
        let mut h = HeaderMap::new();
        authorize(
            &mut h,
            Auth::Passthrough,
            KeyPlacement::GoogApiKey,
            &c,
            false,
        );
        assert_eq!(h["x-goog-api-key"], "client-key");
        assert_eq!(h.len(), 1);
    }
}
