//! The guard in front of every route. A loopback service is reachable by every web page the
//! user opens, so: the `Host` must be ours (DNS rebinding: a missing or garbled `Host` fails
//! closed, and on a LAN bind only IP literals and configured names pass, never a name an
//! attacker could point at us), a browser `Origin` must be allowed (cross-site requests,
//! including `text/plain` "simple" POSTs, are refused), and when an access token is configured
//! every request must carry it, in any place a client of any dialect puts its API key. The
//! token is removed wherever it was found, so it never travels to a provider.

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

/// Is this `Host` value one of ours? Loopback names and our own address always are (on our
/// port); configured `allowed_hosts` are; on a bind to every interface, so is any IP literal
/// (the machine's addresses: a literal cannot be rebound to us, a DNS name can). Anything
/// that is not a plain `host[:port]` is not.
pub fn host_allowed(host: &str, listen: SocketAddr, sec: &Security) -> bool {
    let host = host.trim();
    let plain = !host.is_empty()
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'_')
        });
    if !plain {
        return false;
    }
    let host = host.to_ascii_lowercase();
    let port = listen.port();
    let (name, host_port) = split_host_port(&host);
    if sec.allowed_hosts.iter().any(|a| {
        a.eq_ignore_ascii_case(&host) || (!a.contains(':') && a.eq_ignore_ascii_case(name))
    }) {
        return true;
    }
    let ip_literal = name.parse::<std::net::Ipv4Addr>().is_ok()
        || name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .is_some_and(|n| n.parse::<std::net::Ipv6Addr>().is_ok());
    if listen.ip().is_unspecified() && ip_literal {
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

/// A place a request may carry the access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `x-switchyard-token`.
    Own,
    /// A credential header of some dialect (`x-api-key`, `x-goog-api-key`, `api-key`).
    Header(&'static str),
    /// `Authorization`, in the bearer scheme (any spelling).
    Bearer,
    /// A credential query parameter (`?key=`).
    Query(&'static str),
}

/// Every value a request presents where a token may be, with its place: our own header first,
/// then every dialect's credential headers and query parameters.
pub fn presented<'r>(
    headers: &'r http::HeaderMap,
    query: Option<&'r str>,
) -> Vec<(Place, Vec<u8>)> {
    use crate::upstream::credentials::{bearer, CREDENTIAL_HEADERS, CREDENTIAL_PARAMS};
    let mut out = Vec::new();
    if let Some(v) = headers.get("x-switchyard-token") {
        out.push((Place::Own, v.as_bytes().to_vec()));
    }
    for name in CREDENTIAL_HEADERS {
        if *name == "authorization" {
            continue;
        }
        for v in headers.get_all(*name) {
            out.push((Place::Header(name), v.as_bytes().to_vec()));
        }
    }
    for v in headers.get_all(header::AUTHORIZATION) {
        if let Some(t) = bearer(v.as_bytes()) {
            out.push((Place::Bearer, t.to_vec()));
        }
    }
    for pair in query.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if let Some(name) = CREDENTIAL_PARAMS.iter().find(|p| p.eq_ignore_ascii_case(k)) {
            out.push((Place::Query(name), percent_decoded(v)));
        }
    }
    out
}

fn percent_decoded(v: &str) -> Vec<u8> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Where a request carries `token` (compared in constant time): what the fuzz target checks of
/// the guard's matching.
#[cfg(feature = "fuzzing")]
pub fn token_match(headers: &http::HeaderMap, query: Option<&str>, token: &[u8]) -> Vec<Place> {
    presented(headers, query)
        .into_iter()
        .filter(|(_, v)| same(v, token))
        .map(|(p, _)| p)
        .collect()
}

/// The request without the token in `places` (it is ours, and must not travel on).
fn remove_token(req: &mut Request, places: &[Place]) {
    for p in places {
        match p {
            Place::Own => {}
            Place::Header(name) => {
                req.headers_mut().remove(*name);
            }
            Place::Bearer => {
                req.headers_mut().remove(header::AUTHORIZATION);
            }
            Place::Query(name) => {
                let kept: Vec<&str> = req
                    .uri()
                    .query()
                    .unwrap_or("")
                    .split('&')
                    .filter(|pair| {
                        !pair
                            .split_once('=')
                            .map_or(*pair, |(k, _)| k)
                            .eq_ignore_ascii_case(name)
                    })
                    .collect();
                let path = req.uri().path().to_string();
                let pq = if kept.iter().all(|k| k.is_empty()) {
                    path
                } else {
                    format!("{path}?{}", kept.join("&"))
                };
                if let Ok(u) = pq.parse::<http::Uri>() {
                    *req.uri_mut() = u;
                }
            }
        }
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
    // HTTP/1.1 carries `Host`; HTTP/2 the URI's authority. Neither, or a `Host` that is not
    // text: refused, never waved through.
    let host = match req.headers().get(header::HOST) {
        Some(h) => h.to_str().ok().map(str::to_string),
        None => req.uri().authority().map(|a| a.to_string()),
    };
    let Some(h) = &host else {
        return ApiError::bad_request("a Host header (plain ASCII) is required").into_response();
    };
    {
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
        // Which token a presented value is: the main one (`None` inside) or a named one.
        let which = |v: &[u8]| -> Option<Option<String>> {
            let main: &Option<Secret> = &token;
            if main
                .as_ref()
                .is_some_and(|t| same(v, t.expose().as_bytes()))
            {
                return Some(None);
            }
            engine.tokens().matching(v).map(Some)
        };
        let mut found: Option<Option<String>> = None;
        let mut places = Vec::new();
        for (place, v) in presented(req.headers(), req.uri().query()) {
            if let Some(t) = which(&v) {
                found.get_or_insert(t);
                places.push(place);
            }
        }
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
        remove_token(&mut req, &places);
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
        // A LAN bind: the machine's addresses as IP literals, never an arbitrary name (a
        // DNS-rebinding page's own name resolves to us too).
        let lan = l("0.0.0.0:3535");
        for ok in [
            "192.168.1.20:3535",
            "10.0.0.5",
            "[fe80::1]:3535",
            "127.0.0.1:3535",
        ] {
            assert!(host_allowed(ok, lan, &sec), "{ok}");
        }
        for bad in ["anything:3535", "evil.example", "192.168.1.20.nip.io:3535"] {
            assert!(!host_allowed(bad, lan, &sec), "{bad}");
        }
        assert!(host_allowed("mybox.lan:3535", lan, &sec2));
        // Not a plain host[:port]: refused, however it would parse.
        for bad in [
            "",
            " ",
            "localhost:3535/x",
            "user@localhost:3535",
            "lоcalhost:3535",
            "local\thost:3535",
        ] {
            assert!(!host_allowed(bad, a, &sec), "{bad:?}");
        }
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
