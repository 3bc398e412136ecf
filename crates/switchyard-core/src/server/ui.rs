//! The web UI: the static files of `ui/`, embedded at compile time by `build.rs` (no file
//! access at run time). `GET /` is the page, `GET /ui/{path}` its scripts, styles and texts.
//! Every answer says `Cache-Control: no-cache` (the browser revalidates with the ETag, so a new
//! build shows at once); the page carries a Content-Security-Policy that allows nothing but our
//! own origin — no inline script or style, no external resource.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::protocol::anthropic::ErrorType;

/// One embedded file.
pub(crate) struct Asset {
    /// Path below `ui/`, with `/` separators.
    pub(crate) path: &'static str,
    /// `Content-Type`.
    pub(crate) content_type: &'static str,
    /// Quoted content hash.
    pub(crate) etag: &'static str,
    /// The file.
    pub(crate) bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// The policy of the page: our own origin only. `frame-ancestors` keeps other sites from
/// framing the UI (clickjacking a "delete provider" button).
pub const CSP: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data:; \
                       style-src 'self'; script-src 'self'; frame-ancestors 'none'; \
                       base-uri 'none'; form-action 'self'";

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS
        .binary_search_by(|a| a.path.cmp(path))
        .ok()
        .and_then(|i| ASSETS.get(i))
}

fn serve(asset: &'static Asset, req: &HeaderMap) -> Response {
    let fresh = req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        asset.bytes.into_response()
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(asset.etag) {
        h.insert(header::ETAG, v);
    }
    if asset.content_type.starts_with("text/html") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    resp
}

/// `GET /` (and `GET /ui`): the page.
pub async fn index(headers: HeaderMap) -> Response {
    match find("index.html") {
        Some(a) => serve(a, &headers),
        None => ApiError::new(
            ErrorType::NotFound,
            "this build of Switchyard has no web UI (the ui/ directory was missing when it was compiled); the API is at /api/status",
        )
        .into_response(),
    }
}

/// `GET /ui/{*path}`: a script, style sheet, translation or icon.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match find(&path) {
        Some(a) => serve(a, &headers),
        None => {
            ApiError::new(ErrorType::NotFound, format!("no UI file /ui/{path}")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_sorted_for_lookup_and_typed() {
        assert!(ASSETS.windows(2).all(|w| w[0].path < w[1].path));
        for a in ASSETS {
            assert!(!a.path.starts_with('/') && !a.path.contains(".."));
            assert_ne!(a.content_type, "application/octet-stream", "{}", a.path);
            assert!(find(a.path).is_some());
        }
        assert!(find("../Cargo.toml").is_none());
    }
}
