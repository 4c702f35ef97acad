"""A dashboard panel draws at most MOST_CURVES curves, the highest, and says how many of its
series those are (1,000 GPUs froze the window 3.8 s at every poll); the console's history
brings back the clusters a query ran on, and its time in UTC; a LogQL metric's values are
written as the console writes them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt

from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.metrics import ConsoleResult, QueryRecord
from aiops_desktop.models.observability import LogSeries
from aiops_desktop.services.polling.catalog import load_catalog
from ui.theme import Theme
from ui.views.console_view import MOST_CURVES, ConsoleView
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


def test_a_dashboard_panel_draws_the_highest_curves_and_says_how_many(  # type: ignore[no-untyped-def]
    qtbot, theme: Theme
) -> None:
    panel = _panel()
    view = DashboardView(theme)
    qtbot.addWidget(view)
    view.set_panels([panel])
    chart = view.charts[panel.id]
    view.show_panel(panel.id, _series(1_000), TS[0], TS[-1])
    assert chart.curve_count == MOST_CURVES
    highest = {f"gpu-{i:04d}" for i in range(1_000 - MOST_CURVES, 1_000)}
    assert all(chart.curve(name) is not None for name in highest)
    assert f"{MOST_CURVES:,} of 1,000 series shown" in _title(chart)
    assert panel.title in _title(chart)
    view.show_panel(panel.id, _series(5), TS[0], TS[-1])  # all of them: nothing to say
    assert chart.curve_count == 5
    assert " of " not in _title(chart) and panel.title in _title(chart)


def test_the_console_chart_draws_the_highest_curves_too(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = ConsoleView(theme)
    qtbot.addWidget(view)
    series = _series(300)
    view.show_result(ConsoleResult("SUCCESS", 1.0, False, [], series, []))
    assert view.chart.curve_count == MOST_CURVES
    assert view.chart.curve("gpu-0299") is not None and view.chart.curve("gpu-0000") is None


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
