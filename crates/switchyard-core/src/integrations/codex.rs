//! "Set up Codex CLI": point OpenAI's Codex CLI at Switchyard by merging, into
//! `~/.codex/config.toml` (or `$CODEX_HOME/config.toml`), a `[model_providers.switchyard]`
//! table (`base_url = "http://ADDR/v1"`, `wire_api = "responses"`, and an `env_key` so Codex
//! sends a key at all: without one it sends none) and a top-level
//! `model_provider = "switchyard"`. Every other line and comment stays as it was (`toml_edit`).
//! The write is atomic; the file as it was before the first change is kept beside it, and Undo
//! restores it byte for byte (or, if the user edited the file since, removes only what we set
//! and puts back what was there).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml_edit::{value, DocumentMut, Item, Table};

/// The provider id we add under `model_providers`.
pub const PROVIDER_ID: &str = "switchyard";
/// The environment variable whose value Codex sends as its key (`Authorization: Bearer`):
/// the one Codex users already have for their own OpenAI key.
pub const KEY_VAR: &str = "OPENAI_API_KEY";
/// What Codex tells a person when [`KEY_VAR`] is not set.
pub const KEY_INSTRUCTIONS: &str = "Codex goes through Switchyard. Set OPENAI_API_KEY: your own \
     OpenAI key when Switchyard passes it through, Switchyard's access token when it requires \
     one, any value otherwise (`switchyard codex` sets it for you).";

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The config file is not TOML (we never overwrite it then).
    #[error("{path} is not valid TOML ({message}); fix it or move it away, nothing was changed")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Parser error.
        message: String,
    },
    /// `model_providers` exists but is not a table.
    #[error("{0}: \"model_providers\" is not a table; nothing was changed")]
    NotATable(PathBuf),
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

/// Where Codex keeps its config: `$CODEX_HOME/config.toml`, else `~/.codex/config.toml`.
pub fn config_path() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("CODEX_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("config.toml"));
    }
    dirs::home_dir().map(|h| h.join(".codex").join("config.toml"))
}

/// The base URL Codex gets for a Switchyard at `base` (`http://ADDR`): Codex appends
/// `/responses` to it.
pub fn codex_base_url(base: &str) -> String {
    format!("{}/v1", base.trim_end_matches('/'))
}

/// Kept beside the config between setup and undo.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    /// The file's text before our first change; `None` if it did not exist.
    original: Option<String>,
    /// What we wrote last (to tell whether the user edited the file since).
    written: String,
    /// The top-level `model_provider` before we first set it (TOML value text; `None`: absent).
    model_provider: Option<String>,
    /// `[model_providers.switchyard]` before we first set it (TOML text; `None`: absent).
    provider_table: Option<String>,
}

fn state_path(config: &Path) -> PathBuf {
    let mut name = config
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".switchyard-backup.json");
    config.with_file_name(name)
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

fn parse(path: &Path, text: &str) -> Result<DocumentMut, SetupError> {
    text.parse::<DocumentMut>()
        .map_err(|e| SetupError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// Is Switchyard's setup present (a backup exists)?
pub fn is_configured(config: &Path) -> bool {
    state_path(config).exists()
}

/// The `model_providers` table, created (as a header-less parent) when absent.
fn providers<'d>(doc: &'d mut DocumentMut, path: &Path) -> Result<&'d mut Table, SetupError> {
    let item = doc.entry("model_providers").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    if let Some(inline) = item.as_inline_table() {
        // `model_providers = { ... }`: the same keys as a table, so ours gets its own header.
        let mut t = inline.clone().into_table();
        t.set_implicit(true);
        *item = Item::Table(t);
    }
    item.as_table_mut()
        .ok_or_else(|| SetupError::NotATable(path.to_path_buf()))
}

/// Our provider table for `base_url` (Switchyard's address, without `/v1`).
fn provider_table(base_url: &str) -> Table {
    let mut t = Table::new();
    t["name"] = value("Switchyard");
    t["base_url"] = value(codex_base_url(base_url));
    t["wire_api"] = value("responses");
    t["env_key"] = value(KEY_VAR);
    t["env_key_instructions"] = value(KEY_INSTRUCTIONS);
    t
}

