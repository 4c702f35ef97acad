"""Running the real entry point: in a subprocess, as a script would, or in this process
(``call_main``: fast, for many cases)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

from tests.servers.processes import free_port


def call_main(home: Path, *args: str) -> tuple[int, str, str]:
    """``aiops-desktop --data-dir HOME ARGS`` in this process: exit code, stdout, stderr."""
    from aiops_desktop.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main(["--data-dir", str(home), *args], out=out)
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def run_cli(
    home: Path, env: dict[str, str], *args: str, stdin: str = "", timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiops_desktop", "--data-dir", str(home), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def add_unreachable(home: Path, env: dict[str, str], name: str = "dark-9") -> None:
    """Register a cluster whose Prometheus port nothing listens on."""
    done = run_cli(
        home, env, "clusters", "add", name, "--prometheus-url", f"http://127.0.0.1:{free_port()}"
    )
    assert done.returncode == 0, done.stderr
