//! Admin routes for setting things up: presets, testing a provider, configuring Claude Code
//! and Gemini CLI.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::AdminJson;
use crate::config::Credential;
use crate::engine::Engine;
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
) -> Result<Json<serde_json::Value>, ApiError> {
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
        // A missing key is the user's next step, not a failure: say so in the UI's words.
        Probe::Failed(f)
            if f.reason == crate::events::FailoverReason::KeyMissing
                && f.message.starts_with("no key") =>
        {
            json!({"ok": false, "provider": id, "error": format!("no key set for {} — add one first", p.display_name())})
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

/// `GET /api/integrations/claude-code`: whether it is configured, and where.
pub async fn claude_code_status(State(e): State<Arc<Engine>>) -> Json<serde_json::Value> {
    let st = e.claude_code_status();
    let cfg = e.config();
    Json(json!({
        "settings_path": st.settings_path.as_ref().map(|p| p.display().to_string()),
        "configured": st.configured,
        "base_url": st.base_url,
        "context_window": crate::context_window::smallest(&cfg),
        "compact_env": crate::context_window::claude_code_env(&cfg)
            .into_iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
            .collect::<serde_json::Map<_, _>>(),
    }))
}

/// `POST /api/integrations/claude-code {"undo": false}`: point Claude Code at this Switchyard
/// (or undo it).
pub async fn claude_code_setup(
    State(e): State<Arc<Engine>>,
    AdminJson(b): AdminJson<ClaudeCodeBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let st = tokio::task::spawn_blocking(move || e.configure_claude_code(b.undo))
        .await
        .map_err(|err| ApiError::new(ErrorType::Api, err.to_string()))?
        .map_err(ApiError::bad_request)?;
    Ok(Json(json!({
        "success": true,
        "settings_path": st.settings_path.as_ref().map(|p| p.display().to_string()),
        "configured": st.configured,
    })))
}

/// `GET /api/integrations/gemini-cli`: whether Gemini CLI points here, and where its files are.
pub async fn gemini_cli_status(State(e): State<Arc<Engine>>) -> Json<serde_json::Value> {
    let st = e.gemini_cli_status();
    Json(json!({
        "dir": st.dir.as_ref().map(|p| p.display().to_string()),
        "configured": st.configured,
        "base_url": st.base_url,
    }))
}

/// `POST /api/integrations/gemini-cli {"undo": false}`: point Gemini CLI at this Switchyard
/// (or undo it).
pub async fn gemini_cli_setup(
    State(e): State<Arc<Engine>>,
    AdminJson(b): AdminJson<ClaudeCodeBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let st = tokio::task::spawn_blocking(move || e.configure_gemini_cli(b.undo))
        .await
        .map_err(|err| ApiError::new(ErrorType::Api, err.to_string()))?
        .map_err(ApiError::bad_request)?;
    Ok(Json(json!({
        "success": true,
        "dir": st.dir.as_ref().map(|p| p.display().to_string()),
        "configured": st.configured,
    })))
}
