"""Keeps the cache bounded: health history past store.health_retention, raw samples into
rollups, old rollups; anomalies, and incidents resolved, past store.rollup_retention; chat
sessions past the newest the chat list shows and not updated for CHAT_KEPT (store/chats.py:
past it, only ``chat --session ID`` opens one).

Runs under the task supervisor while the app is open: once at start, then every interval. A
pass that fails (the CLI holding the cache's write lock, a full disk) is logged and tried
again, sooner at first (RETRY_S, doubling up to the interval): the loop never ends on an
error, for the supervisor restarts nothing and the app runs for weeks. Each step of a pass
runs whatever the others did (a locked table or a damaged row stops its own step only); a pass
with a step failed raises once all have run, naming each failure.

Each table's retention (the samples' too) is measured from its newest row, not the clock
where the clock is past it, as Prometheus measures from its newest block: one pass with the
clock days ahead (a dead CMOS battery, NTP broken) deleted history that nothing brought back
once the clock was set right. And never from past the newest sample: the app goes on writing
health checks, alert events and incidents at its own clock, so a table's newest row is ahead
with it by the next pass, while a sample's time is its endpoint's (the query grid: nothing
is answered for times the endpoint has not reached). The cost: a cache nothing is written to
keeps its last rows; one with no samples is kept safe for one pass only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiops_desktop.models import utcnow
from aiops_desktop.models.errors import AppError
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.store.alert_events import AlertEventRepository
from aiops_desktop.store.anomalies import AnomalyRepository
from aiops_desktop.store.chats import CHAT_KEPT, ChatRepository
from aiops_desktop.store.database import Database
from aiops_desktop.store.incidents import IncidentRepository
from aiops_desktop.store.series import SeriesStore

log = logging.getLogger("aiops.services.maintenance")
DEFAULT_INTERVAL_S = 3600.0
RETRY_S = 60.0  # a failed pass is tried again this soon, then twice as late, up to the interval
# the clock this far past the newest sample or health check (both written every poll): a warning
CLOCK_AHEAD_WARN = timedelta(days=1)
# the newest row of each table that reads as a time, as ISO 8601 or unix seconds (none: the
# table is empty). Not MAX(): a damaged row sorts first ('r026-…' above every year; text above
# every number, a REAL column keeping what it cannot convert as TEXT; a REAL past year 9999)
# and, read back, failed its step on every pass, for good: retention stopped. Each scans from
# the newest down (by its index where it has one) and skips such a row, which stays.
_NEWEST_HEALTH = (  # ISO 8601 UTC: ordered as text; julianday() is NULL for text that is no time
    "SELECT checked_at FROM health_history WHERE julianday(checked_at) IS NOT NULL "
    "ORDER BY checked_at DESC LIMIT 1"
)
_NEWEST_ALERT = "SELECT (MAX(julianday(last_seen)) - 2440587.5) * 86400.0 FROM alert_events"
_NEWEST_ANOMALY = (
    "SELECT at FROM anomalies WHERE typeof(at) IN ('real', 'integer') "
    "AND at < 253402300800 ORDER BY at DESC LIMIT 1"  # unix s of year 10000: no datetime
)
_NEWEST_INCIDENT = (
    "SELECT updated_at FROM incidents WHERE typeof(updated_at) IN ('real', 'integer') "
    "AND updated_at < 253402300800 ORDER BY updated_at DESC LIMIT 1"
)
_NEWEST_CHAT = (
    "SELECT updated_at FROM chat_sessions WHERE typeof(updated_at) IN ('real', 'integer') "
    "AND updated_at < 253402300800 ORDER BY updated_at DESC LIMIT 1"
)


@dataclass
class MaintenanceReport:
    at: datetime
    health_pruned: int
    retention: dict[str, int]
    orphans_deleted: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # step: its error


class MaintenanceError(Exception):
    """Some steps of a pass failed (the others ran: ``report``)."""

    def __init__(self, report: MaintenanceReport) -> None:
        super().__init__("; ".join(f"{step}: {error}" for step, error in report.failed.items()))
        self.report = report


async def maintain_once(
    registry: ClusterRegistry,
    series: SeriesStore,
    alert_events: AlertEventRepository | None = None,
    *,
    anomalies: AnomalyRepository | None = None,
    incidents: IncidentRepository | None = None,
    chats: ChatRepository | None = None,
) -> MaintenanceReport:
    """One pass; MaintenanceError (after all steps ran) when a step failed."""
    now = utcnow()
    kept = series.settings.health_retention  # the store's settings, as the app started
    retention: dict[str, int] = {}
    report = MaintenanceReport(now, 0, retention)

    async def step(name: str, run: Callable[[], Awaitable[int]]) -> int:
        try:
            return await run()
        except Exception as exc:  # the next steps still run; the pass fails at the end
            report.failed[name] = f"{type(exc).__name__}: {exc}"
            return 0

    try:  # the endpoints' time, as far as the samples say it (None: no sample)
        newest_ms = await asyncio.to_thread(series.newest_ms)
    except Exception as exc:  # each step then reads its own table's newest row
        log.warning("the newest sample could not be read", extra={"error": str(exc)})
        newest_ms = None
    sampled = now if newest_ms is None else min(now, _from_unix(newest_ms / 1000))

    async def health() -> int:
        newest = await _measured_from(series.db, _NEWEST_HEALTH, now)
        _warn_if_far_past(now, newest, "health check")  # its own: not the samples' age
        return await registry.prune_history(min(newest, sampled), kept)

    async def samples() -> int:
        _warn_if_far_past(now, sampled, "sample")
        done: dict[str, int] = await asyncio.wrap_future(series.apply_retention(sampled))
        retention.update(done)
        return 0

    report.health_pruned = await step("health", health)
    await step("retention", samples)
    if alert_events is not None:  # kept as long as the health history
        events = alert_events

        async def alerts() -> int:
            since = await _measured_from(series.db, _NEWEST_ALERT, sampled)
            return await asyncio.wrap_future(events.prune(since - kept))

        retention["alert_events"] = await step("alert_events", alerts)
    # anomalies and resolved incidents kept as long as the rollups they were found in; an
    # incident not resolved stays, however old (an anomaly left open goes once its last
    # point is: nothing judges it again after that)
    rollups_kept = series.settings.rollup_retention
    if anomalies is not None:
        found = anomalies

        async def purge_anomalies() -> int:
            since = await _measured_from(series.db, _NEWEST_ANOMALY, sampled)
            return await asyncio.wrap_future(found.purge_before((since - rollups_kept).timestamp()))

        retention["anomalies"] = await step("anomalies", purge_anomalies)
    if incidents is not None:
        grouped = incidents

        async def prune_incidents() -> int:
            since = await _measured_from(series.db, _NEWEST_INCIDENT, sampled)
            cut = (since - rollups_kept).timestamp()
            return await asyncio.wrap_future(grouped.prune_resolved(cut))

        retention["incidents"] = await step("incidents", prune_incidents)
    if chats is not None:  # past the list and not updated for CHAT_KEPT
        sessions = chats

        async def prune_chats() -> int:
            since = await _measured_from(series.db, _NEWEST_CHAT, sampled)
            return await asyncio.wrap_future(sessions.prune((since - CHAT_KEPT).timestamp()))

        retention["chat_sessions"] = await step("chat_sessions", prune_chats)

    report.orphans_deleted = await step("keyring", lambda: _sweep_keyring(registry))
    if report.failed:
        raise MaintenanceError(report)
    log.info("cache maintenance", extra={"health_pruned": report.health_pruned, **retention})
    return report


async def _sweep_keyring(registry: ClusterRegistry) -> int:
    """The keyring entries no cluster names, deleted; a keyring locked or gone: next time."""
    try:
        return await registry.sweep_orphans()
    except AppError as exc:
        log.warning("keyring sweep skipped", extra={"error": str(exc)})
        return 0


async def _measured_from(db: Database, newest_sql: str, now: datetime) -> datetime:
    """The time a table's retention is measured from: its newest row that reads as a time
    (``newest_sql``, as text or unix seconds), or ``now`` (the clock, or the newest sample
    where that is earlier) when that is earlier, the table is empty, or what it gives does
    not read as a time after all (a row damaged otherwise than SQL can tell)."""
    row = await asyncio.to_thread(db.fetch_one, newest_sql)
    newest = _as_time(row[0] if row is not None else None)
    return now if newest is None else min(now, newest)


def _as_time(value: object) -> datetime | None:
    """An ISO 8601 time with its offset, or unix seconds, as a datetime; None for anything
    else (none; a damaged row: text that is no time, a time without its offset)."""
    try:
        if isinstance(value, str):
            at = datetime.fromisoformat(value)
            return at if at.tzinfo is not None else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return _from_unix(value)
    except (ValueError, OverflowError, OSError):
        pass
    return None


def _from_unix(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _warn_if_far_past(now: datetime, since: datetime, what: str) -> None:
    """A warning when the clock is far past the newest ``what`` (written every poll): the
    clock is ahead, or nothing was written for a while (the app closed, or no cluster
    answering)."""
    if now - since > CLOCK_AHEAD_WARN:
        log.warning(
            f"the clock is far past the newest {what} stored: retention measured from it "
            "(is the clock ahead?)",
            extra={"newest": since.isoformat(), "now": now.isoformat()},
        )


async def maintenance_loop(
    registry: ClusterRegistry,
    series: SeriesStore,
    alert_events: AlertEventRepository | None = None,
    interval_s: float = DEFAULT_INTERVAL_S,
    *,
    anomalies: AnomalyRepository | None = None,
    incidents: IncidentRepository | None = None,
    chats: ChatRepository | None = None,
) -> None:
    failures = 0
    while True:
        try:
            await maintain_once(
                registry, series, alert_events, anomalies=anomalies, incidents=incidents,
                chats=chats,
            )  # fmt: skip
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
