"""The real Gemini CLI (tests/clients/node_modules/.bin/gemini, `@google/gemini-cli` pinned in
package.json) through switchyard, doing a `read_file` tool round trip: on an anthropic-kind
primary, after a failover to an openai-kind backup, across a failover in the middle of the tool
round trip, and to a same-dialect gemini provider (which gets Gemini CLI's own bytes).

Gemini CLI is set up the way a user would: `switchyard setup gemini-cli` writes
~/.gemini/.env and settings.json in a throwaway HOME. Its default "auto" model first makes a
non-streaming classifier call that must be answered with JSON (structured output); then the
main turn streams, calls read_file, and streams the final answer.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    GEMINI_KEY,
    GEMINI_UPSTREAM_MODEL,
    IN_CI,
    Mock,
    Yard,
    header,
    proxy_env,
    reply_error,
    reply_message,
    run_cli,
)

GEMINI = Path(__file__).resolve().parent / "node_modules" / ".bin" / "gemini"
SECRET = "The secret word is pineapple."
FINAL = "The file says the secret word is pineapple."
CLASSIFIER = reply_message(json.dumps({"complexity_reasoning": "one small file", "complexity_score": 10}))
READ = {"status": 200, "body": {"type": "message", "text": "Let me read it.", "thinking": "I should read the file",
                                "stop_reason": "tool_use",
                                "tool_use": {"id": "toolu_01Read", "name": "read_file", "input": {"file_path": "a.txt"}}}}


def gemini_or_skip() -> Path:
    if GEMINI.exists() and os.access(GEMINI, os.X_OK):
        return GEMINI
    reason = f"Gemini CLI not installed at {GEMINI} (run scripts/setup-test-deps.sh)"
    if IN_CI:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def set_up_home(yard: Yard, home: Path) -> None:
    """`switchyard setup gemini-cli` in a throwaway HOME, as a user runs it."""
    home.mkdir(parents=True, exist_ok=True)
    env = proxy_env({"HOME": str(home)})
    env.pop("GEMINI_CLI_HOME", None)
    r = run_cli(["setup", "gemini-cli", "--url", yard.url, "--config", str(yard.config)], env=env)
    assert r.returncode == 0, r.stderr
    text = (home / ".gemini" / ".env").read_text()
    assert f"GOOGLE_GEMINI_BASE_URL={yard.url}" in text, text


def run_gemini(yard: Yard, tmp: Path, prompt: str = "What does a.txt say?", timeout: float = 50) -> str:
    gemini = gemini_or_skip()
    home, work = tmp / "home", tmp / "work"
    set_up_home(yard, home)
    work.mkdir(parents=True, exist_ok=True)
    (work / "a.txt").write_text(SECRET + "\n")
    node = shutil.which("node")
    path_dirs = [str(gemini.parent)] + ([str(Path(node).parent)] if node else []) + ["/usr/local/bin", "/usr/bin", "/bin"]
    env = {
        "PATH": ":".join(dict.fromkeys(path_dirs)),
        "HOME": str(home),
        "NO_PROXY": "127.0.0.1,localhost",
        "TERM": "dumb",
        "NO_COLOR": "1",
    }
    argv = [str(gemini), "-p", prompt, "--yolo", "--skip-trust"]
    p = subprocess.Popen(argv, env=env, cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate(timeout=10)
        pytest.fail(f"gemini did not finish within {timeout}s\nstdout:\n{out[-2000:]}\nstderr:\n{err[-3000:]}\n{yard.logs()}")
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # stragglers of a finished run
        except ProcessLookupError:
            pass
    assert p.returncode == 0, f"gemini failed (rc={p.returncode})\nstdout:\n{out[-2000:]}\nstderr:\n{err[-3000:]}\n{yard.logs()}"
    return out


def posts(mock: Mock) -> list[dict[str, Any]]:
    return [q for q in mock.requests(None) if q["method"] == "POST"]


def tool_result_text(body: dict[str, Any]) -> str:
    """The read_file result as an Anthropic or OpenAI provider received it."""
    return json.dumps(body.get("messages", []))


def test_on_an_anthropic_primary(make_translated_yard, tmp_path: Path) -> None:
    yard = make_translated_yard(order=("primary",))
    yard.primary.replies(CLASSIFIER, READ)
    yard.primary.default(reply_message(FINAL))
    out = run_gemini(yard, tmp_path)
    assert FINAL in out, out
    sent = posts(yard.primary)
    assert len(sent) == 3, [q["path"] for q in sent]
    classifier = sent[0]["json"]
    assert classifier["output_config"]["format"]["type"] == "json_schema", classifier
    assert "stream" not in classifier
    main, after = sent[1]["json"], sent[2]["json"]
    assert main["stream"] is True and any(t["name"] == "read_file" for t in main["tools"])
    msgs = after["messages"]
    call = msgs[-2]["content"]
    assert call[0] == {"type": "thinking", "thinking": "I should read the file", "signature": call[0]["signature"]}, call
    assert call[-1]["id"] == "toolu_01Read", "the call keeps its id through Gemini CLI"
    result = msgs[-1]["content"][0]
    assert result["type"] == "tool_result" and result["tool_use_id"] == "toolu_01Read", result
    assert SECRET in json.dumps(result)
    for q in sent:
        assert header(q, "x-goog-api-key") is None, "a Google key never reaches an Anthropic provider"


def test_after_a_failover_to_an_openai_backup(make_translated_yard, tmp_path: Path) -> None:
    yard = make_translated_yard(order=("primary", "ds"))
    yard.primary.default(reply_error(429, "primary is rate limited", headers=[["retry-after", "30"]]))
    ds = yard.mocks["ds"]
    ds.replies(CLASSIFIER, READ)
    ds.default(reply_message(FINAL))
    out = run_gemini(yard, tmp_path)
    assert FINAL in out, out
    assert len(posts(yard.primary)) == 1, "tried once, then cooling down"
    sent = posts(ds)
    assert len(sent) == 3, [q["path"] for q in sent]
    assert sent[0]["json"]["response_format"]["type"] == "json_schema", sent[0]["json"]
    msgs = sent[2]["json"]["messages"]
    tool = [m for m in msgs if m["role"] == "tool"]
    assert tool and SECRET in tool[-1]["content"], msgs[-3:]
    calls = [m for m in msgs if m.get("tool_calls")]
    assert calls[-1]["tool_calls"][0]["id"] == tool[-1]["tool_call_id"]
    health = yard.health()
    assert health["providers"]["primary"] == "cooling_down", health


def test_across_a_failover_in_the_middle_of_the_tool_round_trip(make_translated_yard, tmp_path: Path) -> None:
    yard = make_translated_yard(order=("primary", "ds"))
    yard.primary.replies(CLASSIFIER, READ)
    yard.primary.default(reply_error(529, "Overloaded"))
    ds = yard.mocks["ds"]
    ds.default(reply_message(FINAL))
    out = run_gemini(yard, tmp_path)
    assert FINAL in out, out
    assert len(posts(yard.primary)) == 3, "classifier, the call, then the result (refused)"
    after = posts(ds)
    assert len(after) == 1, [q["path"] for q in after]
    msgs = after[0]["json"]["messages"]
    call = next(m for m in msgs if m.get("tool_calls"))
    tool = next(m for m in msgs if m["role"] == "tool")
    assert call["tool_calls"][0]["function"]["name"] == "read_file"
    assert tool["tool_call_id"] == call["tool_calls"][0]["id"]
    assert SECRET in tool["content"]
    assert header(after[0], "authorization") != "Bearer switchyard", "the backup's own key, not the client's"


def test_to_a_same_dialect_gemini_provider(make_translated_yard, tmp_path: Path) -> None:
    yard = make_translated_yard(order=("gm",))
    gm = yard.mocks["gm"]
    gm.replies(CLASSIFIER, READ)
    gm.default(reply_message(FINAL))
    out = run_gemini(yard, tmp_path)
    assert FINAL in out, out
    sent = posts(gm)
    assert len(sent) == 3, [q["path"] for q in sent]
    for q in sent:
        assert q["path"].startswith(f"/v1beta/models/{GEMINI_UPSTREAM_MODEL}:"), q["path"]
        assert header(q, "x-goog-api-key") == GEMINI_KEY, "the provider's key"
        body = q["json"]
        assert "model" not in body and "messages" not in body, "Gemini CLI's own request, not a translation"
    assert sent[0]["path"].endswith(":generateContent")
    assert sent[0]["json"]["generationConfig"]["responseMimeType"] == "application/json"
    main = sent[1]["json"]
    decls = [d for t in main["tools"] for d in t.get("functionDeclarations", [])]
    read = next(d for d in decls if d["name"] == "read_file")
    assert "parametersJsonSchema" in read, "as Gemini CLI wrote it (a translation would say `parameters`)"
    contents = sent[2]["json"]["contents"]
    response = contents[-1]["parts"][0]["functionResponse"]
    assert response["name"] == "read_file" and SECRET in json.dumps(response)
    assert contents[-2]["parts"][-1]["thoughtSignature"].startswith("mock_thought_signature_")
