"""The fleet's one truth over fleet hubs: a hub's own findings count; a hub that never
answered claims no other hub's members; a member of two hubs is judged from the one serving
it; a cluster read twice (registered and a hub's member, or in two hubs) has each finding
once; and an OK cluster's health score stays above any DEGRADED one's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import Cluster, ClusterKind
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.fleet import Coverage, Domain, Finding, FindingSeverity, Health
from aiops_desktop.models.metrics import (
    ClusterOutcome,
    MetricQuery,
    PromSeries,
    QueryAnswer,
    QueryStatus,
    TaggedSeries,
)
from aiops_desktop.models.polling import Source, SourceStatus
from aiops_desktop.services.fleet.state import FleetState, judge, read_metric_findings
from aiops_desktop.services.polling.catalog import field_queries
from aiops_desktop.services.queries.multicluster import MultiClusterQuery, split_fleet
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.settings import PollerSettings
from collectors.errors import CollectorUnreachable
from collectors.prometheus import PromResult
from tests.qtfree.test_fleet_truth_failures import Registry, cluster

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
XID = Finding(Domain.GPU, FindingSeverity.CRITICAL, "gpu-1/gpu3", "XID 79: GPU has fallen off")
NOT_READY = field_queries("kube")["not_ready"]


@dataclass
class Poller:
    status: dict[tuple[str, str], SourceStatus] = field(default_factory=dict)
    alerts: dict[str, list[Alert]] = field(default_factory=dict)
    hub_newest: dict[str, datetime | None] = field(default_factory=dict)
    member_seen: dict[str, dict[str, datetime | None]] = field(default_factory=dict)
    settings: PollerSettings = field(default_factory=PollerSettings)


class NoAnomalies:
    async def current(self, within: timedelta) -> list[object]:
        return []


def polled(poller: Poller, name: str, *, failing: bool = False) -> None:
    for source in (Source.METRICS, Source.ALERTS):
        status = poller.status.setdefault((name, source), SourceStatus(name, source, 30.0))
        status.polls += 1
        if failing:
            status.consecutive_errors += 1
            status.last_error = "connect: connection refused"
        else:
            status.consecutive_errors, status.last_error, status.last_success = 0, None, T0


def fleet_of(
    clusters: list[Cluster], found: dict[str, list[Finding]], *, failing: tuple[str, ...] = ()
) -> tuple[FleetState, Poller]:
    poller = Poller()
    fleet = FleetState(Registry(clusters), poller, None, NoAnomalies(), EventBus(),  # type: ignore[arg-type]
                       clock=lambda: T0)  # fmt: skip
    fleet._found, fleet._refreshed_at = dict(found), T0  # a refresh read these
    fleet._read_at = {c.name: T0 for c in clusters}
    for c in clusters:
        polled(poller, c.name, failing=c.name in failing)
    return fleet, poller


def test_a_hubs_own_critical_finding_makes_it_critical() -> None:
    """A series of the hub's own cluster (no ``cluster`` label) is filed under the hub: its
    XID made nothing CRITICAL (only members' and plain clusters' findings were judged)."""
    hub = cluster("acm-hub", hub=True, members=("ran-east",))
    own = PromSeries({"Hostname": "hub-gpu-0", "gpu": "0"}, np.array([T0.timestamp()]),
                     np.array([79.0]))  # fmt: skip
    assert [t.cluster for t in split_fleet(PromResult("vector", [own], []), hub)] == ["acm-hub"]
    fleet, _ = fleet_of([hub], {"acm-hub": [XID], "ran-east": []})
    truth = fleet.snapshot()
    got = truth.get("acm-hub")
    assert got is not None and got.state is Health.CRITICAL and got.health_score == 75
    assert got.findings == [XID]
    assert ("acm-hub", "GPU", "gpu-1/gpu3") in truth.critical()
    east = truth.get("ran-east")
    assert east is not None and east.state is Health.OK and east.findings == []


def test_a_hub_that_never_answered_claims_no_other_hubs_members() -> None:
    """a-hub (a wrong URL: no members known) took every unregistered name, z-hub's member
    with them, and judged it from its own unreachable sources: OFFLINE, score 0."""
    dead = cluster("a-hub", hub=True)
    good = cluster("z-hub", hub=True, members=("ran-east",))
    fleet, poller = fleet_of([dead, good], {"ran-east": [XID], "lone-1": []},
                             failing=("a-hub",))  # fmt: skip
    poller.member_seen = {"z-hub": {"ran-east": T0}}
    truth = fleet.snapshot()
    east = truth.get("ran-east")
    assert east is not None and east.hub == "z-hub"
    assert east.state is Health.CRITICAL and east.health_score == 75
    lone = truth.get("lone-1")  # named by no hub: still the hub without members' (seen)
    assert lone is not None and lone.hub == "a-hub" and lone.state is Health.OFFLINE
    registry = Registry([dead, good])
    assert registry.members(dead, ["lone-1", "ran-east"]) == ["lone-1"]  # type: ignore[misc]
    assert registry.members(good, ["lone-1"]) == ["ran-east"]  # type: ignore[misc]


def test_a_member_of_two_hubs_is_judged_from_the_one_serving_it() -> None:
    """acm-hub (first by name) is down; thanos-hub reads ran-east: judged from thanos-hub,
    not OFFLINE. Only when every hub serving it is unreachable is it OFFLINE."""
    a = cluster("acm-hub", hub=True, members=("ran-east",))
    b = cluster("thanos-hub", hub=True, members=("ran-east",))
    fleet, poller = fleet_of([a, b], {"ran-east": [XID]}, failing=("acm-hub",))
    poller.member_seen = {"thanos-hub": {"ran-east": T0}}
    east = fleet.snapshot().get("ran-east")
    assert east is not None and east.hub == "thanos-hub"
    assert east.state is Health.CRITICAL and east.health_score == 75
    assert east.coverage == {"metrics": Coverage.READ, "alerts": Coverage.READ}
    assert [t.name for t in fleet.snapshot().clusters].count("ran-east") == 1  # listed once
    # acm-hub's findings read failed too: what it held of ran-east (its PTP, say) is last
    # known, so ran-east's findings source is lost, though its metrics come from thanos-hub
    fleet._unread = {"acm-hub": "PTP: acm-hub: no answer within 30 s"}
    east = fleet.snapshot().get("ran-east")
    assert east is not None and east.hub == "thanos-hub"
    assert (
        east.coverage["findings"] is Coverage.UNREACHABLE
        and east.coverage["metrics"] is Coverage.READ
    )
    assert east.unread == {"findings": "PTP: acm-hub: no answer within 30 s"}
    fleet._unread = {}
    # thanos-hub answers but no longer has ran-east's series; acm-hub is back and has them
    poller.member_seen = {"acm-hub": {"ran-east": T0}, "thanos-hub": {"ran-east": None}}
    polled(poller, "acm-hub")
    east = fleet.snapshot().get("ran-east")
    assert east is not None and east.hub == "acm-hub" and east.state is Health.CRITICAL
    assert east.coverage["metrics"] is Coverage.READ
    # both down: OFFLINE
    polled(poller, "acm-hub", failing=True)
    polled(poller, "thanos-hub", failing=True)
    east = fleet.snapshot().get("ran-east")
    assert east is not None and east.state is Health.OFFLINE and east.health_score == 0


class Queries:
    """Each Prometheus answers the NotReady query with node du-1 (a hub's series labelled
    cluster="ran-east", as a Thanos querier over ACM answers); every other query: nothing."""

    async def run(self, query: MetricQuery, clusters: list[Cluster]) -> QueryAnswer:
        series: list[TaggedSeries] = []
        for c in clusters:
            if query.promql != NOT_READY:
                continue
            labels = {"node": "du-1"}
            if c.kind is ClusterKind.FLEET:
                labels["cluster"] = "ran-east"
            s = PromSeries(labels, np.array([T0.timestamp()]), np.array([0.0]))
            if c.kind is ClusterKind.FLEET:
                series += split_fleet(PromResult("vector", [s], []), c)
            else:
                series.append(TaggedSeries(c.name, s))
        outcomes = [ClusterOutcome(c.name, True, 1.0, series=1) for c in clusters]
        return QueryAnswer(query, QueryStatus.SUCCESS, series, outcomes, 1.0)


@pytest.mark.asyncio
async def test_a_cluster_read_twice_has_each_finding_once() -> None:
    """Two hubs over one fleet both answer ran-east's NotReady node: one finding, not two
    (the score was penalised twice: 80, not 90)."""
    a = cluster("acm-hub", hub=True, members=("ran-east",))
    b = cluster("thanos-hub", hub=True, members=("ran-east",))
    found, unread, _ = await read_metric_findings(Queries(), [a, b], T0, recorded=True)  # type: ignore[arg-type]
    assert unread == {}
    assert [f.line() for f in found["ran-east"]] == ["node du-1: NotReady"]
    fleet, _ = fleet_of([a, b], {"ran-east": [*found["ran-east"]] * 2})  # as merged before
    east = fleet.snapshot().get("ran-east")
    assert east is not None and east.state is Health.DEGRADED and east.health_score == 90
    assert [f.line() for f in east.findings] == ["node du-1: NotReady"]


class Hub:
    """A Thanos querier over ACM: ran-east's and ran-west's series, and one of its own."""

    async def query(
        self, promql: str, at: Any = None, timeout_s: float | None = None
    ) -> PromResult:
        ts, v = np.array([T0.timestamp()]), np.array([1.0])
        return PromResult("vector", [PromSeries({"cluster": "ran-east", "node": "du-1"}, ts, v),
                                     PromSeries({"cluster": "ran-west", "node": "du-2"}, ts, v),
                                     PromSeries({"node": "hub-0"}, ts, v)], [])  # fmt: skip


class Own:
    """ran-east's own Prometheus."""

    async def query(
        self, promql: str, at: Any = None, timeout_s: float | None = None
    ) -> PromResult:
        ts, v = np.array([T0.timestamp()]), np.array([1.0])
        return PromResult("vector", [PromSeries({"node": "du-1"}, ts, v)], [])


