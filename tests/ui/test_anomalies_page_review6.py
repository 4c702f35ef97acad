"""The Anomalies page: a CRITICAL an hour old is listed however many newer LOW findings came
after it (the newest 500 alone pushed it out, and the title said "0 CRITICAL"), the title's
counts are the store's for the filter and say how many are not shown; a series' hostile labels
(a newline, a bidi override, a 200 KB value) are one short line in the "Series" column."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from aiops_desktop.models.anomalies import Anomaly, AnomalyFilter
from aiops_desktop.models.enums import (
    AnomalyMethod,
    AnomalySeverity,
    AnomalyType,
    FindingSeverity,
)
from aiops_desktop.services.intelligence.anomalies import AnomalyService
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from aiops_desktop.store.anomalies import AnomalyRepository
from aiops_desktop.store.database import Database
from tests.ui.conftest import run_coro
from ui.presenters.anomalies import ROWS_SHOWN, AnomaliesPresenter
from ui.theme import Theme
from ui.views.anomalies_view import AnomaliesView

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def anomaly(
    i: int, severity: AnomalySeverity, at: datetime, labels: dict[str, str] | None = None
) -> Anomaly:
    rule = severity is AnomalySeverity.CRITICAL
    return Anomaly(
        cluster="ran-a", metric="ptp_clock_state" if rule else "node_cpu",
        labels=labels if labels is not None else {"pod": f"p{i}"},
        method=AnomalyMethod.DOMAIN_RULE if rule else AnomalyMethod.CONTEXT, timestamp=at,
        started_at=at, score=3, threshold=2.5, severity=severity, confidence=0.5,
        type=AnomalyType.SPIKE, actual=1, explanation=f"{severity.value} {i}",
    )  # fmt: skip


class Detection:
    """The anomaly service as the page reads it, over a real store."""

    def __init__(self, repo: AnomalyRepository) -> None:
        self.repo = repo

    listed = AnomalyService.listed  # the service's own read, over the store above

    def shortfalls(self, _clusters: tuple[str, ...] = ()) -> list[str]:
        return []


class NoBus:
    def subscribe(self, _topic: str, _callback: Any) -> Any:
        return lambda: None


def test_an_old_critical_is_listed_and_counted_past_newer_low_ones(
    qtbot: QtBot, qloop: object, theme: Theme, tmp_path: Path
) -> None:
    db = Database(tmp_path / "cache.sqlite3")
    repo = AnomalyRepository(db)
    rows = [anomaly(0, AnomalySeverity.CRITICAL, NOW - timedelta(hours=1))]
    rows += [anomaly(i, AnomalySeverity.LOW, NOW - timedelta(seconds=i)) for i in range(1, 601)]
    repo.save(rows).result()
    presenter = AnomaliesPresenter(anomalies=Detection(repo), bus=NoBus(),  # type: ignore[arg-type]
                                   fleet=SimpleNamespace(last=SimpleNamespace(clusters=[])),  # type: ignore[arg-type]
                                   tasks=TaskSupervisor())  # fmt: skip
    view = AnomaliesView(theme)
    qtbot.addWidget(view)
    presenter.sig_rows.connect(view.show_rows)
    try:
        run_coro(qtbot, presenter.read())
        shown = view._rows
        assert [a.severity for a in shown].count(AnomalySeverity.CRITICAL) == 1
        assert len(shown) == ROWS_SHOWN + 1  # the newest, and the most severe beside them
        assert view.title.text() == (
            f"Anomalies · {ROWS_SHOWN + 1} shown of 601 (100 not shown), 1 CRITICAL, 0 WARNING"
        )
        # a filter the most severe are not of: its newest, its own counts
        presenter.filter = AnomalyFilter(
            severities=(AnomalySeverity.MEDIUM, AnomalySeverity.LOW), limit=ROWS_SHOWN
        )
        run_coro(qtbot, presenter.read())
        assert len(view._rows) == ROWS_SHOWN
        assert all(a.severity is AnomalySeverity.LOW for a in view._rows)
        assert view.title.text() == (
            f"Anomalies · {ROWS_SHOWN} shown of 600 (100 not shown), 0 CRITICAL, 0 WARNING"
        )
        presenter.set_filter(None, FindingSeverity.CRITICAL, None)
        run_coro(qtbot, presenter.read())
        assert [a.explanation for a in view._rows] == ["CRITICAL 0"]
        assert view.title.text() == "Anomalies · 1 shown, 1 CRITICAL, 0 WARNING"
        qtbot.waitUntil(lambda: not presenter._busy)  # set_filter's own read
    finally:
        db.close()


def test_a_series_hostile_labels_are_one_short_line(qtbot: QtBot, theme: Theme) -> None:
    view = AnomaliesView(theme)
    qtbot.addWidget(view)
    view.resize(1200, 600)
    view.show()
    forged = {"instance": "n1\n2026-01-05 12:00:00 UTC  ran-b  CRITICAL",
              "pod": "\u202egnirts-desrever"}  # fmt: skip
    view.show_rows([anomaly(1, AnomalySeverity.LOW, NOW, forged)])
    cell = view.table.model().index(0, 5).data(Qt.ItemDataRole.DisplayRole)
    assert "\n" not in cell and "\u202e" not in cell
    assert "n1" in cell and "gnirts-desrever" in cell
    huge = {"pod": "x" * 200_000}
    view.show_rows([anomaly(i, AnomalySeverity.LOW, NOW, {"instance": f"n{i}", **huge})
                    for i in range(50)])  # fmt: skip
    cell = view.table.model().index(0, 5).data(Qt.ItemDataRole.DisplayRole)
    assert len(cell) <= 300 and cell.endswith("…")
    assert view.table.columnWidth(5) < 3000  # 300 characters, not 1,048,575 px


def test_a_whole_promql_query_as_the_metric_is_one_short_line(qtbot: QtBot, theme: Theme) -> None:
    """The CLI's analyse stores the query it was given as the metric: a multi-line query of
    thousands of characters is one cut line in the "Metric" column, as a series is."""
    view = AnomaliesView(theme)
    qtbot.addWidget(view)
    query = 'sum by (pod) (\n  rate(container_cpu_usage_seconds_total{pod=~".+"}[5m])\n)'
    row = anomaly(1, AnomalySeverity.LOW, NOW).model_copy(update={"metric": query * 100})
    view.show_rows([row])
    cell = view.table.model().index(0, 4).data(Qt.ItemDataRole.DisplayRole)
    assert "\n" not in cell and cell.startswith("sum by (pod) (   rate(")
    assert len(cell) == 300 and cell.endswith("…")
