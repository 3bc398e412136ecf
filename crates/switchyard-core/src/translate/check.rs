//! A conformance checker for Anthropic SSE streams: the rules the official SDKs enforce
//! (PROTOCOL.md §1, "What makes the official SDKs throw"), plus the stricter shape every
//! Switchyard translator promises. Used by the translators' tests and usable from integration
//! tests.

use serde_json::Value;

use crate::protocol::sse;

/// The stop reasons Anthropic defines.
const STOP_REASONS: [&str; 7] = [
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
];

#[derive(Debug, Default)]
struct Checker {
    started: bool,
    ended: bool,
    delta_seen: bool,
    next_index: u64,
    /// The open block: index, type, accumulated tool JSON, signature seen.
    open: Option<(u64, String, String, bool)>,
}

/// Check a complete Anthropic SSE stream. `Ok` when it is one the SDKs accept: every frame
/// has `event:` and `data:`, the data is JSON whose `type` equals the event name;
/// `message_start` comes first and once (or the stream is a lone `error`); block indexes run
/// 0, 1, 2… and one block is open at a time; deltas match their block's type and only go to
/// the open block; a thinking block gets a `signature_delta` before it stops; a tool block's
/// accumulated `input_json_delta`s are empty or a JSON object; `message_delta` has `usage`
/// and a known stop reason; the stream ends with `message_stop` or `error`, and nothing
/// follows either.
pub fn check_anthropic_stream(bytes: &[u8]) -> Result<(), String> {
    let mut c = Checker::default();
    for (n, raw) in sse::frames(bytes).enumerate() {
        let f = sse::parse_frame(raw);
        if f.is_empty() {
            continue;
        }
        let text = String::from_utf8_lossy(raw);
        let at = |msg: &str| format!("frame {n} ({text:?}): {msg}");
        let event = f.event.ok_or_else(|| at("no `event:` line"))?;
        if f.data.is_empty() {
            return Err(at("no `data:` line"));
        }
        let data: Value =
            serde_json::from_str(&f.data).map_err(|e| at(&format!("data is not JSON: {e}")))?;
        if data["type"] != event {
            return Err(at("the data's `type` differs from the event name"));
        }
        c.event(event, &data).map_err(|e| at(&e))?;
    }
    if !c.ended {
        return Err("the stream does not end with message_stop or error".into());
    }
    Ok(())
}

