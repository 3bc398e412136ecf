//! The Anthropic face: message JSON, SSE streams, error bodies, token counts and model lists, in
//! the exact shapes of PROTOCOL.md §1.
//!
//! Everything is serialized through `#[derive(Serialize)]` structs so that keys come out in
//! Anthropic's order (`"type"` first) whatever `serde_json` map ordering the build uses.

use crate::reply::{Body, Step, ToolUse};
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

/// What a [`Body::Message`](crate::Body::Message) or
/// [`Body::EmptyMessage`](crate::Body::EmptyMessage) asks for, borrowed from the reply.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MessageSpec<'a> {
    pub text: &'a str,
    pub chunks: Option<usize>,
    /// Exact text deltas (overrides `chunks`); used by [`anthropic_stream_events`].
    pub pieces: Option<&'a [&'a str]>,
    pub chunk_delay_ms: u64,
    pub thinking: Option<&'a str>,
    pub tool_use: Option<&'a ToolUse>,
    pub stop_reason: Option<&'a str>,
    pub output_tokens: Option<u64>,
}

impl<'a> MessageSpec<'a> {
    /// The model answer a `Body::Message` asks for (any face renders it in its own format).
    pub(crate) fn of_message(body: &'a Body) -> Option<Self> {
        match body {
            Body::Message {
                text,
                chunks,
                chunk_delay_ms,
                thinking,
                tool_use,
                stop_reason,
                output_tokens,
            } => Some(MessageSpec {
                text,
                chunks: *chunks,
                pieces: None,
                chunk_delay_ms: *chunk_delay_ms,
                thinking: thinking.as_deref(),
                tool_use: tool_use.as_ref(),
                stop_reason: stop_reason.as_deref(),
                output_tokens: *output_tokens,
            }),
            Body::EmptyMessage => Some(MessageSpec {
                output_tokens: Some(0),
                ..MessageSpec::default()
            }),
            _ => None,
        }
    }
}

/// Per-response facts: ids and the request's model and size.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MessageCtx<'a> {
    pub model: &'a str,
    pub id: u64,
    pub input_tokens: u64,
}

#[derive(Serialize)]
struct Usage {
    input_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
    output_tokens: u64,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block<'a> {
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a Value,
    },
}

#[derive(Serialize)]
struct MessageObj<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    ty: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<Block<'a>>,
    stop_reason: Option<&'a str>,
    stop_sequence: Option<&'a str>,
    usage: Usage,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Delta<'a> {
    #[serde(rename = "text_delta")]
    Text { text: &'a str },
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: &'a str },
    #[serde(rename = "signature_delta")]
    Signature { signature: &'a str },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: &'a str },
}

#[derive(Serialize)]
struct StopDelta<'a> {
    stop_reason: &'a str,
    stop_sequence: Option<&'a str>,
}

#[derive(Serialize)]
struct OutputUsage {
    output_tokens: u64,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event<'a> {
    MessageStart {
        message: MessageObj<'a>,
    },
    ContentBlockStart {
        index: usize,
        content_block: Block<'a>,
    },
    Ping,
    ContentBlockDelta {
        index: usize,
        delta: Delta<'a>,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        delta: StopDelta<'a>,
        usage: OutputUsage,
    },
    MessageStop,
}

impl Event<'_> {
    fn name(&self) -> &'static str {
        match self {
            Event::MessageStart { .. } => "message_start",
            Event::ContentBlockStart { .. } => "content_block_start",
            Event::Ping => "ping",
            Event::ContentBlockDelta { .. } => "content_block_delta",
            Event::ContentBlockStop { .. } => "content_block_stop",
            Event::MessageDelta { .. } => "message_delta",
            Event::MessageStop => "message_stop",
        }
    }
}

