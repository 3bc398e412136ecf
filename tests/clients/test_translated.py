"""Real clients (the official `anthropic` SDK and the Claude Code CLI) through TRANSLATED providers.

Every test is parametrized over the two translated kinds: `openai` (provider "ds", Chat
Completions, DeepSeek quirks) and `gemini` (provider "gm", generateContent). The client always
speaks Anthropic; the vendor mock answers in its own dialect (the same scripted reply renders as a
Chat Completions or a Gemini answer depending on the path it answers), and `/__mock/requests`
shows what the vendor received.

The SDK is built with max_retries=0: what we see is what switchyard did, not the SDK retrying.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import anthropic
import pytest

from conftest import (
    CLIENT_KEY,
    GEMINI_KEY,
    GEMINI_TEXT,
    GEMINI_UPSTREAM_MODEL,
    OPENAI_KEY,
    OPENAI_TEXT,
    OPENAI_UPSTREAM_MODEL,
    PRIMARY_TEXT,
    PROVIDER_FOR_KIND,
    Mock,
    Yard,
    header,
    reply_error,
    reply_message,
)

MODEL = "claude-sonnet-4-5-switchyard-test"
PROMPT = [{"role": "user", "content": "Say hello."}]
KINDS = ["openai", "gemini"]
TEXT_FOR = {"openai": OPENAI_TEXT, "gemini": GEMINI_TEXT}
UPSTREAM_MODEL_FOR = {"openai": OPENAI_UPSTREAM_MODEL, "gemini": GEMINI_UPSTREAM_MODEL}
OTHER_KIND = {"openai": "gemini", "gemini": "openai"}

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}

# Keys Gemini refuses inside function declarations (PROTOCOL.md §4, schema sanitising).
GEMINI_FORBIDDEN_SCHEMA_KEYS = {"$schema", "additionalProperties", "propertyNames", "patternProperties",
                                "examples", "exclusiveMinimum", "exclusiveMaximum", "const", "$ref", "$defs"}


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


def sdk(yard: Yard, max_retries: int = 0, timeout: float = 20.0) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=yard.url, api_key=CLIENT_KEY, max_retries=max_retries, timeout=timeout)


def text_of(msg: Any) -> str:
    return "".join(b.text for b in msg.content if b.type == "text")


def blocks_as_params(msg: anthropic.types.Message) -> list[dict[str, Any]]:
    """The assistant content as a client sends it back in the next request (verbatim)."""
    return [b.model_dump(exclude_none=True) for b in msg.content]


def vendor_posts(mock: Mock) -> list[dict[str, Any]]:
    """The model calls a vendor mock received (everything but the control API)."""
    return [q for q in mock.requests(None) if q["method"] == "POST" and not q["path"].startswith("/__mock")]


def expected_path(kind: str, stream: bool) -> str:
    if kind == "openai":
        return "/v1/chat/completions"
    verb = "streamGenerateContent" if stream else "generateContent"
    return f"/v1beta/models/{GEMINI_UPSTREAM_MODEL}:{verb}"


def assert_vendor_request(kind: str, req: dict[str, Any], stream: bool) -> None:
    """Right path, mapped model, the provider's own key in the vendor's header, never the client's."""
    assert req["path"] == expected_path(kind, stream), f"vendor got path {req['path']!r}"
    body = req["json"]
    assert isinstance(body, dict), f"vendor body is not JSON: {req.get('body', '')[:300]!r}"
    for name, value in req["headers"]:
        assert CLIENT_KEY not in value, f"the client's key leaked to the {kind} vendor in header {name!r}"
    assert CLIENT_KEY not in (req.get("query") or ""), "the client's key leaked into the vendor URL"
    assert CLIENT_KEY not in json.dumps(body), "the client's key leaked into the vendor body"
    assert header(req, "x-api-key") is None, f"Anthropic-style x-api-key sent to the {kind} vendor"
    if kind == "openai":
        assert header(req, "authorization") == f"Bearer {OPENAI_KEY}", header(req, "authorization")
        assert body.get("model") == OPENAI_UPSTREAM_MODEL, body.get("model")
        assert bool(body.get("stream")) is stream
        if stream:
            assert body.get("stream_options", {}).get("include_usage") is True, body.get("stream_options")
        assert isinstance(body.get("messages"), list) and body["messages"]
    else:
        assert header(req, "x-goog-api-key") == GEMINI_KEY, header(req, "x-goog-api-key")
        assert header(req, "authorization") is None, "Gemini got an authorization header"
        assert "key=" not in (req.get("query") or ""), f"key in the Gemini URL: {req.get('query')!r}"
        if stream:
            assert "alt=sse" in (req.get("query") or ""), f"Gemini stream without alt=sse: {req.get('query')!r}"
        assert "model" not in body, "the Gemini model goes in the URL, not the body"
        assert isinstance(body.get("contents"), list) and body["contents"]


def assert_usage(msg: Any) -> None:
    assert msg.usage is not None
    assert msg.usage.input_tokens >= 1, msg.usage
    assert msg.usage.output_tokens >= 1, msg.usage


def pin(yard: Yard, provider: str) -> None:
    r = yard.switch(provider)
    assert r.status_code == 200, r.text


