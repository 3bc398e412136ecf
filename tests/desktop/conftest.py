"""Fixtures for the desktop end-to-end tests: the real Switchyard app (Tauri) under Xvfb, driven
through tauri-driver + WebKitWebDriver, with two switchyard-mock upstreams, the real Secret
Service (gnome-keyring) and a real notification daemon (dunst), all from
scripts/desktop-session.sh --display.

Binaries: SWITCHYARD_DESKTOP_BIN (default target/debug/switchyard-desktop),
SWITCHYARD_MOCK_BIN (default target/debug/switchyard-mock), TAURI_DRIVER (default
.tools/bin/tauri-driver).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP_BIN = Path(os.environ.get("SWITCHYARD_DESKTOP_BIN", ROOT / "target/debug/switchyard-desktop"))
MOCK_BIN = Path(os.environ.get("SWITCHYARD_MOCK_BIN", ROOT / "target/debug/switchyard-mock"))
TAURI_DRIVER = Path(os.environ.get("TAURI_DRIVER", ROOT / ".tools/bin/tauri-driver"))
# The committed screenshots change only when asked (SWITCHYARD_UPDATE_SCREENSHOTS=1); otherwise
# they go to a scratch folder so a test run leaves the checkout clean.
DOCS = ROOT / "docs" if os.environ.get("SWITCHYARD_UPDATE_SCREENSHOTS") == "1" else Path(tempfile.gettempdir()) / "switchyard-desktop-shots"
DOCS.mkdir(parents=True, exist_ok=True)
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")

PRIMARY_TEXT = "Hello from Claude mock"
BACKUP_TEXT = "Hello from DeepSeek mock"


def require(ok: bool, reason: str) -> None:
    if ok:
        return
    if IN_CI:
        pytest.fail(f"prerequisite missing under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def wait_for(pred: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------
# HTTP (stdlib, never through a proxy)
# --------------------------------------------------------------------------------------------

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Resp:
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Resp:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with _opener.open(req, timeout=15) as r:
            return Resp(r.status, r.read().decode(errors="replace"))
    except urllib.error.HTTPError as e:
        return Resp(e.code, e.read().decode(errors="replace"))


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


class Proc:
    """A child in its own process group; output in files."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None):
        self.name = name
        self.out_path = log_dir / f"{name}.out"
        self.err_path = log_dir / f"{name}.err"
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                      env=env, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.out_path.read_text(errors="replace") + self.err_path.read_text(errors="replace")

    def wait_line(self, pattern: str, timeout: float = 15) -> re.Match[str]:
        rx = re.compile(pattern)

        def find() -> re.Match[str] | None:
            m = rx.search(self.output())
            if m is None and self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.popen.returncode}):\n{self.output()[-3000:]}")
            return m

        return wait_for(find, timeout, f"/{pattern}/ from {self.name}")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> int | None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._out.close()
        self._err.close()
        return self.popen.returncode


class Procs:
    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.all: list[Proc] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        p = Proc(name, argv, self.log_dir, env)
        self.all.append(p)
        return p

    def stop_all(self) -> None:
        for p in reversed(self.all):
            p.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.output()[-4000:]}" for p in self.all)


@pytest.fixture
def procs(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Procs]:
    group = Procs(tmp_path)
    yield group
    group.stop_all()
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(group.logs())


# --------------------------------------------------------------------------------------------
# Mocks, config, the app's environment
# --------------------------------------------------------------------------------------------


class Mock:
    def __init__(self, proc: Proc, url: str):
        self.proc = proc
        self.url = url

    def replies(self, *replies: dict[str, Any]) -> None:
        assert http("POST", f"{self.url}/__mock/replies", list(replies)).status == 200

    def default(self, reply: dict[str, Any]) -> None:
        assert http("PUT", f"{self.url}/__mock/default", reply).status == 200

    def requests(self) -> list[dict[str, Any]]:
        return [r for r in http("GET", f"{self.url}/__mock/requests").json() if r["path"].startswith("/v1/messages")]


def reply_message(text: str) -> dict[str, Any]:
    return {"status": 200, "body": {"type": "message", "text": text}}


