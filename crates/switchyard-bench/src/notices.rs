//! `switchyard-bench notices`: listens to a running Switchyard's `/api/events` and counts how
//! many desktop notifications the app's own policy (`switchyard_core::notify_policy`, the one
//! the tray app uses) would have shown, next to the raw event counts. Stops when its stdin
//! closes (or after `--max-secs`) and prints JSON.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use switchyard_core::config::Config;
use switchyard_core::notify_policy::{Kind, NotifyPolicy};
use tokio::io::AsyncReadExt;

/// Counts by event name and by admitted notification kind.
#[derive(Debug, Default, serde::Serialize)]
pub struct Counts {
    /// Every event seen on `/api/events`, by name.
    pub events: BTreeMap<String, u64>,
    /// Notifications the policy admitted, by kind.
    pub notifications: BTreeMap<String, u64>,
    /// `notifications.min_interval_secs` of the running config.
    pub min_interval_secs: u64,
    /// How long the listener ran.
    pub seconds: f64,
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Failover => "failover",
        Kind::Recovered => "recovered",
        Kind::AllDown => "all_down",
        Kind::KeyProblem => "key_problem",
        Kind::Budget => "budget",
    }
}

/// Listen until stdin closes or `max` passes.
pub async fn run(url: &str, max: Duration) -> Result<Counts, String> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = http
        .get(format!("{url}/api/config"))
        .send()
        .await
        .map_err(|e| format!("/api/config: {e}"))?
        .bytes()
        .await
        .map_err(|e| format!("/api/config: {e}"))
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| format!("/api/config: {e}")))?;
    let cfg: Config = serde_json::from_value(v["config"].clone())
        .map_err(|e| format!("/api/config is not a config: {e}"))?;
    let mut resp = http
        .get(format!("{url}/api/events"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .map_err(|e| format!("/api/events: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("/api/events: {}", resp.status()));
    }
    let started = Instant::now();
    let mut counts = Counts {
        min_interval_secs: cfg.notifications.min_interval_secs,
        ..Counts::default()
    };
    let mut policy = NotifyPolicy::default();
    let mut pending = String::new();
    let mut stdin = tokio::io::stdin();
    let mut sink = [0u8; 64];
    let deadline = tokio::time::sleep(max);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            chunk = resp.chunk() => match chunk {
                Ok(Some(bytes)) => {
                    pending.push_str(&String::from_utf8_lossy(&bytes));
                    while let Some(end) = pending.find("\n\n") {
                        let frame: String = pending.drain(..end + 2).collect();
                        let Some(name) = frame.lines().find_map(|l| l.strip_prefix("event:")) else {
                            continue;
                        };
                        let name = name.trim();
                        *counts.events.entry(name.to_string()).or_default() += 1;
                        if let Some(kind) = Kind::of_event_name(name)
                            .and_then(|k| policy.admit_kind(k, &cfg, Instant::now()))
                        {
                            *counts.notifications.entry(kind_name(kind).into()).or_default() += 1;
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => return Err(format!("/api/events: {e}")),
            },
            n = stdin.read(&mut sink) => {
                if !matches!(n, Ok(n) if n > 0) {
                    break;
                }
            }
            _ = &mut deadline => break,
        }
    }
    counts.seconds = started.elapsed().as_secs_f64();
    Ok(counts)
}
