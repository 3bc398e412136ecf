//! Responses requests as Codex CLI and the OpenAI SDK send them, read into the hub.

use serde_json::{json, Value};

use super::carrier::encode_thinking;
use super::*;

fn ok(req: Value) -> Inbound {
    to_anthropic(&req).unwrap_or_else(|e| panic!("{e:?}"))
}

fn err(req: Value) -> InboundError {
    to_anthropic(&req).expect_err("refused")
}

fn types(turn: &Value) -> Vec<&str> {
    turn["content"]
        .as_array()
        .map(|a| a.iter().filter_map(|b| b["type"].as_str()).collect())
        .unwrap_or_default()
}

/// A Codex CLI turn as captured from Codex 0.171 (trimmed): developer instructions, the
/// environment as a user message, the prompt, then a tool round trip with reasoning.
fn codex_turn() -> Value {
    json!({
        "model": "gpt-5.1-codex",
        "stream": true,
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "reasoning": {"effort": "high", "summary": "auto"},
        "store": false,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "01a2-session",
        "client_metadata": {"turn_id": "t1"},
        "input": [
            {"type": "message", "id": "msg_dev", "role": "developer",
             "content": [{"type": "input_text", "text": "You are a coding agent running in the Codex CLI."}]},
            {"type": "message", "role": "developer",
             "content": [{"type": "input_text", "text": "<skills_instructions>none</skills_instructions>"}]},
            {"type": "message", "role": "user",
             "content": [{"type": "input_text", "text": "<environment_context><cwd>/w</cwd></environment_context>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "run echo hi"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "I will run it."}],
             "content": null, "encrypted_content": encode_thinking("I will run it.", "EqQBsig")},
            {"type": "function_call", "status": "completed", "id": "fc_1", "name": "exec_command",
             "arguments": "{\"cmd\": \"echo hi\"}", "call_id": "call_1"},
            {"type": "function_call_output", "id": "fco_1", "call_id": "call_1",
             "output": "Process exited with code 0\nOutput:\nhi\n"},
        ],
        "tools": [
            {"type": "function", "name": "exec_command", "description": "Runs a command", "strict": false,
             "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"], "additionalProperties": false}},
            {"type": "namespace", "name": "multi_agent_v1", "description": "Agents",
             "tools": [{"type": "function", "name": "close_agent", "strict": false,
                        "parameters": {"type": "object", "properties": {"target": {"type": "string"}}}}]},
            {"type": "web_search", "external_web_access": false},
        ],
    })
}

