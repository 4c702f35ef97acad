"""The Logs and Traces pages under a review's cases: a line's Pod cell shows its label as
the other cells show outside text (one printable line, cut: a bidi override read the name
backwards, a 20 MB label took 34.6 s to show three lines); a span's tooltip is fitted to a
tooltip's most, each of its lines kept (a 210 KB span name was one 210 KB tooltip); label
completion asks, files and offers per tenant (Tenant infrastructure was offered the
application tenant's namespaces)."""

from __future__ import annotations

from typing import Any

import pytest

from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import LogEntry, Span, SpanEvent
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.ui.conftest import run_until
from ui.presenters.logs_traces import LogsPresenter
from ui.theme import Theme
from ui.views.logs_view import LogsView
from ui.views.rows_table import TIP_CHARS
from ui.views.traces_view import WaterfallView

pytestmark = pytest.mark.qt
T_NS = 1_700_000_000 * 10**9


def test_the_pod_cell_is_one_printable_line_cut(qtbot: Any, theme: Theme) -> None:
    view = LogsView(theme)
    qtbot.addWidget(view)
    pod = "api-" * 500 + "\u202eexe.tsil_noitamrofni\n"  # 2,000 characters: as Loki's are cut
    view.show_lines([LogEntry(cluster="c", timestamp_ns=T_NS, line="x",
                              labels={"k8s_pod_name": pod})], False)  # fmt: skip
    cell = view.table.rows_model.data(view.table.rows_model.index(0, 1))
    assert cell.startswith("api-api-")
    assert "\u202e" not in cell and "\n" not in cell
    assert len(cell) <= 300


def test_a_spans_tooltip_is_fitted_and_keeps_each_line(qtbot: Any, theme: Theme) -> None:
    events = [SpanEvent(timestamp_ns=T_NS, name=f"retry {i} " + "x" * 1990,
                        attributes={"message": "m" * 200}) for i in range(5)]  # fmt: skip
    span = Span(trace_id="0" * 31 + "1", span_id="0" * 15 + "1", service_name="cart",
                operation="GET /x " * 30_000, start_ns=T_NS, duration_ns=1_000_000,
                status=SpanStatus.ERROR, status_message="s" * 300, events=events)  # fmt: skip
    shown = WaterfallView.tip(span)
    assert len(shown) <= TIP_CHARS + 100  # the paragraph and line breaks' markup beside it
    assert "status ERROR" in shown
    assert all(f"retry {i}" in shown for i in range(5))


def _typed(view: LogsView, text: str) -> None:
    view.editor.setText(text)
    view.editor.setCursorPosition(len(text))
    view._on_edited(text)


def test_completion_is_asked_filed_and_offered_per_tenant(qtbot: Any, theme: Theme) -> None:
    view = LogsView(theme)
    qtbot.addWidget(view)
    view.set_clusters(["prod"])
    asked: list[tuple[str, str | None, str | None]] = []
    view.sig_complete.connect(lambda *a: asked.append(a))
    view.tenant.setCurrentIndex(view.tenant.findData("infrastructure"))
    _typed(view, '{k8s_namespace_name="')
    assert asked == [("prod", "k8s_namespace_name", "infrastructure")]
    view.show_labels("prod", "k8s_namespace_name", ["openshift-etcd"], "", 1, "infrastructure")
    assert view.completions.stringList() == ["openshift-etcd"]
    # another tenant: asked again, and the infrastructure tenant's values are not offered
    view.tenant.setCurrentIndex(view.tenant.findData("application"))
    view.completions.setStringList([])
    _typed(view, '{k8s_namespace_name="')
    assert asked[-1] == ("prod", "k8s_namespace_name", "application")
    view.show_labels("prod", "k8s_namespace_name", ["late-infra"], "", 1, "infrastructure")
    assert view.completions.stringList() == []
    view.show_labels("prod", "k8s_namespace_name", ["shop"], "", 1, "application")
    assert view.completions.stringList() == ["shop"]
    # back to infrastructure: its filed answer, not asked again
    view.tenant.setCurrentIndex(view.tenant.findData("infrastructure"))
    n = len(asked)
    _typed(view, '{k8s_namespace_name="')
    assert len(asked) == n and view.completions.stringList() == ["late-infra"]


class _Labels:
    """Says which tenant each completion asked."""

    async def labels(self, cluster: str, name: str | None = None, *,
                     tenant: str | None = None) -> list[str]:  # fmt: skip
        return [f"{cluster}:{name}:{tenant}"]


def test_the_presenter_asks_and_says_the_tenant_of_a_completion(qtbot: Any, qloop: Any) -> None:
    tasks = TaskSupervisor()
    p = LogsPresenter(logs=_Labels(), registry=None, tasks=tasks)  # type: ignore[arg-type]
    answers: list[tuple[Any, ...]] = []
    p.sig_labels.connect(lambda *a: answers.append(a))
    p.complete("prod", "k8s_namespace_name", "infrastructure")
    run_until(qtbot, lambda: tasks.running == 0)
    p.complete("prod", None)
    run_until(qtbot, lambda: tasks.running == 0)
    assert answers == [
        ("prod", "k8s_namespace_name", ["prod:k8s_namespace_name:infrastructure"], "", 1,
         "infrastructure"),
        ("prod", None, ["prod:None:None"], "", 1, None),
    ]  # fmt: skip
