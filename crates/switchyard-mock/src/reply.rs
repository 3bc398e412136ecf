//! The reply script: what the mock answers to one request.
//!
//! Every type here is `serde`-compatible and is exactly the JSON accepted by the control API
//! (`POST /__mock/replies`, `PUT /__mock/default`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One scripted answer to one request.
///
/// JSON form (every field but `body` optional):
/// `{"status":429,"headers":[["retry-after","30"]],"delay_ms":0,"body":{"type":"error","message":"slow down"}}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// HTTP status code (default 200). Ignored by [`Body::Hangup`].
    #[serde(default = "default_status")]
    pub status: u16,
    /// Extra response headers, in order. A header named here replaces the mock's own header of the
    /// same name (`content-type`, `request-id`); repeated names are all sent.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Milliseconds to wait before sending the response headers (a first-byte stall).
    #[serde(default)]
    pub delay_ms: u64,
    /// What to send after the headers.
    #[serde(default)]
    pub body: Body,
}

fn default_status() -> u16 {
    200
}

/// The body of a [`Reply`]. JSON: an object tagged by `"type"` (snake_case variant name).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Body {
    /// No body at all (`content-length: 0`).
    #[default]
    Empty,
    /// A JSON document, sent with `content-type: application/json`.
    Json {
        /// The document.
        value: Value,
    },
    /// Arbitrary text, sent verbatim.
    Raw {
        /// The bytes to send.
        text: String,
        /// The `content-type` (default `text/plain; charset=utf-8`).
        #[serde(default)]
        content_type: Option<String>,
    },
    /// A model answer that adapts to the request, rendered in the request's [`Face`](crate::Face).
    ///
    /// If the request JSON has `"stream": true` it is a correct SSE stream (`message_start`,
    /// `content_block_start`, `ping`, one delta per chunk, `content_block_stop`, `message_delta`
    /// with usage, `message_stop`), else the JSON message. `model` echoes the request's model and
    /// `input_tokens` is the request body length / 4 (at least 1).
    Message {
        /// The answer's text (no text block is emitted when empty).
        text: String,
        /// Split the text into this many deltas (default: one delta per word).
        #[serde(default)]
        chunks: Option<usize>,
        /// Milliseconds between stream deltas.
        #[serde(default)]
        chunk_delay_ms: u64,
        /// A thinking block placed before the text (with a signature).
        #[serde(default)]
        thinking: Option<String>,
        /// A tool call appended after the text; makes the default stop reason `tool_use`.
        #[serde(default)]
        tool_use: Option<ToolUse>,
        /// The stop reason (default `end_turn`, or `tool_use` when `tool_use` is set).
        #[serde(default)]
        stop_reason: Option<String>,
        /// Output tokens to report (default: an estimate from the content).
        #[serde(default)]
        output_tokens: Option<u64>,
    },
    /// An answer with no content blocks and 0 output tokens (stream or not, per the request).
    EmptyMessage,
    /// An Anthropic error body
    /// `{"type":"error","error":{"type":T,"message":M},"request_id":"req_mock_.."}`.
    Error {
        /// The error type (default: derived from the status per PROTOCOL.md §1, see
        /// [`error_type_for_status`]).
        #[serde(default)]
        error_type: Option<String>,
        /// The human-readable message.
        message: String,
    },
    /// A raw SSE script sent step by step (`content-type: text/event-stream`).
    Sse {
        /// The steps, in order.
        steps: Vec<Step>,
    },
    /// Close the TCP connection without sending any response (after `delay_ms`). Over HTTP/2
    /// this drops the whole connection, with every other stream on it.
    Hangup,
    /// A hostile body: `head` once, then `chunk` again and again until `total` bytes were
    /// sent in all (0: never stop). Generated as it is sent, so the mock holds one chunk.
    Flood {
        /// Sent first.
        head: String,
        /// Repeated after it.
        chunk: String,
        /// Bytes in all (0: endless).
        #[serde(default)]
        total: u64,
        /// The `content-type` (default `application/json`).
        #[serde(default)]
        content_type: Option<String>,
    },
}

/// A tool call inside a [`Body::Message`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolUse {
    /// The tool-use id (empty or absent: a generated `toolu_mock_<n>`).
    #[serde(default)]
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The tool's input (default `{}`).
    #[serde(default = "empty_object")]
    pub input: Value,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// One step of a [`Body::Sse`] script. JSON: an object tagged by `"type"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Step {
    /// One SSE frame: `event: NAME\ndata: DATA\n\n` (or `data: DATA\n\n` without a name).
    Event {
        /// The event name; `None` sends a data-only frame.
        #[serde(default)]
        event: Option<String>,
        /// The data: a JSON string is sent verbatim (one `data:` line per text line), anything
        /// else is serialized as compact JSON.
        data: Value,
    },
    /// Bytes sent verbatim (for malformed or truncated frames).
    Raw {
        /// The text to send.
        text: String,
    },
    /// Wait before the next step.
    Delay {
        /// Milliseconds to wait.
        ms: u64,
    },
    /// Keep the connection open and send nothing more, until the client goes away.
    Stall,
    /// Abort the connection mid-body (the client sees an incomplete chunked body).
    Hangup,
}

impl Reply {
    /// A 200 reply with no body.
    pub fn new(body: Body) -> Self {
        Reply {
            status: 200,
            headers: Vec::new(),
            delay_ms: 0,
            body,
        }
    }

