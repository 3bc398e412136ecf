//! PROTOCOL.md §7 request cases (1-9, 19) and a realistic Claude Code request.

use serde_json::{json, Value};

use super::request::INTERRUPTED;
use super::{from_response, sanitize_tool_id, to_request, OpenAiOptions, Prefill, Translated};

fn tr_with(req: Value, opts: &OpenAiOptions) -> Translated {
    match to_request(&req, "up-model", false, "ds", opts) {
        Ok(t) => t,
        Err(e) => panic!("translation failed: {e}"),
    }
}

fn tr(req: Value) -> Translated {
    tr_with(req, &OpenAiOptions::new())
}

fn req(messages: Value) -> Value {
    json!({"model": "claude-x", "max_tokens": 100, "messages": messages})
}

fn msgs(t: &Translated) -> &Vec<Value> {
    t.body["messages"].as_array().expect("messages")
}

fn roles(t: &Translated) -> Vec<&str> {
    msgs(t)
        .iter()
        .map(|m| m["role"].as_str().unwrap_or("?"))
        .collect()
}

fn call(id: &str, name: &str) -> Value {
    json!({"type": "tool_use", "id": id, "name": name, "input": {"q": 1}})
}

fn result(id: &str, content: Value) -> Value {
    json!({"type": "tool_result", "tool_use_id": id, "content": content})
}

fn has_note(t: &Translated, needle: &str) -> bool {
    t.notes.iter().any(|n| n.contains(needle))
}

