//! Hub answers and streams -> Gemini, checked with the Gemini stream rules.

use serde_json::{json, Value};

use super::*;
use crate::protocol::anthropic::{error_body as anthropic_error, ErrorType};

fn ev(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn hub_stream(blocks: &[Value], stop: &str) -> String {
    let mut s = ev(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_01X", "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 1}}}),
    );
    for (i, b) in blocks.iter().enumerate() {
        match b["type"].as_str() {
            Some("thinking") => {
                s += &ev(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": i, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
                );
                s += &ev(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": i, "delta": {"type": "thinking_delta", "thinking": b["thinking"]}}),
                );
                s += &ev(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": i, "delta": {"type": "signature_delta", "signature": b["signature"]}}),
                );
            }
            Some("text") => {
                s += &ev(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}),
                );
                for w in b["text"].as_str().unwrap_or("").split_inclusive(' ') {
                    s += &ev(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": w}}),
                    );
                }
            }
            _ => {
                s += &ev(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}}),
                );
                let args = b["input"].to_string();
                let (a, z) = args.split_at(args.len() / 2);
                for part in [a, z] {
                    s += &ev(
                        "content_block_delta",
                        json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": part}}),
                    );
                }
            }
        }
        s += &ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": i}),
        );
    }
    s += &ev("ping", json!({"type": "ping"}));
    s += &ev(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 7}}),
    );
    s + &ev("message_stop", json!({"type": "message_stop"}))
}

fn run(input: &str, include_thoughts: bool, split: usize) -> String {
    let mut s = GeminiStream::new("gemini-x", include_thoughts);
    let mut out = Vec::new();
    for chunk in input.as_bytes().chunks(split) {
        out.extend_from_slice(&s.push(chunk));
    }
    out.extend_from_slice(&s.end());
    String::from_utf8(out).expect("utf8")
}

fn chunks(out: &str) -> Vec<Value> {
    out.split("\n\n")
        .filter_map(|f| f.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).expect("json"))
        .collect()
}

fn blocks() -> Vec<Value> {
    vec![
        json!({"type": "thinking", "thinking": "plan", "signature": "sigA"}),
        json!({"type": "text", "text": "Reading it now."}),
        json!({"type": "tool_use", "id": "toolu_9", "name": "read_file", "input": {"file_path": "a.txt"}}),
    ]
}

