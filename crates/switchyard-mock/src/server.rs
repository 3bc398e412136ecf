//! The accept loop, per-connection tasks (with a kill switch for hangups), and rendering of a
//! reply into an HTTP response.

use crate::anthropic::{self, MessageCtx, MessageSpec};
use crate::body::{MockBody, Op};
use crate::face::{Endpoint, Face, RequestInfo};
use crate::reply::{error_type_for_status, Body, Reply};
use crate::state::{HandlingGuard, Recorded, Shared, StreamGuard};
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

pub(crate) const JSON: &str = "application/json";
const SSE: &str = "text/event-stream";
const TEXT: &str = "text/plain; charset=utf-8";

/// Accepts connections until shutdown.
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // No header-read timeout: idle keep-alive connections stay open as long as clients like.
    builder.http1().header_read_timeout(None);
    let builder = Arc::new(builder);
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, builder.clone(), shared.clone()));
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
            _ = until_shutdown(&mut shutdown) => break,
        }
    }
}

/// Resolves once shutdown is requested (or the mock's state is gone).
async fn until_shutdown(rx: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// Serves one connection until it ends, a handler asks to kill it (a scripted hangup), or the
/// mock shuts down. Killing drops the connection, which closes the socket at once.
async fn serve_connection(
    stream: TcpStream,
    builder: Arc<auto::Builder<TokioExecutor>>,
    shared: Arc<Shared>,
) {
    // Best effort: without it, small SSE frames could wait for ACKs.
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let service = {
        let shared = shared.clone();
        let kill = kill.clone();
        hyper::service::service_fn(move |req| handle(shared.clone(), kill.clone(), req))
    };
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    let mut shutdown = shared.shutdown.subscribe();
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
        _ = until_shutdown(&mut shutdown) => {}
    }
}

/// Answers one request.
async fn handle(
    shared: Arc<Shared>,
    kill: Arc<Notify>,
    req: Request<Incoming>,
) -> Result<Response<MockBody>, Infallible> {
    if req.uri().path().starts_with("/__mock/") {
        return Ok(crate::control::handle(&shared, req).await);
    }
    let _handling = HandlingGuard::new(shared.clone());
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        // The client went away mid-body; nobody reads this answer.
        Err(_) => return Ok(plain(StatusCode::BAD_REQUEST, "incomplete request body")),
    };
    let path = parts.uri.path();
    let face = Face::from_path(path);
    let info = RequestInfo::new(face, path, &body);
    let endpoint = match face {
        Face::Anthropic => Endpoint::anthropic(&parts.method, path),
        _ => Endpoint::Other,
    };
    let recorded = Recorded {
        method: parts.method.as_str().to_owned(),
        path: path.to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (k.as_str().to_owned(), value)
            })
            .collect(),
        body,
        at: Instant::now(),
    };
    let queued = shared.record_and_take(recorded);
    let id = shared.next_id();
    let chosen = match queued {
        Some(reply) => Arc::new(reply),
        None => match endpoint {
            Endpoint::CountTokens => {
                let bytes = anthropic::count_tokens_json(info.input_tokens);
                return Ok(builtin_json(bytes, id));
            }
            Endpoint::ListModels => return Ok(builtin_json(anthropic::models_json(), id)),
            Endpoint::GetModel(model) => {
                return Ok(builtin_json(anthropic::model_json(&model), id));
            }
            Endpoint::Other => shared.default_reply(),
        },
    };
    let reply = &*chosen;
    if reply.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(reply.delay_ms)).await;
    }
    if matches!(reply.body, Body::Hangup) {
        // The connection task drops the connection (closing the socket without a response);
        // this future is dropped with it.
        kill.notify_one();
        std::future::pending::<()>().await;
    }
    Ok(render(&shared, reply, &info, id))
}

/// A 200 JSON answer of a built-in endpoint.
fn builtin_json(bytes: Bytes, id: u64) -> Response<MockBody> {
    let request_id = format!("req_mock_{id}");
    respond(200, &[], Some(JSON), &request_id, MockBody::full(bytes))
}

/// A plain-text answer produced by the mock itself (not scripted).
pub(crate) fn plain(status: StatusCode, text: &str) -> Response<MockBody> {
    let mut resp = Response::new(MockBody::full(Bytes::from(text.to_owned())));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(TEXT));
    resp
}

