//! "Configure Gemini CLI": point Gemini CLI at Switchyard. Two files in `~/.gemini/` change,
//! each merged, never replaced:
//!
//! - `.env`: `GOOGLE_GEMINI_BASE_URL` (and, only when needed, `GEMINI_API_KEY`), replacing the
//!   value of a line that sets it or adding one; every other line and comment stays;
//! - `settings.json`: `security.auth.selectedType = "gemini-api-key"` (without it Gemini CLI
//!   0.61 refuses a custom base URL: "Invalid auth method selected"); every other key stays.
//!
//! Writes are atomic. Each file as it was before the first change is kept in
//! `.switchyard-backup.json` beside them, and Undo restores it byte for byte (or, if the user
//! edited the file since, puts back only what we changed).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::{Config, Credential, ProviderKind};

/// The base-URL variable Gemini CLI reads.
pub const BASE_URL_VAR: &str = "GOOGLE_GEMINI_BASE_URL";
/// The key variable Gemini CLI sends as `x-goog-api-key`.
pub const KEY_VAR: &str = "GEMINI_API_KEY";
/// The auth type Gemini CLI must use for a custom base URL.
pub const AUTH_TYPE: &str = "gemini-api-key";
const BACKUP: &str = ".switchyard-backup.json";

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `settings.json` is not JSON (comments included): we never overwrite it then.
    #[error("{path} is not plain JSON ({source}); fix it or move it away, nothing was changed")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Parser error.
        #[source]
        source: serde_json::Error,
    },
    /// `security` or `security.auth` exists but is not an object.
    #[error("{0}: \"security.auth\" is not an object; nothing was changed")]
    NotObject(PathBuf),
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
    #[error("Switchyard has not configured Gemini CLI in {0} (no backup found); nothing to undo")]
    NothingToUndo(PathBuf),
}

/// Gemini CLI's user directory: `$GEMINI_CLI_HOME/.gemini` (Gemini CLI's own override of the
/// home directory), else `~/.gemini`.
pub fn gemini_dir() -> Option<PathBuf> {
    std::env::var_os("GEMINI_CLI_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(dirs::home_dir)
        .map(|h| h.join(".gemini"))
}

/// The `.env` file in `dir`.
pub fn env_path(dir: &Path) -> PathBuf {
    dir.join(".env")
}

/// The `settings.json` file in `dir`.
pub fn settings_path(dir: &Path) -> PathBuf {
    dir.join("settings.json")
}

/// Kept beside the files between setup and undo.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// `.env` before our first change (`None`: it did not exist).
    env_original: Option<String>,
    /// `.env` as we wrote it last.
    env_written: String,
    /// The lines that set our variables before our first change (`None`: absent).
    env_previous: Map<String, Value>,
    /// `settings.json` before our first change.
    settings_original: Option<String>,
    /// `settings.json` as we wrote it last.
    settings_written: String,
    /// `security.auth.selectedType` before our first change (`null`: absent).
    selected_type: Value,
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
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    crate::config::write_atomic(path, text.as_bytes()).map_err(|e| SetupError::Io {
        path: path.to_path_buf(),
        source: e.source,
    })
}

/// The `GEMINI_API_KEY` Gemini CLI should send through Switchyard, if any: the access token
/// when one is required; none when the first enabled provider is a Gemini provider that
/// passes the client's own key through; otherwise a placeholder (Gemini CLI refuses to start
/// without a key, and keyed providers never see it).
pub fn key_for(cfg: &Config, access_token: Option<&str>) -> Option<String> {
    if let Some(t) = access_token {
        return Some(t.to_string());
    }
    let first = cfg.providers.iter().find(|p| p.enabled)?;
    let own_key = first.kind == ProviderKind::Gemini && first.credential == Credential::Passthrough;
    (!own_key).then(|| "switchyard".to_string())
}

/// What a setup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// `GOOGLE_GEMINI_BASE_URL`.
    pub base_url: String,
    /// `GEMINI_API_KEY`, when one was set (see [`key_for`]; a key the user already set in
    /// `.env` is kept instead).
    pub key: Option<String>,
}

/// Point Gemini CLI (its files in `dir`) at `base_url` with what `cfg` implies. The one
/// implementation the CLI, the tray and the admin API share.
pub fn set_up(
    dir: &Path,
    cfg: &Config,
    base_url: &str,
    access_token: Option<&str>,
) -> Result<Applied, SetupError> {
    let key = key_for(cfg, access_token);
    let set = configure(dir, base_url, key.as_deref())?;
    Ok(Applied {
        base_url: base_url.to_string(),
        key: set,
    })
}

