"""What RCA reads from logs and traces where a cluster has Loki or Tempo: each pod's error
log lines a minute over the window, in all and per kind of message (the window's newest
ERROR_LINES_READ lines, templated); the failing traces of the window (at most MOST_TRACES
searched, MOST_OPENED read): their spans' failures and slowness per pod, and the service
calls they show (a caller depends on what it calls); and the newest SAMPLED_PER_STEP traces
of each minute, for the time calls into each pod spend outside it (a delay on its network).
What cannot be read is said and the ranking goes on without it. Nothing after the analysis
time is asked for."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from aiops_desktop.logs import redact
from aiops_desktop.models import EndpointKind
from aiops_desktop.models.enums import LogDirection
from aiops_desktop.models.errors import AppError
from aiops_desktop.models.observability import LogSeries, Trace, TraceSummary, pod_entity
from aiops_desktop.models.text import printable
from aiops_desktop.services.clusters.registry import ClusterNotFoundError, ClusterRegistry
from aiops_desktop.services.intelligence.rca_topology import TopologyRead
from aiops_desktop.services.outputs.recorded_logs import RecordedLogsTraces
from aiops_desktop.services.queries.logs_traces import (
    ERRORS,
    LogsTraces,
    failing_traceql,
    pod_logql,
)
from aiops_desktop.services.queries.trace_sampling import newest_traces, read_within
from analysis.rca.model import Signal, Window
from analysis.rca.traces import (
    STEP_S,
    call_time_signals,
    error_line_signals,
    error_log_signals,
    first_failed,
    span_entity,
    time_outside,
    trace_signals,
)
from collectors.llm_redaction import redact_for_llm

MOST_TRACES = 50
MOST_OPENED = 15
TRACES_WITHIN_S = 20.0  # the most that opening a read's traces may take; what was read is used
READ_WITHIN_S = 45.0  # the most the whole read may take (searches and counts too)
QUOTES_WITHIN_S = 15.0  # the most reading the lines to quote may take
QUOTES = 5  # error lines quoted per cause
QUOTE_CHARS = 300
ERROR_VOLUME = (
    f'sum by (k8s_namespace_name, k8s_pod_name) (count_over_time({{k8s_namespace_name=~".+"}}'
    f"{ERRORS} [{STEP_S:.0f}s]))"
)
#: the same lines themselves, for their templates: the newest ERROR_LINES_READ of a
#: cluster's window (one page of Loki's, whose default cap on a query's lines is 5,000)
ERROR_LINES = f'{{k8s_namespace_name=~".+"}}{ERRORS}'
ERROR_LINES_READ = 5_000


def spread(items: list[TraceSummary], most: int) -> list[TraceSummary]:
    """At most ``most`` of ``items``, evenly spaced from the first to the last."""
    if len(items) <= most:
        return list(items)
    step = (len(items) - 1) / (most - 1)
    return [items[round(i * step)] for i in range(most)]


class LogsTracesAround:
    def __init__(self, logs: LogsTraces | RecordedLogsTraces, registry: ClusterRegistry) -> None:
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
        try:
            async with asyncio.timeout(READ_WITHIN_S):
                async with asyncio.TaskGroup() as group:  # a defect in one: others cancelled
                    for c in loki:
                        group.create_task(self._error_logs(c, start, end, out))
                    for c in tempo:
                        group.create_task(self._failing_traces(c, start, end, out))
                        group.create_task(self._call_times(c, start_s, end_s, out))
        except TimeoutError:  # each read adds what it read as it ends: that much is kept
            out.unread.append(f"logs and traces: not all read within {READ_WITHIN_S:g} s "
                              "(ranked with what was)")  # fmt: skip
        # each read says why it failed in its server's words (a gateway's refusal may echo
        # the Authorization header it was sent), shown on the RCA page, by `rca` and in the
        # report: redacted as every other kept error is
        out.unread = [redact(line) for line in out.unread]
        return out

    async def quotes(
        self, entities: list[str], window: Window
    ) -> dict[str, list[tuple[float, str]]]:
        """The first error lines of each pod among ``entities`` from the window's change on
        (its cluster's Loki), to quote beside the ranking: the burst that ranked it, not the
        baseline's trickle; none then: its last lines before the change. A pod whose lines
        cannot be read is left out."""
        start_s, end_s = window.detect_s - window.before_s, window.end_s
        start, end = (datetime.fromtimestamp(t, UTC) for t in (start_s, end_s))
        change = datetime.fromtimestamp(min(max(window.change_s, start_s), end_s), UTC)
        out: dict[str, list[tuple[float, str]]] = {}
        with contextlib.suppress(TimeoutError):  # what was read by then is quoted
            async with asyncio.timeout(QUOTES_WITHIN_S):
                await self._quote_into(out, entities, start, change, end)
        return out

    async def _quote_into(self, out: dict[str, list[tuple[float, str]]], entities: list[str],
                          start: datetime, change: datetime,
                          end: datetime) -> None:  # fmt: skip
        for entity in entities:
            found = pod_entity(entity)
            if found is None or not self._with([found[0]], EndpointKind.LOKI):
                continue
            cluster, namespace, pod = found
            query = pod_logql(namespace, pod, errors_only=True)
            try:
                result = await self._logs.logs(
                    cluster, query, start=change, end=end, limit=QUOTES,
                    direction=LogDirection.FORWARD,
                )  # fmt: skip
                entries = result.entries
                if not entries and start < change:  # the nearest before it, oldest first
                    result = await self._logs.logs(
                        cluster, query, start=start, end=change, limit=QUOTES,
                        direction=LogDirection.BACKWARD,
                    )  # fmt: skip
                    entries = sorted(result.entries, key=lambda e: e.timestamp_ns)
            except (AppError, ValueError):
                continue
            if entries:
                # redacted before it is cut: a cut must not leave part of a secret behind; as
                # the capture export redacts the same lines (they leave the site in the report);
                # then made printable: cleaned first, an ANSI code's "[2K" stood before a value
                out[entity] = [(e.timestamp_ns / 1e9,
                                printable(redact_for_llm(e.line))[:QUOTE_CHARS])
                               for e in entries]  # fmt: skip

    async def _error_logs(self, cluster: str, start: datetime, end: datetime,
                          out: TopologyRead) -> None:  # fmt: skip
        try:
            series, known_from = await self._counts(cluster, start, end)
        except (AppError, ValueError) as exc:
            out.unread.append(f"{cluster} logs: {exc}")
            return
        pairs = [(s.labels, s.points) for s in series]
        signals = error_log_signals(cluster, pairs, start.timestamp(), end.timestamp())
        if known_from is not None:  # as the lines per kind: a step begun before it is not read
            signals = [s for s in (_counted_from(s, known_from) for s in signals)
                       if s.timestamps.size]  # fmt: skip
            since = datetime.fromtimestamp(known_from, UTC).strftime("%H:%M:%S UTC")
            out.unread.append(f"{cluster} error log lines: the capture kept the newest lines "
                              f"only: counted from {since} on")  # fmt: skip
        out.signals += signals
        await self._error_lines(cluster, start, end, out)

    async def _counts(self, cluster: str, start: datetime,
                      end: datetime) -> tuple[list[LogSeries], float | None]:  # fmt: skip
        """Each pod's error lines a minute (``ERROR_VOLUME``), and from when they are known
        in full (None: all along). Loki counts every line; a capture counts the lines it
        kept, the newest: where it cut them, a pod that erred steadily all along read none
        before its oldest kept line and ranked first for a rise that was none."""
        if not isinstance(self._logs, RecordedLogsTraces):
            series = await self._logs.counts(cluster, ERROR_VOLUME, start=start, end=end,
                                             step_s=int(STEP_S))  # fmt: skip
            return series, None
        found = await self._logs.counted(cluster, ERROR_VOLUME, start=start, end=end,
                                         step_s=int(STEP_S))  # fmt: skip
        if not found.truncated:
            return found.series, None
        oldest = self._logs.kept_from(cluster)  # none kept: no step is known in full
        return found.series, oldest if oldest is not None else end.timestamp()

    async def _error_lines(self, cluster: str, start: datetime, end: datetime,
                           out: TopologyRead) -> None:  # fmt: skip
        """The window's newest ERROR_LINES_READ error lines, as each pod's lines per kind of
        message (``error_line_signals``): a kind a pod never wrote before stands out where
        its other errors, written all along, hid it in the count. From a step before the
        start (the first count's step); a read cut by the limit says so, and the steps
        before its oldest line are left out."""
        try:
            result = await self._logs.logs(
                cluster, ERROR_LINES, start=start - timedelta(seconds=STEP_S), end=end,
                limit=ERROR_LINES_READ, direction=LogDirection.BACKWARD,
            )  # fmt: skip
        except (AppError, ValueError) as exc:
            out.unread.append(f"{cluster} error lines: {exc}")
            return
        read_from = None
        if result.truncated and result.entries:
            read_from = min(e.timestamp_ns for e in result.entries) / 1e9
            since = datetime.fromtimestamp(read_from, UTC).strftime("%H:%M:%S UTC")
            out.unread.append(f"{cluster} error lines: the newest {len(result.entries):,} "
                              f"read, more matched: their kinds ranked from {since} "
                              "on")  # fmt: skip
        lines = [(e.labels, e.timestamp_ns / 1e9, e.line) for e in result.entries]
        # thousands of lines templated: off the event loop (the UI's thread under qasync)
        out.signals += await asyncio.to_thread(error_line_signals, cluster, lines,
                                               start.timestamp(), end.timestamp(),
                                               read_from_s=read_from)  # fmt: skip

    async def _failing_traces(self, cluster: str, start: datetime, end: datetime,
                              out: TopologyRead) -> None:  # fmt: skip
        """The window's failing traces, spread over it; one that cannot be opened (gone
        since the search, a refusal) or not within TRACES_WITHIN_S is left out and said,
        the others are read, and kept with what RCA quotes of them redacted."""
        try:
            found = await self._logs.traces(cluster, start=start, end=end,
                                            traceql=failing_traceql(),
                                            limit=MOST_TRACES)  # fmt: skip
        except (AppError, ValueError) as exc:
            out.unread.append(f"{cluster} traces: {exc}")
            return
        # spread over the window (Tempo answers the most recent first)
        ids = [t.trace_id for t in spread(found, MOST_OPENED)]
        deadline = asyncio.get_running_loop().time() + TRACES_WITHIN_S
        traces, failed, late = await read_within(deadline, [self._logs.trace(cluster, i)
                                                        for i in ids])  # fmt: skip
        if failed or late:
            why = str(failed[0]) if failed else f"not within {TRACES_WITHIN_S:g} s"
            out.unread.append(f"{cluster} traces: {len(failed) + late} of {len(ids)} failing "
                              f"traces could not be read ({why})")  # fmt: skip
        # every span of every trace (up to 20,000 each): off the event loop, the UI's thread
        signals, edges = await asyncio.to_thread(trace_signals, traces, start.timestamp(),
                                                 end.timestamp())  # fmt: skip
        out.signals += signals
        out.edges += edges
        out.traces += await asyncio.to_thread(_quotable, traces, end.timestamp())

    async def _call_times(self, cluster: str, start_s: float, end_s: float,
                          out: TopologyRead) -> None:  # fmt: skip
        """The newest SAMPLED_PER_STEP traces of each minute of the window, opened, for the
        time calls into each pod spend outside it. The minutes and traces that cannot be
        read, or not within TRACES_WITHIN_S, are left out: the ranking goes on with what
        was read, and says so."""
        deadline = asyncio.get_running_loop().time() + TRACES_WITHIN_S
        got = await newest_traces(self._logs, cluster, start_s, end_s, deadline)
        read, failed = got.traces, got.failed
        if got.late:
            out.unread.append(f"{cluster} traces' call times: {got.late} of {got.asked} reads "
                              f"did not finish within {TRACES_WITHIN_S:g} s (ranked with "
                              f"{len(read)} traces)")  # fmt: skip
        elif failed and not read:
            out.unread.append(f"{cluster} traces' call times: {failed[0]}")
        elif failed:
            out.unread.append(f"{cluster} traces' call times: {len(failed)} of {got.asked} "
                              f"reads failed ({failed[0]}; ranked with {len(read)} "
                              "traces)")  # fmt: skip
        # every span of up to 560 traces: off the event loop (the UI's thread under qasync)
        out.signals += await asyncio.to_thread(_call_time_signals, cluster, read, start_s, end_s)


def _quotable(traces: list[Trace], end_s: float) -> list[Trace]:
    """``traces`` with the texts RCA quotes of them (``failing_through``: each one's first
    span's operation, each entity's first failed span's status message and operation)
    redacted as the capture export redacts a server's text, then made printable (as the
    quoted lines are): they leave the site in the incident report, and analysis/ has only
    the logs' weaker redaction. Those spans only: a trace's every span (up to 20,000, each
    of them failed) would cost seconds."""
    out = []
    for trace in traces:
        if not trace.spans:
            out.append(trace)
            continue
        quoted = [min(trace.spans, key=attrgetter("start_ns")),
                  *first_failed(trace, end_s).values()]  # fmt: skip
        redacted = {id(s): s.model_copy(update={
            "operation": printable(redact_for_llm(s.operation)),
            "status_message": s.status_message and printable(redact_for_llm(s.status_message)),
        }) for s in quoted}  # fmt: skip
        spans = [redacted.get(id(s), s) for s in trace.spans]
        out.append(trace.model_copy(update={"spans": spans}))
    return out


def _counted_from(signal: Signal, known_from: float) -> Signal:
    """``signal``'s steps that began at or after ``known_from`` (a point counts the step
    before its stamp, as ``error_line_signals`` reads a cut read)."""
    known = signal.timestamps - STEP_S >= known_from
    return replace(signal, timestamps=signal.timestamps[known], values=signal.values[known])


def _call_time_signals(cluster: str, read: list[Trace], start_s: float,
                       end_s: float) -> list[Signal]:  # fmt: skip
    """The time calls into each pod of ``read`` spent outside it, per step (a worker's)."""
    samples = [(span_entity(cluster, span), span.start_ns / 1e9, ms)
               for trace in read
               for span, ms in time_outside(trace.spans, int(end_s * 1e9))]  # fmt: skip
    return call_time_signals(samples, start_s, end_s)
