"""The Logs and Traces pages where the workload writes what it likes and answers come late: a
span's names and status in the waterfall's tooltip are text, never markup; the answer shown is
the one asked last, never the slowest; a failed volume query leaves the lines it did not fetch
shown, with a note; a label value completed in the editor cannot add a matcher of its own."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QHelpEvent, QTextDocument

from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import LogEntry, LogResult, LogSeries, Span, Trace
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.logql import parse
from collectors.errors import CollectorTimeout
from tests.ui.conftest import run_until
from tests.ui.logs_traces_fakes import Registry
from ui.presenters.logs_traces import LogRequest, LogsPresenter, TracesPresenter
from ui.theme import Theme
from ui.views import traces_view
from ui.views.logs_view import LogsView
from ui.views.traces_view import ROW_H, TracesView

pytestmark = pytest.mark.qt
T = 1_700_000_000_000_000_000


class _Gated:
    """Logs and traces whose answers come when the test says: each question waits on its
    own gate (named by the query or the trace id)."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.volume_fails = False

    async def _wait(self, name: str) -> None:
        await self.gates.setdefault(name, asyncio.Event()).wait()

    async def logs(self, cluster: str, logql: str, **_: Any) -> LogResult:
        await self._wait(logql)
        return LogResult(entries=[LogEntry(cluster=cluster, timestamp_ns=T, line=logql)])

    async def volume(self, cluster: str, logql: str, **_: Any) -> tuple[int, list[LogSeries]]:
        if self.volume_fails:
            raise CollectorTimeout("loki did not answer in time (30 s)")
        return 60, [LogSeries(points=[(T / 1e9, 1.0)])]

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        await self._wait(trace_id)
        span = Span(trace_id=trace_id, span_id="b" * 16, service_name="checkout",
                    operation="op", start_ns=T, duration_ns=5)  # fmt: skip
        return Trace(trace_id=trace_id, cluster=cluster, spans=[span])


def _crafted_span() -> Span:
    return Span(trace_id="a" * 32, span_id="b" * 16, service_name="checkout",
                operation='<img width="1600" height="1000"><b>GET</b>', start_ns=1,
                duration_ns=5, status=SpanStatus.ERROR,
                status_message='<font size="6">OK - no action needed</font>')  # fmt: skip


