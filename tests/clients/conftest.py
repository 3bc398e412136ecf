"""Fixtures for the real-client tests: switchyard-mock upstreams + a switchyard proxy in front.

Every process is started per test in its own process group, with its output in a log file under
the test's tmp dir, and is killed (TERM, then KILL) on teardown. Binaries come from
SWITCHYARD_BIN / SWITCHYARD_MOCK_BIN, defaulting to <repo>/target/debug/{switchyard,switchyard-mock}.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import urllib.error
import urllib.request

import pytest

ROOT = Path(__file__).resolve().parents[2]
SWITCHYARD_BIN = Path(os.environ.get("SWITCHYARD_BIN", ROOT / "target/debug/switchyard"))
MOCK_BIN = Path(os.environ.get("SWITCHYARD_MOCK_BIN", ROOT / "target/debug/switchyard-mock"))
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
IN_DESKTOP_SESSION = os.environ.get("SWITCHYARD_DESKTOP_SESSION") == "1"

# What the client sends and what the proxy must use instead on keyed providers.
CLIENT_KEY = "sk-client-must-not-leak-0001"
BACKUP_ENV_VAR = "SWITCHYARD_TEST_BACKUP_KEY"
BACKUP_KEY = "sk-backup-from-env-0002"
PRIMARY_TEXT = "Hello from primary"
BACKUP_TEXT = "Hello from backup"
THIRD_TEXT = "Hello from third"
BACKUP_UPSTREAM_MODEL = "backup-model"

START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
HTTP_TIMEOUT = 10.0


def require(condition: bool, reason: str) -> None:
    """A missing prerequisite: skip on a developer machine, fail under CI=true."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"prerequisite missing under CI: {reason}", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------------------------
# A tiny HTTP client for control/admin calls (stdlib only; never goes through a proxy)
# --------------------------------------------------------------------------------------------


@dataclass
class Resp:
    status_code: int
    text: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.text)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}: {self.text[:500]}")


