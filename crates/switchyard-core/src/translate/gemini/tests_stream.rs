//! Stream translation: the §7 stream cases and a property test that any chunk sequence gives a
//! stream the SDKs accept.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::protocol::sse;
use crate::translate::check::check_anthropic_stream;
use crate::translate::writer::StreamWriter;

const PID: &str = "g1";

/// Feeds the chunks, ends the stream, checks it, returns (event name, data) pairs.
fn run(chunks: &[Value], clean: bool) -> Vec<(String, Value)> {
    let bytes = run_raw(
        &chunks.iter().map(Value::to_string).collect::<Vec<_>>(),
        clean,
    );
    check_anthropic_stream(&bytes)
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&bytes)));
    sse::frames(&bytes)
        .map(|f| {
            let p = sse::parse_frame(f);
            let data = serde_json::from_str(&p.data).unwrap_or(Value::Null);
            (p.event.unwrap_or("").to_string(), data)
        })
        .collect()
}

fn run_raw(frames: &[String], clean: bool) -> Vec<u8> {
    let mut w = StreamWriter::new("claude-x", "msg_1", &unsigned_signature(PID));
    let mut st = StreamState::new(PID);
    let mut out = Vec::new();
    for f in frames {
        st.feed(f, &mut w);
        if let Some(b) = w.take() {
            out.extend_from_slice(&b);
        }
    }
    st.end(clean, &mut w);
    if let Some(b) = w.take() {
        out.extend_from_slice(&b);
    }
    out
}

fn names(ev: &[(String, Value)]) -> Vec<&str> {
    ev.iter().map(|e| e.0.as_str()).collect()
}

fn chunk(parts: Value) -> Value {
    json!({"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
        "usageMetadata": {"promptTokenCount": 120, "candidatesTokenCount": 1, "totalTokenCount": 121}})
}

fn last(parts: Value, finish: &str) -> Value {
    json!({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}],
        "usageMetadata": {"promptTokenCount": 120, "cachedContentTokenCount": 20, "candidatesTokenCount": 30,
            "thoughtsTokenCount": 12, "totalTokenCount": 162}})
}

fn message_delta(ev: &[(String, Value)]) -> &Value {
    &ev.iter()
        .find(|e| e.0 == "message_delta")
        .expect("message_delta")
        .1
}

