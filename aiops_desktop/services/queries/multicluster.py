"""One PromQL over many clusters in parallel; a failed or slow cluster makes it PARTIAL.

Each series is tagged with its cluster. A fleet endpoint (Thanos querier, ACM hub,
VictoriaMetrics) answers for many clusters at once: its series are split by their ``cluster``
label. Range queries are aligned to the step, so series from different clusters share
timestamps and can be aggregated (SUM, AVG, MAX, MIN) point by point; MERGE keeps them apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from aiops_desktop.models import Aggregation, Cluster, ClusterKind, QueryStatus, QueryType, utcnow
from aiops_desktop.models.cluster import member_name
from aiops_desktop.models.errors import AppError
from aiops_desktop.models.metrics import (
    DEFAULT_PARALLEL_QUERIES,
    DEFAULT_RANGE,
    ClusterOutcome,
    MetricQuery,
    PromSeries,
    QueryAnswer,
    TaggedSeries,
)
from aiops_desktop.models.text import one_line
from aiops_desktop.services.clusters.connections import ClientPool, EndpointNotConfigured
from aiops_desktop.services.runtime.gathering import gather_all
from collectors.errors import CollectorError
from collectors.prometheus import STRING_RESULT

if TYPE_CHECKING:
    from collectors.prometheus import PromResult

log = logging.getLogger(__name__)
T = TypeVar("T")
FLEET_LABEL = "cluster"
#: the most of a cluster's warnings kept beside its answer (the rest counted), each one line
#: of at most so many characters: every reader shows them in a line of its own
MOST_OUTCOME_WARNINGS = 5
OUTCOME_WARNING_CHARS = 300
#: the most points a series Prometheus answers a range read (``exceeded maximum resolution
#: of 11,000 points per timeseries``); the step is raised so that no read asks for more
MOST_POINTS = 11_000
#: an answer of more series than this is split by member and de-duplicated off the event
#: loop, which in the app is the UI's (a hub's 300,000 series held it for seconds); a small
#: one is not worth a thread's hop
OFF_LOOP_SERIES = 2_000
#: told each cluster whose read answered, as it answers (by name), where a caller set it: the
#: fleet's findings refresh, whose clusters' findings are as old as each one's own last
#: answer, not the refresh's start (one dark cluster's wait made every healthy one STALE).
#: A context variable: the runs a caller awaits, and their tasks, inherit it
ANSWERED: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "answered", default=None
)
_REDUCERS: dict[Aggregation, Any] = {
    Aggregation.SUM: np.nansum,
    Aggregation.AVG: np.nanmean,
    Aggregation.MAX: np.nanmax,
    Aggregation.MIN: np.nanmin,
}


def _note_answered(cluster: str) -> None:
    """Tell whoever set ``ANSWERED`` that ``cluster``'s read answered now."""
    told = ANSWERED.get()
    if told is not None:
        told(cluster)


def within_points(query: MetricQuery) -> tuple[MetricQuery, str | None]:
    """``query`` at a step coarse enough that Prometheus answers it, and the note that says
    so (None: it was). A range past 11,000 of its steps (8 days at a minute) was refused by
    every cluster: the whole query failed. The range aligned to the step may hold one step
    more than range/step, so the step is at least range/10,999, in whole seconds."""
    if query.query_type is not QueryType.RANGE:
        return query, None
    first, last, step = aligned_range(query)
    if (last - first) / step <= MOST_POINTS:
        return query, None
    end = (query.end or utcnow()).timestamp()
    start = (query.start or datetime.fromtimestamp(end, UTC) - DEFAULT_RANGE).timestamp()
    coarser = float(math.ceil((end - start) / (MOST_POINTS - 1)))
    note = (
        f"read at a step of {coarser:g}s, not {step:g}s: Prometheus answers at most "
        f"{MOST_POINTS:,} points a series"
    )
    return query.model_copy(update={"step": timedelta(seconds=coarser)}), note


def outcome_warnings(warnings: list[str]) -> list[str]:
    """A cluster's warnings as its outcome keeps them: a few, each one line, cut."""
    kept = [one_line(w)[:OUTCOME_WARNING_CHARS] for w in warnings[:MOST_OUTCOME_WARNINGS]]
    if len(warnings) > MOST_OUTCOME_WARNINGS:
        kept.append(f"… and {len(warnings) - MOST_OUTCOME_WARNINGS} more warnings")
    return kept


