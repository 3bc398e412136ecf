"""The official `google-genai` Python SDK against switchyard's Gemini API inbound
(`/v1beta/models/{model}:generateContent`, `:streamGenerateContent`, `:countTokens`), to every
provider kind: `primary` (anthropic kind), `ds` (openai kind) and `gm` (gemini kind: the
client's own bytes), all switchyard-mock faces. The SDK retries nothing here: what we see is
what switchyard did.
"""

from __future__ import annotations

import json

import pytest
from google import genai
from google.genai import errors, types

from conftest import (
    CLIENT_KEY,
    GEMINI_TEXT,
    OPENAI_TEXT,
    PRIMARY_TEXT,
    Yard,
    reply_error,
)

MODEL = "gemini-2.5-pro"
PIDS = ["primary", "ds", "gm"]
TEXT_FOR = {"primary": PRIMARY_TEXT, "ds": OPENAI_TEXT, "gm": GEMINI_TEXT}
WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Current weather for a city.",
    parameters_json_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture(params=PIDS)
def pid(request: pytest.FixtureRequest) -> str:
    return request.param


def client(yard: Yard) -> genai.Client:
    """A client for `yard`. Keep it in a variable while using it: the SDK closes its HTTP
    client when the `Client` object goes away."""
    return genai.Client(
        api_key=CLIENT_KEY,
        http_options=types.HttpOptions(base_url=yard.url, timeout=20_000,
                                       retry_options=types.HttpRetryOptions(attempts=1)),
    )


def pinned(make_translated_yard, pid: str) -> Yard:
    yard = make_translated_yard()
    r = yard.switch(pid)
    assert r.status_code == 200, r.text
    return yard


def posts(yard: Yard, pid: str) -> list:
    return [q for q in yard.mocks[pid].requests(None) if q["method"] == "POST"]


def test_generate_content(make_translated_yard, pid: str) -> None:
    yard = pinned(make_translated_yard, pid)
    c = client(yard)
    r = c.models.generate_content(
        model=MODEL, contents="Say hello.",
        config=types.GenerateContentConfig(system_instruction="You are terse.", max_output_tokens=200,
                                           temperature=0.2, stop_sequences=["END"]))
    assert r.text == TEXT_FOR[pid]
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    u = r.usage_metadata
    assert u.prompt_token_count > 0 and u.candidates_token_count > 0, u
    assert r.model_version == MODEL
    sent = posts(yard, pid)
    assert len(sent) == 1 and "You are terse." in json.dumps(sent[0]["json"])
    for other in PIDS:
        if other != pid:
            assert posts(yard, other) == [], f"{other} was contacted by a pinned request"


def test_generate_content_stream(make_translated_yard, pid: str) -> None:
    yard = pinned(make_translated_yard, pid)
    yard.mocks[pid].replies({"body": {"type": "message", "text": "Streaming one two three", "chunks": 3}})
    c = client(yard)
    chunks = list(c.models.generate_content_stream(model=MODEL, contents="Count."))
    assert "".join(c.text or "" for c in chunks) == "Streaming one two three"
    assert len([c for c in chunks if c.text]) >= 3, "the provider's deltas were relayed one by one"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.candidates_token_count > 0


@pytest.mark.parametrize("stream", [False, True], ids=["generate", "stream"])
def test_function_call_round_trip(make_translated_yard, pid: str, stream: bool) -> None:
    yard = pinned(make_translated_yard, pid)
    yard.mocks[pid].replies(
        {"body": {"type": "message", "text": "", "stop_reason": "tool_use",
                  "tool_use": {"id": "call_w1", "name": "get_weather", "input": {"city": "Rome"}}}},
        {"body": {"type": "message", "text": "Sunny in Rome."}},
    )
    c = client(yard)
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[WEATHER])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    history = [types.Content(role="user", parts=[types.Part(text="Weather in Rome?")])]
    if stream:
        parts = [p for ch in c.models.generate_content_stream(model=MODEL, contents=history, config=config)
                 for p in (ch.candidates[0].content.parts or [])]
    else:
        parts = c.models.generate_content(model=MODEL, contents=history, config=config).candidates[0].content.parts
    call = next(p.function_call for p in parts if p.function_call)
    assert call.name == "get_weather" and call.args == {"city": "Rome"}
    history.append(types.Content(role="model", parts=parts))
    history.append(types.Content(role="user", parts=[types.Part(function_response=types.FunctionResponse(
        id=call.id, name="get_weather", response={"output": "sunny, 24 C"}))]))
    r = c.models.generate_content(model=MODEL, contents=history, config=config)
    assert r.text == "Sunny in Rome."
    sent = json.dumps(posts(yard, pid)[1]["json"])
    assert "sunny, 24 C" in sent and "get_weather" in sent, sent[:800]


def test_structured_output(make_translated_yard, pid: str) -> None:
    yard = pinned(make_translated_yard, pid)
    yard.mocks[pid].replies({"body": {"type": "message", "text": '{"city": "Rome", "celsius": 24}'}})
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "celsius": {"type": "integer"}},
              "required": ["city", "celsius"]}
    c = client(yard)
    r = c.models.generate_content(
        model=MODEL, contents="Weather as JSON.",
        config=types.GenerateContentConfig(response_mime_type="application/json", response_json_schema=schema))
    assert json.loads(r.text) == {"city": "Rome", "celsius": 24}
    sent = posts(yard, pid)[0]["json"]
    native = {"primary": sent.get("output_config", {}).get("format", {}).get("type"),
              "ds": sent.get("response_format", {}).get("type"),
              "gm": "json_schema" if sent.get("generationConfig", {}).get("responseJsonSchema") else None}
    assert native[pid] == "json_schema", sent


def test_count_tokens(make_translated_yard) -> None:
    yard = make_translated_yard(order=("primary", "ds"))
    c = client(yard)
    r = c.models.count_tokens(model=MODEL, contents="How many tokens is this?")
    assert r.total_tokens > 0


def test_failover_and_errors(make_translated_yard) -> None:
    yard = make_translated_yard(order=("primary", "ds", "gm"))
    yard.primary.replies(reply_error(429, "primary is rate limited", headers=[["retry-after", "30"]]))
    yard.mocks["ds"].replies(reply_error(503, "vendor overloaded"))
    c = client(yard)
    r = c.models.generate_content(model=MODEL, contents="Hi")
    assert r.text == GEMINI_TEXT
    # Every provider refuses: Google's error shape, which the SDK raises with its code.
    yard = make_translated_yard(order=("primary", "ds"))
    yard.primary.replies(reply_error(529, "Overloaded"))
    yard.mocks["ds"].replies(reply_error(429, "slow down", headers=[["retry-after", "12"]]))
    c = client(yard)
    with pytest.raises(errors.ClientError) as e:
        c.models.generate_content(model=MODEL, contents="Hi")
    assert e.value.code == 429 and e.value.status == "RESOURCE_EXHAUSTED", e.value.details
    assert "slow down" in (e.value.message or "")
    with pytest.raises(errors.ClientError) as e:
        c.models.generate_content(
            model=MODEL, contents="Hi", config=types.GenerateContentConfig(candidate_count=3))
    assert e.value.code == 400 and "candidateCount" in (e.value.message or "")
