"""The wall's frame flashes red, drawn, not only counted, when a tile turns CRITICAL, and its
calm look comes back after; and a page brought forward for a new CRITICAL tile that is the
page already shown goes back to its first screen, where that tile sorts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from aiops_desktop.models.wall import Tile, WallModel, WallPage
from ui.theme import Theme
from ui.wall.window import FLASH_STEPS, PageWidget, WallWindow

AT = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)


@pytest.fixture
def wall(qtbot, theme: Theme):  # type: ignore[no-untyped-def]
    window = WallWindow(theme, rotate_s=3600)
    qtbot.addWidget(window)
    window.setFixedSize(1280, 720)
    window.show()
    yield window
    window.allow_close()


def fleet(*tiles: Tile) -> WallModel:
    return WallModel([WallPage("fleet", "Fleet", list(tiles))], "polling OK · 1 source", AT)


def edge(window: WallWindow) -> str:
    """The colour at the window's left edge, half way down: its frame, when it has one."""
    QApplication.processEvents()
    return window.grab().toImage().pixelColor(4, window.height() // 2).name()


def test_the_frame_is_drawn_red_while_it_flashes(wall: WallWindow, theme: Theme) -> None:
    wall.show_model(fleet(Tile("east-1", "OK", ["OK"], 5.0)))
    calm = edge(wall)
    assert calm == QColor(theme.color("window")).name()
    wall.show_model(fleet(Tile("east-1", "CRITICAL", ["CRITICAL"], 5.0)))
    assert wall.flashes == 1
    seen = [edge(wall)]
    for _ in range(FLASH_STEPS):
        wall._flash_step()
        seen.append(edge(wall))
    red = QColor(theme.severity("critical")).name()
    assert seen[:FLASH_STEPS] == [red, calm] * (FLASH_STEPS // 2)
    assert seen[-1] == calm  # over: as calm as before


def test_a_new_critical_on_the_page_shown_goes_back_to_its_first_screen(
    wall: WallWindow,
) -> None:
    oks = [Tile(f"c{i:03d}", "OK", ["OK"], 5.0) for i in range(60)]
    wall.show_model(fleet(*oks))
    page = wall._pages["fleet"]
    assert isinstance(page, PageWidget) and page.screens > 1
    wall.next_page()  # its second screen
    assert (wall.current_page(), page.screen) == ("fleet", 1)
    wall.show_model(fleet(Tile("crit-0", "CRITICAL", ["CRITICAL · XID 79"], 5.0), *oks))
    assert wall.flashes == 1
    assert page.screen == 0
    assert page.tiles[0].isVisible() and page.tiles[0].title.full_text().endswith("crit-0")
    assert wall.title.full_text().endswith(f"screen 1 of {page.screens}")
