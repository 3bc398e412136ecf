//! "Configure Claude Code": point Claude Code at Switchyard by setting `ANTHROPIC_BASE_URL`
//! (and, only when needed, an auth variable) inside the `env` object of
//! `~/.claude/settings.json` — every other key, plugins and hooks included, stays as it was.
//! The write is atomic; the file as it was before the first change is kept beside it, and
//! Undo restores it byte for byte (or, if the user edited the file since, removes only what
//! we set and puts back what was there).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The variables we own inside `env`.
pub const BASE_URL_VAR: &str = "ANTHROPIC_BASE_URL";
/// The auth variable we set when Claude Code needs one (Bearer token).
pub const AUTH_VAR: &str = "ANTHROPIC_AUTH_TOKEN";
/// Optional variables we own: set when given (the compaction hints of
/// [`crate::context_window`]), removed again when no longer needed.
pub const OPTIONAL_VARS: [&str; 3] = [
    AUTH_VAR,
    crate::context_window::COMPACT_WINDOW_VAR,
    crate::context_window::COMPACT_PCT_VAR,
];

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The settings file is not JSON (we never overwrite it then).
    #[error("{path} is not valid JSON ({source}); fix it or move it away, nothing was changed")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Parser error.
        #[source]
        source: serde_json::Error,
    },
    /// `env` exists but is not an object.
    #[error("{0}: \"env\" is not an object; nothing was changed")]
    EnvNotObject(PathBuf),
    /// I/O.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Undo without a prior setup.
    #[error("Switchyard has not configured {0} (no backup found); nothing to undo")]
    NothingToUndo(PathBuf),
}

/// Where Claude Code keeps its user settings: `$CLAUDE_CONFIG_DIR/settings.json`, else
/// `~/.claude/settings.json`.
pub fn settings_path() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("CLAUDE_CONFIG_DIR") {
        return Some(PathBuf::from(d).join("settings.json"));
    }
    dirs::home_dir().map(|h| h.join(".claude").join("settings.json"))
}

/// Kept beside the settings file between setup and undo.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    /// The file's bytes before our first change; `None` if it did not exist.
    original: Option<String>,
    /// What we wrote last (to tell whether the user edited the file since).
    written: String,
    /// Previous values of the variables we set (`None` = absent).
    previous: Map<String, Value>,
}

fn state_path(settings: &Path) -> PathBuf {
    let mut name = settings
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".switchyard-backup.json");
    settings.with_file_name(name)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SetupError + '_ {
    move |source| SetupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, SetupError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

fn write_atomic(path: &Path, text: &str) -> Result<(), SetupError> {
    crate::config::write_atomic(path, text.as_bytes()).map_err(|e| SetupError::Io {
        path: path.to_path_buf(),
        source: e.source,
    })
}

/// The `ANTHROPIC_AUTH_TOKEN` Claude Code should send through Switchyard, if any:
/// the access token when one is required; none when the first enabled provider passes the
/// client's own login through (setting one would replace the user's Claude login); otherwise
/// a placeholder, so Claude Code does not ask for a login it will never use (keyed providers
/// never see it).
pub fn auth_for(cfg: &crate::config::Config, access_token: Option<&str>) -> Option<String> {
    if let Some(t) = access_token {
        return Some(t.to_string());
    }
    let first = cfg.providers.iter().find(|p| p.enabled)?;
    (!matches!(first.credential, crate::config::Credential::Passthrough))
        .then(|| "switchyard".to_string())
}

/// What a setup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// `ANTHROPIC_BASE_URL`.
    pub base_url: String,
    /// `ANTHROPIC_AUTH_TOKEN`, when one was set (see [`auth_for`]).
    pub auth: Option<String>,
    /// The compaction hints set, when a provider's window is smaller than Claude's.
    pub hints: Vec<(&'static str, String)>,
}

