//! A conversation that moves Anthropic → another vendor → Anthropic mid-way is accepted by
//! each: the proxy stamps, strips and unstamps thinking signatures and fixes tool ids.

mod common;

use common::*;
use serde_json::{json, Value};
use switchyard_mock::{Reply, Step};

fn sse_with_thinking(signature: &str, tool_id: &str) -> Reply {
    let start = json!({"type":"message_start","message":{"id":"msg_v","type":"message","role":"assistant","model":"vendor-model","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}});
    Reply::sse([
        Step::event("message_start", start),
        Step::event(
            "content_block_start",
            json!({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}),
        ),
        Step::event(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"let me think"}}),
        ),
        Step::event(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":signature}}),
        ),
        Step::event(
            "content_block_stop",
            json!({"type":"content_block_stop","index":0}),
        ),
        Step::event(
            "content_block_start",
            json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":tool_id,"name":"get_weather","input":{}}}),
        ),
        Step::event(
            "content_block_delta",
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\":\"Paris\"}"}}),
        ),
        Step::event(
            "content_block_stop",
            json!({"type":"content_block_stop","index":1}),
        ),
        Step::event(
            "message_delta",
            json!({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":12}}),
        ),
        Step::event("message_stop", json!({"type":"message_stop"})),
    ])
}

/// Rebuild the assistant turn from the stream the client saw (what Claude Code stores).
fn assistant_turn(r: &Resp) -> Value {
    let mut blocks: Vec<Value> = Vec::new();
    for (name, data) in r.events() {
        match name.as_str() {
            "content_block_start" => blocks.push(data["content_block"].clone()),
            "content_block_delta" => {
                let b = blocks.last_mut().expect("open block");
                let d = &data["delta"];
                match d["type"].as_str() {
                    Some("thinking_delta") => {
                        b["thinking"] = json!(format!(
                            "{}{}",
                            b["thinking"].as_str().unwrap_or(""),
                            d["thinking"].as_str().unwrap_or("")
                        ))
                    }
                    Some("signature_delta") => b["signature"] = d["signature"].clone(),
                    Some("input_json_delta") => {
                        b["input"] =
                            serde_json::from_str(d["partial_json"].as_str().unwrap_or("{}"))
                                .unwrap_or(json!({}))
                    }
                    Some("text_delta") => {
                        b["text"] = json!(format!(
                            "{}{}",
                            b["text"].as_str().unwrap_or(""),
                            d["text"].as_str().unwrap_or("")
                        ))
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    json!({"role": "assistant", "content": blocks})
}

#[tokio::test]
async fn case_19_history_survives_anthropic_to_vendor_and_back() {
    let e = env_with(2, |c| {
        c.providers[0].quirks.anthropic_native = Some(true);
    })
    .await;
    // Turn 1 on "Anthropic": its signature is Anthropic's own.
    e.mocks[0].push(sse_with_thinking("EqQBanthropic-sig", "toolu_01abc"));
    let mut messages = vec![json!({"role": "user", "content": "weather in Paris?"})];
    let mut b = body(true);
    b["messages"] = json!(messages);
    let r1 = e.post_json("/v1/messages", &b).await;
    assert_eq!(r1.provider(), Some("p0"));
    let turn1 = assistant_turn(&r1);
    assert_eq!(
        turn1["content"][0]["signature"], "EqQBanthropic-sig",
        "Anthropic's signatures pass untouched"
    );
    messages.push(turn1);
    messages.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01abc", "content": "sunny"}]}));

    // Anthropic hits its usage limit: turn 2 goes to the vendor, whose ids and signatures differ.
    e.mocks[0]
        .set_default(Reply::error(429, "usage limit reached").with_header("retry-after", "1"));
    e.mocks[1].push(sse_with_thinking("vendorSig", "functions.get_weather:1"));
    b["messages"] = json!(messages);
    let r2 = e.post_json("/v1/messages", &b).await;
    assert_eq!(r2.provider(), Some("p1"));
    let got = e.mocks[1].requests().last().expect("vendor saw it").json();
    let hist = got["messages"][1]["content"]
        .as_array()
        .expect("blocks")
        .clone();
    assert!(
        hist.iter().all(|b| b["type"] != "thinking"),
        "Anthropic's thinking is not sent to another vendor: {hist:?}"
    );
    assert_eq!(
        got["messages"][2]["content"][0]["tool_use_id"],
        "toolu_01abc"
    );
    let turn2 = assistant_turn(&r2);
    let sig = turn2["content"][0]["signature"]
        .as_str()
        .expect("sig")
        .to_string();
    assert_eq!(sig, "sy1.p1.vendorSig", "the vendor's signature is stamped");
    let tool_id = turn2["content"][1]["id"].as_str().expect("id").to_string();
    assert!(
        tool_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        "{tool_id}"
    );
    messages.push(turn2);
    messages.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": "still sunny"}]}));

    // The vendor again: it gets its own signature back, unstamped.
    b["messages"] = json!(messages);
    e.mocks[1].push(Reply::text("ok"));
    let r3 = e.post_json("/v1/messages", &b).await;
    assert_eq!(r3.provider(), Some("p1"));
    let got = e.mocks[1].requests().last().expect("vendor").json();
    assert_eq!(got["messages"][3]["content"][0]["signature"], "vendorSig");

    // Anthropic recovers: it gets its own thinking, not the vendor's, and valid paired ids.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    e.mocks[0].set_default(Reply::text("back on Anthropic"));
    let r4 = e.post_json("/v1/messages", &b).await;
    assert_eq!(r4.provider(), Some("p0"));
    let got = e.mocks[0].requests().last().expect("anthropic").json();
    assert_eq!(
        got["messages"][1]["content"][0]["signature"],
        "EqQBanthropic-sig"
    );
    let turn2_sent = got["messages"][3]["content"].as_array().expect("blocks");
    assert!(
        turn2_sent.iter().all(|b| b["type"] != "thinking"),
        "vendor thinking stripped for Anthropic"
    );
    assert_eq!(
        turn2_sent[0]["id"],
        got["messages"][4]["content"][0]["tool_use_id"]
    );
}
