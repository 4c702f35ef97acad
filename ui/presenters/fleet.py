"""The fleet overview's presenter: one tile per cluster (and per member of a fleet hub), worst
first, read from what the registry, the poller and the live buffers hold (in memory: no I/O on
the UI thread), about once a second."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from aiops_desktop.models import AlertSeverity, ClusterKind, EndpointKind, utcnow
from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.fleet import TileModel
from aiops_desktop.models.polling import Source
from aiops_desktop.models.text import age_text
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.polling.poller import Poller
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.presenters.base import Presenter

Series = dict[str, tuple[np.ndarray, np.ndarray]]


def mean_series(series: Series) -> tuple[np.ndarray, np.ndarray] | None:
    """The point-by-point mean of a panel's series (a tile's sparkline)."""
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


class FleetPresenter(Presenter):
    """Signals: sig_tiles(list[TileModel]) about once a second."""

    sig_tiles = Signal(list)

    def __init__(
        self,
        *,
        registry: ClusterRegistry,
        poller: Poller,
        live: LiveBuffers,
        catalog: list[Panel],
        tasks: TaskSupervisor,
        interval_ms: int = 1000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(tasks, interval_ms, parent)
        self._registry = registry
        self._poller = poller
        self._live = live
        self._catalog = catalog
        #: cluster -> (its panels' live versions, its sparkline and title)
        self._sparks: dict[str, tuple[tuple[int, ...], Any]] = {}

    def _spark(self, cluster: str) -> tuple[tuple[np.ndarray, np.ndarray] | None, str]:
        """A tile's sparkline: made again only when the cluster's panels got new samples
        (200 members' means every second took a quarter of the loop)."""
        panels = sorted(self._catalog, key=lambda p: not p.sparkline)
        versions = tuple(self._live.panel_version(cluster, p.id) for p in panels)
        kept = self._sparks.get(cluster)
        if kept is not None and kept[0] == versions:
            return kept[1]
        found: tuple[tuple[np.ndarray, np.ndarray] | None, str] = (None, "")
        for panel in panels:
            snap = self._live.snapshot(cluster, panel.id)
            spark = mean_series({str(k): v for k, v in snap.series.items()})
            if spark is not None:
                found = (spark, panel.title)
                break
        self._sparks[cluster] = (versions, found)
        return found

    def tiles(self) -> list[TileModel]:
        now = utcnow()
        firing: dict[str, dict[AlertSeverity, int]] = {}
        for name, alerts in self._poller.alerts.items():
            counts = firing.setdefault(name, {})
            for alert in alerts:
                counts[alert.severity] = counts.get(alert.severity, 0) + 1
        out = []
        registered = self._registry.clusters()
        hubs = [c for c in registered if c.kind is ClusterKind.FLEET]
        members = {m for m in self._live.clusters()} - {c.name for c in registered}
        for cluster in registered:
            if cluster.kind is ClusterKind.FLEET:
                continue
            metrics = self._poller.status.get((cluster.name, Source.METRICS))
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
            status = self._poller.status.get((hub.name, Source.METRICS))
            hub_age = self._poller.hub_age_s.get(hub.name)
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
