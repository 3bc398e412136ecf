//! Export and import of providers and routing as a file to share or move to another machine.
//!
//! Export works on the serialised [`Config`], so every field added to the schema travels
//! without changes here; what must never travel is removed by a deny list: the machine-local
//! sections (`listen`, `security` with its access tokens, `ui`, `notifications`), any field
//! whose name says it holds a secret, and the password of any URL (e.g. a proxy). Keys never
//! are in the config anyway (`credential` only says where a key lives); each provider whose
//! key lives in the keychain gets a comment saying a key is needed after import.
//!
//! Import reads such a file (errors name the file and line), then merges it into the current
//! config: new providers are added after the existing ones in the file's order; a provider
//! whose id exists is kept (`merge`) or replaced in place (`replace`). Settings sections
//! (`routing`, `timeouts`, ...) are taken from the file only with `replace`; list sections
//! (e.g. `[[rules]]`) get the file's entries appended (`merge`) or replaced (`replace`).
//! Local sections in the file are ignored.

use std::path::Path;

use toml::{Table, Value};

use super::load::{parse_str, validate, ConfigError};
use super::schema::{Config, Credential};
use crate::secrets::SecretStore;

/// Top-level sections that belong to this machine and are neither exported nor imported.
pub const LOCAL_SECTIONS: &[&str] = &["listen", "security", "ui", "notifications"];
/// Field names that would hold a secret wherever they appear; dropped from an export.
const SECRET_FIELDS: &[&str] = &[
    "access_token",
    "api_key",
    "apikey",
    "auth_token",
    "password",
    "secret",
    "token",
    "tokens",
];

/// How an import treats what already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportMode {
    /// Add new providers and list entries; keep existing providers and settings.
    #[default]
    Merge,
    /// Also replace same-id providers, settings sections and lists with the file's.
    Replace,
}

/// The outcome of an import.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The merged, validated config (not yet saved).
    pub config: Config,
    /// Providers added.
    pub added: Vec<String>,
    /// Providers replaced (`replace` mode).
    pub replaced: Vec<String>,
    /// Providers in the file that were already there and were kept (`merge` mode).
    pub kept: Vec<String>,
}

impl Imported {
    /// Providers that came from the file (added or replaced).
    pub fn imported_ids(&self) -> impl Iterator<Item = &str> {
        self.added.iter().chain(&self.replaced).map(String::as_str)
    }
}

fn err(message: impl Into<String>) -> ConfigError {
    ConfigError {
        file: None,
        line: None,
        field: None,
        message: message.into(),
    }
}

fn to_table(cfg: &Config) -> Result<Table, ConfigError> {
    match Value::try_from(cfg) {
        Ok(Value::Table(t)) => Ok(t),
        Ok(_) => Err(err("the config does not serialise to a table")),
        Err(e) => Err(err(format!("cannot serialise the config: {e}"))),
    }
}

/// Remove secret-bearing fields and URL passwords anywhere in `v`.
fn scrub(v: &mut Value) {
    match v {
        Value::Table(t) => {
            t.retain(|k, _| !SECRET_FIELDS.contains(&k.to_ascii_lowercase().as_str()));
            t.iter_mut().for_each(|(_, v)| scrub(v));
        }
        Value::Array(a) => a.iter_mut().for_each(scrub),
        Value::String(s) => {
            if let Ok(mut u) = reqwest::Url::parse(s) {
                if u.password().is_some() && u.set_password(None).is_ok() {
                    *s = u.to_string();
                }
            }
        }
        _ => {}
    }
}

/// The export file for `cfg`: a TOML document with a header comment, no local sections and
/// no secrets. `generated` is written in the header (e.g. a timestamp).
pub fn export(cfg: &Config, generated: &str) -> Result<String, ConfigError> {
    let mut t = to_table(cfg)?;
    for k in LOCAL_SECTIONS {
        t.remove(*k);
    }
    let mut v = Value::Table(t);
    scrub(&mut v);
    let body = toml::to_string_pretty(&v).map_err(|e| err(format!("cannot write TOML: {e}")))?;
    let mut doc: toml_edit::DocumentMut = body
        .parse()
        .map_err(|e| err(format!("cannot re-read the export: {e}")))?;
    if let Some(arr) = doc
        .get_mut("providers")
        .and_then(toml_edit::Item::as_array_of_tables_mut)
    {
        for (table, p) in arr.iter_mut().zip(&cfg.providers) {
            let note = match &p.credential {
                Credential::Keychain => format!(
                    "# {}: needs a key after import (switchyard keys set {})\n",
                    p.id, p.id
                ),
                Credential::Env(var) => {
                    format!(
                        "# {}: reads its key from the environment variable {var}\n",
                        p.id
                    )
                }
                Credential::Passthrough => {
                    format!("# {}: forwards the client's own key\n", p.id)
                }
                Credential::None => format!("# {}: needs no key\n", p.id),
            };
            table.decor_mut().set_prefix(format!("\n{note}"));
        }
    }
    Ok(format!(
        "# Switchyard providers and routing, exported {generated} (Switchyard {}).\n\
         # No keys, access tokens or passwords are in this file: after importing it, store each\n\
         # provider's key (`switchyard keys set <id>` or the app's Providers screen).\n\
         # Import: `switchyard providers import FILE [--replace]`, or Import in the app.\n\n{}",
        crate::VERSION,
        doc
    ))
}

