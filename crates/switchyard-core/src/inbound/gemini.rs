//! Gemini API clients (Gemini CLI, the `google-genai` SDKs): `POST
//! /v1beta/models/{model}:generateContent`, `:streamGenerateContent?alt=sse` and
//! `:countTokens`, and the model list. The model and the method are in the path, so this
//! dialect reads its request with the path ([`ClientDialect::read_at`]). Requests are
//! translated to the hub (`translate::inbound_gemini`), and the hub's answers, streams and
//! errors back; a provider of the Gemini kind gets the client's own bytes and answers as it is.

use bytes::Bytes;
use futures_util::StreamExt;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::Value;

use super::{ClientDialect, Inbound, Refusal, Reply, ReplyBody, ShapeReply};
use crate::protocol::Dialect;
use crate::translate::inbound_gemini::{
    self as tr, answer, count_answer, error_body, from_anthropic_error, gemini_status, model_list,
    GeminiStream,
};
use crate::upstream::{HubRequest, ModelInfo, Op};

/// The dialect.
pub(crate) struct Gemini;

/// The registry's instance.
pub(crate) static GEMINI: Gemini = Gemini;

/// The API's path prefix.
pub(crate) const PREFIX: &str = "/v1beta/models";
/// The stable API's prefix (the `google-genai` SDKs 3.x default to it).
pub(crate) const V1_PREFIX: &str = "/v1/models/";

/// Whether `path` is a Gemini model method (`/v1beta/models/...`, or
/// `/v1/models/{model}:{method}`: `/v1/models` alone is the other dialects' model list).
pub(crate) fn is_gemini_path(path: &str) -> bool {
    path.starts_with(PREFIX) || (path.starts_with(V1_PREFIX) && path.contains(':'))
}

/// A model method named in a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// `:generateContent`.
    Generate,
    /// `:streamGenerateContent`.
    Stream,
    /// `:countTokens`.
    Count,
}

/// `{model}:{method}` (the part after `/v1beta/models/`): the model and the method, or why
/// not.
pub(crate) fn target(rest: &str) -> Result<(&str, Method), String> {
    let Some((model, method)) = rest.rsplit_once(':') else {
        return Err(format!(
            "{PREFIX}/{rest}: name a method (:generateContent, :streamGenerateContent or :countTokens)"
        ));
    };
    let method = match method {
        "generateContent" => Method::Generate,
        "streamGenerateContent" => Method::Stream,
        "countTokens" => Method::Count,
        other => {
            return Err(format!(
            "method {other:?} is not served (generateContent, streamGenerateContent, countTokens)"
        ))
        }
    };
    if model.is_empty() || model.contains('/') {
        return Err(format!("{PREFIX}/{rest}: no model named"));
    }
    Ok((model, method))
}

impl Method {
    /// The pipeline's operation.
    pub(crate) fn op(self) -> Op {
        match self {
            Method::Count => Op::CountTokens,
            Method::Generate | Method::Stream => Op::Messages,
        }
    }
}

fn refuse(model: &str, message: &str) -> Box<Refusal> {
    let body = error_body(400, message, None);
    Box::new(Refusal {
        reply: Reply::json(StatusCode::BAD_REQUEST, body.to_string().into()),
        message: message.to_string(),
        model: model.to_string(),
    })
}

impl ClientDialect for Gemini {
    fn dialect(&self) -> Dialect {
        Dialect::Gemini
    }

