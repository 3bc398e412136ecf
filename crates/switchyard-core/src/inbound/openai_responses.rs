//! OpenAI Responses clients (Codex CLI, the OpenAI SDKs' `responses.create` /
//! `responses.stream`): a request is translated to the hub dialect
//! (`translate::inbound_responses`), and the hub's answer, stream or error back. A provider of
//! the client's own dialect (`openai-responses`) gets the client's bytes and its answer comes
//! back as it was (model name aside).

use bytes::Bytes;
use futures_util::StreamExt;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::{Map, Value};

use super::openai_chat::{client_headers, OPENAI_CHAT};
use super::{ClientDialect, Inbound, Refusal, Reply, ReplyBody, ShapeReply};
use crate::protocol::Dialect;
use crate::translate::inbound_responses::{
    error_body, from_anthropic_error, response, to_anthropic, EventStream, ToolMap,
};
use crate::upstream::{HubRequest, ModelInfo};

/// The dialect.
pub(crate) struct OpenAiResponses;

/// The registry's instance.
pub(crate) static OPENAI_RESPONSES: OpenAiResponses = OpenAiResponses;

fn refuse(model: &str, message: &str, param: Option<&str>, code: &str) -> Box<Refusal> {
    Box::new(Refusal {
        reply: Reply::json(
            StatusCode::BAD_REQUEST,
            error_body(400, message, param, Some(code))
                .to_string()
                .into(),
        ),
        message: message.to_string(),
        model: model.to_string(),
    })
}

impl ClientDialect for OpenAiResponses {
    fn dialect(&self) -> Dialect {
        Dialect::OpenAiResponses
    }

    fn route(&self) -> &'static str {
        "responses"
    }

    fn read(&self, body: Bytes, headers: HeaderMap) -> Result<Inbound, Box<Refusal>> {
        let req: Value = serde_json::from_slice(&body).map_err(|err| {
            refuse(
                "",
                &format!("the request body is not valid JSON: {err}"),
                None,
                "invalid_json",
            )
        })?;
        let inbound = to_anthropic(&req).map_err(|err| {
            let model = req["model"].as_str().unwrap_or("");
            refuse(model, &err.message, err.param.as_deref(), err.code)
        })?;
        for n in &inbound.notes {
            tracing::info!("responses request: {n}");
        }
        Ok(Inbound {
            request: HubRequest::translated(
                Bytes::from(inbound.body.to_string()),
                Dialect::OpenAiResponses,
                body,
            ),
            model: inbound.model.clone(),
            stream: inbound.stream,
            headers: without_codex_headers(client_headers(headers)),
            shape: Box::new(Shape {
                model: inbound.model,
                tools: inbound.tools,
                echo: inbound.echo,
            }),
        })
    }

    fn error(&self, status: StatusCode, anthropic_body: &[u8]) -> Option<Bytes> {
        from_anthropic_error(status.as_u16(), anthropic_body).map(|v| v.to_string().into())
    }

    fn model_list(&self, models: &[ModelInfo], query: Option<&str>) -> Bytes {
        // The same list OpenAI serves to every client of its API.
        OPENAI_CHAT.model_list(models, query)
    }
}

/// Codex CLI's own headers (`x-codex-turn-metadata` with its installation and session ids,
/// ...) mean nothing to another vendor: they are not forwarded.
fn without_codex_headers(mut h: HeaderMap) -> HeaderMap {
    let codex: Vec<_> = h
        .keys()
        .filter(|k| k.as_str().starts_with("x-codex-"))
        .cloned()
        .collect();
    for k in codex {
        h.remove(k);
    }
    h
}

/// What shaping one request's reply needs.
struct Shape {
    model: String,
    tools: ToolMap,
    echo: Map<String, Value>,
}

impl ShapeReply for Shape {
    fn shape(self: Box<Self>, mut reply: Reply) -> Reply {
        let h = &mut reply.headers;
        if let Some(id) = h.get("request-id").cloned() {
            // OpenAI SDKs read the request id from `x-request-id`.
            h.entry("x-request-id").or_insert(id);
        }
        if reply.dialect == Dialect::OpenAiResponses {
            // It passed through from a provider of the client's own dialect.
            return reply;
        }
        h.remove(header::CONTENT_LENGTH);
        match reply.body {
            ReplyBody::Stream(inner) => {
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream"),
                );
                let events = EventStream::new(&self.model, self.tools, self.echo);
                reply.body = ReplyBody::Stream(super::reframed(inner, events).boxed());
                reply
            }
            ReplyBody::Whole(bytes) => {
                let out = if reply.status.is_success() {
                    match serde_json::from_slice::<Value>(&bytes) {
                        Ok(msg) if msg["type"] == "message" => {
                            response(&msg, &self.model, &self.tools, &self.echo)
                        }
                        _ => {
                            reply.status = StatusCode::BAD_GATEWAY;
                            error_body(502, "the provider's answer was not a message", None, None)
                        }
                    }
                } else {
                    error_from(reply.status, &bytes)
                };
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                reply.body = ReplyBody::Whole(out.to_string().into());
                reply
            }
        }
    }
}

fn error_from(status: StatusCode, bytes: &[u8]) -> Value {
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