/// One item of a rendered stream: a named event with its JSON, or a pause.
pub(crate) enum Item {
    Event(&'static str, String),
    Delay(u64),
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    // Serializing these plain structs cannot fail (no maps with non-string keys).
    serde_json::to_string(value).unwrap_or_default()
}

/// Splits `text` into deltas: `n` pieces of near-equal length, or by words (each piece starts
/// with the whitespace before its word) when `n` is `None`. Empty text gives no piece.
pub(crate) fn split_text(text: &str, n: Option<usize>) -> Vec<&str> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut cuts = vec![0];
    match n {
        Some(n) => {
            let starts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            let n = n.clamp(1, starts.len());
            for k in 1..n {
                cuts.push(starts[k * starts.len() / n]);
            }
        }
        None => {
            let mut prev_ws = true;
            for (i, c) in text.char_indices() {
                let ws = c.is_whitespace();
                if ws && !prev_ws && i > 0 {
                    cuts.push(i);
                }
                prev_ws = ws;
            }
        }
    }
    cuts.push(text.len());
    cuts.dedup();
    cuts.windows(2).map(|w| &text[w[0]..w[1]]).collect()
}

struct Resolved<'a> {
    msg_id: String,
    signature: String,
    tool_id: String,
    tool: Option<&'a ToolUse>,
    tool_json: String,
    stop_reason: &'a str,
    output_tokens: u64,
}

fn resolve<'a>(spec: &MessageSpec<'a>, ctx: &MessageCtx<'_>) -> Resolved<'a> {
    let tool_json = spec.tool_use.map(|t| to_json(&t.input)).unwrap_or_default();
    let tool_id = match spec.tool_use {
        Some(t) if !t.id.is_empty() => t.id.clone(),
        Some(_) => format!("toolu_mock_{}", ctx.id),
        None => String::new(),
    };
    let estimate = || {
        let words = |s: &str| s.split_whitespace().count() as u64;
        let n = words(spec.text) + spec.thinking.map_or(0, words) + tool_json.len() as u64 / 4;
        let has_content =
            !spec.text.is_empty() || spec.thinking.is_some() || spec.tool_use.is_some();
        if has_content {
            n.max(1)
        } else {
            0
        }
    };
    Resolved {
        msg_id: format!("msg_mock_{}", ctx.id),
        signature: format!("mock_signature_{}", ctx.id),
        tool_id,
        tool: spec.tool_use,
        stop_reason: spec.stop_reason.unwrap_or(if spec.tool_use.is_some() {
            "tool_use"
        } else {
            "end_turn"
        }),
        output_tokens: spec.output_tokens.unwrap_or_else(estimate),
        tool_json,
    }
}

fn blocks<'a>(spec: &MessageSpec<'a>, r: &'a Resolved<'a>) -> Vec<Block<'a>> {
    let mut out = Vec::new();
    if let Some(thinking) = spec.thinking {
        out.push(Block::Thinking {
            thinking,
            signature: &r.signature,
        });
    }
    if !spec.text.is_empty() {
        out.push(Block::Text { text: spec.text });
    }
    if let Some(tool) = r.tool {
        out.push(Block::ToolUse {
            id: &r.tool_id,
            name: &tool.name,
            input: &tool.input,
        });
    }
    out
}

/// The non-streaming message JSON.
pub(crate) fn message_json(spec: &MessageSpec<'_>, ctx: &MessageCtx<'_>) -> Bytes {
    let r = resolve(spec, ctx);
    let msg = MessageObj {
        id: &r.msg_id,
        ty: "message",
        role: "assistant",
        model: ctx.model,
        content: blocks(spec, &r),
        stop_reason: Some(r.stop_reason),
        stop_sequence: None,
        usage: Usage {
            input_tokens: ctx.input_tokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            output_tokens: r.output_tokens,
        },
    };
    Bytes::from(to_json(&msg))
}

/// Collects stream events, inserting the chunk delay between deltas and one `ping` after the
/// first `content_block_start`.
struct StreamBuilder {
    items: Vec<Item>,
    chunk_delay_ms: u64,
    deltas_sent: bool,
    pinged: bool,
}

impl StreamBuilder {
    fn push(&mut self, ev: Event<'_>) {
        if matches!(ev, Event::ContentBlockDelta { .. }) {
            if self.deltas_sent && self.chunk_delay_ms > 0 {
                self.items.push(Item::Delay(self.chunk_delay_ms));
            }
            self.deltas_sent = true;
        }
        self.items.push(Item::Event(ev.name(), to_json(&ev)));
    }

