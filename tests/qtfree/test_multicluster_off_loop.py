"""A fleet hub's big answer is split by member and de-duplicated off the event loop: in the
app the loop is the UI's, and a hub's 300,000 series held it for seconds."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import ClusterKind, EndpointKind
from aiops_desktop.models.cluster import Cluster, Endpoint
from aiops_desktop.models.metrics import MetricQuery, PromSeries
from aiops_desktop.services.queries import multicluster
from aiops_desktop.services.queries.multicluster import OFF_LOOP_SERIES, MultiClusterQuery
from collectors.prometheus import PromResult

T0 = 1_700_000_000.0


def _cluster(name: str, kind: ClusterKind = ClusterKind.CLUSTER) -> Cluster:
    url = f"http://{name}.invalid:9090"
    return Cluster(
        name=name, kind=kind, endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS, url=url)]
    )


def _answer(count: int) -> PromResult:
    stamps, values = np.array([T0]), np.array([1.0])
    series = [
        PromSeries({"cluster": f"member-{i % 4}", "pod": f"pod-{i}"}, stamps, values)
        for i in range(count)
    ]
    return PromResult("vector", series, [])


class _Pool:
    """Every cluster answers the hub's answer (a spoke's own series have a cluster label too)."""

    def __init__(self, result: PromResult) -> None:
        self.result = result

    async def prometheus(self, cluster: Cluster) -> _Pool:
        return self

    async def query(
        self, promql: str, at: Any = None, timeout_s: float | None = None
    ) -> PromResult:
        return self.result


@pytest.mark.asyncio
@pytest.mark.parametrize("count", [OFF_LOOP_SERIES + 1, 10])
async def test_a_big_hub_answer_is_split_and_deduplicated_off_the_loop(
    monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    threads: dict[str, threading.Thread] = {}
    for name in ("split_fleet", "read_once"):
        work = getattr(multicluster, name)

        def recorded(*args: Any, work: Any = work, name: str = name) -> Any:
            threads[name] = threading.current_thread()
            return work(*args)

        monkeypatch.setattr(multicluster, name, recorded)
    hub, spoke = _cluster("acm-hub", ClusterKind.FLEET), _cluster("member-1")
    answer = await MultiClusterQuery(_Pool(_answer(count))).run(  # type: ignore[arg-type]
        MetricQuery(promql="kube_pod_info"), [hub, spoke]
    )
    big = count > OFF_LOOP_SERIES
    loop_thread = threading.current_thread()
    assert {name: t is not loop_thread for name, t in threads.items()} == {
        "split_fleet": big,
        "read_once": big,
    }
    # member-1 answered itself: the hub's copies of it are left out, the rest kept
    from_hub = [t for t in answer.series if t.cluster != "member-1"]
    assert {t.cluster for t in from_hub} == {"member-0", "member-2", "member-3"}
    assert len(from_hub) == count - len(range(1, count, 4))
    assert all("cluster" not in t.series.labels for t in from_hub)
