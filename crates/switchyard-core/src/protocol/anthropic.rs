//! Anthropic Messages API facts: error types and their statuses, error bodies and events,
//! and a zero-copy look at a request body.

use std::borrow::Cow;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The `error.type` values Anthropic uses, each with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// 400
    InvalidRequest,
    /// 401
    Authentication,
    /// 402
    Billing,
    /// 403
    Permission,
    /// 404
    NotFound,
    /// 413
    RequestTooLarge,
    /// 429
    RateLimit,
    /// 500
    Api,
    /// 504
    Timeout,
    /// 529
    Overloaded,
}

impl ErrorType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest => "invalid_request_error",
            ErrorType::Authentication => "authentication_error",
            ErrorType::Billing => "billing_error",
            ErrorType::Permission => "permission_error",
            ErrorType::NotFound => "not_found_error",
            ErrorType::RequestTooLarge => "request_too_large",
            ErrorType::RateLimit => "rate_limit_error",
            ErrorType::Api => "api_error",
            ErrorType::Timeout => "timeout_error",
            ErrorType::Overloaded => "overloaded_error",
        }
    }

    /// The HTTP status Anthropic pairs with it.
    pub fn status(self) -> u16 {
        match self {
            ErrorType::InvalidRequest => 400,
            ErrorType::Authentication => 401,
            ErrorType::Billing => 402,
            ErrorType::Permission => 403,
            ErrorType::NotFound => 404,
            ErrorType::RequestTooLarge => 413,
            ErrorType::RateLimit => 429,
            ErrorType::Api => 500,
            ErrorType::Timeout => 504,
            ErrorType::Overloaded => 529,
        }
    }

    /// The type for an upstream HTTP status (PROTOCOL.md §5).
    pub fn from_status(status: u16) -> Self {
        match status {
            400 | 422 => ErrorType::InvalidRequest,
            401 => ErrorType::Authentication,
            402 => ErrorType::Billing,
            403 => ErrorType::Permission,
            404 => ErrorType::NotFound,
            413 => ErrorType::RequestTooLarge,
            429 => ErrorType::RateLimit,
            502 | 503 | 529 => ErrorType::Overloaded,
            504 | 408 => ErrorType::Timeout,
            _ => ErrorType::Api,
        }
    }

    /// Parse a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "invalid_request_error" => ErrorType::InvalidRequest,
            "authentication_error" => ErrorType::Authentication,
            "billing_error" => ErrorType::Billing,
            "permission_error" => ErrorType::Permission,
            "not_found_error" => ErrorType::NotFound,
            "request_too_large" => ErrorType::RequestTooLarge,
            "rate_limit_error" => ErrorType::RateLimit,
            "api_error" => ErrorType::Api,
            "timeout_error" => ErrorType::Timeout,
            "overloaded_error" => ErrorType::Overloaded,
            _ => return None,
        })
    }
}

/// `{"type":"error","error":{"type":T,"message":M},"request_id":R}`.
pub fn error_body(kind: ErrorType, message: &str, request_id: &str) -> Bytes {
    serde_json::json!({
        "type": "error",
        "error": {"type": kind.as_str(), "message": message},
        "request_id": request_id,
    })
    .to_string()
    .into()
}

/// An in-band stream error frame: `event: error` + `data: {"type":"error","error":{..}}`.
pub fn error_event(kind: ErrorType, message: &str) -> Bytes {
    let data = serde_json::json!({
        "type": "error",
        "error": {"type": kind.as_str(), "message": message},
    });
    super::sse::encode("error", &data.to_string())
}

/// The `error` object inside an Anthropic error body or event, if the text is one.
pub fn parse_error(text: &[u8]) -> Option<(Option<ErrorType>, String)> {
    #[derive(Deserialize)]
    struct Outer {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        #[serde(rename = "type", default)]
        kind: Option<String>,
        #[serde(default)]
        message: Option<String>,
    }
    let o: Outer = serde_json::from_slice(text).ok()?;
    Some((
        o.error.kind.as_deref().and_then(ErrorType::parse),
        o.error.message.unwrap_or_default(),
    ))
}

/// What the proxy needs to know about a request, read without re-serialising it: one typed
/// pass that skips every other field. Values stay borrowed slices of the original body.
pub struct RequestPeek<'a> {
    model_raw: &'a RawValue,
    max_tokens: Option<&'a RawValue>,
    /// The model the client asked for.
    pub model: String,
    /// Whether the client wants SSE.
    pub stream: bool,
}

#[derive(Deserialize)]
struct PeekFields<'a> {
    #[serde(borrow, default)]
    model: Option<&'a RawValue>,
    #[serde(borrow, default)]
    stream: Option<&'a RawValue>,
    #[serde(borrow, default)]
    max_tokens: Option<&'a RawValue>,
}