def stream_collect(client: anthropic.Anthropic, **kw: Any):
    """messages.stream(): (final Message, text from text events, event types, response headers)."""
    kw.setdefault("model", MODEL)
    kw.setdefault("max_tokens", 256)
    kw.setdefault("messages", PROMPT)
    events: list[str] = []
    text = ""
    with client.messages.stream(**kw) as stream:
        for event in stream:
            events.append(event.type)
            if event.type == "text":
                text += event.text
        final = stream.get_final_message()
        headers = stream.response.headers
    return final, text, events, headers


def walk(v: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) of every dict nested anywhere in v."""
    if isinstance(v, dict):
        for k, x in v.items():
            yield k, x
            yield from walk(x)
    elif isinstance(v, list):
        for x in v:
            yield from walk(x)


def schema_keywords(schema: Any) -> Iterator[str]:
    """Every keyword used in a JSON schema, at any depth (property NAMES are not keywords)."""
    if isinstance(schema, dict):
        for k, v in schema.items():
            yield k
            if k in ("properties", "$defs", "definitions", "patternProperties") and isinstance(v, dict):
                for sub in v.values():
                    yield from schema_keywords(sub)
            else:
                yield from schema_keywords(v)
    elif isinstance(schema, list):
        for x in schema:
            yield from schema_keywords(x)


def vendor_sse(kind: str, texts: list[str], *, finish: bool, model: str) -> list[dict[str, Any]]:
    """Hand-written vendor stream steps (data-only frames) carrying `texts` as content pieces."""
    steps: list[dict[str, Any]] = []
    if kind == "openai":
        def chunk(delta: dict[str, Any], fin: str | None = None) -> dict[str, Any]:
            return {"type": "event", "event": None, "data": {
                "id": "chatcmpl-cut", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": fin}]}}
        steps.append(chunk({"role": "assistant", "content": ""}))
        steps += [chunk({"content": t}) for t in texts]
        if finish:
            steps.append(chunk({}, "stop"))
            steps.append({"type": "event", "event": None, "data": "[DONE]"})
    else:
        for i, t in enumerate(texts):
            cand: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": t}]}, "index": 0}
            if finish and i == len(texts) - 1:
                cand["finishReason"] = "STOP"
            steps.append({"type": "event", "event": None, "data": {
                "candidates": [cand], "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 5},
                "modelVersion": model}})
    return steps


def vendor_error_chunk(kind: str, message: str) -> dict[str, Any]:
    """An in-stream error frame in the vendor's own shape (after a 200)."""
    if kind == "openai":
        data = {"error": {"message": message, "type": "server_error", "param": None, "code": "overloaded"}}
    else:
        data = {"error": {"code": 503, "message": message, "status": "UNAVAILABLE"}}
    return {"type": "event", "event": None, "data": data}


# ---------------------------------------------------------------------------------------------
# 1. Non-streaming messages.create
# ---------------------------------------------------------------------------------------------


def test_create_through_translated_provider(make_translated_yard, kind: str) -> None:
    yard = make_translated_yard()
    pid = PROVIDER_FOR_KIND[kind]
    pin(yard, pid)
    raw = sdk(yard).messages.with_raw_response.create(model=MODEL, max_tokens=64, messages=PROMPT)
    msg = raw.parse()
    assert text_of(msg) == TEXT_FOR[kind]
    assert msg.model == MODEL, "the client's model must be echoed, not the vendor's"
    assert msg.role == "assistant" and msg.type == "message"
    assert msg.stop_reason == "end_turn"
    assert [b.type for b in msg.content] == ["text"]
    assert_usage(msg)
    assert raw.headers.get("x-switchyard-provider") == pid

    reqs = vendor_posts(yard.mocks[pid])
    assert len(reqs) == 1, [q["path"] for q in reqs]
    assert_vendor_request(kind, reqs[0], stream=False)
    body = reqs[0]["json"]
    if kind == "openai":
        assert body["messages"] == [{"role": "user", "content": "Say hello."}] or (
            body["messages"][-1]["role"] == "user" and "Say hello." in json.dumps(body["messages"][-1])
        ), body["messages"]
        assert body.get("max_tokens") == 64
    else:
        assert body["contents"][-1]["role"] == "user"
        assert "Say hello." in json.dumps(body["contents"][-1])
        assert body.get("generationConfig", {}).get("maxOutputTokens") == 64, body.get("generationConfig")
    for other in yard.mocks.values():
        if other is not yard.mocks[pid]:
            assert vendor_posts(other) == [], f"{other.name} was contacted by a pinned request"


def test_create_thinking_and_tool_use(make_translated_yard, kind: str) -> None:
    """Non-streaming: thinking first (stamped signature), then text, then the tool call."""
    yard = make_translated_yard()
    pid = PROVIDER_FOR_KIND[kind]
    pin(yard, pid)
    yard.mocks[pid].replies({"body": {"type": "message", "text": "Checking.", "thinking": "need the weather",
                                      "tool_use": {"id": "call_nx1", "name": "get_weather",
                                                   "input": {"city": "Rome"}}}})
    msg = sdk(yard).messages.create(model=MODEL, max_tokens=2048, messages=PROMPT, tools=[WEATHER_TOOL],
                                    thinking={"type": "enabled", "budget_tokens": 1024})
    assert msg.model == MODEL
    assert msg.stop_reason == "tool_use"
    assert msg.content[0].type == "thinking" and msg.content[0].thinking == "need the weather", msg.content
    assert msg.content[0].signature.startswith(f"sy1.{pid}."), msg.content[0].signature
    assert text_of(msg) == "Checking."
    assert msg.content[-1].type == "tool_use", msg.content
    assert msg.content[-1].name == "get_weather" and msg.content[-1].input == {"city": "Rome"}
    if kind == "openai":
        assert msg.content[-1].id == "call_nx1"
    assert_usage(msg)
    assert_vendor_request(kind, vendor_posts(yard.mocks[pid])[0], stream=False)


