//! Saving a whole [`Config`] into the user's existing file without losing what they wrote:
//! comments, blank lines, key order and value formatting survive wherever the value itself did
//! not change. Used by every "save the whole config" path (web UI, tray, admin API).

use toml_edit::{ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

use super::edit::err;
use super::schema::Config;
use super::ConfigError;

/// `text` (the current file) rewritten to hold exactly `cfg`, keeping everything of the old
/// file that still applies. Fails when `text` is not TOML or the merge would not read back
/// as `cfg`; callers then fall back to writing the file from scratch (keeping a `.bak`).
pub fn update_document(text: &str, cfg: &Config) -> Result<String, ConfigError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| err(format!("not valid TOML: {e}")))?;
    // What the file means today, written out in full: a key the user left out and whose
    // value did not change stays left out (no wall of defaults after the first save).
    let before = rendered(&super::parse_str(text, None)?)?;
    let fresh = rendered(cfg)?;
    merge_table(
        doc.as_table_mut(),
        Some(before.as_table()),
        fresh.as_table(),
    );
    let mut out = doc.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    let back = super::parse_str(&out, None)?;
    if &back != cfg {
        return Err(err(
            "the merged file would not read back as the saved config",
        ));
    }
    Ok(out)
}

fn rendered(cfg: &Config) -> Result<DocumentMut, ConfigError> {
    toml::to_string_pretty(cfg)
        .map_err(|e| err(format!("cannot serialise config: {e}")))?
        .parse()
        .map_err(|e| err(format!("cannot re-read config: {e}")))
}

/// An item as TOML data, formatting and comments aside.
fn item_data(item: &Item) -> Option<toml::Value> {
    let mut d = DocumentMut::new();
    let mut item = item.clone();
    clear_item_positions(&mut item);
    d.insert("v", item);
    toml::from_str::<toml::Table>(&d.to_string())
        .ok()?
        .remove("v")
}

/// The value as TOML data, formatting and comments aside.
fn data(v: &Value) -> Option<toml::Value> {
    let mut v = v.clone();
    v.decor_mut().clear();
    toml::from_str::<toml::Table>(&format!("v = {v}"))
        .ok()?
        .remove("v")
}

