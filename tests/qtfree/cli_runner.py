"""Running the real entry point in a subprocess, as a script would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.servers.processes import free_port


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
