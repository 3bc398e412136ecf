//! Talking to a running Switchyard over its admin API.

use std::path::PathBuf;

use serde_json::Value;

/// Which running instance.
#[derive(clap::Args, Clone)]
pub struct Target {
    /// Base URL of the running Switchyard [default: from the config's `listen`].
    #[arg(long, env = "SWITCHYARD_URL")]
    pub url: Option<String>,
    /// Config file used to find the address when --url is not given.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Access token, when the instance requires one.
    #[arg(long, env = "SWITCHYARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl Target {
    /// The base URL to call.
    pub fn base_url(&self) -> Result<String, String> {
        if let Some(u) = &self.url {
            return Ok(u.trim_end_matches('/').to_string());
        }
        let (cfg, _) = crate::load_config(self.config.clone())?;
        let mut addr = cfg.listen;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        Ok(format!("http://{addr}"))
    }

    fn request(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, String> {
        let mut r = client.request(method, format!("{}{path}", self.base_url()?));
        if let Some(t) = &self.token {
            r = r.header("x-switchyard-token", t);
        }
        Ok(r)
    }
}

pub(crate) async fn call(
    target: &Target,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let client = reqwest::Client::new();
    let base = target.base_url()?;
    let mut req = target.request(&client, method, path)?;
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.map_err(|e| {
        format!(
            "cannot reach Switchyard at {base}: {e} (is `switchyard serve` or the app running?)"
        )
    })?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if !status.is_success() {
        let msg = v["error"]["message"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| v.to_string());
        return Err(format!("{status}: {msg}"));
    }
    Ok(v)
}

/// Tell a running instance to re-read keys; quiet when none runs.
pub async fn refresh_keys(target: &Target) {
    let _ = call(
        target,
        reqwest::Method::POST,
        "/api/keys/refresh",
        Some(serde_json::json!({})),
    )
    .await;
}

/// `switchyard status`.
pub async fn status(target: &Target, json: bool) -> Result<(), String> {
    let v = call(target, reqwest::Method::GET, "/api/status", None).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(());
    }
    let s = |k: &str| v[k].as_str().unwrap_or("-").to_string();
    println!(
        "Switchyard {} on http://{} — {}",
        s("version"),
        s("listen"),
        s("status")
    );
    println!(
        "current provider: {}   pinned: {}",
        s("current_provider"),
        v["pinned"].as_str().unwrap_or("no (automatic)")
    );
    println!();
    println!(
        "{:<3} {:<18} {:<13} {:>9} {:>7}  NOTE",
        "", "PROVIDER", "STATE", "REQUESTS", "FAILED"
    );
    for p in v["providers"].as_array().into_iter().flatten() {
        let id = p["id"].as_str().unwrap_or("?");
        let mark = if Some(id) == v["current_provider"].as_str() {
            "→"
        } else {
            ""
        };
        let req = p["totals"]["requests"].as_u64().unwrap_or(0);
        let cooldowns = p["totals"]["cooldowns"].as_u64().unwrap_or(0);
        let mut note = String::new();
        if let Some(secs) = p["cooldown_remaining_secs"].as_u64() {
            note = format!("back in {}", human(secs));
        }
        match p["over_budget"].as_str() {
            Some("day") => note.push_str("over its daily budget"),
            Some("month") => note.push_str("over its monthly budget"),
            _ => {}
        }
        if let Some(m) = p["last_error"]["message"].as_str() {
            if !note.is_empty() {
                note.push_str(" — ");
            }
            note.push_str(&m.chars().take(80).collect::<String>());
        }
        println!(
            "{:<3} {:<18} {:<13} {:>9} {:>9}  {}",
            mark,
            id,
            p["state"].as_str().unwrap_or("?"),
            req,
            cooldowns,
            note
        );
    }
    if v["cluster"].is_object() {
        print_cluster(&v["cluster"]);
    }
    Ok(())
}

/// The team section of `switchyard status` (team mode only).
fn print_cluster(c: &Value) {
    let s = |k: &str| c[k].as_str().unwrap_or("-").to_string();
    println!();
    match c["status"].as_str() {
        Some("ok") => println!("team: ok — this replica is {} (Redis {})", s("node"), s("redis")),
        _ => println!(
            "team: DEGRADED since {} ({}) — this replica ({}) serves on its own state until Redis {} is back",
            s("degraded_since"),
            s("error"),
            s("node"),
            s("redis")
        ),
    }
    let replicas = c["replicas"].as_array().cloned().unwrap_or_default();
    println!(
        "{:<3} {:<24} {:<22} {:<9} STARTED",
        "", "REPLICA", "LISTEN", "VERSION"
    );
    for r in &replicas {
        let mark = if r["self"].as_bool() == Some(true) {
            "*"
        } else {
            ""
        };
        println!(
            "{:<3} {:<24} {:<22} {:<9} {}",
            mark,
            r["node"].as_str().unwrap_or("?"),
            r["listen"].as_str().unwrap_or("?"),
            r["version"].as_str().unwrap_or("?"),
            r["started_at"].as_str().unwrap_or("?")
        );
    }
}

fn human(secs: u64) -> String {
    match secs {
        s if s < 90 => format!("{s}s"),
        s if s < 5400 => format!("{}m", s / 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// `switchyard switch`.
pub async fn switch(target: &Target, provider: &str) -> Result<(), String> {
    let v = call(
        target,
        reqwest::Method::POST,
        "/v1/switch-provider",
        Some(serde_json::json!({"provider": provider})),
    )
    .await?;
    println!("{}", v["message"].as_str().unwrap_or("ok"));
    Ok(())
}
