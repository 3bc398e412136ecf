"""The official OpenAI Python SDK against switchyard's OpenAI-compatible inbound
(`/v1/chat/completions`, `/v1/models`), to every provider kind: `primary` (anthropic kind,
passthrough), `ds` (openai kind) and `gm` (gemini kind), all switchyard-mock faces.

The client always speaks Chat Completions; switchyard translates to Anthropic Messages, runs the
usual pipeline (failover, cooldowns, stats) and translates the answer back. The SDK is built with
max_retries=0: what we see is what switchyard did, not the SDK retrying.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from conftest import (
    CLIENT_KEY,
    GEMINI_TEXT,
    OPENAI_TEXT,
    PRIMARY_TEXT,
    Mock,
    Yard,
    reply_error,
)

MODEL = "claude-sonnet-4-5"
PROMPT = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello."},
]
PIDS = ["primary", "ds", "gm"]
TEXT_FOR = {"primary": PRIMARY_TEXT, "ds": OPENAI_TEXT, "gm": GEMINI_TEXT}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(params=PIDS)
def pid(request: pytest.FixtureRequest) -> str:
    return request.param


def client(yard: Yard, timeout: float = 20.0) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{yard.url}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=timeout)


def pinned(make_translated_yard, pid: str) -> Yard:
    yard = make_translated_yard()
    r = yard.switch(pid)
    assert r.status_code == 200, r.text
    return yard


def model_posts(mock: Mock) -> list[dict[str, Any]]:
    return [q for q in mock.requests(None) if q["method"] == "POST" and not q["path"].startswith("/__mock")]


def assert_usage(usage: Any) -> None:
    assert usage is not None, "no usage"
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0, usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens, usage


def test_create_text(make_translated_yard, pid: str) -> None:
    yard = pinned(make_translated_yard, pid)
    raw = client(yard).chat.completions.with_raw_response.create(model=MODEL, messages=PROMPT)
    c = raw.parse()
    assert raw.headers.get("x-switchyard-provider") == pid
    assert c.object == "chat.completion"
    assert c.id.startswith("chatcmpl-")
    assert c.model == MODEL
    assert len(c.choices) == 1
    assert c.choices[0].message.role == "assistant"
    assert c.choices[0].message.content == TEXT_FOR[pid]
    assert c.choices[0].finish_reason == "stop"
    assert_usage(c.usage)
    posts = model_posts(yard.mocks[pid])
    assert len(posts) == 1
    assert "You are terse." in json.dumps(posts[0]["json"]), "the system message reached the provider"
    for other, mock in yard.mocks.items():
        if other != pid:
            assert model_posts(mock) == [], f"{other} was contacted by a pinned request"


def test_create_stream_with_usage(make_translated_yard, pid: str) -> None:
    yard = pinned(make_translated_yard, pid)
    yard.mocks[pid].replies({"body": {"type": "message", "text": "Streaming one two three", "chunks": 3}})
    stream = client(yard).chat.completions.create(
        model=MODEL, messages=PROMPT, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert all(ch.object == "chat.completion.chunk" and ch.model == MODEL for ch in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == "Streaming one two three"
    content_chunks = [ch for ch in chunks if ch.choices and ch.choices[0].delta.content]
    assert len(content_chunks) == 3, "the provider's deltas were relayed one by one"
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [], "the usage chunk comes last, with no choices"
    assert_usage(chunks[-1].usage)
    assert len({ch.id for ch in chunks}) == 1, "one id for the whole stream"
    post = model_posts(yard.mocks[pid])[0]
    assert post["json"].get("stream") is True or "stream" in post["path"].lower()


def test_stream_helper(make_translated_yard, pid: str) -> None:
    """`client.chat.completions.stream(...)`: the SDK's accumulating helper."""
    yard = pinned(make_translated_yard, pid)
    yard.mocks[pid].replies({"body": {"type": "message", "text": "Helper streams", "chunks": 2}})
    deltas = ""
    with client(yard).chat.completions.stream(model=MODEL, messages=PROMPT) as stream:
        for event in stream:
            if event.type == "content.delta":
                deltas += event.delta
        final = stream.get_final_completion()
    assert deltas == "Helper streams"
    assert final.choices[0].message.content == "Helper streams"
    assert final.choices[0].finish_reason == "stop"
    assert final.model == MODEL


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_tool_call_round_trip(make_translated_yard, pid: str, stream: bool) -> None:
    yard = pinned(make_translated_yard, pid)
    mock = yard.mocks[pid]
    mock.replies(
        {"body": {"type": "message", "text": "", "stop_reason": "tool_use",
                  "tool_use": {"id": "call_w1", "name": "get_weather", "input": {"city": "Rome"}}}},
        {"body": {"type": "message", "text": "Sunny in Rome."}},
    )
    c = client(yard)
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Rome?"}]
    if stream:
        with c.chat.completions.stream(model=MODEL, messages=messages, tools=[WEATHER_TOOL]) as s:
            for _ in s:
                pass
            first = s.get_final_completion()
    else:
        first = c.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls and len(calls) == 1, choice.message
    call = calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Rome"}
    assert call.id
    messages.append({"role": "assistant", "content": choice.message.content,
                     "tool_calls": [{"id": call.id, "type": "function",
                                     "function": {"name": "get_weather", "arguments": call.function.arguments}}]})
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny, 24 C"})
    second = c.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == "Sunny in Rome."
    assert second.choices[0].finish_reason == "stop"
    posts = model_posts(mock)
    assert len(posts) == 2
    sent = json.dumps(posts[1]["json"])
    assert "sunny, 24 C" in sent and "get_weather" in sent, sent[:800]


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_failover_before_the_first_byte(make_translated_yard, stream: bool) -> None:
    yard = make_translated_yard(order=("primary", "ds", "gm"))
    yard.primary.replies(reply_error(429, "primary is rate limited", headers=[["retry-after", "30"]]))
    yard.mocks["ds"].replies(reply_error(503, "vendor overloaded"))
    c = client(yard)
    if stream:
        raw = c.chat.completions.with_raw_response.create(
            model=MODEL, messages=PROMPT, stream=True, stream_options={"include_usage": True})
        chunks = list(raw.parse())
        text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
        assert_usage(chunks[-1].usage)
    else:
        raw = c.chat.completions.with_raw_response.create(model=MODEL, messages=PROMPT)
        comp = raw.parse()
        text = comp.choices[0].message.content
        assert_usage(comp.usage)
    assert text == GEMINI_TEXT
    assert raw.headers.get("x-switchyard-provider") == "gm"
    assert raw.headers.get("x-switchyard-attempts") == "3"
    health = yard.health()
    assert health["providers"]["primary"] == "cooling_down", health
    reqs = yard.http.get(f"{yard.url}/api/requests").json()["requests"]
    assert reqs[0]["route"] == "chat_completions" and reqs[0]["provider"] == "gm", reqs[0]


