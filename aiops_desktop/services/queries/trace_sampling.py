"""Bounded reads of many Tempo calls, and the sample RCA reads the time of calls from: the
newest SAMPLED_PER_STEP traces of each minute (Tempo's search answers the most recent first),
opened. RCA samples a window live (``services.intelligence.rca_logs_traces``); a capture
keeps the same sample of its last minutes (``services.outputs.recorded_logs``), so RCA on the
capture reads what it read live."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from aiops_desktop.models.errors import AppError
from aiops_desktop.models.observability import Trace, TraceSummary
from analysis.rca.traces import SAMPLED_PER_STEP, STEP_S

if TYPE_CHECKING:
    from aiops_desktop.services.outputs.recorded_logs import RecordedLogsTraces
    from aiops_desktop.services.queries.logs_traces import LogsTraces

_T = TypeVar("_T")
AT_ONCE = 8  # Tempo requests in flight per cluster while sampling


async def read_within(
    deadline: float, calls: list[Coroutine[Any, Any, _T]]
) -> tuple[list[_T], list[BaseException], int]:
    """What ``calls`` read before ``deadline`` (the loop's clock), the reads that failed as
    a server or a document can (its refusal, a bad answer, or an answer nested deeper than
    Python recurses: each read's own failure, not the whole sample's), and how many did
    not finish (cancelled, and waited for). Any other error is a defect: raised."""
    tasks = [asyncio.ensure_future(c) for c in calls]
    if not tasks:
        return [], [], 0
    remaining = max(deadline - asyncio.get_running_loop().time(), 0.0)
    try:
        await asyncio.wait(tasks, timeout=remaining)
    finally:  # late, or this read itself cancelled: none is left running
        late = [task for task in tasks if not task.done()]
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    values: list[_T] = []
    failed: list[BaseException] = []
    for task in tasks:
        if task in late:
            continue
        error = task.exception()
        if error is None:
            values.append(task.result())
        elif isinstance(error, AppError | ValueError | RecursionError):
            failed.append(error)
        else:
            raise error
    return values, failed, len(late)


@dataclass(frozen=True)
class Sample:
    """The traces sampled, the reads that failed, how many were late, how many were asked."""

    traces: list[Trace]
    failed: list[BaseException]
    late: int
    asked: int


async def newest_traces(
    logs: LogsTraces | RecordedLogsTraces, cluster: str, start_s: float, end_s: float,
    deadline: float,
) -> Sample:  # fmt: skip
    """The newest SAMPLED_PER_STEP traces of each minute from ``start_s`` to ``end_s`` (none
    searched past ``end_s``), opened, at most AT_ONCE requests in flight; what is not read by
    ``deadline`` (the loop's clock) is cancelled and counted."""
    gate = asyncio.Semaphore(AT_ONCE)

    async def newest(at: float) -> list[TraceSummary]:
        async with gate:
            return await logs.traces(
                cluster, start=datetime.fromtimestamp(at, UTC),
                end=datetime.fromtimestamp(min(at + STEP_S, end_s), UTC),
                traceql="{}", limit=SAMPLED_PER_STEP,
            )  # fmt: skip

    async def opened(trace_id: str) -> Trace:
        async with gate:
            return await logs.trace(cluster, trace_id)

    minutes = np.arange(start_s - start_s % STEP_S, end_s, STEP_S)
    found, failed, late = await read_within(deadline, [newest(float(t)) for t in minutes])
    ids = list(dict.fromkeys(t.trace_id for f in found for t in f))
    read, failed_too, late_too = await read_within(deadline, [opened(i) for i in ids])
    return Sample(read, failed + failed_too, late + late_too, len(minutes) + len(ids))
