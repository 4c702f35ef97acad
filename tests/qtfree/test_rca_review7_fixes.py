"""RCA (review 7): the cluster-wide count of firing alerts (and a namespace's restarts) is a
symptom, never the cause over a node's own deviation; an alert's reason label (kube-prometheus'
KubeContainerWaiting names the pod's reason there, not in its words) gets its runbook checks;
and an incident whose second critical came after the window's first five minutes is read up
to it (still never past the analysis time), its text naming the end really read."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.enums import AlertSeverity, AlertState
from aiops_desktop.models.fleet import (
    ClusterTruth,
    Domain,
    Finding,
    FindingSeverity,
    FleetTruth,
    Health,
)
from aiops_desktop.models.incidents import IncidentSignal
from aiops_desktop.services.intelligence.incidents import alert_signals, finding_signals
from aiops_desktop.services.intelligence.rca import RcaService
from aiops_desktop.services.polling.catalog import load_catalog
from aiops_desktop.store.database import Database
from aiops_desktop.store.series import SeriesBatch, SeriesStore
from analysis.incidents import group, place_of

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SeriesStore]:
    db = Database(tmp_path / "cache.db", batch_max_delay_s=0)
    try:
        yield SeriesStore(db)
    finally:
        db.close()


def _put(store: SeriesStore, batches: list[SeriesBatch]) -> None:
    store.append(batches).result()
    store.flush().result()


def _alert(name: str, labels: dict[str, str], start: datetime, **notes: str) -> Alert:
    print_ = hashlib.sha256(f"{name}{sorted(labels.items())}".encode()).hexdigest()[:16]
    return Alert(fingerprint=print_, name=name, cluster="east",
                 severity=AlertSeverity.WARNING, state=AlertState.FIRING,
                 labels={"alertname": name, "severity": "warning", **labels},
                 annotations={"summary": name, **notes}, starts_at=start)  # fmt: skip


def _stamps(start: datetime, end: datetime) -> np.ndarray:
    return np.arange(start.timestamp(), end.timestamp() + 1, 30.0)


@pytest.mark.asyncio
async def test_the_count_of_alerts_firing_never_ranks_the_cluster_over_the_node_that_moved(
    store: SeriesStore,
) -> None:
    """worker-1's CPU jumps at 12:00 and its NodeHighCPU fires at 12:02; the "alerts firing"
    panel (sum by severity of ALERTS, on the cluster) rises with it, as every alert makes it,
    and so do a namespace's restarts (summed by namespace: the cluster too). The node is the
    cause; the cluster, ranked first at 0.71 by the alert count's errors weight, is not."""
    at = T + timedelta(minutes=6)
    anomaly = IncidentSignal(
        key="anomaly|east|node_cpu", source="anomaly", cluster="east", subject="node_cpu",
        severity=FindingSeverity.WARNING, reason="node_cpu 95 % (baseline 20 %)", first_seen=T,
        last_seen=at, topology=place_of("", {"instance": "worker-1"}),
        entity="east node worker-1",
    )  # fmt: skip
    high = _alert("NodeHighCPU", {"instance": "worker-1"}, T + timedelta(minutes=2))
    incidents, _ = group([], [anomaly, *alert_signals({"east": [high]}, at)], at)
    (incident,) = incidents
    ts = _stamps(T - timedelta(hours=1), at)
    ms = (ts * 1000).astype(np.int64)
    rng = np.random.default_rng(2)
    cpu = np.where(ts >= T.timestamp(), 95.0, 20.0) + rng.normal(0, 2, ts.size)
    firing = np.where(ts >= (T + timedelta(minutes=2)).timestamp(), 1.0, 0.0)
    restarts = np.where(ts >= (T + timedelta(minutes=3)).timestamp(), 4.0, 0.0)
    _put(store, [
        SeriesBatch("east", "node_cpu", {"instance": "worker-1"}, ms, cpu),
        SeriesBatch("east", "alerts_firing", {"severity": "warning"}, ms, firing),
        SeriesBatch("east", "pod_restarts", {"namespace": "pay"}, ms, restarts),
    ])  # fmt: skip
    result = await RcaService(store, load_catalog(), clock=lambda: at).for_incident(incident, at=at)
    ranked = {c.entity: c for c in result.causes}
    assert result.causes[0].entity == "east node worker-1", [
        (c.entity, c.confidence) for c in result.causes
    ]
    assert result.causes[0].confidence > 0.5
    # the alert count is no candidate at all (its alerts stand on their own entities); the
    # namespace's restarts still are, at no errors weight
    assert not any(e.signal.startswith("alerts_firing") for c in result.causes
                   for e in c.evidence)  # fmt: skip
    assert [e.signal for e in ranked["east"].evidence] == ['pod_restarts {namespace="pay"}']
    assert ranked["east"].score < ranked["east node worker-1"].score / 2


