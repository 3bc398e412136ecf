use std::path::Path;

use super::*;
use crate::config::{ModelMap, Provider};
use crate::secrets::{MemoryStore, Secret};

const KEYS: [(&str, &str); 2] = [
    ("deepseek", "sk-deepseek-very-secret-0001"),
    ("gemini", "AIzaSy-gemini-very-secret-0002"),
];

fn sample() -> Config {
    let mut cfg = Config::default();
    for id in ["deepseek", "gemini", "ollama"] {
        cfg.providers
            .push(crate::presets::get(id).expect("preset").provider(id));
    }
    cfg.providers[2].context_window = Some(32_768);
    cfg.providers.push(Provider {
        id: "env-one".into(),
        credential: Credential::Env("SY_PORTABLE_TEST_UNSET_VAR".into()),
        models: ModelMap(vec![("*".into(), "m".into())]),
        ..cfg.providers[0].clone()
    });
    cfg.security.access_token = Some(Credential::Keychain);
    cfg.security.allowed_origins = vec!["http://localhost:8000".into()];
    cfg.routing.pin_fallback = false;
    cfg
}

fn store_with_keys() -> MemoryStore {
    let store = MemoryStore::new();
    for (id, key) in KEYS {
        store.set(id, &Secret::new(key).expect("key")).expect("set");
    }
    store
        .set(
            "access-token",
            &Secret::new("tok-access-secret-99").expect("tok"),
        )
        .expect("set");
    store
}

#[test]
fn export_holds_no_secret_and_marks_the_keys_needed() {
    let cfg = sample();
    let _store = store_with_keys();
    let text = export(&cfg, "2026-01-01T00:00:00Z").expect("export");
    for (_, key) in KEYS {
        assert!(!text.contains(key), "a key leaked");
    }
    assert!(!text.contains("tok-access-secret"));
    assert!(!text.contains("[security]") && !text.contains("access_token"));
    assert!(
        !text.contains("allowed_origins"),
        "local sections stay home"
    );
    assert!(!text.contains("listen"));
    assert!(text.starts_with("# Switchyard providers and routing, exported 2026-01-01T00:00:00Z"));
    assert!(text.contains("# deepseek: needs a key after import (switchyard keys set deepseek)"));
    assert!(text.contains("# anthropic: forwards the client's own key"));
    assert!(text.contains("# ollama: needs no key"));
    assert!(text.contains("SY_PORTABLE_TEST_UNSET_VAR"));
    assert!(text.contains("pin_fallback = false"));
    assert!(text.contains("context_window = 32768"));
}

#[test]
fn urls_lose_their_password_and_secret_fields_go() {
    let mut v: Value = toml::from_str(
        "proxy = \"socks5://alice:hunter2@proxy.lan:1080\"\n[x]\napi_key = \"k\"\nkeep = \"https://a.example/v1\"\n[[x.list]]\npassword = \"p\"\nname = \"n\"\n",
    )
    .expect("toml");
    scrub(&mut v);
    let out = toml::to_string(&v).expect("ser");
    assert!(!out.contains("hunter2") && !out.contains("api_key") && !out.contains("password"));
    assert!(out.contains("socks5://alice@proxy.lan:1080"));
    assert!(out.contains("https://a.example/v1") && out.contains("name = \"n\""));
}

#[test]
fn round_trip_gives_the_same_providers_in_order() {
    let cfg = sample();
    let text = export(&cfg, "now").expect("export");
    let fresh = Config::default();
    let got = import(&fresh, &text, None, ImportMode::Replace).expect("import");
    assert_eq!(got.config.providers, cfg.providers);
    assert_eq!(got.config.routing, cfg.routing);
    assert_eq!(got.replaced, ["anthropic"]);
    assert_eq!(got.added, ["deepseek", "gemini", "ollama", "env-one"]);
    // Local settings are the importing machine's own.
    assert_eq!(got.config.security, fresh.security);
    let store = MemoryStore::new();
    store
        .set("gemini", &Secret::new(KEYS[1].1).expect("key"))
        .expect("set");
    assert_eq!(
        missing_keys(&got.config, got.imported_ids(), &store),
        ["deepseek"]
    );
    assert_eq!(
        missing_env(&got.config, got.imported_ids()),
        [(
            "env-one".to_string(),
            "SY_PORTABLE_TEST_UNSET_VAR".to_string()
        )]
    );
}

