"""The Logs and Traces pages under a review's cases: a failed label completion is a quiet
note by the editor, never the page's error (which stopped the live tail), while the tail's
own failure still ends it; the completer holds a sorted model and looks a prefix up (not a
scan of every value per keystroke); the service graph and the tooltips show the workload's
text printable (no bidi override, no escape sequence), a very long name cut."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QCompleter, QListView

from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import LogEntry, Span, Trace
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from collectors.errors import CollectorTimeout, CollectorUnreachable
from collectors.loki import Completions
from collectors.loki_tail import TailBatch
from tests.ui.conftest import run_until
from ui.presenters.logs_traces import LogsPresenter
from ui.theme import Theme
from ui.views.logs_view import LogsView
from ui.views.text import tip
from ui.views.traces_view import TracesView

pytestmark = pytest.mark.qt
T_NS = 1_700_000_000 * 10**9
EVIL = "pay\u202egnp.exe\x1b[2J\x07"  # reads "payexe.png" with the override


class _Loki:
    """A tail that streams until stopped (or fails after ``fail_after`` batches), and label
    completion that fails until ``answer`` is set."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after
        self.answer: list[str] | None = None

    async def tail(self, cluster: str, logql: str, **_: Any) -> AsyncIterator[TailBatch]:
        i = 0
        while True:
            if self.fail_after is not None and i >= self.fail_after:
                raise CollectorUnreachable("loki (https://loki) could not be reached")
            i += 1
            yield TailBatch([LogEntry(cluster=cluster, timestamp_ns=T_NS + i, line=f"line {i}")])
            await asyncio.sleep(0.02)

    async def labels(
        self, cluster: str, name: str | None = None, *, tenant: str | None = None
    ) -> list[str]:
        if self.answer is None:
            raise CollectorTimeout("loki did not answer in time (30 s)")
        return self.answer  # a plain list, as a capture's: whole


def _page(theme: Theme, qtbot: Any, loki: _Loki) -> tuple[LogsPresenter, LogsView, TaskSupervisor]:
    tasks = TaskSupervisor()
    p = LogsPresenter(logs=loki, registry=None, tasks=tasks)  # type: ignore[arg-type]
    v = LogsView(theme)
    qtbot.addWidget(v)
    v.set_clusters(["prod"])
    # wired as ui/page_views.py logs() wires them
    v.sig_tail.connect(p.set_tail)
    v.sig_complete.connect(p.complete)
    p.sig_labels.connect(v.show_labels)
    p.sig_tail_lines.connect(v.show_tail_lines)
    p.sig_tail_state.connect(v.show_tail_state)
    p.sig_error.connect(v.show_error)
    return p, v, tasks


def _typed(view: LogsView, text: str) -> None:
    view.editor.setText(text)
    view.editor.setCursorPosition(len(text))
    view._on_edited(text)


def test_a_failed_completion_is_a_quiet_note_and_the_tail_runs_on(
    qtbot: Any, qloop: Any, theme: Theme
) -> None:
    loki = _Loki()
    p, v, tasks = _page(theme, qtbot, loki)
    v.tail_button.setChecked(True)
    run_until(qtbot, lambda: len(v._rows) >= 3)
    _typed(v, '{k8s_namespace_name="shop", ')
    run_until(qtbot, lambda: "did not answer" in v.completion_note.text())
    qtbot.wait(100)  # lines still come
    assert p.tailing and v.tail_button.isChecked()
    assert not v.error.isVisibleTo(v)  # not the page's error
    assert v.completion_note.isVisibleTo(v)
    assert v.completion_note.text().startswith("label completion failed")
    # the next answer read clears it (a failure is not filed: asked again at once)
    loki.answer = ["app", "k8s_namespace_name"]
    _typed(v, '{k8s_namespace_name="shop", k')
    run_until(qtbot, lambda: not v.completion_note.isVisibleTo(v))
    assert v.completions.stringList() == ["app", "k8s_namespace_name"]
    assert p.tailing and v.tail_button.isChecked()
    v.tail_button.setChecked(False)
    run_until(qtbot, lambda: tasks.running == 0)


