//! PROTOCOL.md §7 cases for the Gemini request and response translation (stream cases are in
//! `tests_stream`).

use serde_json::{json, Value};

use super::*;

const PID: &str = "g1";

fn tr(req: Value) -> Translated {
    tr_with(req, &GeminiOptions::default())
}

fn tr_with(req: Value, opts: &GeminiOptions) -> Translated {
    to_request(&req, PID, opts).expect("translates")
}

fn base(messages: Value) -> Value {
    json!({"model": "claude-x", "max_tokens": 100, "messages": messages})
}

fn parts(t: &Translated, content: usize) -> &Vec<Value> {
    t.body["contents"][content]["parts"]
        .as_array()
        .expect("parts")
}

fn weather_call(id: &str) -> Value {
    json!({"type": "tool_use", "id": id, "name": "get_weather", "input": {"city": "Paris"}})
}

#[test]
fn case_01_tool_result_list_with_image() {
    let t = tr(base(json!([
        {"role": "user", "content": "look"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "screenshot", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [
            {"type": "text", "text": "here it is"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}
        ]}]}
    ])));
    let p = parts(&t, 2);
    assert_eq!(
        p[0],
        json!({"functionResponse": {"name": "screenshot", "response": {"content": "here it is"}}})
    );
    assert_eq!(
        p[1],
        json!({"inlineData": {"mimeType": "image/png", "data": "iVBOR"}})
    );
    assert_eq!(t.body["contents"][2]["role"], "user");
}

#[test]
fn case_02_is_error_documents_and_unknown_blocks() {
    let t = tr(base(json!([
        {"role": "user", "content": [
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain doc"}},
            {"type": "text", "text": "summarise"}
        ]},
        {"role": "assistant", "content": [weather_call("toolu_1")]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "is_error": true, "content": "city not found"}]}
    ])));
    let p = parts(&t, 0);
    assert_eq!(
        p[0],
        json!({"inlineData": {"mimeType": "application/pdf", "data": "JVBER"}})
    );
    assert_eq!(p[1], json!({"text": "plain doc"}));
    assert_eq!(
        parts(&t, 2)[0],
        json!({"functionResponse": {"name": "get_weather", "response": {"error": "city not found"}}})
    );
    // Unknown block types fail clearly, naming the type; never dropped silently.
    for (role, block) in [
        ("user", json!({"type": "hologram", "data": 1})),
        ("assistant", json!({"type": "hologram", "data": 1})),
    ] {
        let e = to_request(
            &base(json!([{"role": role, "content": [block]}])),
            PID,
            &GeminiOptions::default(),
        )
        .expect_err("unknown block");
        assert!(e.0.contains("`hologram`"), "{e}");
    }
    let e = to_request(
        &base(
            json!([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x",
            "content": [{"type": "hologram"}]}]}]),
        ),
        PID,
        &GeminiOptions::default(),
    )
    .expect_err("unknown block in a tool result");
    assert!(e.0.contains("`hologram`"), "{e}");
    // An image url goes as fileData with a type from its extension.
    let t = tr(base(json!([{"role": "user", "content": [
        {"type": "image", "source": {"type": "url", "url": "https://x.test/cat.webp?s=1"}}
    ]}])));
    assert_eq!(
        parts(&t, 0)[0],
        json!({"fileData": {"mimeType": "image/webp", "fileUri": "https://x.test/cat.webp?s=1"}})
    );
    let e = to_request(
        &base(json!([{"role": "user", "content": [
            {"type": "image", "source": {"type": "file", "file_id": "file_1"}}
        ]}])),
        PID,
        &GeminiOptions::default(),
    )
    .expect_err("file sources");
    assert!(e.0.contains("`file` source"), "{e}");
}

