//! Client integrations: `switchyard code` runs Claude Code through a running Switchyard, and
//! `switchyard setup claude-code [--undo]` points Claude Code's own settings at it (or puts
//! them back).

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use switchyard_core::access_tokens;
use switchyard_core::config::Config;
use switchyard_core::context_window;
use switchyard_core::integrations::claude_code;
use switchyard_core::secrets::KeychainStore;

use crate::admin::Target;

/// `switchyard code [OPTIONS] [CLAUDE ARGS...]`.
#[derive(clap::Args)]
pub struct CodeArgs {
    /// Base URL of the running Switchyard [default: from the config's `listen`].
    #[arg(long, env = "SWITCHYARD_URL")]
    url: Option<String>,
    /// Config file used to find the address when --url is not given. (No short flags here:
    /// `-c`, `-p` ... belong to Claude Code.)
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Access token, when the instance requires one.
    #[arg(long, env = "SWITCHYARD_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The Claude Code program [default: `claude` on PATH].
    #[arg(long, env = "SWITCHYARD_CLAUDE", value_name = "PROGRAM")]
    claude: Option<OsString>,
    /// Arguments for Claude Code, passed through as they are (put `--` first if one of them
    /// is also a `switchyard code` option).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CLAUDE ARGS"
    )]
    args: Vec<OsString>,
}

/// `switchyard setup <client>`.
#[derive(clap::Subcommand)]
pub enum SetupTarget {
    /// Set ANTHROPIC_BASE_URL (and, when needed, ANTHROPIC_AUTH_TOKEN) in Claude Code's
    /// settings.json ($CLAUDE_CONFIG_DIR or ~/.claude); everything else in the file stays.
    ClaudeCode {
        #[command(flatten)]
        target: Target,
        /// Put the settings back as they were before.
        #[arg(long)]
        undo: bool,
    },
    /// Add a `switchyard` provider (wire_api = "responses") to Codex CLI's config.toml
    /// ($CODEX_HOME or ~/.codex) and select it; every other line and comment stays.
    Codex {
        #[command(flatten)]
        target: Target,
        /// Put the config back as it was before.
        #[arg(long)]
        undo: bool,
    },
    /// Set GOOGLE_GEMINI_BASE_URL (and, when needed, GEMINI_API_KEY) in ~/.gemini/.env and the
    /// API-key auth type in ~/.gemini/settings.json; everything else in both files stays.
    GeminiCli {
        #[command(flatten)]
        target: Target,
        /// Put both files back as they were before.
        #[arg(long)]
        undo: bool,
    },
}

/// The config for finding the address and the auth rule.
pub(crate) fn config_of(target: &Target) -> Result<Config, String> {
    crate::load_config(target.config.clone()).map(|(c, _)| c)
}

/// The client access token: `--token` / `SWITCHYARD_TOKEN`, else where the config keeps it.
pub(crate) fn access_token(target: &Target, cfg: &Config) -> Result<Option<String>, String> {
    if let Some(t) = &target.token {
        return Ok(Some(t.clone()));
    }
    access_tokens::main_token(cfg, &KeychainStore)
        .map(|t| t.map(|s| s.expose().to_string()))
        .map_err(|e| format!("{e}: pass --token or set SWITCHYARD_TOKEN"))
}

/// Does a Switchyard answer at `base`?
pub(crate) async fn check_running(base: &str, token: Option<&str>) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let mut req = client.get(format!("{base}/v1/health"));
    if let Some(t) = token {
        req = req.header("x-switchyard-token", t);
    }
    let resp = req.send().await.map_err(|e| {
        format!(
            "Switchyard is not running at {base} ({e}).\n\
             Start it first (the desktop app, or `switchyard serve` in another terminal), \
             or pass --url to reach another instance."
        )
    })?;
    match resp.status().as_u16() {
        200..=299 => Ok(()),
        401 => Err(format!(
            "Switchyard at {base} requires an access token: pass --token or set SWITCHYARD_TOKEN"
        )),
        s => Err(format!(
            "{base}/v1/health answered HTTP {s}: is that really Switchyard? (check --url)"
        )),
    }
}

