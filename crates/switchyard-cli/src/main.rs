//! `switchyard`: run the engine headless and talk to a running instance. A thin layer over
//! `switchyard_core`; no proxy logic lives here.

mod admin;
mod alloc;
mod codex;
mod gemini;
mod integrations;
mod keys;
mod launch;
mod providers;
mod routing;
mod tokens;
mod transfer;
mod usage;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use switchyard_core::config::{self, Config};
use switchyard_core::secrets::KeychainStore;
use switchyard_core::{StartOptions, Switchyard};

/// Switchyard: one local endpoint for Anthropic-API clients that fails over between providers.
#[derive(Parser)]
#[command(name = "switchyard", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy in the foreground (headless), until Ctrl-C or SIGTERM.
    Serve {
        /// Config file [default: $SWITCHYARD_CONFIG or the platform config dir's switchyard/config.toml;
        /// without a file, a built-in default forwards to Anthropic].
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Listen here instead of the config's `listen` (e.g. 127.0.0.1:0 for any free port).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Log lines as JSON instead of text.
        #[arg(long)]
        json_logs: bool,
        /// Worker threads serving requests. One core serves thousands of requests a second with
        /// the least CPU and memory per request; raise it for a busy team replica on a
        /// many-core server.
        #[arg(long, env = "SWITCHYARD_THREADS", default_value_t = 1,
              value_parser = clap::value_parser!(u16).range(1..=1024))]
        threads: u16,
    },
    /// Show the status of a running Switchyard.
    Status {
        #[command(flatten)]
        target: admin::Target,
        /// Print the raw JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pin a provider on a running Switchyard, or `auto` to go back to automatic failover.
    Switch {
        /// Provider id, or `auto`.
        provider: String,
        #[command(flatten)]
        target: admin::Target,
    },
    /// Tokens, estimated cost and budgets per provider and model of a running Switchyard.
    Usage {
        #[command(flatten)]
        target: admin::Target,
        /// How many UTC days, today included.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Print the raw JSON.
        #[arg(long)]
        json: bool,
    },
    /// The response cache of a running Switchyard.
    Cache {
        #[command(subcommand)]
        action: usage::CacheAction,
    },
    /// Check a config file and report the first problem with its line.
    Check {
        /// Config file [default: as for `serve`].
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Manage provider keys in the OS keychain (service "switchyard", user = provider id).
    Keys {
        #[command(subcommand)]
        action: keys::Action,
    },
    /// Add (from presets), list, remove, reorder, export and import providers in the config file.
    Providers {
        #[command(subcommand)]
        action: providers::Action,
    },
    /// Show or change how requests are spread: strategy, sticky sessions, weights.
    Routing {
        #[command(subcommand)]
        action: routing::RoutingAction,
    },
    /// Scenario rules: send matching requests to a chosen provider (and model).
    Rules {
        #[command(subcommand)]
        action: routing::RulesAction,
    },
    /// Client access tokens (team use on a LAN) on a running Switchyard.
    Tokens {
        #[command(subcommand)]
        action: tokens::Action,
    },
    /// Run Claude Code (`claude`) through the running Switchyard; arguments pass through.
    Code(integrations::CodeArgs),
    /// Run Codex CLI (`codex`) through the running Switchyard; arguments pass through.
    Codex(codex::CodexArgs),
    /// Run Gemini CLI (`gemini`) through the running Switchyard; arguments pass through.
    Gemini(gemini::GeminiArgs),
    /// Point a client's own settings at Switchyard (or undo it).
    Setup {
        #[command(subcommand)]
        client: integrations::SetupTarget,
    },
}

/// The config to use and where it came from: an explicit file must exist; the default path
/// may be absent, and then the embedded default serves.
fn load_config(explicit: Option<PathBuf>) -> Result<(Config, Option<PathBuf>), String> {
    if let Some(p) = explicit {
        return config::load_file(&p)
            .map(|c| (c, Some(p)))
            .map_err(|e| e.to_string());
    }
    match config::default_config_path() {
        Some(p) if p.exists() => config::load_file(&p)
            .map(|c| (c, Some(p)))
            .map_err(|e| e.to_string()),
        _ => Ok((Config::default(), None)),
    }
}

/// Logs go to stderr in batches from a background thread (`logs::batch`), so a request never
/// waits for a log write and never wakes a thread. Keep the returned guard alive: dropping it
/// writes what is buffered.
fn init_logs(json: bool) -> Result<switchyard_core::logs::batch::Flusher, String> {
    use std::io::IsTerminal;
    let (filter, problem) = switchyard_core::logs::filter("info,hyper=warn,reqwest=warn");
    if let Some(p) = problem {
        eprintln!("switchyard: {p}");
    }
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let (writer, guard) = switchyard_core::logs::batch::batched(std::io::stderr())
        .map_err(|e| format!("cannot start the log writer thread: {e}"))?;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    // The level is the filter's to decide (the builder's own default would cap it at info).
    let b = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(ansi)
        .with_writer(writer);
    if json {
        b.json().finish().with(filter).init();
    } else {
        // Every value escaped: a model name or an upstream's error text cannot forge a line.
        b.fmt_fields(switchyard_core::logs::fields())
            .finish()
            .with(filter)
            .init();
    }
    Ok(guard)
}

async fn serve(
    config: Option<PathBuf>,
    listen: Option<SocketAddr>,
    json_logs: bool,
) -> Result<(), String> {
    let _logs = init_logs(json_logs)?;
    let (cfg, path) = load_config(config)?;
    match &path {
        Some(p) => tracing::info!(config = %p.display(), providers = cfg.providers.len(), "config loaded"),
        None => tracing::info!(
            "no config file at {}; using the built-in default (one provider: Anthropic, passing the client's key through)",
            config::default_config_path().map(|p| p.display().to_string()).unwrap_or_else(|| "the default path".into())
        ),
    }
    let handle = Switchyard::start(StartOptions {
        config: cfg,
        config_path: path,
        secrets: Arc::new(KeychainStore),
        listen_override: listen,
    })
    .await
    .map_err(|e| e.to_string())?;
    alloc::return_freed_memory();
    // Machine-readable first line for scripts and tests.
    println!("switchyard listening on {}", handle.url());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tracing::info!(
        "base URL for Anthropic clients: {url}; for OpenAI-compatible clients: {url}/v1",
        url = handle.url()
    );
    shutdown_signal().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn check(config: Option<PathBuf>) -> Result<(), String> {
    let (cfg, path) = load_config(config)?;
    // Everything `serve` checks, the keychain and the environment included.
    switchyard_core::check_config(
        &cfg,
        &switchyard_core::secrets::KeychainStore,
        path.as_deref(),
    )
    .map_err(|e| e.to_string())?;
    match path {
        Some(p) => println!(
            "{}: OK ({} provider{}: {})",
            p.display(),
            cfg.providers.len(),
            if cfg.providers.len() == 1 { "" } else { "s" },
            cfg.providers
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => println!(
            "no config file; the built-in default is used (one provider: anthropic, passthrough)"
        ),
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let threads = match &cli.command {
        Command::Serve { threads, .. } => usize::from(*threads),
        _ => 1,
    };
    // A multi-thread runtime even with one worker: a very large request is translated off the
    // worker (`block_in_place`), which a current-thread runtime cannot do.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("switchyard: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Serve {
            config,
            listen,
            json_logs,
            threads: _,
        } => serve(config, listen, json_logs).await,
        Command::Status { target, json } => admin::status(&target, json).await,
        Command::Switch { provider, target } => admin::switch(&target, &provider).await,
        Command::Usage { target, days, json } => usage::run(&target, days, json).await,
        Command::Cache { action } => usage::cache(action).await,
        Command::Check { config } => check(config),
        Command::Keys { action } => keys::run(action).await,
        Command::Providers { action } => providers::run(action),
        Command::Routing { action } => routing::run_routing(action),
        Command::Rules { action } => routing::run_rules(action),
        Command::Tokens { action } => tokens::run(action).await,
        Command::Code(args) => return integrations::code(args).await,
        Command::Codex(args) => return codex::run(args).await,
        Command::Gemini(args) => return gemini::gemini(args).await,
        Command::Setup { client } => integrations::setup(client),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchyard: {e}");
            ExitCode::FAILURE
        }
    }
}
