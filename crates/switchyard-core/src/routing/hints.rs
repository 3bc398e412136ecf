//! How long an upstream asks us to stay away, read from its response headers.

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::HeaderMap;

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// A reset time written as Unix seconds, RFC 3339 or an HTTP date, as a duration from `now`.
fn until(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let at = if let Ok(secs) = value.parse::<i64>() {
        DateTime::from_timestamp(secs, 0)?
    } else if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        t.with_timezone(&Utc)
    } else {
        let st = httpdate::parse_http_date(value).ok()?;
        DateTime::<Utc>::from(st)
    };
    (at - now).to_std().ok()
}

/// The cooldown an upstream response asks for, if it says.
///
/// Order: `retry-after-ms`, `retry-after` (seconds or HTTP date), the subscription reset
/// (`anthropic-ratelimit-unified-reset`, or the reset of whichever unified window is
/// `rejected`), then the reset of an exhausted standard limit (`anthropic-ratelimit-*-remaining: 0`).
pub fn cooldown_hint(h: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(ms) = header(h, "retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms > 0.0 {
            return Some(Duration::from_millis(ms as u64));
        }
    }
    if let Some(v) = header(h, "retry-after") {
        if let Ok(secs) = v.parse::<f64>() {
            if secs.is_finite() && secs > 0.0 {
                return Some(Duration::from_millis((secs * 1000.0) as u64));
            }
        } else if let Some(d) = until(v, now) {
            return Some(d);
        }
    }
    let rejected = header(h, "anthropic-ratelimit-unified-status") == Some("rejected");
    if rejected {
        if let Some(d) = header(h, "anthropic-ratelimit-unified-reset").and_then(|v| until(v, now))
        {
            return Some(d);
        }
    }
    // Per-window unified limits (5h, 7d, ...): the reset of a rejected window.
    let mut best: Option<Duration> = None;
    for (name, value) in h.iter() {
        let n = name.as_str();
        let Some(window) = n
            .strip_prefix("anthropic-ratelimit-unified-")
            .and_then(|r| r.strip_suffix("-status"))
        else {
            continue;
        };
        if value.to_str().ok().map(str::trim) != Some("rejected") {
            continue;
        }
        if let Some(d) = header(h, &format!("anthropic-ratelimit-unified-{window}-reset"))
            .and_then(|v| until(v, now))
        {
            best = Some(best.map_or(d, |b| b.max(d)));
        }
    }
    if best.is_some() {
        return best;
    }
    for kind in ["requests", "tokens", "input-tokens", "output-tokens"] {
        if header(h, &format!("anthropic-ratelimit-{kind}-remaining")) == Some("0") {
            if let Some(d) =
                header(h, &format!("anthropic-ratelimit-{kind}-reset")).and_then(|v| until(v, now))
            {
                best = Some(best.map_or(d, |b| b.max(d)));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, v.parse().expect("header value"));
        }
        m
    }

    #[test]
    fn reads_each_hint() {
        let now = Utc::now();
        assert_eq!(
            cooldown_hint(&h(&[("retry-after", "30")]), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            cooldown_hint(
                &h(&[("retry-after-ms", "1500"), ("retry-after", "30")]),
                now
            ),
            Some(Duration::from_millis(1500))
        );
        let reset = (now + chrono::Duration::hours(5)).timestamp().to_string();
        let d = cooldown_hint(
            &h(&[
                ("anthropic-ratelimit-unified-status", "rejected"),
                ("anthropic-ratelimit-unified-reset", &reset),
            ]),
            now,
        )
        .expect("unified");
        assert!(d > Duration::from_secs(5 * 3600 - 5) && d <= Duration::from_secs(5 * 3600));
        let d = cooldown_hint(
            &h(&[
                ("anthropic-ratelimit-unified-5h-status", "rejected"),
                ("anthropic-ratelimit-unified-5h-reset", &reset),
                ("anthropic-ratelimit-unified-7d-status", "allowed"),
                ("anthropic-ratelimit-unified-7d-reset", "9999999999"),
            ]),
            now,
        )
        .expect("window");
        assert!(d <= Duration::from_secs(5 * 3600));
        let rfc = (now + chrono::Duration::seconds(90)).to_rfc3339();
        let d = cooldown_hint(
            &h(&[
                ("anthropic-ratelimit-tokens-remaining", "0"),
                ("anthropic-ratelimit-tokens-reset", &rfc),
            ]),
            now,
        )
        .expect("standard");
        assert!(d > Duration::from_secs(80));
        assert_eq!(
            cooldown_hint(&h(&[("anthropic-ratelimit-tokens-reset", &rfc)]), now),
            None
        );
        assert_eq!(cooldown_hint(&h(&[]), now), None);
    }
}
