"""`switchyard providers import` asks for the missing keys on a terminal (no echo) and stores them
in the real Secret Service (gnome-keyring in scripts/desktop-session.sh).

Skipped outside the desktop session on a developer machine, failed outside it under CI=true.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import termios
import time

import pytest

from conftest import IN_CI, IN_DESKTOP_SESSION, SWITCHYARD_BIN, proxy_env

KEY = "sk-imported-via-tty-5678"


@pytest.fixture(autouse=True)
def desktop_session() -> None:
    if not IN_DESKTOP_SESSION:
        reason = "needs a throwaway keyring: run under scripts/desktop-session.sh"
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    if shutil.which("secret-tool") is None:
        pytest.fail("secret-tool missing (apt-get install libsecret-tools)", pytrace=False)


def lookup(user: str) -> str:
    return subprocess.run(["secret-tool", "lookup", "service", "switchyard", "username", user],
                          capture_output=True, text=True, timeout=10).stdout


def clear(user: str) -> None:
    subprocess.run(["secret-tool", "clear", "service", "switchyard", "username", user],
                   capture_output=True, timeout=10)


class Tty:
    """The CLI on a pseudo-terminal (its controlling terminal), so it prompts without echo."""

    def __init__(self, args: list[str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(str(SWITCHYARD_BIN), [str(SWITCHYARD_BIN), *args], proxy_env())
        self.pid, self.fd, self.out = pid, fd, ""

    def read_until(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.out:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} in:\n{self.out}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                assert chunk, f"the CLI ended before {text!r}:\n{self.out}"
                self.out += chunk.decode(errors="replace")

    def send_secret(self, line: str, timeout: float = 10) -> None:
        """Type a line at a hidden prompt, as a person would: once the program has turned the
        terminal's echo off (the prompt text can reach us a moment before that happens)."""
        deadline = time.monotonic() + timeout
        while termios.tcgetattr(self.fd)[3] & termios.ECHO:
            assert time.monotonic() < deadline, f"echo never turned off:\n{self.out}"
            time.sleep(0.01)
        os.write(self.fd, (line + "\n").encode())

    def send_line(self, line: str) -> None:
        """Answer a visible prompt."""
        os.write(self.fd, (line + "\n").encode())

    def wait(self) -> int:
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.out += chunk.decode(errors="replace")
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


def test_import_prompts_for_each_missing_key_and_stores_it(tmp_path) -> None:
    for user in ("imported-a", "imported-b"):
        clear(user)
    shared = tmp_path / "shared.toml"
    shared.write_text(
        '[[providers]]\nid = "imported-a"\nbase_url = "http://127.0.0.1:9"\ncredential = "keychain"\n\n'
        '[[providers]]\nid = "imported-b"\nbase_url = "http://127.0.0.1:9"\ncredential = "keychain"\n\n'
        '[[providers]]\nid = "open"\nbase_url = "http://127.0.0.1:9"\ncredential = "none"\n')
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[providers]]\nid = "local"\nbase_url = "http://127.0.0.1:9"\ncredential = "none"\n')
    try:
        # --url to a closed port: telling a running instance to re-read keys is best effort.
        tty = Tty(["providers", "import", str(shared), "--config", str(cfg), "--url", "http://127.0.0.1:9"])
        tty.read_until("Key for imported-a (input hidden; empty to skip): ")
        tty.send_secret(KEY)
        tty.read_until("Key for imported-b (input hidden; empty to skip): ")
        tty.send_secret("")
        code = tty.wait()
        assert code == 0, tty.out
        assert KEY not in tty.out, "the key was echoed"
        assert "stored the key for imported-a in the OS keychain (…5678)" in tty.out, tty.out
        assert "skipped imported-b: store it later with `switchyard keys set imported-b`" in tty.out
        assert "added: imported-a, imported-b, open" in tty.out, tty.out
        assert lookup("imported-a") == KEY
        assert lookup("imported-b") == ""
        text = cfg.read_text()
        assert [ln for ln in text.splitlines() if ln.startswith("id = ")] == [
            'id = "local"', 'id = "imported-a"', 'id = "imported-b"', 'id = "open"']
    finally:
        for user in ("imported-a", "imported-b"):
            clear(user)


def test_a_file_that_reads_a_new_secret_is_shown_and_asked_about(tmp_path) -> None:
    """The shared file names an environment variable and a collector URL: the CLI lists every
    provider's URL and key source, says what is risky and imports only on "y"."""
    shared = tmp_path / "shared.toml"
    shared.write_text(
        '[[providers]]\nid = "gh"\nkind = "openai"\nbase_url = "https://collector.example/v1"\n'
        'credential = "env:GITHUB_TOKEN"\n')
    cfg = tmp_path / "config.toml"
    mine = '[[providers]]\nid = "local"\nbase_url = "http://127.0.0.1:9"\ncredential = "none"\n'
    cfg.write_text(mine)
    args = ["providers", "import", str(shared), "--config", str(cfg), "--url", "http://127.0.0.1:9"]
    tty = Tty(args)
    tty.read_until("Import it anyway? [y/N] ")
    assert "gh (added, openai): https://collector.example/v1, key from env:GITHUB_TOKEN" in tty.out
    assert "! gh reads the environment variable GITHUB_TOKEN and sends it as the key" in tty.out
    tty.send_line("")
    assert tty.wait() != 0, tty.out
    assert "nothing imported" in tty.out
    assert cfg.read_text() == mine

    tty = Tty(args)
    tty.read_until("Import it anyway? [y/N] ")
    tty.send_line("y")
    assert tty.wait() == 0, tty.out
    assert "added: gh" in tty.out, tty.out
    assert "GITHUB_TOKEN" in cfg.read_text()
