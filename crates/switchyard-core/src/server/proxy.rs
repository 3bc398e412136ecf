//! The Anthropic-compatible routes: plan the attempts, run them in order with no sleep in
//! between, and answer with the first success, the client's own error, or the last failure.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Utc;

use super::error::ApiError;
use super::spend;
use crate::config::{Config, Credential, Provider, ProviderKind};
use crate::engine::Engine;
use crate::events::{Event, FailoverReason};
use crate::protocol::anthropic::RequestPeek;
use crate::routing::{Failure, RequestCtx, Served};
use crate::stats::{AttemptRecord, RequestRecord};
use crate::upstream::anthropic::{self, Route};
use crate::upstream::headers::Auth;
use crate::upstream::relay::{StreamEnd, StreamOutcome};
use crate::upstream::{Answer, AnswerBody, FailedAnswer, Outcome};

/// `POST /v1/messages` (also `/messages`).
pub async fn messages(
    State(e): State<Arc<Engine>>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    handle(e, Route::Messages, uri, headers, body).await
}

/// `POST /v1/messages/count_tokens`.
pub async fn count_tokens(
    State(e): State<Arc<Engine>>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    handle(e, Route::CountTokens, uri, headers, body).await
}

/// `GET /v1/models`: the current provider's list, or one built from the config when it
/// cannot answer (so status checks and model discovery keep working).
pub async fn models(State(e): State<Arc<Engine>>, uri: Uri, headers: HeaderMap) -> Response {
    let cfg = e.config.load_full();
    let now = Instant::now();
    if let Some(p) = e
        .router
        .current(&cfg, now)
        .and_then(|id| cfg.provider(&id).cloned())
    {
        if let Ok(auth) = auth_for(&e, &p).await {
            let clients = e.client.load_full();
            let out = anthropic::attempt(anthropic::Attempt {
                client: clients.for_provider(&p.id),
                provider: &p,
                route: Route::Models,
                query: uri.query(),
                client_headers: &headers,
                body: &Bytes::new(),
                client_model: "",
                upstream_model: "",
                stream: false,
                auth: auth.as_auth(&p),
                timeouts: &cfg.timeouts,
                indicators: &cfg.routing.failover_indicators,
                proxy: clients.proxy_label(&p.id),
            })
            .await;
            if let Outcome::Success(a) = out {
                return respond(a, &p.id, 1, None);
            }
        }
    }
    let ids = local_model_ids(&cfg);
    let data: Vec<_> = ids
        .iter()
        .map(|id| serde_json::json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-01-01T00:00:00Z"}))
        .collect();
    axum::Json(serde_json::json!({
        "data": data, "has_more": false,
        "first_id": ids.first(), "last_id": ids.last(),
    }))
    .into_response()
}

/// The model names clients can ask for: the Claude names, plus every exact (non-glob) name
/// an enabled provider maps.
pub(crate) fn local_model_ids(cfg: &Config) -> Vec<String> {
    let mut ids: Vec<String> = ["claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5"]
        .map(String::from)
        .to_vec();
    for p in cfg.providers.iter().filter(|p| p.enabled) {
        for (pat, _) in &p.models.0 {
            if !pat.contains(['*', '?']) && !ids.contains(pat) {
                ids.push(pat.clone());
            }
        }
    }
    ids
}

/// The credential for a provider, resolved.
pub(crate) enum ResolvedAuth {
    Passthrough,
    Key(crate::secrets::Secret),
    Nothing,
}

impl ResolvedAuth {
    pub(crate) fn as_auth<'a>(&'a self, p: &Provider) -> Auth<'a> {
        match self {
            ResolvedAuth::Passthrough => Auth::Passthrough,
            ResolvedAuth::Key(s) => Auth::Key(s, p.auth_scheme),
            ResolvedAuth::Nothing => Auth::Nothing,
        }
    }
}

