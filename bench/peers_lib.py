"""Process and measurement helpers shared by bench/peers.py and bench/soak.py (stdlib only).

Starts the mock, Switchyard, claude-code-router and LiteLLM on free loopback ports with
private HOME directories, reads CPU time and memory of whole process trees from /proc, and
kills exactly the processes it started.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / "peers"
CCR_CLI = PEERS / "ccr" / "node_modules" / "@musistudio" / "claude-code-router" / "dist" / "cli.js"
LITELLM = PEERS / "litellm-venv" / "bin" / "litellm"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body=None, headers=None, timeout=10.0):
    """One HTTP request; returns (status, bytes). JSON-encodes a non-bytes body."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("content-type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def children_of(pid: int) -> list[int]:
    """Every live descendant of pid (one /proc scan)."""
    parent: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            parent[int(d)] = int(st[st.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out.extend(kids)
        todo.extend(kids)
    return out


def cpu_seconds(pid: int) -> float:
    """utime+stime of pid and its live descendants, plus what they reaped (cutime+cstime)."""
    total = 0
    for p in [pid, *children_of(pid)]:
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2 :].split()
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / TICKS


def status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_kb(pid: int, key: str) -> int:
    """Sum of a /proc status field (VmRSS, VmHWM) over pid and its descendants."""
    return sum(status_kb(p, key) for p in [pid, *children_of(pid)])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    url: str
    log: Path
    extra: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        """SIGTERM the process group we created (only our own processes), then SIGKILL."""
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(timeout=5)


def spawn(name: str, argv: list, log: Path, env_extra: dict | None = None, cwd=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    logf = open(log, "wb")
    # A new session: the whole tree (uvicorn workers, node) can be signalled as one group.
    return subprocess.Popen(
        [str(a) for a in argv],
        stdout=logf,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )


def wait_line(log: Path, pattern: str, popen, timeout: float) -> re.Match:
    deadline = time.monotonic() + timeout
    rx = re.compile(pattern)
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        m = rx.search(text)
        if m:
            return m
        if popen.poll() is not None:
            raise RuntimeError(f"{log.name}: exited ({popen.returncode}) before ready:\n{text[-2000:]}")
        time.sleep(0.05)
    raise RuntimeError(f"{log.name}: not ready within {timeout}s")


def wait_http(url: str, popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"{log.name}: exited ({popen.returncode}):\n{log.read_text(errors='replace')[-2000:]}")
        try:
            st, _ = http("GET", url, timeout=1.0)
            if st < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not answering within {timeout}s; log {log}")


def start_mock(bindir: Path, work: Path, name="mock", args=()) -> Proc:
    log = work / f"{name}.log"
    p = spawn(name, [bindir / "switchyard-mock", "--listen", "127.0.0.1:0", *args], log)
    m = wait_line(log, r"listening on (http://[0-9.:]+)", p, 10)
    return Proc(name, p, m.group(1), log)


def start_switchyard(bindir: Path, work: Path, name: str, config_text: str, env=None) -> Proc:
    cfg = work / f"{name}.toml"
    cfg.write_text(config_text)
    home = work / f"{name}-home"
    home.mkdir(exist_ok=True)
    log = work / f"{name}.log"
    e = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    e.update(env or {})
    p = spawn(name, [bindir / "switchyard", "serve", "--config", cfg, "--listen", "127.0.0.1:0"], log, e)
    m = wait_line(log, r"switchyard listening on (http://[0-9.:]+)", p, 15)
    return Proc(name, p, m.group(1), log, {"config": str(cfg)})


def switchyard_config(mock_url: str, kind: str) -> str:
    if kind == "anthropic":
        return (
            'listen = "127.0.0.1:0"\n\n[health]\nprobe_interval_secs = 0\n\n'
            f'[[providers]]\nid = "mock"\nbase_url = "{mock_url}"\ncredential = "none"\n'
        )
    return (
        'listen = "127.0.0.1:0"\n\n[health]\nprobe_interval_secs = 0\n\n'
        f'[[providers]]\nid = "mock-openai"\nkind = "openai"\nbase_url = "{mock_url}/v1"\n'
        'credential = "none"\n\n[providers.models]\n"*" = "mock-model"\n'
    )


def start_ccr(work: Path, name: str, mock_url: str, kind: str) -> Proc:
    """claude-code-router, foreground (`cli.js start`), config in a private HOME."""
    if not CCR_CLI.exists():
        raise RuntimeError(f"{CCR_CLI} missing: run bench/peers/install.sh")
    home = work / f"{name}-home"
    (home / ".claude-code-router").mkdir(parents=True, exist_ok=True)
    port = free_port()
    if kind == "anthropic":
        provider = {
            "name": "mock",
            "api_base_url": f"{mock_url}/v1/messages",
            "api_key": "bench",
            "models": ["claude-sonnet-4-5"],
            "transformer": {"use": ["Anthropic"]},
        }
        route = "mock,claude-sonnet-4-5"
    else:
        provider = {
            "name": "mock",
            "api_base_url": f"{mock_url}/v1/chat/completions",
            "api_key": "bench",
            "models": ["mock-model"],
        }
        route = "mock,mock-model"
    config = {
        "HOST": "127.0.0.1",
        "PORT": port,
        "LOG": False,
        "NON_INTERACTIVE_MODE": True,
        "API_TIMEOUT_MS": 600000,
        "Providers": [provider],
        "Router": {"default": route},
    }
    (home / ".claude-code-router" / "config.json").write_text(json.dumps(config, indent=2))
    log = work / f"{name}.log"
    env = {"HOME": str(home), "NO_UPDATE_NOTIFIER": "1", "CI": "1"}
    p = spawn(name, ["node", CCR_CLI, "start"], log, env, cwd=home)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/", p, log, 30)
    return Proc(name, p, url, log)


def start_litellm(work: Path, name: str, mock_url: str, kind: str) -> Proc:
    """LiteLLM proxy, one uvicorn worker, config.yaml with one model, no telemetry."""
    if not LITELLM.exists():
        raise RuntimeError(f"{LITELLM} missing: run bench/peers/install.sh")
    home = work / f"{name}-home"
    home.mkdir(exist_ok=True)
    if kind == "anthropic":
        params = f"      model: anthropic/claude-sonnet-4-5\n      api_base: {mock_url}\n"
    else:
        params = f"      model: openai/mock-model\n      api_base: {mock_url}/v1\n"
    cfg = home / "config.yaml"
    cfg.write_text(
        "model_list:\n"
        "  - model_name: claude-sonnet-4-5\n"
        "    litellm_params:\n" + params + "      api_key: bench\n"
        "litellm_settings:\n  telemetry: false\n  drop_params: true\n"
    )
    port = free_port()
    log = work / f"{name}.log"
    env = {
        "HOME": str(home),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "LITELLM_DONT_SHOW_FEEDBACK_BOX": "true",
        "DISABLE_SCHEMA_UPDATE": "true",
        "NO_DOCS": "True",
    }
    p = spawn(name, [LITELLM, "--config", cfg, "--host", "127.0.0.1", "--port", port], log, env, cwd=home)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/health/liveliness", p, log, 120)
    return Proc(name, p, url, log)


NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/bin/nginx")


def nginx_bin() -> str | None:
    """The Debian nginx (nginx-light is enough), or None."""
    for c in NGINX_CANDIDATES:
        if os.access(c, os.X_OK):
            return c
    return shutil.which("nginx")


def start_nginx(work: Path, name: str, mock_url: str, workers: int | None = None) -> Proc:
    """nginx as the honest floor for an HTTP reverse proxy: the same passthrough to the mock,
    a keep-alive upstream pool, the access log on (buffered, as a production config has it),
    one worker per CPU. Foreground (`daemon off`) so the process tree is ours."""
    binary = nginx_bin()
    if binary is None:
        raise RuntimeError("nginx missing: install the Debian package nginx-light")
    root = work / f"{name}-root"
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    port = free_port()
    upstream = mock_url.removeprefix("http://")
    conf = root / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes {workers or os.cpu_count() or 1};
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {root}/access.log combined buffer=64k flush=1s;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    keepalive_requests 1000000;
    upstream mock {{
        server {upstream};
        keepalive 256;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
        }}
    }}
}}
"""
    )
    log = work / f"{name}.log"
    p = spawn(name, [binary, "-p", root, "-c", conf, "-e", root / "error.log"], log)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/__mock/requests", p, log, 15)
    return Proc(name, p, url, log)


def nginx_version() -> str:
    binary = nginx_bin()
    if binary is None:
        return "missing"
    out = subprocess.run([binary, "-v"], capture_output=True, text=True)
    m = re.search(r"nginx/(\S+)", out.stderr + out.stdout)
    return m.group(1) if m else "unknown"


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = status_like("/proc/meminfo", "MemTotal") / 1024 / 1024
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_gib, 1),
        "kernel": os.uname().release,
        "loadavg": open("/proc/loadavg").read().split()[:3],
    }


def status_like(path: str, key: str) -> int:
    for line in open(path):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0