#[test]
fn a_codex_turn_becomes_a_hub_request_with_its_thinking_back() {
    let i = ok(codex_turn());
    let b = &i.body;
    assert_eq!(i.model, "gpt-5.1-codex");
    assert!(i.stream);
    assert_eq!(b["stream"], true);
    assert_eq!(
        b["system"],
        "You are a coding agent running in the Codex CLI.\n\n<skills_instructions>none</skills_instructions>"
    );
    let m = b["messages"].as_array().expect("messages");
    assert_eq!(m.len(), 3, "{m:?}");
    assert_eq!(
        (m[0]["role"].as_str(), types(&m[0])),
        (Some("user"), vec!["text", "text"])
    );
    assert_eq!(types(&m[1]), ["thinking", "tool_use"]);
    assert_eq!(
        m[1]["content"][0],
        json!({"type": "thinking", "thinking": "I will run it.", "signature": "EqQBsig"})
    );
    assert_eq!(
        m[1]["content"][1],
        json!({"type": "tool_use", "id": "call_1", "name": "exec_command", "input": {"cmd": "echo hi"}})
    );
    assert_eq!(m[2]["content"][0]["type"], "tool_result");
    assert_eq!(m[2]["content"][0]["tool_use_id"], "call_1");
    assert_eq!(
        m[2]["content"][0]["content"][0]["text"],
        "Process exited with code 0\nOutput:\nhi\n"
    );
    // The signed thinking came back, so thinking stays on for this step.
    assert_eq!(
        b["thinking"],
        json!({"type": "enabled", "budget_tokens": 16384})
    );
    assert_eq!(b["max_tokens"], DEFAULT_MAX_TOKENS);
    let names: Vec<&str> = b["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["exec_command", "multi_agent_v1__close_agent"]);
    assert!(
        i.notes.iter().any(|n| n.contains("web_search")),
        "{:?}",
        i.notes
    );
    assert_eq!(b["tool_choice"], json!({"type": "auto"}));
    for gone in [
        "include",
        "store",
        "prompt_cache_key",
        "client_metadata",
        "input",
        "reasoning",
    ] {
        assert!(b.get(gone).is_none(), "{gone} in the hub body");
    }
    assert_eq!(
        i.echo["reasoning"],
        json!({"effort": "high", "summary": "auto"})
    );
    assert_eq!(i.echo["prompt_cache_key"], "01a2-session");
}

#[test]
fn previous_response_id_and_other_state_is_refused_clearly() {
    let mut r = codex_turn();
    r["previous_response_id"] = json!("resp_abc");
    let e = err(r);
    assert_eq!(e.code, "previous_response_not_found");
    assert_eq!(e.param.as_deref(), Some("previous_response_id"));
    assert!(
        e.message.contains("resp_abc") && e.message.contains("store: false"),
        "{}",
        e.message
    );
    for (field, value) in [
        ("conversation", json!("conv_1")),
        ("background", json!(true)),
        ("prompt", json!({"id": "pmpt_1"})),
    ] {
        let mut r = codex_turn();
        r[field] = value;
        assert_eq!(err(r).param.as_deref(), Some(field));
    }
    let mut r = codex_turn();
    r["input"]
        .as_array_mut()
        .expect("input")
        .push(json!({"type": "item_reference", "id": "msg_1"}));
    assert_eq!(err(r).param.as_deref(), Some("input[7].type"));
    // `store: true` and a null previous_response_id are fine.
    let mut r = codex_turn();
    r["store"] = json!(true);
    r["previous_response_id"] = Value::Null;
    ok(r);
}

#[test]
fn sdk_shapes_string_input_instructions_and_later_developer_messages() {
    let i = ok(json!({"model": "m", "input": "Say hello.", "instructions": "Be terse."}));
    assert_eq!(i.body["system"], "Be terse.");
    assert_eq!(
        i.body["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "Say hello."}]}])
    );
    assert!(!i.stream);
    let i = ok(json!({"model": "m", "input": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "hello"}]},
        {"role": "developer", "content": "now in French"},
        {"role": "user", "content": "again"},
    ]}));
    let m = i.body["messages"].as_array().expect("messages");
    assert_eq!(m[1]["content"][0]["text"], "hello");
    assert_eq!(m[2]["content"][0]["text"], "[developer] now in French");
    assert_eq!(m[2]["content"][1]["text"], "again");
    assert!(i.body.get("system").is_none());
    assert_eq!(
        err(json!({"model": "m", "input": []})).param.as_deref(),
        Some("input")
    );
    assert_eq!(
        err(json!({"model": "m", "input": [{"role": "developer", "content": "only this"}]}))
            .param
            .as_deref(),
        Some("input")
    );
    assert_eq!(err(json!({"input": "x"})).param.as_deref(), Some("model"));
}