pub(crate) async fn auth_for(e: &Engine, p: &Provider) -> Result<ResolvedAuth, Failure> {
    match &p.credential {
        Credential::Passthrough => Ok(ResolvedAuth::Passthrough),
        Credential::None => Ok(ResolvedAuth::Nothing),
        cred => match e.provider_key(&p.id, cred).await {
            Ok(Some(k)) => Ok(ResolvedAuth::Key(k)),
            Ok(None) => Err(Failure {
                reason: FailoverReason::KeyMissing,
                status: None,
                hint: None,
                message: match cred {
                    Credential::Env(v) => format!(
                        "no key for {}: environment variable {v} is not set",
                        p.display_name()
                    ),
                    _ => format!(
                        "no key stored for {}: run `switchyard keys set {}` or add it in the app",
                        p.display_name(),
                        p.id
                    ),
                },
            }),
            Err(err) => Err(Failure {
                reason: FailoverReason::KeyMissing,
                status: None,
                hint: None,
                message: format!("cannot read the key for {}: {err}", p.display_name()),
            }),
        },
    }
}

/// What the request log and the final error need from each failed attempt.
pub(super) struct Failed {
    pub(super) provider: String,
    pub(super) failure: Failure,
    pub(super) answer: Option<FailedAnswer>,
}

async fn handle(
    e: Arc<Engine>,
    route: Route,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let route_name = if route == Route::Messages {
        "messages"
    } else {
        "count_tokens"
    };
    run(e, route, route_name, uri, headers, body).await
}

/// The pipeline behind every Anthropic-shaped request: plan, attempts with failover, stats
/// and events. `route_name` is what the request log shows; other inbound protocols
/// (`openai_inbound`) translate to an Anthropic body and come through here.
pub(crate) async fn run(
    e: Arc<Engine>,
    route: Route,
    route_name: &'static str,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let at = Utc::now();
    let body = match body {
        Ok(b) => b,
        Err(r) => return local_error(&e, route_name, at, started, "", ApiError::from(r)),
    };
    let peek = match RequestPeek::parse(&body) {
        Ok(p) => p,
        Err(err) => {
            return local_error(
                &e,
                route_name,
                at,
                started,
                "",
                ApiError::bad_request(err.to_string()),
            )
        }
    };
    let stream = route == Route::Messages && peek.stream;
    let model = peek.model.clone();
    drop(peek);
    let cfg = e.config.load_full();
    let rule = crate::routing::rules::first_match(&cfg.rules, &model, &body);
    let session = headers
        .get("x-claude-code-session-id")
        .and_then(|v| v.to_str().ok());
    let ctx = RequestCtx {
        session,
        rule_provider: rule.map(|(_, r)| r.provider.as_str()),
    };
    let mut plan = e.router.plan(&cfg, &ctx, Instant::now());
    let over_budget = spend::skip_over_budget(&e, &cfg, &mut plan);
    if plan.attempts.is_empty() && !over_budget.is_empty() {
        let resp = spend::over_budget_answer(&e.request_id(), &over_budget);
        let rec =
            spend::over_budget_record(at, started, route_name, &model, stream, &resp, &over_budget);
        log_request(&rec);
        record(&e, rec);
        return resp;
    }
    // A pin wins over rules (and their model override).
    let rule = rule.filter(|_| !plan.pinned);
    let rule_label = rule.map(|(i, r)| r.label(i));
    let cache_fp = (route == Route::Messages && !stream)
        .then(|| spend::fingerprint(&cfg, &body, &headers))
        .flatten();
    if let (Some(fp), Some(first)) = (&cache_fp, plan.attempts.first()) {
        if let Some(hit) = spend::cache_hit(&e, &cfg, fp, &first.provider, &model) {
            let rec = spend::cache_record(at, started, &model, &hit);
            log_request(&rec);
            record(&e, rec);
            return spend::hit_response(hit);
        }
    }
    let clients = e.client.load_full();
    let mut failed: Vec<Failed> = Vec::new();

    for planned in &plan.attempts {
        let Some(p) = cfg.provider(&planned.provider) else {
            continue;
        };
        let upstream_model = match rule {
            Some((_, r)) if r.provider == p.id && r.upstream_model.is_some() => {
                r.upstream_model.clone().unwrap_or_default()
            }
            _ => p.models.map(&model).unwrap_or(&model).to_string(),
        };
        if route == Route::CountTokens && p.kind != ProviderKind::Anthropic {
            // Vendors without count_tokens: answer with a local estimate.
            return estimate_tokens(&e, at, started, &model, &body, p);
        }
        let template = anthropic::Attempt {
            client: clients.for_provider(&p.id),
            provider: p,
            route,
            query: uri.query(),
            client_headers: &headers,
            body: &body,
            client_model: &model,
            upstream_model: &upstream_model,
            stream,
            auth: Auth::Nothing,
            timeouts: &cfg.timeouts,
            indicators: &cfg.routing.failover_indicators,
            proxy: clients.proxy_label(&p.id),
        };
        let sent = Instant::now();
        let outcome = match super::dispatch::attempt(&e, p, template).await {
            Ok(o) => o,
            Err(f) => {
                note_failure(&e, p, &f, true);
                failed.push(Failed {
                    provider: p.id.clone(),
                    failure: f,
                    answer: None,
                });
                continue;
            }
        };
        match outcome {
            Outcome::Success(answer) => {
                let served = Served {
                    ttfb: Some(sent.elapsed()),
                    session,
                    strategy: cfg.routing.strategy,
                    sticky: cfg.routing.sticky_sessions,
                    track_active: rule.is_none(),
                };
                on_success(&e, &cfg, p, &failed, &served);
                if let Some(fp) = &cache_fp {
                    spend::cache_store(&e, &cfg, fp, &p.id, &answer);
                }
                let mut resp = finish(
                    &e, route_name, at, started, &model, p, answer, failed, stream, rule_label,
                );
                if cache_fp.is_some() {
                    resp.headers_mut()
                        .insert(spend::CACHE_HEADER, HeaderValue::from_static("miss"));
                }
                return resp;
            }
            Outcome::ClientError(answer) => {
                if route == Route::CountTokens && matches!(answer.status.as_u16(), 404 | 405 | 501)
                {
                    // The vendor has no count_tokens: answer with a local estimate.
                    return estimate_tokens(&e, at, started, &model, &body, p);
                }
                return finish(
                    &e, route_name, at, started, &model, p, answer, failed, stream, rule_label,
                );
            }
            Outcome::Unsupported(message) => {
                tracing::info!(provider = %p.id, "skipped: {message}");
                let f = Failure {
                    reason: FailoverReason::Unsupported,
                    status: None,
                    hint: None,
                    message,
                };
                failed.push(Failed {
                    provider: p.id.clone(),
                    failure: f,
                    answer: None,
                });
            }
            Outcome::Retry(f, answer) => {
                // A passthrough provider refusing the client's own credential says nothing
                // about the provider: fail over, but don't cool it down for everyone.
                let cool = !(matches!(p.credential, Credential::Passthrough)
                    && f.reason == FailoverReason::KeyRejected);
                note_failure(&e, p, &f, cool);
                failed.push(Failed {
                    provider: p.id.clone(),
                    failure: f,
                    answer,
                });
            }
        }
    }
    super::give_up::final_error(
        &e,
        &cfg,
        route_name,
        at,
        started,
        &model,
        failed,
        plan.retry_at.map(|r| r.1),
        stream,
        rule_label,
    )
}

