"""The official `anthropic` Python SDK against switchyard (failover, credentials, pinning).

The SDK is built with max_retries=0 wherever the test is about OUR failover, so that what we see
is what switchyard did, not the SDK retrying.
"""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any

import anthropic
import pytest

from conftest import (
    BACKUP_KEY,
    BACKUP_TEXT,
    BACKUP_UPSTREAM_MODEL,
    CLIENT_KEY,
    PRIMARY_TEXT,
    THIRD_TEXT,
    Yard,
    header,
    reply_error,
    reply_inband_error,
    run_cli,
)

MODEL = "claude-sonnet-4-5-switchyard-test"
PROMPT = [{"role": "user", "content": "Say hello."}]


def sdk(yard: Yard, max_retries: int = 0) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=yard.url, api_key=CLIENT_KEY, max_retries=max_retries, timeout=20.0)


def create_raw(yard: Yard, **kw: Any):
    """messages.create through with_raw_response: (parsed Message, response headers)."""
    raw = sdk(yard).messages.with_raw_response.create(model=MODEL, max_tokens=64, messages=PROMPT, **kw)
    return raw.parse(), raw.headers


def stream_final(yard: Yard):
    """messages.stream(): (final Message, concatenated text deltas, event types, headers)."""
    with sdk(yard).messages.stream(model=MODEL, max_tokens=64, messages=PROMPT) as stream:
        events = []
        text = ""
        for event in stream:
            events.append(event.type)
            if event.type == "text":
                text += event.text
        final = stream.get_final_message()
        headers = stream.response.headers
    return final, text, events, headers


def text_of(msg: anthropic.types.Message) -> str:
    return "".join(b.text for b in msg.content if b.type == "text")


def assert_client_credential_passed_through(req: dict[str, Any]) -> None:
    """A passthrough provider gets the client's own credential (the SDK sends it as Bearer)."""
    got = [header(req, "x-api-key"), header(req, "authorization")]
    assert CLIENT_KEY in got or f"Bearer {CLIENT_KEY}" in got, f"passthrough lost the client key: {req['headers']}"


def assert_keyed_request(req: dict[str, Any], key: str = BACKUP_KEY) -> None:
    """A keyed provider gets ITS key as x-api-key and never the client's credential."""
    assert header(req, "x-api-key") == key, f"backup got x-api-key={header(req, 'x-api-key')!r}"
    for name, value in req["headers"]:
        assert CLIENT_KEY not in value, f"client credential leaked to the keyed backup in header {name!r}"
    auth = header(req, "authorization")
    assert auth is None or key in auth, f"backup got a foreign authorization header: {auth!r}"


def assert_usage(msg: anthropic.types.Message) -> None:
    assert msg.usage is not None
    assert msg.usage.input_tokens >= 1
    assert msg.usage.output_tokens >= 1


# ---------------------------------------------------------------------------------------------
# Happy path through the primary
# ---------------------------------------------------------------------------------------------


def test_create_via_primary(yard: Yard) -> None:
    msg, headers = create_raw(yard)
    assert text_of(msg) == PRIMARY_TEXT
    assert msg.model == MODEL
    assert msg.stop_reason == "end_turn"
    assert_usage(msg)
    assert headers.get("x-switchyard-provider") == "primary"
    reqs = yard.primary.requests()
    assert len(reqs) == 1
    assert reqs[0]["json"]["model"] == MODEL
    assert reqs[0]["json"]["messages"] == PROMPT
    assert header(reqs[0], "anthropic-version"), "anthropic-version was not forwarded"
    assert_client_credential_passed_through(reqs[0])
    assert yard.backup.requests() == []