# ---------------------------------------------------------------------------------------------
# 2. messages.stream(): text, thinking, tool round trip
# ---------------------------------------------------------------------------------------------


def test_stream_text(make_translated_yard, kind: str) -> None:
    yard = make_translated_yard()
    pid = PROVIDER_FOR_KIND[kind]
    pin(yard, pid)
    yard.mocks[pid].replies({"body": {"type": "message", "text": "Streaming from the vendor", "chunks": 3}})
    final, text, events, headers = stream_collect(sdk(yard))
    assert text == "Streaming from the vendor"
    assert text_of(final) == "Streaming from the vendor"
    assert final.model == MODEL
    assert final.stop_reason == "end_turn"
    assert_usage(final)
    assert events[0] == "message_start" and events[-1] == "message_stop", events
    assert events.count("message_start") == 1 and events.count("message_stop") == 1, events
    assert events.count("text") == 3, f"the 3 vendor deltas were not relayed one by one: {events}"
    assert headers.get("x-switchyard-provider") == pid
    assert "text/event-stream" in (headers.get("content-type") or "")
    reqs = vendor_posts(yard.mocks[pid])
    assert len(reqs) == 1
    assert_vendor_request(kind, reqs[0], stream=True)


def test_stream_thinking_then_text(make_translated_yard, kind: str) -> None:
    yard = make_translated_yard()
    pid = PROVIDER_FOR_KIND[kind]
    pin(yard, pid)
    thought = "The user wants a greeting so I will greet"
    yard.mocks[pid].replies({"body": {"type": "message", "text": "Hi, nice to meet you", "thinking": thought}})
    final, text, events, _ = stream_collect(
        sdk(yard), max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024})
    types = [b.type for b in final.content]
    assert types == ["thinking", "text"], f"expected thinking then text, got {types}"
    assert final.content[0].thinking == thought
    sig = final.content[0].signature
    assert isinstance(sig, str) and sig.startswith("sy1."), f"thinking signature not stamped: {sig!r}"
    assert sig.startswith(f"sy1.{pid}."), f"signature stamped for the wrong provider: {sig!r}"
    assert final.content[1].text == "Hi, nice to meet you" == text
    assert "thinking" in events, events
    assert final.stop_reason == "end_turn"
    assert_usage(final)
    req = vendor_posts(yard.mocks[pid])[0]
    assert_vendor_request(kind, req, stream=True)
    body = req["json"]
    if kind == "gemini":
        tc = body.get("generationConfig", {}).get("thinkingConfig", {})
        assert tc.get("includeThoughts") is True, f"thinking asked for but not requested from Gemini: {tc}"
    else:
        assert "thinking" not in body, "Anthropic's thinking field leaked to the OpenAI vendor"


