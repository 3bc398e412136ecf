//! Gemini CLI: `switchyard gemini ...` runs Gemini CLI through a running Switchyard, and
//! `switchyard setup gemini-cli [--undo]` points Gemini CLI's own files (`~/.gemini/.env` and
//! `settings.json`) at it, or puts them back.

use std::ffi::OsString;
use std::process::ExitCode;

use switchyard_core::integrations::gemini_cli;

use crate::admin::Target;
use crate::integrations::{access_token, check_running, config_of};

/// `switchyard gemini [OPTIONS] [GEMINI ARGS...]`.
#[derive(clap::Args)]
pub struct GeminiArgs {
    /// Base URL of the running Switchyard [default: from the config's `listen`].
    #[arg(long, env = "SWITCHYARD_URL")]
    url: Option<String>,
    /// Config file used to find the address when --url is not given. (No short flags here:
    /// `-p`, `-m` ... belong to Gemini CLI.)
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Access token, when the instance requires one.
    #[arg(long, env = "SWITCHYARD_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The Gemini CLI program [default: `gemini` on PATH].
    #[arg(long, env = "SWITCHYARD_GEMINI", value_name = "PROGRAM")]
    gemini: Option<OsString>,
    /// Arguments for Gemini CLI, passed through as they are (put `--` first if one of them is
    /// also a `switchyard gemini` option).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "GEMINI ARGS"
    )]
    args: Vec<OsString>,
}

/// `switchyard gemini`: check the instance answers, then run Gemini CLI with
/// `GOOGLE_GEMINI_BASE_URL` pointing at it and the API-key auth type chosen. On Unix Gemini CLI
/// replaces this process, so the terminal, signals and the exit status are all its own.
pub async fn gemini(a: GeminiArgs) -> ExitCode {
    let target = Target {
        url: a.url.clone(),
        config: a.config.clone(),
        token: a.token.clone(),
    };
    let prepared = async {
        let cfg = config_of(&target)?;
        let base = target.base_url()?;
        let token = access_token(&target, &cfg)?;
        check_running(&base, token.as_deref()).await?;
        let program = a.gemini.clone().unwrap_or_else(|| "gemini".into());
        let mut cmd = std::process::Command::new(&program);
        cmd.args(&a.args)
            .env(gemini_cli::BASE_URL_VAR, &base)
            // Without the API-key auth type Gemini CLI refuses a custom base URL.
            .env("GEMINI_DEFAULT_AUTH_TYPE", gemini_cli::AUTH_TYPE);
        if let Some(key) = gemini_cli::key_for(&cfg, token.as_deref()) {
            cmd.env(gemini_cli::KEY_VAR, key);
        }
        Ok::<_, String>(cmd)
    };
    match prepared.await {
        Ok(cmd) => run(cmd, &a),
        Err(e) => {
            eprintln!("switchyard: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Run the client CLI `cmd` in place of this process.
fn run(cmd: std::process::Command, a: &GeminiArgs) -> ExitCode {
    let program = a.gemini.clone().unwrap_or_else(|| "gemini".into());
    crate::launch::exec(
        cmd,
        &crate::launch::Client {
            program: &program,
            install_hint:
                "install Gemini CLI (npm install -g @google/gemini-cli) or pass --gemini PATH",
        },
    )
}

/// `switchyard setup gemini-cli [--undo]`.
pub fn setup(target: &Target, undo: bool) -> Result<(), String> {
    let dir = gemini_cli::gemini_dir().ok_or("cannot find the home directory for ~/.gemini")?;
    if undo {
        gemini_cli::undo(&dir).map_err(|e| e.to_string())?;
        println!(
            "Restored {} and {}: Gemini CLI no longer goes through Switchyard.",
            gemini_cli::env_path(&dir).display(),
            gemini_cli::settings_path(&dir).display()
        );
        return Ok(());
    }
    let cfg = config_of(target)?;
    let base = target.base_url()?;
    let token = access_token(target, &cfg)?;
    let applied =
        gemini_cli::set_up(&dir, &cfg, &base, token.as_deref()).map_err(|e| e.to_string())?;
    println!("Gemini CLI now goes through Switchyard:");
    println!(
        "  {}: {}={base}",
        gemini_cli::env_path(&dir).display(),
        gemini_cli::BASE_URL_VAR
    );
    match &applied.key {
        Some(k) if token.as_deref() == Some(k.as_str()) => println!(
            "  {}: {}=<the access token>",
            gemini_cli::env_path(&dir).display(),
            gemini_cli::KEY_VAR
        ),
        Some(k) => println!(
            "  {}: {}={k} (a placeholder: Gemini CLI needs a key, your providers' keys stay in the keychain)",
            gemini_cli::env_path(&dir).display(),
            gemini_cli::KEY_VAR
        ),
        None => println!(
            "  {} not set by Switchyard: your own key is used",
            gemini_cli::KEY_VAR
        ),
    }
    println!(
        "  {}: security.auth.selectedType = \"{}\"",
        gemini_cli::settings_path(&dir).display(),
        gemini_cli::AUTH_TYPE
    );
    println!(
        "Everything else in both files is as it was. Undo: switchyard setup gemini-cli --undo"
    );
    Ok(())
}