class Pool:
    async def prometheus(self, c: Cluster) -> Hub | Own:
        return Hub() if c.kind is ClusterKind.FLEET else Own()


@pytest.mark.asyncio
async def test_a_hubs_series_of_a_member_asked_itself_are_not_taken_twice() -> None:
    """ran-east is registered itself and a member of the hub: asked of both at once, its
    series come from its own Prometheus only (SUM doubled it, findings were two)."""
    east, hub = cluster("ran-east"), cluster("acm-hub", hub=True, members=("ran-east",))
    engine = MultiClusterQuery(Pool())  # type: ignore[arg-type]
    both = await engine.run(MetricQuery(promql="up", end=T0), [east, hub])
    got = sorted((t.cluster, t.series.labels["node"]) for t in both.series)
    assert got == [("acm-hub", "hub-0"), ("ran-east", "du-1"), ("ran-west", "du-2")]
    alone = await engine.run(MetricQuery(promql="up", end=T0), [hub])  # the hub alone: all
    assert sorted(t.cluster for t in alone.series) == ["acm-hub", "ran-east", "ran-west"]


class DeadOwn:
    """ran-east's own Prometheus, down."""

    async def query(
        self, promql: str, at: Any = None, timeout_s: float | None = None
    ) -> PromResult:
        raise CollectorUnreachable("ran-east: connection refused", backend="ran-east")


