//! Hub streams and answers in the Responses dialect: event order, items, carriers, failures,
//! and (property) every stream the writer can produce comes out valid.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::*;
use crate::protocol::anthropic::ErrorType;
use crate::protocol::sse;
use crate::translate::writer::{StreamWriter, Usage};

fn tools() -> ToolMap {
    let mut m = ToolMap::default();
    let req = json!({"model": "m", "input": "x", "tools": [
        {"type": "function", "name": "exec_command"},
        {"type": "custom", "name": "apply_patch"},
        {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "go"}]},
    ]});
    if let Ok(i) = to_anthropic(&req) {
        m = i.tools;
    }
    m
}

fn translate(hub: &[u8], pieces: usize) -> String {
    let mut s = EventStream::new("gpt-5.1-codex", tools(), Map::new());
    let mut out = Vec::new();
    let size = hub.len().div_ceil(pieces.max(1)).max(1);
    for c in hub.chunks(size) {
        out.extend_from_slice(&s.push(c));
    }
    out.extend_from_slice(&s.end());
    String::from_utf8(out).expect("utf8")
}

fn events(text: &str) -> Vec<(String, Value)> {
    sse::frames(text.as_bytes())
        .map(sse::parse_frame)
        .filter(|f| f.event.is_some())
        .map(|f| {
            (
                f.event.unwrap_or("").to_string(),
                serde_json::from_str(&f.data).unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// A hub stream: thinking, text, a function call, a custom call, a namespaced call.
fn hub_stream() -> Vec<u8> {
    let mut w = StreamWriter::new("gpt-5.1-codex", "msg_01abc", "sy1.p.");
    w.start(Usage {
        input_tokens: 10,
        cache_read_input_tokens: 90,
        ..Default::default()
    });
    w.thinking("Let me ");
    w.thinking("look.");
    w.signature("EqQBsig");
    w.text("Running it.");
    w.ping();
    w.tool_start("toolu_1", "exec_command");
    w.tool_args("{\"cmd\":");
    w.tool_args("\"ls\"}");
    w.tool_start("toolu_2", "apply_patch");
    w.tool_args("{\"input\":\"*** Begin");
    w.tool_args(" Patch\"}");
    w.tool_start("toolu_3", "ns__go");
    w.finish(
        "tool_use",
        None,
        Usage {
            output_tokens: 42,
            ..Default::default()
        },
    );
    w.take().map(|b| b.to_vec()).unwrap_or_default()
}

#[test]
fn a_hub_stream_becomes_a_well_ordered_responses_stream() {
    let text = translate(&hub_stream(), 1);
    assert_eq!(check_responses_stream(text.as_bytes()), Ok(()), "{text}");
    assert!(text.contains(": ping\n\n"), "pings stay as comments");
    let ev = events(&text);
    let names: Vec<&str> = ev.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.custom_tool_call_input.delta",
            "response.custom_tool_call_input.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let created = &ev[0].1["response"];
    assert_eq!(created["id"], "resp_01abc");
    assert_eq!(created["model"], "gpt-5.1-codex");
    assert_eq!(created["status"], "in_progress");
    let done: Vec<&Value> = ev
        .iter()
        .filter(|e| e.0 == "response.output_item.done")
        .map(|e| &e.1["item"])
        .collect();
    assert_eq!(done[0]["summary"][0]["text"], "Let me look.");
    assert_eq!(
        super::carrier::decode(done[0]["encrypted_content"].as_str().expect("carrier")),
        Some(json!({"type": "thinking", "thinking": "Let me look.", "signature": "EqQBsig"}))
    );
    assert_eq!(done[1]["content"][0]["text"], "Running it.");
    assert_eq!(
        (&done[2]["type"], &done[2]["call_id"], &done[2]["arguments"]),
        (
            &json!("function_call"),
            &json!("toolu_1"),
            &json!("{\"cmd\":\"ls\"}")
        )
    );
    assert_eq!(
        (&done[3]["type"], &done[3]["input"]),
        (&json!("custom_tool_call"), &json!("*** Begin Patch"))
    );
    assert_eq!(
        (
            &done[4]["namespace"],
            &done[4]["name"],
            &done[4]["arguments"]
        ),
        (&json!("ns"), &json!("go"), &json!("{}"))
    );
    let completed = &ev.last().expect("events").1["response"];
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["output"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        completed["usage"],
        json!({"input_tokens": 100, "input_tokens_details": {"cached_tokens": 90, "cache_write_tokens": 0},
               "output_tokens": 42, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 142})
    );
}

#[test]
fn split_points_do_not_change_the_stream() {
    let hub = hub_stream();
    let strip = |t: String| -> String {
        // Timestamps differ between runs; everything else must not.
        t.lines()
            .map(|l| {
                let mut v: Value = match l.strip_prefix("data: ").map(serde_json::from_str) {
                    Some(Ok(v)) => v,
                    _ => return l.to_string(),
                };
                for k in ["created_at", "completed_at"] {
                    if let Some(r) = v.get_mut("response").and_then(Value::as_object_mut) {
                        r.remove(k);
                    }
                }
                v.to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let whole = strip(translate(&hub, 1));
    for pieces in [2, 7, 31, hub.len()] {
        assert_eq!(strip(translate(&hub, pieces)), whole, "{pieces} pieces");
    }
}

#[test]
fn token_limits_end_incomplete_and_failures_end_failed() {
    let mut w = StreamWriter::new("m", "msg_1", "");
    w.text("cut");
    w.finish("max_tokens", None, Usage::default());
    let text = translate(&w.take().expect("bytes"), 1);
    assert_eq!(check_responses_stream(text.as_bytes()), Ok(()), "{text}");
    let last = events(&text).pop().expect("events");
    assert_eq!(last.0, "response.incomplete");
    assert_eq!(
        last.1["response"]["incomplete_details"]["reason"],
        "max_output_tokens"
    );

    let mut w = StreamWriter::new("m", "msg_1", "");
    w.text("partial");
    w.error(ErrorType::RateLimit, "slow down");
    let text = translate(&w.take().expect("bytes"), 3);
    assert_eq!(check_responses_stream(text.as_bytes()), Ok(()), "{text}");
    let ev = events(&text);
    let n = ev.len();
    assert_eq!(ev[n - 2].0, "error");
    assert_eq!(ev[n - 2].1["code"], "rate_limit_exceeded");
    assert_eq!(ev[n - 1].0, "response.failed");
    let r = &ev[n - 1].1["response"];
    assert_eq!(
        r["error"],
        json!({"code": "rate_limit_exceeded", "message": "slow down", "type": "rate_limit_error"})
    );
    assert_eq!(
        r["output"][0]["status"], "completed",
        "the hub closed the block first"
    );
    assert_eq!(r["id"], ev[0].1["response"]["id"], "one response id");

    // Cut off without message_stop; and an error before anything started.
    let mut w = StreamWriter::new("m", "msg_1", "");
    w.tool_start("t", "exec_command");
    w.tool_args("{\"a\"");
    let text = translate(&w.take().expect("bytes"), 2);
    assert_eq!(check_responses_stream(text.as_bytes()), Ok(()), "{text}");
    assert!(text.contains("\"code\":\"server_error\""), "{text}");
    let failed = events(&text).pop().expect("events").1;
    assert_eq!(
        failed["response"]["output"][0]["status"], "incomplete",
        "the open call"
    );
    let text = translate(
        b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}\n\n",
        1,
    );
    assert_eq!(check_responses_stream(text.as_bytes()), Ok(()), "{text}");
}

#[test]
fn a_whole_message_becomes_a_response_object() {
    let msg = json!({
        "id": "msg_01xyz", "type": "message", "role": "assistant", "model": "up",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": "Hello"},
            {"type": "text", "text": " there"},
            {"type": "tool_use", "id": "toolu_9", "name": "apply_patch", "input": {"input": "patch"}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 3, "output_tokens": 5, "cache_creation_input_tokens": 2},
    });
    let mut echo = Map::new();
    echo.insert("tool_choice".into(), json!("auto"));
    let r = response(&msg, "gpt-x", &tools(), &echo);
    assert_eq!(r["id"], "resp_01xyz");
    assert_eq!(r["object"], "response");
    assert_eq!(r["model"], "gpt-x");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["tool_choice"], "auto");
    let out = r["output"].as_array().expect("output");
    let kinds: Vec<&str> = out.iter().filter_map(|i| i["type"].as_str()).collect();
    assert_eq!(
        kinds,
        ["reasoning", "reasoning", "message", "custom_tool_call"]
    );
    assert_eq!(out[1]["summary"], json!([]));
    assert_eq!(
        super::carrier::decode(out[1]["encrypted_content"].as_str().expect("c")),
        Some(json!({"type": "redacted_thinking", "data": "opaque"}))
    );
    assert_eq!(out[2]["content"][0]["text"], "Hello there");
    assert_eq!(out[3]["input"], "patch");
    assert_eq!(r["usage"]["input_tokens"], 5);
    assert_eq!(r["usage"]["total_tokens"], 10);
    let cut = json!({"content": [{"type": "text", "text": "x"}], "stop_reason": "max_tokens", "usage": {}});
    let r = response(&cut, "m", &ToolMap::default(), &Map::new());
    assert_eq!(
        (
            r["status"].as_str(),
            r["incomplete_details"]["reason"].as_str()
        ),
        (Some("incomplete"), Some("max_output_tokens"))
    );
}

/// One thing a hub stream can do next.
#[derive(Debug, Clone)]
enum Op {
    Text(String),
    Thinking(String),
    Signature,
    Tool(u8),
    Args,
    Close,
    Ping,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        "[a-z \\n\"]{0,6}".prop_map(Op::Text),
        "[a-z ]{0,6}".prop_map(Op::Thinking),
        Just(Op::Signature),
        (0u8..4).prop_map(Op::Tool),
        Just(Op::Args),
        Just(Op::Close),
        Just(Op::Ping),
    ]
}

proptest! {
    /// Whatever the hub streams (the writer keeps its rules), the Responses stream out is
    /// valid by the Responses rules, however the bytes are split, whether it ends normally,
    /// at the token limit, with an error or cut off.
    #[test]
    fn every_hub_stream_becomes_a_valid_responses_stream(
        ops in proptest::collection::vec(op(), 0..24),
        end in 0u8..4,
        pieces in 1usize..9,
    ) {
        let mut w = StreamWriter::new("m", "msg_p", "sy1.p.");
        let names = ["exec_command", "apply_patch", "ns__go", "unknown_tool"];
        let mut arg_state = 3u8;
        // A tool's JSON input must be whole before anything else happens in the stream.
        let finish_args = |w: &mut StreamWriter, state: &mut u8| {
            while *state < 3 {
                w.tool_args(["{\"input\":", "\"v\"", "}"][usize::from(*state)]);
                *state += 1;
            }
        };
        for o in &ops {
            if !matches!(o, Op::Args) {
                finish_args(&mut w, &mut arg_state);
            }
            match o {
                Op::Text(t) => w.text(t),
                Op::Thinking(t) => w.thinking(t),
                Op::Signature => w.signature("sig"),
                Op::Tool(n) => {
                    w.tool_start(&format!("toolu_{n}"), names[usize::from(*n)]);
                    arg_state = 0;
                }
                Op::Args => {
                    if arg_state < 3 {
                        w.tool_args(["{\"input\":", "\"v\"", "}"][usize::from(arg_state)]);
                        arg_state += 1;
                    }
                }
                Op::Close => w.close_block(),
                Op::Ping => w.ping(),
            }
        }
        if end != 3 {
            finish_args(&mut w, &mut arg_state);
        }
        match end {
            0 => w.finish("end_turn", None, Usage { output_tokens: 3, ..Default::default() }),
            1 => w.finish("max_tokens", None, Usage::default()),
            2 => w.error(ErrorType::Overloaded, "gone"),
            _ => {}
        }
        let hub = w.take().map(|b| b.to_vec()).unwrap_or_default();
        let text = translate(&hub, pieces);
        prop_assert!(check_responses_stream(text.as_bytes()).is_ok(),
            "{:?}\n{}", check_responses_stream(text.as_bytes()), text);
    }
}
