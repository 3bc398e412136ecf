//! Anthropic-kind providers (Anthropic itself and every vendor's `/anthropic` endpoint): the
//! client's bytes go through unchanged except the model (mapping) and the credential.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, Method};
use tokio::time::Instant;

use super::classify::{error_reason, message_facts};
use super::headers::{relay_back, upstream_headers, Auth};
use super::relay::{self, ByteStream};
use super::{Answer, AnswerBody, FailedAnswer, Outcome};
use crate::config::{Provider, Timeouts};
use crate::events::FailoverReason;
use crate::protocol::anthropic::{parse_error, replace_model, splice};
use crate::routing::{hints::cooldown_hint, Failure};
use crate::translate::history;

/// Largest upstream error body we read.
pub(crate) const MAX_ERROR_BODY: usize = 1 << 20;

/// Which Anthropic endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /v1/messages`
    Messages,
    /// `POST /v1/messages/count_tokens`
    CountTokens,
    /// `GET /v1/models`
    Models,
}

impl Route {
    fn path(self) -> &'static str {
        match self {
            Route::Messages => "/v1/messages",
            Route::CountTokens => "/v1/messages/count_tokens",
            Route::Models => "/v1/models",
        }
    }
}

/// The upstream URL for a route: `base_url` may or may not end in `/v1`.
pub fn endpoint(base_url: &str, route: Route, query: Option<&str>) -> String {
    let base = base_url.trim_end_matches('/');
    let path = route.path();
    let mut url = if base.ends_with("/v1") {
        format!("{base}{}", &path[3..])
    } else {
        format!("{base}{path}")
    };
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// Everything one attempt needs.
#[derive(Clone, Copy)]
pub struct Attempt<'a> {
    /// Shared HTTP client.
    pub client: &'a reqwest::Client,
    /// The provider.
    pub provider: &'a Provider,
    /// Endpoint.
    pub route: Route,
    /// The client's query string (e.g. `beta=true`).
    pub query: Option<&'a str>,
    /// The client's headers.
    pub client_headers: &'a HeaderMap,
    /// The client's body.
    pub body: &'a Bytes,
    /// The model the client asked for (empty for `models`).
    pub client_model: &'a str,
    /// The model to send upstream (after mapping).
    pub upstream_model: &'a str,
    /// Streaming?
    pub stream: bool,
    /// Credential.
    pub auth: Auth<'a>,
    /// Limits.
    pub timeouts: &'a Timeouts,
    /// Error-body words that mean "fail over".
    pub indicators: &'a [String],
    /// The configured proxy this attempt goes through (no password), to name it in failures.
    pub proxy: Option<&'a str>,
}

pub(crate) fn net_failure(e: &reqwest::Error, provider: &Provider, proxy: Option<&str>) -> Failure {
    if let Some(proxy) = proxy.filter(|_| e.is_connect()) {
        return super::outbound::proxy_failure(proxy, e);
    }
    let (reason, what) = if e.is_timeout() {
        (FailoverReason::Timeout, "timed out")
    } else if e.is_connect() {
        (FailoverReason::Unreachable, "cannot connect")
    } else {
        (FailoverReason::Unreachable, "request failed")
    };
    // reqwest's message names the URL, which holds no secret (queries are refused in base_url).
    Failure {
        reason,
        status: None,
        hint: None,
        message: format!("{what} to {}: {}", provider.display_name(), error_chain(e)),
    }
}

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

