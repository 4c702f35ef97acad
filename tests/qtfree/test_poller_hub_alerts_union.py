"""A member of two fleet hubs has the alerts of both hubs' Alertmanagers: acm-a (first by
name) answering with none for ran-east left acm-b's CRITICAL for it filed nowhere; one alert
both hubs' rulers raise is filed once; a removed hub's alerts leave the alert history too
(fakes and an injected clock; no servers)."""

from __future__ import annotations

import hashlib
from concurrent.futures import Future
from datetime import datetime

import pytest

from aiops_desktop.models import Cluster
from aiops_desktop.models.alerts import Alert, AlertSeverity
from aiops_desktop.models.polling import Source
from aiops_desktop.services.polling.poller import ALERTS_CHANGED, Poller
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from collectors.alertmanager import parse_alert
from tests.qtfree.poller_fakes import Clock
from tests.qtfree.test_poller_data_fixes import (
    AM,
    PROM,
    T0,
    FakeAM,
    Pool,
    fingerprints,
    fleet_hub,
    make_poller,
)


def two_hubs(
    bus: EventBus | None = None, supervisor: TaskSupervisor | None = None
) -> tuple[Poller, Cluster, Cluster, dict[str, FakeAM]]:
    """acm-a alerts on itself only, acm-b on ran-east; both list ran-east."""
    hub_a, hub_b = fleet_hub("acm-a", (PROM, AM)), fleet_hub("acm-b", (PROM, AM))
    for each in (hub_a, hub_b):
        each.status.members = ["ran-east"]
    ams = {"acm-a": FakeAM({"watchdog": "acm-a"}), "acm-b": FakeAM({"ptp-freerun": "ran-east"})}
    poller = make_poller([hub_a, hub_b], Pool(**ams), None, Clock(T0), [], bus, supervisor)
    return poller, hub_a, hub_b, ams


async def rounds(poller: Poller, *hubs: Cluster, n: int = 2) -> None:
    for _ in range(n):
        for hub in hubs:
            await poller.run_source(hub, Source.ALERTS)


@pytest.mark.asyncio
async def test_a_second_hubs_alerts_for_a_shared_member_are_filed() -> None:
    poller, hub_a, hub_b, ams = two_hubs()
    await rounds(poller, hub_a, hub_b)
    assert fingerprints(poller, "ran-east") == {"ptp-freerun"}
    assert fingerprints(poller, "acm-a") == {"watchdog"}
    ams["acm-a"].firing["node-down"] = "ran-east"  # both hubs' alerts, each once
    await rounds(poller, hub_a, hub_b)
    assert fingerprints(poller, "ran-east") == {"ptp-freerun", "node-down"}
    ams["acm-b"].firing = {}  # acm-b's ended: acm-a's are left
    await rounds(poller, hub_a, hub_b, n=1)
    assert fingerprints(poller, "ran-east") == {"node-down"}


@pytest.mark.asyncio
async def test_an_alert_both_hubs_forward_is_filed_once() -> None:
    poller, hub_a, hub_b, ams = two_hubs()
    for am in ams.values():
        am.firing["ptp-freerun"] = "ran-east"
    await rounds(poller, hub_a, hub_b)
    assert [a.fingerprint for a in poller.alerts["ran-east"]] == ["ptp-freerun"]


@pytest.mark.asyncio
async def test_a_failing_hub_stops_adding_its_alerts() -> None:
    poller, hub_a, hub_b, ams = two_hubs()
    ams["acm-a"].firing["node-down"] = "ran-east"
    await rounds(poller, hub_a, hub_b)
    ams["acm-a"].failing = True
    await rounds(poller, hub_a, hub_b, n=1)
    assert fingerprints(poller, "ran-east") == {"ptp-freerun"}
    ams["acm-a"].failing = False
    await rounds(poller, hub_a, n=1)
    assert fingerprints(poller, "ran-east") == {"ptp-freerun", "node-down"}


