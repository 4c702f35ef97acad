"""The main window, as a review found it: a capture opens from the packaged app too (whose
launcher is not a Python interpreter) and a capture window that ends at once is said; the
Logs and Traces pickers follow the registry; the palette offers no finding of a removed
cluster; the sidebar highlights no cluster while a page is shown; the first window fits the
screen unless --size says."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import qasync
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from aiops_desktop.app import DesktopApp
from aiops_desktop.models import EndpointKind
from aiops_desktop.models.fleet import Domain, Finding, FindingSeverity
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.services.core import Core
from tests.servers.processes import free_port
from tests.ui.conftest import run_coro, run_until
from ui import main_window
from ui.main_window import SAMPLE_CAPTURE, MainWindow
from ui.theme import Theme

pytestmark = pytest.mark.qt

#: the app's own argument parser, as the packaged launcher runs it (its argv is the app's)
PARSE = (
    "import sys; from aiops_desktop.cli import build_parser; "
    "build_parser().parse_args(sys.argv[1:])"
)


def _launcher(tmp_path: Path, body: str) -> tuple[Path, Path]:
    """A stand-in for the launcher: it writes the arguments it was given, one a line, then
    runs ``body``."""
    said = tmp_path / "args"
    script = tmp_path / "aiops-desktop"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{said}'\n{body}\n")
    script.chmod(0o755)
    return script, said


def _watched(window: MainWindow) -> bool:
    return not getattr(window, "_launched", [])  # every child started is done with


def test_the_packaged_launcher_gets_the_app_arguments_only(
    desktop: DesktopApp, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The briefcase launcher runs aiops_desktop itself: its arguments are the app's, so
    ``-m aiops_desktop`` before them is an unknown command (exit 2)."""
    real = sys.executable
    script, said = _launcher(tmp_path, f"exec '{real}' -c '{PARSE}' \"$@\"")
    monkeypatch.setattr(sys, "executable", str(script))
    monkeypatch.setattr(main_window, "_packaged", lambda: True, raising=False)
    window = desktop.window
    window.statusBar().clearMessage()
    assert window.open_capture(str(SAMPLE_CAPTURE))
    run_until(qtbot, lambda: said.exists() and _watched(window), 30)
    assert said.read_text().splitlines() == ["capture", "open", str(SAMPLE_CAPTURE)]
    assert window.statusBar().currentMessage() == ""  # it parsed: nothing went wrong


