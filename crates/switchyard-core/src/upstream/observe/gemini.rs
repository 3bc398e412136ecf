//! Gemini answers passing to a Gemini client as they came: a whole `GenerateContentResponse`,
//! or `data:` frames of response chunks (no `event:` lines, no end marker: the stream is done
//! when the chunk with a `finishReason` has come and the connection closes). Content is a
//! non-empty text part (thoughts included) or any function call or media part; an `error`
//! object is an error; `usageMetadata` (on every chunk, the last one complete) gives the
//! tokens. `modelVersion` is echoed as the client asked.

use bytes::Bytes;
use serde_json::Value;

use super::{Counts, Facts, FrameObserver, Observe, Seen};
use crate::protocol::anthropic::{splice, ErrorType};
use crate::protocol::sse;
use crate::protocol::Dialect;
use crate::translate::gemini::error_type;
use crate::translate::inbound_gemini::error_body;

/// Gemini answers.
pub(crate) struct GeminiAnswers;

fn counts(u: &Value) -> Counts {
    let n = |k: &str| u[k].as_u64().unwrap_or(0);
    Counts {
        input: n("promptTokenCount"),
        output: n("candidatesTokenCount") + n("thoughtsTokenCount"),
        cache_read: n("cachedContentTokenCount"),
        cache_write: 0,
    }
}

/// Whether a response (chunk) holds anything a person would see.
fn has_content(v: &Value) -> bool {
    let parts = v["candidates"][0]["content"]["parts"].as_array();
    parts.is_some_and(|ps| {
        ps.iter().any(|p| {
            p["text"].as_str().is_some_and(|t| !t.is_empty())
                || p.get("functionCall").is_some()
                || p.get("inlineData").is_some()
                || p.get("executableCode").is_some()
        })
    })
}

/// `body` with its top-level `modelVersion` replaced by `model`; `None` when nothing changes.
fn echo_model_version(body: &[u8], model: &str) -> Option<Bytes> {
    #[derive(serde::Deserialize)]
    struct M<'a> {
        #[serde(borrow, rename = "modelVersion", default)]
        model: Option<&'a serde_json::value::RawValue>,
    }
    let m: M<'_> = serde_json::from_slice(body).ok()?;
    let raw = m.model?;
    let current: std::borrow::Cow<'_, str> = serde_json::from_str(raw.get()).ok()?;
    if current == model {
        return None;
    }
    splice(body, raw, &serde_json::to_string(model).ok()?)
}

fn error_of(e: &Value) -> (Option<ErrorType>, String) {
    let code = e["code"]
        .as_u64()
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(500);
    let message = e["message"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| e.to_string());
    (Some(error_type(e["status"].as_str(), code)), message)
}

impl Observe for GeminiAnswers {
    fn dialect(&self) -> Dialect {
        Dialect::Gemini
    }

    fn whole(&self, body: Bytes, client_model: &str) -> Option<(Bytes, Facts)> {
        let v: Value = serde_json::from_slice(&body).ok()?;
        if v.get("candidates").is_none() && v.get("promptFeedback").is_none() {
            return None;
        }
        let counts = counts(&v["usageMetadata"]);
        let facts = Facts {
            empty: !has_content(&v) && counts.output == 0,
            counts,
        };
        let body = echo_model_version(&body, client_model).unwrap_or(body);
        Some((body, facts))
    }

    fn stream(&self, client_model: &str) -> Box<dyn FrameObserver> {
        Box::new(Chunks {
            client_model: client_model.to_string(),
            counts: Counts::default(),
            finished: false,
        })
    }
}

struct Chunks {
    client_model: String,
    counts: Counts,
    /// A `finishReason` came.
    finished: bool,
}

impl FrameObserver for Chunks {
    fn frame(&mut self, raw: &[u8]) -> (Seen, Option<Bytes>) {
        let f = sse::parse_frame(raw);
        let data = f.data.trim();
        if data.is_empty() {
            return (Seen::Other, None);
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return (Seen::Other, None);
        };
        if let Some(e) = v.get("error") {
            let (kind, message) = error_of(e);
            return (Seen::Error { kind, message }, None);
        }
        if let Some(u) = v.get("usageMetadata").filter(|u| u.is_object()) {
            self.counts = counts(u);
        }
        let finish = v["candidates"][0].get("finishReason").is_some()
            || v["promptFeedback"].get("blockReason").is_some();
        self.finished |= finish;
        let seen = if has_content(&v) {
            Seen::Content
        } else if finish {
            // The end, with nothing in it: an empty answer when nothing came before.
            Seen::End
        } else {
            Seen::Other
        };
        let echoed = echo_model_version(data.as_bytes(), &self.client_model).map(|d| {
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
        let body = error_body(kind.status(), message, None);
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
        let mut o = GeminiAnswers.stream("gemini-client");
        let (seen, out) = feed(
            &mut *o,
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},"index":0}],"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9},"modelVersion":"gemini-2.5-pro","responseId":"r"}"#,
        );
        assert_eq!(seen, Seen::Content);
        let out = String::from_utf8(out.expect("echoed").to_vec()).expect("utf8");
        assert!(
            out.starts_with("data: {") && out.ends_with("}\n\n"),
            "{out}"
        );
        assert!(out.contains(r#""modelVersion":"gemini-client""#), "{out}");
        assert!(!o.complete_at_eof());
        let (seen, _) = feed(
            &mut *o,
            r#"{"candidates":[{"content":{"role":"model","parts":[]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":2,"thoughtsTokenCount":3,"cachedContentTokenCount":4,"totalTokenCount":14}}"#,
        );
        assert_eq!(seen, Seen::End);
        assert!(o.complete_at_eof());
        let c = o.counts();
        assert_eq!((c.input, c.output, c.cache_read), (9, 5, 4));
        assert_eq!(c.billed().input, 5);
        let (seen, _) = feed(
            &mut *o,
            r#"{"error":{"code":429,"message":"slow","status":"RESOURCE_EXHAUSTED"}}"#,
        );
        assert_eq!(
            seen,
            Seen::Error {
                kind: Some(ErrorType::RateLimit),
                message: "slow".into()
            }
        );
        let f = String::from_utf8(o.failure_frames(ErrorType::Overloaded, "cut").to_vec())
            .expect("utf8");
        assert!(
            f.contains(r#""status":"UNAVAILABLE""#) && f.contains(r#""code":503"#),
            "{f}"
        );
    }

    #[test]
    fn whole_answers_tell_emptiness_and_tokens() {
        let body = Bytes::from_static(br#"{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"f","args":{}}}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":0,"totalTokenCount":5},"modelVersion":"up"}"#);
        let (out, facts) = GeminiAnswers.whole(body, "mine").expect("answer");
        assert!(!facts.empty, "a call is content");
        assert!(String::from_utf8_lossy(&out).contains(r#""modelVersion":"mine""#));
        let empty = Bytes::from_static(br#"{"candidates":[{"content":{"parts":[{"text":""}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5}}"#);
        assert!(GeminiAnswers.whole(empty, "m").expect("answer").1.empty);
        assert!(GeminiAnswers
            .whole(Bytes::from_static(br#"{"error":{}}"#), "m")
            .is_none());
    }
}