fn same(a: &Value, b: &Value) -> bool {
    match (data(a), data(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn merge_table(old: &mut Table, base: Option<&Table>, new: &Table) {
    let gone: Vec<String> = old
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| !new.contains_key(k))
        .collect();
    for k in gone {
        old.remove(&k);
    }
    for (k, n) in new.iter() {
        let b = base.and_then(|b| b.get(k));
        match old.get_mut(k) {
            Some(o) => merge_item(o, b, n),
            // Implied before and unchanged: leave it implied.
            None if b.is_some_and(|b| item_data(b).is_some() && item_data(b) == item_data(n)) => {}
            None => {
                let mut item = n.clone();
                clear_item_positions(&mut item);
                old.insert(k, item);
            }
        }
    }
}

fn merge_inline(old: &mut InlineTable, new: &InlineTable) {
    let gone: Vec<String> = old
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| !new.contains_key(k))
        .collect();
    for k in gone {
        old.remove(&k);
    }
    for (k, n) in new.iter() {
        match old.get_mut(k) {
            Some(o) => merge_value(o, n),
            None => {
                old.insert(k, n.clone());
            }
        }
    }
}

fn merge_value(old: &mut Value, new: &Value) {
    if same(old, new) {
        return;
    }
    if let (Value::InlineTable(o), Value::InlineTable(n)) = (&mut *old, new) {
        merge_inline(o, n);
        return;
    }
    let decor = old.decor().clone();
    *old = new.clone();
    *old.decor_mut() = decor;
}

fn merge_item(old: &mut Item, base: Option<&Item>, new: &Item) {
    match (&mut *old, new) {
        (Item::Table(o), Item::Table(n)) => merge_table(o, base.and_then(Item::as_table), n),
        (Item::ArrayOfTables(o), Item::ArrayOfTables(n)) => {
            merge_array(o, base.and_then(Item::as_array_of_tables), n)
        }
        (Item::Value(o), Item::Value(n)) => merge_value(o, n),
        // The user wrote `key = { ... }` where we would write a `[key]` section: keep theirs.
        (Item::Value(o @ Value::InlineTable(_)), Item::Table(n)) => {
            merge_value(o, &Value::InlineTable(n.clone().into_inline_table()))
        }
        (o, n) => {
            let mut item = n.clone();
            clear_item_positions(&mut item);
            *o = item;
        }
    }
}

fn id_of(t: &Table) -> Option<&str> {
    t.get("id").and_then(|v| v.as_str())
}

/// Arrays of tables (`[[providers]]`, `[[rules]]`…): tables are matched by `id` when they
/// have one, else by position, so a provider keeps its comments when others move around it.
fn merge_array(old: &mut ArrayOfTables, base: Option<&ArrayOfTables>, new: &ArrayOfTables) {
    let olds: Vec<Table> = old.iter().cloned().collect();
    // The fully written form of each old table, found the same way (`id`, else position).
    let base_of = |j: usize| -> Option<&Table> {
        let base = base?;
        match id_of(&olds[j]) {
            Some(id) => base.iter().find(|b| id_of(b) == Some(id)),
            None => base.get(j),
        }
    };
    let mut used = vec![false; olds.len()];
    let mut out: Vec<(Option<usize>, Table)> = Vec::new();
    for (i, n) in new.iter().enumerate() {
        let found = match id_of(n) {
            Some(id) => olds
                .iter()
                .enumerate()
                .position(|(j, o)| !used[j] && id_of(o) == Some(id)),
            None => (i < olds.len() && !used[i] && id_of(&olds[i]).is_none()).then_some(i),
        };
        match found {
            Some(j) => {
                used[j] = true;
                let mut t = olds[j].clone();
                merge_table(&mut t, base_of(j), n);
                out.push((Some(j), t));
            }
            None => {
                let mut t = n.clone();
                clear_positions(&mut t);
                out.push((None, t));
            }
        }
    }
    // Kept tables still in their old relative order keep their place in the file; after a
    // reorder every table is laid out afresh in the new order.
    let kept: Vec<usize> = out.iter().filter_map(|(j, _)| *j).collect();
    let reordered = kept.windows(2).any(|w| w[0] > w[1]);
    let mut arr = ArrayOfTables::new();
    for (_, mut t) in out {
        if reordered {
            clear_positions(&mut t);
        }
        arr.push(t);
    }
    *old = arr;
}

fn clear_item_positions(item: &mut Item) {
    match item {
        Item::Table(t) => clear_positions(t),
        Item::ArrayOfTables(a) => a.iter_mut().for_each(clear_positions),
        _ => {}
    }
}

fn clear_positions(t: &mut Table) {
    t.set_position(None);
    for (_, item) in t.iter_mut() {
        clear_item_positions(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    const FILE: &str = r#"# my setup — do not lose this
listen = "127.0.0.1:3535" # the usual port

[routing]
# keep going when the pin fails
pin_fallback = true

# the main one
[[providers]]
id = "a"
base_url = 'https://a.example' # inline note
models = { "claude-*" = "a-large" }

# backup, cheap
[[providers]]
id = "b"
base_url = "https://b.example"

[[providers]]
id = "c"
base_url = "https://c.example"
"#;

    fn load() -> Config {
        parse_str(FILE, None).expect("valid")
    }

    #[test]
    fn unchanged_config_leaves_the_file_as_is() {
        assert_eq!(update_document(FILE, &load()).expect("merge"), FILE);
    }

    #[test]
    fn edits_keep_comments_formatting_and_follow_the_new_order() {
        let mut cfg = load();
        cfg.routing.pin_fallback = false;
        cfg.providers[1].enabled = false;
        cfg.providers.swap(0, 2); // c, b, a
        cfg.providers.retain(|p| p.id != "b");
        let mut d = crate::presets::get("deepseek")
            .expect("preset")
            .provider("deepseek");
        d.id = "d".into();
        cfg.providers.push(d);
        let out = update_document(FILE, &cfg).expect("merge");
        for kept in [
            "# my setup — do not lose this",
            "# the usual port",
            "# keep going when the pin fails",
            "# the main one",
            "'https://a.example' # inline note",
            "models = { \"claude-*\" = \"a-large\" }",
        ] {
            assert!(out.contains(kept), "lost {kept:?} in:\n{out}");
        }
        assert!(
            !out.contains("# backup, cheap"),
            "b was removed with its comment"
        );
        assert_eq!(parse_str(&out, None).expect("valid"), cfg);
        let order: Vec<_> = out
            .match_indices("id = ")
            .map(|(i, _)| &out[i..i + 8])
            .collect();
        assert_eq!(order, ["id = \"c\"", "id = \"a\"", "id = \"d\""]);
    }

    #[test]
    fn a_changed_inline_table_stays_inline() {
        let mut cfg = load();
        cfg.providers[0].models = parse_str(
            "[[providers]]\nid = \"a\"\nbase_url = \"https://a.example\"\nmodels = { \"claude-*\" = \"a-small\" }\n",
            None,
        )
        .expect("valid")
        .providers[0]
            .models
            .clone();
        let out = update_document(FILE, &cfg).expect("merge");
        assert!(
            out.contains("models = { \"claude-*\" = \"a-small\" }"),
            "{out}"
        );
        assert!(out.contains("# inline note"));
        assert_eq!(parse_str(&out, None).expect("valid"), cfg);
    }

    #[test]
    fn broken_text_is_refused_so_the_caller_rewrites() {
        assert!(update_document("listen = [", &load()).is_err());
    }
}
