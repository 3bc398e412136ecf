//! OpenAI Responses inbound: `/v1/responses` through the real proxy, to every provider kind,
//! with tool round trips, thinking carried through reasoning items, failover, errors in the
//! Responses shape, stored state refused, and the client's own bytes to a provider of its own
//! dialect.

mod common;

use common::*;
use serde_json::{json, Value};
use switchyard_core::config::{Config, ProviderKind};
use switchyard_core::translate::inbound_responses::check_responses_stream;
use switchyard_core::{Event, FailoverReason};
use switchyard_mock::{Reply, Step};

fn kinds(c: &mut Config, kinds: &[ProviderKind]) {
    for (p, k) in c.providers.iter_mut().zip(kinds) {
        p.kind = *k;
        if *k != ProviderKind::Anthropic {
            p.models.0 = vec![("*".into(), format!("{k:?}-model").to_lowercase())];
        }
    }
}

/// A request as the OpenAI SDK sends `responses.create`.
fn create(stream: bool) -> Value {
    json!({
        "model": "gpt-5.1-codex",
        "instructions": "Be brief.",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "hello"}]}],
        "stream": stream,
        "store": false,
    })
}

async fn post(e: &Env, path: &str, body: &Value) -> Resp {
    e.send(
        e.http
            .post(e.url(path))
            .bearer_auth(CLIENT_KEY)
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

/// The events of a Responses stream (name, data).
fn events(r: &Resp) -> Vec<(String, Value)> {
    r.events()
}

fn stream_text(r: &Resp) -> String {
    events(r)
        .iter()
        .filter(|(n, _)| n == "response.output_text.delta")
        .filter_map(|(_, d)| d["delta"].as_str().map(String::from))
        .collect()
}

fn output_text(v: &Value) -> String {
    v["output"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["text"].as_str().map(String::from))
        .collect()
}

fn assert_valid(r: &Resp) {
    let checked = check_responses_stream(r.text.as_bytes());
    assert!(checked.is_ok(), "{checked:?}\n{}", r.text);
}

#[tokio::test]
async fn every_provider_kind_answers_in_responses_shape() {
    for &kind in ProviderKind::ALL {
        let e = env_with(2, |c| kinds(c, &[ProviderKind::Anthropic, kind])).await;
        e.sy.switch(Some("p1")).expect("pin");
        e.mocks[1].set_default(Reply::text("Bonjour").with_chunks(3));
        let r = post(&e, "/v1/responses", &create(false)).await;
        assert_eq!(
            (r.status, r.provider()),
            (200, Some("p1")),
            "{kind:?}: {}",
            r.text
        );
        let v = r.json();
        assert_eq!(v["object"], "response", "{kind:?}: {v}");
        assert_eq!(v["status"], "completed");
        assert_eq!(v["model"], "gpt-5.1-codex", "{kind:?}: the client's model");
        assert_eq!(output_text(&v), "Bonjour", "{kind:?}");
        let u = &v["usage"];
        assert!(
            u["input_tokens"].as_u64().is_some_and(|n| n > 0),
            "{kind:?}: {u}"
        );
        assert_eq!(
            u["total_tokens"].as_u64(),
            Some(
                u["input_tokens"].as_u64().unwrap_or(0) + u["output_tokens"].as_u64().unwrap_or(0)
            )
        );
        // The instructions reached the provider in its own protocol.
        let sent = e.mocks[1].requests().last().cloned().expect("request");
        assert!(
            sent.body_text().contains("Be brief."),
            "{kind:?}: {}",
            sent.body_text()
        );

        let r = post(&e, "/responses", &create(true)).await;
        assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
        assert!(r
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream")));
        assert_valid(&r);
        assert_eq!(stream_text(&r), "Bonjour", "{kind:?}");
        let ev = events(&r);
        assert_eq!(ev[0].0, "response.created");
        let last = &ev.last().expect("events").1;
        assert_eq!(last["type"], "response.completed", "{kind:?}");
        assert!(
            last["response"]["usage"]["output_tokens"]
                .as_u64()
                .is_some_and(|n| n > 0),
            "{kind:?}: {last}"
        );
        let rec = &e.get("/api/requests?limit=1").await.json()["requests"][0];
        assert_eq!(rec["route"], "responses", "{rec}");
        assert!(
            rec["output_tokens"].as_u64().is_some_and(|n| n > 0),
            "{kind:?}: {rec}"
        );
    }
}

#[tokio::test]
async fn a_tool_round_trip_works_on_every_kind() {
    let tools = json!([{"type": "function", "name": "exec_command", "description": "Run a command",
        "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}}]);
    for &kind in ProviderKind::ALL {
        for stream in [false, true] {
            let e = env_with(1, |c| kinds(c, &[kind])).await;
            e.mocks[0].push(Reply::text("").with_tool_use(
                "call_7",
                "exec_command",
                json!({"cmd": "ls"}),
            ));
            let mut req = create(stream);
            req["tools"] = tools.clone();
            let r = post(&e, "/v1/responses", &req).await;
            assert_eq!(r.status, 200, "{kind:?} {stream}: {}", r.text);
            let call = if stream {
                assert_valid(&r);
                events(&r)
                    .into_iter()
                    .filter(|(n, d)| {
                        n == "response.output_item.done" && d["item"]["type"] == "function_call"
                    })
                    .map(|(_, d)| d["item"].clone())
                    .next()
                    .expect("a function call")
            } else {
                r.json()["output"]
                    .as_array()
                    .and_then(|o| o.iter().find(|i| i["type"] == "function_call").cloned())
                    .expect("a function call")
            };
            assert_eq!(call["name"], "exec_command", "{kind:?}");
            let call_id = call["call_id"].as_str().expect("call_id").to_string();
            let args: Value =
                serde_json::from_str(call["arguments"].as_str().expect("arguments")).expect("json");
            assert_eq!(args, json!({"cmd": "ls"}), "{kind:?} {stream}");

            // The next turn sends the call and its output back; the provider gets them in its
            // own protocol.
            e.mocks[0].push(Reply::text("Listed."));
            req["input"].as_array_mut().expect("input").extend([
                call.clone(),
                json!({"type": "function_call_output", "call_id": call_id, "output": "a.txt\nb.txt"}),
            ]);
            let r = post(&e, "/v1/responses", &req).await;
            assert_eq!(r.status, 200, "{kind:?} {stream}: {}", r.text);
            let sent = e.mocks[0]
                .requests()
                .last()
                .cloned()
                .expect("request")
                .body_text();
            // (Gemini has no call ids: it pairs calls and results by name.)
            let paired = kind == ProviderKind::Gemini || sent.contains(&call_id);
            assert!(sent.contains("a.txt") && paired, "{kind:?}: {sent}");
            let text = if stream {
                stream_text(&r)
            } else {
                output_text(&r.json())
            };
            assert_eq!(text, "Listed.", "{kind:?} {stream}");
        }
    }
}

#[tokio::test]
async fn thinking_round_trips_through_reasoning_items() {
    let e = env_with(1, |c| c.providers[0].quirks.anthropic_native = Some(true)).await;
    e.mocks[0].push(
        Reply::text("")
            .with_thinking("I should run ls.")
            .with_tool_use("toolu_1", "exec_command", json!({"cmd": "ls"})),
    );
    let mut req = create(true);
    req["reasoning"] = json!({"effort": "medium", "summary": "auto"});
    req["include"] = json!(["reasoning.encrypted_content"]);
    req["tools"] = json!([{"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}]);
    let r = post(&e, "/v1/responses", &req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_valid(&r);
    let items: Vec<Value> = events(&r)
        .into_iter()
        .filter(|(n, _)| n == "response.output_item.done")
        .map(|(_, d)| d["item"].clone())
        .collect();
    assert_eq!(items[0]["type"], "reasoning");
    assert_eq!(items[0]["summary"][0]["text"], "I should run ls.");
    assert!(items[0]["encrypted_content"]
        .as_str()
        .is_some_and(|c| c.starts_with("sy1r.")));
    let summary_deltas: String = events(&r)
        .iter()
        .filter(|(n, _)| n == "response.reasoning_summary_text.delta")
        .filter_map(|(_, d)| d["delta"].as_str().map(String::from))
        .collect();
    assert_eq!(summary_deltas, "I should run ls.");
    // Codex CLI sends the items back as it got them (the reasoning item without its id).
    let mut reasoning = items[0].clone();
    reasoning.as_object_mut().expect("object").remove("id");
    e.mocks[0].push(Reply::text("Done."));
    req["input"].as_array_mut().expect("input").extend([
        reasoning,
        items[1].clone(),
        json!({"type": "function_call_output", "call_id": items[1]["call_id"], "output": "a.txt"}),
    ]);
    let r = post(&e, "/v1/responses", &req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = e.mocks[0]
        .requests()
        .last()
        .cloned()
        .expect("request")
        .json();
    let assistant = &sent["messages"][1];
    assert_eq!(assistant["content"][0]["type"], "thinking", "{sent}");
    assert_eq!(assistant["content"][0]["thinking"], "I should run ls.");
    assert!(
        assistant["content"][0]["signature"]
            .as_str()
            .is_some_and(|s| s.starts_with("mock_signature_")),
        "the provider's own signature, unchanged: {assistant}"
    );
    assert_eq!(
        sent["thinking"]["type"], "enabled",
        "thinking stays on: its block came back"
    );
}

#[tokio::test]
async fn failover_before_the_first_byte_with_events() {
    for stream in [false, true] {
        let mut e = env_with(3, |c| {
            kinds(
                c,
                &[
                    ProviderKind::Anthropic,
                    ProviderKind::Openai,
                    ProviderKind::OpenaiResponses,
                ],
            )
        })
        .await;
        e.mocks[0].push(Reply::error(429, "rate limited").with_header("retry-after", "30"));
        e.mocks[1].push(Reply::error(503, "busy"));
        e.mocks[2].set_default(Reply::text("backup speaking"));
        let r = post(&e, "/v1/responses", &create(stream)).await;
        assert_eq!((r.status, r.provider()), (200, Some("p2")), "{}", r.text);
        assert_eq!(r.header("x-switchyard-attempts"), Some("3"));
        let text = if stream {
            assert_valid(&r);
            stream_text(&r)
        } else {
            output_text(&r.json())
        };
        assert_eq!(text, "backup speaking");
        let evs = e.drain_events();
        assert!(
            evs.iter().any(|ev| matches!(ev, Event::Failover { from, to, reason: FailoverReason::RateLimited, .. } if from == "p0" && to == "p2")),
            "{evs:?}"
        );
    }
}

fn assert_openai_error(r: &Resp, status: u16) -> Value {
    assert_eq!(r.status, status, "{} {:?}", r.text, r.headers);
    let v = r.json();
    let err = &v["error"];
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    assert!(
        err["type"].is_string() && err.get("param").is_some() && err.get("code").is_some(),
        "{v}"
    );
    assert!(v.get("type").is_none(), "no Anthropic envelope: {v}");
    err.clone()
}

#[tokio::test]
async fn errors_reach_the_client_in_the_responses_shape() {
    let e = env_with(2, |c| {
        kinds(c, &[ProviderKind::Anthropic, ProviderKind::Openai])
    })
    .await;
    // Stored state: refused locally, nothing sent upstream.
    let mut req = create(false);
    req["previous_response_id"] = json!("resp_earlier");
    let err = assert_openai_error(&post(&e, "/v1/responses", &req).await, 400);
    assert_eq!(err["param"], "previous_response_id");
    assert_eq!(err["code"], "previous_response_not_found");
    assert_eq!(err["type"], "invalid_request_error");
    let r = e
        .send(
            e.http
                .post(e.url("/v1/responses"))
                .header("content-type", "application/json")
                .body("{oops"),
        )
        .await;
    assert_openai_error(&r, 400);
    assert_eq!(e.mocks[0].request_count() + e.mocks[1].request_count(), 0);
    let rec = &e.get("/api/requests").await.json()["requests"][0];
    assert_eq!(
        (rec["route"].as_str(), rec["status"].as_u64()),
        (Some("responses"), Some(400)),
        "{rec}"
    );
    // A wrong method and stored responses that do not exist here.
    assert_openai_error(&e.send(e.http.get(e.url("/v1/responses"))).await, 405);
    assert_openai_error(
        &e.send(e.http.get(e.url("/v1/responses/resp_1"))).await,
        404,
    );
    // The client's own mistake upstream: relayed, no failover.
    e.mocks[0].push(Reply::error(400, "messages: bad thing"));
    let err = assert_openai_error(&post(&e, "/v1/responses", &create(false)).await, 400);
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("bad thing")),
        "{err}"
    );
    assert_eq!(e.mocks[1].request_count(), 0);
    // Everything rate limited: 429 with retry-after, which Codex and the SDKs honour.
    for stream in [false, true] {
        let e = env_with(2, |c| {
            kinds(c, &[ProviderKind::Anthropic, ProviderKind::Openai])
        })
        .await;
        e.mocks[0].push(Reply::error(429, "primary limited").with_header("retry-after", "17"));
        e.mocks[1].push(Reply::error(429, "slow down").with_header("retry-after", "17"));
        let r = post(&e, "/v1/responses", &create(stream)).await;
        let err = assert_openai_error(&r, 429);
        assert!(
            err["message"]
                .as_str()
                .is_some_and(|m| m.contains("slow down")),
            "{err}"
        );
        assert!(r.header("retry-after").is_some(), "{:?}", r.headers);
    }
}

#[tokio::test]
async fn a_stream_cut_midway_ends_with_response_failed() {
    let e = env(1).await;
    let start = json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
        "model": "m", "content": [], "stop_reason": null, "usage": {"input_tokens": 5, "output_tokens": 1}}});
    e.mocks[0].set_default(Reply::sse([
        Step::event("message_start", start),
        Step::event("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
        Step::event("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "partial"}})),
    ]));
    let r = post(&e, "/v1/responses", &create(true)).await;
    assert_eq!(r.status, 200);
    assert_valid(&r);
    assert_eq!(stream_text(&r), "partial");
    let ev = events(&r);
    let last = &ev.last().expect("events").1;
    assert_eq!(last["type"], "response.failed", "{}", r.text);
    assert_eq!(last["response"]["error"]["code"], "server_error");
    assert!(!r.text.contains("response.completed"));
}

#[tokio::test]
async fn a_provider_of_the_clients_dialect_gets_the_clients_bytes() {
    let e = env_with(1, |c| kinds(c, &[ProviderKind::OpenaiResponses])).await;
    e.mocks[0].set_default(Reply::text("Hello there").with_output_tokens(4));
    // Fields the hub has no place for go through as the client wrote them, byte for byte.
    let body = r#"{"model": "gpt-5.1-codex",  "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}, {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "q"}}], "tools": [{"type": "web_search"}], "prompt_cache_key": "k1", "store": false, "include": ["reasoning.encrypted_content"], "vendor_extension": {"keep": true}}"#;
    let r = e
        .send(
            e.http
                .post(e.url("/v1/responses"))
                .bearer_auth(CLIENT_KEY)
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = e.mocks[0].requests().last().cloned().expect("request");
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(
        sent.body_text(),
        body.replace("\"gpt-5.1-codex\"", "\"openairesponses-model\""),
        "only the model is mapped"
    );
    let v = r.json();
    assert_eq!(v["model"], "gpt-5.1-codex", "the client's model is echoed");
    assert_eq!(output_text(&v), "Hello there");
    let rec = &e.get("/api/requests?limit=1").await.json()["requests"][0];
    assert_eq!(rec["output_tokens"], 4, "{rec}");

    // A stream comes back as the provider sent it, the model echoed in its lifecycle events.
    let r = post(&e, "/v1/responses", &create(true)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_valid(&r);
    assert_eq!(stream_text(&r), "Hello there");
    assert!(
        r.text.contains("\"id\":\"resp_mock_"),
        "the provider's own ids: {}",
        r.text
    );
    for (name, d) in events(&r) {
        if name.starts_with("response.") && d.get("response").is_some() {
            assert_eq!(d["response"]["model"], "gpt-5.1-codex", "{name}");
        }
    }
    // Reasoning items another provider made through Switchyard are left out for it; its own
    // encrypted reasoning stays.
    let mut req = create(false);
    req["input"].as_array_mut().expect("input").extend([
        json!({"type": "reasoning", "summary": [], "encrypted_content": "sy1r.eyJ0IjoiaGkiLCJzIjoieCJ9"}),
        json!({"type": "reasoning", "summary": [], "encrypted_content": "gAAAAB-openai-own"}),
    ]);
    let r = post(&e, "/v1/responses", &req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = e.mocks[0]
        .requests()
        .last()
        .cloned()
        .expect("request")
        .body_text();
    assert!(
        !sent.contains("sy1r.") && sent.contains("gAAAAB-openai-own"),
        "{sent}"
    );
    // Its errors reach the client as it sent them.
    e.mocks[0].push(Reply::error(400, "Invalid 'input[0]'."));
    let err = assert_openai_error(&post(&e, "/v1/responses", &create(false)).await, 400);
    assert_eq!(err["message"], "Invalid 'input[0]'.");
}

#[tokio::test]
async fn credentials_follow_the_one_policy_for_responses_clients() {
    for &kind in ProviderKind::ALL {
        // Keyed providers never see the client's key; each gets its own in its own header.
        let e = env_with(2, |c| {
            kinds(c, &[kind, kind]);
            c.providers[0].credential = switchyard_core::config::Credential::Keychain;
        })
        .await;
        use switchyard_core::secrets::{Secret, SecretStore};
        e.secrets
            .set("p0", &Secret::new(&key_of("p0")).expect("key"))
            .expect("store");
        e.mocks[0].set_default(Reply::text("hi"));
        let r = post(&e, "/v1/responses", &create(false)).await;
        assert_eq!(
            (r.status, r.provider()),
            (200, Some("p0")),
            "{kind:?}: {}",
            r.text
        );
        let got = e.mocks[0].requests().last().cloned().expect("request");
        let seen = format!("{:?}", got.headers);
        assert!(!seen.contains(CLIENT_KEY), "{kind:?}: {seen}");
        assert!(seen.contains(&key_of("p0")), "{kind:?}: {seen}");
        // A passthrough provider gets the client's own key only when it speaks the client's
        // dialect (an OpenAI key is OpenAI's); others get none.
        let e = env_with(1, |c| kinds(c, &[kind])).await;
        e.mocks[0].set_default(Reply::text("hi"));
        let r = e
            .send(
                e.http
                    .post(e.url("/v1/responses"))
                    .bearer_auth(CLIENT_KEY)
                    .header("x-codex-turn-metadata", "{}")
                    .header("content-type", "application/json")
                    .body(create(false).to_string()),
            )
            .await;
        assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
        let got = e.mocks[0].requests().last().cloned().expect("request");
        let seen = format!("{:?}", got.headers);
        assert_eq!(
            seen.contains(CLIENT_KEY),
            kind == ProviderKind::OpenaiResponses,
            "{kind:?}: {seen}"
        );
        assert!(!seen.contains("x-codex"), "{kind:?}: {seen}");
    }
    // An Anthropic API key says whose it is: it reaches an Anthropic-kind passthrough provider,
    // as x-api-key.
    let e = env(1).await;
    e.mocks[0].set_default(Reply::text("hi"));
    let r = e
        .send(
            e.http
                .post(e.url("/v1/responses"))
                .bearer_auth("sk-ant-api03-codexuser")
                .header("content-type", "application/json")
                .body(create(false).to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = e.mocks[0].requests().last().cloned().expect("request");
    assert_eq!(got.header("x-api-key"), Some("sk-ant-api03-codexuser"));
    assert_eq!(got.header("authorization"), None);
}
