"""One GPU's history (a click on a heatmap cell) is asked of the cluster that reported it, or
the hubs its data comes through: not of every cluster with metrics (200 clusters: 1,000
requests for one GPU, and every other cluster's failure said under its charts as its own)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aiops_desktop.models import Cluster, ClusterKind
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.enums import EndpointKind, QueryStatus
from aiops_desktop.models.gpu import GpuReading
from aiops_desktop.models.metrics import ClusterOutcome, QueryAnswer
from aiops_desktop.services.gpu_cnf.readers import GpuCnfReaders

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _cluster(name: str, kind: ClusterKind = ClusterKind.CLUSTER) -> Cluster:
    prom = Endpoint(kind=EndpointKind.PROMETHEUS, url=f"https://prom.{name}.example")
    return Cluster(name=name, kind=kind, endpoints=[prom])


class _Registry:
    def __init__(self, clusters: list[Cluster], members: dict[str, list[str]]) -> None:
        self._clusters, self._members = clusters, members

    def clusters(self) -> list[Cluster]:
        return list(self._clusters)

    def hubs_of(self, name: str) -> list[Cluster]:
        if any(c.name == name for c in self._clusters):
            return []
        return [c for c in self._clusters if name in self._members.get(c.name, [])]


class _Queries:
    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    async def run(self, query, clusters):  # type: ignore[no-untyped-def]
        self.asked.append([c.name for c in clusters])
        outcomes = [ClusterOutcome(c.name, c.name != "site-199", 1.0,
                                   error=None if c.name != "site-199" else "site-199: refused")
                    for c in clusters]  # fmt: skip
        return QueryAnswer(query, QueryStatus.PARTIAL, [], outcomes, 1.0)


def _readers(registry: _Registry, queries: _Queries) -> GpuCnfReaders:
    return GpuCnfReaders(registry, queries, None, None, clock=lambda: NOW)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_gpus_history_is_asked_of_its_own_cluster_only() -> None:
    sites = [_cluster(f"site-{i:03d}") for i in range(200)]
    queries = _Queries()
    history = await _readers(_Registry(sites, {}), queries).gpu_history(
        GpuReading("site-000", "n1", "0", "GPU-abc")
    )
    assert queries.asked and all(asked == ["site-000"] for asked in queries.asked)
    assert not [o for o in history.outcomes if not o.ok]  # site-199's failure is not its own


@pytest.mark.asyncio
async def test_a_hub_members_gpu_history_is_asked_of_its_hub() -> None:
    hub, other = _cluster("hub", ClusterKind.FLEET), _cluster("lab")
    queries = _Queries()
    await _readers(_Registry([hub, other], {"hub": ["edge-7"]}), queries).gpu_history(
        GpuReading("edge-7", "n1", "0", "GPU-abc")
    )
    assert queries.asked and all(asked == ["hub"] for asked in queries.asked)
