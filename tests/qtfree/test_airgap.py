"""The air-gapped guarantee: the main flows (start, poll, analyse, report, capture) run with
every non-loopback connection attempt and name lookup recorded and refused
(tests/airgap/sitecustomize.py), and there were none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.qtfree.cli_runner import run_cli

pytestmark = pytest.mark.integration
GUARD = Path(__file__).parent.parent / "airgap"


def guarded(env: dict[str, str], log: Path) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(GUARD), env.get("PYTHONPATH", "")]))
    return env | {"PYTHONPATH": path, "AIOPS_AIRGAP_LOG": str(log), "QT_QPA_PLATFORM": "offscreen"}


def test_the_guard_records_and_refuses(tmp_path: Path, secret_service) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "attempts.log"
    env = guarded(dict(secret_service.env), log)
    probe = ("import socket\ntry:\n    socket.create_connection(('192.0.2.1', 443), timeout=2)\n"
             "except OSError as exc:\n    print('refused:', exc)\n"
             "try:\n    socket.getaddrinfo('example.com', 443)\nexcept OSError as exc:\n"
             "    print('refused:', exc)\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                          text=True, timeout=30, check=False)  # fmt: skip
    assert done.stdout.count("refused: ") == 2, done.stdout + done.stderr
    lines = log.read_text().splitlines()
    assert any("192.0.2.1" in line for line in lines)  # refused at the lookup or the connect
    assert any("lookup example.com" in line for line in lines)


def test_main_flows_make_no_connection_beyond_loopback(
    tmp_path: Path, secret_service, prometheus
) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "attempts.log"
    env, home = guarded(dict(secret_service.env), log), tmp_path / "home"
    flows = [
        ("clusters", "add", "hub", "--kind", "fleet", "--prometheus-url", prometheus.url),
        ("fleet",),  # one poll of every source: stored in the cache
        ("analyse", "--clusters", "hub", "--query", "node_load1", "--since", "1h"),
        ("report", "--type", "handover", "--since", "2h", "--out", str(tmp_path / "r.pdf")),
        ("capture", "export", "--clusters", "hub", "--since", "2h",
         "--out", str(tmp_path / "site.aiops")),
        ("--capture", str(tmp_path / "site.aiops"), "report", "--type", "detailed",
         "--out", str(tmp_path / "offline.md")),
        ("--offscreen", "--screenshot", str(tmp_path / "start.png"), "--size", "1280x800"),
    ]  # fmt: skip
    for args in flows:
        done = run_cli(home, env, *args, timeout=180)
        assert done.returncode in (0, 3), (args, done.stderr)  # 3: a partial answer
    assert (tmp_path / "r.pdf").stat().st_size > 0 and (tmp_path / "start.png").exists()
    assert "hub" in (tmp_path / "offline.md").read_text()
    attempts = log.read_text() if log.exists() else ""
    assert attempts == "", f"connections beyond loopback were attempted:\n{attempts}"
