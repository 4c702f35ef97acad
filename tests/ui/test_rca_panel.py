"""The root-cause analysis as the Incidents page runs and shows it: the analysis asked last
is the one shown (a slow earlier one never lands over it), a failure is said where the result
would be, a new result keeps nothing of the last one (its chosen row, its explanation), an
explanation still streaming keeps Explain off, and a tooltip's lines stay lines."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument

from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import (
    ExplainedSentence,
    ExplanationView,
    Incident,
    IncidentSignal,
    RcaCauseRow,
    RcaReport,
)
from aiops_desktop.services.intelligence.rca import RcaResult
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.rca.model import Cause, Window
from tests.ui.conftest import run_until
from ui.presenters import incidents as incidents_presenter
from ui.presenters.incidents import IncidentsPresenter
from ui.views.incidents_view import IncidentsView, RcaPanel
from ui.views.text import tip

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def incident(iid: str) -> Incident:
    s = IncidentSignal(key=f"k{iid}", source="alert", cluster="east", subject="s",
                       severity=FindingSeverity.CRITICAL, reason="r", first_seen=NOW,
                       last_seen=NOW)  # fmt: skip
    return Incident(id=iid, title=f"{iid} title", severity=FindingSeverity.CRITICAL,
                    opened_at=NOW, updated_at=NOW, signals=[s])  # fmt: skip


class Incidents:
    def __init__(self, rows: list[Incident]) -> None:
        self.rows = {i.id: i for i in rows}

    async def listed(self) -> list[Incident]:
        return list(self.rows.values())

    async def get(self, iid: str) -> Incident | None:
        return self.rows.get(iid)


class Rca:
    """Each analysis waits for its incident's gate; ``fail``: it raises when let through."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.fail = False
        self.causes = 1

    async def for_incident(self, incident: Incident) -> RcaResult:
        await self.gates.setdefault(incident.id, asyncio.Event()).wait()
        if self.fail:
            raise RuntimeError("Prometheus timed out")
        causes = [
            Cause(f"east pod ns/{incident.id}-{n}", 1.0, 0.5, None) for n in range(self.causes)
        ]
        return RcaResult(incident.id, Window(NOW.timestamp()), causes)


class Llm:
    configured = True
    client = None


def wired(
    qtbot: Any, theme: Any, rows: list[Incident]
) -> tuple[IncidentsPresenter, IncidentsView, Rca, TaskSupervisor]:
    tasks, rca = TaskSupervisor(), Rca()
    presenter = IncidentsPresenter(incidents=Incidents(rows), rca=rca, bus=EventBus(),  # type: ignore[arg-type]
                                   tasks=tasks, llm=Llm())  # type: ignore[arg-type]  # fmt: skip
    view = IncidentsView(theme)
    qtbot.addWidget(view)
    presenter.sig_rows.connect(view.show_rows)
    presenter.sig_error.connect(view.show_error)
    presenter.sig_rca.connect(view.show_rca)
    presenter.sig_rca_busy.connect(view.show_rca_busy)
    presenter.sig_rca_failed.connect(view.show_rca_failed)
    presenter.sig_explain_state.connect(view.rca.show_explain_state)
    view.sig_analyse.connect(presenter.analyse)
    view.rca.sig_explain.connect(presenter.explain)
    view.show_rows(rows)
    return presenter, view, rca, tasks


def test_the_analysis_asked_last_is_the_one_shown(qtbot, qloop, theme) -> None:  # type: ignore[no-untyped-def]
    _, view, rca, tasks = wired(qtbot, theme, [incident("INC-A"), incident("INC-B")])
    view.select("INC-A")
    qtbot.mouseClick(view.rca_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: "INC-A" in rca.gates)
    view.select("INC-B")
    assert view.rca_button.isEnabled()  # asking again stops the analysis running
    qtbot.mouseClick(view.rca_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: "INC-B" in rca.gates)
    rca.gates["INC-B"].set()
    rca.gates["INC-A"].set()  # too late: A was stopped when B was asked
    run_until(qtbot, lambda: tasks.running == 0)
    assert view.rca.summary.text().startswith("Root cause analysis of INC-B")
    assert view.rca.ranking.rowCount() == 1
    assert "INC-B" in view.rca.ranking.item(0, 1).text()