/// Merge the export file `text` into `current`. `file` names it in errors.
pub fn import(
    current: &Config,
    text: &str,
    file: Option<&Path>,
    mode: ImportMode,
) -> Result<Imported, ConfigError> {
    // The file on its own must be a valid config (errors carry file:line).
    let incoming = parse_str(text, file)?;
    let present: Table = toml::from_str(text).map_err(|e| err(e.to_string()))?;
    let theirs = to_table(&incoming)?;
    let mut merged = to_table(current)?;
    for key in present.keys() {
        if key == "providers" || LOCAL_SECTIONS.contains(&key.as_str()) {
            continue;
        }
        let Some(new) = theirs.get(key) else { continue };
        match (merged.get_mut(key), new, mode) {
            (_, _, ImportMode::Replace) | (None, _, _) => {
                merged.insert(key.clone(), new.clone());
            }
            (Some(Value::Array(mine)), Value::Array(add), ImportMode::Merge) => {
                for item in add {
                    if !mine.contains(item) {
                        mine.push(item.clone());
                    }
                }
            }
            // Settings already here stay as they are in merge mode.
            (Some(_), _, ImportMode::Merge) => {}
        }
    }
    let mut out = Imported {
        config: current.clone(),
        added: Vec::new(),
        replaced: Vec::new(),
        kept: Vec::new(),
    };
    let mut providers = current.providers.clone();
    for p in incoming.providers {
        match providers.iter_mut().find(|q| q.id == p.id) {
            Some(slot) if mode == ImportMode::Replace => {
                out.replaced.push(p.id.clone());
                *slot = p;
            }
            Some(_) => out.kept.push(p.id.clone()),
            None => {
                out.added.push(p.id.clone());
                providers.push(p);
            }
        }
    }
    merged.remove("providers");
    let mut config: Config = Value::Table(merged)
        .try_into()
        .map_err(|e| err(format!("the merged config is invalid: {e}")))?;
    config.providers = providers;
    validate(&config).map_err(|e| ConfigError {
        file: file.map(Path::to_path_buf),
        message: format!("after merging: {}", e.message),
        ..e
    })?;
    out.config = config;
    Ok(out)
}

/// Of the providers `ids` in `cfg`, the keychain entries their keys need that `store` lacks
/// (a store that cannot be read counts as missing): `<id>` for a provider's first key, and
/// `<id>#2`, `<id>#3`, ... for the other slots of a key pool (`keys = N`).
pub fn missing_keys<'a>(
    cfg: &Config,
    ids: impl IntoIterator<Item = &'a str>,
    store: &dyn SecretStore,
) -> Vec<String> {
    ids.into_iter()
        .filter_map(|id| cfg.provider(id))
        .filter(|p| matches!(p.credential, Credential::Keychain))
        .flat_map(|p| (0..p.keys.max(1) as usize).map(|slot| super::schema::slot_name(&p.id, slot)))
        .filter(|name| !matches!(store.get(name), Ok(Some(_))))
        .collect()
}

/// Of the providers `ids` in `cfg`, those reading an environment variable that is not set:
/// `(provider, variable)`.
pub fn missing_env<'a>(
    cfg: &Config,
    ids: impl IntoIterator<Item = &'a str>,
) -> Vec<(String, String)> {
    ids.into_iter()
        .filter_map(|id| match &cfg.provider(id)?.credential {
            Credential::Env(var) if !matches!(crate::secrets::from_env(var), Ok(Some(_))) => {
                Some((id.to_string(), var.clone()))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
#[path = "portable_tests.rs"]
mod tests;