#[test]
fn calls_without_outputs_and_outputs_without_calls_are_repaired() {
    let i = ok(json!({"model": "m", "input": [
        {"role": "user", "content": "go"},
        {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "b", "name": "f", "arguments": "not json"},
        {"type": "function_call_output", "call_id": "b", "output": "done"},
        {"type": "function_call_output", "call_id": "zz", "output": "stray"},
        {"role": "user", "content": "and?"},
    ]}));
    let m = i.body["messages"].as_array().expect("messages");
    assert_eq!(m[1]["content"][1]["input"], json!({"_raw": "not json"}));
    assert_eq!(types(&m[2]), ["tool_result", "tool_result", "text", "text"]);
    let results: Vec<(&str, bool)> = m[2]["content"]
        .as_array()
        .expect("content")
        .iter()
        .filter(|b| b["type"] == "tool_result")
        .map(|b| {
            (
                b["tool_use_id"].as_str().unwrap_or(""),
                b["is_error"] == true,
            )
        })
        .collect();
    assert!(results.contains(&("a", true)), "{results:?}");
    assert!(results.contains(&("b", false)), "{results:?}");
    assert!(m[2]["content"][2]["text"]
        .as_str()
        .expect("text")
        .contains("result of tool call zz"));
    assert_eq!(i.notes.len(), 2, "{:?}", i.notes);
    // A conversation ending on a call gets its result too.
    let i = ok(json!({"model": "m", "input": [
        {"role": "user", "content": "go"},
        {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
    ]}));
    let m = i.body["messages"].as_array().expect("messages");
    assert_eq!(m.len(), 3);
    assert_eq!(m[2]["content"][0]["content"][0]["text"], INTERRUPTED);
}

#[test]
fn custom_namespaced_and_tool_search_calls_round_trip_into_history() {
    let i = ok(json!({"model": "m",
    "tools": [
        {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}},
        {"type": "namespace", "name": "ns", "tools": [{"type": "function", "name": "go"}]},
        {"type": "tool_search", "execution": "client"},
    ],
    "input": [
        {"role": "user", "content": "patch it"},
        {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": "*** Begin Patch"},
        {"type": "custom_tool_call_output", "call_id": "c1", "output": "Success"},
        {"type": "function_call", "call_id": "c2", "namespace": "ns", "name": "go", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "went"}]},
        {"type": "tool_search_call", "call_id": "c3", "execution": "client", "arguments": {"query": "calendar"}},
        {"type": "tool_search_output", "call_id": "c3", "execution": "client",
         "tools": [{"type": "function", "name": "calendar_create", "parameters": {"type": "object", "properties": {}}}]},
    ]}));
    let m = i.body["messages"].as_array().expect("messages");
    assert_eq!(
        m[1]["content"][0],
        json!({"type": "tool_use", "id": "c1", "name": "apply_patch", "input": {"input": "*** Begin Patch"}})
    );
    assert_eq!(m[3]["content"][0]["name"], "ns__go");
    assert_eq!(m[5]["content"][0]["name"], "tool_search");
    assert_eq!(m[5]["content"][0]["input"], json!({"query": "calendar"}));
    assert!(m[6]["content"][0]["content"][0]["text"]
        .as_str()
        .expect("text")
        .contains("calendar_create"));
    let tools: Vec<&str> = i.body["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        tools,
        ["apply_patch", "ns__go", "tool_search", "calendar_create"],
        "loaded tools are callable"
    );
    assert_eq!(
        i.tools.get("calendar_create").map(|e| e.kind),
        Some(ToolKind::Function)
    );
}

#[test]
fn foreign_reasoning_is_left_out_and_thinking_pauses_in_that_tool_loop() {
    let mut r = codex_turn();
    r["input"][4]["encrypted_content"] = json!("gAAAAABopenai-encrypted");
    let i = ok(r);
    let m = i.body["messages"].as_array().expect("messages");
    assert_eq!(types(&m[1]), ["tool_use"]);
    assert!(
        i.body.get("thinking").is_none(),
        "no signed thinking before the call"
    );
    assert!(
        i.notes.iter().any(|n| n.contains("reasoning item")),
        "{:?}",
        i.notes
    );
    // Hosted-tool items from an OpenAI turn are left out, with a note.
    let i = ok(json!({"model": "m", "input": [
        {"role": "user", "content": "search"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "q"}},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "found"}]},
    ]}));
    assert_eq!(i.body["messages"].as_array().map(Vec::len), Some(2));
    assert!(i.notes.iter().any(|n| n.contains("web_search_call")));
    // Item types this build does not know are left out (a refusal would fail every later
    // turn: the client resends its whole history).
    let i = ok(
        json!({"model": "m", "input": [{"type": "teleport_call"}, {"role": "user", "content": "hi"}]}),
    );
    assert!(
        i.notes.iter().any(|n| n.contains("teleport_call")),
        "{:?}",
        i.notes
    );
}

