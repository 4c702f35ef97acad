"""Anomaly detection in the app: on polled series as they arrive, and on demand over history.

Detection runs in a worker (``DetectWorker``: a process of its own for the window and the wall,
a thread elsewhere), never on the event loop. Found
anomalies are stored once per episode (the store keys them by identity), kept per
(cluster, panel) for chart markers, and the new ones are published on the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np

from aiops_desktop.models import utcnow
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.anomalies import (
    ANOMALY_LOOKBACK,
    Anomaly,
    AnomalyFilter,
)
from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.enums import AnomalyMethod, AnomalySeverity, Sensitivity
from aiops_desktop.services.gpu_cnf.gpu import xid_table
from aiops_desktop.services.intelligence.detect_worker import DetectWorker
from aiops_desktop.services.polling.live import LiveBuffers, SeriesKey, series_key
from aiops_desktop.services.polling.poller import ALERTS_CHANGED
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.store.anomalies import AnomalyRepository
from aiops_desktop.store.series import SeriesStore
from analysis.detect import (
    EPISODE_GAP,
    SeriesInput,
    detect_all,
    forget_streams,
    judged_short,
    lead_points,
    take_declined,
)
from analysis.detectors.live import MAX_SERIES, PROBATION
from analysis.incidents import RelatedAlerts
from analysis.signals import profile_for

log = logging.getLogger("aiops.services.anomalies")

ANOMALIES_FOUND = "anomalies.found"  # payload: list[Anomaly] (new episodes only)
LIVE_EVERY_S = 60.0  # a panel is re-analysed at most this often
#: a series whose last sample is this many of its steps (and at least this long) behind its
#: panel's newest has stopped reporting: its open episode is over, as far as anyone can tell
SILENT_STEPS, SILENT_AT_LEAST_S = 5, 300.0
#: an episode counts as still going on while its panel was analysed this recently
STILL_OPEN_WITHIN_S = 10 * LIVE_EVERY_S
CURRENT_MOST = 5000  # stored anomalies read for what counts now, of each kind (recent, open)
WARM_UP = timedelta(hours=6)  # stored history a new series' live detector learns from, at least
WARM_UP_MOST = timedelta(hours=48)  # ... and at most: PROBATION samples at a slow step
LEARNS_FROM = PROBATION  # a series' first samples: learnt from, never reported
#: how far before a read's first sample a stored episode's last point may be and still reach
#: into it (detection allows a pause of a few of the series' steps; this bounds the read)
REACH_S = 3600.0


def unjudged_text(count: int, limit: int) -> str:
    """``count`` series that no detector judges (a full set declined them), for people."""
    return f"{count:,} series not judged: over the anomaly detector's limit of {limit:,} series"


def _still_shown(
    before: list[Anomaly], found: list[Anomaly], inputs: list[SeriesInput]
) -> list[Anomaly]:
    """A panel's markers: what earlier live runs found (a sample is judged once, when it
    arrives) that is still inside the buffer, and what this run found, once each."""
    starts = [float(i.ts[0]) for i in inputs if i.ts.size]
    oldest = min(starts) if starts else float("inf")
    kept = {a.identity: a for a in before if a.timestamp.timestamp() >= oldest}
    kept.update((a.identity, a) for a in found)
    return sorted(kept.values(), key=lambda a: a.timestamp)


def _silent_ended(found: list[Anomaly], inputs: list[SeriesInput]) -> list[Anomaly]:
    """``found`` with the open episodes of series that stopped reporting ended (the series'
    last sample more than SILENT_STEPS of its steps, and SILENT_AT_LEAST_S, before its
    panel's newest: its exporter went away while the others report). It runs on the event
    loop: only the series with an open episode have their step worked out."""
    going = {series_key(a.labels) for a in found if a.open}
    if not going:
        return found
    newest = max((float(i.ts[-1]) for i in inputs if i.ts.size), default=None)
    last: dict[SeriesKey, tuple[float, float]] = {}
    for i in inputs:
        if i.ts.size > 1 and series_key(i.labels) in going:
            step = float(np.median(np.diff(i.ts)))
            last[series_key(i.labels)] = (float(i.ts[-1]), max(SILENT_STEPS * step,
                                                               SILENT_AT_LEAST_S))  # fmt: skip

    def gone(a: Anomaly) -> bool:
        seen = last.get(series_key(a.labels))
        return newest is not None and seen is not None and newest - seen[0] > seen[1]

    return [a.ended() if a.open and gone(a) else a for a in found]


def _not_found_again(
    stored: Sequence[Anomaly], found: list[Anomaly], inputs: list[SeriesInput]
) -> list[Anomaly]:
    """The stored open episodes of the series read that the read went past (by more than the
    pause an episode may take, ``EPISODE_GAP`` of its steps) without finding them go on,
    ended at their last point: the app closed, or the cluster stopped answering, while
    they went on, and nothing since said they ended (else open for good: current in every
    incident and capture, never purged, and a breach days later taken for their sequel)."""
    again = {a.identity for a in found}
    reads = {(i.cluster, i.metric, series_key(i.labels)): i.ts for i in inputs}
    out = []
    for a in stored:
        ts = reads.get((a.cluster, a.metric, series_key(a.labels)))
        if not a.open or a.identity in again or ts is None or ts.size < 2:
            continue
        step = float(np.median(np.diff(ts)))
        if float(ts[-1]) > (a.last_at or a.timestamp).timestamp() + (EPISODE_GAP + 1) * step:
            out.append(a.ended())
    return out


def _worst_first(a: Anomaly) -> tuple[int, float]:
    """How bad a finding of an episode is, the worst lowest: more severe, or as severe by a
    higher score, as the store keeps an episode's worst (``AnomalyRepository.save``, where a
    tie keeps the finding stored: a rule's score is the same all along its breach). By
    severity alone, a rule's breach that outlasts the buffer (79 C, then 71 C for hours,
    both HIGH) was at whatever is worst in the buffer now, at its left edge, moving every
    round, while the list kept 79 C."""
    return a.severity.rank, -a.score


def _never_less_severe(found: list[Anomaly], earlier: Iterable[Anomaly]) -> list[Anomaly]:
    """``found`` with each episode that an ``earlier`` finding of it (a round before, the
    store) found as bad or worse (``_worst_first``) kept at that finding, worst point and
    reason, as far as ``found`` saw it go: a round sees the buffer only, and once an
    episode's worst part (a GPU at 85 C, CRITICAL) has left it, the rest (75 C for hours)
    would grade it lower on the chart and in what counts now than in the list. Found worse,
    an episode names the alerts the earlier findings named too (one that fired with it and
    resolved since is still related), as the store keeps them."""
    worst: dict[str, Anomaly] = {}
    named: dict[str, list[str]] = {}
    for a in earlier:
        if (was := worst.get(a.identity)) is None or _worst_first(a) < _worst_first(was):
            worst[a.identity] = a
        named.setdefault(a.identity, []).extend(a.related_alerts)
    out = []
    for a in found:
        # the earlier finding unless this one is worse, as the store keeps it
        if (was := worst.get(a.identity)) is not None and _worst_first(a) >= _worst_first(was):
            kept = was.extended(a)
        else:
            kept = a
        # the earlier ones' first, as the store keeps them (a name keeps its place)
        out.append(kept.naming([*named.get(a.identity, ()), *a.related_alerts]))
    return out


def _spans(stored: list[Anomaly]) -> tuple[tuple[float, float], ...]:
    """Stored episodes as detection takes them (``SeriesInput.episodes``): (first point,
    last point found). One still open too ends at its last point found (detection joins a
    breach that far and ``EPISODE_GAP`` of the series' steps past it): open is what it was
    when last found, not that it went on since (a breach a week later is another)."""
    return tuple(
        (a.started_at.timestamp(), (a.last_at or a.timestamp).timestamp())
        for a in stored
        if a.started_at is not None
    )


def _holding_s(stamps: list[np.ndarray], points: int) -> float:
    """How far back holds ``points`` samples at the slowest step of the series read
    (``stamps``), a tenth more: a missed poll leaves a gap."""
    steps = [float(np.median(np.diff(ts))) for ts in stamps if ts.size > 1]
    step = max((s for s in steps if np.isfinite(s) and s > 0), default=0.0)
    return points * step * 1.1


def _warm_up_s(stamps: list[np.ndarray]) -> float:
    """How far back new series learn from: WARM_UP, or what holds PROBATION samples at
    their slowest step (a cluster polled every 2 min needs 25 h), at most WARM_UP_MOST."""
    need = _holding_s(stamps, PROBATION)
    return min(max(WARM_UP.total_seconds(), need), WARM_UP_MOST.total_seconds())


def _joined(
    before: tuple[np.ndarray, np.ndarray], read: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """A series' stored samples ``before`` a read, then the read (times, values): a sample
    both hold is the read's."""
    if not read[0].size:
        return read
    older = before[0] < read[0][0]
    return (np.concatenate((before[0][older], read[0])),
            np.concatenate((before[1][older], read[1])))  # fmt: skip


class AnomalyService:
    def __init__(
        self,
        repo: AnomalyRepository,
        bus: EventBus,
        *,
        live: LiveBuffers,
        series: SeriesStore,
        catalog: list[Panel],
        sensitivity: Sensitivity = Sensitivity.MEDIUM,
        clock: Callable[[], datetime] = utcnow,
        isolated: bool = False,
        recorded: bool = False,
    ) -> None:
        """``isolated``: detect in a process of its own (the window and the wall);
        ``recorded``: over a capture (no live round runs: what was going on at its end is
        what it stored open)."""
        self._recorded = recorded
        self.clock = clock  # "now": the end of a capture when one is open
        self.repo = repo
        self._bus = bus
        self._live = live
        self._series = series
        self._panels = {p.id: p for p in catalog}
        self.sensitivity = sensitivity
        #: brings ``sensitivity`` to what settings.json holds now, before each live round
        #: (``SettingsService.follow_sensitivity``; None: none kept, a capture's)
        self.before_round: Callable[[], Awaitable[None]] | None = None
        self._worker = DetectWorker(isolated=isolated)
        self._by_panel: dict[tuple[str, str], list[Anomaly]] = {}
        #: per (cluster, panel), the episodes its last live round found still going on
        self._open: dict[tuple[str, str], list[Anomaly]] = {}
        self._analysed: dict[tuple[str, str], tuple[int, float]] = {}
        #: per (cluster, panel), the series its last live round followed (a series gone from
        #: the buffer is dropped here: the set never outgrows what is polled)
        self._streamed: dict[tuple[str, str], set[SeriesKey]] = {}
        self._owner = uuid.uuid4().hex  # whose live detectors the worker keeps
        self._history_samples: dict[tuple[str, str], int] = {}
        #: per (cluster, panel), (too short, partly judged) of the last history analysis
        self._history_judged: dict[tuple[str, str], tuple[int, int]] = {}
        #: per (cluster, panel), how far earlier runs judged it (the store's mark when this
        #: service's detectors started): episodes that ended by then and were not found then
        #: are not reported (``SeriesInput.judged_until``)
        self._judged_before: dict[tuple[str, str], float | None] = {}
        #: per (cluster, panel), the newest sample this service's live rounds judged, to mark
        self._judged: dict[tuple[str, str], float] = {}
        self._generation = self._worker.generation
        #: per (cluster, panel), why its last live round failed (cleared when one succeeds)
        self.failed: dict[tuple[str, str], str] = {}
        #: per (cluster, panel), the series its last live round's detectors declined (their
        #: set full, ``detector_limit``: only the domain rules judged them), to be said: a log
        #: line alone said it, and "No anomaly found" stood for series nobody looked at
        self.unjudged: dict[tuple[str, str], int] = {}
        self.detector_limit = MAX_SERIES
        #: clusters removed (``forget_clusters``), each with the count of removals then: a
        #: round that began before a removal keeps nothing of the removed cluster's
        self._removals = 0
        self._removed: dict[str, int] = {}
        #: the alerts firing now per cluster (the poller's last answers): an anomaly names
        #: those firing with it at its place (PRODUCT: "related alerts")
        self._alerts: dict[str, list[Alert]] = {}
        #: whether this service's live rounds run (``run_live``): a window or wall beside the
        #: process that runs the cache's (``one_per_cache``) waits and runs none; what counts
        #: now and its charts' markers are then what the other stored
        self.detecting = False
        bus.subscribe(ALERTS_CHANGED, self._alerts_now)

    def _alerts_now(self, alerts: dict[str, list[Alert]]) -> None:
        self._alerts = alerts

    @property
    def degraded(self) -> str | None:
        """Why detection runs in the window's own process though it was to run in its own
        (``DetectWorker.degraded``: its process died or could not start); None: it does not."""
        return self._worker.degraded

    def shortfalls(self, clusters: Collection[str] = ()) -> list[str]:
        """What live detection does not do as it should now, for people (the Anomalies page;
        Diagnostics says it by panel): ``degraded``, and the series of ``clusters`` (none
        named: all) no detector judges (``unjudged``)."""
        out = [self.degraded] if self.degraded else []
        count = sum(n for (c, _), n in self.unjudged.items() if not clusters or c in clusters)
        if count:
            out.append(unjudged_text(count, self.detector_limit))
        return out

    # -- the one chokepoint to the worker --------------------------------------------------
    async def analyse(
        self,
        inputs: list[SeriesInput],
        *,
        sensitivity: Sensitivity | None = None,
        methods: Iterable[AnomalyMethod] | None = None,
        unit: str | None = None,
        stream: bool = False,
        keep: bool = True,
        stored: Sequence[Anomaly] = (),
        report_from: float | None = None,
    ) -> list[Anomaly]:
        """Detect off the loop, store, publish the new ones; returns every anomaly found.
        ``report_from`` (unix s): what ends before it was read for the detectors to learn
        from (a one-off analysis' lead), not asked about: neither kept nor returned.
        ``stream``: the live path (each series' detector judges only samples it has not seen,
        and is kept in the worker between calls); ``keep``: False for a look that must
        change nothing (the assistant's read-only tool: what it finds joins no incident);
        ``stored``: the stored episodes that may reach into the read (``_stored_episodes``):
        an open one the read does not find going on is stored ended (``_not_found_again``)."""
        removals = self._removals
        found = await self._worker.run(
            # an XID graded as the GPU page grades its code (analysis reads no file)
            functools.partial(detect_all, xids=xid_table()),
            inputs,
            sensitivity or self.sensitivity,
            tuple(methods) if methods is not None else None,
            unit,
            self._owner if stream else None,
        )
        if report_from is not None:
            found = [a for a in found if (a.last_at or a.timestamp).timestamp() >= report_from]
        found = await self._with_related(found)
        # a cluster removed while the worker ran: its stored anomalies' delete is queued
        # already, and what this round saved after it would come back (to a cluster added
        # later under the name too)
        gone = self._removed_since(removals, {i.cluster for i in inputs} if stream else ())
        found = [a for a in found if a.cluster not in gone]
        if stream:  # an episode nothing reports on any more is not going on: stored ended
            found = _silent_ended(found, inputs)
        ended = [a for a in _not_found_again(stored, found, inputs) if a.cluster not in gone]
        panels = {(i.cluster, i.metric) for i in inputs}
        held = [a for k in panels for a in (*self._open.get(k, ()), *self._by_panel.get(k, ()))]
        found = _never_less_severe(found, [*stored, *held])
        if (found or ended) and keep:
            new = await asyncio.wrap_future(self.repo.save([*found, *ended]))
            if new:
                log.info("anomalies found", extra={"new": len(new), "found": len(found)})
                self._bus.publish(ANOMALIES_FOUND, [a for a in found if a.identity in new])
        return found

    async def _with_related(self, found: list[Anomaly]) -> list[Anomaly]:
        """``found``, each naming the alerts firing with it at its place (beside those it
        named), matched in a thread: hundreds of anomalies over thousands of alerts is
        seconds of work, and this loop is the UI's."""
        alerts = [a for c in {a.cluster for a in found} for a in self._alerts.get(c, ())]
        if not alerts:
            return found
        return await asyncio.to_thread(_with_related, found, alerts)

    def _removed_since(self, removals: int, polled: Collection[str] = ()) -> set[str]:
        """The clusters removed since the count of removals was ``removals``, and those of
        ``polled`` (a live round's, read from the buffers) no longer polled: Core drops a
        removed cluster's buffers at once, and spawns ``forget_clusters``, which may run
        after the round resumes."""
        gone = {name for name, at in self._removed.items() if at > removals}
        return gone | (set(polled) - set(self._live.clusters()))

    # -- live: the polled panels -----------------------------------------------------------
    async def analyse_live(self, *, force: bool = False) -> int:
        """Re-analyse each (cluster, panel) whose buffer moved (at most once a minute), at
        the sensitivity the settings hold now (``before_round``)."""
        if self.before_round is not None:
            await self.before_round()
        if self._worker.generation != self._generation:  # detection moved: its detectors too
            self._generation = self._worker.generation
            forget_streams(self._owner)  # those a thread of this process kept (it ran here)
            await self.forget_live()  # each series learns again, from stored history
        now = time.monotonic()
        count = 0
        clusters = self._live.clusters()
        polled = set(clusters)  # a cluster removed: its episodes are not going on
        self._open = {k: v for k, v in self._open.items() if k[0] in polled}
        for key in [k for k in self.unjudged if k[0] not in polled]:
            del self.unjudged[key]  # (in place: Diagnostics holds it)
        for cluster in clusters:
            for panel in self._panels.values():
                key = (cluster, panel.id)
                version = self._live.panel_version(cluster, panel.id)
                last = self._analysed.get(key)
                if last is not None and (
                    last[0] == version or (not force and now - last[1] < LIVE_EVERY_S)
                ):
                    continue
                self._analysed[key] = (version, now)
                try:
                    count += await self._analyse_panel(cluster, panel)
                except Exception as exc:  # one panel's failure leaves the others judged
                    self.failed[key] = f"{type(exc).__name__}: {exc}"
                    self._open.pop(key, None)  # not known to go on while it cannot be judged
                    log.exception("live detection of %s on %s failed; the other panels go on",
                                  panel.id, cluster)  # fmt: skip
                else:
                    self.failed.pop(key, None)
        await self._mark_judged()
        return count

    async def _mark_judged(self) -> None:
        """Store how far each panel has been judged (only what moved since the last mark)."""
        polled = set(self._live.clusters())  # a cluster removed during the round is not:
        # its buffers go at once, its marks' delete is queued then, and a mark written after
        # it would hide a cluster added again under its name's first hour
        moved = [(c, p, t) for (c, p), t in self._judged.items() if c in polled]
        self._judged.clear()
        if moved:
            await asyncio.wrap_future(self.repo.mark_judged(moved))

    async def _analyse_panel(self, cluster: str, panel: Panel) -> int:
        key = (cluster, panel.id)
        removals = self._removals
        snap = self._live.snapshot(cluster, panel.id)
        if key not in self._judged_before:
            self._judged_before[key] = await asyncio.to_thread(self.repo.judged_until, *key)
        inputs, stored = await self._with_history(cluster, panel.id, snap.series)
        try:
            found = await self.analyse(inputs, unit=panel.unit or None, stream=True,
                                       stored=stored)  # fmt: skip
        except Exception:
            # a failed round's declines are its own: dropped, not charged to the next panel
            with contextlib.suppress(Exception):
                await self._worker.run(take_declined, self._owner)
            raise
        # asked after each panel's round: what was declined since is this panel's series
        declined, self.detector_limit = await self._worker.run(take_declined, self._owner)
        if cluster in self._removed_since(removals, (cluster,)):  # removed meanwhile
            self._judged_before.pop(key, None)  # read before its delete: not the new one's
            return 0
        if declined:
            self.unjudged[key] = declined
        else:
            self.unjudged.pop(key, None)
        newest = max((float(i.ts[-1]) for i in inputs if i.ts.size), default=None)
        if newest is not None:
            self._judged[key] = newest
        self._by_panel[key] = _still_shown(self._by_panel.get(key, []), found, inputs)
        self._open[key] = [a for a in found if a.open]
        return len(found)

    def still_open(self) -> list[Anomaly]:
        """The episodes the live rounds last found still going on, however long ago their
        worst point was (an incident reads the store's last hour by worst point: a breach
        that peaked early and lasts was dropped from it after an hour, and resolved); only
        of panels analysed within STILL_OPEN_WITHIN_S (a panel nothing new arrives for is
        not known to be going on)."""
        now = time.monotonic()
        recent = {k for k, (_, at) in self._analysed.items() if now - at <= STILL_OPEN_WITHIN_S}
        return [a for key, found in self._open.items() if key in recent for a in found]

    async def current(self, within: timedelta) -> list[Anomaly]:
        """The anomalies that count now (the fleet's findings, the incidents): the stored
        ones whose worst point is within ``within`` of now, and every episode still going on
        however long ago its worst point was: the live rounds' own (``still_open``), and
        where no live round runs here, those stored open (``_stored_going``)."""
        since = (self.clock() - within).timestamp()
        recent = await self.stored(AnomalyFilter(since=since, limit=CURRENT_MOST))
        going = self.still_open()
        if self._recorded or not self.detecting:
            going += await self._stored_going()
        out: dict[str, Anomaly] = {}
        for a in [*going, *recent]:  # the live round's own copy first ...
            if (held := out.get(a.identity)) is None:
                out[a.identity] = a
            elif _worst_first(a) < _worst_first(held):  # ... unless stored worse
                out[a.identity] = a.extended(held)
        return list(out.values())

    async def _stored_going(self) -> list[Anomaly]:
        """The episodes stored open that go on, for a process that runs no live round: on a
        capture, those it stored open at the end of its data (a GPU hot for the capture's two
        hours peaked more than an hour before its end); beside the process that runs the
        cache's live detection, those whose last point found is within STILL_OPEN_WITHIN_S
        of now, as that one's rounds find them going on (an episode stays stored open when
        its breach stops with no round to read past it, or its process ends: for good)."""
        stored = await self.stored(AnomalyFilter(open_only=True, limit=CURRENT_MOST))
        if self._recorded:
            return stored
        since = self.clock().timestamp() - STILL_OPEN_WITHIN_S
        return [a for a in stored if (a.last_at or a.timestamp).timestamp() >= since]

    async def _with_history(
        self, cluster: str, panel: str, buffers: dict[SeriesKey, tuple[np.ndarray, np.ndarray]]
    ) -> tuple[list[SeriesInput], list[Anomaly]]:
        """The buffers as detection inputs; a series the live detector has not followed yet
        gets the store's history before its buffer too (``_warm_up_s``), so its detector
        learns from history instead of reporting nothing for its first ``PROBATION``
        samples. With them, the stored episodes that may reach into those series' reads."""
        followed = self._streamed.get((cluster, panel), set())
        fresh = [k for k in buffers if k not in followed and buffers[k][0].size]
        history: dict[SeriesKey, tuple[np.ndarray, np.ndarray]] = {}
        if fresh:
            first = min(float(buffers[k][0][0]) for k in fresh)
            back = _warm_up_s([buffers[k][0] for k in fresh])
            stored = await asyncio.to_thread(
                self._series.read, panel, cluster=cluster,
                start_ms=int((first - back) * 1000), end_ms=int(first * 1000),
            )  # fmt: skip
            # for the new series only: one pod appearing does not make the panel's followed
            # series judge hours of history again (their detectors saw it)
            wanted = set(fresh)
            history = {
                key: (s.timestamps_ms / 1000.0, np.asarray(s.values))
                for s in stored
                if (key := series_key(s.labels)) in wanted
            }
        self._streamed[(cluster, panel)] = {k for k, (ts, _) in buffers.items() if ts.size}
        inputs = []
        reads: dict[SeriesKey, tuple[np.ndarray, np.ndarray]] = {}
        for labels, read in buffers.items():
            before = history.get(labels)
            reads[labels] = _joined(before, read) if before is not None else read
        # a fresh series' detector has no last round: an episode its read cuts goes on with
        # the stored one that covered the read's first sample (a restart, a worker fallback)
        cut = {k: reads[k][0] for k in fresh}
        episodes = await self._stored_episodes(cluster, panel, cut) if cut else {}
        judged = self._judged_before.get((cluster, panel))
        for labels, whole in reads.items():
            inputs.append(SeriesInput(cluster, panel, dict(labels), *whole,
                                      episodes=_spans(episodes.get(labels, [])),
                                      judged_until=judged))  # fmt: skip
        return inputs, [a for found in episodes.values() for a in found]

    async def with_episodes(
        self, cluster: str, metric: str, reads: list[tuple[dict[str, str], np.ndarray, np.ndarray]]
    ) -> tuple[list[SeriesInput], list[Anomaly]]:
        """The series read of one cluster (labels, times, values) as detection takes them,
        each with the stored episodes that may reach into it, and those episodes (what
        ``analyse`` takes as ``stored``). An episode the read's start cuts is the stored one
        that covered that moment: each click of a history analysis, each run of the CLI's
        analyse, reads from a later start, and each stored a new anomaly, marked open (begun
        at its window's first sample), that nothing ever ended."""
        times = {series_key(labels): ts for labels, ts, _ in reads}
        episodes = await self._stored_episodes(cluster, metric, times)
        inputs = [
            SeriesInput(cluster, metric, labels, ts, values,
                        episodes=_spans(episodes.get(series_key(labels), [])))
            for labels, ts, values in reads
        ]  # fmt: skip
        return inputs, [a for held in episodes.values() for a in held]

    async def _stored_episodes(
        self, cluster: str, panel: str, reads: dict[SeriesKey, np.ndarray]
    ) -> dict[SeriesKey, list[Anomaly]]:
        """The stored episodes of the series read (``reads``: their times) that may reach
        into the read, by series."""
        times = [ts for ts in reads.values() if ts.size]
        if not times:
            return {}
        flt = AnomalyFilter(clusters=(cluster,), metric=panel,
                            started_until=max(float(ts[-1]) for ts in times),
                            lasting_since=min(float(ts[0]) for ts in times) - REACH_S,
                            limit=CURRENT_MOST)  # fmt: skip
        out: dict[SeriesKey, list[Anomaly]] = {}
        for a in await self.stored(flt):
            key = series_key(a.labels)
            if a.started_at is not None and key in reads:
                out.setdefault(key, []).append(a)
        return out

    async def run_live(self, interval_s: float = LIVE_EVERY_S / 4) -> None:
        """The supervisor's task: keep analysing what the poller brings. A round that fails
        (a store that cannot be read or written, a defect) is logged and the next one runs:
        one bad round never ends live detection."""
        self.detecting = True
        try:
            while True:
                try:
                    await self.analyse_live()
                except Exception:
                    log.exception("a live detection round failed; the next one runs as usual")
                await asyncio.sleep(interval_s)
        finally:
            self.detecting = False

    def for_panel(self, cluster: str, panel: str) -> list[Anomaly]:
        """What the chart of this panel marks: the latest findings held in memory (the live
        ones, an on-demand analysis, or what ``load_stored`` read); never a store read."""
        return self._by_panel.get((cluster, panel), [])

    async def stored(self, flt: AnomalyFilter) -> list[Anomaly]:
        """The stored anomalies matching ``flt``, read off the loop."""
        return await asyncio.to_thread(self.repo.list, flt)

    async def listed(self, flt: AnomalyFilter) -> tuple[list[Anomaly], dict[AnomalySeverity, int]]:
        """What a list of ``flt`` shows, read off the loop in one hop: the newest rows and
        the filter's most severe (CRITICAL, HIGH) beside them, newest first (a CRITICAL an
        hour old is never pushed out by newer LOW findings), and how many the store holds of
        each severity for ``flt`` (of all it selects, not of the rows read)."""

        def read() -> tuple[list[Anomaly], dict[AnomalySeverity, int]]:
            rows = self.repo.list(flt)
            wanted = flt.severities or tuple(AnomalySeverity)
            if serious := tuple(s for s in wanted if s.serious):
                listed = {a.identity for a in rows}
                severe = self.repo.most_severe(replace(flt, severities=serious))
                rows += [a for a in severe if a.identity not in listed]
                rows.sort(key=lambda a: a.timestamp, reverse=True)
            return rows, self.repo.count_by_severity(flt)

        return await asyncio.to_thread(read)

    async def load_stored(
        self, cluster: str, panels: Iterable[str] | None = None, *, limit_per_panel: int = 200
    ) -> set[str]:
        """Fill the markers of a cluster's panels (``panels``: all) from the store (what
        earlier runs found), where nothing newer is held in memory; where no live round runs
        here (``detecting``), read again each time: what the process running the cache's
        live detection finds reaches this one through the store only. Returns the panels
        whose markers changed."""
        moved = set()
        for panel in self._panels if panels is None else panels:
            key = (cluster, panel)
            if self.detecting and key in self._by_panel:
                continue
            flt = AnomalyFilter(clusters=(cluster,), metric=panel, limit=limit_per_panel)
            stored = await self.stored(flt)
            # a live round that began meanwhile found newer; else nothing moved
            if key in self._by_panel and (self.detecting or self._by_panel[key] == stored):
                continue
            self._by_panel[key] = stored
            moved.add(panel)
        return moved

    # -- on demand: stored history ---------------------------------------------------------
    async def analyse_history(
        self,
        cluster: str,
        panel: str,
        *,
        since: timedelta = ANOMALY_LOOKBACK,
        sensitivity: Sensitivity | None = None,
    ) -> list[Anomaly]:
        """'Analyse the last 24 h of this panel' over what the store holds, and the samples
        the detectors learn from before it (``analysis.detect.lead_points``), read as the
        CLI's analyse and the assistant's tool read them: else the detector's first 750
        (12.5 h at a 60 s step) were learnt from, never judged, and said clean. What lies in
        that lead is not reported; ``history_judged`` says which series the store's history
        did not reach it for."""
        window_from = self.clock().timestamp() - since.total_seconds()
        unit = (self._panels[panel].unit if panel in self._panels else None) or None
        methods = profile_for(panel, unit).methods
        lead = lead_points(methods)[1]
        window = await asyncio.to_thread(
            self._series.read, panel, cluster=cluster, start_ms=int(window_from * 1000)
        )
        reads = {series_key(s.labels): (s.timestamps_ms / 1000.0, np.asarray(s.values))
                 for s in window}  # fmt: skip
        if lead and reads:
            back = min(_holding_s([ts for ts, _ in reads.values()], lead),
                       WARM_UP_MOST.total_seconds())  # fmt: skip
            before = await asyncio.to_thread(
                self._series.read, panel, cluster=cluster,
                start_ms=int((window_from - back) * 1000), end_ms=int(window_from * 1000),
            )  # fmt: skip
            for s in before:  # the series read in the window only: nothing else is asked of
                if (key := series_key(s.labels)) in reads:
                    reads[key] = _joined((s.timestamps_ms / 1000.0, np.asarray(s.values)),
                                         reads[key])  # fmt: skip
        inputs, stored = await self.with_episodes(
            cluster, panel, [(dict(key), ts, values) for key, (ts, values) in reads.items()]
        )
        self._history_samples[(cluster, panel)] = max((i.values.size for i in inputs), default=0)
        self._history_judged[(cluster, panel)] = judged_short(inputs, methods, window_from)
        found = await self.analyse(inputs, sensitivity=sensitivity, unit=unit, stored=stored,
                                   report_from=window_from)  # fmt: skip
        self._by_panel[(cluster, panel)] = found
        return found

    def history_samples(self, cluster: str, panel: str) -> int | None:
        """The longest series the last history analysis of this panel read, its lead with it
        (None: none ran): below ``LEARNS_FROM`` the detector only learnt from it."""
        return self._history_samples.get((cluster, panel))

    def history_judged(self, cluster: str, panel: str) -> tuple[int, int] | None:
        """(too short, partly judged) of the last history analysis of this panel (None: none
        ran), as the CLI's analyse says them (``analysis.detect.judged_short``): series
        none of whose points the statistics judged, and those the store's history did not
        hold the lead before the window for (its start only learnt from)."""
        return self._history_judged.get((cluster, panel))

    async def forget_clusters(self, names: Collection[str]) -> None:
        """A removed cluster's state (``names``: the names its data went by): its panels'
        episodes, rounds and failures, and the live detectors. Those go all at once (the
        worker keeps them by series, in its own process; every series then learns again from
        the store's history, as after a restart): one added later under the name must not
        go on from the removed one's."""
        self._removals += 1  # before any wait: a round resuming meanwhile keeps none of it
        self._removed.update(dict.fromkeys(names, self._removals))
        await self.forget_live()
        for table in (self._by_panel, self._open, self._analysed, self._history_samples,
                      self._history_judged, self._judged, self.failed,
                      self.unjudged):  # fmt: skip
            for key in [k for k in table if k[0] in names]:
                del table[key]

    async def forget_live(self) -> None:
        """Drop the live detectors the worker keeps for this service (they learn again, from
        the store's history, when the series are next analysed)."""
        self._judged_before.clear()  # new detectors: judged until where the store says
        if self._streamed:  # else the worker holds none (and need not be started)
            await self._worker.run(forget_streams, self._owner)
            self._streamed.clear()

    def close(self) -> None:
        self._worker.close()


def _with_related(found: list[Anomaly], alerts: Iterable[Alert]) -> list[Anomaly]:
    """``found``, each naming the ``alerts`` firing with it at its place, beside those it
    named (each alert placed once, ``RelatedAlerts``)."""
    related = RelatedAlerts(alerts)
    return [a.naming([*a.related_alerts, *related.of(a)]) for a in found]
