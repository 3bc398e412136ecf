//! HTTP only: the API routes of every client dialect (`api.rs`), the admin API, the web UI's
//! files, and the guard in front of all of them. Handlers extract, call the pipeline or the
//! engine, and turn the result into a response; the policy lives in `pipeline/` and below.

pub mod admin;
pub mod api;
pub mod body;
pub mod error;
pub mod extract;
pub mod guard;
pub(crate) mod listener;
pub mod manage;
pub mod tokens_api;
pub mod transfer;
pub mod ui;
pub mod usage_api;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::routing::{get, post, put};
use axum::Router;
use tower::ServiceExt as _;

use crate::engine::Engine;

/// Largest request body accepted by default (`limits.max_request_mb`; Anthropic accepts 32 MB,
/// axum's default is 2 MB).
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// Collapse repeated slashes (`//v1//messages` -> `/v1/messages`) and a trailing slash, as
/// SillyTavern and hand-typed base URLs produce them. The query is kept.
pub fn normalize_path(path: &str) -> Option<String> {
    let needs = path.contains("//") || (path.len() > 1 && path.ends_with('/'));
    if !needs {
        return None;
    }
    let mut out = String::with_capacity(path.len());
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(seg);
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

fn normalize(mut req: Request) -> Request {
    if let Some(p) = normalize_path(req.uri().path()) {
        let pq = match req.uri().query() {
            Some(q) => format!("{p}?{q}"),
            None => p,
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(v) = pq.parse() {
            parts.path_and_query = Some(v);
            if let Ok(u) = http::Uri::from_parts(parts) {
                *req.uri_mut() = u;
            }
        }
    }
    req
}

/// The router behind the path normaliser.
pub type App = tower::util::MapRequest<Router, NormalizeFn>;
type NormalizeFn = fn(Request) -> Request;

/// The API routes of every client dialect.
fn dialect_routes() -> Router<Arc<Engine>> {
    Router::new()
        .route("/v1/messages", post(api::messages))
        .route("/messages", post(api::messages))
        .route("/v1/messages/count_tokens", post(api::count_tokens))
        .route("/messages/count_tokens", post(api::count_tokens))
        .route("/v1/models", get(api::models))
        .route("/models", get(api::models))
        .route("/v1/chat/completions", post(api::chat_completions))
        .route("/chat/completions", post(api::chat_completions))
        .route("/v1/responses", post(api::responses))
        .route("/responses", post(api::responses))
        .route("/v1beta/models", get(api::gemini_models))
        .route(
            "/v1beta/models/{*rest}",
            post(api::gemini_models_post).get(api::gemini_model),
        )
        // The stable Gemini API's methods; a GET here is not Gemini's and stays unknown.
        .route(
            "/v1/models/{*rest}",
            post(api::gemini_models_post).get(error::not_found),
        )
}

/// The web UI and the admin API. Every write here goes through the JSON-only layer.
fn admin_routes() -> Router<Arc<Engine>> {
    Router::new()
        .route("/", get(ui::index).head(admin::hello))
        .route("/ui", get(ui::index))
        .route("/ui/{*path}", get(ui::asset))
        .route("/api/hello", get(admin::hello).head(admin::hello))
        .route("/health", get(admin::health))
        .route("/v1/health", get(admin::v1_health))
        .route("/v1/switch-provider", post(admin::switch_provider))
        .route("/api/switch", post(admin::switch_provider))
        .route("/api/status", get(admin::status))
        .route("/api/events", get(admin::events))
        .route("/api/requests", get(admin::requests))
        .route("/api/config", get(admin::get_config).put(admin::put_config))
        .route("/api/keys", get(admin::keys))
        .route("/api/keys/refresh", post(admin::refresh_keys))
        .route(
            "/api/keys/{id}",
            put(admin::set_key).delete(admin::delete_key),
        )
        .route("/metrics", get(admin::metrics))
        .route("/api/export", get(transfer::export))
        .route("/api/import", post(transfer::import))
        .route("/api/presets", get(manage::presets))
        .route("/api/usage", get(usage_api::usage))
        .route("/api/prices", get(usage_api::prices))
        .route("/api/cache", axum::routing::delete(usage_api::clear_cache))
        .route("/api/providers/{id}/test", post(manage::test_provider))
        .route(
            "/api/integrations/claude-code",
            get(manage::claude_code_status).post(manage::claude_code_setup),
        )
        .route(
            "/api/integrations/gemini-cli",
            get(manage::gemini_cli_status).post(manage::gemini_cli_setup),
        )
        .route(
            "/api/integrations/codex",
            get(manage::codex_status).post(manage::codex_setup),
        )
        .route(
            "/api/tokens",
            get(tokens_api::list).post(tokens_api::create),
        )
        .route(
            "/api/tokens/{name}",
            axum::routing::delete(tokens_api::remove),
        )
        .route_layer(axum::middleware::from_fn(extract::admin_writes))
}

/// The complete service, ready for `axum::serve`.
pub fn app(engine: Arc<Engine>) -> App {
    let router = dialect_routes()
        .merge(admin_routes())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(
            engine.config().limits.request_bytes(),
        ))
        .layer(axum::middleware::from_fn_with_state(
            engine.clone(),
            guard::guard,
        ))
        .layer(axum::middleware::from_fn(api::dialect_errors))
        .with_state(engine);
    router.map_request(normalize as NormalizeFn)
}

#[cfg(test)]
mod tests {
    use super::normalize_path;

    #[test]
    fn paths() {
        assert_eq!(normalize_path("/v1/messages"), None);
        assert_eq!(normalize_path("//messages").as_deref(), Some("/messages"));
        assert_eq!(
            normalize_path("/v1//messages/").as_deref(),
            Some("/v1/messages")
        );
        assert_eq!(normalize_path("/"), None);
        assert_eq!(normalize_path("//").as_deref(), Some("/"));
    }
}
