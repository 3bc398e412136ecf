//! The embedded web UI: page, assets, headers, and the guard in front of them.

mod common;

use common::*;

#[tokio::test]
async fn the_page_is_served_with_a_strict_policy_and_no_cache() {
    let e = env(1).await;
    let r = e.get("/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    let csp = r.header("content-security-policy").unwrap_or_default();
    for part in [
        "default-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert!(r.text.contains("/ui/js/app.js"), "{}", r.text);
    // No inline scripts or styles: the policy would block them.
    assert!(!r.text.contains("<style"));
    assert!(!r.text.contains(" style="));
    assert!(!r.text.contains("<script>"));

    // HEAD / stays a cheap connectivity check (Claude Code sends it).
    let h = e.send(e.http.head(e.url("/"))).await;
    assert_eq!(h.status, 200);
}

#[tokio::test]
async fn assets_have_their_content_types_and_revalidate_by_etag() {
    let e = env(1).await;
    for (path, ct) in [
        ("/ui/js/app.js", "text/javascript; charset=utf-8"),
        ("/ui/styles.css", "text/css; charset=utf-8"),
        ("/ui/i18n/en.json", "application/json"),
        ("/ui/i18n/zh-CN.json", "application/json"),
    ] {
        let r = e.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(ct), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        let etag = r.header("etag").unwrap_or_default().to_string();
        assert!(etag.starts_with('"'), "{path}: {etag}");
        let again = e
            .send(e.http.get(e.url(path)).header("if-none-match", &etag))
            .await;
        assert_eq!(again.status, 304, "{path}");
        assert!(again.text.is_empty());
    }
    // Both translations parse and have the same keys.
    let en = e.get("/ui/i18n/en.json").await.json();
    let zh = e.get("/ui/i18n/zh-CN.json").await.json();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        k.sort();
        k
    };
    assert!(!keys(&en).is_empty());
    assert_eq!(keys(&en), keys(&zh));
}

#[tokio::test]
async fn unknown_and_escaping_paths_are_404() {
    let e = env(1).await;
    for path in [
        "/ui/nope.js",
        "/ui/../Cargo.toml",
        "/ui/%2e%2e/Cargo.toml",
        "/ui/js/../../build.rs",
    ] {
        let r = e.get(path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert_eq!(r.json()["type"], "error");
    }
}

#[tokio::test]
async fn the_guard_stands_in_front_of_the_ui() {
    let e = env(1).await;
    let r = e
        .send(e.http.get(e.url("/")).header("host", "evil.example:80"))
        .await;
    assert_eq!(r.status, 403);
    let r = e
        .send(
            e.http
                .get(e.url("/ui/js/app.js"))
                .header("sec-fetch-site", "cross-site"),
        )
        .await;
    assert_eq!(r.status, 403);
}