def test_the_tails_own_failure_still_ends_it_and_is_said(
    qtbot: Any, qloop: Any, theme: Theme
) -> None:
    p, v, tasks = _page(theme, qtbot, _Loki(fail_after=2))
    v.tail_button.setChecked(True)
    run_until(qtbot, lambda: not v.tail_button.isChecked())
    run_until(qtbot, lambda: tasks.running == 0)
    assert not p.tailing
    assert v.error.isVisibleTo(v) and "could not be reached" in v.error.text()
    assert v.tail_button.text() == "Live tail"


def test_a_page_error_does_not_stop_the_tail(qtbot: Any, theme: Theme) -> None:
    v = LogsView(theme)
    qtbot.addWidget(v)
    stopped: list[object] = []
    v.sig_tail.connect(lambda request: stopped.append(request) if request is None else None)
    v.tail_button.setChecked(True)
    v.show_error("the volume of these lines could not be read: timeout")
    assert v.tail_button.isChecked() and not stopped


# -- the completer ---------------------------------------------------------------------------------
def test_the_completer_looks_a_prefix_up_in_a_sorted_model(qtbot: Any, theme: Theme) -> None:
    v = LogsView(theme)
    qtbot.addWidget(v)
    v.set_clusters(["c"])
    assert v.completer.modelSorting() is QCompleter.ModelSorting.CaseInsensitivelySortedModel
    # its popup lays 10,000 rows out by one row's height, not each measured (0.6 s a show)
    popup = v.completer.popup()
    assert isinstance(popup, QListView) and popup.uniformItemSizes()
    # as Loki might give them: not in order, cases mixed
    values = [
        f"{'Build' if i % 3 else 'build'}-job-{(i * 7919) % 10_000:05d}" for i in range(10_000)
    ]
    _typed(v, '{k8s_pod_name="')
    v.show_labels("c", "k8s_pod_name", values)
    for prefix in ("build-job-0099", "BUILD-JOB-05", "build-job-99999", ""):
        v.completer.setCompletionPrefix(prefix)
        found = []
        for row in range(v.completer.completionCount()):
            v.completer.setCurrentRow(row)
            found.append(v.completer.currentCompletion())
        want = sorted((x for x in values if x.lower().startswith(prefix.lower())), key=str.lower)
        assert sorted(found, key=str.lower) == want, prefix
    assert v.completions.stringList() == values  # what was given, as given


class _BusyLoki(_Loki):
    """A busy label's values as the service hands them back: Loki answered ``answered``,
    the collector kept the first MOST_COMPLETIONS (a list that says how many were answered)."""

    def __init__(self, values: list[str], answered: int) -> None:
        super().__init__()
        self.values, self.answered = values, answered

    async def labels(
        self, cluster: str, name: str | None = None, *, tenant: str | None = None
    ) -> Completions:
        return Completions(self.values, answered=self.answered)


def test_a_cut_completion_is_said_by_the_editor_and_values_past_10000_are_offered(
    qtbot: Any, qloop: Any, theme: Theme
) -> None:
    # Loki answered 150,000 pods, sorted: the first 100,000 are offered, the cut is said
    pods = sorted([f"build-job-{i:06d}" for i in range(95_000)]
                  + [f"checkout-{i:04d}" for i in range(5_000)])  # fmt: skip
    loki = _BusyLoki(pods, answered=150_000)
    _, v, tasks = _page(theme, qtbot, loki)
    _typed(v, '{k8s_pod_name="')
    run_until(qtbot, lambda: v.completion_note.isVisibleTo(v))
    run_until(qtbot, lambda: tasks.running == 0)
    assert v.completion_note.text() == "the first 100,000 of 150,000 values are offered"
    assert v.completions.stringList() == pods
    # 'checkout-' is past the old cut of 10,000: every one of its 5,000 is offered
    v.completer.setCompletionPrefix("checkout-")
    assert v.completer.completionCount() == 5_000
    # the cut is said again when the filed answer is offered again (no new read)
    _typed(v, "{")
    v.show_labels("prod", None, ["app"], "", 1)
    assert not v.completion_note.isVisibleTo(v)
    _typed(v, '{k8s_pod_name="check')
    assert v.completion_note.text() == "the first 100,000 of 150,000 values are offered"
    # a whole answer says nothing
    v.show_labels("prod", "k8s_pod_name", ["a", "b"], "", 2)
    assert not v.completion_note.isVisibleTo(v)


