//! The OpenAI face: [`Body::Message`](crate::Body::Message),
//! [`Body::EmptyMessage`](crate::Body::EmptyMessage) and [`Body::Error`](crate::Body::Error)
//! rendered as OpenAI Chat Completions (PROTOCOL.md §3).
//!
//! - JSON: `{"id":"chatcmpl-mock-N","object":"chat.completion",...,"choices":[{"message":..,
//!   "finish_reason":..}],"usage":{..}}`; thinking becomes `reasoning_content`, the tool call
//!   `tool_calls[0]` with `arguments` as a JSON string.
//! - Stream (`"stream": true`): data-only frames: a role chunk, one chunk per reasoning piece
//!   (`reasoning_content`), one per text piece (`content`), the tool call (id, type and name
//!   in the first delta of its index, arguments over three more), a finish chunk (`delta: {}`
//!   plus `finish_reason`), then, when the request has `stream_options.include_usage`, a
//!   usage chunk with `choices: []` (and `"usage": null` on every earlier chunk, as OpenAI
//!   does), and `data: [DONE]`.
//! - Errors: `{"error":{"message","type","param","code"}}`.
//!
//! Stop reasons map to finish reasons: `end_turn`/`stop_sequence` -> `stop`, `max_tokens` ->
//! `length`, `tool_use` -> `tool_calls`, `refusal` -> `content_filter`; any other value is
//! sent as is (to script odd upstreams). Interleaved parallel tool calls and other unusual
//! streams are scripted with [`Body::Sse`](crate::Body::Sse) and data-only
//! [`Step::data`](crate::Step::data) frames.

use crate::anthropic::{split_text, to_json, MessageCtx, MessageSpec};
use crate::body::Op;
use crate::face::RequestInfo;
use crate::reply::Body;
use crate::sse::sse_frame;
use bytes::Bytes;
use serde_json::{json, Value};

/// A fixed `created` timestamp: answers are reproducible.
const CREATED: u64 = 1_700_000_000;

/// What the face renders.
pub(crate) enum Rendered {
    /// A JSON body.
    Json(Bytes),
    /// An SSE stream.
    Stream(Vec<Op>),
}

/// Renders a model-answer or error body for an OpenAI-face request; `None` for the raw body
/// types, which every face sends as they are.
pub(crate) fn render(body: &Body, status: u16, info: &RequestInfo, id: u64) -> Option<Rendered> {
    let ctx = MessageCtx {
        model: &info.model,
        id,
        input_tokens: info.input_tokens,
    };
    let spec = match MessageSpec::of_message(body) {
        Some(spec) => spec,
        None => match body {
            Body::Error {
                error_type,
                message,
            } => {
                return Some(Rendered::Json(error_json(
                    status,
                    error_type.as_deref(),
                    message,
                )))
            }
            _ => return None,
        },
    };
    Some(if info.stream {
        Rendered::Stream(stream_ops(&spec, &ctx, info.include_usage))
    } else {
        Rendered::Json(message_json(&spec, &ctx))
    })
}

/// Facts shared by the JSON and stream renderings.
struct Resolved {
    id: String,
    tool_id: String,
    tool_args: String,
    finish: String,
    output_tokens: u64,
}

fn resolve(spec: &MessageSpec<'_>, ctx: &MessageCtx<'_>) -> Resolved {
    let tool_args = spec.tool_use.map(|t| to_json(&t.input)).unwrap_or_default();
    let tool_id = match spec.tool_use {
        Some(t) if !t.id.is_empty() => t.id.clone(),
        _ => format!("call_mock_{}", ctx.id),
    };
    let stop = spec.stop_reason.unwrap_or(if spec.tool_use.is_some() {
        "tool_use"
    } else {
        "end_turn"
    });
    let finish = match stop {
        "end_turn" | "stop_sequence" => "stop",
        "max_tokens" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        other => other,
    };
    let words = |s: &str| s.split_whitespace().count() as u64;
    let has_content = !spec.text.is_empty() || spec.thinking.is_some() || spec.tool_use.is_some();
    let estimate = words(spec.text) + spec.thinking.map_or(0, words) + tool_args.len() as u64 / 4;
    Resolved {
        id: format!("chatcmpl-mock-{}", ctx.id),
        tool_id,
        tool_args,
        finish: finish.to_owned(),
        output_tokens: spec
            .output_tokens
            .unwrap_or(if has_content { estimate.max(1) } else { 0 }),
    }
}

fn usage(ctx: &MessageCtx<'_>, r: &Resolved) -> Value {
    json!({
        "prompt_tokens": ctx.input_tokens,
        "completion_tokens": r.output_tokens,
        "total_tokens": ctx.input_tokens + r.output_tokens,
    })
}

