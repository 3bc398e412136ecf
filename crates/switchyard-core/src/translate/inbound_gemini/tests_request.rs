//! Gemini requests -> hub requests, one decision per test.

use serde_json::{json, Value};

use super::*;

fn tr(req: Value) -> Inbound {
    to_anthropic(&req, "models/gemini-2.5-pro", false).expect("translates")
}

fn user(text: &str) -> Value {
    json!({"role": "user", "parts": [{"text": text}]})
}

#[test]
fn system_contents_and_model() {
    let t = tr(json!({
        "systemInstruction": {"role": "user", "parts": [{"text": "Be brief."}, {"text": "Be kind."}]},
        "contents": [user("hi"), {"role": "model", "parts": [{"text": "hello"}]}, user("again"), user("and again")],
    }));
    assert_eq!(t.model, "gemini-2.5-pro");
    let b = t.body;
    assert_eq!(b["model"], "gemini-2.5-pro");
    assert_eq!(b["system"], "Be brief.\n\nBe kind.");
    assert_eq!(b["max_tokens"], DEFAULT_MAX_TOKENS);
    let m = b["messages"].as_array().expect("messages");
    assert_eq!(m.len(), 3, "neighbours of one role merge: {m:?}");
    assert_eq!(m[2]["content"].as_array().map(Vec::len), Some(2));
    assert_eq!(m[1]["role"], "assistant");
}

#[test]
fn generation_config() {
    let b = tr(json!({"contents": [user("x")], "generationConfig": {
        "maxOutputTokens": 100, "temperature": 1.7, "topP": 0.5, "topK": 40,
        "stopSequences": ["END", ""],
    }}))
    .body;
    assert_eq!(b["max_tokens"], 100);
    assert_eq!(b["temperature"], 1.0, "clamped to Anthropic's range");
    assert_eq!(b["top_p"], 0.5);
    assert_eq!(b["top_k"], 40);
    assert_eq!(b["stop_sequences"], json!(["END"]));
    for bad in [
        json!({"candidateCount": 2}),
        json!({"responseLogprobs": true}),
        json!({"responseModalities": ["IMAGE"]}),
        json!({"maxOutputTokens": 0}),
        json!({"thinkingConfig": {"thinkingLevel": "extreme"}}),
    ] {
        let r = to_anthropic(
            &json!({"contents": [user("x")], "generationConfig": bad}),
            "m",
            false,
        );
        assert!(r.is_err(), "{bad}");
    }
}

#[test]
fn thinking_budgets_and_levels() {
    let budget = |tc: Value| {
        let b = tr(json!({"contents": [user("x")], "generationConfig": {"thinkingConfig": tc, "temperature": 0.2, "topP": 0.5}})).body;
        (
            b["thinking"]["budget_tokens"].as_u64(),
            b.get("temperature").is_some(),
            b.get("top_p").is_some(),
        )
    };
    assert_eq!(
        budget(json!({"thinkingBudget": 4096})),
        (Some(4096), false, false),
        "sampling goes beside thinking"
    );
    assert_eq!(
        budget(json!({"thinkingBudget": -1})),
        (Some(8192), false, false)
    );
    assert_eq!(budget(json!({"thinkingBudget": 0})), (None, true, true));
    assert_eq!(
        budget(json!({"thinkingBudget": 512})).0,
        None,
        "under Anthropic's minimum"
    );
    assert_eq!(budget(json!({"thinkingLevel": "HIGH"})).0, Some(16384));
    assert_eq!(budget(json!({"thinkingLevel": "low"})).0, Some(2048));
    assert_eq!(budget(json!({"thinkingLevel": "MINIMAL"})).0, None);
    let b = tr(
        json!({"contents": [user("x")], "generationConfig": {"maxOutputTokens": 1000, "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": true}}}),
    );
    assert_eq!(
        b.body["max_tokens"], 3048,
        "room for the answer beside the budget"
    );
    assert!(b.include_thoughts);
}