/// Renders a reply (other than a hangup) for a request.
fn render(shared: &Arc<Shared>, reply: &Reply, info: &RequestInfo, id: u64) -> Response<MockBody> {
    let request_id = reply
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("request-id"))
        .map_or_else(|| format!("req_mock_{id}"), |(_, v)| v.clone());
    let stream = |ops: Vec<Op>| MockBody::script(ops, StreamGuard::new(shared.clone()));
    let needs_face = matches!(
        reply.body,
        Body::Message { .. } | Body::EmptyMessage | Body::Error { .. }
    );
    if info.face == Face::OpenAi {
        if let Some(rendered) = crate::openai::render(&reply.body, reply.status, info, id) {
            let (ct, body) = match rendered {
                crate::openai::Rendered::Json(bytes) => (JSON, MockBody::full(bytes)),
                crate::openai::Rendered::Stream(ops) => (SSE, stream(ops)),
            };
            return respond(reply.status, &reply.headers, Some(ct), &request_id, body);
        }
    }
    if info.face == Face::Gemini {
        if let Some(rendered) = crate::gemini::render(&reply.body, reply.status, info, id) {
            let (ct, body) = match rendered {
                crate::gemini::Rendered::Json(bytes) => (JSON, MockBody::full(bytes)),
                crate::gemini::Rendered::Stream(ops) => (SSE, stream(ops)),
            };
            return respond(reply.status, &reply.headers, Some(ct), &request_id, body);
        }
    }
    if needs_face && info.face != Face::Anthropic {
        let msg = format!(
            "switchyard-mock: the {} face cannot render this body type yet",
            info.face.name()
        );
        return plain(StatusCode::NOT_IMPLEMENTED, &msg);
    }
    let ctx = MessageCtx {
        model: &info.model,
        id,
        input_tokens: info.input_tokens,
    };
    let message = |spec: MessageSpec<'_>| {
        if info.stream {
            let items = anthropic::message_items(&spec, &ctx);
            (SSE, stream(crate::sse::items_to_ops(items)))
        } else {
            (JSON, MockBody::full(anthropic::message_json(&spec, &ctx)))
        }
    };
    let (content_type, body) = match &reply.body {
        Body::Empty | Body::Hangup => (None, MockBody::full(Bytes::new())),
        Body::Json { value } => {
            let bytes = serde_json::to_vec(value).unwrap_or_default();
            (Some(JSON), MockBody::full(bytes))
        }
        Body::Raw { text, content_type } => (
            Some(content_type.as_deref().unwrap_or(TEXT)),
            MockBody::full(Bytes::from(text.clone())),
        ),
        Body::Message { .. } | Body::EmptyMessage => {
            let spec = MessageSpec::of_message(&reply.body).unwrap_or_default();
            let (ct, body) = message(spec);
            (Some(ct), body)
        }
        Body::Error {
            error_type,
            message,
        } => {
            let ty = error_type
                .as_deref()
                .unwrap_or_else(|| error_type_for_status(reply.status));
            let bytes = anthropic::error_json(ty, message, &request_id);
            (Some(JSON), MockBody::full(bytes))
        }
        Body::Sse { steps } => {
            let ops = steps.iter().map(crate::sse::step_to_op).collect();
            (Some(SSE), stream(ops))
        }
        Body::Flood {
            head,
            chunk,
            total,
            content_type,
        } => {
            let head = Bytes::from(head.clone());
            let chunk = if chunk.is_empty() {
                Bytes::from_static(b" ")
            } else {
                Bytes::from(chunk.clone())
            };
            let remaining = (*total > 0).then(|| total.saturating_sub(head.len() as u64));
            let ct = content_type.as_deref().unwrap_or(JSON);
            let body = MockBody::Flood {
                head: (!head.is_empty()).then_some(head),
                chunk,
                remaining,
            };
            (Some(ct), body)
        }
    };
    respond(
        reply.status,
        &reply.headers,
        content_type,
        &request_id,
        body,
    )
}

/// Builds a response: the script's headers first, then the mock's own `content-type` and
/// `request-id` unless the script set them. Invalid statuses or headers answer 500 with a
/// message naming the mistake.
fn respond(
    status: u16,
    script_headers: &[(String, String)],
    content_type: Option<&str>,
    request_id: &str,
    body: MockBody,
) -> Response<MockBody> {
    let Ok(status_code) = StatusCode::from_u16(status) else {
        body.discard();
        let msg = format!("switchyard-mock: invalid status {status} in script");
        return plain(StatusCode::INTERNAL_SERVER_ERROR, &msg);
    };
    let mut headers = HeaderMap::with_capacity(script_headers.len() + 3);
    for (name, value) in script_headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => {
                body.discard();
                let msg = format!("switchyard-mock: invalid header {name:?}: {value:?} in script");
                return plain(StatusCode::INTERNAL_SERVER_ERROR, &msg);
            }
        }
    }
    if let Some(ct) = content_type {
        if !headers.contains_key(CONTENT_TYPE) {
            if let Ok(value) = HeaderValue::from_str(ct) {
                headers.insert(CONTENT_TYPE, value);
            }
        }
    }
    if content_type == Some(SSE) && !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    if !headers.contains_key("request-id") {
        if let Ok(value) = HeaderValue::from_str(request_id) {
            headers.insert(HeaderName::from_static("request-id"), value);
        }
    }
    let mut resp = Response::new(body);
    *resp.status_mut() = status_code;
    *resp.headers_mut() = headers;
    resp
}