#[test]
fn parameters_map_to_the_hub() {
    let i = ok(
        json!({"model": "m", "input": "x", "temperature": 1.6, "top_p": 0.5,
        "max_output_tokens": 300, "safety_identifier": "u-1", "parallel_tool_calls": false,
        "tools": [{"type": "function", "name": "f"}], "tool_choice": {"type": "function", "name": "f"},
        "text": {"format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}}, "verbosity": "low"}}),
    );
    let b = &i.body;
    assert_eq!(b["temperature"], 1.0);
    assert_eq!(b["top_p"], 0.5);
    assert_eq!(b["max_tokens"], 300);
    assert_eq!(b["metadata"]["user_id"], "u-1");
    assert_eq!(
        b["tool_choice"],
        json!({"type": "tool", "name": "f", "disable_parallel_tool_use": true})
    );
    let sys = b["system"].as_str().expect("system");
    assert!(
        sys.contains("JSON Schema") && sys.contains("short"),
        "{sys}"
    );
    assert_eq!(
        b["output_config"],
        json!({"format": {"type": "json_schema", "schema": {"type": "object"}}})
    );
    // Thinking: the budget fits under max_tokens, sampling that Anthropic refuses with it goes.
    let i = ok(
        json!({"model": "m", "input": "x", "temperature": 0.2, "top_p": 0.5, "max_output_tokens": 1000,
        "reasoning": {"effort": "medium"}}),
    );
    assert_eq!(i.body["thinking"]["budget_tokens"], 8192);
    assert_eq!(i.body["max_tokens"], 9192);
    assert!(i.body.get("temperature").is_none() && i.body.get("top_p").is_none());
    assert!(
        ok(json!({"model": "m", "input": "x", "reasoning": {"effort": "minimal"}}))
            .body
            .get("thinking")
            .is_none()
    );
    assert_eq!(
        err(json!({"model": "m", "input": "x", "reasoning": {"effort": "huge"}}))
            .param
            .as_deref(),
        Some("reasoning.effort")
    );
    // tool_choice: required, a hosted tool, an unknown name.
    let tools = json!([{"type": "function", "name": "f"}, {"type": "web_search"}]);
    let i = ok(json!({"model": "m", "input": "x", "tools": tools, "tool_choice": "required"}));
    assert_eq!(i.body["tool_choice"], json!({"type": "any"}));
    let e = err(
        json!({"model": "m", "input": "x", "tools": tools, "tool_choice": {"type": "web_search"}}),
    );
    assert_eq!(
        (e.param.as_deref(), e.code),
        (Some("tool_choice"), "unsupported_parameter")
    );
    let e = err(
        json!({"model": "m", "input": "x", "tools": tools, "tool_choice": {"type": "function", "name": "g"}}),
    );
    assert_eq!(e.param.as_deref(), Some("tool_choice.name"));
}

#[test]
fn images_and_files_become_blocks() {
    let i = ok(json!({"model": "m", "input": [{"role": "user", "content": [
        {"type": "input_text", "text": "look"},
        {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "auto"},
        {"type": "input_image", "image_url": "https://example.com/a.jpg"},
        {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBER"},
    ]}]}));
    let c = &i.body["messages"][0]["content"];
    assert_eq!(
        c[1]["source"],
        json!({"type": "base64", "media_type": "image/png", "data": "iVBOR"})
    );
    assert_eq!(
        c[2]["source"],
        json!({"type": "url", "url": "https://example.com/a.jpg"})
    );
    assert_eq!(c[3]["type"], "document");
    assert_eq!(c[3]["title"], "a.pdf");
    let e = err(
        json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]}),
    );
    assert_eq!(e.code, "unsupported_parameter");
    let e = err(
        json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_audio"}]}]}),
    );
    assert_eq!(e.param.as_deref(), Some("input[0].content[0]"));
}

#[test]
fn tools_declared_in_the_input_are_callable_and_namespaced_calls_map_back() {
    // Codex's "responses lite" mode: no top-level tools, an `additional_tools` item instead.
    let i = ok(
        json!({"model": "gpt-6.2-sol", "reasoning": {"effort": "low", "context": "all_turns"},
        "text": {"verbosity": "low"}, "parallel_tool_calls": false,
        "input": [
            {"type": "additional_tools", "id": "at_1", "role": "developer", "tools": [
                {"type": "namespace", "name": "functions", "tools": [
                    {"type": "custom", "name": "exec", "description": "Run JavaScript",
                     "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}},
                    {"type": "function", "name": "wait", "parameters": {"type": "object", "properties": {"cell_id": {"type": "string"}}}},
                ]},
                {"type": "namespace", "name": "collaboration", "tools": [{"type": "function", "name": "spawn_agent"}]},
            ]},
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list files"}]},
            {"type": "custom_tool_call", "call_id": "call-1", "namespace": "functions", "name": "exec", "input": "text(1)"},
            {"type": "custom_tool_call_output", "call_id": "call-1", "output": "1"},
        ]}),
    );
    let names: Vec<&str> = i.body["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["exec", "wait", "collaboration__spawn_agent"]);
    let e = i.tools.get("exec").expect("entry");
    assert_eq!(
        (e.kind, e.namespace.as_deref()),
        (ToolKind::Custom, Some("functions"))
    );
    assert!(i.body["system"]
        .as_str()
        .is_some_and(|s| s.starts_with("You are Codex.\n\nKeep the answer short")));
    let m = i.body["messages"].as_array().expect("messages");
    assert_eq!(
        m[1]["content"][0],
        json!({"type": "tool_use", "id": "call-1", "name": "exec", "input": {"input": "text(1)"}})
    );
    assert_eq!(i.body["tool_choice"]["disable_parallel_tool_use"], true);
}
