//! OpenAI Chat Completions answers passing to an OpenAI client as they came: a whole
//! `chat.completion`, or `data:` chunks ending in `data: [DONE]`. Content is any non-empty
//! `content`, reasoning or `tool_calls` delta; an `{"error": ...}` object is an error; `usage`
//! (in the last chunk, asked for with `stream_options.include_usage`) gives the tokens. Every
//! chunk carries `model`, which is echoed as the client asked.

use bytes::Bytes;
use serde_json::Value;

use super::{echo_model, Counts, Facts, FrameObserver, Observe, Seen};
use crate::protocol::anthropic::ErrorType;
use crate::protocol::sse;
use crate::protocol::Dialect;
use crate::translate::openai::map_usage;

/// Chat Completions answers. `hide_usage`: the client did not ask for the usage chunk (we
/// did, to count tokens), so it is not passed on.
pub(crate) struct ChatAnswers {
    /// Drop usage-only chunks.
    pub hide_usage: bool,
}

fn counts(u: &Value) -> Counts {
    let m = map_usage(u);
    Counts {
        input: m.input_tokens + m.cache_read_input_tokens,
        output: m.output_tokens,
        cache_read: m.cache_read_input_tokens,
        cache_write: 0,
    }
}

/// Whether a message or delta object holds anything a person would see.
fn has_content(m: &Value) -> bool {
    let text = |k: &str| m[k].as_str().is_some_and(|s| !s.is_empty());
    text("content")
        || text("reasoning_content")
        || text("reasoning")
        || m["tool_calls"].as_array().is_some_and(|a| !a.is_empty())
        || m["content"].as_array().is_some_and(|a| !a.is_empty())
        || m["refusal"].as_str().is_some_and(|s| !s.is_empty())
}

/// The error object's message and type, in Anthropic's words.
fn error_of(e: &Value) -> (Option<ErrorType>, String) {
    let message = e["message"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| e.to_string());
    let kind = match e["code"].as_u64().or_else(|| e["status"].as_u64()) {
        Some(s) => Some(ErrorType::from_status(s as u16)),
        None => match e["type"].as_str().unwrap_or("") {
            t if t.contains("rate_limit") => Some(ErrorType::RateLimit),
            t if t.contains("authentication") => Some(ErrorType::Authentication),
            t if t.contains("insufficient_quota") => Some(ErrorType::Billing),
            "invalid_request_error" => Some(ErrorType::InvalidRequest),
            _ => None,
        },
    };
    (kind, message)
}

impl Observe for ChatAnswers {
    fn dialect(&self) -> Dialect {
        Dialect::OpenAiChat
    }

    fn whole(&self, body: Bytes, client_model: &str) -> Option<(Bytes, Facts)> {
        let v: Value = serde_json::from_slice(&body).ok()?;
        let choices = v.get("choices")?.as_array()?;
        let counts = counts(&v["usage"]);
        let content = choices.iter().any(|c| has_content(&c["message"]));
        let facts = Facts {
            empty: !content && counts.output == 0,
            counts,
        };
        let body = echo_model(&body, client_model).unwrap_or(body);
        Some((body, facts))
    }

    fn stream(&self, client_model: &str) -> Box<dyn FrameObserver> {
        Box::new(Chunks {
            client_model: client_model.to_string(),
            hide_usage: self.hide_usage,
            counts: Counts::default(),
            finished: false,
        })
    }
}

struct Chunks {
    client_model: String,
    hide_usage: bool,
    counts: Counts,
    /// A `finish_reason` came.
    finished: bool,
}

