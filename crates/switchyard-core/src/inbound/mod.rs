//! How clients speak to us: one adapter per client dialect behind [`ClientDialect`], and the
//! registry ([`for_path`]). A dialect reads a request into the hub dialect (Anthropic
//! Messages) and shapes the pipeline's hub-dialect [`Reply`] (a whole answer, a stream or an
//! error) back into its own. The pipeline itself never knows which dialect the client spoke.
//!
//! A new client dialect is a new file here, its routes in `server/mod.rs`, and its line in
//! [`for_path`] (see ARCHITECTURE.md, "Adding a client dialect").

mod anthropic;
pub(crate) mod gemini;
mod openai_chat;
mod openai_responses;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use http::{HeaderMap, StatusCode};

use crate::protocol::Dialect;
use crate::upstream::{HubRequest, ModelInfo};

pub(crate) use anthropic::ANTHROPIC;
pub(crate) use gemini::GEMINI;
pub(crate) use openai_chat::OPENAI_CHAT;
pub(crate) use openai_responses::OPENAI_RESPONSES;

/// What the pipeline answers, in the hub dialect (or, for errors made before any dialect was
/// known, as an Anthropic error object).
pub struct Reply {
    /// The dialect of the body: the hub's, or the client's own when the answer passed through.
    pub dialect: Dialect,
    /// Status.
    pub status: StatusCode,
    /// Headers (content type included).
    pub headers: HeaderMap,
    /// Body.
    pub body: ReplyBody,
}

/// A whole body or a stream of SSE bytes.
pub enum ReplyBody {
    /// Whole.
    Whole(Bytes),
    /// Streamed; ends when the answer does.
    Stream(BoxStream<'static, Bytes>),
}

impl Reply {
    /// A whole JSON answer.
    pub fn json(status: StatusCode, body: Bytes) -> Reply {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        Reply {
            dialect: Dialect::Anthropic,
            status,
            headers,
            body: ReplyBody::Whole(body),
        }
    }
}

/// A client request read into the hub dialect.
pub(crate) struct Inbound {
    /// The request as an Anthropic Messages body.
    pub request: HubRequest,
    /// The model the client asked for (echoed in every answer).
    pub model: String,
    /// The client wants a stream.
    pub stream: bool,
    /// The client's headers as the pipeline should see them.
    pub headers: HeaderMap,
    /// Shapes this request's reply into the client's dialect.
    pub shape: Box<dyn ShapeReply>,
}

/// A request refused before any provider saw it: the answer, already in the client's dialect,
/// and the message for the request log.
pub(crate) struct Refusal {
    /// The answer.
    pub reply: Reply,
    /// Why, for the log.
    pub message: String,
    /// The model, if it could be read.
    pub model: String,
}

/// Turns one request's hub-dialect reply into the client's dialect.
pub(crate) trait ShapeReply: Send {
    /// The reply as the client expects it.
    fn shape(self: Box<Self>, reply: Reply) -> Reply;
}

/// One client dialect.
pub(crate) trait ClientDialect: Sync {
    /// The wire dialect.
    fn dialect(&self) -> Dialect;

    /// The request log's name for its generate route (`messages`, `chat_completions`).
    fn route(&self) -> &'static str;

    /// Read a request (body and headers as the client sent them) into the hub dialect.
    fn read(&self, body: Bytes, headers: HeaderMap) -> Result<Inbound, Box<Refusal>>;

    /// Read a request sent to `path` (for dialects that name the model or the method in the
    /// path, as Gemini's does).
    fn read_at(
        &self,
        _path: &str,
        body: Bytes,
        headers: HeaderMap,
    ) -> Result<Inbound, Box<Refusal>> {
        self.read(body, headers)
    }

    /// An Anthropic error object (body) made outside the pipeline (the guard, a wrong method,
    /// an unknown path) in this dialect's shape; `None` keeps it as it is.
    fn error(&self, status: StatusCode, anthropic_body: &[u8]) -> Option<Bytes>;

