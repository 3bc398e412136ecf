//! `switchyard keys`: provider keys in the OS keychain. Keys are read from stdin or a no-echo
//! prompt, trimmed and validated, and never printed.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use switchyard_core::config::Credential;
use switchyard_core::secrets::{KeychainStore, Secret, SecretStore};

/// What to do with keys.
#[derive(clap::Subcommand)]
pub enum Action {
    /// Store a key: reads it from stdin when piped, else asks without echo.
    Set {
        /// Provider id (or `access-token` for the client access token).
        id: String,
        #[command(flatten)]
        target: crate::admin::Target,
    },
    /// Delete a stored key.
    Delete {
        /// Provider id.
        id: String,
    },
    /// Show which providers have a key (never the key itself).
    List {
        /// Config file [default: as for `serve`].
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
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
    if !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        Ok(())
    } else {
        Err(format!("{id:?} is not a provider id (a-z, 0-9 and -)"))
    }
}

/// Run a keys subcommand.
pub async fn run(action: Action) -> Result<(), String> {
    match action {
        Action::Set { id, target } => {
            valid_id(&id)?;
            let secret = Secret::new(&read_key(&id)?).map_err(|e| e.to_string())?;
            let hint = secret.hint();
            let id2 = id.clone();
            tokio::task::spawn_blocking(move || KeychainStore.set(&id2, &secret))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            println!("stored the key for {id} in the OS keychain ({hint})");
            crate::admin::refresh_keys(&target).await;
            Ok(())
        }
        Action::Delete { id } => {
            valid_id(&id)?;
            let id2 = id.clone();
            let existed = tokio::task::spawn_blocking(move || KeychainStore.delete(&id2))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            if existed {
                println!("deleted the key for {id}");
                Ok(())
            } else {
                Err(format!("no key stored for {id}"))
            }
        }
        Action::List { config } => {
            let (cfg, _) = crate::load_config(config)?;
            tokio::task::spawn_blocking(move || {
                println!("{:<18} {:<22} KEY", "PROVIDER", "CREDENTIAL");
                for p in &cfg.providers {
                    let state = match &p.credential {
                        Credential::Keychain => match KeychainStore.get(&p.id) {
                            Ok(Some(s)) => format!("set ({})", s.hint()),
                            Ok(None) => format!("not set — run `switchyard keys set {}`", p.id),
                            Err(e) => format!("unknown: {e}"),
                        },
                        Credential::Env(v) => match std::env::var(v) {
                            Ok(s) if !s.trim().is_empty() => "set (from the environment)".into(),
                            _ => format!("not set — export {v}"),
                        },
                        Credential::Passthrough => "the client's own key".into(),
                        Credential::None => "none needed".into(),
                    };
                    println!("{:<18} {:<22} {}", p.id, p.credential.to_string(), state);
                }
            })
            .await
            .map_err(|e| e.to_string())
        }
    }
}
