//! History that survives failover. A conversation may move Anthropic → DeepSeek → Anthropic
//! mid-way; each provider must accept the history it receives.
//!
//! Thinking signatures are opaque and vendor-specific: Anthropic rejects a thinking block it
//! did not sign ("Invalid `signature` in `thinking` block"), and other vendors reject
//! Anthropic's. So every signature that does not come from Anthropic itself is stamped with
//! the provider that produced it — `sy1.<provider-id>.<original>` — on its way to the client
//! (clients echo signatures back verbatim). On the way to a provider, its own blocks are
//! unstamped, blocks from any other provider are removed, and Anthropic's own (unstamped)
//! blocks go only to Anthropic.
//!
//! Tool ids must match `^[a-zA-Z0-9_-]+$` at Anthropic; other vendors produce ids like
//! `functions.get_weather:3`. Ids are rewritten with one deterministic function wherever they
//! appear, so `tool_use.id` and `tool_result.tool_use_id` stay paired.

use std::sync::LazyLock;

use bytes::Bytes;
use memchr::memmem::Finder;
use serde_json::Value;

/// The stamp prefix of a signature that came through Switchyard from a non-Anthropic vendor.
pub const STAMP: &str = "sy1.";

/// `sy1.<provider>.<original>`.
pub fn stamp(provider_id: &str, original: &str) -> String {
    format!("{STAMP}{provider_id}.{original}")
}

/// Who signed a thinking block.
#[derive(Debug, PartialEq, Eq)]
pub enum Signer<'a> {
    /// A provider, through Switchyard; with the original signature.
    Provider(&'a str, &'a str),
    /// Not stamped: Anthropic itself (or a client that never went through Switchyard).
    Anthropic,
}

/// Read a signature's stamp. Provider ids never contain `.`, so the first `.` after the
/// prefix ends the id.
pub fn signer(signature: &str) -> Signer<'_> {
    match signature
        .strip_prefix(STAMP)
        .and_then(|r| r.split_once('.'))
    {
        Some((id, original)) => Signer::Provider(id, original),
        None => Signer::Anthropic,
    }
}

/// Does this id fit Anthropic's pattern?
pub fn valid_tool_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A tool id that fits `^[a-zA-Z0-9_-]+$`: unchanged when it already does; otherwise invalid
/// characters become `_` and a short stable hash of the original is appended, so distinct
/// ids stay distinct.
pub fn sanitize_tool_id(id: &str) -> String {
    if valid_tool_id(id) {
        return id.to_string();
    }
    let mut out: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // FNV-1a: stable across runs and platforms (unlike std's hasher).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    out.push_str(&format!("_{:08x}", h & 0xffff_ffff));
    out
}

/// Where the history is going.
pub struct Target<'a> {
    /// Provider id.
    pub provider_id: &'a str,
    /// Is it Anthropic itself (whose unstamped signatures it accepts)?
    pub is_anthropic: bool,
}

