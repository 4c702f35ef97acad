"""An incident with thousands of live signals (a bad DaemonSet rollout on a 1,200-node cluster:
each pod's KubePodNotReady joins its workload's incident) is kept whole in the cache (the store
lets go only of long-ended signals); its export must still open: the capture lets go of signals
until the incident's record fits what an open accepts, and says how many went."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from aiops_desktop.models.enums import EndpointKind
from aiops_desktop.models.fleet import FindingSeverity
from aiops_desktop.models.incidents import FIRST_KEPT, Incident, IncidentSignal
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import export_capture, open_capture
from aiops_desktop.store.capture_load import MAX_DOCUMENT_BYTES
from aiops_desktop.store.series import SeriesBatch

PODS = 1200


@pytest.mark.asyncio
async def test_an_incident_too_big_to_open_is_exported_with_signals_let_go(
    core: Core, tmp_path: Path
) -> None:
    await core.registry.add(
        ClusterSpec(name="east", endpoint_urls={EndpointKind.PROMETHEUS: "http://127.0.0.1:9"})
    )
    now = core.now()
    ts = np.arange(int(now.timestamp()) - 3600, int(now.timestamp()), 30)
    await asyncio.wrap_future(core.series.append(
        [SeriesBatch("east", "node_cpu", {"instance": "w1"}, ts * 1000, np.ones(ts.size))]
    ))  # fmt: skip
    await asyncio.wrap_future(core.series.flush())

    def not_ready(n: int, severity: FindingSeverity) -> IncidentSignal:
        pod = f"sriov-network-config-daemon-{n:05d}"
        return IncidentSignal(
            key=f"alert|east|fp{n}", source="alert", cluster="east", subject="KubePodNotReady",
            severity=severity, alert_name="KubePodNotReady",
            reason=f"Pod openshift-sriov-network-operator/{pod} has been in a non-ready state "
            "for longer than 15 minutes on cluster east. " + "Check its events. " * 40,
            first_seen=now - timedelta(minutes=20), last_seen=now - timedelta(seconds=PODS - n),
        )  # fmt: skip

    signals = [not_ready(n, FindingSeverity.WARNING) for n in range(PODS)]
    signals[600] = not_ready(600, FindingSeverity.CRITICAL)  # the worst, in the middle
    incident = Incident(
        id="INC-1", title="KubePodNotReady on east", severity=FindingSeverity.CRITICAL,
        opened_at=now - timedelta(minutes=20), updated_at=now, signals=signals,
    )  # fmt: skip
    assert len(incident.model_dump_json()) > MAX_DOCUMENT_BYTES
    await asyncio.wrap_future(core.incidents.repo.save([incident]))

    out = tmp_path / "site.aiops"
    await export_capture(core, out, clusters=["east"], since=timedelta(hours=1))
    opened = await asyncio.to_thread(open_capture, out)
    try:
        (kept,) = opened.incidents.repo.list()
    finally:
        await opened.shutdown()
    assert kept.signal_count == PODS and kept.signals_dropped > 0  # said how many went
    keys = {s.key for s in kept.signals}
    first = {f"alert|east|fp{n}" for n in range(FIRST_KEPT)}
    newest = {f"alert|east|fp{n}" for n in range(PODS - 100, PODS)}
    assert first | newest | {"alert|east|fp600"} <= keys  # the first, the newest, the worst
    gone = {f"alert|east|fp{n}" for n in range(FIRST_KEPT, FIRST_KEPT + kept.signals_dropped)} - {
        "alert|east|fp600"
    }
    assert not gone & keys  # the oldest went
