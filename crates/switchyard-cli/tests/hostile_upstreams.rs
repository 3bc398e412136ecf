//! Hostile upstreams against the real `switchyard serve`: answers of a gigabyte, a stream event
//! with no end, endless pings before any content, error bodies without end, answers that never
//! finish; for every provider kind. Each is that provider's failure (the request fails over to a
//! healthy backup), a stream that committed before the flood ends with a well-formed error,
//! and the process's peak memory stays within a fixed margin of where it started.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use switchyard_mock::{MockHandle, MockUpstream, Reply};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");
/// How much the process may grow over its idle size, whatever the upstreams send.
const MARGIN_MIB: u64 = 64;
const GIB: u64 = 1 << 30;

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
fn kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("field")
}

fn serve(name: &str, providers: &[(&str, &str, &MockHandle)]) -> (Serve, String) {
    let dir = std::env::temp_dir().join(format!("sy-hostile-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path: PathBuf = dir.join("config.toml");
    let mut cfg = String::from(
        "[timeouts]\nconnect_ms = 2000\nfirst_byte_ms = 5000\nidle_ms = 3000\nrequest_ms = 5000\n\
         [limits]\nfirst_content_ms = 3000\n",
    );
    for (id, kind, mock) in providers {
        cfg.push_str(&format!(
            "[[providers]]\nid = \"{id}\"\nkind = \"{kind}\"\nbase_url = \"{}\"\ncredential = \"none\"\nmodels = {{ \"*\" = \"m\" }}\n",
            mock.base_url()
        ));
    }
    std::fs::write(&path, cfg).expect("write");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn switchyard");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let url = loop {
        let line = lines.next().expect("a line").expect("read");
        if let Some(u) = line.strip_prefix("switchyard listening on ") {
            break u.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Serve(child), url)
}

async fn ask(url: &str, stream: bool) -> (u16, String, Option<String>) {
    let body = serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 16, "stream": stream,
        "messages": [{"role": "user", "content": "hi"}]});
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!("{url}/v1/messages"))
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .body(body.to_string())
        .timeout(std::time::Duration::from_secs(60))
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    let provider = r
        .headers()
        .get("x-switchyard-provider")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    (status, r.text().await.unwrap_or_default(), provider)
}

async fn last_request(url: &str) -> Value {
    let text = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("{url}/api/requests?limit=1"))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    let v: Value = serde_json::from_str(&text).expect("json");
    v["requests"][0].clone()
}

