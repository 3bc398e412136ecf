//! Some vendors echo the key they were sent ("Incorrect API key provided: sk-..."), in an error
//! answer or in an error event inside a stream that already started. Everything derived from an
//! attempt (the client's answer or stream, failure messages, events, the request log, logs) is
//! masked with the credentials that attempt sent before it leaves the attempt.
//!
//! Streams are masked frame by frame: the relay only ever holds whole SSE frames, so a key split
//! across network chunks is whole again by the time it is looked for.

use std::sync::Arc;

use bytes::Bytes;
use memchr::memmem::Finder;

use super::adapter::AttemptCtx;
use super::credentials::{self, Auth};
use super::{AnswerBody, Outcome};

/// What replaces a credential.
pub const MASK: &str = "[key removed]";

/// Shorter strings are not treated as secrets (too likely to match ordinary text).
const MIN_LEN: usize = 8;

/// The credentials of one attempt, ready to be searched for. Cheap to clone.
#[derive(Clone, Default)]
pub struct Redactor {
    finders: Arc<Vec<Finder<'static>>>,
}

impl Redactor {
    /// Masks these secrets (short ones and duplicates are ignored).
    pub fn new(mut secrets: Vec<String>) -> Self {
        secrets.retain(|s| s.len() >= MIN_LEN);
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        secrets.dedup();
        Redactor {
            finders: Arc::new(
                secrets
                    .into_iter()
                    .map(|s| Finder::new(s.as_bytes()).into_owned())
                    .collect(),
            ),
        }
    }

    /// Nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.finders.is_empty()
    }

    /// `bytes` with every secret masked; `None` when none occurs (the common case, one scan).
    pub fn mask_bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        if !self.finders.iter().any(|f| f.find(bytes).is_some()) {
            return None;
        }
        let mut out = bytes.to_vec();
        for f in self.finders.iter() {
            if f.find(&out).is_none() {
                continue;
            }
            let mut next = Vec::with_capacity(out.len());
            let mut at = 0;
            for hit in f.find_iter(&out) {
                next.extend_from_slice(&out[at..hit]);
                next.extend_from_slice(MASK.as_bytes());
                at = hit + f.needle().len();
            }
            next.extend_from_slice(&out[at..]);
            out = next;
        }
        Some(out)
    }

    /// A buffer with every secret masked (the same buffer when none occurs).
    pub fn bytes(&self, b: Bytes) -> Bytes {
        if self.is_empty() {
            return b;
        }
        match self.mask_bytes(&b) {
            Some(v) => v.into(),
            None => b,
        }
    }

    /// A text with every secret masked (`None` when none occurs).
    pub fn mask(&self, text: &str) -> Option<String> {
        self.mask_bytes(text.as_bytes())
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    /// `text` masked in place.
    pub fn string(&self, text: &mut String) {
        if let Some(m) = self.mask(text) {
            *text = m;
        }
    }
}

/// The credentials an attempt sends: the stored key, or the client's own credentials (every
/// credential header and query parameter it presented, whatever the provider gets).
pub(super) fn credentials(a: &AttemptCtx<'_>) -> Redactor {
    let mut out = credentials::presented(a.client_headers, a.query);
    if let Auth::Key(secret) = &a.auth {
        out.push(secret.expose().to_string());
    }
    Redactor::new(out)
}

/// A finished attempt's outcome without the credentials. A successful whole answer is not
/// touched (they are the model's words, and scanning them would cost every request); a stream
/// carries the redactor and masks its own frames.
pub(super) fn outcome(o: Outcome, r: &Redactor) -> Outcome {
    if r.is_empty() {
        return o;
    }
    match o {
        Outcome::Retry(mut f, mut ans) => {
            r.string(&mut f.message);
            if let Some(a) = ans.as_mut() {
                if let Some(b) = a.body.take() {
                    a.body = Some(r.bytes(b));
                }
            }
            Outcome::Retry(f, ans)
        }
        Outcome::ClientError(mut a) => {
            if let AnswerBody::Full(b) = &a.body {
                if let Some(m) = r.mask_bytes(b) {
                    a.headers.remove(http::header::CONTENT_LENGTH);
                    a.body = AnswerBody::Full(m.into());
                }
            }
            Outcome::ClientError(a)
        }
        Outcome::Unsupported(mut m) => {
            r.string(&mut m);
            Outcome::Unsupported(m)
        }
        o @ Outcome::Success(_) => o,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence() {
        let r = Redactor::new(vec!["sk-secret-1234".to_string(), "short".into()]);
        assert_eq!(
            r.mask("bad key sk-secret-1234 (sk-secret-1234)").as_deref(),
            Some("bad key [key removed] ([key removed])")
        );
        assert_eq!(r.mask("nothing here, short"), None);
        assert_eq!(
            &r.bytes(Bytes::from_static(b"{\"message\":\"key sk-secret-1234\"}"))[..],
            b"{\"message\":\"key [key removed]\"}"
        );
    }

    #[test]
    fn a_longer_secret_is_masked_whole() {
        let r = Redactor::new(vec!["sk-abcdefgh".into(), "sk-abcdefgh-more".into()]);
        assert_eq!(
            r.mask("x sk-abcdefgh-more y").as_deref(),
            Some("x [key removed] y")
        );
    }
}