@pytest.mark.asyncio
async def test_a_removed_hubs_alerts_go_with_it() -> None:
    """Forgotten, or gone from the registry: the other hub's alerts for the member are left."""
    for removal in ("forget", "reconcile"):
        bus, supervisor = EventBus(), TaskSupervisor()
        published: list[dict[str, list[Alert]]] = []
        bus.subscribe(ALERTS_CHANGED, published.append)
        poller, hub_a, hub_b, ams = two_hubs(bus, supervisor)
        ams["acm-a"].firing["node-down"] = "ran-east"
        try:
            await rounds(poller, hub_a, hub_b)
            assert fingerprints(poller, "ran-east") == {"ptp-freerun", "node-down"}
            published.clear()
            if removal == "forget":
                poller.forget(hub_b, ["acm-b"])
            else:
                poller._registry._clusters = [hub_a]  # type: ignore[assignment]
                poller._on_clusters_changed([hub_a])
            assert fingerprints(poller, "ran-east") == {"node-down"}, removal
            assert {a.fingerprint for a in published[-1]["ran-east"]} == {"node-down"}, removal
            await rounds(poller, hub_a, n=1)
            assert fingerprints(poller, "ran-east") == {"node-down"}, removal
        finally:
            poller.stop()
            await supervisor.shutdown()


class History:
    """The alert history as the poller tells it: each name's last list of firing alerts."""

    def __init__(self) -> None:
        self.firing: dict[str, set[str]] = {}

    def record(self, cluster: str, firing: list[Alert], now: datetime) -> Future[None]:
        self.firing[cluster] = {a.fingerprint for a in firing}
        done: Future[None] = Future()
        done.set_result(None)
        return done


@pytest.mark.asyncio
async def test_a_removed_hubs_alerts_leave_the_history() -> None:
    """acm-b removed (forgotten, gone from the registry, or its Alertmanager endpoint gone)
    while its CRITICAL for the shared ran-east fires: the history is told ran-east's alerts
    are acm-a's now (it kept acm-b's firing for good: reports, the assistant); acm-b's own
    name, whose alerts go, has none."""
    for removal in ("forget", "reconcile", "endpoint"):
        supervisor = TaskSupervisor()
        poller, hub_a, hub_b, ams = two_hubs(supervisor=supervisor)
        history = History()
        poller._alert_events = history  # type: ignore[assignment]
        ams["acm-a"].firing["node-down"] = "ran-east"
        ams["acm-b"].firing["acm-b-down"] = "acm-b"
        try:
            await rounds(poller, hub_a, hub_b)
            assert history.firing["ran-east"] == {"ptp-freerun", "node-down"}
            if removal == "forget":
                poller.forget(hub_b, ["acm-b"])
            elif removal == "reconcile":
                poller._registry._clusters = [hub_a]  # type: ignore[assignment]
                poller._on_clusters_changed([hub_a])
            else:
                hub_b.endpoints = [e for e in hub_b.endpoints if e.kind is not AM]
                poller._on_clusters_changed([hub_a, hub_b])
            assert history.firing["ran-east"] == {"node-down"}, removal
            assert history.firing["acm-b"] == set(), removal
        finally:
            poller.stop()
            await supervisor.shutdown()


class RulerAM:
    """A hub's Alertmanager whose alerts its own Prometheus or ruler raised: each labelled
    with where (``raised_by``), fingerprinted as Alertmanager does, by all its labels."""

    def __init__(self, raised_by: dict[str, str], *alerts: dict[str, str]) -> None:
        self.raised_by = raised_by
        self.firing = list(alerts)

    async def alerts(self, name: str) -> list[Alert]:
        found = []
        for about in self.firing:
            labels = {**about, "cluster": "ran-east", **self.raised_by}
            fingerprint = hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]
            found.append(Alert(fingerprint=fingerprint, cluster="ran-east",
                               name=labels["alertname"], labels=labels, starts_at=T0,
                               severity=AlertSeverity(labels["severity"].upper())))  # fmt: skip
        return found


#: the Prometheus or ruler that raised a hub's alerts: a member's own (its alerts forwarded),
#: the hub's Thanos ruler (evaluated on the metrics it collects)
K8S, RULER = "openshift-monitoring/k8s", "observability/thanos-ruler"


def _crash(pod: str, container: str = "main") -> dict[str, str]:
    return {"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "payments",
            "pod": pod, "container": container, "reason": "CrashLoopBackOff",
            "job": "kube-state-metrics", "instance": "10.128.2.5:8443"}  # fmt: skip


