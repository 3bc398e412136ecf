"""The Debian package, installed on this machine the way a person installs it: `apt-get install
./switchyard_*.deb`, the CLI on the PATH, the menu entry and the systemd user unit valid, the
installed app started from its menu entry under Xvfb (window and tray icon), start at login
switched on from the tray and the login item run as a session would, then `apt-get remove`:
nothing of the package is left, and the user's home holds only the user's config.

Needs root (it installs a package) and a .deb: make test-package builds one from the debug
binaries and runs this file with SWITCHYARD_DEB set; without it the file is skipped.

Run: SWITCHYARD_DEB=target/debian/switchyard_….deb scripts/desktop-session.sh --display \
     .venv/bin/python -m pytest tests/desktop/test_package.py -q
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from conftest import IN_CI, Procs, free_port, http, require, screenshot, wait_for, windows_named
from test_first_run import first_run_then_claude_code
from test_desktop import TRAY_ITEMS, descendants, tray_choose, tray_host, tray_icon_center  # noqa: F401 (a fixture)

DEB = os.environ.get("SWITCHYARD_DEB", "")
# Skipped on a developer's `pytest tests/desktop`; under CI a missing package is a failure.
pytestmark = pytest.mark.skipif(not DEB and not IN_CI, reason="no package to test: make test-package sets SWITCHYARD_DEB")

DESKTOP_ENTRY = Path("/usr/share/applications/switchyard.desktop")
USER_UNIT = Path("/usr/lib/systemd/user/switchyard.service")


def run(*argv: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, env=env)


def apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return run("apt-get", "-y", "-q", *args, env=env)


def entry_value(path: Path, key: str) -> str:
    for line in path.read_text().splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"no {key}= in {path}")


@pytest.fixture(scope="module")
def installed() -> Iterator[list[str]]:
    """Installs the package; yields the files it installed; removes it whatever happens."""
    require(os.geteuid() == 0, "installing a package needs root")
    require(bool(DEB) and Path(DEB).is_file(), f"no package at SWITCHYARD_DEB={DEB!r}")
    # Left over from a run that stopped half-way.
    run("dpkg", "--purge", "switchyard")
    # Its Depends are what a fresh system must pull; Recommends are left out here so that the
    # test needs no package index (the machine already has every dependency the tests use).
    r = apt_get("install", "--no-install-recommends", str(Path(DEB).resolve()))
    assert r.returncode == 0, r.stdout + r.stderr
    listed = run("dpkg", "-L", "switchyard").stdout.split("\n")
    files = [p for p in listed if p and Path(p).is_file()]
    try:
        yield files
    finally:
        run("dpkg", "--purge", "switchyard")


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """A fresh user: empty home and XDG dirs; the session (display, D-Bus, keyring) as it is."""
    env = dict(os.environ)
    for d in ("home", "config", "data", "cache"):
        (tmp_path / d).mkdir()
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               CLAUDE_CONFIG_DIR=str(tmp_path / "home" / ".claude"), LANG="C.UTF-8",
               # Any free port: another Switchyard may hold 3535 on a shared machine.
               SWITCHYARD_LISTEN=f"127.0.0.1:{free_port()}")
    env.pop("SWITCHYARD_CONFIG", None)
    # The PATH a desktop session has: the installed programs, nothing from the build tree.
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    return env


def test_installs_with_its_dependencies_and_the_cli_is_on_the_path(installed: list[str], home: dict[str, str]) -> None:
    for f in ("/usr/bin/switchyard", "/usr/bin/switchyard-desktop", "/usr/libexec/switchyard/switchyard-window",
              str(DESKTOP_ENTRY), str(USER_UNIT), "/usr/share/icons/hicolor/128x128/apps/switchyard.png",
              "/usr/share/doc/switchyard/copyright"):
        assert f in installed, f"{f} not in the package: {installed}"
    assert shutil.which("switchyard", path=home["PATH"]) == "/usr/bin/switchyard"
    r = run("switchyard", "--version", env=home)
    assert r.returncode == 0 and r.stdout.startswith("switchyard "), r.stdout + r.stderr
    # Every library the programs link is there (dpkg-shlibdeps made Depends from them).
    for f in ("/usr/bin/switchyard", "/usr/bin/switchyard-desktop", "/usr/libexec/switchyard/switchyard-window"):
        ldd = run("ldd", f).stdout
        assert "not found" not in ldd, ldd
    status = run("dpkg", "-s", "switchyard").stdout
    assert "Status: install ok installed" in status
    assert "libayatana-appindicator3-1" in status, "the tray's dlopen'd library is declared"
    # Packed relative relocations need glibc 2.36, which no symbol tells dpkg-shlibdeps.
    if "GLIBC_ABI_DT_RELR" in run("readelf", "-V", "/usr/bin/switchyard").stdout:
        depends = next(l for l in status.splitlines() if l.startswith("Depends:"))
        m = re.search(r"libc6 \(>= ([0-9.]+)\)", depends)
        assert m and tuple(map(int, m.group(1).split("."))) >= (2, 36), depends


def test_the_menu_entry_and_the_user_unit_are_valid(installed: list[str], home: dict[str, str]) -> None:
    r = run("desktop-file-validate", str(DESKTOP_ENTRY))
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr
    assert entry_value(DESKTOP_ENTRY, "Exec") == "switchyard-desktop"
    assert entry_value(DESKTOP_ENTRY, "Icon") == "switchyard"
    if shutil.which("systemd-analyze"):
        r = run("systemd-analyze", "verify", str(USER_UNIT))
        assert r.returncode == 0, r.stdout + r.stderr
    # The unit's command runs the headless engine (here on a free port from the user's config).
    exec_start = shlex.split(entry_value(USER_UNIT, "ExecStart"))
    assert exec_start == ["/usr/bin/switchyard", "serve"]
    cfg = Path(home["XDG_CONFIG_HOME"]) / "switchyard" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(f'listen = "{home["SWITCHYARD_LISTEN"]}"\n\n[[providers]]\nid = "anthropic"\n'
                   'base_url = "https://api.anthropic.com"\ncredential = "passthrough"\n')
    url = f"http://{home['SWITCHYARD_LISTEN']}"
    log = Path(home["HOME"]) / "serve.log"
    with open(log, "wb") as out:
        p = subprocess.Popen(exec_start, env=home, stdout=out, stderr=out)
    try:
        wait_for(lambda: p.poll() is not None or http("GET", f"{url}/v1/health").status == 200, 20,
                 "the headless engine")
        assert p.poll() is None, log.read_text()
    finally:
        p.terminate()
        p.wait(timeout=10)
        log.unlink()


def test_a_new_user_sets_up_the_installed_app_and_claude_code_rides_out_a_rate_limit(
        installed: list[str], first_run_desk, webdriver_for, notifications) -> None:
    """The installed program, first run in its real window, then Claude Code through a 429."""
    first_run_then_claude_code(first_run_desk, webdriver_for, notifications, Path("/usr/bin/switchyard-desktop"))


def home_files(env: dict[str, str]) -> set[str]:
    found = set()
    for key in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        base = Path(env[key])
        for p in base.rglob("*"):
            if p.is_file():
                found.add(f"${key}/{p.relative_to(base)}")
    return found


def test_the_installed_app_runs_from_its_menu_entry_starts_at_login_and_leaves_only_the_config(
        installed: list[str], home: dict[str, str], procs: Procs, tray_host, tmp_path: Path) -> None:
    require(bool(os.environ.get("DISPLAY")), "run inside scripts/desktop-session.sh --display")
    url = f"http://{home['SWITCHYARD_LISTEN']}"
    exec_line = shlex.split(entry_value(DESKTOP_ENTRY, "Exec"))
    app = procs.start("installed-app", exec_line, home)
    wait_for(lambda: http("GET", f"{url}/v1/health").status == 200, 20, "the installed app's engine")
    wait_for(tray_icon_center, 15, "the tray icon")
    wait_for(lambda: windows_named("Switchyard"), 20, "the window")
    # The window is the installed window program, a child of the tray app.
    children = [name for _, name in descendants(app.pid)]
    assert "switchyard-wind" in children, children
    # No config file yet: the window opens on first-run setup.
    assert http("GET", f"{url}/api/config").json()["exists"] is False
    screenshot(tmp_path / "first-run.png")

    # Start at login from the tray: the login item starts the installed program quietly. (The
    # built-in default has one provider, Anthropic, where the tests' configs have two.)
    menu = ["Anthropic", *TRAY_ITEMS[2:]]
    tray_choose("Start at login", menu)
    login_item = Path(home["XDG_CONFIG_HOME"]) / "autostart" / "Switchyard.desktop"
    wait_for(login_item.exists, 10, "the login item")
    r = run("desktop-file-validate", str(login_item))
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr
    assert entry_value(login_item, "Exec") == "/usr/bin/switchyard-desktop --autostart"
    tray_choose("Quit", menu)
    wait_for(lambda: not app.alive(), 15, "the app to quit")
    assert windows_named("Switchyard") == [], "quitting closes the window too"

    # What a session does at login: run the entry's command.
    again = procs.start("login-item", shlex.split(entry_value(login_item, "Exec")), home)
    wait_for(lambda: http("GET", f"{url}/v1/health").status == 200, 20, "the engine started at login")
    wait_for(tray_icon_center, 15, "the tray icon")
    assert windows_named("Switchyard") == [], "started at login: no window"
    again.popen.terminate()
    again.popen.wait(timeout=15)
    assert again.popen.returncode == 0, "SIGTERM ends it cleanly"

    # Remove: none of the package's files stays; the home holds the user's config only.
    r = apt_get("remove", "switchyard")
    assert r.returncode == 0, r.stdout + r.stderr
    left = [f for f in installed if Path(f).exists()]
    assert left == [], left
    assert "install ok installed" not in run("dpkg", "-s", "switchyard").stdout
    assert shutil.which("switchyard", path=home["PATH"]) is None
    allowed = ("$XDG_CONFIG_HOME/switchyard/", "$XDG_CONFIG_HOME/autostart/Switchyard.desktop")
    stray = sorted(f for f in home_files(home) if not f.startswith(allowed))
    assert stray == [], f"files the app left outside the user's config: {stray}"
