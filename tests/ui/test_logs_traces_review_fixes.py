"""The Logs and Traces pages under a review's cases: a trace through 20,000 services laid out
in linear work (at most MOST_DRAWN of them drawn, and said so); the live tail's "reconnecting"
gone once lines stream again; label completion per cluster, expiring, each answer filed under
the label it answers; a double click opens the trace a line names, not an earlier hex token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import ui.views.logs_view as logs_view_module
import ui.views.traces_view as traces_view_module
from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import LogEntry, Span, Trace
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.ui.conftest import run_until
from ui.presenters.logs_traces import LogsPresenter
from ui.theme import Theme
from ui.views.logs_view import LABEL_CACHE_S, LogsView
from ui.views.traces_view import MOST_DRAWN, ServiceGraphView, TracesView

pytestmark = pytest.mark.qt
T_NS = 1_767_268_800 * 10**9
TRACE = "51def24606746811fa552389b02d2d3f"


# -- the service graph -----------------------------------------------------------------------------
class _CountedCalls(dict[tuple[str, str], tuple[int, int]]):
    """service_calls' answer, each pair read out of it counted: past ``budget`` the layout
    is not linear in the calls (a chain of N read N times over is N², 400 million here)."""

    def __init__(self, calls: dict[tuple[str, str], tuple[int, int]], budget: int) -> None:
        super().__init__(calls)
        self.read = 0
        self.budget = budget

    def _count(self, pairs: Iterator[Any]) -> Iterator[Any]:
        for pair in pairs:
            self.read += 1
            assert self.read <= self.budget, "the calls were read over and over"
            yield pair

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return self._count(super().__iter__())

    def items(self) -> Any:
        return self._count(iter(super().items()))


def _chain(n: int) -> Trace:
    """One call chain through ``n`` services: svc-0 calls svc-1 ... calls svc-{n-1}."""
    spans = [Span(trace_id="ab" * 16, span_id=f"{i + 1:016x}",
                  parent_span_id=f"{i:016x}" if i else None, service_name=f"svc-{i}",
                  operation="call", start_ns=T_NS + i * 1000, duration_ns=10**9,
                  status=SpanStatus.ERROR if i == n - 1 else SpanStatus.UNSET)
             for i in range(n)]  # fmt: skip
    return Trace(trace_id="ab" * 16, cluster="c", spans=spans)


def test_a_trace_through_20000_services_is_laid_out_in_linear_work(  # type: ignore[no-untyped-def]
    qtbot, theme: Theme, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 20_000
    counted: list[_CountedCalls] = []

    def service_calls(trace: Trace) -> _CountedCalls:
        counted.append(_CountedCalls(real(trace), budget=10 * n))
        return counted[-1]

    real = traces_view_module.service_calls
    monkeypatch.setattr(traces_view_module, "service_calls", service_calls)
    view = TracesView(theme)
    qtbot.addWidget(view)
    view.resize(1200, 900)
    view.show()
    view.show_trace(_chain(n))
    graph = view.graph
    assert graph.layers() == {f"svc-{i}": i for i in range(n)}
    view.tabs.setCurrentWidget(graph)
    for _ in range(3):  # painted again and again: laid out once
        graph.grab()
    assert counted and counted[-1].read <= 10 * n
    # the first MOST_DRAWN by call depth are drawn, and the view says so
    assert sorted(graph.drawn, key=lambda s: int(s[4:])) == [f"svc-{i}" for i in range(MOST_DRAWN)]
    assert graph.note == f"the first {MOST_DRAWN} of 20,000 services (by call depth)"
    assert all(a in graph.drawn and b in graph.drawn for (a, b), _ in graph.drawn_calls)
    assert len(graph.drawn_calls) == MOST_DRAWN - 1
    assert "svc-19999" in graph.failing  # what is not drawn is still known


def test_a_small_graphs_columns_and_no_note(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    """Columns by the fewest calls from a service nobody calls; a loop moves none twice; a
    graph with no such service starts at its first name."""
    graph = ServiceGraphView(theme)
    qtbot.addWidget(graph)
    names = {"1": "a", "2": "b", "3": "c", "4": "d", "5": "b", "6": "e"}
    parents = {"2": "1", "3": "1", "4": "2", "5": "4", "6": "3"}  # a->b, a->c, b->d, d->b, c->e
    spans = [Span(trace_id="cd" * 16, span_id=f"{int(k):016x}",
                  parent_span_id=f"{int(parents[k]):016x}" if k in parents else None,
                  service_name=name, operation="op", start_ns=T_NS, duration_ns=1)
             for k, name in names.items()]  # fmt: skip
    graph.set_trace(Trace(trace_id="cd" * 16, cluster="c", spans=spans))
    assert graph.layers() == {"a": 0, "b": 1, "c": 1, "d": 2, "e": 2}
    assert graph.note == "" and set(graph.drawn) == set("abcde")
    graph.grab()
    # z->y->x (z's parent absent), and x->z: every service is called
    loop = [Span(trace_id="ef" * 16, span_id=f"{i + 1:016x}", parent_span_id=f"{i:016x}",
                 service_name=name, operation="op", start_ns=T_NS, duration_ns=1)
            for i, name in enumerate("zyx")]  # fmt: skip
    loop.append(loop[0].model_copy(update={"span_id": f"{9:016x}", "parent_span_id": f"{3:016x}"}))
    graph.set_trace(Trace(trace_id="ef" * 16, cluster="c", spans=loop))
    assert graph.layers() == {"x": 0, "z": 1, "y": 2}
    graph.set_trace(None)
    assert graph.layers() == {} and graph.drawn == [] and graph.note == ""
    graph.grab()


# -- the live tail's note --------------------------------------------------------------------------
def _line(i: int) -> LogEntry:
    return LogEntry(cluster="c", timestamp_ns=T_NS + i, line=f"l{i}", labels={})


def test_the_cut_note_goes_when_lines_stream_again(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = LogsView(theme)
    qtbot.addWidget(view)
    p = LogsPresenter(logs=None, registry=None, tasks=TaskSupervisor())  # type: ignore[arg-type]
    p.sig_tail_state.connect(view.show_tail_state)
    p._take([_line(1)], 0, "")
    p._flush_tail()
    cut = "tail cut (ConnectionClosedError: no close frame received or sent); reconnecting in 1 s"
    p._take([], 0, cut, cut=True)
    p._flush_tail()
    assert "reconnecting in 1 s" in view.status.text()  # said while it is cut
    p._take([], 0, cut.replace("1 s", "2 s"), cut=True)  # cut again before any line
    p._flush_tail()
    assert "reconnecting in 2 s" in view.status.text()
    p._take([_line(2)], 0, "")  # the new connection's lines
    p._flush_tail()
    assert "reconnecting" not in view.status.text()
    assert view.status.text() == "live: 2 lines shown"
    # what a resumed tail says of the lines it left out stays while lines stream
    p._take([], 0, cut, cut=True)
    p._take([_line(3)], 0, "lines written while the tail was cut may be missing")
    for i in range(4, 10):
        p._take([_line(i)], 0, "")
        p._flush_tail()
    assert "may be missing" in view.status.text() and "reconnecting" not in view.status.text()


# -- label completion ------------------------------------------------------------------------------
def _typed(view: LogsView, text: str) -> None:
    view.editor.setText(text)
    view.editor.setCursorPosition(len(text))
    view._on_edited(text)


def test_completion_is_per_cluster_expires_and_files_answers_under_their_label(  # type: ignore[no-untyped-def]
    qtbot, theme: Theme, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(logs_view_module, "monotonic", lambda: now[0])
    view = LogsView(theme)
    qtbot.addWidget(view)
    view.set_clusters(["prod-east", "lab"])
    asked: list[tuple[str, str | None]] = []
    view.sig_complete.connect(lambda c, label: asked.append((c, label)))
    view.cluster.setCurrentText("prod-east")
    _typed(view, '{k8s_namespace_name="')
    assert asked == [("prod-east", "k8s_namespace_name")]
    view.show_labels("prod-east", "k8s_namespace_name", ["payments-prod", "shop-prod"])
    assert view.completions.stringList() == ["payments-prod", "shop-prod"]
    _typed(view, '{k8s_namespace_name="')  # cached: not asked again
    assert len(asked) == 1
    # another cluster: its own Loki is asked, the first's values are not offered
    view.cluster.setCurrentText("lab")
    view.completions.setStringList([])
    _typed(view, '{k8s_namespace_name="')
    assert asked[-1] == ("lab", "k8s_namespace_name")
    assert view.completions.stringList() == []
    # a slow answer for app's values lands while the names are being completed: filed
    # under app, the names' cache and what is offered untouched
    view.show_labels("lab", None, ["app", "k8s_namespace_name"])
    _typed(view, '{app="')
    _typed(view, '{app="x", ')
    view.show_labels("lab", "app", ["frontend", "checkout"])
    _typed(view, '{app="x", k8s')
    assert view.completions.stringList() == ["app", "k8s_namespace_name"]
    n = len(asked)
    _typed(view, '{app="')
    assert len(asked) == n and view.completions.stringList() == ["frontend", "checkout"]
    # after a short while the values are asked again (a namespace made since shows)
    now[0] += LABEL_CACHE_S + 1
    _typed(view, '{app="')
    assert asked[-1] == ("lab", "app")


class _Labels:
    """Answers label names and values, a label's values slower than the names."""

    async def labels(
        self, cluster: str, label: str | None, *, tenant: str | None = None
    ) -> list[str]:
        return [f"{cluster}:{label}:value"]


