"""A capture of several clusters gives each its share of the lines and failing traces it
keeps (what one leaves passed on to the next): a busy cluster no longer leaves the next none,
which the opened capture said as "no errors". A cluster left no room is said as not
recorded; a cluster whose lines were cut reads back truncated, with its read's notes; a
capture written before this opens, read as all kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aiops_desktop.models import Cluster, Endpoint, EndpointKind
from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import LogEntry, LogResult, Span, Trace, TraceSummary
from aiops_desktop.services.outputs.recorded_logs import (
    MOST_LINES,
    MOST_TRACES,
    NotRecorded,
    RecordedLogsTraces,
    read_recorded,
    record_logs_traces,
)
from aiops_desktop.services.queries.logs_traces import failing_traceql

END = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
START = END - timedelta(minutes=30)
T0 = int(START.timestamp()) * 10**9
ERRORS = '{k8s_namespace_name=~".+"} |~ "(?i)error"'


class _Live:
    """Loki and Tempo of clusters with ``lines`` error lines (one a millisecond from the
    window's start, newest first as Loki answers) and ``failing`` failing traces each."""

    def __init__(self, lines: dict[str, int], failing: dict[str, int],
                 notes: dict[str, list[str]] | None = None) -> None:  # fmt: skip
        self.lines, self.failing, self.notes = lines, failing, notes or {}
        self.asked: list[tuple[str, int]] = []

    async def logs(self, cluster: str, logql: str, *, most: int | None = None, **_: object
                   ) -> LogResult:  # fmt: skip
        assert most is not None and most > 0  # none asked with no room
        self.asked.append((cluster, most))
        n = self.lines[cluster]
        entries = [LogEntry(cluster=cluster, timestamp_ns=T0 + i * 10**6, line=f"ERROR #{i}",
                            labels={"k8s_namespace_name": "ns"})
                   for i in reversed(range(max(0, n - most), n))]  # fmt: skip
        return LogResult(entries=entries, truncated=n > most, pages=1,
                         notes=self.notes.get(cluster, []))  # fmt: skip

    async def traces(self, cluster: str, *, traceql: str | None = None, limit: int = 20,
                     **_: object) -> list[TraceSummary]:  # fmt: skip
        if traceql == "{}":
            return []  # nothing sampled
        assert limit > 0
        n = min(self.failing[cluster], limit)
        return [TraceSummary(trace_id=f"{hash(cluster) % 2**32:08x}{i:024x}", start_ns=T0,
                             duration_ms=1.0, cluster=cluster) for i in range(n)]  # fmt: skip

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        return Trace(trace_id=trace_id, cluster=cluster, spans=[Span(
            trace_id=trace_id, span_id="1".zfill(16), service_name="shop", operation="op",
            start_ns=T0 + 10**9, duration_ns=1000, status=SpanStatus.ERROR)])  # fmt: skip


def _clusters(*names: str) -> list[Cluster]:
    both = [Endpoint(kind=EndpointKind.LOKI, url="https://loki"),
            Endpoint(kind=EndpointKind.TEMPO, url="https://tempo")]  # fmt: skip
    return [Cluster(name=n, endpoints=both) for n in names]


@pytest.mark.asyncio
async def test_a_busy_cluster_leaves_the_next_its_share() -> None:
    live = _Live({"busy": 25_000, "quiet": 3}, {"busy": 30, "quiet": 2},
                 notes={"busy": ["12 lines could not be read (not UTF-8)"]})  # fmt: skip
    text = await record_logs_traces(live, _clusters("busy", "quiet"), START, END)  # type: ignore[arg-type]
    doc = read_recorded(text, "cap")
    assert doc is not None
    assert live.asked == [("busy", MOST_LINES // 2), ("quiet", MOST_LINES // 2)]
    assert doc.logs_unread == {} and doc.traces_unread == {}
    assert doc.logs_read["busy"].truncated and "quiet" not in doc.logs_read
    opened = RecordedLogsTraces(doc, lambda: ["busy", "quiet"])
    busy = await opened.logs("busy", ERRORS, start=START, end=END, most=MOST_LINES)
    quiet = await opened.logs("quiet", ERRORS, start=START, end=END, most=MOST_LINES)
    assert len(busy.entries) == MOST_LINES // 2 and busy.truncated
    assert busy.notes[0] == "12 lines could not be read (not UTF-8)"
    assert "kept the newest 10,000 of busy's error lines" in busy.notes[1]
    assert len(quiet.entries) == 3 and not quiet.truncated and quiet.notes == []
    # the newest were kept: a query after the oldest kept line misses none
    oldest = min(e.timestamp_ns for e in busy.entries)
    later = datetime.fromtimestamp((oldest + 10**9) / 1e9, UTC)
    recent = await opened.logs("busy", ERRORS, start=later, end=END, most=MOST_LINES)
    assert recent.entries and not recent.truncated
    for cluster, n in (("busy", MOST_TRACES // 2), ("quiet", 2)):
        found = await opened.traces(cluster, start=START, end=END, traceql=failing_traceql(),
                                    limit=100)  # fmt: skip
        assert len(found) == n, cluster


@pytest.mark.asyncio
async def test_each_cluster_is_read_at_once_for_its_share() -> None:
    """The clusters are read side by side, each for its share (one slow Loki lost every
    cluster's lines when they were read one after another): what a quiet cluster leaves is
    not passed on, the price of it."""
    live = _Live({"quiet": 3, "busy": 25_000}, {"quiet": 2, "busy": 30})
    text = await record_logs_traces(live, _clusters("quiet", "busy"), START, END)  # type: ignore[arg-type]
    doc = read_recorded(text, "cap")
    assert doc is not None
    assert sorted(live.asked) == [("busy", MOST_LINES // 2), ("quiet", MOST_LINES // 2)]
    assert sum(t.cluster == "busy" for t in doc.traces) == MOST_TRACES // 2


@pytest.mark.asyncio
async def test_a_cluster_left_no_room_is_not_recorded_not_quiet() -> None:
    names = [f"c{i:02}" for i in range(MOST_TRACES + 5)]  # more clusters than traces kept
    live = _Live(dict.fromkeys(names, 1), dict.fromkeys(names, 3))
    text = await record_logs_traces(live, _clusters(*names), START, END)  # type: ignore[arg-type]
    doc = read_recorded(text, "cap")
    assert doc is not None and len(doc.traces) == MOST_TRACES
    left = sorted(doc.traces_unread)
    assert len(left) == 5 and all("at most 20 failing traces" in doc.traces_unread[c]
                                  for c in left)  # fmt: skip
    opened = RecordedLogsTraces(doc, lambda: names)
    with pytest.raises(NotRecorded, match="could not be read"):
        await opened.traces(left[0], start=START, end=END, traceql=failing_traceql())
    assert len(doc.lines) == len(names) and doc.logs_unread == {}  # lines: room for all


@pytest.mark.asyncio
async def test_an_old_capture_reads_back_untruncated() -> None:
    old = (f'{{"lines": [{{"cluster": "c", "timestamp_ns": {T0 + 10**9}, "line": "ERROR x", '
           '"labels": {"k8s_namespace_name": "ns"}}]}')  # fmt: skip
    doc = read_recorded(old, "old.aiops")
    assert doc is not None and doc.logs_read == {}
    found = await RecordedLogsTraces(doc, lambda: ["c"]).logs("c", ERRORS, start=START, end=END)
    assert len(found.entries) == 1 and not found.truncated and found.notes == []