def test_stream_tool_round_trip(make_translated_yard, kind: str) -> None:
    yard = make_translated_yard()
    pid = PROVIDER_FOR_KIND[kind]
    mock = yard.mocks[pid]
    pin(yard, pid)
    thought = "I should look up the weather in Paris"
    mock.replies(
        {"body": {"type": "message", "text": "Let me check.", "thinking": thought,
                  "tool_use": {"id": "call_abc123", "name": "get_weather", "input": {"city": "Paris"}}}},
        {"body": {"type": "message", "text": "It is 18 degrees and sunny in Paris."}},
    )
    client = sdk(yard)
    question = {"role": "user", "content": "What's the weather in Paris?"}
    thinking = {"type": "enabled", "budget_tokens": 1024}

    # Turn 1: the vendor calls the tool.
    first, _, events, headers = stream_collect(client, max_tokens=2048, thinking=thinking,
                                               tools=[WEATHER_TOOL], messages=[question])
    assert headers.get("x-switchyard-provider") == pid
    assert first.stop_reason == "tool_use", first
    tool_uses = [b for b in first.content if b.type == "tool_use"]
    assert len(tool_uses) == 1, first.content
    tu = tool_uses[0]
    assert tu.name == "get_weather"
    assert tu.input == {"city": "Paris"}, "the SDK did not parse the streamed input JSON"
    assert all(c.isalnum() or c in "_-" for c in tu.id) and tu.id, f"tool id outside Anthropic's pattern: {tu.id!r}"
    assert first.content[-1].type == "tool_use", [b.type for b in first.content]
    assert first.content[0].type == "thinking" and first.content[0].thinking == thought
    assert "Let me check." in text_of(first)
    if kind == "openai":
        assert tu.id == "call_abc123", f"a valid vendor tool id was rewritten: {tu.id!r}"

    # Turn 2: the client sends the tool result back with the assistant turn verbatim.
    history = [question, {"role": "assistant", "content": blocks_as_params(first)},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tu.id,
                                             "content": "18 degrees, sunny"}]}]
    second, text, _, headers = stream_collect(client, max_tokens=2048, thinking=thinking,
                                              tools=[WEATHER_TOOL], messages=history)
    assert text_of(second) == "It is 18 degrees and sunny in Paris." == text
    assert second.stop_reason == "end_turn"
    assert headers.get("x-switchyard-provider") == pid

    reqs = vendor_posts(mock)
    assert len(reqs) == 2, [q["path"] for q in reqs]
    assert_vendor_request(kind, reqs[0], stream=True)
    assert_vendor_request(kind, reqs[1], stream=True)
    body = reqs[1]["json"]
    if kind == "openai":
        tools = reqs[0]["json"].get("tools")
        assert tools and tools[0]["type"] == "function" and tools[0]["function"]["name"] == "get_weather", tools
        msgs = body["messages"]
        ai = [i for i, m in enumerate(msgs) if m["role"] == "assistant" and m.get("tool_calls")]
        assert len(ai) == 1, f"no assistant message with tool_calls: {msgs}"
        a = msgs[ai[0]]
        call = a["tool_calls"][0]
        assert call["id"] == "call_abc123", f"tool_call id changed on the way back: {call}"
        assert call["type"] == "function" and call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
        assert a.get("reasoning_content") == thought, \
            f"DeepSeek quirk: reasoning_content must come back on the tool-call turn, got {a.get('reasoning_content')!r}"
        assert ai[0] + 1 < len(msgs), msgs
        tool_msg = msgs[ai[0] + 1]
        assert tool_msg["role"] == "tool", f"the message after the tool call is not a tool message: {tool_msg}"
        assert tool_msg["tool_call_id"] == "call_abc123", tool_msg
        assert "18 degrees, sunny" in json.dumps(tool_msg["content"]), tool_msg
        assert not any(isinstance(m.get("content"), list) and any(p.get("type") == "tool_result"
                       for p in m["content"] if isinstance(p, dict)) for m in msgs), "raw tool_result sent"
    else:
        decls = reqs[0]["json"]["tools"][0]["functionDeclarations"]
        assert [d["name"] for d in decls] == ["get_weather"], decls
        params = decls[0].get("parameters") or decls[0].get("parametersJsonSchema")
        assert params and "city" in params.get("properties", {}), decls
        assert not set(schema_keywords(params)) & GEMINI_FORBIDDEN_SCHEMA_KEYS, f"unsanitised schema: {params}"
        contents = body["contents"]
        model_turns = [c for c in contents if c["role"] == "model"]
        calls = [p for c in model_turns for p in c["parts"] if "functionCall" in p]
        assert len(calls) == 1, f"functionCall not sent back: {contents}"
        call = calls[0]
        assert call["functionCall"]["name"] == "get_weather"
        assert call["functionCall"].get("args") == {"city": "Paris"}
        # The vendor's own signature (mock_thought_signature_N), echoed on the functionCall part.
        sig = call.get("thoughtSignature")
        assert isinstance(sig, str) and sig.startswith("mock_thought_signature_"), \
            f"Gemini's thoughtSignature not echoed on the functionCall part: {call}"
        client_sigs = [b.signature for b in first.content if b.type == "thinking"]
        assert any(s.endswith(sig) for s in client_sigs), (sig, client_sigs)
        responses = [p["functionResponse"] for c in contents for p in c["parts"] if "functionResponse" in p]
        assert len(responses) == 1, f"no functionResponse: {contents}"
        fr = responses[0]
        assert fr.get("name") == "get_weather", f"functionResponse must carry the function NAME: {fr}"
        assert "18 degrees, sunny" in json.dumps(fr.get("response")), fr
        assert contents.index(next(c for c in contents if any("functionResponse" in p for p in c["parts"]))) \
            > contents.index(model_turns[-1]), "functionResponse must follow the functionCall turn"
        assert all(c["role"] in ("user", "model") for c in contents), [c["role"] for c in contents]
        assert thought not in json.dumps(body), "Gemini takes no thought text back"


def test_gemini_signature_only_function_call_round_trip(make_translated_yard) -> None:
    """Gemini signs a functionCall without any thought text: the signature must still travel
    through the client and come back on that functionCall part (Gemini 3 refuses it otherwise)."""
    yard = make_translated_yard(order=("gm",))
    gm = yard.mocks["gm"]
    gm.replies(
        {"body": {"type": "message", "text": "",
                  "tool_use": {"name": "get_weather", "input": {"city": "Lima"}}}},
        {"body": {"type": "message", "text": "Mild in Lima."}},
    )
    client = sdk(yard)
    question = {"role": "user", "content": "Weather in Lima?"}
    first, _, _, _ = stream_collect(client, tools=[WEATHER_TOOL], messages=[question])
    assert first.stop_reason == "tool_use"
    tu = [b for b in first.content if b.type == "tool_use"]
    assert len(tu) == 1 and tu[0].input == {"city": "Lima"}, first.content
    assert text_of(first) == "", "a signature carrier must not show up as text"
    history = [question, {"role": "assistant", "content": blocks_as_params(first)},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tu[0].id, "content": "20 C"}]}]
    second, _, _, _ = stream_collect(client, tools=[WEATHER_TOOL], messages=history)
    assert text_of(second) == "Mild in Lima."
    contents = vendor_posts(gm)[1]["json"]["contents"]
    calls = [p for c in contents if c["role"] == "model" for p in c["parts"] if "functionCall" in p]
    assert len(calls) == 1, contents
    assert (calls[0].get("thoughtSignature") or "").startswith("mock_thought_signature_"), \
        f"Gemini's signature was lost on a call without thought text: {calls[0]}"
    model_parts = [p for c in contents if c["role"] == "model" for p in c["parts"]]
    assert all(p.get("text", "x").strip() for p in model_parts), f"empty/blank part sent to Gemini: {model_parts}"
    frs = [p["functionResponse"] for c in contents for p in c["parts"] if "functionResponse" in p]
    assert len(frs) == 1 and frs[0].get("name") == "get_weather", frs


