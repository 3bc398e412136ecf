//! OpenAI-compatible inbound: `/v1/chat/completions` and the OpenAI `/v1/models` through the
//! real proxy, to every provider kind, with failover, stats and OpenAI-shaped errors.

mod common;

use common::*;
use serde_json::{json, Value};
use switchyard_core::config::{Config, ProviderKind};
use switchyard_core::{Event, FailoverReason};
use switchyard_mock::{Reply, Step};

const KINDS: [ProviderKind; 3] = [
    ProviderKind::Anthropic,
    ProviderKind::Openai,
    ProviderKind::Gemini,
];

fn kinds(c: &mut Config, kinds: &[ProviderKind]) {
    for (p, k) in c.providers.iter_mut().zip(kinds) {
        p.kind = *k;
        if *k != ProviderKind::Anthropic {
            p.models.0 = vec![("*".into(), format!("{:?}-model", k).to_lowercase())];
        }
    }
}

fn chat(stream: bool) -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello"},
        ],
        "stream": stream,
        "stream_options": {"include_usage": true},
    })
}

/// A Chat Completions request as OpenAI clients send it (Bearer auth, no anthropic-version).
async fn post_chat(e: &Env, path: &str, body: &Value) -> Resp {
    e.send(
        e.http
            .post(e.url(path))
            .bearer_auth(CLIENT_KEY)
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

/// The data lines of an OpenAI stream (`[DONE]` as a string).
fn chunks(r: &Resp) -> Vec<Value> {
    r.text
        .split("\n\n")
        .filter_map(|f| f.strip_prefix("data: "))
        .map(|d| {
            if d == "[DONE]" {
                Value::String(d.into())
            } else {
                serde_json::from_str(d).expect("chunk is JSON")
            }
        })
        .collect()
}

fn chunk_text(c: &[Value]) -> String {
    c.iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

#[tokio::test]
async fn every_provider_kind_answers_in_openai_shape() {
    for kind in KINDS {
        let e = env_with(2, |c| kinds(c, &[ProviderKind::Anthropic, kind])).await;
        e.sy.switch(Some("p1")).expect("pin");
        e.mocks[1].set_default(Reply::text("Bonjour").with_chunks(3));
        let r = post_chat(&e, "/v1/chat/completions", &chat(false)).await;
        assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
        assert_eq!(r.provider(), Some("p1"));
        if kind == ProviderKind::Anthropic {
            assert!(
                r.header("x-request-id")
                    .is_some_and(|id| id.starts_with("req_")),
                "{:?}",
                r.headers
            );
        }
        let v = r.json();
        assert_eq!(v["object"], "chat.completion", "{kind:?}");
        assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
        assert_eq!(v["model"], "claude-sonnet-4-5");
        assert_eq!(v["choices"][0]["message"]["role"], "assistant");
        assert_eq!(v["choices"][0]["message"]["content"], "Bonjour");
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        let u = &v["usage"];
        assert_eq!(
            u["total_tokens"].as_u64(),
            Some(u["prompt_tokens"].as_u64().unwrap() + u["completion_tokens"].as_u64().unwrap())
        );
        assert!(u["prompt_tokens"].as_u64().unwrap() > 0, "{kind:?} {u}");
        // The system message reached the provider in its own protocol.
        let sent = e.mocks[1]
            .requests()
            .last()
            .cloned()
            .expect("request")
            .json();
        let sent_text = sent.to_string();
        assert!(sent_text.contains("Be brief."), "{kind:?}: {sent_text}");

        let r = post_chat(&e, "/chat/completions", &chat(true)).await;
        assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
        assert!(r
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream")));
        let c = chunks(&r);
        assert_eq!(c.last(), Some(&json!("[DONE]")), "{kind:?}: {}", r.text);
        assert_eq!(c[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(chunk_text(&c), "Bonjour", "{kind:?}");
        let fin: Vec<_> = c
            .iter()
            .filter(|c| c["choices"][0]["finish_reason"].is_string())
            .collect();
        assert_eq!(fin.len(), 1);
        assert_eq!(fin[0]["choices"][0]["finish_reason"], "stop");
        let usage = &c[c.len() - 2];
        assert_eq!(usage["choices"], json!([]));
        assert!(
            usage["usage"]["completion_tokens"].as_u64().unwrap() > 0,
            "{kind:?}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn tool_calls_round_trip_to_every_kind() {
    for kind in KINDS {
        for stream in [false, true] {
            let e = env_with(1, |c| kinds(c, &[kind])).await;
            e.mocks[0].set_default(
                Reply::text("")
                    .with_tool_use("toolu_01", "get_weather", json!({"city": "Paris"}))
                    .with_stop_reason("tool_use"),
            );
            let mut body = chat(stream);
            body["tools"] = json!([{"type": "function", "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            }}]);
            let r = post_chat(&e, "/v1/chat/completions", &body).await;
            assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
            let (name, args, finish) = if stream {
                let c = chunks(&r);
                let calls: Vec<&Value> = c
                    .iter()
                    .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
                    .collect();
                assert!(!calls.is_empty(), "{kind:?}: {}", r.text);
                assert!(calls[0]["id"].as_str().is_some());
                let args: String = calls
                    .iter()
                    .filter_map(|t| t["function"]["arguments"].as_str())
                    .collect();
                let fin = c
                    .iter()
                    .find_map(|c| c["choices"][0]["finish_reason"].as_str().map(String::from));
                (calls[0]["function"]["name"].clone(), args, fin)
            } else {
                let v = r.json();
                let t = &v["choices"][0]["message"]["tool_calls"][0];
                (
                    t["function"]["name"].clone(),
                    t["function"]["arguments"]
                        .as_str()
                        .expect("string")
                        .to_string(),
                    v["choices"][0]["finish_reason"].as_str().map(String::from),
                )
            };
            assert_eq!(name, "get_weather", "{kind:?} {stream}");
            let args: Value = serde_json::from_str(&args).expect("arguments are JSON");
            assert_eq!(args, json!({"city": "Paris"}), "{kind:?} {stream}");
            assert_eq!(finish.as_deref(), Some("tool_calls"));
            // The provider got the tool in its own protocol.
            let sent = e.mocks[0]
                .requests()
                .last()
                .cloned()
                .expect("request")
                .json();
            assert!(sent.to_string().contains("get_weather"));
        }
    }
}

#[tokio::test]
async fn tool_results_reach_the_provider_as_tool_results() {
    let e = env(1).await;
    e.mocks[0].set_default(Reply::text("It is sunny in Paris."));
    let body = json!({
        "model": "claude-sonnet-4-5",
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
        "max_tokens": 50,
        "user": "u1",
    });
    let r = post_chat(&e, "/v1/chat/completions", &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = e.mocks[0].requests().last().cloned().expect("request");
    assert_eq!(got.path, "/v1/messages");
    let sent = got.json();
    assert_eq!(sent["max_tokens"], 50);
    assert_eq!(sent["metadata"]["user_id"], "u1");
    assert_eq!(sent["messages"][1]["content"][0]["type"], "tool_use");
    assert_eq!(
        sent["messages"][2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"})
    );
    // Passthrough provider: the client's bearer token is forwarded.
    assert_eq!(
        got.header("authorization").map(String::from),
        Some(format!("Bearer {CLIENT_KEY}"))
    );
    assert_eq!(got.header("anthropic-version"), Some("2023-06-01"));
}

#[tokio::test]
async fn failover_before_the_first_byte_with_events_and_stats() {
    for stream in [false, true] {
        let mut e = env_with(3, |c| {
            kinds(
                c,
                &[
                    ProviderKind::Anthropic,
                    ProviderKind::Openai,
                    ProviderKind::Gemini,
                ],
            )
        })
        .await;
        e.mocks[0].push(Reply::error(429, "rate limited").with_header("retry-after", "30"));
        e.mocks[1].push(Reply::error(503, "busy"));
        e.mocks[2].set_default(Reply::text("backup speaking"));
        let r = post_chat(&e, "/v1/chat/completions", &chat(stream)).await;
        assert_eq!((r.status, r.provider()), (200, Some("p2")), "{}", r.text);
        assert_eq!(r.header("x-switchyard-attempts"), Some("3"));
        let text = if stream {
            let c = chunks(&r);
            assert_eq!(c.last(), Some(&json!("[DONE]")));
            chunk_text(&c)
        } else {
            r.json()["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(text, "backup speaking");
        let evs = e.drain_events();
        assert!(
            evs.iter().any(|ev| matches!(ev, Event::Failover { from, to, reason: FailoverReason::RateLimited, .. } if from == "p0" && to == "p2")),
            "{evs:?}"
        );
        let reqs = e.get("/api/requests").await.json();
        let rec = &reqs["requests"][0];
        assert_eq!(rec["route"], "chat_completions", "{rec}");
        assert_eq!(rec["provider"], "p2");
        assert_eq!(rec["attempts"][0]["status"], 429);
        assert_eq!(rec["stream"], stream);
        assert!(rec["error"].is_null(), "{rec}");
        // The next request skips the cooling providers.
        let r = post_chat(&e, "/v1/chat/completions", &chat(false)).await;
        assert_eq!((r.status, r.provider()), (200, Some("p2")));
    }
}

fn assert_openai_error(r: &Resp, status: u16) -> Value {
    assert_eq!(r.status, status, "{} {:?}", r.text, r.headers);
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
    let v = r.json();
    let err = &v["error"];
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    assert!(err["type"].is_string(), "{v}");
    assert!(
        err.get("param").is_some() && err.get("code").is_some(),
        "{v}"
    );
    assert!(v.get("type").is_none(), "no Anthropic envelope: {v}");
    err.clone()
}

#[tokio::test]
async fn errors_are_openai_shaped() {
    let e = env_with(2, |c| {
        kinds(c, &[ProviderKind::Anthropic, ProviderKind::Openai])
    })
    .await;
    // Refused locally, with the parameter named; nothing is sent upstream.
    let mut b = chat(false);
    b["n"] = json!(3);
    let err = assert_openai_error(&post_chat(&e, "/v1/chat/completions", &b).await, 400);
    assert_eq!(err["param"], "n");
    assert_eq!(err["type"], "invalid_request_error");
    let r = e
        .send(
            e.http
                .post(e.url("/v1/chat/completions"))
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_openai_error(&r, 400);
    assert_eq!(e.mocks[0].request_count() + e.mocks[1].request_count(), 0);
    let reqs = e.get("/api/requests").await.json();
    let rec = &reqs["requests"][0];
    assert_eq!(
        (
            rec["route"].as_str(),
            rec["status"].as_u64(),
            rec["model"].as_str()
        ),
        (
            Some("chat_completions"),
            Some(400),
            Some("claude-sonnet-4-5")
        ),
        "local refusals are in the request log: {reqs}"
    );
    assert!(
        rec["error"].as_str().is_some_and(|m| m.contains("n = 1")),
        "{rec}"
    );
    // Wrong method, before the handler.
    let r = e.send(e.http.get(e.url("/v1/chat/completions"))).await;
    assert_openai_error(&r, 405);
    // The client's own mistake upstream: relayed, no failover.
    e.mocks[0].push(Reply::error(400, "messages: bad thing"));
    let err = assert_openai_error(
        &post_chat(&e, "/v1/chat/completions", &chat(false)).await,
        400,
    );
    assert!(
        err["message"].as_str().unwrap().contains("bad thing"),
        "{err}"
    );
    assert_eq!(err["code"], "invalid_request_error");
    assert_eq!(e.mocks[1].request_count(), 0);
}

#[tokio::test]
async fn when_every_provider_fails_the_final_error_is_openai_shaped() {
    for stream in [false, true] {
        let e = env_with(2, |c| {
            kinds(c, &[ProviderKind::Anthropic, ProviderKind::Openai])
        })
        .await;
        e.mocks[0].push(Reply::error(529, "Overloaded"));
        e.mocks[1].push(Reply::error(429, "slow down"));
        let r = post_chat(&e, "/v1/chat/completions", &chat(stream)).await;
        let err = assert_openai_error(&r, 429);
        // The last provider speaks the client's dialect: its own error comes through as it was.
        assert_eq!(err["type"], "rate_limit_exceeded", "{err}");
        assert!(
            err["message"]
                .as_str()
                .is_some_and(|m| m.contains("slow down")),
            "{err}"
        );
        assert!(r.header("retry-after").is_some());
        assert_eq!(r.header("x-switchyard-attempts"), Some("2"));
    }
}

#[tokio::test]
async fn a_stream_cut_midway_ends_with_an_error_chunk_and_no_done() {
    let e = env(1).await;
    let start = json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
        "model": "m", "content": [], "stop_reason": null, "usage": {"input_tokens": 5, "output_tokens": 1}}});
    e.mocks[0].set_default(Reply::sse([
        Step::event("message_start", start),
        Step::event("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
        Step::event("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "partial"}})),
    ]));
    let r = post_chat(&e, "/v1/chat/completions", &chat(true)).await;
    assert_eq!(r.status, 200);
    let c = chunks(&r);
    assert_eq!(chunk_text(&c), "partial");
    let last = c.last().expect("chunks");
    assert!(last["error"]["message"].as_str().is_some(), "{}", r.text);
    assert!(!r.text.contains("[DONE]"));
    let reqs = e.get("/api/requests").await.json();
    assert!(reqs["requests"][0]["error"].is_string(), "{reqs}");
}

#[tokio::test]
async fn access_token_via_bearer_and_openai_shaped_refusal() {
    std::env::set_var("SY_TEST_TOKEN_OAI", "team-token-oai-123456");
    let e = env_with(2, |c| {
        c.security.access_token = Some(switchyard_core::config::Credential::Env(
            "SY_TEST_TOKEN_OAI".into(),
        ));
        c.security.local_without_token = false;
    })
    .await;
    e.sy.switch(Some("p1")).expect("pin");
    e.mocks[1].set_default(Reply::text("ok"));
    let err = assert_openai_error(
        &post_chat(&e, "/v1/chat/completions", &chat(false)).await,
        401,
    );
    assert_eq!(err["type"], "authentication_error");
    let r = e
        .send(
            e.http
                .post(e.url("/v1/chat/completions"))
                .bearer_auth("team-token-oai-123456")
                .header("content-type", "application/json")
                .body(chat(false).to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = e.mocks[1].requests().last().cloned().expect("request");
    assert!(
        !format!("{:?}", got.headers).contains("team-token-oai"),
        "the access token never reaches a provider"
    );
    assert_eq!(
        got.header("x-api-key").map(String::from),
        Some(key_of("p1"))
    );
}

#[tokio::test]
async fn models_list_shape_depends_on_the_client() {
    let e = env_with(2, |c| {
        c.providers[1].models.0 = vec![("deepseek-chat".into(), "deepseek-chat".into())];
    })
    .await;
    // OpenAI clients (no anthropic-version): OpenAI's list, built from the config.
    for path in ["/v1/models", "/models"] {
        let r = e
            .send(e.http.get(e.url(path)).bearer_auth(CLIENT_KEY))
            .await;
        assert_eq!(r.status, 200);
        let v = r.json();
        assert_eq!(v["object"], "list", "{v}");
        let ids: Vec<&str> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert!(
            ids.contains(&"claude-sonnet-4-5") && ids.contains(&"deepseek-chat"),
            "{ids:?}"
        );
        assert!(v["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["object"] == "model" && m["owned_by"] == "switchyard"));
    }
    assert_eq!(e.mocks[0].request_count(), 0, "answered locally");
    // Anthropic clients: today's answer (the provider's own list).
    let r = e
        .send(
            e.http
                .get(e.url("/v1/models"))
                .header("x-api-key", CLIENT_KEY)
                .header("anthropic-version", "2023-06-01"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.json().get("object").is_none(), "{}", r.text);
    assert!(r.json()["data"].is_array());
    assert_eq!(e.mocks[0].request_count(), 1);
}

#[tokio::test]
async fn anthropic_api_keys_sent_as_bearer_reach_passthrough_as_x_api_key() {
    let e = env(1).await;
    e.mocks[0].set_default(Reply::text("hi"));
    let r = e
        .send(
            e.http
                .post(e.url("/v1/chat/completions"))
                .bearer_auth("sk-ant-api03-userkey")
                .header("content-type", "application/json")
                .body(chat(false).to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = e.mocks[0].requests().last().cloned().expect("request");
    assert_eq!(got.header("x-api-key"), Some("sk-ant-api03-userkey"));
    assert_eq!(got.header("authorization"), None);
}

#[tokio::test]
async fn a_provider_of_the_clients_dialect_gets_the_clients_bytes() {
    let e = env_with(1, |c| kinds(c, &[ProviderKind::Openai])).await;
    e.mocks[0].set_default(Reply::text("Hello there").with_output_tokens(4));
    // Fields the hub has no place for go through as the client wrote them.
    let mut req = chat(false);
    req["seed"] = json!(7);
    req["logit_bias"] = json!({"50256": -100});
    req["vendor_extension"] = json!({"keep": true});
    let r = post_chat(&e, "/v1/chat/completions", &req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = e.mocks[0]
        .requests()
        .last()
        .cloned()
        .expect("request")
        .json();
    let mut expected = req.clone();
    expected["model"] = json!("openai-model");
    assert_eq!(sent, expected, "only the model is mapped");
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(
        v["model"], "claude-sonnet-4-5",
        "the client's model is echoed"
    );
    let rec = e.get("/api/requests?limit=1").await.json()["requests"][0].clone();
    assert_eq!(rec["output_tokens"], 4, "{rec}");

    // A stream the client asked without usage: we ask for it (to count tokens) and keep the
    // usage chunk to ourselves.
    let mut req = chat(true);
    req.as_object_mut()
        .expect("object")
        .remove("stream_options");
    let r = post_chat(&e, "/v1/chat/completions", &req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = e.mocks[0]
        .requests()
        .last()
        .cloned()
        .expect("request")
        .json();
    assert_eq!(sent["stream_options"]["include_usage"], true);
    let c = chunks(&r);
    assert_eq!(c.last(), Some(&Value::String("[DONE]".into())));
    assert_eq!(chunk_text(&c), "Hello there");
    assert!(
        c.iter()
            .filter(|c| c.is_object())
            .all(|c| c["model"] == "claude-sonnet-4-5"
                && c["choices"].as_array().is_some_and(|a| !a.is_empty())),
        "{}",
        r.text
    );
    let rec = e.get("/api/requests?limit=1").await.json()["requests"][0].clone();
    assert_eq!(rec["output_tokens"], 4, "{rec}");
    assert!(rec["error"].is_null(), "{rec}");
}
