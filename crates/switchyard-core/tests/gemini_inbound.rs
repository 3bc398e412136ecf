//! Gemini API inbound: `/v1beta/models/{model}:generateContent`, `:streamGenerateContent`,
//! `:countTokens` and the model list through the real proxy, to every provider kind, with
//! failover, Google-shaped errors, tool-call ids and the same-dialect passthrough.

mod common;

use common::*;
use serde_json::{json, Value};
use switchyard_core::config::{Config, ProviderKind};
use switchyard_core::translate::inbound_gemini::check_gemini_stream;
use switchyard_core::{Event, FailoverReason};
use switchyard_mock::Reply;

const MODEL: &str = "gemini-2.5-pro";

fn kinds(c: &mut Config, kinds: &[ProviderKind]) {
    for (p, k) in c.providers.iter_mut().zip(kinds) {
        p.kind = *k;
        if *k != ProviderKind::Anthropic {
            p.models.0 = vec![("*".into(), format!("{:?}-model", k).to_lowercase())];
        }
    }
}

fn request() -> Value {
    json!({
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [{"role": "user", "parts": [{"text": "hello"}]}],
        "generationConfig": {"maxOutputTokens": 256, "temperature": 0.5},
    })
}

fn path(method: &str) -> String {
    match method {
        "streamGenerateContent" => format!("/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"),
        m => format!("/v1beta/models/{MODEL}:{m}"),
    }
}

/// A Gemini request as the Gemini SDKs send it (key in `x-goog-api-key`).
async fn post(e: &Env, path: &str, body: &Value) -> Resp {
    e.send(
        e.http
            .post(e.url(path))
            .header("x-goog-api-key", CLIENT_KEY)
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await
}

/// The chunks of a Gemini stream.
fn chunks(r: &Resp) -> Vec<Value> {
    r.text
        .split("\n\n")
        .filter_map(|f| f.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).expect("chunk is JSON"))
        .collect()
}

fn text_of(parts: &[Value]) -> String {
    parts
        .iter()
        .filter(|p| p["thought"] != true)
        .filter_map(|p| p["text"].as_str())
        .collect()
}

