//! The stream state machine: Anthropic events in, chunk lines out.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::ChunkStream;
use crate::protocol::sse;

fn ev(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn start() -> String {
    ev(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_X1", "model": "up", "content": [],
            "usage": {"input_tokens": 12, "cache_read_input_tokens": 30, "output_tokens": 1}}}),
    )
}

fn block_start(i: u64, block: Value) -> String {
    ev(
        "content_block_start",
        json!({"type": "content_block_start", "index": i, "content_block": block}),
    )
}

fn delta(i: u64, d: Value) -> String {
    ev(
        "content_block_delta",
        json!({"type": "content_block_delta", "index": i, "delta": d}),
    )
}

fn block_stop(i: u64) -> String {
    ev(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": i}),
    )
}

fn end(reason: &str, out: u64) -> String {
    ev(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": reason}, "usage": {"output_tokens": out}}),
    ) + &ev("message_stop", json!({"type": "message_stop"}))
}

/// The `data:` payloads of an output, in order (`[DONE]` kept as a string).
fn lines(out: &str) -> Vec<Value> {
    sse::frames(out.as_bytes())
        .map(sse::parse_frame)
        .filter(|f| !f.data.is_empty())
        .map(|f| {
            assert!(f.event.is_none(), "OpenAI streams have data lines only");
            if f.data == "[DONE]" {
                Value::String("[DONE]".into())
            } else {
                serde_json::from_str(&f.data).expect("each data line is JSON")
            }
        })
        .collect()
}

fn run(input: &str, include_usage: bool, split: usize) -> String {
    let mut s = ChunkStream::new("claude-client", include_usage);
    let mut out = Vec::new();
    for piece in input.as_bytes().chunks(split.max(1)) {
        out.extend_from_slice(&s.push(piece));
    }
    out.extend_from_slice(&s.end());
    String::from_utf8(out).expect("utf8")
}

