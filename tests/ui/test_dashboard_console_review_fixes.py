"""A dashboard panel draws at most MOST_CURVES curves, those furthest from the rest (a FREERUN
PTP port among LOCKED ones is the lowest curve, not the highest), and says how many of its
series those are (1,000 GPUs froze the window 3.8 s at every poll); the console's history
brings back the clusters a query ran on, and its time in UTC; a LogQL metric's values are
written as the console writes them."""

from __future__ import annotations

import timeit
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt

from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.metrics import ConsoleResult, QueryRecord
from aiops_desktop.models.observability import LogSeries
from aiops_desktop.services.polling.catalog import load_catalog
from ui.theme import Theme
from ui.views.console_view import MOST_CURVES, ConsoleView, outlying_curves
from ui.views.dashboard_view import DashboardView
from ui.views.logs_view import LogsView

pytestmark = pytest.mark.qt
TS = np.arange(1_700_000_000, 1_700_000_000 + 60 * 15, 15.0)


def _series(n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Series whose peak is their number: gpu-0999 rose highest."""
    return {f"gpu-{i:04d}": (TS, np.full(TS.size, float(i))) for i in range(n)}


def _title(chart: Any) -> str:
    return str(chart.getPlotItem().titleLabel.text)


def _panel() -> Panel:
    return next(p for p in load_catalog() if p.id == "gpu_temperature")


def test_a_dashboard_panel_draws_the_most_outlying_curves_and_says_how_many(  # type: ignore[no-untyped-def]
    qtbot, theme: Theme
) -> None:
    panel = _panel()
    view = DashboardView(theme)
    qtbot.addWidget(view)
    view.set_panels([panel])
    chart = view.charts[panel.id]
    view.show_panel(panel.id, _series(1_000), TS[0], TS[-1])
    assert chart.curve_count == MOST_CURVES
    # the 50 lowest and the 50 highest, furthest from the median of 499.5
    outlying = {f"gpu-{i:04d}" for i in [*range(50), *range(950, 1_000)]}
    assert all(chart.curve(name) is not None for name in outlying)
    assert f"{MOST_CURVES:,} of 1,000 series shown" in _title(chart)
    assert panel.title in _title(chart)
    view.show_panel(panel.id, _series(5), TS[0], TS[-1])  # all of them: nothing to say
    assert chart.curve_count == 5
    assert " of " not in _title(chart) and panel.title in _title(chart)


def test_the_console_chart_draws_the_most_outlying_curves_too(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = ConsoleView(theme)
    qtbot.addWidget(view)
    series = _series(300)
    view.show_result(ConsoleResult("SUCCESS", 1.0, False, [], series, []))
    assert view.chart.curve_count == MOST_CURVES
    assert view.chart.curve("gpu-0299") is not None and view.chart.curve("gpu-0000") is not None
    assert view.chart.curve("gpu-0150") is None  # the median, the most ordinary


# a PTP port's worst is its lowest curve: the "highest" 100 left it out
def _ports(n: int, value: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {f"du-{i:03d}/ens1f0": (TS, np.full(TS.size, value)) for i in range(n)}


def test_a_freerun_port_among_locked_ones_is_drawn() -> None:
    """ptp_clock_state: 0 FREERUN, 1 LOCKED, 2 HOLDOVER."""
    state = _ports(150, 1.0)
    state["du-077/ens1f0"] = (TS, np.zeros(TS.size))  # FREERUN all along
    holdover = np.ones(TS.size)
    holdover[-3:] = 2.0  # in holdover for the last three points
    state["du-120/ens1f0"] = (TS, holdover)
    drawn = outlying_curves(state)
    assert len(drawn) == MOST_CURVES
    assert "du-077/ens1f0" in drawn and "du-120/ens1f0" in drawn


def test_a_port_4_us_behind_is_drawn() -> None:
    offset = _ports(150, 20.0)  # +20 ns: fine
    for i in range(0, 150, 2):
        offset[f"du-{i:03d}/ens1f0"] = (TS, np.full(TS.size, -20.0))  # -20 ns: fine too
    offset["du-009/ens1f0"] = (TS, np.full(TS.size, -4000.0))
    assert "du-009/ens1f0" in outlying_curves(offset)


def test_an_idle_gpu_among_busy_ones_and_a_hot_one_among_cool_ones_are_drawn() -> None:
    busy = {f"gpu-{i:04d}": (TS, np.full(TS.size, 95.0 + i % 5)) for i in range(500)}
    busy["gpu-0404"] = (TS, np.full(TS.size, 0.0))
    cool = {f"gpu-{i:04d}": (TS, np.full(TS.size, 40.0 + i % 5)) for i in range(500)}
    hot = np.full(TS.size, 41.0)
    hot[20] = 92.0  # a spike, once
    cool["gpu-0404"] = (TS, hot)
    assert "gpu-0404" in outlying_curves(busy) and "gpu-0404" in outlying_curves(cool)


def test_at_most_most_curves_are_kept_ties_by_name_and_gaps_and_nan_are_borne() -> None:
    series = _ports(300, 1.0)  # all alike: the first by name
    drawn = outlying_curves(series)
    assert list(drawn) == sorted(series)[:MOST_CURVES]
    series["du-299/ens1f0"] = (TS, np.full(TS.size, np.nan))  # no value at all: last
    series["du-000/ens1f0"] = (TS[:3], np.array([1.0, np.nan, 0.0]))  # shorter, a gap
    drawn = outlying_curves(series)
    assert len(drawn) == MOST_CURVES and "du-000/ens1f0" in drawn
    assert "du-299/ens1f0" not in drawn
    few = _ports(5, 1.0)
    assert outlying_curves(few) is few  # all of them: nothing chosen


def test_choosing_among_1000_series_is_fast() -> None:
    rng = np.random.default_rng(7)
    ts = np.arange(240, dtype=float)
    series = {f"gpu-{i:04d}": (ts, rng.normal(60.0, 5.0, ts.size)) for i in range(1_000)}
    outlying_curves(series)  # warm
    took = min(timeit.repeat(lambda: outlying_curves(series), number=1, repeat=5))
    assert took < 0.05, f"{took * 1000:.0f} ms"


def _record(clusters: list[str]) -> QueryRecord:
    return QueryRecord(promql="sum(up)", clusters=clusters, query_type="range", range_s=3600,
                       step_s=30, aggregation="SUM", status="SUCCESS",
                       run_at="2026-12-06T17:00:05+00:00")  # fmt: skip


def test_a_query_from_history_runs_on_its_own_clusters(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = ConsoleView(theme)
    qtbot.addWidget(view)
    view.set_clusters(["east-1", "west-2", "prod-9"])  # all checked
    view.show_history([_record(["east-1"]), _record(["west-2", "gone-3"]), _record([])])
    assert "2026-12-06 17:00:05 UTC" in view.history.item(0).text()
    view._on_history_double_clicked(view.history.item(0))
    request = view.request()
    assert (request.promql, request.range_s, request.clusters) == ("sum(up)", 3600, ["east-1"])
    view._on_history_double_clicked(view.history.item(1))  # one no longer registered
    assert view.request().clusters == ["west-2"]
    assert "gone-3" in view.status.text() and "registered" in view.status.text()
    view._on_history_double_clicked(view.history.item(2))  # asked of every cluster
    assert view.request().clusters == ["east-1", "west-2", "prod-9"]
    assert "gone-3" not in view.status.text()
    checked = [view.clusters.item(i).checkState() for i in range(view.clusters.count())]
    assert checked == [Qt.CheckState.Checked] * 3


def test_a_logql_metrics_values_are_written_whole(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    """Six significant digits wrote a count of 1,234,567 as "1.23457e+06"."""
    view = LogsView(theme)
    qtbot.addWidget(view)
    view.show_lines([], False, [
        LogSeries(labels={"level": "error"}, points=[(1.0, 1_234_568.0), (2.0, 1_234_567.0)]),
        LogSeries(labels={"level": "info"}, points=[(2.0, 0.123456789)]),
    ])  # fmt: skip
    table = view.series_table
    rows = {table.item(r, 0).text(): [table.item(r, c).text() for c in (1, 2)]
            for r in range(table.rowCount())}  # fmt: skip
    assert rows == {'{level="error"}': ["1234567", "1234568"],
                    '{level="info"}': ["0.123456789", "0.123456789"]}  # fmt: skip