def test_openai_foreign_tool_id_stays_paired(make_translated_yard) -> None:
    """A Kimi-style tool id (`functions.get_weather:0`) breaks Anthropic's id pattern: the client
    must get a valid id, and the vendor must get back ids that still pair its call and result."""
    yard = make_translated_yard(order=("ds",))
    ds = yard.mocks["ds"]
    ds.replies(
        {"body": {"type": "message", "text": "",
                  "tool_use": {"id": "functions.get_weather:0", "name": "get_weather", "input": {"city": "Oslo"}}}},
        {"body": {"type": "message", "text": "Cold in Oslo."}},
    )
    client = sdk(yard)
    question = {"role": "user", "content": "Weather in Oslo?"}
    first, _, _, _ = stream_collect(client, tools=[WEATHER_TOOL], messages=[question])
    tu = [b for b in first.content if b.type == "tool_use"]
    assert len(tu) == 1 and tu[0].input == {"city": "Oslo"}, first.content
    tid = tu[0].id
    assert tid and all(c.isalnum() or c in "_-" for c in tid), f"tool id outside Anthropic's pattern: {tid!r}"
    history = [question, {"role": "assistant", "content": blocks_as_params(first)},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tid, "content": "-3 degrees"}]}]
    second, _, _, _ = stream_collect(client, tools=[WEATHER_TOOL], messages=history)
    assert text_of(second) == "Cold in Oslo."
    msgs = vendor_posts(ds)[1]["json"]["messages"]
    calls = [c for m in msgs if m["role"] == "assistant" for c in (m.get("tool_calls") or [])]
    results = [m["tool_call_id"] for m in msgs if m["role"] == "tool"]
    assert len(calls) == 1 and results == [calls[0]["id"]], f"tool_call ids not paired: {calls} {results}"


# ---------------------------------------------------------------------------------------------
# 3. Failover into and between translated providers
# ---------------------------------------------------------------------------------------------


def test_anthropic_primary_429_fails_over_to_translated(make_translated_yard, kind: str) -> None:
    pid = PROVIDER_FOR_KIND[kind]
    yard = make_translated_yard(order=("primary", pid))
    yard.primary.replies(reply_error(429, "primary is rate limited", headers=[["retry-after", "30"]]))
    yard.mocks[pid].replies({"body": {"type": "message", "text": "Backup vendor streams fine", "chunks": 2}})
    final, text, events, headers = stream_collect(sdk(yard))
    assert text == "Backup vendor streams fine" == text_of(final)
    assert final.model == MODEL
    assert final.stop_reason == "end_turn"
    assert events[0] == "message_start" and events[-1] == "message_stop", events
    assert headers.get("x-switchyard-provider") == pid
    assert len(yard.primary.requests()) == 1
    assert yard.health()["providers"]["primary"] == "cooling_down"
    reqs = vendor_posts(yard.mocks[pid])
    assert len(reqs) == 1
    assert_vendor_request(kind, reqs[0], stream=True)


def test_translated_503_fails_over_to_next_translated(make_translated_yard, kind: str) -> None:
    pid = PROVIDER_FOR_KIND[kind]
    nxt = PROVIDER_FOR_KIND[OTHER_KIND[kind]]
    yard = make_translated_yard(order=(pid, nxt))
    yard.mocks[pid].replies(reply_error(503, "vendor overloaded"))
    final, text, events, headers = stream_collect(sdk(yard))
    assert text == TEXT_FOR[OTHER_KIND[kind]] == text_of(final)
    assert final.stop_reason == "end_turn"
    assert events.count("message_start") == 1 and events[-1] == "message_stop", events
    assert headers.get("x-switchyard-provider") == nxt
    assert len(vendor_posts(yard.mocks[pid])) == 1
    assert len(vendor_posts(yard.mocks[nxt])) == 1
    assert_vendor_request(OTHER_KIND[kind], vendor_posts(yard.mocks[nxt])[0], stream=True)


def test_translated_inband_error_before_content_fails_over(make_translated_yard, kind: str) -> None:
    """200 + an error chunk before any content: nothing reached the client yet, so the next
    provider serves and the client sees one clean stream."""
    pid = PROVIDER_FOR_KIND[kind]
    yard = make_translated_yard(order=(pid, "primary"))
    # OpenAI-compatible servers open with a role-only chunk: still no content.
    steps = vendor_sse(kind, [], finish=False, model=UPSTREAM_MODEL_FOR[kind])
    steps.append(vendor_error_chunk(kind, "vendor overloaded mid-stream"))
    if kind == "openai":
        steps.append({"type": "event", "event": None, "data": "[DONE]"})
    yard.mocks[pid].replies({"status": 200, "body": {"type": "sse", "steps": steps}})
    final, text, events, headers = stream_collect(sdk(yard))
    assert text == PRIMARY_TEXT == text_of(final)
    assert events.count("message_start") == 1 and events[-1] == "message_stop", events
    assert headers.get("x-switchyard-provider") == "primary"
    assert len(vendor_posts(yard.mocks[pid])) == 1
    assert len(yard.primary.requests()) == 1


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_translated_empty_answer_fails_over(make_translated_yard, kind: str, stream: bool) -> None:
    """A 200 with no content and 0 output tokens is a provider failure (PROTOCOL.md §7.20)."""
    pid = PROVIDER_FOR_KIND[kind]
    yard = make_translated_yard(order=(pid, "primary"))
    yard.mocks[pid].replies({"body": {"type": "empty_message"}})
    client = sdk(yard)
    if stream:
        final, text, events, headers = stream_collect(client)
        assert events.count("message_start") == 1 and events[-1] == "message_stop", events
    else:
        raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=64, messages=PROMPT)
        final, headers = raw.parse(), raw.headers
    assert text_of(final) == PRIMARY_TEXT
    assert headers.get("x-switchyard-provider") == "primary"
    assert len(vendor_posts(yard.mocks[pid])) == 1


