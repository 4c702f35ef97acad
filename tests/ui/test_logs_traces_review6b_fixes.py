"""Review 6b of the Logs and Traces pages, wired as the app wires them (ui.page_views): a trace
read still running when the next search is run is stopped (it landed under that search's
"No trace found", or its failure was said as the search's); the tail's note is one line on the
Logs page's status (a server's line breaks in it added lines that read as the page's own)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest

from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.errors import UsageError
from aiops_desktop.models.observability import Span, Trace, TraceSummary
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.ui.conftest import run_until
from tests.ui.logs_traces_fakes import Registry
from ui import page_views
from ui.presenters.logs_traces import LogsPresenter, TailState, TracesPresenter
from ui.theme import Theme
from ui.views.traces_view import CHOOSE_A_TRACE, NONE_FOUND

pytestmark = pytest.mark.qt
A = "a" * 32


class _SlowTempo:
    """Service "checkout" has trace A, "payments" none; reading a trace waits for
    ``answer`` (a slow Tempo, a big trace), then gives it or, ``fail``, a 504."""

    def __init__(self, *, fail: bool) -> None:
        self.fail = fail
        self.reading = False
        self.answer = asyncio.Event()

    async def traces(self, cluster: str, *, service: str | None, **_: Any) -> list[TraceSummary]:
        if service == "payments":
            return []
        return [TraceSummary(trace_id=A, root_service="checkout", root_name="POST /pay",
                             start_ns=1_675_000_000 * 10**9, duration_ms=900,
                             cluster=cluster)]  # fmt: skip

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        self.reading = True
        await self.answer.wait()
        if self.fail:
            raise UsageError("tempo: HTTP 504 reading the trace")
        span = Span(trace_id=A, span_id="1" * 16, service_name="checkout",
                    operation="POST /pay", start_ns=1_675_000_000 * 10**9, duration_ns=10**6,
                    status=SpanStatus.ERROR)  # fmt: skip
        return Trace(trace_id=trace_id, cluster=cluster, spans=[span])


def _presenters(source: Any) -> tuple[SimpleNamespace, TaskSupervisor]:
    tasks, registry = TaskSupervisor(), cast(Any, Registry())
    return SimpleNamespace(
        logs=LogsPresenter(logs=source, registry=registry, tasks=tasks),
        traces=TracesPresenter(logs=source, registry=registry, tasks=tasks),
    ), tasks


@pytest.mark.parametrize("fail", [False, True])
def test_a_trace_read_still_running_is_stopped_by_the_next_search(  # type: ignore[no-untyped-def]
    qtbot, qloop, theme: Theme, fail: bool
) -> None:
    tempo = _SlowTempo(fail=fail)
    p, tasks = _presenters(tempo)
    view = page_views.traces(p, theme, SimpleNamespace(open_trace=lambda *_: None))
    qtbot.addWidget(view)
    try:
        view.service.setText("checkout")
        view.search_button.click()  # finds A, opens it: its read waits
        run_until(qtbot, lambda: tempo.reading)
        view.service.setText("payments")
        view.search_button.click()  # the next search finds nothing
        run_until(qtbot, lambda: view.table.empty_text == NONE_FOUND)
        tempo.answer.set()  # the old read would answer now
        run_until(qtbot, lambda: tasks.running == 0)
        qtbot.wait(50)
        assert view.table.rows_model.rowCount() == 0
        assert view.heading.text() == CHOOSE_A_TRACE
        assert view.waterfall.rows == []
        assert view.error.isHidden() and view.table.empty_text == NONE_FOUND
    finally:
        p.logs.close()
        p.traces.close()


def test_the_tail_note_is_one_line_on_the_logs_status(  # type: ignore[no-untyped-def]
    qtbot, qloop, theme: Theme
) -> None:
    p, _ = _presenters(_SlowTempo(fail=False))
    view = page_views.logs(p, theme, SimpleNamespace(open_trace=lambda *_: None))
    qtbot.addWidget(view)
    try:
        forged = "1 line not shown (x\nlive: 0 lines shown · tail healthy\u2028no lines dropped)"
        view.show_tail_state(TailState(shown=3, note=forged))
        said = view.status.text()
        assert said.splitlines() == [said]
        assert said.startswith("live: 3 lines shown · 1 line not shown (x live: 0 lines")
    finally:
        p.logs.close()
        p.traces.close()
