//! The response cache's place in a request: a cacheable request's fingerprint, the lookup for
//! the first planned provider and the store after a success. Both key the answer by the
//! provider and the upstream model actually sent to it ([`RequestCtx::upstream_model`]: rules
//! and mappings included), so a lookup finds exactly what a store under the same routing kept.

use bytes::Bytes;
use http::{HeaderValue, StatusCode};

use super::context::RequestCtx;
use crate::cache::{Cached, Fingerprint};
use crate::config::Provider;
use crate::inbound::{Reply, ReplyBody};
use crate::upstream::{Answer, AnswerBody, Op};

/// The header that says whether an answer came from the cache.
pub(crate) const CACHE_HEADER: &str = "x-switchyard-cache";

/// The fingerprint of the request when it may be cached: a non-streaming generate request,
/// with the cache on (the fingerprint itself refuses what must never be cached).
pub(crate) fn fingerprint(ctx: &RequestCtx) -> Option<Fingerprint> {
    if ctx.op != Op::Messages || ctx.stream || !ctx.cfg.cache.enabled {
        return None;
    }
    Fingerprint::of(ctx.request.bytes(), &ctx.headers)
}

/// A cached answer `p` gave to this request under the same routing.
pub(crate) async fn lookup(ctx: &RequestCtx, fp: &Fingerprint, p: &Provider) -> Option<Cached> {
    let key = fp.key(&p.id, &ctx.upstream_model(p), ctx.answer_dialect(p));
    ctx.engine.cache().get(&key, &ctx.cfg.cache).await
}

/// Keep a successful whole answer of `p`.
pub(crate) fn store(ctx: &RequestCtx, fp: &Fingerprint, p: &Provider, answer: &Answer) {
    let AnswerBody::Full(body) = &answer.body else {
        return;
    };
    if answer.status != StatusCode::OK {
        return;
    }
    let value = Cached {
        headers: answer.headers.clone(),
        body: Bytes::clone(body),
        provider: p.id.clone(),
        upstream_model: answer.upstream_model.clone(),
        input_tokens: answer.counts.input,
        output_tokens: answer.counts.output,
        dialect: answer.dialect,
    };
    // `answer.upstream_model` is what the attempt sent: `ctx.upstream_model(p)`.
    let key = fp.key(&p.id, &answer.upstream_model, answer.dialect);
    ctx.engine.cache().put(key, value, &ctx.cfg.cache);
}

/// The reply for a cache hit.
pub(crate) fn hit_reply(c: Cached) -> Reply {
    let mut headers = c.headers;
    if let Ok(v) = HeaderValue::from_str(&c.provider) {
        headers.insert("x-switchyard-provider", v);
    }
    headers.insert(CACHE_HEADER, HeaderValue::from_static("hit"));
    Reply {
        dialect: c.dialect,
        status: StatusCode::OK,
        headers,
        body: ReplyBody::Whole(c.body),
    }
}
