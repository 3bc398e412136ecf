//! OpenAI-compatible routes: `POST /v1/chat/completions` (and `/chat/completions`) and the
//! OpenAI shape of `GET /v1/models`. A Chat Completions request is translated to an Anthropic
//! Messages body (`translate::inbound_openai`), run through the same pipeline as
//! `/v1/messages` (`proxy::run`: planning, failover, cooldowns, stats, events), and the
//! answer, stream or error is translated back.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Value};

use super::error::ApiError;
use super::proxy;
use crate::engine::Engine;
use crate::translate::inbound_openai::{
    completion, error_body, from_anthropic_error, to_anthropic, ChunkStream, Inbound,
};
use crate::upstream::anthropic::Route;

/// Upper bound for reading a whole (non-streaming) answer back.
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// Is this one of the Chat Completions paths (after path normalisation)?
pub fn is_chat_path(path: &str) -> bool {
    matches!(path, "/v1/chat/completions" | "/chat/completions")
}

/// Does a `GET /v1/models` come from an Anthropic client? Anthropic SDKs and Claude Code
/// always send `anthropic-version` (and usually `x-api-key`); OpenAI clients send neither.
/// Anthropic clients get the Anthropic list; everyone else gets OpenAI's shape.
pub fn anthropic_client(headers: &HeaderMap) -> bool {
    ["anthropic-version", "anthropic-beta", "x-api-key"]
        .iter()
        .any(|h| headers.contains_key(*h))
}

/// `GET /v1/models` (also `/models`): Anthropic's shape for Anthropic clients (see
/// [`anthropic_client`]), else `{"object":"list","data":[{"id","object":"model",...}]}` with
/// the client-facing model names.
pub async fn models(State(e): State<Arc<Engine>>, uri: Uri, headers: HeaderMap) -> Response {
    if anthropic_client(&headers) {
        return proxy::models(State(e), uri, headers).await;
    }
    let cfg = e.config.load_full();
    let data: Vec<Value> = proxy::local_model_ids(&cfg)
        .into_iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1735689600, "owned_by": "switchyard"}))
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

fn openai_error(status: StatusCode, body: Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// The client's headers as the pipeline should see them. OpenAI clients put their key in
/// `Authorization: Bearer`; an Anthropic API key (`sk-ant-api…`) sent that way moves to
/// `x-api-key`, where Anthropic expects it, for passthrough providers. OpenAI-only headers
/// are dropped.
fn client_headers(mut h: HeaderMap) -> HeaderMap {
    if !h.contains_key("x-api-key") {
        let key = h
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| k.starts_with("sk-ant-api"))
            .and_then(|k| HeaderValue::from_str(k).ok());
        if let Some(mut k) = key {
            k.set_sensitive(true);
            h.insert("x-api-key", k);
            h.remove(header::AUTHORIZATION);
        }
    }
    for name in ["openai-organization", "openai-project", "openai-beta"] {
        h.remove(name);
    }
    h
}

/// A request refused before any provider saw it: logged and counted like the pipeline's own
/// local errors, answered with an OpenAI-shaped 400 naming the parameter.
fn refuse(e: &Engine, model: &str, message: &str, param: Option<&str>, code: &str) -> Response {
    drop(proxy::local_error(
        e,
        "chat_completions",
        chrono::Utc::now(),
        std::time::Instant::now(),
        model,
        ApiError::bad_request(message),
    ));
    openai_error(
        StatusCode::BAD_REQUEST,
        error_body(400, message, param, Some(code)),
    )
}

/// `POST /v1/chat/completions` (also `/chat/completions`).
pub async fn chat_completions(
    State(e): State<Arc<Engine>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(r) => return to_openai(ApiError::from(r).into_response()).await,
    };
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(err) => {
            let message = format!("the request body is not valid JSON: {err}");
            return refuse(&e, "", &message, None, "invalid_json");
        }
    };
    let inbound = match to_anthropic(&req) {
        Ok(i) => i,
        Err(err) => {
            let model = req["model"].as_str().unwrap_or("");
            return refuse(&e, model, &err.message, err.param.as_deref(), err.code);
        }
    };
    drop(req);
    let anthropic_body = Bytes::from(inbound.body.to_string());
    let resp = proxy::run(
        e,
        Route::Messages,
        "chat_completions",
        Uri::from_static("/v1/messages"),
        client_headers(headers),
        Ok(anthropic_body),
    )
    .await;
    translate_answer(resp, &inbound).await
}

