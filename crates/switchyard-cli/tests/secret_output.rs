//! A key written into a config file by mistake never comes back in the CLI's error output,
//! whatever the mistake looks like (issue 5, security tests: "crash output").

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

#[test]
fn config_errors_never_echo_a_key() {
    let dir = std::env::temp_dir().join(format!("sy-cli-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let key = "sk-ant-api03-LEAKCHECK-0123456789abcdef";
    let head = "[[providers]]\nid = \"x\"\nkind = \"anthropic\"\nbase_url = \"https://api.anthropic.com\"\n";
    let cases = [
        format!("{head}credential = \"{key}\"\n"),
        format!("{head}api_key = \"{key}\"\n"),
        format!("{head}credential = \"{key}\n"),
        format!("{head}credential = {key}\n"),
        format!("{head}credential = \"env:{key}\"\nbogus = [\n"),
        format!("listen = \"{key}\"\n"),
    ];
    for (i, text) in cases.iter().enumerate() {
        let path = dir.join(format!("bad{i}.toml"));
        std::fs::write(&path, text).expect("write");
        for args in [
            vec!["check", "-c"],
            vec!["serve", "--listen", "127.0.0.1:0", "-c"],
        ] {
            let out = Command::new(BIN)
                .args(&args)
                .arg(&path)
                .env("RUST_LOG", "trace")
                .env("NO_COLOR", "1")
                .output()
                .expect("runs");
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!out.status.success(), "case {i} {args:?} accepted: {all}");
            assert!(
                all.contains(&format!("bad{i}.toml:")),
                "case {i} {args:?}: names file:line: {all}"
            );
            assert!(
                !all.contains("LEAKCHECK"),
                "case {i} {args:?} leaked: {all}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
