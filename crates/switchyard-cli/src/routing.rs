//! `switchyard routing` (strategy, sticky sessions, weights) and `switchyard rules` (scenario
//! rules). Edits keep the file's comments, are validated before they are written and are
//! written atomically with a backup; a running Switchyard picks them up by itself.

use std::path::PathBuf;

use switchyard_core::config::{edit, Config, Rule, Strategy};

use crate::providers::{edit_file, path_for};

/// What to do with the routing settings.
#[derive(clap::Subcommand)]
pub enum RoutingAction {
    /// Show the strategy, sticky sessions, provider weights and rules.
    Show {
        /// Config file [default: as for `serve`].
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Set the strategy: failover, round-robin, weighted or least-latency.
    Strategy {
        /// The strategy.
        #[arg(value_parser = parse_strategy)]
        strategy: Strategy,
        /// Config file.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Turn sticky sessions on or off.
    Sticky {
        /// `on` or `off`.
        #[arg(value_parser = parse_on_off, action = clap::ArgAction::Set)]
        state: bool,
        /// Config file.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Set a provider's weight for the weighted strategy (0 = only as a fallback).
    Weight {
        /// Provider id.
        provider: String,
        /// Weight.
        weight: u32,
        /// Config file.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

/// What to do with scenario rules.
#[derive(clap::Subcommand)]
pub enum RulesAction {
    /// List the rules in the order they are tried.
    List {
        /// Config file [default: as for `serve`].
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Add a rule (tried after the existing ones). Conditions given must all match.
    Add {
        /// Send matching requests to this provider first.
        #[arg(long)]
        provider: String,
        /// Send this model upstream instead of the provider's mapping.
        #[arg(long)]
        upstream_model: Option<String>,
        /// A label for the request log.
        #[arg(long)]
        name: Option<String>,
        /// Condition: the client's model matches this glob, e.g. 'claude-haiku*'.
        #[arg(long)]
        model: Option<String>,
        /// Condition: extended thinking on (true) or off (false).
        #[arg(long)]
        thinking: Option<bool>,
        /// Condition: estimated input tokens at least this.
        #[arg(long)]
        min_input_tokens: Option<u64>,
        /// Condition: an image in the messages (true) or none (false).
        #[arg(long)]
        has_image: Option<bool>,
        /// Condition: a tool with this name or server-tool type (e.g. web_search).
        #[arg(long)]
        tool: Option<String>,
        /// Condition: the last user message contains this text (case-insensitive).
        #[arg(long)]
        keyword: Option<String>,
        /// Config file.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Remove rule N (as numbered by `rules list`).
    Remove {
        /// Rule number, from 1.
        n: usize,
        /// Config file.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Move rule N to position M.
    Move {
        /// Rule number, from 1.
        n: usize,
        /// New position, from 1.
        #[arg(long)]
        to: usize,
        /// Config file.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

fn parse_strategy(s: &str) -> Result<Strategy, String> {
    s.parse()
}

fn parse_on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!("{s:?}: say on or off")),
    }
}

/// One line describing a rule's conditions and target.
pub fn describe(r: &Rule) -> String {
    let mut when = Vec::new();
    if let Some(m) = &r.model {
        when.push(format!("model {m}"));
    }
    if let Some(t) = r.thinking {
        when.push(format!("thinking {}", if t { "on" } else { "off" }));
    }
    if let Some(n) = r.min_input_tokens {
        when.push(format!("input >= {n} tokens"));
    }
    if let Some(i) = r.has_image {
        when.push(if i { "has image" } else { "no image" }.to_string());
    }
    if let Some(t) = &r.tool {
        when.push(format!("tool {t}"));
    }
    if let Some(k) = &r.keyword {
        when.push(format!("keyword {k:?}"));
    }
    let when = if when.is_empty() {
        "every request".to_string()
    } else {
        when.join(" and ")
    };
    match &r.upstream_model {
        Some(m) => format!("{when} -> {} as {m}", r.provider),
        None => format!("{when} -> {}", r.provider),
    }
}

fn print_rules(cfg: &Config) {
    if cfg.rules.is_empty() {
        println!("no rules: every request follows the strategy");
    }
    for (i, r) in cfg.rules.iter().enumerate() {
        println!("{:>3}. {:<16} {}", i + 1, r.label(i), describe(r));
    }
}

/// Run a routing subcommand.
pub fn run_routing(action: RoutingAction) -> Result<(), String> {
    match action {
        RoutingAction::Show { config } => {
            let (cfg, _) = crate::load_config(config)?;
            let r = &cfg.routing;
            println!("strategy:        {}", r.strategy.as_str());
            println!(
                "sticky sessions: {}{}",
                if r.sticky_sessions { "on" } else { "off" },
                if r.strategy == Strategy::Failover {
                    " (no effect under failover)"
                } else {
                    ""
                }
            );
            println!("providers (priority order):");
            for (i, p) in cfg.providers.iter().enumerate() {
                println!(
                    "{:>3}. {:<18} weight {}{}",
                    i + 1,
                    p.id,
                    p.weight,
                    if p.enabled { "" } else { " (disabled)" }
                );
            }
            println!("rules:");
            print_rules(&cfg);
            Ok(())
        }
        RoutingAction::Strategy { strategy, config } => {
            let path = path_for(config)?;
            edit_file(&path, |text, _| {
                edit::set_strategy(text, strategy).map_err(|e| e.message)
            })?;
            println!("strategy = {} in {}", strategy.as_str(), path.display());
            Ok(())
        }
        RoutingAction::Sticky { state, config } => {
            let path = path_for(config)?;
            edit_file(&path, |text, _| {
                edit::set_sticky(text, state).map_err(|e| e.message)
            })?;
            println!("sticky sessions {}", if state { "on" } else { "off" });
            Ok(())
        }
        RoutingAction::Weight {
            provider,
            weight,
            config,
        } => {
            let path = path_for(config)?;
            let cfg = edit_file(&path, |text, _| {
                edit::set_weight(text, &provider, weight).map_err(|e| e.message)
            })?;
            println!("{provider}: weight {weight}");
            if cfg.routing.strategy != Strategy::Weighted {
                println!(
                    "note: weights apply under `switchyard routing strategy weighted` (now: {})",
                    cfg.routing.strategy.as_str()
                );
            }
            Ok(())
        }
    }
}

/// Run a rules subcommand.
pub fn run_rules(action: RulesAction) -> Result<(), String> {
    match action {
        RulesAction::List { config } => {
            let (cfg, _) = crate::load_config(config)?;
            print_rules(&cfg);
            Ok(())
        }
        RulesAction::Add {
            provider,
            upstream_model,
            name,
            model,
            thinking,
            min_input_tokens,
            has_image,
            tool,
            keyword,
            config,
        } => {
            let rule = Rule {
                name,
                provider,
                upstream_model,
                model,
                thinking,
                min_input_tokens,
                has_image,
                tool,
                keyword,
            };
            let catch_all = rule
                == Rule {
                    name: rule.name.clone(),
                    provider: rule.provider.clone(),
                    upstream_model: rule.upstream_model.clone(),
                    ..Rule::default()
                };
            let path = path_for(config)?;
            let cfg = edit_file(&path, |text, _| {
                edit::add_rule(text, &rule).map_err(|e| e.message)
            })?;
            print_rules(&cfg);
            if catch_all {
                println!(
                    "note: this rule has no condition, so it matches every request it reaches"
                );
            }
            Ok(())
        }
        RulesAction::Remove { n, config } => {
            let path = path_for(config)?;
            let cfg = edit_file(&path, |text, _| {
                edit::remove_rule(text, n).map_err(|e| e.message)
            })?;
            print_rules(&cfg);
            Ok(())
        }
        RulesAction::Move { n, to, config } => {
            if to == 0 {
                return Err("--to counts from 1".into());
            }
            let path = path_for(config)?;
            let cfg = edit_file(&path, |text, _| {
                edit::move_rule(text, n, to).map_err(|e| e.message)
            })?;
            print_rules(&cfg);
            Ok(())
        }
    }
}
