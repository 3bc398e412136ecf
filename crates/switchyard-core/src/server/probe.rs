//! Optional free health probes: `GET /v1/models` on each enabled provider (never a billed
//! call), so an unreachable provider or a refused key is known before a user request meets it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderMap;
use tokio::sync::watch;

use super::proxy::{auth_for, note_failure};
use crate::config::Credential;
use crate::engine::Engine;
use crate::events::FailoverReason;
use crate::upstream::anthropic::{self, Route};
use crate::upstream::Outcome;

/// Run until `stop`; does nothing while `health.probe_interval_secs` is 0.
pub async fn run(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) {
    loop {
        let interval = engine.config.load().health.probe_interval_secs;
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

/// Probe every enabled provider that is not cooling down.
pub async fn probe_all(engine: &Engine) {
    let cfg = engine.config.load_full();
    let client = engine.client.load_full();
    let statuses = engine.router.statuses(&cfg, Instant::now());
    for p in cfg.providers.iter().filter(|p| p.enabled) {
        if statuses
            .iter()
            .any(|s| s.id == p.id && s.state != "available")
        {
            continue;
        }
        let auth = match auth_for(engine, p).await {
            Ok(a) => a,
            Err(f) => {
                note_failure(engine, p, &f, true);
                continue;
            }
        };
        let out = anthropic::attempt(anthropic::Attempt {
            client: &client,
            provider: p,
            route: Route::Models,
            query: None,
            client_headers: &HeaderMap::new(),
            body: &Bytes::new(),
            client_model: "",
            upstream_model: "",
            stream: false,
            auth: auth.as_auth(p),
            timeouts: &cfg.timeouts,
            indicators: &[],
        })
        .await;
        match out {
            Outcome::Retry(f, _) => {
                // Without a key of our own, a 401 only proves the server is up.
                let keyless = matches!(p.credential, Credential::Passthrough | Credential::None);
                let counts = match f.reason {
                    FailoverReason::Unreachable | FailoverReason::Timeout => true,
                    FailoverReason::KeyRejected => !keyless,
                    _ => false,
                };
                if counts {
                    tracing::warn!(provider = %p.id, "health probe failed: {}", f.message);
                    note_failure(engine, p, &f, true);
                }
            }
            Outcome::Success(_) | Outcome::ClientError(_) | Outcome::Unsupported(_) => {}
        }
    }
}