/// Point Codex at the Switchyard at `base_url` (`http://ADDR`). The one implementation the CLI,
/// the tray and the admin API share.
pub fn configure(config: &Path, base_url: &str) -> Result<(), SetupError> {
    let current = read_optional(config)?;
    let mut doc = parse(config, current.as_deref().unwrap_or(""))?;
    let sp = state_path(config);
    let old_state: Option<State> = read_optional(&sp)?.and_then(|s| serde_json::from_str(&s).ok());
    let previous_provider = doc.get("model_provider").and_then(Item::as_value).map(|v| {
        let mut v = v.clone();
        v.decor_mut().clear();
        v.to_string()
    });
    let table = providers(&mut doc, config)?;
    let previous_table = table.get(PROVIDER_ID).map(|t| t.to_string());
    table.insert(PROVIDER_ID, Item::Table(provider_table(base_url)));
    match doc.get_mut("model_provider").and_then(Item::as_value_mut) {
        // Keep the decor (a trailing comment) of the user's own line.
        Some(v) => {
            let decor = v.decor().clone();
            *v = toml_edit::Value::from(PROVIDER_ID);
            *v.decor_mut() = decor;
        }
        None => {
            doc.insert("model_provider", value(PROVIDER_ID));
        }
    }
    let text = doc.to_string();
    let state = match old_state {
        Some(s) => State {
            written: text.clone(),
            ..s
        },
        None => State {
            original: current,
            written: text.clone(),
            model_provider: previous_provider,
            provider_table: previous_table,
        },
    };
    let state_text = serde_json::to_string_pretty(&state).map_err(|e| SetupError::Invalid {
        path: sp.clone(),
        message: e.to_string(),
    })?;
    write_atomic(&sp, &state_text)?;
    write_atomic(config, &text)
}