@pytest.mark.asyncio
async def test_an_alert_s_reason_label_gets_its_runbook_checks(store: SeriesStore) -> None:
    """KubeContainerWaiting{reason="CreateContainerConfigError"}: the runbook's entry for the
    reason is the ranked pod's next check, as the same reason in an event's words is."""
    at = T + timedelta(minutes=3)
    waiting = _alert(
        "KubeContainerWaiting",
        {"namespace": "pay", "pod": "api-7d9f8b6c5d-x2k4p", "container": "api",
         "reason": "CreateContainerConfigError"},
        T, summary="Pod container waiting longer than 1 hour.",
        description="pod/api-7d9f8b6c5d-x2k4p in namespace pay on container api has been in "
                    "waiting state for longer than 1 hour.",
    )  # fmt: skip
    incidents, _ = group([], alert_signals({"east": [waiting]}, at), at)
    result = await RcaService(store, load_catalog(), clock=lambda: at).for_incident(
        incidents[0], at=at
    )
    pod = "east pod pay/api-7d9f8b6c5d-x2k4p"
    assert [c.entity for c in result.causes] == [pod]
    assert [e.key for e in result.checks[pod]] == ["CreateContainerConfigError"]
    assert "ConfigMap or Secret" in result.checks[pod][0].meaning
    # the reason the label names, no other: still creating is no runbook entry; nor is a
    # container's name (another label) taken for a reason
    creating = _alert("KubeContainerWaiting", {"namespace": "pay", "pod": "api-0",
                                               "container": "OOMKilled",
                                               "reason": "ContainerCreating"}, T)  # fmt: skip
    incidents, _ = group([], alert_signals({"east": [creating]}, at), at)
    result = await RcaService(store, load_catalog(), clock=lambda: at).for_incident(
        incidents[0], at=at
    )
    assert [c.entity for c in result.causes] == ["east pod pay/api-0"]
    assert result.checks == {}


def _truth(at: datetime, findings: list[Finding]) -> FleetTruth:
    return FleetTruth(at=at, clusters=[ClusterTruth(
        name="east", title="east", hub=None, state=Health.DEGRADED, health_score=50,
        data_age_s=0, findings=findings, coverage={})])  # fmt: skip


