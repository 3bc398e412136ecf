//! Optional free health probes: `GET /v1/models` on each enabled provider (never a billed
//! call), so an unreachable provider or a refused key is known before a user request meets it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::proxy::{auth_for, note_failure};
use crate::config::{Credential, Provider, ProviderKind};
use crate::engine::Engine;
use crate::events::FailoverReason;
use crate::routing::Failure;

/// The free listing endpoint of a provider, and how to authenticate there.
pub(crate) fn probe_request(
    client: &reqwest::Client,
    p: &Provider,
    key: Option<&str>,
) -> reqwest::RequestBuilder {
    let base = p.base_url.trim_end_matches('/');
    let v1 = base.ends_with("/v1");
    let url = match p.kind {
        ProviderKind::Anthropic => crate::upstream::anthropic::endpoint(
            base,
            crate::upstream::anthropic::Route::Models,
            None,
        ),
        ProviderKind::Openai if v1 => format!("{base}/models"),
        ProviderKind::Openai => format!("{base}/v1/models"),
        ProviderKind::Gemini => format!("{base}/v1beta/models"),
    };
    let mut r = client.get(url);
    if let Some(k) = key {
        r = match (p.kind, p.auth_scheme) {
            (ProviderKind::Gemini, _) => r.header("x-goog-api-key", k),
            (ProviderKind::Openai, _) | (_, crate::config::AuthScheme::Bearer) => r.bearer_auth(k),
            (ProviderKind::Anthropic, crate::config::AuthScheme::XApiKey) => r
                .header("x-api-key", k)
                .header("anthropic-version", "2023-06-01"),
        };
    }
    r
}

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
        let key = match &p.credential {
            Credential::Passthrough | Credential::None => None,
            cred => match engine.provider_key(&p.id, cred).await {
                Ok(Some(k)) => Some(k),
                Ok(None) | Err(_) => {
                    if let Err(f) = auth_for(engine, p).await {
                        note_failure(engine, p, &f, true);
                    }
                    continue;
                }
            },
        };
        let req = probe_request(
            client.for_provider(&p.id),
            p,
            key.as_ref().map(|k| k.expose()),
        )
        .timeout(
            Duration::from_millis(cfg.timeouts.connect_ms).saturating_add(Duration::from_secs(10)),
        );
        let failure = match req.send().await {
            Err(e) => Some(crate::upstream::anthropic::net_failure(
                &e,
                p,
                client.proxy_label(&p.id),
            )),
            // Without a key of our own, a 401 only proves the server is up.
            Ok(r) if matches!(r.status().as_u16(), 401 | 403) && key.is_some() => Some(Failure {
                reason: FailoverReason::KeyRejected,
                status: Some(r.status().as_u16()),
                hint: None,
                message: format!(
                    "{} refused the key (HTTP {})",
                    p.display_name(),
                    r.status().as_u16()
                ),
            }),
            Ok(_) => None,
        };
        if let Some(f) = failure {
            tracing::warn!(provider = %p.id, "health probe failed: {}", f.message);
            note_failure(engine, p, &f, true);
        }
    }
}
