"""A trace cut short keeps its failure and says it was cut: one way to cut (``spans_to_keep``:
the failed spans and the chain of their parents first, then the earliest by start), shared
by the Tempo client (MOST_SPANS) and a capture (its failing and sampled traces); the count
people read is "20,000 of 25,000 spans", never "20,000 spans, 0 errors"."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from aiops_desktop.models import Cluster, Endpoint, EndpointKind
from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import Span, Trace, TraceSummary, spans_to_keep
from aiops_desktop.services.outputs import recorded_logs as rl
from aiops_desktop.services.queries.logs_traces import failing_traceql
from collectors.tempo import MOST_SPANS, parse_trace

TID = "ab" * 16
END = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
START = END - timedelta(minutes=30)
T0 = int((END - timedelta(minutes=10)).timestamp()) * 10**9


def span(n: int, parent: int | None, *, start: int | None = None, failed: bool = False) -> Span:
    return Span(trace_id=TID, span_id=f"{n:016x}",
                parent_span_id=f"{parent:016x}" if parent is not None else None,
                service_name="shop", operation=f"op{n}",
                start_ns=T0 + (n if start is None else start), duration_ns=1,
                status=SpanStatus.ERROR if failed else SpanStatus.UNSET)  # fmt: skip


def ids(trace: Trace) -> list[int]:
    return [int(s.span_id, 16) for s in trace.spans]


def test_a_cut_keeps_each_error_with_its_parents_then_the_earliest() -> None:
    # 1 <- 2 <- 3 <- 40 (failed, started last); 4..39 children of 1, started early
    spans = [span(1, None), span(2, 1, start=100), span(3, 2, start=101)]
    spans += [span(n, 1) for n in range(4, 40)]
    spans.append(span(40, 3, start=200, failed=True))
    trace = Trace(trace_id=TID, cluster="c", spans=spans)
    cut = trace.cut_to(6)
    assert ids(cut) == [1, 2, 3, 4, 5, 40]  # the error and its chain, then the earliest; in order
    assert cut.has_error and cut.cut and cut.spans_total == 40
    assert cut.spans_said == "6 of 40 spans"
    assert trace.cut_to(40) is trace and not trace.cut and trace.spans_said == "40 spans"
    # cut again (a capture of a trace the client cut): it had the first total, not the second
    assert cut.cut_to(3).spans_total == 40 and cut.cut_to(3).has_error


def test_more_errors_than_room_keeps_the_earliest_errors_and_loops_end() -> None:
    keys = [(f"{n}", f"{n - 1}" if n else None, True, 100 - n) for n in range(10)]
    assert spans_to_keep(keys, 3) == [7, 8, 9]  # the errors that started first
    looped = [("a", "b", True, 5), ("b", "a", False, 1), ("c", None, False, 0)]
    assert spans_to_keep(looped, 2) == [0, 1]  # the error and its parent; the loop ends
    assert spans_to_keep(looped, 0) == [] and spans_to_keep(looped, 9) == [0, 1, 2]


def _b64(n: int, width: int) -> str:
    return base64.b64encode(n.to_bytes(width, "big")).decode()


def _otlp(count: int, *, failed_at: int | None = None, repeat: int = 0) -> dict[str, object]:
    spans: list[dict[str, object]] = [{"traceId": _b64(1, 16), "spanId": _b64(i + 1, 8),
              "parentSpanId": _b64(1, 8) if i else "", "name": f"op{i}",
              "startTimeUnixNano": str(10**18 + i * 1000),
              "endTimeUnixNano": str(10**18 + i * 1000 + 500)} for i in range(count)]  # fmt: skip
    if failed_at is not None:
        spans[failed_at]["status"] = {"code": 2, "message": "payment declined"}
    spans += spans[:repeat]  # the server repeats some: one span each, not a cut
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]}
    return {"batches": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]}


def test_a_trace_over_the_clients_bound_keeps_its_error_and_says_its_size() -> None:
    trace = parse_trace(_otlp(MOST_SPANS + 5000, failed_at=-1), "1", "c1")
    assert len(trace.spans) == MOST_SPANS and trace.spans_total == MOST_SPANS + 5000
    failed = [s for s in trace.spans if s.status is SpanStatus.ERROR]
    assert [s.status_message for s in failed] == ["payment declined"]
    assert trace.root is not None and trace.root.operation == "op0"  # its parent: the root
    assert trace.spans_said == "20,000 of 25,000 spans"
    assert trace.model_dump(mode="json")["spans_total"] == 25_000  # traces --id --json


def test_a_trace_within_the_bound_or_only_repeated_past_it_is_not_cut() -> None:
    small = parse_trace(_otlp(10, failed_at=3), "1", "c1")
    assert len(small.spans) == 10 and small.spans_total is None and not small.cut
    repeated = parse_trace(_otlp(MOST_SPANS, repeat=50), "1", "c1")
    assert len(repeated.spans) == MOST_SPANS and repeated.spans_total is None
    assert repeated.spans_said == "20,000 spans"


class _Live:
    """A Tempo whose one failing trace has 3,000 spans, its error the 2,501st sent."""

    def __init__(self) -> None:
        spans = [span(i + 1, None if i == 0 else 1, start=i * 1000) for i in range(3000)]
        failed = {"status": SpanStatus.ERROR, "status_message": "payment declined"}
        spans[2500] = spans[2500].model_copy(update=failed)
        self.big = Trace(trace_id=TID, cluster="prod-1", spans=spans)

    async def traces(self, cluster: str, *, traceql: str | None = None, **_: object
                     ) -> list[TraceSummary]:  # fmt: skip
        return [TraceSummary(trace_id=TID, root_service="shop", root_name="op1", start_ns=T0,
                             duration_ms=3.0, cluster=cluster)]  # fmt: skip

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        return self.big


@pytest.mark.asyncio
async def test_a_captured_failing_trace_keeps_its_error_and_says_it_was_cut() -> None:
    tempo = [Endpoint(kind=EndpointKind.TEMPO, url="https://tempo")]
    text = await rl.record_logs_traces(_Live(), [Cluster(name="prod-1", endpoints=tempo)],  # type: ignore[arg-type]
                                       START, END)  # fmt: skip
    doc = rl.read_recorded(text, "cap")
    assert doc is not None
    kept = doc.traces[0]
    assert len(kept.spans) == rl.MOST_SPANS and kept.has_error and kept.spans_total == 3000
    assert kept.spans_said == "2,000 of 3,000 spans"
    opened = rl.RecordedLogsTraces(doc, lambda: ["prod-1"])
    found = await opened.traces("prod-1", start=START, end=END, traceql=failing_traceql())
    assert [t.trace_id for t in found] == [TID]  # errors only still finds it
    again = await opened.trace("prod-1", TID)
    assert again.spans_said == "2,000 of 3,000 spans"
    # its sample (each minute's newest) is cut the same way, and says so too
    assert doc.sampled and all(t.spans_total == 3000 and t.has_error for t in doc.sampled)


def test_a_capture_written_before_traces_said_their_size_still_opens() -> None:
    old = (f'{{"traces": [{{"trace_id": "{TID}", "cluster": "c", "spans": [{{"trace_id": '
           f'"{TID}", "span_id": "0000000000000001", "service_name": "s", "operation": "o", '
           f'"start_ns": {T0}, "duration_ns": 1}}]}}]}}')  # fmt: skip
    doc = rl.read_recorded(old, "old.aiops")
    assert doc is not None and doc.traces[0].spans_total is None
    assert doc.traces[0].spans_said == "1 span" and doc.logs_read == {}
