//! The README's team deployment, run as written (issue 13, item 5): the README's blocks must
//! be the files in `deploy/team/`, and those files run here with only addresses and secrets
//! swapped for local ones. A real `redis-server` with the recipe's password, three replicas
//! started by the systemd unit's `ExecStart` with its environment file, a real nginx with the
//! recipe's site config in front of them, then one replica killed with SIGKILL under load: only
//! its in-flight requests fail, the others see it leave, `switchyard status` lists who is left,
//! the HAProxy recipe (active checks on `/health` with the token) routes around it, and the
//! replica restarted by the unit rejoins. Every process is ours, on loopback ports, killed
//! however the test ends.

#[path = "../../switchyard-core/tests/common/redis_server.rs"]
mod redis_server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis_server::{free_port, RedisServer};
use serde_json::{json, Value};
use switchyard_mock::{MockUpstream, Reply};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");
const NODES: [&str; 3] = ["replica-a", "replica-b", "replica-c"];
/// The recipe's replica addresses, in order.
const RECIPE_ADDRS: [&str; 3] = ["10.0.0.11:3535", "10.0.0.12:3535", "10.0.0.13:3535"];
/// The name clients use for the load balancer in the recipe (`allowed_hosts`).
const LB_NAME: &str = "switchyard.example.lan";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| format!("<cannot read {}: {e}>", p.display()))
}

/// The file `deploy/team/<name>`, checked to be the README's block marked
/// `<!-- file: deploy/team/<name> -->` byte for byte.
fn recipe(name: &str) -> String {
    let readme = read(&repo().join("README.md"));
    let marker = format!("<!-- file: deploy/team/{name} -->");
    let at = readme.find(&marker).expect("the README shows this file");
    let rest = &readme[at + marker.len()..];
    let fence = rest.find("```").expect("a code block after the marker");
    let body = &rest[fence..];
    let body = &body[body.find('\n').expect("fence line") + 1..];
    let end = body.find("\n```").expect("the block ends");
    let block = &body[..end + 1];
    let file = read(&repo().join("deploy/team").join(name));
    assert_eq!(block, file, "README block and deploy/team/{name} differ");
    file
}

/// `text` with `from` replaced; the recipe must still contain `from`.
fn swap(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the recipe no longer contains {from:?}"
    );
    text.replace(from, to)
}

