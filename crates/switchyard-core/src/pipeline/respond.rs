//! Commit and relay: the answer of the provider that served (or the client's own error it
//! returned) becomes the reply, the request record is filled in, and what the request used is
//! recorded: at once for a whole answer, when the stream ends for a stream, however it ends.

use futures_util::StreamExt;
use http::{HeaderMap, HeaderValue};

use super::budget;
use super::context::{Failed, RequestCtx};
use super::record::RequestLog;
use super::verdict;
use crate::config::Provider;
use crate::events::AttemptRecord;
use crate::inbound::{Reply, ReplyBody};
use crate::routing::Failure;
use crate::upstream::relay::{StreamEnd, StreamOutcome};
use crate::upstream::{Answer, AnswerBody, Op};

/// The request-log entries of the providers that failed before.
pub(crate) fn attempt_records(failed: &[Failed]) -> Vec<AttemptRecord> {
    failed
        .iter()
        .map(|f| AttemptRecord {
            provider: f.provider.clone(),
            status: f.failure.status,
            failure: Some(format!(
                "{}: {}",
                f.failure.reason.describe(),
                f.failure.message
            )),
        })
        .collect()
}

/// The headers every answer of `provider` carries.
pub(crate) fn stamp_headers(h: &mut HeaderMap, provider: &str, attempts: usize) {
    if let Ok(v) = HeaderValue::from_str(provider) {
        h.insert("x-switchyard-provider", v);
    }
    if attempts > 1 {
        h.insert("x-switchyard-attempts", HeaderValue::from(attempts));
    }
}

/// `p`'s answer to the request of `ctx`, as the reply; `log` is finished now (a whole answer)
/// or when the stream ends.
pub(crate) fn answer(ctx: RequestCtx, mut log: RequestLog, p: &Provider, answer: Answer) -> Reply {
    let n_attempts = ctx.failed.len() + 1;
    for a in attempt_records(&ctx.failed) {
        log.attempt(a);
    }
    log.attempt(AttemptRecord {
        provider: p.id.clone(),
        status: Some(answer.status.as_u16()),
        failure: None,
    });
    log.first_byte();
    let rec = log.rec();
    rec.provider = Some(p.id.clone());
    rec.upstream_model = Some(answer.upstream_model.clone());
    rec.input_tokens = answer.counts.input;
    rec.output_tokens = answer.counts.output;
    rec.rule = ctx.rule_label();
    let status = answer.status;
    let mut headers = answer.headers;
    stamp_headers(&mut headers, &p.id, n_attempts);
    let generates = ctx.op == Op::Messages;
    let dialect = answer.dialect;
    match answer.body {
        AnswerBody::Full(body) => {
            if generates && status.is_success() {
                let tokens = answer.counts.billed();
                budget::record_usage(&ctx.engine, &p.id, &answer.upstream_model, tokens);
            }
            log.finish(status.as_u16(), None);
            Reply {
                dialect,
                status,
                headers,
                body: ReplyBody::Whole(body),
            }
        }
        AnswerBody::Stream(committed) => {
            headers.insert(
                http::header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache"),
            );
            let engine = ctx.engine.clone();
            let provider = p.clone();
            let upstream_model = answer.upstream_model;
            let on_end = Box::new(move |end: StreamEnd| {
                if status.is_success() {
                    // Billed even when the stream broke off or crossed a budget mid-way.
                    budget::record_usage(
                        &engine,
                        &provider.id,
                        &upstream_model,
                        end.counts.billed(),
                    );
                }
                let rec = log.rec();
                rec.input_tokens = end.counts.input.max(rec.input_tokens);
                rec.output_tokens = end.counts.output;
                let error = match &end.outcome {
                    StreamOutcome::Complete => None,
                    StreamOutcome::ClientGone => Some("client closed the connection".to_string()),
                    StreamOutcome::UpstreamFailed(reason, m) => {
                        verdict::failed(
                            &engine,
                            &provider,
                            &Failure::new(*reason, m.clone()),
                            true,
                        );
                        Some(m.clone())
                    }
                };
                log.finish(status.as_u16(), error);
            });
            let body = committed
                .into_stream(on_end)
                .map(|chunk| match chunk {
                    Ok(b) => b,
                    Err(never) => match never {},
                })
                .boxed();
            Reply {
                dialect,
                status,
                headers,
                body: ReplyBody::Stream(body),
            }
        }
    }
}
