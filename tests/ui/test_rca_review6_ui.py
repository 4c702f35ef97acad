"""The RCA panel (review 6): "Analyse root cause" on an anomaly or an alert is analysed no
later than now (a capture's now is its end), an alert's start past 9999 fails on the panel,
not in the Qt slot, and an analysis that read nothing says which sources could not be read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiops_desktop.services.intelligence.rca import RcaResult, RcaService
from aiops_desktop.services.intelligence.rca_topology import TopologyRead
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.ui.conftest import run_until
from ui.presenters.incidents import IncidentsPresenter

NOW = datetime(2026, 12, 6, 11, 32, 55, tzinfo=UTC)  # the capture's end: its now


class _Series:
    def read(self, *_a: Any, **_k: Any) -> list[Any]:
        return []

    def rollup_resolutions(self, *_a: Any, **_k: Any) -> list[int]:
        return []


class _Incidents:
    async def listed(self) -> list[Any]:
        return []


class _FailingReads:
    async def read(self, clusters: list[str], window: Any) -> TopologyRead:
        return TopologyRead(unread=["east: Prometheus 503 Service Unavailable"])


def _presenter(rca: RcaService, tasks: TaskSupervisor) -> tuple[IncidentsPresenter, list[str]]:
    presenter = IncidentsPresenter(incidents=_Incidents(), rca=rca, bus=EventBus(),  # type: ignore[arg-type]
                                   tasks=tasks)  # fmt: skip
    failed: list[str] = []
    presenter.sig_rca_failed.connect(failed.append)
    return presenter, failed


def test_an_anomaly_begun_minutes_ago_is_analysed_up_to_now(qtbot, qloop) -> None:  # type: ignore[no-untyped-def]
    """An anomaly begun 2 minutes before the capture's end is analysed up to its end, not
    3 minutes past it; an alert that says it started at 9999-12-31T23:58Z is analysed at
    now, never raising in the Qt slot; a start no datetime holds fails on the panel."""
    asked: list[datetime] = []

    class Recording(RcaService):
        async def for_cluster(self, name: str, clusters: list[str], at: datetime) -> RcaResult:
            asked.append(at)
            return await super().for_cluster(name, clusters, at)

    tasks = TaskSupervisor()
    presenter, failed = _presenter(Recording(_Series(), [], clock=lambda: NOW), tasks)  # type: ignore[arg-type]
    presenter.analyse_at("east", (NOW - timedelta(minutes=2)).timestamp())
    run_until(qtbot, lambda: tasks.running == 0)
    presenter.analyse_at("east", (NOW - timedelta(minutes=20)).timestamp())
    run_until(qtbot, lambda: tasks.running == 0)
    presenter.analyse_at("east", datetime(9999, 12, 31, 23, 58, tzinfo=UTC).timestamp())
    run_until(qtbot, lambda: tasks.running == 0)
    assert asked == [NOW, NOW - timedelta(minutes=15), NOW], asked
    failed.clear()
    presenter.analyse_at("east", 1e300)
    run_until(qtbot, lambda: tasks.running == 0)
    assert len(failed) == 1 and "root-cause analysis failed" in failed[0], failed


def test_an_analysis_that_read_nothing_says_what_could_not_be_read(qtbot, qloop) -> None:  # type: ignore[no-untyped-def]
    tasks = TaskSupervisor()
    rca = RcaService(_Series(), [], clock=lambda: NOW, topology=_FailingReads())  # type: ignore[arg-type]
    presenter, failed = _presenter(rca, tasks)
    presenter.analyse_at("east", (NOW - timedelta(minutes=10)).timestamp())
    run_until(qtbot, lambda: tasks.running == 0)
    (said,) = failed
    assert "nothing was read" in said and "east: Prometheus 503 Service Unavailable" in said, said
