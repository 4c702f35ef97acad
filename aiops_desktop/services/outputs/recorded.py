"""The live pages inside a capture: when a capture is exported, the GPU, PTP and SR-IOV/DPDK
readers run once and every answer they got is kept with it (``RecordingQueries``); when it is
opened, the same queries are answered from those answers (``RecordedQueries``), so those pages
show the site as it was at export. A query that was not recorded says so; one for an earlier
moment gets only the samples it would have got then (RCA of a past moment reads no later one)."""

from __future__ import annotations

import contextlib
import json
import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from aiops_desktop.models import Cluster, QueryStatus, utcnow
from aiops_desktop.models.enums import QueryType
from aiops_desktop.models.metrics import (
    ClusterOutcome,
    MetricQuery,
    PromSeries,
    QueryAnswer,
    TaggedSeries,
)
from aiops_desktop.services.clusters.connections import ClientPool
from aiops_desktop.services.gpu_cnf.cnf import read_sriov_objects
from aiops_desktop.services.gpu_cnf.drift import DRIFT_OBJECTS
from aiops_desktop.services.gpu_cnf.gpu import read_gpu_fleet
from aiops_desktop.services.gpu_cnf.ptp import read_ptp_board
from aiops_desktop.services.gpu_cnf.sriov import read_dataplane
from aiops_desktop.services.intelligence.rca_topology import topology_queries
from aiops_desktop.services.kube.session import KubeSession
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from aiops_desktop.store.capture import CaptureError
from aiops_desktop.store.capture_redact import redact_labels
from collectors.errors import CollectorError

RECORDED_KEY = "recorded_answers"
OBJECTS_KEY = "recorded_objects"


def _key(query: MetricQuery) -> str:
    return f"{query.query_type.value} {query.promql}"


class RecordingQueries(MultiClusterQuery):
    """Asks for real (through ``inner``) and keeps each answer's series."""

    def __init__(self, inner: MultiClusterQuery, pool: ClientPool) -> None:
        super().__init__(pool)
        self._inner = inner
        self.answers: dict[str, list[TaggedSeries]] = {}

    async def run(self, query: MetricQuery, clusters: list[Cluster]) -> QueryAnswer:
        answer = await self._inner.run(query, clusters)
        self.answers[_key(query)] = answer.series
        return answer

    def dump(self) -> str:
        """The answers as a capture keeps them (JSON), their labels redacted (what leaves the
        site carries no secret an exporter put in a label)."""

        def values(array: np.ndarray) -> list[float | None]:
            return [None if math.isnan(v) else float(v) for v in array.tolist()]

        return json.dumps({
            key: [[t.cluster, redact_labels(t.series.labels), t.series.timestamps.tolist(),
                   values(t.series.values)] for t in series]
            for key, series in self.answers.items()
        })  # fmt: skip


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
    return TaggedSeries(cluster, PromSeries(dict(labels), times, numbers))


def recorded_objects(doc: Any) -> dict[str, list[dict[str, Any]]]:
    """The Kubernetes objects a capture recorded (key -> objects), checked; {} for none."""
    if doc is None:
        return {}
    if not isinstance(doc, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(o, dict) for o in v)
        for k, v in doc.items()
    ):
        raise CaptureError("the capture's recorded Kubernetes objects are not well formed")
    return doc


class RecordedQueries(MultiClusterQuery):
    """Answers the recorded queries from the capture; nothing else, and never the network."""

    def __init__(self, pool: ClientPool, doc: Any, *, ends: datetime | None = None) -> None:
        """``doc``: the recorded answers as the capture holds them (parsed JSON), or None;
        ``ends``: the capture's end, the moment they were recorded for (a query for it or
        later reads them whole; one for an earlier moment only what it would have got)."""
        super().__init__(pool)
        self._ends = ends
        doc = doc if doc is not None else {}
        if not isinstance(doc, dict) or not all(isinstance(v, list) for v in doc.values()):
            raise CaptureError("the capture's recorded answers are not well formed")
        if sum(len(rows) for rows in doc.values()) > MAX_RECORDED_SERIES:
            raise CaptureError("the capture records more series than this app reads")
        self._answers = {str(key): [_tagged(row) for row in rows] for key, rows in doc.items()}

    async def run(self, query: MetricQuery, clusters: list[Cluster]) -> QueryAnswer:
        found = self._answers.get(_key(query))
        if found is None:
            outcomes = [
                ClusterOutcome(c.name, False, 0.0, reason="not_configured",
                               error=f"{c.name}: this query was not recorded in the capture")
                for c in clusters
            ]  # fmt: skip
            return QueryAnswer(query, QueryStatus.ERROR, [], outcomes, 0.0)
        kept = list(found)
        query = self._as_of_the_capture(query)
        if self._asks_less(query):
            kept = [t for t in (_within(row, query) for row in found) if t is not None]
            over = self._answers.get(f"{QueryType.RANGE.value} {query.promql}")
            if not kept and query.query_type is QueryType.INSTANT and over:  # as it was then
                kept = [t for t in (_within(row, query) for row in over) if t is not None]
        if found and not kept:  # recorded, but later than the moment asked about
            outcomes = [
                ClusterOutcome(c.name, False, 0.0, reason="not_configured",
                               error=f"{c.name}: the capture recorded this query's answer "
                                     f"only after the time asked about")
                for c in clusters
            ]  # fmt: skip
            return QueryAnswer(query, QueryStatus.ERROR, [], outcomes, 0.0)
        outcomes = [ClusterOutcome(c.name, True, 0.0, series=len(kept)) for c in clusters]
        return QueryAnswer(query, QueryStatus.SUCCESS, kept, outcomes, 0.0)

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
    of ``clusters``, keeping them (slimmed) in ``into`` as they arrive."""
    names = {c.name for c in clusters}
    kube.recording = {}
    try:
        await kube.ptp_thresholds()
        await read_sriov_objects(kube, clusters)
        for cluster in clusters:
            for path in DRIFT_OBJECTS.values():
                with contextlib.suppress(CollectorError):
                    await kube.objects(cluster.name, path)
    finally:
        into.update(
            (key, items) for key, items in kube.recording.items() if key.split(" ")[0] in names
        )
        kube.recording = None