/// Point Claude Code at `base_url` with everything `cfg` implies: the auth variable
/// ([`auth_for`], `access_token` being the token clients must present, if any) and the
/// compaction hints of [`crate::context_window::claude_code_env`]. The one implementation the
/// CLI, the tray and the admin API share.
pub fn set_up(
    settings: &Path,
    cfg: &crate::config::Config,
    base_url: &str,
    access_token: Option<&str>,
) -> Result<Applied, SetupError> {
    let auth = auth_for(cfg, access_token);
    let hints = crate::context_window::claude_code_env(cfg);
    configure_with(settings, base_url, auth.as_deref(), &hints)?;
    Ok(Applied {
        base_url: base_url.to_string(),
        auth,
        hints,
    })
}

/// Is Switchyard's setup present (a backup exists)?
pub fn is_configured(settings: &Path) -> bool {
    state_path(settings).exists()
}

/// Point Claude Code at `base_url`. `auth` is set as `ANTHROPIC_AUTH_TOKEN` when given; when
/// `None` an `ANTHROPIC_AUTH_TOKEN` we set earlier is removed, and Claude Code keeps using its
/// own login or key (which a `passthrough` provider forwards).
pub fn configure(settings: &Path, base_url: &str, auth: Option<&str>) -> Result<(), SetupError> {
    configure_with(settings, base_url, auth, &[])
}

/// [`configure`], plus `extra` variables (names from [`OPTIONAL_VARS`], e.g. the
/// [`crate::context_window::claude_code_env`] compaction hints). An optional variable we set
/// earlier and that is not wanted any more is removed; Undo treats them all like the rest.
pub fn configure_with(
    settings: &Path,
    base_url: &str,
    auth: Option<&str>,
    extra: &[(&str, String)],
) -> Result<(), SetupError> {
    let current = read_optional(settings)?;
    let mut root: Value = match current.as_deref() {
        None => Value::Object(Map::new()),
        Some(t) if t.trim().is_empty() => Value::Object(Map::new()),
        Some(t) => serde_json::from_str(t).map_err(|source| SetupError::Invalid {
            path: settings.to_path_buf(),
            source,
        })?,
    };
    let obj = root
        .as_object_mut()
        .ok_or_else(|| SetupError::EnvNotObject(settings.to_path_buf()))?;
    let env = obj
        .entry("env")
        .or_insert_with(|| Value::Object(Map::new()));
    let env = env
        .as_object_mut()
        .ok_or_else(|| SetupError::EnvNotObject(settings.to_path_buf()))?;

    let sp = state_path(settings);
    let old_state: Option<State> = read_optional(&sp)?.and_then(|s| serde_json::from_str(&s).ok());
    let mut previous = old_state
        .as_ref()
        .map(|s| s.previous.clone())
        .unwrap_or_default();
    // Remember what each variable was before we first touched it (a backup written by an
    // older version may lack the newer variables: we never set those, so the current value
    // is the user's).
    for var in std::iter::once(BASE_URL_VAR).chain(OPTIONAL_VARS) {
        if !previous.contains_key(var) {
            previous.insert(
                var.to_string(),
                env.get(var).cloned().unwrap_or(Value::Null),
            );
        }
    }
    env.insert(
        BASE_URL_VAR.to_string(),
        Value::String(base_url.to_string()),
    );
    let wanted: Vec<(&str, &str)> = auth
        .map(|a| (AUTH_VAR, a))
        .into_iter()
        .chain(extra.iter().map(|(k, v)| (*k, v.as_str())))
        .collect();
    for var in OPTIONAL_VARS {
        match wanted.iter().find(|(k, _)| *k == var) {
            Some((_, v)) => {
                env.insert(var.to_string(), Value::String((*v).to_string()));
            }
            None => {
                // Only remove a value we put there; a user's own stays.
                let ours = old_state.is_some() && previous.get(var).is_some_and(Value::is_null);
                if ours {
                    env.remove(var);
                }
            }
        }
    }
    let mut text = serde_json::to_string_pretty(&root).map_err(|source| SetupError::Invalid {
        path: settings.to_path_buf(),
        source,
    })?;
    text.push('\n');
    let state = State {
        original: match old_state {
            Some(s) => s.original,
            None => current,
        },
        written: text.clone(),
        previous,
    };
    let state_text =
        serde_json::to_string_pretty(&state).map_err(|source| SetupError::Invalid {
            path: sp.clone(),
            source,
        })?;
    write_atomic(&sp, &state_text)?;
    write_atomic(settings, &text)
}