def test_the_presenter_says_which_label_it_answered(qtbot, qloop) -> None:  # type: ignore[no-untyped-def]
    tasks = TaskSupervisor()
    p = LogsPresenter(logs=_Labels(), registry=None, tasks=tasks)  # type: ignore[arg-type]
    answers: list[tuple[str, str | None, list[str]]] = []
    p.sig_labels.connect(lambda cluster, label, values: answers.append((cluster, label, values)))
    p.complete("lab", "app")
    run_until(qtbot, lambda: tasks.running == 0)
    p.complete("lab", None)
    run_until(qtbot, lambda: tasks.running == 0)
    assert answers == [("lab", "app", ["lab:app:value"]), ("lab", None, ["lab:None:value"])]


# -- a double click on a line ----------------------------------------------------------------------
def test_a_double_click_opens_the_trace_the_line_names(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = LogsView(theme)
    qtbot.addWidget(view)
    etag = "d41d8cd98f00b204e9800998ecf8427e"
    entries = [
        LogEntry(cluster="c", timestamp_ns=T_NS, line=f'etag="{etag}" trace_id={TRACE}'),
        LogEntry(
            cluster="c", timestamp_ns=T_NS, line=f"user={etag} failed", labels={"trace_id": TRACE}
        ),
    ]
    view.show_lines(entries, False)
    opened: list[tuple[str, str]] = []
    view.sig_open_trace.connect(lambda cluster, trace_id: opened.append((cluster, trace_id)))
    for row in range(2):
        view.table.cellDoubleClicked.emit(row, 3)
    assert opened == [("c", TRACE), ("c", TRACE)]
