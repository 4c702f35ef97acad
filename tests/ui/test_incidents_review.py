"""The Incidents page as a review found it: outside text is one short printable line in its
cells and chart titles; a new analysis stops the last one's explanation and clears its result
while it runs; an incident the "/" filter hides is acted on by no button; a slow list read
never overwrites the newer rows an acknowledgement published; numbers sort as numbers; and in
an opened capture (read-only) Acknowledge is not offered."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt

from aiops_desktop.models.enums import IncidentStatus, Verdict
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import Incident, IncidentSignal, RcaCauseRow, RcaReport
from aiops_desktop.services.intelligence.incidents import INCIDENTS_CHANGED
from aiops_desktop.services.intelligence.rca import RcaResult
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.rca.model import Cause, Window
from tests.ui.conftest import run_until
from ui import page_views
from ui.presenters import incidents as incidents_presenter
from ui.presenters.incidents import IncidentsPresenter
from ui.views.incidents_view import IncidentsView, RcaPanel

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
HOSTILE = "Back-off\nFAKE: all clear\x1b[2J\u202eredlof-kcab"
UNSAFE = ("\n", "\x1b", "\u202e")
SHORT = 1000  # a cell or a title no longer than this


def incident(iid: str, *, cluster: str = "east", reason: str = "r", subject: str = "s",
             severity: FindingSeverity = FindingSeverity.CRITICAL,
             dropped: int = 0) -> Incident:  # fmt: skip
    s = IncidentSignal(key=f"k{iid}", source="alert", cluster=cluster, subject=subject,
                       severity=severity, reason=reason, first_seen=NOW, last_seen=NOW)  # fmt: skip
    return Incident(id=iid, title=f"{iid} title", severity=severity, opened_at=NOW,
                    updated_at=NOW, signals=[s], signals_dropped=dropped)  # fmt: skip


class Incidents:
    """The store as read: ``gate`` (when set) holds a list read after it took its rows, as a
    read in a thread over a big store is handed back to the loop later."""

    left_out = 0

    def __init__(self, rows: list[Incident]) -> None:
        self.rows = {i.id: i for i in rows}
        self.gate: asyncio.Event | None = None
        self.reading = False

    async def listed(self) -> list[Incident]:
        snapshot = list(self.rows.values())
        if self.gate is not None:
            self.reading = True
            await self.gate.wait()
        return snapshot

    async def get(self, iid: str) -> Incident | None:
        return self.rows.get(iid)


class Rca:
    """Each analysis waits for its incident's gate; ``fail``: it raises when let through."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.fail = False

    def let(self, iid: str) -> None:
        self.gates.setdefault(iid, asyncio.Event()).set()

    async def for_incident(self, incident: Incident) -> RcaResult:
        await self.gates.setdefault(incident.id, asyncio.Event()).wait()
        if self.fail:
            raise RuntimeError("Prometheus timed out")
        causes = [Cause(f"east pod ns/{incident.id}-cause", 1.0, 0.5, None)]
        return RcaResult(incident.id, Window(NOW.timestamp()), causes, signals_read=5)


class Llm:
    configured = True
    client = None


def wired(
    qtbot: Any, theme: Any, rows: list[Incident], bus: EventBus | None = None
) -> tuple[IncidentsPresenter, IncidentsView, Rca, TaskSupervisor]:
    tasks, rca = TaskSupervisor(), Rca()
    presenter = IncidentsPresenter(incidents=Incidents(rows), rca=rca, bus=bus or EventBus(),  # type: ignore[arg-type]
                                   tasks=tasks, llm=Llm())  # type: ignore[arg-type]  # fmt: skip
    view = IncidentsView(theme)
    qtbot.addWidget(view)
    presenter.sig_rows.connect(view.show_rows)
    presenter.sig_rca.connect(view.show_rca)
    presenter.sig_rca_busy.connect(view.show_rca_busy)
    presenter.sig_rca_failed.connect(view.show_rca_failed)
    presenter.sig_explain_state.connect(view.rca.show_explain_state)
    presenter.sig_explain_text.connect(view.rca.show_explain_text)
    presenter.sig_explained.connect(view.rca.show_explained)
    view.sig_analyse.connect(presenter.analyse)
    view.sig_acknowledge.connect(presenter.acknowledge)
    view.rca.sig_explain.connect(presenter.explain)
    view.show_rows(rows)
    return presenter, view, rca, tasks


def _cells(table: Any, row: int) -> list[str]:
    return [table.rows_model.index(row, c).data() for c in range(table.columnCount())]