/// The byte patterns [`needs_work`] looks for, searchers built once.
struct Needles {
    stamp: Finder<'static>,
    thinking: [Finder<'static>; 4],
    tool_use_id: Finder<'static>,
    answer_blocks: [Finder<'static>; 3],
}

static NEEDLES: LazyLock<Needles> = LazyLock::new(|| Needles {
    stamp: Finder::new(b"\"sy1."),
    // Block types, not the top-level `"thinking": {...}` setting. Compact and spaced JSON.
    thinking: [
        Finder::new(b"\"type\":\"thinking\""),
        Finder::new(b"\"type\": \"thinking\""),
        Finder::new(b"\"type\":\"redacted_thinking\""),
        Finder::new(b"\"type\": \"redacted_thinking\""),
    ],
    tool_use_id: Finder::new(b"\"tool_use_id\""),
    answer_blocks: [
        Finder::new(b"\"thinking\""),
        Finder::new(b"\"tool_use\""),
        Finder::new(b"\\u"),
    ],
});

fn needs_work(body: &[u8], t: &Target<'_>) -> bool {
    let n = &*NEEDLES;
    if n.stamp.find(body).is_some() {
        return true;
    }
    if !t.is_anthropic && n.thinking.iter().any(|f| f.find(body).is_some()) {
        return true;
    }
    // Tool ids from other vendors that Anthropic would refuse (e.g. `functions.x:1`). Every
    // `tool_use_id` mirrors a `tool_use.id`, so checking these finds the bad ids of answered
    // calls without parsing the body.
    n.tool_use_id.find_iter(body).any(|at| {
        let rest = &body[at + 13..];
        let rest = rest.iter().position(|b| *b == b'"').map(|i| &rest[i + 1..]);
        let Some(rest) = rest else { return false };
        let end = rest.iter().position(|b| *b == b'"').unwrap_or(rest.len());
        let id = &rest[..end];
        id.is_empty()
            || !id
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
    })
}

/// Rewrite a Messages request body for `target`. `None` when nothing needs to change (the
/// common case, checked without parsing the body).
pub fn normalize_request(body: &[u8], target: &Target<'_>) -> Option<Bytes> {
    if !needs_work(body, target) {
        return None;
    }
    let mut v: Value = serde_json::from_slice(body).ok()?;
    let changed = normalize_value(&mut v, target);
    changed
        .then(|| serde_json::to_vec(&v).ok().map(Bytes::from))
        .flatten()
}

/// Rewrite a parsed request in place; returns whether anything changed.
pub fn normalize_value(v: &mut Value, target: &Target<'_>) -> bool {
    let mut changed = false;
    let Some(messages) = v.get_mut("messages").and_then(Value::as_array_mut) else {
        return false;
    };
    for m in messages.iter_mut() {
        let is_assistant = m["role"] == "assistant";
        let Some(blocks) = m.get_mut("content").and_then(Value::as_array_mut) else {
            continue;
        };
        let before = blocks.len();
        blocks.retain_mut(|b| match b["type"].as_str() {
            Some("thinking") => {
                let sig = b["signature"].as_str().unwrap_or("").to_string();
                match signer(&sig) {
                    Signer::Provider(id, original) if id == target.provider_id => {
                        if !target.is_anthropic || !original.is_empty() {
                            b["signature"] = Value::String(original.to_string());
                            changed = true;
                            true
                        } else {
                            false
                        }
                    }
                    Signer::Provider(..) => false,
                    Signer::Anthropic => target.is_anthropic,
                }
            }
            Some("redacted_thinking") => target.is_anthropic,
            _ => true,
        });
        if blocks.len() != before {
            changed = true;
            if blocks.is_empty() && is_assistant {
                // An assistant turn that held only foreign thinking: keep the turn, empty-handed
                // text is refused, so say what happened.
                blocks.push(serde_json::json!({"type": "text", "text": "(reasoning from another provider omitted)"}));
            }
        }
        for b in blocks.iter_mut() {
            let key = match b["type"].as_str() {
                Some("tool_use") => "id",
                Some("tool_result") => "tool_use_id",
                _ => continue,
            };
            if let Some(id) = b.get(key).and_then(Value::as_str) {
                if !valid_tool_id(id) {
                    b[key] = Value::String(sanitize_tool_id(id));
                    changed = true;
                }
            }
        }
    }
    changed
}

/// Stamp the signatures and fix the tool ids of a non-streaming Anthropic-format answer from a
/// non-Anthropic vendor. `None` when nothing changed.
pub fn stamp_response(body: &[u8], provider_id: &str) -> Option<Bytes> {
    // Most answers hold neither block type: no need to parse them (a `\u` escape could spell a
    // type, so such a body is parsed whatever it seems to hold).
    let n = &*NEEDLES;
    if n.answer_blocks.iter().all(|f| f.find(body).is_none()) {
        return None;
    }
    let mut v: Value = serde_json::from_slice(body).ok()?;
    let mut changed = false;
    for b in v
        .get_mut("content")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        match b["type"].as_str() {
            Some("thinking") => {
                let sig = b["signature"].as_str().unwrap_or("").to_string();
                b["signature"] = Value::String(stamp(provider_id, &sig));
                changed = true;
            }
            Some("tool_use") => {
                if let Some(id) = b["id"].as_str().filter(|id| !valid_tool_id(id)) {
                    b["id"] = Value::String(sanitize_tool_id(id));
                    changed = true;
                }
            }
            _ => {}
        }
    }
    changed
        .then(|| serde_json::to_vec(&v).ok().map(Bytes::from))
        .flatten()
}

/// Stamp one SSE frame of an Anthropic-format stream from a non-Anthropic vendor:
/// `signature_delta` signatures and `tool_use` ids in `content_block_start`. `None` when the
/// frame needs no change (most frames: decided by the event name alone).
pub fn stamp_frame(event: &str, data: &str, provider_id: &str) -> Option<Bytes> {
    match event {
        "content_block_delta" if data.contains("\"signature_delta\"") => {
            let mut v: Value = serde_json::from_str(data).ok()?;
            let sig = v["delta"]["signature"].as_str()?.to_string();
            v["delta"]["signature"] = Value::String(stamp(provider_id, &sig));
            Some(crate::protocol::sse::encode(event, &v.to_string()))
        }
        "content_block_start" if data.contains("\"tool_use\"") || data.contains("\"thinking\"") => {
            let mut v: Value = serde_json::from_str(data).ok()?;
            let block = v.get_mut("content_block")?;
            let mut changed = false;
            if block["type"] == "tool_use" {
                if let Some(id) = block["id"].as_str().filter(|id| !valid_tool_id(id)) {
                    block["id"] = Value::String(sanitize_tool_id(id));
                    changed = true;
                }
            }
            if block["type"] == "thinking" {
                if let Some(sig) = block["signature"].as_str().filter(|s| !s.is_empty()) {
                    block["signature"] = Value::String(stamp(provider_id, sig));
                    changed = true;
                }
            }
            changed.then(|| crate::protocol::sse::encode(event, &v.to_string()))
        }
        _ => None,
    }
}

/// Is this provider Anthropic's own API (whose unstamped thinking signatures it accepts)?
/// `quirks.anthropic_native` decides; by default only `api.anthropic.com` is.
pub fn is_anthropic(p: &crate::config::Provider) -> bool {
    p.quirks.anthropic_native.unwrap_or_else(|| {
        // Asked on every request: most base URLs are ruled out without parsing them.
        let named = p
            .base_url
            .as_bytes()
            .windows(9)
            .any(|w| w.eq_ignore_ascii_case(b"anthropic"));
        if !named {
            return false;
        }
        reqwest::Url::parse(&p.base_url)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| h.eq_ignore_ascii_case("api.anthropic.com"))
            })
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conversation() -> Value {
        json!({
            "model": "claude-sonnet-4-5", "max_tokens": 100,
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "anthropic thought", "signature": "EqQBanthropic"},
                    {"type": "text", "text": "hello"}
                ]},
                {"role": "user", "content": "use a tool"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "deepseek thought", "signature": "sy1.deepseek.dsSig"},
                    {"type": "tool_use", "id": "functions.get_weather:0", "name": "get_weather", "input": {}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "functions.get_weather:0", "content": "sunny"}
                ]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "kimi only", "signature": "sy1.kimi.k"}
                ]}
            ]
        })
    }

    fn blocks(v: &Value, i: usize) -> Vec<&str> {
        v["messages"][i]["content"]
            .as_array()
            .map(|a| a.iter().filter_map(|b| b["type"].as_str()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn case_19_history_moves_between_vendors() {
        let body = serde_json::to_vec(&conversation()).expect("json");
        // To Anthropic: its own thinking stays, foreign thinking goes, ids are fixed consistently.
        let out = normalize_request(
            &body,
            &Target {
                provider_id: "anthropic",
                is_anthropic: true,
            },
        )
        .expect("changed");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(blocks(&v, 1), ["thinking", "text"]);
        assert_eq!(v["messages"][1]["content"][0]["signature"], "EqQBanthropic");
        assert_eq!(blocks(&v, 3), ["tool_use"]);
        let id = v["messages"][3]["content"][0]["id"].as_str().expect("id");
        assert!(valid_tool_id(id));
        assert_eq!(
            v["messages"][4]["content"][0]["tool_use_id"].as_str(),
            Some(id),
            "paired ids stay paired"
        );
        assert_eq!(
            v["messages"][5]["content"][0]["type"], "text",
            "an emptied assistant turn keeps a text"
        );
        // To DeepSeek: its own thinking comes back unstamped, Anthropic's and Kimi's go.
        let out = normalize_request(
            &body,
            &Target {
                provider_id: "deepseek",
                is_anthropic: false,
            },
        )
        .expect("changed");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(blocks(&v, 1), ["text"]);
        assert_eq!(blocks(&v, 3), ["thinking", "tool_use"]);
        assert_eq!(v["messages"][3]["content"][0]["signature"], "dsSig");
    }

    #[test]
    fn spaced_json_from_python_clients_is_recognised() {
        let body = br#"{"model": "m", "messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "functions.f:0", "name": "f", "input": {}}]}, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "functions.f:0", "content": "ok"}]}]}"#;
        let out = normalize_request(
            body,
            &Target {
                provider_id: "anthropic",
                is_anthropic: true,
            },
        )
        .expect("fixed");
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            v["messages"][0]["content"][0]["id"],
            v["messages"][1]["content"][0]["tool_use_id"]
        );
        assert!(valid_tool_id(
            v["messages"][0]["content"][0]["id"].as_str().expect("id")
        ));
        let thinking = br#"{"model": "m", "thinking": {"type": "enabled"}, "messages": [{"role": "user", "content": "hi"}]}"#;
        assert!(
            normalize_request(
                thinking,
                &Target {
                    provider_id: "ds",
                    is_anthropic: false
                }
            )
            .is_none(),
            "the thinking setting alone is not a block"
        );
    }

    #[test]
    fn untouched_bodies_are_not_parsed_or_rewritten() {
        let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"abc"},{"type":"tool_use","id":"toolu_01","name":"x","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"ok"}]}]}"#;
        assert!(normalize_request(
            body,
            &Target {
                provider_id: "anthropic",
                is_anthropic: true
            }
        )
        .is_none());
    }

    #[test]
    fn ids_and_stamps() {
        assert_eq!(sanitize_tool_id("toolu_01A-b"), "toolu_01A-b");
        let a = sanitize_tool_id("functions.get:1");
        let b = sanitize_tool_id("functions.get_1");
        assert!(valid_tool_id(&a) && a != b);
        assert_eq!(a, sanitize_tool_id("functions.get:1"), "deterministic");
        assert_eq!(
            signer("sy1.kimi.abc.def"),
            Signer::Provider("kimi", "abc.def")
        );
        assert_eq!(signer("EqQB"), Signer::Anthropic);
        let f = stamp_frame("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"s1"}}"#, "glm")
            .expect("stamped");
        assert!(String::from_utf8_lossy(&f).contains("sy1.glm.s1"));
        assert!(stamp_frame(
            "content_block_delta",
            r#"{"delta":{"type":"text_delta","text":"signature_delta"}}"#,
            "glm"
        )
        .is_none());
        let r = stamp_response(br#"{"content":[{"type":"thinking","thinking":"t","signature":"x"},{"type":"tool_use","id":"a.b","name":"n","input":{}}]}"#, "kimi").expect("changed");
        let v: Value = serde_json::from_slice(&r).expect("json");
        assert_eq!(v["content"][0]["signature"], "sy1.kimi.x");
        assert!(valid_tool_id(v["content"][1]["id"].as_str().expect("id")));
        // Plain text answers are left alone without being parsed; an escaped type is still seen.
        assert!(stamp_response(br#"{"content":[{"type":"text","text":"hi"}]}"#, "kimi").is_none());
        let r = stamp_response(
            br#"{"content":[{"type":"\u0074hinking","thinking":"t","signature":"x"}]}"#,
            "kimi",
        )
        .expect("changed");
        let v: Value = serde_json::from_slice(&r).expect("json");
        assert_eq!(v["content"][0]["signature"], "sy1.kimi.x");
    }
}
