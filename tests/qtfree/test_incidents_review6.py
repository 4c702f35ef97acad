"""Incidents, found in review: a LOW anomaly (INFO) on a node kept a days-old acknowledged
incident of it looking new, and a new GPU warning of that node joined it, hidden; the
scheduler's FailedScheduling (an events.k8s.io series, written to the API server every 30
minutes) resolved its incident between writes and lost its acknowledgement; a DaemonSet's
pods crash-looping on several clusters (each pod's random suffix its own) were an incident
per cluster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.anomalies import Anomaly
from aiops_desktop.models.enums import (
    AnomalyMethod,
    AnomalySeverity,
    AnomalyType,
    IncidentStatus,
)
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.services.intelligence.incidents import (
    SERIES_REFRESH,
    alert_signals,
    anomaly_signals,
    event_signals,
)
from analysis.incidents import RESOLVE_AFTER, acknowledge, alert_labels, group, place_of

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


# -- 1: an INFO signal does not make an old incident new ------------------------------------
def _disk(at: datetime) -> Alert:
    return Alert(fingerprint="fs", cluster="c1", name="NodeFilesystemSpaceFillingUp",
                 labels={"alertname": "NodeFilesystemSpaceFillingUp", "instance": "gpu-1",
                         "job": "node-exporter", "device": "/dev/sda4", "mountpoint": "/var",
                         "severity": "warning"},
                 annotations={"summary": "Filesystem is predicted to run out of space."},
                 starts_at=at)  # fmt: skip


def _novelty(at: datetime) -> Anomaly:
    """A LOW anomaly of the node (an INFO signal: news, not a problem)."""
    return Anomaly(cluster="c1", metric="node_network_receive_bytes",
                   labels={"instance": "gpu-1", "device": "ens2f0"},
                   method=AnomalyMethod.DOMAIN_RULE, timestamp=at, started_at=at, last_at=at,
                   score=2.1, threshold=2.0, severity=AnomalySeverity.LOW, confidence=0.5,
                   type=AnomalyType.SPIKE, actual=9, explanation="rx bytes above its usual",
                   open=False)  # fmt: skip


def _gpu(at: datetime) -> IncidentSignal:
    return IncidentSignal(key="GPU|c1|gpu-1/gpu3|throttled", source="GPU", cluster="c1",
                          subject="gpu-1/gpu3", severity=FindingSeverity.WARNING,
                          reason="throttled 38% of the last 5 min (power limit)",
                          first_seen=at, last_seen=at, topology=place_of("gpu-1/gpu3"),
                          entity="c1 gpu-1/gpu3")  # fmt: skip


def test_an_info_signal_does_not_keep_an_old_incident_new_for_a_new_problem() -> None:
    """A node's disk warning firing for 3 days, acknowledged; a LOW anomaly of the node
    joins it minutes ago: a new GPU warning of that node is still an incident of its own
    (it joined the old acknowledged incident, hidden there)."""
    began = T0 - timedelta(days=3)
    at = began + MINUTE
    incidents, _ = group([], alert_signals({"c1": [_disk(began)]}, at), at)
    incidents = [acknowledge(incidents[0], at + 5 * MINUTE)]
    while at < T0 - 5 * MINUTE:
        at += 30 * MINUTE
        incidents, _ = group(incidents, alert_signals({"c1": [_disk(began)]}, at), at)
    novelty = anomaly_signals([_novelty(T0 - 4 * MINUTE)], T0)
    assert [s.severity for s in novelty] == [FindingSeverity.INFO]
    signals = [*alert_signals({"c1": [_disk(began)]}, T0), *novelty, _gpu(T0)]
    incidents, _ = group(incidents, signals, T0)
    by_state = {i.state: i for i in incidents}
    assert len(incidents) == 2
    assert by_state[IncidentStatus.ACKNOWLEDGED].opened_at < T0 - timedelta(days=2)
    assert [s.subject for s in by_state[IncidentStatus.OPEN].signals] == ["gpu-1/gpu3"]


# -- 2: an events.k8s.io series, refreshed every 30 minutes ---------------------------------
def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _scheduling(now: datetime, refreshed_every: timedelta) -> dict[str, Any]:
    """The scheduler's FailedScheduling of a pod unschedulable since T0, as GET
    /api/v1/events shows it at ``now``: its 2nd occurrence written at once, its series'
    lastObservedTime then written every ``refreshed_every`` (client-go keeps the count in
    its own cache between)."""
    obj: dict[str, Any] = {
        "type": "Warning", "reason": "FailedScheduling", "eventTime": _iso(T0),
        "firstTimestamp": None, "lastTimestamp": None,
        "message": "0/6 nodes are available: 6 Insufficient nvidia.com/gpu.",
        "involvedObject": {"kind": "Pod", "name": "trainer-0", "namespace": "ml"},
        "metadata": {"uid": "u-1", "name": "trainer-0.17f"},
        "reportingController": "default-scheduler",
    }  # fmt: skip
    if now >= T0 + timedelta(seconds=10):
        written = T0 + refreshed_every * ((now - T0) // refreshed_every)
        obj["series"] = {
            "count": 2 + int((now - T0) / (5 * MINUTE)),
            "lastObservedTime": _iso(max(T0 + timedelta(seconds=10), written)),
        }
    return obj


def _polled(minutes: range, refreshed_every: timedelta) -> list[list[Incident]]:
    """The incidents after each minute's poll, acknowledged at 12:03."""
    incidents: list[Incident] = []
    after = []
    for m in minutes:
        now = T0 + timedelta(minutes=m, seconds=30)
        signals = event_signals("gpu-east", [_scheduling(now, refreshed_every)], now)
        incidents, _ = group(incidents, signals, now)
        if m == 3:
            incidents = [acknowledge(i, now) for i in incidents]
        after.append(incidents)
    return after


