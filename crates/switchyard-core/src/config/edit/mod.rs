//! Small edits to the user's config file that keep everything else — comments, order,
//! formatting — as the user wrote it: add, remove and move providers.

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table};

mod rules;

pub use rules::{add_rule, move_rule, remove_rule, set_sticky, set_strategy, set_weight};

use super::schema::{Config, Provider};
use super::ConfigError;

/// A config-edit failure (not tied to a line: the edit is refused before anything is written).
pub(super) fn err(message: impl Into<String>) -> ConfigError {
    ConfigError {
        file: None,
        line: None,
        field: None,
        message: message.into(),
    }
}

/// The user's file as an editable document.
pub(super) fn parse(text: &str) -> Result<DocumentMut, ConfigError> {
    text.parse()
        .map_err(|e| err(format!("not valid TOML: {e}")))
}

/// The `[[key]]` array of tables, created when missing.
pub(super) fn array_mut<'d>(
    doc: &'d mut DocumentMut,
    key: &str,
) -> Result<&'d mut ArrayOfTables, ConfigError> {
    if doc.get(key).is_none() {
        doc.insert(key, Item::ArrayOfTables(ArrayOfTables::new()));
    }
    doc.get_mut(key)
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| {
            err(format!(
                "`{key}` must be written as [[{key}]] tables to be edited"
            ))
        })
}

fn providers_mut(doc: &mut DocumentMut) -> Result<&mut ArrayOfTables, ConfigError> {
    array_mut(doc, "providers")
}

/// `value` as a table, serialised through the schema so it holds exactly what the loader
/// reads back; `what` names it in errors.
pub(super) fn table_of<T: serde::Serialize>(value: &T, what: &str) -> Result<Table, ConfigError> {
    let text = toml::to_string(value).map_err(|e| err(format!("cannot serialise {what}: {e}")))?;
    let doc: DocumentMut = text
        .parse()
        .map_err(|e| err(format!("cannot re-read {what}: {e}")))?;
    let mut t = doc.as_table().clone();
    clear_positions(&mut t);
    Ok(t)
}

fn provider_table(p: &Provider) -> Result<Table, ConfigError> {
    table_of(p, "provider")
}

/// Forget where tables stood in the document they came from, so they render right after
/// their parent wherever they are inserted.
fn clear_positions(t: &mut Table) {
    t.set_position(None);
    for (_, item) in t.iter_mut() {
        if let Some(sub) = item.as_table_mut() {
            clear_positions(sub);
        }
    }
}

/// The text of a new config file holding `cfg` (used when there is no file yet).
pub fn new_file(cfg: &Config) -> Result<String, ConfigError> {
    let body =
        toml::to_string_pretty(cfg).map_err(|e| err(format!("cannot serialise config: {e}")))?;
    Ok(format!(
        "# Switchyard configuration. Reference: the README's \"Config reference\".\n# Keys are not stored here: `switchyard keys set <provider-id>` puts them in the OS keychain.\n\n{body}"
    ))
}

/// Append a provider (lowest priority).
pub fn add_provider(text: &str, p: &Provider) -> Result<String, ConfigError> {
    let mut doc = parse(text)?;
    let arr = providers_mut(&mut doc)?;
    if arr
        .iter()
        .any(|t| t.get("id").and_then(|v| v.as_str()) == Some(p.id.as_str()))
    {
        return Err(err(format!(
            "a provider with id {:?} already exists; choose another with --id",
            p.id
        )));
    }
    arr.push(provider_table(p)?);
    Ok(finish(doc))
}

fn index_of(arr: &ArrayOfTables, id: &str) -> Result<usize, ConfigError> {
    arr.iter()
        .position(|t| t.get("id").and_then(|v| v.as_str()) == Some(id))
        .ok_or_else(|| {
            let known: Vec<_> = arr
                .iter()
                .filter_map(|t| t.get("id").and_then(|v| v.as_str()).map(String::from))
                .collect();
            err(format!("no provider {id:?}; known: {}", known.join(", ")))
        })
}

/// Remove a provider.
pub fn remove_provider(text: &str, id: &str) -> Result<String, ConfigError> {
    let mut doc = parse(text)?;
    let arr = providers_mut(&mut doc)?;
    let i = index_of(arr, id)?;
    arr.remove(i);
    Ok(finish(doc))
}

/// Move a provider to position `to` (0 = primary), clamped to the list.
pub fn move_provider(text: &str, id: &str, to: usize) -> Result<String, ConfigError> {
    let mut doc = parse(text)?;
    let arr = providers_mut(&mut doc)?;
    let from = index_of(arr, id)?;
    let mut tables: Vec<Table> = arr.iter().cloned().collect();
    let t = tables.remove(from);
    let to = to.min(tables.len());
    tables.insert(to, t);
    let mut new = ArrayOfTables::new();
    for mut t in tables {
        // Positions in the file follow the new order.
        clear_positions(&mut t);
        new.push(t);
    }
    *arr = new;
    Ok(finish(doc))
}

/// Set how many keys a provider's pool holds (`keys = N`; 1 removes the line).
pub fn set_provider_keys(text: &str, id: &str, n: u32) -> Result<String, ConfigError> {
    let mut doc = parse(text)?;
    let arr = providers_mut(&mut doc)?;
    let i = index_of(arr, id)?;
    let t = arr
        .get_mut(i)
        .ok_or_else(|| err(format!("no provider {id:?}")))?;
    if n <= 1 {
        t.remove("keys");
    } else {
        t.insert("keys", toml_edit::value(i64::from(n)));
    }
    Ok(finish(doc))
}

/// The edited document as file text, ending with a newline.
pub(super) fn finish(doc: DocumentMut) -> String {
    let mut s = doc.to_string();
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    const FILE: &str = "# my setup\nlisten = \"127.0.0.1:3535\"\n\n# the main one\n[[providers]]\nid = \"a\"\nbase_url = \"https://a.example\" # inline note\n\n[[providers]]\nid = \"b\"\nbase_url = \"https://b.example\"\n";

    #[test]
    fn add_move_remove_keep_comments() {
        let p = crate::presets::get("deepseek")
            .expect("preset")
            .provider("deepseek");
        let t = add_provider(FILE, &p).expect("add");
        assert!(
            t.contains("# my setup") && t.contains("# the main one") && t.contains("# inline note")
        );
        let c = parse_str(&t, None).expect("valid");
        assert_eq!(
            c.providers
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>(),
            ["a", "b", "deepseek"]
        );
        assert_eq!(c.providers[2], p);
        assert!(add_provider(&t, &p).is_err(), "duplicate id");
        let t = move_provider(&t, "deepseek", 0).expect("move");
        let c = parse_str(&t, None).expect("valid");
        assert_eq!(
            c.providers
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>(),
            ["deepseek", "a", "b"]
        );
        assert!(t.contains("# inline note"));
        let t = remove_provider(&t, "a").expect("remove");
        let c = parse_str(&t, None).expect("valid");
        assert_eq!(
            c.providers
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>(),
            ["deepseek", "b"]
        );
        assert!(remove_provider(&t, "zzz")
            .expect_err("unknown")
            .message
            .contains("deepseek, b"));
        let fresh = new_file(&Config::default()).expect("new");
        let t = add_provider(&fresh, &p).expect("add to fresh");
        assert_eq!(parse_str(&t, None).expect("valid").providers.len(), 2);
    }
}
