"""Incidents, found in review: a node agent's own pod (DCGM's, linuxptp-daemon's, scraped by
pod or node IP) made every GPU or PTP alert of a cluster one incident; a finding dated when
read moved the live RCA window past the onset (it is grouped a moment after the read); an
alert ended days ago pulled the same alert, new on another cluster, into its old acknowledged
incident; a cluster whose Warning events cannot be read was said nowhere and resolved the
incidents its events made; a huge label value was stored whole in every signal."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aiops_desktop.cli import incidents as cli
from aiops_desktop.cli.args import Io, Printable
from aiops_desktop.models import AlertSeverity
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.enums import IncidentStatus
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
    ENTITY_MOST,
    IncidentService,
    _grouped,
    alert_signals,
    finding_signals,
)
from aiops_desktop.services.intelligence.rca import as_known, rca_anchor
from aiops_desktop.store.database import Database
from aiops_desktop.store.incidents import IncidentRepository
from analysis.incidents import acknowledge, group
from collectors.errors import CollectorError
from tests.qtfree.test_incident_lifecycle import _Anomalies, _Bus, _Fleet, _Poller

T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


# -- 1: a node agent's own pod ------------------------------------------------------------------
def _dcgm(fp: str, name: str, node: str, pod: str, ip: str, gpu: str, at: datetime,
          cluster: str = "gpu-east") -> Alert:  # fmt: skip
    """As the GPU operator's ServiceMonitor labels them: the exporter DaemonSet's pod,
    instance = the pod's IP."""
    labels = {"alertname": name, "severity": "warning", "Hostname": node, "gpu": gpu,
              "UUID": f"GPU-{node}-{gpu}", "instance": f"{ip}:9400",
              "job": "nvidia-dcgm-exporter", "namespace": "nvidia-gpu-operator", "pod": pod,
              "service": "nvidia-dcgm-exporter", "container": "nvidia-dcgm-exporter",
              "endpoint": "gpu-metrics"}  # fmt: skip
    return Alert(fingerprint=fp, cluster=cluster, name=name, severity=AlertSeverity.WARNING,
                 labels=labels, annotations={"summary": f"{name} on {node} gpu {gpu}"},
                 starts_at=at)  # fmt: skip


def test_gpu_alerts_of_two_nodes_are_two_incidents() -> None:
    """The XID on worker-1/gpu0 and the temperature on worker-7/gpu3, ten minutes apart: two
    problems (each carried its exporter's pod, and so its DaemonSet, as a shared place)."""
    now = T0 + 12 * MINUTE
    alerts = {"gpu-east": [
        _dcgm("a1", "DCGM_XID_Error", "worker-1", "nvidia-dcgm-exporter-2xkqg", "10.128.2.22",
              "0", T0),
        _dcgm("b2", "GPUHighTemperature", "worker-7", "nvidia-dcgm-exporter-9zmfw",
              "10.131.0.9", "3", T0 + 10 * MINUTE),
    ]}  # fmt: skip
    signals = alert_signals(alerts, now)
    assert sorted(s.topology for s in signals) == [
        ["dev:worker-1/gpu0", "node:worker-1"], ["dev:worker-7/gpu3", "node:worker-7"],
    ]  # fmt: skip
    assert sorted(s.entity for s in signals) == ["gpu-east worker-1/gpu0", "gpu-east worker-7/gpu3"]
    incidents, _ = group([], signals, now)
    assert len(incidents) == 2


def test_a_gpu_alert_keeps_the_workload_pod_using_the_gpu() -> None:
    """DCGM scraped with its labels honoured names the pod using the GPU (not the target's
    own): that pod is a place of the alert, as before."""
    labels = {**_dcgm("c3", "DCGM_XID_Error", "worker-1", "trainer-0", "10.128.2.22", "0",
                      T0).labels, "namespace": "ai"}  # fmt: skip
    fired = Alert(fingerprint="c3", cluster="gpu-east", name="DCGM_XID_Error", labels=labels,
                  starts_at=T0)  # fmt: skip
    (signal,) = alert_signals({"gpu-east": [fired]}, T0 + MINUTE)
    assert signal.topology == ["dev:worker-1/gpu0", "node:worker-1", "ns:ai", "pod:ai/trainer-0"]