#[test]
fn case_03_tool_use_without_result_and_result_without_use() {
    let t = tr(base(json!([
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [weather_call("toolu_1"), {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "noon"},
            {"type": "text", "text": "never mind"}
        ]},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_zzz", "content": "stray"}]}
    ])));
    let p = parts(&t, 2);
    // Call order: the unanswered first call gets a synthetic error, then the real result.
    assert_eq!(p[0]["functionResponse"]["name"], "get_weather");
    assert!(p[0]["functionResponse"]["response"]["error"].is_string());
    assert_eq!(
        p[1],
        json!({"functionResponse": {"name": "get_time", "response": {"content": "noon"}}})
    );
    assert_eq!(p[2], json!({"text": "never mind"}));
    let stray = parts(&t, 4);
    assert_eq!(stray.len(), 1);
    let text = stray[0]["text"].as_str().expect("orphan result as text");
    assert!(
        text.contains("toolu_zzz") && text.contains("stray"),
        "{text}"
    );
    assert!(t.notes.iter().any(|n| n.contains("no matching tool_use")));
    assert!(t.notes.iter().any(|n| n.contains("no tool_result")));
}

#[test]
fn case_04_tool_results_come_before_text_in_a_user_turn() {
    let t = tr(base(json!([
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [weather_call("toolu_1")]},
        {"role": "user", "content": [
            {"type": "text", "text": "also, hurry"},
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "sunny"}]}
        ]}
    ])));
    let p = parts(&t, 2);
    assert_eq!(
        p[0],
        json!({"functionResponse": {"name": "get_weather", "response": {"content": "sunny"}}})
    );
    assert_eq!(p[1], json!({"text": "also, hurry"}));
    assert_eq!(t.body["contents"].as_array().map(Vec::len), Some(3));
}

fn with_tools(choice: Value) -> Value {
    let mut r = base(json!([{"role": "user", "content": "hi"}]));
    r["tools"] = json!([
        {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}},
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
    ]);
    r["tool_choice"] = choice;
    r
}

#[test]
#[allow(non_snake_case)]
fn case_05_tool_choice_any_becomes_ANY() {
    let mode =
        |choice: Value| tr(with_tools(choice)).body["toolConfig"]["functionCallingConfig"].clone();
    assert_eq!(mode(json!({"type": "any"})), json!({"mode": "ANY"}));
    assert_eq!(mode(json!({"type": "auto"})), json!({"mode": "AUTO"}));
    assert_eq!(mode(json!({"type": "none"})), json!({"mode": "NONE"}));
    assert_eq!(
        mode(json!({"type": "tool", "name": "get_weather"})),
        json!({"mode": "ANY", "allowedFunctionNames": ["get_weather"]})
    );
    let t = tr(with_tools(
        json!({"type": "any", "disable_parallel_tool_use": true}),
    ));
    let decls = &t.body["tools"][0]["functionDeclarations"];
    assert_eq!(
        decls.as_array().map(Vec::len),
        Some(1),
        "server tool dropped"
    );
    assert_eq!(decls[0]["name"], "get_weather");
    assert!(t.notes.iter().any(|n| n.contains("web_search")));
    assert!(t
        .notes
        .iter()
        .any(|n| n.contains("disable_parallel_tool_use")));
}

#[test]
fn case_06_stop_sequences_top_k_and_prefill_survive() {
    let mut r = base(json!([
        {"role": "user", "content": "Write a haiku"},
        {"role": "assistant", "content": "Autumn moon:"}
    ]));
    r["stop_sequences"] = json!(["\n\n", "END", "a", "b", "c", "d"]);
    r["top_k"] = json!(40);
    r["top_p"] = json!(0.9);
    r["temperature"] = json!(0.7);
    let t = tr(r);
    let gc = &t.body["generationConfig"];
    assert_eq!(gc["stopSequences"], json!(["\n\n", "END", "a", "b", "c"]));
    assert_eq!(gc["topK"], 40);
    assert_eq!(gc["topP"], 0.9);
    assert_eq!(gc["temperature"], 0.7);
    let last = t.body["contents"]
        .as_array()
        .and_then(|c| c.last())
        .cloned();
    assert_eq!(
        last,
        Some(json!({"role": "model", "parts": [{"text": "Autumn moon:"}]}))
    );
    assert!(t.notes.iter().any(|n| n.contains("prefill")));
    assert!(t.notes.iter().any(|n| n.contains("stop_sequences cut")));
}

