//! OpenAI Responses answers passing to a Responses client as they came: a whole `response`
//! object, or `event:`/`data:` frames from `response.created` to `response.completed`. Content
//! is any non-empty delta (text, reasoning, arguments) or a call item; `response.completed` and
//! `response.incomplete` end it (their `usage` gives the tokens); `response.failed` and `error`
//! are errors. The client's model is echoed in every `response` object (lifecycle events and
//! the whole answer).

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, value::RawValue, Value};

use super::{echo_model, Counts, Facts, FrameObserver, Observe, Seen};
use crate::protocol::anthropic::{splice, ErrorType};
use crate::protocol::sse;
use crate::protocol::Dialect;
use crate::translate::inbound_responses::error_code;
use crate::translate::responses::error_kind;

/// Responses answers.
pub(crate) struct ResponsesAnswers;

fn counts(u: &Value) -> Counts {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    Counts {
        input: n(&u["input_tokens"]),
        output: n(&u["output_tokens"]),
        cache_read: n(&u["input_tokens_details"]["cached_tokens"]),
        cache_write: 0,
    }
}

/// Whether an output item holds anything a person (or a tool) would see.
fn item_has_content(item: &Value) -> bool {
    match item["type"].as_str() {
        Some("message") => item["content"].as_array().is_some_and(|parts| {
            parts.iter().any(|p| {
                p["text"]
                    .as_str()
                    .or_else(|| p["refusal"].as_str())
                    .is_some_and(|t| !t.is_empty())
            })
        }),
        Some("reasoning") => {
            item["summary"].as_array().is_some_and(|s| !s.is_empty())
                || item["encrypted_content"]
                    .as_str()
                    .is_some_and(|e| !e.is_empty())
        }
        Some(_) => true,
        None => false,
    }
}

impl Observe for ResponsesAnswers {
    fn dialect(&self) -> Dialect {
        Dialect::OpenAiResponses
    }

    fn whole(&self, body: Bytes, client_model: &str) -> Option<(Bytes, Facts)> {
        let v: Value = serde_json::from_slice(&body).ok()?;
        let output = v.get("output")?.as_array()?;
        let counts = counts(&v["usage"]);
        let facts = Facts {
            empty: !output.iter().any(item_has_content) && counts.output == 0,
            counts,
        };
        let body = echo_model(&body, client_model).unwrap_or(body);
        Some((body, facts))
    }

    fn stream(&self, client_model: &str) -> Box<dyn FrameObserver> {
        Box::new(Events {
            client_model: client_model.to_string(),
            counts: Counts::default(),
            response_id: None,
            next_seq: 0,
            finished: false,
            open: None,
        })
    }
}

struct Events {
    client_model: String,
    counts: Counts,
    /// The response's id, for failure events the SDKs accept.
    response_id: Option<String>,
    /// The sequence number the next event we make up gets.
    next_seq: u64,
    /// `response.completed` or `.incomplete` came.
    finished: bool,
    /// The item added and not yet done, with its deltas so far: closed as incomplete when the
    /// stream breaks, so what the client got stays well-formed.
    open: Option<OpenItem>,
}

struct OpenItem {
    index: Value,
    item: Value,
    acc: String,
    part: bool,
}

impl OpenItem {
    /// The item as far as it came, `incomplete`.
    fn unfinished(&self) -> Value {
        let mut item = self.item.clone();
        item["status"] = json!("incomplete");
        match item["type"].as_str() {
            Some("message") if self.part => {
                item["content"] =
                    json!([{"type": "output_text", "annotations": [], "text": self.acc}]);
            }
            Some("reasoning") if self.part => {
                item["summary"] = json!([{"type": "summary_text", "text": self.acc}]);
            }
            Some("function_call") => item["arguments"] = json!(self.acc),
            Some("custom_tool_call") => item["input"] = json!(self.acc),
            _ => {}
        }
        item
    }
}

