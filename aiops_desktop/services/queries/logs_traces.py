"""Logs (Loki) and traces (Tempo) of a registered cluster, for the CLI, the pages and the
assistant's tools: a LogQL query over a window (paged past one page's limit), the volume of
its lines over time, the live tail, a trace search and one trace. Each cluster's endpoint is
asked through the client pool (its auth, TLS and limits); a cluster without the endpoint, or
a capture opened offline, is said plainly."""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.enums import LogDirection
from aiops_desktop.models.observability import (
    LOG_DEFAULT_LIMIT,
    LogQuery,
    LogResult,
    LogSeries,
    Trace,
    TraceSummary,
    quoted,  # LogQL's and TraceQL's quoting, with the models (a view quotes values with it)
)
from aiops_desktop.services.clusters.connections import ClientPool, EndpointNotConfigured
from aiops_desktop.services.clusters.registry import ClusterRegistry

if TYPE_CHECKING:
    from collectors.loki import Completions
    from collectors.loki_tail import TailBatch

NS = 1_000_000_000
#: the volume histogram's bars: about this many over the window
VOLUME_BARS = 60


def ns(when: datetime) -> int:
    return int(when.timestamp() * NS)


def volume_query(logql: str, step_s: int) -> str:
    """How many lines ``logql`` matches per ``step_s`` (a log query, not a metric one)."""
    return f"sum(count_over_time({logql.strip()} [{step_s}s]))"


def volume_step(window: timedelta) -> int:
    """A round bar width giving about VOLUME_BARS bars over ``window``."""
    raw = max(1.0, window.total_seconds() / VOLUME_BARS)
    for step in (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400):
        if step >= raw:
            return step
    return 86400


#: the window a jump to logs shows around a moment
JUMP_BEFORE, JUMP_AFTER = timedelta(minutes=15), timedelta(minutes=5)
ERRORS = ' |~ "(?i)error|exception|fatal"'


def logql_for(labels: dict[str, str], *, errors_only: bool = False) -> str:
    """The LogQL of what a series, an alert or an incident names: its pod, else its
    namespace, else every application line (OpenShift Logging's labels)."""
    namespace = labels.get("namespace") or labels.get("k8s_namespace_name")
    pod = labels.get("pod") or labels.get("k8s_pod_name")
    if namespace and pod:
        return pod_logql(namespace, pod, errors_only=errors_only)
    if namespace:
        query = f'{{k8s_namespace_name="{quoted(namespace)}"}}'
    else:
        query = '{k8s_namespace_name=~".+"}'
    return query + (ERRORS if errors_only else "")


def answered(values: list[str]) -> int:
    """How many label names or values Loki answered for ``values`` (from ``labels``): more
    than they are when the read was cut (a ``Completions`` says); a capture's, read from
    the lines it kept (a list), are whole."""
    from collectors.loki import Completions

    return values.answered if isinstance(values, Completions) else len(values)


def failing_traceql(service: str | None = None) -> str:
    """TraceQL for the traces with a failed span (through ``service``, quoted as TraceQL
    quotes a string: a quote or a backslash in the name cannot end it)."""
    if not service:
        return "{ status = error }"
    return f'{{ status = error && resource.service.name = "{quoted(service)}" }}'


def pod_logql(namespace: str, pod: str, *, errors_only: bool = False) -> str:
    """The LogQL of one pod's lines (OpenShift Logging's labels), optionally its errors."""
    query = f'{{k8s_namespace_name="{quoted(namespace)}", k8s_pod_name="{quoted(pod)}"}}'
    return query + (ERRORS if errors_only else "")


