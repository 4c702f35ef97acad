"""How an opened capture answers logs and traces (review 4): every condition of a TraceQL
``{ }`` holds of one span (a trace failing in one service is not another's failing trace);
a query of lines the capture never kept (it keeps error lines only) says so, first; and a
capture that recorded no logs or traces, or a cluster that had no Loki or Tempo in it, is
"not recorded", never "none there"."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from aiops_desktop.models import Cluster, Endpoint, EndpointKind
from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.errors import UsageError
from aiops_desktop.models.observability import LogEntry, Span, Trace
from aiops_desktop.services.intelligence.rca_logs_traces import ERROR_VOLUME, LogsTracesAround
from aiops_desktop.services.outputs.recorded_logs import (
    RECORD_ERRORS,
    LinesRead,
    NotRecorded,
    RecordedLogsTraces,
    RecordedLogsTracesDoc,
    read_recorded,
)
from aiops_desktop.services.queries.logs_traces import ERRORS, failing_traceql
from analysis.rca.model import Window

END = datetime(2024, 1, 1, 12, 30, tzinfo=UTC)
START = END - timedelta(hours=1)
T0 = int((END - timedelta(minutes=10)).timestamp()) * 10**9

# -- one span meets every condition of a { } -----------------------------------------------------

TID = "ab" * 16
#: frontend's span succeeded; payments' span, its child, failed
MIXED = Trace(trace_id=TID, cluster="c1", spans=[
    Span(trace_id=TID, span_id="1" * 16, service_name="frontend", operation="GET /",
         start_ns=T0, duration_ns=5_000_000, status=SpanStatus.OK),
    Span(trace_id=TID, span_id="2" * 16, parent_span_id="1" * 16, service_name="payments",
         operation="charge", start_ns=T0 + 1000, duration_ns=1_000_000,
         status=SpanStatus.ERROR),
])  # fmt: skip


def _found(**asked: Any) -> list[str]:
    logs = RecordedLogsTraces(RecordedLogsTracesDoc(traces=[MIXED]), lambda: ["c1"])
    found = asyncio.run(logs.traces("c1", start=START, end=END, **asked))
    return [t.trace_id for t in found]


def test_errors_through_a_service_are_one_spans_not_the_traces() -> None:
    """TraceQL reads every condition of a { } of one span: frontend never failed here."""
    assert _found(traceql=failing_traceql("frontend"), service="frontend") == []
    assert _found(traceql=failing_traceql("frontend")) == []
    assert _found(traceql=failing_traceql(), service="frontend") == []  # the page's, the CLI's
    assert _found(traceql=failing_traceql("payments"), service="payments") == [TID]
    assert _found(traceql=failing_traceql()) == [TID]
    # the live client writes --operation into the query too: the failed span is charge's
    assert _found(traceql=failing_traceql(), operation="GET /") == []
    assert _found(traceql=failing_traceql(), operation="charge") == [TID]
    assert _found(traceql=failing_traceql("payments"), operation="GET /") == []
    # without errors, a service's traces are those it has a span in
    assert _found(service="frontend") == [TID]


# -- a capture keeps error lines only ------------------------------------------------------------

SHOP = {"k8s_namespace_name": "shop", "k8s_pod_name": "web-1"}
LINES = [LogEntry(cluster="c1", timestamp_ns=T0 + i * 10**9, line=f"ERROR upstream timeout {i}",
                  labels=SHOP) for i in range(3)]  # fmt: skip
FILTER = ERRORS.strip()


def _logs(doc: RecordedLogsTracesDoc | None = None) -> RecordedLogsTraces:
    return RecordedLogsTraces(doc or RecordedLogsTracesDoc(lines=LINES), lambda: ["c1"])


NOT_KEPT = ['{k8s_namespace_name="shop"} != "ERROR"', '{k8s_namespace_name="shop"} !~ "timeout"',
            '{k8s_namespace_name="shop"}', '{k8s_namespace_name="shop"} |= "GET /healthz"',
            '{k8s_namespace_name="shop"} |~ "ERROR|timeout"',
            '{k8s_namespace_name="shop"} |~ "(?i)err.r"',
            'sum(count_over_time({k8s_namespace_name="shop"} [1m]))']  # fmt: skip


@pytest.mark.parametrize("query", NOT_KEPT)
def test_a_query_of_lines_the_capture_did_not_keep_says_so_first(query: str) -> None:
    read = LinesRead(notes=["2 lines could not be read (not UTF-8)"])
    logs = _logs(RecordedLogsTracesDoc(lines=LINES, logs_read={"c1": read}))
    found = asyncio.run(logs.logs("c1", query, start=START, end=END))
    assert "kept only" in found.notes[0] and FILTER in found.notes[0], found.notes
    assert found.notes[1:] == ["2 lines could not be read (not UTF-8)"]  # its read's, after


def test_a_volume_of_a_namespace_says_it_counts_its_error_lines_only() -> None:
    logs = _logs()
    counted = asyncio.run(logs.counted("c1", 'sum(count_over_time({k8s_namespace_name="shop"}'
                                       " [1m]))", start=START, end=END, step_s=60))  # fmt: skip
    assert sum(v for s in counted.series for _, v in s.points) > 0
    assert "kept only" in counted.notes[0] and FILTER in counted.notes[0]
    # a line filter that drops the error lines is said more strongly: none found is no answer
    none = asyncio.run(logs.logs("c1", '{k8s_namespace_name="shop"} != "ERROR"', start=START,
                                 end=END))  # fmt: skip
    assert none.entries == [] and "none found" in none.notes[0]


@pytest.mark.parametrize("query", [RECORD_ERRORS, '{k8s_namespace_name="shop"}' + ERRORS,
                                   '{k8s_namespace_name="shop"} |= "ERROR" != "timeout 1"',
                                   '{k8s_namespace_name="shop"} |~ "(?i)error"',
                                   '{k8s_namespace_name="shop"} |~ "ERROR|Exception"',
                                   ERROR_VOLUME])  # fmt: skip
def test_a_query_of_error_lines_only_is_answered_whole_without_a_note(query: str) -> None:
    """What the capture kept is all of these: nothing to say (a subset is not refused)."""
    found = asyncio.run(_logs().logs("c1", query, start=START, end=END))
    assert found.notes == [] and not found.truncated
    assert found.entries or found.series


# -- not recorded, not none ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_capture_without_logs_and_traces_says_not_recorded_not_none() -> None:
    """An older capture, or one whose recording of them did not finish, holds no document."""
    logs = RecordedLogsTraces(read_recorded(None, "old.aiops"), lambda: ["c1"])
    with pytest.raises(NotRecorded, match="recorded no logs"):
        await logs.logs("c1", RECORD_ERRORS, start=START, end=END)
    with pytest.raises(NotRecorded, match="recorded no logs"):
        await logs.volume("c1", '{k8s_namespace_name="shop"}', start=START, end=END)
    with pytest.raises(NotRecorded, match="recorded no logs"):
        await logs.counted("c1", ERROR_VOLUME, start=START, end=END, step_s=60)
    with pytest.raises(NotRecorded, match="recorded no logs"):
        await logs.labels("c1")
    with pytest.raises(NotRecorded, match="recorded no traces"):
        await logs.traces("c1", start=START, end=END, traceql=failing_traceql())
    with pytest.raises(NotRecorded, match="recorded no traces"):
        await logs.trace("c1", TID)
    # a query it could never answer is said as such first (invalid input, as live)
    with pytest.raises(UsageError, match="cannot answer that query"):
        await logs.logs("c1", '{a="b"', start=START, end=END)
    with pytest.raises(UsageError, match="TraceQL"):
        await logs.traces("c1", start=START, end=END, traceql="{ .http.method = 1 }")


def _registered(name: str, *kinds: EndpointKind) -> Cluster:
    return Cluster(name=name, api_server_url=f"https://{name}:6443",
                   endpoints=[Endpoint(kind=k, url=f"https://{k.value.lower()}")
                              for k in kinds])  # fmt: skip


@pytest.mark.asyncio
async def test_a_cluster_without_loki_or_tempo_in_the_capture_says_so() -> None:
    registered = [_registered("prod-1", EndpointKind.LOKI, EndpointKind.TEMPO),
                  _registered("lab-2")]  # fmt: skip
    logs = RecordedLogsTraces(RecordedLogsTracesDoc(), lambda: ["prod-1", "lab-2", "member-3"],
                              registered=lambda: registered)  # fmt: skip
    quiet = await logs.logs("prod-1", RECORD_ERRORS, start=START, end=END)  # read: no errors
    assert quiet.entries == [] and quiet.notes == []
    assert await logs.traces("prod-1", start=START, end=END, traceql=failing_traceql()) == []
    with pytest.raises(NotRecorded, match="lab-2 had no Loki"):
        await logs.logs("lab-2", RECORD_ERRORS, start=START, end=END)
    with pytest.raises(NotRecorded, match="lab-2 had no Tempo"):
        await logs.traces("lab-2", start=START, end=END, traceql=failing_traceql())
    with pytest.raises(NotRecorded, match="lab-2 had no Tempo"):
        await logs.trace("lab-2", TID)
    # a hub's member is not registered itself: answered from what the capture kept, as before
    member = await logs.logs("member-3", RECORD_ERRORS, start=START, end=END)
    assert member.entries == []


class _Loki:
    def get(self, name: str) -> Any:
        return SimpleNamespace(endpoint=lambda kind: "https://loki" if kind is EndpointKind.LOKI
                               else None)  # fmt: skip


@pytest.mark.asyncio
async def test_rca_of_a_capture_without_logs_says_they_were_not_recorded() -> None:
    logs = RecordedLogsTraces(None, lambda: ["c1"])
    around = LogsTracesAround(logs, _Loki())  # type: ignore[arg-type]
    at = END.timestamp()
    read = await around.read(["c1"], Window(at - 300, analysis_s=at))
    assert read.signals == []
    assert any(u.startswith("c1 logs: ") and "recorded no logs" in u for u in read.unread), (
        read.unread
    )
