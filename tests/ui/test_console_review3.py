"""The console chart shows an outage as a gap (Prometheus leaves a step with no sample out of a
range answer, and the curve joined the samples either side of it with a line); many failed
clusters are summed up on the status line, all of them in its tooltip (30 unreachable ones, a
line each, left the results 101 px of 680); a history entry is re-run as it was recorded (a
range the mode menu lacks ran as an instant query, its step dropped)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QRectF

from aiops_desktop.models import QueryStatus, QueryType
from aiops_desktop.models.metrics import (
    ClusterOutcome,
    MetricQuery,
    PromSeries,
    QueryAnswer,
    QueryRecord,
    TaggedSeries,
)
from ui import charts
from ui.presenters.console import to_result
from ui.theme import Theme
from ui.views.console_view import MODES, TIP_MOST, ConsoleView

pytestmark = pytest.mark.qt
T0 = 1.7e9


def _view(qtbot: Any, theme: Theme) -> ConsoleView:
    view = ConsoleView(theme)
    qtbot.addWidget(view)
    view.resize(1400, 900)
    view.show()
    return view


def _outage_answer(step_s: float = 30.0) -> QueryAnswer:
    """An hour at ``step_s``, the target down from minute 15 to minute 45: no samples there."""
    steps = np.arange(120)
    present = (steps < 30) | (steps >= 90)
    ts = T0 + step_s * steps[present]
    values = np.where(steps[present] < 30, 10.0, 20.0)
    series = [TaggedSeries("ran-a", PromSeries({"__name__": "up", "job": "j"}, ts, values))]
    query = MetricQuery(promql="up", query_type=QueryType.RANGE, step=timedelta(seconds=step_s))
    return QueryAnswer(query, QueryStatus.SUCCESS, series, [], 1.0)


def test_an_outage_in_a_range_answer_is_a_gap_on_the_chart(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    result = to_result(_outage_answer())
    assert result.rows[0][3] == 60  # the points the server sent, not the gap's
    view = _view(qtbot, theme)
    view.show_result(result)
    x, y = next(iter(view.chart._curves.values())).getData()
    assert int(np.isnan(y).sum()) == 1
    gap = int(np.flatnonzero(np.isnan(y))[0])
    assert x[gap - 1] == T0 + 29 * 30 and x[gap] == T0 + 30 * 30 and x[gap + 1] == T0 + 90 * 30
    mid = T0 + 60 * 30
    drawn = next(iter(view.chart._curves.values())).curve.getPath()
    assert not drawn.intersects(QRectF(mid - 1, 0, 2, 100))  # no line across the outage
    assert view.chart.readout_at(mid) == []
    assert view.chart.readout_at(T0 + 95 * 30) != []


def test_the_gap_is_judged_by_the_query_s_step() -> None:
    """A coarser step (Prometheus' 11,000 points at most) spaces the samples further: no gap."""
    ts = T0 + 120.0 * np.arange(10)
    values = np.arange(10.0)
    same_ts, same_values = charts.gaps_marked(ts, values, 120.0)
    assert np.array_equal(same_ts, ts) and np.array_equal(same_values, values)
    marked_ts, marked_values = charts.gaps_marked(ts, values, 30.0)  # every sample 4 steps apart
    assert marked_ts.size == 19 and int(np.isnan(marked_values).sum()) == 9
    one_ts, one_values = charts.gaps_marked(ts[:1], values[:1], 30.0)
    assert one_ts.size == 1 and one_values[0] == 0.0


def test_an_instant_answer_is_left_as_it_is() -> None:
    ts = np.array([T0, T0 + 3600.0])  # two instants of one series, an hour apart
    series = [TaggedSeries("ran-a", PromSeries({"__name__": "up"}, ts, np.ones(2)))]
    answer = QueryAnswer(MetricQuery(promql="up"), QueryStatus.SUCCESS, series, [], 1.0)
    ((_, values),) = to_result(answer).series.values()
    assert not np.isnan(values).any()


def _many_failures(n: int) -> QueryAnswer:
    ts = T0 + 30.0 * np.arange(120)
    ok = [TaggedSeries(f"ok-{i}", PromSeries({"__name__": "up"}, ts, np.ones(120)))
          for i in range(10)]  # fmt: skip
    outcomes = [ClusterOutcome(f"ok-{i}", True, 5.0, 1) for i in range(10)]
    outcomes += [
        ClusterOutcome(f"far-edge-{i:02d}", False, 35000.0, reason="unreachable",
                       error=f"far-edge-{i:02d}/prometheus (https://prometheus-k8s.far-edge-"
                             f"{i:02d}.example.net) is unreachable: [Errno 113] No route to host")
        for i in range(n)
    ]  # fmt: skip
    query = MetricQuery(promql="up", query_type=QueryType.RANGE)
    return QueryAnswer(query, QueryStatus.PARTIAL, ok, outcomes, 1.0,
                       notes=["read at a step of 63s, not 30s"])  # fmt: skip


@pytest.mark.parametrize("failed", [30, 60])
def test_many_failed_clusters_are_summed_up_and_the_results_keep_their_room(  # type: ignore[no-untyped-def]
    qtbot, theme: Theme, failed: int
) -> None:
    view = _view(qtbot, theme)
    qtbot.waitExposed(view)
    before, window = view.results.height(), view.height()
    view.show_result(to_result(_many_failures(failed)))
    qtbot.wait(10)
    said = view.status.text()
    assert said.count("<br>") <= 5, said
    assert "PARTIAL" in said and "read at a step of 63s" in said  # the note comes first
    assert "far-edge-00: unreachable" in said and f"{failed - 1} more" in said
    assert view.height() == window and view.results.height() >= 0.9 * before
    listed = view.status.toolTip()  # bounded as a table's tips: the first, then a count
    assert all(f"far-edge-{i:02d}" in listed for i in range(TIP_MOST - 1))  # the note is one
    assert f"{failed - (TIP_MOST - 1)} more" in listed
    assert "No route to host" in listed
    view.show_result(to_result(_many_failures(1)))  # a few: each on a line
    assert "far-edge-00: unreachable" in view.status.text() and " more" not in view.status.text()
    answer = _many_failures(0)
    answer.notes.clear()
    view.show_result(to_result(answer))  # none: no tooltip left of the last
    assert not view.status.toolTip()


def test_a_long_failure_is_cut_on_the_status_line_and_whole_in_its_tooltip(  # type: ignore[no-untyped-def]
    qtbot, theme: Theme
) -> None:
    answer = _many_failures(0)
    answer.outcomes.append(ClusterOutcome("ran-b", False, 1.0, reason="error", error="x" * 400))
    view = _view(qtbot, theme)
    view.show_result(to_result(answer))
    assert "x" * 400 not in view.status.text() and "x" * 400 in view.status.toolTip()


def test_a_failure_s_markup_stays_text_in_the_summary_and_the_tooltip(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    answer = _many_failures(5)
    answer.outcomes.append(ClusterOutcome("<b>x</b>", False, 1.0, reason="error", error="<i>y</i>"))
    view = _view(qtbot, theme)
    view.show_result(to_result(answer))
    assert "<b>x" not in view.status.text() and "<b>x" not in view.status.toolTip()
    assert "&lt;b&gt;x" in view.status.toolTip()


def _record(range_s: int | None, step_s: int | None, query_type: str = "RANGE") -> QueryRecord:
    return QueryRecord(promql="rate(x[5m])", clusters=["east-1"], query_type=query_type,
                       range_s=range_s, step_s=step_s, aggregation="MERGE", status="SUCCESS",
                       run_at="2026-01-01T00:00:00+00:00")  # fmt: skip


def test_a_history_range_the_menu_lacks_is_re_run_as_recorded(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    """The CLI's ``query --range 2h`` ran again as an instant query."""
    view = _view(qtbot, theme)
    view.set_clusters(["east-1"])
    view.show_history([_record(7200, 60), _record(3600, 15), _record(None, None, "INSTANT")])
    view._on_history_double_clicked(view.history.item(0))
    request = view.request()
    assert (request.range_s, request.step_s) == (7200, 60)
    assert view.mode.currentText() == "Range 2 h"  # a mode of its own, chosen
    view._on_history_double_clicked(view.history.item(0))  # again: the same one entry
    assert view.mode.count() == len(MODES) + 1
    view._on_history_double_clicked(view.history.item(1))  # a listed range, its own step
    assert (view.request().range_s, view.request().step_s) == (3600, 15)
    view.mode.setCurrentText("Range 6 h")  # the person's choice: its own step
    assert (view.request().range_s, view.request().step_s) == (21600, 120)
    view._on_history_double_clicked(view.history.item(2))
    assert view.request().range_s is None and view.mode.currentText() == "Instant"


def test_a_range_recorded_without_its_range_is_said(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = _view(qtbot, theme)
    view.set_clusters(["east-1"])
    view.show_history([_record(None, 60)])
    view._on_history_double_clicked(view.history.item(0))
    assert view.mode.currentText() == "Instant"
    assert "instant" in view.status.text().lower() and "range" in view.status.text().lower()
