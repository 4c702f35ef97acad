"""Incidents, found in review: a Warning event dated in the year 9999 made every grouping of
the fleet fail; an operator's alert about another object (a ClusterOperator, by its ``name``)
was placed at the scrape target's pod, so an unrelated later one joined an old acknowledged
incident; a signal that joined before the acknowledgement and grew worse after it left the
incident acknowledged at CRITICAL; an Alertmanager never read held open every incident of its
cluster, those read from Prometheus too; a ReplicaSet's Warning events had no namespace and no
place, so they joined neither their Deployment's alert nor stayed apart by namespace."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.models import AlertSeverity
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.enums import AlertState, IncidentStatus
from aiops_desktop.models.fleet import (
    ClusterTruth,
    Coverage,
    Domain,
    Finding,
    FindingSeverity,
    FleetTruth,
    Health,
)
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.services.intelligence.incidents import (
    IncidentService,
    alert_signals,
    event_signals,
)
from aiops_desktop.store.database import Database
from aiops_desktop.store.incidents import IncidentRepository
from analysis.incidents import acknowledge, group, place_of
from tests.qtfree.test_incident_lifecycle import _Anomalies, _Bus, _Fleet, _Poller

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _alert(cluster: str, name: str, labels: dict[str, str], at: datetime, fp: str,
           severity: AlertSeverity = AlertSeverity.WARNING) -> Alert:  # fmt: skip
    return Alert(fingerprint=fp, name=name, cluster=cluster, severity=severity,
                 state=AlertState.FIRING, labels={"alertname": name, **labels},
                 annotations={"summary": name}, starts_at=at)  # fmt: skip


# -- 1: a Warning event dated in the year 9999 --------------------------------------------------
def _far_event(uid: str, when: str, *, pod: str = "du-l1-0") -> dict[str, Any]:
    """An events.k8s.io event whose writer (any client may write events) dated it 9999."""
    return {"type": "Warning", "reason": "BackOff",
            "message": "Back-off restarting failed container du-l1",
            "involvedObject": {"kind": "Pod", "name": pod, "namespace": "ran-du"},
            "metadata": {"uid": uid}, "eventTime": when,
            "series": {"count": 2, "lastObservedTime": when}}  # fmt: skip


def test_an_event_dated_far_ahead_is_taken_as_now_and_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Its series' last time plus client-go's refresh overflowed: event_signals raised, and
    with it every grouping of the fleet. It is taken as now, and the log says so; the
    cluster's other events are signals as ever."""
    fine = _far_event("u2", (T0 - MINUTE).isoformat(), pod="du-l1-1")
    events = [_far_event("u1", "9999-12-31T23:59:00Z"),
              _far_event("u3", "9999-12-31T23:59:00-05:00", pod="du-l1-2"), fine]  # fmt: skip
    with caplog.at_level(logging.INFO, logger="aiops.services.incidents"):
        signals = event_signals("east", events, T0)
    by_uid = {s.key.rsplit("|", 1)[1]: s for s in signals}
    assert set(by_uid) == {"u1", "u2", "u3"}
    for uid in ("u1", "u3"):
        assert (by_uid[uid].first_seen, by_uid[uid].last_seen) == (T0, T0)
    assert by_uid["u2"].first_seen == T0 - MINUTE
    said = [r.getMessage() for r in caplog.records if "after now" in r.getMessage()]
    assert len(said) == 1 and "east" in said[0] and "2 Warning events" in said[0], said


class _Kube:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    async def objects_of_each(self, path: str, *, field_selector: str | None = None
                              ) -> dict[str, Any]:  # fmt: skip
        return {"east": self.events}


