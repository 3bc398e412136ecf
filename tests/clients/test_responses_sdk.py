"""The official OpenAI Python SDK's Responses API (`client.responses.create` /
`client.responses.stream`) against switchyard's `/v1/responses`, to every provider kind:
`an` (anthropic, passthrough), `ds` (openai), `gm` (gemini) and `or` (openai-responses, which
gets the SDK's own request). The SDK's stream accumulator is strict (a response id that
changes, an item never finished, a content event for an unknown item all raise): it is the
conformance oracle here. Built with max_retries=0: what we see is what switchyard did.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest

from conftest import (
    CLIENT_KEY,
    GEMINI_KEY,
    GEMINI_KEY_ENV,
    OPENAI_KEY,
    OPENAI_KEY_ENV,
    KindProviderSpec,
    Mock,
    Yard,
    reply_error,
    reply_message,
    start_mock,
    start_switchyard,
    write_config,
)

MODEL = "gpt-5.1-codex"
RESPONSES_KEY_ENV = "SWITCHYARD_TEST_OR_KEY"
RESPONSES_KEY = "sk-openai-responses-vendor-0006"
PIDS = {"an": "anthropic", "ds": "openai", "gm": "gemini", "or": "openai-responses"}
TEXT = {pid: f"Hello from the {kind} provider" for pid, kind in PIDS.items()}
WEATHER = {"type": "function", "name": "get_weather", "description": "Current weather for a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@pytest.fixture
def yard(procs, http, tmp_path: Path) -> Yard:
    mocks: dict[str, Mock] = {}
    specs = []
    for pid, kind in PIDS.items():
        mock = start_mock(procs, f"mock-{pid}", http)
        mock.default(reply_message(TEXT[pid]))
        mocks[pid] = mock
        if kind == "anthropic":
            specs.append(KindProviderSpec(pid, kind, mock.url, "passthrough", quirks={"anthropic_native": True}))
        elif kind == "openai":
            specs.append(KindProviderSpec(pid, kind, f"{mock.url}/v1", f"env:{OPENAI_KEY_ENV}", {"*": "deepseek-chat"}))
        elif kind == "gemini":
            specs.append(KindProviderSpec(pid, kind, mock.url, f"env:{GEMINI_KEY_ENV}", {"*": "gemini-2.5-pro"}))
        else:
            specs.append(KindProviderSpec(pid, kind, f"{mock.url}/v1", f"env:{RESPONSES_KEY_ENV}", {"*": "gpt-5.1-codex-max"}))
    config = write_config(tmp_path / "switchyard.toml", specs)  # type: ignore[arg-type]
    return start_switchyard(procs, http, config, mocks,
                            env={OPENAI_KEY_ENV: OPENAI_KEY, GEMINI_KEY_ENV: GEMINI_KEY, RESPONSES_KEY_ENV: RESPONSES_KEY})


@pytest.fixture(params=list(PIDS))
def pid(request: pytest.FixtureRequest) -> str:
    return request.param


def client(yard: Yard) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{yard.url}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=20)


def pinned(yard: Yard, pid: str) -> openai.OpenAI:
    r = yard.switch(pid)
    assert r.status_code == 200, r.text
    return client(yard)


def model_posts(mock: Mock) -> list[dict[str, Any]]:
    return [q for q in mock.requests(None) if q["method"] == "POST" and not q["path"].startswith("/__mock")]


def test_create(yard: Yard, pid: str) -> None:
    raw = pinned(yard, pid).responses.with_raw_response.create(model=MODEL, instructions="Be brief.", input="Say hello.")
    r = raw.parse()
    assert raw.headers.get("x-switchyard-provider") == pid
    assert r.object == "response" and r.status == "completed"
    assert r.model == MODEL
    assert r.output_text == TEXT[pid]
    assert r.usage is not None and r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    sent = model_posts(yard.mocks[pid])[-1]
    assert "Be brief." in json.dumps(sent["json"]), "the instructions reached the provider"


def test_stream(yard: Yard, pid: str) -> None:
    with pinned(yard, pid).responses.stream(model=MODEL, input="Say hello.") as s:
        kinds = [ev.type for ev in s]
        final = s.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed", kinds
    assert "response.output_text.delta" in kinds and "response.output_item.done" in kinds
    assert final.output_text == TEXT[pid]
    assert final.usage is not None and final.usage.output_tokens > 0


@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_round_trip(yard: Yard, pid: str, stream: bool) -> None:
    c = pinned(yard, pid)
    yard.mocks[pid].replies(reply_message("", tool_use={"id": "call_w1", "name": "get_weather", "input": {"city": "Paris"}}),
                            reply_message("Sunny in Paris."))
    conversation: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    if stream:
        with c.responses.stream(model=MODEL, input=conversation, tools=[WEATHER]) as s:
            first = s.get_final_response()
    else:
        first = c.responses.create(model=MODEL, input=conversation, tools=[WEATHER])
    calls = [o for o in first.output if o.type == "function_call"]
    assert len(calls) == 1, first.output
    assert calls[0].name == "get_weather" and json.loads(calls[0].arguments) == {"city": "Paris"}
    conversation += [o.model_dump(exclude_none=True) for o in first.output]
    conversation.append({"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny, 24 C"})
    second = c.responses.create(model=MODEL, input=conversation, tools=[WEATHER])
    assert second.output_text == "Sunny in Paris."
    sent = json.dumps(model_posts(yard.mocks[pid])[-1]["json"])
    assert "sunny, 24 C" in sent, sent


def test_thinking_comes_back_as_reasoning_and_goes_back_as_thinking(yard: Yard) -> None:
    c = pinned(yard, "an")
    yard.mocks["an"].replies(reply_message("", thinking="Paris is in France.",
                                           tool_use={"id": "call_r1", "name": "get_weather", "input": {"city": "Paris"}}),
                             reply_message("Done."))
    first = c.responses.create(model=MODEL, input="Weather in Paris?", tools=[WEATHER],
                               reasoning={"effort": "medium"}, include=["reasoning.encrypted_content"])
    reasoning = [o for o in first.output if o.type == "reasoning"]
    assert reasoning and reasoning[0].summary[0].text == "Paris is in France."
    assert reasoning[0].encrypted_content
    call = [o for o in first.output if o.type == "function_call"][0]
    items = [o.model_dump(exclude_none=True) for o in first.output]
    items.append({"type": "function_call_output", "call_id": call.call_id, "output": "sunny"})
    c.responses.create(model=MODEL, input=[{"role": "user", "content": "Weather in Paris?"}, *items],
                       tools=[WEATHER], reasoning={"effort": "medium"})
    sent = model_posts(yard.mocks["an"])[-1]["json"]
    block = sent["messages"][1]["content"][0]
    assert block["type"] == "thinking" and block["thinking"] == "Paris is in France.", sent["messages"]
    assert block["signature"].startswith("mock_signature_"), "the provider's own signature, unchanged"


def test_errors_keep_openai_shape_status_and_retry_after(yard: Yard) -> None:
    c = client(yard)
    for mock in yard.mocks.values():
        mock.default(reply_error(429, "slow down", headers=[["retry-after", "20"]]))
    with pytest.raises(openai.RateLimitError) as e:
        c.responses.create(model=MODEL, input="hi")
    assert e.value.status_code == 429
    assert e.value.response.headers.get("retry-after")
    with pytest.raises(openai.RateLimitError):
        with c.responses.stream(model=MODEL, input="hi") as s:
            s.get_final_response()
    with pytest.raises(openai.BadRequestError) as bad:
        c.responses.create(model=MODEL, input="hi", previous_response_id="resp_earlier")
    assert bad.value.status_code == 400
    body = bad.value.body
    assert isinstance(body, dict) and body.get("param") == "previous_response_id", body
