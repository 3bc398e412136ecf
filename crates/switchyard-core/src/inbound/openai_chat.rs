//! OpenAI Chat Completions clients (SillyTavern's Custom mode, Cursor, the OpenAI SDKs): a
//! request is translated to the hub dialect (`translate::inbound_openai`), and the hub's
//! answer, stream or error back.

use bytes::Bytes;
use futures_util::StreamExt;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::{json, Value};

use super::{ClientDialect, Inbound, Refusal, Reply, ReplyBody, ShapeReply};
use crate::protocol::Dialect;
use crate::translate::inbound_openai::{
    completion, error_body, from_anthropic_error, to_anthropic, ChunkStream,
};
use crate::upstream::credentials::bearer;
use crate::upstream::{HubRequest, ModelInfo};

/// The dialect.
pub(crate) struct OpenAiChat;

/// The registry's instance.
pub(crate) static OPENAI_CHAT: OpenAiChat = OpenAiChat;

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

/// The client's headers as the pipeline should see them. OpenAI clients put their key in
/// `Authorization: Bearer`; an Anthropic API key (`sk-ant-api…`) sent that way moves to
/// `x-api-key`, where Anthropic expects it, for passthrough providers. OpenAI-only headers
/// are dropped.
pub(super) fn client_headers(mut h: HeaderMap) -> HeaderMap {
    if !h.contains_key("x-api-key") {
        let key = h
            .get(header::AUTHORIZATION)
            .and_then(|v| bearer(v.as_bytes()))
            .and_then(|k| std::str::from_utf8(k).ok())
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

impl ClientDialect for OpenAiChat {
    fn dialect(&self) -> Dialect {
        Dialect::OpenAiChat
    }

    fn route(&self) -> &'static str {
        "chat_completions"
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
        Ok(Inbound {
            request: HubRequest::translated(
                Bytes::from(inbound.body.to_string()),
                Dialect::OpenAiChat,
                body,
            ),
            model: inbound.model.clone(),
            stream: inbound.stream,
            headers: client_headers(headers),
            shape: Box::new(Shape {
                model: inbound.model,
                include_usage: inbound.include_usage,
            }),
        })
    }

    fn error(&self, status: StatusCode, anthropic_body: &[u8]) -> Option<Bytes> {
        from_anthropic_error(status.as_u16(), anthropic_body).map(|v| v.to_string().into())
    }

    fn model_list(&self, models: &[ModelInfo], _query: Option<&str>) -> Bytes {
        let data: Vec<Value> = models
            .iter()
            .map(|m| {
                json!({"id": m.id, "object": "model", "created": 1735689600, "owned_by": "switchyard"})
            })
            .collect();
        json!({"object": "list", "data": data}).to_string().into()
    }
}

/// What shaping one request's reply needs.
struct Shape {
    model: String,
    include_usage: bool,
}

impl ShapeReply for Shape {
    fn shape(self: Box<Self>, mut reply: Reply) -> Reply {
        let h = &mut reply.headers;
        if reply.dialect == Dialect::OpenAiChat {
            // It passed through from a provider of the client's own dialect.
            if let Some(id) = h.get("request-id").cloned() {
                h.entry("x-request-id").or_insert(id);
            }
            return reply;
        }
        h.remove(header::CONTENT_LENGTH);
        // OpenAI SDKs read the request id from `x-request-id`.
        if let Some(id) = h.get("request-id").cloned() {
            h.insert("x-request-id", id);
        }
        match reply.body {
            ReplyBody::Stream(inner) => {
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream"),
                );
                let chunks = ChunkStream::new(&self.model, self.include_usage);
                reply.body = ReplyBody::Stream(super::reframed(inner, chunks).boxed());
                reply
            }
            ReplyBody::Whole(bytes) => {
                let out = if reply.status.is_success() {
                    match serde_json::from_slice::<Value>(&bytes) {
                        Ok(msg) if msg["type"] == "message" => completion(&msg, &self.model),
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