/// Mocks playing one attack each, for every kind, followed by a healthy backup.
async fn attackers(attacks: Vec<(&'static str, Reply)>) -> Vec<(String, &'static str, MockHandle)> {
    let mut out = Vec::new();
    for (i, (kind, reply)) in attacks.into_iter().enumerate() {
        let m = MockUpstream::start().await.expect("mock");
        m.set_default(reply);
        out.push((format!("h{i}"), kind, m));
    }
    let good = MockUpstream::start().await.expect("mock");
    good.set_default(Reply::text("fine"));
    out.push(("backup".into(), "anthropic", good));
    out
}

fn sse_ct() -> &'static str {
    "text/event-stream"
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_stays_bounded_whatever_an_upstream_sends() {
    let big_json =
        |head: &'static str| Reply::flood(head, &"a".repeat(1 << 16), GIB, "application/json");
    let endless_line = |head: &'static str| Reply::flood(head, &"x".repeat(1 << 16), GIB, sse_ct());
    let ping = "event: ping\ndata: {\"type\": \"ping\"}\n\n";
    let start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n";

    // Whole answers: a gigabyte of JSON per kind, a gigabyte of error body.
    let whole = attackers(vec![
        (
            "anthropic",
            big_json("{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\""),
        ),
        (
            "openai",
            big_json("{\"choices\":[{\"message\":{\"content\":\""),
        ),
        (
            "gemini",
            big_json("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\""),
        ),
        (
            "anthropic",
            big_json("{\"type\":\"error\",\"error\":{\"message\":\"").with_status(500),
        ),
        (
            "openai",
            big_json("{\"error\":{\"message\":\"").with_status(503),
        ),
    ])
    .await;
    // Streams: one event without end per kind, endless pings (or comments) before content.
    let streams = attackers(vec![
        ("anthropic", endless_line("event: message_start\ndata: {")),
        (
            "openai",
            endless_line("data: {\"choices\":[{\"delta\":{\"content\":\""),
        ),
        ("gemini", endless_line("data: {\"candidates\":[")),
        (
            "anthropic",
            Reply::flood(start, &ping.repeat(512), 0, sse_ct()),
        ),
        (
            "openai",
            Reply::flood("", &": keep-alive\n\n".repeat(1024), 0, sse_ct()),
        ),
        (
            "gemini",
            Reply::flood("", &"data: {}\n\n".repeat(1024), 0, sse_ct()),
        ),
    ])
    .await;

    for (name, set, stream) in [("whole", &whole, false), ("streams", &streams, true)] {
        let providers: Vec<(&str, &str, &MockHandle)> =
            set.iter().map(|(id, k, m)| (id.as_str(), *k, m)).collect();
        let (sy, url) = serve(name, &providers);
        let pid = sy.0.id();
        let idle = kib(pid, "VmRSS:");
        let (status, text, provider) = ask(&url, stream).await;
        assert_eq!(status, 200, "{name}: {text}");
        assert_eq!(provider.as_deref(), Some("backup"), "{name}: {text}");
        let rec = last_request(&url).await;
        let attempts = rec["attempts"].as_array().expect("attempts");
        assert_eq!(
            attempts.len(),
            set.len(),
            "{name}: every attacker tried: {rec}"
        );
        for a in &attempts[..attempts.len() - 1] {
            let why = a["failure"].as_str().unwrap_or("");
            // The error floods are read only as far as their message needs: a 5xx.
            assert!(
                [
                    "answer too large",
                    "no content in time",
                    "malformed answer",
                    "overloaded"
                ]
                .iter()
                .any(|w| why.starts_with(w)),
                "{name}: {a}"
            );
        }
        let peak = kib(pid, "VmHWM:");
        eprintln!("{name}: idle {idle} KiB, peak {peak} KiB");
        for a in attempts {
            let why = a["failure"].as_str().unwrap_or("served");
            eprintln!("  {}: {}", a["provider"], &why[..why.len().min(110)]);
        }
        assert!(
            peak < idle + MARGIN_MIB * 1024,
            "{name}: peak RSS {peak} KiB, started at {idle} KiB: more than {MARGIN_MIB} MiB"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_after_the_stream_started_ends_it_with_a_well_formed_error() {
    let start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n\
        event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
        event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n\
        event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"";
    let m = MockUpstream::start().await.expect("mock");
    m.set_default(Reply::flood(start, &"y".repeat(1 << 16), GIB, sse_ct()));
    let (sy, url) = serve("after-commit", &[("p0", "anthropic", &m)]);
    let pid = sy.0.id();
    let idle = kib(pid, "VmRSS:");
    let (status, text, _) = ask(&url, true).await;
    assert_eq!(status, 200);
    assert!(text.contains("Hel"), "{}", &text[..text.len().min(600)]);
    let frames: Vec<&str> = text.split("\n\n").filter(|f| !f.is_empty()).collect();
    let last = frames.last().copied().unwrap_or("");
    assert!(last.starts_with("event: error"), "{last}");
    assert!(
        frames
            .iter()
            .any(|f| f.starts_with("event: content_block_stop")),
        "the open block is closed before the error"
    );
    assert!(text.len() < 1 << 20, "no half frame was relayed");
    let rec = last_request(&url).await;
    assert!(
        rec["error"]
            .as_str()
            .is_some_and(|e| e.contains("limits.max_frame_kb")),
        "{rec}"
    );
    let peak = kib(pid, "VmHWM:");
    assert!(
        peak < idle + MARGIN_MIB * 1024,
        "peak {peak} KiB from {idle} KiB"
    );
}
