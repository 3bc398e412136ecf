//! Health: free probes (`GET` of each provider's model list, never a billed call) in the
//! background, so an unreachable provider or a refused key is known before a user request meets
//! it, and the same probe on demand ("Test" in the UI). URLs and auth come from the adapters.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::keys::{auth_for, ResolvedAuth};
use super::verdict;
use crate::config::Provider;
use crate::engine::Engine;
use crate::events::FailoverReason;
use crate::routing::{Failure, ProviderState};
use crate::upstream::net::{net_failure, summarize};
use crate::upstream::probe_request;
use crate::upstream::transport::SendError;

/// What a probe found.
#[derive(Debug, Clone)]
pub enum Probe {
    /// The provider answered 2xx.
    Ok {
        /// HTTP status.
        status: u16,
        /// Time to the answer.
        latency: Duration,
    },
    /// The provider answered with an error status.
    Refused {
        /// HTTP status.
        status: u16,
        /// Time to the answer.
        latency: Duration,
        /// The upstream's message.
        message: String,
    },
    /// No answer (network, proxy, timeout), or no key to probe with.
    Failed(Failure),
}

/// Probe one provider with its own credential, giving up after `limit`.
pub(crate) async fn probe(e: &Engine, p: &Provider, limit: Duration) -> Probe {
    let key = match auth_for(e, p).await {
        Ok(ResolvedAuth::Key(k)) => Some(k),
        Ok(ResolvedAuth::Passthrough | ResolvedAuth::Nothing) => None,
        Err(f) => return Probe::Failed(f),
    };
    let clients = e.clients();
    let req = probe_request(
        clients.for_provider(&p.id),
        p,
        key.as_ref().map(|k| k.expose()),
        e.hop_id(),
    )
    .timeout(limit);
    let started = Instant::now();
    match req.send().await {
        Err(err) => Probe::Failed(net_failure(
            &SendError::Full(err),
            p,
            clients.proxy_label(&p.id),
        )),
        Ok(resp) => {
            if resp.headers().contains_key(crate::upstream::headers::LOOP) {
                return Probe::Failed(crate::upstream::loop_failure(p));
            }
            let status = resp.status().as_u16();
            let latency = started.elapsed();
            if resp.status().is_success() {
                return Probe::Ok { status, latency };
            }
            let body = resp.bytes().await.unwrap_or_default();
            let message = crate::protocol::anthropic::parse_error(&body)
                .map(|(_, m)| m)
                .unwrap_or_else(|| summarize(&body));
            let mut message = message;
            if let Some(k) = &key {
                message = message.replace(k.expose(), crate::upstream::redact::MASK);
            }
            Probe::Refused {
                status,
                latency,
                message,
            }
        }
    }
}

/// Run until `stop`; does nothing while `health.probe_interval_secs` is 0.
pub(crate) async fn run(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) {
    loop {
        let interval = engine.config().health.probe_interval_secs;
        let wait = if interval == 0 {
            Duration::from_secs(5)
        } else {
            Duration::from_secs(interval)
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if interval == 0 {
            continue;
        }
        probe_all(&engine).await;
    }
}

/// Probe every enabled provider that is not cooling down; a failure cools it down.
pub(crate) async fn probe_all(engine: &Engine) {
    let cfg = engine.config();
    let statuses = engine.routing().statuses(&cfg, Instant::now());
    let limit =
        Duration::from_millis(cfg.timeouts.connect_ms).saturating_add(Duration::from_secs(10));
    for p in cfg.providers.iter().filter(|p| p.enabled) {
        if statuses
            .iter()
            .any(|s| s.id == p.id && s.state != ProviderState::Available)
        {
            continue;
        }
        let has_key = !matches!(
            p.credential,
            crate::config::Credential::Passthrough | crate::config::Credential::None
        );
        let failure = match probe(engine, p, limit).await {
            Probe::Ok { .. } => None,
            // Without a key of our own, a 401 only proves the server is up.
            Probe::Refused { status, .. } if matches!(status, 401 | 403) && has_key => Some(
                Failure::new(
                    FailoverReason::KeyRejected,
                    format!("{} refused the key (HTTP {status})", p.display_name()),
                )
                .with_status(status),
            ),
            Probe::Refused { .. } => None,
            Probe::Failed(f) => Some(f),
        };
        if let Some(f) = failure {
            tracing::warn!(provider = %p.id, "health probe failed: {}", f.message);
            verdict::failed(engine, p, &f, true);
        }
    }
}