@pytest.mark.asyncio
async def test_a_later_critical_of_the_incident_is_read_up_to_the_analysis_time(
    store: SeriesStore,
) -> None:
    """XID 79 on gpu-1/gpu3 at 12:00, then gpu-1's PTP port in FREERUN at 12:12 (one
    incident). RCA at 12:15 read 11:30-12:05, left the FREERUN's offset out and said it read
    up to 12:15. It reads up to 12:15 (the newest critical's onset plus 5 min, never past the
    analysis time), ranks the FREERUN's port with its offset, and says the end it read; at
    12:13 it reads up to 12:13."""
    xid = Finding(Domain.GPU, FindingSeverity.CRITICAL, "gpu-1/gpu3",
                  "XID 79 GPU has fallen off the bus", since=T)  # fmt: skip
    ptp = Finding(Domain.PTP, FindingSeverity.CRITICAL, "gpu-1/ens1f0 (ptp4l)",
                  "clock in FREERUN (clock class 248)",
                  since=T + timedelta(minutes=12))  # fmt: skip
    incidents, _ = group([], finding_signals(_truth(T, [xid]), T), T)
    at = T + timedelta(minutes=15)
    incidents, _ = group(incidents, finding_signals(_truth(at, [xid, ptp]), at), at)
    (incident,) = incidents
    ts = _stamps(T - timedelta(hours=1), at)
    ms = (ts * 1000).astype(np.int64)
    rng = np.random.default_rng(1)
    offset = np.where(ts >= (T + timedelta(minutes=12)).timestamp(), 5e5, 20.0)
    offset += rng.normal(0, 5, ts.size)
    _put(store, [SeriesBatch("east", "ptp_offset", {"node": "gpu-1", "iface": "ens1f0"}, ms,
                             offset)])  # fmt: skip
    rca = RcaService(store, load_catalog(), clock=lambda: at)
    result = await rca.for_incident(incident, at=at)
    assert result.window.detect_s == T.timestamp()  # still anchored on the first critical
    assert result.window.end_s == at.timestamp()
    causes = {c.entity: c for c in result.causes}
    assert [c.entity for c in result.causes[:2]] == ["east gpu-1/gpu3", "east gpu-1/ens1f0"]
    port = [e for e in causes["east gpu-1/ens1f0"].evidence]
    offset_seen = next(e for e in port if e.signal.startswith("ptp_offset"))
    assert (
        offset_seen.z > 1000
        and offset_seen.first_deviation_s == (T + timedelta(minutes=12)).timestamp()
    )
    assert any(e.signal.startswith("PTP: clock in FREERUN") for e in port)
    assert result.shown().window.endswith("read up to 2026-03-01 12:15:00 UTC")
    assert result.as_json()["window"]["end"] == "2026-03-01T12:15:00+00:00"  # type: ignore[index]
    # at 12:13: up to 12:13, the analysis time (nothing later is read)
    early = T + timedelta(minutes=13)
    result = await rca.for_incident(incident, at=early)
    assert result.window.end_s == early.timestamp()
    assert result.shown().window.endswith("read up to 2026-03-01 12:13:00 UTC")
    # the XID alone, analysed at 12:15: its 5 minutes, and the text says 12:05, not 12:15
    (alone,), _ = group([], finding_signals(_truth(T, [xid]), T), T)
    result = await rca.for_incident(alone, at=at)
    assert result.window.end_s == (T + timedelta(minutes=5)).timestamp()
    assert result.shown().window == (
        "30 min before to 5 min after 2026-03-01 12:00:00 UTC, read up to 2026-03-01 12:05:00 UTC"
    )


@pytest.mark.asyncio
async def test_a_lesser_signal_after_the_window_is_said_not_dropped(store: SeriesStore) -> None:
    """A critical XID at 12:00 and, 40 min on, a warning of the same GPU (one incident as it
    is still open): the warning is past the window (its 5 min after the XID) and is not ranked,
    and the text says so rather than leave it out unsaid."""
    xid = IncidentSignal(key="GPU|east|gpu-1/gpu3|XID", source="GPU", cluster="east",
                         subject="gpu-1/gpu3", severity=FindingSeverity.CRITICAL,
                         reason="XID 79 GPU has fallen off the bus", first_seen=T,
                         last_seen=T + timedelta(minutes=45), topology=place_of("gpu-1/gpu3"),
                         entity="east gpu-1/gpu3")  # fmt: skip
    hot = xid.model_copy(update={"key": "GPU|east|gpu-1/gpu3|temperature",
                                 "severity": FindingSeverity.WARNING,
                                 "reason": "temperature 86 C (warning >= 85 C)",
                                 "first_seen": T + timedelta(minutes=40)})  # fmt: skip
    at = T + timedelta(minutes=45)
    # ...and a finding first read now (no onset of its own: dated when read) of the GPU whose
    # XID ran on: it repeats what was ranked, no news to list
    read_now = xid.model_copy(update={"key": "GPU|east|gpu-1/gpu3|throttled",
                                      "severity": FindingSeverity.WARNING,
                                      "reason": "throttled (thermal)", "first_seen": at,
                                      "grouped_at": at})  # fmt: skip
    incidents, _ = group([], [xid, hot, read_now], at)
    (incident,) = incidents
    assert len(incident.signals) == 3
    result = await RcaService(store, load_catalog(), clock=lambda: at).for_incident(incident, at=at)
    assert result.window.end_s == (T + timedelta(minutes=5)).timestamp()
    assert result.after_window == [
        "east gpu-1/gpu3: GPU: temperature 86 C (warning >= 85 C) (from 2026-03-01 12:40:00 UTC)"
    ]
    assert result.after_window_count == 1
    shown = result.shown().window
    said = "1 signal first seen after the window, not ranked: east gpu-1/gpu3: GPU: temperature"
    assert said in shown
    assert "12:40:00" in shown
    assert result.as_json()["after_window"] == result.after_window
    assert result.as_json()["after_window_count"] == 1
