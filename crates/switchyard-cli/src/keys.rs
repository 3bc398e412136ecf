//! `switchyard keys`: provider keys in the OS keychain. Keys are read from stdin or a no-echo
//! prompt, trimmed and validated, and never printed.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use switchyard_core::config::{self, Credential};
use switchyard_core::routing::keys::{pool_size, slot_name};
use switchyard_core::secrets::{KeychainStore, Secret, SecretStore};

/// What to do with keys.
#[derive(clap::Subcommand)]
pub enum Action {
    /// Store a key: reads it from stdin when piped, else asks without echo. Also
    /// `proxy:global` / `proxy:<provider-id>` for a proxy password, `access-token` for the
    /// client access token, `redis` for the team's Redis password ([cluster]).
    Set {
        /// Provider id (or `access-token`, `proxy:global`, `proxy:<provider-id>`, `redis`).
        id: String,
        /// Which key of the provider's pool (1 = the first; see `keys add`).
        #[arg(long)]
        slot: Option<u32>,
        #[command(flatten)]
        target: crate::admin::Target,
    },
    /// Add one more key to a provider's pool: stores it in the next slot and raises the
    /// provider's `keys` in the config file.
    Add {
        /// Provider id.
        id: String,
        #[command(flatten)]
        target: crate::admin::Target,
    },
    /// Delete a stored key (with --slot: one key of a pool).
    Delete {
        /// Provider id (or `access-token`, `proxy:global`, `proxy:<provider-id>`).
        id: String,
        /// Which key of the provider's pool.
        #[arg(long)]
        slot: Option<u32>,
    },
    /// Show which providers have keys, and how many of their pool are set (never the keys).
    List {
        /// Config file [default: as for `serve`].
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

/// The secret-store name for a provider id and an optional 1-based slot.
fn store_name(id: &str, slot: Option<u32>) -> Result<String, String> {
    match slot {
        None | Some(1) => Ok(id.to_string()),
        Some(0) => Err("--slot counts from 1".into()),
        Some(n) if n > config::MAX_KEYS => {
            Err(format!("--slot must be at most {}", config::MAX_KEYS))
        }
        Some(n) if id.contains(':') || id == "access-token" || id == config::REDIS_SECRET => Err(
            format!("{id} holds a single secret; --slot {n} is for provider key pools"),
        ),
        Some(n) => Ok(slot_name(id, n as usize - 1)),
    }
}

async fn store(name: String, secret: Secret) -> Result<(), String> {
    tokio::task::spawn_blocking(move || KeychainStore.set(&name, &secret))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

fn read_key(id: &str) -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Key for {id} (input hidden): "))
            .map_err(|e| e.to_string())
    } else {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| e.to_string())?;
        Ok(s)
    }
}

fn valid_id(id: &str) -> Result<(), String> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    let ok = match id.strip_prefix("proxy:") {
        Some(rest) => plain(rest),
        None => plain(id),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{id:?} is not a provider id (a-z, 0-9 and -), `access-token`, `proxy:global` or `proxy:<provider-id>`"
        ))
    }
}

/// Run a keys subcommand.
pub async fn run(action: Action) -> Result<(), String> {
    match action {
        Action::Set { id, slot, target } => {
            valid_id(&id)?;
            let name = store_name(&id, slot)?;
            let secret = Secret::new(&read_key(&name)?).map_err(|e| e.to_string())?;
            let hint = secret.hint();
            store(name.clone(), secret).await?;
            println!("stored {name} in the OS keychain ({hint})");
            crate::admin::refresh_keys(&target).await;
            Ok(())
        }
        Action::Add { id, target } => {
            valid_id(&id)?;
            let path = crate::providers::path_for(target.config.clone())?;
            let (cfg, _) = crate::load_config(Some(path.clone()))?;
            let p = cfg
                .provider(&id)
                .ok_or_else(|| format!("no provider {id:?} in {}", path.display()))?;
            if !matches!(p.credential, Credential::Keychain) {
                return Err(format!(
                    "{id} takes its key from {}: key pools are for credential = \"keychain\" (or list several variables: env:A,B)",
                    p.credential
                ));
            }
            let n = p.keys + 1;
            if n > config::MAX_KEYS {
                return Err(format!(
                    "{id} already has {} keys (the most a pool holds)",
                    p.keys
                ));
            }
            let name = slot_name(&id, n as usize - 1);
            let secret = Secret::new(&read_key(&name)?).map_err(|e| e.to_string())?;
            let hint = secret.hint();
            store(name.clone(), secret).await?;
            crate::providers::edit_file(&path, |text, _| {
                config::edit::set_provider_keys(text, &id, n).map_err(|e| e.message)
            })?;
            println!("stored {name} in the OS keychain ({hint}); {id} now rotates over {n} keys");
            crate::admin::refresh_keys(&target).await;
            Ok(())
        }
        Action::Delete { id, slot } => {
            valid_id(&id)?;
            let name = store_name(&id, slot)?;
            let n2 = name.clone();
            let existed = tokio::task::spawn_blocking(move || KeychainStore.delete(&n2))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            if existed {
                println!("deleted {name}");
                Ok(())
            } else {
                Err(format!("nothing stored as {name}"))
            }
        }
        Action::List { config } => {
            let (cfg, _) = crate::load_config(config)?;
            tokio::task::spawn_blocking(move || {
                println!("{:<18} {:<22} KEYS", "PROVIDER", "CREDENTIAL");
                for p in &cfg.providers {
                    println!(
                        "{:<18} {:<22} {}",
                        p.id,
                        p.credential.to_string(),
                        describe(p)
                    );
                }
            })
            .await
            .map_err(|e| e.to_string())
        }
    }
}

/// What `keys list` says about one provider's keys.
fn describe(p: &config::Provider) -> String {
    let n = pool_size(p);
    match &p.credential {
        Credential::Keychain => {
            let mut set = Vec::new();
            let mut missing = Vec::new();
            for i in 0..n {
                match KeychainStore.get(&slot_name(&p.id, i)) {
                    Ok(Some(s)) => set.push(s.hint()),
                    Ok(None) => missing.push(i + 1),
                    Err(e) => return format!("unknown: {e}"),
                }
            }
            match (set.len(), n) {
                (0, 1) => format!("not set — run `switchyard keys set {}`", p.id),
                (1, 1) => format!("set ({})", set[0]),
                _ if missing.is_empty() => format!("{n} of {n} set ({})", set.join(", ")),
                _ => format!(
                    "{} of {n} set; missing slot {} — run `switchyard keys set {} --slot N`",
                    set.len(),
                    missing
                        .iter()
                        .map(|m| m.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    p.id
                ),
            }
        }
        Credential::Env(vars) => {
            let list: Vec<&str> = vars.split(',').map(str::trim).collect();
            let set = list
                .iter()
                .filter(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()))
                .count();
            if list.len() == 1 {
                if set == 1 {
                    "set (from the environment)".into()
                } else {
                    format!("not set — export {}", list[0])
                }
            } else {
                format!("{set} of {} set (from the environment)", list.len())
            }
        }
        Credential::Passthrough => "the client's own key".into(),
        Credential::None => "none needed".into(),
    }
}