/// Undo [`configure`]: restore the file byte for byte when it is as we left it; otherwise put
/// back only what we changed.
pub fn undo(config: &Path) -> Result<(), SetupError> {
    let sp = state_path(config);
    let state: State = match read_optional(&sp)? {
        Some(s) => serde_json::from_str(&s).map_err(|e| SetupError::Invalid {
            path: sp.clone(),
            message: e.to_string(),
        })?,
        None => return Err(SetupError::NothingToUndo(config.to_path_buf())),
    };
    let current = read_optional(config)?;
    if current.as_deref() == Some(state.written.as_str()) {
        match &state.original {
            Some(orig) => write_atomic(config, orig)?,
            None => std::fs::remove_file(config).map_err(io(config))?,
        }
    } else if let Some(cur) = current {
        let mut doc = parse(config, &cur)?;
        // Put back the user's `model_provider`, unless they chose another one since.
        let ours = doc
            .get("model_provider")
            .and_then(Item::as_str)
            .is_some_and(|p| p == PROVIDER_ID);
        if ours {
            let previous = state
                .model_provider
                .as_deref()
                .and_then(|v| v.parse::<toml_edit::Value>().ok());
            match (
                previous,
                doc.get_mut("model_provider").and_then(Item::as_value_mut),
            ) {
                (Some(prev), Some(v)) => {
                    let decor = v.decor().clone();
                    *v = prev;
                    *v.decor_mut() = decor;
                }
                _ => {
                    doc.remove("model_provider");
                }
            }
        }
        if let Some(table) = doc.get_mut("model_providers").and_then(Item::as_table_mut) {
            match state
                .provider_table
                .as_deref()
                .and_then(|t| t.parse::<DocumentMut>().ok())
            {
                Some(prev) => {
                    table.insert(PROVIDER_ID, Item::Table(prev.as_table().clone()));
                }
                None => {
                    table.remove(PROVIDER_ID);
                }
            }
            if table.is_empty() && table.is_implicit() {
                doc.remove("model_providers");
            }
        }
        write_atomic(config, &doc.to_string())?;
    }
    std::fs::remove_file(&sp).map_err(io(&sp))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sy-codex-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    const ORIGINAL: &str = "# My Codex settings\nmodel = \"gpt-5.1-codex\"  # the default\nmodel_provider = \"openai\" # was this\napproval_policy = \"on-request\"\n\n[model_providers.ollama]\nname = \"Ollama\"\nbase_url = \"http://localhost:11434/v1\"\n\n# MCP servers\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\nargs = [\"--port\", \"9\"]\n\n[profiles.fast]\nmodel_reasoning_effort = \"low\"\n";

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).expect("read")
    }

    #[test]
    fn merges_keeps_every_line_and_undo_is_byte_exact() {
        let d = dir("merge");
        let p = d.join("config.toml");
        std::fs::write(&p, ORIGINAL).expect("write");
        configure(&p, "http://127.0.0.1:3535").expect("configure");
        let text = read(&p);
        let doc: toml::Table = toml::from_str(&text).expect("toml");
        assert_eq!(doc["model_provider"].as_str(), Some("switchyard"));
        let sy = &doc["model_providers"]["switchyard"];
        assert_eq!(sy["base_url"].as_str(), Some("http://127.0.0.1:3535/v1"));
        assert_eq!(sy["wire_api"].as_str(), Some("responses"));
        assert_eq!(sy["env_key"].as_str(), Some(KEY_VAR));
        assert_eq!(
            doc["model_providers"]["ollama"]["name"].as_str(),
            Some("Ollama")
        );
        for kept in [
            "# My Codex settings\n",
            "model = \"gpt-5.1-codex\"  # the default\n",
            "model_provider = \"switchyard\" # was this\n",
            "# MCP servers\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\nargs = [\"--port\", \"9\"]\n",
            "[profiles.fast]\nmodel_reasoning_effort = \"low\"\n",
        ] {
            assert!(text.contains(kept), "{kept:?} in:\n{text}");
        }
        assert!(text.contains("[model_providers.switchyard]\n"), "{text}");
        // Again (another port), then undo: the original bytes come back.
        configure(&p, "http://127.0.0.1:4000").expect("again");
        assert!(read(&p).contains("http://127.0.0.1:4000/v1"));
        assert!(is_configured(&p));
        undo(&p).expect("undo");
        assert_eq!(read(&p), ORIGINAL);
        assert!(!is_configured(&p));
        assert!(matches!(undo(&p), Err(SetupError::NothingToUndo(_))));
    }

    #[test]
    fn undo_after_user_edits_removes_only_what_we_set() {
        let d = dir("edit");
        let p = d.join("config.toml");
        std::fs::write(&p, ORIGINAL).expect("write");
        configure(&p, "http://127.0.0.1:3535").expect("configure");
        let edited = read(&p).replace(
            "approval_policy = \"on-request\"",
            "approval_policy = \"never\"",
        );
        std::fs::write(&p, &edited).expect("user edit");
        undo(&p).expect("undo");
        let text = read(&p);
        let doc: toml::Table = toml::from_str(&text).expect("toml");
        assert_eq!(
            doc["approval_policy"].as_str(),
            Some("never"),
            "the user's edit stays"
        );
        assert_eq!(
            doc["model_provider"].as_str(),
            Some("openai"),
            "the previous value is back"
        );
        assert!(doc["model_providers"].get("switchyard").is_none());
        assert!(doc["model_providers"].get("ollama").is_some());
        assert!(text.contains("# MCP servers"), "{text}");
    }

    #[test]
    fn missing_file_is_created_and_undo_removes_it_and_bad_toml_is_never_touched() {
        let d = dir("missing");
        let p = d.join("config.toml");
        configure(&p, "http://127.0.0.1:3535").expect("configure");
        let text = read(&p);
        assert!(
            text.starts_with("model_provider = \"switchyard\"\n"),
            "{text}"
        );
        assert!(
            !text.contains("[model_providers]\n"),
            "no empty parent header: {text}"
        );
        undo(&p).expect("undo");
        assert!(!p.exists());
        std::fs::write(&p, "model = [broken").expect("write");
        assert!(matches!(
            configure(&p, "u"),
            Err(SetupError::Invalid { .. })
        ));
        assert_eq!(read(&p), "model = [broken");
        // An inline `model_providers` table becomes a table ours can join.
        std::fs::write(&p, "model_providers = { x = { name = \"X\" } }\n").expect("write");
        configure(&p, "http://127.0.0.1:3535").expect("configure");
        let doc: toml::Table = toml::from_str(&read(&p)).expect("toml");
        assert_eq!(doc["model_providers"]["x"]["name"].as_str(), Some("X"));
        assert_eq!(
            doc["model_providers"]["switchyard"]["wire_api"].as_str(),
            Some("responses")
        );
        undo(&p).expect("undo");
        assert_eq!(read(&p), "model_providers = { x = { name = \"X\" } }\n");
    }

    #[test]
    fn a_users_own_switchyard_provider_comes_back_on_undo() {
        let d = dir("own");
        let p = d.join("config.toml");
        let mine =
            "[model_providers.switchyard]\nname = \"mine\"\nbase_url = \"http://10.0.0.2:9/v1\"\n";
        std::fs::write(&p, mine).expect("write");
        configure(&p, "http://127.0.0.1:3535").expect("configure");
        std::fs::write(&p, format!("{}\n# later note\n", read(&p))).expect("user edit");
        undo(&p).expect("undo");
        let doc: toml::Table = toml::from_str(&read(&p)).expect("toml");
        assert_eq!(
            doc["model_providers"]["switchyard"]["name"].as_str(),
            Some("mine")
        );
        assert!(doc.get("model_provider").is_none());
    }
}
