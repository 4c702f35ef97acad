"""A query run's slot is not held waiting for a cluster's (review 7).

A run read ``parallel`` clusters at a time, and a cluster whose every slot other runs held
(the GPU page's runs on a slow Prometheus) kept one of the run's slots while it waited: the
run's healthy clusters waited behind it. The cluster's slot is taken first (always in that
order: no run waits holding what another needs), the run's after; only the cluster's slot
and its read count in its time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import EndpointKind, QueryStatus
from aiops_desktop.models.cluster import Cluster, Endpoint
from aiops_desktop.models.metrics import MetricQuery, PromSeries
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from collectors.prometheus import PromResult

T0 = 1_700_000_000.0
ONE = PromResult("vector", [PromSeries({"job": "api"}, np.array([T0]), np.array([1.0]))], [])


def cluster(name: str) -> Cluster:
    url = f"https://prometheus.{name}.example.net"
    return Cluster(name=name, endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS, url=url)])


class Prom:
    """Answers when ``go`` is set; ``asked`` is set by its first read."""

    def __init__(self, go: asyncio.Event) -> None:
        self.go = go
        self.asked = asyncio.Event()
        self.reads = 0

    async def query(
        self, promql: str, at: Any = None, timeout_s: float | None = None
    ) -> PromResult:
        self.reads += 1
        self.asked.set()
        await self.go.wait()
        return ONE


class Pool:
    def __init__(self, **proms: Prom) -> None:
        self.proms = proms

    async def prometheus(self, c: Cluster) -> Prom:
        return self.proms[c.name.replace("-", "_")]


@pytest.mark.asyncio
async def test_a_run_reads_its_other_clusters_while_one_waits_for_its_slot() -> None:
    slow_go, open_go = asyncio.Event(), asyncio.Event()
    open_go.set()
    slow, healthy = Prom(slow_go), Prom(open_go)
    engine = MultiClusterQuery(Pool(slow_1=slow, ok_1=healthy), parallel=1)  # type: ignore[arg-type]
    # another run (the GPU page's) holds the slow cluster's one slot
    holder = asyncio.create_task(engine.run(MetricQuery(promql="up"), [cluster("slow-1")]))
    await asyncio.wait_for(slow.asked.wait(), 5)
    run = asyncio.create_task(
        engine.run(MetricQuery(promql="up"), [cluster("slow-1"), cluster("ok-1")])
    )
    try:
        # before: the run's one slot waited on slow-1's; ok-1 was not asked until it freed
        await asyncio.wait_for(healthy.asked.wait(), 5)
        assert slow.reads == 1  # the run's own read of slow-1 still waits for its slot
    finally:
        slow_go.set()
        answers = await asyncio.gather(holder, run)
    assert [a.status for a in answers] == [QueryStatus.SUCCESS, QueryStatus.SUCCESS]
    assert slow.reads == 2 and healthy.reads == 1


@pytest.mark.asyncio
async def test_a_cluster_waiting_for_the_runs_slot_is_not_timed_out_for_it() -> None:
    """The run's own slot is waited for outside a cluster's time: a cluster of a run behind
    a dark one is read once the dark one's time is up, not said timed out with it."""
    never, now = asyncio.Event(), asyncio.Event()
    now.set()
    dark, healthy = Prom(never), Prom(now)
    engine = MultiClusterQuery(Pool(dark_1=dark, ok_1=healthy), parallel=1)  # type: ignore[arg-type]
    query = MetricQuery(promql="up", timeout_s=0.05)  # a cluster's time: 5.05 s
    loop = asyncio.get_running_loop()
    run = asyncio.create_task(engine.run(query, [cluster("dark-1"), cluster("ok-1")]))
    await asyncio.wait_for(dark.asked.wait(), 5)
    # 6 s go by (the loop's clock moved on, not slept): dark-1's time is up
    real_time = loop.time
    loop.time = lambda: real_time() + 6.0  # type: ignore[method-assign]
    try:
        answer = await asyncio.wait_for(run, 5)
    finally:
        loop.time = real_time  # type: ignore[method-assign]
    by = {o.cluster: o for o in answer.outcomes}
    assert by["dark-1"].reason == "timed_out"
    assert by["ok-1"].ok, by["ok-1"]  # waited for the run's slot, then had its own time
    assert answer.status is QueryStatus.PARTIAL and healthy.reads == 1