def aligned_range(query: MetricQuery) -> tuple[float, float, float]:
    step = query.step.total_seconds()
    end = (query.end or utcnow()).timestamp()
    start = (query.start or datetime.fromtimestamp(end, UTC) - DEFAULT_RANGE).timestamp()
    return (start // step) * step, (end // step) * step, step


def fleet_member(labels: dict[str, str], hub: str) -> tuple[str, dict[str, str]]:
    """The member a hub's series belongs to, and its labels without the ``cluster`` one. A
    label that is no plausible cluster name stays a label, and the series the hub's own."""
    member = member_name(labels.get(FLEET_LABEL))
    if member is None:
        return hub, dict(labels)
    return member, {k: v for k, v in labels.items() if k != FLEET_LABEL}


def split_fleet(result: PromResult, hub: Cluster) -> list[TaggedSeries]:
    """A hub's series, each tagged with its member (the hub's own: the hub)."""
    out = []
    for series in result.series:
        member, labels = fleet_member(series.labels, hub.name)
        out.append(TaggedSeries(member, PromSeries(labels, series.timestamps, series.values)))
    return out


def tagged_series(result: PromResult, cluster: Cluster) -> list[TaggedSeries]:
    """``cluster``'s series, each tagged with the cluster it is of (a hub's: its member)."""
    if cluster.kind is ClusterKind.FLEET:
        return split_fleet(result, cluster)
    return [TaggedSeries(cluster.name, s) for s in result.series]


async def off_loop_if_many(series: int, work: Callable[..., T], *args: Any) -> T:
    """``work(*args)``, in a worker thread where it goes over more than ``OFF_LOOP_SERIES``
    series: on the event loop it held the UI still."""
    if series > OFF_LOOP_SERIES:
        return await asyncio.to_thread(work, *args)
    return work(*args)


def read_once(
    results: list[tuple[ClusterOutcome, list[TaggedSeries]]], hubs: Collection[str]
) -> list[tuple[ClusterOutcome, list[TaggedSeries]]]:
    """A member the query also read from its own Prometheus is not taken from its hubs'
    answers too (it had each series twice: a SUM doubled, a NotReady node was two
    findings); where its own read failed, its hubs' copies are all there is. A member two
    hubs name (an ACM hub and a Thanos querier over the same fleet) is taken from one: each
    series of it from the first hub by name that has it (a series only the other has stays)."""
    answered = {o.cluster for o, _ in results if o.ok}
    taken: set[tuple[str, tuple[tuple[str, str], ...]]] = set()  # (member, labels) of a hub
    kept_of: dict[int, list[TaggedSeries]] = {}
    hubs_at = sorted(
        (i for i, (o, _) in enumerate(results) if o.cluster in hubs),
        key=lambda i: results[i][0].cluster,
    )
    for at in hubs_at:
        kept = []
        for t in results[at][1]:
            own = t.cluster == results[at][0].cluster  # the hub's own series
            if own or (t.cluster not in answered and (not taken or _labelled(t) not in taken)):
                kept.append(t)
        # only a later hub asks what was taken: a hub's 300,000 keys, made for nothing and
        # freed at once, held the event loop still (freeing holds the GIL) for 0.3 s
        if at != hubs_at[-1]:
            taken.update(_labelled(t) for t in kept)
        kept_of[at] = kept
    out = []
    for at, (outcome, tagged) in enumerate(results):
        if at not in kept_of:
            out.append((outcome, tagged))
            continue
        kept = kept_of[at]
        out.append((replace(outcome, series=len(kept)) if outcome.ok else outcome, kept))
    return out


def _labelled(tagged: TaggedSeries) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A series' member and labels, as read_once tells one hub's copy from another's."""
    return tagged.cluster, tuple(sorted(tagged.series.labels.items()))


def aggregate(series: list[TaggedSeries], how: Aggregation) -> list[TaggedSeries]:
    """Combine the clusters' series point by point, grouped by their (non-cluster) labels."""
    if how is Aggregation.MERGE:
        return series
    reducer = _REDUCERS[how]
    groups: dict[tuple[tuple[str, str], ...], list[TaggedSeries]] = defaultdict(list)
    for tagged in series:
        groups[tuple(sorted(tagged.series.labels.items()))].append(tagged)
    out = []
    for key, members in groups.items():
        stamps = np.unique(np.concatenate([m.series.timestamps for m in members]))
        grid = np.full((len(members), stamps.size), np.nan)
        for row, member in enumerate(members):
            grid[row, np.searchsorted(stamps, member.series.timestamps)] = member.series.values
        # a step no cluster has a value at (none answered it, or each said NaN) has none: a
        # p99 that does not exist is no 0 (np.nansum of nothing); elsewhere the clusters
        # with a value are combined (one that has no sample or a NaN there is left out)
        valued = ~np.isnan(grid).all(axis=0)
        values = np.full(stamps.size, np.nan)
        if valued.any():
            with np.errstate(all="ignore"):
                values[valued] = reducer(grid[:, valued], axis=0)
        clusters = sorted({m.cluster for m in members})
        out.append(TaggedSeries(",".join(clusters), PromSeries(dict(key), stamps, values)))
    return out


async def combined(
    series: list[TaggedSeries], how: Aggregation, keep: frozenset[str] | None = None
) -> list[TaggedSeries]:
    """The series of the clusters in ``keep`` (None: all of them), combined ``how``. The
    members not asked for are left out before, not after, the aggregation (an aggregate is
    tagged "a,b,c", no member's name); the aggregation runs off the event loop, which in the
    app is the UI's (thousands of series took seconds)."""
    if keep is not None:
        series = [s for s in series if s.cluster in keep]
    if how is Aggregation.MERGE:
        return series
    return await asyncio.to_thread(aggregate, series, how)


class _RunSlots:
    """One run's slots: the clusters it reads at once. One is taken only with the cluster's
    slot in hand, and without waiting (``take``): a read that finds none free gives its
    cluster's slot back and waits for one here (``free``), so no read waits holding a slot
    that another needs (and no two wait on each other: never a deadlock)."""

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiting: deque[asyncio.Future[None]] = deque()

    def take(self) -> bool:
        if self._free <= 0:
            return False
        self._free -= 1
        return True

    def give_back(self) -> None:
        self._free += 1
        self._wake()

    def pass_on(self) -> None:
        """A read woken for a free slot whose cluster has none now: another read of the run
        is told instead (its cluster may have one), so the slot does not sit unused."""
        if self._free > 0:
            self._wake()

    async def free(self) -> None:
        """Until one is free (not taken: the cluster's slot is taken first)."""
        if self._free > 0:
            return
        told = asyncio.get_running_loop().create_future()
        self._waiting.append(told)
        try:
            await told
        except asyncio.CancelledError:
            if told.done() and not told.cancelled():
                self._wake()  # told, then cancelled: the next one is told instead
            raise

    def _wake(self) -> None:
        while self._waiting:
            told = self._waiting.popleft()
            if not told.done():
                told.set_result(None)
                return


class MultiClusterQuery:
    def __init__(
        self,
        pool: ClientPool,
        *,
        parallel: int = DEFAULT_PARALLEL_QUERIES,
        slots_of: MultiClusterQuery | None = None,
    ) -> None:
        """``slots_of``: the engine whose per-cluster slots this one shares (one reading
        through other clients, as the assistant's tools do, still counts in its bound)."""
        self._pool = pool
        self._parallel = parallel
        self._shared = slots_of
        self._slots_loop: asyncio.AbstractEventLoop | None = None  # the loop _slots_of serves
        self._slots_of: dict[str, asyncio.Semaphore] = {}

    def _slots(self, cluster: Cluster) -> asyncio.Semaphore:
        """The ``parallel`` reads of ``cluster``'s Prometheus in flight at most, shared by every
        run of this engine: a bound per run alone let the GPU page's 25 runs at once send one
        Prometheus 25 times as many (a run still reads ``parallel`` clusters at a time, so a
        fleet's clusters are read side by side, not ten at a time in all). Only a cluster's
        read holds a slot (never a run that asks another), so none waits on itself. The set
        is the running event loop's, made anew on another: a semaphore waited on in one loop
        refuses every other (the CLI runs each command in an ``asyncio.run`` of its own), and
        holds it (a set kept per loop, even weakly, kept every loop ever asked on alive)."""
        if self._shared is not None:
            return self._shared._slots(cluster)
        loop = asyncio.get_running_loop()
        if loop is not self._slots_loop:
            self._slots_loop, self._slots_of = loop, {}
        slots = self._slots_of.get(cluster.name)
        if slots is None:
            slots = self._slots_of[cluster.name] = asyncio.Semaphore(self._parallel)
        return slots

    @contextlib.asynccontextmanager
    async def _both_slots(
        self, cluster: Cluster, run: _RunSlots, deadline: asyncio.Timeout
    ) -> AsyncIterator[float]:
        """``cluster``'s slot, then one of ``run``'s, held together for its read; the seconds
        waited for the run's (outside ``deadline``, the cluster's time) are given."""
        loop = asyncio.get_running_loop()
        slots = self._slots(cluster)
        queued = 0.0
        while True:
            if slots.locked():
                run.pass_on()  # its free slot may serve a cluster that has one
            await slots.acquire()
            if run.take():
                break
            slots.release()
            left = (deadline.when() or 0.0) - loop.time()
            deadline.reschedule(None)
            since = time.perf_counter()
            await run.free()
            queued += time.perf_counter() - since
            deadline.reschedule(loop.time() + left)
        try:
            yield queued
        finally:
            run.give_back()
            slots.release()

    async def run(self, query: MetricQuery, clusters: list[Cluster]) -> QueryAnswer:
        started = time.perf_counter()
        query, note = within_points(query)
        run = _RunSlots(self._parallel)  # clusters read at once by this run
        texts: dict[str, list[str]] = {}  # a cluster's string result (none: no string)
        window = aligned_range(query) if query.query_type is QueryType.RANGE else None

        async def one(cluster: Cluster) -> tuple[ClusterOutcome, list[TaggedSeries]]:
            t0 = time.perf_counter()
            try:
                # the client is made within the cluster's time too: its credential comes from
                # a keyring that may wait on its unlock prompt, which held every cluster's
                # answer (the console stayed "Running…"); and so is the wait for a slot of it
                # (the console's query waited behind the GPU page's runs on a slow Prometheus
                # before its own time began). The cluster's slot is taken first, then one of
                # the run's if one is free; else the cluster's is given back and one of the
                # run's waited for, outside the cluster's time (behind the run's dark
                # clusters, it is none of this one's). No read waits holding a slot: a run's
                # held waiting for a busy cluster's kept the run's healthy clusters waiting
                # behind it; a cluster's held waiting for the run's (39 runs at once in a
                # findings refresh) timed the other runs' reads of a healthy cluster out.
                async with (
                    asyncio.timeout(query.timeout_s + 5) as deadline,  # not wait_for (3.11)
                    self._both_slots(cluster, run, deadline) as queued_s,
                ):
                    t0 += queued_s  # the run's wait is none of the cluster's time
                    client = await self._pool.prometheus(cluster)
                    if window is None:
                        result = await client.query(
                            query.promql, query.end, timeout_s=query.timeout_s
                        )
                    else:
                        result = await client.query_range(
                            query.promql, *window, timeout_s=query.timeout_s
                        )
                _note_answered(cluster.name)
            except CollectorError as exc:
                return self._failed(cluster, t0, exc.reason, str(exc)), []
            except EndpointNotConfigured as exc:
                return self._failed(cluster, t0, "not_configured", str(exc)), []
            except TimeoutError:
                return self._failed(cluster, t0, "timed_out", f"{cluster.name} timed out"), []
            except AppError as exc:  # the keyring, for one: this cluster fails, not the query
                return self._failed(cluster, t0, "error", str(exc)), []
            except Exception as exc:  # a defect met on one cluster's answer: said, and
                # logged with its trace, but the other clusters' answers still come
                log.warning("query on %s failed", cluster.name, exc_info=True)
                return self._failed(cluster, t0, "error", f"{type(exc).__name__}: {exc}"), []
            tagged = await off_loop_if_many(len(result.series), tagged_series, result, cluster)
            ms = (time.perf_counter() - t0) * 1000
            # a string result's text is its whole answer, said as a note: no warning that
            # data may be missing (a complete answer read PARTIAL, the CLI exit 3)
            string = result.result_type == "string"
            text = [w for w in result.warnings if string and w.startswith(STRING_RESULT)]
            texts[cluster.name] = text
            said = outcome_warnings([w for w in result.warnings if w not in text])
            return ClusterOutcome(cluster.name, True, ms, len(tagged), warnings=said), tagged

        hubs = {c.name for c in clusters if c.kind is ClusterKind.FLEET}
        read = await gather_all(*(one(c) for c in clusters))
        results = await off_loop_if_many(sum(len(f) for _, f in read), read_once, read, hubs)
        outcomes = [o for o, _ in results]
        series = [s for _, found in results for s in found]
        ok = sum(o.ok for o in outcomes)
        # an answer with a warning that data may be missing may not be all; Prometheus's own
        # query annotations are shown but leave a complete answer SUCCESS
        missing = any(o.missing for o in outcomes)
        if ok == len(outcomes) and outcomes and not missing:
            status = QueryStatus.SUCCESS
        elif ok:
            status = QueryStatus.PARTIAL
        else:
            status = QueryStatus.ERROR
        return QueryAnswer(
            query=query,
            status=status,
            series=await combined(series, query.aggregation),
            outcomes=outcomes,
            duration_ms=(time.perf_counter() - started) * 1000,
            notes=([note] if note else [])
            + [f"{c.name}: {t}" for c in clusters for t in texts.get(c.name, [])],
        )

    @staticmethod
    def _failed(cluster: Cluster, t0: float, reason: str, error: str) -> ClusterOutcome:
        return ClusterOutcome(
            cluster.name, False, (time.perf_counter() - t0) * 1000, reason=reason, error=error
        )