/// The non-streaming `chat.completion`.
pub(crate) fn message_json(spec: &MessageSpec<'_>, ctx: &MessageCtx<'_>) -> Bytes {
    let r = resolve(spec, ctx);
    let mut message = json!({"role": "assistant", "content": spec.text});
    if let Some(t) = spec.thinking {
        message["reasoning_content"] = json!(t);
    }
    if let Some(tool) = spec.tool_use {
        if spec.text.is_empty() {
            message["content"] = Value::Null;
        }
        message["tool_calls"] = json!([{"id": r.tool_id, "type": "function",
            "function": {"name": tool.name, "arguments": r.tool_args}}]);
    }
    let body = json!({
        "id": r.id, "object": "chat.completion", "created": CREATED, "model": ctx.model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": r.finish}],
        "usage": usage(ctx, &r),
    });
    Bytes::from(to_json(&body))
}

/// The stream, as data-only frames with the chunk delay between deltas.
pub(crate) fn stream_ops(
    spec: &MessageSpec<'_>,
    ctx: &MessageCtx<'_>,
    include_usage: bool,
) -> Vec<Op> {
    let r = resolve(spec, ctx);
    let mut ops = Vec::new();
    let mut deltas_sent = false;
    let mut chunk = |ops: &mut Vec<Op>, delta: Value, finish: Option<&str>, is_delta: bool| {
        if is_delta {
            if deltas_sent && spec.chunk_delay_ms > 0 {
                ops.push(Op::Delay(spec.chunk_delay_ms));
            }
            deltas_sent = true;
        }
        let mut c = json!({
            "id": r.id, "object": "chat.completion.chunk", "created": CREATED, "model": ctx.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        ops.push(Op::Send(sse_frame(None, &to_json(&c))));
    };
    chunk(
        &mut ops,
        json!({"role": "assistant", "content": ""}),
        None,
        false,
    );
    for piece in spec
        .thinking
        .map(|t| split_text(t, None))
        .unwrap_or_default()
    {
        chunk(&mut ops, json!({"reasoning_content": piece}), None, true);
    }
    for piece in split_text(spec.text, spec.chunks) {
        chunk(&mut ops, json!({"content": piece}), None, true);
    }
    if let Some(tool) = spec.tool_use {
        let first = json!({"tool_calls": [{"index": 0, "id": r.tool_id, "type": "function",
            "function": {"name": tool.name, "arguments": ""}}]});
        chunk(&mut ops, first, None, true);
        for piece in split_text(&r.tool_args, Some(3)) {
            let d = json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]});
            chunk(&mut ops, d, None, true);
        }
    }
    chunk(&mut ops, json!({}), Some(&r.finish), false);
    if include_usage {
        let u = json!({
            "id": r.id, "object": "chat.completion.chunk", "created": CREATED, "model": ctx.model,
            "choices": [], "usage": usage(ctx, &r),
        });
        ops.push(Op::Send(sse_frame(None, &to_json(&u))));
    }
    ops.push(Op::Send(sse_frame(None, "[DONE]")));
    ops
}

/// The OpenAI error type for a status (when the script names none).
fn error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_exceeded",
        s if s >= 500 => "server_error",
        _ => "invalid_request_error",
    }
}

