"""Keeps the cache bounded: health history past store.health_retention, raw samples into
rollups, old rollups; anomalies, and incidents resolved, past store.rollup_retention.

Runs under the task supervisor while the app is open: once at start, then every interval. A
pass that fails (the CLI holding the cache's write lock, a full disk) is logged and tried
again, sooner at first (RETRY_S, doubling up to the interval): the loop never ends on an
error, for the supervisor restarts nothing and the app runs for weeks.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from aiops_desktop.models import utcnow
from aiops_desktop.models.errors import AppError
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.store.alert_events import AlertEventRepository
from aiops_desktop.store.anomalies import AnomalyRepository
from aiops_desktop.store.incidents import IncidentRepository
from aiops_desktop.store.series import SeriesStore

log = logging.getLogger("aiops.services.maintenance")
DEFAULT_INTERVAL_S = 3600.0
RETRY_S = 60.0  # a failed pass is tried again this soon, then twice as late, up to the interval


@dataclass
class MaintenanceReport:
    at: datetime
    health_pruned: int
    retention: dict[str, int]
    orphans_deleted: int = 0


async def maintain_once(
    registry: ClusterRegistry,
    series: SeriesStore,
    alert_events: AlertEventRepository | None = None,
    *,
    anomalies: AnomalyRepository | None = None,
    incidents: IncidentRepository | None = None,
) -> MaintenanceReport:
    now = utcnow()
    kept = series.settings.health_retention  # the store's settings, as the app started
    pruned = await registry.prune_history(now, kept)
    retention = await asyncio.wrap_future(series.apply_retention(now))
    if alert_events is not None:  # kept as long as the health history
        retention["alert_events"] = await asyncio.wrap_future(alert_events.prune(now - kept))
    # anomalies and resolved incidents kept as long as the rollups they were found in; an
    # incident not resolved stays, however old
    cut = (now - series.settings.rollup_retention).timestamp()
    if anomalies is not None:
        retention["anomalies"] = await asyncio.wrap_future(anomalies.purge_before(cut))
    if incidents is not None:
        retention["incidents"] = await asyncio.wrap_future(incidents.prune_resolved(cut))
    try:
        orphans = await registry.sweep_orphans()
    except AppError as exc:  # the keyring is locked or gone: next time
        log.warning("keyring sweep skipped", extra={"error": str(exc)})
        orphans = 0
    report = MaintenanceReport(now, pruned, retention, orphans)
    log.info("cache maintenance", extra={"health_pruned": pruned, **retention})
    return report


async def maintenance_loop(
    registry: ClusterRegistry,
    series: SeriesStore,
    alert_events: AlertEventRepository | None = None,
    interval_s: float = DEFAULT_INTERVAL_S,
    *,
    anomalies: AnomalyRepository | None = None,
    incidents: IncidentRepository | None = None,
) -> None:
    failures = 0
    while True:
        try:
            await maintain_once(
                registry, series, alert_events, anomalies=anomalies, incidents=incidents
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure: logged, tried again; never ends
            failures += 1
            delay = min(interval_s, RETRY_S * 2 ** min(failures - 1, 16))
            log.warning(
                "cache maintenance failed; tried again later",
                extra={"error": f"{type(exc).__name__}: {exc}", "failures": failures,
                       "retry_in_s": delay},
            )  # fmt: skip
        else:
            failures, delay = 0, interval_s
        await asyncio.sleep(delay)