def test_a_failed_analysis_says_why_where_its_result_would_be(qtbot, qloop, theme) -> None:  # type: ignore[no-untyped-def]
    presenter, view, rca, tasks = wired(qtbot, theme, [incident("INC-A")])
    view.select("INC-A")
    qtbot.mouseClick(view.rca_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: "INC-A" in rca.gates)
    rca.gates["INC-A"].set()
    run_until(qtbot, lambda: tasks.running == 0)
    assert view.rca.ranking.rowCount() == 1
    rca.fail, rca.causes = True, 0
    qtbot.mouseClick(view.rca_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: tasks.running == 0)
    said = view.rca.summary.text()
    assert "Prometheus timed out" in said and "INC-A" in said and "Analysing" not in said
    assert view.rca.ranking.rowCount() == 0  # nothing of the earlier analysis left under it
    view.show_rows([incident("INC-A")])  # the list refreshes: the failure stays said
    assert "Prometheus timed out" in view.rca.summary.text()
    presenter._incidents.rows.clear()  # type: ignore[attr-defined]
    qtbot.mouseClick(view.rca_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: tasks.running == 0)
    assert "no longer kept" in view.rca.summary.text()


def _report(subject: str, causes: int) -> RcaReport:
    rows = [RcaCauseRow(f"east pod ns/p{n}", 1.0, None, [f"evidence {n}"]) for n in range(causes)]
    return RcaReport(subject, "the window", 3, rows, {}, {}, NOW.timestamp())


def test_a_new_result_keeps_nothing_of_the_last_one(qtbot, qloop, theme) -> None:  # type: ignore[no-untyped-def]
    panel = RcaPanel(theme)
    qtbot.addWidget(panel)
    panel.show_report(_report("INC-A", 6))
    panel.ranking.selectRow(5)  # its sixth cause, for its logs
    assert panel.logs_button.isEnabled()
    panel.show_explained(ExplanationView([ExplainedSentence("INC-A's disk filled [C1].", True)],
                                         [], "1 s"))  # fmt: skip
    panel.show_report(_report("INC-B", 2))  # raised IndexError (the old row 5) and stopped
    assert panel.summary.text().startswith("Root cause analysis of INC-B")
    assert panel.ranking.rowCount() == 2 and not panel.ranking.selected_rows()
    assert not panel.logs_button.isEnabled()
    assert panel.explanation.isHidden() and not panel.explanation.toPlainText()


