//! Hub requests to Responses providers, and their answers and streams back.

use serde_json::{json, Value};

use super::*;
use crate::translate::check::check_anthropic_stream;
use crate::translate::writer::StreamWriter;

fn translate(req: Value) -> Translated {
    to_request(
        &req,
        "gpt-5.1-codex",
        true,
        "oa",
        &ResponsesOptions {
            max_tokens_cap: Some(8000),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_claude_code_style_request_becomes_responses_input() {
    let t = translate(json!({
        "model": "claude-sonnet-4-5", "max_tokens": 32000, "stream": true,
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        "thinking": {"type": "enabled", "budget_tokens": 10000},
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
        "stop_sequences": ["END"], "top_k": 5, "metadata": {"user_id": "user_x".repeat(20)},
        "tools": [
            {"name": "Bash", "description": "Run", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}},
            {"type": "web_search_20250305", "name": "web_search"},
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "list files"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}},
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "mine", "signature": "sy1.oa.ENC-1"},
                {"type": "thinking", "thinking": "claude's", "signature": "EqQBanthropic"},
                {"type": "text", "text": "Listing."},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "a.txt"}]},
                {"type": "text", "text": "thanks"},
            ]},
            {"role": "system", "content": "Be brief from now on."},
            {"role": "user", "content": "bye"},
        ],
    }));
    let b = &t.body;
    assert_eq!(b["model"], "gpt-5.1-codex");
    assert_eq!(b["instructions"], "You are Claude Code.");
    assert_eq!(b["max_output_tokens"], 8000, "capped");
    assert_eq!(
        b["reasoning"],
        json!({"effort": "medium", "summary": "auto"})
    );
    assert_eq!(
        b["text"],
        json!({"format": {"type": "json_schema", "name": "output", "schema": {"type": "object"}, "strict": false}})
    );
    assert_eq!(b["store"], false);
    assert_eq!(b["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(b["stream"], true);
    assert_eq!(b["tool_choice"], "required");
    assert_eq!(b["parallel_tool_calls"], false);
    assert_eq!(
        b["tools"],
        json!([{"type": "function", "name": "Bash", "parameters": {"type": "object", "properties": {"command": {"type": "string"}}}, "strict": false, "description": "Run"}])
    );
    for gone in [
        "stop",
        "stop_sequences",
        "top_k",
        "metadata",
        "safety_identifier",
        "user",
        "system",
        "messages",
    ] {
        assert!(b.get(gone).is_none(), "{gone}");
    }
    let items = b["input"].as_array().expect("input");
    let kinds: Vec<String> = items
        .iter()
        .map(|i| {
            format!(
                "{}:{}",
                i["type"].as_str().unwrap_or("-"),
                i["role"].as_str().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "message:user",
            "reasoning:-",
            "-:assistant",
            "function_call:-",
            "function_call_output:-",
            "message:user",
            "message:developer",
            "message:user",
        ]
    );
    assert_eq!(
        items[0]["content"][1],
        json!({"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "auto"})
    );
    assert_eq!(
        items[0]["content"][2]["file_data"],
        "data:application/pdf;base64,JVBER"
    );
    assert_eq!(
        items[1],
        json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": "mine"}], "encrypted_content": "ENC-1"})
    );
    assert_eq!(
        items[3],
        json!({"type": "function_call", "call_id": "toolu_1", "name": "Bash", "arguments": "{\"command\":\"ls\"}"})
    );
    assert_eq!(
        items[4],
        json!({"type": "function_call_output", "call_id": "toolu_1", "output": "a.txt"})
    );
    for note in [
        "web_search",
        "stop_sequences",
        "top_k",
        "1 dropped thinking",
    ] {
        assert!(
            t.notes.iter().any(|n| n.contains(note)),
            "{note}: {:?}",
            t.notes
        );
    }
}

#[test]
fn every_call_gets_an_output_and_stray_results_become_text() {
    let t = translate(json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "a", "name": "f", "input": {}},
            {"type": "tool_use", "id": "functions.g:1", "name": "g", "input": {}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "functions.g:1", "content": "ok", "is_error": true},
            {"type": "tool_result", "tool_use_id": "zz", "content": "stray"},
        ]},
    ]}));
    let items = t.body["input"].as_array().expect("input");
    let g = crate::translate::history::sanitize_tool_id("functions.g:1");
    assert_eq!(items[2]["call_id"], g.as_str());
    assert_eq!(
        items[3],
        json!({"type": "function_call_output", "call_id": g, "output": "Error: ok"})
    );
    assert_eq!(
        items[4],
        json!({"type": "function_call_output", "call_id": "a", "output": INTERRUPTED})
    );
    assert!(items[5]["content"][0]["text"]
        .as_str()
        .expect("text")
        .contains("result of tool call zz"));
}