impl FrameObserver for Chunks {
    fn frame(&mut self, raw: &[u8]) -> (Seen, Option<Bytes>) {
        let f = sse::parse_frame(raw);
        let data = f.data.trim();
        if data.is_empty() {
            return (Seen::Other, None);
        }
        if data == "[DONE]" {
            return (Seen::End, None);
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return (Seen::Other, None);
        };
        if let Some(e) = v.get("error") {
            let (kind, message) = error_of(e);
            return (Seen::Error { kind, message }, None);
        }
        if v.get("usage").is_some_and(|u| u.is_object()) {
            self.counts = counts(&v["usage"]);
        }
        let choices = v["choices"].as_array();
        if choices.is_some_and(|c| c.iter().any(|c| !c["finish_reason"].is_null())) {
            self.finished = true;
        }
        if self.hide_usage && choices.is_some_and(|c| c.is_empty()) {
            return (Seen::Other, Some(Bytes::new()));
        }
        let seen = if choices.is_some_and(|c| c.iter().any(|c| has_content(&c["delta"]))) {
            Seen::Content
        } else {
            Seen::Other
        };
        let echoed = echo_model(data.as_bytes(), &self.client_model).map(|d| {
            let mut out = Vec::with_capacity(d.len() + 8);
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(&d);
            out.extend_from_slice(b"\n\n");
            Bytes::from(out)
        });
        (seen, echoed)
    }

    fn counts(&self) -> Counts {
        self.counts
    }

    fn complete_at_eof(&self) -> bool {
        self.finished
    }

    fn failure_frames(&mut self, kind: ErrorType, message: &str) -> Bytes {
        // The Anthropic error type goes in `code`, as on translated streams.
        let body = crate::translate::inbound_openai::error_body(
            kind.status(),
            message,
            None,
            Some(kind.as_str()),
        );
        Bytes::from(format!("data: {body}\n\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(o: &mut dyn FrameObserver, data: &str) -> (Seen, Option<Bytes>) {
        o.frame(format!("data: {data}\n\n").as_bytes())
    }

    #[test]
    fn chunks_are_read_and_the_model_echoed() {
        let mut o = ChatAnswers { hide_usage: true }.stream("claude-x");
        let (seen, out) = feed(
            &mut *o,
            r#"{"id":"c","model":"deepseek-chat","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
        );
        assert_eq!(seen, Seen::Other);
        assert!(String::from_utf8_lossy(&out.expect("echoed")).contains("\"model\":\"claude-x\""));
        let (seen, _) = feed(
            &mut *o,
            r#"{"model":"m","choices":[{"index":0,"delta":{"content":"hi"}}]}"#,
        );
        assert_eq!(seen, Seen::Content);
        let (_, out) = feed(
            &mut *o,
            r#"{"model":"m","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":3}}"#,
        );
        assert_eq!(
            out.as_deref(),
            Some(&b""[..]),
            "the usage chunk the client did not ask for"
        );
        assert_eq!((o.counts().input, o.counts().output), (10, 3));
        assert_eq!(feed(&mut *o, "[DONE]").0, Seen::End);
        let (seen, _) = feed(
            &mut *o,
            r#"{"error":{"message":"boom","type":"server_error"}}"#,
        );
        assert!(matches!(seen, Seen::Error { .. }));
    }

    #[test]
    fn whole_answers_tell_emptiness_and_tokens() {
        let a = ChatAnswers { hide_usage: false };
        let body = Bytes::from_static(br#"{"id":"c","model":"v","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}"#);
        let (out, facts) = a.whole(body, "claude-x").expect("answer");
        assert!(!facts.empty);
        assert_eq!((facts.counts.input, facts.counts.output), (5, 2));
        assert!(String::from_utf8_lossy(&out).contains("\"model\":\"claude-x\""));
        let empty = Bytes::from_static(br#"{"choices":[{"message":{"role":"assistant","content":""}}],"usage":{"completion_tokens":0}}"#);
        assert!(a.whole(empty, "m").expect("answer").1.empty);
    }

    #[test]
    fn reasoning_reported_beside_completion_is_output() {
        // xAI: total = prompt + completion + reasoning.
        let c = counts(
            &serde_json::json!({"prompt_tokens": 10, "completion_tokens": 16,
            "total_tokens": 222, "completion_tokens_details": {"reasoning_tokens": 196}}),
        );
        assert_eq!(c.output, 212);
        // OpenAI: reasoning inside completion.
        let c = counts(
            &serde_json::json!({"prompt_tokens": 10, "completion_tokens": 212,
            "total_tokens": 222, "completion_tokens_details": {"reasoning_tokens": 196}}),
        );
        assert_eq!(c.output, 212);
    }
}