impl Checker {
    fn event(&mut self, event: &str, data: &Value) -> Result<(), String> {
        if self.ended {
            return Err("an event after message_stop or error".into());
        }
        if !self.started && !matches!(event, "message_start" | "error") {
            return Err("an event before message_start".into());
        }
        match event {
            "message_start" => {
                if self.started {
                    return Err("a second message_start".into());
                }
                self.started = true;
                let m = &data["message"];
                if m["role"] != "assistant" || !m["usage"].is_object() {
                    return Err("message_start without role/usage".into());
                }
            }
            "ping" => {}
            "content_block_start" => {
                if self.open.is_some() {
                    return Err("a block starts while another is open".into());
                }
                let index = data["index"].as_u64().ok_or("no index")?;
                if index != self.next_index {
                    return Err(format!("index {index}, expected {}", self.next_index));
                }
                let ty = data["content_block"]["type"]
                    .as_str()
                    .ok_or("no block type")?;
                if !matches!(ty, "text" | "thinking" | "tool_use" | "redacted_thinking") {
                    return Err(format!("unexpected block type {ty}"));
                }
                if ty == "tool_use"
                    && (data["content_block"]["id"]
                        .as_str()
                        .is_none_or(str::is_empty)
                        || data["content_block"]["name"].as_str().is_none())
                {
                    return Err("tool_use block without id or name".into());
                }
                self.next_index += 1;
                self.open = Some((index, ty.to_string(), String::new(), false));
            }
            "content_block_delta" => {
                let Some((index, ty, json, signed)) = self.open.as_mut() else {
                    return Err("a delta with no open block".into());
                };
                if data["index"].as_u64() != Some(*index) {
                    return Err("a delta for a block that is not open".into());
                }
                let d = &data["delta"];
                match (d["type"].as_str().unwrap_or(""), ty.as_str()) {
                    ("text_delta", "text") if d["text"].is_string() => {}
                    ("thinking_delta", "thinking") if d["thinking"].is_string() && !*signed => {}
                    ("signature_delta", "thinking") if d["signature"].is_string() => *signed = true,
                    ("input_json_delta", "tool_use") => {
                        json.push_str(d["partial_json"].as_str().ok_or("no partial_json")?);
                    }
                    (dt, bt) => return Err(format!("delta {dt} in a {bt} block")),
                }
            }
            "content_block_stop" => {
                let Some((index, ty, json, signed)) = self.open.take() else {
                    return Err("a stop with no open block".into());
                };
                if data["index"].as_u64() != Some(index) {
                    return Err("a stop for a block that is not open".into());
                }
                if ty == "thinking" && !signed {
                    return Err("a thinking block stops without a signature_delta".into());
                }
                if ty == "tool_use" && !json.is_empty() {
                    let v: Value = serde_json::from_str(&json)
                        .map_err(|e| format!("tool input {json:?} is not JSON: {e}"))?;
                    if !v.is_object() {
                        return Err(format!("tool input {json:?} is not an object"));
                    }
                }
            }
            "message_delta" => {
                if self.open.is_some() {
                    return Err("message_delta while a block is open".into());
                }
                if self.delta_seen {
                    return Err("a second message_delta".into());
                }
                self.delta_seen = true;
                if !data["usage"]["output_tokens"].is_u64() {
                    return Err("message_delta without usage.output_tokens".into());
                }
                let reason = data["delta"]["stop_reason"].as_str().unwrap_or("");
                if !STOP_REASONS.contains(&reason) {
                    return Err(format!("unknown stop_reason {reason:?}"));
                }
            }
            "message_stop" => {
                if !self.delta_seen {
                    return Err("message_stop without message_delta".into());
                }
                self.ended = true;
            }
            "error" => {
                if self.open.is_some() {
                    return Err("error while a block is open".into());
                }
                let e = &data["error"];
                let keys = data.as_object().map_or(0, serde_json::Map::len);
                if keys != 2 || !e["type"].is_string() || !e["message"].is_string() {
                    return Err("error not shaped {type:error, error:{type, message}}".into());
                }
                self.ended = true;
            }
            other => return Err(format!("unknown event {other}")),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(event: &str, data: &str) -> String {
        format!("event: {event}\ndata: {data}\n\n")
    }

    fn good() -> Vec<String> {
        vec![
            frame(
                "message_start",
                r#"{"type":"message_start","message":{"role":"assistant","usage":{"input_tokens":1}}}"#,
            ),
            frame(
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"n","input":{}}}"#,
            ),
            frame("ping", r#"{"type":"ping"}"#),
            frame(
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#,
            ),
            frame(
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"1}"}}"#,
            ),
            frame(
                "content_block_stop",
                r#"{"type":"content_block_stop","index":0}"#,
            ),
            frame(
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":3}}"#,
            ),
            frame("message_stop", r#"{"type":"message_stop"}"#),
        ]
    }

    #[test]
    fn accepts_a_good_stream_and_rejects_each_breakage() {
        assert_eq!(check_anthropic_stream(good().concat().as_bytes()), Ok(()));
        let broken: Vec<(&str, Vec<String>)> = vec![
            ("no message_stop", good()[..7].to_vec()),
            ("starts with a block", good()[1..].to_vec()),
            ("double start", [vec![good()[0].clone()], good()].concat()),
            ("bad json accumulation", {
                let mut g = good();
                g.remove(4);
                g
            }),
            ("data-only frame", {
                let mut g = good();
                g[2] = "data: {\"type\":\"ping\"}\n\n".into();
                g
            }),
            ("no usage", {
                let mut g = good();
                g[6] = frame(
                    "message_delta",
                    r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"}}"#,
                );
                g
            }),
            ("gap in indexes", {
                let mut g = good();
                g[1] = g[1].replace("\"index\":0", "\"index\":1");
                g
            }),
        ];
        for (what, frames) in broken {
            assert!(
                check_anthropic_stream(frames.concat().as_bytes()).is_err(),
                "{what}"
            );
        }
        let err = frame(
            "error",
            r#"{"type":"error","error":{"type":"api_error","message":"x"}}"#,
        );
        assert_eq!(check_anthropic_stream(err.as_bytes()), Ok(()));
        assert_eq!(
            check_anthropic_stream(format!("{}{err}", good()[0]).as_bytes()),
            Ok(())
        );
    }
}