# -- #1: outside text ------------------------------------------------------------------------
def test_outside_text_is_one_printable_short_line(qtbot, qloop, theme) -> None:  # type: ignore[no-untyped-def]
    """An event's message and an object's name (whatever a tenant wrote) reach the timeline,
    the ranking and a chart's title as one printable line, cut: no line break forging a row,
    no ESC, no right-to-left override, no 200,000-character cell or title."""
    view = IncidentsView(theme)
    qtbot.addWidget(view)
    long = "x" * 200_000
    view.show_rows([incident("INC-A", reason=HOSTILE + long, subject="du-0\u202e0-ud")])
    view.select("INC-A")
    cells = _cells(view.timeline, 0)
    for text in (cells[4], cells[5]):
        assert not [c for c in UNSAFE if c in text], repr(text[:80])
        assert len(text) <= SHORT
    assert cells[5].startswith("Back-off FAKE: all clear[2Jredlof-kcab")

    panel = RcaPanel(theme)
    qtbot.addWidget(panel)
    entity = "east service checkout\u202e" + long
    ts = np.arange(0, 600, 60.0) + NOW.timestamp()
    cause = RcaCauseRow(entity, 1.0, None, [HOSTILE], [("k", "c.", "a.")])
    report = RcaReport("INC-A", "the window", 1, [cause],
                       charts={entity: {"error_rate": (ts, np.ones_like(ts))}})  # fmt: skip
    panel.show_report(report)
    ranked = _cells(panel.ranking, 0)
    for text in (ranked[1], ranked[4]):
        assert not [c for c in UNSAFE if c in text], repr(text[:80])
        assert len(text) <= SHORT
    assert len(panel.charts) == 1
    title = panel.charts[0].getPlotItem().titleLabel.text  # type: ignore[attr-defined]
    assert "\u202e" not in title and len(title) <= SHORT and "east service checkout" in title
    assert "\u202e" not in panel.checks.text()