impl Events {
    /// The frame with `response.model` replaced by the client's model; `None` when unchanged.
    fn echo(&self, event: Option<&str>, data: &str) -> Option<Bytes> {
        #[derive(Deserialize)]
        struct Lifecycle<'a> {
            #[serde(borrow)]
            response: &'a RawValue,
        }
        let l: Lifecycle<'_> = serde_json::from_str(data).ok()?;
        let new_response = echo_model(l.response.get().as_bytes(), &self.client_model)?;
        let new_response = std::str::from_utf8(&new_response).ok()?;
        let new_data = splice(data.as_bytes(), l.response, new_response)?;
        let new_data = std::str::from_utf8(&new_data).ok()?;
        Some(match event {
            Some(ev) => sse::encode(ev, new_data),
            None => Bytes::from(format!("data: {new_data}\n\n")),
        })
    }
}

impl FrameObserver for Events {
    fn frame(&mut self, raw: &[u8]) -> (Seen, Option<Bytes>) {
        let f = sse::parse_frame(raw);
        let data = f.data.trim();
        if data.is_empty() {
            return (Seen::Other, None);
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return (Seen::Other, None);
        };
        if let Some(n) = v["sequence_number"].as_u64() {
            self.next_seq = self.next_seq.max(n + 1);
        }
        let ty = v["type"].as_str().or(f.event).unwrap_or("");
        match ty {
            "response.created" | "response.in_progress" | "response.queued" => {
                if let Some(id) = v["response"]["id"].as_str() {
                    self.response_id = Some(id.to_string());
                }
                (Seen::Other, self.echo(f.event, data))
            }
            "response.completed" | "response.incomplete" => {
                self.counts = counts(&v["response"]["usage"]);
                self.finished = true;
                (Seen::End, self.echo(f.event, data))
            }
            "response.failed" => {
                let e = &v["response"]["error"];
                let message = e["message"]
                    .as_str()
                    .unwrap_or("the response failed")
                    .to_string();
                let kind = Some(error_kind(e["code"].as_str()));
                (Seen::Error { kind, message }, self.echo(f.event, data))
            }
            "error" => {
                let message = v["message"].as_str().unwrap_or(data).to_string();
                let kind = Some(error_kind(v["code"].as_str()));
                (Seen::Error { kind, message }, None)
            }
            "response.output_item.added" | "response.output_item.done" => {
                self.open = (ty == "response.output_item.added").then(|| OpenItem {
                    index: v["output_index"].clone(),
                    item: v["item"].clone(),
                    acc: String::new(),
                    part: false,
                });
                let content = match v["item"]["type"].as_str() {
                    Some("message" | "reasoning") => {
                        ty.ends_with(".done") && item_has_content(&v["item"])
                    }
                    Some(_) => true,
                    None => false,
                };
                (if content { Seen::Content } else { Seen::Other }, None)
            }
            "response.content_part.added" | "response.reasoning_summary_part.added" => {
                if let Some(o) = self.open.as_mut() {
                    o.part = true;
                }
                (Seen::Other, None)
            }
            t if t.ends_with(".delta") => {
                let delta = v["delta"].as_str().unwrap_or("");
                if let Some(o) = self.open.as_mut() {
                    o.acc.push_str(delta);
                }
                let content = !delta.is_empty();
                (if content { Seen::Content } else { Seen::Other }, None)
            }
            _ => (Seen::Other, None),
        }
    }

    fn counts(&self) -> Counts {
        self.counts
    }

    fn complete_at_eof(&self) -> bool {
        self.finished
    }