@pytest.mark.asyncio
async def test_an_event_dated_far_ahead_fails_no_refresh(tmp_path: Path) -> None:
    """The service's refresh groups the fleet's alert while the event exists (it raised
    OverflowError, no AppError: every refresh failed, nothing opened or resolved)."""
    db = Database(tmp_path / "c.sqlite3")
    fleet = _Fleet()
    fleet.last = FleetTruth(at=T0, clusters=[ClusterTruth(
        "east", "east", None, Health.OK, 100, 0.0, [], {"metrics": Coverage.READ})])  # fmt: skip
    crash = _alert("west", "KubePodCrashLooping", {"namespace": "ran-du", "pod": "du-l1-0"},
                   T0 - MINUTE, "c1", AlertSeverity.CRITICAL)  # fmt: skip
    svc = IncidentService(IncidentRepository(db), fleet, _Anomalies(), _Poller({"west": [crash]}),  # type: ignore[arg-type]
                          _Bus(), kube=_Kube([_far_event("u1", "9999-12-31T23:59:00Z")]),  # type: ignore[arg-type]
                          clock=lambda: T0)  # fmt: skip
    try:
        grouped = await svc.refresh()
        assert sorted(s.source for i in grouped for s in i.signals) == ["Kubernetes", "alert"]
    finally:
        db.close()


# -- 3: an operator's alert about another object ------------------------------------------------
#: the labels OpenShift's CVO gives its series (scraped from its own pod by IP)
_CVO = {
    "endpoint": "metrics",
    "instance": "10.128.0.15:9099",
    "job": "cluster-version-operator",
    "namespace": "openshift-cluster-version",
    "pod": "cluster-version-operator-6b5c8f7d9-x7k2p",
    "service": "cluster-version-operator",
}


def _degraded(name: str, reason: str, at: datetime) -> Alert:
    return _alert("east", "ClusterOperatorDegraded",
                  {**_CVO, "name": name, "condition": "Degraded", "reason": reason}, at,
                  f"fp-{name}")  # fmt: skip


def test_an_operators_alert_about_another_object_is_not_at_the_operators_pod() -> None:
    """ClusterOperatorDegraded name=authentication, acknowledged; six hours later
    name=machine-config: a new problem, an incident of its own, open (both were placed at
    CVO's pod, and the second hid under the first's acknowledgement). What the alert is
    about still names the target's pod by its workload."""
    auth = _degraded("authentication", "OAuthServerDeployment_Unavailable", T0)
    [signal] = alert_signals({"east": [auth]}, T0)
    assert signal.topology == ["ns:openshift-cluster-version"]  # not CVO's pod (review 7b: its
    # namespace kept, the ClusterOperator in none; a namespace alone joins nothing 6 h later)
    assert signal.alert_labels["name"] == "authentication"
    assert signal.alert_labels["pod"] == "cluster-version-operator"
    incidents, _ = group([], [signal], T0)
    incidents = [acknowledge(incidents[0], T0 + MINUTE)]
    now = T0 + timedelta(hours=6)
    machine = _degraded("machine-config", "RequiredPoolsFailed", now)
    incidents, _ = group(incidents, alert_signals({"east": [auth, machine]}, now), now)
    assert sorted((i.state, [s.alert_labels["name"] for s in i.signals]) for i in incidents) == [
        (IncidentStatus.ACKNOWLEDGED, ["authentication"]),
        (IncidentStatus.OPEN, ["machine-config"]),
    ]  # fmt: skip


def test_an_apps_own_alert_keeps_its_pod_as_its_place() -> None:
    """An app's own series (its instance its pod's address) with no other object named: its
    pod is what it is about, as before."""
    labels = {
        "endpoint": "http",
        "instance": "10.130.0.7:8080",
        "job": "checkout",
        "namespace": "shop",
        "pod": "checkout-7d9f8b6c5d-x7k2p",
        "service": "checkout",
    }
    [signal] = alert_signals({"east": [_alert("east", "CheckoutErrors", labels, T0, "a")]}, T0)
    assert "pod:shop/checkout-7d9f8b6c5d-x7k2p" in signal.topology


# -- 4: a signal acknowledged at INFO grows to CRITICAL -----------------------------------------
def _sig(key: str, subject: str, severity: FindingSeverity, first: datetime, last: datetime,
         topology: list[str], source: str = "GPU") -> IncidentSignal:  # fmt: skip
    return IncidentSignal(key=key, source=source, cluster="east", subject=subject,
                          severity=severity, reason=f"{subject} {severity.value}",
                          first_seen=first, last_seen=last, topology=topology)  # fmt: skip


def _warm(now: datetime) -> IncidentSignal:
    return _sig("GPU|east|gpu-1/gpu0|temperature", "gpu-1/gpu0", FindingSeverity.WARNING, T0,
                now, place_of("gpu-1/gpu0"))  # fmt: skip


