"""Review 4 of the Logs and Traces pages, wired as the app wires them (ui.page_views): a read
that fails leaves no earlier answer on screen under the new question. A trace that cannot be
opened leaves neither the previous trace's waterfall nor its service graph under its heading
(nor "reading …" for ever); a query that fails leaves neither the previous query's lines,
their count, nor their volume under it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.errors import UsageError
from aiops_desktop.models.observability import LogEntry, LogResult, LogSeries, Span, Trace
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.ui.conftest import run_until
from tests.ui.logs_traces_fakes import Registry
from ui import page_views
from ui.presenters.logs_traces import LogsPresenter, TracesPresenter
from ui.theme import Theme
from ui.views.logs_view import LogsView
from ui.views.traces_view import TracesView

pytestmark = pytest.mark.qt
T_S = 1_767_268_800
A, B = "a" * 32, "b" * 32


class _Source:
    """Trace A opens, any other fails (Tempo's 404); a query of "fail" fails (a 503), any
    other answers three lines and their volume."""

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        if trace_id != A:
            raise UsageError(f"{cluster}: no trace {trace_id} (HTTP 404)")
        span = Span(trace_id=A, span_id="1" * 16, service_name="checkout",
                    operation="POST /pay", start_ns=T_S * 10**9, duration_ns=10**6,
                    status=SpanStatus.ERROR)  # fmt: skip
        return Trace(trace_id=A, cluster=cluster, spans=[span])

    async def logs(self, cluster: str, logql: str, **_: Any) -> LogResult:
        if "fail" in logql:
            raise UsageError(f"{cluster} (https://loki.{cluster}): HTTP 503")
        return LogResult(entries=[
            LogEntry(cluster=cluster, timestamp_ns=T_S * 10**9 + i, line=f"ERROR line {i}",
                     labels={"k8s_pod_name": "web-1"}) for i in range(3)
        ])  # fmt: skip

    async def volume(self, cluster: str, logql: str, **_: Any) -> tuple[int, list[LogSeries]]:
        return 60, [LogSeries(labels={}, points=[(float(T_S), 3.0)])]


@pytest.fixture
def pages(qtbot, qloop, theme: Theme) -> Any:  # type: ignore[no-untyped-def]
    tasks = TaskSupervisor()
    source, registry = _Source(), Registry()
    p = SimpleNamespace(
        logs=LogsPresenter(logs=source, registry=registry, tasks=tasks),  # type: ignore[arg-type]
        traces=TracesPresenter(logs=source, registry=registry, tasks=tasks),  # type: ignore[arg-type]
    )
    window = SimpleNamespace(open_trace=lambda *_: None)
    logs = page_views.logs(p, theme, window)  # type: ignore[arg-type]
    traces = page_views.traces(p, theme, window)  # type: ignore[arg-type]
    qtbot.addWidget(logs)
    qtbot.addWidget(traces)
    yield SimpleNamespace(logs=logs, traces=traces, tasks=tasks)
    p.logs.close()
    p.traces.close()


def test_a_trace_that_fails_to_open_leaves_no_earlier_trace_under_its_heading(  # type: ignore[no-untyped-def]
    qtbot, pages: Any
) -> None:
    view: TracesView = pages.traces
    view.open_trace("prod-1", A)
    run_until(qtbot, lambda: pages.tasks.running == 0)
    assert view.waterfall.rows and view.graph.services == ["checkout"]  # trace A shown
    view.open_trace("prod-1", B)  # a log line's link to trace B
    assert not view.waterfall.rows and not view.graph.services  # not A's, under B's name
    run_until(qtbot, lambda: pages.tasks.running == 0)
    assert not view.error.isHidden() and "HTTP 404" in view.error.text()
    assert not view.waterfall.rows and not view.graph.services
    heading = view.heading.text()
    assert B in heading and "reading" not in heading and "could not be read" in heading
    view.open_trace("prod-1", A)  # and another opens as before
    run_until(qtbot, lambda: pages.tasks.running == 0)
    assert view.heading.text().startswith(f"Trace {A} · ") and view.waterfall.rows
    assert view.error.isHidden() or not view.error.text()


def test_a_query_that_fails_leaves_no_earlier_lines_under_it(qtbot, pages: Any) -> None:  # type: ignore[no-untyped-def]
    view: LogsView = pages.logs
    view.editor.setText('{app="web"}')
    view.run_button.click()
    run_until(qtbot, lambda: pages.tasks.running == 0 and view.table.rows_model.rowCount() == 3)
    assert view.status.text() == "3 lines shown" and view._bars is not None
    view.editor.setText('{app="fail"}')  # the next query fails
    view.run_button.click()
    run_until(qtbot, lambda: pages.tasks.running == 0)
    assert "HTTP 503" in view.error.text() and not view.error.isHidden()
    assert view.table.rows_model.rowCount() == 0  # not the previous query's lines
    assert "3 lines" not in view.status.text() and "failed" in view.status.text()
    assert view._bars is None  # nor their volume
    view.editor.setText('{app="web"}')  # the next that answers is shown as before
    view.run_button.click()
    run_until(qtbot, lambda: pages.tasks.running == 0 and view.table.rows_model.rowCount() == 3)
    assert view.status.text() == "3 lines shown" and view.error.isHidden()


def test_a_note_after_lines_that_were_read_leaves_them(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    """The page's error also carries what a query that answered says (its volume could not
    be read, lines it could not read): those lines stay."""
    view = LogsView(theme)
    qtbot.addWidget(view)
    view.set_clusters(["prod-1"])
    view.editor.setText('{app="web"}')
    view.run_button.click()
    view.show_lines([LogEntry(cluster="prod-1", timestamp_ns=T_S * 10**9, line="ERROR x")], False)
    view.show_error("the volume of these lines could not be read: HTTP 500")
    assert view.table.rows_model.rowCount() == 1 and view.status.text() == "1 line shown"
