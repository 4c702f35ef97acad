"""The anomalies table keeps the person's selection through the presenter's refreshes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.enums import AnomalyMethod, AnomalySeverity, AnomalyType
from ui.theme import Theme
from ui.views.anomalies_view import AnomaliesView

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def anomaly(i: int, explanation: str | None = None) -> Anomaly:
    at = NOW - timedelta(minutes=i)
    return Anomaly(
        cluster="ran-a", metric="node_cpu", labels={"instance": f"n{i}"},
        method=AnomalyMethod.CONTEXT, timestamp=at, started_at=at, score=3, threshold=2.5,
        severity=AnomalySeverity.LOW, confidence=0.5, type=AnomalyType.SPIKE, actual=1,
        explanation=explanation or f"anomaly {i}",
    )  # fmt: skip


def selected(view: AnomaliesView) -> list[str]:
    rows = view.table.selectionModel().selectedRows()
    return [view._rows[view.table.source_row(r.row())].explanation for r in rows]


def test_a_refresh_keeps_the_selected_anomaly_and_its_buttons(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    view = AnomaliesView(theme)
    qtbot.addWidget(view)
    rows = [anomaly(i) for i in range(5)]
    view.show_rows(rows)
    view.table.selectRow(2)
    assert selected(view) == ["anomaly 2"] and view.rca_button.isEnabled()

    view.show_rows(list(rows))  # the presenter's 5-second refresh: the same rows
    assert selected(view) == ["anomaly 2"]
    assert view.rca_button.isEnabled() and view.logs_button.isEnabled()

    # a new anomaly above it and its own row re-read (a new copy, its text grown): the same
    # anomaly (by its identity) stays selected where it moved to
    grown = anomaly(2, "anomaly 2; still open at the end of the data")
    view.show_rows([anomaly(-1), *rows[:2], grown, *rows[3:]])
    assert selected(view) == ["anomaly 2; still open at the end of the data"]
    with qtbot.waitSignal(view.sig_analyse) as analysed:
        view.rca_button.click()
    assert analysed.args == ["ran-a", (NOW - timedelta(minutes=2)).timestamp()]

    # gone from the rows (filtered out, or aged out): nothing selected, the buttons off
    view.show_rows([r for r in rows if r.explanation != "anomaly 2"])
    assert selected(view) == []
    assert not view.rca_button.isEnabled() and not view.logs_button.isEnabled()