def test_ptp_alerts_of_two_nodes_are_two_incidents() -> None:
    """linuxptp-daemon on du-2 and on du-7 (hostNetwork: instance = the node's IP; the pod is
    not named after the Service it is found through)."""

    def ptp(fp: str, node: str, pod: str, ip: str, iface: str, at: datetime) -> Alert:
        labels = {"alertname": "NodeOutOfPtpSync", "severity": "critical", "node": node,
                  "iface": iface, "process": "ptp4l", "instance": f"{ip}:9091",
                  "job": "ptp-monitor-service", "namespace": "openshift-ptp", "pod": pod,
                  "service": "ptp-monitor-service", "container": "kube-rbac-proxy",
                  "endpoint": "metrics"}  # fmt: skip
        return Alert(fingerprint=fp, cluster="ran-east", name="NodeOutOfPtpSync",
                     severity=AlertSeverity.CRITICAL, labels=labels, starts_at=at)  # fmt: skip

    now = T0 + 12 * MINUTE
    alerts = {"ran-east": [
        ptp("p1", "du-2", "linuxptp-daemon-4kx7q", "10.0.0.12", "ens1f0", T0),
        ptp("p2", "du-7", "linuxptp-daemon-n8wzb", "10.0.0.17", "ens2f1", T0 + 8 * MINUTE),
    ]}  # fmt: skip
    incidents, _ = group([], alert_signals(alerts, now), now)
    assert sorted(i.signals[0].entity for i in incidents) == [
        "ran-east du-2/ens1f0", "ran-east du-7/ens2f1",
    ]  # fmt: skip


def test_an_apps_alert_with_a_node_label_keeps_its_pod() -> None:
    """Two apps on one node, each scraped through its own Service, their ServiceMonitors
    relabelling the pod's node name to ``node``: no GPU or PTP port, so each pod is what its
    alert is about (they were taken for a node agent's: pod and namespace dropped, two
    unrelated alerts one incident of the node)."""

    def app(fp: str, name: str, job: str, ns: str, pod: str, ip: str, at: datetime) -> Alert:
        labels = {"alertname": name, "severity": "warning", "node": "gpu-1",
                  "instance": f"{ip}:8080", "job": job, "namespace": ns, "pod": pod,
                  "service": job, "endpoint": "metrics", "container": job}  # fmt: skip
        return Alert(fingerprint=fp, cluster="east", name=name,
                     severity=AlertSeverity.WARNING, labels=labels, starts_at=at)  # fmt: skip

    now = T0 + 3 * 60 * MINUTE + 5 * MINUTE
    alerts = {"east": [
        app("a", "TrainerQueueBacklog", "trainer", "ai", "trainer-7d9f5c6b8-bcdfg",
            "10.128.2.40", T0),
        app("b", "PaymentsHighLatency", "payments", "shop", "payments-5f6d7c8b9-hjklm",
            "10.128.2.41", T0 + 3 * 60 * MINUTE),
    ]}  # fmt: skip
    signals = alert_signals(alerts, now)
    assert sorted(s.topology for s in signals) == [
        ["node:gpu-1", "ns:ai", "pod:ai/trainer-7d9f5c6b8-bcdfg"],
        ["node:gpu-1", "ns:shop", "pod:shop/payments-5f6d7c8b9-hjklm"],
    ]  # fmt: skip
    incidents, _ = group([], signals, now)
    assert len(incidents) == 2


def test_the_same_gpu_alert_on_three_clusters_is_still_one_incident() -> None:
    """The same GPU's alert (its node, GPU and UUID) on three clusters: one incident, the
    exporter's pod named differently on each no obstacle."""
    now = T0 + 5 * MINUTE
    alerts = {c: [_dcgm(f"x-{c}", "DCGM_XID_Error", "worker-1", f"nvidia-dcgm-exporter-{pod}",
                        "10.128.2.22", "0", T0, cluster=c)]
              for c, pod in (("east", "2xkqg"), ("west", "9zmfw"), ("north", "b7dqz"))}  # fmt: skip
    (incident,), _ = group([], alert_signals(alerts, now), now)
    assert incident.title.startswith("DCGM_XID_Error on 3 clusters")


# -- 2: a finding dated when read, grouped a moment later -------------------------------------
def _at(moment: datetime) -> Callable[[], datetime]:
    """A clock stopped at ``moment``."""
    return lambda: moment


