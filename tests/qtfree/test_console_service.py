"""The PromQL console's service (QueryConsole) over fake clusters: members of a hub asked for
by name, aggregated over those only; a history row that cannot be written loses no answer."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import Future
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import Aggregation, ClusterKind, EndpointKind, QueryStatus
from aiops_desktop.models.cluster import Cluster, Endpoint
from aiops_desktop.models.metrics import ConsoleRequest, MetricQuery, PromSeries, QueryRecord
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.queries import multicluster
from aiops_desktop.services.queries.console import QueryConsole
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from collectors.prometheus import PromResult

MEMBERS = {"ran-a": 1.0, "ran-b": 10.0, "ran-c": 100.0}


def _hub() -> Cluster:
    hub = Cluster(
        name="acm-hub",
        kind=ClusterKind.FLEET,
        endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS, url="http://hub.invalid:9090")],
    )
    hub.status.members = list(MEMBERS)
    return hub


class _Registry:
    """The registry's own ways of choosing targets, over one hub."""

    get = ClusterRegistry.get
    hubs_of = ClusterRegistry.hubs_of
    members = ClusterRegistry.members
    targets = ClusterRegistry.targets

    def __init__(self, *clusters: Cluster) -> None:
        self._clusters = {c.id: c for c in clusters}

    def clusters(self) -> list[Cluster]:
        return list(self._clusters.values())


class _Hub:
    """A hub's Prometheus: one series a member, labelled with its cluster."""

    async def query_range(self, promql: str, start: float, end: float, step: float,
                          timeout_s: float | None = None) -> PromResult:  # fmt: skip
        ts = np.arange(start, end + 1, step)
        series = [
            PromSeries({"cluster": m, "job": "x"}, ts, np.full(ts.size, v))
            for m, v in MEMBERS.items()
        ]
        return PromResult("matrix", series, [])

    async def query(
        self, promql: str, at: Any = None, timeout_s: float | None = None
    ) -> PromResult:
        return await self.query_range(promql, 1_700_000_000, 1_700_000_000, 1)


class _Pool:
    async def prometheus(self, cluster: Cluster) -> _Hub:
        return _Hub()


class _Repo:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.records: list[QueryRecord] = []

    def record(self, rec: QueryRecord) -> Future[None]:
        done: Future[None] = Future()
        if self.error is None:
            self.records.append(rec)
            done.set_result(None)
        else:
            done.set_exception(self.error)
        return done


def _console(repo: _Repo | None = None) -> QueryConsole:
    return QueryConsole(_Registry(_hub()), MultiClusterQuery(_Pool()), repo or _Repo())  # type: ignore[arg-type]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("agg", "expected"),
    [
        (Aggregation.SUM, 11.0),
        (Aggregation.AVG, 5.5),
        (Aggregation.MAX, 10.0),
        (Aggregation.MIN, 1.0),
    ],
)
async def test_members_asked_for_by_name_are_aggregated_over_those_only(
    agg: Aggregation, expected: float
) -> None:
    """SUM over ran-a and ran-b of a hub that also holds ran-c: the hub's answer was
    aggregated over all three (tagged "ran-a,ran-b,ran-c"), then dropped by the member
    filter: an empty SUCCESS."""
    repo = _Repo()
    request = ConsoleRequest(
        promql="up", clusters=["ran-a", "ran-b"], range_s=900, step_s=60, aggregation=agg
    )
    answer = await _console(repo).run(request)
    assert answer.status is QueryStatus.SUCCESS
    (combined,) = answer.series
    assert combined.cluster == "ran-a,ran-b"
    assert combined.series.labels == {"job": "x"}
    assert np.all(combined.series.values == expected)
    assert answer.query.aggregation is agg
    assert repo.records[0].series == 1 and repo.records[0].aggregation == agg.value


@pytest.mark.asyncio
async def test_members_asked_for_by_name_merged_keep_their_own_series() -> None:
    request = ConsoleRequest(promql="up", clusters=["ran-a", "ran-b"], range_s=900, step_s=60)
    answer = await _console().run(request)
    assert sorted(s.cluster for s in answer.series) == ["ran-a", "ran-b"]


@pytest.mark.asyncio
async def test_a_history_row_that_cannot_be_written_loses_no_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The history row was written before the answer was returned: a full disk or a locked
    database threw away the answer already fetched from every cluster."""
    repo = _Repo(sqlite3.OperationalError("database or disk is full"))
    answer = await _console(repo).run(ConsoleRequest(promql="up", clusters=["acm-hub"]))
    assert answer.status is QueryStatus.SUCCESS and len(answer.series) == 3
    assert answer.notes == ["query history not saved: database or disk is full"]
    assert "query history not saved" in caplog.text


@pytest.mark.asyncio
async def test_aggregation_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Aggregating thousands of series took the UI thread (the console's loop is Qt's)."""
    threads: list[threading.Thread] = []
    real = multicluster.aggregate

    def spy(series: Any, how: Aggregation) -> Any:
        threads.append(threading.current_thread())
        return real(series, how)

    monkeypatch.setattr(multicluster, "aggregate", spy)
    answer = await MultiClusterQuery(_Pool()).run(  # type: ignore[arg-type]
        MetricQuery(promql="up", aggregation=Aggregation.SUM), [_hub()]
    )
    assert len(answer.series) == 1
    request = ConsoleRequest(promql="up", clusters=["ran-a"], aggregation=Aggregation.SUM)
    await _console().run(request)
    assert threads and all(t is not threading.main_thread() for t in threads)