#[test]
fn case_07_cache_control_stripped_and_never_left_on_empty_blocks() {
    let cc = json!({"type": "ephemeral"});
    let mut r = base(json!([
        {"role": "user", "content": [
            {"type": "text", "text": "", "cache_control": cc},
            {"type": "text", "text": "question", "cache_control": cc}
        ]},
        {"role": "assistant", "content": [{"type": "text", "text": "", "cache_control": cc}]},
        {"role": "user", "content": [{"type": "text", "text": "again", "cache_control": cc}]}
    ]));
    r["system"] = json!([{"type": "text", "text": "sys", "cache_control": cc}]);
    r["tools"] = json!([{"name": "t", "input_schema": {"type": "object"}, "cache_control": cc}]);
    let t = tr(r);
    let text = t.body.to_string();
    assert!(!text.contains("cache_control"), "{text}");
    assert!(
        !text.contains(r#""text":"""#),
        "no empty text parts: {text}"
    );
    // The empty assistant turn vanished and the two user turns merged.
    assert_eq!(
        t.body["contents"],
        json!([{"role": "user", "parts": [{"text": "question"}, {"text": "again"}]}])
    );
    assert!(t.notes.iter().any(|n| n.contains("cache_control")));
    // A tool with no properties declares no parameters (Gemini refuses an empty object).
    assert_eq!(
        t.body["tools"][0]["functionDeclarations"][0],
        json!({"name": "t"})
    );
}

#[test]
fn case_08_max_tokens_clamped_per_provider_with_a_note() {
    let opts = GeminiOptions {
        max_tokens_cap: Some(65_536),
        ..Default::default()
    };
    let mut r = base(json!([{"role": "user", "content": "hi"}]));
    r["max_tokens"] = json!(128_000);
    let t = tr_with(r.clone(), &opts);
    assert_eq!(t.body["generationConfig"]["maxOutputTokens"], 65_536);
    assert!(t
        .notes
        .iter()
        .any(|n| n.contains("128000") && n.contains("65536")));
    r["max_tokens"] = json!(1000);
    let t = tr_with(r, &opts);
    assert_eq!(t.body["generationConfig"]["maxOutputTokens"], 1000);
    assert!(t.notes.is_empty(), "{:?}", t.notes);
}

#[test]
fn case_09_thinking_budget_and_level_never_both() {
    let budget = GeminiOptions::default();
    let level = GeminiOptions {
        thinking: ThinkingStyle::Level,
        ..Default::default()
    };
    let with = |thinking: Value, effort: Option<&str>| {
        let mut r = base(json!([{"role": "user", "content": "hi"}]));
        r["thinking"] = thinking;
        if let Some(e) = effort {
            r["output_config"] = json!({"effort": e});
        }
        r
    };
    let tc = |r: Value, o: &GeminiOptions| {
        tr_with(r, o).body["generationConfig"]["thinkingConfig"].clone()
    };
    let enabled = json!({"type": "enabled", "budget_tokens": 2048});
    assert_eq!(
        tc(with(enabled.clone(), None), &budget),
        json!({"thinkingBudget": 2048, "includeThoughts": true})
    );
    assert_eq!(
        tc(with(enabled, Some("high")), &level),
        json!({"thinkingLevel": "low", "includeThoughts": true})
    );
    assert_eq!(
        tc(
            with(json!({"type": "enabled", "budget_tokens": 100_000}), None),
            &budget
        )["thinkingBudget"],
        24_576
    );
    let adaptive = json!({"type": "adaptive"});
    assert_eq!(
        tc(with(adaptive.clone(), None), &budget),
        json!({"thinkingBudget": -1, "includeThoughts": true})
    );
    assert_eq!(
        tc(with(adaptive.clone(), Some("low")), &budget)["thinkingBudget"],
        1024
    );
    assert_eq!(
        tc(with(adaptive.clone(), Some("medium")), &level),
        json!({"thinkingLevel": "low", "includeThoughts": true})
    );
    assert_eq!(
        tc(with(adaptive, Some("max")), &level),
        json!({"thinkingLevel": "high", "includeThoughts": true})
    );
    let disabled = json!({"type": "disabled"});
    assert_eq!(tc(with(disabled.clone(), None), &budget), Value::Null);
    assert_eq!(
        tc(with(disabled, None), &level),
        json!({"thinkingLevel": "low"})
    );
    assert_eq!(
        tc(base(json!([{"role": "user", "content": "hi"}])), &budget),
        Value::Null
    );
    // Never a budget and a level together, whatever the combination.
    for thinking in [
        json!({"type": "enabled", "budget_tokens": 9000}),
        json!({"type": "adaptive"}),
        json!({"type": "disabled"}),
        Value::Null,
    ] {
        for effort in [None, Some("low"), Some("high")] {
            for o in [&budget, &level] {
                let c = tc(with(thinking.clone(), effort), o);
                assert!(
                    !(c.get("thinkingBudget").is_some() && c.get("thinkingLevel").is_some()),
                    "{c}"
                );
            }
        }
    }
}

#[test]
fn case_10_gemini_schema_system_thought_signature_function_response_names() {
    // A Gemini answer with thought text, then a signed function call.
    let answer = json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "Need the weather.", "thought": true},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "SIG_A"}
        ]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 50, "candidatesTokenCount": 10, "thoughtsTokenCount": 5, "totalTokenCount": 65},
        "responseId": "resp1"
    });
    let msg = from_response(&answer, "claude-x", PID).expect("answer");
    let content = msg["content"].as_array().expect("content").clone();
    assert_eq!(content[0]["type"], "thinking");
    assert_eq!(content[0]["thinking"], "Need the weather.");
    assert_eq!(content[0]["signature"], "sy1.g1.gemini:SIG_A");
    assert_eq!(content[1]["type"], "tool_use");
    let id = content[1]["id"].as_str().expect("id").to_string();
    assert!(
        crate::translate::history::valid_tool_id(&id) && id.starts_with("toolu_"),
        "{id}"
    );
    assert_eq!(msg["stop_reason"], "tool_use");

    // The client echoes it back with the result; tools carry a JSON Schema Gemini refuses.
    let mut r = base(json!([
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "sunny"}]}
    ]));
    r["system"] =
        json!([{"type": "text", "text": "You are terse."}, {"type": "text", "text": "Use tools."}]);
    r["tools"] = json!([{"name": "get_weather", "input_schema": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object", "additionalProperties": false,
        "properties": {"city": {"type": ["string", "null"], "examples": ["Paris"]}},
        "required": ["city"]
    }}]);
    let t = tr(r);
    assert_eq!(
        t.body["systemInstruction"],
        json!({"parts": [{"text": "You are terse.\n\nUse tools."}]})
    );
    assert!(t.body.get("system").is_none());
    assert_eq!(
        parts(&t, 1),
        &vec![
            json!({"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "SIG_A"})
        ],
        "thought text is not sent back, the signature rides on the call"
    );
    assert_eq!(
        parts(&t, 2)[0],
        json!({"functionResponse": {"name": "get_weather", "response": {"content": "sunny"}}})
    );
    assert_eq!(
        t.body["tools"][0]["functionDeclarations"][0]["parameters"],
        json!({"type": "object", "properties": {"city": {"type": "string", "nullable": true}}, "required": ["city"]})
    );
    // The same history after translate::history unstamped our signature still carries it.
    let mut unstamped = content.clone();
    unstamped[0]["signature"] = json!("gemini:SIG_A");
    let t = tr(base(json!([
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": unstamped}
    ])));
    assert_eq!(parts(&t, 1)[0]["thoughtSignature"], "SIG_A");
}

#[test]
fn case_16_finish_reasons_in_a_whole_answer() {
    let answer = |parts: Value, finish: &str| json!({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish}]});
    let stop = |v: Value| from_response(&v, "m", PID).expect("answer")["stop_reason"].clone();
    assert_eq!(stop(answer(json!([{"text": "no"}]), "SAFETY")), "refusal");
    assert_eq!(
        stop(answer(json!([{"text": "no"}]), "RECITATION")),
        "refusal"
    );
    assert_eq!(
        stop(answer(json!([{"text": "long"}]), "MAX_TOKENS")),
        "max_tokens"
    );
    assert_eq!(stop(answer(json!([{"text": "hi"}]), "STOP")), "end_turn");
    assert_eq!(
        stop(answer(
            json!([{"functionCall": {"name": "f", "args": {}}}]),
            "STOP"
        )),
        "tool_use"
    );
    assert_eq!(
        stop(json!({"promptFeedback": {"blockReason": "SAFETY"}})),
        "refusal"
    );
    let e = from_response(
        &json!({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}),
        "m",
        PID,
    )
    .expect_err("error body");
    assert!(e.0.contains("quota"));
}

