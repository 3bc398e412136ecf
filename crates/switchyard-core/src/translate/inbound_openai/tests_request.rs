//! The request mapping table, one case per row.

use serde_json::{json, Value};

use super::{to_anthropic, InboundError, DEFAULT_MAX_TOKENS};

fn ok(req: Value) -> Value {
    to_anthropic(&req).expect("translates").body
}

fn err(req: Value) -> InboundError {
    to_anthropic(&req).expect_err("refused")
}

fn base(messages: Value) -> Value {
    json!({"model": "claude-sonnet-4-5", "messages": messages})
}

#[test]
fn minimal_request_gets_defaults() {
    let got = to_anthropic(&base(json!([{"role": "user", "content": "hi"}]))).expect("ok");
    assert_eq!(got.model, "claude-sonnet-4-5");
    assert!(!got.stream && !got.include_usage);
    assert_eq!(
        got.body,
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": DEFAULT_MAX_TOKENS,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        })
    );
}

#[test]
fn system_and_developer_lead_mid_chat_system_stays_in_place() {
    let b = ok(base(json!([
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "salut"},
        {"role": "system", "content": "[Start a new chat]"},
        {"role": "user", "content": "again"},
    ])));
    assert_eq!(b["system"], "Be brief.\n\nUse French.");
    let m = b["messages"].as_array().expect("messages");
    assert_eq!(m.len(), 3);
    assert_eq!(m[2]["role"], "user");
    assert_eq!(
        m[2]["content"],
        json!([
            {"type": "text", "text": "[system] [Start a new chat]"},
            {"type": "text", "text": "again"},
        ])
    );
}

#[test]
fn images_data_urls_and_http_urls() {
    let b = ok(base(json!([{"role": "user", "content": [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"}},
        {"type": "text", "text": ""},
    ]}])));
    assert_eq!(
        b["messages"][0]["content"],
        json!([
            {"type": "text", "text": "what is this"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        ])
    );
    let e = err(base(json!([{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/tiff;base64,AAAA"}},
    ]}])));
    assert_eq!(e.param.as_deref(), Some("messages[0].content[0]"));
    let e = err(base(json!([{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "ftp://x/y.png"}},
    ]}])));
    assert!(e.message.contains("http(s)"), "{e:?}");
}

#[test]
fn tool_round_trip_merges_consecutive_results() {
    let b = ok(base(json!([
        {"role": "user", "content": "weather in Paris and Rome?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "call.2", "type": "function", "function": {"name": "weather", "arguments": ""}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call.2", "content": [{"type": "text", "text": "rain"}]},
        {"role": "user", "content": "thanks"},
    ])));
    let m = b["messages"].as_array().expect("messages");
    assert_eq!(m.len(), 3, "{m:?}");
    assert_eq!(
        m[1]["content"],
        json!([
            {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "weather", "input": {}},
        ])
    );
    assert_eq!(
        m[2]["content"],
        json!([
            {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": "rain"},
            {"type": "text", "text": "thanks"},
        ])
    );
}

#[test]
fn bad_arguments_are_kept_raw() {
    let b = ok(base(json!([
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}},
        ]},
        {"role": "tool", "tool_call_id": "c", "content": ""},
    ])));
    assert_eq!(
        b["messages"][1]["content"][0]["input"],
        json!({"_raw": "{oops"})
    );
    assert_eq!(
        b["messages"][2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "c"})
    );
}