class Http:
    def __init__(self, timeout: float = HTTP_TIMEOUT):
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def request(self, method: str, url: str, json_body: Any = None) -> Resp:
        data = None if json_body is None else json.dumps(json_body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        try:
            with self._opener.open(req, timeout=self.timeout) as r:
                return Resp(r.status, r.read().decode(errors="replace"), {k.lower(): v for k, v in r.headers.items()})
        except urllib.error.HTTPError as e:
            return Resp(e.code, e.read().decode(errors="replace"), {k.lower(): v for k, v in e.headers.items()})

    def get(self, url: str) -> Resp:
        return self.request("GET", url)

    def post(self, url: str, json: Any = None) -> Resp:
        return self.request("POST", url, {} if json is None else json)

    def put(self, url: str, json: Any = None) -> Resp:
        return self.request("PUT", url, json)


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


class Proc:
    """A child process whose stdout/stderr go to files; waits for a 'listening on URL' line."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None):
        self.name = name
        self.argv = argv
        self.stdout_path = log_dir / f"{name}.stdout"
        self.stderr_path = log_dir / f"{name}.stderr"
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
            env=env,
            start_new_session=True,  # own process group: teardown kills whatever it spawned
        )

    def wait_for_line(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match[str]:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.stdout_path.read_text(errors="replace")
            for line in text.splitlines():
                m = rx.search(line)
                if m:
                    return m
            if self.popen.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.popen.returncode} before printing /{pattern}/\n"
                    + self.logs()
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} printed no /{pattern}/ within {timeout}s\n" + self.logs())
            time.sleep(0.02)

    def logs(self, limit: int = 4000) -> str:
        out = self.stdout_path.read_text(errors="replace")[-limit:]
        err = self.stderr_path.read_text(errors="replace")[-limit:]
        return f"--- {self.name} stdout ---\n{out}\n--- {self.name} stderr ---\n{err}"

    def stop(self) -> int | None:
        """SIGTERM the process group, wait, then SIGKILL. Returns the exit code."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left in the group (the process itself, or anything it spawned) is killed.
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        self._out.close()
        self._err.close()
        return self.popen.returncode


class ProcGroup:
    """Everything one test started; stopped in reverse order on teardown."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.procs: list[Proc] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        proc = Proc(name, argv, self.log_dir, env)
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(p.logs() for p in self.procs)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


@pytest.fixture
def procs(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ProcGroup]:
    group = ProcGroup(tmp_path)
    yield group
    group.stop_all()
    # On failure, show what the processes said.
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(group.logs())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


# --------------------------------------------------------------------------------------------
# switchyard-mock
# --------------------------------------------------------------------------------------------


def reply_message(text: str, **extra: Any) -> dict[str, Any]:
    return {"status": 200, "body": {"type": "message", "text": text, **extra}}


def reply_error(status: int, message: str, headers: list[list[str]] | None = None,
                error_type: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "error", "message": message}
    if error_type:
        body["error_type"] = error_type
    return {"status": status, "headers": headers or [], "body": body}


def reply_inband_error(error_type: str = "overloaded_error", message: str = "Overloaded") -> dict[str, Any]:
    """200 + text/event-stream whose FIRST event is `event: error` (what Anthropic sends when it
    overloads after the headers)."""
    return {
        "status": 200,
        "body": {
            "type": "sse",
            "steps": [
                {
                    "type": "event",
                    "event": "error",
                    "data": {"type": "error", "error": {"type": error_type, "message": message}},
                }
            ],
        },
    }


@dataclass
class Mock:
    name: str
    url: str
    proc: Proc
    http: Http = field(repr=False)

    def replies(self, *replies: dict[str, Any]) -> None:
        """Queue replies (FIFO; each upstream request consumes one)."""
        r = self.http.post(f"{self.url}/__mock/replies", json=list(replies))
        r.raise_for_status()

    def default(self, reply: dict[str, Any]) -> None:
        """The reply used when the queue is empty."""
        r = self.http.put(f"{self.url}/__mock/default", json=reply)
        r.raise_for_status()

    def requests(self, path_prefix: str | None = "/v1/messages") -> list[dict[str, Any]]:
        """Recorded requests (only those whose path starts with path_prefix, unless None)."""
        r = self.http.get(f"{self.url}/__mock/requests")
        r.raise_for_status()
        reqs = r.json()
        if path_prefix is not None:
            reqs = [q for q in reqs if q["path"].startswith(path_prefix)]
        return reqs

    def clear(self) -> None:
        self.http.post(f"{self.url}/__mock/clear").raise_for_status()

    def stats(self) -> dict[str, Any]:
        r = self.http.get(f"{self.url}/__mock/stats")
        r.raise_for_status()
        return r.json()


def header(req: dict[str, Any], name: str) -> str | None:
    """The (first) value of a recorded request's header; names are lowercase."""
    for k, v in req["headers"]:
        if k == name.lower():
            return v
    return None


def header_values(req: dict[str, Any]) -> list[str]:
    return [v for _, v in req["headers"]]


def start_mock(procs: ProcGroup, name: str, http: Http) -> Mock:
    require(MOCK_BIN.exists(), f"{MOCK_BIN} not built (cargo build -p switchyard-mock)")
    proc = procs.start(name, [str(MOCK_BIN), "--listen", "127.0.0.1:0"])
    m = proc.wait_for_line(r"listening on (http://127\.0\.0\.1:\d+)")
    return Mock(name=name, url=m.group(1), proc=proc, http=http)


@pytest.fixture
def http() -> Http:
    return Http()


# --------------------------------------------------------------------------------------------
# switchyard
# --------------------------------------------------------------------------------------------


def toml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string literal is a valid TOML basic string


@dataclass
class ProviderSpec:
    id: str
    base_url: str
    credential: str  # "passthrough" | "keychain" | "env:VAR"
    models: dict[str, str] | None = None

    def toml(self) -> str:
        lines = [
            "[[providers]]",
            f"id = {toml_str(self.id)}",
            'kind = "anthropic"',
            f"base_url = {toml_str(self.base_url)}",
            f"credential = {toml_str(self.credential)}",
        ]
        if self.models:
            lines.append("[providers.models]")
            lines += [f"{toml_str(k)} = {toml_str(v)}" for k, v in self.models.items()]
        return "\n".join(lines) + "\n"


def write_config(path: Path, providers: list[ProviderSpec]) -> Path:
    text = 'listen = "127.0.0.1:0"\n\n[routing]\nstrategy = "failover"\n\n'
    text += "\n".join(p.toml() for p in providers)
    path.write_text(text)
    return path


def proxy_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # The proxy must never reach a real upstream through an inherited proxy setting.
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(k, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.setdefault("RUST_LOG", "info")
    env.setdefault("NO_COLOR", "1")  # plain log files
    if extra:
        env.update(extra)
    return env


@dataclass
class Yard:
    """A running switchyard in front of its mocks."""

    url: str
    config: Path
    proc: Proc
    mocks: dict[str, Mock]
    http: Http = field(repr=False)

    @property
    def primary(self) -> Mock:
        return self.mocks["primary"]

    @property
    def backup(self) -> Mock:
        return self.mocks["backup"]

    def health(self) -> dict[str, Any]:
        r = self.http.get(f"{self.url}/v1/health")
        r.raise_for_status()
        return r.json()

    def switch(self, provider: str) -> Resp:
        return self.http.post(f"{self.url}/v1/switch-provider", json={"provider": provider})

    def logs(self) -> str:
        return self.proc.logs()


def run_cli(args: list[str], *, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 20) -> subprocess.CompletedProcess[str]:
    require(SWITCHYARD_BIN.exists(), f"{SWITCHYARD_BIN} not built (cargo build -p switchyard-cli)")
    return subprocess.run(
        [str(SWITCHYARD_BIN), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else proxy_env(),
    )


def start_switchyard(procs: ProcGroup, http: Http, config: Path, mocks: dict[str, Mock],
                     env: dict[str, str] | None = None) -> Yard:
    require(SWITCHYARD_BIN.exists(), f"{SWITCHYARD_BIN} not built (cargo build -p switchyard-cli)")
    proc = procs.start(
        "switchyard",
        [str(SWITCHYARD_BIN), "serve", "--config", str(config), "--listen", "127.0.0.1:0"],
        env=proxy_env(env),
    )
    m = proc.wait_for_line(r"switchyard listening on (http://127\.0\.0\.1:\d+)")
    return Yard(url=m.group(1), config=config, proc=proc, mocks=mocks, http=http)


YardFactory = Callable[..., Yard]


@pytest.fixture
def make_yard(procs: ProcGroup, http: Http, tmp_path: Path) -> YardFactory:
    """make_yard(backup_credential=..., third=False) -> Yard.

    primary: passthrough (gets the client's credential), answers PRIMARY_TEXT by default.
    backup: `env:SWITCHYARD_TEST_BACKUP_KEY` (= BACKUP_KEY) unless told otherwise, maps every model
            to BACKUP_UPSTREAM_MODEL, answers BACKUP_TEXT by default.
    third (optional): passthrough, answers THIRD_TEXT.
    """

    def factory(backup_credential: str = f"env:{BACKUP_ENV_VAR}", third: bool = False,
                env: dict[str, str] | None = None) -> Yard:
        mocks = {"primary": start_mock(procs, "mock-primary", http),
                 "backup": start_mock(procs, "mock-backup", http)}
        mocks["primary"].default(reply_message(PRIMARY_TEXT))
        mocks["backup"].default(reply_message(BACKUP_TEXT))
        specs = [
            ProviderSpec("primary", mocks["primary"].url, "passthrough"),
            ProviderSpec("backup", mocks["backup"].url, backup_credential, {"*": BACKUP_UPSTREAM_MODEL}),
        ]
        if third:
            mocks["third"] = start_mock(procs, "mock-third", http)
            mocks["third"].default(reply_message(THIRD_TEXT))
            specs.append(ProviderSpec("third", mocks["third"].url, "passthrough"))
        config = write_config(tmp_path / "switchyard.toml", specs)
        check = run_cli(["check", "--config", str(config)])
        assert check.returncode == 0, f"switchyard check rejected our config:\n{check.stderr}\n{config.read_text()}"
        return start_switchyard(procs, http, config, mocks, env={BACKUP_ENV_VAR: BACKUP_KEY, **(env or {})})

    return factory


@pytest.fixture
def yard(make_yard: YardFactory) -> Yard:
    return make_yard()


# --------------------------------------------------------------------------------------------
# Translated providers (kind = "openai" / "gemini"), for test_translated.py
# --------------------------------------------------------------------------------------------

# Vendor keys the proxy reads from the environment; the client's key must never reach a vendor.
OPENAI_KEY_ENV = "SWITCHYARD_TEST_DS_KEY"
OPENAI_KEY = "sk-deepseek-vendor-0003"
GEMINI_KEY_ENV = "SWITCHYARD_TEST_GM_KEY"
GEMINI_KEY = "AIza-gemini-vendor-0004"
OPENAI_UPSTREAM_MODEL = "deepseek-chat"
GEMINI_UPSTREAM_MODEL = "gemini-2.5-pro"
OPENAI_TEXT = "Hello from the openai vendor"
GEMINI_TEXT = "Hello from the gemini vendor"


def toml_value(v: Any) -> str:
    """A TOML literal for a str / bool / int (the only quirk value types)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return toml_str(str(v))


@dataclass
class KindProviderSpec:
    """A provider of any kind, with optional quirks. Has the same `toml()` as ProviderSpec, so
    write_config() takes either."""

    id: str
    kind: str  # "anthropic" | "openai" | "gemini"
    base_url: str
    credential: str
    models: dict[str, str] | None = None
    quirks: dict[str, Any] | None = None

    def toml(self) -> str:
        lines = [
            "[[providers]]",
            f"id = {toml_str(self.id)}",
            f"kind = {toml_str(self.kind)}",
            f"base_url = {toml_str(self.base_url)}",
            f"credential = {toml_str(self.credential)}",
        ]
        if self.models:
            lines.append("[providers.models]")
            lines += [f"{toml_str(k)} = {toml_str(v)}" for k, v in self.models.items()]
        if self.quirks:
            lines.append("[providers.quirks]")
            lines += [f"{k} = {toml_value(v)}" for k, v in self.quirks.items()]
        return "\n".join(lines) + "\n"


# provider id -> (kind, default text)
TRANSLATED_PROVIDERS = {"primary": ("anthropic", PRIMARY_TEXT), "ds": ("openai", OPENAI_TEXT),
                        "gm": ("gemini", GEMINI_TEXT)}
PROVIDER_FOR_KIND = {"openai": "ds", "gemini": "gm"}


@pytest.fixture
def make_translated_yard(procs: ProcGroup, http: Http, tmp_path: Path) -> YardFactory:
    """make_translated_yard(order=("primary", "ds", "gm")) -> Yard; yard.mocks is keyed by provider id.

    primary: kind anthropic, passthrough, `anthropic_native = true` (it plays Anthropic itself:
             its unstamped thinking signatures are its own), answers PRIMARY_TEXT.
    ds:      kind openai, base_url <mock>/v1, key from env (OPENAI_KEY), `* -> deepseek-chat`,
             DeepSeek quirks (reasoning_content, reasoning_round_trip), answers OPENAI_TEXT.
    gm:      kind gemini, key from env (GEMINI_KEY), `* -> gemini-2.5-pro`, answers GEMINI_TEXT.
    The order given is the failover priority; providers not named are left out.
    """

    def factory(order: tuple[str, ...] | list[str] = ("primary", "ds", "gm"),
                env: dict[str, str] | None = None) -> Yard:
        mocks: dict[str, Mock] = {}
        specs: list[KindProviderSpec] = []
        for pid in order:
            kind, text = TRANSLATED_PROVIDERS[pid]
            mock = start_mock(procs, f"mock-{pid}", http)
            mock.default(reply_message(text))
            mocks[pid] = mock
            if kind == "anthropic":
                specs.append(KindProviderSpec(pid, kind, mock.url, "passthrough",
                                              quirks={"anthropic_native": True}))
            elif kind == "openai":
                specs.append(KindProviderSpec(pid, kind, f"{mock.url}/v1", f"env:{OPENAI_KEY_ENV}",
                                              {"*": OPENAI_UPSTREAM_MODEL},
                                              {"reasoning": "reasoning_content", "reasoning_round_trip": True}))
            else:
                specs.append(KindProviderSpec(pid, kind, mock.url, f"env:{GEMINI_KEY_ENV}",
                                              {"*": GEMINI_UPSTREAM_MODEL}))
        config = write_config(tmp_path / "switchyard.toml", specs)  # type: ignore[arg-type]
        check = run_cli(["check", "--config", str(config)],
                        env=proxy_env({OPENAI_KEY_ENV: OPENAI_KEY, GEMINI_KEY_ENV: GEMINI_KEY}))
        assert check.returncode == 0, f"switchyard check rejected our config:\n{check.stderr}\n{config.read_text()}"
        return start_switchyard(procs, http, config, mocks,
                                env={OPENAI_KEY_ENV: OPENAI_KEY, GEMINI_KEY_ENV: GEMINI_KEY, **(env or {})})

    return factory
