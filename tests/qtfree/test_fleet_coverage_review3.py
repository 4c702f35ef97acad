"""A cluster's findings never read are not yet read, never OK (review 3).

The fleet's findings (GPU, PTP, Kubernetes, anomalies) are read every minute; a cluster added
since the last read (here, or by the CLI and adopted while the app runs), or one given a
Prometheus endpoint since, has none read: it is judged not yet read until a refresh reads
it, not OK with "no findings" beside a GPU at 95 C. A cluster read once and fine stays OK.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.fleet import ClusterTruth, Coverage, FleetTruth, Health
from aiops_desktop.models.metrics import ClusterOutcome, MetricQuery, QueryAnswer, QueryStatus
from aiops_desktop.models.polling import Source
from aiops_desktop.services.fleet.state import FleetState
from aiops_desktop.services.outputs.wall import WallService
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.runtime.bus import EventBus
from tests.qtfree.test_fleet_truth_failures import (
    T0,
    NoAnomalies,
    Poller,
    Registry,
    cluster,
    polled,
)


class Answering:
    """Every cluster's Prometheus answers every findings query: nothing found."""

    async def run(self, query: MetricQuery, clusters: list[Cluster]) -> QueryAnswer:
        outcomes = [ClusterOutcome(c.name, True, 5.0) for c in clusters]
        return QueryAnswer(query, QueryStatus.SUCCESS, [], outcomes, 5.0)