#[test]
fn case_01_tool_result_with_image() {
    let t = tr(req(json!([
        {"role": "user", "content": "take a screenshot"},
        {"role": "assistant", "content": [call("toolu_1", "screenshot")]},
        {"role": "user", "content": [
            result("toolu_1", json!([{"type": "text", "text": "took it"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}])),
            {"type": "text", "text": "what do you see?"}
        ]}
    ])));
    assert_eq!(roles(&t), ["user", "assistant", "tool", "user"]);
    let m = msgs(&t);
    assert_eq!(m[1]["content"], Value::Null);
    assert_eq!(m[1]["tool_calls"][0]["function"]["arguments"], "{\"q\":1}");
    assert_eq!(
        m[2],
        json!({"role": "tool", "tool_call_id": "toolu_1", "content": "took it"})
    );
    assert_eq!(
        m[3]["content"],
        json!([
            {"type": "text", "text": "Image(s) from tool call toolu_1:"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            {"type": "text", "text": "what do you see?"}
        ])
    );
}

#[test]
fn case_02_is_error_documents_and_unknown_blocks() {
    let t = tr(req(json!([
        {"role": "assistant", "content": [call("t1", "run")]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "is_error": true, "content": "boom"},
            {"type": "document", "title": "notes", "source": {"type": "text", "media_type": "text/plain", "data": "abc"}}
        ]}
    ])));
    let m = msgs(&t);
    assert_eq!(m[1]["content"], "Error: boom");
    assert_eq!(m[2]["content"], "Document: notes\n\nabc");
    let pdf = req(json!([{"role": "user", "content": [{"type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}}]}]));
    let e = to_request(&pdf, "m", false, "ds", &OpenAiOptions::new()).expect_err("refused");
    assert!(e.0.contains("PDF"), "{e}");
    for (role, ty) in [("user", "mystery_block"), ("assistant", "hologram")] {
        let r = req(json!([{"role": role, "content": [{"type": ty, "x": 1}]}]));
        let e = to_request(&r, "m", false, "ds", &OpenAiOptions::new()).expect_err("refused");
        assert!(e.0.contains(ty) && e.0.contains("messages[0]"), "{e}");
    }
}

#[test]
fn case_03_orphan_tool_use_and_orphan_tool_result() {
    let t = tr(req(json!([
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "text", "text": "two calls"}, call("A", "f"), call("B", "f")]},
        {"role": "user", "content": [result("A", json!("ok A")), {"type": "text", "text": "stop B"}]},
        {"role": "assistant", "content": [call("C", "f")]},
        {"role": "user", "content": "never mind"},
        {"role": "user", "content": [result("X", json!("stray"))]}
    ])));
    assert_eq!(
        roles(&t),
        [
            "user",
            "assistant",
            "tool",
            "tool",
            "user",
            "assistant",
            "tool",
            "user",
            "user"
        ]
    );
    let m = msgs(&t);
    assert_eq!(
        m[2],
        json!({"role": "tool", "tool_call_id": "B", "content": INTERRUPTED})
    );
    assert_eq!(m[3]["tool_call_id"], "A");
    assert_eq!(
        m[6],
        json!({"role": "tool", "tool_call_id": "C", "content": INTERRUPTED})
    );
    let stray = m[8]["content"].as_str().expect("text");
    assert!(
        stray.contains("tool call X") && stray.contains("stray"),
        "{stray}"
    );
    assert!(!msgs(&t).iter().any(|m| m["tool_call_id"] == "X"));
    assert!(has_note(&t, "2 tool call(s) without a result"));
    assert!(has_note(&t, "1 tool result(s) without their call"));
}

#[test]
fn case_04_tool_results_come_before_the_text_of_their_turn() {
    let t = tr(req(json!([
        {"role": "assistant", "content": [call("a", "f"), call("b", "f")]},
        {"role": "user", "content": [
            {"type": "text", "text": "first"},
            result("a", json!("ra")),
            {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
            result("b", json!([{"type": "text", "text": "rb"}]))
        ]}
    ])));
    assert_eq!(roles(&t), ["assistant", "tool", "tool", "user"]);
    let m = msgs(&t);
    assert_eq!(
        (&m[1]["content"], &m[2]["content"]),
        (&json!("ra"), &json!("rb"))
    );
    assert_eq!(
        m[3]["content"],
        json!([{"type": "text", "text": "first"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png"}}])
    );
}

#[test]
fn case_05_tool_choice_any_becomes_required() {
    let tools = json!([{"name": "get", "input_schema": {"type": "object"}},
        {"name": "mcp.srv/tool", "input_schema": {"type": "object"}}]);
    let with = |choice: Value| {
        let mut r = req(json!([{"role": "user", "content": "hi"}]));
        r["tools"] = tools.clone();
        r["tool_choice"] = choice;
        tr(r).body
    };
    assert_eq!(with(json!({"type": "any"}))["tool_choice"], "required");
    assert_eq!(with(json!({"type": "auto"}))["tool_choice"], "auto");
    assert_eq!(with(json!({"type": "none"}))["tool_choice"], "none");
    let b =
        with(json!({"type": "tool", "name": "mcp.srv/tool", "disable_parallel_tool_use": true}));
    let name = b["tools"][1]["function"]["name"].as_str().expect("name");
    assert!(name.starts_with("mcp_srv_tool_"), "{name}");
    assert_eq!(
        b["tool_choice"],
        json!({"type": "function", "function": {"name": name}})
    );
    assert_eq!(b["parallel_tool_calls"], false);
    assert!(with(json!({"type": "auto"}))
        .get("parallel_tool_calls")
        .is_none());
}

#[test]
fn case_06_stop_sequences_top_k_and_prefill_survive() {
    let mut r = req(json!([{"role": "user", "content": "Write a poem"},
        {"role": "assistant", "content": "Roses are"}]));
    r["stop_sequences"] = json!(["\n\nHuman:", "END", "", "a", "b", "c"]);
    r["top_k"] = json!(40);
    let t = tr(r.clone());
    assert_eq!(t.body["stop"], json!(["\n\nHuman:", "END", "a", "b"]));
    assert!(has_note(&t, "first 4 of 5 stop_sequences"));
    assert!(t.body.get("top_k").is_none() && has_note(&t, "dropped top_k"));
    let last = msgs(&t).last().expect("last");
    assert_eq!(*last, json!({"role": "assistant", "content": "Roses are"}));
    assert!(has_note(&t, "prefill"));
    let opts = OpenAiOptions {
        top_k: true,
        prefill: Prefill::DeepSeekPrefix,
        ..OpenAiOptions::new()
    };
    let t = tr_with(r.clone(), &opts);
    assert_eq!(t.body["top_k"], 40);
    assert_eq!(msgs(&t).last().expect("last")["prefix"], true);
    let opts = OpenAiOptions {
        prefill: Prefill::KimiPartial,
        ..OpenAiOptions::new()
    };
    assert_eq!(
        msgs(&tr_with(r, &opts)).last().expect("last")["partial"],
        true
    );
}

#[test]
fn case_07_cache_control_stripped_and_never_on_empty_blocks() {
    let cc = json!({"type": "ephemeral"});
    let mut r = req(json!([{"role": "user", "content": [
        {"type": "text", "text": "", "cache_control": cc},
        {"type": "text", "text": "question", "cache_control": cc}
    ]}, {"role": "assistant", "content": [{"type": "text", "text": "", "cache_control": cc}]},
       {"role": "user", "content": "next"}]));
    r["system"] = json!([{"type": "text", "text": "You are A.", "cache_control": cc},
        {"type": "text", "text": "", "cache_control": cc},
        {"type": "text", "text": "Be brief.", "cache_control": cc}]);
    r["tools"] = json!([{"name": "f", "input_schema": {"type": "object"}, "cache_control": cc}]);
    let t = tr(r);
    assert!(!t.body.to_string().contains("cache_control"));
    assert_eq!(
        msgs(&t)[0],
        json!({"role": "system", "content": "You are A.\n\nBe brief."})
    );
    assert_eq!(
        roles(&t),
        ["system", "user", "user"],
        "the empty assistant turn is dropped"
    );
    assert_eq!(msgs(&t)[1]["content"], "question");
}

#[test]
fn case_08_max_tokens_clamped_with_a_note() {
    let mut r = req(json!([{"role": "user", "content": "hi"}]));
    r["max_tokens"] = json!(64000);
    let opts = OpenAiOptions {
        max_tokens_cap: Some(8192),
        ..OpenAiOptions::new()
    };
    let t = tr_with(r.clone(), &opts);
    assert_eq!(t.body["max_tokens"], 8192);
    assert!(t
        .notes
        .contains(&"clamped max_tokens 64000 -> 8192".to_string()));
    let t = tr(r.clone());
    assert_eq!(t.body["max_tokens"], 64000);
    assert!(t.notes.is_empty(), "{:?}", t.notes);
    let opts = OpenAiOptions {
        max_completion_tokens: true,
        ..opts
    };
    let t = tr_with(r, &opts);
    assert_eq!(t.body["max_completion_tokens"], 8192);
    assert!(t.body.get("max_tokens").is_none());
}

#[test]
fn case_09_thinking_budget_to_effort_and_never_both() {
    let effort = |thinking: Value, effort: Option<&str>| {
        let mut r = req(json!([{"role": "user", "content": "hi"}]));
        r["thinking"] = thinking;
        if let Some(e) = effort {
            r["output_config"] = json!({"effort": e});
        }
        let b = tr(r).body;
        assert!(
            b.get("thinking").is_none() && !b.to_string().contains("budget"),
            "{b}"
        );
        b.get("reasoning_effort").cloned()
    };
    let on = |n: u64| json!({"type": "enabled", "budget_tokens": n});
    assert_eq!(effort(on(2000), None), Some(json!("low")));
    assert_eq!(effort(on(8000), None), Some(json!("medium")));
    assert_eq!(effort(on(32000), None), Some(json!("high")));
    assert_eq!(
        effort(on(32000), Some("low")),
        Some(json!("low")),
        "effort wins"
    );
    assert_eq!(
        effort(json!({"type": "adaptive"}), Some("max")),
        Some(json!("high"))
    );
    assert_eq!(effort(json!({"type": "adaptive"}), None), None);
    assert_eq!(effort(json!({"type": "disabled"}), Some("high")), None);
}

#[test]
fn case_19_history_across_providers() {
    let history = json!([
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "mine", "signature": "sy1.ds."},
            {"type": "thinking", "thinking": "kimi's", "signature": "sy1.kimi."},
            {"type": "thinking", "thinking": "claude's", "signature": "EqQBCkgIAhABGAIiQ"},
            {"type": "redacted_thinking", "data": "xx"},
            call("functions.get:0", "get")]},
        {"role": "user", "content": [result("functions.get:0", json!("r"))]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "other", "signature": "sy1.kimi."}, call("toolu_2", "get")]},
        {"role": "user", "content": [result("toolu_2", json!("r2"))]}
    ]);
    let id = sanitize_tool_id("functions.get:0");
    let opts = OpenAiOptions {
        reasoning_round_trip: true,
        ..OpenAiOptions::new()
    };
    let t = tr_with(req(history.clone()), &opts);
    let m = msgs(&t);
    assert_eq!(m[1]["reasoning_content"], "mine", "own reasoning goes back");
    assert_eq!(m[1]["tool_calls"][0]["id"], id.as_str());
    assert_eq!(
        m[2]["tool_call_id"],
        id.as_str(),
        "ids rewritten consistently"
    );
    assert_eq!(
        m[3]["reasoning_content"], "",
        "DeepSeek needs the field on tool-call turns"
    );
    assert!(!t.body.to_string().contains("kimi's") && !t.body.to_string().contains("claude's"));
    let t = tr(req(history));
    assert!(
        msgs(&t)[1].get("reasoning_content").is_none(),
        "no round trip by default"
    );
    assert!(has_note(&t, "dropped thinking"));
}

#[test]
fn long_tool_names_map_both_ways() {
    let long = format!("mcp__server__{}", "very_long_tool_name_".repeat(4));
    let mut r = req(json!([{"role": "assistant", "content": [call("t", &long)]},
        {"role": "user", "content": [result("t", json!("ok"))]}]));
    r["tools"] = json!([{"name": long, "input_schema": {"type": "object"}}]);
    let t = tr(r);
    let up = t.body["tools"][0]["function"]["name"]
        .as_str()
        .expect("name")
        .to_string();
    assert!(up.len() <= 64);
    assert_eq!(
        msgs(&t)[0]["tool_calls"][0]["function"]["name"],
        up.as_str()
    );
    assert_eq!(t.tool_names, vec![(up.clone(), long.clone())]);
    let answer = json!({"choices": [{"finish_reason": "tool_calls", "message": {"content": null,
        "tool_calls": [{"id": "c", "type": "function", "function": {"name": up, "arguments": "{}"}}]}}]});
    let m = from_response(&answer, "claude-x", "ds", &t.tool_names).expect("ok");
    assert_eq!(m["content"][0]["name"], long.as_str());
}

#[test]
fn system_messages_inside_messages_keep_their_place() {
    let t = tr(req(json!([
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [call("t", "f")]},
        {"role": "system", "content": "between call and result"},
        {"role": "user", "content": [result("t", json!("r")), {"type": "text", "text": "b"}]},
        {"role": "system", "content": [{"type": "text", "text": "late"}]},
        {"role": "user", "content": "c"}
    ])));
    assert_eq!(
        roles(&t),
        [
            "user",
            "assistant",
            "tool",
            "system",
            "user",
            "system",
            "user"
        ]
    );
    assert_eq!(msgs(&t)[3]["content"], "between call and result");
}