pub(crate) async fn read_limited(
    resp: reqwest::Response,
    limit: usize,
    deadline: Instant,
) -> Result<Bytes, Failure> {
    let mut body: ByteStream = Box::pin(resp.bytes_stream());
    let mut out = bytes::BytesMut::new();
    loop {
        match tokio::time::timeout_at(deadline, body.next()).await {
            Err(_) => {
                return Err(Failure {
                    reason: FailoverReason::Timeout,
                    status: None,
                    hint: None,
                    message: "the upstream did not finish its answer in time".into(),
                })
            }
            Ok(None) => return Ok(out.freeze()),
            Ok(Some(Err(e))) => {
                return Err(Failure {
                    reason: FailoverReason::Unreachable,
                    status: None,
                    hint: None,
                    message: format!(
                        "connection lost while reading the answer: {}",
                        error_chain(&e)
                    ),
                })
            }
            Ok(Some(Ok(chunk))) => {
                if out.len() + chunk.len() > limit {
                    out.extend_from_slice(&chunk[..limit.saturating_sub(out.len())]);
                    return Ok(out.freeze());
                }
                out.extend_from_slice(&chunk);
            }
        }
    }
}

/// Run one attempt against an Anthropic-kind provider.
pub async fn attempt(a: Attempt<'_>) -> Outcome {
    let started = Instant::now();
    let url = endpoint(&a.provider.base_url, a.route, a.query);
    let headers = upstream_headers(a.client_headers, a.auth);
    let mut body = if a.route != Route::Models && a.upstream_model != a.client_model {
        replace_model(a.body, a.upstream_model).unwrap_or_else(|| a.body.clone())
    } else {
        a.body.clone()
    };
    let anthropic_itself = history::is_anthropic(a.provider);
    if a.route != Route::Models {
        let target = history::Target {
            provider_id: &a.provider.id,
            is_anthropic: anthropic_itself,
        };
        if let Some(b) = history::normalize_request(&body, &target) {
            body = b;
        }
    }
    // Signatures from anyone but Anthropic are stamped on their way to the client.
    let stamp = (!anthropic_itself).then_some(a.provider.id.as_str());
    if let (Route::Messages, Some(cap)) = (a.route, a.provider.quirks.max_tokens) {
        if let Some(clamped) = clamp_max_tokens(&body, cap) {
            tracing::info!(provider = %a.provider.id, cap, "max_tokens above the vendor's limit: clamped");
            body = clamped;
        }
    }
    let method = if a.route == Route::Models {
        Method::GET
    } else {
        Method::POST
    };
    let mut req = a.client.request(method, &url).headers(headers);
    if a.route != Route::Models {
        req = req
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
    }
    let first_byte = Duration::from_millis(if a.stream {
        a.timeouts.first_byte_ms
    } else {
        a.timeouts.request_ms
    });
    let deadline = started + first_byte;
    let resp = match tokio::time::timeout_at(deadline, req.send()).await {
        Err(_) => {
            return Outcome::Retry(
                Failure {
                    reason: FailoverReason::Timeout,
                    status: None,
                    hint: None,
                    message: format!(
                        "{} sent no response in {} s",
                        a.provider.display_name(),
                        first_byte.as_secs()
                    ),
                },
                None,
            )
        }
        Ok(Err(e)) => return Outcome::Retry(net_failure(&e, a.provider, a.proxy), None),
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    let up_headers = resp.headers().clone();
    let relayed = relay_back(&up_headers);

    if !status.is_success() {
        let body = match read_limited(
            resp,
            MAX_ERROR_BODY,
            Instant::now() + Duration::from_secs(30),
        )
        .await
        {
            Ok(b) => b,
            Err(f) => return Outcome::Retry(f, None),
        };
        let anthropic_body = parse_error(&body).map(|_| body.clone());
        let answer = FailedAnswer {
            status: status.as_u16(),
            headers: relayed.clone(),
            anthropic_body,
        };
        return match error_reason(status.as_u16(), &body, a.indicators) {
            None => Outcome::ClientError(Answer {
                status,
                headers: relayed,
                body: AnswerBody::Full(body),
                upstream_model: a.upstream_model.to_string(),
                input_tokens: 0,
                output_tokens: 0,
            }),
            Some(reason) => {
                let message = parse_error(&body)
                    .map(|(_, m)| m)
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| summarize(&body));
                Outcome::Retry(
                    Failure {
                        reason,
                        status: Some(status.as_u16()),
                        hint: cooldown_hint(&up_headers, chrono::Utc::now()),
                        message,
                    },
                    Some(answer),
                )
            }
        };
    }

    if a.stream && a.route == Route::Messages {
        let is_sse = up_headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/event-stream"));
        if !is_sse {
            return Outcome::Retry(
                Failure {
                    reason: FailoverReason::Malformed,
                    status: Some(status.as_u16()),
                    hint: None,
                    message: "asked for a stream, the upstream answered with something else".into(),
                },
                None,
            );
        }
        let idle = Duration::from_millis(a.timeouts.idle_ms);
        let body: ByteStream = Box::pin(resp.bytes_stream());
        let peeked = relay::peek(body, deadline, idle, a.client_model, &up_headers, stamp).await;
        return super::stream_outcome(peeked, status, relayed, a.upstream_model);
    }

    let body = match read_limited(resp, usize::MAX, deadline).await {
        Ok(b) => b,
        Err(f) => return Outcome::Retry(f, None),
    };
    let (mut input_tokens, mut output_tokens) = (0, 0);
    let body = if a.route == Route::Messages {
        // One typed pass: valid JSON, empty or not, tokens, where the model is.
        let Some(facts) = message_facts(&body) else {
            return Outcome::Retry(
                Failure {
                    reason: FailoverReason::Malformed,
                    status: Some(status.as_u16()),
                    hint: None,
                    message: "the upstream answer is not JSON".into(),
                },
                None,
            );
        };
        if facts.empty {
            return Outcome::Retry(
                Failure {
                    reason: FailoverReason::EmptyAnswer,
                    status: Some(status.as_u16()),
                    hint: None,
                    message: "the upstream answered with no content".into(),
                },
                None,
            );
        }
        (input_tokens, output_tokens) = (facts.input_tokens, facts.output_tokens);
        let echoed = match facts.model {
            Some(raw)
                if serde_json::from_str::<std::borrow::Cow<'_, str>>(raw.get())
                    .ok()
                    .as_deref()
                    != Some(a.client_model) =>
            {
                let new = serde_json::to_string(a.client_model).unwrap_or_default();
                splice(&body, raw, &new)
            }
            _ => None,
        };
        let body = echoed.unwrap_or(body);
        match stamp {
            Some(id) => history::stamp_response(&body, id).unwrap_or(body),
            None => body,
        }
    } else {
        body
    };
    Outcome::Success(Answer {
        status,
        headers: relayed,
        body: AnswerBody::Full(body),
        upstream_model: a.upstream_model.to_string(),
        input_tokens,
        output_tokens,
    })
}

