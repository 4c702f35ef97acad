"""The CLI as a script sees it: exit codes, JSON, and no trace of a secret anywhere."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.qtfree.cli_runner import run_cli
from tests.qtfree.kubeconfigs import TOKEN, write_kubeconfig


def run(
    home: Path, env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return run_cli(home, env, *args, stdin=stdin, timeout=60)


@pytest.fixture
def env(secret_service) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(secret_service.env)


def all_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())


def test_token_leaves_no_trace_outside_the_keyring(tmp_path: Path, env: dict[str, str]) -> None:
    home = tmp_path / "home"
    added = run(
        home,
        env,
        "-v",
        "clusters",
        "add",
        "prod-east-1",
        "--api-url",
        "https://api.prod:6443",
        "--prometheus-url",
        "https://thanos.prod",
        "--endpoints-use-token",
        "--token-stdin",
        stdin=TOKEN + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert "bearer token (in OS keyring)" in added.stdout
    listed = run(home, env, "clusters", "list", "--json")
    assert listed.returncode == 0
    (cluster,) = json.loads(listed.stdout)
    assert cluster["credential"]["kind"] == "BEARER_TOKEN"
    assert cluster["endpoints"][0]["auth"] == "BEARER"
    imported = run(
        home, env, "-v", "clusters", "import-kubeconfig", str(write_kubeconfig(tmp_path))
    )
    assert imported.returncode == 3, imported.stderr  # partial: three contexts were skipped
    # the one that runs a command says which, without the environment's values
    assert "skipped context 'lab-oidc': its credential runs 'oc get-token" in imported.stdout
    outputs = added.stdout + added.stderr + listed.stdout + imported.stdout + imported.stderr
    assert TOKEN not in outputs
    files = all_bytes(home)
    assert (home / "logs" / "aiops-desktop.log").exists()
    assert b"cluster added" in files  # the logs were written
    assert TOKEN.encode() not in files
    assert b"exec-env-secret-value" not in files


def test_exit_codes(tmp_path: Path, env: dict[str, str]) -> None:
    home = tmp_path / "home"
    assert run(home, env, "clusters", "list").returncode == 0
    ok = run(
        home, env, "clusters", "add", "edge-1", "--api-url", "https://e:6443", "--type", "far-edge"
    )
    assert ok.returncode == 0, ok.stderr
    dup = run(home, env, "clusters", "add", "edge-1", "--api-url", "https://e:6443")
    assert dup.returncode == 5 and "already registered" in dup.stderr
    bad = run(home, env, "clusters", "add", "Edge_1", "--api-url", "http://e")
    assert (
        bad.returncode == 2 and "not DNS-style" in bad.stderr and "expected https://" in bad.stderr
    )
    usage = run(home, env, "clusters", "add", "edge-2", "--type", "NOPE")
    assert usage.returncode == 2 and "choose one of HUB, SPOKE, EDGE, FAR_EDGE" in usage.stderr
    missing = run(home, env, "clusters", "remove", "nope")
    assert missing.returncode == 4 and "no cluster named 'nope'" in missing.stderr
    no_file = run(home, env, "clusters", "import-kubeconfig", str(tmp_path / "absent"))
    assert no_file.returncode == 2 and "does not exist" in no_file.stderr
    empty_token = run(
        home, env, "clusters", "add", "edge-3", "--api-url", "https://e", "--token-stdin"
    )
    assert empty_token.returncode == 2 and "no token on standard input" in empty_token.stderr
    listed = run(home, env, "clusters", "list")
    assert "edge-1" in listed.stdout and "FAR_EDGE" in listed.stdout
    gone = run(home, env, "clusters", "remove", "edge-1")
    assert gone.returncode == 0 and "removed edge-1" in gone.stdout


def test_add_from_kubeconfig_context_warns_about_tls(tmp_path: Path, env: dict[str, str]) -> None:
    home = tmp_path / "home"
    out = run(
        home,
        env,
        "clusters",
        "add",
        "lab-1",
        "--kubeconfig",
        str(write_kubeconfig(tmp_path)),
        "--context",
        "lab-oidc",
        "--type",
        "edge",
        "--environment",
        "lab",
    )
    assert out.returncode == 2 and "--allow-exec" in out.stderr  # it runs `oc get-token`
    out = run(home, env, "clusters", "add", "lab-1", "--kubeconfig",
              str(write_kubeconfig(tmp_path)), "--context", "lab-oidc", "--type", "edge",
              "--environment", "lab", "--allow-exec")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "will NOT be verified" in out.stderr
    assert "via exec plugin 'oc'" in out.stdout
    # what the context gives is not given twice (an --api-url was silently dropped)
    twice = run(home, env, "clusters", "add", "lab-2", "--kubeconfig",
                str(write_kubeconfig(tmp_path)), "--context", "admin", "--api-url",
                "https://api.new.example:6443")  # fmt: skip
    assert twice.returncode == 2 and "--api-url: --kubeconfig takes the server" in twice.stderr
    listed = run(home, env, "clusters", "list")
    assert "[TLS NOT VERIFIED]" in listed.stdout and "LAB" in listed.stdout


def test_no_keyring_is_a_clear_runtime_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path}/no-bus"
    out = run(
        tmp_path / "h",
        env,
        "clusters",
        "add",
        "x-1-y",
        "--api-url",
        "https://x",
        "--token-stdin",
        stdin="t0k3n-value",
    )
    assert out.returncode == 1
    assert "No OS keyring is available" in out.stderr
    assert "t0k3n-value" not in out.stderr


def test_newer_cache_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    import sqlite3

    home = tmp_path / "home"
    assert run(home, env, "clusters", "list").returncode == 0
    conn = sqlite3.connect(home / "aiops-desktop.sqlite3")
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    out = run(home, env, "clusters", "list")
    assert out.returncode == 1 and "newer than this app supports" in out.stderr
