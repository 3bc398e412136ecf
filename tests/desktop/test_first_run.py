"""First-run setup in the real window (WebKitGTK through tauri-driver), and what it is for: a new
user with no config goes through setup — Claude Code, DeepSeek as a backup, its key pasted into
the Secret Service, a live test, Claude Code configured in one click — and then the real Claude
Code CLI, using nothing but the settings setup wrote, works through a rate limit on the primary
while a notification says so.

Run: scripts/desktop-session.sh --display .venv/bin/python -m pytest tests/desktop/test_first_run.py -q
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from conftest import (APP_BIN, BACKUP_TEXT, DOCS, ROOT, Desk, http, reply_error, require, screenshot, secret_tool,
                      wait_for)
from test_desktop import click, panel_text

KEY = "sk-first-run-0123456789-LAST"
CLAUDE = ROOT / "tests" / "clients" / "node_modules" / "@anthropic-ai" / "claude-code" / "bin" / "claude.exe"


def text_of(drv, css: str) -> str:
    return drv.execute_script(f"return document.querySelector({json.dumps(css)})?.innerText || ''")


def setup_title(drv) -> str:
    return text_of(drv, "#setup-title")


def run_claude(desk: Desk, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Claude Code as its user runs it: its own key, and whatever its settings.json says."""
    node = shutil.which("node")
    path_dirs = [str(CLAUDE.parent)] + ([str(Path(node).parent)] if node else []) + ["/usr/local/bin", "/usr/bin", "/bin"]
    env = {
        "PATH": ":".join(dict.fromkeys(path_dirs)),
        "HOME": desk.env["HOME"],
        "CLAUDE_CONFIG_DIR": desk.env["CLAUDE_CONFIG_DIR"],
        "ANTHROPIC_API_KEY": "test",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "TERM": "dumb",
    }
    p = subprocess.Popen([str(CLAUDE), "-p", "say hi", "--output-format", "json"], env=env, cwd=desk.env["HOME"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def test_first_run_setup_in_the_window_then_claude_code_rides_out_a_rate_limit(
        first_run_desk: Desk, webdriver_for, notifications) -> None:
    first_run_then_claude_code(first_run_desk, webdriver_for, notifications, APP_BIN)


def first_run_then_claude_code(desk: Desk, webdriver_for, notifications, app: Path) -> None:
    """The whole first hour of a new user, with `app` (a build, or the installed program)."""
    require(CLAUDE.exists(), f"Claude Code CLI missing at {CLAUDE} (scripts/setup-test-deps.sh)")
    assert not desk.config_path.exists()
    drv = webdriver_for(desk, app=app)
    desk.wait_up()
    from selenium.webdriver.common.by import By

    # The window opens on setup: Claude Code is chosen already.
    wait_for(lambda: "Which apps will use Switchyard?" in setup_title(drv), 20, "first-run setup in the window")
    assert drv.execute_script("return document.getElementById('setup-client-claude-code').checked") is True
    click(drv, "#setup-next")

    wait_for(lambda: "Pick a backup or two" in setup_title(drv), 10, "the backups step")
    click(drv, "#setup-preset-deepseek")
    wait_for(lambda: drv.execute_script("return document.getElementById('setup-preset-deepseek').checked"), 5,
             "DeepSeek ticked")
    time.sleep(0.3)  # painted
    # For the docs (docs/screenshot-setup.png with SWITCHYARD_UPDATE_SCREENSHOTS=1).
    screenshot(DOCS / "screenshot-setup-full.png")
    subprocess.run(["convert", str(DOCS / "screenshot-setup-full.png"), "-crop", "1122x800+0+0", "+repage",
                    str(DOCS / "screenshot-setup.png")], check=True)
    (DOCS / "screenshot-setup-full.png").unlink()
    click(drv, "#setup-next")

    wait_for(lambda: "Paste your keys" in setup_title(drv), 10, "the keys step")
    assert desk.config_path.exists(), "the backups step saved the config"

    def type_key() -> bool:
        # Looked up afresh each try: the step re-renders when the key list arrives.
        field = drv.find_element(By.ID, "setup-key-deepseek")
        field.clear()
        field.send_keys(KEY)
        return field.get_attribute("value") == KEY

    wait_for(type_key, 10, "the key typed")
    click(drv, '.setup-key[data-provider="deepseek"] button')
    found = wait_for(lambda: secret_tool("lookup", "service", "switchyard", "username", "deepseek").stdout, 10,
                     "the key in the Secret Service")
    assert found.strip() == KEY
    assert KEY not in desk.config_path.read_text()

    # No internet here: point both providers at the mocks before the live test.
    cfg = http("GET", f"{desk.url}/api/config").json()["config"]
    assert [p["id"] for p in cfg["providers"]] == ["anthropic", "deepseek"]
    cfg["providers"][0]["base_url"] = desk.primary.url
    cfg["providers"][1]["base_url"] = desk.backup.url
    cfg["notifications"] = {**cfg.get("notifications", {}), "min_interval_secs": 0}
    assert http("PUT", f"{desk.url}/api/config", cfg).status == 200
    click(drv, "#setup-next")
    wait_for(lambda: "Reachable, key accepted" in text_of(drv, '#setup-tests [data-provider="deepseek"]'), 15,
             "DeepSeek's live test")

    click(drv, "#setup-next")
    wait_for(lambda: "Connect your apps" in setup_title(drv), 10, "the connect step")
    click(drv, "#setup-connect")
    wait_for(lambda: desk.claude_settings.exists() and "ANTHROPIC_BASE_URL" in desk.claude_settings.read_text(), 10,
             "Claude Code's settings")
    assert json.loads(desk.claude_settings.read_text())["env"]["ANTHROPIC_BASE_URL"] == desk.url
    click(drv, "#setup-next")
    click(drv, "#setup-finish")
    wait_for(lambda: "Providers by priority" in panel_text(drv, "status"), 10, "the Status screen")

    # Claude Code, configured by setup alone, while the primary is rate limited.
    desk.primary.default(reply_error(429, "rate limited", retry_after=300))
    proc = run_claude(desk)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert proc.returncode == 0 and lines, f"claude failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    result = json.loads(lines[-1])
    assert result.get("is_error") is False and BACKUP_TEXT in result.get("result", ""), result
    sent = [q for q in desk.backup.requests() if q["method"] == "POST"]
    assert sent and all(dict((k.lower(), v) for k, v in q["headers"]).get("x-api-key") == KEY for q in sent)
    notifications.wait_for("Switched to DeepSeek", "rate limited")
    # The window follows: DeepSeek serves.
    wait_for(lambda: "DeepSeek" in panel_text(drv, "status").split("Providers by priority")[0], 10,
             "the window to show DeepSeek serving")
