//! The guard in front of every route. A loopback service is reachable by every web page the
//! user opens, so: the `Host` must be ours (DNS rebinding), a browser `Origin` must be allowed
//! (cross-site requests, including `text/plain` "simple" POSTs, are refused), and when an
//! access token is configured every request must carry it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::config::Security;
use crate::engine::Engine;
use crate::protocol::anthropic::ErrorType;
use crate::secrets::Secret;

/// Is this `Host` value one of ours?
pub fn host_allowed(host: &str, listen: SocketAddr, sec: &Security) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let port = listen.port();
    let (name, host_port) = split_host_port(&host);
    if sec.allowed_hosts.iter().any(|a| {
        a.eq_ignore_ascii_case(&host) || (!a.contains(':') && a.eq_ignore_ascii_case(name))
    }) {
        return true;
    }
    if listen.ip().is_unspecified() && sec.allowed_hosts.is_empty() {
        // Bound to every interface (an access token is then mandatory): clients may use any
        // of the machine's names.
        return true;
    }
    if host_port.unwrap_or(80) != port {
        return false;
    }
    let listen_ip = match listen {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    };
    matches!(name, "localhost" | "127.0.0.1" | "[::1]") || name == listen_ip
}

fn split_host_port(h: &str) -> (&str, Option<u16>) {
    if let Some(end) = h.strip_prefix('[').and_then(|r| r.find(']')) {
        let name = &h[..end + 2];
        let port = h[end + 2..].strip_prefix(':').and_then(|p| p.parse().ok());
        return (name, port);
    }
    match h.rsplit_once(':') {
        Some((n, p)) => (n, p.parse().ok()),
        None => (h, None),
    }
}

/// Is this browser `Origin` allowed? Same-origin requests (the UI served by Switchyard
/// itself, whose `Host` already passed [`host_allowed`]) and the configured origins are.
pub fn origin_allowed(origin: &str, host: Option<&str>, sec: &Security) -> bool {
    let o = origin.trim().trim_end_matches('/');
    if sec
        .allowed_origins
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(o))
    {
        return true;
    }
    match (o.strip_prefix("http://"), host) {
        (Some(rest), Some(h)) => !rest.is_empty() && rest.eq_ignore_ascii_case(h.trim()),
        _ => false,
    }
}

/// Constant-time comparison, so the token cannot be guessed byte by byte from timings.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Where a request carries the access token, if anywhere (what the fuzz target checks of the
/// guard's matching).
#[cfg(feature = "fuzzing")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenMatch {
    /// In `x-switchyard-token`.
    pub by_own: bool,
    /// As the API key (`x-api-key`).
    pub by_key: bool,
    /// As `Authorization: Bearer`.
    pub by_bearer: bool,
}

/// The values a request presents as a token: `x-switchyard-token`, `x-api-key` (or Gemini's
/// `x-goog-api-key`) and the `Authorization: Bearer` credential, in that order.
pub fn presented(headers: &http::HeaderMap) -> [Option<&[u8]>; 3] {
    [
        headers.get("x-switchyard-token").map(|v| v.as_bytes()),
        // Gemini clients send their key as `x-goog-api-key`.
        headers
            .get("x-api-key")
            .or_else(|| headers.get("x-goog-api-key"))
            .map(|v| v.as_bytes()),
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| crate::upstream::credentials::bearer(v.as_bytes())),
    ]
}

/// Compare the request's token headers with `token` (in constant time).
#[cfg(feature = "fuzzing")]
pub fn token_match(headers: &http::HeaderMap, token: &[u8]) -> TokenMatch {
    let [own, key, bearer] = presented(headers).map(|v| v.is_some_and(|v| same(v, token)));
    TokenMatch {
        by_own: own,
        by_key: key,
        by_bearer: bearer,
    }
}

fn cors(resp: &mut Response, origin: &HeaderValue) {
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(
            "x-switchyard-provider, x-switchyard-attempts, request-id, retry-after",
        ),
    );
}

