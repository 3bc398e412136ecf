"""The real Codex CLI (tests/clients/node_modules/.bin/codex, OpenAI's `@openai/codex`) through
switchyard's Responses API, configured by `switchyard setup codex` in a throwaway CODEX_HOME.

Each test runs `codex exec` once: the upstream mock asks for a shell command through Codex's
`exec_command` tool, Codex runs it, sends the output back, and the mock answers with the final
text. Scenarios: (a) an anthropic-kind primary; (b) after a failover to an openai-kind backup;
(c) a failover in the middle of the tool round trip; (d) an `openai-responses` provider, which
gets Codex's own request (only the model mapped); (e) Codex's newer "responses lite" requests
(tools in `additional_tools` items, the JavaScript `exec` tool in the `functions` namespace).

Installed by scripts/setup-test-deps.sh (npm ci from package-lock.json). Skipped when missing on
a developer machine; under CI=true a missing CLI fails the test.
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
    IN_CI,
    OPENAI_KEY,
    OPENAI_KEY_ENV,
    KindProviderSpec,
    Mock,
    Yard,
    header,
    proxy_env,
    reply_error,
    reply_message,
    run_cli,
    start_mock,
    start_switchyard,
    write_config,
)

CODEX = Path(__file__).resolve().parent / "node_modules" / ".bin" / "codex"
CODEX_KEY = "sk-codex-user-key-0005"  # what Codex sends (OPENAI_API_KEY)
MODEL = "claude-sonnet-4-5"
MARKER = "codex-round-trip-ok"
FINAL = "The command printed the marker."
RESPONSES_KEY_ENV = "SWITCHYARD_TEST_OR_KEY"
RESPONSES_KEY = "sk-openai-responses-vendor-0006"


def codex_or_skip() -> Path:
    if CODEX.exists() and os.access(CODEX, os.X_OK):
        return CODEX
    reason = f"Codex CLI not installed at {CODEX} (run scripts/setup-test-deps.sh)"
    if IN_CI:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def shell_call(call_id: str = "call_codex_1") -> dict[str, Any]:
    """The upstream asks Codex to run a shell command (Codex's `exec_command` tool)."""
    return reply_message("", tool_use={"id": call_id, "name": "exec_command", "input": {"cmd": f"echo {MARKER}"}})


def make_yard(procs, http, tmp_path: Path, kinds: list[str]) -> Yard:
    """Providers p0.. of the given kinds, in failover order; `anthropic` passes the client's key
    through, the others use keys from the environment."""
    mocks: dict[str, Mock] = {}
    specs = []
    for i, kind in enumerate(kinds):
        pid = f"p{i}"
        mock = start_mock(procs, f"mock-{pid}", http)
        mock.default(reply_message(f"default answer of {pid}"))
        mocks[pid] = mock
        if kind == "anthropic":
            specs.append(KindProviderSpec(pid, kind, mock.url, "passthrough"))
        elif kind == "openai":
            specs.append(KindProviderSpec(pid, kind, f"{mock.url}/v1", f"env:{OPENAI_KEY_ENV}", {"*": "deepseek-chat"}))
        else:
            specs.append(KindProviderSpec(pid, kind, f"{mock.url}/v1", f"env:{RESPONSES_KEY_ENV}", {"*": "gpt-5.1-codex"}))
    config = write_config(tmp_path / "switchyard.toml", specs)  # type: ignore[arg-type]
    env = {OPENAI_KEY_ENV: OPENAI_KEY, RESPONSES_KEY_ENV: RESPONSES_KEY}
    return start_switchyard(procs, http, config, mocks, env=env)


def run_codex(yard: Yard, tmp_path: Path, prompt: str = f"Run `echo {MARKER}` and tell me what it printed.",
              model: str | None = MODEL, timeout: float = 45) -> subprocess.CompletedProcess[str]:
    codex = codex_or_skip()
    home = tmp_path / "home"
    codex_home = tmp_path / "codex-home"
    work = tmp_path / "work"
    for d in (home, codex_home, work):
        d.mkdir(parents=True, exist_ok=True)
    # The real setup command writes Codex's config, as a user would run it.
    setup = run_cli(["setup", "codex", "--url", yard.url, "--config", str(yard.config)],
                    env=proxy_env({"CODEX_HOME": str(codex_home), "HOME": str(home)}))
    assert setup.returncode == 0, f"setup codex failed:\n{setup.stdout}\n{setup.stderr}"
    node = shutil.which("node")
    path_dirs = [str(codex.parent)] + ([str(Path(node).parent)] if node else []) + ["/usr/local/bin", "/usr/bin", "/bin"]
    env = {
        "PATH": ":".join(dict.fromkeys(path_dirs)),
        "HOME": str(home),
        "CODEX_HOME": str(codex_home),
        "OPENAI_API_KEY": CODEX_KEY,
        "NO_PROXY": "127.0.0.1,localhost",
        "TERM": "dumb",
    }
    argv = [str(codex), "exec", "--skip-git-repo-check", "--sandbox", "danger-full-access"]
    if model:
        argv += ["--model", model]
    argv.append(prompt)
    # Own process group, so that a timeout kills Codex and anything it spawned.
    p = subprocess.Popen(argv, env=env, cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate(timeout=10)
        pytest.fail(f"codex did not finish within {timeout}s\nstdout:\n{out[-2000:]}\nstderr:\n{err[-3000:]}\n{yard.logs()}")
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


def assert_finished(proc: subprocess.CompletedProcess[str], yard: Yard, text: str = FINAL) -> None:
    assert proc.returncode == 0, f"codex failed (rc={proc.returncode})\nstdout:\n{proc.stdout[-2000:]}\nstderr:\n{proc.stderr[-4000:]}\n{yard.logs()}"
    assert text in proc.stdout, f"stdout:\n{proc.stdout[-2000:]}\nstderr:\n{proc.stderr[-3000:]}"
    # Codex ran the command the model asked for.
    assert MARKER in proc.stderr, proc.stderr[-3000:]


def posts(mock: Mock) -> list[dict[str, Any]]:
    return [q for q in mock.requests(None) if q["method"] == "POST" and not q["path"].startswith("/__mock")]


def test_a_codex_on_an_anthropic_primary(procs, http, tmp_path: Path) -> None:
    yard = make_yard(procs, http, tmp_path, ["anthropic"])
    yard.mocks["p0"].replies(shell_call(), reply_message(FINAL, thinking="The marker came back."))
    proc = run_codex(yard, tmp_path)
    assert_finished(proc, yard)
    got = posts(yard.mocks["p0"])
    assert len(got) == 2, [q["path"] for q in got]
    first, second = got[0]["json"], got[1]["json"]
    assert got[0]["path"] == "/v1/messages"
    assert first["stream"] is True and first["model"] == MODEL
    assert "exec_command" in [t["name"] for t in first["tools"]], "Codex's shell tool reached the provider"
    assert "Codex" in first["system"], "Codex's developer instructions became the system prompt"
    # The round trip: the call and Codex's shell output, as Anthropic tool_use / tool_result.
    calls = [b for m in second["messages"] if m["role"] == "assistant" for b in m["content"] if b["type"] == "tool_use"]
    results = [b for m in second["messages"] if m["role"] == "user" for b in m["content"] if b["type"] == "tool_result"]
    assert [c["id"] for c in calls] == ["call_codex_1"], second["messages"]
    assert results and results[0]["tool_use_id"] == "call_codex_1"
    assert MARKER in json.dumps(results[0]["content"]), results
    # Codex's key is an OpenAI key: it stays away from an Anthropic provider (a passthrough
    # one gets no credential), and so do Codex's telemetry headers.
    assert header(got[0], "authorization") is None and header(got[0], "x-api-key") is None
    assert not any(CODEX_KEY in v for _, v in got[0]["headers"])
    assert not any(k.startswith("x-codex-") for k, _ in got[0]["headers"])


def test_b_codex_after_a_failover_to_an_openai_backup(procs, http, tmp_path: Path) -> None:
    yard = make_yard(procs, http, tmp_path, ["anthropic", "openai"])
    yard.mocks["p0"].default(reply_error(429, "primary is rate limited", headers=[["retry-after", "30"]]))
    yard.mocks["p1"].replies(shell_call(), reply_message(FINAL))
    proc = run_codex(yard, tmp_path)
    assert_finished(proc, yard)
    assert len(posts(yard.mocks["p0"])) == 1, "the cooldown is honoured: one try at the primary"
    back = posts(yard.mocks["p1"])
    assert [q["path"] for q in back] == ["/v1/chat/completions"] * 2
    for q in back:
        assert header(q, "authorization") == f"Bearer {OPENAI_KEY}", "the backup's own key, never Codex's"
        assert q["json"]["model"] == "deepseek-chat"
    tool_msgs = [m for m in back[1]["json"]["messages"] if m["role"] == "tool"]
    assert tool_msgs and MARKER in tool_msgs[0]["content"], back[1]["json"]["messages"][-3:]
    status = yard.health()
    assert status["providers"]["p0"] == "cooling_down", status


def test_c_codex_across_a_failover_in_the_middle_of_the_tool_round_trip(procs, http, tmp_path: Path) -> None:
    yard = make_yard(procs, http, tmp_path, ["anthropic", "openai"])
    yard.mocks["p0"].replies(shell_call(), reply_error(429, "limit reached mid-task", headers=[["retry-after", "30"]]))
    yard.mocks["p1"].replies(reply_message(FINAL))
    proc = run_codex(yard, tmp_path)
    assert_finished(proc, yard)
    assert len(posts(yard.mocks["p0"])) == 2
    back = posts(yard.mocks["p1"])
    assert len(back) == 1
    msgs = back[0]["json"]["messages"]
    # The conversation moved with its tool call and result, paired.
    assistant = [m for m in msgs if m["role"] == "assistant" and m.get("tool_calls")]
    tool = [m for m in msgs if m["role"] == "tool"]
    assert assistant and assistant[-1]["tool_calls"][0]["function"]["name"] == "exec_command", msgs[-3:]
    assert tool and tool[-1]["tool_call_id"] == assistant[-1]["tool_calls"][0]["id"]
    assert MARKER in tool[-1]["content"]
    log = yard.http.get(f"{yard.url}/api/requests").json()["requests"]
    moved = [r for r in log if r["route"] == "responses" and r.get("provider") == "p1"]
    assert moved and any(a.get("status") == 429 for a in moved[0].get("attempts", [])), log


def test_d_codex_to_an_openai_responses_provider_gets_its_own_bytes(procs, http, tmp_path: Path) -> None:
    yard = make_yard(procs, http, tmp_path, ["openai-responses"])
    yard.mocks["p0"].replies(shell_call(), reply_message(FINAL))
    proc = run_codex(yard, tmp_path)
    assert_finished(proc, yard)
    got = posts(yard.mocks["p0"])
    assert [q["path"] for q in got] == ["/v1/responses"] * 2
    first = got[0]["json"]
    # Codex's request as Codex wrote it: only the model is mapped.
    assert first["model"] == "gpt-5.1-codex"
    assert first["store"] is False and first["include"] == ["reasoning.encrypted_content"]
    assert "prompt_cache_key" in first and "client_metadata" in first
    assert any(t.get("type") == "web_search" for t in first.get("tools", [])), "hosted tools pass through"
    assert first["input"][0]["type"] == "message" and first["input"][0]["role"] == "developer"
    assert header(got[0], "authorization") == f"Bearer {RESPONSES_KEY}", "the provider's own key"
    second = got[1]["json"]["input"]
    outputs = [i for i in second if i.get("type") == "function_call_output"]
    assert outputs and outputs[0]["call_id"] == "call_codex_1" and MARKER in json.dumps(outputs[0]["output"])
    # Fields only Codex writes went through as it wrote them (its turn metadata still names the
    # model Codex asked for; only the top-level model is mapped).
    assert MODEL in got[1]["json"]["client_metadata"]["x-codex-turn-metadata"]


def test_e_codex_responses_lite_requests_on_an_anthropic_primary(procs, http, tmp_path: Path) -> None:
    """Codex's default (newer) model family: tools arrive in an `additional_tools` input item,
    and the shell runs through the JavaScript `exec` tool of the `functions` namespace."""
    yard = make_yard(procs, http, tmp_path, ["anthropic"])
    js = f"text(await tools.exec_command({{cmd: 'echo {MARKER}'}}))"
    yard.mocks["p0"].replies(reply_message("", tool_use={"id": "call_js_1", "name": "exec", "input": {"input": js}}),
                             reply_message(FINAL))
    proc = run_codex(yard, tmp_path, model=None)
    assert_finished(proc, yard)
    got = posts(yard.mocks["p0"])
    names = [t["name"] for t in got[0]["json"]["tools"]]
    assert "exec" in names, names
    results = [b for m in got[1]["json"]["messages"] if m["role"] == "user" for b in m["content"] if b["type"] == "tool_result"]
    assert results and results[0]["tool_use_id"] == "call_js_1" and MARKER in json.dumps(results[0]["content"])
