//! Recorded vendor traffic (`tests/fixtures/vendor`, see its README) replayed through the mock
//! upstream, to every client dialect: what real providers send must come out whole.

mod common;

use common::*;
use serde_json::{json, Value};
use switchyard_core::config::ProviderKind;
use switchyard_core::translate::check::check_anthropic_stream;
use switchyard_core::translate::inbound_gemini::check_gemini_stream;
use switchyard_mock::{Body, Reply, Step};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/vendor/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).expect("a fixture in tests/fixtures/vendor")
}

/// A recorded stream as the vendor sent it: one `data:` frame per recorded chunk.
fn replay(name: &str) -> Reply {
    Reply::sse(
        fixture(name)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| Step::raw(format!("data: {l}\n\n")))
            .collect::<Vec<_>>(),
    )
}

fn recorded_json(name: &str) -> Reply {
    Reply::new(Body::Raw {
        text: fixture(name),
        content_type: Some("application/json".into()),
    })
}

async fn one_provider(kind: ProviderKind) -> Env {
    env_with(1, |c| {
        c.providers[0].kind = kind;
        c.providers[0].models.0 = vec![("*".into(), "vendor-model".into())];
    })
    .await
}

fn blocks(r: &Resp, kind: &str, field: &str) -> String {
    r.events()
        .iter()
        .filter(|(n, d)| n == "content_block_delta" && d["delta"]["type"] == kind)
        .filter_map(|(_, d)| d["delta"][field].as_str().map(String::from))
        .collect()
}

#[tokio::test]
async fn mistral_thinking_parts_are_kept() {
    let e = one_provider(ProviderKind::Openai).await;
    e.mocks[0].push(replay("mistral-reasoning.chunks.txt"));
    let r = e.messages(true).await;
    assert_eq!(r.status, 200, "{}", r.text);
    check_anthropic_stream(r.text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{}", r.text));
    assert_eq!(
        blocks(&r, "thinking_delta", "thinking"),
        "The user is asking for 2+2. This is basic arithmetic. 2+2=4."
    );
    assert_eq!(stream_text(&r), "2 + 2 = 4");
    let usage = r
        .events()
        .into_iter()
        .find(|(n, _)| n == "message_delta")
        .map(|(_, d)| d["usage"].clone())
        .expect("message_delta");
    assert_eq!(usage["output_tokens"], 46, "{usage}");

    e.mocks[0].push(recorded_json("mistral-reasoning.json"));
    let m = e.messages(false).await.json();
    assert_eq!(m["content"][0]["type"], "thinking", "{m}");
    assert_eq!(
        m["content"][0]["thinking"],
        "The user is asking for 2+2. This is basic arithmetic. 2+2=4."
    );
    assert_eq!(
        m["content"][1],
        json!({"type": "text", "text": "2 + 2 = 4"})
    );

    // A Gemini client asking for thoughts gets them as thought parts.
    e.mocks[0].push(replay("mistral-reasoning.chunks.txt"));
    let req = json!({"contents": [{"role": "user", "parts": [{"text": "2+2?"}]}],
        "generationConfig": {"thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": true}}});
    let r = e
        .post_json(
            "/v1beta/models/magistral:streamGenerateContent?alt=sse",
            &req,
        )
        .await;
    check_gemini_stream(r.text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{}", r.text));
    assert!(r.text.contains(r#""thought":true"#), "{}", r.text);
    assert!(r.text.contains("2 + 2 = 4"), "{}", r.text);
}

fn gemini_chunks(r: &Resp) -> Vec<Value> {
    r.text
        .split("\n\n")
        .filter_map(|f| f.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).expect("json"))
        .collect()
}

#[tokio::test]
async fn gemini_3_streams_reach_every_dialect_whole() {
    for (name, text, output) in [
        (
            "google-reasoning-gemini3.chunks.txt",
            "There are **3** \"r\"s in strawberry.\n\nSt**r**awbe**rr**y",
            325,
        ),
        ("google-stream-gemini-3.7-flash.chunks.txt", "OK", 51),
    ] {
        let e = one_provider(ProviderKind::Gemini).await;
        // Anthropic clients: translated.
        e.mocks[0].push(replay(name));
        let r = e.messages(true).await;
        check_anthropic_stream(r.text.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", r.text));
        assert_eq!(stream_text(&r), text, "{name}");
        let rec = e.get("/api/requests?limit=1").await.json()["requests"][0].clone();
        assert_eq!(
            rec["output_tokens"], output,
            "{name}: thoughts are output: {rec}"
        );

        // Gemini clients: the vendor's own frames, the client's model echoed.
        e.mocks[0].push(replay(name));
        let req = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
        let r = e
            .post_json(
                "/v1beta/models/gemini-client:streamGenerateContent?alt=sse",
                &req,
            )
            .await;
        check_gemini_stream(r.text.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", r.text));
        let chunks = gemini_chunks(&r);
        assert!(
            chunks.iter().all(|c| c["modelVersion"] == "gemini-client"),
            "{}",
            r.text
        );
        let recorded: Vec<Value> = fixture(name)
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        assert_eq!(chunks.len(), recorded.len(), "{name}");
        for (got, mut want) in chunks.into_iter().zip(recorded) {
            want["modelVersion"] = json!("gemini-client");
            assert_eq!(got, want, "{name}: frames pass as they came");
        }
        let rec = e.get("/api/requests?limit=1").await.json()["requests"][0].clone();
        assert_eq!(rec["output_tokens"], output, "{name}: {rec}");
    }
}