    fn ping_once(&mut self) {
        if !self.pinged {
            self.pinged = true;
            self.push(Event::Ping);
        }
    }

    fn block(&mut self, index: usize, start: Block<'_>, deltas: Vec<Delta<'_>>) {
        self.push(Event::ContentBlockStart {
            index,
            content_block: start,
        });
        self.ping_once();
        for delta in deltas {
            self.push(Event::ContentBlockDelta { index, delta });
        }
        self.push(Event::ContentBlockStop { index });
    }
}

/// The streaming message, as named events with pauses between deltas.
pub(crate) fn message_items(spec: &MessageSpec<'_>, ctx: &MessageCtx<'_>) -> Vec<Item> {
    let r = resolve(spec, ctx);
    let mut b = StreamBuilder {
        items: Vec::new(),
        chunk_delay_ms: spec.chunk_delay_ms,
        deltas_sent: false,
        pinged: false,
    };
    b.push(Event::MessageStart {
        message: MessageObj {
            id: &r.msg_id,
            ty: "message",
            role: "assistant",
            model: ctx.model,
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage: Usage {
                input_tokens: ctx.input_tokens,
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: 0,
                output_tokens: 1,
            },
        },
    });
    let mut index = 0;
    if let Some(thinking) = spec.thinking {
        let start = Block::Thinking {
            thinking: "",
            signature: "",
        };
        let mut deltas: Vec<Delta<'_>> = split_text(thinking, None)
            .into_iter()
            .map(|thinking| Delta::Thinking { thinking })
            .collect();
        deltas.push(Delta::Signature {
            signature: &r.signature,
        });
        b.block(index, start, deltas);
        index += 1;
    }
    if !spec.text.is_empty() {
        let pieces = match spec.pieces {
            Some(p) => p.iter().copied().filter(|c| !c.is_empty()).collect(),
            None => split_text(spec.text, spec.chunks),
        };
        let deltas = pieces
            .into_iter()
            .map(|text| Delta::Text { text })
            .collect();
        b.block(index, Block::Text { text: "" }, deltas);
        index += 1;
    }
    if let Some(tool) = r.tool {
        let empty_object = Value::Object(serde_json::Map::new());
        let start = Block::ToolUse {
            id: &r.tool_id,
            name: &tool.name,
            input: &empty_object,
        };
        let deltas = split_text(&r.tool_json, Some(2))
            .into_iter()
            .map(|partial_json| Delta::InputJson { partial_json })
            .collect();
        b.block(index, start, deltas);
    }
    b.ping_once();
    b.push(Event::MessageDelta {
        delta: StopDelta {
            stop_reason: r.stop_reason,
            stop_sequence: None,
        },
        usage: OutputUsage {
            output_tokens: r.output_tokens,
        },
    });
    b.push(Event::MessageStop);
    b.items
}

/// The canonical Anthropic text stream as [`Step`]s, for building variations of it by hand
/// (drop, reorder or corrupt a step, insert delays or an [`error_event`](crate::error_event)):
/// `message_start`, `content_block_start`, `ping`, one `text_delta` per chunk,
/// `content_block_stop`, `message_delta` (with `stop_reason` and `output_tokens`),
/// `message_stop`. Each step's data is the exact JSON text (a JSON string, sent verbatim). No
/// text block is emitted when `text_chunks` is empty. `input_tokens` in `message_start` is 10.
pub fn anthropic_stream_events(
    model: &str,
    text_chunks: &[&str],
    stop_reason: &str,
    output_tokens: u64,
) -> Vec<Step> {
    let text = text_chunks.concat();
    let spec = MessageSpec {
        text: &text,
        pieces: Some(text_chunks),
        stop_reason: Some(stop_reason),
        output_tokens: Some(output_tokens),
        ..MessageSpec::default()
    };
    let ctx = MessageCtx {
        model,
        id: 0,
        input_tokens: 10,
    };
    message_items(&spec, &ctx)
        .into_iter()
        .filter_map(|item| match item {
            Item::Event(name, json) => Some(Step::Event {
                event: Some(name.to_owned()),
                data: Value::String(json),
            }),
            Item::Delay(_) => None,
        })
        .collect()
}