def _memory(severity: FindingSeverity, now: datetime) -> IncidentSignal:
    return _sig("anomaly|mem", "node_memory", severity, T0 + MINUTE, now, ["node:gpu-1"],
                source="anomaly")  # fmt: skip


def test_an_acknowledged_incident_grown_worse_than_acknowledged_is_open_again() -> None:
    """The node's memory anomaly joined as INFO before the acknowledgement (at WARNING), then
    grew to CRITICAL: the incident is OPEN again and says why (it stayed ACKNOWLEDGED at
    CRITICAL, no reason given)."""
    t1 = T0 + 2 * MINUTE
    incidents, _ = group([], [_warm(t1), _memory(FindingSeverity.INFO, t1)], t1)
    [acked] = [acknowledge(incidents[0], t1 + timedelta(seconds=30))]
    t2 = T0 + 10 * MINUTE
    [same], _ = group([acked], [_warm(t2), _memory(FindingSeverity.INFO, t2)], t2)
    assert same.state is IncidentStatus.ACKNOWLEDGED  # no worse: as acknowledged
    # the warning acknowledged grown CRITICAL is more than was seen too: open again
    hot = _warm(t2).model_copy(update={"severity": FindingSeverity.CRITICAL})
    [seen], _ = group([same], [hot, _memory(FindingSeverity.INFO, t2)], t2)
    assert (seen.state, seen.severity) == (IncidentStatus.OPEN, FindingSeverity.CRITICAL)
    [opened], changed = group([same], [_warm(t2), _memory(FindingSeverity.CRITICAL, t2)], t2)
    assert opened.state is IncidentStatus.OPEN and changed == {opened.id}
    assert opened.severity is FindingSeverity.CRITICAL and opened.reopened_at == t2
    assert opened.reopened_because.startswith("open again: CRITICAL east: node_memory")
    assert "WARNING when acknowledged" in opened.reopened_because
    assert acked.acknowledged_severity is FindingSeverity.WARNING  # noted when acknowledged


@pytest.mark.asyncio
async def test_an_acknowledgement_in_the_store_is_judged_by_the_severity_it_saw(
    tmp_path: Path,
) -> None:
    """Acknowledged through the store (the window, the CLI) at WARNING: the next grouping
    notes the severity acknowledged; grown to CRITICAL it is OPEN again; acknowledged again
    at CRITICAL it stays acknowledged. A row stored before the severity was kept reads."""
    db = Database(tmp_path / "c.sqlite3")
    repo = IncidentRepository(db)
    try:
        t1 = T0 + 2 * MINUTE
        [inc], _ = group([], [_warm(t1), _memory(FindingSeverity.INFO, t1)], t1)
        await asyncio.wrap_future(repo.save([inc]))
        acked = await asyncio.wrap_future(repo.acknowledge(inc.id, t1, seen=inc.severity))
        assert acked is not None and acked.state is IncidentStatus.ACKNOWLEDGED
        t2 = t1 + MINUTE
        [held], _ = group([acked], [_warm(t2), _memory(FindingSeverity.INFO, t2)], t2)
        assert held.state is IncidentStatus.ACKNOWLEDGED
        assert held.acknowledged_severity is FindingSeverity.WARNING
        await asyncio.wrap_future(repo.save([held]))
        t3 = t2 + MINUTE
        stored = repo.get(inc.id)
        assert stored is not None
        [opened], _ = group([stored], [_warm(t3), _memory(FindingSeverity.CRITICAL, t3)], t3)
        assert opened.state is IncidentStatus.OPEN and opened.acknowledged_severity is None
        await asyncio.wrap_future(repo.save([opened]))
        again = await asyncio.wrap_future(repo.acknowledge(inc.id, t3, seen=opened.severity))
        assert again is not None and again.state is IncidentStatus.ACKNOWLEDGED
        t4 = t3 + MINUTE
        [kept], _ = group([again], [_warm(t4), _memory(FindingSeverity.CRITICAL, t4)], t4)
        assert kept.state is IncidentStatus.ACKNOWLEDGED
        assert kept.acknowledged_severity is FindingSeverity.CRITICAL
    finally:
        db.close()
    old = kept.model_dump(mode="json")
    del old["acknowledged_severity"], old["held_by"]
    assert Incident.model_validate(old).acknowledged_severity is None


