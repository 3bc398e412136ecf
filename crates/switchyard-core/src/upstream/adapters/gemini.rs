//! `kind = "gemini"`: Google's Gemini API (`generateContent` / `streamGenerateContent`).
//! Requests and answers are translated by `translate::gemini`.

use bytes::Bytes;
use http::StatusCode;
use serde_json::Value;

use crate::config::{Limits, Provider, ThinkingStyle};
use crate::protocol::anthropic::{error_body, ErrorType};
use crate::protocol::Dialect;
use crate::translate::gemini::{self, StreamState};
use crate::translate::writer::StreamWriter;
use crate::upstream::adapter::{
    AttemptCtx, Codec, Encoded, ErrorVerdict, ModelInfo, Op, ProviderAdapter, StreamMachine,
    Translation,
};
use crate::upstream::classify::error_reason;
use crate::upstream::credentials::KeyPlacement;
use crate::upstream::net::summarize;
use crate::upstream::observe::gemini::GeminiAnswers;

/// The adapter.
pub(crate) struct Gemini;

/// `{base}/v1beta`, whether or not the base URL already ends in `/v1beta`.
fn api_root(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let base = base.strip_suffix("/v1beta").unwrap_or(base);
    format!("{base}/v1beta")
}

fn options(p: &Provider, limits: &Limits) -> gemini::GeminiOptions {
    gemini::GeminiOptions {
        // One schema node is some tens of bytes once serialised.
        max_schema_nodes: limits.translated_bytes() / 64,
        max_tokens_cap: p.quirks.max_tokens,
        thinking: match p.quirks.thinking_style {
            Some(ThinkingStyle::Level) => gemini::ThinkingStyle::Level,
            Some(ThinkingStyle::Budget) | None => gemini::ThinkingStyle::Budget,
        },
    }
}

impl ProviderAdapter for Gemini {
    fn dialect(&self) -> Dialect {
        Dialect::Gemini
    }

    fn url(&self, p: &Provider, op: Op, model: &str, stream: bool, _query: Option<&str>) -> String {
        let root = api_root(&p.base_url);
        let model = model.strip_prefix("models/").unwrap_or(model);
        match op {
            Op::Messages if stream => {
                format!("{root}/models/{model}:streamGenerateContent?alt=sse")
            }
            Op::Messages => format!("{root}/models/{model}:generateContent"),
            Op::CountTokens => format!("{root}/models/{model}:countTokens"),
            Op::Models => format!("{root}/models"),
        }
    }

    fn key_placement(&self, _p: &Provider) -> KeyPlacement {
        KeyPlacement::GoogApiKey
    }

    fn encode(&self, a: &AttemptCtx<'_>) -> Result<Encoded, String> {
        let p = a.provider;
        let req = a.request.json().map_err(str::to_string)?;
        let t = gemini::to_request(req, &p.id, &options(p, a.limits)).map_err(|e| e.0)?;
        super::log_notes(p, &t.notes);
        let body = serde_json::to_vec(&t.body).map_err(|e| e.to_string())?;
        Ok(Encoded {
            body: Some(body.into()),
            codec: Codec::Translate(Box::new(Answers {
                provider_id: p.id.clone(),
            })),
        })
    }

    fn native(&self, a: &AttemptCtx<'_>, body: &Bytes) -> Option<Result<Encoded, String>> {
        Some(native_request(a, body))
    }

    fn error(&self, status: StatusCode, body: &[u8], indicators: &[String]) -> ErrorVerdict {
        let (kind, message) = match gemini::error_message(body) {
            Some((st, msg)) => (gemini::error_type(st.as_deref(), status.as_u16()), msg),
            None => (ErrorType::from_status(status.as_u16()), summarize(body)),
        };
        ErrorVerdict {
            reason: error_reason(status.as_u16(), body, indicators),
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
        _tool_names: &[(String, String)],
    ) -> Option<Box<dyn StreamMachine>> {
        let answers = Answers {
            provider_id: provider_id.to_string(),
        };
        Some(answers.stream())
    }

    fn model_ids(&self, body: &[u8]) -> Option<Vec<ModelInfo>> {
        #[derive(serde::Deserialize)]
        struct List {
            #[serde(default)]
            models: Vec<Item>,
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Item {
            name: String,
            #[serde(default)]
            display_name: Option<String>,
        }
        let l: List = serde_json::from_slice(body).ok()?;
        Some(
            l.models
                .into_iter()
                .map(|m| ModelInfo {
                    id: m
                        .name
                        .strip_prefix("models/")
                        .unwrap_or(&m.name)
                        .to_string(),
                    display_name: m.display_name,
                    created_at: None,
                })
                .collect(),
        )
    }
}

/// A Gemini client's own request for a Gemini-kind provider: the model goes in the URL, so
/// the body passes as it is, except `maxOutputTokens` above the provider's cap.
fn native_request(a: &AttemptCtx<'_>, body: &Bytes) -> Result<Encoded, String> {
    let codec = Codec::Relay(Box::new(GeminiAnswers));
    let capped = a.provider.quirks.max_tokens.and_then(|cap| {
        let mut v: serde_json::Map<String, Value> = serde_json::from_slice(body).ok()?;
        let gc = v.get_mut("generationConfig")?.as_object_mut()?;
        let max = gc.get("maxOutputTokens")?.as_u64()?;
        (max > cap).then(|| gc.insert("maxOutputTokens".into(), Value::from(cap)))?;
        serde_json::to_vec(&v).ok()
    });
    Ok(Encoded {
        body: Some(capped.map(Bytes::from).unwrap_or_else(|| body.clone())),
        codec,
    })
}

struct Answers {
    provider_id: String,
}

impl Translation for Answers {
    fn answer(&self, body: &[u8], client_model: &str) -> Result<Bytes, String> {
        let parsed: Value = serde_json::from_slice(body)
            .map_err(|_| "the vendor's answer is not JSON".to_string())?;
        let msg =
            gemini::from_response(&parsed, client_model, &self.provider_id).map_err(|e| e.0)?;
        serde_json::to_vec(&msg)
            .map(Bytes::from)
            .map_err(|e| e.to_string())
    }

    fn stream(&self) -> Box<dyn StreamMachine> {
        Box::new(StreamState::new(&self.provider_id))
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

    fn url(base: &str, op: Op, stream: bool) -> String {
        Gemini.url(
            &Provider::new("g", ProviderKind::Gemini, base),
            op,
            "models/gemini-2.5-pro",
            stream,
            None,
        )
    }

    #[test]
    fn urls_share_one_root() {
        for base in [
            "https://generativelanguage.googleapis.com",
            "https://generativelanguage.googleapis.com/v1beta/",
        ] {
            assert_eq!(
                url(base, Op::Messages, true),
                "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
            );
            assert_eq!(
                url(base, Op::Messages, false),
                "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent"
            );
            assert_eq!(
                url(base, Op::Models, false),
                "https://generativelanguage.googleapis.com/v1beta/models"
            );
        }
    }
}
