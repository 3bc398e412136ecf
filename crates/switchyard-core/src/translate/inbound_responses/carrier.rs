//! Thinking blocks carried through a Responses client as reasoning items.
//!
//! A Responses client keeps no thinking blocks: it keeps the `reasoning` items it was sent and
//! echoes them back in the next request's `input` (Codex CLI does, with `store: false`). A
//! provider that thinks (Anthropic, or any provider whose thinking the hub stamped) needs its
//! thinking block back exactly, text and signature, or it refuses the conversation. So every
//! hub thinking block leaves as a reasoning item whose `encrypted_content` holds the whole
//! block: [`PREFIX`] then base64url (no padding) of `{"t": thinking, "s": signature}` (or
//! `{"r": data}` for a `redacted_thinking` block). The summary a person reads is the thinking
//! text; the carrier, not the summary, is what comes back, so a client that rewrites or drops
//! summaries still round-trips.
//!
//! `encrypted_content` that does not start with [`PREFIX`] came from a real Responses provider
//! (OpenAI's own encrypted reasoning): it means nothing to the hub and is dropped there; a
//! provider of the client's own dialect gets it back unchanged.

use serde_json::{json, Value};

/// What every carrier starts with (`sy1` like the hub's signature stamps, `r` for reasoning).
pub const PREFIX: &str = "sy1r.";

/// A hub thinking block as a reasoning item's `encrypted_content`.
pub fn encode_thinking(thinking: &str, signature: &str) -> String {
    encode(&json!({"t": thinking, "s": signature}))
}

/// A hub `redacted_thinking` block's data as a reasoning item's `encrypted_content`.
pub fn encode_redacted(data: &str) -> String {
    encode(&json!({"r": data}))
}

fn encode(v: &Value) -> String {
    let mut out = String::from(PREFIX);
    out.push_str(&b64_encode(v.to_string().as_bytes()));
    out
}

/// The hub block an `encrypted_content` carries: a `thinking` or `redacted_thinking` block;
/// `None` when it is not one of ours (or is damaged).
pub fn decode(encrypted: &str) -> Option<Value> {
    let raw = b64_decode(encrypted.strip_prefix(PREFIX)?)?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    if let Some(data) = v.get("r").and_then(Value::as_str) {
        return Some(json!({"type": "redacted_thinking", "data": data}));
    }
    let thinking = v.get("t")?.as_str()?;
    let signature = v.get("s")?.as_str()?;
    Some(json!({"type": "thinking", "thinking": thinking, "signature": signature}))
}

/// Is this `encrypted_content` one of ours (whatever provider the block came from)?
pub fn is_ours(encrypted: &str) -> bool {
    encrypted.starts_with(PREFIX)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let idx = (n >> (18 - 6 * i)) & 63;
            out.push(char::from(ALPHABET[idx as usize]));
        }
    }
    out
}

fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> { ALPHABET.iter().position(|a| *a == c).map(|p| p as u32) };
    let bytes = text.as_bytes();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        let produced = chunk.len() - 1;
        for i in 0..produced {
            out.push(((n >> (16 - 8 * i)) & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_every_length() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            let enc = b64_encode(&data);
            assert!(enc
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
            assert_eq!(b64_decode(&enc), Some(data), "length {len}");
        }
        assert_eq!(b64_encode(b"Man"), "TWFu");
        assert_eq!(b64_encode(b"Ma"), "TWE");
        assert_eq!(b64_decode("T"), None);
        assert_eq!(b64_decode("T*=="), None);
    }

    #[test]
    fn thinking_and_redacted_blocks_round_trip() {
        let enc = encode_thinking("let me think \u{e9}\n\"quoted\"", "EqQBsig==");
        assert!(is_ours(&enc));
        assert_eq!(
            decode(&enc),
            Some(
                json!({"type": "thinking", "thinking": "let me think \u{e9}\n\"quoted\"", "signature": "EqQBsig=="})
            )
        );
        let enc = encode_redacted("opaque");
        assert_eq!(
            decode(&enc),
            Some(json!({"type": "redacted_thinking", "data": "opaque"}))
        );
        // OpenAI's own encrypted reasoning and damaged carriers are not ours to read.
        assert_eq!(decode("gAAAAABo-openai"), None);
        assert!(!is_ours("gAAAAABo-openai"));
        assert_eq!(decode("sy1r.!!"), None);
        assert_eq!(decode(&format!("{PREFIX}{}", b64_encode(b"[1]"))), None);
    }
}
