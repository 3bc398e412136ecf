//! The admin API: status, switching, events, config and keys. State-changing routes accept
//! JSON only, which a cross-site form or `text/plain` "simple" request cannot send without a
//! CORS preflight that the guard refuses.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::Stream;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::AdminJson;
use crate::config::{Config, ConfigError};
use crate::engine::Engine;
use crate::events::Event;
use crate::protocol::anthropic::ErrorType;
use crate::routing::ProviderState;
use crate::secrets::{Secret, SecretStore};

/// `HEAD /`, `HEAD /api/hello`: connectivity checks.
pub async fn hello() -> StatusCode {
    StatusCode::OK
}

/// `GET /health`: status, timestamp and providers with the current one.
pub async fn health(State(e): State<Arc<Engine>>) -> Json<serde_json::Value> {
    let s = e.status();
    let providers: Vec<_> = s
        .providers
        .iter()
        .map(|p| {
            json!({
                "id": p.status.id, "name": p.status.name, "state": health_state(p),
                "current": s.current_provider.as_deref() == Some(p.status.id.as_str()),
            })
        })
        .collect();
    let mut v = json!({
        "status": s.status,
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "current_provider": s.current_provider,
        "providers": providers,
    });
    with_cluster(&mut v, &s);
    Json(v)
}

/// Team mode: the health routes carry the `cluster` object too.
fn with_cluster(v: &mut serde_json::Value, s: &crate::engine::Status) {
    if let (Some(c), Some(obj)) = (&s.cluster, v.as_object_mut()) {
        obj.insert("cluster".into(), json!(c));
    }
}

/// A provider's state for the health routes: an available provider over its budget is skipped
/// like a cooling one, so it says `over_budget`.
fn health_state(p: &crate::engine::ProviderView) -> &'static str {
    match (p.status.state, p.over_budget) {
        (ProviderState::Available, Some(_)) => "over_budget",
        (state, _) => state.as_str(),
    }
}

/// `GET /v1/health`: the seed-compatible shape.
pub async fn v1_health(State(e): State<Arc<Engine>>) -> Json<serde_json::Value> {
    let s = e.status();
    let providers: serde_json::Map<_, _> = s
        .providers
        .iter()
        .map(|p| (p.status.id.clone(), json!(health_state(p))))
        .collect();
    let mut v = json!({
        "status": s.status,
        "current_provider": s.current_provider,
        "pinned": s.pinned,
        "providers": providers,
    });
    with_cluster(&mut v, &s);
    Json(v)
}

/// Body of a switch request.
#[derive(Deserialize)]
pub struct SwitchBody {
    provider: String,
}

/// `POST /v1/switch-provider {"provider": id | "auto"}`.
pub async fn switch_provider(
    State(e): State<Arc<Engine>>,
    AdminJson(b): AdminJson<SwitchBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let target = (b.provider != "auto").then_some(b.provider.as_str());
    e.switch(target)
        .map_err(|err| ApiError::bad_request(err.to_string()))?;
    let cfg = e.config();
    let current = e.routing().current(&cfg, Instant::now());
    Ok(Json(json!({
        "success": true,
        "pinned": target,
        "current_provider": current,
        "message": match target {
            Some(id) => format!("pinned to {id}"),
            None => "automatic: highest-priority available provider".to_string(),
        },
    })))
}

/// `GET /api/status`.
pub async fn status(State(e): State<Arc<Engine>>) -> Json<crate::engine::Status> {
    Json(e.status())
}

