"""Presenters of the live views: fleet tiles, cluster dashboard, alerts, poll diagnostics.

Each reads the services (registry, poller, live buffers) on a Qt timer and emits view models;
redraws happen at a few Hz and only when the live data moved (STYLE.md: pyqtgraph habits).
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from aiops_desktop.models import AlertSeverity, ClusterKind, EndpointKind, utcnow
from aiops_desktop.models.enums import AnomalySeverity, AnomalyType
from aiops_desktop.models.intelligence import Anomaly
from aiops_desktop.services.alerts import AlertGroup, GroupBy, group_alerts
from aiops_desktop.services.anomalies import ANOMALIES_FOUND, AnomalyFilter
from aiops_desktop.services.catalog import Panel
from aiops_desktop.services.core import Core
from aiops_desktop.services.freshness import age_text
from aiops_desktop.services.poller import Source, SourceStatus
from ui.charts import AnomalyMarker
from ui.presenters.tasks import spawn_guarded

Series = dict[str, tuple[np.ndarray, np.ndarray]]

log = logging.getLogger("aiops.ui.monitoring")

#: anomaly severity -> the theme's severity palette (resources/theme.json "severity")
SEVERITY_LEVELS = {
    AnomalySeverity.HIGH: "critical",
    AnomalySeverity.MEDIUM: "warning",
    AnomalySeverity.LOW: "info",
}


@dataclass
class TileModel:
    name: str
    title: str
    state: str
    health_score: int | None
    alerts: dict[AlertSeverity, int]
    spark: tuple[np.ndarray, np.ndarray] | None
    spark_title: str
    freshness: str
    stale: bool
    via_hub: str | None = None
    last_error: str | None = None


@dataclass
class DiagnosticsRow:
    cluster: str
    source: str
    last_success: str
    age: str
    latency_ms: float | None
    errors: int
    consecutive: int
    breaker: str
    last_error: str
    stale: bool


def _mean_series(series: Series) -> tuple[np.ndarray, np.ndarray] | None:
    if not series:
        return None
    longest = max(series.values(), key=lambda tv: tv[0].size)
    ts = longest[0]
    if ts.size == 0:
        return None
    stack = []
    for t, v in series.values():
        aligned = np.full(ts.size, np.nan)
        idx = np.searchsorted(ts, t)
        ok = (idx < ts.size) & (ts[np.minimum(idx, ts.size - 1)] == t)
        aligned[idx[ok]] = v[ok]
        stack.append(aligned)
    with np.errstate(all="ignore"):
        return ts, np.nanmean(np.vstack(stack), axis=0)


def history_summary(title: str, found: list[Anomaly], shown: int, hours: int) -> str:
    """One line for an on-demand analysis: how many, how bad, how many the chart shows."""
    if not found:
        return f"{title}: no anomaly in the last {hours} h"
    worst = min(found, key=lambda a: list(AnomalySeverity).index(a.severity))  # HIGH first
    text = f"{title}: {len(found)} anomal{'y' if len(found) == 1 else 'ies'} in the last {hours} h"
    text += f" (worst {worst.severity.value} at {worst.timestamp:%H:%M} UTC)"
    if shown < len(found):
        text += f"; {len(found) - shown} outside this range: see Anomalies"
    return text


class TimedPresenter(QObject):
    """A presenter that re-reads the services on a timer and emits what it found."""

    def __init__(self, core: Core, interval_ms: int = 1000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.refresh)

    def start(self) -> None:
        self._timer.start()
        self.refresh()

    def stop(self) -> None:
        self._timer.stop()

    def refresh(self) -> None:
        raise NotImplementedError


class FleetPresenter(TimedPresenter):
    """Signals: sig_tiles(list[TileModel]) about once a second."""

    sig_tiles = Signal(list)

    def _spark(self, cluster: str) -> tuple[tuple[np.ndarray, np.ndarray] | None, str]:
        panels = sorted(self._core.catalog, key=lambda p: not p.sparkline)
        for panel in panels:
            snap = self._core.live.snapshot(cluster, panel.id)
            spark = _mean_series({str(k): v for k, v in snap.series.items()})
            if spark is not None:
                return spark, panel.title
        return None, ""

    def tiles(self) -> list[TileModel]:
        core = self._core
        now = utcnow()
        firing: dict[str, dict[AlertSeverity, int]] = {}
        for name, alerts in core.poller.alerts.items():
            counts = firing.setdefault(name, {})
            for alert in alerts:
                counts[alert.severity] = counts.get(alert.severity, 0) + 1
        out = []
        registered = core.registry.clusters()
        hubs = [c for c in registered if c.kind is ClusterKind.FLEET]
        members = {m for m in core.live.clusters()} - {c.name for c in registered}
        for cluster in registered:
            if cluster.kind is ClusterKind.FLEET:
                continue
            metrics = core.poller.status.get((cluster.name, Source.METRICS))
            spark, spark_title = self._spark(cluster.name)
            checked = cluster.status.last_check_at is not None
            out.append(
                TileModel(
                    name=cluster.name,
                    title=cluster.title,
                    state=cluster.status.state.value,
                    health_score=cluster.status.health_score if checked else None,
                    alerts=firing.get(cluster.name, {}),
                    spark=spark,
                    spark_title=spark_title,
                    freshness=age_text(metrics.age_s(now) if metrics else None),
                    stale=bool(metrics and metrics.stale(now))
                    or not cluster.endpoint(EndpointKind.PROMETHEUS),
                    last_error=cluster.status.last_error,
                )
            )
        for hub in hubs:
            status = core.poller.status.get((hub.name, Source.METRICS))
            hub_age = core.poller.hub_age_s.get(hub.name)
            for member in sorted(members):
                spark, spark_title = self._spark(member)
                out.append(
                    TileModel(
                        name=member,
                        title=member,
                        state=hub.status.state.value,
                        health_score=None,
                        alerts=firing.get(member, {}),
                        spark=spark,
                        spark_title=spark_title,
                        freshness=f"hub data {age_text(hub_age)}",
                        stale=bool(status and status.stale(now)),
                        via_hub=hub.name,
                    )
                )
        rank = {"OFFLINE": 0, "DEGRADED": 1, "UNKNOWN": 2, "PROVISIONING": 3, "ONLINE": 4}
        out.sort(
            key=lambda t: (rank.get(t.state, 5), -t.alerts.get(AlertSeverity.CRITICAL, 0), t.name)
        )
        return out

    def refresh(self) -> None:
        self.sig_tiles.emit(self.tiles())


class DashboardPresenter(QObject):
    """Signals:

    sig_panels(list[Panel]): the panels of the catalog (once per cluster shown).
    sig_panel_data(str, dict): one panel's series, legend -> (timestamps, values).
    sig_panel_anomalies(str, list): one panel's anomaly markers (list[AnomalyMarker]).
    sig_freshness(str, bool): how old the cluster's metrics are, and whether they are stale.
    sig_analysis(str): the one-line result of an on-demand analysis of stored history.
    """

    sig_panels = Signal(list)
    sig_panel_data = Signal(str, dict)
    sig_panel_anomalies = Signal(str, list)
    sig_freshness = Signal(str, bool)
    sig_analysis = Signal(str)

    HISTORY_HOURS = 24

    RANGES: ClassVar[dict[str, int]] = {"15 min": 900, "1 h": 3600, "6 h": 21600}

    #: Chart updates per tick: a poll that changes every panel is painted over a few ticks,
    #: never as one long stall of the event loop (a frame budget).
    PANELS_PER_TICK = 1  # a chart paints in ~10-15 ms: one per tick keeps p99 lag low

    def __init__(self, core: Core, redraw_ms: int = 100, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self.cluster: str | None = None
        self.paused = False
        self.range_s = 3600
        self._drawn_version = -1
        self._drawn_panels: dict[str, int] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(redraw_ms)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._unsubscribe = core.bus.subscribe(ANOMALIES_FOUND, self._on_anomalies_found)

    def _on_anomalies_found(self, anomalies: list[Anomaly]) -> None:
        for a in anomalies:
            if a.cluster == self.cluster:
                self._drawn_panels.pop(a.metric, None)
                self._drawn_version = -1

    def panel_anomalies(self, panel: Panel) -> list[AnomalyMarker]:
        assert self.cluster is not None
        cutoff = self._core.now().timestamp() - self.range_s
        return [
            AnomalyMarker(
                a.timestamp.timestamp(),
                a.actual,
                SEVERITY_LEVELS[a.severity],
                f"{a.timestamp:%H:%M:%S} {a.severity.value} {a.type.value}: {a.explanation}",
            )
            for a in self._core.anomalies.for_panel(self.cluster, panel.id)
            if a.timestamp.timestamp() >= cutoff
        ]

    @property
    def panels(self) -> list[Panel]:
        return list(self._core.catalog)

    def show_cluster(self, name: str) -> None:
        self.cluster = name
        self._drawn_version = -1
        self._drawn_panels.clear()
        self.sig_panels.emit(self.panels)
        self.redraw()
        if not self._timer.isActive():
            self._timer.start()
        spawn_guarded(
            self._core, f"anomalies-load {name}", self._load_stored(name), self.sig_analysis.emit
        )

    async def _load_stored(self, cluster: str) -> None:
        await self._core.anomalies.load_stored(cluster)
        if cluster == self.cluster:
            for panel in self.panels:
                self.sig_panel_anomalies.emit(panel.id, self.panel_anomalies(panel))

    def analyse_history(self, panel_ids: list[str] | None = None) -> None:
        """'Analyse the last 24 h' of these panels (all of them by default) over the store."""
        cluster = self.cluster
        if cluster is None:
            return
        panels = [p for p in self.panels if panel_ids is None or p.id in panel_ids]
        hours = self.HISTORY_HOURS

        async def work() -> None:
            for panel in panels:
                self.sig_analysis.emit(f"{panel.title}: analysing the last {hours} h ...")
                found = await self._core.anomalies.analyse_history(
                    cluster, panel.id, since=timedelta(hours=hours)
                )
                shown = 0
                if cluster == self.cluster:
                    markers = self.panel_anomalies(panel)
                    shown = len(markers)
                    self.sig_panel_anomalies.emit(panel.id, markers)
                self.sig_analysis.emit(history_summary(panel.title, found, shown, hours))

        spawn_guarded(self._core, f"analyse {cluster}", work(), self.sig_analysis.emit)

    def stop(self) -> None:
        self._timer.stop()
        self._unsubscribe()

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if not paused:
            self._drawn_version = -1

    def set_range(self, seconds: int) -> None:
        self.range_s = seconds
        self._drawn_version = -1
        self._drawn_panels.clear()
        self.redraw()

    def _on_timer_timeout(self) -> None:
        if not self.paused and self._core.live.version != self._drawn_version:
            self.redraw(budget=self.PANELS_PER_TICK)
        self._emit_freshness()

    def panel_series(self, panel: Panel) -> Series:
        assert self.cluster is not None
        snap = self._core.live.snapshot(self.cluster, panel.id)
        cutoff = self._core.now().timestamp() - self.range_s
        out: Series = {}
        for key, (ts, values) in snap.series.items():
            keep = ts >= cutoff
            out[panel.legend_for(dict(key))] = (ts[keep], values[keep])
        return out

    def redraw(self, budget: int | None = None) -> None:
        """Emit the panels whose data changed since they were last drawn, at most ``budget``
        of them; the rest follow on the next ticks."""
        if self.cluster is None:
            return
        pending = [
            (panel, version)
            for panel in self.panels
            if self._drawn_panels.get(panel.id)
            != (version := self._core.live.panel_version(self.cluster, panel.id))
        ]
        if budget is None or len(pending) <= budget:
            self._drawn_version = self._core.live.version  # everything is drawn now
        for panel, version in pending[:budget]:
            self._drawn_panels[panel.id] = version
            self.sig_panel_data.emit(panel.id, self.panel_series(panel))
            self.sig_panel_anomalies.emit(panel.id, self.panel_anomalies(panel))
        self._emit_freshness()

    def _emit_freshness(self) -> None:
        if self.cluster is None:
            return
        status = self._core.poller.status.get((self.cluster, Source.METRICS))
        if status is None:  # a member of a fleet hub: the hub's status counts
            hub = next(
                (c for c in self._core.registry.clusters() if c.kind is ClusterKind.FLEET), None
            )
            status = self._core.poller.status.get((hub.name, Source.METRICS)) if hub else None
        age = status.age_s() if status else None
        stale = status.stale() if status else True
        text = f"data {age_text(age)}" + (" · STALE" if stale else "")
        if status and status.last_error:
            text += f" · {status.last_error}"
        self.sig_freshness.emit(text, stale)


class AlertsPresenter(TimedPresenter):
    """Signals: sig_groups(list[AlertGroup]) whenever alerts or the grouping change."""

    sig_groups = Signal(list)

    def __init__(self, core: Core, interval_ms: int = 1000, parent: QObject | None = None) -> None:
        super().__init__(core, interval_ms, parent)
        self.group_by = GroupBy.ALERTNAME

    def set_group_by(self, group_by: GroupBy) -> None:
        self.group_by = group_by
        self.refresh()

    def groups(self) -> list[AlertGroup]:
        alerts = [a for group in self._core.poller.alerts.values() for a in group]
        return group_alerts(alerts, self.group_by)

    def refresh(self) -> None:
        self.sig_groups.emit(self.groups())


class DiagnosticsPresenter(TimedPresenter):
    """Signals: sig_rows(list[DiagnosticsRow]) once a second: the app's own polling health."""

    sig_rows = Signal(list)

    def rows(self) -> list[DiagnosticsRow]:
        now = utcnow()
        statuses: list[SourceStatus] = [copy.copy(s) for s in self._core.poller.status.values()]
        out = []
        for s in sorted(statuses, key=lambda x: (x.cluster, x.source)):
            age = s.age_s(now)
            out.append(
                DiagnosticsRow(
                    cluster=s.cluster,
                    source=s.source,
                    last_success=s.last_success.strftime("%H:%M:%S") if s.last_success else "never",
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


__all__ = [
    "AlertsPresenter",
    "DashboardPresenter",
    "DiagnosticsPresenter",
    "DiagnosticsRow",
    "FleetPresenter",
    "TileModel",
]


class AnomaliesPresenter(TimedPresenter):
    """Signals: sig_rows(list[Anomaly]) every few seconds and when new ones are found,
    filtered by cluster, severity and type."""

    sig_rows = Signal(list)

    sig_error = Signal(str)

    def __init__(self, core: Core, interval_ms: int = 5000, parent: QObject | None = None) -> None:
        super().__init__(core, interval_ms, parent)
        self.filter = AnomalyFilter(limit=500)
        self._reading = False  # one store read at a time; a change meanwhile reads again
        self._stale = False
        self._unsubscribe = core.bus.subscribe(ANOMALIES_FOUND, lambda _found: self.refresh())

    def set_filter(
        self, cluster: str | None, severity: AnomalySeverity | None, kind: AnomalyType | None
    ) -> None:
        self.filter = AnomalyFilter(
            clusters=(cluster,) if cluster else (),
            severities=(severity,) if severity else (),
            types=(kind,) if kind else (),
            limit=500,
        )
        self.refresh()

    def clusters(self) -> list[str]:
        return [c.name for c in self._core.registry.clusters()]

    def stop(self) -> None:
        super().stop()
        self._unsubscribe()

    def refresh(self) -> None:
        if self._reading:
            self._stale = True
            return
        self._reading = True
        spawn_guarded(self._core, "anomalies-list", self._read(), self.sig_error.emit)

    async def _read(self) -> None:
        try:
            while True:
                self._stale = False
                rows = await self._core.anomalies.stored(self.filter)
                if not self._stale:
                    self.sig_rows.emit(rows)
                    return
        finally:
            self._reading = False
