//! Anthropic Messages clients (Claude Code, the Anthropic SDKs, SillyTavern's Claude mode):
//! the hub dialect itself, so requests and replies pass as they are.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::json;

use super::{ClientDialect, Inbound, Refusal, Reply, ShapeReply};
use crate::protocol::anthropic::{error_body, ErrorType, RequestPeek};
use crate::protocol::Dialect;
use crate::upstream::{HubRequest, ModelInfo};

/// The dialect.
pub(crate) struct Anthropic;

/// The registry's instance.
pub(crate) static ANTHROPIC: Anthropic = Anthropic;

/// Replies are already in this dialect.
struct AsIs;

impl ShapeReply for AsIs {
    fn shape(self: Box<Self>, reply: Reply) -> Reply {
        reply
    }
}

/// A 400 in Anthropic's shape.
pub(crate) fn invalid_request(message: &str) -> Reply {
    Reply::json(
        StatusCode::BAD_REQUEST,
        error_body(
            ErrorType::InvalidRequest,
            message,
            &format!("req_sy_local_{:x}", std::process::id()),
        ),
    )
}

impl ClientDialect for Anthropic {
    fn dialect(&self) -> Dialect {
        Dialect::Anthropic
    }

    fn route(&self) -> &'static str {
        "messages"
    }

    fn read(&self, body: Bytes, headers: HeaderMap) -> Result<Inbound, Box<Refusal>> {
        let (model, stream) = match RequestPeek::parse(&body) {
            Ok(p) => (p.model, p.stream),
            Err(e) => {
                let message = e.to_string();
                return Err(Box::new(Refusal {
                    reply: invalid_request(&message),
                    message,
                    model: String::new(),
                }));
            }
        };
        Ok(Inbound {
            request: HubRequest::new(body),
            model,
            stream,
            headers,
            shape: Box::new(AsIs),
        })
    }

    fn error(&self, _status: StatusCode, _anthropic_body: &[u8]) -> Option<Bytes> {
        None
    }

    fn model_list(&self, models: &[ModelInfo], query: Option<&str>) -> Bytes {
        let param = |name: &str| {
            query.and_then(|q| {
                q.split('&')
                    .filter_map(|p| p.split_once('='))
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
        };
        let limit = param("limit")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(20)
            .clamp(1, 1000);
        let mut list: &[ModelInfo] = models;
        if let Some(after) = param("after_id") {
            if let Some(i) = list.iter().position(|m| m.id == after) {
                list = &list[i + 1..];
            }
        }
        if let Some(before) = param("before_id") {
            if let Some(i) = list.iter().position(|m| m.id == before) {
                list = &list[i.saturating_sub(limit)..i];
            }
        }
        let page = &list[..list.len().min(limit)];
        let data: Vec<_> = page
            .iter()
            .map(|m| {
                json!({
                    "type": "model",
                    "id": m.id,
                    "display_name": m.display_name.as_deref().unwrap_or(&m.id),
                    "created_at": m.created_at.as_deref().unwrap_or("2025-01-01T00:00:00Z"),
                })
            })
            .collect();
        json!({
            "data": data,
            "has_more": page.len() < list.len(),
            "first_id": page.first().map(|m| &m.id),
            "last_id": page.last().map(|m| &m.id),
        })
        .to_string()
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(n: usize) -> Vec<ModelInfo> {
        (0..n)
            .map(|i| ModelInfo {
                id: format!("m{i}"),
                display_name: None,
                created_at: None,
            })
            .collect()
    }

    #[test]
    fn model_list_is_anthropic_shaped_and_paged() {
        let v: serde_json::Value =
            serde_json::from_slice(&ANTHROPIC.model_list(&models(3), Some("limit=2")))
                .expect("json");
        assert_eq!(v["data"][0]["type"], "model");
        assert_eq!(v["data"][0]["display_name"], "m0");
        assert!(v["data"][0]["created_at"].is_string());
        assert_eq!(v["data"].as_array().map(Vec::len), Some(2));
        assert_eq!(v["has_more"], true);
        assert_eq!(
            (v["first_id"].as_str(), v["last_id"].as_str()),
            (Some("m0"), Some("m1"))
        );
        let v: serde_json::Value = serde_json::from_slice(
            &ANTHROPIC.model_list(&models(3), Some("limit=1000&after_id=m1")),
        )
        .expect("json");
        assert_eq!(v["data"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["has_more"], false);
    }
}