fn parts(c: &Value) -> Vec<Value> {
    c["candidates"][0]["content"]["parts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn stream_parts(r: &Resp) -> Vec<Value> {
    chunks(r).iter().flat_map(parts).collect()
}

fn last_sent(e: &Env, i: usize) -> switchyard_mock::Recorded {
    e.mocks[i].requests().last().cloned().expect("a request")
}

#[tokio::test]
async fn every_provider_kind_answers_in_gemini_shape() {
    for kind in ProviderKind::ALL.iter().copied() {
        let e = env_with(2, |c| kinds(c, &[ProviderKind::Anthropic, kind])).await;
        e.sy.switch(Some("p1")).expect("pin");
        e.mocks[1].set_default(Reply::text("Bonjour tout le monde").with_chunks(3));
        let r = post(&e, &path("generateContent"), &request()).await;
        assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
        assert_eq!(r.provider(), Some("p1"));
        let v = r.json();
        assert_eq!(
            text_of(&parts(&v)),
            "Bonjour tout le monde",
            "{kind:?}: {v}"
        );
        assert_eq!(v["candidates"][0]["finishReason"], "STOP");
        assert_eq!(v["modelVersion"], MODEL, "the client's model is echoed");
        let u = &v["usageMetadata"];
        assert!(
            u["promptTokenCount"].as_u64().unwrap_or(0) > 0,
            "{kind:?} {u}"
        );
        assert!(
            u["candidatesTokenCount"].as_u64().unwrap_or(0) > 0,
            "{kind:?} {u}"
        );
        let sent = last_sent(&e, 1);
        assert!(sent.json().to_string().contains("Be brief."), "{kind:?}");

        let r = post(&e, &path("streamGenerateContent"), &request()).await;
        assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
        assert!(r
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream")));
        check_gemini_stream(r.text.as_bytes())
            .unwrap_or_else(|e| panic!("{kind:?}: {e}\n{}", r.text));
        assert_eq!(
            text_of(&stream_parts(&r)),
            "Bonjour tout le monde",
            "{kind:?}"
        );
        let c = chunks(&r);
        assert!(
            c.len() >= 3,
            "{kind:?}: deltas relayed one by one: {}",
            r.text
        );
        let last = c.last().expect("chunks");
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert!(
            last["usageMetadata"]["candidatesTokenCount"]
                .as_u64()
                .unwrap_or(0)
                > 0
        );
        assert!(
            c.iter().all(|c| c["modelVersion"] == MODEL),
            "{kind:?}: {}",
            r.text
        );
        let sent = last_sent(&e, 1);
        if kind == ProviderKind::Gemini {
            assert!(
                sent.path.ends_with(":streamGenerateContent"),
                "{}",
                sent.path
            );
            assert_eq!(sent.query.as_deref(), Some("alt=sse"));
        }
    }
}

#[tokio::test]
async fn a_gemini_provider_gets_the_clients_bytes() {
    let e = env_with(2, |c| {
        kinds(c, &[ProviderKind::Anthropic, ProviderKind::Gemini])
    })
    .await;
    e.sy.switch(Some("p1")).expect("pin");
    e.mocks[1].set_default(Reply::text("native").with_output_tokens(3));
    let mut req = request();
    // Fields the hub has no place for go through as the client wrote them.
    req["tools"] = json!([{"googleSearch": {}}]);
    req["safetySettings"] =
        json!([{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]);
    let body = req.to_string();
    let r = e
        .send(
            e.http
                .post(e.url(&format!("{}?key={CLIENT_KEY}", path("generateContent"))))
                .header("content-type", "application/json")
                .body(body.clone()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = last_sent(&e, 1);
    assert_eq!(sent.body, body.as_bytes(), "the client's bytes, unchanged");
    assert_eq!(
        sent.path, "/v1beta/models/gemini-model:generateContent",
        "model mapped in the URL"
    );
    assert_eq!(
        sent.header("x-goog-api-key").map(String::from),
        Some(key_of("p1"))
    );
    assert!(
        sent.query.is_none(),
        "the client's ?key= never goes upstream"
    );
    assert!(!format!("{:?}", sent.headers).contains(CLIENT_KEY));
    let v = r.json();
    assert_eq!(v["modelVersion"], MODEL);
    assert_eq!(text_of(&parts(&v)), "native");
    let rec = e.get("/api/requests?limit=1").await.json()["requests"][0].clone();
    assert_eq!(rec["route"], "generate_content", "{rec}");
    assert_eq!(rec["output_tokens"], 3, "{rec}");

    // Streams too: the provider's frames, the client's model echoed.
    let r = post(&e, &path("streamGenerateContent"), &req).await;
    assert_eq!(r.status, 200, "{}", r.text);
    check_gemini_stream(r.text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{}", r.text));
    assert_eq!(text_of(&stream_parts(&r)), "native");
    assert!(
        r.text.contains("mock_resp_"),
        "the provider's own chunks: {}",
        r.text
    );
    let rec = e.get("/api/requests?limit=1").await.json()["requests"][0].clone();
    assert_eq!(rec["output_tokens"], 3, "{rec}");
    assert!(rec["error"].is_null(), "{rec}");
}

#[tokio::test]
async fn a_gemini_clients_key_goes_to_gemini_providers_only() {
    let e = env_with(2, |c| {
        kinds(c, &[ProviderKind::Anthropic, ProviderKind::Gemini]);
        c.providers[1].credential = switchyard_core::config::Credential::Passthrough;
    })
    .await;
    e.mocks[0].push(Reply::error(401, "no key"));
    let r = post(&e, &path("generateContent"), &request()).await;
    assert_eq!((r.status, r.provider()), (200, Some("p1")), "{}", r.text);
    let to_anthropic = last_sent(&e, 0);
    assert!(
        !format!("{:?}", to_anthropic.headers).contains(CLIENT_KEY),
        "a Google key never reaches another dialect's provider"
    );
    assert_eq!(last_sent(&e, 1).header("x-goog-api-key"), Some(CLIENT_KEY));
}

#[tokio::test]
async fn tool_calls_keep_their_ids_through_every_kind() {
    for kind in ProviderKind::ALL.iter().copied() {
        for stream in [false, true] {
            let e = env_with(1, |c| kinds(c, &[kind])).await;
            e.mocks[0].push(
                Reply::text("")
                    .with_tool_use("toolu_01Call", "read_file", json!({"path": "a.txt"}))
                    .with_stop_reason("tool_use"),
            );
            let mut req = request();
            req["tools"] = json!([{"functionDeclarations": [{
                "name": "read_file", "description": "Reads a file",
                "parametersJsonSchema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
            }]}]);
            let method = if stream {
                "streamGenerateContent"
            } else {
                "generateContent"
            };
            let r = post(&e, &path(method), &req).await;
            assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
            let ps = if stream {
                check_gemini_stream(r.text.as_bytes())
                    .unwrap_or_else(|e| panic!("{e}\n{}", r.text));
                stream_parts(&r)
            } else {
                parts(&r.json())
            };
            let call = ps
                .iter()
                .find(|p| p.get("functionCall").is_some())
                .unwrap_or_else(|| panic!("{kind:?} {stream}: no call in {}", r.text))
                .clone();
            assert_eq!(call["functionCall"]["name"], "read_file");
            assert_eq!(call["functionCall"]["args"], json!({"path": "a.txt"}));
            let mut id = call["functionCall"]["id"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if kind == ProviderKind::Gemini {
                // Gemini 2.5 (which the mock plays) sends no id: Gemini CLI makes its own.
                id = "read_file-1736000000000-abc123".into();
            } else {
                assert!(!id.is_empty(), "{kind:?}: calls carry an id: {call}");
            }
            // The next turn, as Gemini CLI sends it: the model's call as it came, the result
            // with the call's id.
            e.mocks[0].push(Reply::text("The file says hi."));
            let mut next = req.clone();
            let contents = next["contents"].as_array_mut().expect("contents");
            contents.push(json!({"role": "model", "parts": [call]}));
            contents.push(json!({"role": "user", "parts": [{"functionResponse": {
                "id": id, "name": "read_file", "response": {"output": "hi"}}}]}));
            let r = post(&e, &path("generateContent"), &next).await;
            assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
            assert_eq!(text_of(&parts(&r.json())), "The file says hi.");
            let sent = last_sent(&e, 0).json();
            let text = sent.to_string();
            assert!(
                text.contains("\"hi\""),
                "{kind:?}: the result reached the provider: {text}"
            );
            if kind == ProviderKind::Anthropic {
                let m = sent["messages"].as_array().expect("messages");
                assert_eq!(m[1]["content"][0]["id"], id);
                assert_eq!(m[2]["content"][0]["tool_use_id"], id);
                assert_eq!(m[2]["content"][0]["content"], "hi");
            }
        }
    }
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
                    ProviderKind::Gemini,
                ],
            )
        })
        .await;
        e.mocks[0].push(Reply::error(429, "rate limited").with_header("retry-after", "30"));
        e.mocks[1].push(Reply::error(503, "busy"));
        e.mocks[2].set_default(Reply::text("backup speaking"));
        let method = if stream {
            "streamGenerateContent"
        } else {
            "generateContent"
        };
        let r = post(&e, &path(method), &request()).await;
        assert_eq!((r.status, r.provider()), (200, Some("p2")), "{}", r.text);
        assert_eq!(r.header("x-switchyard-attempts"), Some("3"));
        let text = if stream {
            check_gemini_stream(r.text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{}", r.text));
            text_of(&stream_parts(&r))
        } else {
            text_of(&parts(&r.json()))
        };
        assert_eq!(text, "backup speaking");
        let evs = e.drain_events();
        assert!(
            evs.iter().any(|ev| matches!(ev, Event::Failover { from, to, reason: FailoverReason::RateLimited, .. } if from == "p0" && to == "p2")),
            "{evs:?}"
        );
        let reqs = e.get("/api/requests").await.json();
        let rec = &reqs["requests"][0];
        assert_eq!(rec["route"], "generate_content", "{rec}");
        assert_eq!(rec["model"], MODEL, "{rec}");
        assert_eq!(rec["attempts"][0]["status"], 429);
    }
}

fn assert_google_error(r: &Resp, code: u16, status: &str) -> Value {
    assert_eq!(r.status, code, "{} {:?}", r.text, r.headers);
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
    let v = r.json();
    let err = &v["error"];
    assert_eq!(err["code"], code, "{v}");
    assert_eq!(err["status"], status, "{v}");
    assert!(
        err["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    assert!(v.get("type").is_none(), "no Anthropic envelope: {v}");
    err.clone()
}

#[tokio::test]
async fn errors_are_google_shaped() {
    let e = env_with(2, |c| {
        kinds(c, &[ProviderKind::Anthropic, ProviderKind::Openai])
    })
    .await;
    let mut b = request();
    b["generationConfig"]["candidateCount"] = json!(2);
    let err = assert_google_error(
        &post(&e, &path("generateContent"), &b).await,
        400,
        "INVALID_ARGUMENT",
    );
    assert!(
        err["message"]
            .as_str()
            .unwrap_or("")
            .contains("candidateCount"),
        "{err}"
    );
    let r = e
        .send(
            e.http
                .post(e.url(&path("generateContent")))
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_google_error(&r, 400, "INVALID_ARGUMENT");
    let r = post(&e, "/v1beta/models/gemini-2.5-pro:embedContent", &request()).await;
    assert_google_error(&r, 400, "INVALID_ARGUMENT");
    assert_eq!(e.mocks[0].request_count() + e.mocks[1].request_count(), 0);
    let rec = e.get("/api/requests?limit=1").await.json()["requests"][0].clone();
    assert_eq!(rec["route"], "generate_content", "{rec}");
    // Wrong method, before the handler.
    let r = e.send(e.http.put(e.url(&path("generateContent")))).await;
    assert_eq!(r.json()["error"]["code"], 405, "{}", r.text);
    // The client's own mistake upstream: relayed, no failover.
    e.mocks[0].push(Reply::error(400, "messages: bad thing"));
    let err = assert_google_error(
        &post(&e, &path("generateContent"), &request()).await,
        400,
        "INVALID_ARGUMENT",
    );
    assert!(
        err["message"].as_str().unwrap_or("").contains("bad thing"),
        "{err}"
    );
    assert_eq!(e.mocks[1].request_count(), 0);
}

#[tokio::test]
async fn when_every_provider_fails_gemini_cli_gets_its_retry_info() {
    for stream in [false, true] {
        let e = env_with(2, |c| {
            kinds(c, &[ProviderKind::Anthropic, ProviderKind::Openai])
        })
        .await;
        e.mocks[0].push(Reply::error(529, "Overloaded"));
        e.mocks[1].push(Reply::error(429, "slow down").with_header("retry-after", "12"));
        let method = if stream {
            "streamGenerateContent"
        } else {
            "generateContent"
        };
        let r = post(&e, &path(method), &request()).await;
        let err = assert_google_error(&r, 429, "RESOURCE_EXHAUSTED");
        assert!(
            err["message"].as_str().unwrap_or("").contains("slow down"),
            "{err}"
        );
        assert_eq!(
            err["details"][0],
            json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"})
        );
        assert_eq!(r.header("retry-after"), Some("12"));
        // Overloaded is Google's 503.
        let e = env_with(1, |_| {}).await;
        e.mocks[0].push(Reply::error(529, "Overloaded"));
        assert_google_error(
            &post(&e, &path(method), &request()).await,
            503,
            "UNAVAILABLE",
        );
    }
}

#[tokio::test]
async fn count_tokens_and_models() {
    let e = env_with(2, |c| {
        kinds(c, &[ProviderKind::Anthropic, ProviderKind::Gemini])
    })
    .await;
    let r = post(
        &e,
        &path("countTokens"),
        &json!({"contents": request()["contents"]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.json()["totalTokens"].as_u64().unwrap_or(0) > 0,
        "{}",
        r.text
    );
    let sent = last_sent(&e, 0);
    assert_eq!(sent.path, "/v1/messages/count_tokens");
    assert!(sent.json().get("max_tokens").is_none());
    let r = post(
        &e,
        &path("countTokens"),
        &json!({"generateContentRequest": {"model": "models/gemini-2.5-pro", "contents": request()["contents"]}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The stable API's paths too (the google-genai SDKs 3.x use them).
    let r = post(&e, "/v1/models/gemini-2.5-pro:generateContent", &request()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["candidates"].is_array(), "{}", r.text);

    let r = e.get("/v1beta/models").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let names: Vec<String> = r.json()["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter_map(|m| m["name"].as_str().map(String::from))
        .collect();
    assert!(
        names.iter().any(|n| n == "models/claude-sonnet-4-5"),
        "{names:?}"
    );
    let r = e.get("/v1beta/models/gemini-2.5-flash").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["name"], "models/gemini-2.5-flash");
    assert!(r.json()["supportedGenerationMethods"].is_array());
}

#[tokio::test]
async fn structured_output_is_native_on_every_kind() {
    let schema = json!({"type": "object", "properties": {
        "reasoning": {"type": "string"}, "model_choice": {"type": "string", "enum": ["flash", "pro"]}},
        "required": ["reasoning", "model_choice"]});
    for kind in ProviderKind::ALL.iter().copied() {
        let e = env_with(1, |c| kinds(c, &[kind])).await;
        e.mocks[0].set_default(Reply::text(
            r#"{"reasoning":"simple","model_choice":"flash"}"#,
        ));
        let mut req = request();
        req["generationConfig"]["responseMimeType"] = json!("application/json");
        req["generationConfig"]["responseJsonSchema"] = schema.clone();
        let r = post(&e, &path("generateContent"), &req).await;
        assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
        let text = text_of(&parts(&r.json()));
        let v: Value = serde_json::from_str(&text).expect("JSON text");
        assert_eq!(v["model_choice"], "flash");
        let sent = last_sent(&e, 0).json();
        match kind {
            ProviderKind::Anthropic => {
                assert_eq!(
                    sent["output_config"]["format"]["type"], "json_schema",
                    "{sent}"
                );
                assert_eq!(
                    sent["output_config"]["format"]["schema"]["required"],
                    schema["required"]
                );
            }
            ProviderKind::Openai => {
                assert_eq!(sent["response_format"]["type"], "json_schema", "{sent}");
                assert_eq!(
                    sent["response_format"]["json_schema"]["schema"]["properties"],
                    schema["properties"]
                );
            }
            ProviderKind::OpenaiResponses => {
                assert_eq!(sent["text"]["format"]["type"], "json_schema", "{sent}");
                assert_eq!(
                    sent["text"]["format"]["schema"]["properties"],
                    schema["properties"]
                );
            }
            _ => {
                assert_eq!(
                    sent["generationConfig"]["responseJsonSchema"], schema,
                    "{sent}"
                );
                assert_eq!(
                    sent["generationConfig"]["responseMimeType"],
                    "application/json"
                );
            }
        }
    }
}

#[tokio::test]
async fn gemini_3_call_ids_come_back_on_their_responses() {
    // An Anthropic client on a translated Gemini 3 provider: the call's id comes back to
    // Gemini on the call and on its response.
    let e = env_with(1, |c| {
        c.providers[0].kind = ProviderKind::Gemini;
        c.providers[0].models.0 = vec![("*".into(), "gemini-3-pro-preview".into())];
    })
    .await;
    e.mocks[0].push(
        Reply::text("")
            .with_tool_use("", "get_weather", json!({"city": "Paris"}))
            .with_stop_reason("tool_use"),
    );
    let tools = json!([{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]);
    let mut body = json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "tools": tools,
        "messages": [{"role": "user", "content": "weather?"}]});
    let r = e.post_json("/v1/messages", &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let m = r.json();
    let call = m["content"]
        .as_array()
        .and_then(|c| c.iter().find(|b| b["type"] == "tool_use"))
        .cloned()
        .expect("a call");
    let id = call["id"].as_str().expect("id").to_string();
    assert!(id.contains("gm3call_"), "{id}");
    e.mocks[0].push(Reply::text("Sunny."));
    let msgs = body["messages"].as_array_mut().expect("messages");
    msgs.push(json!({"role": "assistant", "content": m["content"]}));
    msgs.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "sunny"}]}));
    let r = e.post_json("/v1/messages", &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = last_sent(&e, 0).json();
    let contents = sent["contents"].as_array().expect("contents");
    let gemini_id = contents[1]["parts"]
        .as_array()
        .and_then(|p| p.iter().find_map(|p| p["functionCall"]["id"].as_str()))
        .expect("the call goes back with its id");
    assert!(gemini_id.starts_with("gm3call_"), "{sent}");
    assert_eq!(
        contents[2]["parts"][0]["functionResponse"]["id"], gemini_id,
        "{sent}"
    );
}

#[tokio::test]
async fn the_access_token_as_gemini_clients_send_it() {
    std::env::set_var("SY_TEST_TOKEN_GM", "team-token-gemini-123456");
    let e = env_with(2, |c| {
        c.security.access_token = Some(switchyard_core::config::Credential::Env(
            "SY_TEST_TOKEN_GM".into(),
        ));
        c.security.local_without_token = false;
    })
    .await;
    e.sy.switch(Some("p1")).expect("pin");
    let r = post(&e, &path("generateContent"), &request()).await;
    assert_google_error(&r, 401, "UNAUTHENTICATED");
    let r = e
        .send(
            e.http
                .post(e.url(&path("generateContent")))
                .header("x-goog-api-key", "team-token-gemini-123456")
                .header("content-type", "application/json")
                .body(request().to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = last_sent(&e, 1);
    assert!(
        !format!("{:?}", got.headers).contains("team-token-gemini"),
        "the access token never reaches a provider"
    );
    assert_eq!(
        got.header("x-api-key").map(String::from),
        Some(key_of("p1"))
    );
}

/// A Gemini CLI asking for its models (flash for small jobs, pro or Gemini 3 for the work) on
/// a vendor that is not Google gets that vendor's models of the same tier, through the preset's
/// model map, translated or passed through alike.
#[tokio::test]
async fn gemini_model_names_map_to_the_vendors_tiers() {
    for (preset, small, main) in [
        ("glm", "glm-4.5-air", "glm-4.6"),
        ("deepseek-openai", "deepseek-chat", "deepseek-chat"),
        ("openai-responses", "gpt-5.1-codex-mini", "gpt-5.1-codex"),
    ] {
        let e = env_with(2, |c| {
            let p = &mut c.providers[1];
            let from = switchyard_core::presets::get(preset)
                .expect("preset")
                .provider("p1");
            p.kind = from.kind;
            p.models = from.models;
        })
        .await;
        e.sy.switch(Some("p1")).expect("pin");
        for (model, want) in [
            ("gemini-2.5-flash", small),
            ("gemini-2.5-flash-lite", small),
            ("gemini-2.5-pro", main),
            ("gemini-3-pro-preview", main),
        ] {
            for stream in [false, true] {
                let path = if stream {
                    format!("/v1beta/models/{model}:streamGenerateContent?alt=sse")
                } else {
                    format!("/v1beta/models/{model}:generateContent")
                };
                let r = post(&e, &path, &request()).await;
                assert_eq!(r.status, 200, "{preset} {model}: {}", r.text);
                let sent = last_sent(&e, 1);
                assert_eq!(
                    sent.json()["model"],
                    want,
                    "{preset}: {model} (stream {stream})"
                );
                let echoed = if stream {
                    chunks(&r)
                        .last()
                        .map(|c| c["modelVersion"].clone())
                        .unwrap_or_default()
                } else {
                    r.json()["modelVersion"].clone()
                };
                assert_eq!(echoed, model, "{preset}: the client's model is echoed");
            }
        }
    }
}