# ---------------------------------------------------------------------------------------------
# 4. A vendor stream cut mid-way
# ---------------------------------------------------------------------------------------------


def test_vendor_stream_cut_midway_raises(make_translated_yard, kind: str) -> None:
    pid = PROVIDER_FOR_KIND[kind]
    yard = make_translated_yard(order=(pid, "primary"))
    steps = vendor_sse(kind, ["Partial ", "answer"], finish=False, model=UPSTREAM_MODEL_FOR[kind])
    steps += [{"type": "delay", "ms": 100}, {"type": "hangup"}]
    yard.mocks[pid].replies({"status": 200, "body": {"type": "sse", "steps": steps}})
    seen = ""
    started = time.monotonic()
    with pytest.raises(anthropic.APIStatusError) as info:
        with sdk(yard, timeout=30).messages.stream(model=MODEL, max_tokens=64, messages=PROMPT) as stream:
            for event in stream:
                if event.type == "text":
                    seen += event.text
            # Reaching here means the stream ended "cleanly": a silent truncation.
            final = stream.get_final_message()
            pytest.fail(f"a cut vendor stream ended without an error; the client got {final!r}")
    elapsed = time.monotonic() - started
    assert elapsed < 15, f"the cut took {elapsed:.1f}s to reach the client"
    assert seen == "Partial answer", f"text before the cut was not relayed: {seen!r}"
    body = info.value.body
    assert isinstance(body, dict) and body.get("type") == "error", body
    assert body.get("error", {}).get("type") in ("api_error", "overloaded_error", "timeout_error"), body
    assert yard.primary.requests() == [], "a stream that already sent bytes must not be retried elsewhere"


# ---------------------------------------------------------------------------------------------
# 5. Claude Code through translated providers
# ---------------------------------------------------------------------------------------------


def test_claude_code_through_translated_provider(make_translated_yard, kind: str, tmp_path: Path) -> None:
    from test_claude_code import claude_or_skip, parse_result, run_claude

    claude_or_skip()
    pid = PROVIDER_FOR_KIND[kind]
    yard = make_translated_yard(order=("primary", pid))
    yard.primary.default(reply_error(429, "primary is rate limited", headers=[["retry-after", "30"]]))
    vendor_text = f"Hi from the {kind} vendor via Claude Code"
    yard.mocks[pid].default(reply_message(vendor_text))

    proc = run_claude(yard, tmp_path / "home", timeout=60)
    out = parse_result(proc)
    assert proc.returncode == 0, f"claude failed: {out}\nstderr:\n{proc.stderr[-3000:]}\n{yard.logs()}"
    assert out.get("is_error") is False, out
    assert vendor_text in out.get("result", ""), out

    reqs = vendor_posts(yard.mocks[pid])
    assert reqs, "Claude Code's request never reached the vendor"
    main = max(reqs, key=lambda q: len(q.get("body") or ""))
    for q in reqs:
        assert_vendor_request(kind, q, stream=True)
        for name, value in q["headers"]:
            assert value != "test", f"Claude Code's key leaked to the vendor in {name!r}"
    body = main["json"]
    dumped = json.dumps(body)
    assert "cache_control" not in dumped, "cache_control left in a translated request"

    # What Claude Code really sent (the primary saw it untranslated): the shapes we must translate.
    orig = [q for q in yard.primary.requests() if q["method"] == "POST"][0]["json"]
    assert len(json.dumps(orig)) > 40_000, "expected Claude Code's big request"
    assert orig.get("thinking", {}).get("type") == "adaptive", orig.get("thinking")
    orig_tools = json.dumps(orig.get("tools"))
    assert "additionalProperties" in orig_tools and "$schema" in orig_tools, "nothing to sanitise?"
    mid_system = [m for m in orig["messages"] if m["role"] == "system"]
    assert mid_system, "Claude Code sent no mid-conversation system message this time"
    mid_texts = [(m["content"] if isinstance(m["content"], str) else
                  "".join(b.get("text", "") for b in m["content"]))[:200] for m in mid_system]
    if kind == "openai":
        msgs = body["messages"]
        assert msgs[0]["role"] == "system", [m["role"] for m in msgs]
        sys_text = msgs[0]["content"] if isinstance(msgs[0]["content"], str) else json.dumps(msgs[0]["content"])
        assert "Claude" in sys_text and len(sys_text) > 1000, sys_text[:300]
        assert any(m["role"] == "user" and "say hi" in json.dumps(m.get("content")) for m in msgs), msgs
        assert all(m["role"] in ("system", "user", "assistant", "tool") for m in msgs), [m["role"] for m in msgs]
        tools = body.get("tools")
        assert tools and len(tools) >= 10, f"Claude Code's tools were dropped: {tools}"
        for t in tools:
            assert t.get("type") == "function", t
            f = t["function"]
            assert f.get("name") and isinstance(f.get("parameters"), dict), t
            assert set(f["name"]) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") \
                and len(f["name"]) <= 64, f["name"]
        assert {"Bash", "Read"} <= {t["function"]["name"] for t in tools}
        assert "thinking" not in body and "context_management" not in body and "output_config" not in body
        system_msgs = [m["content"] if isinstance(m["content"], str) else json.dumps(m["content"])
                       for m in msgs if m["role"] == "system"]
        for t in mid_texts:
            assert any(t in s for s in system_msgs), f"mid-conversation system message lost: {t[:80]!r}"
    else:
        si = body.get("systemInstruction")
        assert si and si.get("parts"), f"no systemInstruction: {si}"
        si_text = "".join(p.get("text", "") for p in si["parts"])
        assert "Claude" in si_text and len(si_text) > 1000, si_text[:300]
        contents = body["contents"]
        assert all(c["role"] in ("user", "model") for c in contents), [c["role"] for c in contents]
        assert any("say hi" in json.dumps(c) for c in contents if c["role"] == "user")
        assert "context_management" not in body and "output_config" not in body and "thinking" not in body
        texts = [p.get("text", "") for c in contents for p in c["parts"]] + [si_text]
        for t in mid_texts:
            assert any(t in x for x in texts), f"mid-conversation system message lost: {t[:80]!r}"
        decls = body["tools"][0]["functionDeclarations"]
        assert len(decls) >= 10, f"Claude Code's tools were dropped: {len(decls)}"
        assert {"Bash", "Read"} <= {d["name"] for d in decls}
        for d in decls:
            params = d.get("parameters")
            if params is None:
                continue
            bad = {k for k in schema_keywords(params) if k in GEMINI_FORBIDDEN_SCHEMA_KEYS}
            assert not bad, f"tool {d['name']}: unsanitised schema keys {bad}: {json.dumps(params)[:800]}"
            for key, val in walk(params):
                if key == "type":
                    assert not isinstance(val, list), f"tool {d['name']}: type list left: {val}"
        for key, val in walk(decls):
            if isinstance(val, dict) and val.get("type") in ("array", "ARRAY"):
                assert "items" in val, f"array schema without items: {val}"
    # The rate-limited primary was tried once and then cooled down.
    assert len([q for q in yard.primary.requests() if q["method"] == "POST"]) == 1


