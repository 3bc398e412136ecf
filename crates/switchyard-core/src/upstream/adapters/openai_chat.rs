//! `kind = "openai"`: OpenAI Chat Completions and every vendor that speaks it (DeepSeek, Kimi,
//! OpenRouter, Ollama, LM Studio, vLLM, OpenAI). Requests and answers are translated by
//! `translate::openai`.

use bytes::Bytes;
use http::StatusCode;
use serde_json::Value;

use crate::config::{PrefillStyle, Provider, ReasoningField};
use crate::events::FailoverReason;
use crate::protocol::anthropic::{error_body, ErrorType};
use crate::protocol::Dialect;
use crate::translate::openai::{self, StreamState};
use crate::translate::writer::StreamWriter;
use crate::upstream::adapter::{
    AttemptCtx, Codec, Encoded, ErrorVerdict, ModelInfo, Op, ProviderAdapter, StreamMachine,
    Translation,
};
use crate::upstream::classify::error_reason;
use crate::upstream::credentials::KeyPlacement;
use crate::upstream::net::summarize;
use crate::upstream::observe::openai_chat::ChatAnswers;

/// The adapter.
pub(crate) struct OpenAiChat;

/// The API root: the base URL when it already ends in a version (`/v1`, `/v4`) or DeepSeek's
/// `/beta`, else the base URL with `/v1`.
fn api_root(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let versioned = base.rsplit('/').next().is_some_and(|seg| {
        seg.len() >= 2 && seg.starts_with('v') && seg[1..].chars().all(|c| c.is_ascii_digit())
    });
    if versioned || base.ends_with("/beta") {
        base.to_string()
    } else {
        format!("{base}/v1")
    }
}

fn options(p: &Provider) -> openai::OpenAiOptions {
    let q = &p.quirks;
    openai::OpenAiOptions {
        max_tokens_cap: q.max_tokens,
        reasoning: match q.reasoning {
            Some(ReasoningField::Reasoning) => openai::ReasoningField::Reasoning,
            Some(ReasoningField::None) => openai::ReasoningField::None,
            Some(ReasoningField::ReasoningContent) | None => {
                openai::ReasoningField::ReasoningContent
            }
        },
        reasoning_round_trip: q.reasoning_round_trip,
        prefill: match q.prefill {
            Some(PrefillStyle::DeepseekPrefix) => openai::Prefill::DeepSeekPrefix,
            Some(PrefillStyle::KimiPartial) => openai::Prefill::KimiPartial,
            Some(PrefillStyle::Plain) | None => openai::Prefill::Fallback,
        },
        top_k: q.top_k,
        max_completion_tokens: q.max_completion_tokens,
        stream_usage: true,
    }
}

impl ProviderAdapter for OpenAiChat {
    fn dialect(&self) -> Dialect {
        Dialect::OpenAiChat
    }

    fn url(
        &self,
        p: &Provider,
        op: Op,
        _model: &str,
        _stream: bool,
        _query: Option<&str>,
    ) -> String {
        let root = api_root(&p.base_url);
        match op {
            Op::Messages | Op::CountTokens => format!("{root}/chat/completions"),
            Op::Models => format!("{root}/models"),
        }
    }

    fn key_placement(&self, _p: &Provider) -> KeyPlacement {
        KeyPlacement::Bearer
    }

    fn encode(&self, a: &AttemptCtx<'_>) -> Result<Encoded, String> {
        let p = a.provider;
        let req = a.request.json().map_err(str::to_string)?;
        let t = openai::to_request(req, a.upstream_model, a.stream, &p.id, &options(p))
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
        #[derive(serde::Deserialize)]
        struct List {
            data: Vec<Item>,
        }
        #[derive(serde::Deserialize)]
        struct Item {
            id: String,
            #[serde(default)]
            created: Option<i64>,
        }
        let l: List = serde_json::from_slice(body).ok()?;
        Some(
            l.data
                .into_iter()
                .map(|m| ModelInfo {
                    id: m.id,
                    display_name: None,
                    created_at: m
                        .created
                        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                })
                .collect(),
        )
    }
}

/// An OpenAI client's own request for an OpenAI-kind provider: the upstream model, and (for
/// a stream) the usage chunk asked for, so tokens are counted; when the client did not ask for
/// it, it is not passed on.
fn native_request(a: &AttemptCtx<'_>, body: &Bytes) -> Result<Encoded, String> {
    let mut v: serde_json::Map<String, Value> = serde_json::from_slice(body)
        .map_err(|e| format!("the request body is not a JSON object: {e}"))?;
    v.insert("model".into(), Value::String(a.upstream_model.to_string()));
    let mut hide_usage = false;
    if a.stream {
        let opts = v
            .entry("stream_options")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(o) = opts.as_object_mut() {
            if o.get("include_usage").and_then(Value::as_bool) != Some(true) {
                o.insert("include_usage".into(), Value::Bool(true));
                hide_usage = true;
            }
        }
    }
    if let Some(cap) = a.provider.quirks.max_tokens {
        for key in ["max_tokens", "max_completion_tokens"] {
            if v.get(key).and_then(Value::as_u64).is_some_and(|n| n > cap) {
                v.insert(key.into(), Value::from(cap));
            }
        }
    }
    let body = serde_json::to_vec(&v).map_err(|e| e.to_string())?;
    Ok(Encoded {
        body: Some(body.into()),
        codec: Codec::Relay(Box::new(ChatAnswers { hide_usage })),
    })
}

/// What the answer translation needs to know about its request.
struct Answers {
    provider_id: String,
    /// Tool names that had to change for the vendor: (upstream name, client name).
    tool_names: Vec<(String, String)>,
}

impl Translation for Answers {
    fn answer(&self, body: &[u8], client_model: &str) -> Result<Bytes, String> {
        let parsed: Value = serde_json::from_slice(body)
            .map_err(|_| "the vendor's answer is not JSON".to_string())?;
        let msg = openai::from_response(&parsed, client_model, &self.provider_id, &self.tool_names)
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

    fn url(base: &str, op: Op) -> String {
        OpenAiChat.url(
            &Provider::new("p", ProviderKind::Openai, base),
            op,
            "m",
            false,
            None,
        )
    }

    #[test]
    fn urls_share_one_root() {
        for (base, root) in [
            ("https://api.openai.com/v1", "https://api.openai.com/v1"),
            ("https://api.deepseek.com/", "https://api.deepseek.com/v1"),
            (
                "https://api.deepseek.com/beta",
                "https://api.deepseek.com/beta",
            ),
            (
                "https://open.bigmodel.cn/api/paas/v4",
                "https://open.bigmodel.cn/api/paas/v4",
            ),
            ("http://localhost:11434/v1", "http://localhost:11434/v1"),
        ] {
            assert_eq!(url(base, Op::Messages), format!("{root}/chat/completions"));
            assert_eq!(url(base, Op::Models), format!("{root}/models"), "{base}");
        }
    }
}