#[test]
fn a_whole_answer_becomes_a_message() {
    let resp = json!({
        "id": "resp_abc", "object": "response", "status": "completed", "model": "gpt-5.1-codex",
        "output": [
            {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Thinking."}], "encrypted_content": "gAAA"},
            {"id": "msg_1", "type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi", "annotations": []}]},
            {"id": "fc_1", "type": "function_call", "call_id": "call_9", "name": "Bash_x", "arguments": "{\"command\":\"ls\"}"},
        ],
        "usage": {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 60}, "output_tokens": 9, "total_tokens": 109},
    });
    let names = vec![("Bash_x".to_string(), "Bash!".to_string())];
    let m = from_response(&resp, "claude-x", "oa", &names).expect("message");
    assert_eq!(m["id"], "msg_abc");
    assert_eq!(m["model"], "claude-x");
    assert_eq!(
        m["content"][0],
        json!({"type": "thinking", "thinking": "Thinking.", "signature": "sy1.oa.gAAA"})
    );
    assert_eq!(m["content"][1], json!({"type": "text", "text": "Hi"}));
    assert_eq!(
        m["content"][2],
        json!({"type": "tool_use", "id": "call_9", "name": "Bash!", "input": {"command": "ls"}})
    );
    assert_eq!(m["stop_reason"], "tool_use");
    assert_eq!(m["usage"]["input_tokens"], 40);
    assert_eq!(m["usage"]["cache_read_input_tokens"], 60);
    let cut = json!({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}, "output": [], "usage": {}});
    assert_eq!(
        from_response(&cut, "m", "oa", &[]).expect("message")["stop_reason"],
        "max_tokens"
    );
    let failed = json!({"status": "failed", "error": {"code": "server_error", "message": "boom"}, "output": []});
    assert!(from_response(&failed, "m", "oa", &[]).is_err());
}

fn ev(v: Value) -> String {
    format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap_or(""))
}

