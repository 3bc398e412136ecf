//! Some vendors echo the key they were sent in their error messages ("Incorrect API key
//! provided: sk-..."). Those messages go to logs, events, the status API and back to the
//! client, so every credential used for an attempt is cut out of a failed attempt's message
//! and error body first.

use bytes::Bytes;

use super::anthropic::Attempt;
use super::headers::Auth;
use super::Outcome;

/// What replaces a credential in a message.
const MASK: &str = "[key removed]";

/// Shorter strings are not treated as secrets (too likely to match ordinary text).
const MIN_LEN: usize = 8;

/// The credentials an attempt sends: the stored key, or the client's own credentials when
/// they are passed through.
pub(super) fn credentials(a: &Attempt<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if let Auth::Key(secret, _) = &a.auth {
        out.push(secret.expose().to_string());
    }
    for name in ["x-api-key", "authorization", "x-goog-api-key"] {
        for v in a.client_headers.get_all(name) {
            if let Ok(v) = v.to_str() {
                let v = v.strip_prefix("Bearer ").unwrap_or(v).trim();
                out.push(v.to_string());
            }
        }
    }
    out.retain(|s| s.len() >= MIN_LEN);
    out
}

/// `text` with every occurrence of every secret masked (borrowed when there is none).
fn mask(text: &str, secrets: &[String]) -> Option<String> {
    if !secrets.iter().any(|s| text.contains(s.as_str())) {
        return None;
    }
    let mut t = text.to_string();
    for s in secrets {
        t = t.replace(s.as_str(), MASK);
    }
    Some(t)
}

fn mask_bytes(body: &Bytes, secrets: &[String]) -> Option<Bytes> {
    let text = std::str::from_utf8(body).ok()?;
    mask(text, secrets).map(Bytes::from)
}

/// A failed attempt's message and body without the credentials. Successful answers are not
/// touched (they are the model's words, and scanning them would cost every request).
pub(super) fn outcome(o: Outcome, secrets: &[String]) -> Outcome {
    if secrets.is_empty() {
        return o;
    }
    match o {
        Outcome::Retry(mut f, mut ans) => {
            if let Some(m) = mask(&f.message, secrets) {
                f.message = m;
            }
            if let Some(a) = ans.as_mut() {
                if let Some(b) = a
                    .anthropic_body
                    .as_ref()
                    .and_then(|b| mask_bytes(b, secrets))
                {
                    a.anthropic_body = Some(b);
                }
            }
            Outcome::Retry(f, ans)
        }
        Outcome::ClientError(mut a) => {
            if let super::AnswerBody::Full(b) = &a.body {
                if let Some(b) = mask_bytes(b, secrets) {
                    a.headers.remove(http::header::CONTENT_LENGTH);
                    a.body = super::AnswerBody::Full(b);
                }
            }
            Outcome::ClientError(a)
        }
        Outcome::Unsupported(m) => Outcome::Unsupported(mask(&m, secrets).unwrap_or(m)),
        o @ Outcome::Success(_) => o,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence() {
        let s = vec!["sk-secret-1234".to_string()];
        assert_eq!(
            mask("bad key sk-secret-1234 (sk-secret-1234)", &s).as_deref(),
            Some("bad key [key removed] ([key removed])")
        );
        assert_eq!(mask("nothing here", &s), None);
        let b = Bytes::from_static(b"{\"message\":\"key sk-secret-1234\"}");
        assert_eq!(
            mask_bytes(&b, &s).as_deref(),
            Some(&b"{\"message\":\"key [key removed]\"}"[..])
        );
    }
}
