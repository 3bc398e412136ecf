//! Network plumbing every adapter shares: how a transport failure is worded, how much of an
//! answer is read and for how long, and the one-line excerpt of a body that is not JSON.

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::time::Instant;

use super::relay::ByteStream;
use super::transport::{io_kind, SendError};
use crate::config::Provider;
use crate::events::FailoverReason;
use crate::routing::Failure;

/// A transport failure (connect, DNS, TLS, reset) as a failover reason and a message that names
/// the provider, or the configured proxy when the connection to it failed.
pub(crate) fn net_failure(e: &SendError, provider: &Provider, proxy: Option<&str>) -> Failure {
    if let Some(proxy) = proxy.filter(|_| e.is_connect()) {
        return proxy_failure(proxy, e);
    }
    let (reason, what) = if e.is_timeout() {
        (FailoverReason::Timeout, "timed out")
    } else if e.is_connect() {
        (FailoverReason::Unreachable, "cannot connect")
    } else {
        (FailoverReason::Unreachable, "request failed")
    };
    // reqwest's message names the URL, which holds no secret (queries are refused in base_url).
    Failure::new(
        reason,
        format!(
            "{what} to {}: {}",
            provider.display_name(),
            error_chain(e.as_error())
        ),
    )
}

/// A network failure through a proxy, worded so the proxy is named, not the provider.
pub fn proxy_failure(proxy: &str, e: &SendError) -> Failure {
    let chain = error_chain(e.as_error()).to_lowercase();
    let refused = io_kind(e.as_error()) == Some(std::io::ErrorKind::ConnectionRefused)
        || chain.contains("connection refused")
        || chain.contains("failed to create underlying connection");
    let what = if e.is_timeout() {
        "did not answer in time".to_string()
    } else if refused {
        "refused the connection".to_string()
    } else if says_407(&chain)
        || chain.contains("proxy authentication")
        || chain.contains("proxy authorization required")
    {
        "rejected the credentials (HTTP 407): check the user name and the password stored with `switchyard keys set proxy:…`".to_string()
    } else if chain.contains("socks") || chain.contains("auth") {
        format!(
            "failed the SOCKS handshake or authentication: {}",
            error_chain(e.as_error())
        )
    } else {
        format!("failed: {}", error_chain(e.as_error()))
    };
    Failure {
        reason: if e.is_timeout() {
            FailoverReason::Timeout
        } else {
            FailoverReason::Unreachable
        },
        status: None,
        hint: None,
        message: format!("proxy {proxy} {what}"),
    }
}

/// Does an error text name status 407 (not a port or another number that holds those digits,
/// as `127.0.0.1:40735` would)?
fn says_407(text: &str) -> bool {
    let b = text.as_bytes();
    text.match_indices("407").any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| b[j]);
        let after = b.get(i + 3).copied();
        !before.is_some_and(|c| c.is_ascii_digit() || c == b':' || c == b'.')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// An HTTP proxy that answered 407 itself (plain-http targets are forwarded, not tunnelled).
pub fn proxy_auth_failure(proxy: &str) -> Failure {
    Failure {
        reason: FailoverReason::Unreachable,
        status: Some(407),
        hint: None,
        message: format!(
            "proxy {proxy} rejected the credentials (HTTP 407): check the user name and the password stored with `switchyard keys set proxy:…`"
        ),
    }
}

/// An error and its causes on one line, each cause once.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        src = cause.source();
    }
    s
}

/// What reading a whole body came to.
pub(crate) enum Read {
    /// All of it.
    Whole(Bytes),
    /// More than the limit: reading stopped there.
    TooLarge,
}

/// Read a body until its end, `deadline` or `limit` bytes, whichever comes first. Chunks are
/// kept as they came and joined once at the end, so a body that turns out too large never
/// costs more than `limit` (a growing buffer would double as it grows).
pub(crate) async fn read_body(
    body: ByteStream,
    limit: usize,
    deadline: Instant,
) -> Result<Read, Failure> {
    let mut body = body;
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut total = 0usize;
    loop {
        match tokio::time::timeout_at(deadline, body.next()).await {
            Err(_) => {
                return Err(Failure::new(
                    FailoverReason::Timeout,
                    "the upstream did not finish its answer in time",
                ))
            }
            Ok(None) => {
                return Ok(Read::Whole(match chunks.len() {
                    0 => Bytes::new(),
                    1 => chunks.swap_remove(0),
                    _ => {
                        let mut out = BytesMut::with_capacity(total);
                        for c in &chunks {
                            out.extend_from_slice(c);
                        }
                        out.freeze()
                    }
                }))
            }
            Ok(Some(Err(e))) => {
                return Err(Failure::new(
                    FailoverReason::Unreachable,
                    format!(
                        "connection lost while reading the answer: {}",
                        error_chain(&*e)
                    ),
                ))
            }
            Ok(Some(Ok(chunk))) => {
                total += chunk.len();
                if total > limit {
                    return Ok(Read::TooLarge);
                }
                chunks.push(chunk);
            }
        }
    }
}

/// Read at most `limit` bytes of an error body (the rest is not needed to classify it).
pub(crate) async fn read_error_body(
    body: ByteStream,
    limit: usize,
    deadline: Instant,
) -> Result<Bytes, Failure> {
    let mut body = body;
    let mut out = BytesMut::new();
    loop {
        match tokio::time::timeout_at(deadline, body.next()).await {
            Err(_) => {
                return Err(Failure::new(
                    FailoverReason::Timeout,
                    "the upstream did not finish its error answer in time",
                ))
            }
            Ok(None) => return Ok(out.freeze()),
            Ok(Some(Err(e))) => {
                return Err(Failure::new(
                    FailoverReason::Unreachable,
                    format!(
                        "connection lost while reading the error answer: {}",
                        error_chain(&*e)
                    ),
                ))
            }
            Ok(Some(Ok(chunk))) => {
                let room = limit.saturating_sub(out.len());
                if chunk.len() >= room {
                    out.extend_from_slice(&chunk[..room]);
                    return Ok(out.freeze());
                }
                out.extend_from_slice(&chunk);
            }
        }
    }
}

/// A short, single-line excerpt of a body that is not the expected JSON.
pub(crate) fn summarize(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(300)]);
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.is_empty() {
        "(empty body)".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn status_407_is_not_a_port() {
        assert!(super::says_407(
            "unsuccessful tunnel (407 proxy authentication required)"
        ));
        assert!(super::says_407("http status 407"));
        assert!(!super::says_407("error connecting to 127.0.0.1:40735"));
        assert!(!super::says_407("socks connect 10.0.407.1 failed"));
        assert!(!super::says_407("port 14070 closed"));
    }
}