#[test]
fn case_19_history_from_other_providers() {
    let t = tr(base(json!([
        {"role": "user", "content": "list files"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "anthropic thoughts", "signature": "EqQBCkYIBxgCKkD"},
            {"type": "redacted_thinking", "data": "xyz"},
            {"type": "thinking", "thinking": "deepseek thoughts", "signature": "sy1.deepseek.abc"},
            {"type": "text", "text": "Listing."},
            {"type": "tool_use", "id": "functions.ls:0", "name": "ls", "input": {"path": "."}},
            {"type": "tool_use", "id": "functions.ls:1", "name": "ls", "input": {"path": "/"}}
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "functions.ls:1", "content": "bin"},
            {"type": "tool_result", "tool_use_id": "functions.ls:0", "content": "a.txt"}
        ]}
    ])));
    let text = t.body.to_string();
    for gone in [
        "anthropic thoughts",
        "deepseek thoughts",
        "EqQBCkYIBxgCKkD",
        "xyz",
    ] {
        assert!(!text.contains(gone), "{gone} leaked: {text}");
    }
    let model = parts(&t, 1);
    assert_eq!(model[0], json!({"text": "Listing."}));
    for call in &model[1..] {
        assert_eq!(call["thoughtSignature"], THOUGHT_SIGNATURE_BYPASS);
    }
    // Results follow the calls' order, each named.
    let user = parts(&t, 2);
    assert_eq!(user[0]["functionResponse"]["response"]["content"], "a.txt");
    assert_eq!(user[1]["functionResponse"]["response"]["content"], "bin");
    assert!(user.iter().all(|p| p["functionResponse"]["name"] == "ls"));
    assert!(t.notes.iter().any(|n| n.contains("3 thinking")));
}

