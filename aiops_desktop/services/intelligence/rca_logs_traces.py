"""What RCA reads from logs and traces where a cluster has Loki or Tempo: each pod's error
log lines a minute over the window, and the failing traces of the window (at most
MOST_TRACES searched, MOST_OPENED read): their spans' failures and slowness per pod, and the
service calls they show (a caller depends on what it calls). What cannot be read is said and
the ranking goes on without it. Nothing after the analysis time is asked for."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.errors import AppError
from aiops_desktop.models.observability import Trace
from aiops_desktop.services.clusters.registry import ClusterNotFoundError, ClusterRegistry
from aiops_desktop.services.intelligence.rca_topology import TopologyRead
from aiops_desktop.services.queries.logs_traces import ERRORS, LogsTraces
from analysis.rca.model import Window
from analysis.rca.traces import STEP_S, error_log_signals, trace_signals

MOST_TRACES = 50
MOST_OPENED = 15
ERROR_VOLUME = (
    f'sum by (k8s_namespace_name, k8s_pod_name) (count_over_time({{k8s_namespace_name=~".+"}}'
    f"{ERRORS} [{STEP_S:.0f}s]))"
)


class LogsTracesAround:
    def __init__(self, logs: LogsTraces, registry: ClusterRegistry) -> None:
        self._logs = logs
        self._registry = registry

    def _with(self, names: list[str], kind: EndpointKind) -> list[str]:
        found = []
        for name in names:
            try:
                if self._registry.get(name).endpoint(kind):
                    found.append(name)
            except ClusterNotFoundError:
                continue
        return found

    async def read(self, names: list[str], window: Window) -> TopologyRead:
        start_s, end_s = window.detect_s - window.before_s, window.end_s
        start, end = datetime.fromtimestamp(start_s, UTC), datetime.fromtimestamp(end_s, UTC)
        out = TopologyRead()
        loki, tempo = self._with(names, EndpointKind.LOKI), self._with(names, EndpointKind.TEMPO)
        jobs = [self._error_logs(c, start, end, out) for c in loki]
        jobs += [self._failing_traces(c, start, end, out) for c in tempo]
        await asyncio.gather(*jobs)
        return out

    async def _error_logs(self, cluster: str, start: datetime, end: datetime,
                          out: TopologyRead) -> None:  # fmt: skip
        try:
            _, series = await self._logs.volume(cluster, "", start=start, end=end,
                                                query=ERROR_VOLUME, step_s=int(STEP_S))  # fmt: skip
        except (AppError, ValueError) as exc:
            out.unread.append(f"{cluster} logs: {exc}")
            return
        pairs = [(s.labels, s.points) for s in series]
        out.signals += error_log_signals(cluster, pairs, start.timestamp(), end.timestamp())

    async def _failing_traces(self, cluster: str, start: datetime, end: datetime,
                              out: TopologyRead) -> None:  # fmt: skip
        try:
            failing = "{ status = error }"
            found = await self._logs.traces(cluster, start=start, end=end, traceql=failing,
                                            limit=MOST_TRACES)  # fmt: skip
            ids = [t.trace_id for t in found][:MOST_OPENED]
            traces: list[Trace] = list(await asyncio.gather(
                *(self._logs.trace(cluster, i) for i in ids)))  # fmt: skip
        except (AppError, ValueError) as exc:
            out.unread.append(f"{cluster} traces: {exc}")
            return
        signals, edges = trace_signals(traces, start.timestamp(), end.timestamp())
        out.signals += signals
        out.edges += edges
