//! Codex CLI: `switchyard codex` runs OpenAI's Codex CLI through a running Switchyard (its
//! config untouched: the provider is given on the command line), and
//! `switchyard setup codex [--undo]` points Codex's own `config.toml` at it (or puts it back).

use std::ffi::OsString;
use std::process::ExitCode;

use switchyard_core::integrations::codex;

use crate::admin::Target;
use crate::integrations::{access_token, check_running, config_of};

/// `switchyard codex [OPTIONS] [CODEX ARGS...]`.
#[derive(clap::Args)]
pub struct CodexArgs {
    /// Base URL of the running Switchyard [default: from the config's `listen`].
    #[arg(long, env = "SWITCHYARD_URL")]
    url: Option<String>,
    /// Config file used to find the address when --url is not given. (No short flags here:
    /// `-c`, `-m` ... belong to Codex.)
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Access token, when the instance requires one.
    #[arg(long, env = "SWITCHYARD_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The Codex program [default: `codex` on PATH].
    #[arg(long, env = "SWITCHYARD_CODEX", value_name = "PROGRAM")]
    codex: Option<OsString>,
    /// Arguments for Codex, passed through as they are (put `--` first if one of them is also
    /// a `switchyard codex` option).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CODEX ARGS"
    )]
    args: Vec<OsString>,
}

/// The `-c` overrides that give Codex a `switchyard` provider at `base` and select it, the way
/// `switchyard setup codex` writes them into its config.
pub fn overrides(base: &str) -> Vec<String> {
    let p = codex::PROVIDER_ID;
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    vec![
        format!("model_providers.{p}.name={}", quote("Switchyard")),
        format!(
            "model_providers.{p}.base_url={}",
            quote(&codex::codex_base_url(base))
        ),
        format!("model_providers.{p}.wire_api={}", quote("responses")),
        format!("model_providers.{p}.env_key={}", quote(codex::KEY_VAR)),
        format!("model_provider={}", quote(p)),
    ]
}

/// `switchyard codex`: check the instance answers, then run Codex pointed at it. On Unix Codex
/// replaces this process, so the terminal, signals and the exit status are all its own.
pub async fn run(a: CodexArgs) -> ExitCode {
    match prepare(&a).await {
        Ok(cmd) => exec(cmd, &a),
        Err(e) => {
            eprintln!("switchyard: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn prepare(a: &CodexArgs) -> Result<std::process::Command, String> {
    let target = Target {
        url: a.url.clone(),
        config: a.config.clone(),
        token: a.token.clone(),
    };
    let cfg = config_of(&target)?;
    let base = target.base_url()?;
    let token = access_token(&target, &cfg)?;
    check_running(&base, token.as_deref()).await?;
    let program = a.codex.clone().unwrap_or_else(|| "codex".into());
    let mut cmd = std::process::Command::new(&program);
    for o in overrides(&base) {
        cmd.arg("-c").arg(o);
    }
    cmd.args(&a.args);
    match token {
        // The instance requires its access token: that is what Codex must present.
        Some(t) => {
            cmd.env(codex::KEY_VAR, t);
        }
        // Codex refuses to start without its key variable; keyed providers never see it,
        // and a user's own key (for a provider that passes it through) is kept.
        None if std::env::var_os(codex::KEY_VAR).is_none() => {
            cmd.env(codex::KEY_VAR, "switchyard");
        }
        None => {}
    }
    Ok(cmd)
}

/// Run the client CLI `cmd` in place of this process.
fn exec(cmd: std::process::Command, a: &CodexArgs) -> ExitCode {
    let program = a.codex.clone().unwrap_or_else(|| "codex".into());
    crate::launch::exec(
        cmd,
        &crate::launch::Client {
            program: &program,
            install_hint: "install Codex CLI (npm install -g @openai/codex) or pass --codex PATH",
        },
    )
}

/// `switchyard setup codex [--undo]`.
pub fn setup(target: &Target, undo: bool) -> Result<(), String> {
    let path = codex::config_path().ok_or("cannot find the home directory (set CODEX_HOME)")?;
    if undo {
        codex::undo(&path).map_err(|e| e.to_string())?;
        println!(
            "Restored {}: Codex CLI no longer goes through Switchyard.",
            path.display()
        );
        println!("(Unchanged since setup: it is back byte for byte; otherwise only what Switchyard set was put back.)");
        return Ok(());
    }
    let cfg = config_of(target)?;
    let base = target.base_url()?;
    let token = access_token(target, &cfg)?;
    codex::configure(&path, &base).map_err(|e| e.to_string())?;
    println!("Updated {}:", path.display());
    println!("  model_provider = \"{}\"", codex::PROVIDER_ID);
    println!(
        "  [model_providers.{}] base_url = \"{}\", wire_api = \"responses\", env_key = \"{}\"",
        codex::PROVIDER_ID,
        codex::codex_base_url(&base),
        codex::KEY_VAR
    );
    let key = codex::KEY_VAR;
    if token.is_some() {
        println!(
            "This Switchyard requires its access token: set {key} to it before starting codex."
        );
    } else if std::env::var_os(key).is_none() {
        println!(
            "Codex sends ${key} as its key: set it (your own OpenAI key when a provider passes it through, any value otherwise), or start Codex with `switchyard codex`."
        );
    }
    println!("Everything else in the file is as it was. Undo: switchyard setup codex --undo");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_toml_values_naming_the_provider() {
        let o = overrides("http://127.0.0.1:3535");
        assert_eq!(
            o,
            [
                "model_providers.switchyard.name=\"Switchyard\"",
                "model_providers.switchyard.base_url=\"http://127.0.0.1:3535/v1\"",
                "model_providers.switchyard.wire_api=\"responses\"",
                "model_providers.switchyard.env_key=\"OPENAI_API_KEY\"",
                "model_provider=\"switchyard\"",
            ]
        );
    }
}
