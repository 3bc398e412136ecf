"""The real Claude Code CLI (tests/clients/node_modules/.bin/claude) through switchyard.

Installed by scripts/setup-test-deps.sh (npm ci from package-lock.json). Skipped when missing on a
developer machine; under CI=true a missing CLI fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import (
    BACKUP_KEY,
    BACKUP_TEXT,
    BACKUP_UPSTREAM_MODEL,
    IN_CI,
    Yard,
    header,
    reply_error,
)

CLAUDE = Path(__file__).resolve().parent / "node_modules" / "@anthropic-ai" / "claude-code" / "bin" / "claude.exe"
# The newest release as well (package.json: `claude-code-latest`, an npm alias), so that a
# change in what Claude Code sends shows up here before users meet it.
CLAUDE_LATEST = Path(__file__).resolve().parent / "node_modules" / "claude-code-latest" / "bin" / "claude.exe"
CLIENT_KEY = "test"  # what Claude Code sends (ANTHROPIC_API_KEY)


def claude_or_skip(claude: Path = CLAUDE) -> Path:
    if claude.exists() and os.access(claude, os.X_OK):
        return claude
    reason = f"Claude Code CLI not installed at {claude} (run scripts/setup-test-deps.sh)"
    if IN_CI:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def run_claude(yard: Yard, home: Path, prompt: str = "say hi", timeout: float = 45,
               binary: Path = CLAUDE) -> subprocess.CompletedProcess[str]:
    claude = claude_or_skip(binary)
    home.mkdir(parents=True, exist_ok=True)
    node = shutil.which("node")
    path_dirs = [str(claude.parent)] + ([str(Path(node).parent)] if node else []) + ["/usr/local/bin", "/usr/bin", "/bin"]
    env = {
        "PATH": ":".join(dict.fromkeys(path_dirs)),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": yard.url,
        "ANTHROPIC_API_KEY": CLIENT_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "TERM": "dumb",
    }
    argv = [str(claude), "-p", prompt, "--output-format", "json"]
    # Own process group, so that a timeout kills Claude Code and anything it spawned.
    p = subprocess.Popen(argv, env=env, cwd=home, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate(timeout=10)
        pytest.fail(f"claude did not finish within {timeout}s\nstdout:\n{out[-2000:]}\nstderr:\n{err[-2000:]}")
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # stragglers of a finished run
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


def parse_result(proc: subprocess.CompletedProcess[str]) -> dict:
    # --output-format json prints one JSON object (the last non-empty stdout line).
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert lines, f"claude printed nothing (rc={proc.returncode})\nstderr:\n{proc.stderr[-3000:]}"
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        pytest.fail(f"claude output is not JSON:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")


@pytest.mark.parametrize("binary", [CLAUDE, CLAUDE_LATEST], ids=["pinned", "latest"])
def test_claude_code_fails_over_to_backup(yard: Yard, tmp_path: Path, binary: Path) -> None:
    claude_or_skip(binary)
    # Every attempt Claude Code makes at the primary is rate limited.
    yard.primary.default(reply_error(429, "primary is rate limited", headers=[["retry-after", "30"]]))

    proc = run_claude(yard, tmp_path / "home", binary=binary)
    out = parse_result(proc)
    assert proc.returncode == 0, f"claude failed: {out}\nstderr:\n{proc.stderr[-3000:]}\n{yard.logs()}"
    assert out.get("is_error") is False, out
    assert BACKUP_TEXT in out.get("result", ""), out

    # The real request reached the backup, with the backup's key and not the client's.
    back = [q for q in yard.backup.requests() if q["method"] == "POST" and q["path"] == "/v1/messages"]
    assert back, f"no POST /v1/messages reached the backup: {[q['path'] for q in yard.backup.requests(None)]}"
    main = max(back, key=lambda q: len(q["body"]))
    body = main["json"]
    assert len(main["body"]) > 20_000, f"expected Claude Code's big request, got {len(main['body'])} bytes"
    assert body.get("stream") is True
    assert body.get("tools"), "Claude Code's tools were dropped"
    assert "beta=true" in (main.get("query") or ""), f"query lost: {main.get('query')!r}"
    assert header(main, "anthropic-beta"), "anthropic-beta header was not forwarded"
    assert header(main, "anthropic-version")
    assert body.get("model") == BACKUP_UPSTREAM_MODEL
    for q in back:
        assert header(q, "x-api-key") == BACKUP_KEY, f"backup got x-api-key={header(q, 'x-api-key')!r}"
        auth = header(q, "authorization") or ""
        assert CLIENT_KEY not in auth.split(), f"client credential leaked as authorization: {auth!r}"

    # The primary (passthrough) was tried with Claude Code's own key, then cooled down.
    prim = [q for q in yard.primary.requests() if q["method"] == "POST"]
    assert prim, "the primary was never tried"
    assert header(prim[0], "x-api-key") == CLIENT_KEY
    # Claude Code 2.1 sends one POST for `-p "say hi"`: one attempt at the primary, one at the backup.
    assert len(prim) == 1, f"primary got {len(prim)} POSTs (cooldown not honoured or retried in-proxy)"
    assert len(back) == 1, f"backup got {len(back)} POSTs"
