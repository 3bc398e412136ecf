//! PROTOCOL.md §7 stream cases (11-18, 20) and the stream property test.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::{error_message, is_quota_error, StreamState};
use crate::protocol::sse;
use crate::translate::check::check_anthropic_stream;
use crate::translate::writer::StreamWriter;

fn chunk(delta: Value) -> String {
    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": null}]})
    .to_string()
}
fn text(s: &str) -> String {
    chunk(json!({"content": s}))
}
fn reasoning(s: &str) -> String {
    chunk(json!({"reasoning_content": s}))
}
fn tool(index: u64, id: Option<&str>, name: Option<&str>, args: Option<&str>) -> String {
    let mut call = json!({"index": index, "function": {}});
    if let Some(id) = id {
        call["id"] = json!(id);
        call["type"] = json!("function");
    }
    if let Some(n) = name {
        call["function"]["name"] = json!(n);
    }
    if let Some(a) = args {
        call["function"]["arguments"] = json!(a);
    }
    chunk(json!({"tool_calls": [call]}))
}
fn finish(reason: &str) -> String {
    json!({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
        .to_string()
}
fn usage(prompt: u64, completion: u64, cached: u64) -> String {
    json!({"id": "chatcmpl-1", "choices": [], "usage": {"prompt_tokens": prompt,
        "completion_tokens": completion, "prompt_tokens_details": {"cached_tokens": cached}}})
    .to_string()
}

/// Feeds the chunks (then `end(clean)` if given), checks the output with the SDK rules and
/// returns its events.
fn run(chunks: &[String], end: Option<bool>) -> Vec<(String, Value)> {
    run_with(chunks, end, &[])
}

fn run_with(
    chunks: &[String],
    end: Option<bool>,
    names: &[(String, String)],
) -> Vec<(String, Value)> {
    let mut w = StreamWriter::new("claude-x", "msg_1", "sy1.p.");
    let mut s = StreamState::new("p", names);
    for c in chunks {
        s.feed(c, &mut w);
    }
    if let Some(clean) = end {
        s.end(clean, &mut w);
    }
    let bytes = w.take().unwrap_or_default();
    if let Err(e) = check_anthropic_stream(&bytes) {
        panic!("{e}\n{}", String::from_utf8_lossy(&bytes));
    }
    events(&bytes)
}

fn events(bytes: &[u8]) -> Vec<(String, Value)> {
    sse::frames(bytes)
        .map(|f| {
            let p = sse::parse_frame(f);
            let v = serde_json::from_str(&p.data).expect("json");
            (p.event.unwrap_or("").to_string(), v)
        })
        .collect()
}

fn names(ev: &[(String, Value)]) -> Vec<&str> {
    ev.iter().map(|e| e.0.as_str()).collect()
}

/// `(type, id/name, accumulated text or JSON)` for each block.
fn blocks(ev: &[(String, Value)]) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for (name, v) in ev {
        match name.as_str() {
            "content_block_start" => {
                let b = &v["content_block"];
                let tag = format!(
                    "{}/{}",
                    b["id"].as_str().unwrap_or(""),
                    b["name"].as_str().unwrap_or("")
                );
                out.push((b["type"].as_str().unwrap_or("").into(), tag, String::new()));
            }
            "content_block_delta" => {
                let d = &v["delta"];
                let piece = ["text", "thinking", "partial_json"]
                    .iter()
                    .find_map(|k| d[*k].as_str())
                    .unwrap_or("");
                out.last_mut().expect("open block").2.push_str(piece);
            }
            _ => {}
        }
    }
    out
}

fn message_delta(ev: &[(String, Value)]) -> &Value {
    &ev.iter()
        .find(|e| e.0 == "message_delta")
        .expect("message_delta")
        .1
}

#[test]
fn case_11_one_message_start_with_input_tokens() {
    let ev = run(
        &[
            text("Hi"),
            text(" there"),
            finish("stop"),
            usage(120, 5, 100),
            "[DONE]".into(),
        ],
        Some(true),
    );
    assert_eq!(
        names(&ev).iter().filter(|n| **n == "message_start").count(),
        1
    );
    assert_eq!(ev[0].0, "message_start");
    let md = message_delta(&ev);
    assert_eq!(md["delta"]["stop_reason"], "end_turn");
    assert_eq!(md["usage"]["input_tokens"], 20, "prompt - cached");
    assert_eq!(md["usage"]["cache_read_input_tokens"], 100);
    assert_eq!(md["usage"]["output_tokens"], 5);
    assert_eq!(blocks(&ev)[0].2, "Hi there");
}

#[test]
fn case_12_text_tool_text_each_in_its_own_block() {
    let ev = run(
        &[
            text("I'll check."),
            tool(0, Some("call_1"), Some("get_weather"), Some("{\"city\":")),
            tool(0, None, None, Some("\"Paris\"")),
            text("Done."),
            finish("tool_calls"),
        ],
        Some(true),
    );
    let b = blocks(&ev);
    let kinds: Vec<&str> = b.iter().map(|b| b.0.as_str()).collect();
    assert_eq!(kinds, ["text", "tool_use", "text"]);
    assert_eq!(b[1].1, "call_1/get_weather");
    assert_eq!(
        b[1].2, "{\"city\":\"Paris\"}",
        "the cut-short object is completed"
    );
    let starts: Vec<u64> = ev
        .iter()
        .filter(|e| e.0 == "content_block_start")
        .map(|e| e.1["index"].as_u64().expect("index"))
        .collect();
    assert_eq!(starts, [0, 1, 2]);
    assert_eq!(message_delta(&ev)["delta"]["stop_reason"], "tool_use");
}

#[test]
fn case_13_reasoning_after_text_opens_a_new_signed_thinking_block() {
    let ev = run(
        &[
            reasoning("plan"),
            text("Answer"),
            reasoning("second thoughts"),
            text("!"),
            finish("stop"),
        ],
        Some(true),
    );
    let kinds: Vec<String> = blocks(&ev).into_iter().map(|b| b.0).collect();
    assert_eq!(kinds, ["thinking", "text", "thinking", "text"]);
    for (i, e) in ev.iter().enumerate() {
        if e.0 == "content_block_stop" && ev[i - 1].1["delta"]["type"] == "thinking_delta" {
            panic!(
                "thinking block {} stopped without its signature",
                e.1["index"]
            );
        }
    }
    let sigs: Vec<&Value> = ev
        .iter()
        .filter(|e| e.1["delta"]["type"] == "signature_delta")
        .map(|e| &e.1["delta"]["signature"])
        .collect();
    assert_eq!(sigs, [&json!("sy1.p."), &json!("sy1.p.")]);
    // OpenRouter's `reasoning` field works the same.
    let ev = run(
        &[chunk(json!({"reasoning": "r"})), finish("stop")],
        Some(true),
    );
    assert_eq!(blocks(&ev)[0].0, "thinking");
}

#[test]
fn case_14_tool_call_deltas_late_id_interleaved_split_empty() {
    let ev = run(
        &[
            chunk(json!({"role": "assistant", "content": ""})),
            tool(0, None, Some("get"), Some("{\"ci")),
            tool(1, Some("call_b"), Some("put"), Some("{\"x\"")),
            tool(0, Some("call_a"), None, Some("ty\":")),
            chunk(json!({})),
            chunk(json!({"content": null, "tool_calls": []})),
            tool(1, None, None, Some("")),
            tool(1, None, None, Some(":1}")),
            tool(0, None, None, Some("\"Pa")),
            tool(0, None, None, Some("ris\"}")),
            finish("tool_calls"),
            "[DONE]".into(),
        ],
        Some(true),
    );
    let b = blocks(&ev);
    assert_eq!(b.len(), 2, "{b:?}");
    assert_eq!(
        (b[0].1.as_str(), b[0].2.as_str()),
        ("call_b/put", "{\"x\":1}")
    );
    assert_eq!(
        (b[1].1.as_str(), b[1].2.as_str()),
        ("call_a/get", "{\"city\":\"Paris\"}"),
        "buffered while call_b streamed, then its own block"
    );
    assert_eq!(message_delta(&ev)["delta"]["stop_reason"], "tool_use");
    // Sequential calls stream live, each arguments split over many chunks.
    let mut chunks = vec![tool(0, Some("c0"), Some("a"), Some(""))];
    chunks.extend(
        "{\"k\": [1, 2]}"
            .chars()
            .map(|c| tool(0, None, None, Some(&c.to_string()))),
    );
    chunks.push(tool(1, Some("c1"), Some("b"), Some("{}")));
    chunks.push(finish("tool_calls"));
    let b = blocks(&run(&chunks, Some(true)));
    assert_eq!(b[0].2, "{\"k\": [1, 2]}");
    assert_eq!(b[1].2, "{}");
    // Servers that put every call on index 0: a new id is a new call.
    let b = blocks(&run(
        &[
            tool(0, Some("c0"), Some("a"), Some("{\"x\":1}")),
            tool(0, Some("c1"), Some("b"), Some("{\"y\"")),
            tool(0, None, None, Some(":2}")),
            finish("tool_calls"),
        ],
        Some(true),
    ));
    assert_eq!(
        b,
        [
            ("tool_use".into(), "c0/a".into(), "{\"x\":1}".into()),
            ("tool_use".into(), "c1/b".into(), "{\"y\":2}".into())
        ]
    );
    // Names the request translation changed are mapped back.
    let map = vec![("mcp_x_12345678".to_string(), "mcp.x".to_string())];
    let ev = run_with(
        &[
            tool(0, Some("c"), Some("mcp_x_12345678"), Some("{}")),
            finish("stop"),
        ],
        Some(true),
        &map,
    );
    assert_eq!(blocks(&ev)[0].1, "c/mcp.x");
}

#[test]
fn case_15_usage_only_chunk_after_finish_in_the_same_read() {
    let read = format!(
        "data: {}\n\ndata: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
        text("ok"),
        finish("stop"),
        usage(40, 2, 0)
    );
    let mut splitter = sse::Splitter::new();
    splitter.push(read.as_bytes());
    let all = splitter.take_complete().expect("frames");
    let chunks: Vec<String> = sse::frames(&all)
        .map(|f| sse::parse_frame(f).data.into_owned())
        .collect();
    let ev = run(&chunks, Some(true));
    let md = message_delta(&ev);
    assert_eq!(md["usage"]["input_tokens"], 40);
    assert_eq!(md["usage"]["output_tokens"], 2);
    // The message ends as soon as the usage is in: [DONE] and end() add nothing.
    let ev = run(&chunks[..3], None);
    assert_eq!(ev.last().expect("events").0, "message_stop");
    // No usage chunk at all: finish at [DONE] with what is known.
    let ev = run(&[text("ok"), finish("length"), "[DONE]".into()], Some(true));
    assert_eq!(message_delta(&ev)["delta"]["stop_reason"], "max_tokens");
}

#[test]
fn case_16_content_filter_refusal_and_tools_with_stop_and_cut_stream() {
    let ev = run(
        &[text("I can"), finish("content_filter"), usage(1, 1, 0)],
        Some(true),
    );
    assert_eq!(message_delta(&ev)["delta"]["stop_reason"], "refusal");
    let ev = run(
        &[tool(0, Some("c"), Some("f"), Some("{}")), finish("stop")],
        Some(true),
    );
    assert_eq!(message_delta(&ev)["delta"]["stop_reason"], "tool_use");
    // Cut mid tool call: every block closed, JSON completed, then an error event.
    let ev = run(
        &[
            reasoning("r"),
            text("t"),
            tool(0, Some("c"), Some("f"), Some("{\"path\":\"/tm")),
        ],
        Some(false),
    );
    assert_eq!(names(&ev).last(), Some(&"error"));
    assert_eq!(blocks(&ev)[2].2, "{\"path\":\"/tm\"}");
    let starts = names(&ev)
        .iter()
        .filter(|n| **n == "content_block_start")
        .count();
    let stops = names(&ev)
        .iter()
        .filter(|n| **n == "content_block_stop")
        .count();
    assert_eq!(starts, stops);
    // A buffered call that never got its id still closes (with a generated id).
    let ev = run(&[tool(0, None, Some("f"), Some("{\"a\":1"))], Some(true));
    let b = blocks(&ev);
    assert!(b[0].1.starts_with("toolu_sy"), "{b:?}");
    assert_eq!(b[0].2, "{\"a\":1}");
    // Clean close without finish_reason: end_turn.
    let ev = run(&[text("partial")], Some(true));
    assert_eq!(message_delta(&ev)["delta"]["stop_reason"], "end_turn");
    // Cut after the finish: the answer is whole, so it finishes normally.
    let ev = run(&[text("x"), finish("stop")], Some(false));
    assert_eq!(names(&ev).last(), Some(&"message_stop"));
}

#[test]
fn case_17_error_events_shaped_exactly() {
    let err = json!({"error": {"message": "Rate limit reached", "type": "requests",
        "param": null, "code": "rate_limit_exceeded"}});
    let ev = run(&[text("a"), err.to_string()], None);
    assert_eq!(
        ev.last().expect("event").1,
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limit reached"}})
    );
    let ev = run(&[text("a"), "{\"choices\": [".into()], None);
    assert_eq!(ev.last().expect("event").1["error"]["type"], "api_error");
    // Keep-alives and comments are ignored.
    let ev = run(
        &[": keep-alive".into(), "".into(), text("a"), finish("stop")],
        Some(true),
    );
    assert_eq!(names(&ev).last(), Some(&"message_stop"));
    // An error before anything else is a lone error event.
    let ev = run(
        &[json!({"error": {"message": "boom", "code": 503}}).to_string()],
        Some(true),
    );
    assert_eq!(names(&ev), ["error"]);
    assert_eq!(ev[0].1["error"]["type"], "overloaded_error");
}

#[test]
fn case_18_rate_limits_stay_rate_limits_and_spend_limits_are_marked() {
    let rate = br#"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
    let quota = br#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
    assert_eq!(
        error_message(rate).as_deref(),
        Some("Rate limit reached for requests")
    );
    assert!(!is_quota_error(rate), "a plain 429 is retried");
    assert!(is_quota_error(quota), "a spend-limit 429 is not");
    assert!(is_quota_error(
        br#"{"error":{"message":"Insufficient Balance","type":"unknown_error"}}"#
    ));
    let ev = run(
        &[json!({"error": {"message": "slow down", "code": 429}}).to_string()],
        None,
    );
    assert_eq!(ev[0].1["error"]["type"], "rate_limit_error");
}

#[test]
fn case_20_an_empty_answer_is_detectable() {
    let mut w = StreamWriter::new("m", "msg", "sy1.p.");
    let mut s = StreamState::new("p", &[]);
    s.feed(&chunk(json!({"role": "assistant", "content": ""})), &mut w);
    s.feed(&finish("stop"), &mut w);
    assert!(!s.produced_content());
    s.feed(&text("x"), &mut w);
    assert!(!s.produced_content(), "nothing is taken after the finish");
    let mut s2 = StreamState::new("p", &[]);
    s2.feed(&text("x"), &mut StreamWriter::new("m", "msg", ""));
    assert!(s2.produced_content());
}

#[derive(Debug, Clone)]
enum Op {
    Text(String),
    Reason(String),
    Tool {
        index: u64,
        id: Option<String>,
        name: Option<String>,
        args: String,
    },
    Empty,
    Usage,
    Finish(&'static str),
    Done,
    ErrorChunk,
    Malformed,
    KeepAlive,
}

fn op() -> impl Strategy<Value = Vec<Op>> {
    let args = "[{}\\[\\]\":,0-9a-z \\\\]{0,8}";
    prop_oneof![
        4 => "[a-z ]{0,6}".prop_map(|s| vec![Op::Text(s)]),
        2 => "[a-z ]{0,6}".prop_map(|s| vec![Op::Reason(s)]),
        4 => (0u64..3, proptest::option::of("[a-z.:]{1,4}"), proptest::option::of("[a-z]{1,3}"), args)
            .prop_map(|(index, id, name, args)| vec![Op::Tool { index, id, name, args }]),
        // A well-formed call split at random points.
        3 => (0u64..3, any::<std::collections::BTreeMap<String, i8>>(), proptest::collection::vec(any::<prop::sample::Index>(), 0..4))
            .prop_map(|(index, input, cuts)| {
                let text = serde_json::to_string(&input).expect("json");
                let chars: Vec<char> = text.chars().collect();
                let mut points: Vec<usize> = cuts.iter().map(|c| c.index(chars.len() + 1)).collect();
                points.extend([0, chars.len()]);
                points.sort_unstable();
                let mut ops = vec![Op::Tool { index, id: Some(format!("call_{index}")), name: Some("f".into()), args: String::new() }];
                for w in points.windows(2) {
                    ops.push(Op::Tool { index, id: None, name: None, args: chars[w[0]..w[1]].iter().collect() });
                }
                ops
            }),
        2 => Just(vec![Op::Empty]),
        1 => Just(vec![Op::Usage]),
        1 => prop_oneof![Just("stop"), Just("length"), Just("tool_calls"), Just("content_filter"), Just("weird")]
            .prop_map(|r| vec![Op::Finish(r)]),
        1 => Just(vec![Op::Done]),
        1 => Just(vec![Op::KeepAlive]),
        1 => prop_oneof![Just(Op::ErrorChunk), Just(Op::Malformed)].prop_map(|o| vec![o]),
    ]
}

fn render(op: &Op) -> String {
    match op {
        Op::Text(s) => text(s),
        Op::Reason(s) => reasoning(s),
        Op::Tool {
            index,
            id,
            name,
            args,
        } => tool(*index, id.as_deref(), name.as_deref(), Some(args)),
        Op::Empty => chunk(json!({})),
        Op::Usage => usage(10, 3, 4),
        Op::Finish(r) => finish(r),
        Op::Done => "[DONE]".into(),
        Op::ErrorChunk => json!({"error": {"message": "x", "type": "server_error"}}).to_string(),
        Op::Malformed => "{\"choices\":".into(),
        Op::KeepAlive => ": ping".into(),
    }
}

proptest! {
    /// Whatever the upstream sends, and wherever it stops, the client gets a stream the SDKs
    /// accept, ending in message_stop or error.
    #[test]
    fn any_chunk_sequence_yields_a_valid_anthropic_stream(
        ops in proptest::collection::vec(op(), 0..30),
        cut in any::<prop::sample::Index>(),
        clean in any::<bool>(),
    ) {
        let ops: Vec<Op> = ops.into_iter().flatten().collect();
        let n = cut.index(ops.len() + 1);
        let mut w = StreamWriter::new("m", "msg", "sy1.p.");
        let mut s = StreamState::new("p", &[]);
        let mut out = Vec::new();
        for op in &ops[..n] {
            s.feed(&render(op), &mut w);
            if let Some(b) = w.take() {
                out.extend_from_slice(&b);
            }
        }
        s.end(clean, &mut w);
        if let Some(b) = w.take() {
            out.extend_from_slice(&b);
        }
        prop_assert!(w.is_done());
        if let Err(e) = check_anthropic_stream(&out) {
            return Err(TestCaseError::fail(format!("{e}\nops: {:?}\n{}", &ops[..n], String::from_utf8_lossy(&out))));
        }
    }
}

/// The mock's OpenAI face, read over HTTP and translated: a valid Anthropic stream with the
/// mock's reasoning, text, tool call and usage.
#[tokio::test]
async fn mock_openai_stream_translates_end_to_end() {
    use switchyard_mock::{MockUpstream, Reply};
    let mock = MockUpstream::start().await.expect("mock");
    mock.push(
        Reply::text("Checking the weather")
            .with_thinking("need a tool")
            .with_tool_use("call_1", "get_weather", json!({"city": "Paris"}))
            .with_output_tokens(17),
    );
    let body = json!({"model": "gpt-x", "stream": true, "messages": [],
        "stream_options": {"include_usage": true}});
    let bytes = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!("{}/v1/chat/completions", mock.base_url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("send")
        .bytes()
        .await
        .expect("body");
    let mut w = StreamWriter::new("claude-x", "msg_1", "sy1.p.");
    let mut s = StreamState::new("p", &[]);
    for f in sse::frames(&bytes) {
        s.feed(&sse::parse_frame(f).data, &mut w);
    }
    s.end(true, &mut w);
    let out = w.take().expect("output");
    check_anthropic_stream(&out).expect("valid");
    let ev = events(&out);
    let b = blocks(&ev);
    let kinds: Vec<&str> = b.iter().map(|b| b.0.as_str()).collect();
    assert_eq!(kinds, ["thinking", "text", "tool_use"]);
    assert_eq!(b[1].2, "Checking the weather");
    assert_eq!(b[2].2, "{\"city\":\"Paris\"}");
    let md = message_delta(&ev);
    assert_eq!(md["delta"]["stop_reason"], "tool_use");
    assert_eq!(md["usage"]["output_tokens"], 17);
    assert!(md["usage"]["input_tokens"].as_u64().is_some_and(|n| n > 0));
}

/// Plain-text chunks take the typed fast path; the same chunks with an empty `refusal` (which
/// adds nothing) take the general `Value` path. Both must give the same events, byte for byte.
#[test]
fn plain_text_fast_path_matches_the_general_path() {
    let general = |s: &str| {
        let mut v: Value = serde_json::from_str(s).expect("chunk");
        for c in v["choices"].as_array_mut().into_iter().flatten() {
            c["delta"]["refusal"] = json!("");
        }
        v.to_string()
    };
    let first = json!({"id": "chatcmpl-1", "choices": [{"index": 0,
        "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]})
    .to_string();
    let fast = vec![
        first,
        text("Hello"),
        text(" \"quoted\" \u{e9}\\n"),
        text(""),
        finish("stop"),
        usage(12, 3, 0),
    ];
    let slow: Vec<String> = fast
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i + 1 < fast.len() {
                general(c)
            } else {
                c.clone()
            }
        })
        .collect();
    let a = run(&fast, Some(true));
    let b = run(&slow, Some(true));
    assert_eq!(a, b);
    let text_out: String = a
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .filter_map(|(_, v)| v["delta"]["text"].as_str())
        .collect();
    assert_eq!(text_out, "Hello \"quoted\" \u{e9}\\n");
}
