"""The fleet's truth under a least-privilege token, a big hub and a rebuilt cluster (review 7).

A Kubernetes API that answers 403 to the SR-IOV node states (a view token, no SR-IOV operator)
answered: SR-IOV is not readable there, the cluster is not STALE for good; a hub's members are
matched by lookup (a member's dashboard asks on every 100 ms tick); a cluster removed and
registered again under its name is another cluster: none of the old one's findings.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models.fleet import Coverage, Domain, FindingSeverity, Health
from aiops_desktop.models.metrics import (
    ClusterOutcome,
    MetricQuery,
    PromSeries,
    QueryAnswer,
    QueryStatus,
    TaggedSeries,
)
from aiops_desktop.services.polling.catalog import field_queries
from collectors.errors import KubeForbidden
from tests.qtfree.test_fleet_coverage_review3 import Kube, fleet_over, metrics_polled, of
from tests.qtfree.test_fleet_truth_failures import T0, Registry, cluster, make_wall

FORBIDDEN = (
    'sriovnetworknodestates.sriovnetwork.openshift.io is forbidden: User "noc-viewer" cannot '
    'list resource "sriovnetworknodestates" in API group "sriovnetwork.openshift.io"'
)
FAILED_NODE = {"metadata": {"name": "gpu-1"},
               "status": {"syncStatus": "Failed", "lastSyncError": "VF config failed"}}  # fmt: skip


class ViewToken(Kube):
    """The API answers; its SR-IOV node states answer ``states`` until ``forbidden``, then 403."""

    def __init__(self, registry: Registry) -> None:
        super().__init__(registry)
        self.forbidden = True
        self.states: list[dict[str, Any]] = []

    async def objects_of_each(self, path: str, **_: Any) -> dict[str, Any]:
        answer = KubeForbidden(FORBIDDEN, status=403) if self.forbidden else self.states
        return {c.name: answer for c in self.registry.clusters() if c.api_server_url}


@pytest.mark.asyncio
async def test_sriov_forbidden_to_a_view_token_is_not_the_kubernetes_api_unreachable() -> None:
    plain = cluster("plain-k8s")
    plain.api_server_url = "https://api.plain-k8s.invalid:6443"
    registry, now = Registry([plain]), [T0]
    fleet = fleet_over(registry, now, kube=ViewToken(registry))
    for _ in range(3):
        now[0] += timedelta(minutes=1)
        metrics_polled(fleet, "plain-k8s", at=now[0])
        truth = of(await fleet.refresh(), "plain-k8s")
        assert truth.coverage["kubernetes"] is Coverage.READ  # it answered: 403
        assert (truth.state, truth.health_score) == (Health.OK, 100)
        assert not [f for f in truth.findings if f.domain is Domain.SRIOV]
        assert truth.unread["kubernetes"] == "SR-IOV not readable (403)"


@pytest.mark.asyncio
async def test_a_failed_sriov_node_is_kept_stale_when_its_list_turns_forbidden() -> None:
    """Its token's rights cut: the SR-IOV failure is not read, not gone (never OK unread)."""
    ran = cluster("ran-east")
    ran.api_server_url = "https://api.ran-east.invalid:6443"
    registry, now = Registry([ran]), [T0]
    kube = ViewToken(registry)
    kube.forbidden, kube.states = False, [FAILED_NODE]
    fleet = fleet_over(registry, now, kube=kube)
    metrics_polled(fleet, "ran-east", at=T0)
    assert of(await fleet.refresh(), "ran-east").state is Health.CRITICAL
    kube.forbidden = True
    truth = of(await fleet.refresh(), "ran-east")
    sriov = [(f.severity, f.stale) for f in truth.findings if f.domain is Domain.SRIOV]
    assert sriov == [(FindingSeverity.CRITICAL, True)]
    assert truth.state is Health.CRITICAL


class CountedName(str):
    """A member's name that counts how often it is compared for equality."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        CountedName.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_a_hubs_members_are_looked_up_not_scanned_for_each_member() -> None:
    """5,000 members took 108 ms of every 100 ms dashboard tick: each polled member was
    compared with every named one (quadratic)."""
    count = 2000
    names = [f"m-{i:05d}" for i in range(count)]
    w = make_wall([cluster("acm-hub", hub=True, members=tuple(names))])
    w.poller.member_seen = {"acm-hub": {CountedName(n): T0 for n in names}}
    CountedName.compared = 0
    served = w.fleet.serving_hub("m-00001")
    assert served is not None and served.name == "acm-hub"
    assert CountedName.compared < 10 * count  # a scan compares about count**2 / 2 times
    hub = w.fleet._registry.clusters()[0]
    assert w.fleet._members(hub, {"acm-hub"}) == names  # each member once, named order


class NotReady:
    """Every cluster's Prometheus answers, unless ``failing``; ``nodes``: each cluster's
    NotReady nodes."""

    def __init__(self) -> None:
        self.nodes: dict[str, list[str]] = {}
        self.failing = False

    async def run(self, query: MetricQuery, clusters: list[Any]) -> QueryAnswer:
        if self.failing:
            out = [ClusterOutcome(c.name, False, 30000.0, reason="timed_out", error="no answer")
                   for c in clusters]  # fmt: skip
            return QueryAnswer(query, QueryStatus.ERROR, [], out, 30000.0)
        series = []
        if query.promql == field_queries("kube")["not_ready"]:
            at, up = np.array([T0.timestamp()]), np.array([1.0])
            series = [TaggedSeries(c.name, PromSeries({"node": node}, at, up))
                      for c in clusters for node in self.nodes.get(c.name, [])]  # fmt: skip
        outcomes = [ClusterOutcome(c.name, True, 5.0) for c in clusters]
        return QueryAnswer(query, QueryStatus.SUCCESS, series, outcomes, 5.0)


@pytest.mark.asyncio
async def test_a_cluster_added_again_under_its_name_shows_none_of_the_old_ones_findings() -> None:
    """Rebuilt and registered again within the minute between two refreshes: the old
    cluster's NotReady nodes (and its Kubernetes API's read) were the new one's until the next
    refresh, and kept, stale, by one that could not read it."""
    east = cluster("ran-east")
    east.api_server_url = "https://api.ran-east.invalid:6443"
    registry, now = Registry([east]), [T0]
    fleet = fleet_over(registry, now, kube=Kube(registry))
    queries = fleet._queries = NotReady()  # type: ignore[assignment]
    queries.nodes["ran-east"] = ["old-node-1"]
    metrics_polled(fleet, "ran-east", at=T0)
    assert of(await fleet.refresh(), "ran-east").findings  # the old cluster's NotReady node
    del registry._clusters[east.id]
    again = cluster("ran-east")  # a new id, the same name
    again.api_server_url = east.api_server_url
    registry._clusters[again.id] = again
    now[0] = T0 + timedelta(seconds=5)
    metrics_polled(fleet, "ran-east", at=now[0])
    truth = of(fleet.snapshot(), "ran-east")
    assert truth.findings == []
    assert truth.coverage["findings"] is Coverage.NO_DATA and truth.state is not Health.OK
    assert truth.coverage["kubernetes"] is Coverage.NO_DATA  # not the old one's read
    queries.nodes.clear()
    queries.failing = True  # its first read fails: nothing of the old one kept
    now[0] = T0 + timedelta(minutes=1)
    assert of(await fleet.refresh(), "ran-east").findings == []
    queries.failing = False
    now[0] = T0 + timedelta(minutes=2)
    metrics_polled(fleet, "ran-east", at=now[0])
    assert of(await fleet.refresh(), "ran-east").state is Health.OK  # read: its own
