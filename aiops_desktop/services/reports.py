"""Reports from what the app holds: the chosen clusters' health checks, anomalies and stored
series over the period (the cache, or an opened capture), the alerts firing now and, for a
shift handover on a live site, the GPU and PTP state read at once. The report itself is built
Qt-free (``analysis.reports``); the UI layer draws its PDF."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from pathlib import Path

from aiops_desktop.models import Cluster, ClusterKind, EndpointKind, utcnow
from aiops_desktop.services.core import Core
from aiops_desktop.services.gpu import read_gpu_fleet
from aiops_desktop.services.ptp import read_ptp_board
from aiops_desktop.store import AnomalyFilter
from analysis.gpu_health import GpuState
from analysis.reports.build import (
    CAPACITY_PANELS,
    ClusterFacts,
    PanelData,
    ReportInputs,
    build_report,
)
from analysis.reports.model import Report, ReportType

LIVE_READ_TIMEOUT_S = 20.0
KEEP_DAYS = 90
#: report file name: <type>-<UTC time>.<format>
FORMATS = ("pdf", "html", "md", "json")


def members(core: Core, cluster: Cluster) -> list[str]:
    """The names a cluster's data is stored under: its own, or a fleet hub's member clusters."""
    if cluster.kind is not ClusterKind.FLEET:
        return [cluster.name]
    registered = {c.name for c in core.registry.clusters()}
    return [n for n in core.series.cluster_names() if n not in registered] or [cluster.name]


def _panels(core: Core, name: str, start_ms: int, end_ms: int) -> dict[str, PanelData]:
    step = core.settings.store.rollup_step.total_seconds()
    raw_kept = core.settings.store.raw_retention.total_seconds() * 1000
    resolution = int(step) if end_ms - start_ms > raw_kept else 0
    out = {}
    for panel in core.catalog:
        if panel.id not in CAPACITY_PANELS:
            continue
        stored = core.series.read(
            panel.id, cluster=name, start_ms=start_ms, end_ms=end_ms, resolution_s=resolution
        )
        out[panel.id] = PanelData(
            panel.title, panel.unit,
            {panel.legend_for(s.labels): (s.timestamps_ms / 1000.0, s.values) for s in stored},
        )  # fmt: skip
    return out


async def _live_fleet_state(
    core: Core, clusters: list[Cluster]
) -> tuple[dict[str, list[tuple[str, str, str]]], dict[str, list[tuple[str, str, str, str]]]]:
    """GPUs not OK and PTP ports needing attention, per (member) cluster; {} where unread."""
    with_metrics = [c for c in clusters if c.endpoint(EndpointKind.PROMETHEUS)]
    gpus: dict[str, list[tuple[str, str, str]]] = {}
    ports: dict[str, list[tuple[str, str, str, str]]] = {}
    if core.capture is not None or not with_metrics:
        return gpus, ports
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(LIVE_READ_TIMEOUT_S):
            fleet = await read_gpu_fleet(core.queries, with_metrics)
            for h in fleet.gpus:
                gpus.setdefault(h.reading.cluster, [])
                if h.state is not GpuState.OK:
                    gpus[h.reading.cluster].append(
                        (h.reading.key, h.state.value, "; ".join(h.reasons))
                    )
            board = await read_ptp_board(core.queries, with_metrics)
            for r in board.rows:
                ports.setdefault(r.cluster, [])
                if r.rank < 5:
                    c = r.compliance
                    ports[r.cluster].append((
                        f"{r.node}/{r.iface}", r.state.value,
                        "-" if c is None or c.locked_pct is None else f"{c.locked_pct:.1f}%",
                        "-" if c is None or c.within_pct is None else f"{c.within_pct:.1f}%",
                    ))  # fmt: skip
    return gpus, ports


async def gather(
    core: Core, kind: ReportType, names: list[str] | None, since: timedelta
) -> ReportInputs:
    """Everything a report of ``kind`` over the last ``since`` needs (off the UI thread)."""
    chosen = [core.registry.get(n) for n in names] if names else core.registry.clusters()
    until = core.now()
    start = until - since
    start_ms, end_ms = int(start.timestamp() * 1000), int(until.timestamp() * 1000)
    gpus, ports = await _live_fleet_state(core, chosen) if kind is ReportType.HANDOVER else ({}, {})
    facts: list[ClusterFacts] = []
    for cluster in chosen:
        history = await core.registry.health_history(cluster.name, since=start)
        health = [(h.checked_at, h.state.value, h.health_score, h.error or "") for h in history]
        for name in members(core, cluster):
            own = name == cluster.name
            anomalies = await asyncio.to_thread(
                core.anomalies.repo.list,
                AnomalyFilter(clusters=(name,), since=start.timestamp(), until=until.timestamp()),
            )
            panels = await asyncio.to_thread(_panels, core, name, start_ms, end_ms)
            alerts = [
                (a.severity.value, a.name, a.annotations.get("summary", ""))
                for a in core.poller.alerts.get(name, [])
            ]
            fired = [
                (e.starts_at, e.resolved_at, e.severity, e.name, e.summary)
                for e in await asyncio.to_thread(core.alert_events.between, [name], start, until)
            ]
            facts.append(ClusterFacts(
                name=name,
                state=cluster.status.state.value if own else f"via {cluster.name}",
                score=cluster.status.health_score if own else None,
                kind=cluster.kind.value, health=health if own else [],
                anomalies=anomalies, panels=panels, alerts=alerts, alert_history=fired,
                gpu=gpus.get(name), ptp=ports.get(name),
            ))  # fmt: skip
    source = "live cache" if core.capture is None else core.capture.describe()
    return ReportInputs(kind, start, until, utcnow(), facts, source)


async def make_report(
    core: Core, kind: ReportType, names: list[str] | None, since: timedelta
) -> Report:
    inputs = await gather(core, kind, names, since)
    return await asyncio.to_thread(build_report, inputs)


def report_path(folder: Path, report: Report, fmt: str) -> Path:
    return folder / f"{report.type.value}-{report.generated_at:%Y%m%dT%H%M%SZ}.{fmt}"


def list_reports(folder: Path) -> list[Path]:
    """Reports kept in the app's folder, newest first."""
    found = [p for p in folder.glob("*-*.*") if p.suffix.lstrip(".") in FORMATS]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def prune_reports(folder: Path, now: datetime, keep_days: int = KEEP_DAYS) -> list[Path]:
    """Delete reports older than ``keep_days``; the deleted paths."""
    cutoff = (now - timedelta(days=keep_days)).timestamp()
    gone = [p for p in list_reports(folder) if p.stat().st_mtime < cutoff]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone
