"""The wall's header: the page's title and a capture's label are cut with an ellipsis at the
width they are given (at 1280x720 they were cut mid-word by the window's edge: "Incidents ·
CRITICAL · scree", a badge ending "ran-e"), and the clock is whole. What is cut is what
matters least on a wall: the page's state is kept whole, then its name, then its screen count
(said short first, "· 1/3"), then the badges (the stale one said shorter first, "stale since
21:00"); a stale wall at 1920x1080 showed "Inci… · screen 1 of 3", then "…screen 1 of 3"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from PySide6.QtWidgets import QLabel

from aiops_desktop.models.wall import Tile, WallModel, WallPage
from aiops_desktop.qt_boot import save_screenshot
from tests.conftest import ROOT
from ui.theme import Theme
from ui.wall.window import PageWidget, WallWindow

AT = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
LABEL = "SAMPLE DATA: capture of ran-east-central-" + "W" * 40  # cut to 40 characters


def drawn_whole(label: QLabel) -> bool:
    """Its text, as set, fits the room it has (else Qt cuts it at the edge, mid-word): a
    styled label draws its text inside its contents less its frame (its padding again)."""
    room = label.contentsRect().width() - 2 * label.frameWidth()
    return label.fontMetrics().horizontalAdvance(label.text()) <= room


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
    # not updated for a while: a badge more, said short, then the clock; the page's name and
    # state whole, its screen count short; the capture's badge has no room left
    window.show_stale(datetime(2026, 12, 5, 7, 5, tzinfo=UTC), "ValueError")
    qtbot.wait(100)
    save_screenshot(window, out / "wall_header_1280_stale.png")
    assert window.stale.text() == "stale since 12-04 21:00"
    assert title.text() == f"Incidents · CRITICAL · 1/{screens}"
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


def test_a_long_title_says_its_screen_count_short_then_cuts_its_name(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    window = WallWindow(theme, rotate_s=3600)
    qtbot.addWidget(window)
    window.setFixedSize(1280, 720)
    window.show()
    tiles = [Tile(f"t{i}", "CRITICAL", ["x"], 1.0) for i in range(60)]
    window.show_model(WallModel([WallPage("alerts", "Alerts firing", tiles)], "polling OK", AT,
                                badge=LABEL))  # fmt: skip
    qtbot.wait(100)
    title, badge = window.title, window.badge
    assert title.text() == "Alerts firing · CRITICAL · 1/5"  # "· screen 1 of 5" said short
    assert badge.text().startswith("SAMPLE DATA") and badge.text().endswith("…")
    assert drawn_whole(title) and drawn_whole(badge)
    assert title.geometry().right() < badge.geometry().left()
    assert badge.width() >= (window.width() - 56) // 4  # a share of the header kept
    # a name that does not fit: cut, the state and screen count whole; the badge gives way
    name = "Alerts firing on every cluster of the fleet right now"
    window.show_model(WallModel([WallPage("alerts", name, tiles)], "polling OK", AT, badge=LABEL))
    qtbot.wait(100)
    assert title.text().startswith("Alerts firing on") and title.text().endswith(
        "… · CRITICAL · 1/5"
    )
    assert badge.width() == 0 and drawn_whole(title)


def header_parts(window: WallWindow) -> list[str]:
    """The title's parts as shown: its name, its state, its screen count."""
    return window.title.text().split(" · ")


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160)])
@pytest.mark.parametrize("label", ["SAMPLE DATA", ""])
@pytest.mark.parametrize("later", [timedelta(minutes=10), timedelta(hours=10)])
def test_a_stale_wall_keeps_the_pages_state_and_name(  # type: ignore[no-untyped-def]
    qtbot, theme: Theme, size: tuple[int, int], label: str, later: timedelta
) -> None:
    """At the wall's own size, stale: the page's state and name stay whole (the title was cut
    to "Inci… · screen 1 of 3", then "…screen 1 of 3"); the screen count is said short, the
    stale badge shorter ("stale since …"), and "SAMPLE DATA" is read whole."""
    window = WallWindow(theme, rotate_s=3600)
    qtbot.addWidget(window)
    window.setFixedSize(*size)
    window.show()
    tiles = [Tile(f"t{i}", "CRITICAL", ["x"], 1.0) for i in range(60)]
    window.show_model(WallModel([WallPage("incidents", "Incidents", tiles)], "polling OK", AT,
                                badge=label))  # fmt: skip
    qtbot.wait(100)
    page = window.stack.currentWidget()
    assert isinstance(page, PageWidget) and page.screens > 1
    window.show_stale(AT + later, "ValueError")
    qtbot.wait(100)
    if size == (1920, 1080) and label and later == timedelta(hours=10):
        out = ROOT / "test-artifacts"
        out.mkdir(exist_ok=True)
        save_screenshot(window, out / "wall_header_1920_stale.png")
    title, badge, stale, clock = window.title, window.badge, window.stale, window.clock
    name, state, screen = header_parts(window)
    assert (name, state) == ("Incidents", "CRITICAL")
    assert screen in (f"screen 1 of {page.screens}", f"1/{page.screens}")
    assert stale.text().endswith("21:00") or stale.text().endswith("21:00 UTC")
    assert stale.text().startswith(("display not updated since", "stale since"))
    if label:
        assert badge.text() == "SAMPLE DATA"
    shown = [w for w in (title, badge, stale, clock) if not w.isHidden()]
    assert all(drawn_whole(w) for w in shown)
    for one, other in pairwise(shown):
        assert one.geometry().right() < other.geometry().left()
    assert clock.geometry().right() < window.width()