/// `GET /api/events`: typed events as SSE, starting with a `status` snapshot.
pub async fn events(
    State(e): State<Arc<Engine>>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = e.subscribe_stamped();
    let first = SseEvent::default()
        .event("status")
        .json_data(e.status())
        .unwrap_or_else(|_| SseEvent::default().event("status"));
    let stream = futures_util::stream::unfold((Some(first), rx), |(first, mut rx)| async move {
        if let Some(f) = first {
            return Some((Ok(f), (None, rx)));
        }
        let sse = match rx.recv().await {
            Ok(stamped) => {
                let name = event_name(&stamped.event);
                let sse = match &stamped.node {
                    // Team mode: each event says which replica it happened on.
                    Some(node) => {
                        let mut data = serde_json::to_value(&stamped.event).unwrap_or_default();
                        if let Some(obj) = data.as_object_mut() {
                            obj.insert("node".into(), json!(node.as_ref()));
                        }
                        SseEvent::default().event(name).json_data(&data)
                    }
                    None => SseEvent::default().event(name).json_data(&stamped.event),
                };
                sse.unwrap_or_else(|_| SseEvent::default().event(name))
            }
            // A slow reader missed events: say how many, then carry on.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                SseEvent::default().event("lagged").data(n.to_string())
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(sse), (None, rx)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn event_name(e: &Event) -> &'static str {
    match e {
        Event::Failover { .. } => "failover",
        Event::Recovered { .. } => "recovered",
        Event::CoolingDown { .. } => "cooling_down",
        Event::Switched { .. } => "switched",
        Event::AllDown { .. } => "all_down",
        Event::KeyProblem { .. } => "key_problem",
        Event::ConfigChanged => "config_changed",
        Event::ConfigError { .. } => "config_error",
        Event::BudgetExceeded { .. } => "budget_exceeded",
        Event::RequestFinished(_) => "request",
    }
}

/// Query of `/api/requests`.
#[derive(Deserialize)]
pub struct RecentQuery {
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /api/requests?limit=N`: the recent-request log, newest last.
pub async fn requests(
    State(e): State<Arc<Engine>>,
    Query(q): Query<RecentQuery>,
) -> Json<serde_json::Value> {
    let limit = q.limit.unwrap_or(crate::stats::RECENT_CAPACITY);
    let mut v = json!({ "requests": e.stats().recent(limit) });
    // Team mode: whose log this is.
    if let (Some(c), Some(obj)) = (e.cluster(), v.as_object_mut()) {
        obj.insert("node".into(), json!(c.node));
    }
    Json(v)
}

/// `GET /api/config`: the running config (it holds no secrets), its file, and whether the file
/// a save writes to exists yet (`exists: false` = a first run: the web UI offers its setup).
pub async fn get_config(State(e): State<Arc<Engine>>) -> Json<serde_json::Value> {
    let exists = e
        .config_path()
        .map(std::path::Path::to_path_buf)
        .or_else(crate::config::default_config_path)
        .is_some_and(|p| p.exists());
    Json(json!({
        "path": e.config_path().map(|p| p.display().to_string()),
        "exists": exists,
        "config": *e.config(),
    }))
}

fn config_error(err: ConfigError) -> ApiError {
    ApiError::bad_request(err.to_string())
}

/// `PUT /api/config` with the whole config as JSON.
pub async fn put_config(
    State(e): State<Arc<Engine>>,
    AdminJson(cfg): AdminJson<Config>,
) -> Result<Json<serde_json::Value>, ApiError> {
    e.save(cfg).await.map_err(config_error)?;
    Ok(Json(json!({"success": true})))
}

/// `GET /api/keys`: which providers have a key (last 4 characters at most, never the key).
pub async fn keys(State(e): State<Arc<Engine>>) -> Json<serde_json::Value> {
    let e2 = e.clone();
    let list = tokio::task::spawn_blocking(move || e2.key_statuses())
        .await
        .unwrap_or_default();
    Json(json!({ "keys": list, "store": e.secrets().describe() }))
}

/// Body of a key write.
#[derive(Deserialize)]
pub struct KeyBody {
    key: String,
}

fn known_key_name(e: &Engine, id: &str) -> Result<(), ApiError> {
    if e.known_secret_name(id) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorType::NotFound,
            format!("unknown provider {id:?}"),
        ))
    }
}

/// `PUT /api/keys/{id} {"key": "..."}`: store in the keychain. The key is never echoed.
pub async fn set_key(
    State(e): State<Arc<Engine>>,
    Path(id): Path<String>,
    AdminJson(b): AdminJson<KeyBody>,
) -> Result<Response, ApiError> {
    known_key_name(&e, &id)?;
    let secret = Secret::new(&b.key).map_err(|err| ApiError::bad_request(err.to_string()))?;
    let hint = secret.hint();
    let store = e.secrets().clone();
    let id2 = id.clone();
    tokio::task::spawn_blocking(move || store.set(&id2, &secret))
        .await
        .map_err(|err| ApiError::new(ErrorType::Api, err.to_string()))?
        .map_err(|err| ApiError::new(ErrorType::Api, err.to_string()))?;
    e.secret_changed(&id);
    Ok(Json(json!({"success": true, "provider": id, "hint": hint})).into_response())
}

/// `DELETE /api/keys/{id}`.
pub async fn delete_key(
    State(e): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    known_key_name(&e, &id)?;
    let store = e.secrets().clone();
    let id2 = id.clone();
    let existed = tokio::task::spawn_blocking(move || store.delete(&id2))
        .await
        .map_err(|err| ApiError::new(ErrorType::Api, err.to_string()))?
        .map_err(|err| ApiError::new(ErrorType::Api, err.to_string()))?;
    e.secret_changed(&id);
    Ok(Json(json!({"success": true, "deleted": existed})).into_response())
}

/// `POST /api/keys/refresh`: re-read keys (after `switchyard keys set` in another process)
/// and give providers with key problems a fresh chance.
pub async fn refresh_keys(
    State(e): State<Arc<Engine>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    e.secrets().invalidate();
    let cfg = e.config();
    e.rebuild_clients(&cfg);
    for s in e.routing().statuses(&cfg, Instant::now()) {
        if s.state == ProviderState::Unhealthy {
            e.routing().reset(&s.id);
        }
    }
    Ok(Json(json!({"success": true})))
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(e): State<Arc<Engine>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        e.stats().prometheus() + &super::usage_api::prometheus(&e),
    )
        .into_response()
}
