//! Comment-preserving edits of `[[rules]]` and `[routing]` in the user's config file.

use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table};

use super::{array_mut, err, finish, parse, table_of};
use crate::config::schema::{Rule, Strategy};
use crate::config::ConfigError;

fn rules_mut(doc: &mut DocumentMut) -> Result<&mut ArrayOfTables, ConfigError> {
    array_mut(doc, "rules")
}

fn rule_table(r: &Rule) -> Result<Table, ConfigError> {
    table_of(r, "rule")
}

fn check_index(arr: &ArrayOfTables, n: usize) -> Result<usize, ConfigError> {
    if n == 0 || n > arr.len() {
        return Err(err(format!(
            "no rule {n}: there {} {} (numbered from 1)",
            if arr.len() == 1 { "is" } else { "are" },
            arr.len()
        )));
    }
    Ok(n - 1)
}

/// Append a rule (tried last).
pub fn add_rule(text: &str, r: &Rule) -> Result<String, ConfigError> {
    let mut doc = parse(text)?;
    rules_mut(&mut doc)?.push(rule_table(r)?);
    Ok(finish(doc))
}

/// Remove rule `n` (1 = first).
pub fn remove_rule(text: &str, n: usize) -> Result<String, ConfigError> {
    let mut doc = parse(text)?;
    let arr = rules_mut(&mut doc)?;
    let i = check_index(arr, n)?;
    arr.remove(i);
    if arr.is_empty() {
        doc.remove("rules");
    }
    Ok(finish(doc))
}

/// Move rule `n` to position `to` (both 1-based; `to` is clamped to the list).
pub fn move_rule(text: &str, n: usize, to: usize) -> Result<String, ConfigError> {
    let mut doc = parse(text)?;
    let arr = rules_mut(&mut doc)?;
    let from = check_index(arr, n)?;
    let mut tables: Vec<Table> = arr.iter().cloned().collect();
    let t = tables.remove(from);
    tables.insert(to.saturating_sub(1).min(tables.len()), t);
    let mut new = ArrayOfTables::new();
    for mut t in tables {
        t.set_position(None);
        new.push(t);
    }
    *arr = new;
    Ok(finish(doc))
}

fn routing_table(doc: &mut DocumentMut) -> Result<&mut Table, ConfigError> {
    if doc.get("routing").is_none() {
        doc.insert("routing", Item::Table(Table::new()));
    }
    doc.get_mut("routing")
        .and_then(Item::as_table_mut)
        .ok_or_else(|| err("`routing` must be a [routing] table to be edited"))
}

/// Set `[routing] strategy`.
pub fn set_strategy(text: &str, s: Strategy) -> Result<String, ConfigError> {
    let mut doc = parse(text)?;
    routing_table(&mut doc)?.insert("strategy", value(s.as_str()));
    Ok(finish(doc))
}

/// Set `[routing] sticky_sessions`.
pub fn set_sticky(text: &str, on: bool) -> Result<String, ConfigError> {
    let mut doc = parse(text)?;
    routing_table(&mut doc)?.insert("sticky_sessions", value(on));
    Ok(finish(doc))
}

/// Set a provider's `weight` (1, the default, removes the line).
pub fn set_weight(text: &str, id: &str, weight: u32) -> Result<String, ConfigError> {
    let mut doc = parse(text)?;
    let t = array_mut(&mut doc, "providers")?
        .iter_mut()
        .find(|t| t.get("id").and_then(|v| v.as_str()) == Some(id))
        .ok_or_else(|| err(format!("no provider {id:?}")))?;
    if weight == 1 {
        t.remove("weight");
    } else {
        t.insert("weight", value(i64::from(weight)));
    }
    Ok(finish(doc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    const FILE: &str = "# mine\n[[providers]]\nid = \"a\"\nbase_url = \"https://a.example\" # main\n\n[[providers]]\nid = \"b\"\nbase_url = \"https://b.example\"\n";

    fn rule(provider: &str, model: &str) -> Rule {
        Rule {
            provider: provider.into(),
            model: Some(model.into()),
            ..Rule::default()
        }
    }

    #[test]
    fn add_move_remove_rules_and_routing_edits_keep_comments() {
        let t = add_rule(FILE, &rule("b", "claude-haiku*")).expect("add");
        let t = add_rule(&t, &rule("a", "*opus*")).expect("add");
        let c = parse_str(&t, None).expect("valid");
        assert_eq!(c.rules[0], rule("b", "claude-haiku*"));
        assert_eq!(c.rules[1].provider, "a");
        let t = move_rule(&t, 2, 1).expect("move");
        let c = parse_str(&t, None).expect("valid");
        assert_eq!(c.rules[0].provider, "a");
        assert!(t.contains("# mine") && t.contains("# main"));
        assert!(move_rule(&t, 3, 1).is_err());
        assert!(remove_rule(&t, 0).is_err());
        let t = remove_rule(&t, 1).expect("remove");
        let c = parse_str(&t, None).expect("valid");
        assert_eq!(c.rules, vec![rule("b", "claude-haiku*")]);
        let t = remove_rule(&t, 1).expect("remove last");
        assert!(!t.contains("rules"));

        let t = set_strategy(FILE, Strategy::Weighted).expect("strategy");
        let t = set_sticky(&t, false).expect("sticky");
        let t = set_weight(&t, "a", 3).expect("weight");
        let c = parse_str(&t, None).expect("valid");
        assert_eq!(c.routing.strategy, Strategy::Weighted);
        assert!(!c.routing.sticky_sessions);
        assert_eq!((c.providers[0].weight, c.providers[1].weight), (3, 1));
        assert!(t.contains("# main"));
        let t = set_weight(&t, "a", 1).expect("weight");
        assert!(!t.contains("weight = "), "{t}");
        assert!(set_weight(&t, "zz", 2).is_err());
    }

    #[test]
    fn unknown_provider_in_a_rule_is_located() {
        let text = format!("{FILE}\n[[rules]]\nmodel = \"x*\"\nprovider = \"nope\"\n");
        let e = parse_str(&text, Some(std::path::Path::new("/c.toml"))).expect_err("refused");
        assert_eq!(e.field.as_deref(), Some("rules[0].provider"));
        assert_eq!(e.line, Some((12, 1)), "{e}");
        assert!(e.to_string().starts_with("/c.toml:12:1:"), "{e}");
        assert!(e.message.contains("a, b"), "{e}");
        let text = format!("{FILE}\n[[rules]]\nprovider = \"a\"\nkeyword = \"\"\n");
        let e = parse_str(&text, None).expect_err("refused");
        assert_eq!(e.field.as_deref(), Some("rules[0].keyword"));
    }
}
