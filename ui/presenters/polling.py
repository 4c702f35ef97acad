"""What the poller holds, for people: the alerts firing (grouped) and the polling's own
health per cluster and source (Diagnostics), re-read from memory about once a second."""

from __future__ import annotations

import copy
import math

from PySide6.QtCore import QObject, Signal

from aiops_desktop.models import utcnow
from aiops_desktop.models.alerts import AlertGroup
from aiops_desktop.models.enums import GroupBy
from aiops_desktop.models.polling import DiagnosticsRow, Source, SourceStatus
from aiops_desktop.models.text import age_text, time_text
from aiops_desktop.services.intelligence.anomalies import AnomalyService, unjudged_text
from aiops_desktop.services.polling.poller import Poller
from aiops_desktop.services.queries.alerts import (
    AlertClusters,
    AlertReads,
    alert_reads,
    fleet_alert_reads,
    group_alerts,
)
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
    """Signals: sig_reads(AlertReads): whether every Alertmanager was read recently, and how
    old each answer is; then sig_groups(list[AlertGroup]), whenever alerts or the grouping
    change. What the poller holds is only what was last read: an Alertmanager that stopped
    answering keeps its last alerts there, and none read is not "nothing firing".

    ``clusters``: where the Alertmanagers are (the page's builder gives the registry's
    presenter); without it, those the poller has polled."""

    sig_reads = Signal(object)
    sig_groups = Signal(list)
    group_by = GroupBy.ALERTNAME
    clusters: AlertClusters | None = None

    def set_group_by(self, group_by: GroupBy) -> None:
        self.group_by = group_by
        self.refresh()

    def groups(self) -> list[AlertGroup]:
        alerts = [a for group in self._poller.alerts.values() for a in group]
        return group_alerts(alerts, self.group_by)

    def reads(self) -> AlertReads:
        """Each Alertmanager's last answer, as the poller keeps its status."""
        if self.clusters is None:
            polled = {c: s for (c, source), s in self._poller.status.items()
                      if source == Source.ALERTS}  # fmt: skip
            return alert_reads({c: copy.copy(s) for c, s in polled.items()})
        return fleet_alert_reads(self.clusters, self._poller.status, self._poller.alerts)

    def refresh(self) -> None:
        self.sig_reads.emit(self.reads())
        self.sig_groups.emit(self.groups())


class DiagnosticsPresenter(PollerPresenter):
    """Signals: sig_rows(list[DiagnosticsRow]) once a second: the app's own polling health,
    and, from ``detection`` (the anomaly service), a row per panel whose live anomaly
    detection fails (its ``failed``), one for detection moved into the window's process
    (``degraded``) and one per panel with series no detector judges (``unjudged``): a log
    line alone said the last two."""

    sig_rows = Signal(list)

    def __init__(
        self,
        *,
        poller: Poller,
        tasks: TaskSupervisor,
        detection: AnomalyService | None = None,
        interval_ms: int = 1000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(poller=poller, tasks=tasks, interval_ms=interval_ms, parent=parent)
        self._detection = detection

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
        return out + self._detection_rows()

    def _detection_rows(self) -> list[DiagnosticsRow]:
        """What live anomaly detection does not do as it should: a row per panel whose
        detection fails, one for detection moved into the window's process, one per panel
        with series no detector judges."""
        if self._detection is None:
            return []
        failed = sorted(dict(self._detection.failed).items())
        out = [_detection_row(cluster, f"anomaly detection of {panel}", "failing", why, 1)
               for (cluster, panel), why in failed]  # fmt: skip
        if (why := self._detection.degraded) is not None:
            out.append(_detection_row("all", "anomaly detection", "degraded", why, 1))
        limit = self._detection.detector_limit
        for (cluster, panel), count in sorted(dict(self._detection.unjudged).items()):
            said = unjudged_text(count, limit)
            out.append(_detection_row(cluster, f"anomaly detection of {panel}", "partly", said, 0))
        return out

    def refresh(self) -> None:
        self.sig_rows.emit(self.rows())


def _detection_row(cluster: str, source: str, state: str, why: str, errors: int) -> DiagnosticsRow:
    """A Diagnostics row of live anomaly detection (``state`` where a source's last success
    is said)."""
    return DiagnosticsRow(cluster=cluster, source=source, last_success=state, age="",
                          latency_ms=None, errors=errors, consecutive=errors, breaker="",
                          last_error=why, stale=False)  # fmt: skip
