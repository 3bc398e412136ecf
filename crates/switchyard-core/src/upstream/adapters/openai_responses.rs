//! `kind = "openai-responses"`: OpenAI's Responses API (`POST {base}/v1/responses`), for
//! models only it serves (OpenAI's codex models) and servers that copy it. Hub requests are
//! translated by `translate::responses`; a Responses client's own request passes as it came
//! (model mapped, reasoning items other providers made through Switchyard left out).

use bytes::Bytes;
use http::StatusCode;
use serde_json::Value;

use crate::config::Provider;
use crate::events::FailoverReason;
use crate::protocol::anthropic::{error_body, replace_model, ErrorType};
use crate::protocol::Dialect;
use crate::translate::inbound_responses::is_carrier;
use crate::translate::openai;
use crate::translate::responses::{self, ResponsesOptions, StreamState};
use crate::translate::writer::StreamWriter;
use crate::upstream::adapter::{
    AttemptCtx, Codec, Encoded, ErrorVerdict, ModelInfo, Op, ProviderAdapter, StreamMachine,
    Translation,
};
use crate::upstream::classify::error_reason;
use crate::upstream::credentials::KeyPlacement;
use crate::upstream::net::summarize;
use crate::upstream::observe::openai_responses::ResponsesAnswers;

/// The adapter.
pub(crate) struct OpenAiResponses;

impl ProviderAdapter for OpenAiResponses {
    fn dialect(&self) -> Dialect {
        Dialect::OpenAiResponses
    }

    fn url(
        &self,
        p: &Provider,
        op: Op,
        _model: &str,
        _stream: bool,
        _query: Option<&str>,
    ) -> String {
        // The same root as Chat Completions: `/v1` unless the base URL names a version.
        let root = super::openai_chat::api_root(&p.base_url);
        match op {
            Op::Messages | Op::CountTokens => format!("{root}/responses"),
            Op::Models => format!("{root}/models"),
        }
    }

    fn key_placement(&self, _p: &Provider) -> KeyPlacement {
        KeyPlacement::Bearer
    }

    fn encode(&self, a: &AttemptCtx<'_>) -> Result<Encoded, String> {
        let p = a.provider;
        let req = a.request.json().map_err(str::to_string)?;
        let opts = ResponsesOptions {
            max_tokens_cap: p.quirks.max_tokens,
        };
        let t = responses::to_request(req, a.upstream_model, a.stream, &p.id, &opts)
            .map_err(|e| e.0)?;
        super::log_notes(p, &t.notes);
        let body = serde_json::to_vec(&t.body).map_err(|e| e.to_string())?;
        Ok(Encoded {
            body: Some(body.into()),
            codec: Codec::Translate(Box::new(Answers {
                provider_id: p.id.clone(),
                tool_names: t.tool_names,
            })),
        })
    }

    fn native(&self, a: &AttemptCtx<'_>, body: &Bytes) -> Option<Result<Encoded, String>> {
        Some(native_request(a, body))
    }

    fn error(&self, status: StatusCode, body: &[u8], indicators: &[String]) -> ErrorVerdict {
        let kind = ErrorType::from_status(status.as_u16());
        let message = openai::error_message(body).unwrap_or_else(|| summarize(body));
        let mut reason = error_reason(status.as_u16(), body, indicators);
        if openai::is_quota_error(body) {
            reason = Some(FailoverReason::OutOfCredit);
        }
        ErrorVerdict {
            reason,
            status: StatusCode::from_u16(kind.status()).unwrap_or(status),
            body: error_body(kind, &message, ""),
            message,
            dialect: Dialect::Anthropic,
            own_body: false,
            shaped: true,
        }
        .or_context_overflow(status, body)
    }

    fn stream_machine(
        &self,
        provider_id: &str,
        tool_names: &[(String, String)],
    ) -> Option<Box<dyn StreamMachine>> {
        let answers = Answers {
            provider_id: provider_id.to_string(),
            tool_names: tool_names.to_vec(),
        };
        Some(answers.stream())
    }

    fn model_ids(&self, body: &[u8]) -> Option<Vec<ModelInfo>> {
        super::openai_chat::model_list(body)
    }
}

/// A Responses client's own request: the upstream model, the token cap, and the reasoning
/// items Switchyard made from other providers' thinking left out (this provider cannot read
/// them; its own encrypted reasoning stays). Untouched otherwise, byte for byte.
fn native_request(a: &AttemptCtx<'_>, body: &Bytes) -> Result<Encoded, String> {
    let cap = a.provider.quirks.max_tokens;
    let carriers = memchr::memmem::find(body, b"\"sy1r.").is_some();
    let over_cap = |v: &Value| {
        v.get("max_output_tokens")
            .and_then(Value::as_u64)
            .zip(cap)
            .is_some_and(|(n, c)| n > c)
    };
    let mut v: Option<Value> = None;
    if carriers || cap.is_some() {
        let parsed: Value = serde_json::from_slice(body)
            .map_err(|e| format!("the request body is not a JSON object: {e}"))?;
        if carriers || over_cap(&parsed) {
            v = Some(parsed);
        }
    }
    let out = match v {
        None => match replace_model(body, a.upstream_model) {
            Some(b) => b,
            None => return Err("the request body has no model".into()),
        },
        Some(mut v) => {
            v["model"] = Value::String(a.upstream_model.to_string());
            if let (Some(c), true) = (cap, over_cap(&v)) {
                v["max_output_tokens"] = Value::from(c);
            }
            if let Some(items) = v.get_mut("input").and_then(Value::as_array_mut) {
                items.retain(|it| {
                    !(it["type"] == "reasoning"
                        && it["encrypted_content"].as_str().is_some_and(is_carrier))
                });
            }
            Bytes::from(serde_json::to_vec(&v).map_err(|e| e.to_string())?)
        }
    };
    Ok(Encoded {
        body: Some(out),
        codec: Codec::Relay(Box::new(ResponsesAnswers)),
    })
}

/// What the answer translation needs to know about its request.
struct Answers {
    provider_id: String,
    tool_names: Vec<(String, String)>,
}

impl Translation for Answers {
    fn answer(&self, body: &[u8], client_model: &str) -> Result<Bytes, String> {
        let parsed: Value = serde_json::from_slice(body)
            .map_err(|_| "the vendor's answer is not JSON".to_string())?;
        let msg =
            responses::from_response(&parsed, client_model, &self.provider_id, &self.tool_names)
                .map_err(|e| e.0)?;
        serde_json::to_vec(&msg)
            .map(Bytes::from)
            .map_err(|e| e.to_string())
    }

    fn stream(&self) -> Box<dyn StreamMachine> {
        Box::new(StreamState::new(&self.provider_id, &self.tool_names))
    }
}

impl StreamMachine for StreamState {
    fn feed(&mut self, data: &str, w: &mut StreamWriter) {
        StreamState::feed(self, data, w)
    }
    fn end(&mut self, clean: bool, w: &mut StreamWriter) {
        StreamState::end(self, clean, w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProviderKind;

    #[test]
    fn urls_share_one_root() {
        let url = |base: &str, op| {
            OpenAiResponses.url(
                &Provider::new("p", ProviderKind::OpenaiResponses, base),
                op,
                "m",
                true,
                None,
            )
        };
        assert_eq!(
            url("https://api.openai.com", Op::Messages),
            "https://api.openai.com/v1/responses"
        );
        assert_eq!(
            url("https://api.openai.com/v1/", Op::Messages),
            "https://api.openai.com/v1/responses"
        );
        assert_eq!(
            url("http://localhost:8000/v1", Op::Models),
            "http://localhost:8000/v1/models"
        );
    }
}