#[test]
fn structured_output_becomes_output_config() {
    let b = tr(json!({"contents": [user("x")], "generationConfig": {
        "responseMimeType": "application/json",
        "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "required": ["a"]},
    }}))
    .body;
    assert_eq!(
        b["output_config"]["format"],
        json!({"type": "json_schema", "schema": {"type": "object", "properties": {"a": {"type": "string"}},
            "required": ["a"], "additionalProperties": false}})
    );
    let b = tr(json!({"contents": [user("x")], "generationConfig": {"responseMimeType": "application/json"}})).body;
    assert!(b.get("output_config").is_none());
    assert!(b["system"].as_str().unwrap_or("").contains("valid JSON"));
}

#[test]
fn tools_and_tool_config() {
    let req = |fcc: Value| {
        json!({"contents": [user("x")], "tools": [
            {"functionDeclarations": [
                {"name": "a", "description": "A", "parameters": {"type": "OBJECT", "properties": {"p": {"type": "STRING"}}}},
                {"name": "b", "parametersJsonSchema": {"type": "object", "properties": {"q": {"type": "integer"}}}},
                {"name": "c"},
            ]},
            {"googleSearch": {}},
        ], "toolConfig": {"functionCallingConfig": fcc}})
    };
    let t = tr(req(json!({"mode": "ANY", "allowedFunctionNames": ["b"]})));
    let tools = t.body["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), 3, "server tools are dropped");
    assert_eq!(
        tools[0]["input_schema"]["properties"]["p"]["type"],
        "string"
    );
    assert_eq!(tools[0]["description"], "A");
    assert_eq!(
        tools[2]["input_schema"],
        json!({"type": "object", "properties": {}})
    );
    assert_eq!(t.body["tool_choice"], json!({"type": "tool", "name": "b"}));
    assert!(
        t.notes.iter().any(|n| n.contains("googleSearch")),
        "{:?}",
        t.notes
    );
    assert_eq!(
        tr(req(json!({"mode": "ANY"}))).body["tool_choice"],
        json!({"type": "any"})
    );
    assert_eq!(
        tr(req(json!({"mode": "NONE"}))).body["tool_choice"],
        json!({"type": "none"})
    );
    assert_eq!(
        tr(req(json!({"mode": "AUTO"}))).body["tool_choice"],
        json!({"type": "auto"})
    );
    assert!(to_anthropic(
        &req(json!({"mode": "ANY", "allowedFunctionNames": ["zz"]})),
        "m",
        false
    )
    .is_err());
}

#[test]
fn function_calls_and_responses_pair_by_id_or_name() {
    let b = tr(json!({"contents": [
        user("read both"),
        {"role": "model", "parts": [
            {"functionCall": {"name": "read_file", "args": {"file_path": "a"}}},
            {"functionCall": {"id": "call.2", "name": "read_file", "args": {"file_path": "b"}}},
            {"functionCall": {"name": "ls", "args": {}}},
        ]},
        {"role": "user", "parts": [
            {"functionResponse": {"id": "call.2", "name": "read_file", "response": {"output": "B"}}},
            {"functionResponse": {"id": "read_file-17-x", "name": "read_file", "response": {"error": "no such file"}}},
            {"text": "thanks"},
        ]},
    ]}))
    .body;
    let m = b["messages"].as_array().expect("messages");
    let calls = m[1]["content"].as_array().expect("calls");
    assert_eq!(
        calls[0]["id"], "toolu_gc1_0",
        "an id from the call's position"
    );
    let second = calls[1]["id"].as_str().expect("id");
    assert!(
        second.starts_with("call_2"),
        "the call's own id, in Anthropic's pattern: {second}"
    );
    let results = m[2]["content"].as_array().expect("results");
    assert_eq!(results[0]["tool_use_id"], second);
    assert_eq!(results[0]["content"], "B");
    assert_eq!(
        results[1]["tool_use_id"], "toolu_gc1_0",
        "by name, when the id is the client's own"
    );
    assert_eq!(results[1]["is_error"], true);
    assert_eq!(
        results[2]["tool_use_id"], "toolu_gc1_2",
        "an unanswered call gets an error result"
    );
    assert_eq!(results[2]["is_error"], true);
    assert_eq!(
        results[3],
        json!({"type": "text", "text": "thanks"}),
        "results first"
    );
}

#[test]
fn thought_signatures_bring_signed_thinking_back() {
    let sig = pack(&[json!({"type": "thinking", "thinking": "hmm", "signature": "EqA"})])
        .expect("packed");
    let t = tr(
        json!({"generationConfig": {"thinkingConfig": {"thinkingBudget": 2048}}, "contents": [
            user("go"),
            {"role": "model", "parts": [
                {"text": "hmm", "thought": true},
                {"functionCall": {"id": "toolu_1", "name": "f", "args": {}}, "thoughtSignature": sig},
            ]},
            {"role": "user", "parts": [{"functionResponse": {"id": "toolu_1", "name": "f", "response": {"output": "ok"}}}]},
        ]}),
    );
    let m = t.body["messages"].as_array().expect("messages");
    assert_eq!(
        m[1]["content"],
        json!([{"type": "thinking", "thinking": "hmm", "signature": "EqA"},
               {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}])
    );
    assert_eq!(
        t.body["thinking"]["budget_tokens"], 2048,
        "the loop has its thinking: it stays on"
    );
    // Gemini CLI's own placeholder signature: no thinking to give back, so none for the step.
    let t = tr(
        json!({"generationConfig": {"thinkingConfig": {"thinkingBudget": 2048}}, "contents": [
            user("go"),
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "skip_thought_signature_validator"}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"output": "ok"}}}]},
        ]}),
    );
    assert!(t.body.get("thinking").is_none(), "{}", t.body);
}