def test_a_filed_answer_is_not_set_into_the_model_again_per_keystroke(
    qtbot: Any, theme: Theme
) -> None:
    """Setting 100,000 values re-sorts the completer's model (most of a second): a keystroke
    that offers the answer already offered leaves the model as it is."""
    v = LogsView(theme)
    qtbot.addWidget(v)
    v.set_clusters(["c"])
    _typed(v, '{k8s_pod_name="')
    v.show_labels("c", "k8s_pod_name", [f"pod-{i}" for i in range(100)], "", 100)
    resets: list[int] = []
    v.completions.modelReset.connect(lambda: resets.append(1))
    for typed in ("p", "po", "pod", "pod-1"):
        _typed(v, '{k8s_pod_name="' + typed)
    assert not resets and v.completer.completionPrefix() == "pod-1"
    _typed(v, "{")  # the names: another answer, set
    v.show_labels("c", None, ["app", "k8s_pod_name"], "", 2)
    assert resets == [1] and v.completions.stringList() == ["app", "k8s_pod_name"]
    _typed(v, '{k8s_pod_name="pod')  # the values again: set again
    assert resets == [1, 1] and len(v.completions.stringList()) == 100


# -- the service graph -----------------------------------------------------------------------------
def test_the_service_graph_draws_names_printable_and_cut(
    qtbot: Any, theme: Theme, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_name = "svc-" + "x" * 20_000
    spans = [
        Span(trace_id="a" * 32, span_id="1" * 16, service_name="frontend", operation="GET /",
             start_ns=1, duration_ns=10),
        Span(trace_id="a" * 32, span_id="2" * 16, parent_span_id="1" * 16, service_name=EVIL,
             operation="charge", start_ns=2, duration_ns=5, status=SpanStatus.ERROR),
        Span(trace_id="a" * 32, span_id="3" * 16, parent_span_id="1" * 16,
             service_name=long_name, operation="x", start_ns=3, duration_ns=5),
    ]  # fmt: skip
    view = TracesView(theme)
    qtbot.addWidget(view)
    view.resize(1200, 900)
    view.show()
    view.show_trace(Trace(trace_id="a" * 32, cluster="c", spans=spans))
    drawn: list[str] = []
    draw = QPainter.drawText

    def spy(self: QPainter, *args: Any) -> Any:
        drawn.extend(a for a in args if isinstance(a, str))
        return draw(self, *args)

    monkeypatch.setattr(QPainter, "drawText", spy)
    view.graph.grab()
    names = [t for t in drawn if "gnp" in t or "svc-" in t]
    assert names == [t for t in names if t.isprintable()]
    assert any("paygnp.exe[2J" in t for t in names)  # the override and ESC gone, the rest kept
    assert names and all(len(t) <= 100 for t in names)  # the 20,000-character name cut
    assert any(t.startswith("svc-xxx") and t.endswith("…") for t in names)


# -- tooltips --------------------------------------------------------------------------------------
def test_a_log_lines_tooltip_is_printable(qtbot: Any, theme: Theme) -> None:
    v = LogsView(theme)
    qtbot.addWidget(v)
    line = "INFO payment ok for user \u202eredro\u202c \x1b]0;pwned\x07 " + "x" * 40
    v.show_tail_lines([LogEntry(cluster="c", timestamp_ns=T_NS, line=line)])
    m = v.table.rows_model
    shown = m.data(m.index(0, 3), Qt.ItemDataRole.ToolTipRole)
    assert "\u202e" not in shown and "\x1b" not in shown and "\x07" not in shown
    assert "redro" in shown and "]0;pwned" in shown


def test_tip_keeps_lines_and_drops_the_controls() -> None:
    assert tip("first <b>line</b>\nsecond\u2066 \x1b[31mred\r\x00") == (
        "<p>first &lt;b&gt;line&lt;/b&gt;<br/>second [31mred</p>"
    )
    assert tip("") == "" and tip(None) == "" and tip("\u202e") == ""