/// Why a body was refused before any provider saw it.
#[derive(Debug, thiserror::Error)]
pub enum PeekError {
    /// Not JSON, or not an object.
    #[error("the request body is not valid JSON: {0}")]
    Json(String),
    /// `model` missing or not a string.
    #[error("model: field required (a string)")]
    Model,
}

impl<'a> RequestPeek<'a> {
    /// Look at a Messages API body.
    pub fn parse(body: &'a [u8]) -> Result<Self, PeekError> {
        // A typed struct would also accept a JSON array; the API takes objects only.
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(PeekError::Json("expected a JSON object".into()));
        }
        let f: PeekFields<'a> =
            serde_json::from_slice(body).map_err(|e| PeekError::Json(e.to_string()))?;
        let model_raw = f.model.ok_or(PeekError::Model)?;
        let model = serde_json::from_str::<Cow<'_, str>>(model_raw.get())
            .map_err(|_| PeekError::Model)?
            .into_owned();
        let stream = f
            .stream
            .and_then(|v| serde_json::from_str::<bool>(v.get()).ok())
            .unwrap_or(false);
        Ok(RequestPeek {
            model_raw,
            max_tokens: f.max_tokens,
            model,
            stream,
        })
    }

    /// The raw JSON of `model` or `max_tokens` (the fields the proxy may rewrite).
    pub fn raw(&self, name: &str) -> Option<&'a RawValue> {
        match name {
            "model" => Some(self.model_raw),
            "max_tokens" => self.max_tokens,
            _ => None,
        }
    }
}

/// Replace the JSON value of top-level field `name` in `body` with `new_json`, copying
/// everything else byte for byte. `raw` must be a slice of `body` (from [`RequestPeek::raw`]
/// or an equivalent borrowed parse).
pub fn splice(body: &[u8], raw: &RawValue, new_json: &str) -> Option<Bytes> {
    let start = (raw.get().as_ptr() as usize).checked_sub(body.as_ptr() as usize)?;
    let end = start + raw.get().len();
    if end > body.len() {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() + new_json.len());
    out.extend_from_slice(&body[..start]);
    out.extend_from_slice(new_json.as_bytes());
    out.extend_from_slice(&body[end..]);
    Some(out.into())
}

/// Replace the top-level `model` of a JSON object body (request or non-streaming response).
pub fn replace_model(body: &[u8], model: &str) -> Option<Bytes> {
    #[derive(Deserialize)]
    struct M<'a> {
        #[serde(borrow)]
        model: &'a RawValue,
    }
    let m: M<'_> = serde_json::from_slice(body).ok()?;
    let new = serde_json::to_string(model).ok()?;
    splice(body, m.model, &new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_and_splice_keep_other_bytes() {
        let body = br#"{"model" : "claude-x",  "stream":true, "messages":[{"role":"user","content":"hi \"model\""}],"max_tokens":5}"#;
        let peek = RequestPeek::parse(body).expect("valid");
        assert_eq!(peek.model, "claude-x");
        assert!(peek.stream);
        let raw = peek.raw("model").expect("model");
        let out = splice(body, raw, "\"deepseek-chat\"").expect("splice");
        let expected = String::from_utf8_lossy(body).replace("\"claude-x\"", "\"deepseek-chat\"");
        assert_eq!(String::from_utf8_lossy(&out), expected);
    }

    #[test]
    fn peek_errors() {
        assert!(matches!(
            RequestPeek::parse(b"{nope"),
            Err(PeekError::Json(_))
        ));
        assert!(matches!(
            RequestPeek::parse(b"[1]"),
            Err(PeekError::Json(_))
        ));
        assert!(matches!(
            RequestPeek::parse(b"{\"model\":3}"),
            Err(PeekError::Model)
        ));
    }

    #[test]
    fn error_shapes() {
        let b = error_body(ErrorType::RateLimit, "slow down", "req_1");
        let v: serde_json::Value = serde_json::from_slice(&b).expect("json");
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "rate_limit_error");
        assert_eq!(
            parse_error(&b),
            Some((Some(ErrorType::RateLimit), "slow down".into()))
        );
        let e = error_event(ErrorType::Overloaded, "x");
        assert!(e.starts_with(b"event: error\ndata: {"));
        assert!(e.ends_with(b"\n\n"));
        for s in [400, 401, 402, 403, 404, 413, 429, 500, 504, 529] {
            assert_eq!(ErrorType::from_status(s).status(), s);
        }
        assert_eq!(ErrorType::from_status(503).status(), 529);
    }
}
