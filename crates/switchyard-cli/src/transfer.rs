//! `switchyard providers export [FILE]` and `switchyard providers import FILE [--replace]`:
//! providers and routing as a file without secrets, and back (see
//! `switchyard_core::config::portable`). Import asks for each key the keychain is missing.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use switchyard_core::config::portable::{self, ImportMode};
use switchyard_core::config::{self, edit, Config};
use switchyard_core::import_review::{self, Review};
use switchyard_core::secrets::{KeychainStore, Secret, SecretStore};

/// `providers export`: to FILE, or stdout.
pub fn export(file: Option<PathBuf>, config: Option<PathBuf>) -> Result<(), String> {
    let (cfg, _) = crate::load_config(config)?;
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let text = portable::export(&cfg, &now).map_err(|e| e.to_string())?;
    match file {
        Some(f) if f.as_os_str() != "-" => {
            config::write_atomic(&f, text.as_bytes()).map_err(|e| e.to_string())?;
            eprintln!(
                "exported {} providers to {} (no keys in it)",
                cfg.providers.len(),
                f.display()
            );
        }
        _ => {
            std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// `providers import FILE [--replace] [--yes]`: show what the file would use, ask before any
/// risk (see `switchyard_core::import_review`), merge into the config file, then ask
/// for missing keys.
pub fn import(
    file: &Path,
    replace: bool,
    yes: bool,
    target: &crate::admin::Target,
) -> Result<(), String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let path = target
        .config
        .clone()
        .or_else(config::default_config_path)
        .ok_or("cannot find a config directory: pass --config FILE or set SWITCHYARD_CONFIG")?;
    let current = if path.exists() {
        config::load_file(&path).map_err(|e| e.to_string())?
    } else {
        Config::default()
    };
    let mode = if replace {
        ImportMode::Replace
    } else {
        ImportMode::Merge
    };
    let got = portable::import(&current, &text, Some(file), mode).map_err(|e| e.to_string())?;
    let review = import_review::review(&current, &got, &KeychainStore);
    confirm(&review, file, yes)?;
    // Keep the user's comments and layout when there is a file to merge into.
    let new_text = match std::fs::read_to_string(&path)
        .ok()
        .and_then(|old| config::update_document(&old, &got.config).ok())
    {
        Some(t) => t,
        None => edit::new_file(&got.config).map_err(|e| e.to_string())?,
    };
    config::save_atomic(&path, new_text.as_bytes()).map_err(|e| e.to_string())?;
    println!(
        "imported into {} (the previous file is kept as .bak)",
        path.display()
    );
    let list = |v: &[String]| v.join(", ");
    if !got.added.is_empty() {
        println!("  added: {}", list(&got.added));
    }
    if !got.replaced.is_empty() {
        println!("  replaced: {}", list(&got.replaced));
    }
    if !got.kept.is_empty() {
        println!(
            "  already there, kept as they were: {} (use --replace to overwrite them)",
            list(&got.kept)
        );
    }
    for (id, var) in portable::missing_env(&got.config, got.imported_ids()) {
        println!("  {id} reads its key from ${var}, which is not set: export {var}=<key>");
    }
    let missing = portable::missing_keys(&got.config, got.imported_ids(), &KeychainStore);
    if missing.is_empty() {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        println!(
            "  keys needed (not asked: no terminal): {}. Store each with `switchyard keys set <id>`.",
            list(&missing)
        );
        return Ok(());
    }
    let mut stored = 0;
    for id in &missing {
        let label = match id.split_once('#') {
            Some((provider, n)) => format!("Key {n} of {provider}'s pool"),
            None => format!("Key for {id}"),
        };
        let typed = rpassword::prompt_password(format!("{label} (input hidden; empty to skip): "))
            .map_err(|e| e.to_string())?;
        if typed.trim().is_empty() {
            println!("  skipped {id}: store it later with `switchyard keys set {id}`");
            continue;
        }
        let secret = Secret::new(&typed).map_err(|e| format!("{id}: {e}"))?;
        KeychainStore
            .set(id, &secret)
            .map_err(|e| format!("{id}: {e}"))?;
        println!(
            "  stored the key for {id} in the OS keychain ({})",
            secret.hint()
        );
        stored += 1;
    }
    if stored > 0 {
        refresh_running(target);
    }
    Ok(())
}

/// Tell a running Switchyard to re-read keys (best effort: it may not be running).
fn refresh_running(target: &crate::admin::Target) {
    let target = target.clone();
    let _ = std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            rt.block_on(crate::admin::refresh_keys(&target));
        }
    })
    .join();
}

/// Print what the import would use; when it lists a risk, ask (or, without a terminal,
/// refuse unless `--yes`). Nothing is written before this returns `Ok`.
fn confirm(review: &Review, file: &Path, yes: bool) -> Result<(), String> {
    if !review.providers.is_empty() {
        println!("{} would add or replace:", file.display());
    }
    for p in &review.providers {
        let kind = serde_json::to_value(p.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let proxy = p
            .proxy
            .as_deref()
            .map(|x| format!(", proxy {x}"))
            .unwrap_or_default();
        println!(
            "  {} ({}, {kind}): {}, key from {}{proxy}",
            p.id, p.change, p.base_url, p.credential
        );
    }
    if !review.needs_confirmation() {
        return Ok(());
    }
    println!("This file would use secrets in new places:");
    for (id, risk) in review.risks() {
        match id {
            Some(id) => println!("  ! {id} {}", risk.describe()),
            None => println!("  ! {}", risk.describe()),
        }
    }
    if yes {
        println!("Importing anyway (--yes).");
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(
            "nothing imported: the file needs your confirmation (see above). Run it in a terminal to be asked, or add --yes if you trust the file"
                .into(),
        );
    }
    print!("Import it anyway? [y/N] ");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err("nothing imported".into())
    }
}
