"""One query over many clusters against real Prometheus and VictoriaMetrics servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import pytest_asyncio

from aiops_desktop.models import Aggregation, ClusterKind, EndpointKind, QueryStatus, QueryType
from aiops_desktop.models.metrics import MetricQuery
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.services.clusters.connections import ClientPool
from aiops_desktop.services.core import Core
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from collectors.http import HttpPolicy
from tests.servers.fixtures import COUNT, FRONT_TOKEN, STEP_S, Dataset
from tests.servers.processes import free_port

pytestmark = pytest.mark.integration
PROM = EndpointKind.PROMETHEUS


@pytest_asyncio.fixture
async def engine(core: Core) -> AsyncIterator[MultiClusterQuery]:
    pool = ClientPool(core.secrets, HttpPolicy(connect_timeout_s=1, read_timeout_s=5, retries=0))
    yield MultiClusterQuery(pool)
    await pool.aclose()


async def add(
    core: Core,
    name: str,
    url: str,
    *,
    kind: ClusterKind = ClusterKind.CLUSTER,
    token: str | None = None,
) -> None:
    secrets = ClusterSecrets(endpoint_tokens={PROM: token}) if token else None
    await core.registry.add(ClusterSpec(name=name, kind=kind, endpoint_urls={PROM: url}), secrets)


def range_query(dataset: Dataset, promql: str, agg: Aggregation = Aggregation.MERGE) -> MetricQuery:
    return MetricQuery(
        promql=promql,
        query_type=QueryType.RANGE,
        start=datetime.fromtimestamp(dataset.start_s, UTC),
        end=datetime.fromtimestamp(dataset.end_s, UTC),
        step=timedelta(seconds=STEP_S),
        aggregation=agg,
    )


@pytest.mark.asyncio
async def test_partial_answer_tags_clusters_and_names_the_failure(
    core: Core,
    engine: MultiClusterQuery,
    member_prometheus,
    nginx_front,
    dataset: Dataset,  # type: ignore[no-untyped-def]
) -> None:
    await add(core, "east-1", member_prometheus["east-1"].url)
    await add(core, "west-2", member_prometheus["west-2"].url)
    await add(core, "dark-9", f"http://127.0.0.1:{free_port()}")
    await add(core, "guarded-3", nginx_front.bearer_url, token="not-the-right-token")
    await add(core, "guarded-4", nginx_front.bearer_url, token=FRONT_TOKEN)
    answer = await engine.run(
        MetricQuery(promql="node_load1", end=datetime.fromtimestamp(dataset.end_s, UTC)),
        core.registry.clusters(),
    )
    assert answer.status is QueryStatus.PARTIAL
    failures = {o.cluster: o.reason for o in answer.failures}
    said = {o.cluster: o.error for o in answer.failures}  # what a flake said (the keyring?)
    assert failures == {"dark-9": "unreachable", "guarded-3": "auth_failed"}, said
    values = {
        (t.cluster, t.series.labels["instance"]): t.series.values[0]
        for t in answer.series
        if t.cluster != "guarded-4"
    }
    assert values == {
        ("east-1", "east-1-node-0:9100"): Dataset.load("east-1", 0, COUNT - 1),
        ("east-1", "east-1-node-1:9100"): Dataset.load("east-1", 1, COUNT - 1),
        ("west-2", "west-2-node-0:9100"): Dataset.load("west-2", 0, COUNT - 1),
        ("west-2", "west-2-node-1:9100"): Dataset.load("west-2", 1, COUNT - 1),
    }
    # through the bearer front the hub's data comes back, keyring token and all
    assert sum(t.cluster == "guarded-4" for t in answer.series) == 6
    model = answer.to_model()
    assert model.status is QueryStatus.PARTIAL and {e.cluster for e in model.errors} == {
        "dark-9",
        "guarded-3",
    }


@pytest.mark.asyncio
async def test_a_defect_met_on_one_cluster_fails_that_cluster_only(
    core: Core,
    engine: MultiClusterQuery,
    member_prometheus,
    dataset: Dataset,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    """An exception no collector names (a RecursionError from an answer nested deeper than
    Python parses, once) took the whole fleet query down: now it is that cluster's failure."""
    await add(core, "east-1", member_prometheus["east-1"].url)
    await add(core, "odd-5", member_prometheus["west-2"].url)
    real = engine._pool.prometheus

    async def odd(cluster):  # type: ignore[no-untyped-def]
        if cluster.name == "odd-5":
            raise RecursionError("maximum recursion depth exceeded")
        return await real(cluster)

    monkeypatch.setattr(engine._pool, "prometheus", odd)
    answer = await engine.run(
        MetricQuery(promql="node_load1", end=datetime.fromtimestamp(dataset.end_s, UTC)),
        core.registry.clusters(),
    )
    assert answer.status is QueryStatus.PARTIAL
    (failed,) = answer.failures
    assert failed.cluster == "odd-5" and "RecursionError" in (failed.error or "")
    assert {t.cluster for t in answer.series} == {"east-1"}


@pytest.mark.asyncio
@pytest.mark.parametrize("hub", ["prometheus", "victoria"])
async def test_fleet_endpoint_splits_by_cluster_label(
    core: Core,
    engine: MultiClusterQuery,
    dataset: Dataset,
    hub: str,
    request: pytest.FixtureRequest,
) -> None:
    server = request.getfixturevalue(hub)
    await add(core, "acm-hub", server.url, kind=ClusterKind.FLEET)
    answer = await engine.run(range_query(dataset, "node_load1"), core.registry.clusters())
    assert answer.status is QueryStatus.SUCCESS
    by_cluster: dict[str, int] = {}
    for tagged in answer.series:
        assert "cluster" not in tagged.series.labels
        by_cluster[tagged.cluster] = by_cluster.get(tagged.cluster, 0) + 1
        node = int(tagged.series.labels["instance"].split("-node-")[1].split(":")[0])
        expected = [Dataset.load(tagged.cluster, node, i) for i in range(COUNT)]
        assert np.allclose(tagged.series.values, expected), (hub, tagged.cluster)
    assert by_cluster == {"east-1": 2, "west-2": 2, "edge-7": 2}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("agg", "reduce"),
    [
        (Aggregation.SUM, np.sum),
        (Aggregation.AVG, np.mean),
        (Aggregation.MAX, np.max),
        (Aggregation.MIN, np.min),
    ],
)
async def test_aggregations_over_clusters(
    core: Core,
    engine: MultiClusterQuery,
    member_prometheus,
    dataset: Dataset,
    agg: Aggregation,
    reduce,  # type: ignore[no-untyped-def]
) -> None:
    await add(core, "east-1", member_prometheus["east-1"].url)
    await add(core, "west-2", member_prometheus["west-2"].url)
    answer = await engine.run(
        range_query(dataset, "sum(node_load1)", agg), core.registry.clusters()
    )
    (combined,) = answer.series
    assert combined.cluster == "east-1,west-2"
    per_cluster = np.array(
        [
            [Dataset.load(c, 0, i) + Dataset.load(c, 1, i) for i in range(COUNT)]
            for c in ("east-1", "west-2")
        ]
    )
    assert combined.series.timestamps.size == COUNT
    assert np.allclose(combined.series.values, reduce(per_cluster, axis=0))
