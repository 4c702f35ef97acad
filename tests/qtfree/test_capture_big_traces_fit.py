"""A capture's failing traces over what its logs-and-traces document may hold (found in
review: 10 traces of 2,000 spans, each with long attributes, were 128 MB): only the lines
were trimmed, so the whole export was refused after minutes of work, and "export a shorter
span" did not help (the same newest traces fail in it). The oldest failing traces are left
out until the document fits, and said: the export's unread sources name them, and a cluster
left none reads back as not recorded, not as "no failing traces". The limit is patched down,
so each shape is small."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aiops_desktop.models import Cluster, Endpoint, EndpointKind
from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import (
    LogEntry,
    LogResult,
    Span,
    SpanEvent,
    Trace,
    TraceSummary,
)
from aiops_desktop.services.outputs import recorded_logs
from aiops_desktop.services.outputs.recorded_logs import (
    NotRecorded,
    RecordedLogsTraces,
    read_recorded,
    record_logs_traces,
)

END = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
START = END - timedelta(minutes=30)
T0 = int(START.timestamp()) * 10**9
MOST = 300_000  # the document's bound, patched down (64 MiB)
#: a batch job's span: a dozen long attributes (its statement, its URL, its payload)
ATTRIBUTES = {f"db.attr{i}": ("select * from orders where id = 1 and state = 2 " * 5)[:200]
              for i in range(12)}  # fmt: skip


class _Live:
    """Loki and Tempo of clusters with a few error lines each and ``failing`` failing traces
    of ``spans`` spans each (the newest first, as Tempo answers a search: trace ``i`` starts
    ``i`` seconds before the newest)."""

    def __init__(self, failing: dict[str, int], spans: dict[str, int]) -> None:
        self.failing, self.spans = failing, spans

    async def logs(self, cluster: str, logql: str, *, most: int | None = None, **_: object
                   ) -> LogResult:  # fmt: skip
        return LogResult(entries=[
            LogEntry(cluster=cluster, timestamp_ns=T0 + i * 10**6, line=f"ERROR order {i} failed",
                     labels={"k8s_namespace_name": "shop"}) for i in reversed(range(10))
        ], pages=1)  # fmt: skip

    async def traces(self, cluster: str, *, traceql: str | None = None, limit: int = 20,
                     **_: object) -> list[TraceSummary]:  # fmt: skip
        if traceql == "{}":
            return []  # nothing sampled
        return [TraceSummary(trace_id=_id(cluster, i), start_ns=_start(i), duration_ms=1.0,
                             cluster=cluster)
                for i in range(min(self.failing[cluster], limit))]  # fmt: skip

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        i = int(trace_id[8:], 16)
        return Trace(trace_id=trace_id, cluster=cluster, spans=[Span(
            trace_id=trace_id, span_id=f"{s + 1:016x}", service_name="batch", operation="query",
            start_ns=_start(i) + s, duration_ns=1000, status=SpanStatus.ERROR,
            attributes=ATTRIBUTES) for s in range(self.spans[cluster])])  # fmt: skip


def _id(cluster: str, i: int) -> str:
    return f"{sum(cluster.encode()):08x}{i:024x}"


def _start(i: int) -> int:
    """Trace ``i``'s first span's start: the newest (0) last in the window."""
    return T0 + (600 - i) * 10**9


def _clusters(*names: str) -> list[Cluster]:
    both = [Endpoint(kind=EndpointKind.LOKI, url="https://loki"),
            Endpoint(kind=EndpointKind.TEMPO, url="https://tempo")]  # fmt: skip
    return [Cluster(name=n, endpoints=both) for n in names]


@pytest.mark.asyncio
async def test_the_newest_failing_traces_are_kept_within_the_limit_and_the_rest_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recorded_logs, "MOST_DOC_CHARS", MOST)
    live = _Live({"batch": 8, "quiet": 1}, {"batch": 40, "quiet": 2})  # batch's: 110 KB each
    unread: list[str] = []
    text = await record_logs_traces(live, _clusters("batch", "quiet"), START, END,  # type: ignore[arg-type]
                                    not_read=unread)  # fmt: skip

    assert len(text.encode()) <= MOST
    doc = read_recorded(text, "batch.aiops")  # as an open reads it
    assert doc is not None
    kept = [t.trace_id for t in doc.traces if t.cluster == "batch"]
    assert 0 < len(kept) < 8 and kept == [_id("batch", i) for i in range(len(kept))]  # newest
    assert [t.trace_id for t in doc.traces if t.cluster == "quiet"] == [_id("quiet", 0)]
    assert len(doc.lines) == 20 and not doc.logs_read  # the lines all kept, none said cut
    assert not doc.traces_unread  # what batch kept is read back, not refused
    said = (f"the oldest {8 - len(kept)} of 8 failing traces not kept: a capture holds at most "
            f"{MOST:,} characters of logs and traces")  # fmt: skip
    assert unread == [f"batch/traces: {said}"]

    logs = RecordedLogsTraces(doc, lambda: ["batch", "quiet"])
    found = await logs.traces("batch", start=START, end=END, traceql="{ status = error }")
    assert [s.trace_id for s in found] == kept


@pytest.mark.asyncio
async def test_a_cluster_left_no_failing_trace_reads_as_not_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its one trace alone is over the limit: the capture is written with its lines, and a
    search of its traces says why it holds none, not "no failing traces"."""
    monkeypatch.setattr(recorded_logs, "MOST_DOC_CHARS", MOST)
    unread: list[str] = []
    text = await record_logs_traces(_Live({"batch": 1}, {"batch": 200}), _clusters("batch"),  # type: ignore[arg-type]
                                    START, END, not_read=unread)  # fmt: skip

    doc = read_recorded(text, "batch.aiops")
    assert doc is not None and not doc.traces and len(doc.lines) == 10
    why = f"the oldest 1 of 1 failing traces not kept: a capture holds at most {MOST:,} characters"
    assert why in doc.traces_unread["batch"]
    assert unread == [f"batch/traces: {doc.traces_unread['batch']}"]
    logs = RecordedLogsTraces(doc, lambda: ["batch"])
    with pytest.raises(NotRecorded, match=r"holds no traces of batch.*not kept"):
        await logs.traces("batch", start=START, end=END)


