"""The console's table shows a label value as one printable line (a CR, a tab, ESC or an RTL
override in a server's label forged rows and cells where a row was copied), its whole text
the tooltip; and the curves a large answer draws are chosen with the result, off the UI
thread (100,000 series held the UI thread 2 s in ``show_result``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import QueryStatus, QueryType
from aiops_desktop.models.curves import MOST_CURVES, outlying_curves
from aiops_desktop.models.metrics import MetricQuery, PromSeries, QueryAnswer, TaggedSeries
from ui.presenters.console import to_result
from ui.theme import Theme
from ui.views import console_view
from ui.views.console_view import ConsoleView

pytestmark = pytest.mark.qt

FORGED = {
    "__name__": "up",
    "pod": 'api-0\r\tprod\tup{pod="db-0"}\t0',
    "job": "x\u202eSYDAER\x1b[2J",
}


def _view(qtbot: Any, theme: Theme) -> ConsoleView:
    view = ConsoleView(theme)
    qtbot.addWidget(view)
    return view


def test_a_label_value_s_controls_stay_out_of_the_cells_and_the_copied_row(  # type: ignore[no-untyped-def]
    qtbot, theme: Theme
) -> None:
    ts = np.array([1.7e9])
    series = [TaggedSeries("c1\r\x1b[31m", PromSeries(FORGED, ts, np.array([1.0])))]
    answer = QueryAnswer(MetricQuery(promql="up"), QueryStatus.SUCCESS, series, [], 1.0)
    view = _view(qtbot, theme)
    view.show_result(to_result(answer))
    table = view.table
    cluster, cell = table.item(0, 0), table.item(0, 1)
    assert cluster is not None and cell is not None
    for text in (cluster.text(), cell.text()):
        assert not [c for c in text if c in "\r\n\t\x1b\u202e"], repr(text)
    # each control shown as its escape, as PromQL writes it: seen, and rewriting nothing
    assert r"api-0\r\tprod\tup{pod=\"db-0\"}\t0" in cell.text()
    assert r"x\u202eSYDAER\u001b[2J" in cell.text()
    assert "\x1b" not in cell.toolTip()  # no tooltip needed: the cell shows it all
    table.selectRow(0)
    copied = table.selection_text()
    assert "\r" not in copied and "\n" not in copied
    assert len(copied.split("\t")) == 4  # cluster, series, last value, points


def test_the_chosen_curves_and_rows_come_with_the_result(  # type: ignore[no-untyped-def]
    qtbot, theme: Theme, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``to_result`` runs in a worker thread: what the chart and the table draw is worked out
    there, and ``show_result`` (on the UI thread) ranks nothing."""
    ts = 1.7e9 + 30.0 * np.arange(20)
    series = [
        TaggedSeries("c1", PromSeries({"__name__": "x", "pod": f"p{i}"}, ts, np.full(20, i % 7)))
        for i in range(MOST_CURVES + 50)
    ]
    query = MetricQuery(promql="x", query_type=QueryType.RANGE)
    result = to_result(QueryAnswer(query, QueryStatus.SUCCESS, series, [], 1.0))
    assert list(result.curves) == list(outlying_curves(result.series))
    assert len(result.curves) == MOST_CURVES and len(result.table) == MOST_CURVES + 50

    def ranked_on_the_ui_thread(*_: Any, **__: Any) -> Any:
        raise AssertionError("outlying_curves ran in show_result")

    monkeypatch.setattr(console_view, "outlying_curves", ranked_on_the_ui_thread)
    view = _view(qtbot, theme)
    view.show_result(result)
    assert view.chart.curve_count == MOST_CURVES
    assert view.table.rowCount() == MOST_CURVES + 50
