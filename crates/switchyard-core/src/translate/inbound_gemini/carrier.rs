//! The `thoughtSignature` a Gemini client gets for hub thinking: the thinking blocks (text and
//! signature, or redacted data) that precede a part, packed into one opaque string the client
//! echoes on that part in its next request.
//!
//! Why pack them: Gemini clients keep `thoughtSignature` on the part it came with but may drop
//! `thought` text parts from their history (Gemini CLI does), while Anthropic wants a signed
//! thinking block back, text and all, before the tool call it led to. The packed form is
//! `sy1h.` + base64url (no padding) of a JSON array of blocks, so it passes any client that
//! treats signatures as opaque base64-ish strings.
//!
//! A signature that is not packed (Gemini's own, from a provider that passed the client's bytes
//! through, or Gemini CLI's `skip_thought_signature_validator`) has no place in the hub: Gemini
//! providers then get the documented bypass value, and everyone else needs none.

use serde_json::{json, Value};

/// The prefix of a packed signature.
pub const CARRIER_PREFIX: &str = "sy1h.";

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding.
pub(super) fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Base64url (padding and the standard alphabet's `+` `/` tolerated); `None` when it is not.
pub(super) fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        } as u32)
    };
    let s = text.trim_end_matches('=').as_bytes();
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    Some(out)
}

/// Pack hub thinking blocks (`thinking` / `redacted_thinking`) into a signature; `None` when
/// there is nothing worth carrying (no block has a signature or data).
pub fn pack(blocks: &[Value]) -> Option<String> {
    let kept: Vec<Value> = blocks
        .iter()
        .filter_map(|b| match b["type"].as_str() {
            Some("thinking") => {
                let sig = b["signature"].as_str().unwrap_or("");
                (!sig.is_empty()).then(|| {
                    json!({"t": "thinking", "x": b["thinking"].as_str().unwrap_or(""), "s": sig})
                })
            }
            Some("redacted_thinking") => Some(json!({"t": "redacted", "d": b["data"]})),
            _ => None,
        })
        .collect();
    if kept.is_empty() {
        return None;
    }
    let raw = serde_json::to_vec(&kept).ok()?;
    Some(format!("{CARRIER_PREFIX}{}", b64_encode(&raw)))
}

/// The hub thinking blocks a packed signature carries; `None` when it is not one of ours (or
/// is damaged).
pub fn unpack(signature: &str) -> Option<Vec<Value>> {
    let raw = b64_decode(signature.strip_prefix(CARRIER_PREFIX)?)?;
    let list: Vec<Value> = serde_json::from_slice(&raw).ok()?;
    let blocks = list
        .into_iter()
        .filter_map(|b| match b["t"].as_str() {
            Some("thinking") => {
                let sig = b["s"].as_str().filter(|s| !s.is_empty())?;
                let text = b["x"].as_str().unwrap_or("");
                Some(json!({"type": "thinking", "thinking": text, "signature": sig}))
            }
            Some("redacted") => b["d"]
                .as_str()
                .map(|d| json!({"type": "redacted_thinking", "data": d})),
            _ => None,
        })
        .collect::<Vec<_>>();
    Some(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for n in 0..40 {
            let data: Vec<u8> = (0..n).map(|i| (i * 37 % 256) as u8).collect();
            let enc = b64_encode(&data);
            assert!(enc
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(b64_decode(&enc).as_deref(), Some(&data[..]), "{n}");
        }
        assert_eq!(b64_decode("aGk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(b64_decode("a"), None);
        assert_eq!(b64_decode("a*bc"), None);
    }

    #[test]
    fn thinking_round_trips_through_a_signature() {
        let blocks = vec![
            json!({"type": "thinking", "thinking": "let me see ✓", "signature": "EqQBCkYIARgCIkB"}),
            json!({"type": "redacted_thinking", "data": "opaque"}),
            json!({"type": "thinking", "thinking": "unsigned", "signature": ""}),
        ];
        let sig = pack(&blocks).expect("packed");
        assert!(sig.starts_with(CARRIER_PREFIX));
        let back = unpack(&sig).expect("ours");
        assert_eq!(back, blocks[..2].to_vec());
        assert_eq!(pack(&blocks[2..]), None, "nothing signed: nothing to carry");
        assert_eq!(unpack("skip_thought_signature_validator"), None);
        assert_eq!(unpack("sy1h.!!!"), None);
    }
}