def _filling(severity: str) -> dict[str, str]:
    return {"alertname": "NodeFilesystemSpaceFillingUp", "severity": severity,
            "instance": "du-1", "device": "/dev/sda4", "mountpoint": "/var"}  # fmt: skip


def ruled_hubs(am_a: RulerAM, am_b: RulerAM) -> tuple[Poller, Cluster, Cluster]:
    hub_a, hub_b = fleet_hub("acm-a", (PROM, AM)), fleet_hub("acm-b", (PROM, AM))
    for each in (hub_a, hub_b):
        each.status.members = ["ran-east"]
    pool = Pool(**{"acm-a": am_a, "acm-b": am_b})
    return make_poller([hub_a, hub_b], pool, None, Clock(T0), []), hub_a, hub_b


@pytest.mark.asyncio
async def test_one_alert_both_hubs_rulers_raise_is_filed_once() -> None:
    """Each hub's Prometheus or ruler evaluated KubeNodeNotReady of ran-east: the copies
    differ only in where they were raised, so in their fingerprints (filed twice: two
    CRITICAL findings, the health score cut twice, two history rows). The first hub's."""
    node = {"alertname": "KubeNodeNotReady", "severity": "critical", "node": "du-1"}
    am_a = RulerAM({"prometheus": K8S, "prometheus_replica": "prometheus-k8s-0"}, node)
    am_b = RulerAM({"prometheus": RULER, "replica": "thanos-ruler-1",
                    "managed_cluster": "5c7e0f7a-1d2b-4c3e-9f8a-2b6d4e1a9c30",
                    "tenant_id": "0fc4b1d2-8a3e-4f6b-9c1d-7e2a5b8c3d41"}, node)  # fmt: skip
    poller, hub_a, hub_b = ruled_hubs(am_a, am_b)
    await rounds(poller, hub_a, hub_b)
    assert [a.labels["prometheus"] for a in poller.alerts["ran-east"]] == [K8S]


@pytest.mark.asyncio
async def test_alerts_about_other_things_stay_apart() -> None:
    """One of each by what it is about as the member names it: two pods of one Deployment,
    two containers of a pod, a rule's warning and its critical are each an alert."""
    am_a = RulerAM({"prometheus": K8S}, _crash("api-6c9f8b7d4-x2kq9"), _filling("warning"))
    am_b = RulerAM({"prometheus": RULER},
                   _crash("api-6c9f8b7d4-x2kq9"), _crash("api-6c9f8b7d4-b7wzt"),
                   _crash("api-6c9f8b7d4-x2kq9", "istio-proxy"), _filling("critical"))  # fmt: skip
    poller, hub_a, hub_b = ruled_hubs(am_a, am_b)
    await rounds(poller, hub_a, hub_b)
    filed = [(a.name, a.labels.get("pod"), a.labels.get("container"), a.severity.value,
              a.labels["prometheus"]) for a in poller.alerts["ran-east"]]  # fmt: skip
    assert sorted(filed) == sorted([
        ("KubePodCrashLooping", "api-6c9f8b7d4-x2kq9", "main", "WARNING", K8S),
        ("NodeFilesystemSpaceFillingUp", None, None, "WARNING", K8S),
        ("KubePodCrashLooping", "api-6c9f8b7d4-b7wzt", "main", "WARNING", RULER),
        ("KubePodCrashLooping", "api-6c9f8b7d4-x2kq9", "istio-proxy", "WARNING", RULER),
        ("NodeFilesystemSpaceFillingUp", None, None, "CRITICAL", RULER),
    ])  # fmt: skip


class ParsedAM:
    """A hub's Alertmanager answering ``items`` as its API does (parsed as the app does)."""

    def __init__(self, *items: dict[str, object]) -> None:
        self.items = list(items)

    async def alerts(self, name: str) -> list[Alert]:
        return [parse_alert(item, name) for item in self.items]


def _item(fingerprint: str, **labels: str) -> dict[str, object]:
    about = {"alertname": "KubeNodeNotReady", "severity": "critical", "node": "master-0"}
    return {"fingerprint": fingerprint, "labels": {**about, **labels},
            "startsAt": "2026-01-01T00:00:00Z"}  # fmt: skip


