"""The presenter re-sends the same incidents every poll (10 s) and after every regroup: the
Incidents page keeps the timeline row the engineer picked (a model reset cleared it each
time), and still shows what changed in the selected incident's signals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import Incident, IncidentSignal
from ui.views.incidents_view import IncidentsView

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _incident(reason: str = "clock unlocked") -> Incident:
    signals = [IncidentSignal(key=f"alert|ran-{n:03d}|x", source="alert", cluster=f"ran-{n:03d}",
                              subject="PtpClockUnlocked", severity=FindingSeverity.WARNING,
                              reason=reason, first_seen=NOW - timedelta(seconds=n),
                              last_seen=NOW, alert_name="PtpClockUnlocked")
               for n in range(40)]  # fmt: skip
    return Incident(id="INC-1", title="PtpClockUnlocked on 40 clusters",
                    severity=FindingSeverity.WARNING, opened_at=NOW - timedelta(minutes=1),
                    updated_at=NOW, signals=signals)  # fmt: skip


def _selected(table) -> list[int]:  # type: ignore[no-untyped-def]
    return [i.row() for i in table.selectionModel().selectedRows()]


def test_a_selected_timeline_row_stays_selected_when_the_same_rows_come_again(  # type: ignore[no-untyped-def]
    qtbot, theme
) -> None:
    view = IncidentsView(theme)
    qtbot.addWidget(view)
    view.show_rows([_incident()])
    assert view.select("INC-1")
    view.timeline.selectRow(25)
    view.show_rows([_incident()])  # the poll: the same incident, read again
    assert _selected(view.table) == [0] and _selected(view.timeline) == [25]
    # a signal's reason changed, its incident's row did not: the timeline shows it
    view.show_rows([_incident("clock in holdover")])
    reasons = {view.timeline.item(r, 5).text() for r in range(view.timeline.rowCount())}
    assert reasons == {"clock in holdover"}
