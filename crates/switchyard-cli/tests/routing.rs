//! `switchyard routing` and `switchyard rules`, run as the real binary on a config file.

use std::path::PathBuf;
use std::process::{Command, Output};

use switchyard_core::config::{load_file, Strategy};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

fn config_file(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sy-cli-routing-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    let p = d.join("config.toml");
    std::fs::write(
        &p,
        "# mine\n[[providers]]\nid = \"a\"\nbase_url = \"https://a.example\" # main one\n\n[[providers]]\nid = \"b\"\nbase_url = \"https://b.example\"\n",
    )
    .expect("config");
    p
}

fn run(cfg: &PathBuf, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(cfg)
        .output()
        .expect("runs")
}

fn ok(cfg: &PathBuf, args: &[&str]) -> String {
    let out = run(cfg, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn routing_and_rules_edit_the_file_and_keep_comments() {
    let cfg = config_file("edit");
    ok(&cfg, &["routing", "strategy", "weighted"]);
    ok(&cfg, &["routing", "weight", "a", "3"]);
    ok(&cfg, &["routing", "sticky", "off"]);
    ok(
        &cfg,
        &[
            "rules",
            "add",
            "--provider",
            "b",
            "--model",
            "claude-haiku*",
            "--name",
            "background",
            "--upstream-model",
            "tiny",
        ],
    );
    ok(
        &cfg,
        &[
            "rules",
            "add",
            "--provider",
            "a",
            "--tool",
            "web_search",
            "--thinking",
            "true",
        ],
    );
    let listed = ok(&cfg, &["rules", "move", "2", "--to", "1"]);
    assert!(
        listed.contains("1. rule 1") && listed.contains("tool web_search"),
        "{listed}"
    );
    let c = load_file(&cfg).expect("valid");
    assert_eq!(c.routing.strategy, Strategy::Weighted);
    assert!(!c.routing.sticky_sessions);
    assert_eq!(c.providers[0].weight, 3);
    assert_eq!(c.rules.len(), 2);
    assert_eq!(c.rules[0].tool.as_deref(), Some("web_search"));
    assert_eq!(c.rules[0].thinking, Some(true));
    assert_eq!(c.rules[1].upstream_model.as_deref(), Some("tiny"));
    let text = std::fs::read_to_string(&cfg).expect("read");
    assert!(
        text.contains("# mine") && text.contains("# main one"),
        "{text}"
    );

    let shown = ok(&cfg, &["routing", "show"]);
    assert!(shown.contains("strategy:        weighted"), "{shown}");
    assert!(shown.contains("weight 3"), "{shown}");
    assert!(shown.contains("background"), "{shown}");

    ok(&cfg, &["rules", "remove", "1"]);
    let c = load_file(&cfg).expect("valid");
    assert_eq!(c.rules.len(), 1);
    assert_eq!(c.rules[0].name.as_deref(), Some("background"));

    // Refused edits leave the file alone and say why.
    let before = std::fs::read_to_string(&cfg).expect("read");
    let out = run(
        &cfg,
        &["rules", "add", "--provider", "nope", "--model", "*"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rules[1].provider") && err.contains("no provider \"nope\""),
        "{err}"
    );
    assert!(!run(&cfg, &["rules", "remove", "7"]).status.success());
    assert!(!run(&cfg, &["routing", "strategy", "fastest"])
        .status
        .success());
    assert_eq!(std::fs::read_to_string(&cfg).expect("read"), before);
}
