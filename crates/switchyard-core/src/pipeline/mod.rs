//! One request's life, in the order it happens (pingora-style phases):
//!
//! 1. **read**: the client's dialect reads the request into the hub dialect (`inbound/`);
//! 2. **plan** (`plan.rs`): rules, pin, strategy, cooldowns, budgets, the response cache;
//! 3. **attempt**, per planned provider (`keys.rs`): its key, the attempt driver
//!    (`upstream::attempt`), and the verdict: breaker feedback and events (`verdict.rs`);
//! 4. **commit and relay** the first success or the client's own error (`respond.rs`), or
//!    **give up** with the last failure (`give_up.rs`);
//! 5. **record**: one entry per request, opened at entry and finished exactly once
//!    (`record.rs`), whatever happened;
//!
//! and the client's dialect shapes the reply. The request travels as a [`RequestCtx`]. Health
//! probes (`health.rs`) and model lists (`models.rs`) use the same adapters and credentials.
//! This module parses no HTTP and builds no HTTP response: `server/` does.

mod budget;
mod cache;
mod context;
mod give_up;
pub(crate) mod health;
mod keys;
pub(crate) mod models;
mod overflow;
mod plan;
mod record;
mod respond;
mod verdict;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};

pub(crate) use cache::CACHE_HEADER;
pub(crate) use context::RequestCtx;
pub use health::Probe;

use crate::engine::Engine;
use crate::events::FailoverReason;
use crate::inbound::{ClientDialect, Reply};
use crate::routing::Failure;
use crate::upstream::wait::{Waited, OVERHEAD_HEADER};
use crate::upstream::{adapters, credentials, Op, Outcome};
use context::Failed;
use plan::Planned;
use record::RequestLog;

/// A client request as the HTTP layer received it.
pub(crate) struct ClientRequest {
    /// The body.
    pub body: Bytes,
    /// The headers (the guard already removed our access token).
    pub headers: HeaderMap,
    /// The query string.
    pub query: Option<String>,
    /// The path (after normalisation): some dialects name the model in it.
    pub path: String,
}

/// The request log's route name.
fn route(dialect: &dyn ClientDialect, op: Op) -> &'static str {
    match op {
        Op::Messages => dialect.route(),
        Op::CountTokens => "count_tokens",
        Op::Models => "models",
    }
}

/// Serve one request of `dialect`: read, plan, attempt, commit or give up, record; the reply is
/// in the client's dialect.
pub(crate) async fn run(
    engine: Arc<Engine>,
    dialect: &'static dyn ClientDialect,
    op: Op,
    req: ClientRequest,
) -> Reply {
    let started = std::time::Instant::now();
    let waited = Arc::new(Waited::new());
    let mut log = RequestLog::open(engine.clone(), route(dialect, op));
    let hops = crate::upstream::headers::next_hops(&req.headers, engine.hop_id());
    let inbound = match dialect.read_at(&req.path, req.body, req.headers) {
        Ok(i) => i,
        Err(refusal) => {
            log.rec().model = refusal.model;
            log.finish(refusal.reply.status.as_u16(), Some(refusal.message));
            let mut reply = refusal.reply;
            reply
                .headers
                .insert(OVERHEAD_HEADER, waited.overhead_header(started));
            return reply;
        }
    };
    let stream = op == Op::Messages && inbound.stream;
    log.rec().model = inbound.model.clone();
    log.rec().stream = stream;
    let ctx = RequestCtx {
        cfg: engine.config(),
        clients: engine.clients(),
        engine,
        op,
        dialect: dialect.dialect(),
        model: inbound.model,
        stream,
        headers: inbound.headers,
        query: credentials::forwardable_query(req.query.as_deref()),
        request: inbound.request,
        rule: None,
        failed: Vec::new(),
        hops,
        waited: waited.clone(),
    };
    let reply = serve(ctx, log).await;
    let mut reply = inbound.shape.shape(reply);
    reply
        .headers
        .insert(OVERHEAD_HEADER, waited.overhead_header(started));
    reply
}

/// Record a request refused before it could be read (a body over the limit, a broken
/// upload); the server answers it.
pub(crate) fn record_refusal(
    engine: Arc<Engine>,
    dialect: &'static dyn ClientDialect,
    op: Op,
    status: StatusCode,
    message: String,
) {
    RequestLog::open(engine, route(dialect, op)).finish(status.as_u16(), Some(message));
}