/// A provider failed: cool it down, tell listeners.
pub(crate) fn note_failure(e: &Engine, p: &Provider, f: &Failure, cool: bool) {
    tracing::warn!(provider = %p.id, reason = ?f.reason, status = ?f.status, "attempt failed: {}", f.message);
    if matches!(f.reason, FailoverReason::KeyRejected)
        && matches!(p.credential, Credential::Keychain)
    {
        // The stored key may have been replaced since we cached it.
        e.secrets.invalidate_one(&p.id);
    }
    if !cool {
        return;
    }
    let (_, until) = e.router.failed(&p.id, f, Instant::now());
    e.stats.cooldown(&p.id);
    e.emit(Event::CoolingDown {
        provider: p.id.clone(),
        reason: f.reason,
        until,
        status: f.status,
        message: f.message.clone(),
    });
    if matches!(
        f.reason,
        FailoverReason::KeyRejected | FailoverReason::KeyMissing
    ) {
        e.emit(Event::KeyProblem {
            provider: p.id.clone(),
            reason: f.reason,
        });
    }
}

/// A provider served: close its breaker and, when traffic moved, say so once.
fn on_success(e: &Engine, cfg: &Config, p: &Provider, failed: &[Failed], served: &Served<'_>) {
    let prev = e.router.served(&p.id, served);
    if cfg.routing.strategy != crate::config::Strategy::Failover || !served.track_active {
        // Spread or rule-routed: there is no priority order to compare with, so only a
        // failed attempt before this one is a failover.
        if let Some(f) = failed.first() {
            e.stats.failover(&f.provider);
            e.emit(Event::Failover {
                from: f.provider.clone(),
                to: p.id.clone(),
                reason: f.failure.reason,
                retry_at: None,
            });
        }
        return;
    }
    let Some(prev) = prev else {
        return;
    };
    let rank = |id: &str| {
        cfg.providers
            .iter()
            .position(|x| x.id == id)
            .unwrap_or(usize::MAX)
    };
    let from = prev
        .clone()
        .or_else(|| failed.first().map(|f| f.provider.clone()));
    match from {
        Some(from) if rank(&from) < rank(&p.id) => {
            let reason = failed
                .iter()
                .find(|f| f.provider == from)
                .map(|f| f.failure.reason)
                .or_else(|| failed.first().map(|f| f.failure.reason))
                .unwrap_or(FailoverReason::Unreachable);
            let retry_at = e
                .router
                .statuses(cfg, Instant::now())
                .into_iter()
                .find(|s| s.id == from)
                .and_then(|s| s.cooldown_until);
            e.stats.failover(&from);
            tracing::warn!(from = %from, to = %p.id, ?reason, "failover");
            e.emit(Event::Failover {
                from,
                to: p.id.clone(),
                reason,
                retry_at,
            });
        }
        Some(from) if rank(&from) > rank(&p.id) && prev.is_some() => {
            tracing::info!(provider = %p.id, from = %from, "back on a higher-priority provider");
            e.emit(Event::Recovered {
                provider: p.id.clone(),
                from: Some(from),
            });
        }
        _ => {}
    }
}

