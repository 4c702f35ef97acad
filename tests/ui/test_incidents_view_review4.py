"""The Incidents page as a fourth review found it: the State column sorts by the lifecycle
(open, acknowledged, resolved), not by the word; Acknowledge covers the severity the page
showed, and a refusal (it got worse since) is said."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt

from aiops_desktop.models.enums import IncidentStatus
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import Incident
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.ui.conftest import run_until
from ui.presenters.incidents import IncidentsPresenter
from ui.views.incidents_view import IncidentsView

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _incident(iid: str, state: IncidentStatus, severity: FindingSeverity) -> Incident:
    return Incident(id=iid, title=iid, severity=severity, state=state, opened_at=NOW,
                    updated_at=NOW)  # fmt: skip


def _states(view: IncidentsView) -> list[str]:
    return [view.table.rows_model.index(r, 1).data() for r in range(view.table.rowCount())]


def test_the_state_column_sorts_by_the_lifecycle(qtbot, theme) -> None:  # type: ignore[no-untyped-def]
    view = IncidentsView(theme)
    qtbot.addWidget(view)
    view.show_rows([_incident("a", IncidentStatus.RESOLVED, FindingSeverity.WARNING),
                    _incident("b", IncidentStatus.ACKNOWLEDGED, FindingSeverity.WARNING),
                    _incident("c", IncidentStatus.OPEN, FindingSeverity.CRITICAL)])  # fmt: skip
    view.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    assert _states(view) == ["OPEN", "ACKNOWLEDGED", "RESOLVED"]
    view.table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    assert _states(view) == ["RESOLVED", "ACKNOWLEDGED", "OPEN"]


class _Incidents:
    """The service: CRITICAL now, whatever the page showed; its acknowledgement refuses an
    incident worse than seen, as the store does."""

    left_out = 0

    def __init__(self) -> None:
        self.seen: list[FindingSeverity | None] = []

    async def listed(self) -> list[Incident]:
        return []

    async def acknowledge(
        self, incident_id: str, *, seen: FindingSeverity | None = None
    ) -> Incident | None:
        self.seen.append(seen)
        return _incident(incident_id, IncidentStatus.OPEN, FindingSeverity.CRITICAL)


def test_acknowledge_covers_what_the_page_showed_and_says_a_refusal(qtbot, qloop, theme) -> None:  # type: ignore[no-untyped-def]
    """Shown WARNING, it became CRITICAL before the click was done: the service is asked to
    acknowledge a WARNING, refuses, and the page says it was not acknowledged."""
    tasks, incidents, bus = TaskSupervisor(), _Incidents(), EventBus()
    presenter = IncidentsPresenter(incidents=incidents, rca=None, bus=bus, tasks=tasks)  # type: ignore[arg-type]
    view = IncidentsView(theme)
    qtbot.addWidget(view)
    presenter.sig_rows.connect(view.show_rows)
    presenter.sig_error.connect(view.show_error)
    view.sig_acknowledge.connect(presenter.acknowledge)
    bus.publish("incidents.changed",
                [_incident("INC-1", IncidentStatus.OPEN, FindingSeverity.WARNING)])  # fmt: skip
    assert view.select("INC-1") and view.ack_button.isEnabled()
    view._on_ack()
    run_until(qtbot, lambda: tasks.running == 0)
    assert incidents.seen == [FindingSeverity.WARNING]
    assert view.error.isVisibleTo(view)
    assert "INC-1 not acknowledged: it is CRITICAL now" in view.error.text()
    presenter.close()