class DeadOwnPool:
    async def prometheus(self, c: Cluster) -> Hub | DeadOwn:
        return Hub() if c.kind is ClusterKind.FLEET else DeadOwn()


@pytest.mark.asyncio
async def test_a_member_whose_own_read_failed_keeps_its_hubs_series() -> None:
    """Its own Prometheus down, the hub's copy is all there is: dropping it (as a copy of a
    member asked itself) emptied the SR-IOV page of a site whose metrics go through a hub."""
    east, hub = cluster("ran-east"), cluster("acm-hub", hub=True, members=("ran-east",))
    engine = MultiClusterQuery(DeadOwnPool())  # type: ignore[arg-type]
    both = await engine.run(MetricQuery(promql="up", end=T0), [east, hub])
    got = sorted((t.cluster, t.series.labels["node"]) for t in both.series)
    assert got == [("acm-hub", "hub-0"), ("ran-east", "du-1"), ("ran-west", "du-2")]
    assert both.status is QueryStatus.PARTIAL


def test_an_ok_clusters_score_stays_above_any_degraded_ones() -> None:
    read = {"metrics": Coverage.READ, "alerts": Coverage.READ}
    info = [Finding(Domain.ANOMALIES, FindingSeverity.INFO, f"cpu{i}", "new value", key=str(i))
            for i in range(50)]  # fmt: skip
    warning = Finding(Domain.KUBERNETES, FindingSeverity.WARNING, "node du-1", "NotReady")
    ok, ok_score = judge(read, info)
    degraded, degraded_score = judge(read, [warning])
    assert ok is Health.OK and degraded is Health.DEGRADED
    assert ok_score is not None and degraded_score is not None and ok_score > degraded_score
    assert judge(read, info[:2]) == (Health.OK, 96)  # a few: 2 each, as before
    assert judge(read, [warning, *info])[1] == 81  # the cap holds with other findings too
