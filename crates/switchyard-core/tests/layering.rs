//! The engine's module structure, as ARCHITECTURE.md draws it: no dependency cycles between
//! modules (top level, and one level down), and every module uses only its own layer or the
//! layers below. Edges are read from the source the way a reader sees them: every
//! `crate::module` path and `super::sibling` in non-test code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules by layer, lowest first. A module may use its own layer (without cycles)
/// and any layer below, never one above.
const LAYERS: &[(&str, &[&str])] = &[
    ("leaves", &["protocol", "glob", "secrets", "logs"]),
    ("config and events", &["config", "events"]),
    (
        "pure",
        &[
            "translate",
            "context_window",
            "notify_policy",
            "presets",
            "integrations",
            "import_review",
            "stats",
        ],
    ),
    (
        "services",
        &[
            "routing",
            "upstream",
            "usage",
            "cache",
            "access_tokens",
            "inbound",
            "state",
        ],
    ),
    ("engine state", &["engine"]),
    ("pipeline", &["pipeline"]),
    ("edge", &["server"]),
    ("root", &["start", "handle", "fuzzing"]),
];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Test-only files (by the project's naming conventions) are not part of the structure.
fn is_test_file(name: &str) -> bool {
    let stem = name.trim_end_matches(".rs");
    stem.starts_with("test") || stem.starts_with("cases_") || stem.ends_with("_tests")
}

/// The module path of a file (`upstream/adapters/mod.rs` -> `upstream::adapters`).
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Identifiers following `prefix` in `src` (`crate::` -> `upstream::adapter::...`).
fn paths_after<'a>(src: &'a str, prefix: &str) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().last();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        let path: Vec<&str> = rest[..end]
            .split("::")
            .take_while(|s| {
                !s.is_empty()
                    && s.chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            })
            .collect();
        if !path.is_empty() {
            out.push(path);
        }
    }
    out
}

/// Module -> modules it uses, with modules cut to `depth` components.
fn edges(depth: usize) -> BTreeMap<String, BTreeSet<String>> {
    let root = src_dir();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut known = BTreeSet::new();
    let mut raw: Vec<(Vec<String>, String)> = Vec::new();
    for f in files {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
        if name.as_deref().is_some_and(is_test_file) {
            continue;
        }
        let rel = f.strip_prefix(&root).expect("under src").to_path_buf();
        let module = module_of(&rel);
        if module.is_empty() {
            continue;
        }
        let mut src = std::fs::read_to_string(&f).expect("readable");
        if let Some(cut) = src.find("#[cfg(test)]") {
            src.truncate(cut);
        }
        let src: String = src
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        known.insert(
            module
                .iter()
                .take(depth)
                .cloned()
                .collect::<Vec<_>>()
                .join("::"),
        );
        raw.push((module, src));
    }
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, src) in &raw {
        let me = module
            .iter()
            .take(depth)
            .cloned()
            .collect::<Vec<_>>()
            .join("::");
        let mut targets: Vec<String> = paths_after(src, "crate::")
            .into_iter()
            .map(|p| p.iter().take(depth).copied().collect::<Vec<_>>().join("::"))
            .collect();
        // `super::x` from a nested file reaches a sibling under the same parent.
        for p in paths_after(src, "super::") {
            let mut full: Vec<String> = module[..module.len().saturating_sub(1)].to_vec();
            full.push(p[0].to_string());
            targets.push(
                full.iter()
                    .take(depth)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("::"),
            );
        }
        for t in targets {
            if t != me && known.contains(&t) {
                out.entry(me.clone()).or_default().insert(t);
            }
        }
    }
    out
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'g> {
        g: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        on: BTreeSet<&'g str>,
        stack: Vec<&'g str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(t: &mut T<'g>, v: &'g str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        if let Some(ws) = t.g.get(v) {
            for w in ws {
                let w = w.as_str();
                if !t.index.contains_key(w) {
                    visit(t, w);
                    let lw = t.low[w];
                    let lv = t.low[v];
                    t.low.insert(v, lv.min(lw));
                } else if t.on.contains(w) {
                    let iw = t.index[w];
                    let lv = t.low[v];
                    t.low.insert(v, lv.min(iw));
                }
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        on: BTreeSet::new(),
        stack: Vec::new(),
        out: Vec::new(),
    };
    let nodes: BTreeSet<&str> = g
        .iter()
        .flat_map(|(k, vs)| std::iter::once(k.as_str()).chain(vs.iter().map(String::as_str)))
        .collect();
    for v in nodes {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn no_module_cycles() {
    for depth in [1, 2] {
        let g = edges(depth);
        assert!(g.len() > 10, "the source was read (depth {depth}): {g:?}");
        let c = cycles(&g);
        assert!(c.is_empty(), "module cycles at depth {depth}: {c:?}");
    }
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    g.entry("c".into()).or_default().insert("d".into());
    assert_eq!(cycles(&g), vec![vec!["a", "b", "c"]]);
}

#[test]
fn every_module_uses_only_its_layer_and_below() {
    let layer_of = |m: &str| LAYERS.iter().position(|(_, ms)| ms.contains(&m));
    let g = edges(1);
    let mut unplaced = BTreeSet::new();
    let mut upward = Vec::new();
    for (from, tos) in &g {
        let Some(lf) = layer_of(from) else {
            unplaced.insert(from.clone());
            continue;
        };
        for to in tos {
            match layer_of(to) {
                None => {
                    unplaced.insert(to.clone());
                }
                Some(lt) if lt > lf => upward.push(format!(
                    "{from} ({}) uses {to} ({})",
                    LAYERS[lf].0, LAYERS[lt].0
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules missing from the layer table (add them to LAYERS and ARCHITECTURE.md): {unplaced:?}"
    );
    assert!(upward.is_empty(), "uses against the layering: {upward:#?}");
}