def test_a_finding_dated_when_read_anchors_at_the_onset_with_a_live_clock() -> None:
    """The GPU's temperature anomaly is open from 10:00; its finding, with no "since" of its
    own, is read each refresh, and at 10:50 says it throttles too (a new kind, a new signal).
    Live, grouping runs a moment after the read: the anchor stays at the onset (it moved to
    10:50, the RCA window 50 minutes past what began it)."""
    start = T0.replace(hour=10)

    def read(now: datetime, reason: str) -> list[IncidentSignal]:
        finding = Finding(Domain.GPU, FindingSeverity.CRITICAL, "gpu-0/gpu5", reason)
        truth = FleetTruth(now, [ClusterTruth("east", "east", None, Health.CRITICAL, 10, 0.0,
                                              [finding], {"metrics": Coverage.READ})])  # fmt: skip
        anomaly = IncidentSignal(
            key="anomaly|t", source="anomaly", cluster="east", subject="gpu_temperature",
            severity=FindingSeverity.CRITICAL, reason="GPU at 84 C", first_seen=start,
            last_seen=now, topology=["dev:gpu-0/gpu5", "node:gpu-0"], entity="east gpu-0/gpu5",
        )  # fmt: skip
        return [anomaly, *finding_signals(truth, now)]

    active: list[Incident] = []
    for now, reason in (
        (start, "temperature 84 C (critical >= 80 C)"),
        (start + 50 * MINUTE,
         "temperature 86 C (critical >= 80 C); throttled 38% of the last 5 min (thermal)"),
    ):  # fmt: skip
        later = now + timedelta(milliseconds=50)  # live: grouped a moment after the read
        active, _ = _grouped(read(now, reason), now, active, frozenset(),
                             clock=_at(later), unread=set(), last_read={})  # fmt: skip
    (incident,) = active
    at = start + 51 * MINUTE
    assert rca_anchor([as_known(s, at) for s in incident.signals]) == start


# -- 3: an ended alert and the same alert new elsewhere -----------------------------------------
def _pod_alert(cluster: str, first: datetime, last: datetime) -> IncidentSignal:
    return IncidentSignal(
        key=f"alert|{cluster}|f1", source="alert", cluster=cluster, subject="KubePodNotReady",
        severity=FindingSeverity.WARNING, reason="pod not ready", first_seen=first,
        last_seen=last, topology=["ns:ran-du", "pod:ran-du/du-l1-0"],
        alert_name="KubePodNotReady", alert_labels={"namespace": "ran-du", "pod": "du-l1-0"},
        entity=f"{cluster} pod ran-du/du-l1-0",
    )  # fmt: skip


def _memory(last: datetime) -> IncidentSignal:
    """The same pod's memory anomaly on east, going on."""
    return IncidentSignal(
        key="anomaly|mem", source="anomaly", cluster="east", subject="pod_memory",
        severity=FindingSeverity.WARNING, reason="memory high", first_seen=T0 + 5 * MINUTE,
        last_seen=last, topology=["ns:ran-du", "pod:ran-du/du-l1-0"],
        entity="east pod ran-du/du-l1-0",
    )  # fmt: skip


def test_an_alert_new_on_another_cluster_does_not_join_where_it_ended_days_ago() -> None:
    """East's alert ended at 08:10 two days ago; its acknowledged incident lives on by a
    memory anomaly. The same alert, new on west now, is a new incident, open (it was hidden
    under an acknowledgement made two days before it began)."""
    t = T0 + 10 * MINUTE
    (old,), _ = group([], [_pod_alert("east", T0, t), _memory(t)], t)
    old = acknowledge(old, t)
    now = T0 + timedelta(days=2)
    (old,), _ = group([old], [_memory(now)], now)
    out, _ = group([old], [_memory(now), _pod_alert("west", now, now)], now)
    by_id = {i.id: i for i in out}
    assert by_id[old.id].clusters == ["east"]
    assert by_id[old.id].state is IncidentStatus.ACKNOWLEDGED
    (new,) = [i for i in out if i.id != old.id]
    assert new.clusters == ["west"] and new.state is IncidentStatus.OPEN


def test_an_alert_still_firing_elsewhere_is_joined() -> None:
    """The same alert on west, begun while east's still fires: one incident, "on 2 clusters"."""
    t = T0 + 10 * MINUTE
    (incident,), _ = group([], [_pod_alert("east", T0, t)], t)
    later = t + 5 * MINUTE
    out, _ = group([incident], [_pod_alert("east", T0, later), _pod_alert("west", later, later)],
                   later)  # fmt: skip
    (joined,) = out
    assert joined.clusters == ["east", "west"]
    assert joined.title.startswith("KubePodNotReady on 2 clusters")