/// Plan, then try each planned provider in order with no sleep in between.
async fn serve(mut ctx: RequestCtx, mut log: RequestLog) -> Reply {
    let (plan, pinned, fp) = match plan::plan(&mut ctx, &mut log).await {
        Planned::Answered(reply) => {
            log.finish(reply.status.as_u16(), None);
            return reply;
        }
        Planned::Attempts {
            plan,
            pinned,
            cache,
        } => (plan, pinned, cache),
    };
    let cfg = ctx.cfg.clone();
    for planned in &plan.attempts {
        let Some(p) = cfg.provider(&planned.provider) else {
            continue;
        };
        if planned.is_trial() && !ctx.engine.routing().claim_trial(&p.id).await {
            // Another request (or, in a team, another replica) runs this provider's trial.
            continue;
        }
        if ctx.op == Op::CountTokens && !adapters::of(p.kind).counts_tokens() {
            return estimate_tokens(ctx, log, p);
        }
        if let Some(skip) = overflow::too_small(&ctx, p) {
            ctx.failed.push(skip);
            continue;
        }
        let upstream_model = ctx.upstream_model(p);
        let sent = std::time::Instant::now();
        let outcome = match keys::attempt(&ctx, p, &upstream_model).await {
            Ok(o) => o,
            Err(f) => {
                verdict::failed(&ctx.engine, p, &f, true);
                ctx.failed.push(Failed {
                    provider: p.id.clone(),
                    failure: f,
                    answer: None,
                });
                continue;
            }
        };
        match outcome {
            Outcome::Success(answer) => {
                verdict::served(&ctx, p, sent.elapsed(), pinned);
                let mut headers_cache = None;
                if let Some(fp) = &fp {
                    cache::store(&ctx, fp, p, &answer);
                    headers_cache = Some(HeaderValue::from_static("miss"));
                }
                let mut reply = respond::answer(ctx, log, p, answer);
                if let Some(v) = headers_cache {
                    reply.headers.insert(CACHE_HEADER, v);
                }
                return reply;
            }
            Outcome::ClientError(answer) => {
                if ctx.op == Op::CountTokens && matches!(answer.status.as_u16(), 404 | 405 | 501) {
                    // The vendor has no count_tokens: answer with a local estimate.
                    return estimate_tokens(ctx, log, p);
                }
                return respond::answer(ctx, log, p, answer);
            }
            Outcome::Unsupported(message) => {
                tracing::info!(provider = %p.id, "skipped: {message}");
                ctx.failed.push(Failed {
                    provider: p.id.clone(),
                    failure: Failure::new(FailoverReason::Unsupported, message),
                    answer: None,
                });
            }
            Outcome::Retry(mut f, mut answer) => {
                if f.reason == FailoverReason::ContextOverflow {
                    overflow::refused(&ctx, p, &mut f, &mut answer);
                }
                verdict::failed(&ctx.engine, p, &f, verdict::cools(p, &f));
                ctx.failed.push(Failed {
                    provider: p.id.clone(),
                    failure: f,
                    answer,
                });
            }
        }
    }
    give_up::reply(ctx, log, plan.retry_at.map(|r| r.1))
}

/// A local estimate (`translate::token_estimate`: within ~30% of a BPE tokenizer, erring high) for
/// providers without `count_tokens`.
fn estimate_tokens(ctx: RequestCtx, mut log: RequestLog, p: &crate::config::Provider) -> Reply {
    let n = match ctx.request.json() {
        Ok(v) => crate::translate::token_estimate::request_tokens(v),
        Err(_) => (ctx.request.bytes().len() / 4).max(1) as u64,
    };
    let rec = log.rec();
    rec.provider = Some(p.id.clone());
    rec.input_tokens = n;
    log.finish(200, None);
    let mut reply = Reply::json(
        StatusCode::OK,
        serde_json::json!({ "input_tokens": n }).to_string().into(),
    );
    respond::stamp_headers(&mut reply.headers, &p.id, 1);
    reply
        .headers
        .insert("x-switchyard-estimate", HeaderValue::from_static("bytes/4"));
    reply
}