# ---------------------------------------------------------------------------------------------
# 6. History that survives failover: Anthropic -> translated vendor -> Anthropic
# ---------------------------------------------------------------------------------------------


ANTHROPIC_THOUGHT = "Anthropic private reasoning about Paris"
ANTHROPIC_SIG = "anthropic-sig"
VENDOR_THOUGHT = "DeepSeek vendor reasoning about Berlin"


def anthropic_tool_turn_sse() -> dict[str, Any]:
    """Turn 1 on the primary: a thinking block signed "anthropic-sig" + tool_use toolu_01."""
    def ev(name: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"type": "event", "event": name, "data": data}
    return {"status": 200, "body": {"type": "sse", "steps": [
        ev("message_start", {"type": "message_start", "message": {
            "id": "msg_hist_1", "type": "message", "role": "assistant", "model": MODEL, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 20, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                      "output_tokens": 1}}}),
        ev("content_block_start", {"type": "content_block_start", "index": 0,
                                   "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "thinking_delta", "thinking": ANTHROPIC_THOUGHT}}),
        ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                   "delta": {"type": "signature_delta", "signature": ANTHROPIC_SIG}}),
        ev("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ev("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
            "type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {}}}),
        ev("content_block_delta", {"type": "content_block_delta", "index": 1,
                                   "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Paris\"}"}}),
        ev("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                             "usage": {"output_tokens": 30}}),
        ev("message_stop", {"type": "message_stop"}),
    ]}}