def test_a_python_interpreter_runs_the_module(
    desktop: DesktopApp, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, said = _launcher(tmp_path, "exit 0")
    monkeypatch.setattr(sys, "executable", str(script))
    monkeypatch.setattr(main_window, "_packaged", lambda: False, raising=False)
    assert desktop.window.open_capture("/x/y.aiops")
    run_until(qtbot, lambda: said.exists() and _watched(desktop.window), 30)
    assert said.read_text().splitlines() == [
        "-P", "-m", "aiops_desktop", "capture", "open", "/x/y.aiops",
    ]  # fmt: skip


def test_the_launcher_is_told_from_an_interpreter_by_its_flags() -> None:
    """The briefcase bootstrap (packaging/briefcase-template/.../bootstrap/main.c) starts
    Python from an isolated config without the site module; a Python interpreter run so
    (-I -S) could not import this app at all."""
    assert main_window._packaged() is False  # this test's interpreter
    stub = SimpleNamespace(isolated=1, no_site=1)
    assert main_window._packaged(stub) is True
    assert main_window._packaged(SimpleNamespace(isolated=1, no_site=0)) is False
    assert main_window._packaged(SimpleNamespace(isolated=0, no_site=1)) is False


def test_a_capture_window_that_ends_at_once_is_said(
    desktop: DesktopApp, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, _said = _launcher(
        tmp_path, "echo 'aiops-desktop: error: argument COMMAND: invalid choice' >&2; exit 2"
    )
    monkeypatch.setattr(sys, "executable", str(script))
    window = desktop.window
    window.statusBar().clearMessage()
    assert window.open_capture(str(SAMPLE_CAPTURE))
    run_until(qtbot, lambda: "did not open" in window.statusBar().currentMessage(), 30)
    message = window.statusBar().currentMessage()
    assert "invalid choice" in message, message
    run_until(qtbot, lambda: _watched(window))


def test_a_launcher_that_cannot_start_is_said(
    desktop: DesktopApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "missing"))
    window = desktop.window
    assert not window.open_capture(str(SAMPLE_CAPTURE))
    assert "did not open" in window.statusBar().currentMessage()
    assert _watched(window)


# -- pickers, palette, sidebar -----------------------------------------------------------
def _add(qtbot: QtBot, core: Core, *names: str) -> None:
    dead = f"https://127.0.0.1:{free_port()}"
    urls = {EndpointKind.PROMETHEUS: dead, EndpointKind.LOKI: dead, EndpointKind.TEMPO: dead}
    for name in names:
        run_coro(qtbot, core.registry.add(ClusterSpec(name=name, endpoint_urls=urls)))


def _offered(combo) -> list[str]:  # type: ignore[no-untyped-def]
    return [combo.itemText(i) for i in range(combo.count())]


def test_the_logs_and_traces_pickers_follow_the_registry(desktop: DesktopApp, qtbot: QtBot) -> None:
    core, window, p = desktop.core, desktop.window, desktop.presenters
    _add(qtbot, core, "alpha")
    run_until(qtbot, lambda: len(window.clusters) == 1)
    window.show_view("logs")
    window.show_view("traces")  # both built now, offering alpha
    window.show_view("fleet")
    _add(qtbot, core, "beta")
    p.registry.remove_cluster("alpha")
    run_until(qtbot, lambda: [c.name for c in window.clusters] == ["beta"])
    window.show_view("logs")
    assert _offered(window.logs.cluster) == ["beta"]
    window.show_view("traces")
    assert _offered(window.traces.cluster) == ["beta"]
    # the page shown follows too, keeping the choice
    _add(qtbot, core, "gamma")
    window.traces.cluster.setCurrentText("beta")
    run_until(qtbot, lambda: _offered(window.traces.cluster) == ["beta", "gamma"])
    assert window.traces.cluster.currentText() == "beta"
    window.show_view("fleet")


def test_the_palette_offers_no_finding_of_a_removed_cluster(
    desktop: DesktopApp, qtbot: QtBot
) -> None:
    core, window, p = desktop.core, desktop.window, desktop.presenters
    _add(qtbot, core, "alpha", "beta")
    run_coro(qtbot, core.fleet.refresh())
    run_until(qtbot, lambda: window.truth is not None and window.truth.get("beta") is not None)
    truth = window.truth
    assert truth is not None
    for name in ("alpha", "beta"):
        judged = truth.get(name)
        assert judged is not None
        judged.findings.append(Finding(Domain.GPU, FindingSeverity.CRITICAL, f"{name}-gpu/3",
                                       "XID 79"))  # fmt: skip

    def findings() -> list[str]:
        return [c.title for c in window.commands.commands() if c.kind == "GPU"]

    assert any("beta-gpu" in t for t in findings())  # offered while registered
    p.registry.remove_cluster("beta")
    run_until(qtbot, lambda: [c.name for c in window.clusters] == ["alpha"])
    offered = findings()
    assert any("alpha-gpu" in t for t in offered)
    assert not any("beta" in t for t in offered), offered


def test_the_sidebar_highlights_no_cluster_while_a_page_is_shown(
    desktop: DesktopApp, qtbot: QtBot
) -> None:
    core, window = desktop.core, desktop.window
    _add(qtbot, core, "alpha", "beta")
    run_coro(qtbot, core.fleet.refresh())
    run_until(qtbot, lambda: window.truth is not None and window.truth.get("beta") is not None)
    window.show_cluster("alpha")
    assert window.cluster_list.selected_name() == "alpha"
    window.show_view("fleet")
    assert window.cluster_list.selected_name() is None
    window.cluster_list._shown = None  # a row changed (a state, a score): the list is rebuilt
    truth = window.truth
    assert truth is not None
    window._on_fleet_truth(truth)
    assert window.cluster_list.list.selectedItems() == []
    assert window.cluster_list.selected_name() is None


# -- the first window's size ----------------------------------------------------------------
def _first_size(
    qtbot: QtBot, theme: Theme, tmp_path: Path, *argv: str
) -> tuple[int, int, int, int]:
    """The window's size as first shown by the app's own entry point, and the free area of
    its screen."""
    from aiops_desktop.app import gui_main
    from aiops_desktop.cli import build_parser
    from aiops_desktop.settings import resolve_paths

    args = build_parser().parse_args(["--offscreen", *argv])
    seen: list[tuple[int, int, int, int]] = []

    async def close_when_shown() -> None:
        while not any(w.isVisible() for w in QApplication.topLevelWidgets()
                      if w.objectName() == "mainWindow"):  # fmt: skip
            await asyncio.sleep(0.02)
        for widget in QApplication.topLevelWidgets():
            if widget.objectName() == "mainWindow" and widget.isVisible():
                free = widget.screen().availableGeometry()
                seen.append((widget.width(), widget.height(), free.width(), free.height()))
                widget.close()

    async def scenario() -> int:
        closer = asyncio.ensure_future(close_when_shown())
        code = await gui_main(args, resolve_paths(tmp_path / "home"), theme)
        await closer
        return code

    assert run_coro(qtbot, scenario()) == 0
    return seen[0]


def test_the_first_window_fits_the_screen_unless_a_size_is_asked(
    qloop: qasync.QEventLoop,
    qtbot: QtBot,
    theme: Theme,
    tmp_path: Path,
    secret_service,  # type: ignore[no-untyped-def]
) -> None:
    from aiops_desktop.qt_boot import WINDOW_SIZE

    width, height, free_w, free_h = _first_size(qtbot, theme, tmp_path)
    assert free_w < WINDOW_SIZE[0]  # the offscreen screen (800x800) is smaller than the default
    assert width <= free_w * 0.9 and height <= free_h * 0.9, (width, height, free_w, free_h)
    width, height, *_ = _first_size(qtbot, theme, tmp_path, "--size", "1400x900")
    assert (width, height) == (1400, 900)  # a screenshot's size is the one asked for
