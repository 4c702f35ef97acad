"""The app's life from outside: a window closed while the app still loads ends the app (it
left a window-less process polling for ever); SIGTERM (a service manager's stop) and SIGINT
(Ctrl+C) close the wall and the window in order, as their own close does (the cache's writer
drained, Core.shutdown run); and a path the app cannot write is a one-line usage error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import qasync

from tests.conftest import ROOT
from tests.ui.conftest import run_coro


def test_closing_the_window_while_it_loads_ends_the_app(
    qloop: qasync.QEventLoop,
    qtbot,
    theme,
    tmp_path: Path,
    secret_service,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    from aiops_desktop import app as appmod
    from aiops_desktop.cli import build_parser
    from aiops_desktop.settings import resolve_paths

    real_load = appmod.DesktopApp.load
    closed_while_loading = []

    async def load(self: appmod.DesktopApp) -> None:
        self.window.close()  # the user closes the window while the app loads
        closed_while_loading.append(True)
        await real_load(self)

    monkeypatch.setattr(appmod.DesktopApp, "load", load)
    args = build_parser().parse_args(["--offscreen"])
    code = run_coro(qtbot, appmod.gui_main(args, resolve_paths(tmp_path / "home"), theme), 20)
    assert code == 0 and closed_while_loading


#: the real entry point, its shutdown and its writer's close said on stdout, and "ready" once
#: the program has loaded (the wall's or the window's)
WRAP = r"""
import sys
from aiops_desktop.services.core import Core
from aiops_desktop.store.writer import WriterThread
from aiops_desktop.app import DesktopApp
from aiops_desktop.wall_app import WallApp
real_shutdown, real_close = Core.shutdown, WriterThread.close
async def shutdown(self):
    print("Core.shutdown ran", flush=True)
    await real_shutdown(self)
def close(self, *a, **k):
    real_close(self, *a, **k)
    print("writer drained and closed", flush=True)
Core.shutdown, WriterThread.close = shutdown, close
for cls in (WallApp, DesktopApp):
    def patched(real):
        async def load(self):
            await real(self)
            print("ready", flush=True)
        return load
    cls.load = patched(cls.load)
from aiops_desktop.__main__ import main
sys.argv = ["aiops-desktop", *sys.argv[1:]]
main()
"""


def run_and_signal(home: Path, command: list[str], sig: signal.Signals) -> tuple[int, list[str]]:
    """Start the app, wait until it has loaded, send ``sig``: its exit code and its output."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", WRAP, "--data-dir", str(home), "--offscreen", *command],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    said: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            said.append(line.rstrip("\n"))
            if line.strip() == "ready":
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(60), said
        proc.send_signal(sig)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(10)
        assert proc.stdout is not None
        proc.stdout.close()
    return code, said


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "sig", "code"),
    [(["wall"], signal.SIGTERM, 0), (["wall"], signal.SIGINT, 130), ([], signal.SIGTERM, 0)],
    ids=["wall-SIGTERM", "wall-SIGINT", "window-SIGTERM"],
)
def test_a_signal_closes_the_app_in_order(
    tmp_path: Path, command: list[str], sig: signal.Signals, code: int
) -> None:
    home = tmp_path / "home"
    exit_code, said = run_and_signal(home, command, sig)
    assert exit_code == code, said
    assert "Core.shutdown ran" in said and "writer drained and closed" in said, said
    assert not [line for line in said if "Traceback" in line or "KeyboardInterrupt" in line]
    log = (home / "logs" / "aiops-desktop.log").read_text()
    assert f"closed in order after {sig.name}" in log


@pytest.mark.slow
def test_a_path_the_app_cannot_write_is_a_usage_error(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    a_dir = tmp_path / "a-dir"
    a_dir.mkdir()
    home = str(tmp_path / "home")
    cases = [
        (["--data-dir", str(afile / "x"), "--offscreen", "wall"], "cannot make the folder"),
        (["--data-dir", str(afile), "--offscreen"], "is not a folder"),
        (["--data-dir", home, "--offscreen", "--screenshot", str(afile / "y.png"), "wall"],
         "cannot write the screenshot"),
        (["--data-dir", home, "--offscreen", "--screenshot", str(a_dir), "wall"],
         "cannot write the screenshot"),
        (["--data-dir", home, "--offscreen", "--screenshot", str(afile / "y.png")],
         "cannot write the screenshot"),
    ]  # fmt: skip
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    for args, said in cases:
        done = subprocess.run([sys.executable, "-m", "aiops_desktop", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=90, check=False)  # fmt: skip
        errors = [line for line in done.stderr.splitlines() if "aiops-desktop: error:" in line]
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr and len(errors) == 1 and said in errors[0], (
            args,
            done.stderr,
        )
