//! Claude Code-shaped traffic (TESTING.md "Claude Code observed traffic") and signature round
//! trips through whole answers.

use serde_json::{json, Value};

use super::*;

const PID: &str = "g1";

/// A request shaped like Claude Code 2.1's: three system blocks with cache_control, adaptive
/// thinking with effort, context_management, a mid-conversation system message, MCP-style
/// tools, and a tool_use / tool_result history with an echoed signed thinking block.
fn claude_code_request() -> Value {
    let cc = json!({"type": "ephemeral"});
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 32000,
        "stream": true,
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "metadata": {"user_id": "user_abc"},
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197; cc_entrypoint=sdk-cli"},
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.", "cache_control": cc},
            {"type": "text", "text": "Environment: linux, cwd /work", "cache_control": cc}
        ],
        "tools": [
            {"name": "Bash", "description": "Run a command", "input_schema": {
                "$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                "additionalProperties": false,
                "properties": {
                    "command": {"type": "string", "description": "The command"},
                    "timeout": {"type": "number", "exclusiveMinimum": 0},
                    "run_in_background": {"type": "boolean", "default": false}
                },
                "required": ["command"]
            }},
            {"name": "mcp__tracker__create_issue", "description": "Create an issue", "input_schema": {
                "type": "object",
                "$defs": {"Label": {"type": "object", "properties": {
                    "name": {"type": "string"}, "color": {"anyOf": [{"type": "string"}, {"type": "null"}]}
                }, "required": ["name"], "additionalProperties": false}},
                "properties": {
                    "title": {"type": "string", "minLength": 1},
                    "labels": {"type": "array", "items": {"$ref": "#/$defs/Label"}},
                    "priority": {"enum": [1, 2, 3]},
                    "kind": {"const": "bug"},
                    "extra": {"type": "object", "propertyNames": {"pattern": "^x-"}, "additionalProperties": {"type": "string"}}
                },
                "required": ["title", "kind"]
            }, "cache_control": cc},
            {"type": "web_search_20250305", "name": "web_search"}
        ],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                {"type": "text", "text": "run ls", "cache_control": cc}
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "List it.", "signature": "sy1.g1.gemini:SIG_LS"},
                {"type": "tool_use", "id": "toolu_gm1", "name": "Bash", "input": {"command": "ls"}}
            ]},
            {"role": "system", "content": "The user switched to plan mode."},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_gm1", "content": [{"type": "text", "text": "a.txt\nb.txt"}]},
                {"type": "text", "text": "thanks", "cache_control": cc}
            ]}
        ]
    })
}

#[test]
fn claude_code_request_translates_to_the_expected_shape() {
    let t = to_request(&claude_code_request(), PID, &GeminiOptions::default()).expect("translates");
    let b = &t.body;
    assert_eq!(
        b["systemInstruction"]["parts"][0]["text"],
        "x-anthropic-billing-header: cc_version=2.1.197; cc_entrypoint=sdk-cli\n\nYou are Claude Code, Anthropic's official CLI for Claude.\n\nEnvironment: linux, cwd /work"
    );
    assert_eq!(
        b["contents"],
        json!([
            {"role": "user", "parts": [{"text": "<system-reminder>ctx</system-reminder>"}, {"text": "run ls"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "Bash", "args": {"command": "ls"}}, "thoughtSignature": "SIG_LS"}]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "Bash", "response": {"content": "a.txt\nb.txt"}}},
                {"text": "System: The user switched to plan mode."},
                {"text": "thanks"}
            ]}
        ])
    );
    let decls = b["tools"][0]["functionDeclarations"]
        .as_array()
        .expect("decls");
    assert_eq!(decls.len(), 2);
    assert_eq!(
        decls[0]["parameters"],
        json!({"type": "object", "required": ["command"], "properties": {
            "command": {"type": "string", "description": "The command"},
            "timeout": {"type": "number"},
            "run_in_background": {"type": "boolean"}
        }})
    );
    assert_eq!(
        decls[1]["parameters"],
        json!({"type": "object", "required": ["title", "kind"], "properties": {
            "title": {"type": "string", "minLength": 1},
            "labels": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"}, "color": {"type": "string", "nullable": true}
            }}},
            "priority": {"type": "integer", "description": "(allowed values: 1, 2, 3)"},
            "kind": {"type": "string", "enum": ["bug"]},
            "extra": {"type": "object"}
        }})
    );
    assert_eq!(
        b["generationConfig"],
        json!({"maxOutputTokens": 32000, "thinkingConfig": {"thinkingBudget": -1, "includeThoughts": true}})
    );
    for absent in [
        "model",
        "stream",
        "metadata",
        "context_management",
        "output_config",
        "thinking",
        "system",
        "messages",
    ] {
        assert!(
            b.get(absent).is_none(),
            "{absent} must not be in the Gemini body"
        );
    }
    let text = b.to_string();
    assert!(
        !text.contains("cache_control")
            && !text.contains("$schema")
            && !text.contains("additionalProperties")
    );
    assert!(
        t.notes.iter().any(|n| n.contains("context_management")),
        "{:?}",
        t.notes
    );
    assert!(
        t.notes.iter().any(|n| n.contains("web_search")),
        "{:?}",
        t.notes
    );
    // With Gemini 3 settings the same request takes a level, not a budget.
    let opts = GeminiOptions {
        thinking: ThinkingStyle::Level,
        max_tokens_cap: Some(16_384),
        ..Default::default()
    };
    let t = to_request(&claude_code_request(), PID, &opts).expect("translates");
    assert_eq!(
        t.body["generationConfig"],
        json!({"maxOutputTokens": 16384, "thinkingConfig": {"thinkingLevel": "high", "includeThoughts": true}})
    );
}

