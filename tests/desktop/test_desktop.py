"""The real desktop app end to end: window + web UI + Tauri IPC (WebDriver), tray menu (a real
XEmbed tray host, trayer, driven with xdotool), notifications (dunst on the session bus), the
Secret Service (gnome-keyring), Claude Code's settings, single instance, close-to-tray.

Run: scripts/desktop-session.sh --display .venv/bin/python -m pytest tests/desktop -q
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (BACKUP_TEXT, DOCS, Desk, Procs, header, http, reply_error, require, screenshot,
                      secret_tool, wait_for, windows_named)

KEY = "sk-desktop-e2e-0123456789abcdef"

SETTINGS_ORIGINAL = """{
  "model": "opus",
  "enabledPlugins": {
    "formatter@tools": true
  },
  "hooks": {
    "PreToolUse": [
      {"matcher": "Bash", "hooks": [{"type": "command", "command": "echo checked"}]}
    ]
  },
  "env": {"KEEP_ME": "1"}
}
"""


def js(drv, script: str):
    """Runs an async script; `done(value)` finishes it."""
    return drv.execute_async_script("const done = arguments[arguments.length - 1];\n" + script)


def panel_text(drv, panel: str) -> str:
    return drv.execute_script(f"return document.getElementById('panel-{panel}')?.innerText || ''")


def click(drv, css: str, timeout: float = 10) -> None:
    """Click once the element is there and usable. The UI re-renders live (engine events), so
    the element is looked up again on every try: a handle from before a re-render is stale."""
    from selenium.webdriver.common.by import By

    def attempt() -> bool:
        el = drv.find_element(By.CSS_SELECTOR, css)
        if not (el.is_displayed() and el.is_enabled()):
            return False
        el.click()
        return True

    wait_for(attempt, timeout, f"{css} clicked")


# --------------------------------------------------------------------------------------------
# Window, web UI and the Tauri IPC
# --------------------------------------------------------------------------------------------


def test_window_shows_the_engine_ui_and_the_ui_can_reach_autostart(desk: Desk, webdriver_for) -> None:
    drv = webdriver_for(desk)
    desk.wait_up()
    assert drv.current_url.rstrip("/") == desk.url, "the window loads the engine's own UI"
    wait_for(lambda: "Claude" in panel_text(drv, "status") and "DeepSeek" in panel_text(drv, "status"), 15,
             "live status with both providers")

    # The remote-URL capability lets exactly these two commands through.
    assert js(drv, "window.__TAURI__.core.invoke('get_autostart').then(done, e => done('ERR ' + e))") is False
    assert js(drv, "window.__TAURI__.core.invoke('set_autostart', {enabled: true}).then(done, e => done('ERR ' + e))") is True
    entry = desk.autostart_file.read_text()
    assert "--autostart" in entry and "switchyard-desktop" in entry, entry
    assert js(drv, "window.__TAURI__.core.invoke('get_autostart').then(done)") is True
    assert js(drv, "window.__TAURI__.core.invoke('set_autostart', {enabled: false}).then(done)") is False
    assert not desk.autostart_file.exists()
    # Anything else is refused by the ACL (a plugin command the page was not granted).
    refused = js(drv, "window.__TAURI__.core.invoke('plugin:clipboard-manager|read_text').then(v => done('OK ' + v), e => done('ERR ' + e))")
    assert str(refused).startswith("ERR"), refused


def test_key_entered_in_the_ui_goes_to_the_keychain_and_failover_notifies(
        desk: Desk, webdriver_for, notifications) -> None:
    drv = webdriver_for(desk)
    desk.wait_up()
    wait_for(lambda: "DeepSeek" in panel_text(drv, "status"), 15, "status")

    # The key goes in through the UI's key dialog.
    click(drv, "#tab-providers")
    click(drv, '[data-focus="key-deepseek"]')
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    field = wait_for(lambda: drv.find_element(By.ID, "key-input"), 10, "the key field")
    field.send_keys(KEY + Keys.ENTER)
    found = wait_for(lambda: secret_tool("lookup", "service", "switchyard", "username", "deepseek").stdout, 10,
                     "the key in the Secret Service")
    assert found.strip() == KEY

    # Claude is rate limited: the request is answered by DeepSeek, with the keychain key.
    click(drv, "#tab-status")
    desk.primary.replies(reply_error(429, "rate limited", retry_after=300))
    r = desk.message()
    assert r.status == 200 and BACKUP_TEXT in r.text, r.text
    sent = desk.backup.requests()[-1]
    assert header(sent, "x-api-key") == KEY

    # A real notification on the session bus, in words.
    notifications.wait_for("Switched to DeepSeek", "Claude → DeepSeek: rate limited, retry at")
    if shutil.which("dunstctl"):
        hist = wait_for(lambda: "Switched to DeepSeek" in subprocess.run(
            ["dunstctl", "history"], capture_output=True, text=True, timeout=10).stdout, 10, "dunst's history")
        assert hist

    # The window follows live (no reload): the status now names the backup as serving.
    def hero() -> str:
        return panel_text(drv, "status").split("Providers by priority")[0]

    wait_for(lambda: "DeepSeek" in hero(), 10, "the status panel to show DeepSeek serving")
    time.sleep(0.5)
    screenshot(DOCS / "screenshot-app-full.png")
    subprocess.run(["convert", str(DOCS / "screenshot-app-full.png"), "-crop", "1122x800+0+0", "+repage",
                    str(DOCS / "screenshot-app.png")], check=True)
    (DOCS / "screenshot-app-full.png").unlink()


def test_configure_claude_code_from_the_ui_merges_and_undo_is_byte_exact(desk: Desk, webdriver_for) -> None:
    desk.claude_settings.write_text(SETTINGS_ORIGINAL)
    drv = webdriver_for(desk)
    desk.wait_up()
    click(drv, "#tab-integrations")
    click(drv, "#cc-configure")
    merged = wait_for(lambda: "ANTHROPIC_BASE_URL" in desk.claude_settings.read_text()
                      and json.loads(desk.claude_settings.read_text()), 10, "settings.json to be configured")
    assert merged["env"]["ANTHROPIC_BASE_URL"] == desk.url
    assert merged["env"]["KEEP_ME"] == "1"
    assert merged["enabledPlugins"] == {"formatter@tools": True}
    assert merged["hooks"]["PreToolUse"][0]["hooks"][0]["command"] == "echo checked"
    assert merged["model"] == "opus"
    # Claude (passthrough-free, credential "none") is first: a placeholder token keeps Claude
    # Code from asking for a login.
    assert merged["env"]["ANTHROPIC_AUTH_TOKEN"] == "switchyard"

    click(drv, "#cc-undo")
    wait_for(lambda: desk.claude_settings.read_text() == SETTINGS_ORIGINAL, 10, "the original bytes back")


# --------------------------------------------------------------------------------------------
# The tray (a real XEmbed tray host; Linux delivers no clicks to the app, only menu items)
# --------------------------------------------------------------------------------------------

CODEX_ORIGINAL = '# my Codex settings\nmodel = "gpt-5.1-codex"\n'
GEMINI_ENV_ORIGINAL = "# my gemini settings\nGOOGLE_CLOUD_PROJECT=proj-1\n"

# Menu order for two providers; the first Down key selects the first clickable item.
TRAY_ITEMS = ["Claude", "DeepSeek", "Automatic", "Open Switchyard", "Copy endpoint URL",
              "Configure Claude Code", "Configure Codex CLI", "Configure Gemini CLI",
              "Start at login", "Notify on failover", "Quit"]


def tray_icon_center() -> tuple[int, int]:
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True).stdout
    for line in tree.splitlines():
        if "tray-icon tray app" in line:
            # ... 24x26+0+0  +1255+1
            geo, absolute = line.split()[-2:]
            w, h = (int(v) for v in geo.split("+")[0].split("x"))
            x, y = (int(v) for v in absolute.lstrip("+").split("+"))
            return x + w // 2, y + h // 2
    raise AssertionError("no tray icon embedded")


def tray_choose(item: str, items: list[str] = TRAY_ITEMS) -> None:
    """Opens the tray menu and chooses `item` with the keyboard (`items`: the menu, in order)."""
    x, y = wait_for(tray_icon_center, 10, "the tray icon")
    subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "1"], check=True)
    time.sleep(0.7)
    downs = ["Down"] * (items.index(item) + 1)
    subprocess.run(["xdotool", "key", "--delay", "60", *downs, "Return"], check=True)
    time.sleep(0.5)


def start_trayer(procs: Procs, name: str = "trayer"):
    """A panel with an XEmbed system tray (trayer), at the top left of the screen."""
    return procs.start(name, ["trayer", "--edge", "top", "--align", "left", "--widthtype", "request",
                              "--height", "28", "--transparent", "false", "--tint", "0x2e3440",
                              "--SetDockType", "true"])


@pytest.fixture
def tray_host(procs: Procs):
    require(shutil.which("trayer") is not None and shutil.which("xdotool") is not None,
            "trayer + xdotool missing (apt)")
    subprocess.run(["xsetroot", "-solid", "#3b4252"], check=False)
    return start_trayer(procs)


def test_tray_menu_drives_the_engine_and_autostart_starts_in_the_tray(desk: Desk, procs: Procs, tray_host) -> None:
    desk.claude_settings.write_text(SETTINGS_ORIGINAL)
    app = desk.start_app(procs, "--autostart")
    desk.wait_up()
    wait_for(tray_icon_center, 10, "the tray icon")
    assert windows_named("Switchyard") == [], "--autostart opens no window"

    # Pin DeepSeek, then back to automatic.
    tray_choose("DeepSeek")
    wait_for(lambda: desk.health()["pinned"] == "deepseek", 5, "DeepSeek pinned from the tray")
    tray_choose("Automatic")
    wait_for(lambda: desk.health()["pinned"] is None, 5, "automatic again")

    # "Configure Claude Code" merges; choosing it again (now checked) restores the bytes.
    tray_choose("Configure Claude Code")
    wait_for(lambda: "ANTHROPIC_BASE_URL" in desk.claude_settings.read_text(), 5, "Claude Code configured")
    assert json.loads(desk.claude_settings.read_text())["enabledPlugins"] == {"formatter@tools": True}
    tray_choose("Configure Claude Code")
    wait_for(lambda: desk.claude_settings.read_text() == SETTINGS_ORIGINAL, 5, "settings restored")

    # Codex CLI and Gemini CLI the same way: merged into their own files, then put back.
    home = Path(desk.env["HOME"])
    codex = home / ".codex" / "config.toml"
    codex.parent.mkdir(parents=True)
    codex.write_text(CODEX_ORIGINAL)
    tray_choose("Configure Codex CLI")
    wait_for(lambda: 'model_provider = "switchyard"' in codex.read_text(), 5, "Codex CLI configured")
    assert codex.read_text().startswith(CODEX_ORIGINAL.splitlines()[0])
    tray_choose("Configure Codex CLI")
    wait_for(lambda: codex.read_text() == CODEX_ORIGINAL, 5, "Codex config restored")

    dotenv = home / ".gemini" / ".env"
    dotenv.parent.mkdir(parents=True)
    dotenv.write_text(GEMINI_ENV_ORIGINAL)
    tray_choose("Configure Gemini CLI")
    wait_for(lambda: f"GOOGLE_GEMINI_BASE_URL={desk.url}" in dotenv.read_text(), 5, "Gemini CLI configured")
    assert dotenv.read_text().startswith(GEMINI_ENV_ORIGINAL)
    tray_choose("Configure Gemini CLI")
    wait_for(lambda: dotenv.read_text() == GEMINI_ENV_ORIGINAL, 5, "Gemini CLI files restored")

    # "Notify on failover" is saved into the config file.
    tray_choose("Notify on failover")
    wait_for(lambda: "failover = false" in desk.config_path.read_text(), 5, "notifications.failover saved")

    # On a backup: the tray says so (screenshot of the open menu for the docs).
    secret_tool("store", "--label=e2e", "service", "switchyard", "username", "deepseek", stdin=KEY)
    http("POST", f"{desk.url}/api/keys/refresh", {})
    desk.primary.replies(reply_error(429, "rate limited", retry_after=300))
    assert desk.message().status == 200
    time.sleep(0.5)
    if shutil.which("dunstctl"):
        subprocess.run(["dunstctl", "close-all"], check=False, timeout=10)
    x, y = tray_icon_center()
    subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "1"], check=True)
    time.sleep(1.0)
    full = desk.dir / "tray-full.png"
    screenshot(full)
    subprocess.run(["xdotool", "key", "Escape"], check=True)
    subprocess.run(["convert", str(full), "-crop", "560x380+0+0", "+repage", str(DOCS / "screenshot-tray.png")],
                   check=True)
    # "Quit" ends the app.
    tray_choose("Quit")
    wait_for(lambda: not app.alive(), 10, "the app to quit")
    assert app.popen.returncode == 0


# --------------------------------------------------------------------------------------------
# Lifecycle: close to tray, single instance, errors shown instead of dying
# --------------------------------------------------------------------------------------------


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, name) of every process below `pid`."""
    out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    found: list[tuple[int, str]] = []
    for line in out.splitlines():
        child, name = line.split(None, 1)
        found.append((int(child), name.strip()))
        found.extend(descendants(int(child)))
    return found


