"""Review 8: the first model with known data is the wall's first (not flashed); a held
Ctrl+Shift+Q (auto-repeat) does not leave the wall; a wall taken out of full screen goes
back; cluster names that differ at their end are told apart on their tiles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from aiops_desktop.models.wall import Tile, WallModel, WallPage
from ui.theme import Theme
from ui.wall.window import WallWindow

AT = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
MODS = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def wall(qtbot, theme: Theme):  # type: ignore[no-untyped-def]
    window = WallWindow(theme, rotate_s=3600)
    qtbot.addWidget(window)
    window.setFixedSize(1920, 1080)
    window.show()
    yield window
    window.allow_close()


def model(*pages: WallPage) -> WallModel:
    return WallModel(list(pages), "polling OK · 4 sources", AT)


def test_the_first_model_with_known_data_is_not_flashed(wall: WallWindow) -> None:
    wall.show_model(
        model(
            WallPage("fleet", "Fleet", [Tile("ran-a", "UNKNOWN", ["no data"])]),
            WallPage("alerts", "Alerts", [Tile("x", "UNKNOWN", ["not read"])]),
        )
    )
    known = model(WallPage("alerts", "Alerts", [Tile("KubeNodeNotReady", "CRITICAL", ["1"])]),
                  WallPage("fleet", "Fleet", [Tile("ran-a", "OK", ["OK"])]))  # fmt: skip
    wall.show_model(known)
    assert wall.flashes == 0
    assert wall.current_page() == "alerts"  # the worst page first, as a first model's
    later = model(WallPage("alerts", "Alerts", [Tile("KubeNodeNotReady", "CRITICAL", ["1"]),
                                                Tile("NodeDown", "CRITICAL", ["1"])]),
                  WallPage("fleet", "Fleet", [Tile("ran-a", "OK", ["OK"])]))  # fmt: skip
    wall.show_model(later)
    assert wall.flashes == 1  # news after the first known model is news


def press(window: WallWindow, *, repeat: bool = False) -> None:
    QApplication.sendEvent(window, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Q, MODS, "Q",
                                             repeat, 1))  # fmt: skip


def release(window: WallWindow, *, repeat: bool = False) -> None:
    QApplication.sendEvent(window, QKeyEvent(QEvent.Type.KeyRelease, Qt.Key.Key_Q, MODS, "Q",
                                             repeat, 1))  # fmt: skip


def test_a_held_exit_key_does_not_leave_the_wall(wall: WallWindow) -> None:
    left: list[bool] = []
    wall.sig_exit_requested.connect(lambda: left.append(True))
    press(wall)
    for _ in range(20):  # held: X11 repeats a release and a press, both auto-repeated
        release(wall, repeat=True)
        press(wall, repeat=True)
    assert not left and not wall._may_close
    release(wall)
    press(wall)  # pressed again, released between: leaves
    assert left == [True]


def test_two_presses_without_a_release_between_do_not_leave(wall: WallWindow) -> None:
    left: list[bool] = []
    wall.sig_exit_requested.connect(lambda: left.append(True))
    press(wall)
    press(wall)  # no release seen between (not flagged auto-repeat by every platform)
    assert not left


def test_a_wall_taken_out_of_full_screen_goes_back(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    window = WallWindow(theme, rotate_s=3600)
    qtbot.addWidget(window)
    window.keep_full_screen(True)
    window.showFullScreen()
    qtbot.waitUntil(window.isFullScreen)
    window.setWindowState(Qt.WindowState.WindowMinimized)
    qtbot.waitUntil(window.isFullScreen, timeout=2000)
    window.setWindowState(Qt.WindowState.WindowNoState)
    qtbot.waitUntil(window.isFullScreen, timeout=2000)
    window.allow_close()


def test_a_window_of_a_fixed_size_is_left_as_it_is(wall: WallWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    wall.setWindowState(Qt.WindowState.WindowNoState)
    qtbot.wait(50)
    assert not wall.isFullScreen()


def test_cluster_names_differing_at_their_end_read_apart(wall: WallWindow) -> None:
    names = [f"ocp-prod-ran-east-du-site-{i:04d}" for i in range(40, 56)]
    tiles = [Tile(n, "CRITICAL" if i < 3 else "OK", ["CRITICAL · score 0", "no findings"], 5.0)
             for i, n in enumerate(names)]  # fmt: skip
    wall.show_model(model(WallPage("fleet", "Fleet", tiles)))
    QApplication.processEvents()
    shown = [t.title.text() for t in wall._pages["fleet"].tiles if t.isVisible()]
    assert len(shown) == 16
    assert len(set(shown)) == 16  # each one's end is read
    for text, name in zip(shown, sorted(names), strict=False):
        assert text.replace("\n", "").endswith(name[-4:])