def test_errors_are_openai_errors(make_translated_yard) -> None:
    yard = make_translated_yard(order=("primary", "ds"))
    c = client(yard)
    with pytest.raises(openai.BadRequestError) as bad:
        c.chat.completions.create(model=MODEL, messages=PROMPT, n=2)
    assert bad.value.param == "n", bad.value.body
    assert bad.value.type == "invalid_request_error"
    assert model_posts(yard.primary) == [] and model_posts(yard.mocks["ds"]) == []
    yard.primary.replies(reply_error(529, "Overloaded"))
    yard.mocks["ds"].replies(reply_error(429, "slow down"))
    with pytest.raises(openai.RateLimitError) as limited:
        c.chat.completions.create(model=MODEL, messages=PROMPT)
    assert isinstance(limited.value.body, dict) and limited.value.body.get("message"), limited.value.body
    assert limited.value.response.headers.get("retry-after")


def test_stream_cut_midway_raises(make_translated_yard) -> None:
    yard = make_translated_yard(order=("primary", "ds"))
    start = {"type": "message_start", "message": {
        "id": "msg_cut", "type": "message", "role": "assistant", "model": MODEL, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}}
    steps = [
        {"type": "event", "event": "message_start", "data": start},
        {"type": "event", "event": "content_block_start",
         "data": {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}},
        {"type": "event", "event": "content_block_delta",
         "data": {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Partial"}}},
        {"type": "delay", "ms": 100},
        {"type": "hangup"},
    ]
    yard.primary.replies({"status": 200, "body": {"type": "sse", "steps": steps}})
    seen = ""
    with pytest.raises(openai.APIError):
        for ch in client(yard).chat.completions.create(model=MODEL, messages=PROMPT, stream=True):
            if ch.choices:
                seen += ch.choices[0].delta.content or ""
    assert seen == "Partial"
    assert model_posts(yard.mocks["ds"]) == [], "a stream that already sent bytes is not retried elsewhere"


def test_models_list(make_translated_yard) -> None:
    yard = make_translated_yard(order=("primary", "ds"))
    ids = [m.id for m in client(yard).models.list()]
    assert "claude-sonnet-4-5" in ids, ids
    assert model_posts(yard.primary) == []


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_reasoning_effort_and_reasoning_content(make_translated_yard, pid: str, stream: bool) -> None:
    """reasoning_effort turns thinking on; the provider's thinking comes back as reasoning_content."""
    yard = pinned(make_translated_yard, pid)
    yard.mocks[pid].replies({"body": {"type": "message", "text": "Forty-two.", "thinking": "count carefully"}})
    c = client(yard)
    if stream:
        reasoning, text = "", ""
        for ch in c.chat.completions.create(model=MODEL, messages=PROMPT, reasoning_effort="low", stream=True):
            if ch.choices:
                extra = ch.choices[0].delta.model_extra or {}
                reasoning += extra.get("reasoning_content") or ""
                text += ch.choices[0].delta.content or ""
    else:
        msg = c.chat.completions.create(model=MODEL, messages=PROMPT, reasoning_effort="low").choices[0].message
        reasoning, text = (msg.model_extra or {}).get("reasoning_content"), msg.content
    assert reasoning == "count carefully"
    assert text == "Forty-two."
    sent = model_posts(yard.mocks[pid])[0]["json"]
    if pid == "primary":
        assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}, sent
        assert sent["max_tokens"] > 2048