def webkit_children(pid: int) -> list[str]:
    return [name for _, name in descendants(pid) if name.startswith("WebKit")]


def test_closing_keeps_running_and_a_second_launch_reopens_the_window(desk: Desk, procs: Procs) -> None:
    app = desk.start_app(procs)
    desk.wait_up()
    win = wait_for(lambda: windows_named("Switchyard"), 15, "the window")
    wait_for(lambda: "WebKitWebProces" in webkit_children(app.pid), 10, "a web process")
    subprocess.run(["xdotool", "windowactivate", "--sync", win[0], "key", "alt+F4"], check=False, timeout=10)
    wait_for(lambda: windows_named("Switchyard") == [], 10, "the window to close")
    time.sleep(1.0)
    assert app.alive(), "closing the window keeps the app in the tray"
    assert desk.health()["status"] == "healthy"
    # Linux: the window lived in its own process; closing it gives all of WebKit's memory back.
    wait_for(lambda: webkit_children(app.pid) == [], 10, "every WebKit process to end")
    assert descendants(app.pid) == [], descendants(app.pid)

    second = desk.start_app(procs, name="second")
    wait_for(lambda: not second.alive(), 15, "the second launch to hand over and exit")
    assert second.popen.returncode == 0
    wait_for(lambda: windows_named("Switchyard"), 15, "the first instance's window again")
    assert app.alive()


def test_a_busy_port_is_shown_not_fatal(desk: Desk, webdriver_for, notifications) -> None:
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", desk.port))
    blocker.listen(1)
    try:
        drv = webdriver_for(desk)
        text = wait_for(lambda: drv.execute_script("return document.body.innerText"), 15, "the error page")
        assert "already in use" in text, text
        assert drv.find_element("id", "error-title").text == "Switchyard could not start"
        notifications.wait_for("Switchyard could not start", "already in use")
    finally:
        blocker.close()


def test_no_display_exits_with_a_clear_message(desk: Desk) -> None:
    from conftest import APP_BIN

    env = {k: v for k, v in desk.env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    r = subprocess.run([str(APP_BIN)], env=env, capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert "no graphical display" in r.stderr and "switchyard serve" in r.stderr, r.stderr
    assert "panicked" not in r.stderr
    # A display that is set but does not exist: also a message, not a panic.
    env["DISPLAY"] = ":987"
    r = subprocess.run([str(APP_BIN)], env=env, capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "cannot open the display" in r.stderr, r.stderr