/// The error body `{"type":"error","error":{"type":T,"message":M},"request_id":R}`.
pub(crate) fn error_json(error_type: &str, message: &str, request_id: &str) -> Bytes {
    #[derive(Serialize)]
    struct Inner<'a> {
        #[serde(rename = "type")]
        ty: &'a str,
        message: &'a str,
    }
    #[derive(Serialize)]
    struct Outer<'a> {
        #[serde(rename = "type")]
        ty: &'static str,
        error: Inner<'a>,
        request_id: &'a str,
    }
    Bytes::from(to_json(&Outer {
        ty: "error",
        error: Inner {
            ty: error_type,
            message,
        },
        request_id,
    }))
}

/// `{"input_tokens":N}`.
pub(crate) fn count_tokens_json(input_tokens: u64) -> Bytes {
    Bytes::from(format!("{{\"input_tokens\":{input_tokens}}}"))
}

/// The models the mock lists: (id, display name, created_at).
const MODELS: [(&str, &str, &str); 2] = [
    (
        "claude-sonnet-4-5-20250929",
        "Claude Sonnet 4.5",
        "2025-09-29T00:00:00Z",
    ),
    (
        "claude-haiku-4-5-20251001",
        "Claude Haiku 4.5",
        "2025-10-01T00:00:00Z",
    ),
];

#[derive(Serialize)]
struct ModelObj<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    id: &'a str,
    display_name: &'a str,
    created_at: &'a str,
}

/// `GET /v1/models`: `{"data":[..],"has_more":false,"first_id":..,"last_id":..}`.
pub(crate) fn models_json() -> Bytes {
    #[derive(Serialize)]
    struct List<'a> {
        data: Vec<ModelObj<'a>>,
        has_more: bool,
        first_id: &'a str,
        last_id: &'a str,
    }
    let data = MODELS
        .iter()
        .map(|(id, display_name, created_at)| ModelObj {
            ty: "model",
            id,
            display_name,
            created_at,
        })
        .collect();
    Bytes::from(to_json(&List {
        data,
        has_more: false,
        first_id: MODELS[0].0,
        last_id: MODELS[MODELS.len() - 1].0,
    }))
}

/// `GET /v1/models/{id}`: the model object (any id is "known"; its display name is the id).
pub(crate) fn model_json(id: &str) -> Bytes {
    let (display_name, created_at) = MODELS
        .iter()
        .find(|m| m.0 == id)
        .map_or((id, "2025-01-01T00:00:00Z"), |m| (m.1, m.2));
    Bytes::from(to_json(&ModelObj {
        ty: "model",
        id,
        display_name,
        created_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_by_words_keeps_whitespace() {
        assert_eq!(
            split_text("Hello from  mock\nnow", None),
            ["Hello", " from", "  mock", "\nnow"]
        );
        assert_eq!(split_text(" lead", None), [" lead"]);
        assert!(split_text("", None).is_empty());
    }

    #[test]
    fn split_in_n_pieces_on_char_boundaries() {
        assert_eq!(split_text("abcdef", Some(3)), ["ab", "cd", "ef"]);
        assert_eq!(split_text("héllo", Some(2)), ["hé", "llo"]);
        assert_eq!(split_text("ab", Some(10)), ["a", "b"]);
        assert_eq!(split_text("ab", Some(0)), ["ab"]);
    }

    #[test]
    fn message_delta_shape() {
        let spec = MessageSpec {
            text: "hi",
            ..MessageSpec::default()
        };
        let ctx = MessageCtx {
            model: "m",
            id: 7,
            input_tokens: 3,
        };
        let items = message_items(&spec, &ctx);
        let jsons: Vec<String> = items
            .into_iter()
            .filter_map(|i| match i {
                Item::Event(_, j) => Some(j),
                Item::Delay(_) => None,
            })
            .collect();
        assert_eq!(
            jsons[0],
            r#"{"type":"message_start","message":{"id":"msg_mock_7","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}"#
        );
        assert_eq!(
            jsons[jsons.len() - 2],
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":1}}"#
        );
        assert_eq!(jsons[jsons.len() - 1], r#"{"type":"message_stop"}"#);
    }
}
