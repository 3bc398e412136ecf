//! `switchyard gemini` and `switchyard setup gemini-cli`, run as the real binary against a
//! real engine, with a fake `gemini` on PATH that reports what it was given.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use switchyard_core::config::{Config, Credential};
use switchyard_core::secrets::MemoryStore;
use switchyard_core::{StartOptions, Switchyard};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sy-cli-gm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn write_config(dir: &Path) -> PathBuf {
    let p = dir.join("config.toml");
    std::fs::write(
        &p,
        "[[providers]]\nid = \"main\"\nbase_url = \"http://127.0.0.1:9\"\ncredential = \"keychain\"\n",
    )
    .expect("config");
    p
}

async fn run(args: &[&str], env: &[(&str, String)]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(BIN);
        cmd.args(&args)
            .env_remove("GOOGLE_GEMINI_BASE_URL")
            .env_remove("GEMINI_API_KEY")
            .env_remove("SWITCHYARD_URL")
            .env_remove("SWITCHYARD_TOKEN")
            .env_remove("SWITCHYARD_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run switchyard")
    })
    .await
    .expect("join")
}

const ENV: &str = "# mine\nGOOGLE_CLOUD_PROJECT=p\n";
const SETTINGS: &str = "{\n  \"general\": {\"vimMode\": true}\n}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_gemini_cli_merges_and_undo_restores_bytes() {
    let dir = temp_dir("setup");
    let gdir = dir.join(".gemini");
    std::fs::create_dir_all(&gdir).expect("dir");
    std::fs::write(gdir.join(".env"), ENV).expect("env");
    std::fs::write(gdir.join("settings.json"), SETTINGS).expect("settings");
    let cfg = write_config(&dir);
    let env = [("GEMINI_CLI_HOME", dir.display().to_string())];
    let out = run(
        &[
            "setup",
            "gemini-cli",
            "--url",
            "http://127.0.0.1:4545",
            "--config",
            cfg.to_str().expect("utf-8"),
        ],
        &env,
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:4545"),
        "{stdout}"
    );
    assert!(stdout.contains("--undo"), "{stdout}");
    let env_text = std::fs::read_to_string(gdir.join(".env")).expect("env");
    assert_eq!(
        env_text,
        format!("{ENV}GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:4545\nGEMINI_API_KEY=switchyard\n")
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(gdir.join("settings.json")).expect("read"))
            .expect("json");
    assert_eq!(v["security"]["auth"]["selectedType"], "gemini-api-key");
    assert_eq!(v["general"]["vimMode"], true);

    let out = run(&["setup", "gemini-cli", "--undo"], &env).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(gdir.join(".env")).expect("env"),
        ENV
    );
    assert_eq!(
        std::fs::read_to_string(gdir.join("settings.json")).expect("s"),
        SETTINGS
    );
    let out = run(&["setup", "gemini-cli", "--undo"], &env).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to undo"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_runs_gemini_cli_through_switchyard() {
    let mut cfg = Config::default();
    cfg.providers[0].credential = Credential::None;
    let h = Switchyard::start(StartOptions {
        config: cfg,
        config_path: None,
        secrets: Arc::new(MemoryStore::default()),
        listen_override: Some("127.0.0.1:0".parse().expect("addr")),
    })
    .await
    .expect("engine");
    let dir = temp_dir("run");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let script = bin.join("gemini");
    std::fs::write(
        &script,
        "#!/bin/sh\nfor a in \"$@\"; do printf 'ARG=%s\\n' \"$a\"; done\n\
         printf 'BASE=%s\\nKEY=%s\\nAUTH=%s\\n' \"$GOOGLE_GEMINI_BASE_URL\" \"$GEMINI_API_KEY\" \"$GEMINI_DEFAULT_AUTH_TYPE\"\nexit 3\n",
    )
    .expect("script");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let cfg = write_config(&dir);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = run(
        &[
            "gemini",
            "--url",
            &h.url(),
            "--config",
            cfg.to_str().expect("utf-8"),
            "-p",
            "two words",
            "--yolo",
        ],
        &[("PATH", path)],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "gemini's exit code: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ARG=-p\nARG=two words\nARG=--yolo\n"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("BASE={}\n", h.url())), "{stdout}");
    assert!(stdout.contains("KEY=switchyard\n"), "{stdout}");
    assert!(stdout.contains("AUTH=gemini-api-key\n"), "{stdout}");
    // Nothing answers: a clear error, Gemini CLI is not started.
    let out = run(&["gemini", "--url", "http://127.0.0.1:9", "-p", "x"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not running"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    h.shutdown().await;
}
