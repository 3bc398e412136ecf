//! The request context: what one request carries through the phases (pingora's `CTX`), so no
//! phase needs a long argument list.

use std::sync::Arc;

use http::HeaderMap;

use crate::config::{Config, Provider, Rule};
use crate::engine::Engine;
use crate::protocol::Dialect;
use crate::routing::Failure;
use crate::upstream::outbound::Clients;
use crate::upstream::{AttemptCtx, Auth, FailedAnswer, HubRequest, Op};

/// A provider that was tried and did not serve.
pub(crate) struct Failed {
    /// Its id.
    pub provider: String,
    /// Why.
    pub failure: Failure,
    /// Its error answer, when there was one (the final error may relay it).
    pub answer: Option<FailedAnswer>,
}

/// One request, in the hub dialect, with the engine state it was planned against.
pub(crate) struct RequestCtx {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The config the request runs with, from start to end (a reload does not change it).
    pub cfg: Arc<Config>,
    /// The HTTP clients, likewise.
    pub clients: Arc<Clients>,
    /// What is asked.
    pub op: Op,
    /// The dialect the client speaks.
    pub dialect: Dialect,
    /// The model the client asked for.
    pub model: String,
    /// The client wants a stream (never for token counting).
    pub stream: bool,
    /// The client's headers.
    pub headers: HeaderMap,
    /// The client's query string, without credentials.
    pub query: Option<String>,
    /// The request body.
    pub request: HubRequest,
    /// The index of the scenario rule that routes the request, if one does (and no pin
    /// overrides it).
    pub rule: Option<usize>,
    /// Providers tried so far that did not serve, in order.
    pub failed: Vec<Failed>,
    /// The hop header every attempt sends: the client's hops and ours.
    pub hops: http::HeaderValue,
    /// The time the request's attempts waited on upstreams.
    pub waited: Arc<crate::upstream::wait::Waited>,
}

impl RequestCtx {
    /// `x-claude-code-session-id`, if the client sent one.
    pub fn session(&self) -> Option<&str> {
        self.headers
            .get("x-claude-code-session-id")
            .and_then(|v| v.to_str().ok())
    }

    /// The scenario rule routing this request.
    pub fn rule(&self) -> Option<&Rule> {
        self.rule.and_then(|i| self.cfg.rules.get(i))
    }

    /// The rule's label for the request log.
    pub fn rule_label(&self) -> Option<String> {
        self.rule
            .and_then(|i| self.cfg.rules.get(i).map(|r| r.label(i)))
    }

    /// The model sent to `p`: the routing rule's override when the rule chose `p`, else the
    /// provider's model mapping, else the client's model. The cache keys answers by this too.
    pub fn upstream_model(&self, p: &Provider) -> String {
        match self.rule() {
            Some(r) if r.provider == p.id => {
                if let Some(m) = &r.upstream_model {
                    return m.clone();
                }
            }
            _ => {}
        }
        p.models.map(&self.model).unwrap_or(&self.model).to_string()
    }

    /// The dialect `p`'s answer to this request comes back in: the client's own when `p`
    /// speaks it (the bytes pass through), else the hub's.
    pub fn answer_dialect(&self, p: &Provider) -> Dialect {
        let d = crate::upstream::adapters::of(p.kind).dialect();
        if d == self.dialect {
            d
        } else {
            Dialect::Anthropic
        }
    }

    /// Everything an attempt on `p` needs, but the credential.
    pub fn attempt<'a>(
        &'a self,
        p: &'a Provider,
        upstream_model: &'a str,
        auth: Auth<'a>,
    ) -> AttemptCtx<'a> {
        AttemptCtx {
            client: self.clients.for_provider(&p.id),
            provider: p,
            op: self.op,
            query: self.query.as_deref(),
            client_headers: &self.headers,
            request: &self.request,
            client_model: &self.model,
            upstream_model,
            stream: self.stream,
            auth,
            timeouts: &self.cfg.timeouts,
            limits: &self.cfg.limits,
            indicators: &self.cfg.routing.failover_indicators,
            proxy: self.clients.proxy_label(&p.id),
            hops: &self.hops,
            urls: &self.clients.urls,
            waited: &self.waited,
        }
    }
}