def test_the_title_counts_the_clusters_an_alert_fires_on_now() -> None:
    """An incident (stored before the rule above) with east's alert ended two days ago and
    west's firing now is not titled "on 2 clusters"."""
    now = T0 + timedelta(days=2)
    stored = Incident(
        id="INC-1", title="KubePodNotReady on 2 clusters", severity=FindingSeverity.WARNING,
        opened_at=T0, updated_at=now,
        signals=[_pod_alert("east", T0, T0 + 10 * MINUTE), _pod_alert("west", now, now)],
    )  # fmt: skip
    (incident,), _ = group([stored], [_pod_alert("west", now, now)], now)
    assert "on 2 clusters" not in incident.title
    assert incident.title.startswith("east: KubePodNotReady")


# -- 4: Kubernetes events that cannot be read ---------------------------------------------------
def _event(at: datetime) -> dict[str, Any]:
    return {"type": "Warning", "reason": "FailedMount",
            "message": 'MountVolume.SetUp failed for volume "ran-cfg": configmap not found',
            "involvedObject": {"kind": "Pod", "namespace": "ran-du", "name": "du-l1-0"},
            "firstTimestamp": T0.isoformat(), "lastTimestamp": at.isoformat(),
            "metadata": {"uid": "u1"}}  # fmt: skip


class _Kube:
    def __init__(self, now: list[datetime]) -> None:
        self.now = now
        self.failing: CollectorError | None = None

    async def objects_of_each(
        self, path: str, *, field_selector: str | None = None
    ) -> dict[str, Any]:
        if self.failing is not None:
            return {"ran-east": self.failing}
        return {"ran-east": [_event(self.now[0] - timedelta(seconds=30))]}


def _events_service(
    tmp_path: Path, now: list[datetime], *, recorded: bool = False
) -> tuple[IncidentService, _Kube, Database]:
    db = Database(tmp_path / "c.sqlite3")
    fleet, kube = _Fleet(), _Kube(now)
    east = ClusterTruth("ran-east", "ran-east", None, Health.OK, 100, 0.0, [],
                        {"metrics": Coverage.READ})  # fmt: skip
    fleet.last = FleetTruth(now[0], [east])
    svc = IncidentService(IncidentRepository(db), fleet, _Anomalies(), _Poller({}), _Bus(),  # type: ignore[arg-type]
                          kube=kube, clock=lambda: now[0], recorded=recorded)  # type: ignore[arg-type]  # fmt: skip
    return svc, kube, db


@pytest.mark.asyncio
async def test_events_that_cannot_be_read_hold_their_incident_and_are_said(
    tmp_path: Path,
) -> None:
    """The pod's FailedMount opened an incident; then the events answer 403: the incident
    is held open by the cluster's Warning events (it resolved while the pod still could not
    start), and the failure is a source the CLI says; the cluster's other sources are read
    (it is no unread cluster); read again, nothing is held."""
    now = [T0 + MINUTE]
    svc, kube, db = _events_service(tmp_path, now)
    try:
        (opened,) = await svc.refresh()
        assert opened.state is IncidentStatus.OPEN and svc.unread_clusters() == set()
        (read,) = svc.events_read()
        assert read.cluster == "ran-east" and not read.consecutive_errors
        kube.failing = CollectorError("403 Forbidden: events is forbidden")
        now[0] += 11 * MINUTE
        await svc.refresh()
        held = await svc.get(opened.id)
        assert held is not None and held.state is IncidentStatus.OPEN
        assert held.unread == ["Warning events of ran-east"]
        assert "held open: Warning events of ran-east cannot be read" in held.held_because
        assert svc.unread_clusters() == set()
        (failed,) = svc.events_read()
        assert failed.consecutive_errors == 1 and "403 Forbidden" in (failed.last_error or "")
        kube.failing = None  # read again: the pod's event is seen, nothing unread
        now[0] += MINUTE
        await svc.refresh()
        assert svc.unread_clusters() == set()
        assert (await svc.get(opened.id)).unread == []  # type: ignore[union-attr]
    finally:
        db.close()


