"""A small site written through the app's own store API, for the capture and report tests:
clusters east and west and a fleet hub (members ran-a, ran-b), 4 days of node CPU and memory at
one sample a minute (east's CPU rising 0.5 % an hour, with a spike half an hour before the end),
health checks every 30 minutes with east DEGRADED (Prometheus down) for the 3rd hour before
the end, and east's anomalies found by the app's own detection."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import numpy as np

from aiops_desktop.models import AlertSeverity, ClusterKind, EndpointKind, utcnow
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.services.core import Core
from aiops_desktop.store.series import SeriesBatch

TOKEN = "tok-3f9a1c7e-never-in-a-capture"
STEP_S, HOURS = 60, 96
SPIKE_VALUE = 160.0


def cpu(cluster: str, ts: np.ndarray) -> np.ndarray:
    hours = (ts - ts[0]) / 3600.0
    base = 30.0 + 0.5 * hours if cluster == "east" else 20.0 + (len(cluster) % 3)
    values = base + np.sin(np.arange(ts.size) / 10.0)
    if cluster == "east":
        values[-30] = SPIKE_VALUE
    return values


async def _wait(future: Any) -> None:
    await asyncio.wrap_future(future)


async def build_site(core: Core) -> None:
    prom = {EndpointKind.PROMETHEUS: "http://127.0.0.1:9"}
    await core.registry.add(ClusterSpec(name="east", endpoint_urls=prom),
                            ClusterSecrets(token=TOKEN))  # fmt: skip
    await core.registry.add(ClusterSpec(name="west", endpoint_urls=prom))
    await core.registry.add(ClusterSpec(name="hub", kind=ClusterKind.FLEET, endpoint_urls=prom))
    end = int(utcnow().timestamp()) // STEP_S * STEP_S
    ts = np.arange(end - HOURS * 3600, end, STEP_S)
    batches = []
    for cluster in ("east", "west", "ran-a", "ran-b"):
        labels = {"instance": f"{cluster}-node-0"}
        batches.append(SeriesBatch(cluster, "node_cpu", labels, ts * 1000, cpu(cluster, ts)))
        memory = 55.0 + np.cos(np.arange(ts.size) / 50.0)
        batches.append(SeriesBatch(cluster, "node_memory", labels, ts * 1000, memory))
    await _wait(core.series.append(batches))
    await _wait(core.series.flush())
    now = utcnow()
    for minutes in range(12 * 60, -1, -30):
        at = now - timedelta(minutes=minutes)
        for name in ("east", "west", "hub"):
            down = name == "east" and 120 <= minutes < 180
            await core.registry.apply_check(
                name, {EndpointKind.PROMETHEUS: not down},
                "east/prometheus unreachable: connection refused" if down else None, at=at,
            )  # fmt: skip
    await core.anomalies.analyse_history("east", "node_cpu", since=timedelta(hours=24))
    # east's Prometheus-down alert fired with the outage and was resolved when it ended
    down = Alert(fingerprint="a1b2c3", cluster="east", name="PrometheusDown",
                 severity=AlertSeverity.CRITICAL, starts_at=now - timedelta(minutes=179),
                 annotations={"summary": "east's Prometheus is not answering"})  # fmt: skip
    await _wait(core.alert_events.record("east", [down], now - timedelta(minutes=150)))
    await _wait(core.alert_events.record("east", [], now - timedelta(minutes=120)))
