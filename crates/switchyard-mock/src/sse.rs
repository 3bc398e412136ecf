//! SSE wire encoding: frames, and turning rendered streams and scripted steps into body
//! operations.

use crate::anthropic::{to_json, Item};
use crate::body::Op;
use crate::reply::Step;
use bytes::Bytes;
use serde_json::Value;

/// Encodes one SSE frame: `event: NAME\ndata: DATA\n\n`, or `data: DATA\n\n` without a name.
/// Multi-line data gets one `data:` line per line, as SSE requires.
pub(crate) fn sse_frame(event: Option<&str>, data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + 32);
    if let Some(name) = event {
        out.push_str("event: ");
        out.push_str(name);
        out.push('\n');
    }
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// Turns rendered items into body operations.
pub(crate) fn items_to_ops(items: Vec<Item>) -> Vec<Op> {
    items
        .into_iter()
        .map(|item| match item {
            Item::Event(name, json) => Op::Send(sse_frame(Some(name), &json)),
            Item::Delay(ms) => Op::Delay(ms),
        })
        .collect()
}

/// Turns one scripted [`Step`] into a body operation.
pub(crate) fn step_to_op(step: &Step) -> Op {
    match step {
        Step::Event { event, data } => {
            let bytes = match data {
                Value::String(s) => sse_frame(event.as_deref(), s),
                other => sse_frame(event.as_deref(), &to_json(other)),
            };
            Op::Send(bytes)
        }
        Step::Raw { text } => Op::Send(Bytes::from(text.clone())),
        Step::Delay { ms } => Op::Delay(*ms),
        Step::Stall => Op::Stall,
        Step::Hangup => Op::Hangup,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_byte_exact() {
        assert_eq!(
            &sse_frame(Some("ping"), r#"{"type":"ping"}"#)[..],
            b"event: ping\ndata: {\"type\":\"ping\"}\n\n"
        );
        assert_eq!(&sse_frame(None, "a\nb")[..], b"data: a\ndata: b\n\n");
    }
}
