//! `GET /api/export` and `POST /api/import`: providers and routing as a file without secrets
//! (see [`crate::config::portable`]).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use crate::config::portable::{self, ImportMode};
use crate::engine::Engine;
use crate::protocol::anthropic::ErrorType;

/// `GET /api/export`: the export file, as a download.
pub async fn export(State(e): State<Arc<Engine>>) -> Result<Response, ApiError> {
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let text = portable::export(&e.config(), &now)
        .map_err(|err| ApiError::new(ErrorType::Api, err.to_string()))?;
    let mut resp = text.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/toml; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"switchyard-providers.toml\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// Query of an import.
#[derive(Deserialize, Default)]
pub struct ImportQuery {
    #[serde(default)]
    mode: ImportMode,
}

/// `POST /api/import?mode=merge|replace` with the file's text as the body: merge, save with
/// a backup, apply; answers which providers were added, replaced or kept, and which still
/// need a key (`needs_key`: store them with `PUT /api/keys/{id}`) or an environment variable.
pub async fn import(
    State(e): State<Arc<Engine>>,
    query: Result<Query<ImportQuery>, axum::extract::rejection::QueryRejection>,
    body: String,
) -> Result<Json<serde_json::Value>, ApiError> {
    // The content type (TOML or JSON) was checked by the admin layer (`extract.rs`).
    let Query(q) = query.map_err(|_| {
        ApiError::bad_request("mode must be \"merge\" (the default) or \"replace\"")
    })?;
    if body.trim().is_empty() {
        return Err(ApiError::bad_request(
            "the body must be the text of an exported file",
        ));
    }
    let current = e.config();
    let got = portable::import(&current, &body, Some("import.toml".as_ref()), q.mode)
        .map_err(|err| ApiError::bad_request(err.to_string()))?;
    e.save(got.config.clone())
        .await
        .map_err(|err| ApiError::bad_request(err.to_string()))?;
    let e2 = e.clone();
    let got2 = got.clone();
    let needs_key = tokio::task::spawn_blocking(move || {
        portable::missing_keys(&got2.config, got2.imported_ids(), e2.secrets().as_ref())
    })
    .await
    .map_err(|err| ApiError::new(ErrorType::Api, err.to_string()))?;
    let needs_env: Vec<_> = portable::missing_env(&got.config, got.imported_ids())
        .into_iter()
        .map(|(provider, var)| json!({"provider": provider, "var": var}))
        .collect();
    Ok(Json(json!({
        "success": true,
        "added": got.added,
        "replaced": got.replaced,
        "kept": got.kept,
        "needs_key": needs_key,
        "needs_env": needs_env,
    })))
}