/// Is Switchyard's setup present (a backup exists)?
pub fn is_configured(dir: &Path) -> bool {
    dir.join(BACKUP).exists()
}

/// The variable a `.env` line sets, and where its value starts (`KEY=v`, `export KEY=v`).
fn line_var(line: &str) -> Option<(&str, usize)> {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') {
        return None;
    }
    let indent = line.len() - trimmed.len();
    let (rest, skip) = match trimmed.strip_prefix("export ") {
        Some(r) => (r.trim_start(), trimmed.len() - r.trim_start().len()),
        None => (trimmed, 0),
    };
    let eq = rest.find('=')?;
    let name = rest[..eq].trim();
    (!name.is_empty()).then_some((name, indent + skip + eq + 1))
}

/// The `.env` text with `var` set to `value` (`None`: its lines removed). Returns the text and
/// the line that set it before (`None`: there was none).
fn set_env_var(text: &str, var: &str, value: Option<&str>) -> (String, Option<String>) {
    let mut previous = None;
    let mut out: Vec<String> = Vec::new();
    let mut done = false;
    for line in text.lines() {
        match line_var(line) {
            Some((name, at)) if name == var => {
                previous.get_or_insert_with(|| line.to_string());
                if let (Some(v), false) = (value, done) {
                    out.push(format!("{}{}", &line[..at], quote(v)));
                    done = true;
                }
            }
            _ => out.push(line.to_string()),
        }
    }
    if let (Some(v), false) = (value, done) {
        out.push(format!("{var}={}", quote(v)));
    }
    let mut s = out.join("\n");
    if !s.is_empty() {
        s.push('\n');
    }
    (s, previous)
}

