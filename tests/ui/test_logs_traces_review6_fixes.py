"""Review 6 of the Logs and Traces pages, wired as the app wires them (ui.page_views): with a
capture open, "Absolute…" opens on (and Show reads) the capture's last hour, not the wall
clock's; a trace search that finds nothing, or fails, leaves no earlier trace on screen; a
multi-line span name leaves its service in the waterfall's row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from PySide6.QtGui import QPainter

from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.errors import UsageError
from aiops_desktop.models.observability import Span, Trace, TraceSummary
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.ui.conftest import run_until
from tests.ui.logs_traces_fakes import Registry
from ui import page_views
from ui.presenters.logs_traces import LogsPresenter, TracesPresenter
from ui.theme import Theme
from ui.views import traces_view
from ui.views.time_range import ABSOLUTE
from ui.views.traces_view import TracesView, WaterfallView

pytestmark = pytest.mark.qt
CAPTURE_END = datetime(2023, 1, 29, 9, 0, tzinfo=UTC)  # the capture's now
A = "a" * 32


class _Tempo:
    """Service "checkout" has trace A, "payments" none; any other search fails (a 503)."""

    async def traces(self, cluster: str, *, service: str | None, **_: Any) -> list[TraceSummary]:
        if service == "payments":
            return []
        if service != "checkout":
            raise UsageError(f"{cluster} (https://tempo.{cluster}): HTTP 503")
        return [TraceSummary(trace_id=A, root_service="checkout", root_name="POST /pay",
                             start_ns=1_675_000_000 * 10**9, duration_ms=900,
                             cluster=cluster)]  # fmt: skip

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        span = Span(trace_id=A, span_id="1" * 16, service_name="checkout",
                    operation="POST /pay", start_ns=1_675_000_000 * 10**9, duration_ns=10**6,
                    status=SpanStatus.ERROR)  # fmt: skip
        return Trace(trace_id=trace_id, cluster=cluster, spans=[span])


@pytest.fixture
def pages(qtbot, qloop, theme: Theme) -> Any:  # type: ignore[no-untyped-def]
    tasks = TaskSupervisor()
    source, registry = _Tempo(), Registry()
    p = SimpleNamespace(
        logs=LogsPresenter(logs=source, registry=registry, tasks=tasks,
                           clock=lambda: CAPTURE_END),
        traces=TracesPresenter(logs=source, registry=registry, tasks=tasks,
                               clock=lambda: CAPTURE_END),
    )  # fmt: skip
    window = SimpleNamespace(open_trace=lambda *_: None)
    logs = page_views.logs(p, theme, window)
    traces = page_views.traces(p, theme, window)
    qtbot.addWidget(logs)
    qtbot.addWidget(traces)
    yield SimpleNamespace(logs=logs, traces=traces, tasks=tasks)
    p.logs.close()
    p.traces.close()


def test_absolute_opens_on_the_captures_last_hour_on_both_pages(pages: Any) -> None:
    for view in (pages.logs, pages.traces):
        bar = view.time_range
        bar.range.setCurrentText(ABSOLUTE)
        assert bar.end.dateTime().toSecsSinceEpoch() == CAPTURE_END.timestamp()
        bar.apply.click()
        assert not bar.problem.text()
        assert bar.current.bounds(CAPTURE_END) == (CAPTURE_END - timedelta(hours=1), CAPTURE_END)


def _search(qtbot, pages: Any, service: str) -> TracesView:  # type: ignore[no-untyped-def]
    view: TracesView = pages.traces
    view.service.setText(service)
    view.search_button.click()
    run_until(qtbot, lambda: pages.tasks.running == 0)
    return view


def _trace_shown(qtbot, pages: Any) -> TracesView:  # type: ignore[no-untyped-def]
    view = _search(qtbot, pages, "checkout")
    run_until(qtbot, lambda: bool(view.waterfall.rows))
    assert view.heading.text().startswith(f"Trace {A} · ") and view.graph.services
    return view


def _no_trace_shown(view: TracesView) -> None:
    assert not view.waterfall.rows and not view.graph.services
    assert A not in view.heading.text()


def test_a_search_that_finds_nothing_leaves_no_earlier_trace(qtbot, pages: Any) -> None:  # type: ignore[no-untyped-def]
    view = _trace_shown(qtbot, pages)
    view = _search(qtbot, pages, "payments")
    assert view.table.rows_model.rowCount() == 0
    _no_trace_shown(view)


def test_a_search_that_fails_leaves_neither_earlier_rows_nor_trace(qtbot, pages: Any) -> None:  # type: ignore[no-untyped-def]
    view = _trace_shown(qtbot, pages)
    view = _search(qtbot, pages, "fails")
    assert not view.error.isHidden() and "HTTP 503" in view.error.text()
    assert view.table.rows_model.rowCount() == 0
    _no_trace_shown(view)
    assert "failed" in view.table.empty_text
    view = _trace_shown(qtbot, pages)  # and the next search shows its trace as before
    assert view.table.rows_model.rowCount() == 1


def test_found_nothing_or_failed_told_directly_also_leave_no_trace(qtbot, pages: Any) -> None:  # type: ignore[no-untyped-def]
    """What the presenter's signals say, without the view's Search button."""
    view = _trace_shown(qtbot, pages)
    view.show_found([])
    _no_trace_shown(view)
    view = _trace_shown(qtbot, pages)
    view.show_error("prod-1 (https://tempo.prod-1): HTTP 503")
    assert view.table.rows_model.rowCount() == 0
    _no_trace_shown(view)


class _RecordingPainter(QPainter):
    drawn: ClassVar[list[str]] = []  # the texts drawn, by every painter

    def drawText(self, *args: Any) -> None:  # type: ignore[override]
        self.drawn.extend(a for a in args if isinstance(a, str))
        super().drawText(*args)


def test_a_multi_line_span_name_leaves_its_service_in_its_row(  # type: ignore[no-untyped-def]
    qtbot, theme: Theme, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(traces_view, "QPainter", _RecordingPainter)
    monkeypatch.setattr(_RecordingPainter, "drawn", [])
    view = WaterfallView(theme)
    qtbot.addWidget(view)
    view.resize(900, 200)
    sql = "SELECT id\nFROM users\r\nWHERE name = $1\nAND tenant = $2"
    view.set_trace(Trace(trace_id=A, cluster="c", spans=[
        Span(trace_id=A, span_id="1" * 16, service_name="db", operation=sql, start_ns=1,
             duration_ns=10),
    ]))  # fmt: skip
    view.grab()
    labels = [t for t in _RecordingPainter.drawn if t.startswith("db: ")]
    assert labels and labels[0].startswith("db: SELECT id FROM users")
    assert not any(c in labels[0] for c in "\n\r\u2028")
