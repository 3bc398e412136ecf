//! `switchyard providers`: add from a preset, list, remove and reorder providers in the config
//! file. Edits keep the file's comments and layout, are validated before they are written, and
//! are written atomically with a backup. A running Switchyard picks them up by itself.

use std::path::PathBuf;

use switchyard_core::config::{self, edit, Config, Credential};
use switchyard_core::presets;

/// What to do with providers.
#[derive(clap::Subcommand)]
pub enum Action {
    /// Add a provider from a built-in preset (see `providers presets`), as the lowest priority.
    Add {
        /// Preset id, e.g. deepseek, kimi, gemini, ollama.
        #[arg(long)]
        preset: String,
        /// Provider id [default: the preset id].
        #[arg(long)]
        id: Option<String>,
        /// Config file [default: as for `serve`; created if missing].
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// List configured providers in priority order.
    List {
        /// Config file [default: as for `serve`].
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Remove a provider (its stored key stays until `keys delete`).
    Remove {
        /// Provider id.
        id: String,
        /// Config file.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Change a provider's priority: --to N (1 = primary), --up or --down.
    Move {
        /// Provider id.
        id: String,
        /// New position, 1 = primary.
        #[arg(long, conflicts_with_all = ["up", "down"])]
        to: Option<usize>,
        /// One place up.
        #[arg(long)]
        up: bool,
        /// One place down.
        #[arg(long)]
        down: bool,
        /// Config file.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Show the built-in presets.
    Presets,
    /// Write providers and routing to a file without keys or tokens (stdout by default).
    Export {
        /// Output file [default: stdout].
        file: Option<PathBuf>,
        /// Config file [default: as for `serve`].
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Add the providers of an exported file to the config, then ask for their missing keys.
    Import {
        /// The exported file.
        file: PathBuf,
        /// Replace providers with the same id (and the routing settings) instead of keeping them.
        #[arg(long)]
        replace: bool,
        /// Import without asking, even when the file would read a new environment variable or
        /// stored key, send a key to a new URL or use a new proxy (for scripts; read the review
        /// it prints).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        target: crate::admin::Target,
    },
}

pub(crate) fn path_for(explicit: Option<PathBuf>) -> Result<PathBuf, String> {
    explicit
        .or_else(config::default_config_path)
        .ok_or_else(|| {
            "cannot find a config directory: pass --config FILE or set SWITCHYARD_CONFIG".into()
        })
}

/// Read the file (or start one from the built-in default), apply `f`, validate, save.
pub(crate) fn edit_file(
    path: &PathBuf,
    f: impl FnOnce(&str, &Config) -> Result<String, String>,
) -> Result<Config, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            edit::new_file(&Config::default()).map_err(|e| e.to_string())?
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let current = config::parse_str(&text, Some(path)).map_err(|e| e.to_string())?;
    let new_text = f(&text, &current)?;
    let new = config::parse_str(&new_text, Some(path))
        .map_err(|e| format!("the edit would make the config invalid: {e}"))?;
    config::save_atomic(path, new_text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(new)
}

fn print_order(cfg: &Config) {
    for (i, p) in cfg.providers.iter().enumerate() {
        println!(
            "{:>2}. {:<18} {}",
            i + 1,
            p.id,
            if p.enabled { "" } else { "(disabled)" }
        );
    }
}

/// Run a providers subcommand.
pub fn run(action: Action) -> Result<(), String> {
    match action {
        Action::Export { file, config } => crate::transfer::export(file, config),
        Action::Import {
            file,
            replace,
            yes,
            target,
        } => crate::transfer::import(&file, replace, yes, &target),
        Action::Presets => {
            println!("{:<16} {:<22} {:<10} BASE URL", "PRESET", "NAME", "KIND");
            for p in presets::all() {
                println!(
                    "{:<16} {:<22} {:<10} {}",
                    p.id,
                    p.name,
                    kind_name(p.kind),
                    p.base_url
                );
            }
            Ok(())
        }
        Action::Add { preset, id, config } => {
            let pr = presets::get(&preset).ok_or_else(|| {
                let ids: Vec<_> = presets::all().iter().map(|p| p.id).collect();
                format!("no preset {preset:?}; presets: {}", ids.join(", "))
            })?;
            let id = id.unwrap_or_else(|| pr.id.to_string());
            let provider = pr.provider(&id);
            let path = path_for(config)?;
            let cfg = edit_file(&path, |text, _| {
                edit::add_provider(text, &provider).map_err(|e| e.message)
            })?;
            println!("added {id} ({}) to {}", pr.name, path.display());
            print_order(&cfg);
            match &provider.credential {
                Credential::Keychain => {
                    println!("next: store its key with `switchyard keys set {id}`")
                }
                Credential::Env(v) => println!("next: export {v}=<key>"),
                _ => {}
            }
            if !pr.note.is_empty() {
                println!("note: {}", pr.note);
            }
            Ok(())
        }
        Action::List { config } => {
            let (cfg, path) = crate::load_config(config)?;
            match &path {
                Some(p) => println!("{}", p.display()),
                None => println!("(no config file: the built-in default)"),
            }
            println!(
                "{:>3} {:<18} {:<10} {:<14} {:<8} BASE URL",
                "#", "ID", "KIND", "CREDENTIAL", "ENABLED"
            );
            for (i, p) in cfg.providers.iter().enumerate() {
                println!(
                    "{:>3} {:<18} {:<10} {:<14} {:<8} {}",
                    i + 1,
                    p.id,
                    kind_name(p.kind),
                    p.credential.to_string(),
                    if p.enabled { "yes" } else { "no" },
                    p.base_url
                );
            }
            Ok(())
        }
        Action::Remove { id, config } => {
            let path = path_for(config)?;
            let cfg = edit_file(&path, |text, _| {
                edit::remove_provider(text, &id).map_err(|e| e.message)
            })?;
            println!("removed {id}");
            print_order(&cfg);
            Ok(())
        }
        Action::Move {
            id,
            to,
            up,
            down,
            config,
        } => {
            let path = path_for(config)?;
            let cfg = edit_file(&path, |text, current| {
                let at = current
                    .providers
                    .iter()
                    .position(|p| p.id == id)
                    .ok_or_else(|| format!("no provider {id:?}"))?;
                let target = match (to, up, down) {
                    (Some(n), _, _) if n >= 1 => n - 1,
                    (Some(_), _, _) => return Err("--to counts from 1 (1 = primary)".into()),
                    (None, true, _) => at.saturating_sub(1),
                    (None, _, true) => at + 1,
                    _ => return Err("say where: --to N, --up or --down".into()),
                };
                edit::move_provider(text, &id, target).map_err(|e| e.message)
            })?;
            print_order(&cfg);
            Ok(())
        }
    }
}

/// A kind's name as the config file writes it (`openai-responses`, not `OpenaiResponses`).
fn kind_name(kind: switchyard_core::config::ProviderKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}