def test_stream_via_primary(yard: Yard) -> None:
    yard.primary.default({"body": {"type": "message", "text": "Hello there from the primary", "chunks": 3}})
    final, text, events, headers = stream_final(yard)
    assert text == "Hello there from the primary"
    assert text_of(final) == "Hello there from the primary"
    assert final.model == MODEL
    assert final.stop_reason == "end_turn"
    assert_usage(final)
    assert events[0] == "message_start" and events[-1] == "message_stop", events
    assert events.count("message_start") == 1
    assert events.count("text") == 3, f"the 3 upstream deltas were not relayed one by one: {events}"
    assert headers.get("x-switchyard-provider") == "primary"
    assert yard.primary.requests()[0]["json"]["stream"] is True


# ---------------------------------------------------------------------------------------------
# Failover before the first byte
# ---------------------------------------------------------------------------------------------

FAILURES = {
    "429-retry-after": reply_error(429, "primary is rate limited", headers=[["retry-after", "30"]]),
    "529-overloaded": reply_error(529, "primary is overloaded"),
    "500-api-error": reply_error(500, "primary broke"),
    "503": reply_error(503, "primary unavailable"),
    "401": reply_error(401, "invalid x-api-key"),
    "hangup": {"body": {"type": "hangup"}},
    "empty-message": {"body": {"type": "empty_message"}},
}
STREAM_ONLY_FAILURES = {
    "inband-error-first-event": reply_inband_error(),
}


def assert_failed_over(yard: Yard, headers: Any, msg: anthropic.types.Message, stream: bool) -> None:
    assert text_of(msg) == BACKUP_TEXT
    assert msg.model == MODEL, "the response must echo the model the client asked for"
    assert_usage(msg)
    assert headers.get("x-switchyard-provider") == "backup"
    assert headers.get("x-switchyard-attempts") == "2"
    prim = yard.primary.requests()
    assert len(prim) == 1, f"primary should have been tried exactly once, got {len(prim)}"
    assert_client_credential_passed_through(prim[0])
    back = yard.backup.requests()
    assert len(back) == 1
    assert_keyed_request(back[0])
    assert back[0]["json"]["model"] == BACKUP_UPSTREAM_MODEL, "backup's model map was not applied"
    assert back[0]["json"]["messages"] == PROMPT
    assert bool(back[0]["json"].get("stream")) is stream


@pytest.mark.parametrize("failure", list(FAILURES), ids=list(FAILURES))
def test_create_fails_over(yard: Yard, failure: str) -> None:
    yard.primary.replies(FAILURES[failure])
    msg, headers = create_raw(yard)
    assert_failed_over(yard, headers, msg, stream=False)


@pytest.mark.parametrize("failure", list(FAILURES | STREAM_ONLY_FAILURES), ids=list(FAILURES | STREAM_ONLY_FAILURES))
def test_stream_fails_over_cleanly(yard: Yard, failure: str) -> None:
    yard.primary.replies((FAILURES | STREAM_ONLY_FAILURES)[failure])
    final, text, events, headers = stream_final(yard)
    assert text == BACKUP_TEXT
    # Exactly one clean message: nothing of the failed attempt reached the client.
    assert events[0] == "message_start" and events[-1] == "message_stop", events
    assert events.count("message_start") == 1 and events.count("message_stop") == 1, events
    assert_failed_over(yard, headers, final, stream=True)