    fn route(&self) -> &'static str {
        "generate_content"
    }

    fn read(&self, _body: Bytes, _headers: HeaderMap) -> Result<Inbound, Box<Refusal>> {
        Err(refuse(
            "",
            "the URL names no model (models/{model}:generateContent)",
        ))
    }

    fn read_at(
        &self,
        path: &str,
        body: Bytes,
        headers: HeaderMap,
    ) -> Result<Inbound, Box<Refusal>> {
        let rest = path
            .strip_prefix(PREFIX)
            .and_then(|r| r.strip_prefix('/'))
            .or_else(|| path.strip_prefix(V1_PREFIX))
            .unwrap_or("");
        let (model, method) = target(rest).map_err(|m| refuse("", &m))?;
        let model = tr::model_of(model).to_string();
        let req: Value = serde_json::from_slice(&body).map_err(|err| {
            refuse(
                &model,
                &format!("the request body is not valid JSON: {err}"),
            )
        })?;
        let stream = method == Method::Stream;
        let (hub, include_thoughts) = if method == Method::Count {
            let t = tr::count_request(&req, &model).map_err(|e| refuse(&model, &e.message))?;
            (t, false)
        } else {
            let t =
                tr::to_anthropic(&req, &model, stream).map_err(|e| refuse(&model, &e.message))?;
            for n in &t.notes {
                tracing::info!(model = %model, "gemini request: {n}");
            }
            (t.body, t.include_thoughts)
        };
        Ok(Inbound {
            request: HubRequest::translated(Bytes::from(hub.to_string()), Dialect::Gemini, body),
            model: model.clone(),
            stream,
            headers,
            shape: Box::new(Shape {
                model,
                include_thoughts,
                count: method == Method::Count,
            }),
        })
    }

    fn error(&self, status: StatusCode, anthropic_body: &[u8]) -> Option<Bytes> {
        from_anthropic_error(status.as_u16(), anthropic_body, None)
            .map(|(_, v)| v.to_string().into())
    }

    fn model_list(&self, models: &[ModelInfo], _query: Option<&str>) -> Bytes {
        let ids: Vec<(String, Option<String>)> = models
            .iter()
            .map(|m| (m.id.clone(), m.display_name.clone()))
            .collect();
        model_list(&ids).to_string().into()
    }
}

/// `GET /v1beta/models/{model}`: the model, whatever its name (every name is routed).
pub(crate) fn model_reply(name: &str) -> Reply {
    let id = tr::model_of(name);
    Reply::json(
        StatusCode::OK,
        tr::model_object(id, None).to_string().into(),
    )
}

/// What shaping one request's reply needs.
struct Shape {
    model: String,
    include_thoughts: bool,
    count: bool,
}

/// `retry-after` in whole seconds, when the reply has one.
fn retry_after(h: &HeaderMap) -> Option<u64> {
    h.get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

impl ShapeReply for Shape {
    fn shape(self: Box<Self>, mut reply: Reply) -> Reply {
        if reply.dialect == Dialect::Gemini {
            // It passed through from a Gemini provider: the provider's own bytes.
            return reply;
        }
        let retry = retry_after(&reply.headers);
        let h = &mut reply.headers;
        h.remove(header::CONTENT_LENGTH);
        match reply.body {
            ReplyBody::Stream(inner) => {
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream"),
                );
                let s = GeminiStream::new(&self.model, self.include_thoughts);
                reply.body = ReplyBody::Stream(super::reframed(inner, s).boxed());
                reply
            }
            ReplyBody::Whole(bytes) => {
                let out = if reply.status.is_success() {
                    let shaped = if self.count {
                        count_answer(&bytes)
                    } else {
                        serde_json::from_slice::<Value>(&bytes)
                            .ok()
                            .filter(|m| m["type"] == "message")
                            .map(|m| answer(&m, &self.model, self.include_thoughts))
                    };
                    shaped.unwrap_or_else(|| {
                        reply.status = StatusCode::BAD_GATEWAY;
                        error_body(502, "the provider's answer was not a message", None)
                    })
                } else {
                    match from_anthropic_error(reply.status.as_u16(), &bytes, retry) {
                        Some((status, v)) => {
                            reply.status = StatusCode::from_u16(status).unwrap_or(reply.status);
                            v
                        }
                        None => {
                            let text = String::from_utf8_lossy(&bytes);
                            let message = if text.trim().is_empty() {
                                reply
                                    .status
                                    .canonical_reason()
                                    .unwrap_or("error")
                                    .to_string()
                            } else {
                                text.into_owned()
                            };
                            let status = gemini_status(reply.status.as_u16());
                            reply.status = StatusCode::from_u16(status).unwrap_or(reply.status);
                            error_body(status, &message, retry)
                        }
                    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            target("gemini-2.5-pro:streamGenerateContent"),
            Ok(("gemini-2.5-pro", Method::Stream))
        );
        assert_eq!(
            target("m:countTokens").map(|t| t.1.op()),
            Ok(Op::CountTokens)
        );
        assert!(target("gemini-2.5-pro").is_err());
        assert!(target("m:embedContent").is_err());
        assert!(target(":generateContent").is_err());
    }
}