#[test]
fn tools_and_tool_choice() {
    let tools = json!([{"type": "function", "function": {
        "name": "weather", "description": "Get weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }}, {"type": "function", "function": {"name": "noargs"}},
       {"type": "function", "function": {"name": "untyped", "parameters": {"properties": {"q": {"type": "string"}}}}}]);
    let with = |choice: Value| {
        let mut r = base(json!([{"role": "user", "content": "x"}]));
        r["tools"] = tools.clone();
        if !choice.is_null() {
            r["tool_choice"] = choice;
        }
        ok(r)
    };
    let b = with(Value::Null);
    assert_eq!(b["tools"][0]["name"], "weather");
    assert_eq!(b["tools"][0]["description"], "Get weather");
    assert_eq!(b["tools"][0]["input_schema"]["required"], json!(["city"]));
    assert_eq!(
        b["tools"][1]["input_schema"],
        json!({"type": "object", "properties": {}})
    );
    assert_eq!(
        b["tools"][2]["input_schema"],
        json!({"type": "object", "properties": {"q": {"type": "string"}}})
    );
    assert!(b.get("tool_choice").is_none());
    for (choice, want) in [
        (json!("auto"), json!({"type": "auto"})),
        (json!("none"), json!({"type": "none"})),
        (json!("required"), json!({"type": "any"})),
        (
            json!({"type": "function", "function": {"name": "weather"}}),
            json!({"type": "tool", "name": "weather"}),
        ),
    ] {
        assert_eq!(with(choice.clone())["tool_choice"], want, "{choice}");
    }
    let mut r = base(json!([{"role": "user", "content": "x"}]));
    r["tools"] = tools.clone();
    r["parallel_tool_calls"] = json!(false);
    assert_eq!(
        ok(r)["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    let mut r = base(json!([{"role": "user", "content": "x"}]));
    r["tools"] = json!([{"type": "custom", "custom": {"name": "x"}}]);
    assert_eq!(err(r).param.as_deref(), Some("tools[0].type"));
}

#[test]
fn legacy_functions_and_function_messages() {
    let mut r = base(json!([
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": null, "function_call": {"name": "f", "arguments": "{\"a\":1}"}},
        {"role": "function", "name": "f", "content": "done"},
    ]));
    r["functions"] = json!([{"name": "f", "parameters": {"type": "object"}}]);
    r["function_call"] = json!({"name": "f"});
    let b = ok(r);
    assert_eq!(b["tools"][0]["name"], "f");
    assert_eq!(b["tool_choice"], json!({"type": "tool", "name": "f"}));
    let id = b["messages"][1]["content"][0]["id"].clone();
    assert_eq!(b["messages"][1]["content"][0]["input"], json!({"a": 1}));
    assert_eq!(b["messages"][2]["content"][0]["tool_use_id"], id);
}

#[test]
fn sampling_limits_stop_user_and_stream() {
    let mut r = base(json!([{"role": "user", "content": "x"}]));
    r["max_tokens"] = json!(100);
    r["max_completion_tokens"] = json!(200);
    r["temperature"] = json!(1.6);
    r["top_p"] = json!(0.9);
    r["top_k"] = json!(40);
    r["stop"] = json!("END");
    r["user"] = json!("u-42");
    r["stream"] = json!(true);
    r["stream_options"] = json!({"include_usage": true});
    r["seed"] = json!(7);
    r["presence_penalty"] = json!(0.5);
    let got = to_anthropic(&r).expect("ok");
    assert!(got.stream && got.include_usage);
    let b = got.body;
    assert_eq!(b["max_tokens"], 200, "max_completion_tokens wins");
    assert_eq!(b["temperature"], 1.0, "clamped to Anthropic's range");
    assert_eq!(b["top_p"], 0.9);
    assert_eq!(b["top_k"], 40);
    assert_eq!(b["stop_sequences"], json!(["END"]));
    assert_eq!(b["metadata"], json!({"user_id": "u-42"}));
    assert_eq!(b["stream"], true);
    assert!(b.get("seed").is_none() && b.get("presence_penalty").is_none());
    let mut r = base(json!([{"role": "user", "content": "x"}]));
    r["stop"] = json!(["a", "", "b"]);
    r["stream_options"] = json!({"include_usage": true});
    let got = to_anthropic(&r).expect("ok");
    assert!(!got.include_usage, "usage chunks only on streams");
    assert_eq!(got.body["stop_sequences"], json!(["a", "b"]));
}

#[test]
fn reasoning_effort_becomes_a_thinking_budget() {
    let mut r = base(json!([{"role": "user", "content": "x"}]));
    r["reasoning_effort"] = json!("medium");
    r["max_tokens"] = json!(1000);
    r["temperature"] = json!(0.3);
    r["top_p"] = json!(0.5);
    let b = ok(r);
    assert_eq!(
        b["thinking"],
        json!({"type": "enabled", "budget_tokens": 8192})
    );
    assert_eq!(
        b["max_tokens"], 9192,
        "room for the answer above the budget"
    );
    assert!(b.get("temperature").is_none() && b.get("top_p").is_none());
    let mut r = base(json!([{"role": "user", "content": "x"}]));
    r["reasoning_effort"] = json!("minimal");
    assert!(ok(r).get("thinking").is_none());
    for (effort, budget) in [
        ("auto", None),
        ("min", None),
        ("low", Some(2048)),
        ("max", Some(16384)),
    ] {
        let mut r = base(json!([{"role": "user", "content": "x"}]));
        r["reasoning_effort"] = json!(effort);
        assert_eq!(
            ok(r)["thinking"]["budget_tokens"].as_u64(),
            budget,
            "{effort}"
        );
    }
    // Mid tool loop, thinking is left off: the signed thinking block cannot come back.
    let mut r = base(json!([
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": "r"},
    ]));
    r["reasoning_effort"] = json!("high");
    r["temperature"] = json!(0.2);
    let b = ok(r);
    assert!(b.get("thinking").is_none());
    assert_eq!(b["temperature"], 0.2);
    let mut r = base(json!([{"role": "user", "content": "x"}]));
    r["reasoning_effort"] = json!("extreme");
    assert_eq!(err(r).param.as_deref(), Some("reasoning_effort"));
}

#[test]
fn response_format_becomes_an_instruction() {
    let mut r = base(json!([{"role": "system", "content": "S"}, {"role": "user", "content": "x"}]));
    r["response_format"] = json!({"type": "json_object"});
    assert_eq!(
        ok(r)["system"],
        "S\n\nRespond with one valid JSON object and nothing else."
    );
    let mut r = base(json!([{"role": "user", "content": "x"}]));
    r["response_format"] =
        json!({"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object"}}});
    assert!(ok(r)["system"]
        .as_str()
        .unwrap()
        .contains(r#"{"type":"object"}"#));
}

#[test]
fn unservable_requests_are_refused_with_the_parameter() {
    for (field, value, param) in [
        ("n", json!(2), "n"),
        ("logprobs", json!(true), "logprobs"),
        ("top_logprobs", json!(3), "logprobs"),
        ("modalities", json!(["text", "audio"]), "audio"),
        ("audio", json!({"voice": "alloy", "format": "mp3"}), "audio"),
    ] {
        let mut r = base(json!([{"role": "user", "content": "x"}]));
        r[field] = value;
        let e = err(r);
        assert_eq!(e.param.as_deref(), Some(param), "{field}");
        assert_eq!(e.code, "unsupported_parameter");
    }
    let mut r = base(json!([{"role": "user", "content": "x"}]));
    r["n"] = json!(1);
    r["logprobs"] = json!(false);
    assert!(
        to_anthropic(&r).is_ok(),
        "n = 1 and logprobs false are fine"
    );
    let e = err(base(
        json!([{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]),
    ));
    assert_eq!(e.code, "unsupported_parameter");
}

#[test]
fn malformed_requests_are_clear_400s() {
    for (req, param) in [
        (
            json!({"messages": [{"role": "user", "content": "x"}]}),
            "model",
        ),
        (json!({"model": "m"}), "messages"),
        (json!({"model": "m", "messages": []}), "messages"),
        (
            json!({"model": "m", "messages": [{"role": "system", "content": "only"}]}),
            "messages",
        ),
        (
            json!({"model": "m", "messages": [{"role": "robot", "content": "x"}]}),
            "messages[0].role",
        ),
        (
            json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]}),
            "messages[0].tool_call_id",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}),
            "max_tokens",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": 5}),
            "stop",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}),
            "temperature",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "sometimes", "tools": [{"type": "function", "function": {"name": "f"}}]}),
            "tool_choice",
        ),
    ] {
        let e = err(req.clone());
        assert_eq!(e.param.as_deref(), Some(param), "{req}: {e:?}");
        assert!(!e.message.is_empty());
    }
    assert!(to_anthropic(&json!([1])).is_err());
}

#[test]
fn pdf_files_become_documents() {
    let b = ok(base(json!([{"role": "user", "content": [
        {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}},
    ]}])));
    assert_eq!(
        b["messages"][0]["content"][0],
        json!({"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}})
    );
    let e = err(base(
        json!([{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}]),
    ));
    assert_eq!(e.code, "unsupported_parameter");
}
