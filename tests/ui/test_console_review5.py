"""The console's fifth review: the table's numbers sort as numbers; a p99 past the largest
bucket (+Inf) is drawn, not a gap; the crosshair's read-out names each series shortly; a query
no cluster answered says so on its chart, not "No data in this range"."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from aiops_desktop.models import QueryStatus, QueryType
from aiops_desktop.models.metrics import (
    ClusterOutcome,
    MetricQuery,
    PromSeries,
    QueryAnswer,
    TaggedSeries,
)
from ui.charts import NO_DATA, NOT_READ, TimeSeriesChart
from ui.presenters.console import to_result
from ui.theme import Theme
from ui.views.console_view import ConsoleView

pytestmark = pytest.mark.qt
T0 = 1.7e9


def _answer(values: dict[str, float], points: dict[str, int] | None = None) -> QueryAnswer:
    series = []
    for gpu, value in values.items():
        size = (points or {}).get(gpu, 1)
        stamps = T0 + 30.0 * np.arange(size)
        series.append(TaggedSeries("ran-a", PromSeries({"gpu": gpu}, stamps, np.full(size, value))))
    query = MetricQuery(promql="DCGM_FI_DEV_POWER_USAGE")
    return QueryAnswer(query, QueryStatus.SUCCESS, series, [], 1.0)


def test_last_value_and_points_sort_as_numbers(qtbot: Any, theme: Theme) -> None:
    """'9' sorted above '1234567' as text; NaN has no number, so it sorts after them all."""
    view = ConsoleView(theme)
    qtbot.addWidget(view)
    values = {"g0": 9.0, "g1": 100.0, "g2": float("nan"), "g3": 1234567.0, "g4": 2.5e-3,
              "g5": float("inf"), "g6": -10.0}  # fmt: skip
    points = {"g0": 9, "g1": 100, "g2": 10, "g3": 12, "g4": 1, "g5": 2, "g6": 3}
    view.show_result(to_result(_answer(values, points)))

    def column(at: int) -> list[str]:
        return [view.table.item(r, at).text() for r in range(view.table.rowCount())]

    view.table.sortByColumn(2, Qt.SortOrder.AscendingOrder)
    assert column(2) == ["-10", "0.0025", "9", "100", "1234567", "+Inf", "NaN"]
    view.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    assert column(2)[1:] == ["+Inf", "1234567", "100", "9", "0.0025", "-10"]
    view.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)
    assert column(3) == ["1", "2", "3", "9", "10", "12", "100"]


def _column_rows(chart: TimeSeriesChart, name: str, at: float) -> list[float]:
    """Where in the plot's height (0 its top, 1 its bottom) the chart's columns at time ``at``
    (a pixel either side: a line's thin tip) have pixels of the series' colour."""
    image = chart.grab().toImage()
    curve = chart.curve(name)
    assert curve is not None
    colour: QColor = curve.opts["pen"].color()
    vb = chart.getPlotItem().vb
    x = int(chart.mapFromScene(vb.mapViewToScene(QPointF(at, 0))).x())
    box = chart.mapFromScene(vb.sceneBoundingRect()).boundingRect()
    return [
        (y - box.top()) / box.height()
        for y in range(box.top(), box.bottom())
        if any(
            abs(image.pixelColor(column, y).hue() - colour.hue()) < 8
            and image.pixelColor(column, y).saturation() > 100
            for column in (x - 1, x, x + 1)
        )
    ]


def _shown_chart(qtbot: Any, theme: Theme, unit: str, title: str = "p99") -> TimeSeriesChart:
    """A chart on screen, 700 x 360, as a dashboard cell draws it."""
    chart = TimeSeriesChart(title, unit, theme)
    qtbot.addWidget(chart)
    chart.resize(700, 360)
    chart.show()
    qtbot.waitExposed(chart)
    return chart


def test_a_p99_past_the_largest_bucket_is_drawn_at_the_top_edge(qtbot: Any, theme: Theme) -> None:
    """histogram_quantile is +Inf past the largest bucket: the worst latency was a gap, and a
    series +Inf throughout read "No data in this range". +/-Inf is drawn at the edge of the
    view (the cursor reads it true); only NaN is a gap."""
    chart = _shown_chart(qtbot, theme, "s")
    ts = T0 + 30.0 * np.arange(120)
    chart.set_series({"always": (ts, np.full(ts.size, np.inf))})
    assert not chart.empty
    assert chart.readout_at(ts[60]) == [("always", np.inf)]
    rows = _column_rows(chart, "always", ts[60])
    assert rows and max(rows) < 0.05  # at the top edge

    values = np.full(ts.size, np.inf)
    values[:60] = 0.25
    values[90] = np.nan  # a step with no value stays a gap
    values[99:102] = 0.5, -np.inf, 0.5  # a dip to -Inf and back
    chart.set_series({"later": (ts, values)})
    assert not chart.empty
    fine = _column_rows(chart, "later", ts[30])
    assert fine and min(fine) > 0.1  # the fine half is drawn where it is, below the edge
    past = _column_rows(chart, "later", ts[75])
    assert past and max(past) < 0.05
    assert _column_rows(chart, "later", ts[60] - 15.0)  # the rise to the edge is drawn
    assert not _column_rows(chart, "later", ts[90])  # NaN: a gap
    assert max(_column_rows(chart, "later", ts[100])) > 0.98  # -Inf: at the bottom edge

    chart.set_series({"none": (ts, np.full(ts.size, np.nan))})
    assert chart.empty and chart.empty_text == NO_DATA


def test_steps_to_and_from_inf_follow_the_plots_log_y(qtbot: Any, theme: Theme) -> None:
    """On a Log Y plot the finite end of each step into or out of +/-Inf is where the curve
    is, at log10 of its value: the rise to +Inf was drawn from the linear 1000 (off the
    plot), and a dip to -Inf was a stray line down the plot's full height."""
    chart = _shown_chart(qtbot, theme, "ms")
    ts = T0 + 30.0 * np.arange(100)
    values = np.full(ts.size, 1000.0)
    values[50:53] = np.inf  # past the largest bucket for three steps
    values[80] = -np.inf
    chart.set_series({"a": (ts, values)})
    for log in (True, False, True):  # each change of the mode pins them again
        chart.getPlotItem().setLogMode(False, log)
        chart.getPlotItem().enableAutoRange()
        flat = _column_rows(chart, "a", ts[20])
        assert flat and 0.4 < min(flat) <= max(flat) < 0.6
        rise = _column_rows(chart, "a", ts[49] + 15.0)  # mid-way up the rise to +Inf
        assert rise and 0.05 < min(rise) <= max(rise) < 0.6
        fall = _column_rows(chart, "a", ts[79] + 15.0)  # mid-way down to -Inf
        assert fall and 0.4 < min(fall) <= max(fall) < 0.95
        assert max(_column_rows(chart, "a", ts[80])) > 0.98  # -Inf: at the bottom edge


def test_the_readout_names_each_series_shortly(qtbot: Any, theme: Theme) -> None:
    """A label value runs to any length: the read-out wrote each whole name on every mouse
    move (eight of 30,000 characters: 104 ms a move, an item 230,000 px wide)."""
    chart = _shown_chart(qtbot, theme, "", "up")
    ts = T0 + 30.0 * np.arange(120)
    long = {
        f'pod-{i} note="{"x" * 30_000}" tail-{i}': (ts, np.full(ts.size, float(i)))
        for i in range(8)
    }
    chart.set_series(long)
    chart.grab()  # a paint: the view takes the values' range
    vb = chart.getPlotItem().vb
    chart._on_scene_mouse_moved(vb.mapViewToScene(QPointF(ts[60], 3.0)))
    lines = chart._readout.textItem.toPlainText().split("\n")
    assert len(lines) == 8
    assert all(len(line) <= 100 for line in lines)
    assert lines[3].startswith("pod-3 note=") and lines[3].endswith("tail-3: 3")  # both ends


def test_a_range_query_no_cluster_answered_says_so_on_its_chart(qtbot: Any, theme: Theme) -> None:
    """Every cluster failed: the chart said "No data in this range", though nothing was read;
    the next answer that was read says NO_DATA again where it has none."""
    view = ConsoleView(theme)
    qtbot.addWidget(view)
    failed = [
        ClusterOutcome("ran-a", False, 30000, reason="timed_out", error="ran-a timed out"),
        ClusterOutcome("ran-b", False, 12, reason="unreachable", error="refused"),
    ]
    query = MetricQuery(promql="up", query_type=QueryType.RANGE)
    view.show_result(to_result(QueryAnswer(query, QueryStatus.ERROR, [], failed, 1.0)))
    assert view.results.currentWidget() is view.chart
    assert view.chart.empty and view.chart.empty_text == NOT_READ
    view.show_result(to_result(QueryAnswer(query, QueryStatus.SUCCESS, [], [], 1.0)))
    assert view.chart.empty and view.chart.empty_text == NO_DATA
