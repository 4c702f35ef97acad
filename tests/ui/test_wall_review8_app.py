"""Review 8: the wall program keeps its window full screen (minimized or taken out of it, it
comes back) and places it again when a monitor is plugged in or out."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from aiops_desktop.models.wall import WALL_PAGES
from aiops_desktop.secrets import NoSecrets
from aiops_desktop.services.core import Core
from aiops_desktop.settings import resolve_paths
from aiops_desktop.wall_app import WallApp
from tests.ui.conftest import run_coro
from ui.theme import Theme


def test_the_wall_comes_back_full_screen_and_follows_its_screens(
    tmp_path: Path, qtbot: QtBot, qloop: object, theme: Theme
) -> None:
    core = Core.open(resolve_paths(tmp_path / "home"), secrets=NoSecrets())
    wall = WallApp(core, theme, pages=list(WALL_PAGES), rotate_s=3600, refresh_ms=300)
    window = wall.window
    try:
        wall.place(0)
        qtbot.waitUntil(window.isFullScreen)
        window.setWindowState(Qt.WindowState.WindowMinimized)
        qtbot.waitUntil(lambda: window.isFullScreen() and not window.isMinimized(), timeout=2000)
        window.setWindowState(Qt.WindowState.WindowNoState)
        qtbot.waitUntil(window.isFullScreen, timeout=2000)
        screen = QGuiApplication.primaryScreen()
        window.setGeometry(0, 0, 640, 480)  # as a monitor unplugged leaves it
        app = QGuiApplication.instance()
        assert isinstance(app, QGuiApplication)
        app.screenRemoved.emit(screen)
        qtbot.waitUntil(lambda: window.geometry() == screen.geometry(), timeout=2000)
        assert window.isFullScreen()
    finally:
        run_coro(qtbot, wall.close())
    assert not window._full_screen  # closing: not brought back full screen
