"""One time range for a page's panels: presets from 15 min to 7 d and an absolute span. A
range longer than the live buffers, or fixed, is read from the cache off the UI thread (raw
samples where the cache still has them, rollups before), thinned to what a chart shows; a span
that cannot be is said and changes nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aiops_desktop.app import DesktopApp
from aiops_desktop.models.time_range import MOST_POINTS, TimeRange
from aiops_desktop.store.series import SeriesBatch
from tests.ui.conftest import run_until
from ui.views.time_range import ABSOLUTE, TimeRangeBar, preset_covering


def test_the_bar_offers_presets_and_an_absolute_span(qtbot) -> None:  # type: ignore[no-untyped-def]
    bar = TimeRangeBar("1 h")
    qtbot.addWidget(bar)
    bar.show()
    chosen: list[TimeRange] = []
    bar.sig_changed.connect(chosen.append)
    assert [bar.range.itemText(i) for i in range(bar.range.count())] == [
        "15 min", "1 h", "6 h", "24 h", "7 d", ABSOLUTE,
    ]  # fmt: skip
    assert not bar.start.isVisible()
    bar.range.setCurrentText("7 d")
    assert chosen[-1] == TimeRange(604800) and chosen[-1].follows_now
    bar.range.setCurrentText(ABSOLUTE)  # the fields open on the range shown, nothing yet
    assert bar.start.isVisible() and bar.end.isVisible() and len(chosen) == 1
    start = datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
    bar.show_span(start, start - timedelta(hours=1))  # ends before it starts
    assert len(chosen) == 1 and "before it starts" in bar.problem.text()
    assert bar.problem.isVisible()
    bar.show_span(start, start + timedelta(hours=4))  # across midnight
    assert chosen[-1] == TimeRange(14400, start + timedelta(hours=4))
    assert chosen[-1].label == "2026-12-03 22:00 UTC to 2026-12-04 02:00 UTC"
    assert not bar.problem.isVisible()
    bar.range.setCurrentText("15 min")
    assert chosen[-1] == TimeRange(900) and not bar.start.isVisible()


def test_ranges_say_what_they_cannot_be() -> None:
    with pytest.raises(ValueError, match="at most 30 days"):
        TimeRange(31 * 86400)
    with pytest.raises(ValueError, match="time zone"):
        TimeRange(60, datetime(2026, 12, 4))
    assert TimeRange(604800).step(timedelta(seconds=15)) == timedelta(seconds=404)
    assert TimeRange(900).step(timedelta(seconds=15)) == timedelta(seconds=15)
    assert preset_covering(timedelta(minutes=10)) == "15 min"
    assert preset_covering(timedelta(days=2)) == "7 d"
    assert preset_covering(timedelta(days=20)) == "7 d"


def test_a_dashboard_range_past_the_live_buffers_reads_the_cache(
    desktop: DesktopApp, qtbot
) -> None:  # type: ignore[no-untyped-def]
    """Three days of one series at 15 s in the cache (the last 48 h raw, the rest rolled up
    to 5 min by retention): 7 d shows all three days thinned to at most MOST_POINTS, an
    absolute span only its own hours, 1 h the live buffers (empty here)."""
    core = desktop.core
    panel = core.catalog[0]
    now = time.time() // 15 * 15
    ts = now - 15 * np.arange(3 * 5760 - 1, -1, -1, dtype=float)
    values = 40 + 10 * np.sin(ts / 3600)
    batch = SeriesBatch("east-1", panel.id, {"instance": "node-0"},
                        (ts * 1000).astype(np.int64), values)  # fmt: skip
    core.series.append([batch]).result()
    core.series.flush().result()
    core.series.apply_retention(datetime.now(UTC)).result()  # day 3 becomes rollups

    window = desktop.window
    window.show_cluster("east-1")
    dashboard, chart = window.dashboard, window.dashboard.charts[panel.id]
    dashboard.select_range("7 d")
    run_until(qtbot, lambda: chart.curve_count == 1, timeout=20)
    xs, ys = chart.curve(next(iter(chart._curves))).getData()
    assert len(xs) <= MOST_POINTS and xs[0] - ts[0] < 600 and ts[-1] - xs[-1] < 600
    assert abs(float(np.nanmean(ys)) - float(np.mean(values))) < 1

    start = datetime.fromtimestamp(now - 60 * 3600, UTC)  # inside the rolled-up day
    dashboard.time_range.show_span(start, start + timedelta(hours=2))
    run_until(qtbot, lambda: (x := chart.curve(next(iter(chart._curves))).getData()[0]) is not None
              and x[-1] <= start.timestamp() + 7200, timeout=20)  # fmt: skip
    xs, _ = chart.curve(next(iter(chart._curves))).getData()
    assert xs[0] >= start.timestamp() and 20 <= len(xs) <= 25  # 5 min rollups over 2 h

    dashboard.select_range("1 h")  # the live buffers again: nothing polled here
    run_until(qtbot, lambda: chart.curve_count == 0, timeout=10)
    window.show_view("fleet")
