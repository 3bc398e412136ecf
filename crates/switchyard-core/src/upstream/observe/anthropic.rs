//! The hub dialect's answers (Anthropic Messages): `message_start` carries the model and the
//! input tokens, content blocks the content, `message_delta` the output tokens, `message_stop`
//! the end, `event: error` an error. Thinking signatures and tool ids from anyone but Anthropic
//! itself are stamped with the provider on their way out (see `translate::history`).

use bytes::{Bytes, BytesMut};

use super::{echo_model, Counts, Facts, FrameObserver, Observe, Seen};
use crate::protocol::anthropic::{error_event, parse_error, splice, ErrorType};
use crate::protocol::sse;
use crate::protocol::Dialect;
use crate::upstream::classify::{cache_of, message_facts, usage_of};

/// Anthropic answers, stamped for `stamp`'s provider when it is not Anthropic itself.
pub(crate) struct AnthropicAnswers {
    /// Provider id to stamp signatures and tool ids with.
    pub stamp: Option<String>,
}

impl Observe for AnthropicAnswers {
    fn dialect(&self) -> Dialect {
        Dialect::Anthropic
    }

    fn whole(&self, body: Bytes, client_model: &str) -> Option<(Bytes, Facts)> {
        let f = message_facts(&body)?;
        let facts = Facts {
            empty: f.empty,
            counts: Counts {
                input: f.input_tokens,
                output: f.output_tokens,
                cache_read: f.cache_read_tokens,
                cache_write: f.cache_write_tokens,
            },
        };
        let echoed = match f.model {
            Some(raw)
                if serde_json::from_str::<std::borrow::Cow<'_, str>>(raw.get())
                    .ok()
                    .as_deref()
                    != Some(client_model) =>
            {
                let new = serde_json::to_string(client_model).unwrap_or_default();
                splice(&body, raw, &new)
            }
            _ => None,
        };
        let body = echoed.unwrap_or(body);
        let body = match &self.stamp {
            Some(id) => crate::translate::history::stamp_response(&body, id).unwrap_or(body),
            None => body,
        };
        Some((body, facts))
    }

    fn stream(&self, client_model: &str) -> Box<dyn FrameObserver> {
        Box::new(Frames {
            client_model: client_model.to_string(),
            stamp: self.stamp.clone(),
            counts: Counts::default(),
            open_block: None,
        })
    }
}

struct Frames {
    client_model: String,
    stamp: Option<String>,
    counts: Counts,
    /// The index of the content block started and not yet stopped, if any.
    open_block: Option<u64>,
}

/// The `index` of a content-block frame's data.
fn block_index(data: &str) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Indexed {
        index: u64,
    }
    serde_json::from_str::<Indexed>(data).ok().map(|i| i.index)
}

impl Frames {
    /// `message_start`: read the input tokens, echo the client's model in `message.model`.
    fn start(&mut self, data: &str) -> Option<Bytes> {
        #[derive(serde::Deserialize)]
        struct Start<'a> {
            #[serde(borrow)]
            message: &'a serde_json::value::RawValue,
        }
        #[derive(serde::Deserialize)]
        struct Msg {
            #[serde(default)]
            usage: serde_json::Value,
        }
        let start: Start<'_> = serde_json::from_str(data).ok()?;
        let msg: Msg = serde_json::from_str(start.message.get()).ok()?;
        self.counts.input = usage_of(&msg.usage).0;
        (self.counts.cache_read, self.counts.cache_write) = cache_of(&msg.usage);
        let new_msg = echo_model(start.message.get().as_bytes(), &self.client_model)?;
        let new_msg = std::str::from_utf8(&new_msg).ok()?;
        let new_data = splice(data.as_bytes(), start.message, new_msg)?;
        Some(sse::encode(
            "message_start",
            std::str::from_utf8(&new_data).ok()?,
        ))
    }

    /// A frame stamped for the provider, when it needs to be.
    fn stamped(&self, event: &str, data: &str) -> Option<Bytes> {
        let id = self.stamp.as_deref()?;
        crate::translate::history::stamp_frame(event, data, id)
    }
}

impl FrameObserver for Frames {
    fn frame(&mut self, raw: &[u8]) -> (Seen, Option<Bytes>) {
        let f = sse::parse_frame(raw);
        let data: &str = &f.data;
        match f.event {
            Some("message_start") => (Seen::Other, self.start(data)),
            Some("content_block_start") => {
                self.open_block = block_index(data);
                (Seen::Content, self.stamped("content_block_start", data))
            }
            Some("content_block_delta") => {
                (Seen::Content, self.stamped("content_block_delta", data))
            }
            Some("content_block_stop") => {
                self.open_block = None;
                (Seen::Other, None)
            }
            Some("message_delta") => {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(data) {
                    let (i, o) = usage_of(&v["usage"]);
                    self.counts.output = self.counts.output.max(o);
                    if i > 0 {
                        self.counts.input = i;
                        (self.counts.cache_read, self.counts.cache_write) = cache_of(&v["usage"]);
                    }
                }
                (Seen::Other, None)
            }
            Some("message_stop") => (Seen::End, None),
            Some("error") => {
                let (kind, message) =
                    parse_error(data.as_bytes()).unwrap_or_else(|| (None, data.to_string()));
                (Seen::Error { kind, message }, None)
            }
            _ => (Seen::Other, None),
        }
    }

    fn counts(&self) -> Counts {
        self.counts
    }

    fn failure_frames(&mut self, kind: ErrorType, message: &str) -> Bytes {
        // A block left open is closed first: an error inside a block is not a stream the SDKs
        // accept.
        match self.open_block.take() {
            Some(index) => {
                let stop = serde_json::json!({"type": "content_block_stop", "index": index});
                let mut out =
                    BytesMut::from(&sse::encode("content_block_stop", &stop.to_string())[..]);
                out.extend_from_slice(&error_event(kind, message));
                out.freeze()
            }
            None => error_event(kind, message),
        }
    }
}
