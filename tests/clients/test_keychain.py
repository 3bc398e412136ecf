"""`switchyard keys` against a real Secret Service (gnome-keyring) and a keychain-keyed provider.

Must run inside scripts/desktop-session.sh (a throwaway unlocked keyring on a private D-Bus bus):
skipped outside it on a developer machine, failed outside it under CI=true.
"""

from __future__ import annotations

import shutil
import subprocess

import anthropic
import pytest

from conftest import (
    BACKUP_TEXT,
    BACKUP_UPSTREAM_MODEL,
    CLIENT_KEY,
    IN_CI,
    IN_DESKTOP_SESSION,
    PRIMARY_TEXT,
    ProviderSpec,
    header,
    reply_error,
    reply_message,
    run_cli,
    start_mock,
    start_switchyard,
    write_config,
)

KEY = "sk-test-123"


@pytest.fixture(autouse=True)
def desktop_session() -> None:
    if not IN_DESKTOP_SESSION:
        reason = "needs a throwaway keyring: run under scripts/desktop-session.sh"
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    if shutil.which("secret-tool") is None:
        pytest.fail("secret-tool missing (apt-get install libsecret-tools)", pytrace=False)


def lookup(user: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["secret-tool", "lookup", "service", "switchyard", "username", user],
                          capture_output=True, text=True, timeout=10)


def line_for(output: str, provider: str) -> str:
    lines = [ln for ln in output.splitlines() if provider in ln]
    assert len(lines) == 1, f"expected one line about {provider!r} in:\n{output}"
    return lines[0]


@pytest.fixture
def key_cleanup():
    yield
    run_cli(["keys", "delete", "backup"])
    subprocess.run(["secret-tool", "clear", "service", "switchyard", "username", "backup"],
                   capture_output=True, timeout=10)


def test_keys_set_list_delete(tmp_path, key_cleanup) -> None:
    # No server needed: `keys list` reads the config. Port 9 (discard) is never contacted.
    cfg = str(write_config(tmp_path / "switchyard.toml", [
        ProviderSpec("primary", "http://127.0.0.1:9", "passthrough"),
        ProviderSpec("backup", "http://127.0.0.1:9", "keychain"),
    ]))

    assert lookup("backup").stdout == ""
    before = run_cli(["keys", "list", "--config", cfg])
    assert before.returncode == 0, before.stderr
    before_line = line_for(before.stdout, "backup")

    res = run_cli(["keys", "set", "backup"], input=KEY + "\n")
    assert res.returncode == 0, res.stderr
    assert KEY not in res.stdout + res.stderr, "keys set echoed the key"
    got = lookup("backup")
    assert got.returncode == 0, f"secret-tool found no item: {got.stderr}"
    assert got.stdout == KEY, f"stored key is {got.stdout!r}: not trimmed or wrong"

    after = run_cli(["keys", "list", "--config", cfg])
    assert after.returncode == 0, after.stderr
    assert KEY not in after.stdout + after.stderr, "keys list printed the key"
    after_line = line_for(after.stdout, "backup")
    assert after_line != before_line, f"keys list does not show the key as set:\n{before.stdout}\n---\n{after.stdout}"

    res = run_cli(["keys", "delete", "backup"])
    assert res.returncode == 0, res.stderr
    assert lookup("backup").stdout == "", "keys delete left the key in the keychain"
    gone = run_cli(["keys", "list", "--config", cfg])
    assert line_for(gone.stdout, "backup") == before_line