# -- #2 and #3: a new analysis -----------------------------------------------------------------
def test_a_failed_analysis_stops_the_last_ones_explanation(  # type: ignore[no-untyped-def]
    qtbot, qloop, theme, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A explained while B is asked and fails: A's explanation stops, lands nowhere, and
    Explain does not act on A under B's failure."""
    gate = asyncio.Event()

    async def slow_explain(result: RcaResult, _client: Any, incident: Any, on_text: Any) -> Any:
        on_text(f"EXPLANATION OF {incident.id}. ")
        await gate.wait()
        s = SimpleNamespace(text=f"{incident.id} is caused by it.", verdict=Verdict.VERIFIED,
                            reasons=[])  # fmt: skip
        return SimpleNamespace(explanation=SimpleNamespace(sentences=[s], truncated=False),
                               evidence=[], reply=SimpleNamespace(completion_tokens=5,
                                                                  total_ms=10))  # fmt: skip

    monkeypatch.setattr(incidents_presenter, "explain", slow_explain)
    _, view, rca, tasks = wired(qtbot, theme, [incident("INC-A"), incident("INC-B")])
    rca.let("INC-A")
    view.select("INC-A")
    qtbot.mouseClick(view.rca_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: tasks.running == 0 and view.rca.explain_button.isEnabled())
    qtbot.mouseClick(view.rca.explain_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: tasks.names() == ["explanation"])
    rca.fail = True
    rca.let("INC-B")
    view.select("INC-B")
    qtbot.mouseClick(view.rca_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: "Prometheus timed out" in view.rca.summary.text())
    gate.set()  # A's explanation, were it still running, would end now
    run_until(qtbot, lambda: tasks.running == 0)
    qtbot.wait(100)  # a streamed chunk is drawn at most every 50 ms
    assert "INC-B" in view.rca.summary.text()
    assert view.rca.explanation.isHidden() and "INC-A" not in view.rca.explanation.toPlainText()
    assert not view.rca.explain_button.isEnabled()


def test_while_an_analysis_runs_the_last_result_is_not_shown(qtbot, qloop, theme) -> None:  # type: ignore[no-untyped-def]
    """'Analysing INC-B…' above A's ranking read as B's, and its buttons acted on A."""
    _, view, rca, tasks = wired(qtbot, theme, [incident("INC-A"), incident("INC-B")])
    rca.let("INC-A")
    view.select("INC-A")
    qtbot.mouseClick(view.rca_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: view.rca.ranking.rowCount() == 1 and tasks.running == 0)
    view.select("INC-B")
    qtbot.mouseClick(view.rca_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: view.rca.summary.text() == "Analysing INC-B…")
    assert view.rca.ranking.rowCount() == 0 and not view.rca.checks.text()
    assert not view.rca.logs_button.isEnabled() and not view.rca.explain_button.isEnabled()
    rca.let("INC-B")
    run_until(qtbot, lambda: tasks.running == 0)
    assert "INC-B" in _cells(view.rca.ranking, 0)[1]


# -- #6: the "/" filter --------------------------------------------------------------------
def test_an_incident_the_filter_hides_is_acted_on_by_no_button(qtbot, qloop, theme) -> None:  # type: ignore[no-untyped-def]
    view = IncidentsView(theme)
    qtbot.addWidget(view)
    asked: list[str] = []
    view.sig_acknowledge.connect(asked.append)
    view.sig_analyse.connect(asked.append)
    rows = [incident("INC-A", cluster="west"), incident("INC-B", cluster="east")]
    view.show_rows(rows)
    view.select("INC-A")
    assert view.ack_button.isEnabled() and view.timeline.rowCount() == 1
    view.table.set_filter("east")  # the user types "/" east
    assert view.timeline.rowCount() == 0
    assert not (view.ack_button.isEnabled() or view.rca_button.isEnabled()
                or view.logs_button.isEnabled())  # fmt: skip
    view.show_rows(rows)  # and the next refresh comes
    assert view.timeline.rowCount() == 0 and not view.ack_button.isEnabled()
    view._on_ack()
    view._on_analyse()
    assert asked == []
    view.table.set_filter("west")  # a filter that keeps the selected row keeps it selected
    view.select("INC-A")
    view.table.set_filter("wes")
    assert view.ack_button.isEnabled() and _cells(view.timeline, 0)[1] == "west"
    view._on_ack()
    assert asked == ["INC-A"]


# -- #7: a slow read -------------------------------------------------------------------------
def test_a_read_never_overwrites_the_newer_rows_the_bus_brought(qtbot, qloop, theme) -> None:  # type: ignore[no-untyped-def]
    bus = EventBus()
    presenter, view, _rca, tasks = wired(qtbot, theme, [incident("INC-1")], bus)
    store: Incidents = presenter._incidents  # type: ignore[assignment]
    store.gate = asyncio.Event()
    presenter.refresh()  # the timer's read takes the rows, OPEN ...
    run_until(qtbot, lambda: store.reading)
    acked = incident("INC-1").model_copy(update={"state": IncidentStatus.ACKNOWLEDGED,
                                                 "acknowledged_at": NOW})  # fmt: skip
    store.rows = {"INC-1": acked}
    bus.publish(INCIDENTS_CHANGED, [acked])  # ... the acknowledgement publishes its rows ...
    assert _cells(view.table, 0)[1] == "ACKNOWLEDGED"
    store.gate.set()  # ... and the read lands after them
    run_until(qtbot, lambda: tasks.running == 0)
    assert _cells(view.table, 0)[1] == "ACKNOWLEDGED"
    store.gate, store.rows = None, {"INC-1": incident("INC-1")}
    presenter.refresh()  # a read begun after them is shown (reopened, say)
    run_until(qtbot, lambda: _cells(view.table, 0)[1] == "OPEN")


# -- #8: sorting -----------------------------------------------------------------------------
def test_numbers_sort_as_numbers_and_severity_by_its_rank(qtbot, qloop, theme) -> None:  # type: ignore[no-untyped-def]
    view = IncidentsView(theme)
    qtbot.addWidget(view)
    view.show_rows([incident(f"INC-{n}", dropped=n - 1, severity=severity) for n, severity in
                    ((9, FindingSeverity.INFO), (10, FindingSeverity.CRITICAL),
                     (120, FindingSeverity.WARNING))])  # fmt: skip
    view.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    assert [_cells(view.table, r)[4] for r in range(3)] == ["120", "10", "9"]
    view.table.sortByColumn(2, Qt.SortOrder.AscendingOrder)
    assert [_cells(view.table, r)[2] for r in range(3)] == ["CRITICAL", "WARNING", "INFO"]
    causes = [RcaCauseRow(f"c{n}", 0.1, None, []) for n in range(10)]
    view.rca.show_report(RcaReport("x", "the window", 1, causes))
    view.rca.ranking.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert [_cells(view.rca.ranking, r)[0] for r in range(10)] == [str(n) for n in range(1, 11)]


# -- #4: a capture -------------------------------------------------------------------------
@pytest.mark.parametrize("read_only", [True, False])
def test_acknowledge_is_not_offered_in_a_capture(qtbot, qloop, theme, read_only: bool) -> None:  # type: ignore[no-untyped-def]
    """An opened capture is read-only: an acknowledgement would go into its temporary copy
    and be gone when it is closed (the CLI refuses it)."""
    presenter = IncidentsPresenter(incidents=Incidents([]), rca=Rca(), bus=EventBus(),  # type: ignore[arg-type]
                                   tasks=TaskSupervisor())  # fmt: skip
    registry = SimpleNamespace(read_only=read_only, allows=lambda _action: True)
    noop = lambda *_a: None  # noqa: E731
    window = SimpleNamespace(open_logs=noop, open_traces=noop, open_anomaly=noop, show_view=noop)
    presenters: Any = SimpleNamespace(incidents=presenter, registry=registry)
    view: Any = page_views.incidents(presenters, theme, window)
    qtbot.addWidget(view)
    assert view.ack_button.isVisibleTo(view) is not read_only