@pytest.mark.asyncio
async def test_events_that_cannot_be_read_hold_no_incident_of_alerts(tmp_path: Path) -> None:
    """The events of ran-east answer 403 from the start (the app may not list them): an
    incident of an alert, read from Alertmanager, resolves when the alert has cleared (it
    was held open for good, "ran-east cannot be read" while the fleet showed it read)."""
    now = [T0 + MINUTE]
    svc, kube, db = _events_service(tmp_path, now)
    kube.failing = CollectorError("403 Forbidden: events is forbidden")
    fired = Alert(fingerprint="f1", cluster="ran-east", name="KubeNodeNotReady",
                  severity=AlertSeverity.CRITICAL, starts_at=T0,
                  labels={"alertname": "KubeNodeNotReady", "node": "du-1"})  # fmt: skip
    try:
        svc._poller.alerts = {"ran-east": [fired]}
        (opened,) = await svc.refresh()
        assert opened.unread == []
        svc._poller.alerts = {"ran-east": []}
        now[0] += timedelta(hours=8)
        await svc.refresh()
        ended = await svc.get(opened.id)
        assert ended is not None and ended.state is IncidentStatus.RESOLVED
        assert ended.held_because == ""
        (failed,) = svc.events_read()  # still said, as a source the CLI names
        assert failed.consecutive_errors == 2
    finally:
        db.close()


@pytest.mark.asyncio
async def test_events_a_capture_did_not_record_hold_nothing(tmp_path: Path) -> None:
    """A capture records no events: "not recorded" is no cluster unread (every capture's
    incidents would be held open, and the CLI exit 3)."""
    now = [T0 + MINUTE]
    svc, kube, db = _events_service(tmp_path, now, recorded=True)
    try:
        kube.failing = CollectorError("/api/v1/events of ran-east was not recorded in the capture")
        await svc.refresh()
        assert svc.unread_clusters() == set() and svc.events_read() == []
    finally:
        db.close()


@pytest.mark.asyncio
async def test_the_incidents_command_says_events_it_could_not_read() -> None:
    """`aiops-desktop incidents` says the events not read on stderr, as a poll's source, and
    exits partial (it said nothing and exited 0)."""
    from aiops_desktop.models.polling import SourceStatus

    failed = SourceStatus("ran-east", "events", 0.0, consecutive_errors=1,
                          last_error="403 Forbidden: events is forbidden")  # fmt: skip

    async def nothing() -> None:
        return None

    core = SimpleNamespace(
        capture="a capture: no poll", fleet=SimpleNamespace(last=FleetTruth(T0, []),
                                                            snapshot=lambda: None),
        incidents=SimpleNamespace(regroup=nothing, events_read=lambda: [failed]),
    )  # fmt: skip
    err_text = io.StringIO()
    said = Io(out=Printable(io.StringIO()), stdin=io.StringIO(), err=Printable(err_text))
    assert await cli._regroup(core, said) is False  # type: ignore[arg-type]
    err = err_text.getvalue()
    assert "unread: ran-east/events: 403 Forbidden: events is forbidden\n" in err
    assert "1 of 1 sources could not be read" in err


# -- 6: a huge label value ----------------------------------------------------------------------
def test_huge_label_values_are_fitted_and_the_same_alert_still_one_incident() -> None:
    """A 100,000-character label (a crafted answer) is kept fitted in what the signal is
    about and where: a name of at most ENTITY_MOST characters ending in a hash of the whole;
    the same alert on two clusters is still one incident, and another value another alert."""
    big = "x" * 100_000
    now = T0 + 5 * MINUTE

    def fired(cluster: str, note: str) -> Alert:
        return Alert(fingerprint=f"{cluster}-{note[-1]}", cluster=cluster,
                     name="KubePodNotReady", starts_at=T0,
                     labels={"alertname": "KubePodNotReady", "namespace": "ran-du",
                             "pod": "du-l1-0", "note": note, big: "key"})  # fmt: skip

    signals = alert_signals({"east": [fired("east", big)], "west": [fired("west", big)]}, now)
    for s in signals:
        assert max(len(k) + len(v) for k, v in s.alert_labels.items()) <= 2 * ENTITY_MOST
        assert all(len(t) <= 3 * ENTITY_MOST for t in s.topology)
        assert len(s.model_dump_json()) < 10_000
    (incident,), _ = group([], signals, now)
    assert incident.title.startswith("KubePodNotReady on 2 clusters")
    other = alert_signals({"west": [fired("west", big[:-1] + "y")]}, now)
    assert other[0].alert_labels != signals[0].alert_labels