#[test]
fn case_20_empty_answer_is_recognisable() {
    let empty = json!({
        "candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}
    });
    let msg = from_response(&empty, "claude-x", PID).expect("answer");
    assert_eq!(msg["content"], json!([]));
    assert_eq!(msg["usage"]["output_tokens"], 0);
    assert_eq!(msg["model"], "claude-x");
    let malformed = json!({"candidates": [{"finishReason": "MALFORMED_FUNCTION_CALL"}]});
    let msg = from_response(&malformed, "claude-x", PID).expect("answer");
    assert_eq!(msg["content"], json!([]));
}

#[test]
fn gemini_3_call_ids_come_back_on_their_responses() {
    // The answer: Gemini's own id travels in the tool_use id.
    let answer = json!({"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"id": "a1b2c3", "name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "sig"},
        {"functionCall": {"name": "get_time", "args": {}}},
    ]}, "finishReason": "STOP"}]});
    let msg = from_response(&answer, "claude-x", PID).expect("answer");
    let ids: Vec<&str> = msg["content"]
        .as_array()
        .expect("content")
        .iter()
        .filter_map(|b| b["id"].as_str())
        .collect();
    assert_eq!(ids[0], "gmcall_a1b2c3");
    assert!(ids[1].starts_with("toolu_gm"), "{ids:?}");
    // The next request: Gemini's id goes back on the call and its response; ours and other
    // providers' ids never reach Gemini.
    let t = tr(base(json!([
        {"role": "user", "content": "weather and time"},
        {"role": "assistant", "content": [
            weather_call(ids[0]),
            {"type": "tool_use", "id": ids[1], "name": "get_time", "input": {}},
            {"type": "tool_use", "id": "toolu_01Other", "name": "get_weather", "input": {}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": ids[0], "content": "sunny"},
            {"type": "tool_result", "tool_use_id": ids[1], "content": "noon"},
            {"type": "tool_result", "tool_use_id": "toolu_01Other", "content": "rain"},
        ]},
    ])));
    let calls = parts(&t, 1);
    assert_eq!(calls[0]["functionCall"]["id"], "a1b2c3");
    assert!(calls[1]["functionCall"].get("id").is_none());
    assert!(calls[2]["functionCall"].get("id").is_none());
    let results = parts(&t, 2);
    assert_eq!(results[0]["functionResponse"]["id"], "a1b2c3");
    assert!(results[1]["functionResponse"].get("id").is_none());
    assert!(results[2]["functionResponse"].get("id").is_none());
}