# -- 5: an Alertmanager never read, a Prometheus read -------------------------------------------
def _truth(at: datetime, findings: list[Finding], alerts: Coverage) -> FleetTruth:
    east = ClusterTruth("east", "east", None, Health.DEGRADED, 80, 0.0, findings,
                        {"metrics": Coverage.READ, "alerts": alerts})  # fmt: skip
    if alerts is not Coverage.READ:
        east.stale_since = T0  # its Alertmanager last answered then
    return FleetTruth(at=at, clusters=[east])


@pytest.mark.asyncio
async def test_an_unread_alertmanager_holds_only_the_incidents_of_alerts(tmp_path: Path) -> None:
    """east's Alertmanager stops answering after 12:00; its Prometheus is read. The FREERUN
    clock (read from Prometheus) relocks: its incident resolves (it was held open for good,
    "east cannot be read"). The alert's incident, unseen since, is held, and says by what."""
    db = Database(tmp_path / "c.sqlite3")
    now = [T0]
    fleet = _Fleet()
    freerun = Finding(Domain.PTP, FindingSeverity.CRITICAL, "du-1/ens1f0 (ptp4l)",
                      "clock in FREERUN (clock class 248)", since=T0)  # fmt: skip
    fleet.last = _truth(T0, [freerun], Coverage.READ)
    poller = _Poller({"east": [_alert("east", "KubeNodeNotReady", {"node": "cu-3"}, T0, "n1")]})
    svc = IncidentService(IncidentRepository(db), fleet, _Anomalies(), poller, _Bus(),  # type: ignore[arg-type]
                          clock=lambda: now[0])  # fmt: skip
    try:
        opened = {i.signals[0].source: i.id for i in await svc.refresh()}
        assert sorted(opened) == ["PTP", "alert"]
        poller.alerts = {"east": []}  # not read since
        for hours in (1, 24):
            now[0] = T0 + timedelta(hours=hours)
            fleet.last = _truth(now[0], [], Coverage.UNREACHABLE)
            await svc.refresh()
            clock = await svc.get(opened["PTP"])
            assert clock is not None and clock.state is IncidentStatus.RESOLVED, hours
            assert clock.held_because == ""
            held = await svc.get(opened["alert"])
            assert held is not None and held.state is IncidentStatus.OPEN
            assert held.unread == ["east"]
            assert held.held_because.startswith("held open: Alertmanager of east cannot be read")
    finally:
        db.close()


# -- 6: Warning events about a ReplicaSet -------------------------------------------------------
def _rs_event(uid: str, namespace: str, message: str, at: datetime) -> dict[str, Any]:
    return {"type": "Warning", "reason": "FailedCreate", "message": message,
            "metadata": {"uid": uid},
            "involvedObject": {"kind": "ReplicaSet", "name": "api-7d9f8b6c5d",
                               "namespace": namespace},
            "firstTimestamp": at.isoformat(), "lastTimestamp": at.isoformat()}  # fmt: skip


def test_a_replicasets_events_are_at_its_deployment_in_its_namespace() -> None:
    """FailedCreate of ReplicaSet api-7d9f8b6c5d in payments and in billing: each names its
    namespace; the one in payments joins KubeDeploymentReplicasMismatch{deployment=api} of
    payments, the one in billing is an incident of its own."""
    t = T0 + MINUTE
    events = [
        _rs_event("u1", "payments",
                  'Error creating: pods "api-7d9f8b6c5d-x" is forbidden: exceeded quota', t),
        _rs_event("u2", "billing", "Error creating: pods forbidden: exceeded quota", t),
    ]  # fmt: skip
    made = event_signals("east", events, t)
    assert sorted((s.subject, s.entity) for s in made) == [
        ("replicaset billing/api-7d9f8b6c5d", "east replicaset billing/api-7d9f8b6c5d"),
        ("replicaset payments/api-7d9f8b6c5d", "east replicaset payments/api-7d9f8b6c5d"),
    ]  # fmt: skip
    paid = next(s for s in made if "payments" in s.subject)
    assert paid.topology == ["ns:payments", "obj:payments/deployment/api",
                             "obj:payments/replicaset/api-7d9f8b6c5d"]  # fmt: skip
    mismatch = _alert("east", "KubeDeploymentReplicasMismatch",
                      {"namespace": "payments", "deployment": "api"}, T0, "m1")  # fmt: skip
    incidents, _ = group([], [*made, *alert_signals({"east": [mismatch]}, t)], t)
    assert sorted(sorted(s.subject for s in i.signals) for i in incidents) == [
        ["KubeDeploymentReplicasMismatch", "replicaset payments/api-7d9f8b6c5d"],
        ["replicaset billing/api-7d9f8b6c5d"],
    ]  # fmt: skip


