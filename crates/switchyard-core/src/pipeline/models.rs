//! `GET /v1/models` for every client dialect. Clients always get their own dialect's list
//! shape, whatever provider is current, starting with the names they can ask for (the Claude
//! names and every exact name a provider maps). Anthropic clients (Claude Code's model
//! discovery, the SDKs) also get the current provider's own models: its list as it came when it
//! is Anthropic-kind (its paging and display names are the real ones), else its ids in
//! Anthropic's shape. Other clients are answered from the config alone (SillyTavern polls the
//! list on every status check).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::keys::auth_for;
use crate::config::Config;
use crate::engine::Engine;
use crate::inbound::{ClientDialect, Reply};
use crate::protocol::Dialect;
use crate::upstream::wait::{Waited, OVERHEAD_HEADER};
use crate::upstream::{adapters, AnswerBody, AttemptCtx, HubRequest, ModelInfo, Op, Outcome};

/// The model names clients can ask for: the Claude names, plus every exact (non-glob) name an
/// enabled provider maps.
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

/// The list for a client of `dialect`, with Switchyard's own share of the time in
/// `x-switchyard-overhead-ms`.
pub(crate) async fn list(
    e: &Arc<Engine>,
    dialect: &'static dyn ClientDialect,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Reply {
    let started = std::time::Instant::now();
    let waited = Waited::new();
    let mut reply = merged(e, dialect, headers, query, &waited).await;
    reply
        .headers
        .insert(OVERHEAD_HEADER, waited.overhead_header(started));
    reply
}

async fn merged(
    e: &Arc<Engine>,
    dialect: &'static dyn ClientDialect,
    headers: &HeaderMap,
    query: Option<&str>,
    waited: &Waited,
) -> Reply {
    let cfg = e.config();
    let mut models: Vec<ModelInfo> = local_model_ids(&cfg)
        .into_iter()
        .map(|id| ModelInfo {
            id,
            display_name: None,
            created_at: None,
        })
        .collect();
    let current = e
        .routing()
        .current(&cfg, Instant::now())
        .and_then(|id| cfg.provider(&id).cloned());
    let hub = Dialect::Anthropic;
    if let Some(p) = current.filter(|_| dialect.dialect() == hub) {
        if let Some((ids, raw)) = upstream_list(e, &cfg, &p, headers, query, waited).await {
            if adapters::of(p.kind).dialect() == hub {
                let mut r = Reply::json(StatusCode::OK, raw);
                super::respond::stamp_headers(&mut r.headers, &p.id, 1);
                return r;
            }
            for m in ids {
                if !models.iter().any(|x| x.id == m.id) {
                    models.push(m);
                }
            }
        }
    }
    Reply::json(StatusCode::OK, dialect.model_list(&models, query))
}

/// The current provider's own list: its models and the raw body.
async fn upstream_list(
    e: &Engine,
    cfg: &Config,
    p: &crate::config::Provider,
    headers: &HeaderMap,
    query: Option<&str>,
    waited: &Waited,
) -> Option<(Vec<ModelInfo>, Bytes)> {
    let auth = auth_for(e, p).await.ok()?;
    let clients = e.clients();
    let empty = HubRequest::new(Bytes::new());
    let hops = crate::upstream::headers::next_hops(headers, e.hop_id());
    let out = crate::upstream::attempt(AttemptCtx {
        client: clients.for_provider(&p.id),
        provider: p,
        op: Op::Models,
        query,
        client_headers: headers,
        request: &empty,
        client_model: "",
        upstream_model: "",
        stream: false,
        auth: auth.as_auth(),
        timeouts: &cfg.timeouts,
        limits: &cfg.limits,
        indicators: &cfg.routing.failover_indicators,
        proxy: clients.proxy_label(&p.id),
        hops: &hops,
        urls: &clients.urls,
        waited,
    })
    .await;
    let Outcome::Success(a) = out else {
        return None;
    };
    let AnswerBody::Full(raw) = a.body else {
        return None;
    };
    let ids = adapters::of(p.kind).model_ids(&raw)?;
    Some((ids, raw))
}