/// The body with `max_tokens` lowered to `cap`, or `None` when it is already within it.
fn clamp_max_tokens(body: &[u8], cap: u64) -> Option<Bytes> {
    let peek = crate::protocol::anthropic::RequestPeek::parse(body).ok()?;
    let raw = peek.raw("max_tokens")?;
    let n: u64 = serde_json::from_str(raw.get()).ok()?;
    (n > cap).then(|| crate::protocol::anthropic::splice(body, raw, &cap.to_string()))?
}

/// A short, single-line excerpt of a non-JSON error body.
fn summarize(body: &[u8]) -> String {
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
    use super::*;

    #[test]
    fn clamps_only_above_the_cap() {
        let b = br#"{"model":"m","max_tokens":64000,"messages":[]}"#;
        assert_eq!(
            clamp_max_tokens(b, 8192).as_deref(),
            Some(&br#"{"model":"m","max_tokens":8192,"messages":[]}"#[..])
        );
        assert_eq!(clamp_max_tokens(b, 64000), None);
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            endpoint("https://api.anthropic.com", Route::Messages, None),
            "https://api.anthropic.com/v1/messages"
        );
        assert_eq!(
            endpoint(
                "https://api.deepseek.com/anthropic/",
                Route::CountTokens,
                Some("beta=true")
            ),
            "https://api.deepseek.com/anthropic/v1/messages/count_tokens?beta=true"
        );
        assert_eq!(
            endpoint("http://h/v1", Route::Models, None),
            "http://h/v1/models"
        );
    }
}
