"""The wall's header at 1280x720: the page's title and a capture's label are cut with an
ellipsis at the width they are given (they were cut mid-word by the window's edge: "Incidents
· CRITICAL · scree", a badge ending "ran-e"), the screen count is never cut (it comes before
the capture's label), and the clock is whole."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtWidgets import QLabel

from aiops_desktop.models.wall import Tile, WallModel, WallPage
from aiops_desktop.qt_boot import save_screenshot
from tests.conftest import ROOT
from ui.theme import Theme
from ui.wall.window import PageWidget, WallWindow

AT = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
LABEL = "SAMPLE DATA: capture of ran-east-central-" + "W" * 40  # cut to 40 characters


def drawn_whole(label: QLabel) -> bool:
    """Its text, as set, fits the room it has (else Qt cuts it at the edge, mid-word)."""
    return label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width()


def test_the_header_is_cut_with_an_ellipsis_keeping_the_screen_count(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    window = WallWindow(theme, rotate_s=3600)
    qtbot.addWidget(window)
    window.setFixedSize(1280, 720)
    window.show()
    tiles = [Tile(f"t{i}", "CRITICAL", ["x"], 1.0) for i in range(60)]
    window.show_model(WallModel([WallPage("incidents", "Incidents", tiles)], "polling OK", AT,
                                badge=LABEL))  # fmt: skip
    qtbot.wait(100)  # laid out
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    save_screenshot(window, out / "wall_header_1280.png")
    title, badge, clock = window.title, window.badge, window.clock
    page = window.stack.currentWidget()
    assert isinstance(page, PageWidget)
    screens = page.screens
    assert screens > 1
    assert title.text().endswith(f" · screen 1 of {screens}")  # never cut
    assert title.text().startswith("Incidents")
    assert badge.text().startswith("SAMPLE DATA") and badge.text().endswith("…")
    assert drawn_whole(title) and drawn_whole(badge) and drawn_whole(clock)
    # side by side, inside the window: nothing under another, nothing past its edge
    assert title.geometry().right() < badge.geometry().left()
    assert badge.geometry().right() < clock.geometry().left()
    assert clock.geometry().right() < window.width()
    # not updated for a while: a badge more, never cut, then the clock; in what is left the
    # screen count, its start cut with an ellipsis; the capture's badge has no room left
    window.show_stale(datetime(2026, 12, 5, 7, 5, tzinfo=UTC), "ValueError")
    qtbot.wait(100)
    save_screenshot(window, out / "wall_header_1280_stale.png")
    assert window.stale.text() == "display not updated since 2026-12-04 21:00 UTC"
    assert title.text().startswith("…") and title.text().endswith(f"1 of {screens}")
    assert badge.width() == 0
    assert all(drawn_whole(w) for w in (title, window.stale, clock))
    assert title.geometry().right() < window.stale.geometry().left()
    assert window.stale.geometry().right() < clock.geometry().left()
    assert clock.geometry().right() < window.width()


def test_a_header_with_room_is_shown_whole(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    window = WallWindow(theme, rotate_s=3600)
    qtbot.addWidget(window)
    window.setFixedSize(1920, 1080)
    window.show()
    tiles = [Tile("ran-east", "CRITICAL", ["x"], 1.0)]
    window.show_model(WallModel([WallPage("fleet", "Fleet", tiles)], "polling OK", AT,
                                badge="SAMPLE DATA"))  # fmt: skip
    qtbot.wait(100)
    assert window.title.text() == "Fleet · CRITICAL"
    assert window.badge.text() == "SAMPLE DATA" and drawn_whole(window.badge)
    window.show_stale(AT, "ValueError")  # a second badge: the header has still room
    qtbot.wait(100)
    assert window.title.text() == "Fleet · CRITICAL" and window.badge.text() == "SAMPLE DATA"
    assert drawn_whole(window.stale) and drawn_whole(window.clock)


def test_a_long_title_is_cut_before_its_screen_count(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    window = WallWindow(theme, rotate_s=3600)
    qtbot.addWidget(window)
    window.setFixedSize(1280, 720)
    window.show()
    tiles = [Tile(f"t{i}", "CRITICAL", ["x"], 1.0) for i in range(60)]
    window.show_model(WallModel([WallPage("alerts", "Alerts firing", tiles)], "polling OK", AT,
                                badge=LABEL))  # fmt: skip
    qtbot.wait(100)
    title, badge = window.title, window.badge
    assert title.text().startswith("Alerts firing") and title.text().endswith("… · screen 1 of 5")
    assert badge.text().startswith("SAMPLE DATA") and badge.text().endswith("…")
    assert drawn_whole(title) and drawn_whole(badge)
    assert title.geometry().right() < badge.geometry().left()
    assert badge.width() >= (window.width() - 56) // 4  # a share of the header kept
