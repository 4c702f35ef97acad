"""One PromQL over many clusters in parallel; a failed or slow cluster makes it PARTIAL.

Each series is tagged with its cluster. A fleet endpoint (Thanos querier, ACM hub,
VictoriaMetrics) answers for many clusters at once: its series are split by their ``cluster``
label. Range queries are aligned to the step, so series from different clusters share
timestamps and can be aggregated (SUM, AVG, MAX, MIN) point by point; MERGE keeps them apart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

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
from aiops_desktop.services.clusters.connections import ClientPool, EndpointNotConfigured
from collectors.errors import CollectorError

if TYPE_CHECKING:
    from collectors.prometheus import PromResult

log = logging.getLogger(__name__)
FLEET_LABEL = "cluster"
_REDUCERS: dict[Aggregation, Any] = {
    Aggregation.SUM: np.nansum,
    Aggregation.AVG: np.nanmean,
    Aggregation.MAX: np.nanmax,
    Aggregation.MIN: np.nanmin,
}


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


def read_once(
    results: list[tuple[ClusterOutcome, list[TaggedSeries]]], hubs: Collection[str]
) -> list[tuple[ClusterOutcome, list[TaggedSeries]]]:
    """A member the query also read from its own Prometheus is not taken from its hubs'
    answers too (it had each series twice: a SUM doubled, a NotReady node was two
    findings); where its own read failed, its hubs' copies are all there is, and stay."""
    answered = {o.cluster for o, _ in results if o.ok}
    out = []
    for outcome, tagged in results:
        if outcome.cluster not in hubs:
            out.append((outcome, tagged))
            continue
        kept = [t for t in tagged if t.cluster == outcome.cluster or t.cluster not in answered]
        out.append((replace(outcome, series=len(kept)) if outcome.ok else outcome, kept))
    return out


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
        with np.errstate(all="ignore"):
            values = np.asarray(reducer(grid, axis=0), dtype=np.float64)
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


class MultiClusterQuery:
    def __init__(self, pool: ClientPool, *, parallel: int = DEFAULT_PARALLEL_QUERIES) -> None:
        self._pool = pool
        self._parallel = parallel

    async def run(self, query: MetricQuery, clusters: list[Cluster]) -> QueryAnswer:
        started = time.perf_counter()
        limit = asyncio.Semaphore(self._parallel)
        window = aligned_range(query) if query.query_type is QueryType.RANGE else None

        async def one(cluster: Cluster) -> tuple[ClusterOutcome, list[TaggedSeries]]:
            async with limit:
                t0 = time.perf_counter()
                try:
                    client = await self._pool.prometheus(cluster)
                    if window is None:
                        call = client.query(query.promql, query.end, timeout_s=query.timeout_s)
                    else:
                        call = client.query_range(query.promql, *window, timeout_s=query.timeout_s)
                    async with asyncio.timeout(query.timeout_s + 5):  # not wait_for (3.11)
                        result = await call
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
                if cluster.kind is ClusterKind.FLEET:
                    tagged = split_fleet(result, cluster)
                else:
                    tagged = [TaggedSeries(cluster.name, s) for s in result.series]
                ms = (time.perf_counter() - t0) * 1000
                return ClusterOutcome(cluster.name, True, ms, series=len(tagged)), tagged

        hubs = {c.name for c in clusters if c.kind is ClusterKind.FLEET}
        results = read_once(await asyncio.gather(*(one(c) for c in clusters)), hubs)
        outcomes = [o for o, _ in results]
        series = [s for _, found in results for s in found]
        ok = sum(o.ok for o in outcomes)
        if ok == len(outcomes) and outcomes:
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
        )

    @staticmethod
    def _failed(cluster: Cluster, t0: float, reason: str, error: str) -> ClusterOutcome:
        return ClusterOutcome(
            cluster.name, False, (time.perf_counter() - t0) * 1000, reason=reason, error=error
        )