#[test]
fn case_11_one_message_start_with_real_input_tokens() {
    let ev = run(
        &[
            chunk(json!([{"text": "Hel"}])),
            chunk(json!([{"text": "lo"}])),
            last(json!([{"text": "!"}]), "STOP"),
        ],
        true,
    );
    assert_eq!(
        names(&ev).iter().filter(|n| **n == "message_start").count(),
        1
    );
    assert_eq!(ev[0].0, "message_start");
    assert_eq!(ev[0].1["message"]["usage"]["input_tokens"], 120);
    assert_eq!(ev[0].1["message"]["model"], "claude-x");
    let md = message_delta(&ev);
    assert_eq!(
        md["usage"]["input_tokens"], 100,
        "the last chunk's usage, minus cache reads"
    );
    assert_eq!(md["usage"]["cache_read_input_tokens"], 20);
    assert_eq!(md["usage"]["output_tokens"], 42);
    assert_eq!(md["delta"]["stop_reason"], "end_turn");
    let text: String = ev
        .iter()
        .filter_map(|e| e.1["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "Hello!");
    assert_eq!(ev.last().map(|e| e.0.as_str()), Some("message_stop"));
}

#[test]
fn case_12_text_tool_text_in_separate_blocks() {
    let ev = run(
        &[
            chunk(json!([{"text": "I'll check."}])),
            chunk(json!([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}])),
            last(json!([{"text": "Done."}]), "STOP"),
        ],
        true,
    );
    let starts: Vec<(u64, String)> = ev
        .iter()
        .filter(|e| e.0 == "content_block_start")
        .map(|e| {
            (
                e.1["index"].as_u64().unwrap_or(99),
                e.1["content_block"]["type"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        starts,
        [
            (0, "text".to_string()),
            (1, "tool_use".to_string()),
            (2, "text".to_string())
        ]
    );
    let tool = ev
        .iter()
        .find(|e| e.1["content_block"]["type"] == "tool_use")
        .expect("tool block");
    assert_eq!(tool.1["content_block"]["name"], "get_weather");
    let args: Vec<&str> = ev
        .iter()
        .filter_map(|e| e.1["delta"]["partial_json"].as_str())
        .collect();
    assert_eq!(args.len(), 1, "the whole args as one input_json_delta");
    assert_eq!(
        serde_json::from_str::<Value>(args[0]).ok(),
        Some(json!({"city": "Paris"}))
    );
    assert_eq!(message_delta(&ev)["delta"]["stop_reason"], "tool_use");
}

#[test]
fn case_13_reasoning_after_text_opens_a_new_thinking_block_signed_before_stop() {
    let ev = run(
        &[
            chunk(json!([{"text": "plan", "thought": true}])),
            chunk(json!([{"text": "Step one."}])),
            chunk(json!([{"text": "more thought", "thought": true}])),
            last(
                json!([{"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "SIG_C"}]),
                "STOP",
            ),
        ],
        true,
    );
    let kinds: Vec<&str> = ev
        .iter()
        .filter(|e| e.0 == "content_block_start")
        .filter_map(|e| e.1["content_block"]["type"].as_str())
        .collect();
    assert_eq!(kinds, ["thinking", "text", "thinking", "tool_use"]);
    let sigs: Vec<&str> = ev
        .iter()
        .filter_map(|e| e.1["delta"]["signature"].as_str())
        .collect();
    assert_eq!(sigs, ["sy1.g1.", "sy1.g1.gemini:SIG_C"]);
    // Each signature_delta is directly followed by its block's stop.
    for (i, e) in ev.iter().enumerate() {
        if e.1["delta"]["type"] == "signature_delta" {
            assert_eq!(ev[i + 1].0, "content_block_stop");
            assert_eq!(ev[i + 1].1["index"], e.1["index"]);
        }
    }
}

#[test]
fn signature_without_thought_text_gets_its_own_thinking_block() {
    let ev = run(
        &[
            chunk(json!([{"text": "Checking."}])),
            last(
                json!([
                    {"functionCall": {"name": "a", "args": {"x": 1}}, "thoughtSignature": "SIG_D"},
                    {"functionCall": {"name": "b", "args": {}}}
                ]),
                "STOP",
            ),
        ],
        true,
    );
    let blocks: Vec<&Value> = ev
        .iter()
        .filter(|e| e.0 == "content_block_start")
        .map(|e| &e.1["content_block"])
        .collect();
    let kinds: Vec<&str> = blocks.iter().filter_map(|b| b["type"].as_str()).collect();
    assert_eq!(kinds, ["text", "thinking", "tool_use", "tool_use"]);
    assert_ne!(blocks[2]["id"], blocks[3]["id"]);
    let thinking: Vec<&str> = ev
        .iter()
        .filter_map(|e| e.1["delta"]["thinking"].as_str())
        .collect();
    assert_eq!(thinking, [SIGNATURE_ONLY_THINKING]);
}

#[test]
fn case_16_refusal_tool_calls_with_stop_and_streams_without_finish() {
    let ev = run(
        &[chunk(json!([{"text": "Sure"}])), last(json!([]), "SAFETY")],
        true,
    );
    assert_eq!(message_delta(&ev)["delta"]["stop_reason"], "refusal");
    let ev = run(
        &[last(
            json!([{"functionCall": {"name": "f", "args": {}}}]),
            "STOP",
        )],
        true,
    );
    assert_eq!(message_delta(&ev)["delta"]["stop_reason"], "tool_use");
    let ev = run(&[last(json!([{"text": "cut"}]), "MAX_TOKENS")], true);
    assert_eq!(message_delta(&ev)["delta"]["stop_reason"], "max_tokens");
    // A blocked prompt: no candidates at all.
    let ev = run(
        &[
            json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"promptTokenCount": 7}}),
        ],
        true,
    );
    assert_eq!(message_delta(&ev)["delta"]["stop_reason"], "refusal");
    // No finishReason, clean end: every block closed, end_turn.
    let ev = run(&[chunk(json!([{"text": "partial"}]))], true);
    assert_eq!(
        names(&ev),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(message_delta(&ev)["delta"]["stop_reason"], "end_turn");
    // Cut off before any finishReason: an error event after closing the block.
    let ev = run(&[chunk(json!([{"text": "partial"}]))], false);
    assert_eq!(names(&ev).last(), Some(&"error"));
    assert_eq!(ev[ev.len() - 2].0, "content_block_stop");
    // Cut off after the finishReason: the answer was complete.
    let ev = run(&[last(json!([{"text": "all"}]), "STOP")], false);
    assert_eq!(names(&ev).last(), Some(&"message_stop"));
}

#[test]
fn case_17_error_events_shaped_exactly() {
    let ev = run(
        &[
            chunk(json!([{"text": "Hi"}])),
            json!({"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}}),
            chunk(json!([{"text": "ignored"}])),
        ],
        true,
    );
    let (name, data) = ev.last().expect("events");
    assert_eq!(name, "error");
    assert_eq!(
        data,
        &json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Resource exhausted"}})
    );
    let bytes = run_raw(&["{not json".to_string()], true);
    check_anthropic_stream(&bytes).expect("valid");
    assert!(String::from_utf8_lossy(&bytes).contains("api_error"));
    let ev = run(&[last(json!([]), "MALFORMED_FUNCTION_CALL")], true);
    assert_eq!(names(&ev).last(), Some(&"error"));
}

#[test]
fn case_20_an_empty_answer_is_recognisable() {
    let ev = run(&[last(json!([]), "STOP")], true);
    assert_eq!(
        names(&ev),
        ["message_start", "message_delta", "message_stop"]
    );
    let bytes = run_raw(&[], true);
    check_anthropic_stream(&bytes).expect("valid");
    let ev = run(
        &[json!({"candidates": [{"content": {"parts": []}, "finishReason": "STOP"}]})],
        true,
    );
    assert_eq!(message_delta(&ev)["usage"]["output_tokens"], 0);
}

fn arb_part() -> impl Strategy<Value = Value> {
    let sig = prop::option::of(prop_oneof![Just("S1"), Just("S2"), Just("")]);
    prop_oneof![
        ("[a-z ]{0,6}", sig.clone()).prop_map(|(t, s)| {
            let mut p = json!({"text": t});
            if let Some(s) = s {
                p["thoughtSignature"] = json!(s);
            }
            p
        }),
        ("[a-z ]{0,6}", sig.clone()).prop_map(|(t, s)| {
            let mut p = json!({"text": t, "thought": true});
            if let Some(s) = s {
                p["thoughtSignature"] = json!(s);
            }
            p
        }),
        (
            "[a-z]{0,4}",
            sig,
            prop_oneof![
                Just(json!({})),
                Just(json!({"a": [1, {"b": "\"}"}]})),
                Just(json!(null))
            ]
        )
            .prop_map(|(n, s, a)| {
                let mut p = json!({"functionCall": {"name": n, "args": a}});
                if let Some(s) = s {
                    p["thoughtSignature"] = json!(s);
                }
                p
            }),
        Just(json!({"inlineData": {"mimeType": "image/png", "data": "AA"}})),
    ]
}

fn arb_frame() -> impl Strategy<Value = String> {
    let finish = prop::option::of(prop_oneof![
        Just("STOP"),
        Just("MAX_TOKENS"),
        Just("SAFETY"),
        Just("OTHER"),
        Just("MALFORMED_FUNCTION_CALL")
    ]);
    let usage = prop::option::of((0u64..500, 0u64..600, 0u64..50, 0u64..50));
    prop_oneof![
        8 => (prop::collection::vec(arb_part(), 0..4), finish, usage).prop_map(|(parts, f, u)| {
            let mut c = json!({"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}]});
            if let Some(f) = f { c["candidates"][0]["finishReason"] = json!(f); }
            if let Some((cached, prompt, out, thoughts)) = u {
                c["usageMetadata"] = json!({"promptTokenCount": prompt, "cachedContentTokenCount": cached,
                    "candidatesTokenCount": out, "thoughtsTokenCount": thoughts});
            }
            c.to_string()
        }),
        1 => Just(json!({"promptFeedback": {"blockReason": "SAFETY"}}).to_string()),
        1 => Just(json!({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}).to_string()),
        1 => Just("{\"candidates\": [".to_string()),
        1 => Just(String::new()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn any_chunk_sequence_gives_a_valid_anthropic_stream(
        frames in prop::collection::vec(arb_frame(), 0..8),
        clean in any::<bool>(),
    ) {
        let bytes = run_raw(&frames, clean);
        if let Err(e) = check_anthropic_stream(&bytes) {
            panic!("{e}\nframes: {frames:?}\nout:\n{}", String::from_utf8_lossy(&bytes));
        }
        let text = String::from_utf8_lossy(&bytes);
        let stop = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        let ended = text.ends_with(stop) || text.contains("event: error\n");
        prop_assert!(ended, "no message_stop or error at the end");
        prop_assert!(text.matches("event: message_start").count() <= 1);
    }
}

/// The mock's Gemini face, read over HTTP, through `from_response` and `StreamState`.
#[tokio::test]
async fn the_mock_gemini_face_translates_end_to_end() {
    use switchyard_mock::{MockUpstream, Reply};
    let mock = MockUpstream::start().await.expect("mock");
    let reply = || {
        Reply::text("It is sunny in Paris.")
            .with_thinking("Let me look it up")
            .with_tool_use("", "get_weather", json!({"city": "Paris"}))
            .with_output_tokens(20)
    };
    mock.push_many([reply(), reply(), Reply::error(429, "Quota exceeded")]);
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let url = |m: &str| format!("{}/v1beta/models/gemini-2.5-pro:{m}", mock.base_url());
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "Weather?"}]}]}).to_string();

    let resp = client
        .post(url("generateContent"))
        .body(body.clone())
        .send()
        .await
        .expect("send");
    let v: Value = serde_json::from_slice(&resp.bytes().await.expect("body")).expect("json");
    let msg = from_response(&v, "claude-x", PID).expect("answer");
    let kinds: Vec<&str> = msg["content"]
        .as_array()
        .expect("content")
        .iter()
        .filter_map(|b| b["type"].as_str())
        .collect();
    assert_eq!(kinds, ["thinking", "text", "thinking", "tool_use"]);
    assert_eq!(msg["content"][0]["signature"], "sy1.g1.");
    assert!(msg["content"][2]["signature"]
        .as_str()
        .is_some_and(|s| s.starts_with("sy1.g1.gemini:mock_thought_signature_")));
    assert_eq!(msg["stop_reason"], "tool_use");
    assert_eq!(msg["usage"]["output_tokens"], 20);

    let resp = client
        .post(url("streamGenerateContent?alt=sse"))
        .body(body.clone())
        .send()
        .await
        .expect("send");
    let raw = resp.bytes().await.expect("body");
    let mut split = sse::Splitter::new();
    split.push(&raw);
    let frames: Vec<String> = split
        .take_complete()
        .map(|b| {
            sse::frames(&b)
                .map(|f| sse::parse_frame(f).data.into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(frames.len() > 3);
    let out = run_raw(&frames, true);
    check_anthropic_stream(&out)
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&out)));
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("\"stop_reason\":\"tool_use\""), "{text}");
    assert!(text.contains("mock_thought_signature_"), "{text}");

    let resp = client
        .post(url("generateContent"))
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 429);
    let raw = resp.bytes().await.expect("body");
    let (status, message) = error_message(&raw).expect("a Gemini error");
    assert_eq!(
        error_type(status.as_deref(), 429),
        crate::protocol::anthropic::ErrorType::RateLimit
    );
    assert_eq!(message, "Quota exceeded");
}
