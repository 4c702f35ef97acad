"""A wall whose model cannot be built for long does not keep its tiles green: past
STALE_AFTER_S every tile is badged stale (since its own loss, or since the display's last
update) and what read OK is UNKNOWN, the page's title too; and a "since" that is not today
(UTC) says its date: two days and 25 minutes later it does not read as 25 minutes ago."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aiops_desktop.models.wall import STALE_AFTER_S, Tile, WallModel, WallPage
from ui.theme import Theme
from ui.wall.window import PageWidget, TileWidget, WallWindow, freshness_text

T0 = datetime(2026, 1, 1, 23, 0, tzinfo=UTC)
LOST = datetime(2026, 1, 1, 22, 10, tzinfo=UTC)


@pytest.fixture
def wall(qtbot, theme: Theme):  # type: ignore[no-untyped-def]
    window = WallWindow(theme, rotate_s=3600)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    yield window
    window.allow_close()


def shown(window: WallWindow) -> list[TileWidget]:
    page = window.stack.currentWidget()
    assert isinstance(page, PageWidget)
    return [t for t in page.tiles if t.isVisible()]


def model(at: datetime) -> WallModel:
    tiles = [Tile("gpu-east", "CRITICAL", ["CRITICAL · XID 79"], 20.0),
             Tile("ran-west", "UNKNOWN", ["STALE · score 85"], 300.0, True, LOST),
             Tile("ran-east", "OK", ["OK · score 100", "no findings"], 20.0)]  # fmt: skip
    ports = [Tile("ran-east", "OK", ["OK · no PTP findings", "4/4 ports LOCKED"], 20.0)]
    pages = [WallPage("fleet", "Fleet", tiles), WallPage("ptp", "PTP timing", ports)]
    return WallModel(pages, "polling OK · 3 sources", at)


# -- defect 2: a display not updated for long is not green -----------------------------------
def test_a_display_not_updated_for_long_badges_every_tile_and_greys_ok(
    wall: WallWindow, theme: Theme
) -> None:
    at = T0 - timedelta(hours=3)  # 20:00, updated last
    wall.show_model(model(at))
    wall.show_stale(T0, "KeyError")  # 23:00: 3 h later, the same day
    critical, lost, ok = shown(wall)
    assert ok.title.full_text() == f"{theme.mark('UNKNOWN')} ran-east"  # not "● ran-east"
    assert ok.age.full_text() == "STALE since 20:00 UTC · data 3.0 h ago"  # the display's
    assert lost.age.full_text() == "STALE since 22:10 UTC · data 3.1 h ago"  # its own loss
    assert critical.title.full_text() == f"{theme.mark('CRITICAL')} gpu-east"  # kept as it is
    assert critical.age.full_text().startswith("STALE since 20:00 UTC")
    assert wall.title.full_text() == "Fleet · CRITICAL"
    wall.show_page("ptp")
    assert wall.title.full_text() == "PTP timing · UNKNOWN"  # not "PTP timing · OK"


def test_a_display_not_updated_briefly_keeps_its_tiles(wall: WallWindow, theme: Theme) -> None:
    wall.show_model(model(T0))
    wall.show_stale(T0 + timedelta(seconds=STALE_AFTER_S - 10), "KeyError")
    *_, ok = shown(wall)
    assert ok.title.full_text() == f"{theme.mark('OK')} ran-east"
    assert ok.age.full_text() == "data 3 min ago"  # aged, not yet badged
    wall.show_model(model(T0 + timedelta(hours=1)))  # built again: as the model says
    assert shown(wall)[2].age.full_text() == "data 20 s ago"


# -- defect 4: a "since" not of today says its date -------------------------------------------
def test_since_says_its_date_when_it_is_not_today(wall: WallWindow) -> None:
    since = datetime(2026, 1, 1, 14, 5, tzinfo=UTC)
    now = since + timedelta(days=2, minutes=25)
    wall.show_model(WallModel([WallPage("fleet", "Fleet", [Tile("east", "OK", ["OK"], 20.0)])],
                              "polling OK", since))  # fmt: skip
    wall.show_stale(now, "KeyError")
    # said short at 1280x720 (the page's state first): its date still
    assert wall.stale.text() == "stale since 2026-01-01 14:05 UTC"
    assert wall.clock.text() == "14:30:00 UTC"
    (tile,) = shown(wall)
    assert tile.age.full_text().startswith("STALE since 2026-01-01 14:05 UTC")
    far = Tile("far-cell-9", "CRITICAL", ["alerts unreachable"], None, True, since)
    assert freshness_text(far, now) == "STALE since 2026-01-01 14:05 UTC"
    assert freshness_text(far, since + timedelta(minutes=25)) == "STALE since 14:05 UTC"


def test_the_header_says_only_the_time_when_it_is_today(wall: WallWindow) -> None:
    wall.show_model(model(T0 - timedelta(minutes=5)))
    wall.show_stale(T0, "KeyError")
    assert wall.stale.text() == "display not updated since 22:55 UTC"
