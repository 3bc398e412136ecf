//! The API routes of every client dialect: extract, hand the request to the pipeline, turn its
//! reply into an HTTP response. No policy here (see `pipeline/`).

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::body::ClientBody;
use super::error::ApiError;
use crate::engine::Engine;
use crate::inbound::{
    self, ClientDialect, Reply, ReplyBody, ANTHROPIC, GEMINI, OPENAI_CHAT, OPENAI_RESPONSES,
};
use crate::pipeline::{self, ClientRequest};
use crate::protocol::Dialect;
use crate::upstream::{credentials, Op};

/// Largest error body the dialect middleware reads to reshape it.
const MAX_ERROR_BODY: usize = 1 << 20;

/// `POST /v1/messages` (also `/messages`).
pub async fn messages(
    State(e): State<Arc<Engine>>,
    uri: Uri,
    headers: HeaderMap,
    body: ClientBody,
) -> Response {
    generate(e, &ANTHROPIC, Op::Messages, uri, headers, body).await
}

/// `POST /v1/messages/count_tokens`.
pub async fn count_tokens(
    State(e): State<Arc<Engine>>,
    uri: Uri,
    headers: HeaderMap,
    body: ClientBody,
) -> Response {
    generate(e, &ANTHROPIC, Op::CountTokens, uri, headers, body).await
}

/// `POST /v1/chat/completions` (also `/chat/completions`).
pub async fn chat_completions(
    State(e): State<Arc<Engine>>,
    uri: Uri,
    headers: HeaderMap,
    body: ClientBody,
) -> Response {
    generate(e, &OPENAI_CHAT, Op::Messages, uri, headers, body).await
}

/// `POST /v1/responses` (also `/responses`).
pub async fn responses(
    State(e): State<Arc<Engine>>,
    uri: Uri,
    headers: HeaderMap,
    body: ClientBody,
) -> Response {
    generate(e, &OPENAI_RESPONSES, Op::Messages, uri, headers, body).await
}

/// `GET /v1/models` (also `/models`): in the shape of the client's dialect (Anthropic clients
/// are told apart by their headers).
pub async fn models(State(e): State<Arc<Engine>>, uri: Uri, headers: HeaderMap) -> Response {
    let dialect = inbound::models_dialect(&headers);
    into_response(pipeline::models::list(&e, dialect, &headers, uri.query()).await)
}

/// `POST /v1beta/models/{model}:{method}`: Gemini's generate, stream and token count. A key
/// in `?key=` (Google's other place for it) is read as the `x-goog-api-key` header.
pub async fn gemini_models_post(
    State(e): State<Arc<Engine>>,
    Path(rest): Path<String>,
    uri: Uri,
    mut headers: HeaderMap,
    body: ClientBody,
) -> Response {
    let op = match inbound::gemini::target(&rest) {
        Ok((_, method)) => method.op(),
        Err(_) => Op::Messages,
    };
    if !headers.contains_key("x-goog-api-key") {
        let key = credentials::presented(&HeaderMap::new(), uri.query())
            .into_iter()
            .next();
        if let Some(mut v) = key.and_then(|k| http::HeaderValue::from_str(&k).ok()) {
            v.set_sensitive(true);
            headers.insert("x-goog-api-key", v);
        }
    }
    generate(e, &GEMINI, op, uri, headers, body).await
}

/// `GET /v1beta/models`: the model list in Gemini's shape.
pub async fn gemini_models(State(e): State<Arc<Engine>>, uri: Uri, headers: HeaderMap) -> Response {
    into_response(pipeline::models::list(&e, &GEMINI, &headers, uri.query()).await)
}

/// `GET /v1beta/models/{model}`.
pub async fn gemini_model(Path(name): Path<String>) -> Response {
    into_response(inbound::gemini::model_reply(&name))
}

async fn generate(
    e: Arc<Engine>,
    dialect: &'static dyn ClientDialect,
    op: Op,
    uri: Uri,
    headers: HeaderMap,
    body: ClientBody,
) -> Response {
    let body = match body.0 {
        Ok(b) => b,
        Err(r) => {
            let err = ApiError::body(r, e.config().limits.max_request_mb);
            pipeline::record_refusal(e, dialect, op, err.status, err.message.clone());
            return err.into_response();
        }
    };
    let reply = pipeline::run(
        e,
        dialect,
        op,
        ClientRequest {
            body,
            headers,
            query: uri.query().map(String::from),
            path: uri.path().to_string(),
        },
    )
    .await;
    into_response(reply)
}

/// A pipeline reply as an HTTP response.
pub(crate) fn into_response(r: Reply) -> Response {
    let body = match r.body {
        ReplyBody::Whole(b) => Body::from(b),
        ReplyBody::Stream(s) => Body::from_stream(s.map(Ok::<_, Infallible>)),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = r.status;
    *resp.headers_mut() = r.headers;
    resp
}

/// Middleware: an error answered on a dialect's path before the pipeline ran (the guard, a
/// wrong method, a body over the limit) is in that dialect's shape.
pub async fn dialect_errors(req: Request, next: Next) -> Response {
    let dialect = inbound::for_path(req.uri().path()).filter(|d| d.dialect() != Dialect::Anthropic);
    let resp = next.run(req).await;
    let Some(dialect) = dialect else {
        return resp;
    };
    if resp.status().is_success() {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    match dialect.error(parts.status, &bytes) {
        Some(b) => {
            parts.headers.remove(http::header::CONTENT_LENGTH);
            parts.headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            Response::from_parts(parts, Body::from(b))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}