/// A Responses stream as OpenAI sends it: reasoning, text, then a function call.
fn vendor_stream() -> String {
    let r = json!({"id": "resp_1", "object": "response", "status": "in_progress", "model": "gpt-5.1-codex", "output": []});
    [
        ev(json!({"type": "response.created", "sequence_number": 0, "response": r})),
        ev(json!({"type": "response.in_progress", "sequence_number": 1, "response": r})),
        ev(json!({"type": "response.output_item.added", "output_index": 0, "item": {"id": "rs_1", "type": "reasoning", "summary": []}})),
        ev(json!({"type": "response.reasoning_summary_part.added", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": ""}})),
        ev(json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "delta": "Plan."})),
        ev(json!({"type": "response.output_item.done", "output_index": 0, "item": {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Plan."}], "encrypted_content": "ENC"}})),
        ev(json!({"type": "response.output_item.added", "output_index": 1, "item": {"id": "msg_1", "type": "message", "role": "assistant", "content": []}})),
        ev(json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": "On it"})),
        ev(json!({"type": "response.output_item.done", "output_index": 1, "item": {"id": "msg_1", "type": "message", "content": [{"type": "output_text", "text": "On it"}]}})),
        ev(json!({"type": "response.output_item.added", "output_index": 2, "item": {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "Bash", "arguments": ""}})),
        ev(json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 2, "delta": "{\"comm"})),
        ev(json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 2, "delta": "and\":\"ls\"}"})),
        ev(json!({"type": "response.output_item.done", "output_index": 2, "item": {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "Bash", "arguments": "{\"command\":\"ls\"}"}})),
        ev(json!({"type": "response.completed", "response": {"id": "resp_1", "status": "completed", "output": [],
            "usage": {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 5}, "output_tokens": 7, "total_tokens": 27}}})),
    ]
    .concat()
}

fn run(stream: &str, pieces: usize, clean: bool) -> String {
    let mut state = StreamState::new("oa", &[]);
    let mut w = StreamWriter::new("claude-x", "msg_t", "sy1.oa.");
    let size = stream.len().div_ceil(pieces).max(1);
    let mut out = Vec::new();
    let mut splitter = crate::protocol::sse::Splitter::new();
    for c in stream.as_bytes().chunks(size) {
        splitter.push(c);
        if let Some(buf) = splitter.take_complete() {
            for f in crate::protocol::sse::frames(&buf) {
                let f = crate::protocol::sse::parse_frame(f);
                if !f.data.is_empty() {
                    state.feed(&f.data, &mut w);
                }
            }
        }
        while let Some(b) = w.take() {
            out.extend_from_slice(&b);
        }
    }
    state.end(clean, &mut w);
    while let Some(b) = w.take() {
        out.extend_from_slice(&b);
    }
    String::from_utf8(out).expect("utf8")
}

fn hub_events(text: &str) -> Vec<(String, Value)> {
    crate::protocol::sse::frames(text.as_bytes())
        .map(crate::protocol::sse::parse_frame)
        .map(|f| {
            (
                f.event.unwrap_or("").to_string(),
                serde_json::from_str(&f.data).unwrap_or(Value::Null),
            )
        })
        .collect()
}

#[test]
fn a_vendor_stream_becomes_a_valid_hub_stream() {
    let text = run(&vendor_stream(), 1, true);
    assert_eq!(check_anthropic_stream(text.as_bytes()), Ok(()), "{text}");
    let ev = hub_events(&text);
    let starts: Vec<&str> = ev
        .iter()
        .filter(|e| e.0 == "content_block_start")
        .filter_map(|e| e.1["content_block"]["type"].as_str())
        .collect();
    assert_eq!(starts, ["thinking", "text", "tool_use"]);
    assert!(text.contains("\"signature\":\"sy1.oa.ENC\""), "{text}");
    let md = ev
        .iter()
        .find(|e| e.0 == "message_delta")
        .expect("message_delta");
    assert_eq!(md.1["delta"]["stop_reason"], "tool_use");
    assert_eq!(md.1["usage"]["output_tokens"], 7);
    assert_eq!(md.1["usage"]["input_tokens"], 15);
    for pieces in [3, 17, 200] {
        assert_eq!(run(&vendor_stream(), pieces, true), text, "{pieces} pieces");
    }
}

#[test]
fn cut_failed_and_malformed_streams_still_end_well_formed() {
    let full = vendor_stream();
    let cut = &full[..full
        .find("response.function_call_arguments.delta")
        .expect("cut point")];
    let text = run(cut, 2, false);
    assert_eq!(check_anthropic_stream(text.as_bytes()), Ok(()), "{text}");
    assert!(
        text.ends_with("\n\n") && text.contains("event: error"),
        "{text}"
    );
    let failed = ev(
        json!({"type": "response.failed", "response": {"id": "resp_1", "status": "failed",
        "error": {"code": "rate_limit_exceeded", "message": "Rate limit reached. Please try again in 2s."}}}),
    );
    let text = run(
        &format!(
            "{}{failed}",
            &full[..full.find("event: response.output_item.added").expect("x")]
        ),
        1,
        true,
    );
    assert_eq!(check_anthropic_stream(text.as_bytes()), Ok(()), "{text}");
    assert!(text.contains("rate_limit_error"), "{text}");
    // Arguments that stop being JSON are closed into an object; args streamed while another
    // call is open wait for it.
    let r = json!({"id": "resp_1", "object": "response", "status": "in_progress", "output": []});
    let weird = [
        ev(json!({"type": "response.created", "response": r})),
        ev(json!({"type": "response.output_item.added", "output_index": 0, "item": {"id": "fc_1", "type": "function_call", "call_id": "c1", "name": "a"}})),
        ev(json!({"type": "response.output_item.added", "output_index": 1, "item": {"id": "fc_2", "type": "function_call", "call_id": "c2", "name": "b"}})),
        ev(json!({"type": "response.function_call_arguments.delta", "item_id": "fc_2", "delta": "{\"x\":1}"})),
        ev(json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": "{\"y\": tru"})),
        ev(json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": "e]]"})),
        ev(json!({"type": "response.output_item.done", "output_index": 1, "item": {"id": "fc_2", "type": "function_call", "call_id": "c2", "name": "b", "arguments": "{\"x\":1}"}})),
        ev(json!({"type": "response.output_item.done", "output_index": 0, "item": {"id": "fc_1", "type": "function_call", "call_id": "c1", "name": "a", "arguments": "{\"y\": tru]]"}})),
        ev(json!({"type": "response.completed", "response": {"id": "resp_1", "status": "completed", "output": [], "usage": {"output_tokens": 3}}})),
    ]
    .concat();
    let text = run(&weird, 1, true);
    assert_eq!(check_anthropic_stream(text.as_bytes()), Ok(()), "{text}");
    let ids: Vec<String> = hub_events(&text)
        .iter()
        .filter(|e| e.0 == "content_block_start")
        .filter_map(|e| e.1["content_block"]["id"].as_str().map(String::from))
        .collect();
    assert_eq!(ids, ["c1", "c2"], "calls in the order they were added");
}
