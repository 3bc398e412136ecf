//! Admin routes for setting things up: presets, testing a provider, configuring Claude Code.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::admin::{json_body, require_json};
use super::error::ApiError;
use crate::config::Credential;
use crate::engine::Engine;
use crate::integrations::claude_code;
use crate::pipeline::Probe;
use crate::protocol::anthropic::ErrorType;

/// `GET /api/presets`: the presets, and every provider kind the engine has an adapter for
/// (the UI's kind picker lists these).
pub async fn presets() -> Json<serde_json::Value> {
    Json(json!({
        "presets": crate::presets::all(),
        "kinds": crate::config::ProviderKind::ALL,
    }))
}

/// `POST /api/providers/{id}/test`: a free call (`GET …/models`) with the provider's own key;
/// answers the latency or the exact error. Never a billed call.
pub async fn test_provider(
    State(e): State<Arc<Engine>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_json(&headers)?;
    let cfg = e.config();
    let p = cfg
        .provider(&id)
        .cloned()
        .ok_or_else(|| ApiError::new(ErrorType::NotFound, format!("unknown provider {id:?}")))?;
    let out = match crate::pipeline::health::probe(&e, &p, Duration::from_secs(15)).await {
        Probe::Ok { status, latency } => {
            json!({"ok": true, "provider": id, "status": status, "latency_ms": round_ms(latency)})
        }
        Probe::Refused {
            status,
            latency,
            message,
        } => {
            let hint = match (status, &p.credential) {
                (401 | 403, Credential::Passthrough) => " (this provider uses the client's own key; a test without one is expected to be refused — the server is reachable)",
                (401 | 403, _) => " (the key was refused)",
                _ => "",
            };
            json!({"ok": false, "provider": id, "status": status, "latency_ms": round_ms(latency), "error": format!("HTTP {status}: {message}{hint}")})
        }
        Probe::Failed(f) => json!({"ok": false, "provider": id, "error": f.message}),
    };
    Ok(Json(out))
}

/// Milliseconds, one decimal.
fn round_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// Body of the Claude Code setup call.
#[derive(Deserialize, Default)]
pub struct ClaudeCodeBody {
    #[serde(default)]
    undo: bool,
}

pub(crate) fn claude_code_auth(e: &Engine) -> Option<String> {
    let token = e.access_token();
    claude_code::auth_for(&e.config(), token.as_ref().as_ref().map(|t| t.expose()))
}

/// `GET /api/integrations/claude-code`: whether it is configured, and where.
pub async fn claude_code_status(State(e): State<Arc<Engine>>) -> Json<serde_json::Value> {
    let path = claude_code::settings_path();
    Json(json!({
        "settings_path": path.as_ref().map(|p| p.display().to_string()),
        "configured": path.as_deref().is_some_and(claude_code::is_configured),
        "base_url": format!("http://{}", e.listen()),
        "context_window": crate::context_window::smallest(&e.config()),
        "compact_env": crate::context_window::claude_code_env(&e.config())
            .into_iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
            .collect::<serde_json::Map<_, _>>(),
    }))
}

/// `POST /api/integrations/claude-code {"undo": false}`: point Claude Code at this Switchyard
/// (or undo it).
pub async fn claude_code_setup(
    State(e): State<Arc<Engine>>,
    headers: HeaderMap,
    body: Result<Json<ClaudeCodeBody>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_json(&headers)?;
    let b = json_body(body)?;
    let path = claude_code::settings_path()
        .ok_or_else(|| ApiError::new(ErrorType::Api, "cannot find the home directory"))?;
    let base = format!("http://{}", e.listen());
    let auth = claude_code_auth(&e);
    let hints = crate::context_window::claude_code_env(&e.config());
    let p2 = path.clone();
    let res = tokio::task::spawn_blocking(move || {
        if b.undo {
            claude_code::undo(&p2)
        } else {
            claude_code::configure_with(&p2, &base, auth.as_deref(), &hints)
        }
    })
    .await
    .map_err(|err| ApiError::new(ErrorType::Api, err.to_string()))?;
    res.map_err(|err| ApiError::bad_request(err.to_string()))?;
    Ok(Json(
        json!({"success": true, "settings_path": path.display().to_string(), "configured": claude_code::is_configured(&path)}),
    ))
}
