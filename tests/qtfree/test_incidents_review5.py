"""Incident grouping, found in review of 587c44a: a workload's pods and the workload are one
thing (a bad rollout's crash-looping pods and its Deployment's alerts were two incidents),
two workloads of one namespace still two; a dark cluster holds an incident whose signal its
last read showed going on (a Warning event's last time is its server's, not when a read
showed it), and one with a lost source never read holds it whatever its other sources'
last reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.models import AlertSeverity
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.enums import IncidentStatus
from aiops_desktop.models.fleet import ClusterTruth, Coverage, FleetTruth, Health
from aiops_desktop.models.incidents import Incident
from aiops_desktop.services.intelligence.incidents import alert_signals, event_signals
from analysis.incidents import group
from tests.qtfree.test_incident_lifecycle import _service

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
#: OpenShift's kube-state-metrics, scraped with its instance dropped
KSM = {"job": "kube-state-metrics", "service": "kube-state-metrics", "endpoint": "https-main",
       "container": "kube-rbac-proxy-main", "namespace": "payments"}  # fmt: skip


def _alert(name: str, labels: dict[str, str], at: datetime) -> Alert:
    return Alert(fingerprint=f"{name}|{sorted(labels.items())}", cluster="c1", name=name,
                 severity=AlertSeverity.WARNING,
                 labels={"alertname": name, "severity": "warning", **KSM, **labels},
                 annotations={"summary": f"{name} fires"}, starts_at=at)  # fmt: skip


def _subjects(incidents: list[Incident]) -> list[list[str]]:
    return sorted(sorted(s.subject for s in i.signals) for i in incidents)


# -- 1: a workload's pods and the workload ------------------------------------------------------
def test_a_bad_rollout_s_crash_looping_pods_and_its_deployment_are_one_incident() -> None:
    """api's new pods crash-loop at 12:00; its replicas mismatch at 12:02 and its rollout is
    stuck at 12:03: one rollout, one incident (the pod at "pod:", the Deployment at "obj:":
    two narrow places sharing only their namespace, two incidents)."""
    crash = _alert("KubePodCrashLooping", {"pod": "api-7d9f8c6b5d-x2kq4",
                                           "reason": "CrashLoopBackOff"}, T0)  # fmt: skip
    mismatch = _alert("KubeDeploymentReplicasMismatch", {"deployment": "api"}, T0 + 2 * MINUTE)
    stuck = _alert("KubeDeploymentRolloutStuck", {"deployment": "api"}, T0 + 3 * MINUTE)
    incidents, _ = group([], alert_signals({"c1": [crash]}, T0 + MINUTE), T0 + MINUTE)
    later = T0 + 5 * MINUTE
    incidents, _ = group(incidents, alert_signals({"c1": [crash, mismatch, stuck]}, later),
                         later)  # fmt: skip
    assert _subjects(incidents) == [
        ["KubeDeploymentReplicasMismatch", "KubeDeploymentRolloutStuck", "KubePodCrashLooping"]
    ]


def test_a_statefulset_s_and_a_daemonset_s_pods_join_their_workload() -> None:
    """A StatefulSet's pod "<name>-<ordinal>", a DaemonSet's "<name>-<random>": each with its
    workload's alert, begun apart by more than GROUP_WINDOW (the pod still crash-looping)."""
    for kind, pod in (("statefulset", "ledger-db-0"), ("daemonset", "sriov-device-plugin-q7x2v")):
        workload = pod.rsplit("-", 1)[0]
        crash = _alert("KubePodCrashLooping", {"pod": pod}, T0)
        mismatch = _alert(f"Kube{kind.title()}ReplicasMismatch", {kind: workload},
                          T0 + 40 * MINUTE)  # fmt: skip
        incidents, _ = group([], alert_signals({"c1": [crash]}, T0 + MINUTE), T0 + MINUTE)
        later = T0 + 41 * MINUTE
        for at in (T0 + 20 * MINUTE, later):  # the pod still crash-looping
            firing = [crash, mismatch] if at == later else [crash]
            incidents, _ = group(incidents, alert_signals({"c1": firing}, at), at)
        assert len(incidents) == 1, (kind, _subjects(incidents))


def test_two_workloads_pods_and_alerts_of_one_namespace_stay_apart() -> None:
    """api's pod crash-loops and ledger's Deployment is short of replicas, in one namespace at
    one moment: two workloads, two incidents."""
    crash = _alert("KubePodCrashLooping", {"pod": "api-7d9f8c6b5d-x2kq4"}, T0)
    other = _alert("KubeDeploymentReplicasMismatch", {"deployment": "ledger"}, T0 + MINUTE)
    incidents, _ = group([], alert_signals({"c1": [crash, other]}, T0 + MINUTE), T0 + MINUTE)
    assert _subjects(incidents) == [["KubeDeploymentReplicasMismatch"], ["KubePodCrashLooping"]]


# -- 2a: a Warning event's last time is its server's --------------------------------------------
def _backoff(last: datetime) -> dict[str, Any]:
    return {"type": "Warning", "reason": "BackOff",
            "message": "Back-off restarting failed container",
            "involvedObject": {"kind": "Pod", "name": "api-7d9f8c6b5d-x2kq4",
                               "namespace": "payments"},
            "metadata": {"uid": "e1"}, "firstTimestamp": "2026-01-05T11:30:00Z",
            "lastTimestamp": last.isoformat()}  # fmt: skip