/// `switchyard code`: check the instance answers, then run Claude Code with
/// `ANTHROPIC_BASE_URL` pointing at it. On Unix Claude Code replaces this process, so the
/// terminal, signals and the exit status are all its own.
pub async fn code(a: CodeArgs) -> ExitCode {
    match prepare(&a).await {
        Ok(cmd) => run(cmd, &a),
        Err(e) => {
            eprintln!("switchyard: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn prepare(a: &CodeArgs) -> Result<std::process::Command, String> {
    let target = Target {
        url: a.url.clone(),
        config: a.config.clone(),
        token: a.token.clone(),
    };
    let cfg = config_of(&target)?;
    let base = target.base_url()?;
    let token = access_token(&target, &cfg)?;
    check_running(&base, token.as_deref()).await?;
    let program = a.claude.clone().unwrap_or_else(|| "claude".into());
    let mut cmd = std::process::Command::new(&program);
    cmd.args(&a.args).env(claude_code::BASE_URL_VAR, &base);
    if let Some(auth) = claude_code::auth_for(&cfg, token.as_deref()) {
        cmd.env(claude_code::AUTH_VAR, auth);
    }
    // Compact before the smallest provider's context window fills.
    cmd.envs(context_window::claude_code_env(&cfg));
    Ok(cmd)
}

/// Run the client CLI `cmd` in place of this process.
fn run(cmd: std::process::Command, a: &CodeArgs) -> ExitCode {
    let program = a.claude.clone().unwrap_or_else(|| "claude".into());
    crate::launch::exec(
        cmd,
        &crate::launch::Client {
            program: &program,
            install_hint: "install Claude Code (npm install -g @anthropic-ai/claude-code) or pass --claude PATH",
        },
    )
}

/// `switchyard setup ...`.
pub fn setup(t: SetupTarget) -> Result<(), String> {
    match t {
        SetupTarget::ClaudeCode { target, undo } => setup_claude_code(&target, undo),
        SetupTarget::GeminiCli { target, undo } => crate::gemini::setup(&target, undo),
        SetupTarget::Codex { target, undo } => crate::codex::setup(&target, undo),
    }
}

fn setup_claude_code(target: &Target, undo: bool) -> Result<(), String> {
    let path = claude_code::settings_path()
        .ok_or("cannot find the home directory (set CLAUDE_CONFIG_DIR)")?;
    if undo {
        claude_code::undo(&path).map_err(|e| e.to_string())?;
        println!(
            "Restored {}: Claude Code no longer goes through Switchyard.",
            path.display()
        );
        println!("(Unchanged since setup: it is back byte for byte; otherwise only the variables Switchyard set were put back.)");
        return Ok(());
    }
    let cfg = config_of(target)?;
    let base = target.base_url()?;
    let token = access_token(target, &cfg)?;
    let applied =
        claude_code::set_up(&path, &cfg, &base, token.as_deref()).map_err(|e| e.to_string())?;
    let (auth, hints) = (applied.auth, applied.hints);
    println!("Updated {}:", path.display());
    println!("  env.{} = {base}", claude_code::BASE_URL_VAR);
    match (&auth, token.is_some()) {
        (Some(_), true) => println!(
            "  env.{} = (this Switchyard's access token)",
            claude_code::AUTH_VAR
        ),
        (Some(a), false) => println!(
            "  env.{} = {a:?} (a placeholder so Claude Code does not ask for a login; your providers' keys stay in the keychain)",
            claude_code::AUTH_VAR
        ),
        (None, _) => println!(
            "  env.{} not set: the first provider passes your own Claude login through",
            claude_code::AUTH_VAR
        ),
    }
    if let Some(w) = context_window::smallest(&cfg).filter(|_| !hints.is_empty()) {
        let set: Vec<String> = hints.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        println!(
            "  env.{} (the smallest provider takes {w} tokens: Claude Code compacts before that)",
            set.join(", env.")
        );
    }
    println!("Everything else in the file is as it was. Undo: switchyard setup claude-code --undo");
    Ok(())
}