/// A process we started: SIGKILLed and reaped when dropped.
struct Proc {
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    fn spawn(cmd: &mut Command, log: PathBuf) -> Proc {
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect(
                "the process starts (redis-server, nginx, haproxy: scripts/setup-test-deps.sh)",
            );
        Proc {
            child: Some(child),
            log,
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn output(&self) -> String {
        read(&self.log)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A server binary from Debian: on `PATH`, else in `/usr/sbin` (not on a user's `PATH`).
fn sbin(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|f| f.is_file())
        })
        .unwrap_or_default();
    on_path.unwrap_or_else(|| Path::new("/usr/sbin").join(name))
}

/// A scratch directory, removed however the test ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `KEY=VALUE` lines (comments and blank lines skipped).
fn env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

struct Replica {
    node: &'static str,
    port: u16,
    proc: Option<Proc>,
    argv: Vec<String>,
}

struct Deployment {
    dir: PathBuf,
    env: BTreeMap<String, String>,
    replicas: Vec<Replica>,
    http: reqwest::Client,
}

impl Deployment {
    fn token(&self) -> &str {
        &self.env["SWITCHYARD_ACCESS_TOKEN"]
    }

    /// Start a replica the way systemd would: the unit's `ExecStart` with its environment file.
    fn start(&mut self, i: usize) {
        let r = &self.replicas[i];
        let mut cmd = Command::new(&r.argv[0]);
        cmd.args(&r.argv[1..])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.join("home"))
            .env("XDG_CONFIG_HOME", self.dir.join("xdg"))
            .env("RUST_LOG", "info")
            .envs(&self.env);
        let log = self.dir.join(format!("{}.log", r.node));
        self.replicas[i].proc = Some(Proc::spawn(&mut cmd, log));
    }

    async fn get(&self, url: &str, token: bool) -> Option<(u16, Value)> {
        self.get_as(url, None, token).await
    }

    /// A GET with the `Host` a client of the load balancer sends (`Some(LB_NAME)`).
    async fn get_as(&self, url: &str, host: Option<&str>, token: bool) -> Option<(u16, Value)> {
        let mut req = self.http.get(url).timeout(Duration::from_secs(3));
        if let Some(h) = host {
            req = req.header("host", h);
        }
        if token {
            req = req.header("x-switchyard-token", self.token());
        }
        let r = req.send().await.ok()?;
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    async fn status(&self, i: usize) -> Option<Value> {
        let url = format!("http://127.0.0.1:{}/api/status", self.replicas[i].port);
        match self.get(&url, true).await {
            Some((200, v)) => Some(v),
            _ => None,
        }
    }

    /// The replica names replica `i` sees, sorted (empty while it does not answer).
    async fn seen_by(&self, i: usize) -> Vec<String> {
        let Some(s) = self.status(i).await else {
            return Vec::new();
        };
        if s["cluster"]["status"] != "ok" {
            return Vec::new();
        }
        let mut v: Vec<String> = s["cluster"]["replicas"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["node"].as_str().map(String::from))
            .collect();
        v.sort();
        v
    }

    fn logs(&self) -> String {
        self.replicas
            .iter()
            .filter_map(|r| {
                r.proc
                    .as_ref()
                    .map(|p| format!("--- {}\n{}", r.node, p.output()))
            })
            .collect()
    }
}

async fn eventually<F, Fut>(what: &str, within: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// nginx with the recipe's site config (addresses swapped), in `dir`: our own process, not the
/// system service.
fn nginx(dir: &Path, ports: &[u16], listen: u16) -> Proc {
    let mut site = recipe("nginx.conf");
    for (addr, port) in RECIPE_ADDRS.iter().zip(ports) {
        site = swap(&site, addr, &format!("127.0.0.1:{port}"));
    }
    site = swap(&site, "listen 80;", &format!("listen 127.0.0.1:{listen};"));
    let d = dir.join("nginx");
    for sub in ["", "client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        let p = d.join(sub);
        std::fs::create_dir_all(&p).expect("dir");
        // Workers may run as another user than the master.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777));
    }
    std::fs::write(d.join("switchyard.conf"), site).expect("site");
    let p = |s: &str| d.join(s).to_string_lossy().into_owned();
    let main = format!(
        // One process (no workers to orphan when the test kills it).
        "daemon off;\nmaster_process off;\npid {pid};\nerror_log {err} warn;\nevents {{ worker_connections 512; }}\nhttp {{\n    access_log off;\n    client_body_temp_path {cb};\n    proxy_temp_path {px};\n    fastcgi_temp_path {fc};\n    uwsgi_temp_path {uw};\n    scgi_temp_path {sc};\n    include {site};\n}}\n",
        pid = p("nginx.pid"),
        err = p("error.log"),
        cb = p("client_body"),
        px = p("proxy"),
        fc = p("fastcgi"),
        uw = p("uwsgi"),
        sc = p("scgi"),
        site = p("switchyard.conf"),
    );
    std::fs::write(d.join("nginx.conf"), main).expect("nginx.conf");
    Proc::spawn(
        Command::new(sbin("nginx")).args(["-c", &p("nginx.conf"), "-p", &p("")]),
        d.join("stderr.log"),
    )
}

/// HAProxy with the recipe's config (addresses swapped), in the foreground.
fn haproxy(dir: &Path, ports: &[u16], listen: u16, token: &str) -> Proc {
    let mut cfg = recipe("haproxy.cfg");
    for (addr, port) in RECIPE_ADDRS.iter().zip(ports) {
        cfg = swap(&cfg, addr, &format!("127.0.0.1:{port}"));
    }
    cfg = swap(&cfg, "bind :80", &format!("bind 127.0.0.1:{listen}"));
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, cfg).expect("haproxy.cfg");
    Proc::spawn(
        Command::new(sbin("haproxy"))
            .args(["-db", "-f"])
            .arg(&path)
            .env("SWITCHYARD_ACCESS_TOKEN", token),
        dir.join("haproxy.log"),
    )
}

#[derive(Clone, Copy)]
struct Outcome {
    started: Instant,
    ok: bool,
}

/// One streamed request through the load balancer (by the recipe's name); ok when the whole
/// stream arrived.
async fn streamed(http: &reqwest::Client, url: &str, token: &str) -> bool {
    let body = json!({
        "model": "claude-sonnet-4-5", "max_tokens": 64, "stream": true,
        "messages": [{"role": "user", "content": "hello"}],
    });
    let r = http
        .post(format!("{url}/v1/messages"))
        .header("host", LB_NAME)
        .header("x-api-key", token)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(body.to_string())
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    match r {
        Ok(r) if r.status() == 200 => r
            .text()
            .await
            .is_ok_and(|t| t.contains("event: message_stop")),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_deployment_loses_only_a_killed_replicas_in_flight_requests() {
    let dir = std::env::temp_dir().join(format!("sy-team-deploy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("etc/switchyard")).expect("dir");
    // Declared first, so it is dropped last: after every process that writes in it.
    let _scratch = Scratch(dir.clone());

    // The secrets file, with the recipe's variables and local values.
    let env_text = recipe("team.env");
    let mut env = env_file(&env_text);
    let want = [
        "ANTHROPIC_API_KEY",
        "DEEPSEEK_API_KEY",
        "SWITCHYARD_ACCESS_TOKEN",
        "SWITCHYARD_REDIS_PASSWORD",
    ];
    assert_eq!(env.keys().map(String::as_str).collect::<Vec<_>>(), want);
    env.insert(
        "SWITCHYARD_REDIS_PASSWORD".into(),
        "test-redis-password-1b7c".into(),
    );
    env.insert(
        "SWITCHYARD_ACCESS_TOKEN".into(),
        "syt_deploy_test_token_5e2a".into(),
    );
    env.insert(
        "ANTHROPIC_API_KEY".into(),
        "sk-ant-deploy-test-key-0001".into(),
    );
    env.insert("DEEPSEEK_API_KEY".into(), "sk-deploy-test-key-0002".into());

    let redis = RedisServer::start_with_password(&env["SWITCHYARD_REDIS_PASSWORD"]);
    let primary = MockUpstream::start().await.expect("mock");
    let backup = MockUpstream::start().await.expect("mock");
    // Streams that take ~0.4 s: there are requests in flight when a replica dies.
    primary.set_default(
        Reply::text("hello from the team")
            .with_chunks(8)
            .with_chunk_delay(50),
    );

    // The unit's ExecStart and EnvironmentFile, with the install paths moved under `dir`.
    let unit = recipe("switchyard@.service");
    let line = |key: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(key))
            .expect("the unit has it")
            .to_string()
    };
    let etc = dir.join("etc/switchyard").to_string_lossy().into_owned();
    let env_path = swap(&line("EnvironmentFile="), "/etc/switchyard", &etc);
    std::fs::write(&env_path, &env_text).expect("env file");
    let exec = line("ExecStart=");
    let config_text = recipe("config.toml");
    let mut d = Deployment {
        dir: dir.clone(),
        env,
        replicas: Vec::new(),
        http: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
    };
    for node in NODES {
        let port = free_port();
        let mut cfg = swap(&config_text, "0.0.0.0:3535", &format!("0.0.0.0:{port}"));
        cfg = swap(&cfg, "redis://10.0.0.5:6379/0", &redis.url());
        cfg = swap(&cfg, "node = \"replica-a\"", &format!("node = \"{node}\""));
        cfg = swap(&cfg, "https://api.anthropic.com", &primary.base_url());
        cfg = swap(
            &cfg,
            "https://api.deepseek.com/anthropic",
            &backup.base_url(),
        );
        let cmdline = swap(&exec, "/usr/local/bin/switchyard", BIN);
        let cmdline = swap(&cmdline, "/etc/switchyard", &etc).replace("%i", node);
        let argv: Vec<String> = cmdline.split_whitespace().map(String::from).collect();
        let config_path = argv
            .iter()
            .find(|a| a.ends_with("config.toml"))
            .expect("--config")
            .clone();
        std::fs::create_dir_all(Path::new(&config_path).parent().expect("dir")).expect("dir");
        std::fs::write(&config_path, cfg).expect("config");
        d.replicas.push(Replica {
            node,
            port,
            proc: None,
            argv,
        });
    }
    for i in 0..3 {
        d.start(i);
    }
    let all: Vec<String> = NODES.iter().map(|s| s.to_string()).collect();
    for i in 0..3 {
        let dd = &d;
        let all = all.clone();
        eventually(
            "every replica in the team",
            Duration::from_secs(20),
            move || {
                let all = all.clone();
                async move { dd.seen_by(i).await == all }
            },
        )
        .await;
    }
    // Off loopback the token is required (also from a local peer, as the recipe says).
    let direct = format!("http://127.0.0.1:{}/v1/health", d.replicas[0].port);
    assert_eq!(d.get(&direct, false).await.map(|r| r.0), Some(401));

    let ports: Vec<u16> = d.replicas.iter().map(|r| r.port).collect();
    let lb_port = free_port();
    let lb = format!("http://127.0.0.1:{lb_port}");
    let mut ngx = nginx(&dir, &ports, lb_port);
    {
        let dd = &d;
        let health = format!("{lb}/health");
        eventually("nginx in front", Duration::from_secs(10), move || {
            let health = health.clone();
            async move {
                dd.get_as(&health, Some(LB_NAME), true)
                    .await
                    .is_some_and(|r| r.0 == 200)
            }
        })
        .await;
    }
    assert_eq!(
        d.get_as(&format!("{lb}/health"), Some(LB_NAME), false)
            .await
            .map(|r| r.0),
        Some(401)
    );
    // A name the replicas do not know is refused (DNS rebinding).
    assert_eq!(
        d.get_as(&format!("{lb}/health"), Some("evil.example"), true)
            .await
            .map(|r| r.0),
        Some(403)
    );

    // Load through nginx; replica-b dies in the middle of it.
    let outcomes: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..6 {
        let (http, lb, token) = (d.http.clone(), lb.clone(), d.token().to_string());
        let (outcomes, stop) = (outcomes.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let ok = streamed(&http, &lb, &token).await;
                outcomes.lock().expect("lock").push(Outcome { started, ok });
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed_at = Instant::now();
    if let Some(p) = d.replicas[1].proc.as_mut() {
        p.kill();
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.await.expect("worker");
    }
    let outcomes = outcomes.lock().expect("lock").clone();
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.ok).collect();
    let after_ok = outcomes
        .iter()
        .filter(|o| o.ok && o.started > killed_at)
        .count();
    assert!(
        failed.iter().all(|o| o.started < killed_at),
        "only requests in flight when replica-b died may fail: {} failed, {} of them started after\n{}",
        failed.len(),
        failed.iter().filter(|o| o.started >= killed_at).count(),
        read(&dir.join("nginx/error.log"))
    );
    assert!(failed.len() <= 6, "{} failed", failed.len());
    eprintln!(
        "{} requests through nginx, {} failed (in flight on replica-b when it was killed), {after_ok} served after",
        outcomes.len(),
        failed.len()
    );
    assert!(after_ok > 10, "{after_ok} served after the kill");
    assert!(outcomes.len() > 30, "{} requests", outcomes.len());

    // Its heartbeat expires: the others see it gone, and `switchyard status` lists who is left.
    for i in [0, 2] {
        let dd = &d;
        eventually(
            "replica-b gone from the team",
            Duration::from_secs(10),
            move || async move { dd.seen_by(i).await == ["replica-a", "replica-c"] },
        )
        .await;
    }
    let out = Command::new(BIN)
        .args(["status", "--url", &format!("http://127.0.0.1:{}", ports[0])])
        .args(["--token", d.token()])
        .output()
        .expect("status runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("team: ok — this replica is replica-a"),
        "{text}"
    );
    assert!(
        text.contains("replica-c") && !text.contains("replica-b"),
        "{text}"
    );

    // The HAProxy recipe: its active checks (with the token) keep the dead replica out.
    let hp_port = free_port();
    let hp = format!("http://127.0.0.1:{hp_port}");
    let _haproxy = haproxy(&dir, &ports, hp_port, d.token());
    {
        let dd = &d;
        let health = format!("{hp}/health");
        eventually("HAProxy in front", Duration::from_secs(10), move || {
            let health = health.clone();
            async move {
                dd.get_as(&health, Some(LB_NAME), true)
                    .await
                    .is_some_and(|r| r.0 == 200)
            }
        })
        .await;
    }
    for _ in 0..12 {
        assert!(streamed(&d.http, &hp, d.token()).await, "through HAProxy");
    }

    // systemd restarts it (Restart=always): it rejoins.
    d.start(1);
    for i in 0..3 {
        let dd = &d;
        let all = all.clone();
        eventually(
            "replica-b back in the team",
            Duration::from_secs(20),
            move || {
                let all = all.clone();
                async move { dd.seen_by(i).await == all }
            },
        )
        .await;
    }
    // Secrets stayed out of Redis and out of the replicas' answers.
    let dump = redis.dump();
    for k in [
        "ANTHROPIC_API_KEY",
        "DEEPSEEK_API_KEY",
        "SWITCHYARD_REDIS_PASSWORD",
        "SWITCHYARD_ACCESS_TOKEN",
    ] {
        assert!(!dump.contains(&d.env[k]), "{k} in Redis");
    }
    let status = d.status(0).await.expect("status").to_string();
    assert!(!status.contains(&d.env["SWITCHYARD_REDIS_PASSWORD"]));
    ngx.kill();
    let logs = d.logs();
    assert!(
        !logs.contains(&d.env["SWITCHYARD_REDIS_PASSWORD"]),
        "password in a log"
    );
    drop(d);
}
