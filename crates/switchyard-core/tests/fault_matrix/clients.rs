//! The client dialects the fault matrix speaks. Each sends a row's request in its own dialect
//! and judges the answer by its own dialect's rules; a new inbound dialect is a new variant
//! here, and every provider kind × fault row runs for it.

use serde_json::{json, Value};
use switchyard_core::translate::check::check_anthropic_stream;
use switchyard_core::translate::inbound_gemini::check_gemini_stream;

use crate::common::{self, Env, Resp, CLIENT_KEY};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// `POST /v1/messages` (the hub dialect itself).
    Anthropic,
    /// `POST /v1beta/models/{model}:generateContent` / `:streamGenerateContent?alt=sse`.
    Gemini,
}

/// Every client dialect the matrix runs.
pub const CLIENTS: [Client; 2] = [Client::Anthropic, Client::Gemini];

/// Google's status for an Anthropic error type, as a Gemini client gets it.
fn google_status(anthropic_type: &str) -> &'static str {
    match anthropic_type {
        "timeout_error" => "DEADLINE_EXCEEDED",
        "overloaded_error" => "UNAVAILABLE",
        "rate_limit_error" => "RESOURCE_EXHAUSTED",
        "authentication_error" => "UNAUTHENTICATED",
        "api_error" => "INTERNAL",
        _ => "INVALID_ARGUMENT",
    }
}

/// The data frames of a Gemini stream, as JSON.
fn gemini_frames(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|f| f.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

fn gemini_text(v: &Value) -> String {
    v["candidates"][0]["content"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["thought"] != true)
        .filter_map(|p| p["text"].as_str())
        .collect()
}

impl Client {
    /// The request body.
    pub fn payload(self, stream: bool) -> Value {
        match self {
            Client::Anthropic => common::body(stream),
            Client::Gemini => json!({
                "contents": [{"role": "user", "parts": [{"text": "hello"}]}],
                "generationConfig": {"maxOutputTokens": 64},
            }),
        }
    }

    /// The request, as the dialect's clients send it.
    pub fn request(self, e: &Env, stream: bool, bytes: Vec<u8>) -> reqwest::RequestBuilder {
        let r = match (self, stream) {
            (Client::Anthropic, _) => e
                .http
                .post(e.url("/v1/messages"))
                .header("x-api-key", CLIENT_KEY)
                .header("anthropic-version", "2023-06-01"),
            (Client::Gemini, true) => e
                .http
                .post(e.url("/v1beta/models/gemini-x:streamGenerateContent?alt=sse"))
                .header("x-goog-api-key", CLIENT_KEY),
            (Client::Gemini, false) => e
                .http
                .post(e.url("/v1beta/models/gemini-x:generateContent"))
                .header("x-goog-api-key", CLIENT_KEY),
        };
        r.header("content-type", "application/json").body(bytes)
    }

    /// A complete stream, valid by the dialect's rules.
    pub fn check_stream(self, bytes: &[u8]) -> Result<(), String> {
        match self {
            Client::Anthropic => check_anthropic_stream(bytes),
            Client::Gemini => check_gemini_stream(bytes),
        }
    }

    /// Does a stream's first chunk open the dialect's stream?
    pub fn opens_stream(self, first: &[u8]) -> bool {
        match self {
            Client::Anthropic => first.starts_with(b"event: message_start"),
            Client::Gemini => first.starts_with(b"data: {\"candidates\""),
        }
    }

    /// The text a client assembles from a stream.
    pub fn stream_text(self, r: &Resp) -> String {
        match self {
            Client::Anthropic => common::stream_text(r),
            Client::Gemini => gemini_frames(&r.text).iter().map(gemini_text).collect(),
        }
    }

    /// The text of a whole answer; `None` when it is not one.
    pub fn answer_text(self, r: &Resp) -> Option<String> {
        let v = r.json();
        match self {
            Client::Anthropic => (v["type"] == "message")
                .then(|| v["content"][0]["text"].as_str().unwrap_or("").to_string()),
            Client::Gemini => v.get("candidates").map(|_| gemini_text(&v)),
        }
    }

    /// Whether the stream ends with an error of Anthropic type `ty` in the dialect's words.
    pub fn ends_with_error(self, r: &Resp, ty: &str) -> bool {
        match self {
            Client::Anthropic => r
                .events()
                .last()
                .is_some_and(|(n, d)| n == "error" && d["error"]["type"] == ty),
            Client::Gemini => gemini_frames(&r.text)
                .last()
                .is_some_and(|f| f["error"]["status"] == google_status(ty)),
        }
    }

    /// Whether `v` is the dialect's error body for Anthropic type `ty`.
    pub fn is_error(self, v: &Value, ty: &str) -> bool {
        let has_message = |m: &Value| m.as_str().is_some_and(|m| !m.is_empty());
        match self {
            Client::Anthropic => {
                v["type"] == "error"
                    && v["error"]["type"] == ty
                    && has_message(&v["error"]["message"])
            }
            Client::Gemini => {
                v["error"]["status"] == google_status(ty)
                    && v["error"]["code"].is_u64()
                    && has_message(&v["error"]["message"])
            }
        }
    }
}