#[test]
fn a_stream_is_valid_and_carries_everything() {
    let input = hub_stream(&blocks(), "tool_use");
    for split in [1, 7, 4096] {
        let out = run(&input, true, split);
        check_gemini_stream(out.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{out}"));
        let c = chunks(&out);
        let parts: Vec<Value> = c
            .iter()
            .flat_map(|c| {
                c["candidates"][0]["content"]["parts"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(parts[0], json!({"text": "plan", "thought": true}));
        let text: String = parts
            .iter()
            .filter(|p| p["thought"] != true)
            .filter_map(|p| p["text"].as_str())
            .collect();
        assert_eq!(text, "Reading it now.");
        let sig = parts[1]["thoughtSignature"]
            .as_str()
            .expect("the first part after thinking carries it");
        assert_eq!(unpack(sig), Some(vec![blocks()[0].clone()]));
        let call = parts
            .iter()
            .find(|p| p.get("functionCall").is_some())
            .expect("call");
        assert_eq!(
            call["functionCall"],
            json!({"id": "toolu_9", "name": "read_file", "args": {"file_path": "a.txt"}})
        );
        let last = c.last().expect("last");
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(
            last["usageMetadata"],
            json!({"promptTokenCount": 15, "candidatesTokenCount": 7, "totalTokenCount": 22, "cachedContentTokenCount": 5})
        );
        assert!(c
            .iter()
            .all(|c| c["modelVersion"] == "gemini-x" && c["responseId"] == "01X"));
    }
}

#[test]
fn thoughts_only_when_asked_and_trailing_thinking_rides_a_last_part() {
    let input = hub_stream(&blocks()[..1], "end_turn");
    let out = run(&input, false, 4096);
    check_gemini_stream(out.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert!(!out.contains("\"thought\":true"), "{out}");
    let c = chunks(&out);
    let last = &c.last().expect("last")["candidates"][0]["content"]["parts"][0];
    assert_eq!(last["text"], "");
    assert!(last["thoughtSignature"]
        .as_str()
        .is_some_and(|s| s.starts_with(CARRIER_PREFIX)));
}

#[test]
fn errors_and_cuts_end_with_an_error_frame() {
    let mut input = hub_stream(&blocks()[1..2], "end_turn");
    let cut = input.find("event: message_delta").expect("delta");
    input.truncate(cut);
    let out = run(&input, false, 4096);
    check_gemini_stream(out.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{out}"));
    let last = chunks(&out).pop().expect("last");
    assert_eq!(last["error"]["code"], 503);
    let err = String::from_utf8(
        crate::protocol::anthropic::error_event(ErrorType::RateLimit, "slow").to_vec(),
    )
    .expect("utf8");
    let out = run(
        &(input[..input.find("event: content_block_start").expect("start")].to_string() + &err),
        false,
        4096,
    );
    check_gemini_stream(out.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert_eq!(
        chunks(&out).pop().expect("last")["error"]["status"],
        "RESOURCE_EXHAUSTED"
    );
}

#[test]
fn whole_answers() {
    let msg = json!({"id": "msg_7", "type": "message", "content": blocks(), "stop_reason": "max_tokens",
        "usage": {"input_tokens": 3, "output_tokens": 4}});
    let a = answer(&msg, "gemini-x", false);
    let parts = a["candidates"][0]["content"]["parts"]
        .as_array()
        .expect("parts");
    assert_eq!(parts.len(), 2, "no thought text unless asked: {parts:?}");
    assert!(parts[0]["thoughtSignature"].is_string());
    assert_eq!(parts[1]["functionCall"]["id"], "toolu_9");
    assert_eq!(a["candidates"][0]["finishReason"], "MAX_TOKENS");
    assert_eq!(a["usageMetadata"]["totalTokenCount"], 7);
    assert_eq!(a["responseId"], "7");
}

#[test]
fn errors_in_googles_shape() {
    let body = anthropic_error(
        ErrorType::InvalidRequest,
        "prompt is too long: 210000 tokens > 200000 maximum",
        "r",
    );
    let (status, v) = from_anthropic_error(400, &body, None).expect("converts");
    assert_eq!(status, 400);
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(
        v["error"]["message"],
        "The input token count (210000) exceeds the maximum number of tokens allowed (200000)."
    );
    let (status, v) = from_anthropic_error(
        529,
        &anthropic_error(ErrorType::Overloaded, "busy", "r"),
        None,
    )
    .expect("converts");
    assert_eq!(
        (status, v["error"]["status"].as_str()),
        (503, Some("UNAVAILABLE"))
    );
    let (_, v) = from_anthropic_error(
        429,
        &anthropic_error(ErrorType::RateLimit, "slow", "r"),
        Some(30),
    )
    .expect("converts");
    assert_eq!(v["error"]["details"][0]["retryDelay"], "30s");
    assert!(from_anthropic_error(400, br#"{"error":{"code":400}}"#, None).is_none());
}

#[test]
fn the_checker_refuses_what_clients_choke_on() {
    let ok = r#"data: {"candidates":[{"content":{"role":"model","parts":[{"text":"hi"}]},"finishReason":"STOP"}]}"#;
    assert!(check_gemini_stream(format!("{ok}\n\n").as_bytes()).is_ok());
    for bad in [
        format!("event: x\n{ok}\n\n"),
        format!("{ok}\n\n{ok}\n\n"),
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}]}}]}\n\n".to_string(),
        "data: [DONE]\n\n".to_string(),
        "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\",\"functionCall\":{\"name\":\"f\"}}]},\"finishReason\":\"STOP\"}]}\n\n".to_string(),
        "data: {\"error\":{\"code\":200,\"message\":\"m\",\"status\":\"OK\"}}\n\n".to_string(),
        String::new(),
    ] {
        assert!(check_gemini_stream(bad.as_bytes()).is_err(), "{bad}");
    }
}

mod property {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::{chunks, ev, run};
    use crate::translate::inbound_gemini::check_gemini_stream;

    #[derive(Debug, Clone)]
    enum Block {
        Text(Vec<String>),
        Thinking(String, String),
        Tool(String, Value),
        Ping,
        Error,
    }

    fn arb_block() -> impl Strategy<Value = Block> {
        prop_oneof![
            prop::collection::vec("[a-z ]{0,6}", 1..4).prop_map(Block::Text),
            ("[a-z ]{0,8}", "[A-Za-z0-9]{0,6}").prop_map(|(t, s)| Block::Thinking(t, s)),
            (
                "[a-z_]{0,5}",
                prop::collection::btree_map("[a-z]{1,3}", 0u8..9, 0..3)
            )
                .prop_map(|(n, m)| Block::Tool(n, json!(m))),
            Just(Block::Ping),
            Just(Block::Error),
        ]
    }

    /// The hub stream for `blocks`; `finish`: it ends with message_stop.
    fn render(blocks: &[Block], finish: bool) -> String {
        let mut s = ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_P", "usage": {"input_tokens": 4, "output_tokens": 1}}}),
        );
        for (i, b) in blocks.iter().enumerate() {
            let start = |block: Value| {
                ev(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": i, "content_block": block}),
                )
            };
            let delta = |d: Value| {
                ev(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": i, "delta": d}),
                )
            };
            let stop = ev(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": i}),
            );
            match b {
                Block::Text(pieces) => {
                    s += &start(json!({"type": "text", "text": ""}));
                    for p in pieces {
                        s += &delta(json!({"type": "text_delta", "text": p}));
                    }
                    s += &stop;
                }
                Block::Thinking(t, sig) => {
                    s += &start(json!({"type": "thinking", "thinking": "", "signature": ""}));
                    s += &delta(json!({"type": "thinking_delta", "thinking": t}));
                    s += &delta(json!({"type": "signature_delta", "signature": sig}));
                    s += &stop;
                }
                Block::Tool(name, input) => {
                    s += &start(
                        json!({"type": "tool_use", "id": format!("toolu_{i}"), "name": name, "input": {}}),
                    );
                    s += &delta(
                        json!({"type": "input_json_delta", "partial_json": input.to_string()}),
                    );
                    s += &stop;
                }
                Block::Ping => s += &ev("ping", json!({"type": "ping"})),
                Block::Error => {
                    s += &ev(
                        "error",
                        json!({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}),
                    )
                }
            }
        }
        if finish {
            s += &ev(
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}),
            );
            s += &ev("message_stop", json!({"type": "message_stop"}));
        }
        s
    }

    proptest! {
        #[test]
        fn any_hub_stream_gives_a_valid_gemini_stream(
            blocks in prop::collection::vec(arb_block(), 0..10),
            finish in any::<bool>(),
            thoughts in any::<bool>(),
            split in 1usize..64,
        ) {
            let input = render(&blocks, finish);
            let out = run(&input, thoughts, split);
            prop_assert!(check_gemini_stream(out.as_bytes()).is_ok(), "{:?}\n{}", check_gemini_stream(out.as_bytes()), out);
            prop_assert_eq!(&out, &run(&input, thoughts, 4096), "split points change nothing");
            let until_error = blocks.iter().position(|b| matches!(b, Block::Error)).unwrap_or(blocks.len());
            let c = chunks(&out);
            let errored = until_error < blocks.len() || !finish;
            prop_assert_eq!(c.last().and_then(|l| l.get("error")).is_some(), errored);
            // Every text and every named call before an error reaches the client, in order.
            let want_text: String = blocks[..until_error].iter().filter_map(|b| match b {
                Block::Text(p) => Some(p.concat()),
                _ => None,
            }).collect();
            let parts: Vec<Value> = c.iter().flat_map(|c| c["candidates"][0]["content"]["parts"].as_array().cloned().unwrap_or_default()).collect();
            let got_text: String = parts.iter().filter(|p| p["thought"] != true).filter_map(|p| p["text"].as_str()).collect();
            prop_assert_eq!(got_text, want_text);
            let want_calls = blocks[..until_error].iter().filter(|b| matches!(b, Block::Tool(n, _) if !n.is_empty())).count();
            prop_assert_eq!(parts.iter().filter(|p| p.get("functionCall").is_some()).count(), want_calls);
            prop_assert!(thoughts || !out.contains("\"thought\":true"));
        }
    }
}