def test_explain_stays_off_while_the_model_tells_and_a_new_analysis_stops_it(  # type: ignore[no-untyped-def]
    qtbot, qloop, theme, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = asyncio.Event()
    told: list[str] = []

    async def slow_explain(result: RcaResult, *_a: Any, **_k: Any) -> Any:
        told.append(result.subject)
        await gate.wait()
        raise AssertionError("stopped before it could end")

    monkeypatch.setattr(incidents_presenter, "explain", slow_explain)
    presenter, view, rca, tasks = wired(qtbot, theme, [incident("INC-A"), incident("INC-B")])
    for gate_id in ("INC-A", "INC-B"):
        rca.gates[gate_id] = asyncio.Event()
        rca.gates[gate_id].set()
    view.select("INC-A")
    qtbot.mouseClick(view.rca_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: tasks.running == 0 and view.rca.explain_button.isEnabled())
    qtbot.mouseClick(view.rca.explain_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: told == ["INC-A"])
    assert not view.rca.explain_button.isEnabled()
    presenter.refresh()  # the page is shown again: Explain must stay off meanwhile
    run_until(qtbot, lambda: tasks.names() == ["explanation"])
    assert not view.rca.explain_button.isEnabled()
    view.select("INC-B")
    qtbot.mouseClick(view.rca_button, Qt.MouseButton.LeftButton)
    run_until(qtbot, lambda: tasks.running == 0)  # B shown, A's explanation stopped
    assert view.rca.summary.text().startswith("Root cause analysis of INC-B")
    assert view.rca.explain_button.isEnabled() and view.rca.explanation.isHidden()


def test_a_tooltip_keeps_its_lines_and_a_hidden_incident_cannot_be_analysed(
    qtbot, qloop, theme
) -> None:  # type: ignore[no-untyped-def]
    doc = QTextDocument()
    doc.setHtml(tip("evidence\n\nIts error lines:\n12:00:01 <b>ERROR</b> a"))
    assert doc.toPlainText().splitlines() == [
        "evidence", "", "Its error lines:", "12:00:01 <b>ERROR</b> a"]  # fmt: skip
    view = IncidentsView(theme)
    qtbot.addWidget(view)
    view.show_rows([incident("INC-A")])
    view.select("INC-A")
    assert view.rca_button.isEnabled()
    view.state.setCurrentText("RESOLVED")  # the open incident is filtered out
    view.show_rca_busy("")  # an analysis started from the Anomalies page ends
    assert not view.rca_button.isEnabled()


def test_an_analysis_from_an_alert_on_a_fleet_hub_reads_its_members(qtbot, qloop, theme) -> None:  # type: ignore[no-untyped-def]
    """A hub's series are stored under its members' names: the analysis of a moment on the
    hub (an alert without a cluster label) reads the members, as the CLI does."""
    asked: list[list[str]] = []

    class Hub:
        def now(self) -> datetime:
            return NOW + timedelta(hours=1)

        async def for_cluster(self, name: str, clusters: list[str], at: datetime) -> RcaResult:
            asked.append(clusters)
            return RcaResult(f"{name} at {at}", Window(at.timestamp()), [])

    tasks = TaskSupervisor()
    presenter = IncidentsPresenter(
        incidents=Incidents([]), rca=Hub(), bus=EventBus(), tasks=tasks,  # type: ignore[arg-type]
        clusters_of=lambda name: ["ran-east", "ran-west"] if name == "ran-hub" else [name],
    )  # fmt: skip
    presenter.analyse_at("ran-hub", NOW.timestamp())
    run_until(qtbot, lambda: tasks.running == 0)
    assert asked == [["ran-east", "ran-west"]]


def test_an_incident_held_for_an_unread_cluster_says_so(qtbot, qloop, theme) -> None:  # type: ignore[no-untyped-def]
    view = IncidentsView(theme)
    qtbot.addWidget(view)
    held = incident("INC-A").model_copy(update={"unread": ["east"]})
    view.show_rows([held, incident("INC-B")])
    cells = {view.table.item(r, 5).text(): view.table.item(r, 3) for r in range(2)}  # type: ignore[union-attr]
    assert cells["INC-A title"].text() == "east (unread)"  # type: ignore[union-attr]
    assert "held open: east cannot be read" in cells["INC-A title"].toolTip()  # type: ignore[union-attr]
    assert cells["INC-B title"].text() == "east"  # type: ignore[union-attr]


def test_asked_twice_at_once_the_first_never_runs_and_leaves_nothing(qtbot, qloop, theme) -> None:  # type: ignore[no-untyped-def]
    """A double click: the first analysis is stopped before it ran; it leaves no coroutine
    never awaited (a warning, an error in these tests) and the second is shown."""
    import gc
    import warnings

    presenter, view, rca, tasks = wired(qtbot, theme, [incident("INC-A"), incident("INC-B")])
    rca.gates["INC-B"] = asyncio.Event()
    rca.gates["INC-B"].set()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        presenter.analyse("INC-A")
        presenter.analyse("INC-B")  # before the first ran
        run_until(qtbot, lambda: tasks.running == 0)
        gc.collect()
    assert "INC-A" not in rca.gates  # never asked
    assert view.rca.summary.text().startswith("Root cause analysis of INC-B")
