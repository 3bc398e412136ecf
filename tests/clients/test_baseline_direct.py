"""Baseline: the real clients straight against switchyard-mock, no proxy in between.

If these fail, the mock or the harness is broken, not switchyard; if these pass and a proxied
test fails, the proxy changed something on the way.
"""

from __future__ import annotations

from pathlib import Path

import anthropic
import pytest

from conftest import CLIENT_KEY, Mock, reply_error, reply_message, start_mock

MODEL = "claude-baseline-test"


@pytest.fixture
def mock(procs, http) -> Mock:
    m = start_mock(procs, "mock-direct", http)
    m.default(reply_message("Hello direct", chunks=2))
    return m


def test_sdk_direct_create_and_stream(mock: Mock) -> None:
    client = anthropic.Anthropic(base_url=mock.url, api_key=CLIENT_KEY, max_retries=0, timeout=10.0)
    msg = client.messages.create(model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "hi"}])
    assert msg.content[0].text == "Hello direct" and msg.model == MODEL
    with client.messages.stream(model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "hi"}]) as s:
        final = s.get_final_message()
    assert final.content[0].text == "Hello direct" and final.usage.output_tokens >= 1
    reqs = mock.requests()
    assert len(reqs) == 2 and reqs[1]["json"]["stream"] is True
    assert f"Bearer {CLIENT_KEY}" in [v for _, v in reqs[0]["headers"]]


def test_sdk_direct_errors(mock: Mock) -> None:
    client = anthropic.Anthropic(base_url=mock.url, api_key=CLIENT_KEY, max_retries=0, timeout=10.0)
    mock.replies(reply_error(429, "slow", headers=[["retry-after", "3"]]))
    with pytest.raises(anthropic.RateLimitError) as info:
        client.messages.create(model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "hi"}])
    assert info.value.response.headers["retry-after"] == "3" and "slow" in info.value.message


def test_claude_code_direct(mock: Mock, tmp_path: Path) -> None:
    from test_claude_code import claude_or_skip, parse_result, run_claude

    claude_or_skip()

    class Direct:  # run_claude only needs .url
        url = mock.url

    proc = run_claude(Direct(), tmp_path / "home")  # type: ignore[arg-type]
    out = parse_result(proc)
    assert proc.returncode == 0 and out.get("is_error") is False, out
    assert "Hello direct" in out["result"]
