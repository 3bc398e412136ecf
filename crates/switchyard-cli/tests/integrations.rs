//! `switchyard code` and `switchyard setup claude-code`, run as the real binary against a real
//! engine, with a fake `claude` on PATH that reports what it was given.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use switchyard_core::config::{Config, Credential};
use switchyard_core::secrets::MemoryStore;
use switchyard_core::{Handle, StartOptions, Switchyard};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sy-cli-int-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A `claude` that prints its arguments, the two variables and its stdin, then exits 7.
fn fake_claude(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let script = bin.join("claude");
    std::fs::write(
        &script,
        "#!/bin/sh\n\
         for a in \"$@\"; do printf 'ARG=%s\\n' \"$a\"; done\n\
         printf 'BASE=%s\\n' \"${ANTHROPIC_BASE_URL-<unset>}\"\n\
         printf 'AUTH=%s\\n' \"${ANTHROPIC_AUTH_TOKEN-<unset>}\"\n\
         printf 'COMPACT=%s/%s\\n' \"${CLAUDE_CODE_AUTO_COMPACT_WINDOW-<unset>}\" \"${CLAUDE_AUTOCOMPACT_PCT_OVERRIDE-<unset>}\"\n\
         printf 'STDIN=%s\\n' \"$(cat)\"\n\
         exit 7\n",
    )
    .expect("script");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    bin
}

fn write_config(dir: &Path, credential: &str) -> PathBuf {
    let p = dir.join("config.toml");
    std::fs::write(
        &p,
        format!(
            "[[providers]]\nid = \"main\"\nbase_url = \"http://127.0.0.1:9\"\ncredential = \"{credential}\"\n"
        ),
    )
    .expect("config");
    p
}

async fn engine() -> Handle {
    let mut cfg = Config::default();
    cfg.providers[0].credential = Credential::None;
    Switchyard::start(StartOptions {
        config: cfg,
        config_path: None,
        secrets: Arc::new(MemoryStore::default()),
        listen_override: Some("127.0.0.1:0".parse().expect("addr")),
    })
    .await
    .expect("engine")
}