def test_stream_error_after_first_byte_is_relayed_not_spliced(yard: Yard) -> None:
    """Once bytes reached the client, no failover: the in-band error reaches the SDK as such."""
    yard.primary.replies({"body": {"type": "sse", "steps": [
        {"type": "event", "event": "message_start", "data": {"type": "message_start", "message": {
            "id": "msg_partial", "type": "message", "role": "assistant", "model": MODEL, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 5, "output_tokens": 1}}}},
        {"type": "event", "event": "content_block_start",
         "data": {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}},
        {"type": "event", "event": "content_block_delta",
         "data": {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Partial"}}},
        {"type": "delay", "ms": 100},
        {"type": "event", "event": "error",
         "data": {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded mid-stream"}}},
    ]}})
    seen = ""
    with pytest.raises(anthropic.APIStatusError) as info:
        with sdk(yard).messages.stream(model=MODEL, max_tokens=64, messages=PROMPT) as stream:
            for event in stream:
                if event.type == "text":
                    seen += event.text
    assert "Overloaded mid-stream" in str(info.value)
    assert seen == "Partial", "the bytes before the error must reach the client unchanged"
    assert yard.backup.requests() == [], "a stream that already sent bytes must not be retried elsewhere"


def test_count_tokens_via_primary(yard: Yard) -> None:
    res = sdk(yard).messages.count_tokens(model=MODEL, messages=PROMPT)
    assert res.input_tokens >= 1
    reqs = yard.primary.requests("/v1/messages/count_tokens")
    assert len(reqs) == 1 and reqs[0]["json"]["model"] == MODEL


def test_cooldown_skips_primary(yard: Yard) -> None:
    yard.primary.replies(FAILURES["429-retry-after"])
    _, headers = create_raw(yard)
    assert headers.get("x-switchyard-provider") == "backup"
    assert len(yard.primary.requests()) == 1
    assert yard.health()["providers"]["primary"] == "cooling_down"

    # The primary would answer now, but it is cooling down (retry-after: 30): not contacted.
    msg, headers = create_raw(yard)
    assert text_of(msg) == BACKUP_TEXT
    assert headers.get("x-switchyard-provider") == "backup"
    final, _, _, sheaders = stream_final(yard)
    assert text_of(final) == BACKUP_TEXT
    assert sheaders.get("x-switchyard-provider") == "backup"
    assert len(yard.primary.requests()) == 1, "a cooling-down primary was contacted"
    assert len(yard.backup.requests()) == 3


def test_cooldown_ends_when_retry_after_expires(yard: Yard) -> None:
    yard.primary.replies(reply_error(429, "primary is rate limited", headers=[["retry-after", "1"]]))
    _, headers = create_raw(yard)
    assert headers.get("x-switchyard-provider") == "backup"
    assert yard.health()["providers"]["primary"] == "cooling_down"
    deadline = time.monotonic() + 6
    while yard.health()["providers"]["primary"] != "available":
        assert time.monotonic() < deadline, f"primary still cooling down 6 s after retry-after: 1: {yard.health()}"
        time.sleep(0.2)
    msg, headers = create_raw(yard)
    assert text_of(msg) == PRIMARY_TEXT
    assert headers.get("x-switchyard-provider") == "primary"
    assert len(yard.primary.requests()) == 2


def test_three_providers_fail_over_in_order(make_yard) -> None:
    yard = make_yard(third=True)
    yard.primary.replies(reply_error(529, "primary overloaded"))
    yard.backup.replies(reply_error(503, "backup unavailable"))
    msg, headers = create_raw(yard)
    assert text_of(msg) == THIRD_TEXT
    assert headers.get("x-switchyard-provider") == "third"
    assert headers.get("x-switchyard-attempts") == "3"
    third = yard.mocks["third"].requests()
    assert len(third) == 1
    assert_client_credential_passed_through(third[0])


# ---------------------------------------------------------------------------------------------
# Errors the client must see
# ---------------------------------------------------------------------------------------------


def both_rate_limited(yard: Yard) -> None:
    yard.primary.default(reply_error(429, "primary says slow down", headers=[["retry-after", "17"]]))
    yard.backup.default(reply_error(429, "backup says slow down", headers=[["retry-after", "17"]]))


def test_all_providers_fail_create_raises_rate_limit(yard: Yard) -> None:
    both_rate_limited(yard)
    with pytest.raises(anthropic.RateLimitError) as info:
        create_raw(yard)
    err = info.value
    assert err.status_code == 429
    assert "backup says slow down" in err.message, "the client should get the last upstream error"
    assert isinstance(err.body, dict) and err.body.get("type") == "error", err.body
    assert err.body["error"]["type"] == "rate_limit_error"
    assert err.response.headers.get("retry-after") == "17"
    assert len(yard.primary.requests()) == 1
    assert len(yard.backup.requests()) == 1


def test_all_providers_fail_stream_raises_rate_limit(yard: Yard) -> None:
    both_rate_limited(yard)
    with pytest.raises(anthropic.RateLimitError) as info:
        stream_final(yard)
    assert "backup says slow down" in info.value.message
    assert info.value.response.headers.get("retry-after") == "17"


def test_bad_request_is_returned_as_is(yard: Yard) -> None:
    yard.primary.replies(reply_error(400, "messages.0.content: text content blocks must be non-empty"))
    with pytest.raises(anthropic.BadRequestError) as info:
        create_raw(yard)
    err = info.value
    assert err.status_code == 400
    assert "text content blocks must be non-empty" in err.message
    assert err.body["error"]["type"] == "invalid_request_error"
    assert yard.backup.requests() == [], "a 400 must not fail over"
    # A 400 says nothing about the provider's health.
    assert yard.health()["providers"]["primary"] == "available"


def test_bad_request_stream_is_returned_as_is(yard: Yard) -> None:
    yard.primary.replies(reply_error(400, "max_tokens: must be positive"))
    with pytest.raises(anthropic.BadRequestError) as info:
        stream_final(yard)
    assert "max_tokens: must be positive" in info.value.message
    assert yard.backup.requests() == []


# ---------------------------------------------------------------------------------------------
# Pinning a provider
# ---------------------------------------------------------------------------------------------


def test_switch_provider_pin_and_auto(yard: Yard) -> None:
    r = yard.switch("backup")
    assert r.status_code == 200, r.text
    assert yard.health()["current_provider"] == "backup"
    msg, headers = create_raw(yard)
    assert text_of(msg) == BACKUP_TEXT
    assert headers.get("x-switchyard-provider") == "backup"
    final, _, _, sheaders = stream_final(yard)
    assert text_of(final) == BACKUP_TEXT
    assert sheaders.get("x-switchyard-provider") == "backup"
    assert yard.primary.requests() == [], "a pinned backup must not route to the primary"
    assert len(yard.backup.requests()) == 2
    assert_keyed_request(yard.backup.requests()[0])

    r = yard.switch("auto")
    assert r.status_code == 200, r.text
    msg, headers = create_raw(yard)
    assert text_of(msg) == PRIMARY_TEXT
    assert headers.get("x-switchyard-provider") == "primary"
    assert len(yard.primary.requests()) == 1


def test_switch_to_unknown_provider_is_rejected(yard: Yard) -> None:
    r = yard.switch("no-such-provider")
    assert 400 <= r.status_code < 500, f"{r.status_code} {r.text}"
    msg, headers = create_raw(yard)
    assert headers.get("x-switchyard-provider") == "primary"


def test_cli_switch_and_status(yard: Yard) -> None:
    res = run_cli(["switch", "backup", "--url", yard.url])
    assert res.returncode == 0, res.stderr
    assert yard.health()["current_provider"] == "backup"
    st = run_cli(["status", "--url", yard.url])
    assert st.returncode == 0, st.stderr
    assert "primary" in st.stdout and "backup" in st.stdout, st.stdout
    _, headers = create_raw(yard)
    assert headers.get("x-switchyard-provider") == "backup"
    res = run_cli(["switch", "auto", "--url", yard.url])
    assert res.returncode == 0, res.stderr
    _, headers = create_raw(yard)
    assert headers.get("x-switchyard-provider") == "primary"


def test_health_lists_providers(yard: Yard) -> None:
    h = yard.health()
    assert h["providers"] == {"primary": "available", "backup": "available"}
    assert h.get("status")


def test_sigterm_stops_switchyard_promptly(yard: Yard) -> None:
    create_raw(yard)
    yard.proc.popen.send_signal(signal.SIGTERM)
    try:
        rc = yard.proc.popen.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("switchyard still running 5 s after SIGTERM")
    assert rc == 0, f"switchyard exited with {rc} on SIGTERM\n{yard.logs()}"