def _replica_down(fingerprint: str, replica: str) -> dict[str, object]:
    labels = {"alertname": "ClickHouseReplicaDown", "severity": "critical", "cluster": "ran-east",
              "namespace": "db", "replica": replica}  # fmt: skip
    return {"fingerprint": fingerprint, "labels": labels, "startsAt": "2026-01-01T00:00:00Z"}


#: one hub's two alerts that differ only in a label of where an alert is raised, what each
#: is about there: filed where they belong (the hub itself, or ran-east), each of them
ONE_HUBS_TWO = {
    "clusterID": ("acm", [_item("a1", clusterID="1111"), _item("b2", clusterID="2222")]),
    "managed_cluster": (
        "acm",
        [
            _item("a1", managed_cluster="5c7e0f7a-1d2b"),
            _item("b2", managed_cluster="0fc4b1d2-8a3e"),
        ],
    ),
    "replica": ("ran-east", [_replica_down("a1", "chi-0"), _replica_down("b2", "chi-1")]),
    "no member's name": (
        "acm",
        [_item("a1", cluster="prod eu (west)"), _item("b2", cluster="prod us (east)")],
    ),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("case", sorted(ONE_HUBS_TWO))
async def test_one_hubs_alerts_are_each_filed(case: str) -> None:
    """Alertmanager's two alerts (two fingerprints) that ``same_alert`` takes for one (they
    differ in clusterID, managed_cluster, replica or an unusable cluster label): both are
    filed (the second, a CRITICAL, was lost). ``same_alert`` tells only a later hub's copy."""
    filed_under, items = ONE_HUBS_TWO[case]
    hub = fleet_hub("acm", (PROM, AM))
    poller = make_poller([hub], Pool(acm=ParsedAM(*items)), None, Clock(T0), [])
    try:
        await poller.run_source(hub, Source.ALERTS)
        assert fingerprints(poller, filed_under) == {"a1", "b2"}
    finally:
        poller.stop()


@pytest.mark.asyncio
async def test_a_later_hubs_copies_of_one_hubs_alerts_are_not_filed() -> None:
    """acm-a's two replicas down, each filed; acm-b forwards the same two, each labelled
    with its ruler: its copies are acm-a's alerts, not two more."""
    down = [_replica_down("a1", "chi-0"), _replica_down("b2", "chi-1")]
    copies = [_replica_down("c3", "chi-0"), _replica_down("d4", "chi-1")]
    for copy in copies:
        copy["labels"] = {**copy["labels"], "prometheus": RULER}  # type: ignore[dict-item]
    hub_a, hub_b = fleet_hub("acm-a", (PROM, AM)), fleet_hub("acm-b", (PROM, AM))
    for each in (hub_a, hub_b):
        each.status.members = ["ran-east"]
    pool = Pool(**{"acm-a": ParsedAM(*down), "acm-b": ParsedAM(*copies)})
    poller = make_poller([hub_a, hub_b], pool, None, Clock(T0), [])
    try:
        await rounds(poller, hub_a, hub_b)
        assert fingerprints(poller, "ran-east") == {"a1", "b2"}
    finally:
        poller.stop()


@pytest.mark.asyncio
async def test_a_later_hubs_copy_stands_for_one_earlier_alert_only() -> None:
    """acm-a fires chi-0 down (chi-1's ended on its ruler), acm-b fires both: chi-1's, still
    firing there, is filed (it was lost: acm-a's chi-0 had its kind, so both of acm-b's were
    taken for copies)."""
    hub_a, hub_b = fleet_hub("acm-a", (PROM, AM)), fleet_hub("acm-b", (PROM, AM))
    for each in (hub_a, hub_b):
        each.status.members = ["ran-east"]
    later = [_replica_down("c3", "chi-0"), _replica_down("d4", "chi-1")]
    for copy in later:
        copy["labels"] = {**copy["labels"], "prometheus": RULER}  # type: ignore[dict-item]
    pool = Pool(**{"acm-a": ParsedAM(_replica_down("a1", "chi-0")), "acm-b": ParsedAM(*later)})
    poller = make_poller([hub_a, hub_b], pool, None, Clock(T0), [])
    try:
        await rounds(poller, hub_a, hub_b)
        assert fingerprints(poller, "ran-east") == {"a1", "d4"}
    finally:
        poller.stop()
