"""A cluster's dashboard: the catalog's panels as live charts over a chosen range (or, for a
long or fixed range, what the cache holds), with their anomaly markers and the data's age;
redrawn at a few Hz, and only the panels whose data moved (a frame budget per tick keeps the
event loop responsive)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
from PySide6.QtCore import QObject, Signal

from aiops_desktop.models import Cluster, EndpointKind, utcnow
from aiops_desktop.models.anomalies import Anomaly, AnomalyMarker
from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.polling import Source, hub_sample_text
from aiops_desktop.models.text import time_text
from aiops_desktop.models.time_range import TimeRange
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.fleet.state import FleetState
from aiops_desktop.services.intelligence.anomalies import (
    ANOMALIES_FOUND,
    LEARNS_FROM,
    LIVE_EVERY_S,
    AnomalyService,
)
from aiops_desktop.services.polling.history import PanelHistory, named_series
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.polling.poller import MIN_STEP_S, PANEL_SOURCES, Poller
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.presenters.base import Presenter
from ui.presenters.fleet import data_age_text

Series = dict[str, tuple[np.ndarray, np.ndarray]]


def history_summary(
    title: str,
    found: list[Anomaly],
    shown: int,
    hours: int,
    samples: int | None = None,
    *,
    judged: tuple[int, int] | None = None,
) -> str:
    """One line for an on-demand analysis: how many, how bad, how many the chart shows; and,
    where nothing was found in a history too short to leave the detector's learning, why;
    where the stored history began within the detectors' lead before the window (``judged``:
    too short, judged in part, ``AnomalyService.history_judged``), that the window's start
    was only learnt from in those series: "no anomaly" is not said of what was not judged."""
    if not found:
        text = f"{title}: no anomaly in the last {hours} h"
        if samples is not None and samples < LEARNS_FROM:
            return text + (f" (the detector learns from a series' first {LEARNS_FROM:,} "
                           f"samples; this history holds {samples:,})")  # fmt: skip
    else:
        worst = min(found, key=lambda a: a.severity.rank)  # CRITICAL first
        text = f"{title}: {len(found)} anomal{'y' if len(found) == 1 else 'ies'} in the last "
        text += f"{hours} h (worst {worst.severity.level.value} at {time_text(worst.timestamp)})"
        if shown < len(found):
            text += f"; {len(found) - shown} outside this range: see Anomalies"
    short, partly = judged or (0, 0)
    if short or partly:
        parts = [f"{short} series too short to judge"] if short else []
        parts += [f"{partly} judged only in part"] if partly else []
        text += (f"; {' and '.join(parts)} (the detector learns from a series' first "
                 f"{LEARNS_FROM:,} samples, and the stored history begins later)")  # fmt: skip
    return text


class DashboardPresenter(Presenter):
    """Signals:

    sig_panels(list[Panel]): the panels of the catalog (once per cluster shown).
    sig_panel_data(str, dict, float, float): one panel's series, legend -> (timestamps,
    values), and the range's start and end (s): a chart spans the range, hours without data
    shown empty.
    sig_panel_anomalies(str, list): one panel's anomaly markers (list[AnomalyMarker]).
    sig_freshness(str, bool): how old the cluster's metrics are, and whether they are stale.
    sig_analysis(str): the one-line result of an on-demand analysis of stored history.

    ``fleet``: which hub serves a hub member shown (none: its first hub by name).
    """

    sig_panels = Signal(list)
    sig_panel_data = Signal(str, dict, float, float)
    sig_panel_anomalies = Signal(str, list)
    sig_freshness = Signal(str, bool)
    sig_analysis = Signal(str)

    HISTORY_HOURS = 24

    #: a range longer than the live buffers hold for the cluster shown (``live_span_s``), or
    #: an absolute one, is read from the cache, off the UI thread, and read again every
    #: STORED_REFRESH_S while it follows now
    STORED_REFRESH_S = 60.0

    #: where another process runs the cache's live detection (``AnomalyService.detecting``:
    #: no live round here, no ANOMALIES_FOUND), the markers are read from the cache again
    #: this often, as often as that one's rounds run
    MARKERS_REFRESH_S = LIVE_EVERY_S / 4

    #: Chart updates per tick: a poll that changes every panel is painted over a few ticks,
    #: never as one long stall of the event loop (a frame budget).
    PANELS_PER_TICK = 1  # a chart paints in ~10-15 ms: one per tick keeps p99 lag low

    def __init__(
        self,
        *,
        registry: ClusterRegistry,
        poller: Poller,
        live: LiveBuffers,
        anomalies: AnomalyService,
        catalog: list[Panel],
        bus: EventBus,
        tasks: TaskSupervisor,
        history: PanelHistory | None = None,
        fleet: FleetState | None = None,
        redraw_ms: int = 100,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(tasks, redraw_ms, parent)
        self._history = history
        self._fleet = fleet
        self._registry = registry
        self._poller = poller
        self._live = live
        self._anomalies = anomalies
        self._catalog = catalog
        self.cluster: str | None = None
        self.paused = False
        self.range = TimeRange()
        self._stored_read_at: float | None = None  # monotonic: when the cache was last read
        #: the cluster and range whose read from the cache the charts show
        self._stored_drawn: tuple[str, TimeRange] | None = None
        self._newest_at: tuple[object, float | None] = (None, None)
        self._full_at: tuple[object, float | None] = (None, None)
        self._drawn_version = -1
        self._drawn_panels: dict[str, int] = {}
        self._markers_read_at = float("-inf")  # monotonic: when the markers were last read
        self._markers_reading = False
        self.listen(bus, ANOMALIES_FOUND, self._on_anomalies_found)

    def _hub(self) -> Cluster | None:
        """The fleet hub serving the member shown now, as the fleet's truth judges it, asked
        on every tick (a member of two hubs: the first by name may be down while the other
        feeds its charts, and its page said STALE with that hub's error until the fleet's
        next refresh); without the fleet, its first hub by name; None for a registered
        cluster."""
        name = self.cluster or ""
        if self._fleet is not None:
            return self._fleet.serving_hub(name)
        return self._registry.hub_of(name)

    def _held_versions(self) -> tuple[str | None, tuple[int, ...]]:
        """The cluster shown and its panels' live versions: what is held of it moved only
        when these did (the buffers' own version moves with every cluster's poll, and the
        10 Hz tick scanned every ring of the one shown again: 50 ms at 3,000 series a
        panel, under the buffers' lock)."""
        name = self.cluster or ""
        return self.cluster, tuple(self._live.panel_version(name, p.id) for p in self._catalog)

    def _on_anomalies_found(self, anomalies: list[Anomaly]) -> None:
        for a in anomalies:
            if a.cluster == self.cluster:
                self._drawn_panels.pop(a.metric, None)
                self._drawn_version = -1

    def panel_anomalies(self, panel: Panel) -> list[AnomalyMarker]:
        assert self.cluster is not None
        start, end = self._bounds()
        return [
            AnomalyMarker(
                a.timestamp.timestamp(),
                a.actual,
                a.severity.level.value.lower(),
                f"{time_text(a.timestamp, seconds=True)} {a.severity.level.value} "
                f"{a.type.value}: {a.described}",
            )
            for a in self._anomalies.for_panel(self.cluster, panel.id)
            if start <= a.timestamp.timestamp() <= end
        ]

    def now(self) -> datetime:
        """The app's now: a capture's end when one is open (its data ends there)."""
        return self._anomalies.clock()

    def _bounds(self) -> tuple[float, float]:
        start, end = self.range.bounds(self._anomalies.clock())
        return start.timestamp(), end.timestamp()

    @property
    def from_store(self) -> bool:
        """Whether the range is read from the cache (longer than the live buffers, or fixed)."""
        return self._history is not None and (
            not self.range.follows_now or self.range.seconds > self.live_span_s()
        )

    def live_span_s(self) -> float:
        """How far back the live buffers hold the cluster shown: their capacity at its poll
        step (720 points: 3 h at a hub's 15 s, 6 h at a spoke's 30 s; a member is polled at
        its hub's), or less where a full buffer spans less (a capture's own step). A fixed
        span drew a hub's "6 h" as its last 3 h, though the cache holds all six."""
        name = self.cluster or ""
        found = next((c for c in self._registry.clusters() if c.name == name), None)
        if found is None and name:
            found = self._hub()
        step = MIN_STEP_S  # not known here: the shortest step any cluster is polled at
        if found is not None:
            step = max(step, float(found.check_interval_s))
        key = self._held_versions()  # the full buffers' span, per version of what is shown
        if self._full_at[0] != key:
            self._full_at = (key, self._live.full_span(name))
        full = self._full_at[1]
        span = self._live.capacity * step
        return span if full is None else min(span, full)

    @property
    def panels(self) -> list[Panel]:
        """The catalog's panels read from the endpoints the cluster shown has (Prometheus,
        Loki, Tempo); a hub's member has none of its own: its hub's Prometheus serves it."""
        kinds = {EndpointKind.PROMETHEUS}
        if self.cluster is not None:
            found = next((c for c in self._registry.clusters() if c.name == self.cluster), None)
            kinds = {e.kind for e in found.endpoints} if found is not None else kinds
            # where the endpoint does not offer them (Tempo before 2.4: no TraceQL metrics)
            kinds -= {k for k, s in PANEL_SOURCES.items()
                      if (self.cluster, s) in self._poller.unsupported}  # fmt: skip
        return [p for p in self._catalog if p.source in kinds]

    def show_cluster(self, name: str) -> None:
        if name != self.cluster:
            self.sig_analysis.emit("")  # the last cluster's analysis is not this one's
        self.cluster = name
        self._drawn_version = -1
        self._drawn_panels.clear()
        self._stored_read_at = None
        self._stored_drawn = None
        self._markers_read_at = time.monotonic()  # read as it is shown (``_load_stored``)
        self.sig_panels.emit(self.panels)  # its charts are cleared: nothing of the last one's
        self.redraw()
        self.start()  # a range read from the cache: its first read (paused, or fixed: not)
        if self.from_store and self._stored_read_at is None:
            self._read_stored()
        self.spawn(f"anomalies-load {name}", self._load_stored(name), self._said_of(name))

    def _said_of(self, cluster: str) -> Callable[[str], None]:
        """Say ``text`` (an analysis' line, a read's failure) of ``cluster`` only while it is
        the one shown: work still running for the last one would write on the next's page."""

        def say(text: str) -> None:
            if cluster == self.cluster:
                self.sig_analysis.emit(text)

        return say

    async def _load_stored(self, cluster: str) -> None:
        await self._anomalies.load_stored(cluster)
        if cluster == self.cluster:
            for panel in self.panels:
                self.sig_panel_anomalies.emit(panel.id, self.panel_anomalies(panel))

    def _read_markers(self) -> None:
        """Where no live round runs here (``AnomalyService.detecting``), the markers of the
        panels shown are read from the cache again every MARKERS_REFRESH_S, off the UI
        thread, and those that changed shown: what the process running the cache's live
        detection finds reaches this one through the cache only."""
        cluster = self.cluster
        due = time.monotonic() - self._markers_read_at >= self.MARKERS_REFRESH_S
        if not due or cluster is None or self.paused or self._markers_reading:
            return
        if self._anomalies.detecting:  # its live rounds keep the markers
            return
        self._markers_reading = True
        self._markers_read_at = time.monotonic()
        panels = self.panels

        async def work() -> None:
            try:
                moved = await self._anomalies.load_stored(cluster, [p.id for p in panels])
            finally:
                self._markers_reading = False
            if cluster == self.cluster:
                for panel in panels:
                    if panel.id in moved:
                        self.sig_panel_anomalies.emit(panel.id, self.panel_anomalies(panel))

        self.spawn(f"anomalies-read {cluster}", work(), self._said_of(cluster))

    def analyse_history(self, panel_ids: list[str] | None = None) -> None:
        """'Analyse the last 24 h' of these panels (all of them by default) over the store."""
        cluster = self.cluster
        if cluster is None:
            return
        panels = [p for p in self.panels if panel_ids is None or p.id in panel_ids]
        hours = self.HISTORY_HOURS
        say = self._said_of(cluster)

        async def work() -> None:
            for panel in panels:
                say(f"{panel.title}: analysing the last {hours} h ...")
                found = await self._anomalies.analyse_history(
                    cluster, panel.id, since=timedelta(hours=hours)
                )
                shown = 0
                if cluster == self.cluster:
                    markers = self.panel_anomalies(panel)
                    shown = len(markers)
                    self.sig_panel_anomalies.emit(panel.id, markers)
                samples = self._anomalies.history_samples(cluster, panel.id)
                judged = self._anomalies.history_judged(cluster, panel.id)
                say(history_summary(panel.title, found, shown, hours, samples, judged=judged))

        self.spawn(f"analyse {cluster}", work(), say)

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if not paused:
            self._drawn_version = -1

    def set_range(self, chosen: TimeRange) -> None:
        """Every panel's range: from the live buffers, or read from the cache."""
        self.range = chosen
        self._drawn_version = -1
        self._drawn_panels.clear()
        self._stored_read_at = None  # a range that outgrows the buffers is read at once
        if self.from_store:
            self._read_stored()
        else:
            self.redraw()

    def _read_stored(self) -> None:
        """Read every panel's range from the cache in a worker thread, then show it."""
        cluster, history = self.cluster, self._history
        if cluster is None or history is None:
            return
        self._stored_read_at = time.monotonic()
        start, end = self.range.bounds(self._anomalies.clock())
        span = (start.timestamp(), end.timestamp())
        panels = self.panels

        def read() -> dict[str, Series]:
            out: dict[str, Series] = {}
            for panel in panels:
                found = history.read(cluster, panel.id, start, end)
                out[panel.id] = named_series(panel, found.values())
            return out

        async def work() -> None:
            stored = await asyncio.to_thread(read)
            if cluster != self.cluster or shown != self.range:
                return  # another cluster or range was chosen meanwhile
            for panel_id, panel_series in stored.items():
                self.sig_panel_data.emit(panel_id, panel_series, *span)
            self._stored_drawn = (cluster, shown)
            for panel in panels:
                self.sig_panel_anomalies.emit(panel.id, self.panel_anomalies(panel))

        def failed(text: str) -> None:
            """Charts waiting for this cluster's range (another cluster's lines were cleared)
            say there is none, and the line says why; a later read's failure leaves the range
            shown as it was read."""
            self._said_of(cluster)(text)
            if (cluster, shown) == (self.cluster, self.range) != self._stored_drawn:
                for panel in panels:
                    self.sig_panel_data.emit(panel.id, {}, *span)

        shown = self.range
        self.spawn(f"stored range {cluster}", work(), failed)

    def refresh(self) -> None:
        """A redraw tick: the panels whose data moved, a few per tick (a range read from
        the cache: read again now and then while it follows now), and the markers read
        again where another process detects (``_read_markers``)."""
        self._read_markers()
        if self.from_store:
            due = self._stored_read_at is None or (
                time.monotonic() - self._stored_read_at >= self.STORED_REFRESH_S
            )
            if not self.paused and self.range.follows_now and due:
                self._read_stored()
        elif not self.paused and self._live.version != self._drawn_version:
            self.redraw(budget=self.PANELS_PER_TICK)
        self._emit_freshness()

    def panel_series(self, panel: Panel) -> Series:
        assert self.cluster is not None
        snap = self._live.snapshot(self.cluster, panel.id)
        cutoff = self._anomalies.clock().timestamp() - self.range.seconds
        found: list[tuple[dict[str, str], np.ndarray, np.ndarray]] = []
        for key, (ts, values) in snap.series.items():
            keep = ts >= cutoff
            found.append((dict(key), ts[keep], values[keep]))
        return named_series(panel, found)

    def redraw(self, budget: int | None = None) -> None:
        """Emit the panels whose data changed since they were last drawn, at most ``budget``
        of them; the rest follow on the next ticks."""
        if self.cluster is None or self.from_store:
            return
        pending = [
            (panel, version)
            for panel in self.panels
            if self._drawn_panels.get(panel.id)
            != (version := self._live.panel_version(self.cluster, panel.id))
        ]
        if budget is None or len(pending) <= budget:
            self._drawn_version = self._live.version  # everything is drawn now
        for panel, version in pending[:budget]:
            self._drawn_panels[panel.id] = version
            self.sig_panel_data.emit(panel.id, self.panel_series(panel), *self._bounds())
            self.sig_panel_anomalies.emit(panel.id, self.panel_anomalies(panel))
        self._emit_freshness()

    def _emit_freshness(self) -> None:
        if self.cluster is None:
            return
        status = self._poller.status.get((self.cluster, Source.METRICS))
        hub_name = self.cluster  # whose newest sample's age says how fresh a hub's data is
        if status is None:  # a member of a fleet hub: the status of the hub serving it counts
            hub = self._hub()
            status = self._poller.status.get((hub.name, Source.METRICS)) if hub else None
            hub_name = hub.name if hub else self.cluster
        if status is None:  # not polled (a capture, or not yet): what the charts hold says
            newest = self._newest_sample()
            if newest is None:
                self.sig_freshness.emit("no data yet", True)
            else:
                at = time_text(datetime.fromtimestamp(newest, UTC), seconds=True)
                self.sig_freshness.emit(f"data up to {at} (not polled)", False)
            return
        age = status.age_s()
        stale = status.stale()
        marks = self._poller.member_seen.get(hub_name, {})
        if self.cluster in marks:  # the hub answers: does it still have this member?
            seen, now = marks[self.cluster], utcnow()
            age = None if seen is None else (now - seen).total_seconds()
            stale = stale or status.seen_stale(seen, now)  # as the truth says
        text = data_age_text(age) + (" · STALE" if stale else "")
        text += hub_sample_text(self._poller.hub_age_s(hub_name))
        if status.last_error:
            text += f" · {status.last_error}"
        self.sig_freshness.emit(text, stale)

    def _newest_sample(self) -> float | None:
        """The newest sample the cluster's panels hold (cached per version of what is held
        of it)."""
        key = self._held_versions()
        if self._newest_at[0] != key:
            newest = None
            for panel in self._catalog:
                for ts, _ in self._live.snapshot(self.cluster or "", panel.id).series.values():
                    if ts.size:
                        newest = max(newest or ts[-1], float(ts[-1]))
            self._newest_at = (key, newest)
        return self._newest_at[1]