pub(super) fn attempt_records(failed: &[Failed]) -> Vec<AttemptRecord> {
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

pub(super) fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[allow(clippy::too_many_arguments)]
fn finish(
    e: &Arc<Engine>,
    route: &'static str,
    at: chrono::DateTime<Utc>,
    started: Instant,
    model: &str,
    p: &Provider,
    answer: Answer,
    failed: Vec<Failed>,
    stream: bool,
    rule: Option<String>,
) -> Response {
    let n_attempts = failed.len() + 1;
    let mut attempts = attempt_records(&failed);
    attempts.push(AttemptRecord {
        provider: p.id.clone(),
        status: Some(answer.status.as_u16()),
        failure: None,
    });
    let mut rec = RequestRecord {
        at,
        route,
        model: model.to_string(),
        provider: Some(p.id.clone()),
        upstream_model: Some(answer.upstream_model.clone()),
        status: answer.status.as_u16(),
        latency_ms: 0.0,
        ttfb_ms: Some(ms(started.elapsed())),
        stream,
        attempts,
        input_tokens: answer.input_tokens,
        output_tokens: answer.output_tokens,
        error: None,
        rule,
        cache_hit: false,
    };
    match answer.body {
        AnswerBody::Full(ref b) => {
            rec.latency_ms = ms(started.elapsed());
            if route == "messages" && answer.status.is_success() {
                let tokens = spend::tokens_of_body(b);
                spend::record_usage(e, &p.id, &answer.upstream_model, tokens);
            }
            log_request(&rec);
            record(e, rec);
            respond(answer, &p.id, n_attempts, None)
        }
        AnswerBody::Stream(_) => {
            let engine = e.clone();
            let provider = p.clone();
            let on_end = Box::new(move |end: StreamEnd| {
                rec.latency_ms = ms(started.elapsed());
                // Billed even when the stream broke off or crossed a budget mid-way.
                if rec.status < 300 {
                    let model = rec.upstream_model.as_deref().unwrap_or(&rec.model);
                    spend::record_usage(
                        &engine,
                        &provider.id,
                        model,
                        spend::tokens_of_stream(&end),
                    );
                }
                rec.input_tokens = end.input_tokens.max(rec.input_tokens);
                rec.output_tokens = end.output_tokens;
                match &end.outcome {
                    StreamOutcome::Complete => {}
                    StreamOutcome::ClientGone => {
                        rec.error = Some("client closed the connection".into())
                    }
                    StreamOutcome::UpstreamFailed(reason, m) => {
                        rec.error = Some(m.clone());
                        let f = Failure {
                            reason: *reason,
                            status: None,
                            hint: None,
                            message: m.clone(),
                        };
                        note_failure(&engine, &provider, &f, true);
                    }
                }
                log_request(&rec);
                record(&engine, rec);
            });
            respond(answer, &p.id, n_attempts, Some(on_end))
        }
    }
}

fn respond(
    answer: Answer,
    provider: &str,
    attempts: usize,
    on_end: Option<Box<dyn FnOnce(StreamEnd) + Send>>,
) -> Response {
    let mut headers = answer.headers;
    if let Ok(v) = HeaderValue::from_str(provider) {
        headers.insert("x-switchyard-provider", v);
    }
    if attempts > 1 {
        headers.insert("x-switchyard-attempts", HeaderValue::from(attempts));
    }
    let body = match answer.body {
        AnswerBody::Full(b) => Body::from(b),
        AnswerBody::Stream(c) => {
            headers.insert(
                http::header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache"),
            );
            let on_end = on_end.unwrap_or_else(|| Box::new(|_| {}));
            Body::from_stream(c.into_stream(on_end))
        }
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = answer.status;
    *resp.headers_mut() = headers;
    resp
}

/// Count a finished request and tell live listeners (the request log in the UI).
pub(super) fn record(e: &Engine, rec: RequestRecord) {
    if e.events.receiver_count() > 0 {
        e.emit(Event::RequestFinished(Box::new(rec.clone())));
    }
    e.stats.record(rec);
}

pub(super) fn log_request(r: &RequestRecord) {
    tracing::info!(
        target: "switchyard::request",
        route = r.route,
        provider = r.provider.as_deref().unwrap_or("-"),
        model_in = %r.model,
        model_out = r.upstream_model.as_deref().unwrap_or("-"),
        status = r.status,
        latency_ms = format_args!("{:.1}", r.latency_ms),
        attempts = r.attempts.len(),
        stream = r.stream,
        input_tokens = r.input_tokens,
        output_tokens = r.output_tokens,
        error = r.error.as_deref().unwrap_or(""),
        rule = r.rule.as_deref().unwrap_or("-"),
        "request"
    );
}

pub(crate) fn local_error(
    e: &Engine,
    route: &'static str,
    at: chrono::DateTime<Utc>,
    started: Instant,
    model: &str,
    err: ApiError,
) -> Response {
    let rec = RequestRecord {
        at,
        route,
        model: model.to_string(),
        provider: None,
        upstream_model: None,
        status: err.status.as_u16(),
        latency_ms: ms(started.elapsed()),
        ttfb_ms: None,
        stream: false,
        attempts: vec![],
        input_tokens: 0,
        output_tokens: 0,
        error: Some(err.message.clone()),
        rule: None,
        cache_hit: false,
    };
    log_request(&rec);
    record(e, rec);
    err.into_response()
}

/// A local estimate (`translate::tokens`: within ~30% of a BPE tokenizer, erring high) for
/// providers without `count_tokens`.
fn estimate_tokens(
    e: &Engine,
    at: chrono::DateTime<Utc>,
    started: Instant,
    model: &str,
    body: &[u8],
    p: &Provider,
) -> Response {
    let n = serde_json::from_slice::<serde_json::Value>(body)
        .map(|v| crate::translate::tokens::request_tokens(&v))
        .unwrap_or((body.len() / 4).max(1) as u64);
    let rec = RequestRecord {
        at,
        route: "count_tokens",
        model: model.to_string(),
        provider: Some(p.id.clone()),
        upstream_model: None,
        status: 200,
        latency_ms: ms(started.elapsed()),
        ttfb_ms: None,
        stream: false,
        attempts: vec![],
        input_tokens: n,
        output_tokens: 0,
        error: None,
        rule: None,
        cache_hit: false,
    };
    record(e, rec);
    let mut resp = axum::Json(serde_json::json!({ "input_tokens": n })).into_response();
    if let Ok(v) = HeaderValue::from_str(&p.id) {
        resp.headers_mut().insert("x-switchyard-provider", v);
    }
    resp.headers_mut()
        .insert("x-switchyard-estimate", HeaderValue::from_static("bytes/4"));
    resp
}