def reply_error(status: int, message: str, retry_after: int | None = None) -> dict[str, Any]:
    headers = [["retry-after", str(retry_after)]] if retry_after is not None else []
    return {"status": status, "headers": headers, "body": {"type": "error", "message": message}}


def header(req: dict[str, Any], name: str) -> str | None:
    for k, v in req["headers"]:
        if k.lower() == name:
            return v
    return None


@dataclass
class Desk:
    """One app's world: its env (temp XDG dirs, CLAUDE_CONFIG_DIR), config and mocks."""

    dir: Path
    env: dict[str, str]
    port: int
    primary: Mock
    backup: Mock

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return Path(self.env["XDG_CONFIG_HOME"]) / "switchyard" / "config.toml"

    @property
    def claude_settings(self) -> Path:
        return Path(self.env["CLAUDE_CONFIG_DIR"]) / "settings.json"

    @property
    def autostart_file(self) -> Path:
        # $XDG_CONFIG_HOME/autostart (~/.config/autostart by default), as the XDG spec says.
        return Path(self.env["XDG_CONFIG_HOME"]) / "autostart" / "Switchyard.desktop"

    def health(self) -> dict[str, Any]:
        return http("GET", f"{self.url}/v1/health").json()

    def message(self, text: str = "hi") -> Resp:
        return http("POST", f"{self.url}/v1/messages", {
            "model": "claude-sonnet-4-5", "max_tokens": 64,
            "messages": [{"role": "user", "content": text}],
        }, {"anthropic-version": "2023-06-01"})

    def wait_up(self, timeout: float = 20) -> None:
        wait_for(lambda: http("GET", f"{self.url}/v1/health").status == 200, timeout, "the engine to answer")

    def start_app(self, procs: Procs, *args: str, name: str = "app", env: dict[str, str] | None = None) -> Proc:
        return procs.start(name, [str(APP_BIN), *args], env or self.env)


def start_mock(procs: Procs, name: str) -> Mock:
    p = procs.start(name, [str(MOCK_BIN)])
    m = p.wait_line(r"listening on (http://[0-9.]+:\d+)")
    return Mock(p, m.group(1))


def secret_tool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["secret-tool", *args], input=stdin, capture_output=True, text=True, timeout=15)


def make_desk(tmp_path: Path, procs: Procs, *, write_config: bool = True) -> Desk:
    require(os.environ.get("SWITCHYARD_DESKTOP_SESSION") == "1" and bool(os.environ.get("DISPLAY")),
            "run inside scripts/desktop-session.sh --display")
    require(APP_BIN.exists(), f"{APP_BIN} not built (cargo build -p switchyard-desktop)")
    require(MOCK_BIN.exists(), f"{MOCK_BIN} not built (cargo build -p switchyard-mock)")
    # A previous test's app still holding the single-instance name would swallow this launch.
    wait_for(lambda: not app_pids(), 15, "earlier app instances to exit")
    primary = start_mock(procs, "mock-claude")
    backup = start_mock(procs, "mock-deepseek")
    primary.default(reply_message(PRIMARY_TEXT))
    backup.default(reply_message(BACKUP_TEXT))
    env = dict(os.environ)
    for d in ("home", "config", "data", "cache", "claude"):
        (tmp_path / d).mkdir()
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CACHE_HOME=str(tmp_path / "cache"), CLAUDE_CONFIG_DIR=str(tmp_path / "claude"),
               LANG="C.UTF-8", RUST_LOG="info,switchyard_desktop=debug")
    env.pop("SWITCHYARD_CONFIG", None)
    # Codex CLI and Gemini CLI look here before HOME: keep them in the temp home.
    env.pop("CODEX_HOME", None)
    env.pop("GEMINI_CLI_HOME", None)
    port = free_port()
    d = Desk(tmp_path, env, port, primary, backup)
    d.config_path.parent.mkdir(parents=True)
    secret_tool("clear", "service", "switchyard", "username", "deepseek")
    if not write_config:
        # A first run: no config file; the port comes from the environment instead.
        env["SWITCHYARD_LISTEN"] = f"127.0.0.1:{port}"
        return d
    d.config_path.write_text(f"""# desktop e2e
listen = "127.0.0.1:{port}"

[notifications]
min_interval_secs = 0

[[providers]]
id = "claude"
name = "Claude"
base_url = "{primary.url}"
credential = "none"

[[providers]]
id = "deepseek"
name = "DeepSeek"
base_url = "{backup.url}"
credential = "keychain"
""")
    return d


