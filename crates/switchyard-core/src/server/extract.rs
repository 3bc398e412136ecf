//! The JSON-only rule for admin writes, where no handler can forget it. A cross-site page can
//! send a form (`application/x-www-form-urlencoded`, `multipart/form-data`) or a `text/plain`
//! "simple" request without asking first; anything else needs a CORS preflight, which the guard
//! refuses. So every state-changing admin request must declare JSON (or, for imports, TOML):
//!
//! - [`admin_writes`] is a layer on the whole admin router: a new route is covered the moment
//!   it is added;
//! - [`AdminJson`] reads a typed JSON body with errors in Anthropic's shape.

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Admin paths whose writes carry a TOML file instead of JSON.
const TOML_PATHS: &[&str] = &["/api/import"];

/// The media type of a request, lowercased, without parameters.
fn essence(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn unsupported(what: &str) -> ApiError {
    ApiError::bad_request(format!("this endpoint accepts only Content-Type: {what}"))
        .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE)
}

/// Layer for the admin router: a `POST`, `PUT` or `PATCH` must say it carries JSON (TOML for
/// an import), or it is refused with 415 before any handler runs.
pub async fn admin_writes(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH) {
        let ty = essence(req.headers());
        let toml = TOML_PATHS.contains(&req.uri().path());
        let ok = ty == "application/json" || (toml && ty == "application/toml");
        if !ok {
            let what = if toml {
                "application/toml (or application/json)"
            } else {
                "application/json"
            };
            return unsupported(what).into_response();
        }
    }
    next.run(req).await
}

/// A JSON request body for an admin write: `application/json` only, parsed into `T`, refused
/// with a 4xx in Anthropic's error shape otherwise.
pub struct AdminJson<T>(pub T);

impl<S, T> FromRequest<S> for AdminJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if essence(req.headers()) != "application/json" {
            return Err(unsupported("application/json"));
        }
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(AdminJson(v)),
            Err(r) => Err(ApiError::bad_request(r.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::post;
    use axum::Router;
    use tower::ServiceExt;

    async fn status(ctype: Option<&str>, path: &str) -> u16 {
        let app = Router::new()
            .route("/api/x", post(|| async { "ok" }))
            .route("/api/import", post(|| async { "ok" }))
            .route_layer(axum::middleware::from_fn(admin_writes));
        let mut req = Request::post(path);
        if let Some(c) = ctype {
            req = req.header(header::CONTENT_TYPE, c);
        }
        let resp = app
            .oneshot(req.body(Body::from("{}")).expect("request"))
            .await
            .expect("response");
        resp.status().as_u16()
    }

    #[tokio::test]
    async fn only_json_writes_pass() {
        assert_eq!(status(Some("application/json"), "/api/x").await, 200);
        assert_eq!(
            status(Some("Application/JSON; charset=utf-8"), "/api/x").await,
            200
        );
        for bad in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/toml"),
            Some("application/jsonx"),
        ] {
            assert_eq!(status(bad, "/api/x").await, 415, "{bad:?}");
        }
        assert_eq!(status(Some("application/toml"), "/api/import").await, 200);
        assert_eq!(status(Some("text/plain"), "/api/import").await, 415);
    }
}