/// `{"error":{"message","type","param":null,"code"}}`. `code` is the scripted error type
/// when there is one, else `invalid_api_key` (401), `rate_limit_exceeded` (429) or null.
pub(crate) fn error_json(status: u16, scripted: Option<&str>, message: &str) -> Bytes {
    let code = match (scripted, status) {
        (Some(t), _) => json!(t),
        (None, 401) => json!("invalid_api_key"),
        (None, 429) => json!("rate_limit_exceeded"),
        _ => Value::Null,
    };
    let body = json!({"error": {"message": message,
        "type": scripted.unwrap_or_else(|| error_type(status)), "param": null, "code": code}});
    Bytes::from(to_json(&body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::Face;
    use crate::reply::Reply;

    fn info(stream: bool, include_usage: bool) -> RequestInfo {
        RequestInfo {
            face: Face::OpenAi,
            model: "gpt-mock".into(),
            stream,
            include_usage,
            input_tokens: 12,
        }
    }

    /// The data of every frame of a rendered stream.
    fn datas(r: Option<Rendered>) -> Vec<String> {
        let Some(Rendered::Stream(ops)) = r else {
            panic!("not a stream")
        };
        let mut out = Vec::new();
        for op in ops {
            if let Op::Send(b) = op {
                let s = String::from_utf8(b.to_vec()).expect("utf8");
                assert!(s.starts_with("data: ") && s.ends_with("\n\n"), "{s:?}");
                out.push(s["data: ".len()..s.len() - 2].to_owned());
            }
        }
        out
    }

    fn json_of(r: Option<Rendered>) -> Value {
        let Some(Rendered::Json(b)) = r else {
            panic!("not JSON")
        };
        serde_json::from_slice(&b).expect("json")
    }

    #[test]
    fn message_json_has_reasoning_tool_calls_and_usage() {
        let reply = Reply::text("Hi").with_thinking("hmm").with_tool_use(
            "",
            "get",
            json!({"city": "Paris"}),
        );
        let v = json_of(render(&reply.body, 200, &info(false, false), 3));
        assert_eq!(v["object"], "chat.completion");
        let m = &v["choices"][0]["message"];
        assert_eq!(m["content"], "Hi");
        assert_eq!(m["reasoning_content"], "hmm");
        assert_eq!(m["tool_calls"][0]["id"], "call_mock_3");
        assert_eq!(
            m["tool_calls"][0]["function"]["arguments"],
            "{\"city\":\"Paris\"}"
        );
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(v["usage"]["prompt_tokens"], 12);
        let v = json_of(render(&Body::EmptyMessage, 200, &info(false, false), 1));
        assert_eq!(v["choices"][0]["message"]["content"], "");
        assert_eq!(v["usage"]["completion_tokens"], 0);
        let r = Reply::text("x").with_stop_reason("max_tokens");
        let v = json_of(render(&r.body, 200, &info(false, false), 1));
        assert_eq!(v["choices"][0]["finish_reason"], "length");
    }

    #[test]
    fn stream_chunks_end_with_usage_and_done() {
        let reply = Reply::text("a b")
            .with_thinking("t")
            .with_tool_use("call_x", "get", json!({"k": "vvvvvv"}))
            .with_output_tokens(9);
        let d = datas(render(&reply.body, 200, &info(true, true), 1));
        let v: Vec<Value> = d[..d.len() - 1]
            .iter()
            .map(|s| serde_json::from_str(s).expect("json"))
            .collect();
        assert_eq!(d.last().map(String::as_str), Some("[DONE]"));
        assert_eq!(v[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(v[1]["choices"][0]["delta"]["reasoning_content"], "t");
        assert_eq!(v[2]["choices"][0]["delta"]["content"], "a");
        let first_tool = &v[4]["choices"][0]["delta"]["tool_calls"][0];
        assert_eq!(
            (&first_tool["id"], &first_tool["function"]["name"]),
            (&json!("call_x"), &json!("get"))
        );
        let args: String = v[5..8]
            .iter()
            .map(|c| {
                c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                    .as_str()
                    .expect("args")
                    .to_owned()
            })
            .collect();
        assert_eq!(args, "{\"k\":\"vvvvvv\"}");
        let finish = &v[v.len() - 2];
        assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(finish["usage"], Value::Null);
        let usage = &v[v.len() - 1];
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(usage["usage"]["completion_tokens"], 9);
        // Without include_usage: no usage anywhere.
        let d = datas(render(&Body::EmptyMessage, 200, &info(true, false), 1));
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(!d.iter().any(|s| s.contains("usage")));
    }

    #[test]
    fn errors_have_the_openai_shape() {
        let r = Reply::error(429, "slow down");
        let v = json_of(render(&r.body, 429, &info(true, false), 1));
        assert_eq!(
            v,
            json!({"error": {"message": "slow down", "type": "rate_limit_exceeded", "param": null, "code": "rate_limit_exceeded"}})
        );
        let r = Body::Error {
            error_type: Some("insufficient_quota".into()),
            message: "quota".into(),
        };
        let v = json_of(render(&r, 429, &info(false, false), 1));
        assert_eq!(v["error"]["code"], "insufficient_quota");
        assert!(render(&Body::Empty, 200, &info(false, false), 1).is_none());
    }
}

#[cfg(test)]
mod http_tests {
    use crate::{MockUpstream, Reply, Step};
    use serde_json::json;

    async fn post(base: &str, body: serde_json::Value) -> reqwest::Response {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client")
            .post(format!("{base}/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }

    #[tokio::test]
    async fn the_openai_face_over_http() {
        let mock = MockUpstream::start().await.expect("start");
        mock.push(Reply::text("Hello there").with_chunk_delay(1));
        mock.push(Reply::error(429, "slow down").with_header("retry-after", "7"));
        mock.push(Reply::sse([
            Step::data(json!({"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "id": "a", "function": {"name": "f", "arguments": "{"}},
                {"index": 1, "id": "b", "function": {"name": "g", "arguments": "{"}}]}}]})),
            Step::data(json!("[DONE]")),
        ]));
        let body = json!({"model": "gpt-x", "stream": true,
            "stream_options": {"include_usage": true}, "messages": []});
        let resp = post(&mock.base_url(), body.clone()).await;
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        let text = resp.text().await.expect("text");
        assert!(text.starts_with("data: {"), "{text}");
        assert!(text.contains("\"choices\":[]"), "usage chunk: {text}");
        assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
        assert!(!text.contains("event:"), "data-only frames");
        let resp = post(&mock.base_url(), body.clone()).await;
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "7");
        let v: serde_json::Value =
            serde_json::from_slice(&resp.bytes().await.expect("body")).expect("json");
        assert_eq!(v["error"]["message"], "slow down");
        let text = post(&mock.base_url(), body)
            .await
            .text()
            .await
            .expect("text");
        assert!(
            text.ends_with("data: [DONE]\n\n") && text.contains("\"index\":1"),
            "{text}"
        );
    }
}
