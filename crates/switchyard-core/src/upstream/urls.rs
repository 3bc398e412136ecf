//! Parsed upstream URLs, kept by their text: an attempt's URL is mostly the same few strings,
//! and parsing one (scheme, host normalisation, IDNA) every request was a visible share of the
//! request path's CPU. Bounded: past [`MAX_URLS`] distinct URLs (a client inventing Gemini
//! model names, say) the cache starts again. URLs never hold credentials (keys go in headers).

use std::collections::HashMap;
use std::sync::Mutex;

/// The most distinct URLs kept.
pub const MAX_URLS: usize = 256;

/// Text -> parsed URL.
#[derive(Debug, Default)]
pub struct UrlCache(
    Mutex<HashMap<String, reqwest::Url>>,
    Mutex<HashMap<String, http::Uri>>,
);

impl UrlCache {
    /// The parsed form of `text` (parsed once while it stays in the cache).
    pub fn get(&self, text: &str) -> Result<reqwest::Url, String> {
        cached(&self.0, text, |t| {
            reqwest::Url::parse(t).map_err(|e| e.to_string())
        })
    }

    /// `text` as a request URI (for the lean client: plain `http://` URLs).
    pub fn uri(&self, text: &str) -> Result<http::Uri, String> {
        cached(&self.1, text, |t| {
            t.parse::<http::Uri>().map_err(|e| e.to_string())
        })
    }

    /// How many URLs are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// `map`'s entry for `text`, parsed with `parse` (outside the lock) when it is not there yet;
/// the map starts again past [`MAX_URLS`] entries.
fn cached<T: Clone>(
    map: &Mutex<HashMap<String, T>>,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, String> {
    if let Some(v) = map.lock().unwrap_or_else(|p| p.into_inner()).get(text) {
        return Ok(v.clone());
    }
    let parsed = parse(text)?;
    let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
    if m.len() >= MAX_URLS {
        m.clear();
    }
    m.insert(text.to_string(), parsed.clone());
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_once_and_bounded() {
        let c = UrlCache::default();
        let a = c.get("https://api.example.com/v1/messages").expect("url");
        let b = c.get("https://api.example.com/v1/messages").expect("url");
        assert_eq!(a, b);
        assert_eq!(c.len(), 1);
        assert!(c.get("not a url").is_err());
        assert_eq!(c.len(), 1);
        for i in 0..(MAX_URLS * 2) {
            c.get(&format!("https://h/v1beta/models/m{i}:generateContent"))
                .expect("url");
            assert!(c.len() <= MAX_URLS);
        }
        // Host normalisation is the parser's, as before.
        let u = c.get("HTTPS://API.Example.COM:443/x").expect("url");
        assert_eq!(u.as_str(), "https://api.example.com/x");
    }
}
