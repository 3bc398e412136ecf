//! Server-sent events framing: split a byte stream into whole frames (without copying them
//! more than once), read a frame's `event` and `data`, and encode frames.
//!
//! Frames end at a blank line (`\n\n`, `\r\n\r\n`, or a mix). Passing only whole frames on
//! lets the proxy end a broken stream with a well-formed `event: error` instead of half a frame.

use bytes::{Bytes, BytesMut};

/// Incremental frame splitter.
#[derive(Debug, Default)]
pub struct Splitter {
    buf: BytesMut,
    /// Bytes of `buf` already searched for a frame end.
    scanned: usize,
}

impl Splitter {
    /// An empty splitter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add bytes from the network.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// All whole frames received so far, as one buffer (each frame keeps its terminator), or
    /// `None` when no frame is complete yet. What follows the last complete frame stays
    /// buffered.
    pub fn take_complete(&mut self) -> Option<Bytes> {
        let end = self.last_frame_end()?;
        self.scanned = 0;
        Some(self.buf.split_to(end).freeze())
    }

    /// Bytes of an incomplete frame still buffered.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    fn last_frame_end(&mut self) -> Option<usize> {
        let mut last = None;
        let b = &self.buf[..];
        let mut i = self.scanned;
        while i < b.len() {
            if b[i] == b'\n' {
                match (b.get(i + 1), b.get(i + 2)) {
                    (Some(b'\n'), _) => {
                        last = Some(i + 2);
                        i += 2;
                        continue;
                    }
                    (Some(b'\r'), Some(b'\n')) => {
                        last = Some(i + 3);
                        i += 3;
                        continue;
                    }
                    (None, _) | (Some(b'\r'), None) => break,
                    _ => {}
                }
            }
            i += 1;
        }
        // Resume next time from where an undecided line end starts.
        self.scanned = match last {
            Some(_) => 0,
            None => i.min(b.len()),
        };
        last
    }
}

/// Iterate over the frames inside a buffer of whole frames.
pub fn frames(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut i = 0;
        while i < rest.len() {
            if rest[i] == b'\n' {
                if rest.get(i + 1) == Some(&b'\n') {
                    let (f, r) = rest.split_at(i + 2);
                    rest = r;
                    return Some(f);
                }
                if rest.get(i + 1) == Some(&b'\r') && rest.get(i + 2) == Some(&b'\n') {
                    let (f, r) = rest.split_at(i + 3);
                    rest = r;
                    return Some(f);
                }
            }
            i += 1;
        }
        let f = rest;
        rest = &[];
        Some(f)
    })
}

/// A parsed frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The `event:` name, if any.
    pub event: Option<&'a str>,
    /// The `data:` lines joined by `\n` (borrowed when there is a single line).
    pub data: std::borrow::Cow<'a, str>,
}

impl Frame<'_> {
    /// True for a frame with neither event nor data (comments, keep-alives).
    pub fn is_empty(&self) -> bool {
        self.event.is_none() && self.data.is_empty()
    }
}

/// Read one frame's fields. Invalid UTF-8 lines are skipped.
pub fn parse_frame(raw: &[u8]) -> Frame<'_> {
    let mut event = None;
    let mut data: Option<std::borrow::Cow<'_, str>> = None;
    for line in raw.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => event = Some(value),
            "data" => {
                data = Some(match data {
                    None => std::borrow::Cow::Borrowed(value),
                    Some(prev) => std::borrow::Cow::Owned(format!("{prev}\n{value}")),
                })
            }
            _ => {}
        }
    }
    Frame {
        event,
        data: data.unwrap_or_default(),
    }
}

/// Encode `event: NAME\ndata: DATA\n\n`. `data` must be a single line (JSON is).
pub fn encode(event: &str, data: &str) -> Bytes {
    let mut b = BytesMut::with_capacity(event.len() + data.len() + 16);
    b.extend_from_slice(b"event: ");
    b.extend_from_slice(event.as_bytes());
    b.extend_from_slice(b"\ndata: ");
    b.extend_from_slice(data.as_bytes());
    b.extend_from_slice(b"\n\n");
    b.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_across_chunk_boundaries_and_line_endings() {
        let mut s = Splitter::new();
        s.push(b"event: a\ndata: {\"x\":1}\n");
        assert_eq!(s.take_complete(), None);
        s.push(b"\nevent: b\r\ndata: 2\r\n\r");
        let got = s.take_complete().expect("one frame");
        assert_eq!(&got[..], b"event: a\ndata: {\"x\":1}\n\n");
        s.push(b"\ndata: tail");
        let got = s.take_complete().expect("second");
        assert_eq!(&got[..], b"event: b\r\ndata: 2\r\n\r\n");
        assert_eq!(s.pending(), b"data: tail");
    }

    #[test]
    fn parses_fields() {
        let f = parse_frame(b"event: message_start\ndata: {\"a\":1}\n\n");
        assert_eq!(f.event, Some("message_start"));
        assert_eq!(f.data, "{\"a\":1}");
        let f = parse_frame(b": comment\ndata:x\ndata: y\n\n");
        assert_eq!(f.event, None);
        assert_eq!(f.data, "x\ny");
        assert!(parse_frame(b": keepalive\n\n").is_empty());
        let all: Vec<_> = frames(b"data: 1\n\ndata: 2\r\n\r\n").collect();
        assert_eq!(all.len(), 2);
    }

    proptest! {
        /// However the network cuts a stream, the splitter yields exactly the original frames.
        #[test]
        fn any_chunking_yields_the_same_frames(cuts in proptest::collection::vec(0usize..200, 0..12), crlf in any::<bool>()) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let text: String = (0..5).map(|i| format!("event: e{i}{nl}data: {{\"i\":{i}}}{nl}{nl}")).collect();
            let bytes = text.as_bytes();
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            points.push(0);
            points.push(bytes.len());
            points.sort_unstable();
            let mut s = Splitter::new();
            let mut out = Vec::new();
            for w in points.windows(2) {
                s.push(&bytes[w[0]..w[1]]);
                if let Some(b) = s.take_complete() {
                    out.extend_from_slice(&b);
                }
            }
            prop_assert_eq!(&out[..], bytes);
            prop_assert_eq!(frames(&out).count(), 5);
        }
    }
}