#[test]
fn media() {
    let t = tr(json!({"contents": [{"role": "user", "parts": [
        {"inlineData": {"mimeType": "image/png", "data": "iVBOR"}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBER"}},
        {"inlineData": {"mimeType": "text/plain", "data": "aGVsbG8="}},
        {"inlineData": {"mimeType": "audio/mp3", "data": "AAAA"}},
        {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/a.jpg"}},
        {"fileData": {"mimeType": "video/mp4", "fileUri": "gs://bucket/v.mp4"}},
    ]}]}));
    let c = t.body["messages"][0]["content"]
        .as_array()
        .expect("content")
        .clone();
    assert_eq!(
        c[0]["source"],
        json!({"type": "base64", "media_type": "image/png", "data": "iVBOR"})
    );
    assert_eq!(c[1]["type"], "document");
    assert_eq!(c[2]["source"]["data"], "hello");
    assert!(c[3]["text"].as_str().unwrap_or("").contains("audio/mp3"));
    assert_eq!(
        c[4]["source"],
        json!({"type": "url", "url": "https://example.com/a.jpg"})
    );
    assert_eq!(c[5]["type"], "text");
    assert_eq!(t.notes.len(), 2, "{:?}", t.notes);
}

#[test]
fn bad_input_names_the_field() {
    for (req, word) in [
        (json!([]), "JSON object"),
        (json!({"contents": []}), "contents"),
        (
            json!({"contents": [{"role": "robot", "parts": []}]}),
            "contents[0].role",
        ),
        (
            json!({"contents": [{"role": "user", "parts": [{"functionCall": {"name": "f"}}]}]}),
            "contents[0].parts[0]",
        ),
        (
            json!({"contents": [{"role": "model", "parts": [{"functionCall": {"args": {}}}]}]}),
            "functionCall.name",
        ),
        (
            json!({"contents": [{"parts": [{"unknown": 1}]}]}),
            "unknown part",
        ),
        (
            json!({"contents": [user("x")], "systemInstruction": {"parts": [{"inlineData": {}}]}}),
            "systemInstruction",
        ),
    ] {
        let e = to_anthropic(&req, "m", false).expect_err("refused");
        assert!(e.message.contains(word), "{word}: {}", e.message);
    }
}

#[test]
fn count_requests() {
    let c = count_request(&json!({"generateContentRequest": {"contents": [user("x")], "generationConfig": {"maxOutputTokens": 5}}}), "m").expect("ok");
    assert!(c.get("max_tokens").is_none());
    assert_eq!(c["messages"][0]["content"][0]["text"], "x");
    assert!(count_request(&json!({"contents": [user("y")]}), "m").is_ok());
}