@pytest.fixture
def desk(tmp_path: Path, procs: Procs) -> Desk:
    """An app's world with a config: Claude (no key) first, DeepSeek (keychain) as the backup."""
    return make_desk(tmp_path, procs)


@pytest.fixture
def first_run_desk(tmp_path: Path, procs: Procs) -> Desk:
    """An app's world with no config file yet (the mocks are there to point providers at)."""
    return make_desk(tmp_path, procs, write_config=False)


# --------------------------------------------------------------------------------------------
# Notifications seen on the session bus
# --------------------------------------------------------------------------------------------


class NotifyWatch:
    def __init__(self, proc: Proc):
        self.proc = proc

    def text(self) -> str:
        return self.proc.output()

    def wait_for(self, *needles: str, timeout: float = 15) -> str:
        return wait_for(lambda: all(n in self.text() for n in needles) and self.text(), timeout,
                        f"a Notify call with {needles}")


@pytest.fixture
def notifications(procs: Procs) -> NotifyWatch:
    require(shutil.which("dbus-monitor") is not None, "dbus-monitor missing (apt: dbus)")
    p = procs.start("dbus-monitor", ["dbus-monitor", "--session",
                                     "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"])
    wait_for(lambda: "NameAcquired" in p.output() or "member=Notify" in p.output() or p.output(), 5,
             "dbus-monitor to attach", every=0.05)
    time.sleep(0.3)
    return NotifyWatch(p)


# --------------------------------------------------------------------------------------------
# WebDriver (tauri-driver + WebKitWebDriver)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def webdriver_for(procs: Procs, request: pytest.FixtureRequest):
    """Returns start(desk, *args, app=APP_BIN) -> a selenium driver attached to a freshly launched
    app (`app`: the program tauri-driver starts, e.g. the installed one)."""
    require(TAURI_DRIVER.exists(), f"{TAURI_DRIVER} missing (make test-desktop installs it)")
    require(shutil.which("WebKitWebDriver") is not None, "WebKitWebDriver missing (apt: webkit2gtk-driver)")
    from selenium import webdriver
    from selenium.webdriver.common.options import ArgOptions

    drivers: list[Any] = []

    def session(desk: Desk, args: tuple[str, ...], attempt: int, app: Path) -> Any:
        port, native = free_port(), free_port()
        drv = procs.start(f"tauri-driver-{attempt}",
                          [str(TAURI_DRIVER), "--port", str(port), "--native-port", str(native)], desk.env)
        wait_for(lambda: http("GET", f"http://127.0.0.1:{port}/status").status == 200, 10, "tauri-driver")
        opts = ArgOptions()
        opts.set_capability("browserName", "wry")
        opts.set_capability("tauri:options", {"application": str(app), "args": list(args)})
        try:
            return webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=opts)
        except Exception:
            drv.stop()
            raise

    def start(desk: Desk, *args: str, app: Path = APP_BIN) -> Any:
        # WebKitWebDriver occasionally is not listening yet when the first session request
        # arrives: one more try with fresh ports.
        try:
            d = session(desk, args, 1, app)
        except Exception:  # noqa: BLE001
            wait_for(lambda: not app_pids(), 10, "the failed launch to exit")
            d = session(desk, args, 2, app)
        d.set_script_timeout(10)
        drivers.append(d)
        return d

    yield start
    for d in drivers:
        try:
            d.quit()
        except Exception:  # noqa: BLE001 - the app may be gone already
            pass


def screenshot(path: Path) -> None:
    """The whole X screen (window, tray, open menus) as a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["import", "-window", "root", str(path)], check=True, timeout=20)


def app_pids(name: str = "switchyard-deskt") -> list[int]:
    # pgrep -x matches the 15-character process name.
    out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def windows_named(name: str) -> list[str]:
    r = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", f"^{name}$"], capture_output=True,
                       text=True)
    return r.stdout.split()