class Kube:
    """Every Kubernetes API answers: no SriovNetworkNodeState, no PtpConfig profiles, no
    GPU driver pods."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def objects_of_each(self, path: str, **_: Any) -> dict[str, list[dict[str, Any]]]:
        return {c.name: [] for c in self.registry.clusters() if c.api_server_url}

    async def gpus_by_exec(self, name: str) -> list[Any]:
        return []

    async def ptp_thresholds(self, *, max_age_s: float) -> tuple[dict[str, Any], list[str]]:
        return {}, []


def of(truth: FleetTruth, name: str) -> ClusterTruth:
    found = truth.get(name)
    assert found is not None, f"{name} is not in the fleet"
    return found


def fleet_over(registry: Registry, now: list, *, kube: Kube | None = None) -> FleetState:
    return FleetState(registry, Poller(), Answering(), NoAnomalies(), EventBus(),  # type: ignore[arg-type]
                      kube=kube, clock=lambda: now[0])  # type: ignore[arg-type]  # fmt: skip


def metrics_polled(fleet: FleetState, *names: str, at: Any) -> None:
    for name in names:
        polled(fleet._poller, name, Source.METRICS, at)  # type: ignore[arg-type]
        polled(fleet._poller, name, Source.ALERTS, at)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_cluster_added_since_the_last_refresh_is_not_yet_read_not_ok() -> None:
    east = cluster("ran-east")
    registry, now = Registry([east]), [T0]
    fleet = fleet_over(registry, now)
    metrics_polled(fleet, "ran-east", at=T0)
    first = await fleet.refresh()
    assert of(first, "ran-east").state is Health.OK  # read once and fine: OK
    assert "findings" not in of(first, "ran-east").coverage

    now[0] = T0 + timedelta(seconds=5)
    west = cluster("ran-west")  # added after the refresh; its first metrics poll answered
    registry._clusters[west.id] = west
    metrics_polled(fleet, "ran-east", "ran-west", at=now[0])
    truth = fleet.snapshot()
    added = of(truth, "ran-west")
    assert added.coverage["findings"] is Coverage.NO_DATA
    assert added.state is not Health.OK and added.health_score is None
    assert of(truth, "ran-east").state is Health.OK  # the one read is still OK

    wall = WallService(registry, fleet._poller, LiveBuffers(), fleet, lambda: now[0])  # type: ignore[arg-type]
    ts = np.array([now[0].timestamp()])
    wall.live.append("ran-west", "gpu_temperature", {"node": "n1", "gpu": "0"}, ts,
                     np.array([95.0]))  # fmt: skip
    gpu = next(p for p in wall.build(["gpu"]).pages if p.name == "gpu")
    tile = next(t for t in gpu.tiles if "ran-west" in t.title)
    assert tile.state == "UNKNOWN"  # not green beside a GPU at 95 C

    read = await fleet.refresh()  # the next refresh reads it: OK, nothing unread said
    assert of(read, "ran-west").state is Health.OK
    assert "findings" not in of(read, "ran-west").coverage


@pytest.mark.asyncio
async def test_a_prometheus_endpoint_added_to_a_cluster_is_not_yet_read() -> None:
    edge = cluster("ran-edge")
    edge.endpoints = [e for e in edge.endpoints if e.kind is EndpointKind.ALERTMANAGER]
    registry, now = Registry([edge]), [T0]
    fleet = fleet_over(registry, now)
    metrics_polled(fleet, "ran-edge", at=T0)
    await fleet.refresh()  # no Prometheus: no findings read over it
    edge.endpoints.append(
        Endpoint(kind=EndpointKind.PROMETHEUS, url="http://ran-edge.invalid:9090")
    )
    truth = of(fleet.snapshot(), "ran-edge")
    assert truth.coverage["findings"] is Coverage.NO_DATA
    assert truth.state is not Health.OK


@pytest.mark.asyncio
async def test_a_kubernetes_api_added_since_the_last_refresh_is_not_yet_read() -> None:
    """A cluster's SR-IOV node sync is read over its Kubernetes API at each refresh: one
    added since has not been read (as before the first refresh), not counted as read."""
    east = cluster("ran-east")
    east.api_server_url = "https://api.ran-east.invalid:6443"
    registry, now = Registry([east]), [T0]
    fleet = fleet_over(registry, now, kube=Kube(registry))
    metrics_polled(fleet, "ran-east", at=T0)
    first = await fleet.refresh()
    assert of(first, "ran-east").coverage["kubernetes"] is Coverage.READ
    assert of(first, "ran-east").state is Health.OK

    west = cluster("ran-west")
    west.api_server_url = "https://api.ran-west.invalid:6443"
    registry._clusters[west.id] = west
    metrics_polled(fleet, "ran-west", at=T0)
    added = of(fleet.snapshot(), "ran-west")
    assert added.coverage["kubernetes"] is Coverage.NO_DATA
    assert of(await fleet.refresh(), "ran-west").coverage["kubernetes"] is Coverage.READ


@pytest.mark.asyncio
async def test_a_cluster_removed_and_added_again_under_its_name_is_not_yet_read() -> None:
    """Its last read was kept by name: added again after a refresh without it, it counted as
    read before any refresh had read it, and showed OK (review of e613070)."""
    east = cluster("ran-east")
    registry, now = Registry([east]), [T0]
    fleet = fleet_over(registry, now)
    metrics_polled(fleet, "ran-east", at=T0)
    await fleet.refresh()
    del registry._clusters[east.id]  # removed; a refresh runs without it
    now[0] = T0 + timedelta(minutes=1)
    await fleet.refresh()
    again = cluster("ran-east")  # added again, under its name (a new id)
    registry._clusters[again.id] = again
    now[0] = T0 + timedelta(minutes=1, seconds=5)
    metrics_polled(fleet, "ran-east", at=now[0])
    truth = of(fleet.snapshot(), "ran-east")
    assert truth.coverage["findings"] is Coverage.NO_DATA
    assert truth.state is not Health.OK


@pytest.mark.asyncio
async def test_a_cluster_removed_and_added_again_between_two_refreshes_is_not_yet_read() -> None:
    """Removed (the CLI's remove) and added again under its name (add) within the minute
    between two refreshes: another cluster, not read yet (review of e38db41)."""
    east = cluster("ran-east")
    registry, now = Registry([east]), [T0]
    fleet = fleet_over(registry, now)
    metrics_polled(fleet, "ran-east", at=T0)
    await fleet.refresh()
    del registry._clusters[east.id]
    again = cluster("ran-east")
    registry._clusters[again.id] = again
    now[0] = T0 + timedelta(seconds=20)
    metrics_polled(fleet, "ran-east", at=now[0])
    truth = of(fleet.snapshot(), "ran-east")
    assert truth.coverage["findings"] is Coverage.NO_DATA and truth.state is not Health.OK