def test_keychain_provider_gets_stored_key_on_failover(procs, http, tmp_path, key_cleanup) -> None:
    res = run_cli(["keys", "set", "backup"], input=KEY + "\n")
    assert res.returncode == 0, res.stderr
    assert lookup("backup").stdout == KEY

    # Like make_yard, but the backup is keyed from the keychain (no env key at all).
    primary = start_mock(procs, "mock-primary", http)
    backup = start_mock(procs, "mock-backup", http)
    primary.default(reply_message(PRIMARY_TEXT))
    backup.default(reply_message(BACKUP_TEXT))
    cfg = write_config(tmp_path / "switchyard.toml", [
        ProviderSpec("primary", primary.url, "passthrough"),
        ProviderSpec("backup", backup.url, "keychain", {"*": BACKUP_UPSTREAM_MODEL}),
    ])
    check = run_cli(["check", "--config", str(cfg)])
    assert check.returncode == 0, check.stderr
    yard = start_switchyard(procs, http, cfg, {"primary": primary, "backup": backup})

    primary.replies(reply_error(429, "primary is rate limited", headers=[["retry-after", "30"]]))
    client = anthropic.Anthropic(base_url=yard.url, api_key=CLIENT_KEY, max_retries=0, timeout=20.0)
    raw = client.messages.with_raw_response.create(
        model="claude-test", max_tokens=32, messages=[{"role": "user", "content": "hi"}])
    msg = raw.parse()
    assert raw.headers.get("x-switchyard-provider") == "backup"
    assert msg.content[0].text == BACKUP_TEXT
    reqs = backup.requests()
    assert len(reqs) == 1
    assert header(reqs[0], "x-api-key") == KEY
    for name, value in reqs[0]["headers"]:
        assert CLIENT_KEY not in value, f"client credential leaked in {name!r}"
    assert KEY not in yard.proc.logs(), "switchyard logged the key"


POOL = ["sk-pool-one-aaaa-1111", "sk-pool-two-bbbb-2222", "sk-pool-three-cccc-3333"]


@pytest.fixture
def pool_cleanup():
    yield
    for user in ("pooled", "pooled#2", "pooled#3"):
        subprocess.run(["secret-tool", "clear", "service", "switchyard", "username", user],
                       capture_output=True, timeout=10)


def test_key_pool_set_with_the_cli_rotates_and_a_rate_limited_key_rests(
        procs, http, tmp_path, pool_cleanup) -> None:
    upstream = start_mock(procs, "mock-pooled", http)
    upstream.default(reply_message(PRIMARY_TEXT))
    cfg = write_config(tmp_path / "switchyard.toml", [
        ProviderSpec("pooled", upstream.url, "keychain"),
    ])
    # The first key as always, then two more with `keys add` (which raises `keys` in the file).
    res = run_cli(["keys", "set", "pooled"], input=POOL[0] + "\n")
    assert res.returncode == 0, res.stderr
    for key in POOL[1:]:
        res = run_cli(["keys", "add", "pooled", "--config", str(cfg), "--url", "http://127.0.0.1:9"],
                      input=key + "\n")
        assert res.returncode == 0, res.stderr
        assert key not in res.stdout + res.stderr, "keys add echoed the key"
    assert "keys = 3" in cfg.read_text()
    assert [lookup(u).stdout for u in ("pooled", "pooled#2", "pooled#3")] == POOL
    listed = run_cli(["keys", "list", "--config", str(cfg)])
    assert "3 of 3 set" in line_for(listed.stdout, "pooled"), listed.stdout
    assert not any(k in listed.stdout for k in POOL)

    yard = start_switchyard(procs, http, cfg, {"pooled": upstream})
    client = anthropic.Anthropic(base_url=yard.url, api_key=CLIENT_KEY, max_retries=0, timeout=20.0)

    def ask() -> None:
        client.messages.create(model="claude-test", max_tokens=16,
                               messages=[{"role": "user", "content": "hi"}])

    for _ in range(6):
        ask()
    seen = [header(r, "x-api-key") for r in upstream.requests()]
    assert seen == POOL + POOL, seen

    # Key 1 is rate limited: only it rests; the request and the next ones use keys 2 and 3.
    upstream.clear()
    upstream.default(reply_message(PRIMARY_TEXT))
    upstream.replies(reply_error(429, "rate limited", headers=[["retry-after", "60"]]))
    for _ in range(4):
        ask()
    seen = [header(r, "x-api-key") for r in upstream.requests()]
    assert seen[0] == POOL[0] and POOL[0] not in seen[1:], seen
    assert set(seen[1:]) == {POOL[1], POOL[2]}, seen
    keys = http.get(yard.url + "/api/keys").json()["keys"][0]
    assert [k["state"] for k in keys["pool"]] == ["cooling", "ok", "ok"], keys
    status = http.get(yard.url + "/api/status").json()
    assert status["providers"][0]["state"] == "available", status
    logs = yard.proc.logs(limit=1_000_000)
    assert not any(k in logs for k in POOL), "switchyard logged a key"
