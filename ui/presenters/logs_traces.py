"""The Logs and Traces pages' presenters: a LogQL query with the volume of its lines, label
completion and the live tail (its lines held in a bounded buffer and handed to the view at
most a few times a second, at most TAIL_MAX_RATE lines a second: the rest are counted, not
shown); a trace search and one trace, with the services it calls.

Each question is asked once at a time: asked again (another query, another trace chosen),
the one still running is stopped, so the answer shown is always the one asked last, never
the slowest one."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from aiops_desktop.models import EndpointKind, utcnow
from aiops_desktop.models.errors import AppError
from aiops_desktop.models.observability import LogEntry, LogSeries, Trace
from aiops_desktop.models.time_range import TimeRange
from aiops_desktop.services.clusters.registry import ClusterRegistry
from aiops_desktop.services.queries.logs_traces import LogsTraces, answered, failing_traceql
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.presenters.base import Presenter

#: the lines the page holds (a query's answer, or the tail's newest)
MOST_SHOWN = 5000
#: the tail's lines shown per second at most; past it lines are counted as skipped
TAIL_MAX_RATE = 500
TAIL_FLUSH_MS = 250


@dataclass
class LogRequest:
    cluster: str
    logql: str
    range: TimeRange = field(default_factory=TimeRange)
    tenant: str | None = None


@dataclass
class TailState:
    """What the tail says besides its lines: shown and skipped (rate cap) counts, a note."""

    shown: int = 0
    skipped: int = 0
    dropped: int = 0
    note: str = ""
    #: the note says the tail was cut and is reconnecting: true until the new connection's
    #: lines come, unlike what a resumed tail says it left out
    note_is_cut: bool = False
    paused: bool = False
    #: the tail failed (the page's error says why): it is over, the view unchecks it
    ended: bool = False


class _ReadsEndpoint(Presenter):
    """A page that reads one kind of endpoint through the logs and traces service."""

    endpoint: EndpointKind

    def __init__(
        self, *, logs: LogsTraces, registry: ClusterRegistry, tasks: TaskSupervisor,
        clock: Callable[[], datetime] = utcnow, parent: QObject | None = None,
    ) -> None:  # fmt: skip
        super().__init__(tasks, parent=parent)
        self._logs = logs
        self._registry = registry
        self.clock = clock  # "now": a capture's end when one is open (its data ends there)
        self._asking: dict[str, asyncio.Task[None]] = {}  # each question's running task

    def clusters(self) -> list[str]:
        """The clusters with the endpoint this page reads."""
        return [c.name for c in self._registry.clusters() if c.endpoint(self.endpoint)]

    def _ask(
        self, question: str, work: Coroutine[Any, Any, None],
        on_error: Callable[[str], None] | None = None,
    ) -> None:  # fmt: skip
        """Run ``work`` as the one ``question`` running: the one asked before is stopped
        (its answer would come after, or instead of, this one's). Its failure is the page's
        error unless ``on_error`` says where."""
        self._stop_asking(question)
        task = self.spawn(question, work, on_error)
        self._asking[question] = task
        task.add_done_callback(lambda t: self._asked(question, t))

    def _asked(self, question: str, task: asyncio.Task[None]) -> None:
        if self._asking.get(question) is task:  # not one stopped for a newer one
            del self._asking[question]

    def _stop_asking(self, question: str) -> None:
        running = self._asking.pop(question, None)
        if running is not None:
            running.cancel()

    def _latest(self, question: str) -> bool:
        """Whether the task running now is ``question``'s newest (a stopped one says
        nothing more, not even that it is no longer busy)."""
        return self._asking.get(question) is asyncio.current_task()


class LogsPresenter(_ReadsEndpoint):
    """Signals: sig_lines(list[LogEntry], bool truncated, list[LogSeries]: a metric query's
    answer), sig_volume(int step s, list of (unix s, count)), sig_labels(cluster, label
    | None, list[str]: the names or values it answers, str: why there are none, a failed
    read, "" when read, int: how many Loki answered, more than the list when it was cut,
    tenant | None: the one asked, None the endpoint's),
    sig_tail_lines(list[LogEntry]), sig_tail_state(TailState), sig_busy(bool)."""

    sig_lines = Signal(list, bool, list)
    sig_volume = Signal(int, list)
    sig_labels = Signal(str, object, list, str, int, object)
    sig_tail_lines = Signal(list)
    sig_tail_state = Signal(object)
    sig_busy = Signal(bool)

    endpoint = EndpointKind.LOKI

    def __init__(
        self, *, logs: LogsTraces, registry: ClusterRegistry, tasks: TaskSupervisor,
        clock: Callable[[], datetime] = utcnow, parent: QObject | None = None,
    ) -> None:  # fmt: skip
        super().__init__(logs=logs, registry=registry, tasks=tasks, clock=clock, parent=parent)
        self._tail: asyncio.Task[None] | None = None
        self._pending: deque[LogEntry] = deque()
        self.tail_state = TailState()
        self._flush = QTimer(self)
        self._flush.setInterval(TAIL_FLUSH_MS)
        self._flush.timeout.connect(self._flush_tail)

    def run(self, request: LogRequest) -> None:
        """The lines of ``request`` (newest first) and their volume over its range: the
        lines are shown when read; the volume, read beside them, follows (its failure is a
        note beside the lines, not the query's). A metric query is answered with series:
        those are shown, and no volume (a count of a metric query is no query)."""
        self.stop_tail()

        async def work() -> None:
            self.sig_busy.emit(True)
            try:
                start, end = request.range.bounds(self.clock())
                volume = asyncio.ensure_future(self._logs.volume(
                    request.cluster, request.logql, start=start, end=end, tenant=request.tenant
                ))  # fmt: skip
                try:
                    lines = await self._logs.logs(
                        request.cluster, request.logql, start=start, end=end, limit=1000,
                        most=MOST_SHOWN, tenant=request.tenant,
                    )  # fmt: skip
                except BaseException:  # failed, or stopped for a newer query: so is the volume
                    volume.cancel()
                    await asyncio.gather(volume, return_exceptions=True)
                    raise
                self.sig_lines.emit(lines.entries, lines.truncated, lines.series)
                shown = self._no_volume(volume) if lines.series else self._volume(volume)
                notes = [*lines.notes, *await shown]
                self.sig_error.emit("; ".join(notes))
            finally:
                if self._latest("logs query"):
                    self.sig_busy.emit(False)

        self._ask("logs query", work())

    async def _volume(self, volume: asyncio.Future[tuple[int, list[LogSeries]]]) -> list[str]:
        """The volume's bars shown, or none and a note saying why."""
        try:
            step, series = await volume
        except (AppError, ValueError) as exc:
            self.sig_volume.emit(0, [])
            return [f"the volume of these lines could not be read: {exc}"]
        self.sig_volume.emit(step, sorted(p for s in series for p in s.points))
        return []

    async def _no_volume(self, volume: asyncio.Future[tuple[int, list[LogSeries]]]) -> list[str]:
        """A metric query's answer has no lines to count: its volume stopped, no bars."""
        volume.cancel()
        await asyncio.gather(volume, return_exceptions=True)
        self.sig_volume.emit(0, [])  # no bars of an earlier query stay
        return []

    def complete(self, cluster: str, label: str | None, tenant: str | None = None) -> None:
        """Label names (``label`` None) or one label's values of ``tenant`` (None: the
        endpoint's), for the editor's completion (only the newest asked is answered), said
        with the cluster, label and tenant they answer: the view files them under those, not
        under what it asks when they land. A failure is said with them, not as the page's
        error: a completion is a help to typing, and the page's error stays until the next
        query and stops the live tail."""

        async def work() -> None:
            found = await self._logs.labels(cluster, label, tenant=tenant)
            self.sig_labels.emit(cluster, label, found, "", answered(found), tenant)

        def failed(text: str) -> None:
            self.sig_labels.emit(cluster, label, [], text, 0, tenant)

        self._ask("label completion", work(), on_error=failed)

    # -- the live tail ----------------------------------------------------------------------
    def set_tail(self, request: LogRequest | None) -> None:
        """Tail ``request``'s lines live (None: stop)."""
        if request is None:
            self.stop_tail()
        else:
            self.start_tail(request)

    def start_tail(self, request: LogRequest) -> None:
        self.stop_tail()
        self._stop_asking("logs query")  # its answer would land among the tail's lines
        self.tail_state = TailState()
        self._pending.clear()
        start = self.clock() - request.range.window if request.range.follows_now else (
            request.range.bounds(self.clock())[0])  # fmt: skip

        async def work() -> None:
            batches = self._logs.tail(request.cluster, request.logql, start=start,
                                      tenant=request.tenant)  # fmt: skip
            async with aclosing(batches):
                async for batch in batches:
                    self._take(batch.entries, batch.dropped, batch.note, cut=batch.cut)

        self._flush.start()
        self._tail = self.spawn("logs tail", work(), on_error=self._tail_failed)

    def _tail_failed(self, text: str) -> None:
        """The tail's own failure: said as the page's error, and the tail is over (the only
        error that ends it: the view unchecks Live tail when the state says so)."""
        self._flush.stop()
        self.tail_state.ended = True
        self.sig_error.emit(text)
        self.sig_tail_state.emit(self.tail_state)

    def _take(self, entries: list[LogEntry], dropped: int, note: str, *, cut: bool = False) -> None:
        """New lines wait to be shown, at most two seconds' worth: when more come than can be
        shown, the oldest waiting ones are let go (counted), so the page stays near now."""
        state = self.tail_state
        state.dropped += dropped
        if note:
            state.note, state.note_is_cut = note, cut
        elif entries and state.note_is_cut:
            state.note, state.note_is_cut = (
                "",
                False,
            )  # lines again: it reconnected (no longer "reconnecting in 1 s")
        if state.paused:
            state.skipped += len(entries)
            return
        self._pending.extend(entries)
        over = len(self._pending) - 2 * TAIL_MAX_RATE
        for _ in range(max(0, over)):
            self._pending.popleft()
        state.skipped += max(0, over)

    def _flush_tail(self) -> None:
        """A tick: at most TAIL_MAX_RATE lines a second go to the view."""
        n = min(len(self._pending), max(1, TAIL_MAX_RATE * TAIL_FLUSH_MS // 1000))
        if n and not self.tail_state.paused:  # paused: what waits is shown on resume
            lines = [self._pending.popleft() for _ in range(n)]
            self.tail_state.shown += len(lines)
            self.sig_tail_lines.emit(lines)
        self.sig_tail_state.emit(self.tail_state)

    def pause_tail(self, paused: bool) -> None:
        """Paused: the tail stays connected; its lines are counted, not shown."""
        self.tail_state.paused = paused

    def stop_tail(self) -> None:
        if self._tail is not None:
            self._tail.cancel()
            self._tail = None
        self._flush.stop()

    @property
    def tailing(self) -> bool:
        return self._tail is not None and not self._tail.done()

    def stop(self) -> None:
        super().stop()
        self.stop_tail()

    def close(self) -> None:
        self.stop_tail()
        super().close()


@dataclass
class TraceRequest:
    cluster: str
    range: TimeRange = field(default_factory=TimeRange)
    service: str | None = None
    min_duration: str | None = None
    errors_only: bool = False
    limit: int = 50


class TracesPresenter(_ReadsEndpoint):
    """Signals: sig_found(list[TraceSummary]), sig_trace(Trace), sig_busy(bool)."""

    sig_found = Signal(list)
    sig_trace = Signal(object)
    sig_busy = Signal(bool)

    endpoint = EndpointKind.TEMPO

    def search(self, request: TraceRequest) -> None:
        """The traces ``request`` finds; a trace still being read is stopped: the view has
        cleared it for this search (landing later, it stood under this search's answer, or
        its failure was said as the search's)."""
        self._stop_asking("trace")

        async def work() -> None:
            self.sig_busy.emit(True)
            try:
                start, end = request.range.bounds(self.clock())
                traceql = failing_traceql(request.service) if request.errors_only else None
                found = await self._logs.traces(
                    request.cluster, start=start, end=end, service=request.service,
                    min_duration=request.min_duration, traceql=traceql, limit=request.limit,
                )  # fmt: skip
                self.sig_found.emit(found)
                self.sig_error.emit("")
            finally:
                if self._latest("trace search"):
                    self.sig_busy.emit(False)

        self._ask("trace search", work())

    def open(self, cluster: str, trace_id: str) -> None:
        async def work() -> None:
            trace: Trace = await self._logs.trace(cluster, trace_id)
            self.sig_trace.emit(trace)

        self._ask("trace", work())