def test_events_of_other_objects_name_their_namespace_and_place() -> None:
    """A Deployment's, a volume claim's and a Job's events are at that object in their
    namespace; a cluster-scoped object's at the object; a pod's and a node's as before."""
    t = T0 + MINUTE

    def event(uid: str, kind: str, name: str, namespace: str = "") -> dict[str, Any]:
        return {"type": "Warning", "reason": "Failed", "message": "x", "metadata": {"uid": uid},
                "involvedObject": {"kind": kind, "name": name, "namespace": namespace},
                "lastTimestamp": t.isoformat()}  # fmt: skip

    made = event_signals("east", [
        event("1", "Deployment", "api", "payments"),
        event("2", "PersistentVolumeClaim", "data-ledger-0", "payments"),
        event("3", "Job", "backup-29012345", "ops"),
        event("4", "PersistentVolume", "pv-0042"),
        event("5", "Pod", "du-l1-0", "ran-du"),
        event("6", "Node", "du-1"),
    ], t)  # fmt: skip
    assert {s.subject: s.topology for s in made} == {
        "deployment payments/api": ["ns:payments", "obj:payments/deployment/api"],
        "persistentvolumeclaim payments/data-ledger-0": [
            "ns:payments", "obj:payments/persistentvolumeclaim/data-ledger-0"],
        "job ops/backup-29012345": ["ns:ops", "obj:ops/job/backup-29012345"],
        "persistentvolume pv-0042": ["obj:/persistentvolume/pv-0042"],
        "pod ran-du/du-l1-0": ["ns:ran-du", "pod:ran-du/du-l1-0"],
        "node du-1": ["node:du-1"],
    }  # fmt: skip


# -- review 7b: an alert's incident held while Prometheus, which raises it, is lost ------------
def test_an_alerts_incident_is_held_while_the_prometheus_raising_it_cannot_be_read() -> None:
    """east's Prometheus (it evaluates the alert rules) is lost, its Alertmanager answers:
    KubePodCrashLooping, no longer sent, ends there. Its acknowledged incident resolved, and
    when Prometheus was back the alert opened a NEW incident, the acknowledgement lost. It is
    held (saying Prometheus), and the alert back is in it, still acknowledged."""
    crash = _alert("east", "KubePodCrashLooping",
                   {"pod": "api-7d9f8b6c5d-x2x4z", "namespace": "shop",
                    "job": "kube-state-metrics"}, T0, "fp1")  # fmt: skip
    [inc], _ = group([], alert_signals({"east": [crash]}, T0), T0)
    inc = acknowledge(inc, T0 + MINUTE)
    lost = {"east": frozenset({"metrics"})}
    last = {"east": T0 + 2 * MINUTE}  # Prometheus last read then
    t5 = T0 + 5 * MINUTE  # Alertmanager still has it (until its endsAt)
    [inc], _ = group([inc], alert_signals({"east": [crash]}, t5), t5, unread=lost,
                     last_read=last)  # fmt: skip
    t30 = T0 + 30 * MINUTE  # gone from Alertmanager since
    [inc], _ = group([inc], [], t30, unread=lost, last_read=last)
    assert inc.state is IncidentStatus.ACKNOWLEDGED
    assert inc.held_because.startswith("held open: Prometheus of east cannot be read")
    back = T0 + 40 * MINUTE
    again = crash.model_copy(update={"starts_at": back})
    incidents, _ = group([inc], alert_signals({"east": [again]}, back), back)
    assert [(i.id, i.state) for i in incidents] == [(inc.id, IncidentStatus.ACKNOWLEDGED)]


