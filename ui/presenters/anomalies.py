"""The anomaly list: what the detectors stored, filtered by cluster, severity and type, read
again every few seconds and whenever new anomalies are found."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from aiops_desktop.models.anomalies import AnomalyFilter
from aiops_desktop.models.enums import AnomalySeverity, AnomalyType, FindingSeverity
from aiops_desktop.services.fleet.state import FleetState
from aiops_desktop.services.intelligence.anomalies import ANOMALIES_FOUND, AnomalyService
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.presenters.base import Presenter

ROWS_SHOWN = 500  # the newest; as many of the most severe (CRITICAL, HIGH) beside them


class AnomaliesPresenter(Presenter):
    """Signals: sig_rows(list[Anomaly], dict[AnomalySeverity, int]) every few seconds and
    when new ones are found, filtered by cluster, severity and type: the newest and the most
    severe, newest first, and how many the store holds of each severity for the filter; then
    sig_error(str): what live detection does not judge of those clusters
    (``AnomalyService.shortfalls``; "" when nothing), else "No anomaly found" stood for series
    nobody looked at; or why a read failed."""

    sig_rows = Signal(list, object)

    def __init__(
        self,
        *,
        anomalies: AnomalyService,
        fleet: FleetState,
        bus: EventBus,
        tasks: TaskSupervisor,
        interval_ms: int = 5000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(tasks, interval_ms, parent)
        self._anomalies = anomalies
        self._fleet = fleet
        self.filter = AnomalyFilter(limit=ROWS_SHOWN)
        self.listen(bus, ANOMALIES_FOUND, lambda _found: self.refresh())

    def set_filter(
        self, cluster: str | None, severity: FindingSeverity | None, kind: AnomalyType | None
    ) -> None:
        self.filter = AnomalyFilter(
            clusters=self._with_members(cluster) if cluster else (),
            severities=tuple(s for s in AnomalySeverity if s.level is severity),
            types=(kind,) if kind else (),
            limit=ROWS_SHOWN,
        )
        self.refresh()

    def _truth(self) -> list[tuple[str, str | None]]:
        truth = self._fleet.last or self._fleet.snapshot()
        return [(t.name, t.hub) for t in truth.clusters]

    def _with_members(self, cluster: str) -> tuple[str, ...]:
        """A fleet hub's anomalies are its members' (they are stored under their names)."""
        return (cluster, *(name for name, hub in self._truth() if hub == cluster))

    def clusters(self) -> list[str]:
        """Every cluster the fleet's one truth knows: registered ones and hubs' members."""
        return sorted(name for name, _ in self._truth())

    async def read(self) -> None:
        """The newest rows and the filter's most severe beside them, with the store's counts
        for the filter (``AnomalyService.listed``: one read off the loop)."""
        rows, counts = await self._anomalies.listed(self.filter)
        if not self.superseded:  # the filter changed meanwhile: the next read has the rows
            self.sig_rows.emit(rows, counts)
            self.sig_error.emit(" · ".join(self._anomalies.shortfalls(self.filter.clusters)))