#[test]
fn merge_keeps_what_exists_and_replace_replaces_in_place() {
    let mut mine = Config::default();
    mine.providers.push(
        crate::presets::get("kimi")
            .expect("preset")
            .provider("kimi"),
    );
    let mut deepseek = crate::presets::get("deepseek")
        .expect("preset")
        .provider("deepseek");
    mine.providers.push(deepseek.clone());
    let mut theirs = Config::default();
    deepseek.base_url = "https://deepseek.example".into();
    theirs.providers = vec![
        crate::presets::get("glm").expect("preset").provider("glm"),
        deepseek,
    ];
    theirs.routing.pin_fallback = false;
    let text = export(&theirs, "now").expect("export");

    let merged = import(&mine, &text, None, ImportMode::Merge).expect("merge");
    let ids: Vec<_> = merged
        .config
        .providers
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids, ["anthropic", "kimi", "deepseek", "glm"]);
    assert_eq!(merged.kept, ["deepseek"]);
    assert_eq!(
        merged.config.providers[2].base_url,
        "https://api.deepseek.com/anthropic"
    );
    assert!(
        merged.config.routing.pin_fallback,
        "settings kept in merge mode"
    );

    let replaced = import(&mine, &text, None, ImportMode::Replace).expect("replace");
    let ids: Vec<_> = replaced
        .config
        .providers
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids, ["anthropic", "kimi", "deepseek", "glm"], "order kept");
    assert_eq!(
        replaced.config.providers[2].base_url,
        "https://deepseek.example"
    );
    assert_eq!(replaced.replaced, ["deepseek"]);
    assert!(!replaced.config.routing.pin_fallback);
}

#[test]
fn broken_files_give_file_and_line_and_local_sections_are_ignored() {
    let f = Path::new("shared.toml");
    let e = import(
        &Config::default(),
        "[routing]\npin_fallback = false\n\n[[providers]]\nid = \"x\"\nbase_url = \"nope\"\n",
        Some(f),
        ImportMode::Merge,
    )
    .expect_err("bad url");
    assert_eq!(e.file.as_deref(), Some(f));
    assert_eq!(e.line.map(|l| l.0), Some(6), "{e}");
    assert!(e.to_string().starts_with("shared.toml:6:"), "{e}");
    let e = import(
        &Config::default(),
        "[[providers]\nid=1",
        Some(f),
        ImportMode::Merge,
    )
    .expect_err("syntax");
    assert_eq!(e.line.map(|l| l.0), Some(1), "{e}");
    // A file cannot open this machine up: its security section is not imported.
    let got = import(
        &Config::default(),
        "[security]\nallowed_origins = [\"https://evil.example\"]\n\n[[providers]]\nid = \"x\"\nbase_url = \"https://x.example\"\ncredential = \"none\"\n",
        None,
        ImportMode::Replace,
    )
    .expect("import");
    assert!(got.config.security.allowed_origins.is_empty());
    assert_eq!(got.added, ["x"]);
}

#[test]
fn missing_keys_names_each_empty_slot_of_a_key_pool() {
    let cfg = crate::config::parse_str(
        "[[providers]]\nid = \"pool\"\nbase_url = \"https://pool.example\"\nkeys = 3\n\n[[providers]]\nid = \"open\"\nbase_url = \"http://127.0.0.1:11434\"\ncredential = \"none\"\n",
        None,
    )
    .expect("valid");
    let store = MemoryStore::new();
    store
        .set("pool#2", &Secret::new("sk-second-key-1234").expect("key"))
        .expect("set");
    assert_eq!(
        missing_keys(&cfg, ["pool", "open"], &store),
        ["pool", "pool#3"]
    );
}
