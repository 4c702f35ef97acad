"""The fleet overview's presenter: one tile per cluster (and per member of a fleet hub), worst
first, as the fleet's one truth (services/fleet) judges it, with a sparkline from the live
buffers (in memory: no I/O on the UI thread), about once a second."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from aiops_desktop.models import AlertSeverity, ClusterKind
from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.fleet import ClusterTruth, Coverage, Domain, Health, TileModel
from aiops_desktop.models.polling import hub_sample_text
from aiops_desktop.models.text import age_text
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.fleet.state import FleetState
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.polling.poller import Poller
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.presenters.base import Presenter

Series = dict[str, tuple[np.ndarray, np.ndarray]]


def mean_series(series: Series) -> tuple[np.ndarray, np.ndarray] | None:
    """The mean of a panel's series at each time any of them has a sample, of those that have
    one then (a tile's sparkline). Aligned on every series' times, not the longest one's: a
    node whose exporter stopped keeps a full buffer until it is pruned, and the sparkline
    ended when it stopped and never moved."""
    if not series:
        return None
    ts = np.unique(np.concatenate([t for t, _ in series.values()]))
    if ts.size == 0:
        return None
    sums, counts = np.zeros(ts.size), np.zeros(ts.size)
    for t, v in series.values():
        held = ~np.isnan(v)
        at = np.searchsorted(ts, t[held])  # a series' times are distinct: no index twice
        sums[at] += v[held]
        counts[at] += 1
    with np.errstate(all="ignore"):
        return ts, np.where(counts > 0, sums / counts, np.nan)


def data_age_text(age_s: float | None) -> str:
    """How old a cluster's data is: "data 20 s ago", or "no data yet" (not "data no data
    yet")."""
    return "no data yet" if age_s is None else f"data {age_text(age_s)}"


def _freshness(truth: ClusterTruth, hub_sample: str = "") -> str:
    """How old its data is (a hub's member: and its hub's newest sample, ``hub_sample``), and
    for one with a source unreachable or stale which sources and since when ("data 20 s ago
    · alerts unreachable since 14:05 UTC")."""
    if truth.coverage.get("metrics") is Coverage.RECORDED:
        return "data as recorded in the capture"
    age = data_age_text(truth.data_age_s) + hub_sample
    lost = truth.lost()
    if not lost:
        return age
    since = truth.stale_since
    said = " and ".join(f"{k} {truth.coverage[k].value}" for k in lost)
    return f"{age} · {said}" + (f" since {since:%H:%M} UTC" if since is not None else "")


def _alert_counts(truth: ClusterTruth) -> dict[AlertSeverity, int]:
    counts: dict[AlertSeverity, int] = {}
    for f in truth.findings:
        if f.domain is Domain.ALERTS:
            severity = AlertSeverity(f.severity.value)
            counts[severity] = counts.get(severity, 0) + 1
    return counts


class FleetPresenter(Presenter):
    """Signals: sig_tiles(list[TileModel]) about once a second; sig_summary(FleetSummary)
    with it: the registered clusters by type and environment, their GPUs and those with CNF
    (the registry's, in memory).

    ``poller``: how old each hub's newest sample is, said on its members' tiles (none: not
    said)."""

    sig_tiles = Signal(list)
    sig_summary = Signal(object)

    def __init__(
        self,
        *,
        registry: ClusterRegistry,
        fleet: FleetState,
        live: LiveBuffers,
        catalog: list[Panel],
        tasks: TaskSupervisor,
        poller: Poller | None = None,
        interval_ms: int = 1000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(tasks, interval_ms, parent)
        self._registry = registry
        self._fleet = fleet
        self._live = live
        self._catalog = catalog
        self._poller = poller
        #: each tile last shown -> (its panels' live versions, its sparkline and title)
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
        """One tile per cluster and hub member, as the fleet's one truth judges it (a fleet
        hub is a tile only for findings of its own, its alerts without a member: its members
        are the tiles; or when it serves none and is not fine (OFFLINE, never answered; STALE,
        its Prometheus failing while its Alertmanager answers): it vanished, the page saying
        none registered). A hub serving none in the truth that is OK or not read yet (the
        other of two sharing members, one with none yet) is no tile: an OK tile of it swelled
        the count and the average health. Only the shown tiles' sparklines are kept."""
        truth = self._fleet.snapshot()  # alerts and sources move between its refreshes
        hubs = {c.name for c in self._registry.clusters() if c.kind is ClusterKind.FLEET}
        serving = {t.hub for t in truth.clusters if t.hub is not None}
        out = []
        for t in truth.clusters:
            # a hub's members are its tiles; serving none, it is one unless fine or unread yet
            covered = t.name in serving or t.state in (Health.OK, Health.NO_DATA)
            if t.name in hubs and not t.findings and covered:
                continue
            spark, spark_title = self._spark(t.name)
            worst = t.worst()
            unknown = t.unknown()
            out.append(
                TileModel(
                    name=t.name, title=t.title, state=t.state.value, health_score=t.health_score,
                    alerts=_alert_counts(t), spark=spark, spark_title=spark_title,
                    freshness=_freshness(t, self._hub_sample(t.hub, truth.at)),
                    stale=bool(t.lost()),  # any source unreachable or stale: old data
                    via_hub=t.hub, last_error=t.last_error,
                    findings=t.summary() or ("no findings" if not unknown else ""),
                    worst=worst.line() if worst else "; ".join(unknown),
                )
            )  # fmt: skip
        shown = {tile.name for tile in out}  # clusters and members come and go
        self._sparks = {name: kept for name, kept in self._sparks.items() if name in shown}
        return out

    def _hub_sample(self, hub: str | None, now: datetime) -> str:
        if hub is None or self._poller is None:
            return ""
        return hub_sample_text(self._poller.hub_age_s(hub, now))

    def refresh(self) -> None:
        self.sig_tiles.emit(self.tiles())
        self.sig_summary.emit(self._registry.fleet_summary())