/// 429 for a named token over its rate, with `retry-after` in whole seconds (rounded up).
fn rate_limited(name: &str, wait: std::time::Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut resp = ApiError::new(
        ErrorType::RateLimit,
        format!("access token {name:?} is over its request rate; retry in {secs} s"),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    resp
}

/// The middleware.
pub async fn guard(State(engine): State<Arc<Engine>>, mut req: Request, next: Next) -> Response {
    let cfg = engine.config();
    let sec = &cfg.security;
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    if let Some(h) = &host {
        if !host_allowed(h, engine.listen(), sec) {
            return ApiError::forbidden(format!(
                "Host {h:?} is not allowed: Switchyard answers only to its own address (DNS-rebinding protection). \
                 Add it to [security] allowed_hosts if you really use that name."
            ))
            .into_response();
        }
    }
    let origin = req.headers().get(header::ORIGIN).cloned();
    if let Some(o) = &origin {
        let ok = o
            .to_str()
            .map(|s| origin_allowed(s, host.as_deref(), sec))
            .unwrap_or(false);
        if !ok {
            return ApiError::forbidden(format!(
                "requests from the web page at {:?} are not allowed. Add the origin to [security] allowed_origins to permit it.",
                o.to_str().unwrap_or("?")
            ))
            .into_response();
        }
    } else if req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return ApiError::forbidden("cross-site browser requests are not allowed").into_response();
    }
    if req.method() == Method::OPTIONS {
        let Some(o) = &origin else {
            return ApiError::bad_request("OPTIONS without Origin")
                .with_status(StatusCode::METHOD_NOT_ALLOWED)
                .into_response();
        };
        let mut resp = StatusCode::NO_CONTENT.into_response();
        cors(&mut resp, o);
        let h = resp.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, DELETE, HEAD"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            req.headers()
                .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .cloned()
                .unwrap_or_else(|| HeaderValue::from_static("content-type")),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return resp;
    }
    let token = engine.access_token();
    let local_peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .is_some_and(|c| c.0.ip().is_loopback());
    let exempt = local_peer && sec.local_without_token;
    if token.is_some() || engine.tokens().usable() > 0 {
        let headers = req.headers();
        // Which token a presented value is: the main one (`None` inside) or a named one.
        let which = |v: Option<&[u8]>| -> Option<Option<String>> {
            let v = v?;
            let main: &Option<Secret> = &token;
            if main
                .as_ref()
                .is_some_and(|t| same(v, t.expose().as_bytes()))
            {
                return Some(None);
            }
            engine.tokens().matching(v).map(Some)
        };
        let [own, key, bearer] = presented(headers).map(which);
        let (by_key, by_bearer) = (key.is_some(), bearer.is_some());
        let found = own.or(key).or(bearer);
        if found.is_none() && !exempt {
            return ApiError::new(
                ErrorType::Authentication,
                "this Switchyard requires an access token: send it as x-switchyard-token (or as the API key)",
            )
            .into_response();
        }
        if let Some(Some(name)) = &found {
            let rate = sec
                .tokens
                .iter()
                .find(|t| &t.name == name)
                .and_then(|t| t.rate_per_minute);
            if let Err(wait) = engine
                .limits()
                .admit(name, rate, std::time::Instant::now())
                .await
            {
                return rate_limited(name, wait);
            }
        }
        // A token sent as the API key is ours; it must not travel to a provider (local
        // clients set up with it send it too).
        if by_key {
            req.headers_mut().remove("x-api-key");
            req.headers_mut().remove("x-goog-api-key");
        }
        if by_bearer {
            req.headers_mut().remove(header::AUTHORIZATION);
        }
    }
    drop(cfg);
    let mut resp = next.run(req).await;
    if let Some(o) = &origin {
        cors(&mut resp, o);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &str) -> SocketAddr {
        s.parse().expect("addr")
    }

    #[test]
    fn hosts() {
        let sec = Security::default();
        let a = l("127.0.0.1:3535");
        for ok in [
            "127.0.0.1:3535",
            "localhost:3535",
            "[::1]:3535",
            "LOCALHOST:3535",
        ] {
            assert!(host_allowed(ok, a, &sec), "{ok}");
        }
        for bad in [
            "evil.example:3535",
            "127.0.0.1:80",
            "localhost",
            "127.0.0.1.nip.io:3535",
            "attacker.com",
        ] {
            assert!(!host_allowed(bad, a, &sec), "{bad}");
        }
        let sec2 = Security {
            allowed_hosts: vec!["mybox.lan".into()],
            ..Security::default()
        };
        assert!(host_allowed("mybox.lan:3535", a, &sec2));
        assert!(host_allowed("anything:3535", l("0.0.0.0:3535"), &sec));
        assert!(!host_allowed("anything:3535", l("0.0.0.0:3535"), &sec2));
    }

    #[test]
    fn origins() {
        let sec = Security::default();
        let h = Some("127.0.0.1:3535");
        assert!(origin_allowed("http://127.0.0.1:3535", h, &sec));
        assert!(origin_allowed(
            "http://localhost:3535",
            Some("localhost:3535"),
            &sec
        ));
        assert!(!origin_allowed("http://localhost:3000", h, &sec));
        assert!(!origin_allowed("https://evil.example", h, &sec));
        assert!(!origin_allowed("null", h, &sec));
        assert!(!origin_allowed("http://127.0.0.1:3535", None, &sec));
        let sec2 = Security {
            allowed_origins: vec!["http://localhost:8000".into()],
            ..Security::default()
        };
        assert!(origin_allowed("http://localhost:8000", h, &sec2));
    }
}