    /// A 200 [`Body::Message`] answering `text` (streamed or not, as the request asks).
    pub fn text(text: impl Into<String>) -> Self {
        Reply::new(Body::Message {
            text: text.into(),
            chunks: None,
            chunk_delay_ms: 0,
            thinking: None,
            tool_use: None,
            stop_reason: None,
            output_tokens: None,
        })
    }

    /// An Anthropic error body with `status`; the error type follows the status.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Reply {
            status,
            ..Reply::new(Body::Error {
                error_type: None,
                message: message.into(),
            })
        }
    }

    /// A 200 [`Body::EmptyMessage`]: no content, 0 output tokens.
    pub fn empty_message() -> Self {
        Reply::new(Body::EmptyMessage)
    }

    /// A hostile body that never ends or ends very late (see [`Body::Flood`]).
    pub fn flood(head: &str, chunk: &str, total: u64, content_type: &str) -> Self {
        Reply::new(Body::Flood {
            head: head.to_string(),
            chunk: chunk.to_string(),
            total,
            content_type: Some(content_type.to_string()),
        })
    }

    /// Close the connection without an answer (see [`Body::Hangup`]).
    pub fn hangup() -> Self {
        Reply::new(Body::Hangup)
    }

    /// A 200 raw SSE script.
    pub fn sse(steps: impl IntoIterator<Item = Step>) -> Self {
        Reply::new(Body::Sse {
            steps: steps.into_iter().collect(),
        })
    }

    /// A reply with a JSON body.
    pub fn json(status: u16, value: Value) -> Self {
        Reply {
            status,
            ..Reply::new(Body::Json { value })
        }
    }

    /// Sets the status code.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the delay before the response headers, in milliseconds.
    pub fn with_delay(mut self, ms: u64) -> Self {
        self.delay_ms = ms;
        self
    }

    /// For a [`Body::Message`]: sets the number of deltas the text is split into.
    pub fn with_chunks(mut self, n: usize) -> Self {
        if let Body::Message { chunks, .. } = &mut self.body {
            *chunks = Some(n);
        }
        self
    }

    /// For a [`Body::Message`]: sets the delay between stream deltas, in milliseconds.
    pub fn with_chunk_delay(mut self, ms: u64) -> Self {
        if let Body::Message { chunk_delay_ms, .. } = &mut self.body {
            *chunk_delay_ms = ms;
        }
        self
    }

    /// For a [`Body::Message`]: adds a thinking block before the text.
    pub fn with_thinking(mut self, text: impl Into<String>) -> Self {
        if let Body::Message { thinking, .. } = &mut self.body {
            *thinking = Some(text.into());
        }
        self
    }

    /// For a [`Body::Message`]: appends a tool call (`id` may be empty for a generated one).
    pub fn with_tool_use(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        input: Value,
    ) -> Self {
        if let Body::Message { tool_use, .. } = &mut self.body {
            *tool_use = Some(ToolUse {
                id: id.into(),
                name: name.into(),
                input,
            });
        }
        self
    }

    /// For a [`Body::Message`]: sets the stop reason.
    pub fn with_stop_reason(mut self, reason: impl Into<String>) -> Self {
        if let Body::Message { stop_reason, .. } = &mut self.body {
            *stop_reason = Some(reason.into());
        }
        self
    }

    /// For a [`Body::Message`]: sets the reported output tokens.
    pub fn with_output_tokens(mut self, n: u64) -> Self {
        if let Body::Message { output_tokens, .. } = &mut self.body {
            *output_tokens = Some(n);
        }
        self
    }
}

impl Step {
    /// A named event whose data is `data` serialized as JSON.
    pub fn event(name: impl Into<String>, data: Value) -> Self {
        Step::Event {
            event: Some(name.into()),
            data,
        }
    }

    /// A data-only frame (`data: ...\n\n`), e.g. OpenAI's `[DONE]` when `data` is a string.
    pub fn data(data: Value) -> Self {
        Step::Event { event: None, data }
    }

    /// Bytes sent verbatim.
    pub fn raw(text: impl Into<String>) -> Self {
        Step::Raw { text: text.into() }
    }

    /// A pause of `ms` milliseconds.
    pub fn delay(ms: u64) -> Self {
        Step::Delay { ms }
    }
}

/// An in-band Anthropic stream error:
/// `event: error` / `data: {"type":"error","error":{"type":T,"message":M}}`.
pub fn error_event(error_type: &str, message: &str) -> Step {
    // Written by hand so "type" comes first, as Anthropic sends it, whatever serde_json's map
    // ordering is; `Value`'s Display does the string escaping.
    let text = format!(
        "{{\"type\":\"error\",\"error\":{{\"type\":{},\"message\":{}}}}}",
        Value::from(error_type),
        Value::from(message)
    );
    Step::Event {
        event: Some("error".to_owned()),
        data: Value::String(text),
    }
}

/// The Anthropic error type for an HTTP status (PROTOCOL.md §1): 400 `invalid_request_error`,
/// 401 `authentication_error`, 402 `billing_error`, 403 `permission_error`, 404
/// `not_found_error`, 413 `request_too_large`, 429 `rate_limit_error`, 500 `api_error`, 504
/// `timeout_error`, 529 `overloaded_error`; other 5xx `api_error`, anything else
/// `invalid_request_error`.
pub fn error_type_for_status(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        500 => "api_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    }
}