class _Eventful(_Live):
    """Failing traces whose spans each hold many small events (a retry loop's exceptions):
    few bytes, many JSON objects."""

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        trace = await super().trace(cluster, trace_id)
        events = [SpanEvent(timestamp_ns=T0 + e, name="exception: retry") for e in range(20)]
        return trace.model_copy(
            update={
                "spans": [
                    s.model_copy(update={"attributes": {}, "events": events}) for s in trace.spans
                ]
            }
        )


@pytest.mark.asyncio
async def test_failing_traces_over_the_objects_an_open_reads_are_trimmed_newest_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Traces of many small events fit the bytes but not the JSON objects an open reads
    (MOST_OBJECTS): the oldest are left out until both fit, and said, as for bytes."""
    monkeypatch.setattr(recorded_logs, "MOST_DOC_CHARS", 2_000_000)
    monkeypatch.setattr(recorded_logs, "MOST_OBJECTS", 8_000)  # batch's: 1,681 each
    live = _Eventful({"batch": 8, "quiet": 1}, {"batch": 40, "quiet": 2})
    unread: list[str] = []
    text = await record_logs_traces(live, _clusters("batch", "quiet"), START, END,  # type: ignore[arg-type]
                                    not_read=unread)  # fmt: skip

    assert len(text.encode()) <= 2_000_000 and text.count("{") <= 8_000
    doc = read_recorded(text, "retries.aiops")  # as an open reads it
    assert doc is not None
    kept = [t.trace_id for t in doc.traces if t.cluster == "batch"]
    assert 0 < len(kept) < 8 and kept == [_id("batch", i) for i in range(len(kept))]  # newest
    assert [t.trace_id for t in doc.traces if t.cluster == "quiet"] == [_id("quiet", 0)]
    assert len(doc.lines) == 20 and not doc.logs_read and not doc.traces_unread
    said = (f"the oldest {8 - len(kept)} of 8 failing traces not kept: a capture holds at most "
            "8,000 JSON objects of logs and traces")  # fmt: skip
    assert unread == [f"batch/traces: {said}"]