def test_a_repeating_event_holds_its_incident_while_its_api_is_dark() -> None:
    """BackOff repeats every 5 minutes; read at 12:07 (showing 12:05), then the API is dark:
    the incident is held (it resolved at 12:15 and came back under a new id at 12:41, its
    acknowledgement lost)."""
    incidents, _ = group([], event_signals("c1", [_backoff(T0)], T0 + MINUTE), T0 + MINUTE)
    read = T0 + 7 * MINUTE
    incidents, _ = group(incidents, event_signals("c1", [_backoff(T0 + 5 * MINUTE)], read), read)
    [first] = incidents
    for at in (T0 + 12 * MINUTE, T0 + 16 * MINUTE, T0 + 40 * MINUTE):
        incidents, _ = group(incidents, [], at, unread={"c1"}, last_read={"c1": read})
        assert [(i.state, i.unread) for i in incidents] == [(IncidentStatus.OPEN, ["c1"])], at
    back = T0 + 41 * MINUTE
    incidents, _ = group(incidents, event_signals("c1", [_backoff(T0 + 40 * MINUTE)], back), back)
    assert [(i.id, i.state) for i in incidents] == [(first.id, IncidentStatus.OPEN)]


def test_an_event_quiet_when_its_cluster_was_last_read_does_not_hold() -> None:
    """Offered at the last read (an event is offered for an hour) but quiet for half an hour
    by then: it had ended as far as the incident goes; the dark cluster holds nothing."""
    incidents, _ = group([], event_signals("c1", [_backoff(T0)], T0 + MINUTE), T0 + MINUTE)
    read = T0 + 30 * MINUTE
    incidents, _ = group(incidents, event_signals("c1", [_backoff(T0)], read), read)
    [done], _ = group(incidents, [], read + MINUTE, unread={"c1"}, last_read={"c1": read})
    assert done.state is IncidentStatus.RESOLVED and done.unread == []


# -- 2b: a source never read ------------------------------------------------------------------
def _truth(at: datetime, coverage: dict[str, Coverage], since: datetime | None) -> FleetTruth:
    return FleetTruth(at=at, clusters=[ClusterTruth("c1", "c1", None, Health.STALE, None, None,
                                                    [], coverage, stale_since=since)])  # fmt: skip


def _node_down(at: datetime) -> Alert:
    return Alert(fingerprint="f1", cluster="c1", name="KubeNodeNotReady",
                 severity=AlertSeverity.CRITICAL,
                 labels={"alertname": "KubeNodeNotReady", "node": "w1", "severity": "critical"},
                 annotations={}, starts_at=at)  # fmt: skip


@pytest.mark.asyncio
async def test_a_source_never_read_since_a_restart_holds_the_stored_incident(
    tmp_path: Path,
) -> None:
    """Restarted at 12:00: Alertmanager fails from its first poll (never read this run),
    Prometheus is read at 12:00:30 then goes stale. The stored CRITICAL's incident is held:
    what Alertmanager would show is unknown (the oldest known read, 12:00:30, resolved it)."""
    now = [T0 - 2 * MINUTE]
    svc, fleet, _, db = _service(tmp_path, now, {"c1": [_node_down(T0 - 30 * MINUTE)]})
    try:
        fleet.last = _truth(now[0], {"metrics": Coverage.READ, "alerts": Coverage.READ}, None)
        [incident] = await svc.refresh()
    finally:
        db.close()
    svc, fleet, _, db = _service(tmp_path, now, {})  # restarted, over the same store
    try:
        now[0] = T0 + 15 * MINUTE
        fleet.last = _truth(now[0], {"metrics": Coverage.STALE, "alerts": Coverage.UNREACHABLE},
                            T0 + timedelta(seconds=30))  # fmt: skip
        [held] = await svc.refresh()
        assert (held.id, held.state, held.unread) == (incident.id, IncidentStatus.OPEN, ["c1"])
    finally:
        db.close()


@pytest.mark.asyncio
async def test_sources_read_this_run_let_an_ended_signal_s_incident_resolve(
    tmp_path: Path,
) -> None:
    """Both sources read this run, the alert cleared at a read, then both lost: the cluster's
    last read is known, and the incident resolves (587c44a's fix stands)."""
    now = [T0]
    svc, fleet, poller, db = _service(tmp_path, now, {"c1": [_node_down(T0 - 30 * MINUTE)]})
    try:
        read = {"metrics": Coverage.READ, "alerts": Coverage.READ}
        fleet.last = _truth(now[0], read, None)
        await svc.refresh()
        now[0], poller.alerts = T0 + 5 * MINUTE, {}  # cleared
        fleet.last = _truth(now[0], read, None)
        await svc.refresh()
        now[0] = T0 + 20 * MINUTE
        fleet.last = _truth(now[0], {"metrics": Coverage.STALE, "alerts": Coverage.UNREACHABLE},
                            T0 + 6 * MINUTE)  # fmt: skip
        [done] = await svc.refresh()
        assert done.state is IncidentStatus.RESOLVED and done.unread == []
    finally:
        db.close()
