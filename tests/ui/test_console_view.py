"""The PromQL console with answers of any size: a query that matches thousands of series draws
a bounded number of curves and rows and says how many it shows; a server's long error is cut;
a history row that could not be written is said beside the answer; the result is built off
the UI thread."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import QueryStatus, QueryType
from aiops_desktop.models.metrics import (
    ClusterOutcome,
    ConsoleRequest,
    MetricQuery,
    PromSeries,
    QueryAnswer,
    QueryRecord,
    TaggedSeries,
)
from aiops_desktop.services.queries.console import ConsoleAnswer
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.ui.conftest import run_until
from ui.presenters import console as console_presenter
from ui.presenters.console import ConsolePresenter, to_result
from ui.theme import Theme
from ui.views.console_view import MOST_CURVES, MOST_ROWS, ConsoleView

pytestmark = pytest.mark.qt
POINTS = 120


def _answer(n: int, *, instant: bool = False, **kw: Any) -> QueryAnswer:
    ts = 1.7e9 + 30.0 * np.arange(1 if instant else POINTS)
    series = [
        TaggedSeries("ran-a", PromSeries({"__name__": "up", "pod": f"p{i}"}, ts, np.ones(ts.size)))
        for i in range(n)
    ]
    query = MetricQuery(promql="up", query_type=QueryType.INSTANT if instant else QueryType.RANGE)
    return QueryAnswer(query, QueryStatus.SUCCESS, series, kw.pop("outcomes", []), 12.0, **kw)


def _view(qtbot: Any, theme: Theme) -> ConsoleView:
    view = ConsoleView(theme)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    return view


def test_many_series_draw_a_bounded_chart_and_table_and_say_so(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    """500 series held the UI thread 2 s, 2,000 7 s, 8,000 38 s: a curve each, all of them."""
    assert MOST_CURVES < 2_000 and MOST_ROWS < 6_000
    view = _view(qtbot, theme)
    view.show_result(to_result(_answer(6_000)))
    assert view.chart.curve_count == MOST_CURVES
    assert view.table.rowCount() == MOST_ROWS
    said = view.status.text()
    assert "6,000 series" in said
    assert f"{MOST_ROWS:,} of 6,000" in said and f"{MOST_CURVES:,} of 6,000" in said
    view.show_result(to_result(_answer(3)))  # a small answer: all of it, nothing to say
    assert view.chart.curve_count == 3 and view.table.rowCount() == 3
    assert " of " not in view.status.text()


def test_an_instant_answer_says_only_what_its_table_leaves_out(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = _view(qtbot, theme)
    view.show_result(to_result(_answer(MOST_ROWS + 10, instant=True)))
    assert view.table.rowCount() == MOST_ROWS and view.chart.curve_count == 0
    said = view.status.text()
    assert f"{MOST_ROWS:,} of {MOST_ROWS + 10:,}" in said and "chart" not in said


def test_a_long_failure_is_cut_in_the_result(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    """A server's 1 MB error text went whole into the status label (2.8 s on the UI thread)."""
    failed = ClusterOutcome("ran-b", False, 5.0, reason="invalid_query", error="x" * 1_000_000)
    result = to_result(_answer(1, outcomes=[failed]))
    ((cluster, why),) = result.failures
    assert cluster == "ran-b" and why.startswith("invalid_query: xxx") and len(why) < 600
    view = _view(qtbot, theme)
    view.show_result(result)
    assert len(view.status.text()) < 2_000


def test_a_note_is_said_beside_the_answer(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    answer = _answer(2)
    noted = ConsoleAnswer(answer.query, answer.status, answer.series, [], 1.0,
                          notes=["query history not saved: database or disk is full"])  # fmt: skip
    view = _view(qtbot, theme)
    view.show_result(to_result(noted))
    said = view.status.text()
    assert "SUCCESS" in said and "query history not saved: database or disk is full" in said
    assert view.table.rowCount() == 2


class _Console:
    """The console service: one answer, with a note; its history read fails."""

    def __init__(self, answer: ConsoleAnswer) -> None:
        self.answer = answer

    async def run(self, request: ConsoleRequest) -> ConsoleAnswer:
        return self.answer

    async def history(self, limit: int = 100) -> list[QueryRecord]:
        raise OSError("database is locked")


def test_the_presenter_builds_the_result_off_the_ui_thread_and_keeps_it(  # type: ignore[no-untyped-def]
    qtbot, qloop, theme: Theme, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The result was built on the UI thread; a history that could not be read replaced the
    answer just shown with its error."""
    threads: list[threading.Thread] = []

    def spy(answer: QueryAnswer) -> Any:
        threads.append(threading.current_thread())
        return to_result(answer)

    monkeypatch.setattr(console_presenter, "to_result", spy)
    answer = _answer(2)
    noted = ConsoleAnswer(answer.query, answer.status, answer.series, [], 1.0,
                          notes=["query history not saved: database or disk is full"])  # fmt: skip
    tasks = TaskSupervisor()
    presenter = ConsolePresenter(console=_Console(noted), registry=None, tasks=tasks)  # type: ignore[arg-type]
    view = _view(qtbot, theme)
    presenter.sig_result.connect(view.show_result)
    presenter.sig_error.connect(view.show_error)
    presenter.run(ConsoleRequest(promql="up", clusters=["ran-a"]))
    run_until(qtbot, lambda: tasks.running == 0)
    assert threads and threads[0] is not threading.main_thread()
    said = view.status.text()
    assert "SUCCESS" in said and "query history not saved" in said
    assert "database is locked" not in said
