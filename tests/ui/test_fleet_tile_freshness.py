"""A tile's freshness line is cheap on the Fleet page's every-second tick (600 tiles: its text
changes each second): one line, elided in the middle (the age first, "⚠ STALE" last, both
kept), the whole in its tooltip; its colour set again only when staleness changes (a style
sheet set restyles the label; word-wrapped to two lines, the tick took 115 ms, not 75)."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from aiops_desktop.models.fleet import TileModel
from ui.theme import Theme
from ui.views.fleet_view import ClusterTile

pytestmark = pytest.mark.qt

LONG = ("data 4 min ago · the hub's newest sample 6 min ago · metrics STALE and alerts "
        "UNREACHABLE since 14:05 UTC")  # fmt: skip


def _tile(freshness: str, *, stale: bool) -> TileModel:
    return TileModel(name="ran-east-du-7", title="ran-east-du-7", state="DEGRADED",
                     health_score=60, alerts={}, spark=None, spark_title="",
                     freshness=freshness, stale=stale, via_hub="acm-hub")  # fmt: skip


def test_a_long_freshness_is_one_line_keeping_its_age_and_stale(qtbot: QtBot, theme: Theme) -> None:
    tile = ClusterTile(theme)
    qtbot.addWidget(tile)
    tile.resize(300, 196)
    tile.show()
    tile.show_tile(_tile(LONG, stale=True))
    label = tile.freshness
    assert not label.wordWrap()
    shown = label.text()
    assert shown.startswith("data 4 min ago") and shown.endswith("⚠ STALE") and "…" in shown
    assert label.fontMetrics().horizontalAdvance(shown) <= label.width()
    assert "since 14:05 UTC  ⚠ STALE" in label.toolTip()


def test_the_freshness_colour_is_set_only_when_staleness_changes(
    qtbot: QtBot, theme: Theme
) -> None:
    tile = ClusterTile(theme)
    qtbot.addWidget(tile)
    tile.show_tile(_tile("data 1 s ago", stale=False))
    styled: list[str] = []
    tile.freshness.setStyleSheet = styled.append
    for k in range(2, 5):  # every second: another age, as fresh as it was
        tile.show_tile(_tile(f"data {k} s ago", stale=False))
    assert styled == [] and tile.freshness.text() == "data 4 s ago"
    tile.show_tile(_tile("data 5 min ago", stale=True))
    assert len(styled) == 1 and theme.severity("warning") in styled[0]
