//! `switchyard-mock`: the scripted fake upstream as a program, for out-of-process tests (SDKs,
//! Claude Code) and load benchmarks. Prints `listening on http://IP:PORT` once bound, then
//! serves until SIGINT or SIGTERM. Script it over HTTP with the `/__mock/` control API.

use clap::Parser;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use switchyard_mock::{Body, MockProxy, MockUpstream, ProxyKind, Reply};

/// A scripted fake Anthropic upstream for Switchyard's tests and benchmarks.
///
/// Control API (same port): POST /__mock/replies (a reply or an array, queued FIFO),
/// PUT /__mock/default, GET /__mock/requests, POST /__mock/clear, GET /__mock/stats.
#[derive(Parser, Debug)]
#[command(name = "switchyard-mock", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Text of the default reply (used when no scripted reply is queued).
    #[arg(long, default_value = "Hello from mock")]
    default_text: String,
    /// Delay before the default reply's headers, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Delay between the default reply's stream deltas, in milliseconds.
    #[arg(long, default_value_t = 0)]
    chunk_delay_ms: u64,
    /// A JSON file holding an array of replies (or one reply) to queue at start.
    #[arg(long)]
    script: Option<PathBuf>,
    /// Keep only the newest N recorded requests (0: record none), to bound memory in long runs.
    #[arg(long, default_value_t = 10_000)]
    max_recorded: usize,
    /// Run a proxy instead of an upstream: `http` (absolute-URI forwarding and CONNECT) or
    /// `socks5`. Prints `proxy listening on URL`.
    #[arg(long, value_parser = ["http", "socks5"])]
    proxy: Option<String>,
    /// With --proxy: the user name the proxy requires (with --proxy-password).
    #[arg(long, requires = "proxy_password")]
    proxy_user: Option<String>,
    /// With --proxy: the password the proxy requires.
    #[arg(long, requires = "proxy_user")]
    proxy_password: Option<String>,
}

/// `--proxy`: serve as a proxy until a signal.
async fn run_proxy(args: &Args, kind: &str) -> std::process::ExitCode {
    let kind = if kind == "http" {
        ProxyKind::Http
    } else {
        ProxyKind::Socks5
    };
    let creds = args
        .proxy_user
        .as_deref()
        .zip(args.proxy_password.as_deref());
    let proxy = match MockProxy::start_on(kind, creds, args.listen).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("switchyard-mock: cannot listen on {}: {e}", args.listen);
            return std::process::ExitCode::from(1);
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "proxy listening on {}",
        proxy.url(args.proxy_user.as_deref())
    );
    let _ = stdout.flush();
    drop(stdout);
    wait_for_signal().await;
    let _ = writeln!(
        std::io::stdout(),
        "proxy carried {} connection(s), refused {} for credentials",
        proxy.carried(),
        proxy.auth_failures()
    );
    proxy.shutdown();
    std::process::ExitCode::SUCCESS
}

fn load_script(path: &PathBuf) -> Result<Vec<Reply>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let replies = if value.is_array() {
        serde_json::from_value(value)
    } else {
        serde_json::from_value(value).map(|r| vec![r])
    };
    replies.map_err(|e| format!("{}: bad reply: {e}", path.display()))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if let Some(kind) = args.proxy.clone() {
        return run_proxy(&args, &kind).await;
    }
    let script = match args.script.as_ref().map(load_script).transpose() {
        Ok(script) => script.unwrap_or_default(),
        Err(e) => {
            eprintln!("switchyard-mock: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let mock = match MockUpstream::start_on(args.listen).await {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("switchyard-mock: cannot listen on {}: {e}", args.listen);
            return std::process::ExitCode::from(1);
        }
    };
    let mut default = Reply::text(args.default_text).with_delay(args.latency_ms);
    if let Body::Message { chunk_delay_ms, .. } = &mut default.body {
        *chunk_delay_ms = args.chunk_delay_ms;
    }
    mock.set_default(default);
    mock.set_record_limit(Some(args.max_recorded));
    mock.push_many(script);
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on {}", mock.base_url());
    let _ = stdout.flush();
    drop(stdout);
    wait_for_signal().await;
    mock.shutdown();
    std::process::ExitCode::SUCCESS
}