def test_a_series_refreshed_every_30_minutes_keeps_its_incident_acknowledged() -> None:
    """client-go writes an ongoing series every 30 minutes: its incident, acknowledged at
    12:03, stays that one incident, acknowledged, through 13:00 (it resolved 10 minutes after
    each write and a new one opened at the next)."""
    for incidents in _polled(range(3, 61), timedelta(minutes=30)):  # client-go's refreshTime
        assert [i.state for i in incidents] == [IncidentStatus.ACKNOWLEDGED]
    # seen until its next write is due, never later than now
    now = T0 + 40 * MINUTE
    [signal] = event_signals("gpu-east", [_scheduling(now, SERIES_REFRESH)], now)
    assert (signal.first_seen, signal.last_seen) == (T0, now)


def test_a_series_not_written_for_longer_than_its_refresh_resolves() -> None:
    """A series whose last write is older than client-go's refresh (plus the resolve delay)
    has ended: its incident resolves."""
    written = T0 + timedelta(seconds=10)
    now = written + SERIES_REFRESH + RESOLVE_AFTER + MINUTE
    [signal] = event_signals("gpu-east", [_scheduling(now, timedelta(days=1))], now)
    assert signal.last_seen == written + SERIES_REFRESH
    [incident] = _polled(range(0, 42), timedelta(days=1))[-1]
    assert incident.state is IncidentStatus.RESOLVED


# -- 3: a DaemonSet's pod crash-looping on several clusters ---------------------------------
def _crash(cluster: str, pod: str, minutes_ago: int, namespace: str = "openshift-ptp") -> Alert:
    """kube-state-metrics' KubePodCrashLooping, as kube-prometheus labels it (its series,
    kube_pod_container_status_waiting_reason, carries the pod's ``uid``: every pod its own)."""
    labels = {
        "alertname": "KubePodCrashLooping",
        "severity": "warning",
        "namespace": namespace,
        "pod": pod,
        "container": "main",
        "reason": "CrashLoopBackOff",
        "instance": "10.128.2.5:8443",
        "job": "kube-state-metrics",
        "cluster": cluster,
        "uid": str(uuid5(NAMESPACE_URL, f"{cluster}/{namespace}/{pod}")),
    }
    return Alert(fingerprint=f"{cluster}-{pod}", cluster=cluster, name="KubePodCrashLooping",
                 labels=labels, annotations={"summary": "Pod is crash looping."},
                 starts_at=T0 - minutes_ago * MINUTE)  # fmt: skip


def test_a_daemonset_crash_looping_on_three_clusters_is_one_incident() -> None:
    """A bad image of the linuxptp-daemon DaemonSet rolled out fleet-wide: one alert on 3
    clusters (each pod's random suffix differs), one incident; each signal still at its own
    pod."""
    firing = {"ran-east": [_crash("ran-east", "linuxptp-daemon-7xk2p", 3)],
              "ran-west": [_crash("ran-west", "linuxptp-daemon-q9z4m", 2)],
              "ran-north": [_crash("ran-north", "linuxptp-daemon-b5v8t", 1)]}  # fmt: skip
    incidents, _ = group([], alert_signals(firing, T0), T0)
    assert [i.title for i in incidents] == ["KubePodCrashLooping on 3 clusters (+2 signals)"]
    assert "pod:openshift-ptp/linuxptp-daemon-7xk2p" in incidents[0].signals[0].topology


def test_two_unrelated_workloads_crash_looping_on_one_cluster_stay_apart() -> None:
    firing = {
        "ran-east": [
            _crash("ran-east", "linuxptp-daemon-7xk2p", 3),
            _crash("ran-east", "api-6c9f8b7d4-x2kq9", 2, namespace="payments"),
        ]
    }
    assert {alert_labels(a.labels)["pod"] for a in firing["ran-east"]} == {
        "linuxptp-daemon", "api"}  # fmt: skip
    incidents, _ = group([], alert_signals(firing, T0), T0)
    assert len(incidents) == 2