/// The shape of a real Claude Code 2.1 request (TESTING.md "Claude Code observed traffic").
#[test]
fn claude_code_request_translates() {
    let cc = json!({"type": "ephemeral"});
    let r = json!({
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 32000,
        "stream": true,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1", "cache_control": cc},
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.", "cache_control": cc},
            {"type": "text", "text": "You are an interactive CLI tool...", "cache_control": cc}
        ],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>context</system-reminder>"},
                {"type": "text", "text": "list the files", "cache_control": cc}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I should run ls", "signature": "ErUBCkYIBhgC"},
                {"type": "text", "text": "Listing."},
                {"type": "tool_use", "id": "toolu_01ABC", "name": "Bash", "input": {"command": "ls", "description": "List"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01ABC", "content": "a.rs\nb.rs", "is_error": false, "cache_control": cc}]},
            {"role": "system", "content": "<system-reminder>The user changed the mode.</system-reminder>"},
            {"role": "user", "content": "now count them"}
        ],
        "tools": [
            {"name": "Bash", "description": "Run a command", "input_schema": {"type": "object",
                "properties": {"command": {"type": "string"}}, "required": ["command"],
                "additionalProperties": false, "$schema": "http://json-schema.org/draft-07/schema#"}},
            {"name": "mcp__github__create_pull_request_with_a_really_long_descriptive_name", "description": "PR",
                "input_schema": {"type": "object", "properties": {}}, "defer_loading": true},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
        ],
        "tool_choice": {"type": "auto"},
        "metadata": {"user_id": "user_abc_account__session_123"},
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "medium"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "temperature": 1
    });
    let t = match to_request(&r, "deepseek-chat", true, "ds", &OpenAiOptions::new()) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    let b = &t.body;
    assert_eq!(b["model"], "deepseek-chat");
    assert_eq!(b["stream"], true);
    assert_eq!(b["stream_options"], json!({"include_usage": true}));
    assert_eq!(b["max_tokens"], 32000);
    assert_eq!(b["reasoning_effort"], "medium");
    assert_eq!(b["user"], "user_abc_account__session_123");
    assert_eq!(b["tool_choice"], "auto");
    assert_eq!(b["temperature"], 1);
    assert_eq!(
        b["tools"].as_array().map(Vec::len),
        Some(2),
        "web_search dropped"
    );
    assert_eq!(
        b["tools"][0]["function"]["parameters"]["required"],
        json!(["command"])
    );
    assert_eq!(t.tool_names.len(), 1, "the 68-character MCP name is mapped");
    assert_eq!(
        roles(&t),
        ["system", "user", "assistant", "tool", "system", "user"]
    );
    let m = msgs(&t);
    assert!(m[0]["content"]
        .as_str()
        .expect("system")
        .starts_with("x-anthropic-billing-header"));
    assert_eq!(
        m[1]["content"],
        "<system-reminder>context</system-reminder>\n\nlist the files"
    );
    assert_eq!(m[2]["content"], "Listing.");
    assert_eq!(
        m[2]["tool_calls"][0]["function"]["arguments"],
        "{\"command\":\"ls\",\"description\":\"List\"}"
    );
    assert_eq!(
        m[3],
        json!({"role": "tool", "tool_call_id": "toolu_01ABC", "content": "a.rs\nb.rs"})
    );
    assert_eq!(
        m[4]["content"],
        "<system-reminder>The user changed the mode.</system-reminder>"
    );
    assert!(!b.to_string().contains("cache_control") && !b.to_string().contains("I should run ls"));
    for needle in [
        "web_search",
        "context_management",
        "effort medium -> reasoning_effort medium",
        "dropped thinking",
    ] {
        assert!(has_note(&t, needle), "{needle}: {:?}", t.notes);
    }
}
