//! The control API under `/__mock/`, for tests that drive the mock from another process.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /__mock/replies` | a [`Reply`] or a JSON array of them (appended to the queue) | `{"queued":N}` |
//! | `PUT /__mock/default` | a [`Reply`] | `{"ok":true}` |
//! | `GET /__mock/requests` | | `[{"method","path","query","headers":[[k,v]],"body","json"}]` |
//! | `POST /__mock/clear` | | `{"ok":true}` |
//! | `GET /__mock/stats` | | `{"requests":N,"queued":N,"streams_open":N,"streams_aborted":N}` |
//!
//! Malformed JSON answers `400 {"error":"..."}`; unknown routes `404`, wrong methods `405`.

use crate::body::MockBody;
use crate::reply::Reply;
use crate::server::JSON;
use crate::state::Shared;
use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{json, Value};

/// Answers a `/__mock/...` request.
pub(crate) async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<MockBody> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("reading body: {e}")),
    };
    let route = parts.uri.path().trim_start_matches("/__mock/");
    let method = &parts.method;
    match (route, method) {
        ("replies", &Method::POST) => match parse_replies(&body) {
            Ok(replies) => {
                let queued = shared.push(replies);
                ok(json!({ "queued": queued }))
            }
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        ("default", &Method::PUT) | ("default", &Method::POST) => {
            match serde_json::from_slice::<Reply>(&body) {
                Ok(reply) => {
                    shared.set_default(reply);
                    ok(json!({ "ok": true }))
                }
                Err(e) => error(StatusCode::BAD_REQUEST, &format!("bad reply: {e}")),
            }
        }
        ("requests", &Method::GET) => {
            let list: Vec<Value> = shared
                .requests()
                .iter()
                .map(|r| {
                    json!({
                        "method": r.method,
                        "path": r.path,
                        "query": r.query,
                        "headers": r.headers,
                        "body": r.body_text(),
                        "json": r.json(),
                    })
                })
                .collect();
            ok(Value::Array(list))
        }
        ("clear", &Method::POST) => {
            shared.clear();
            ok(json!({ "ok": true }))
        }
        ("stats", &Method::GET) => ok(json!({
            "requests": shared.request_count(),
            "queued": shared.queued(),
            "streams_open": shared.streams_open(),
            "streams_aborted": shared.streams_aborted(),
        })),
        ("replies" | "default" | "requests" | "clear" | "stats", _) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("{method} is not allowed on /__mock/{route}"),
        ),
        _ => error(
            StatusCode::NOT_FOUND,
            &format!("no control route /__mock/{route}"),
        ),
    }
}

/// A single reply object or an array of them.
fn parse_replies(body: &[u8]) -> Result<Vec<Reply>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("bad JSON: {e}"))?;
    if value.is_array() {
        serde_json::from_value(value).map_err(|e| format!("bad reply list: {e}"))
    } else {
        serde_json::from_value(value)
            .map(|r| vec![r])
            .map_err(|e| format!("bad reply: {e}"))
    }
}

fn ok(value: Value) -> Response<MockBody> {
    with_json(StatusCode::OK, &value)
}

fn error(status: StatusCode, message: &str) -> Response<MockBody> {
    with_json(status, &json!({ "error": message }))
}

fn with_json(status: StatusCode, value: &Value) -> Response<MockBody> {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let mut resp = Response::new(MockBody::full(Bytes::from(bytes)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    resp
}
