"""A trace read for the waterfall and the service graph: depth first with each span id once
(a server that repeats a span, or parents that loop, never multiply the walk), and a call
counted as failed when the called service's span or one under it in that service failed."""

from __future__ import annotations

from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import Span, Trace, depth_first, service_calls


def span(n: int, parent: int | None, service: str, *, failed: bool = False) -> Span:
    return Span(trace_id="a" * 32, span_id=f"{n:016x}",
                parent_span_id=f"{parent:016x}" if parent is not None else None,
                service_name=service, operation=f"op{n}", start_ns=n, duration_ns=1,
                status=SpanStatus.ERROR if failed else SpanStatus.UNSET)  # fmt: skip


def test_each_span_once_however_the_server_repeats_or_loops() -> None:
    spans = [span(1, None, "front"), span(2, 1, "cart"), span(3, 2, "cart")]
    repeated = spans + [span(2, 1, "cart"), span(3, 2, "cart")] * 20  # the same ids again
    rows = depth_first(Trace(trace_id="a" * 32, cluster="e", spans=repeated))
    assert [(d, s.span_id[-1]) for d, s in rows] == [(0, "1"), (1, "2"), (2, "3")]
    looped = [span(5, 6, "a"), span(6, 5, "b")]  # each the other's parent: no root
    rows = depth_first(Trace(trace_id="a" * 32, cluster="e", spans=looped))
    assert sorted(s.span_id[-1] for _, s in rows) == ["5", "6"]


def test_a_call_fails_when_the_called_service_fails_under_it() -> None:
    trace = Trace(trace_id="a" * 32, cluster="e", spans=[
        span(1, None, "front"), span(2, 1, "cart"), span(3, 2, "cart", failed=True),
        span(4, 1, "pay"), span(5, 4, "db", failed=True),
    ])  # fmt: skip
    calls = service_calls(trace)
    assert calls[("front", "cart")] == (1, 1)  # failed inside cart
    assert calls[("front", "pay")] == (1, 0)  # pay's own spans did not fail
    assert calls[("pay", "db")] == (1, 1)


def test_a_span_that_is_its_own_parent_ends_the_walk_of_a_call() -> None:
    """A crafted trace (a capture's, or a server's): span 01 twice, once its own parent in
    svc-b under the other in svc-a. The graph of calls is read once, not walked forever (the
    assistant's get_trace and the Traces page hung on it at full CPU)."""
    trace = Trace(
        trace_id="a" * 32, cluster="e", spans=[span(1, 1, "svc-b"), span(1, None, "svc-a")]
    )
    assert service_calls(trace) == {("svc-a", "svc-b"): (1, 0)}
    loop = [span(1, None, "a"), span(2, 1, "b"), span(3, 2, "b"), span(2, 3, "b")]
    assert service_calls(Trace(trace_id="a" * 32, cluster="e", spans=loop)) == {("a", "b"): (1, 0)}