def test_history_survives_failover_anthropic_vendor_anthropic(make_translated_yard, kind: str) -> None:
    pid = PROVIDER_FOR_KIND[kind]
    yard = make_translated_yard(order=("primary", pid))
    vendor = yard.mocks[pid]
    client = sdk(yard)
    thinking = {"type": "enabled", "budget_tokens": 1024}
    question = {"role": "user", "content": "Weather in Paris, then Berlin?"}

    # Turn 1: the Anthropic primary thinks and calls the tool.
    yard.primary.replies(anthropic_tool_turn_sse())
    t1, _, _, h1 = stream_collect(client, max_tokens=2048, thinking=thinking, tools=[WEATHER_TOOL],
                                  messages=[question])
    assert h1.get("x-switchyard-provider") == "primary"
    assert [b.type for b in t1.content] == ["thinking", "tool_use"], t1.content
    assert t1.content[0].signature == ANTHROPIC_SIG, "Anthropic's own signature must reach the client unchanged"
    assert t1.content[1].id == "toolu_01" and t1.content[1].input == {"city": "Paris"}

    # Turn 2: the primary is rate limited (retry-after 1 s): the translated vendor serves.
    yard.primary.replies(reply_error(429, "primary is rate limited", headers=[["retry-after", "1"]]))
    vendor.replies({"body": {"type": "message", "text": "", "thinking": VENDOR_THOUGHT,
                             "tool_use": {"id": "call_ds_02", "name": "get_weather", "input": {"city": "Berlin"}}}})
    history = [question, {"role": "assistant", "content": blocks_as_params(t1)},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01",
                                             "content": "Paris: 18 degrees"}]}]
    t2, _, _, h2 = stream_collect(client, max_tokens=2048, thinking=thinking, tools=[WEATHER_TOOL],
                                  messages=history)
    assert h2.get("x-switchyard-provider") == pid
    assert t2.stop_reason == "tool_use"
    assert [b.type for b in t2.content if b.type != "thinking"] == ["tool_use"], t2.content
    assert t2.content[0].type == "thinking" and t2.content[0].thinking == VENDOR_THOUGHT, t2.content
    for b in t2.content:
        if b.type == "thinking":
            assert b.signature.startswith(f"sy1.{pid}."), b.signature
    vendor_tool = t2.content[-1]
    assert vendor_tool.type == "tool_use" and vendor_tool.input == {"city": "Berlin"}
    vendor_tool_id = vendor_tool.id
    assert vendor_tool_id and all(c.isalnum() or c in "_-" for c in vendor_tool_id), vendor_tool_id
    if kind == "openai":
        assert vendor_tool_id == "call_ds_02"

    v_reqs = vendor_posts(vendor)
    assert len(v_reqs) == 1
    assert_vendor_request(kind, v_reqs[0], stream=True)
    v_body = v_reqs[0]["json"]
    dumped = json.dumps(v_body)
    assert ANTHROPIC_THOUGHT not in dumped, f"Anthropic's thinking text leaked to the {kind} vendor"
    assert ANTHROPIC_SIG not in dumped, f"Anthropic's signature leaked to the {kind} vendor"
    if kind == "openai":
        msgs = v_body["messages"]
        ai = [i for i, m in enumerate(msgs) if m["role"] == "assistant" and m.get("tool_calls")]
        assert len(ai) == 1, msgs
        call_id = msgs[ai[0]]["tool_calls"][0]["id"]
        assert call_id == "toolu_01", f"tool id rewritten inconsistently: {call_id}"
        assert json.loads(msgs[ai[0]]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
        tool_msgs = [m for m in msgs if m["role"] == "tool"]
        assert [m["tool_call_id"] for m in tool_msgs] == [call_id], tool_msgs
        assert msgs[ai[0] + 1]["role"] == "tool"
    else:
        contents = v_body["contents"]
        calls = [p for c in contents if c["role"] == "model" for p in c["parts"] if "functionCall" in p]
        assert len(calls) == 1 and calls[0]["functionCall"]["name"] == "get_weather", contents
        assert calls[0]["functionCall"].get("args") == {"city": "Paris"}
        # No Gemini signature exists for Anthropic's call: the documented bypass value, never Anthropic's.
        assert calls[0].get("thoughtSignature") == "skip_thought_signature_validator", calls[0]
        frs = [p["functionResponse"] for c in contents for p in c["parts"] if "functionResponse" in p]
        assert len(frs) == 1 and frs[0].get("name") == "get_weather", frs
        assert "Paris: 18 degrees" in json.dumps(frs[0].get("response"))

    # Turn 3: after the retry-after, the primary is back; the whole history goes to it.
    deadline = time.monotonic() + 6
    while yard.health()["providers"]["primary"] != "available":
        assert time.monotonic() < deadline, f"primary still cooling down 6 s after retry-after: 1: {yard.health()}"
        time.sleep(0.2)
    yard.primary.replies(reply_message("Paris 18, Berlin 12."))
    history3 = history + [{"role": "assistant", "content": blocks_as_params(t2)},
                          {"role": "user", "content": [{"type": "tool_result", "tool_use_id": vendor_tool_id,
                                                        "content": "Berlin: 12 degrees"}]}]
    t3, _, _, h3 = stream_collect(client, max_tokens=2048, thinking=thinking, tools=[WEATHER_TOOL],
                                  messages=history3)
    assert h3.get("x-switchyard-provider") == "primary"
    assert text_of(t3) == "Paris 18, Berlin 12."

    prim = yard.primary.requests()
    assert len(prim) == 3, f"primary got {len(prim)} requests"
    body = prim[2]["json"]
    pm = body["messages"]
    dumped = json.dumps(body)
    assert VENDOR_THOUGHT not in dumped, "the vendor's thinking text went to Anthropic"
    assert "sy1." not in dumped, "a stamped (foreign) signature went to Anthropic"
    assert "mock_thought_signature" not in dumped, "Gemini's signature went to Anthropic"
    # Its own thinking block, intact, still first in its turn.
    a1 = pm[1]
    assert a1["role"] == "assistant"
    assert a1["content"][0] == {"type": "thinking", "thinking": ANTHROPIC_THOUGHT, "signature": ANTHROPIC_SIG}, \
        a1["content"][0]
    # tool_use / tool_result ids paired, every id in Anthropic's pattern.
    uses = [b["id"] for m in pm if m["role"] == "assistant" and isinstance(m["content"], list)
            for b in m["content"] if b.get("type") == "tool_use"]
    results = [b["tool_use_id"] for m in pm if m["role"] == "user" and isinstance(m["content"], list)
               for b in m["content"] if b.get("type") == "tool_result"]
    assert uses == results, f"tool ids not paired: uses={uses} results={results}"
    assert uses == ["toolu_01", vendor_tool_id], uses
    for i in uses:
        assert i and all(c.isalnum() or c in "_-" for c in i), i
    # The vendor's assistant turn still holds its tool_use (its thinking removed, not the turn).
    a2 = pm[3]
    assert a2["role"] == "assistant"
    assert [b["type"] for b in a2["content"] if b["type"] != "text"] == ["tool_use"], a2["content"]
