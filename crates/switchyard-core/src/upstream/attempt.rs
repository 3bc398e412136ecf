//! The one attempt driver: whatever the provider kind, an attempt is encode, send within the
//! deadline, classify an error answer, and for a success either peek at the stream until its
//! content starts or read the whole (bounded) answer, then check it is not empty. What differs
//! between kinds comes from the adapter (`adapter.rs`); this file has no `match` on the kind.

use std::time::Duration;

use http::{header, HeaderMap, HeaderValue, Method};
use tokio::time::Instant;

use super::adapter::{AttemptCtx, Codec, Encoded, Op, ProviderAdapter};
use super::credentials;
use super::decode::{message_id, translate_stream, Decoder};
use super::headers::{self, relay_back};
use super::net::{net_failure, read_body, read_error_body, Read};
use super::observe::anthropic::AnthropicAnswers;
use super::observe::{Counts, Facts, FrameObserver, Observe};
use super::redact::{self, Redactor};
use super::relay::{self, ByteStream};
use super::{adapters, Answer, AnswerBody, FailedAnswer, Outcome};
use crate::events::FailoverReason;
use crate::protocol::Dialect;
use crate::routing::{hints::cooldown_hint, Failure};
use crate::translate::writer::StreamWriter;

/// How long an error answer may take to arrive in full once its status came.
const ERROR_BODY_TIME: Duration = Duration::from_secs(30);

/// Run one attempt with the adapter of the provider's kind. Everything the outcome carries is
/// free of the credentials the attempt sent.
pub async fn run(a: AttemptCtx<'_>) -> Outcome {
    let redactor = redact::credentials(&a);
    let outcome = drive(adapters::of(a.provider.kind), &a, &redactor).await;
    redact::outcome(outcome, &redactor)
}

/// The health probe of `p`: its model list (never a billed call), with its own key when it has
/// one. URL and auth come from the same adapter code as every request's.
pub(crate) fn probe_request(
    client: &super::transport::Upstream,
    p: &crate::config::Provider,
    key: Option<&str>,
    hop_id: &str,
) -> reqwest::RequestBuilder {
    let ad = adapters::of(p.kind);
    let mut h = HeaderMap::new();
    ad.fixed_headers(&mut h);
    h.insert(headers::HOPS, headers::next_hops(&HeaderMap::new(), hop_id));
    if let Some((name, value)) = key.and_then(|k| ad.key_placement(p).header(k)) {
        h.insert(name, value);
    }
    client
        .reqwest()
        .get(ad.url(p, Op::Models, "", false, None))
        .headers(h)
}

/// The failure of a provider whose address led back to a Switchyard that had already seen the
/// request (this one, or one of a ring): it names the provider and its address.
pub fn loop_failure(p: &crate::config::Provider) -> Failure {
    Failure::new(
        FailoverReason::Loop,
        format!(
            "{} ({}) is this Switchyard itself, or a Switchyard the request already passed: \
             requests sent there would go round in a loop. Point its base_url at the provider's own address",
            p.display_name(),
            p.base_url
        ),
    )
}

fn json() -> HeaderValue {
    HeaderValue::from_static("application/json")
}

