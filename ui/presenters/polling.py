"""What the poller holds, for people: the alerts firing (grouped) and the polling's own
health per cluster and source (Diagnostics), re-read from memory about once a second."""

from __future__ import annotations

import copy
import math

from PySide6.QtCore import QObject, Signal

from aiops_desktop.models import utcnow
from aiops_desktop.models.alerts import AlertGroup
from aiops_desktop.models.enums import GroupBy
from aiops_desktop.models.polling import DiagnosticsRow, SourceStatus
from aiops_desktop.models.text import age_text, time_text
from aiops_desktop.services.polling.poller import Poller
from aiops_desktop.services.queries.alerts import group_alerts
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.presenters.base import Presenter


class PollerPresenter(Presenter):
    """Re-reads what the poller holds (memory only) on a timer."""

    def __init__(
        self,
        *,
        poller: Poller,
        tasks: TaskSupervisor,
        interval_ms: int = 1000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(tasks, interval_ms, parent)
        self._poller = poller


class AlertsPresenter(PollerPresenter):
    """Signals: sig_groups(list[AlertGroup]) whenever alerts or the grouping change."""

    sig_groups = Signal(list)
    group_by = GroupBy.ALERTNAME

    def set_group_by(self, group_by: GroupBy) -> None:
        self.group_by = group_by
        self.refresh()

    def groups(self) -> list[AlertGroup]:
        alerts = [a for group in self._poller.alerts.values() for a in group]
        return group_alerts(alerts, self.group_by)

    def refresh(self) -> None:
        self.sig_groups.emit(self.groups())


class DiagnosticsPresenter(PollerPresenter):
    """Signals: sig_rows(list[DiagnosticsRow]) once a second: the app's own polling health."""

    sig_rows = Signal(list)

    def rows(self) -> list[DiagnosticsRow]:
        now = utcnow()
        statuses: list[SourceStatus] = [copy.copy(s) for s in self._poller.status.values()]
        out = []
        for s in sorted(statuses, key=lambda x: (x.cluster, x.source)):
            age = s.age_s(now)
            out.append(
                DiagnosticsRow(
                    cluster=s.cluster,
                    source=s.source,
                    last_success=time_text(s.last_success, seconds=True)
                    if s.last_success
                    else "never",
                    age=age_text(age),
                    latency_ms=None
                    if s.latency_ms is None or math.isnan(s.latency_ms)
                    else s.latency_ms,
                    errors=s.total_errors,
                    consecutive=s.consecutive_errors,
                    breaker=s.breaker.value,
                    last_error=s.last_error or "",
                    stale=s.stale(now),
                )
            )
        return out

    def refresh(self) -> None:
        self.sig_rows.emit(self.rows())
