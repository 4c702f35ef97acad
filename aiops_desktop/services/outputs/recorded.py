"""The live pages inside a capture: when a capture is exported, the GPU, PTP and SR-IOV/DPDK
readers run once and every answer they got is kept with it (``RecordingQueries``); when it is
opened, the same queries are answered from those answers (``RecordedQueries``), so those pages
show the site as it was at export. A query that was not recorded says so; one for an earlier
moment gets only the samples it would have got then (RCA of a past moment reads no later one).
A query that failed at export for a cluster (a timeout) fails for it when the capture answers
it: a cluster not read then is not read, never read with nothing found. So does a cluster
whose Prometheus failed the export's check (never asked), every query the export's time to
record left unasked, and a cluster whose Kubernetes objects could not be read."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from aiops_desktop.models import Cluster, ClusterKind, QueryStatus, utcnow
from aiops_desktop.models.enums import QueryType
from aiops_desktop.models.errors import AppError
from aiops_desktop.models.metrics import (
    ClusterOutcome,
    MetricQuery,
    PromSeries,
    QueryAnswer,
    TaggedSeries,
)
from aiops_desktop.models.text import cut_line
from aiops_desktop.services.clusters.connections import ClientPool
from aiops_desktop.services.gpu_cnf.cnf import read_sriov_objects
from aiops_desktop.services.gpu_cnf.drift import DRIFT_OBJECTS
from aiops_desktop.services.gpu_cnf.gpu import read_gpu_fleet
from aiops_desktop.services.gpu_cnf.ptp import read_ptp_board
from aiops_desktop.services.gpu_cnf.sriov import read_dataplane
from aiops_desktop.services.intelligence.rca_topology import topology_queries
from aiops_desktop.services.kube.session import KubeSession
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from aiops_desktop.services.runtime.gathering import gather_all
from aiops_desktop.store import capture_load
from aiops_desktop.store.capture import CaptureError, unopenable_document
from aiops_desktop.store.capture_redact import redact_labels
from collectors.errors import CollectorError

log = logging.getLogger("aiops.services.recorded")
RECORDED_KEY = "recorded_answers"
OBJECTS_KEY = "recorded_objects"


def _key(query: MetricQuery) -> str:
    return f"{query.query_type.value} {query.promql}"


#: the key of a recorded query's failed clusters, beside its answer's (``_key``): rows of the
#: answer's own shape, [cluster, {"reason": ..., "error": ...}, [], []], so an app from before
#: they were kept opens the capture (it never asks this key) as it did, and a query the
#: export's time limit cut, which has these rows alone (no answer under its own key), says
#: "not recorded" there as before, never answered with nothing found
FAILED_PREFIX = "FAILED "

#: the reasons a failure is written with (the collectors' errors' ``reason``, and the
#: queries' own); a recorded failure's other reason reads as "error": a capture's reason goes
#: to the fleet, the CLI and reports as a token, never as text a file chose
FAILURE_REASONS = frozenset({
    "error", "auth_failed", "forbidden", "timed_out", "unreachable", "tls_untrusted",
    "invalid_query", "server_error", "rate_limited", "response_too_large", "bad_response",
    "invalid_config", "not_found", "gone", "not_configured", "nvidia_smi",
})  # fmt: skip
#: the most characters of a recorded failure's error read (one line: it is a fleet's
#: last_error, a CLI cell, a report's line)
FAILURE_ERROR_CHARS = 500


class RecordingQueries(MultiClusterQuery):
    """Asks for real (through ``inner``) and keeps each answer's series, and the clusters it
    failed for, with why."""

    def __init__(
        self,
        inner: MultiClusterQuery,
        pool: ClientPool,
        down: dict[str, ClusterOutcome] | None = None,
    ) -> None:
        """``down``: cluster -> why it is not asked (its Prometheus failed the export's check):
        every query records it failed, so an open counts it not read, never read with
        nothing found (a query it does not record says "not recorded": not counted)."""
        super().__init__(pool)
        self._inner = inner
        self._down = dict(down or {})
        #: why no query is asked any more (the export's time to record ran out), or None
        self._stopped: str | None = None
        self.answers: dict[str, list[TaggedSeries]] = {}
        self.failed: dict[str, list[ClusterOutcome]] = {}
        self._steps: dict[str, float] = {}  # a range answer's step (s)
        #: the range answers the last ``dump`` kept at a coarser step: one in how many steps
        self.thinned: dict[str, int] = {}

    async def run(self, query: MetricQuery, clusters: list[Cluster]) -> QueryAnswer:
        key = _key(query)
        if self._stopped is not None:  # asked of no one: failed for its clusters, as if cut
            failed = [self._timed_out(c, self._stopped) for c in clusters]
            if key not in self.answers:  # one answered before stands
                self.failed[key] = failed
            return QueryAnswer(query, QueryStatus.ERROR, [], failed, 0.0)
        asked = [c for c in clusters if c.name not in self._down]
        down = [self._down[c.name] for c in clusters if c.name in self._down]
        try:
            answer = (await self._inner.run(query, asked) if asked
                      else QueryAnswer(query, QueryStatus.ERROR, [], [], 0.0))  # fmt: skip
        except asyncio.CancelledError:
            # the export's time to record ran out while it was asked: its clusters were not
            # read (an open counts that), which is not a query never asked (it does not); an
            # answer it got before stands. Its failures alone: an empty answer under its key
            # reads as answered, nothing found, in an app from before failures were kept
            if key not in self.answers:
                why = "not answered within the export's time to record"
                self.failed[key] = [*(self._timed_out(c, why) for c in asked), *down]
            raise
        if down:  # the clusters not asked, failed as they failed the check
            outcomes = [*answer.outcomes, *down]
            status = QueryStatus.PARTIAL if any(o.ok for o in outcomes) else QueryStatus.ERROR
            answer = replace(answer, status=status, outcomes=outcomes)
        self.answers[key] = answer.series
        self.failed[key] = answer.failures
        if query.query_type is QueryType.RANGE:
            self._steps[key] = query.step.total_seconds()
        return answer

    def stop_asking(self, why: str) -> None:
        """Ask nothing more: every query asked from now on (a reader run again after the
        export's time to record ran out) records its clusters failed for ``why``, where it
        has no answer (the queries the time left unasked, which an open would say were "not
        recorded": not counted, and the cluster read as fine)."""
        self._stopped = why

    @staticmethod
    def _timed_out(cluster: Cluster, why: str) -> ClusterOutcome:
        return ClusterOutcome(cluster.name, False, 0.0, reason="timed_out",
                              error=f"{cluster.name}: {why}")  # fmt: skip

    def unread(self) -> dict[str, str]:
        """cluster -> why some of its recorded queries failed (its first error, and how many
        others), for the export to say: what the capture holds of it is not all."""
        errors: dict[str, dict[str, None]] = {}  # each cluster's distinct errors, in order
        for outcomes in self.failed.values():
            for o in outcomes:
                errors.setdefault(o.cluster, {})[o.error or o.reason or "not read"] = None
        out = {}
        for cluster, said in sorted(errors.items()):
            first, others = next(iter(said)), len(said) - 1
            out[cluster] = f"{first} (and {others} other errors)" if others else first
        return out

    def dump(self) -> str:
        """The answers as a capture keeps them (JSON), their labels redacted (what leaves the
        site carries no secret an exporter put in a label), within what an open reads: the
        longest range answers at a coarser step where their samples are more values than
        that (a week of 120 VFs a minute held 7.2 million; an open reads 6 million), said in
        the log and in ``thinned``; CaptureError where even one sample a series would not
        open."""
        rows = {key: [(t.cluster, redact_labels(t.series.labels), t.series) for t in series]
                for key, series in self.answers.items()}  # fmt: skip
        rows.update(_failure_rows(self.failed))
        grids = {key: _grid(self.answers[key], step) for key, step in self._steps.items()}
        steps = {key: max((int(g.max()) + 1 for g in found if g.size), default=1)
                 for key, found in grids.items()}  # fmt: skip
        most = _most_samples(rows, grids, steps)
        every = _thinning(steps, most)
        text = _json(rows, grids, every)
        why = _unopenable(text, rows)
        while why is not None and most > 1:  # within its values, not its bytes
            most = max(most // 2, 1)
            every = _thinning(steps, most)
            text = _json(rows, grids, every)
            why = _unopenable(text, rows)
        if why is not None:
            raise CaptureError(f"the capture's recorded answers would be refused when opened, "
                               f"even at one sample a series ({why}): not written; export a "
                               "shorter span or fewer clusters")  # fmt: skip
        self.thinned = {key: n for key, n in every.items() if n > 1}
        if self.thinned:
            steps_s = sorted({(self._steps[key], n) for key, n in self.thinned.items()})
            log.warning("the capture keeps %d recorded range answers at a coarser step (%s): "
                        "at their own step they hold more values than an open reads (at most "
                        "%s)", len(self.thinned),
                        ", ".join(f"every {timedelta(seconds=round(step * n))} instead of "
                                  f"{timedelta(seconds=round(step))}" for step, n in steps_s),
                        f"{capture_load.MOST_ITEMS:,}")  # fmt: skip
        return text


def _failure_rows(failed: dict[str, list[ClusterOutcome]]) -> Rows:
    """Each query's failed clusters as rows (``FAILED_PREFIX``), why redacted as a label is."""
    empty = PromSeries({}, np.array([], dtype=float), np.array([], dtype=float))
    return {
        FAILED_PREFIX + key: [
            (o.cluster, redact_labels({"reason": o.reason or "", "error": o.error or ""}), empty)
            for o in outcomes
        ]
        for key, outcomes in failed.items()
        if outcomes
    }


def _values(array: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in array.tolist()]


def _grid(series: list[TaggedSeries], step: float) -> list[np.ndarray]:
    """Each series' samples as steps before the answer's newest sample (0 its newest; the
    same step of every series the same number): thinned by it, the series of an answer keep
    the same moments, and the newest."""
    if not series:
        return []
    newest = max(float(t.series.timestamps.max(initial=-math.inf)) for t in series)
    return [np.floor((newest - t.series.timestamps) / step + 1e-6).astype(np.int64)
            for t in series]  # fmt: skip


def _thinning(steps: dict[str, int], most: int) -> dict[str, int]:
    """One in how many steps each range answer keeps (``steps``: how many it spans) for at
    most ``most`` samples a series: only those longer than that are thinned."""
    return {key: -(-n // most) for key, n in steps.items()}


Rows = dict[str, list[tuple[str, dict[str, str], PromSeries]]]


def _most_samples(rows: Rows, grids: dict[str, list[np.ndarray]], steps: dict[str, int]) -> int:
    """The most samples a range series may keep (``_thinning``) for the document to hold no
    more values than an open reads, counted as the open counts them: its commas, those of
    the document without samples and two a sample but the first of each series (1 where
    none is: what is still over is refused)."""
    fixed = _json(rows, {}, {}, samples=False).count(",")
    instant = sum(2 * max(s.timestamps.size - 1, 0) for key, found in rows.items()
                  if key not in grids for _, _, s in found)  # fmt: skip

    def within(most: int) -> bool:
        every = _thinning(steps, most)
        kept = sum(2 * max(int((g % every[key] == 0).sum()) - 1, 0)
                   for key, found in grids.items() for g in found if g.size)  # fmt: skip
        return fixed + instant + kept <= capture_load.MOST_ITEMS

    low, high = 1, max(steps.values(), default=1)
    while low < high:  # the longest answer whole, or the least thinning that is within
        middle = (low + high + 1) // 2
        low, high = (middle, high) if within(middle) else (low, middle - 1)
    return low


def _json(
    rows: Rows, grids: dict[str, list[np.ndarray]], every: dict[str, int], *, samples: bool = True
) -> str:
    """The recorded answers' document, a range answer's samples one in its ``every`` steps
    (``grids``: theirs), or none at all (``samples=False``: what the rest of it holds)."""

    def row(cluster: str, labels: dict[str, str], series: PromSeries,
            grid: np.ndarray | None, every: int) -> list[Any]:  # fmt: skip
        if not samples:
            return [cluster, labels, [], []]
        ts, vs = series.timestamps, series.values
        if grid is not None and every > 1:
            keep = grid % every == 0
            ts, vs = ts[keep], vs[keep]
        return [cluster, labels, ts.tolist(), _values(vs)]

    return json.dumps({
        key: [row(c, labels, s, grids[key][i] if key in grids else None, every.get(key, 1))
              for i, (c, labels, s) in enumerate(found)]
        for key, found in rows.items()
    })  # fmt: skip


def _unopenable(text: str, rows: Rows) -> str | None:
    """Why an open would refuse the recorded answers ``text`` (of ``rows``), or None."""
    count = sum(len(found) for found in rows.values())
    if count > MAX_RECORDED_SERIES:
        return f"{count:,} series; at most {MAX_RECORDED_SERIES:,}"
    return unopenable_document(RECORDED_KEY, text)


MAX_RECORDED_SERIES = 200_000  # series a capture's recorded answers may hold, all queries


def _tagged(row: Any) -> TaggedSeries:
    """One recorded series: [cluster, labels, timestamps, values], checked (a capture's
    documents are as hostile as the rest of it)."""
    if not (isinstance(row, list) and len(row) == 4):
        raise CaptureError("a recorded answer is not [cluster, labels, timestamps, values]")
    cluster, labels, stamps, values = row
    if not (
        isinstance(cluster, str)
        and isinstance(labels, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
        and isinstance(stamps, list)
        and isinstance(values, list)
        and len(stamps) == len(values)
    ):
        raise CaptureError(f"a recorded answer of {str(cluster)[:64]!r} is not well formed")
    try:
        times = np.asarray(stamps, dtype=float)
        numbers = np.asarray([math.nan if v is None else v for v in values], dtype=float)
    except (TypeError, ValueError) as exc:
        raise CaptureError(f"a recorded answer of {cluster[:64]!r} holds a non-number") from exc
    # nested lists ([[t, t]]) make a 2-D array, which every reader of the answer failed on
    if times.ndim != 1 or numbers.ndim != 1 or not np.isfinite(times).all():
        raise CaptureError(f"a recorded answer of {cluster[:64]!r} is not well formed: its "
                           "timestamps and values are not two lists of single finite times "
                           "and numbers")  # fmt: skip
    return TaggedSeries(cluster, PromSeries(dict(labels), times, numbers))


def _failures(
    rows: list[TaggedSeries], clusters: Collection[str] | None
) -> dict[str, tuple[str, str]]:
    """A query's failed clusters at export (``FAILED_PREFIX``): cluster -> (reason, error),
    checked: a failure holds no sample and says why; its reason one the app writes
    (``FAILURE_REASONS``, else "error"), its error one line of ``FAILURE_ERROR_CHARS`` at
    most; a row naming a cluster not in ``clusters`` (the capture's; None: any) is skipped."""
    out: dict[str, tuple[str, str]] = {}
    for row in rows:
        labels = row.series.labels
        if row.series.timestamps.size or set(labels) != {"reason", "error"}:
            raise CaptureError(f"a recorded failure of {row.cluster[:64]!r} is not well formed")
        if (clusters is not None and row.cluster not in clusters) or row.cluster in out:
            continue
        out[row.cluster] = _failure(labels["reason"], labels["error"])
    return out


def _failure(reason: str, error: str) -> tuple[str, str]:
    """A recorded failure as it is read: its reason one the app writes (``FAILURE_REASONS``,
    else "error"), its error one line of ``FAILURE_ERROR_CHARS`` at most."""
    return (reason if reason in FAILURE_REASONS else "error",
            cut_line(error, FAILURE_ERROR_CHARS))  # fmt: skip


class FailedAtExport(CollectorError):
    """A Kubernetes object list of a cluster whose objects the capture's export could not
    read (its API down, its time to record out): raised as the live read failed, with its
    reason, where a list never recorded (a capture made before failures were kept) says "not
    recorded"."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class RecordedObjects(dict[str, list[dict[str, Any]]]):
    """A capture's Kubernetes object lists (key -> objects, the key naming its cluster first);
    a list not recorded of a cluster whose objects could not be read at export (``failed``:
    cluster -> (reason, error)) is that failure (``FailedAtExport``), not "not recorded":
    ``KubeSession.objects`` asks whether a key is here, then for it."""

    def __init__(
        self, lists: dict[str, list[dict[str, Any]]], failed: dict[str, tuple[str, str]]
    ) -> None:
        super().__init__(lists)
        self.failed = failed

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or _object_cluster(key) in self.failed

    def __getitem__(self, key: str) -> list[dict[str, Any]]:
        cluster = _object_cluster(key)
        if super().__contains__(key) or cluster not in self.failed:
            return super().__getitem__(key)
        reason, error = self.failed[cluster]
        raise FailedAtExport(f"{error} (when the capture was made)", reason=reason)


def _object_cluster(key: object) -> str:
    """The cluster an object list's key names (``KubeSession.objects``: "NAME PATH ...")."""
    return str(key).split(" ")[0]


def recorded_objects(doc: Any) -> RecordedObjects:
    """The Kubernetes objects a capture recorded (key -> objects), and the clusters whose
    objects it could not read (``FAILED_PREFIX`` + cluster: [{"reason": ..., "error": ...}],
    a list of objects to an app from before they were kept, which never asks that key),
    checked; none for none."""
    if doc is None:
        return RecordedObjects({}, {})
    if not isinstance(doc, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(o, dict) for o in v)
        for k, v in doc.items()
    ):
        raise CaptureError("the capture's recorded Kubernetes objects are not well formed")
    failed: dict[str, tuple[str, str]] = {}
    for key, rows in doc.items():
        if not key.startswith(FAILED_PREFIX):
            continue
        match rows:
            case [{"reason": str(reason), "error": str(error), **rest}] if not rest:
                failed[key.removeprefix(FAILED_PREFIX)] = _failure(reason, error)
            case _:
                raise CaptureError(f"a recorded failure of {key[:64]!r} is not well formed")
    return RecordedObjects({k: v for k, v in doc.items() if not k.startswith(FAILED_PREFIX)},
                           failed)  # fmt: skip


class RecordedQueries(MultiClusterQuery):
    """Answers the recorded queries from the capture; nothing else, and never the network."""

    def __init__(
        self,
        pool: ClientPool,
        doc: Any,
        *,
        ends: datetime | None = None,
        clusters: Collection[str] | None = None,
    ) -> None:
        """``doc``: the recorded answers as the capture holds them (parsed JSON), or None;
        ``ends``: the capture's end, the moment they were recorded for (a query for it or
        later reads them whole; one for an earlier moment only what it would have got);
        ``clusters``: the capture's cluster names, the only ones a recorded failure is read
        for (None: any; the app passes none: its registry may not be loaded yet when this is
        made, and ``run`` reads a failure only of a cluster it is asked about, whose rows are
        bounded with the document's by MAX_RECORDED_SERIES)."""
        super().__init__(pool)
        self._ends = ends
        doc = doc if doc is not None else {}
        if not isinstance(doc, dict) or not all(isinstance(v, list) for v in doc.values()):
            raise CaptureError("the capture's recorded answers are not well formed")
        if sum(len(rows) for rows in doc.values()) > MAX_RECORDED_SERIES:
            raise CaptureError("the capture records more series than this app reads")
        answers = {str(key): [_tagged(row) for row in rows] for key, rows in doc.items()}
        known = None if clusters is None else set(clusters)
        self._at_export = {
            key.removeprefix(FAILED_PREFIX): _failures(rows, known)
            for key, rows in answers.items()
            if key.startswith(FAILED_PREFIX)
        }
        self._answers = {k: v for k, v in answers.items() if not k.startswith(FAILED_PREFIX)}

    def promql(self, kind: QueryType) -> list[str]:
        """The PromQL of ``kind`` recorded (those the capture answers), sorted."""
        prefix = f"{kind.value} "  # as ``_key`` writes them
        return sorted(k.removeprefix(prefix) for k in self._answers if k.startswith(prefix))

    async def run(self, query: MetricQuery, clusters: list[Cluster]) -> QueryAnswer:
        found = self._answers.get(_key(query))
        if found is None:
            failed = self._at_export.get(_key(query), {})  # cut by the export's time limit
            outcomes = [
                ClusterOutcome(c.name, False, 0.0, reason=failed[c.name][0],
                               error=failed[c.name][1] or None)
                if c.name in failed else
                ClusterOutcome(c.name, False, 0.0, reason="not_configured",
                               error=f"{c.name}: this query was not recorded in the capture")
                for c in clusters
            ]  # fmt: skip
            return QueryAnswer(query, QueryStatus.ERROR, [], outcomes, 0.0)
        serves = _serving(clusters)
        found = [t for t in found if serves(t.cluster)]  # the clusters asked, as live
        kept = list(found)
        query = self._as_of_the_capture(query)
        if self._asks_less(query):
            kept = [t for t in (_within(row, query) for row in found) if t is not None]
            over = self._answers.get(f"{QueryType.RANGE.value} {query.promql}")
            if not kept and query.query_type is QueryType.INSTANT and over:  # as it was then
                kept = [t for t in (_within(row, query) for row in over)
                        if t is not None and serves(t.cluster)]  # fmt: skip
        if found and not kept:  # recorded, but later than the moment asked about
            outcomes = [
                ClusterOutcome(c.name, False, 0.0, reason="not_configured",
                               error=f"{c.name}: the capture recorded this query's answer "
                                     f"only after the time asked about")
                for c in clusters
            ]  # fmt: skip
            return QueryAnswer(query, QueryStatus.ERROR, [], outcomes, 0.0)
        failed = self._at_export.get(_key(query), {})  # at export: failed again, as then
        tags = [t.cluster for t in kept]
        outcomes = [
            ClusterOutcome(c.name, False, 0.0, reason=failed[c.name][0],
                           error=failed[c.name][1] or None)
            if c.name in failed else
            ClusterOutcome(c.name, True, 0.0, series=sum(map(_serving([c]), tags)))
            for c in clusters
        ]  # fmt: skip
        ok = sum(o.ok for o in outcomes)
        status = (QueryStatus.SUCCESS if ok == len(outcomes) else
                  QueryStatus.PARTIAL if ok else QueryStatus.ERROR)  # fmt: skip
        return QueryAnswer(_at_recorded_step(query, kept), status, kept, outcomes, 0.0)

    def _asks_less(self, query: MetricQuery) -> bool:
        """Whether ``query`` asks for less than what was recorded: a moment before the
        capture's end, or a range from its own start (a handover of the last 30 minutes read
        the recorded hour's PTP compliance as its own)."""
        if query.end is None:
            return False
        if query.query_type is QueryType.RANGE and query.start is not None:
            return True
        return self._ends is not None and query.end < self._ends

    def _as_of_the_capture(self, query: MetricQuery) -> MetricQuery:
        """A range that ends after the capture's end (asked at the wall clock's now) is the
        same length of time ending at the capture's end, its now."""
        ends = self._ends
        if query.query_type is not QueryType.RANGE or ends is None or query.end is None:
            return query
        if query.end <= ends or query.start is None:
            return query
        return query.model_copy(update={"start": query.start - (query.end - ends), "end": ends})


def _at_recorded_step(query: MetricQuery, kept: list[TaggedSeries]) -> MetricQuery:
    """A range ``query`` as its recorded answer answers it: at the step its samples were
    recorded at where that is coarser than the step asked (a live answer says the step it
    was read at, which may be coarser than asked, in its query: a chart's gaps and a PTP
    board's compliance are judged by it; a capture's samples a minute apart, asked at 15 s,
    read as a gap between every two)."""
    if query.query_type is not QueryType.RANGE:
        return query
    spacings = [np.diff(t.series.timestamps) for t in kept if t.series.timestamps.size > 1]
    if not spacings:
        return query
    recorded = float(np.median(np.concatenate(spacings)))
    if not math.isfinite(recorded) or recorded <= query.step.total_seconds():
        return query
    return query.model_copy(update={"step": timedelta(seconds=recorded)})


def _serving(clusters: list[Cluster]) -> Callable[[str], bool]:
    """Whether a recorded series (by the cluster it is tagged with) is in what ``clusters``
    answer live (``MultiClusterQuery``: each its own; a fleet hub its own and its members',
    as ``ClusterRegistry.targets`` keeps them): a capture's answer holds every cluster's
    series, and one cluster asked got them all. A hub that names no members keeps every
    series: which were its is not known (its answer holds any name it was sent)."""
    hubs = [c for c in clusters if c.kind is ClusterKind.FLEET]
    if any(not hub.status.members for hub in hubs):
        return lambda _: True
    served = {c.name for c in clusters}.union(*(hub.status.members for hub in hubs))
    return served.__contains__


#: how far back an instant query finds a series' last sample (Prometheus' lookback delta)
LOOKBACK_S = 300.0


def _within(row: TaggedSeries, query: MetricQuery) -> TaggedSeries | None:
    """``row``'s samples a query for an earlier moment would have got, as Prometheus answers
    it: a range's from its start to its end; an instant's last at or before its end, within
    the lookback (whether ``row`` was recorded as an instant or over a range); None when it
    has none there."""
    assert query.end is not None
    ts, end = row.series.timestamps, query.end.timestamp()
    if query.query_type is QueryType.RANGE:
        start = query.start.timestamp() if query.start is not None else -math.inf
        keep = np.flatnonzero((ts >= start) & (ts <= end))
    else:
        keep = np.flatnonzero((ts <= end) & (ts >= end - LOOKBACK_S))[-1:]
    if not keep.size:
        return None
    if keep.size == ts.size:
        return row
    s = row.series
    return TaggedSeries(row.cluster, PromSeries(s.labels, s.timestamps[keep], s.values[keep]))


async def record_pages(
    queries: RecordingQueries,
    clusters: list[Cluster],
    span: tuple[datetime, datetime] | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Run the GPU, PTP and SR-IOV/DPDK readers and the fleet's findings once, so their
    answers are recorded, as they are now or as they were ``at`` (a past span's end: an
    opened capture answers them as its pages' "now", and a report of it reads them at its
    end; they were the export's now, a GPU hot since shown hot at the span's end); with
    ``span`` (the capture's), what root-cause analysis reads beside the stored series over it
    too (the PTP ports' roles, the SR-IOV VFs' drops and errors), so an analysis of any
    moment in it reads them as they were then."""
    from aiops_desktop.services.fleet.state import read_metric_findings

    await read_metric_findings(queries, clusters, at or utcnow())
    await read_gpu_fleet(queries, clusters, at=at)
    await read_ptp_board(queries, clusters, window=timedelta(hours=1), end=at)
    await read_dataplane(queries, clusters, at=at)
    if span is not None:
        start, end = span
        step = max(SPAN_STEP, (end - start) / MOST_SPAN_SAMPLES)
        for query in topology_queries(start, end, roles_over_range=True, step=step):
            await queries.run(query, clusters)


#: what RCA reads over a capture's span: one sample a minute, at most this many (Prometheus'
#: limit is 11,000 a series)
SPAN_STEP = timedelta(minutes=1)
MOST_SPAN_SAMPLES = 10_000


async def record_objects(
    kube: KubeSession, clusters: list[Cluster], into: dict[str, list[dict[str, Any]]]
) -> None:
    """Read once the Kubernetes objects the PTP, SR-IOV and drift pages use (PtpConfigs and
    node labels, SR-IOV node states and networks, component-labelled pods, SR-IOV policies)
    of ``clusters``, keeping them (slimmed) in ``into`` as they arrive; and a cluster whose
    SR-IOV or drift objects could not be read, or were not by the time the export stopped
    it, as failed (``FAILED_PREFIX`` + cluster, ``recorded_objects``): opened, its lists not
    recorded fail as they did, never read as "not recorded" (not counted: a Kubernetes API
    down at export opened as not configured)."""
    names = {c.name for c in clusters}
    unread: dict[str, tuple[str, str]] = {}  # cluster -> (reason, error) of a list not read
    pending = set(names)  # the clusters whose SR-IOV and drift objects are not all asked yet
    kube.recording = {}

    def failed(name: str, exc: AppError) -> None:
        unread.setdefault(name, (getattr(exc, "reason", "error"), str(exc)))

    async def drift(name: str, path: str) -> None:
        try:
            await kube.objects(name, path)
        except AppError as exc:  # that list unrecorded, never the others
            failed(name, exc)

    async def each(cluster: Cluster) -> None:
        # its SriovNetworks or labelled pods not read (a 403, a timeout): its node states
        # are recorded and served, the list fails opened as it did, not "not recorded"
        lists: dict[str, AppError] = {}
        sriov, *_ = await gather_all(
            read_sriov_objects(kube, [cluster], lists),
            *(drift(cluster.name, path) for path in DRIFT_OBJECTS.values()),
        )
        for name, why in sriov.unread.items():
            unread.setdefault(name, ("error", why))
        for name, exc in lists.items():
            failed(name, exc)
        pending.discard(cluster.name)

    try:
        # all at once, within the export's own bound (not the board's per cluster): one slow
        # cluster's node list, read first, left no time for any cluster's SR-IOV or drift
        await gather_all(kube.ptp_thresholds(bounded=False), *(each(c) for c in clusters))
    finally:
        into.update(
            (key, items) for key, items in kube.recording.items() if _object_cluster(key) in names
        )
        kube.recording = None
        for name in pending:
            unread.setdefault(name, ("timed_out", f"{name}: its objects were not read within "
                                                  "the export's time to record"))  # fmt: skip
        into.update((FAILED_PREFIX + name, [{"reason": reason, "error": error}])
                    for name, (reason, error) in unread.items())  # fmt: skip


def objects_unread(objects: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """cluster -> why its objects could not be read, of those ``record_objects`` kept."""
    return {key.removeprefix(FAILED_PREFIX): str(rows[0].get("error", ""))
            for key, rows in objects.items() if key.startswith(FAILED_PREFIX) and rows}  # fmt: skip
