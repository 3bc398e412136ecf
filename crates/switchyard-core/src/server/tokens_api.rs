//! `/api/tokens`: list, create and delete named client access tokens. A token's value is
//! returned once, by the create call; afterwards only its name, rate and usage are shown.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::AdminJson;
use crate::access_tokens::{self as tokens, ClientToken};
use crate::engine::Engine;
use crate::protocol::anthropic::ErrorType;
use crate::secrets::{Secret, SecretStore};

/// `GET /api/tokens`.
pub async fn list(State(e): State<Arc<Engine>>) -> Json<Value> {
    let cfg = e.config();
    Json(json!({ "tokens": e.tokens().views(&cfg) }))
}

/// Body of `POST /api/tokens`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
    #[serde(default)]
    rate_per_minute: Option<u32>,
}

fn internal(err: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorType::Api, err.to_string())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::secrets::SecretError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(internal)?
        .map_err(internal)
}

/// `POST /api/tokens` `{"name":"laptop","rate_per_minute":60}`: creates the token and
/// answers its value, this once.
pub async fn create(
    State(e): State<Arc<Engine>>,
    AdminJson(b): AdminJson<NewToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !tokens::valid_name(&b.name) {
        return Err(ApiError::bad_request(format!(
            "token name {:?} must be 1-64 characters of a-z, 0-9, - and _",
            b.name
        )));
    }
    let mut cfg = (*e.config()).clone();
    if cfg.security.tokens.iter().any(|t| t.name == b.name) {
        return Err(ApiError::bad_request(format!(
            "a token named {:?} already exists: delete it first to replace it",
            b.name
        ))
        .with_status(StatusCode::CONFLICT));
    }
    let value = tokens::generate().map_err(internal)?;
    let secret = Secret::new(&value).map_err(internal)?;
    let store = e.secrets().clone();
    let user = tokens::secret_name(&b.name);
    let user2 = user.clone();
    blocking(move || store.set(&user2, &secret)).await?;
    let rate = b.rate_per_minute.filter(|r| *r > 0);
    cfg.security.tokens.push(ClientToken {
        name: b.name.clone(),
        rate_per_minute: rate,
        created: Some(chrono::Utc::now()),
    });
    if let Err(err) = e.save(cfg).await {
        let store = e.secrets().clone();
        let _ = blocking(move || store.delete(&user)).await;
        return Err(ApiError::bad_request(err.to_string()));
    }
    tracing::info!(token = %b.name, rate = ?rate, "access token created");
    Ok((
        StatusCode::CREATED,
        Json(json!({"name": b.name, "rate_per_minute": rate, "token": value})),
    ))
}

/// `DELETE /api/tokens/{name}`.
pub async fn remove(
    State(e): State<Arc<Engine>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut cfg = (*e.config()).clone();
    let before = cfg.security.tokens.len();
    cfg.security.tokens.retain(|t| t.name != name);
    if cfg.security.tokens.len() == before {
        return Err(ApiError::new(
            ErrorType::NotFound,
            format!("no access token named {name:?}"),
        ));
    }
    if !e.listen().ip().is_loopback()
        && e.access_token().is_none()
        && cfg.security.tokens.is_empty()
    {
        return Err(ApiError::bad_request(format!(
            "{name:?} is the last access token and Switchyard listens on {}, reachable from other \
             machines: create another token first",
            e.listen()
        )));
    }
    e.save(cfg)
        .await
        .map_err(|err| ApiError::bad_request(err.to_string()))?;
    let store = e.secrets().clone();
    let user = tokens::secret_name(&name);
    blocking(move || store.delete(&user)).await?;
    tracing::info!(token = %name, "access token deleted");
    Ok(Json(json!({"deleted": true, "name": name})))
}