/// A `.env` value: quoted when it holds anything a dotenv parser reads specially.
fn quote(v: &str) -> String {
    if v.chars()
        .all(|c| c.is_ascii_alphanumeric() || ":/._-?&=%+@".contains(c))
    {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn has_var(text: &str, var: &str) -> bool {
    text.lines()
        .any(|l| line_var(l).is_some_and(|(name, _)| name == var))
}

fn parse_settings(path: &Path, text: Option<&str>) -> Result<Value, SetupError> {
    match text {
        None => Ok(Value::Object(Map::new())),
        Some(t) if t.trim().is_empty() => Ok(Value::Object(Map::new())),
        Some(t) => serde_json::from_str(t).map_err(|source| SetupError::Invalid {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn to_text(path: &Path, v: &Value) -> Result<String, SetupError> {
    let mut text = serde_json::to_string_pretty(v).map_err(|source| SetupError::Invalid {
        path: path.to_path_buf(),
        source,
    })?;
    text.push('\n');
    Ok(text)
}

/// The `security.auth` object of `root`, created when absent.
fn auth_of<'a>(root: &'a mut Value, path: &Path) -> Result<&'a mut Map<String, Value>, SetupError> {
    let not_object = || SetupError::NotObject(path.to_path_buf());
    let security = root
        .as_object_mut()
        .ok_or_else(not_object)?
        .entry("security")
        .or_insert_with(|| Value::Object(Map::new()));
    security
        .as_object_mut()
        .ok_or_else(not_object)?
        .entry("auth")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(not_object)
}

/// Point Gemini CLI at `base_url`; `key` goes in `.env` as `GEMINI_API_KEY` unless the file
/// already sets one. Returns the key it set (`None`: none set now).
pub fn configure(
    dir: &Path,
    base_url: &str,
    key: Option<&str>,
) -> Result<Option<String>, SetupError> {
    let (envp, setp, backup) = (env_path(dir), settings_path(dir), dir.join(BACKUP));
    let env_now = read_optional(&envp)?;
    let settings_now = read_optional(&setp)?;
    let mut settings = parse_settings(&setp, settings_now.as_deref())?;
    let old: Option<State> = read_optional(&backup)?.and_then(|s| serde_json::from_str(&s).ok());
    let mut state = old.unwrap_or_else(|| State {
        env_original: env_now.clone(),
        settings_original: settings_now.clone(),
        selected_type: Value::Null,
        ..State::default()
    });
    let first_time = state.env_written.is_empty() && state.settings_written.is_empty();

    let env_text = env_now.unwrap_or_default();
    let (mut env_text, prev) = set_env_var(&env_text, BASE_URL_VAR, Some(base_url));
    if first_time {
        state
            .env_previous
            .insert(BASE_URL_VAR.into(), prev.map_or(Value::Null, Value::String));
    }
    // A key the user set themselves stays; ours is refreshed (or removed when not wanted).
    let ours = state.env_previous.get(KEY_VAR).is_some_and(Value::is_null);
    let users_key = has_var(&env_text, KEY_VAR) && !ours;
    let set_key = match (users_key, key) {
        (true, _) => None,
        (false, Some(k)) => {
            let (t, prev) = set_env_var(&env_text, KEY_VAR, Some(k));
            env_text = t;
            state
                .env_previous
                .entry(KEY_VAR.to_string())
                .or_insert(prev.map_or(Value::Null, Value::String));
            Some(k.to_string())
        }
        (false, None) => {
            if ours {
                env_text = set_env_var(&env_text, KEY_VAR, None).0;
            }
            None
        }
    };

    let auth = auth_of(&mut settings, &setp)?;
    if first_time {
        state.selected_type = auth.get("selectedType").cloned().unwrap_or(Value::Null);
    }
    auth.insert("selectedType".into(), Value::String(AUTH_TYPE.into()));
    let settings_text = to_text(&setp, &settings)?;
    state.env_written = env_text.clone();
    state.settings_written = settings_text.clone();
    let state_text =
        serde_json::to_string_pretty(&state).map_err(|source| SetupError::Invalid {
            path: backup.clone(),
            source,
        })?;
    write_atomic(&backup, &state_text)?;
    write_atomic(&envp, &env_text)?;
    write_atomic(&setp, &settings_text)?;
    Ok(set_key)
}

/// Undo [`configure`]: each file restored byte for byte when it is as we left it; otherwise
/// only what we changed is put back.
pub fn undo(dir: &Path) -> Result<(), SetupError> {
    let (envp, setp, backup) = (env_path(dir), settings_path(dir), dir.join(BACKUP));
    let state: State = match read_optional(&backup)? {
        Some(s) => serde_json::from_str(&s).map_err(|source| SetupError::Invalid {
            path: backup.clone(),
            source,
        })?,
        None => return Err(SetupError::NothingToUndo(dir.to_path_buf())),
    };
    let restore = |path: &Path, original: &Option<String>| -> Result<(), SetupError> {
        match original {
            Some(orig) => write_atomic(path, orig),
            None => match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path)(e)),
                _ => Ok(()),
            },
        }
    };
    match read_optional(&envp)? {
        Some(cur) if cur == state.env_written => restore(&envp, &state.env_original)?,
        Some(cur) => {
            let mut text = cur;
            for (var, prev) in &state.env_previous {
                text = set_env_var(&text, var, None).0;
                if let Some(line) = prev.as_str() {
                    text.push_str(line);
                    text.push('\n');
                }
            }
            write_atomic(&envp, &text)?;
        }
        None => {}
    }
    match read_optional(&setp)? {
        Some(cur) if cur == state.settings_written => restore(&setp, &state.settings_original)?,
        Some(cur) => {
            let mut v = parse_settings(&setp, Some(&cur))?;
            if let Ok(auth) = auth_of(&mut v, &setp) {
                match &state.selected_type {
                    Value::Null => {
                        auth.remove("selectedType");
                    }
                    prev => {
                        auth.insert("selectedType".into(), prev.clone());
                    }
                }
            }
            write_atomic(&setp, &to_text(&setp, &v)?)?;
        }
        None => {}
    }
    std::fs::remove_file(&backup).map_err(io(&backup))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sy-gm-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    const ENV: &str = "# my gemini env\nGOOGLE_CLOUD_PROJECT=proj-1\nexport GOOGLE_GEMINI_BASE_URL=http://old\n\nOTHER=\"x y\"\n";
    const SETTINGS: &str = "{\n  \"general\": {\"vimMode\": true},\n  \"security\": {\"auth\": {\"selectedType\": \"oauth-personal\"}, \"folderTrust\": {\"enabled\": false}},\n  \"mcpServers\": {\"fs\": {\"command\": \"npx\"}}\n}";

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).expect("read")
    }

    #[test]
    fn merges_keeps_everything_and_undo_is_byte_exact() {
        let d = dir("merge");
        std::fs::write(env_path(&d), ENV).expect("env");
        std::fs::write(settings_path(&d), SETTINGS).expect("settings");
        let key = configure(&d, "http://127.0.0.1:3535", Some("switchyard")).expect("configure");
        assert_eq!(key.as_deref(), Some("switchyard"));
        let env = read(&env_path(&d));
        assert_eq!(
            env,
            "# my gemini env\nGOOGLE_CLOUD_PROJECT=proj-1\nexport GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:3535\n\nOTHER=\"x y\"\nGEMINI_API_KEY=switchyard\n"
        );
        let v: Value = serde_json::from_str(&read(&settings_path(&d))).expect("json");
        assert_eq!(v["security"]["auth"]["selectedType"], AUTH_TYPE);
        assert_eq!(v["security"]["folderTrust"]["enabled"], false);
        assert_eq!(v["general"]["vimMode"], true);
        assert_eq!(v["mcpServers"]["fs"]["command"], "npx");
        let keys: Vec<_> = v.as_object().expect("obj").keys().cloned().collect();
        assert_eq!(
            keys,
            ["general", "security", "mcpServers"],
            "key order kept"
        );
        // Again (a new port), then undo: both files come back byte for byte.
        configure(&d, "http://127.0.0.1:4000", Some("switchyard")).expect("again");
        assert!(is_configured(&d));
        undo(&d).expect("undo");
        assert_eq!(read(&env_path(&d)), ENV);
        assert_eq!(read(&settings_path(&d)), SETTINGS);
        assert!(!is_configured(&d));
        assert!(matches!(undo(&d), Err(SetupError::NothingToUndo(_))));
    }

    #[test]
    fn a_users_own_key_stays_and_missing_files_are_created_then_removed() {
        let d = dir("missing");
        assert_eq!(configure(&d, "http://h:1", None).expect("configure"), None);
        assert_eq!(read(&env_path(&d)), "GOOGLE_GEMINI_BASE_URL=http://h:1\n");
        undo(&d).expect("undo");
        assert!(!env_path(&d).exists() && !settings_path(&d).exists());
        std::fs::write(env_path(&d), "GEMINI_API_KEY=AIza-mine\n").expect("env");
        assert_eq!(
            configure(&d, "http://h:1", Some("switchyard")).expect("c"),
            None
        );
        assert!(read(&env_path(&d)).contains("GEMINI_API_KEY=AIza-mine"));
        undo(&d).expect("undo");
        assert_eq!(read(&env_path(&d)), "GEMINI_API_KEY=AIza-mine\n");
    }

    #[test]
    fn undo_after_user_edits_puts_back_only_ours() {
        let d = dir("edit");
        std::fs::write(env_path(&d), ENV).expect("env");
        std::fs::write(settings_path(&d), SETTINGS).expect("settings");
        configure(&d, "http://127.0.0.1:3535", Some("switchyard")).expect("configure");
        let env = read(&env_path(&d)) + "NEW=1\n";
        std::fs::write(env_path(&d), env).expect("user edit");
        let mut v: Value = serde_json::from_str(&read(&settings_path(&d))).expect("json");
        v["ui"] = serde_json::json!({"theme": "dark"});
        std::fs::write(settings_path(&d), v.to_string()).expect("user edit");
        undo(&d).expect("undo");
        let env = read(&env_path(&d));
        assert!(
            env.contains("NEW=1") && env.contains("# my gemini env"),
            "{env}"
        );
        assert!(
            env.contains("export GOOGLE_GEMINI_BASE_URL=http://old"),
            "{env}"
        );
        assert!(!env.contains("GEMINI_API_KEY"), "{env}");
        let v: Value = serde_json::from_str(&read(&settings_path(&d))).expect("json");
        assert_eq!(v["ui"]["theme"], "dark");
        assert_eq!(v["security"]["auth"]["selectedType"], "oauth-personal");
    }

    #[test]
    fn settings_with_comments_are_never_touched() {
        let d = dir("jsonc");
        let text = "{\n  // mine\n  \"general\": {}\n}\n";
        std::fs::write(settings_path(&d), text).expect("settings");
        assert!(matches!(
            configure(&d, "u", None),
            Err(SetupError::Invalid { .. })
        ));
        assert_eq!(read(&settings_path(&d)), text);
        assert!(!env_path(&d).exists(), "nothing written");
    }

    #[test]
    fn the_key_follows_the_first_provider() {
        use crate::config::Provider;
        let mut cfg = Config {
            providers: vec![Provider::new("g", ProviderKind::Gemini, "https://g")],
            ..Config::default()
        };
        cfg.providers[0].credential = Credential::Passthrough;
        assert_eq!(
            key_for(&cfg, None),
            None,
            "the user's own key goes to Gemini"
        );
        assert_eq!(key_for(&cfg, Some("tok")).as_deref(), Some("tok"));
        cfg.providers[0].kind = ProviderKind::Anthropic;
        assert_eq!(key_for(&cfg, None).as_deref(), Some("switchyard"));
    }
}