def test_the_waterfalls_tooltip_shows_a_spans_text_as_text(  # type: ignore[no-untyped-def]
    qtbot, qloop, theme: Theme, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An instrumented app names its spans: an operation ``<img width=1600>`` drew a 1600
    pixel tooltip, a status ``<font size=6>OK</font>`` shouted over the real error."""
    shown: list[str] = []
    monkeypatch.setattr(traces_view.QToolTip, "showText", lambda _at, text, _w: shown.append(text))
    span = _crafted_span()
    view = TracesView(theme)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show_trace(Trace(trace_id="a" * 32, cluster="c", spans=[span]))
    at = QPoint(50, ROW_H + 5)  # the first span's row
    view.waterfall.event(QHelpEvent(QEvent.Type.ToolTip, at, view.waterfall.mapToGlobal(at)))
    assert len(shown) == 1 and "<img" not in shown[0] and "<font" not in shown[0]
    doc = QTextDocument()
    doc.setHtml(shown[0])  # as the tooltip reads it (rich text: the app's own paragraph)
    assert span.operation in doc.toPlainText() and span.status_message in doc.toPlainText()
    assert doc.idealWidth() < 800  # text, not a 1600-pixel image


def _logs_page(qtbot, logs: _Gated) -> tuple[LogsPresenter, TaskSupervisor, dict[str, list[Any]]]:  # type: ignore[no-untyped-def]
    tasks = TaskSupervisor()
    presenter = LogsPresenter(logs=logs, registry=Registry([]), tasks=tasks)  # type: ignore[arg-type]
    said: dict[str, list[Any]] = {"lines": [], "volume": [], "error": [], "busy": []}
    presenter.sig_lines.connect(lambda entries, _t: said["lines"].append(entries[0].line))
    presenter.sig_volume.connect(lambda step, points: said["volume"].append((step, points)))
    presenter.sig_error.connect(said["error"].append)
    presenter.sig_busy.connect(said["busy"].append)
    return presenter, tasks, said


def test_the_query_asked_last_is_the_one_shown(qtbot, qloop) -> None:  # type: ignore[no-untyped-def]
    logs = _Gated()
    presenter, tasks, said = _logs_page(qtbot, logs)
    presenter.run(LogRequest("prod-1", '{app="A"}'))  # slow: its answer would come last
    run_until(qtbot, lambda: '{app="A"}' in logs.gates)
    presenter.run(LogRequest("prod-1", '{app="B"}'))  # the person's latest query
    run_until(qtbot, lambda: '{app="B"}' in logs.gates)
    logs.gates['{app="B"}'].set()
    run_until(qtbot, lambda: said["lines"] == ['{app="B"}'])
    logs.gates['{app="A"}'].set()  # too late: A was stopped when B was asked
    run_until(qtbot, lambda: tasks.running == 0)
    assert said["lines"] == ['{app="B"}']
    assert said["busy"] == [True, True, False]  # busy until the newest answered, once


def test_a_failed_volume_leaves_the_lines_shown_with_a_note(qtbot, qloop) -> None:  # type: ignore[no-untyped-def]
    logs = _Gated()
    logs.volume_fails = True
    presenter, tasks, said = _logs_page(qtbot, logs)
    logs.gates['{app="x"}'] = asyncio.Event()
    logs.gates['{app="x"}'].set()
    presenter.run(LogRequest("prod-1", '{app="x"}'))
    run_until(qtbot, lambda: tasks.running == 0)
    assert said["lines"] == ['{app="x"}']  # the lines fetched are shown
    assert said["volume"] == [(0, [])]  # no bars of an earlier query stay
    assert said["error"] == ["the volume of these lines could not be read: "
                             "loki did not answer in time (30 s)"]  # fmt: skip


def test_a_line_that_fails_stops_its_volume_and_says_why(qtbot, qloop) -> None:  # type: ignore[no-untyped-def]
    class Fails(_Gated):
        async def logs(self, cluster: str, logql: str, **_: Any) -> LogResult:
            raise CollectorTimeout("loki did not answer in time (30 s)")

        async def volume(self, cluster: str, logql: str, **_: Any) -> tuple[int, list[LogSeries]]:
            await self._wait("volume")  # never answers: stopped with the lines
            raise AssertionError("not reached")

    presenter, tasks, said = _logs_page(qtbot, Fails())
    presenter.run(LogRequest("prod-1", '{app="x"}'))
    run_until(qtbot, lambda: tasks.running == 0)
    assert said["lines"] == [] and said["error"] == [
        "logs query failed: loki did not answer in time (30 s)"]  # fmt: skip


def test_the_trace_chosen_last_is_the_one_shown(qtbot, qloop, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    tempo = _Gated()
    tasks = TaskSupervisor()
    presenter = TracesPresenter(logs=tempo, registry=Registry([]), tasks=tasks)  # type: ignore[arg-type]
    view = TracesView(theme)
    qtbot.addWidget(view)
    presenter.sig_trace.connect(view.show_trace)
    first, second = "1" * 32, "2" * 32
    presenter.open("prod-1", first)
    run_until(qtbot, lambda: first in tempo.gates)
    presenter.open("prod-1", second)
    run_until(qtbot, lambda: second in tempo.gates)
    tempo.gates[second].set()
    run_until(qtbot, lambda: view.heading.text().startswith(f"Trace {second}"))
    tempo.gates[first].set()
    run_until(qtbot, lambda: tasks.running == 0)
    assert view.heading.text().startswith(f"Trace {second}")


@pytest.mark.parametrize(("operator", "value"), [
    ("=", 'x", k8s_namespace_name=~".+'),
    ("=", 'x"} or {k8s_namespace_name=~".+'),
    ("=", "back\\slash"),
    ("=~", "api-1.example (v2)"),
])  # fmt: skip
def test_a_completed_label_value_is_quoted(qtbot, qloop, theme: Theme, operator: str,  # type: ignore[no-untyped-def]
                                           value: str) -> None:  # fmt: skip
    """Values come from the cluster's Loki: completed as they are, a quote in one ended the
    string and added a matcher (``k8s_namespace_name=~".+"``: every namespace)."""
    view = LogsView(theme)
    qtbot.addWidget(view)
    typed = f'{{k8s_namespace_name="shop", k8s_pod_name{operator}"'
    view.editor.setText(typed)
    view.editor.setCursorPosition(len(typed))
    view._on_edited(typed)  # asks k8s_pod_name's values
    view._insert_completion(value)
    matchers = parse(view.editor.text() + '"}').matchers
    assert matchers[0] == ("k8s_namespace_name", "=", "shop") and len(matchers) == 2
    name, op, text = matchers[1]
    assert (name, op) == ("k8s_pod_name", operator)
    if operator == "=":
        assert text == value
    else:  # the value itself, matched as it is
        import re

        assert re.fullmatch(text, value) and not re.fullmatch(text, "api-1Xexample (v2)")
