//! A conformance checker for Gemini `streamGenerateContent?alt=sse` streams, as the Gemini
//! SDKs and Gemini CLI read them: the rules every stream Switchyard sends a Gemini client
//! keeps. Used by the translators' tests, the property and fuzz tests and the integration
//! tests.

use serde_json::{Map, Value};

use crate::protocol::sse;

/// Finish reasons Gemini defines.
const FINISH_REASONS: &[&str] = &[
    "STOP",
    "MAX_TOKENS",
    "SAFETY",
    "RECITATION",
    "LANGUAGE",
    "OTHER",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "MALFORMED_FUNCTION_CALL",
    "IMAGE_SAFETY",
    "UNEXPECTED_TOOL_CALL",
    "TOO_MANY_TOOL_CALLS",
];

/// What a part may hold besides its one datum.
const PART_EXTRAS: &[&str] = &["thought", "thoughtSignature", "videoMetadata"];
/// The data a part holds, exactly one of them.
const PART_DATA: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
];

/// Check a complete Gemini SSE stream. `Ok` when: every frame is a lone `data:` line holding
/// a JSON object (no `event:` line, no `[DONE]`); a frame with `error` has an integer
/// `code` (400-599), a `message` and a `status`, and nothing follows it; every other frame has
/// `candidates` whose first `content` is a `model` content with a list of parts; each part
/// holds exactly one datum (`text`, `functionCall`, ...), `thought` is a boolean, a
/// `functionCall` has a name and object `args`; exactly the last frame has a known
/// `finishReason`; token counts are non-negative integers and `totalTokenCount` is at least
/// prompt + candidates; and the stream ends with a `finishReason` or an error.
pub fn check_gemini_stream(bytes: &[u8]) -> Result<(), String> {
    let mut finished = false;
    let mut errored = false;
    let mut frames = 0;
    for (n, raw) in sse::frames(bytes).enumerate() {
        let f = sse::parse_frame(raw);
        if f.is_empty() {
            continue;
        }
        let text = String::from_utf8_lossy(raw);
        let at = |msg: &str| format!("frame {n} ({text:?}): {msg}");
        if f.event.is_some() {
            return Err(at("Gemini frames have no `event:` line"));
        }
        if finished || errored {
            return Err(at("a frame after the stream ended"));
        }
        if f.data.trim() == "[DONE]" {
            return Err(at("`[DONE]` is not Gemini's"));
        }
        let v: Value =
            serde_json::from_str(&f.data).map_err(|e| at(&format!("data is not JSON: {e}")))?;
        let o = v.as_object().ok_or_else(|| at("data is not an object"))?;
        frames += 1;
        if let Some(e) = o.get("error") {
            check_error(e).map_err(|e| at(&e))?;
            errored = true;
            continue;
        }
        finished = check_chunk(o).map_err(|e| at(&e))?;
    }
    if frames == 0 {
        return Err("the stream is empty".into());
    }
    if !finished && !errored {
        return Err("the stream ends without a finishReason or an error".into());
    }
    Ok(())
}

fn check_error(e: &Value) -> Result<(), String> {
    let code = e["code"].as_u64().ok_or("error.code is not an integer")?;
    if !(400..600).contains(&code) {
        return Err(format!("error.code {code} is not an error status"));
    }
    if !e["message"].is_string() || !e["status"].is_string() {
        return Err("error needs a message and a status".into());
    }
    Ok(())
}

/// One chunk; returns whether it finishes the stream.
fn check_chunk(o: &Map<String, Value>) -> Result<bool, String> {
    if let Some(u) = o.get("usageMetadata") {
        let n = |k: &str| -> Result<u64, String> {
            match u.get(k) {
                None => Ok(0),
                Some(v) => v
                    .as_u64()
                    .ok_or(format!("usageMetadata.{k} is not a count")),
            }
        };
        let (p, c, t, th) = (
            n("promptTokenCount")?,
            n("candidatesTokenCount")?,
            n("totalTokenCount")?,
            n("thoughtsTokenCount")?,
        );
        if t < p + c + th {
            return Err(format!(
                "totalTokenCount {t} < prompt {p} + candidates {c} + thoughts {th}"
            ));
        }
    }
    let Some(cands) = o.get("candidates") else {
        // A prompt blocked before any candidate: only promptFeedback.
        return if o.get("promptFeedback").is_some() {
            Ok(true)
        } else {
            Err("no candidates".into())
        };
    };
    let first = cands
        .as_array()
        .and_then(|c| c.first())
        .ok_or("candidates is not a non-empty list")?;
    let content = &first["content"];
    if content.get("role").is_some_and(|r| r != "model") {
        return Err("a candidate's content role is not model".into());
    }
    let parts = match content.get("parts") {
        Some(Value::Array(p)) => p.as_slice(),
        None => &[],
        Some(_) => return Err("content.parts is not a list".into()),
    };
    for (i, p) in parts.iter().enumerate() {
        check_part(p).map_err(|e| format!("part {i}: {e}"))?;
    }
    match first.get("finishReason").and_then(Value::as_str) {
        Some(r) if FINISH_REASONS.contains(&r) => Ok(true),
        Some(r) => Err(format!("unknown finishReason {r:?}")),
        None if first.get("finishReason").is_some() => Err("finishReason is not a string".into()),
        None if parts.is_empty() => Err("a chunk with neither parts nor finishReason".into()),
        None => Ok(false),
    }
}

fn check_part(p: &Value) -> Result<(), String> {
    let o = p.as_object().ok_or("not an object")?;
    let data: Vec<&str> = o
        .keys()
        .map(String::as_str)
        .filter(|k| !PART_EXTRAS.contains(k))
        .collect();
    if data.len() != 1 || !PART_DATA.contains(&data[0]) {
        // A signature alone is how Gemini ends some streams.
        if data.is_empty() && o.contains_key("thoughtSignature") {
            return Ok(());
        }
        return Err(format!("a part holds {data:?}, not exactly one datum"));
    }
    if o.get("thought").is_some_and(|t| !t.is_boolean()) {
        return Err("thought is not a boolean".into());
    }
    if o.get("thoughtSignature").is_some_and(|s| !s.is_string()) {
        return Err("thoughtSignature is not a string".into());
    }
    match data[0] {
        "text" if !o["text"].is_string() => Err("text is not a string".into()),
        "functionCall" => {
            let c = &o["functionCall"];
            if c["name"].as_str().is_none_or(str::is_empty) {
                return Err("a functionCall without a name".into());
            }
            if c.get("args").is_some_and(|a| !a.is_object()) {
                return Err("functionCall.args is not an object".into());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
