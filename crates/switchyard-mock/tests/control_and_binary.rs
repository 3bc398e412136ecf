//! The HTTP control API and the `switchyard-mock` binary.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use switchyard_mock::MockUpstream;

async fn control(
    base: &str,
    method: reqwest::Method,
    route: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client().request(method, format!("{base}/__mock/{route}"));
    if let Some(body) = body {
        req = req.body(serde_json::to_vec(&body).expect("json"));
    }
    let resp = req.send().await.expect("control request");
    let status = resp.status().as_u16();
    (status, json_of(resp).await)
}

async fn control_round_trip(base: &str) {
    use reqwest::Method;
    let (status, v) = control(
        base,
        Method::POST,
        "replies",
        Some(json!([
            {"status": 529, "headers": [["x-should-retry", "true"]], "body": {"type": "error", "message": "Overloaded"}},
            {"body": {"type": "message", "text": "from control"}}
        ])),
    )
    .await;
    assert_eq!((status, v), (200, json!({"queued": 2})));
    let (status, v) = control(
        base,
        Method::POST,
        "replies",
        Some(json!({"body": {"type": "empty_message"}})),
    )
    .await;
    assert_eq!((status, v), (200, json!({"queued": 3})));
    let (_, stats) = control(base, Method::GET, "stats", None).await;
    assert_eq!(stats["queued"], 3);

    let http = client();
    let resp = http
        .post(format!("{base}/v1/messages?beta=true"))
        .header("x-api-key", "k1")
        .body(serde_json::to_vec(&request("m", false)).expect("json"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 529);
    assert_eq!(resp.headers()["x-should-retry"], "true");
    assert_eq!(json_of(resp).await["error"]["type"], "overloaded_error");
    let resp = http
        .post(format!("{base}/v1/messages"))
        .body(serde_json::to_vec(&request("m", false)).expect("json"))
        .send()
        .await
        .expect("send");
    assert_eq!(json_of(resp).await["content"][0]["text"], "from control");

    let (status, _) = control(
        base,
        Method::PUT,
        "default",
        Some(json!({"body": {"type": "json", "value": {"default": true}}})),
    )
    .await;
    assert_eq!(status, 200);
    let resp = http
        .post(format!("{base}/x"))
        .body("raw")
        .send()
        .await
        .expect("send");
    assert_eq!(
        json_of(resp).await["content"],
        json!([]),
        "queued empty_message first"
    );
    let resp = http
        .post(format!("{base}/x"))
        .body("raw")
        .send()
        .await
        .expect("send");
    assert_eq!(json_of(resp).await, json!({"default": true}));

    let (status, reqs) = control(base, Method::GET, "requests", None).await;
    assert_eq!(status, 200);
    let reqs = reqs.as_array().expect("array").clone();
    assert_eq!(reqs.len(), 4);
    assert_eq!(reqs[0]["method"], "POST");
    assert_eq!(reqs[0]["path"], "/v1/messages");
    assert_eq!(reqs[0]["query"], "beta=true");
    assert!(reqs[0]["headers"]
        .as_array()
        .expect("headers")
        .contains(&json!(["x-api-key", "k1"])));
    assert_eq!(reqs[0]["json"]["model"], "m");
    assert!(reqs[0]["body"]
        .as_str()
        .is_some_and(|b| b.contains("\"model\"")));
    assert_eq!(reqs[1]["query"], Value::Null);
    assert_eq!(reqs[3]["body"], "raw");
    assert_eq!(reqs[3]["json"], Value::Null);

    let (_, stats) = control(base, Method::GET, "stats", None).await;
    assert_eq!(
        stats,
        json!({"requests": 4, "queued": 0, "streams_open": 0, "streams_aborted": 0})
    );
    let (status, _) = control(base, Method::POST, "clear", None).await;
    assert_eq!(status, 200);
    let (_, stats) = control(base, Method::GET, "stats", None).await;
    assert_eq!(stats["requests"], 0);
    let (_, reqs) = control(base, Method::GET, "requests", None).await;
    assert_eq!(reqs, json!([]));

    // Mistakes are reported, not queued.
    let (status, v) = control(
        base,
        Method::POST,
        "replies",
        Some(json!({"body": {"type": "nope"}})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(v["error"].is_string());
    let (status, _) = control(base, Method::GET, "replies", None).await;
    assert_eq!(status, 405);
    let (status, _) = control(base, Method::GET, "unknown", None).await;
    assert_eq!(status, 404);
    let (_, stats) = control(base, Method::GET, "stats", None).await;
    assert_eq!(stats["queued"], 0);
    assert_eq!(stats["requests"], 0, "control routes are not recorded");
}

#[tokio::test]
async fn control_api_round_trip_in_process() {
    let mock = MockUpstream::start().await.expect("start");
    control_round_trip(&mock.base_url()).await;
    assert_eq!(mock.request_count(), 0);
}

/// Kills the child on drop so a failing test leaves no process behind.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_binary(args: &[&str]) -> (Child, String) {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_switchyard-mock"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn switchyard-mock"),
    );
    let stdout = child.0.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read line");
    let base = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| unreachable!("unexpected first line {line:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    (child, base)
}

#[tokio::test]
async fn binary_serves_script_then_default_and_control_api() {
    let dir = std::env::temp_dir().join(format!("switchyard-mock-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let script = dir.join("script.json");
    let mut f = std::fs::File::create(&script).expect("script file");
    f.write_all(br#"[{"body":{"type":"message","text":"scripted"}},{"status":429,"body":{"type":"error","message":"later"}}]"#)
        .expect("write");
    drop(f);
    let script_arg = script.to_str().expect("utf8 path").to_owned();
    let (_child, base) = spawn_binary(&[
        "--listen",
        "127.0.0.1:0",
        "--default-text",
        "bench reply",
        "--latency-ms",
        "100",
        "--script",
        &script_arg,
    ]);
    let http = client();
    let send = || {
        http.post(format!("{base}/v1/messages"))
            .body(serde_json::to_vec(&request("m", false)).expect("json"))
            .send()
    };
    let v = json_of(send().await.expect("send")).await;
    assert_eq!(v["content"][0]["text"], "scripted");
    assert_eq!(send().await.expect("send").status(), 429);
    let started = Instant::now();
    let v = json_of(send().await.expect("send")).await;
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(v["content"][0]["text"], "bench reply");
    let (_, stats) = control(&base, reqwest::Method::GET, "stats", None).await;
    assert_eq!(stats["requests"], 3);
    http.post(format!("{base}/__mock/clear"))
        .send()
        .await
        .expect("clear");
    control_round_trip(&base).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn binary_help_lists_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard-mock"))
        .arg("--help")
        .output()
        .expect("run --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--default-text",
        "--latency-ms",
        "--chunk-delay-ms",
        "--script",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
}
