"""The Logs and Traces pages ask what the person sees: the Logs page asks the endpoint's own
LokiStack tenant until another is picked; a trace listed by a search opens on the cluster it
was found on; a LogQL metric query's series are shown, not "No line matched"."""

from __future__ import annotations

from typing import Any

import pytest

from aiops_desktop.models.observability import LogResult, LogSeries, Span, Trace, TraceSummary
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.ui.conftest import run_until
from tests.ui.logs_traces_fakes import Registry
from ui.presenters.logs_traces import LogRequest, LogsPresenter
from ui.theme import Theme
from ui.views.logs_view import LogsView
from ui.views.traces_view import TracesView

pytestmark = pytest.mark.qt
T_S = 1_767_268_800
METRIC = 'sum by (level) (count_over_time({k8s_namespace_name="shop"}[5m]))'


def test_the_logs_page_asks_the_endpoints_tenant_until_one_is_picked(  # type: ignore[no-untyped-def]
    qtbot, theme: Theme
) -> None:
    """An endpoint registered as .../api/logs/v1/infrastructure was asked for the
    application tenant's lines (the combo's first text), its completion for its own."""
    view = LogsView(theme)
    qtbot.addWidget(view)
    view.set_clusters(["prod-east-1"])
    assert view.request().tenant is None  # the endpoint's own
    view.tenant.setCurrentText("audit")
    assert view.request().tenant == "audit"
    asked: list[Any] = []
    view.sig_tail.connect(asked.append)
    view.tail_button.setChecked(True)
    assert asked[0].tenant == "audit"
    view.tail_button.setChecked(False)


def test_a_listed_trace_opens_on_the_cluster_it_was_found_on(  # type: ignore[no-untyped-def]
    qtbot, theme: Theme
) -> None:
    view = TracesView(theme)
    qtbot.addWidget(view)
    view.set_clusters(["prod-east-1", "prod-west-2"])
    view.cluster.setCurrentText("prod-east-1")
    found = [TraceSummary(trace_id=c * 32, root_service="shop", start_ns=T_S * 10**9,
                          duration_ms=1.0, cluster="prod-east-1") for c in "ab"]  # fmt: skip
    view.show_found(found)
    asked: list[tuple[str, str]] = []
    view.sig_open.connect(lambda cluster, trace_id: asked.append((cluster, trace_id)))
    view.cluster.setCurrentText("prod-west-2")  # for the next search: none run yet
    view.table.selectRow(1)
    assert asked and asked[-1][0] == "prod-east-1"


class _MetricLogs:
    """Answers as the service does for a metric query: series, no lines; its volume (a
    count of a metric query) is no query Loki takes."""

    async def logs(self, *_: Any, **__: Any) -> LogResult:
        return LogResult(series=[
            LogSeries(labels={"level": "error"}, points=[(T_S - 60.0, 50.0), (T_S, 42.0)]),
            LogSeries(labels={"level": "info"}, points=[(T_S, 900.0)]),
        ])  # fmt: skip

    async def volume(self, *_: Any, **__: Any) -> tuple[int, list[LogSeries]]:
        raise ValueError("parse error: a metric query inside count_over_time")


def test_a_metric_querys_series_are_shown(qtbot, qloop, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    tasks = TaskSupervisor()
    presenter = LogsPresenter(logs=_MetricLogs(), registry=Registry([]), tasks=tasks)  # type: ignore[arg-type]
    view = LogsView(theme)
    qtbot.addWidget(view)
    presenter.sig_lines.connect(view.show_lines)
    presenter.sig_volume.connect(view.show_volume)
    presenter.sig_error.connect(view.show_error)
    presenter.run(LogRequest("prod-east-1", METRIC))
    run_until(qtbot, lambda: tasks.running == 0)
    table = view.series_table
    assert not table.isHidden() and view.table.isHidden()
    rows = {table.item(r, 0).text(): [table.item(r, c).text() for c in range(1, 4)]
            for r in range(table.rowCount())}  # fmt: skip
    assert rows == {'{level="error"}': ["42", "50", "2"], '{level="info"}': ["900", "900", "1"]}
    assert "2 series" in view.status.text() and "line" not in view.status.text()
    assert view.error.isHidden()  # no volume of a metric query to fail
    view.show_lines([], False)  # a log query's answer after it: the lines' table again
    assert table.isHidden() and not view.table.isHidden()
    assert view.status.text() == "0 lines shown"


def test_a_cut_trace_says_how_many_spans_it_had(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    """A trace past the client's span limit read as complete ("20,000 spans, 0 errors")."""
    view = TracesView(theme)
    qtbot.addWidget(view)
    spans = [Span(trace_id="c" * 32, span_id=f"{i:016x}", service_name="shop", operation="op",
                  start_ns=T_S * 10**9 + i, duration_ns=1000) for i in range(3)]  # fmt: skip
    view.show_trace(Trace(trace_id="c" * 32, cluster="prod-east-1", spans=spans, spans_total=25))
    assert view.heading.text() == "Trace " + "c" * 32 + " · 3 of 25 spans · 1 service · 0 errors"