def test_a_lost_alertmanager_still_holds_no_finding_incident() -> None:
    """The other way round stays: Alertmanager lost holds a GPU's incident no more."""
    t1 = T0 + 2 * MINUTE
    [inc], _ = group([], [_warm(t1)], t1)
    later = t1 + timedelta(minutes=30)
    [inc], _ = group([inc], [], later, unread={"east": frozenset({"alerts"})},
                     last_read={"east": t1})  # fmt: skip
    assert inc.state is IncidentStatus.RESOLVED


# -- review 7b: an app's own alert with a ``name`` label ---------------------------------------
#: the labels of a checkout pod's own series, scraped through its Service (a ServiceMonitor)
_CHECKOUT = {
    "pod": "checkout-7d9f8b6c5d-x2x4z", "namespace": "shop", "job": "checkout",
    "service": "checkout", "endpoint": "http", "container": "checkout",
    "instance": "10.128.2.17:8080",
}  # fmt: skip


def test_an_apps_own_alert_naming_its_own_things_keeps_its_pod() -> None:
    """Resilience4j's circuit breaker (name=payments-gateway), client-go's workqueue of an
    operator outside OpenShift (name=memcached), a database's role: the app's own things, not
    other objects. Taken for alerts about another object, they lost their pod and namespace
    (no place, the whole cluster) and split from the pod's own KubePodCrashLooping."""
    breaker = {**_CHECKOUT, "name": "payments-gateway", "state": "open"}
    assert place_of("", breaker) == ["ns:shop", "pod:shop/checkout-7d9f8b6c5d-x2x4z"]
    queue = {"name": "memcached", "pod": "memcached-operator-6c9d7b8f5-abcde",
             "namespace": "memcached-system", "job": "memcached-operator",
             "service": "memcached-operator", "endpoint": "https",
             "instance": "10.128.0.5:8443"}  # fmt: skip
    assert "pod:memcached-system/memcached-operator-6c9d7b8f5-abcde" in place_of("", queue)
    for generic in ("role", "secret", "lease", "configmap"):
        labels = {**_CHECKOUT, generic: "primary"}
        assert place_of("", labels) == ["ns:shop", "pod:shop/checkout-7d9f8b6c5d-x2x4z"], generic
    crash = _alert("east", "KubePodCrashLooping",
                   {"pod": "checkout-7d9f8b6c5d-x2x4z", "namespace": "shop",
                    "container": "checkout", "job": "kube-state-metrics",
                    "reason": "CrashLoopBackOff"}, T0, "a", AlertSeverity.CRITICAL)  # fmt: skip
    open_ = _alert("east", "CircuitBreakerOpen", breaker, T0 + MINUTE, "b")
    [signal] = alert_signals({"east": [open_]}, T0 + MINUTE)
    assert signal.entity == "east pod shop/checkout-7d9f8b6c5d-x2x4z"
    now = T0 + 2 * MINUTE
    incidents, _ = group([], alert_signals({"east": [crash, open_]}, now), now)
    assert [sorted(s.subject for s in i.signals) for i in incidents] == [
        ["CircuitBreakerOpen", "KubePodCrashLooping"]]  # fmt: skip


def test_an_openshift_operators_report_on_its_objects_keeps_its_namespace() -> None:
    """CVO's ClusterOperatorDegraded (``name`` beside its condition and reason) is about the
    ClusterOperator, not CVO's pod; the ClusterOperator is in no namespace: the operator's is
    kept. An OpenShift operator's series naming its objects by ``name`` alone likewise."""
    degraded = {**_CVO, "name": "authentication", "condition": "Degraded",
                "reason": "OAuthServerDeployment_Unavailable"}  # fmt: skip
    assert place_of("", degraded) == ["ns:openshift-cluster-version"]
    ingress = {"name": "default", "pod": "ingress-operator-7c9d8b6f5-q2w4e",
               "namespace": "openshift-ingress-operator", "job": "ingress-operator",
               "service": "ingress-operator", "endpoint": "metrics",
               "instance": "10.129.0.21:9393"}  # fmt: skip
    assert place_of("", ingress) == ["ns:openshift-ingress-operator"]
