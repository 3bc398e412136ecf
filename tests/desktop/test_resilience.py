"""Nothing the GUI does can take the proxy down: the window process killed, the panel that shows
the tray icon going away and coming back (an XEmbed tray, and a StatusNotifier watcher), the
notification daemon missing, killed or hung — each time the proxy keeps answering, the tray app
keeps running, and the GUI part comes back when its counterpart does.

Run: scripts/desktop-session.sh --display .venv/bin/python -m pytest tests/desktop/test_resilience.py -q
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from conftest import (BACKUP_TEXT, Desk, Procs, reply_error, require, wait_for, windows_named)
from test_desktop import descendants, start_trayer, tray_choose, tray_host, tray_icon_center  # noqa: F401


def serves(desk: Desk) -> bool:
    r = desk.message()
    return r.status == 200


def bus_pid(name: str) -> int | None:
    """The pid of the process owning `name` on the session bus."""
    r = subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus.GetConnectionUnixProcessID", f"string:{name}"],
                       capture_output=True, text=True, timeout=10)
    m = re.search(r"uint32 (\d+)", r.stdout)
    return int(m.group(1)) if m else None


def rate_limit_once(desk: Desk, seconds: int = 1) -> None:
    """The primary answers the next request with a 429 and a short cooldown: one failover."""
    desk.primary.replies(reply_error(429, "rate limited", retry_after=seconds))


def test_killing_the_window_process_leaves_the_proxy_serving(desk: Desk, procs: Procs) -> None:
    app = desk.start_app(procs)
    desk.wait_up()
    wait_for(lambda: windows_named("Switchyard"), 20, "the window")
    window = wait_for(lambda: next((pid for pid, name in descendants(app.pid) if name == "switchyard-wind"), None), 10,
                      "the window process")
    os.kill(window, signal.SIGKILL)
    wait_for(lambda: windows_named("Switchyard") == [], 10, "the window to vanish")
    assert app.alive(), "the tray app outlives its window"
    assert serves(desk)
    # The tray app collects the dead window process (no zombie); its web helpers end with it.
    wait_for(lambda: descendants(app.pid) == [], 15, "the killed window to be reaped")
    # And the next "open" gets a new window.
    second = desk.start_app(procs, name="second")
    wait_for(lambda: not second.alive(), 15, "the second launch to hand over")
    wait_for(lambda: windows_named("Switchyard"), 20, "a new window")
    assert serves(desk)


def test_the_tray_icon_comes_back_with_the_panel(desk: Desk, procs: Procs, tray_host) -> None:
    app = desk.start_app(procs, "--autostart")
    desk.wait_up()
    wait_for(tray_icon_shown, 10, "the tray icon")
    tray_host.stop()  # the panel goes away (a crash, a desktop restart)
    wait_for(lambda: not tray_icon_shown(), 10, "the icon to go with the panel")
    time.sleep(1.0)
    assert app.alive() and serves(desk)
    start_trayer(procs, "trayer-again")
    wait_for(tray_icon_shown, 20, "the icon back in the new panel")
    # The menu works again: pin DeepSeek from it.
    tray_choose("DeepSeek")
    wait_for(lambda: desk.health()["pinned"] == "deepseek", 10, "DeepSeek pinned from the new panel")
    tray_choose("Automatic")
    wait_for(lambda: desk.health()["pinned"] is None, 10, "automatic again")
    assert serves(desk)


def tray_icon_shown() -> bool:
    """Whether a tray icon window of the app is mapped in a panel right now (the window itself
    outlives a panel that dies, unmapped)."""
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True).stdout
    for line in tree.splitlines():
        if "tray-icon tray app" in line:
            wid = line.split()[0]
            info = subprocess.run(["xwininfo", "-id", wid], capture_output=True, text=True).stdout
            if "Map State: IsViewable" in info:
                return True
    return False


def registered_items() -> list[str]:
    """The items the StatusNotifierWatcher knows (gdbus prints `(<['item', ...]>,)`)."""
    r = subprocess.run(["gdbus", "call", "--session", "--dest", "org.kde.StatusNotifierWatcher", "--object-path",
                        "/StatusNotifierWatcher", "--method", "org.freedesktop.DBus.Properties.Get",
                        "org.kde.StatusNotifierWatcher", "RegisteredStatusNotifierItems"],
                       capture_output=True, text=True, timeout=10)
    return re.findall(r"'([^']+)'", r.stdout) if r.returncode == 0 else []


def test_the_tray_icon_registers_again_with_a_new_status_notifier_watcher(desk: Desk, procs: Procs) -> None:
    """GNOME (AppIndicator extension), KDE and most panels host tray icons over D-Bus: the app's
    indicator registers with the StatusNotifierWatcher, and must do so again when the watcher
    restarts (a panel or shell restart)."""
    require(shutil.which("status-notifier-watcher") is not None and shutil.which("gdbus") is not None,
            "status-notifier-watcher missing (apt: haskell-status-notifier-item-utils)")
    watcher = procs.start("sni-watcher", ["status-notifier-watcher"])
    wait_for(lambda: bus_pid("org.kde.StatusNotifierWatcher") == watcher.pid, 10, "the watcher on the bus")
    app = desk.start_app(procs, "--autostart")
    desk.wait_up()
    first = wait_for(registered_items, 15, "the tray icon registered as a StatusNotifierItem")
    watcher.stop()  # the panel's watcher goes away
    time.sleep(1.0)
    assert app.alive() and serves(desk)
    again = procs.start("sni-watcher-again", ["status-notifier-watcher"])
    wait_for(lambda: bus_pid("org.kde.StatusNotifierWatcher") == again.pid, 10, "the new watcher on the bus")
    wait_for(registered_items, 20, f"the tray icon registered again (first: {first})")
    assert serves(desk)


def test_a_notification_daemon_that_dies_or_hangs_costs_only_the_notification(
        desk: Desk, procs: Procs, notifications) -> None:
    require(shutil.which("dunst") is not None, "dunst missing (apt)")
    app = desk.start_app(procs, "--autostart")
    desk.wait_up()
    from conftest import secret_tool

    secret_tool("store", "--label=e2e", "service", "switchyard", "username", "deepseek", stdin="sk-resilience-key")
    rate_limit_once(desk)
    r = desk.message()
    assert r.status == 200 and BACKUP_TEXT in r.text
    notifications.wait_for("Switched to DeepSeek")
    daemon = wait_for(lambda: bus_pid("org.freedesktop.Notifications"), 10, "the notification daemon")

    # It dies: the next notice (Claude back once its cooldown is over) starts it again (D-Bus
    # activation) and is shown.
    os.kill(daemon, signal.SIGKILL)
    wait_for(lambda: bus_pid("org.freedesktop.Notifications") != daemon, 10, "the daemon to be gone")
    time.sleep(1.2)
    assert serves(desk)
    notifications.wait_for("Back on Claude")
    restarted = wait_for(lambda: bus_pid("org.freedesktop.Notifications"), 15, "a new daemon")
    assert restarted != daemon

    # It hangs (stopped): notices wait for it on their own threads, requests do not.
    os.kill(restarted, signal.SIGSTOP)
    try:
        for _ in range(3):
            rate_limit_once(desk)
            for _ in range(2):  # a failover, then (after the cooldown) the recovery
                started = time.monotonic()
                assert serves(desk)
                assert time.monotonic() - started < 3, "a request waited for the notification daemon"
                time.sleep(1.2)
        assert app.alive()
    finally:
        os.kill(restarted, signal.SIGCONT)


def test_no_notification_service_at_all(desk: Desk, procs: Procs, tmp_path: Path) -> None:
    """A session bus with no notification daemon installed (nothing to activate)."""
    conf = tmp_path / "bus.conf"
    sock = tmp_path / "bus"
    conf.write_text(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
""")
    procs.start("bare-bus", ["dbus-daemon", "--nofork", "--nopidfile", f"--config-file={conf}"])
    wait_for(sock.exists, 10, "the bare session bus")
    # Without the session's keychain on this bus, the backup needs no key.
    desk.config_path.write_text(desk.config_path.read_text().replace('credential = "keychain"', 'credential = "none"'))
    env = dict(desk.env, DBUS_SESSION_BUS_ADDRESS=f"unix:path={sock}")
    app = desk.start_app(procs, "--autostart", env=env)
    desk.wait_up()
    for _ in range(3):
        rate_limit_once(desk)
        assert serves(desk)
        time.sleep(1.2)
    app.wait_line(r"cannot show desktop notifications", timeout=15)
    assert app.alive() and serves(desk)
    assert desk.health()["status"] in ("healthy", "degraded")
