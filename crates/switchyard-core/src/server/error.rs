//! Errors the proxy itself answers with, always in Anthropic's shape.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::protocol::anthropic::{error_body, ErrorType};

/// An Anthropic-shaped error answer.
#[derive(Debug)]
pub struct ApiError {
    /// Status.
    pub status: StatusCode,
    /// `error.type`.
    pub kind: ErrorType,
    /// `error.message`.
    pub message: String,
}

impl ApiError {
    /// An error with the status that goes with its type.
    pub fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::from_u16(kind.status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            kind,
            message: message.into(),
        }
    }

    /// 400 invalid_request_error.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorType::InvalidRequest, message)
    }

    /// 403 permission_error.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Permission, message)
    }

    /// Override the status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let id = format!("req_sy_local_{:x}", std::process::id());
        let mut resp = (self.status, error_body(self.kind, &self.message, &id)).into_response();
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if matches!(self.kind, ErrorType::RequestTooLarge) {
            // The rest of the refused body is still on the connection: close it, so the
            // client does not reuse a connection the server will not read from again.
            resp.headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}

impl ApiError {
    /// A request body that could not be read; `limit_mb` is the configured maximum.
    pub fn body(r: super::body::BodyError, limit_mb: u64) -> Self {
        match r {
            super::body::BodyError::TooLarge => ApiError::new(
                ErrorType::RequestTooLarge,
                format!("request body is larger than {limit_mb} MB (limits.max_request_mb)"),
            ),
            super::body::BodyError::Read(e) => {
                ApiError::bad_request(format!("cannot read the request body: {e}"))
            }
        }
    }
}

/// Unknown path.
pub async fn not_found(uri: http::Uri) -> ApiError {
    ApiError::new(ErrorType::NotFound, format!("no route for {}", uri.path()))
}

/// Known path, wrong method.
pub async fn method_not_allowed(method: http::Method, uri: http::Uri) -> ApiError {
    ApiError::bad_request(format!("{method} is not allowed on {}", uri.path()))
        .with_status(StatusCode::METHOD_NOT_ALLOWED)
}
