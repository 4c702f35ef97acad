"""Reports from what the app holds: the chosen clusters' health checks, anomalies and stored
series over the period (the cache, or an opened capture), the alerts firing now and, for a
shift handover on a live site, the GPU and PTP state read at once. The report itself is built
Qt-free (``analysis.reports``); the UI layer draws its PDF."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from pathlib import Path

from aiops_desktop.models import Cluster, EndpointKind, utcnow
from aiops_desktop.services.core import Core
from aiops_desktop.services.gpu import GpuFleet, read_gpu_fleet
from aiops_desktop.services.ptp import PtpBoard, read_ptp_board
from aiops_desktop.store import AnomalyFilter
from analysis.gpu_health import GpuState, health_changes
from analysis.ptp_compliance import pct_text
from analysis.reports.build import (
    CAPACITY_PANELS,
    ClusterFacts,
    FleetHw,
    PanelData,
    ReportInputs,
    build_report,
)
from analysis.reports.model import Report, ReportType

LIVE_READ_TIMEOUT_S = 20.0
PAST_AFTER = timedelta(minutes=1)  # a period ending earlier than this before now is past
PTP_POINTS = 4000  # samples per port over a handover's period, at most (step >= 15 s)
KEEP_DAYS = 90
#: report file name: <type>-<UTC time>.<format>
FORMATS = ("pdf", "html", "md", "json")


def members(core: Core, cluster: Cluster) -> list[str]:
    """The names a cluster's data is stored under: its own, or a fleet hub's member clusters
    (the hub's own where it has none yet)."""
    return core.registry.members(cluster, core.series.cluster_names()) or [cluster.name]


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


def _gpu_facts(facts: dict[str, FleetHw], now: GpuFleet, then: GpuFleet) -> None:
    """GPUs not OK at the end, and health changes since the start, per (member) cluster."""
    for h in now.gpus:
        f = facts.setdefault(h.reading.cluster, FleetHw())
        f.gpu = f.gpu or []
        if h.state is not GpuState.OK:
            f.gpu.append((h.reading.key, h.state.value, "; ".join(h.reasons)))
    for name, f in facts.items():
        before = [h for h in then.gpus if h.reading.cluster == name]
        if f.gpu is not None and before:
            after = [h for h in now.gpus if h.reading.cluster == name]
            f.gpu_changes = health_changes(before, after)


def _ptp_facts(facts: dict[str, FleetHw], board: PtpBoard) -> None:
    """Per (member) cluster: the ports needing attention now or short of full compliance
    over the period (locked and within the band all the time, no long holdover)."""
    for r in board.rows:
        f = facts.setdefault(r.cluster, FleetHw())
        f.ptp = f.ptp or []
        f.ptp_ports += 1
        c = r.compliance
        short = c is not None and (
            (c.locked_pct or 0.0) < 100.0 or (c.within_pct or 0.0) < 100.0 or c.long_holdovers
        )
        if r.rank < 5 or short:
            f.ptp.append((
                f"{r.node}/{r.iface}", r.state.value,
                pct_text(c.locked_pct if c else None), pct_text(c.within_pct if c else None),
                f"{c.holdover_s:.0f} s" if c else "-", f"{c.freerun_s:.0f} s" if c else "-",
            ))  # fmt: skip


async def _fleet_hw_reads(
    core: Core, clusters: list[Cluster], start: datetime, until: datetime
) -> dict[str, FleetHw]:
    """A shift handover's GPU and PTP reads from the live site, per (member) cluster: GPU
    health at the start and the end of the period, PTP compliance over it; what was read
    before the time limit ({} while a capture is open)."""
    with_metrics = [c for c in clusters if c.endpoint(EndpointKind.PROMETHEUS)]
    facts: dict[str, FleetHw] = {}
    if core.capture is not None or not with_metrics:
        return facts
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(LIVE_READ_TIMEOUT_S):
            now, then = await asyncio.gather(
                read_gpu_fleet(core.queries, with_metrics, at=until),
                read_gpu_fleet(core.queries, with_metrics, at=start),
            )
            _gpu_facts(facts, now, then)
            profiles, _ = await core.kube.ptp_thresholds()
            window = until - start
            step = timedelta(seconds=max(15, round(window.total_seconds() / PTP_POINTS)))
            board = await read_ptp_board(
                core.queries, with_metrics, window=window, step=step, thresholds=profiles,
                end=until,
            )  # fmt: skip
            _ptp_facts(facts, board)
    return facts


async def gather(
    core: Core,
    kind: ReportType,
    names: list[str] | None,
    since: timedelta,
    until: datetime | None = None,
) -> ReportInputs:
    """Everything a report of ``kind`` over ``since`` before ``until`` (now by default)
    needs (off the UI thread). A period that ended in the past takes each cluster's state
    and the alerts firing at its end from the stored history, not from what is live now."""
    chosen = [core.registry.get(n) for n in names] if names else core.registry.clusters()
    now = core.now()
    until = min(until or now, now)
    past = until < now - PAST_AFTER
    start = until - since
    start_ms, end_ms = int(start.timestamp() * 1000), int(until.timestamp() * 1000)
    hw = await _fleet_hw_reads(core, chosen, start, until) if kind is ReportType.HANDOVER else {}
    facts: list[ClusterFacts] = []
    for cluster in chosen:
        history = await core.registry.health_history(cluster.name, since=start)
        health = [(h.checked_at, h.state.value, h.health_score, h.error or "")
                  for h in history if h.checked_at <= until]  # fmt: skip
        state: str = cluster.status.state.value
        score: int | None = cluster.status.health_score
        if past:  # as the last check before the period's end found it
            state, score = (health[-1][1], health[-1][2]) if health else ("UNKNOWN", None)
        for name in members(core, cluster):
            own = name == cluster.name
            anomalies = await asyncio.to_thread(
                core.anomalies.repo.list,
                AnomalyFilter(clusters=(name,), since=start.timestamp(), until=until.timestamp()),
            )
            panels = await asyncio.to_thread(_panels, core, name, start_ms, end_ms)
            events = await asyncio.to_thread(core.alert_events.between, [name], start, until)
            fired = [(e.starts_at, e.resolved_at, e.severity, e.name, e.summary) for e in events]
            alerts = (
                [(e.severity, e.name, e.summary) for e in events
                 if e.resolved_at is None or e.resolved_at > until]
                if past
                else [(a.severity.value, a.name, a.annotations.get("summary", ""))
                      for a in core.poller.alerts.get(name, [])]
            )  # fmt: skip
            facts.append(ClusterFacts(
                name=name,
                state=state if own else f"via {cluster.name}",
                score=score if own else None,
                kind=cluster.kind.value, health=health if own else [],
                anomalies=anomalies, panels=panels, alerts=alerts, alert_history=fired,
                hw=hw.get(name, FleetHw()),
            ))  # fmt: skip
    source = "live cache" if core.capture is None else core.capture.describe()
    return ReportInputs(kind, start, until, utcnow(), facts, source)


async def make_report(
    core: Core,
    kind: ReportType,
    names: list[str] | None,
    since: timedelta,
    until: datetime | None = None,
) -> Report:
    inputs = await gather(core, kind, names, since, until)
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
