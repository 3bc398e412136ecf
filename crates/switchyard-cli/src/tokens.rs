//! `switchyard tokens`: client access tokens on a running Switchyard (through its admin API,
//! which stores each value in the OS keychain and only names and rates in the config).

use clap::Subcommand;
use serde_json::{json, Value};

use crate::admin::{call, Target};

/// What to do with tokens.
#[derive(Subcommand)]
pub enum Action {
    /// Create a token; its value is printed once (give it to the client, e.g. as its API key).
    Add {
        /// Name: 1-64 characters of a-z, 0-9, - and _ (e.g. "laptop").
        name: String,
        /// Requests per minute allowed for this token (default: no limit).
        #[arg(long)]
        rate: Option<u32>,
        #[command(flatten)]
        target: Target,
    },
    /// List tokens: name, rate, created, last used, requests (never the values).
    List {
        /// Print the raw JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Delete a token; clients using it are refused at once.
    Remove {
        /// Token name.
        name: String,
        #[command(flatten)]
        target: Target,
    },
}

fn time(v: &Value) -> String {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
}

/// Runs a `tokens` command.
pub async fn run(action: Action) -> Result<(), String> {
    match action {
        Action::Add { name, rate, target } => {
            let body = json!({ "name": name, "rate_per_minute": rate });
            let v = call(&target, reqwest::Method::POST, "/api/tokens", Some(body)).await?;
            let value = v["token"].as_str().ok_or("no token in the answer")?;
            let limit = rate.filter(|r| *r > 0).map_or_else(
                || "no rate limit".to_string(),
                |r| format!("{r} requests/minute"),
            );
            eprintln!("Created token {name:?} ({limit}). Its value, shown only this once:");
            println!("{value}");
            eprintln!(
                "Clients send it as their API key (x-api-key or Authorization: Bearer) or as x-switchyard-token."
            );
            Ok(())
        }
        Action::List { json, target } => {
            let v = call(&target, reqwest::Method::GET, "/api/tokens", None).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                return Ok(());
            }
            let list = v["tokens"].as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                println!("no access tokens (create one with `switchyard tokens add <name>`)");
                return Ok(());
            }
            println!(
                "{:<20} {:>9} {:<17} {:<17} {:>9}",
                "NAME", "RATE/MIN", "CREATED", "LAST USED", "REQUESTS"
            );
            for t in list {
                let rate = t["rate_per_minute"]
                    .as_u64()
                    .map_or_else(|| "-".into(), |r| r.to_string());
                let note = if t["usable"] == false {
                    "  (no stored value: unusable)"
                } else {
                    ""
                };
                println!(
                    "{:<20} {:>9} {:<17} {:<17} {:>9}{note}",
                    t["name"].as_str().unwrap_or("?"),
                    rate,
                    time(&t["created"]),
                    time(&t["last_used"]),
                    t["requests"].as_u64().unwrap_or(0),
                );
            }
            Ok(())
        }
        Action::Remove { name, target } => {
            if !switchyard_core::access_tokens::valid_name(&name) {
                return Err(format!(
                    "{name:?} is not a token name (1-64 characters of a-z, 0-9, - and _)"
                ));
            }
            let path = format!("/api/tokens/{name}");
            call(&target, reqwest::Method::DELETE, &path, None).await?;
            println!("deleted token {name:?}");
            Ok(())
        }
    }
}