#[test]
fn text_stream_with_usage() {
    let input = start()
        + &ev("ping", json!({"type": "ping"}))
        + &block_start(0, json!({"type": "text", "text": ""}))
        + &delta(0, json!({"type": "text_delta", "text": "Hel"}))
        + &delta(0, json!({"type": "text_delta", "text": "lo"}))
        + &block_stop(0)
        + &end("end_turn", 7);
    for split in [1, 7, 10_000] {
        let out = run(&input, true, split);
        assert!(out.contains(": ping\n\n"));
        let l = lines(&out);
        assert_eq!(l.len(), 6, "{out}");
        assert_eq!(l[0]["object"], "chat.completion.chunk");
        assert_eq!(l[0]["id"], "chatcmpl-X1");
        assert_eq!(l[0]["model"], "claude-client");
        assert_eq!(
            l[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        assert_eq!(l[0]["usage"], Value::Null);
        assert_eq!(l[1]["choices"][0]["delta"]["content"], "Hel");
        assert_eq!(l[2]["choices"][0]["delta"]["content"], "lo");
        assert_eq!(l[3]["choices"][0]["finish_reason"], "stop");
        assert_eq!(l[3]["choices"][0]["delta"], json!({}));
        assert_eq!(l[4]["choices"], json!([]));
        assert_eq!(
            l[4]["usage"],
            json!({"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49,
                   "prompt_tokens_details": {"cached_tokens": 30}})
        );
        assert_eq!(l[5], "[DONE]");
        assert!(l.iter().all(|c| c == "[DONE]" || c["id"] == "chatcmpl-X1"));
    }
}

#[test]
fn no_usage_chunk_unless_asked() {
    let input = start()
        + &block_start(0, json!({"type": "text", "text": "Hi"}))
        + &block_stop(0)
        + &end("max_tokens", 2);
    let l = lines(&run(&input, false, 10_000));
    assert_eq!(l.len(), 4);
    assert_eq!(
        l[1]["choices"][0]["delta"]["content"], "Hi",
        "initial block text is sent"
    );
    assert!(l[1].get("usage").is_none());
    assert_eq!(l[2]["choices"][0]["finish_reason"], "length");
    assert_eq!(l[3], "[DONE]");
}

#[test]
fn thinking_then_parallel_tool_calls() {
    let input = start()
        + &block_start(0, json!({"type": "thinking", "thinking": ""}))
        + &delta(0, json!({"type": "thinking_delta", "thinking": "hmm"}))
        + &delta(0, json!({"type": "signature_delta", "signature": "sig"}))
        + &block_stop(0)
        + &block_start(
            1,
            json!({"type": "tool_use", "id": "toolu_a", "name": "weather", "input": {}}),
        )
        + &delta(1, json!({"type": "input_json_delta", "partial_json": ""}))
        + &delta(
            1,
            json!({"type": "input_json_delta", "partial_json": "{\"city\":"}),
        )
        + &delta(
            1,
            json!({"type": "input_json_delta", "partial_json": "\"Paris\"}"}),
        )
        + &block_stop(1)
        + &block_start(
            2,
            json!({"type": "tool_use", "id": "toolu_b", "name": "time", "input": {}}),
        )
        + &delta(2, json!({"type": "input_json_delta", "partial_json": "{}"}))
        + &block_stop(2)
        + &end("tool_use", 30);
    let l = lines(&run(&input, false, 13));
    let deltas: Vec<&Value> = l[1..l.len() - 2]
        .iter()
        .map(|c| &c["choices"][0]["delta"])
        .collect();
    assert_eq!(deltas[0], &json!({"reasoning_content": "hmm"}));
    assert_eq!(
        deltas[1],
        &json!({"tool_calls": [{"index": 0, "id": "toolu_a", "type": "function",
                 "function": {"name": "weather", "arguments": ""}}]})
    );
    assert_eq!(
        deltas[2],
        &json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]})
    );
    assert_eq!(
        deltas[3],
        &json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]})
    );
    assert_eq!(deltas[4]["tool_calls"][0]["index"], 1);
    assert_eq!(deltas[4]["tool_calls"][0]["id"], "toolu_b");
    assert_eq!(
        deltas[5],
        &json!({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]})
    );
    assert_eq!(deltas.len(), 6);
    assert_eq!(l[l.len() - 2]["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn errors_end_the_stream_without_done() {
    let input = start()
        + &block_start(0, json!({"type": "text", "text": ""}))
        + &delta(0, json!({"type": "text_delta", "text": "par"}))
        + &ev(
            "error",
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        )
        + &delta(0, json!({"type": "text_delta", "text": "ignored"}));
    let out = run(&input, true, 10_000);
    let l = lines(&out);
    let last = l.last().expect("lines");
    assert_eq!(last["error"]["message"], "Overloaded");
    assert_eq!(last["error"]["code"], "overloaded_error");
    assert_eq!(last["error"]["type"], "server_error");
    assert!(!out.contains("[DONE]") && !out.contains("ignored"));
    // Input that stops before message_stop is an error too.
    let cut = start() + &block_start(0, json!({"type": "text", "text": ""}));
    let l = lines(&run(&cut, false, 10_000));
    assert!(l.last().expect("lines")["error"]["message"]
        .as_str()
        .unwrap()
        .contains("closed"));
}

/// One random Anthropic event.
#[derive(Debug, Clone)]
enum Ev {
    Text(String),
    Thinking(String),
    Tool(String),
    Args(String),
    Ping,
    Error,
}

fn arb_ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        4 => "[a-z \"{}\\\\]{0,8}".prop_map(Ev::Text),
        2 => "[a-z]{0,6}".prop_map(Ev::Thinking),
        2 => "[a-z_]{1,6}".prop_map(Ev::Tool),
        3 => "[a-z{}\":,]{0,6}".prop_map(Ev::Args),
        1 => Just(Ev::Ping),
        1 => Just(Ev::Error),
    ]
}