#[test]
fn mid_conversation_system_message_stays_in_place_as_user_text() {
    let req = json!({"model": "m", "max_tokens": 10, "system": "top", "messages": [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "two"},
        {"role": "system", "content": [{"type": "text", "text": "Be brief from now on."}]},
        {"role": "assistant", "content": "three"}
    ]});
    let t = to_request(&req, PID, &GeminiOptions::default()).expect("translates");
    assert_eq!(
        t.body["systemInstruction"],
        json!({"parts": [{"text": "top"}]})
    );
    assert_eq!(
        t.body["contents"],
        json!([
            {"role": "user", "parts": [{"text": "one"}]},
            {"role": "model", "parts": [{"text": "two"}]},
            {"role": "user", "parts": [{"text": "System: Be brief from now on."}]},
            {"role": "model", "parts": [{"text": "three"}]}
        ])
    );
    let bad =
        json!({"model": "m", "messages": [{"role": "system", "content": [{"type": "image"}]}]});
    assert!(to_request(&bad, PID, &GeminiOptions::default()).is_err());
    let bad = json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]});
    let e = to_request(&bad, PID, &GeminiOptions::default()).expect_err("unknown role");
    assert!(e.0.contains("`tool`"));
}

#[test]
fn gemini_3_signature_on_a_later_call_and_parallel_siblings_round_trip() {
    // Gemini 3: text first, the first call signed, its parallel sibling not.
    let answer = json!({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "I'll check both."},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "SIG_B"},
        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}}
    ]}, "finishReason": "STOP"}]});
    let msg = from_response(&answer, "claude-x", PID).expect("answer");
    let content = msg["content"].as_array().expect("content").clone();
    let kinds: Vec<&str> = content.iter().filter_map(|b| b["type"].as_str()).collect();
    assert_eq!(kinds, ["text", "thinking", "tool_use", "tool_use"]);
    assert_eq!(content[1]["thinking"], SIGNATURE_ONLY_THINKING);
    assert_eq!(content[1]["signature"], "sy1.g1.gemini:SIG_B");
    assert_ne!(content[2]["id"], content[3]["id"]);
    let req = json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": content}
    ]});
    let t = to_request(&req, PID, &GeminiOptions::default()).expect("translates");
    assert_eq!(
        t.body["contents"][1]["parts"],
        json!([
            {"text": "I'll check both."},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "SIG_B"},
            {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}}
        ])
    );
    // Gemini 2.5: the signature rides on the first text after the thoughts.
    let answer = json!({"candidates": [{"content": {"parts": [
        {"text": "hmm", "thought": true},
        {"text": "Answer.", "thoughtSignature": "SIG_T"}
    ]}, "finishReason": "STOP"}], "usageMetadata": {
        "promptTokenCount": 100, "cachedContentTokenCount": 60, "candidatesTokenCount": 7, "thoughtsTokenCount": 3}});
    let msg = from_response(&answer, "claude-x", PID).expect("answer");
    assert_eq!(
        msg["content"],
        json!([
            {"type": "thinking", "thinking": "hmm", "signature": "sy1.g1.gemini:SIG_T"},
            {"type": "text", "text": "Answer."}
        ])
    );
    assert_eq!(
        msg["usage"],
        json!({"input_tokens": 40, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 60, "output_tokens": 10})
    );
    let req = json!({"model": "m", "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": msg["content"].clone()}
    ]});
    let t = to_request(&req, PID, &GeminiOptions::default()).expect("translates");
    assert_eq!(
        t.body["contents"][1]["parts"],
        json!([{"text": "Answer.", "thoughtSignature": "SIG_T"}])
    );
    // Unsigned thinking of ours carries nothing; another Gemini provider's is foreign.
    let req = json!({"model": "m", "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "x", "signature": "sy1.g1."},
            {"type": "thinking", "thinking": "y", "signature": "sy1.g2.gemini:OTHER"},
            {"type": "tool_use", "id": "t1", "name": "f", "input": {}}
        ]}
    ]});
    let t = to_request(&req, PID, &GeminiOptions::default()).expect("translates");
    assert_eq!(
        t.body["contents"][1]["parts"],
        json!([{"functionCall": {"name": "f", "args": {}}, "thoughtSignature": THOUGHT_SIGNATURE_BYPASS}])
    );
    assert!(!t.body.to_string().contains("OTHER"));
}
