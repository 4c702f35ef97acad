"""Incidents, kept: the fleet's findings, the alerts firing and the last hour's anomalies are
grouped (analysis/incidents.py) into incidents after every refresh of the fleet's truth, kept
in the store, and published (``INCIDENTS_CHANGED``); the user acknowledges them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiops_desktop.models import utcnow
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.anomalies import Anomaly, AnomalyFilter
from aiops_desktop.models.enums import AlertSeverity, AnomalySeverity
from aiops_desktop.models.errors import AppError
from aiops_desktop.models.fleet import SEVERITY_RANK, Domain, FindingSeverity, FleetTruth
from aiops_desktop.models.incidents import Incident, IncidentSignal, IncidentState
from aiops_desktop.services.fleet.state import FLEET_CHANGED
from analysis.incidents import acknowledge, entity_of, group, place_of

if TYPE_CHECKING:
    from aiops_desktop.services.fleet.state import FleetState
    from aiops_desktop.services.intelligence.anomalies import AnomalyService
    from aiops_desktop.services.polling.poller import Poller
    from aiops_desktop.services.runtime.bus import EventBus
    from aiops_desktop.services.runtime.supervisor import TaskSupervisor
    from aiops_desktop.store.incidents import IncidentRepository

log = logging.getLogger("aiops.services.incidents")

INCIDENTS_CHANGED = "incidents.changed"  # payload: list[Incident] (all not resolved, newest first)
ANOMALIES_WITHIN = timedelta(hours=1)
KEEP_RESOLVED = timedelta(days=7)  # resolved incidents listed this long
_ALERT = {AlertSeverity.CRITICAL: FindingSeverity.CRITICAL,
          AlertSeverity.WARNING: FindingSeverity.WARNING,
          AlertSeverity.INFO: FindingSeverity.INFO}  # fmt: skip
_ANOMALY = {AnomalySeverity.CRITICAL: FindingSeverity.CRITICAL,
            AnomalySeverity.HIGH: FindingSeverity.WARNING}  # fmt: skip


def finding_signals(truth: FleetTruth, now: datetime) -> list[IncidentSignal]:
    """GPU, PTP, SR-IOV and Kubernetes findings of every cluster (alerts and anomalies are
    taken from their own sources, with their labels)."""
    out = []
    for t in truth.clusters:
        for f in t.findings:
            if f.domain in (Domain.ALERTS, Domain.ANOMALIES):
                continue
            since = f.since or now
            out.append(IncidentSignal(
                key=f"{f.domain.value}|{t.name}|{f.subject}|{f.reason.split(':')[0]}",
                source=f.domain.value, cluster=t.name, subject=f.subject, severity=f.severity,
                reason=f.reason, first_seen=min(since, now), last_seen=now,
                topology=place_of(f.subject), entity=_finding_entity(t.name, f.subject),
            ))  # fmt: skip
    return out


def _finding_entity(cluster: str, subject: str) -> str:
    """A finding's subject as RCA names it: "gpu-1/gpu3", "du-2/ens1f0 (ptp4l)", "node du-1",
    "pod ran-du/du-l1-0" -> "<cluster> <subject without the process>"."""
    return f"{cluster} {subject.split(' (', 1)[0]}"


def alert_signals(alerts: Mapping[str, list[Alert]], now: datetime) -> list[IncidentSignal]:
    out = []
    for cluster, firing in alerts.items():
        for a in firing:
            out.append(IncidentSignal(
                key=f"alert|{cluster}|{a.fingerprint}", source="alert", cluster=cluster,
                subject=a.name, severity=_ALERT[a.severity],
                reason=a.annotations.get("summary") or a.annotations.get("description")
                or "firing",
                first_seen=min(a.starts_at, now), last_seen=now,
                topology=place_of("", a.labels), alert_name=a.name,
                entity=entity_of(cluster, a.labels),
            ))  # fmt: skip
    return out


def anomaly_signals(anomalies: list[Anomaly], now: datetime) -> list[IncidentSignal]:
    """Anomalies still open, or ended within the hour (last seen at their worst point)."""
    out = []
    for a in anomalies:
        seen = now if a.open else a.timestamp
        place = place_of("", a.labels) or [f"metric:{a.metric}"]
        out.append(IncidentSignal(
            key=f"anomaly|{a.identity}", source="anomaly", cluster=a.cluster, subject=a.metric,
            severity=_ANOMALY.get(a.severity, FindingSeverity.INFO), reason=a.explanation,
            first_seen=a.started_at or a.timestamp, last_seen=seen, topology=place,
            entity=entity_of(a.cluster, a.labels),
        ))  # fmt: skip
    return out


class IncidentService:
    def __init__(
        self,
        repo: IncidentRepository,
        fleet: FleetState,
        anomalies: AnomalyService,
        poller: Poller,
        bus: EventBus,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.repo = repo
        self._fleet = fleet
        self._anomalies = anomalies
        self._poller = poller
        self._bus = bus
        self._clock = clock
        self._lock = asyncio.Lock()

    async def signals(self) -> list[IncidentSignal]:
        now = self._clock()
        truth = self._fleet.last or self._fleet.snapshot()
        since = (now - ANOMALIES_WITHIN).timestamp()
        recent = await self._anomalies.stored(AnomalyFilter(since=since, limit=5000))
        return [*finding_signals(truth, now), *alert_signals(self._poller.alerts, now),
                *anomaly_signals(recent, now)]  # fmt: skip

    async def refresh(self) -> list[Incident]:
        """Group what is seen now into the incidents not resolved; keep and publish them."""
        async with self._lock:
            now = self._clock()
            signals = await self.signals()
            active = await asyncio.to_thread(
                self.repo.list, states=(IncidentState.OPEN, IncidentState.ACKNOWLEDGED)
            )
            grouped, changed = group(active, signals, now)
            if changed:
                await asyncio.wrap_future(self.repo.save([i for i in grouped if i.id in changed]))
            shown = await self.listed()
            self._bus.publish(INCIDENTS_CHANGED, shown)
            return grouped

    async def listed(self) -> list[Incident]:
        """Open, then acknowledged, then those resolved in the last week; in each, the most
        severe first, then the newest."""
        since = (self._clock() - KEEP_RESOLVED).timestamp()
        every = await asyncio.to_thread(self.repo.list, since=since)
        order = {IncidentState.OPEN: 0, IncidentState.ACKNOWLEDGED: 1, IncidentState.RESOLVED: 2}
        return sorted(every, key=lambda i: (order[i.state], SEVERITY_RANK[i.severity],
                                            -i.opened_at.timestamp()))  # fmt: skip

    async def get(self, incident_id: str) -> Incident | None:
        return await asyncio.to_thread(self.repo.get, incident_id)

    async def acknowledge(self, incident_id: str) -> Incident | None:
        async with self._lock:
            found = await self.get(incident_id)
            if found is None:
                return None
            done = acknowledge(found, self._clock())
            await asyncio.wrap_future(self.repo.save([done]))
        self._bus.publish(INCIDENTS_CHANGED, await self.listed())
        return done

    def follow(self, supervisor: TaskSupervisor) -> Callable[[], None]:
        """Regroup after every refresh of the fleet's truth (the window and the wall);
        returns the function that stops it."""

        def regroup(_truth: object) -> None:
            with contextlib.suppress(RuntimeError):  # shutting down: nothing more to group
                supervisor.spawn(self._guarded(), name="incidents")

        return self._bus.subscribe(FLEET_CHANGED, regroup)

    async def _guarded(self) -> None:
        try:
            await self.refresh()
        except AppError as exc:  # the store closed under it, a capture's oddity: said
            log.warning("incidents could not be grouped: %s", exc)