async fn drive(ad: &dyn ProviderAdapter, a: &AttemptCtx<'_>, redactor: &Redactor) -> Outcome {
    let started = Instant::now();
    let own_dialect = a.request.client_dialect() == ad.dialect();
    let a = &AttemptCtx {
        auth: credentials::passthrough_to(
            a.auth,
            a.request.client_dialect(),
            ad.dialect(),
            a.client_headers,
        ),
        // A client's query (Gemini's `alt=sse`, Anthropic's `beta=true`) is its dialect's.
        query: a.query.filter(|_| own_dialect),
        ..*a
    };
    let p = a.provider;
    // The client's own bytes go to a provider of its own dialect; everyone else gets the hub
    // request, passed through (the hub's own kind) or translated.
    let native = a
        .request
        .native(ad.dialect())
        .filter(|_| a.op == Op::Messages);
    let encoded = if a.op == Op::Models {
        // A listing is a `GET` without a body, read back as it is.
        Ok(Encoded {
            body: None,
            codec: Codec::Relay(Box::new(AnthropicAnswers { stamp: None })),
        })
    } else {
        match native.and_then(|body| ad.native(a, body)) {
            Some(e) => e,
            None => encode(ad, a),
        }
    };
    let enc = match encoded {
        Ok(e) => e,
        Err(msg) => {
            return Outcome::Unsupported(format!(
                "{} cannot take this request: {msg}",
                p.display_name()
            ))
        }
    };
    let answer_dialect = match &enc.codec {
        Codec::Relay(o) => o.dialect(),
        Codec::Translate(_) => Dialect::Anthropic,
    };
    let url = ad.url(p, a.op, a.upstream_model, a.stream, a.query);
    let forwards = ad.forwards_client_headers();
    let mut out_headers = if forwards {
        headers::forwarded(a.client_headers, a.auth)
    } else {
        HeaderMap::new()
    };
    ad.fixed_headers(&mut out_headers);
    out_headers.insert(headers::HOPS, a.hops.clone());
    headers::authorize(
        &mut out_headers,
        a.auth,
        ad.key_placement(p),
        a.client_headers,
        forwards,
    );
    let method = if a.op == Op::Models {
        Method::GET
    } else {
        Method::POST
    };
    let body = enc.body;
    if body.is_some() {
        out_headers.insert(header::CONTENT_TYPE, json());
    }
    let send = a.client.send(method, &url, a.urls, out_headers, body);
    let limit = Duration::from_millis(if a.stream {
        a.timeouts.first_byte_ms
    } else {
        a.timeouts.request_ms
    });
    let deadline = started + limit;
    let resp = match a.waited.on(tokio::time::timeout_at(deadline, send)).await {
        Err(_) => {
            return Outcome::Retry(
                Failure::new(
                    FailoverReason::Timeout,
                    format!(
                        "{} sent no response in {} s",
                        p.display_name(),
                        limit.as_secs()
                    ),
                ),
                None,
            )
        }
        Ok(Err(e)) => return Outcome::Retry(net_failure(&e, p, a.proxy), None),
        Ok(Ok(r)) => r,
    };
    let status = resp.status;
    if !status.is_success() && resp.headers.contains_key(headers::LOOP) {
        return Outcome::Retry(loop_failure(p).with_status(status.as_u16()), None);
    }
    let up_headers = resp.headers;
    let mut relayed = relay_back(&up_headers);
    let body: ByteStream = resp.body;

    if !status.is_success() {
        let raw = match a
            .waited
            .on(read_error_body(
                body,
                a.limits.error_bytes(),
                Instant::now() + ERROR_BODY_TIME,
            ))
            .await
        {
            Ok(b) => b,
            Err(f) => return Outcome::Retry(f, None),
        };
        let mut v = ad.error(status, &raw, a.indicators);
        if native.is_some() {
            // The client speaks the provider's dialect: it gets the provider's own error.
            v.status = status;
            v.shaped = is_error_object(&raw);
            v.body = raw;
            v.dialect = answer_dialect;
            v.own_body = true;
        }
        if !v.own_body {
            relayed.insert(header::CONTENT_TYPE, json());
        }
        return match v.reason {
            None => Outcome::ClientError(Answer {
                dialect: v.dialect,
                status: v.status,
                headers: relayed,
                body: AnswerBody::Full(v.body),
                upstream_model: a.upstream_model.to_string(),
                counts: Counts::default(),
            }),
            Some(reason) => Outcome::Retry(
                Failure::new(reason, v.message)
                    .with_status(status.as_u16())
                    .with_hint(cooldown_hint(&up_headers, chrono::Utc::now())),
                Some(FailedAnswer {
                    headers: relayed,
                    body: v.shaped.then_some(v.body),
                    dialect: v.dialect,
                }),
            ),
        };
    }

    if a.stream && a.op == Op::Messages {
        let is_sse = up_headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/event-stream"));
        if !is_sse {
            return Outcome::Retry(
                Failure::new(
                    FailoverReason::Malformed,
                    "asked for a stream, the upstream answered with something else",
                )
                .with_status(status.as_u16()),
                None,
            );
        }
        let idle = Duration::from_millis(a.timeouts.idle_ms);
        // Events that arrived together are relayed (and translated) together.
        let body: ByteStream = Box::pin(super::gather::gather(body));
        let (stream, observer): (ByteStream, Box<dyn FrameObserver>) = match enc.codec {
            Codec::Relay(o) => (body, o.stream(a.client_model)),
            Codec::Translate(t) => {
                let writer =
                    StreamWriter::new(a.client_model, &message_id(), &format!("sy1.{}.", p.id));
                let decoder = Decoder::new(t.stream());
                // The translated stream is the hub's, and the client's model is already in it.
                (
                    translate_stream(body, decoder, writer, idle, a.limits.frame_bytes()),
                    AnthropicAnswers { stamp: None }.stream(a.client_model),
                )
            }
        };
        relayed.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        let first_content = Duration::from_millis(a.limits.first_content_ms);
        let opening = relay::Opening {
            dialect: answer_dialect,
            first_frame_by: deadline,
            idle,
            headers: &up_headers,
            first_content_by: started + first_content,
            first_content,
            max_frame: a.limits.frame_bytes(),
            max_held: a.limits.held_bytes(),
        };
        let peeked = a
            .waited
            .on(relay::peek(stream, observer, opening, redactor.clone()))
            .await;
        return super::stream_outcome(peeked, status, relayed, a.upstream_model, answer_dialect);
    }

    let raw = match a
        .waited
        .on(read_body(body, a.limits.answer_bytes(), deadline))
        .await
    {
        Ok(Read::Whole(b)) => b,
        Ok(Read::TooLarge) => {
            return Outcome::Retry(
                Failure::new(
                    FailoverReason::TooLarge,
                    format!(
                        "the answer is larger than {} MiB (limits.max_answer_mb)",
                        a.limits.max_answer_mb
                    ),
                )
                .with_status(status.as_u16()),
                None,
            )
        }
        Err(f) => return Outcome::Retry(f, None),
    };
    if a.op != Op::Messages {
        // Token counts and model lists of the hub dialect go back as they came.
        return Outcome::Success(Answer {
            dialect: answer_dialect,
            status,
            headers: relayed,
            body: AnswerBody::Full(raw),
            upstream_model: a.upstream_model.to_string(),
            counts: Counts::default(),
        });
    }
    let decoded = match enc.codec {
        Codec::Relay(o) => o
            .whole(raw, a.client_model)
            .ok_or_else(|| "the upstream answer is not JSON".to_string()),
        Codec::Translate(t) => t.answer(&raw, a.client_model).and_then(|hub| {
            AnthropicAnswers { stamp: None }
                .whole(hub, a.client_model)
                .ok_or_else(|| "the translated answer is not JSON".to_string())
        }),
    };
    let (out, facts): (_, Facts) = match decoded {
        Ok(d) => d,
        Err(msg) => {
            return Outcome::Retry(
                Failure::new(FailoverReason::Malformed, msg).with_status(status.as_u16()),
                None,
            )
        }
    };
    if facts.empty {
        return Outcome::Retry(
            Failure::new(
                FailoverReason::EmptyAnswer,
                "the upstream answered with no content",
            )
            .with_status(status.as_u16()),
            None,
        );
    }
    relayed.insert(header::CONTENT_TYPE, json());
    Outcome::Success(Answer {
        dialect: answer_dialect,
        status,
        headers: relayed,
        body: AnswerBody::Full(out),
        upstream_model: a.upstream_model.to_string(),
        counts: facts.counts,
    })
}

/// Requests above this size are translated off the async workers' hands (parsing and
/// rewriting tens of megabytes of JSON takes long enough to hold up other requests).
const LARGE_REQUEST: usize = 256 << 10;

/// The adapter's translation of the hub request (a large one runs where it may block),
/// refused when it comes out larger than `limits.max_translated_kb`.
pub(crate) fn encode(ad: &dyn ProviderAdapter, a: &AttemptCtx<'_>) -> Result<Encoded, String> {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    let enc = if a.request.bytes().len() > LARGE_REQUEST && multi_thread {
        tokio::task::block_in_place(|| ad.encode(a))
    } else {
        ad.encode(a)
    }?;
    match &enc {
        Encoded {
            body: Some(b),
            codec: Codec::Translate(_),
        } if b.len() > a.limits.translated_bytes() => Err(format!(
            "translated, it is larger than {} KiB (limits.max_translated_kb)",
            a.limits.max_translated_kb
        )),
        _ => Ok(enc),
    }
}

/// Whether an error body is a JSON object holding an `error` (an error in its dialect's shape).
fn is_error_object(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v.get("error").is_some())
}