/// The pipeline's Anthropic-shaped answer -> OpenAI's shape.
async fn translate_answer(resp: Response, inbound: &Inbound) -> Response {
    let (mut parts, body) = resp.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    // OpenAI SDKs read the request id from `x-request-id`.
    if let Some(id) = parts.headers.get("request-id").cloned() {
        parts.headers.insert("x-request-id", id);
    }
    let sse = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if parts.status.is_success() && sse {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        let chunks = ChunkStream::new(&inbound.model, inbound.include_usage);
        return Response::from_parts(parts, Body::from_stream(chunk_stream(body, chunks)));
    }
    let bytes = match axum::body::to_bytes(body, MAX_ANSWER).await {
        Ok(b) => b,
        Err(err) => {
            return openai_error(
                StatusCode::BAD_GATEWAY,
                error_body(502, &format!("cannot read the answer: {err}"), None, None),
            )
        }
    };
    let status = parts.status;
    let out = if status.is_success() {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(msg) if msg["type"] == "message" => completion(&msg, &inbound.model),
            _ => {
                return openai_error(
                    StatusCode::BAD_GATEWAY,
                    error_body(502, "the provider's answer was not a message", None, None),
                )
            }
        }
    } else {
        openai_error_body(status, &bytes)
    };
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(out.to_string()))
}

fn openai_error_body(status: StatusCode, bytes: &[u8]) -> Value {
    from_anthropic_error(status.as_u16(), bytes).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(bytes);
        let message = if text.trim().is_empty() {
            status.canonical_reason().unwrap_or("error").to_string()
        } else {
            text.into_owned()
        };
        error_body(status.as_u16(), &message, None, None)
    })
}

/// Relay the pipeline's Anthropic SSE body as chunk lines. The inner body is read to its end
/// even after `[DONE]`, so the pipeline records the request as complete, not as abandoned.
fn chunk_stream(
    body: Body,
    chunks: ChunkStream,
) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> + Send {
    let inner = body.into_data_stream();
    futures_util::stream::unfold(
        (inner, chunks, false),
        |(mut inner, mut chunks, ended)| async move {
            if ended {
                return None;
            }
            loop {
                match inner.next().await {
                    Some(Ok(b)) => {
                        let out = chunks.push(&b);
                        if !out.is_empty() {
                            return Some((Ok(out), (inner, chunks, false)));
                        }
                    }
                    Some(Err(_)) | None => {
                        let out = chunks.end();
                        if out.is_empty() {
                            return None;
                        }
                        return Some((Ok(out), (inner, chunks, true)));
                    }
                }
            }
        },
    )
}

/// Any Anthropic-shaped error answer on a Chat Completions path becomes OpenAI-shaped (errors
/// made before the handler runs: the guard, a wrong method, a body over the limit).
async fn to_openai(resp: Response) -> Response {
    if resp.status().is_success() {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ANSWER).await else {
        return Response::from_parts(parts, Body::empty());
    };
    match from_anthropic_error(parts.status.as_u16(), &bytes) {
        Some(v) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Response::from_parts(parts, Body::from(v.to_string()))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// Middleware: answers on Chat Completions paths are in OpenAI's error shape.
pub async fn openai_errors(req: Request, next: Next) -> Response {
    let chat = is_chat_path(req.uri().path());
    let resp = next.run(req).await;
    if chat {
        to_openai(resp).await
    } else {
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_list_shape_follows_the_client() {
        let mut h = HeaderMap::new();
        assert!(
            !anthropic_client(&h),
            "curl / OpenAI SDK / SillyTavern Custom"
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer sk-x"),
        );
        assert!(!anthropic_client(&h));
        for name in ["anthropic-version", "x-api-key", "anthropic-beta"] {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static("v"));
            assert!(anthropic_client(&h), "{name}");
        }
    }

    #[test]
    fn anthropic_keys_sent_as_bearer_move_to_x_api_key() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer sk-ant-api03-abc"),
        );
        h.insert("openai-organization", HeaderValue::from_static("org"));
        let out = client_headers(h);
        assert_eq!(out["x-api-key"], "sk-ant-api03-abc");
        assert!(out.get(header::AUTHORIZATION).is_none());
        assert!(out.get("openai-organization").is_none());
        // OAuth tokens and other vendors' keys stay as bearer tokens.
        for v in ["Bearer sk-ant-oat01-x", "Bearer sk-deepseek"] {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(v));
            let out = client_headers(h);
            assert_eq!(out[header::AUTHORIZATION], v);
            assert!(out.get("x-api-key").is_none());
        }
    }

    #[test]
    fn chat_paths() {
        assert!(is_chat_path("/v1/chat/completions"));
        assert!(is_chat_path("/chat/completions"));
        assert!(!is_chat_path("/v1/messages"));
    }
}