/// Runs the binary on a blocking thread (the engine keeps serving on the runtime meanwhile).
async fn run(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let stdin = stdin.to_string();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(BIN);
        cmd.args(&args)
            .env_remove("ANTHROPIC_AUTH_TOKEN")
            .env_remove("ANTHROPIC_BASE_URL")
            .env_remove("SWITCHYARD_URL")
            .env_remove("SWITCHYARD_TOKEN")
            .env_remove("SWITCHYARD_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn switchyard");
        if let Some(mut i) = child.stdin.take() {
            let _ = i.write_all(stdin.as_bytes());
        }
        child.wait_with_output().expect("wait")
    })
    .await
    .expect("join")
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_runs_claude_through_switchyard_passing_args_stdin_and_exit_code() {
    let h = engine().await;
    let dir = temp_dir("code");
    let bin = fake_claude(&dir);
    let cfg = write_config(&dir, "keychain");
    let url = h.url();
    let out = run(
        &[
            "code",
            "--url",
            &url,
            "--config",
            cfg.to_str().expect("utf-8"),
            "-p",
            "two words",
            "--model",
            "opus",
        ],
        &[("PATH", &path_with(&bin))],
        "from stdin",
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(7), "claude's exit code: {stdout}");
    assert!(
        stdout.contains("ARG=-p\nARG=two words\nARG=--model\nARG=opus\n"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("BASE={url}\n")), "{stdout}");
    // A keyed first provider: a placeholder token, so Claude Code asks for no login.
    assert!(stdout.contains("AUTH=switchyard\n"), "{stdout}");
    assert!(stdout.contains("STDIN=from stdin"), "{stdout}");
    // Claude's own window: no compaction hint.
    assert!(stdout.contains("COMPACT=<unset>/<unset>\n"), "{stdout}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_tells_claude_to_compact_for_the_smallest_context_window() {
    let h = engine().await;
    let dir = temp_dir("compact");
    let bin = fake_claude(&dir);
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        "[[providers]]\nid = \"main\"\nbase_url = \"http://127.0.0.1:9\"\ncredential = \"passthrough\"\n\n\
         [[providers]]\nid = \"small\"\nbase_url = \"http://127.0.0.1:9\"\ncredential = \"none\"\ncontext_window = 64000\n",
    )
    .expect("config");
    let out = run(
        &[
            "code",
            "--url",
            &h.url(),
            "--config",
            cfg.to_str().expect("utf-8"),
        ],
        &[("PATH", &path_with(&bin))],
        "",
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(7), "{stdout}");
    assert!(stdout.contains("COMPACT=100000/40\n"), "{stdout}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_leaves_auth_alone_for_passthrough_and_accepts_double_dash() {
    let h = engine().await;
    let dir = temp_dir("passthrough");
    let bin = fake_claude(&dir);
    let cfg = write_config(&dir, "passthrough");
    let out = run(
        &[
            "code",
            "--url",
            &h.url(),
            "--config",
            cfg.to_str().expect("utf-8"),
            "--",
            "--url",
            "x",
        ],
        &[("PATH", &path_with(&bin))],
        "",
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(7));
    assert!(stdout.contains("AUTH=<unset>\n"), "{stdout}");
    assert!(
        stdout.contains("ARG=--url\nARG=x\n"),
        "after -- everything is claude's: {stdout}"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_explains_when_switchyard_or_claude_is_missing() {
    let dir = temp_dir("missing");
    let bin = fake_claude(&dir);
    let cfg = write_config(&dir, "none");
    // Nothing listens on port 9 (discard) on loopback.
    let out = run(
        &[
            "code",
            "--url",
            "http://127.0.0.1:9",
            "--config",
            cfg.to_str().expect("utf-8"),
        ],
        &[("PATH", &path_with(&bin))],
        "",
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("Switchyard is not running at http://127.0.0.1:9"),
        "{stderr}"
    );
    assert!(stderr.contains("switchyard serve"), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).is_empty(),
        "claude did not run"
    );

    let h = engine().await;
    let out = run(
        &[
            "code",
            "--url",
            &h.url(),
            "--config",
            cfg.to_str().expect("utf-8"),
            "--claude",
            "/nonexistent/claude",
        ],
        &[],
        "",
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        stderr.contains("not found: install Claude Code"),
        "{stderr}"
    );
    h.shutdown().await;
}

const SETTINGS: &str = "{\n  \"enabledPlugins\": {\"fmt@tools\": true},\n  \"hooks\": {\"Stop\": [{\"hooks\": [{\"type\": \"command\", \"command\": \"say done\"}]}]},\n  \"env\": {\"KEEP\": \"1\"}\n}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_claude_code_merges_and_undo_restores_bytes() {
    let dir = temp_dir("setup");
    let cc = dir.join("claude");
    std::fs::create_dir_all(&cc).expect("dir");
    let settings = cc.join("settings.json");
    std::fs::write(&settings, SETTINGS).expect("settings");
    let cfg = write_config(&dir, "keychain");
    let env = [("CLAUDE_CONFIG_DIR", cc.to_str().expect("utf-8"))];
    let out = run(
        &[
            "setup",
            "claude-code",
            "--url",
            "http://127.0.0.1:4545",
            "--config",
            cfg.to_str().expect("utf-8"),
        ],
        &env,
        "",
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&settings.display().to_string()),
        "names the file: {stdout}"
    );
    assert!(
        stdout.contains("env.ANTHROPIC_BASE_URL = http://127.0.0.1:4545"),
        "{stdout}"
    );
    assert!(stdout.contains("--undo"), "{stdout}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).expect("read")).expect("json");
    assert_eq!(v["env"]["ANTHROPIC_BASE_URL"], "http://127.0.0.1:4545");
    assert_eq!(v["env"]["ANTHROPIC_AUTH_TOKEN"], "switchyard");
    assert_eq!(v["env"]["KEEP"], "1");
    assert_eq!(v["enabledPlugins"]["fmt@tools"], true);
    assert_eq!(v["hooks"]["Stop"][0]["hooks"][0]["command"], "say done");

    let out = run(&["setup", "claude-code", "--undo"], &env, "").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Restored"));
    assert_eq!(std::fs::read_to_string(&settings).expect("read"), SETTINGS);

    let out = run(&["setup", "claude-code", "--undo"], &env, "").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to undo"));
}
