"""The capture window a window starts: its Python never imports a module from the folder
the person started the app in (a file named analysis.py in ~/Downloads would run), and it
uses the window's own data folder and role (a portable install's, not ~/.local's)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from aiops_desktop.app import DesktopApp
from tests.ui import test_main_window_review as review
from tests.ui.conftest import run_until
from ui import main_window
from ui.main_window import SAMPLE_CAPTURE, app_command

pytestmark = pytest.mark.qt

#: the app's top-level packages, as a stray file in the working folder could name them
SHADOWED = ("aiops_desktop", "analysis", "collectors", "ui")


def test_the_interpreter_leaves_the_working_folder_off_the_module_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(main_window, "_packaged", lambda: False)
    command = app_command("capture", "open", "/x/y.aiops")
    assert command[:4] == [sys.executable, "-P", "-m", "aiops_desktop"]


def test_a_module_in_the_working_folder_is_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(main_window, "_packaged", lambda: False)
    ran = tmp_path / "ran"
    for name in SHADOWED[1:]:
        (tmp_path / f"{name}.py").write_text(f"open({str(ran)!r}, 'a').write('{name}\\n')\n")
    done = subprocess.run(
        app_command("--version"), cwd=tmp_path, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert not ran.exists(), ran.read_text()
    assert done.returncode == 0, done.stderr


def test_the_capture_window_gets_this_windows_data_folder_and_role(
    desktop: DesktopApp, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, said = review._launcher(tmp_path, "exit 0")
    monkeypatch.setattr(sys, "executable", str(script))
    monkeypatch.setattr(main_window, "_packaged", lambda: True)
    window = desktop.window
    window.child_options = ["--data-dir", str(tmp_path / "portable"), "--role", "viewer"]
    assert window.open_capture(str(SAMPLE_CAPTURE))
    run_until(qtbot, lambda: said.exists() and review._watched(window), 30)
    assert said.read_text().splitlines() == [
        "--data-dir", str(tmp_path / "portable"), "--role", "viewer",
        "capture", "open", str(SAMPLE_CAPTURE),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([], []),
        (["--data-dir", "portable"], ["--data-dir", "{data}"]),
        (["--role", "viewer"], ["--role", "viewer"]),
        (["--data-dir", "portable", "--role", "operator"],
         ["--data-dir", "{data}", "--role", "operator"]),
    ],
)  # fmt: skip
def test_the_app_gives_a_capture_window_the_data_folder_and_role_it_was_given(
    tmp_path: Path, given: list[str], expected: list[str]
) -> None:
    from aiops_desktop.app import child_options
    from aiops_desktop.cli import build_parser
    from aiops_desktop.settings import resolve_paths

    args = build_parser().parse_args(given)
    paths = resolve_paths(tmp_path / "portable")
    want = [str(paths.data_dir) if part == "{data}" else part for part in expected]
    assert child_options(args, paths) == want
