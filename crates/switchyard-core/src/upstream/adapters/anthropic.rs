//! `kind = "anthropic"`: Anthropic itself and every vendor's `/anthropic` endpoint. The hub
//! dialect, so the client's bytes go through unchanged except the model (mapping), the history
//! (signatures and tool ids other vendors made, see `translate::history`), a vendor's
//! `max_tokens` cap and the credential.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::config::Provider;
use crate::protocol::anthropic::{parse_error, replace_model, splice, RequestPeek};
use crate::protocol::Dialect;
use crate::translate::history;
use crate::upstream::adapter::{
    AttemptCtx, Codec, Encoded, ErrorVerdict, ModelInfo, Op, ProviderAdapter,
};
use crate::upstream::classify::error_reason;
use crate::upstream::credentials::KeyPlacement;
use crate::upstream::net::summarize;
use crate::upstream::observe::anthropic::AnthropicAnswers;

/// The adapter.
pub(crate) struct Anthropic;

impl Anthropic {
    fn path(op: Op) -> &'static str {
        match op {
            Op::Messages => "/v1/messages",
            Op::CountTokens => "/v1/messages/count_tokens",
            Op::Models => "/v1/models",
        }
    }
}

/// The URL of `op` under `base_url`, which may or may not end in `/v1`.
pub(crate) fn endpoint(base_url: &str, op: Op, query: Option<&str>) -> String {
    let base = base_url.trim_end_matches('/');
    let path = Anthropic::path(op);
    let mut url = if base.ends_with("/v1") {
        format!("{base}{}", &path[3..])
    } else {
        format!("{base}{path}")
    };
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        url.push('?');
        url.push_str(q);
    }
    url
}

impl ProviderAdapter for Anthropic {
    fn dialect(&self) -> Dialect {
        Dialect::Anthropic
    }

    fn url(
        &self,
        p: &Provider,
        op: Op,
        _model: &str,
        _stream: bool,
        query: Option<&str>,
    ) -> String {
        endpoint(&p.base_url, op, query)
    }

    fn key_placement(&self, p: &Provider) -> KeyPlacement {
        p.auth_scheme.into()
    }

    fn forwards_client_headers(&self) -> bool {
        true
    }

    fn fixed_headers(&self, headers: &mut HeaderMap) {
        // Anthropic requires a version header; curl users and some scripts forget it.
        if !headers.contains_key("anthropic-version") {
            headers.insert(
                HeaderName::from_static("anthropic-version"),
                HeaderValue::from_static("2023-06-01"),
            );
        }
    }

    fn encode(&self, a: &AttemptCtx<'_>) -> Result<Encoded, String> {
        let p = a.provider;
        let native = history::is_anthropic(p);
        // Signatures from anyone but Anthropic are stamped on their way to the client.
        let codec = Codec::Relay(Box::new(AnthropicAnswers {
            stamp: (!native).then(|| p.id.clone()),
        }));
        if a.op == Op::Models {
            return Ok(Encoded { body: None, codec });
        }
        let original = a.request.bytes();
        let mut body = if a.upstream_model != a.client_model {
            replace_model(original, a.upstream_model).unwrap_or_else(|| original.clone())
        } else {
            original.clone()
        };
        let target = history::Target {
            provider_id: &p.id,
            is_anthropic: native,
        };
        if let Some(b) = history::normalize_request(&body, &target) {
            body = b;
        }
        if let (Op::Messages, Some(cap)) = (a.op, p.quirks.max_tokens) {
            if let Some(clamped) = clamp_max_tokens(&body, cap) {
                tracing::info!(provider = %p.id, cap, "max_tokens above the vendor's limit: clamped");
                body = clamped;
            }
        }
        Ok(Encoded {
            body: Some(body),
            codec,
        })
    }

    fn error(&self, status: StatusCode, body: &[u8], indicators: &[String]) -> ErrorVerdict {
        let parsed = parse_error(body);
        let message = parsed
            .as_ref()
            .map(|(_, m)| m.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| summarize(body));
        ErrorVerdict {
            reason: error_reason(status.as_u16(), body, indicators),
            message,
            status,
            body: Bytes::copy_from_slice(body),
            dialect: Dialect::Anthropic,
            own_body: true,
            shaped: parsed.is_some(),
        }
        .or_context_overflow(status, body)
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
            display_name: Option<String>,
            #[serde(default)]
            created_at: Option<String>,
        }
        let l: List = serde_json::from_slice(body).ok()?;
        Some(
            l.data
                .into_iter()
                .map(|m| ModelInfo {
                    id: m.id,
                    display_name: m.display_name,
                    created_at: m.created_at,
                })
                .collect(),
        )
    }

    fn counts_tokens(&self) -> bool {
        true
    }
}

/// The body with `max_tokens` lowered to `cap`, or `None` when it is already within it.
fn clamp_max_tokens(body: &[u8], cap: u64) -> Option<Bytes> {
    let peek = RequestPeek::parse(body).ok()?;
    let raw = peek.raw("max_tokens")?;
    let n: u64 = serde_json::from_str(raw.get()).ok()?;
    (n > cap).then(|| splice(body, raw, &cap.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_only_above_the_cap() {
        let b = br#"{"model":"m","max_tokens":64000,"messages":[]}"#;
        assert_eq!(
            clamp_max_tokens(b, 8192).as_deref(),
            Some(&br#"{"model":"m","max_tokens":8192,"messages":[]}"#[..])
        );
        assert_eq!(clamp_max_tokens(b, 64000), None);
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            endpoint("https://api.anthropic.com", Op::Messages, None),
            "https://api.anthropic.com/v1/messages"
        );
        assert_eq!(
            endpoint(
                "https://api.deepseek.com/anthropic/",
                Op::CountTokens,
                Some("beta=true")
            ),
            "https://api.deepseek.com/anthropic/v1/messages/count_tokens?beta=true"
        );
        assert_eq!(
            endpoint("http://h/v1", Op::Models, None),
            "http://h/v1/models"
        );
    }
}