    fn failure_frames(&mut self, kind: ErrorType, message: &str) -> Bytes {
        let code = error_code(Some(kind));
        let mut out = Vec::new();
        if let Some(o) = self.open.take() {
            let done = json!({"type": "response.output_item.done", "output_index": o.index,
                "item": o.unfinished(), "sequence_number": self.next_seq});
            self.next_seq += 1;
            out.extend_from_slice(&sse::encode("response.output_item.done", &done.to_string()));
        }
        let seq = self.next_seq;
        self.next_seq += 2;
        let error = json!({"type": "error", "code": code, "message": message, "param": null, "sequence_number": seq});
        let failed = json!({
            "type": "response.failed",
            "response": {
                "id": self.response_id.clone().unwrap_or_else(|| "resp_unknown".into()),
                "object": "response", "status": "failed", "model": self.client_model,
                "output": [], "usage": null,
                "error": {"code": code, "message": message, "type": kind.as_str()},
            },
            "sequence_number": seq + 1,
        });
        out.extend_from_slice(&sse::encode("error", &error.to_string()));
        out.extend_from_slice(&sse::encode("response.failed", &failed.to_string()));
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(v: Value) -> Vec<u8> {
        format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap_or("")).into_bytes()
    }

    #[test]
    fn events_are_read_and_the_model_echoed() {
        let mut o = ResponsesAnswers.stream("gpt-client");
        let (seen, out) = o.frame(&frame(json!({"type": "response.created", "sequence_number": 0,
            "response": {"id": "resp_1", "object": "response", "model": "gpt-5.1-codex", "output": []}})));
        assert_eq!(seen, Seen::Other);
        let out = String::from_utf8(out.expect("echoed").to_vec()).expect("utf8");
        assert!(out.starts_with("event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"model\":\"gpt-client\""), "{out}");
        let (seen, _) = o.frame(&frame(
            json!({"type": "response.output_item.added", "output_index": 0,
            "item": {"type": "message", "id": "m", "content": []}, "sequence_number": 1}),
        ));
        assert_eq!(seen, Seen::Other);
        let (seen, out) = o.frame(&frame(
            json!({"type": "response.output_text.delta", "delta": "hi", "sequence_number": 2}),
        ));
        assert_eq!((seen, out), (Seen::Content, None));
        let (seen, _) = o.frame(&frame(json!({"type": "response.completed", "sequence_number": 3,
            "response": {"id": "resp_1", "model": "x", "output": [],
                         "usage": {"input_tokens": 50, "input_tokens_details": {"cached_tokens": 20}, "output_tokens": 7}}})));
        assert_eq!(seen, Seen::End);
        assert_eq!(
            o.counts(),
            Counts {
                input: 50,
                output: 7,
                cache_read: 20,
                cache_write: 0
            }
        );
        assert!(o.complete_at_eof());
        let fail = String::from_utf8(o.failure_frames(ErrorType::Overloaded, "cut").to_vec())
            .expect("utf8");
        assert!(
            fail.contains("\"sequence_number\":4") && fail.contains("\"sequence_number\":5"),
            "{fail}"
        );
        assert!(fail.contains("\"id\":\"resp_1\""), "{fail}");
        let (seen, _) = o.frame(&frame(json!({"type": "response.failed", "response": {"error": {"code": "rate_limit_exceeded", "message": "slow"}}})));
        assert_eq!(
            seen,
            Seen::Error {
                kind: Some(ErrorType::RateLimit),
                message: "slow".into()
            }
        );
    }

    #[test]
    fn whole_answers_tell_emptiness_and_tokens() {
        let body = Bytes::from_static(br#"{"id":"resp_1","object":"response","model":"gpt-5","output":[{"type":"message","content":[{"type":"output_text","text":"hi"}]}],"usage":{"input_tokens":5,"output_tokens":2,"total_tokens":7}}"#);
        let (out, facts) = ResponsesAnswers.whole(body, "gpt-client").expect("answer");
        assert!(!facts.empty);
        assert_eq!((facts.counts.input, facts.counts.output), (5, 2));
        assert!(String::from_utf8_lossy(&out).contains("\"model\":\"gpt-client\""));
        let empty = Bytes::from_static(
            br#"{"output":[{"type":"message","content":[]}],"usage":{"output_tokens":0}}"#,
        );
        assert!(ResponsesAnswers.whole(empty, "m").expect("answer").1.empty);
        assert!(ResponsesAnswers
            .whole(Bytes::from_static(b"{}"), "m")
            .is_none());
    }
}