/// Undo [`configure`]: restore the file byte for byte when it is as we left it; otherwise put
/// back only the variables we changed.
pub fn undo(settings: &Path) -> Result<(), SetupError> {
    let sp = state_path(settings);
    let state: State = match read_optional(&sp)? {
        Some(s) => serde_json::from_str(&s).map_err(|source| SetupError::Invalid {
            path: sp.clone(),
            source,
        })?,
        None => return Err(SetupError::NothingToUndo(settings.to_path_buf())),
    };
    let current = read_optional(settings)?;
    if current.as_deref() == Some(state.written.as_str()) {
        match &state.original {
            Some(orig) => write_atomic(settings, orig)?,
            None => std::fs::remove_file(settings).map_err(io(settings))?,
        }
    } else if let Some(cur) = current {
        let mut root: Value = serde_json::from_str(&cur).map_err(|source| SetupError::Invalid {
            path: settings.to_path_buf(),
            source,
        })?;
        if let Some(env) = root.get_mut("env").and_then(Value::as_object_mut) {
            for (k, v) in &state.previous {
                if v.is_null() {
                    env.remove(k);
                } else {
                    env.insert(k.clone(), v.clone());
                }
            }
        }
        let mut text =
            serde_json::to_string_pretty(&root).map_err(|source| SetupError::Invalid {
                path: settings.to_path_buf(),
                source,
            })?;
        text.push('\n');
        write_atomic(settings, &text)?;
    }
    std::fs::remove_file(&sp).map_err(io(&sp))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sy-cc-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    const ORIGINAL: &str = "{\n  \"model\": \"opus\",\n  \"env\": {\"FOO\": \"1\", \"ANTHROPIC_BASE_URL\": \"http://old\"},\n  \"hooks\": {\"PreToolUse\": [{\"matcher\": \"Bash\", \"hooks\": [{\"type\": \"command\", \"command\": \"echo hi\"}]}]},\n  \"enabledPlugins\": {\"x@y\": true},\n  \"statusLine\": {\"type\": \"command\", \"command\": \"s\"}\n}";

    #[test]
    fn merges_keeps_everything_and_undo_is_byte_exact() {
        let d = dir("merge");
        let p = d.join("settings.json");
        std::fs::write(&p, ORIGINAL).expect("write");
        std::fs::write(d.join("settings.json.bak"), "the user's own").expect("bak");
        configure(&p, "http://127.0.0.1:3535", None).expect("configure");
        assert_eq!(
            std::fs::read_to_string(d.join("settings.json.bak")).expect("bak"),
            "the user's own",
            "never clobbered"
        );
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
        assert_eq!(v["env"]["ANTHROPIC_BASE_URL"], "http://127.0.0.1:3535");
        assert_eq!(v["env"]["FOO"], "1");
        assert!(v["env"].get(AUTH_VAR).is_none());
        assert_eq!(v["hooks"]["PreToolUse"][0]["matcher"], "Bash");
        assert_eq!(v["enabledPlugins"]["x@y"], true);
        assert_eq!(v["model"], "opus");
        let keys: Vec<_> = v.as_object().expect("obj").keys().cloned().collect();
        assert_eq!(
            keys,
            ["model", "env", "hooks", "enabledPlugins", "statusLine"],
            "key order kept"
        );
        // Configure twice (e.g. with a token), then undo: the original bytes come back.
        configure(&p, "http://127.0.0.1:4000", Some("tok")).expect("again");
        assert!(is_configured(&p));
        undo(&p).expect("undo");
        assert_eq!(std::fs::read_to_string(&p).expect("read"), ORIGINAL);
        assert!(!is_configured(&p));
        assert!(matches!(undo(&p), Err(SetupError::NothingToUndo(_))));
    }

    #[test]
    fn undo_after_user_edits_removes_only_our_keys() {
        let d = dir("edit");
        let p = d.join("settings.json");
        std::fs::write(&p, ORIGINAL).expect("write");
        configure(&p, "http://127.0.0.1:3535", Some("t")).expect("configure");
        let mut v: Value =
            serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
        v["newKey"] = Value::Bool(true);
        std::fs::write(&p, serde_json::to_string(&v).expect("ser")).expect("user edit");
        undo(&p).expect("undo");
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
        assert_eq!(v["newKey"], true, "the user's later edit stays");
        assert_eq!(
            v["env"]["ANTHROPIC_BASE_URL"], "http://old",
            "the previous value is back"
        );
        assert!(v["env"].get(AUTH_VAR).is_none());
    }

    #[test]
    fn missing_file_is_created_and_undo_removes_it_and_invalid_json_is_never_touched() {
        let d = dir("missing");
        let p = d.join("settings.json");
        configure(&p, "http://127.0.0.1:3535", None).expect("configure");
        assert!(p.exists());
        undo(&p).expect("undo");
        assert!(!p.exists());
        std::fs::write(&p, "{ not json").expect("write");
        assert!(matches!(
            configure(&p, "u", None),
            Err(SetupError::Invalid { .. })
        ));
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "{ not json");
    }

    fn hints(window: u64) -> Vec<(&'static str, String)> {
        crate::context_window::claude_code_env_for(window)
    }

    #[test]
    fn compaction_hints_are_set_dropped_when_unneeded_and_undone() {
        use crate::context_window::{COMPACT_PCT_VAR, COMPACT_WINDOW_VAR};
        let d = dir("compact");
        let p = d.join("settings.json");
        std::fs::write(&p, ORIGINAL).expect("write");
        configure_with(&p, "http://127.0.0.1:3535", None, &hints(64_000)).expect("configure");
        let read = || -> Value {
            serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json")
        };
        let v = read();
        assert_eq!(v["env"][COMPACT_WINDOW_VAR], "100000");
        assert_eq!(v["env"][COMPACT_PCT_VAR], "40");
        assert_eq!(v["env"]["FOO"], "1");
        // A bigger smallest window: the percentage goes, the window changes.
        configure_with(&p, "http://127.0.0.1:3535", None, &hints(128_000)).expect("again");
        let v = read();
        assert_eq!(v["env"][COMPACT_WINDOW_VAR], "128000");
        assert!(v["env"].get(COMPACT_PCT_VAR).is_none());
        // Every provider has Claude's window again: nothing of ours is left.
        configure(&p, "http://127.0.0.1:3535", None).expect("plain");
        assert!(read()["env"].get(COMPACT_PCT_VAR).is_none());
        assert!(read()["env"].get(COMPACT_WINDOW_VAR).is_none());
        configure_with(&p, "http://127.0.0.1:3535", None, &hints(64_000)).expect("once more");
        undo(&p).expect("undo");
        assert_eq!(std::fs::read_to_string(&p).expect("read"), ORIGINAL);
    }

    #[test]
    fn undo_after_user_edits_removes_the_hints_and_keeps_a_users_own_value() {
        use crate::context_window::{COMPACT_PCT_VAR, COMPACT_WINDOW_VAR};
        let d = dir("compact-edit");
        let p = d.join("settings.json");
        std::fs::write(
            &p,
            "{\"env\": {\"CLAUDE_AUTOCOMPACT_PCT_OVERRIDE\": \"70\"}}",
        )
        .expect("write");
        configure_with(&p, "http://127.0.0.1:3535", None, &hints(32_000)).expect("configure");
        let mut v: Value =
            serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
        assert_eq!(v["env"][COMPACT_WINDOW_VAR], "100000");
        assert_ne!(v["env"][COMPACT_PCT_VAR], "70", "ours while configured");
        v["theme"] = Value::String("dark".into());
        std::fs::write(&p, serde_json::to_string(&v).expect("ser")).expect("user edit");
        undo(&p).expect("undo");
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
        assert_eq!(v["theme"], "dark");
        assert_eq!(
            v["env"][COMPACT_PCT_VAR], "70",
            "the user's own value is back"
        );
        assert!(v["env"].get(COMPACT_WINDOW_VAR).is_none());
        assert!(v["env"].get(BASE_URL_VAR).is_none());
    }
}