/// A plausible Anthropic stream: blocks open and close in order; optionally cut short.
fn render(evs: &[Ev], finish: bool) -> String {
    let mut s = start();
    let mut index = 0u64;
    let mut open: Option<&'static str> = None;
    let close = |s: &mut String, open: &mut Option<&'static str>, index: &mut u64| {
        if open.take().is_some() {
            *s += &block_stop(*index);
            *index += 1;
        }
    };
    for e in evs {
        match e {
            Ev::Text(t) => {
                if open != Some("text") {
                    close(&mut s, &mut open, &mut index);
                    s += &block_start(index, json!({"type": "text", "text": ""}));
                    open = Some("text");
                }
                s += &delta(index, json!({"type": "text_delta", "text": t}));
            }
            Ev::Thinking(t) => {
                if open != Some("thinking") {
                    close(&mut s, &mut open, &mut index);
                    s += &block_start(index, json!({"type": "thinking", "thinking": ""}));
                    open = Some("thinking");
                }
                s += &delta(index, json!({"type": "thinking_delta", "thinking": t}));
            }
            Ev::Tool(name) => {
                close(&mut s, &mut open, &mut index);
                s += &block_start(
                    index,
                    json!({"type": "tool_use", "id": format!("toolu_{index}"), "name": name, "input": {}}),
                );
                open = Some("tool");
            }
            Ev::Args(a) if open == Some("tool") => {
                s += &delta(
                    index,
                    json!({"type": "input_json_delta", "partial_json": a}),
                );
            }
            Ev::Args(_) => {}
            Ev::Ping => s += &ev("ping", json!({"type": "ping"})),
            Ev::Error => {
                s += &ev(
                    "error",
                    json!({"type": "error", "error": {"type": "api_error", "message": "boom"}}),
                )
            }
        }
    }
    close(&mut s, &mut open, &mut index);
    if finish {
        s += &end("end_turn", 5);
    }
    s
}

proptest! {
    #[test]
    fn any_event_sequence_gives_a_well_formed_chunk_stream(
        evs in prop::collection::vec(arb_ev(), 0..24),
        finish in any::<bool>(),
        include_usage in any::<bool>(),
        split in 1usize..64,
    ) {
        let input = render(&evs, finish);
        let out = run(&input, include_usage, split);
        prop_assert!(out.ends_with("\n\n"));
        let l = lines(&out);
        prop_assert!(!l.is_empty());
        let errored = evs.iter().any(|e| matches!(e, Ev::Error)) || !finish;
        let last = l.last().unwrap();
        if errored {
            prop_assert!(last.get("error").is_some(), "ends with an error chunk: {}", out);
            prop_assert!(!out.contains("[DONE]"));
        } else {
            prop_assert_eq!(last, &Value::String("[DONE]".into()));
            prop_assert_eq!(l.iter().filter(|c| *c == "[DONE]").count(), 1);
            let finishes: Vec<_> = l.iter().filter(|c| c["choices"][0]["finish_reason"].is_string()).collect();
            prop_assert_eq!(finishes.len(), 1);
            let has_tools = evs.iter().any(|e| matches!(e, Ev::Tool(_)));
            prop_assert_eq!(
                finishes[0]["choices"][0]["finish_reason"].as_str(),
                Some(if has_tools { "tool_calls" } else { "stop" })
            );
            prop_assert_eq!(l.iter().filter(|c| c["choices"] == json!([])).count(), usize::from(include_usage));
        }
        // Every chunk: right object, one choice (or none for usage); role only first.
        let mut seen_ids = std::collections::HashSet::new();
        let mut text = String::new();
        let mut args: Vec<String> = Vec::new();
        for (k, c) in l.iter().enumerate() {
            if c == "[DONE]" || c.get("error").is_some() { continue; }
            prop_assert_eq!(&c["object"], "chat.completion.chunk");
            prop_assert_eq!(&c["model"], "claude-client");
            let d = &c["choices"][0]["delta"];
            prop_assert_eq!(d.get("role").is_some(), k == 0);
            if let Some(t) = d["content"].as_str() { text.push_str(t); }
            if let Some(calls) = d["tool_calls"].as_array() {
                prop_assert_eq!(calls.len(), 1);
                let i = calls[0]["index"].as_u64().unwrap() as usize;
                if let Some(id) = calls[0]["id"].as_str() {
                    prop_assert!(seen_ids.insert(id.to_string()));
                    prop_assert_eq!(i, args.len(), "indexes count up from 0");
                    args.push(String::new());
                }
                prop_assert!(i < args.len(), "arguments only after the call opened");
                args[i].push_str(calls[0]["function"]["arguments"].as_str().unwrap());
            }
        }
        // Before any error, the streamed text and arguments are exactly the input's.
        let upto = evs.iter().position(|e| matches!(e, Ev::Error)).unwrap_or(evs.len());
        let want_text: String = evs[..upto].iter().filter_map(|e| match e { Ev::Text(t) => Some(t.as_str()), _ => None }).collect();
        prop_assert_eq!(text, want_text);
        let tools_before = evs[..upto].iter().filter(|e| matches!(e, Ev::Tool(_))).count();
        prop_assert_eq!(args.len(), tools_before);
    }
}
