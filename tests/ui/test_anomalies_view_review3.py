"""The anomalies table sorts by severity as severe as it reads, not as the words spell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt

from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.enums import AnomalyMethod, AnomalySeverity, AnomalyType
from ui.theme import Theme
from ui.views.anomalies_view import AnomaliesView

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
SEVERITY = AnomaliesView.HEADERS.index("Severity")


def anomaly(i: int, severity: AnomalySeverity) -> Anomaly:
    at = NOW - timedelta(minutes=i)
    ruled = severity is AnomalySeverity.CRITICAL  # CRITICAL is for rules only
    return Anomaly(
        cluster="ran-a", metric="node_load", labels={"instance": f"n{i}"},
        method=AnomalyMethod.DOMAIN_RULE if ruled else AnomalyMethod.CONTEXT, timestamp=at,
        started_at=at, score=3, threshold=2.5, severity=severity, confidence=0.5,
        type=AnomalyType.SPIKE, actual=1, deviation_pct=None if ruled else 50.0,
        explanation=f"anomaly {i}",
    )  # fmt: skip


def test_sorting_by_severity_puts_the_most_severe_first(qtbot, theme: Theme) -> None:  # type: ignore[no-untyped-def]
    """CRITICAL, then WARNING (HIGH), then INFO (MEDIUM, LOW): alphabetically INFO came
    between CRITICAL and WARNING."""
    view = AnomaliesView(theme)
    qtbot.addWidget(view)
    grades = (AnomalySeverity.LOW, AnomalySeverity.HIGH, AnomalySeverity.CRITICAL,
              AnomalySeverity.MEDIUM)  # fmt: skip
    view.show_rows([anomaly(i, grade) for i, grade in enumerate(grades)])

    def shown() -> list[str]:
        return [view.table.item(r, SEVERITY).text() for r in range(view.table.rowCount())]

    view.table.sortByColumn(SEVERITY, Qt.SortOrder.AscendingOrder)
    assert shown() == ["CRITICAL", "WARNING", "INFO", "INFO"]
    view.table.sortByColumn(SEVERITY, Qt.SortOrder.DescendingOrder)
    assert shown() == ["INFO", "INFO", "WARNING", "CRITICAL"]