class LogsTraces:
    def __init__(self, registry: ClusterRegistry, pool: ClientPool) -> None:
        self._registry = registry
        self._pool = pool

    def _with(self, cluster: str, kind: EndpointKind) -> Cluster:
        found = self._registry.get(cluster)
        if found.endpoint(kind) is None:
            what = "Loki" if kind is EndpointKind.LOKI else "Tempo"
            raise EndpointNotConfigured(
                f"{cluster} has no {what} endpoint: discovery finds a LokiStack/TempoStack "
                f"gateway, or set one (aiops-desktop clusters set-endpoint {cluster} "
                f"{kind.value.lower()} URL)"
            )
        return found

    async def logs(
        self, cluster: str, logql: str, *, start: datetime, end: datetime,
        limit: int = LOG_DEFAULT_LIMIT, most: int | None = None,
        direction: LogDirection = LogDirection.BACKWARD, tenant: str | None = None,
    ) -> LogResult:  # fmt: skip
        client = await self._pool.loki(self._with(cluster, EndpointKind.LOKI))
        query = LogQuery(logql=logql, start_ns=ns(start), end_ns=ns(end), direction=direction,
                         limit=limit)  # fmt: skip
        return await client.query_range(query, most=most, tenant=tenant)

    async def volume(
        self, cluster: str, logql: str, *, start: datetime, end: datetime,
        tenant: str | None = None,
    ) -> tuple[int, list[LogSeries]]:  # fmt: skip
        """(bar width s, the counts per bar) of ``logql``'s lines between ``start`` and
        ``end``."""
        step = volume_step(end - start)
        query = volume_query(logql, step)
        return step, await self.counts(cluster, query, start=start, end=end, step_s=step,
                                       tenant=tenant)  # fmt: skip

    async def counts(
        self, cluster: str, metric_logql: str, *, start: datetime, end: datetime, step_s: int,
        tenant: str | None = None,
    ) -> list[LogSeries]:  # fmt: skip
        """A LogQL metric query's series (``sum by (...) (count_over_time(...))``)."""
        client = await self._pool.loki(self._with(cluster, EndpointKind.LOKI))
        query = LogQuery(logql=metric_logql, start_ns=ns(start), end_ns=ns(end))
        return (await client.query_range(query, step_s=step_s, tenant=tenant)).series

    async def labels(
        self, cluster: str, name: str | None = None, *, tenant: str | None = None
    ) -> Completions:
        """The label names (``name`` None) or one label's values, for completion (a list;
        its ``answered``: how many Loki answered, more when it was cut), of ``tenant`` (the
        endpoint's when None) as the query completed is asked: another tenant's namespaces
        are not this one's."""
        client = await self._pool.loki(self._with(cluster, EndpointKind.LOKI))
        if name is None:
            return await client.labels(tenant=tenant)
        return await client.label_values(name, tenant=tenant)

    async def tail(
        self, cluster: str, logql: str, *, start: datetime | None = None,
        tenant: str | None = None,
    ) -> AsyncGenerator[TailBatch, None]:  # fmt: skip
        from collectors.loki_tail import tail

        client = await self._pool.loki(self._with(cluster, EndpointKind.LOKI))
        batches = tail(client.http, client.paths, logql, cluster=cluster,
                       start_ns=ns(start) if start else None, tenant=tenant)  # fmt: skip
        async with aclosing(batches):  # left early: its connection closes now, not at GC
            async for batch in batches:
                yield batch

    async def traces(
        self, cluster: str, *, start: datetime, end: datetime, service: str | None = None,
        operation: str | None = None, min_duration: str | None = None,
        max_duration: str | None = None, traceql: str | None = None, limit: int = 20,
    ) -> list[TraceSummary]:  # fmt: skip
        client = await self._pool.tempo(self._with(cluster, EndpointKind.TEMPO))
        return await client.search(
            service=service, operation=operation, min_duration=min_duration,
            max_duration=max_duration, traceql=traceql, limit=limit,
            start_s=int(start.timestamp()), end_s=math.ceil(end.timestamp()),  # none after it
        )  # fmt: skip

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        client = await self._pool.tempo(self._with(cluster, EndpointKind.TEMPO))
        return await client.trace(trace_id)
