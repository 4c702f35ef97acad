"""Incidents' grouping and lifecycle at their edges: a source not read yet after a restart,
labels that describe the scraper, an acknowledged incident and a new worse problem, a
returning signal and a stored incident's id, the list's bound, the same alert on two
clusters, more than a thousand clusters unread, times from the future or year 1, and the
signals built off the event loop."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.models import AlertSeverity
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.enums import AnomalyMethod, AnomalySeverity, AnomalyType, IncidentStatus
from aiops_desktop.models.fleet import (
    ClusterTruth,
    Coverage,
    Domain,
    Finding,
    FindingSeverity,
    FleetTruth,
    Health,
)
from aiops_desktop.models.incidents import IncidentSignal
from aiops_desktop.services.intelligence import incidents as service_module
from aiops_desktop.services.intelligence.incidents import (
    IncidentService,
    alert_signals,
    anomaly_signals,
    event_signals,
    finding_signals,
)
from aiops_desktop.store.database import Database
from aiops_desktop.store.incidents import LIST_LIMIT, IncidentRepository
from analysis.incidents import (
    GROUP_WINDOW,
    OFFERED_AFTER_END,
    acknowledge,
    as_it_stood,
    group,
    place_of,
)

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def alert(
    cluster: str, name: str, labels: dict[str, str], *, starts: datetime = T0,
    severity: AlertSeverity = AlertSeverity.WARNING, fp: str | None = None,
) -> Alert:  # fmt: skip
    return Alert(
        fingerprint=fp or f"{cluster}{name}{sorted(labels.items())}", cluster=cluster, name=name,
        severity=severity, labels={"alertname": name, **labels}, annotations={"summary": "s"},
        starts_at=starts,
    )  # fmt: skip


def truth(now: datetime, coverage: dict[str, Coverage], findings: list[Finding] | None = None,
          name: str = "c1") -> FleetTruth:  # fmt: skip
    return FleetTruth(at=now, clusters=[ClusterTruth(
        name, name, None, Health.OK, None, None, findings or [], coverage)])  # fmt: skip


class _Fleet:
    def __init__(self) -> None:
        self.last: FleetTruth | None = None

    def snapshot(self) -> FleetTruth | None:
        return self.last

    async def refresh(self) -> FleetTruth | None:
        return self.last


class _Anomalies:
    def __init__(self) -> None:
        self.found: list[Anomaly] = []

    async def current(self, within: timedelta) -> list[Anomaly]:
        return self.found


class _Bus:
    def __init__(self) -> None:
        self.published: list[tuple[str, Any]] = []

    def publish(self, topic: str, payload: Any) -> None:
        self.published.append((topic, payload))


class _Poller:
    def __init__(self, alerts: dict[str, list[Alert]]) -> None:
        self.alerts = alerts


def _service(tmp_path: Path, now: list[datetime], alerts: dict[str, list[Alert]]
             ) -> tuple[IncidentService, _Fleet, _Poller, Database]:  # fmt: skip
    db = Database(tmp_path / "c.sqlite3")
    fleet, poller = _Fleet(), _Poller(alerts)
    svc = IncidentService(IncidentRepository(db), fleet, _Anomalies(), poller, _Bus(),  # type: ignore[arg-type]
                          clock=lambda: now[0])  # fmt: skip
    return svc, fleet, poller, db


# -- 1: a source not read yet ------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_source_not_read_yet_after_a_restart_holds_an_acknowledged_incident(
    tmp_path: Path,
) -> None:
    """The first regroup after a restart runs before the first Alertmanager poll (coverage
    NO_DATA): the acknowledged incident of a still firing alert is held, not resolved and
    opened again as a new unacknowledged one."""
    firing = alert("c1", "NodeDiskPressure", {"node": "w1"}, fp="fp1")
    now = [T0 + timedelta(minutes=1)]
    svc, fleet, poller, db = _service(tmp_path, now, {"c1": [firing]})
    try:
        fleet.last = truth(now[0], {"metrics": Coverage.READ, "alerts": Coverage.READ})
        [incident] = await svc.refresh()
        await svc.acknowledge(incident.id)
        now[0] = T0 + timedelta(hours=1)  # restarted; alerts not polled yet
        poller.alerts = {}
        fleet.last = truth(now[0], {"metrics": Coverage.READ, "alerts": Coverage.NO_DATA})
        [held] = await svc.refresh()
        assert held.state is IncidentStatus.ACKNOWLEDGED and held.unread == ["c1"]
        assert "not read yet" in held.held_because
        now[0] += timedelta(seconds=30)  # the first poll lands
        poller.alerts = {"c1": [firing]}
        fleet.last = truth(now[0], {"metrics": Coverage.READ, "alerts": Coverage.READ})
        await svc.refresh()
        [only] = await svc.listed()
        assert only.id == incident.id and only.state is IncidentStatus.ACKNOWLEDGED
        assert only.first_signal_at == T0 and only.unread == []
    finally:
        db.close()


# -- 2: labels that describe the scraper -------------------------------------------------------
def test_the_scrape_target_s_labels_are_no_place_of_what_an_alert_is_about() -> None:
    """node-exporter's alerts carry the exporter's Service and namespace; kube-state-metrics'
    its own address as ``instance``: two alerts about two nodes, or about objects in two
    namespaces, are not one place through them."""
    exporter = {"job": "node-exporter", "service": "node-exporter",
                "namespace": "openshift-monitoring"}  # fmt: skip
    ksm = {"instance": "10.128.2.5:8443", "job": "kube-state-metrics",
           "service": "kube-state-metrics"}  # fmt: skip
    disk = alert("c1", "NodeFilesystemSpaceFillingUp",
                 {"instance": "10.0.0.1:9100", "device": "/dev/sda1", **exporter})  # fmt: skip
    nic = alert("c1", "NodeNetworkReceiveErrs",
                {"instance": "10.0.0.7:9100", "device": "ens1f0", **exporter})  # fmt: skip
    crash = alert(
        "c1",
        "KubePodCrashLooping",
        {"namespace": "payments", "pod": "api-1", "container": "api", **ksm},
    )
    mismatch = alert("c1", "KubeDeploymentReplicasMismatch",
                     {"namespace": "ran-du", "deployment": "du-l1", **ksm})  # fmt: skip
    bare = [
        alert("c1", n, {"instance": f"10.0.0.{k}:9100", "namespace": "openshift-monitoring"})
        for k, n in ((1, "NodeFilesystemSpaceFillingUp"), (7, "NodeNetworkReceiveErrs"))
    ]
    assert place_of("", disk.labels) == ["node:10.0.0.1"]  # the target itself: its host
    assert place_of("", crash.labels) == ["ns:payments", "pod:payments/api-1"]
    assert place_of("", mismatch.labels) == ["ns:ran-du", "obj:ran-du/deployment/du-l1"]
    renamed = {"exported_namespace": "ran-du", "exported_pod": "du-0", "namespace": "mon",
               "pod": "exporter-0", "instance": "10.1.1.1:9000", "job": "x"}  # fmt: skip
    assert place_of("", renamed) == ["ns:ran-du", "pod:ran-du/du-0"]
    assert place_of("", {"node": "w1", **ksm, "namespace": "openshift-monitoring"}) == ["node:w1"]
    now = T0 + timedelta(minutes=1)
    for pair in ((disk, nic), (crash, mismatch), tuple(bare)):
        incidents, _ = group([], alert_signals({"c1": list(pair)}, now), now)
        assert len(incidents) == 2, [s.topology for i in incidents for s in i.signals]
    # the app's own series keep their places: a node's by its instance, a span's service
    assert place_of("", {"instance": "w1:9100"}) == ["node:w1"]
    assert place_of("", {"service": "cart"}) == ["svc:cart"]


def test_two_nodes_of_one_namespace_are_not_one_place() -> None:
    a = IncidentSignal(key="a", source="anomaly", cluster="c1", subject="m", reason="r",
                       severity=FindingSeverity.WARNING, first_seen=T0, last_seen=T0,
                       topology=["node:w1", "ns:ran-du"])  # fmt: skip
    b = a.model_copy(update={"key": "b", "topology": ["node:w7", "ns:ran-du"]})
    wide = a.model_copy(update={"key": "q", "topology": ["ns:ran-du"]})
    assert len(group([], [a, b], T0)[0]) == 2
    assert len(group([], [a, wide], T0)[0]) == 1  # a namespace-wide signal joins


# -- 3: an acknowledged incident and a new problem ---------------------------------------------
def test_a_long_running_acknowledged_incident_does_not_swallow_a_new_critical() -> None:
    """A WARNING alert firing for three days on w1, acknowledged; an XID 79 on w1 now is a
    new problem: not grouped with what began three days ago, and surfaced as OPEN."""
    start = T0 - timedelta(days=3)
    skew = alert("c1", "NodeClockSkewDetected", {"node": "w1"}, starts=start, fp="fp1")
    then = start + timedelta(minutes=5)
    [old], _ = group([], alert_signals({"c1": [skew]}, then), then)
    old = acknowledge(old, then)
    xid = Finding(Domain.GPU, FindingSeverity.CRITICAL, "w1/gpu0",
                  "XID 79 GPU has fallen off the bus")  # fmt: skip
    seen = alert_signals({"c1": [skew]}, T0) + finding_signals(
        truth(T0, {}, [xid]), T0)  # fmt: skip
    incidents, _ = group([old], seen, T0)
    by_id = {i.id: i for i in incidents}
    assert by_id[old.id].state is IncidentStatus.ACKNOWLEDGED
    assert [s.source for s in by_id[old.id].signals] == ["alert"]
    [new] = [i for i in incidents if i.id != old.id]
    assert new.state is IncidentStatus.OPEN and new.severity is FindingSeverity.CRITICAL


def test_an_acknowledged_incident_made_worse_by_a_new_signal_is_open_again() -> None:
    """Acknowledged at WARNING; a CRITICAL finding on its node five minutes later joins it:
    it is OPEN again and says why; acknowledged again it stays so. As it stood before, it
    was acknowledged."""
    disk = alert("c1", "NodeDiskPressure", {"node": "w1"}, fp="fp1")
    t1 = T0 + timedelta(minutes=1)
    [inc], _ = group([], alert_signals({"c1": [disk]}, t1), t1)
    acked = acknowledge(inc, t1)
    t2 = T0 + timedelta(minutes=5)
    down = Finding(Domain.KUBERNETES, FindingSeverity.CRITICAL, "node w1", "node NotReady",
                   since=t2)  # fmt: skip
    seen = alert_signals({"c1": [disk]}, t2) + finding_signals(truth(t2, {}, [down]), t2)
    [back], changed = group([acked], seen, t2)
    assert changed == {inc.id} and len(back.signals) == 2
    assert back.state is IncidentStatus.OPEN and back.severity is FindingSeverity.CRITICAL
    assert back.reopened_at == t2 and "node NotReady" in back.reopened_because
    stood = as_it_stood(back, t1 + timedelta(minutes=1))
    assert stood is not None and stood.state is IncidentStatus.ACKNOWLEDGED
    stood = as_it_stood(back, t2)
    assert stood is not None and stood.state is IncidentStatus.OPEN
    again = acknowledge(back, t2 + timedelta(minutes=1))
    [kept], _ = group([again], seen, t2 + timedelta(minutes=2))
    assert kept.state is IncidentStatus.ACKNOWLEDGED  # nothing worse since


@pytest.mark.asyncio
async def test_a_reopened_incident_is_stored_open_but_a_later_acknowledgement_holds(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "c.sqlite3")
    repo = IncidentRepository(db)
    try:
        sig = IncidentSignal(key="a", source="alert", cluster="c1", subject="x", reason="r",
                             severity=FindingSeverity.WARNING, first_seen=T0, last_seen=T0,
                             topology=["node:w1"])  # fmt: skip
        [inc], _ = group([], [sig], T0)
        acked = acknowledge(inc, T0 + timedelta(minutes=1))
        await asyncio.wrap_future(repo.save([acked]))
        worse = sig.model_copy(update={"key": "b", "severity": FindingSeverity.CRITICAL,
                                       "first_seen": T0 + timedelta(minutes=2),
                                       "last_seen": T0 + timedelta(minutes=2)})  # fmt: skip
        [opened], _ = group([acked], [worse], T0 + timedelta(minutes=2))
        assert opened.state is IncidentStatus.OPEN
        await asyncio.wrap_future(repo.save([opened]))
        stored = repo.get(inc.id)
        assert stored is not None and stored.state is IncidentStatus.OPEN
        # acknowledged again (the CLI) while a stale OPEN copy is written: the ack holds
        await asyncio.wrap_future(repo.save([acknowledge(opened, T0 + timedelta(minutes=3))]))
        await asyncio.wrap_future(repo.save([opened]))
        stored = repo.get(inc.id)
        assert stored is not None and stored.state is IncidentStatus.ACKNOWLEDGED
    finally:
        db.close()


# -- 4: a returning signal and a stored incident's id ------------------------------------------
@pytest.mark.asyncio
async def test_a_returning_signal_never_overwrites_a_stored_incident(tmp_path: Path) -> None:
    """An alert silenced past OFFERED_AFTER_END comes back with its fingerprint and startsAt:
    the new incident gets an id of its own; the old one's acknowledgement and resolution
    stay stored."""
    db = Database(tmp_path / "c.sqlite3")
    repo = IncidentRepository(db)
    try:
        firing = alert("c1", "NodeDiskPressure", {"node": "w1"}, fp="fp1")
        t1 = T0 + timedelta(minutes=1)
        [inc], _ = group([], alert_signals({"c1": [firing]}, t1), t1, taken=repo.taken_ids())
        await asyncio.wrap_future(repo.save([acknowledge(inc, t1)]))
        t2 = T0 + timedelta(minutes=16)
        gone, _ = group(repo.active(resolved_since=(t2 - OFFERED_AFTER_END).timestamp()), [], t2)
        await asyncio.wrap_future(repo.save(gone))
        t3 = T0 + timedelta(hours=3)
        active = repo.active(resolved_since=(t3 - OFFERED_AFTER_END).timestamp())
        assert active == []
        [new], changed = group(active, alert_signals({"c1": [firing]}, t3), t3,
                               taken=repo.taken_ids())  # fmt: skip
        assert new.id != inc.id and changed == {new.id}
        await asyncio.wrap_future(repo.save([new]))
        old = repo.get(inc.id)
        assert old is not None and old.state is IncidentStatus.RESOLVED
        assert old.acknowledged_at == t1 and old.resolved_at == t2
        assert {i.id for i in repo.list()} == {inc.id, new.id}
    finally:
        db.close()


@pytest.mark.asyncio
async def test_the_service_gives_a_returning_signal_a_new_id(tmp_path: Path) -> None:
    firing = alert("c1", "NodeDiskPressure", {"node": "w1"}, fp="fp1")
    now = [T0 + timedelta(minutes=1)]
    svc, fleet, poller, db = _service(tmp_path, now, {"c1": [firing]})
    try:
        fleet.last = truth(now[0], {"alerts": Coverage.READ})
        [first] = await svc.refresh()
        now[0] = T0 + timedelta(minutes=20)
        poller.alerts = {}
        await svc.refresh()
        now[0] = T0 + timedelta(hours=3)
        poller.alerts = {"c1": [firing]}
        [second] = await svc.refresh()
        assert second.id != first.id
        stored = await svc.get(first.id)
        assert stored is not None and stored.state is IncidentStatus.RESOLVED
    finally:
        db.close()


# -- 5: the list's bound -----------------------------------------------------------------------
@pytest.mark.asyncio
async def test_the_list_never_hides_an_open_critical_incident(tmp_path: Path) -> None:
    """A CRITICAL incident opened first, then LIST_LIMIT WARNING ones: the list is cut at the
    least severe, not at the oldest, and says how many it left out."""
    db = Database(tmp_path / "c.sqlite3")
    repo = IncidentRepository(db)
    try:
        now = T0 + timedelta(minutes=30)
        crit = alert("c1", "GpuFellOffBus", {"node": "gpu-1"}, severity=AlertSeverity.CRITICAL,
                     fp="crit")  # fmt: skip
        storm = [alert("c1", f"Storm{n}", {"node": f"w{n}"}, starts=T0 + timedelta(seconds=1 + n),
                       fp=f"s{n}") for n in range(LIST_LIMIT)]  # fmt: skip
        incidents, _ = group([], alert_signals({"c1": [crit, *storm]}, now), now)
        await asyncio.wrap_future(repo.save(incidents))
        svc = IncidentService(repo, None, None, None, None, clock=lambda: now)  # type: ignore[arg-type]
        listed = await svc.listed()
        assert len(listed) == LIST_LIMIT and listed[0].severity is FindingSeverity.CRITICAL
        assert svc.left_out == 1
        shown, left = repo.listed(limit=10)
        assert len(shown) == 10 and left == LIST_LIMIT - 9
        assert shown[0].severity is FindingSeverity.CRITICAL
    finally:
        db.close()


# -- 6: the same alert on two clusters ---------------------------------------------------------
def test_the_same_alert_on_two_clusters_is_one_incident_whatever_else_is_on_its_node() -> None:
    """The same alert about the same thing (node du-1 of each cluster: their object labels
    are equal) joins the incident holding it, not the one of its node on its cluster."""
    disk = alert("c2", "NodeDiskPressure", {"node": "du-1"}, fp="d")
    ptp_a = alert("c1", "PtpClockUnlocked", {"node": "du-1", "cluster": "c1"},
                  starts=T0 + timedelta(minutes=30), fp="p1")  # fmt: skip
    ptp_b = alert("c2", "PtpClockUnlocked", {"node": "du-1", "cluster": "c2"},
                  starts=T0 + timedelta(minutes=31), fp="p2")  # fmt: skip
    now = T0 + timedelta(minutes=30, seconds=10)
    incidents, _ = group([], alert_signals({"c2": [disk], "c1": [ptp_a]}, now), now)
    now = T0 + timedelta(minutes=31, seconds=10)
    incidents, _ = group(incidents, alert_signals({"c2": [disk, ptp_b], "c1": [ptp_a]}, now), now)
    homes = {i.id for i in incidents for s in i.signals if s.alert_name == "PtpClockUnlocked"}
    assert len(homes) == 1


# -- 7: more than a thousand clusters unread ---------------------------------------------------
def test_over_a_thousand_unread_clusters_are_counted_not_raised() -> None:
    from aiops_desktop.models.incidents import UNREAD_KEPT

    names = [f"sno-{n:04d}" for n in range(UNREAD_KEPT + 5)]
    now = T0 + timedelta(minutes=1)
    sigs = alert_signals({c: [alert(c, "PtpClockUnlocked", {"node": "n"}, fp=c)] for c in names},
                         now)  # fmt: skip
    incidents, _ = group([], sigs, now)
    later = T0 + timedelta(minutes=30)
    [held], _ = group(incidents, [], later, unread=set(names))
    assert held.state is IncidentStatus.OPEN
    assert len(held.unread) == UNREAD_KEPT and held.unread_more == 5
    assert held.held_because.endswith("unseen, not ended") and "and 5 more" in held.held_because
    [done], _ = group([held], [], later + timedelta(minutes=1))
    assert done.state is IncidentStatus.RESOLVED and done.unread == [] and done.unread_more == 0


# -- 8: times from the future or year 1 --------------------------------------------------------
def test_an_anomaly_from_the_future_ends_like_any_other() -> None:
    future = Anomaly(
        cluster="c1", metric="node_cpu", labels={"instance": "w1:9100"},
        method=AnomalyMethod.DOMAIN_RULE, timestamp=datetime(2099, 1, 1, tzinfo=UTC),
        started_at=datetime(2098, 1, 1, tzinfo=UTC), score=9, threshold=2.5,
        severity=AnomalySeverity.CRITICAL, confidence=0.9, type=AnomalyType.SPIKE, actual=99,
        explanation="x",
    )  # fmt: skip
    [sig] = anomaly_signals([future], T0)
    assert sig.first_seen <= sig.last_seen <= T0
    incidents, _ = group([], [sig], T0)
    [done], _ = group(incidents, [], T0 + timedelta(days=30))
    assert done.state is IncidentStatus.RESOLVED


def test_an_event_s_zero_or_far_first_time_is_bounded() -> None:
    def event(first: str, uid: str) -> dict[str, Any]:
        pod = {"kind": "Pod", "namespace": "ran-du", "name": "du-l1-0"}
        return {"type": "Warning", "reason": "BackOff", "message": "m", "firstTimestamp": first,
                "lastTimestamp": "2026-01-05T11:59:00Z", "metadata": {"uid": uid},
                "involvedObject": pod}  # fmt: skip

    last = datetime(2026, 1, 5, 11, 59, tzinfo=UTC)
    found = event_signals("c1", [event("0001-01-01T00:00:00Z", "u1"),
                                 event("2025-06-01T00:00:00Z", "u2"),
                                 event("2026-01-05T11:00:00Z", "u3")], T0)  # fmt: skip
    first = {s.key: s.first_seen for s in found}
    assert first["event|c1|u1"] == last  # Go's zero time: not a time
    assert first["event|c1|u2"] == last - timedelta(days=1)  # bounded
    assert first["event|c1|u3"] == datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
    for s in found:
        assert s.first_seen.year >= 1970


# -- 9: signals built off the event loop -------------------------------------------------------
@pytest.mark.asyncio
async def test_refresh_builds_the_signals_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    built_on: list[int] = []
    real = service_module.alert_signals

    def counted(alerts: Any, now: datetime) -> list[IncidentSignal]:
        built_on.append(threading.get_ident())
        return real(alerts, now)

    monkeypatch.setattr(service_module, "alert_signals", counted)
    now = [T0 + timedelta(minutes=1)]
    svc, fleet, _, db = _service(tmp_path, now, {"c1": [alert("c1", "A", {"node": "w1"})]})
    try:
        fleet.last = truth(now[0], {"alerts": Coverage.READ})
        [one] = await svc.refresh()
        assert one.signals and built_on and loop_thread not in built_on
    finally:
        db.close()


def test_the_window_is_measured_from_the_incident_s_newest_signal() -> None:
    """A node's warning alive for 40 min: a GPU's anomaly on that node beginning within
    GROUP_WINDOW of it joins; one beginning 40 min after it is a new incident, and the same
    GPU's finding later, that anomaly still alive, joins that."""
    now = T0 + timedelta(minutes=40) + 2 * GROUP_WINDOW
    base = IncidentSignal(key="f", source="alert", cluster="c1", subject="NodeHot", reason="r",
                          severity=FindingSeverity.WARNING, first_seen=T0, last_seen=now,
                          topology=["node:w1"])  # fmt: skip
    gpu = place_of("", {"Hostname": "w1", "gpu": "3"})
    assert gpu == ["dev:w1/gpu3", "node:w1"]
    near = base.model_copy(update={
        "key": "n", "source": "anomaly", "topology": gpu,
        "first_seen": T0 + GROUP_WINDOW - timedelta(minutes=1)})  # fmt: skip
    far = near.model_copy(update={
        "key": "x", "topology": place_of("", {"node": "w1", "gpu": "0"}),
        "first_seen": T0 + timedelta(minutes=40)})  # fmt: skip
    finding = far.model_copy(update={
        "key": "g", "source": "GPU", "topology": place_of("w1/gpu0"),
        "first_seen": now})  # fmt: skip
    incidents, _ = group([], [base, near, far, finding], now)
    keys = sorted(sorted(s.key for s in i.signals) for i in incidents)
    assert keys == [["f", "n"], ["g", "x"]]
