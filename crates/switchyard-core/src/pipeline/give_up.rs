//! The answer when no provider could serve a request: the last upstream error (an
//! Anthropic-kind body unchanged, others mapped to Anthropic's shape) with `retry-after`, or a
//! local "everything is cooling down / disabled" error; recorded like any other request.

use std::time::Instant;

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::context::RequestCtx;
use super::record::RequestLog;
use super::respond::{attempt_records, stamp_headers};
use crate::events::{Event, FailoverReason};
use crate::inbound::{Reply, ReplyBody};
use crate::protocol::anthropic::{error_body, ErrorType};
use crate::protocol::Dialect;
use crate::upstream::FailedAnswer;

/// The reply when every planned provider failed (or none could be tried); `retry_at` is when
/// the soonest cooling provider returns, when the plan knew it.
pub(crate) fn reply(
    ctx: RequestCtx,
    mut log: RequestLog,
    retry_at: Option<DateTime<Utc>>,
) -> Reply {
    let e = &*ctx.engine;
    let cfg = &*ctx.cfg;
    let failed = &ctx.failed;
    let request_id = e.request_id();
    let retry_at = retry_at.or_else(|| {
        e.routing()
            .statuses(cfg, Instant::now())
            .into_iter()
            .filter_map(|s| s.cooldown_until)
            .min()
    });
    e.emit(Event::AllDown { retry_at });
    let mut dialect = Dialect::Anthropic;
    let (status, body, mut headers, provider, message) = match failed.last() {
        None => {
            let msg = if cfg.providers.iter().any(|p| p.enabled) {
                match retry_at {
                    Some(t) => format!(
                        "every provider is cooling down; the first is back at {}",
                        t.to_rfc3339()
                    ),
                    None => "every provider is cooling down".to_string(),
                }
            } else {
                "no provider is enabled".to_string()
            };
            let kind = if retry_at.is_some() {
                ErrorType::RateLimit
            } else {
                ErrorType::Overloaded
            };
            (
                kind.status(),
                error_body(kind, &msg, &request_id),
                HeaderMap::new(),
                None,
                msg,
            )
        }
        Some(last) => {
            let f = &last.failure;
            let mapped = match (f.status, f.reason) {
                (Some(s), _) => ErrorType::from_status(s),
                (None, FailoverReason::Timeout) => ErrorType::Timeout,
                (None, FailoverReason::KeyMissing) => ErrorType::Authentication,
                (None, FailoverReason::Unsupported) => ErrorType::InvalidRequest,
                (None, _) => ErrorType::Overloaded,
            };
            let tried: Vec<&str> = failed.iter().map(|f| f.provider.as_str()).collect();
            let msg = format!(
                "all providers failed (tried {}); last: {}",
                tried.join(", "),
                f.message
            );
            let (body, headers) = match &last.answer {
                // Forward the provider's own error object unchanged when the client (or the
                // hub) reads its dialect: Claude Code reads Anthropic's wording.
                Some(FailedAnswer {
                    body: Some(b),
                    headers,
                    dialect: d,
                }) if *d == Dialect::Anthropic || *d == ctx.dialect => {
                    dialect = *d;
                    (b.clone(), headers.clone())
                }
                Some(a) => (error_body(mapped, &msg, &request_id), a.headers.clone()),
                None => (error_body(mapped, &msg, &request_id), HeaderMap::new()),
            };
            let mut headers = headers;
            if f.reason == FailoverReason::OutOfCredit {
                headers.insert("x-should-retry", HeaderValue::from_static("false"));
            }
            // A loop through us: say so to whoever sent the request, so a Switchyard in front
            // of us names its own provider too.
            let status = if f.reason == FailoverReason::Loop {
                headers.insert(
                    crate::upstream::headers::LOOP,
                    HeaderValue::from_static("1"),
                );
                StatusCode::LOOP_DETECTED.as_u16()
            } else {
                mapped.status()
            };
            (status, body, headers, Some(last.provider.clone()), msg)
        }
    };
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if !headers.contains_key(http::header::RETRY_AFTER) {
        if let Some(t) = retry_at {
            let secs = (t - Utc::now()).num_seconds().max(1);
            headers.insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
    }
    if let Some(p) = &provider {
        stamp_headers(&mut headers, p, failed.len());
    } else if failed.len() > 1 {
        headers.insert("x-switchyard-attempts", HeaderValue::from(failed.len()));
    }
    for a in attempt_records(failed) {
        log.attempt(a);
    }
    let rec = log.rec();
    rec.provider = provider;
    rec.rule = ctx.rule_label();
    log.finish(status, Some(message));
    Reply {
        dialect,
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
        headers,
        body: ReplyBody::Whole(body),
    }
}