    /// A model list in this dialect's shape. `query` is the client's query string (paging).
    fn model_list(&self, models: &[ModelInfo], query: Option<&str>) -> Bytes;
}

/// The dialect of a request path (after path normalisation); `None` for paths that are not
/// an API of a dialect (the admin API, the UI), which answer in Anthropic's shape.
pub(crate) fn for_path(path: &str) -> Option<&'static dyn ClientDialect> {
    match path {
        "/v1/chat/completions" | "/chat/completions" => Some(&OPENAI_CHAT),
        p if p.starts_with("/v1/responses") || p.starts_with("/responses") => {
            Some(&OPENAI_RESPONSES)
        }
        "/v1/messages" | "/messages" | "/v1/messages/count_tokens" | "/messages/count_tokens" => {
            Some(&ANTHROPIC)
        }
        p if gemini::is_gemini_path(p) => Some(&GEMINI),
        _ => None,
    }
}

/// Does a `GET /v1/models` come from an Anthropic client? Anthropic SDKs and Claude Code
/// always send `anthropic-version` (and usually `x-api-key`); OpenAI clients send neither.
pub(crate) fn models_dialect(headers: &HeaderMap) -> &'static dyn ClientDialect {
    let anthropic = ["anthropic-version", "anthropic-beta", "x-api-key"]
        .iter()
        .any(|h| headers.contains_key(*h));
    if anthropic {
        &ANTHROPIC
    } else {
        &OPENAI_CHAT
    }
}

/// A client dialect's stream writer: hub (Anthropic) SSE bytes in, the dialect's frames out.
pub(crate) trait Reframe: Send + 'static {
    /// Frames for these hub bytes (empty when none is complete yet).
    fn push(&mut self, chunk: &[u8]) -> Bytes;
    /// What ends the dialect's stream once the hub stream ended.
    fn end(&mut self) -> Bytes;
}

/// Relay the pipeline's hub SSE through `writer`. The inner stream is read to its end even
/// after the dialect's stream finished, so the pipeline records the request as complete, not
/// as abandoned.
pub(crate) fn reframed(
    inner: BoxStream<'static, Bytes>,
    writer: impl Reframe,
) -> impl futures_util::Stream<Item = Bytes> + Send {
    futures_util::stream::unfold(
        (inner, writer, false),
        |(mut inner, mut w, ended)| async move {
            use futures_util::StreamExt as _;
            if ended {
                return None;
            }
            loop {
                match inner.next().await {
                    Some(b) => {
                        let out = w.push(&b);
                        if !out.is_empty() {
                            return Some((out, (inner, w, false)));
                        }
                    }
                    None => {
                        let out = w.end();
                        if out.is_empty() {
                            return None;
                        }
                        return Some((out, (inner, w, true)));
                    }
                }
            }
        },
    )
}

macro_rules! reframe_by_inherent_methods {
    ($($t:ty),*) => {$(
        impl Reframe for $t {
            fn push(&mut self, chunk: &[u8]) -> Bytes {
                <$t>::push(self, chunk)
            }
            fn end(&mut self) -> Bytes {
                <$t>::end(self)
            }
        }
    )*};
}
reframe_by_inherent_methods!(
    crate::translate::inbound_openai::ChunkStream,
    crate::translate::inbound_responses::EventStream,
    crate::translate::inbound_gemini::GeminiStream
);

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn model_list_shape_follows_the_client() {
        let mut h = HeaderMap::new();
        assert_eq!(models_dialect(&h).route(), "chat_completions");
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("Bearer sk-x"),
        );
        assert_eq!(models_dialect(&h).route(), "chat_completions");
        for name in ["anthropic-version", "x-api-key", "anthropic-beta"] {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static("v"));
            assert_eq!(models_dialect(&h).route(), "messages", "{name}");
        }
    }
}
