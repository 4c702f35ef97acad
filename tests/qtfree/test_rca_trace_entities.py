"""Which pod a trace's spans belong to, and what RCA quotes of the failing traces through a
cause: a real Tempo's OTLP JSON (the OpenTelemetry Collector's k8sattributes processor) names
the pod in the batch's RESOURCE, not in each span, and RCA names that pod as Loki and the
stored series do; the root text quoted is redacted as the error is; and the traces quoted are
those at the change, not the window's first (baseline noise)."""

from __future__ import annotations

import base64

from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import MOST_ATTRIBUTES, Span, Trace
from analysis.rca.traces import failing_through, span_entity, trace_signals
from collectors.tempo import parse_trace

TRACE = "0123456789abcdef0123456789abcdef"
T0 = 1_765_000_000
POD = "east pod shop/cart-5f6-xyz"


def b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def attr(key: str, value: str) -> dict[str, object]:
    return {"key": key, "value": {"stringValue": value}}


def resource(service: str, pod: str) -> dict[str, object]:
    return {"attributes": [attr("service.name", service), attr("k8s.pod.name", pod),
                           attr("k8s.namespace.name", "shop"),
                           attr("k8s.node.name", "worker-1")]}  # fmt: skip


def raw_span(span_id: str, parent: str | None, name: str, at_ms: int, ms: int,
             failed: bool = False, attributes: dict[str, str] | None = None,
             ) -> dict[str, object]:  # fmt: skip
    out: dict[str, object] = {
        "traceId": b64(TRACE), "spanId": b64(span_id), "name": name,
        "startTimeUnixNano": str(T0 * 10**9 + at_ms * 10**6),
        "endTimeUnixNano": str(T0 * 10**9 + (at_ms + ms) * 10**6),
        "attributes": [attr(k, v) for k, v in (attributes or {}).items()],
    }  # fmt: skip
    if parent:
        out["parentSpanId"] = b64(parent)
    if failed:
        out["status"] = {"code": 2, "message": "db timeout"}
    return out


def test_the_pod_a_resource_names_is_each_spans_entity() -> None:
    """The pod and namespace in the batch's resource go onto each of its spans (a span that
    names its own keeps its own), so the trace's signals and its failing traces name the pod."""
    many = {f"a{i}": str(i) for i in range(MOST_ATTRIBUTES)}  # a span at the attributes' bound
    payload = {"batches": [
        {"resource": resource("frontend", "frontend-7d9-abc"), "scopeSpans": [{"spans": [
            raw_span("1" * 16, None, "GET /cart", 0, 50)]}]},
        {"resource": resource("cart", "cart-5f6-xyz"), "scopeSpans": [{"spans": [
            raw_span("2" * 16, "1" * 16, "cart.get", 1, 39, failed=True),
            raw_span("3" * 16, "2" * 16, "cart.own", 2, 5,
                     attributes={"k8s.pod.name": "cart-own-0"}),
            raw_span("4" * 16, "2" * 16, "cart.many", 3, 5, attributes=many)]}]},
    ]}  # fmt: skip
    trace = parse_trace(payload, TRACE, "east")
    by_op = {s.operation: s for s in trace.spans}
    assert span_entity("east", by_op["GET /cart"]) == "east pod shop/frontend-7d9-abc"
    assert span_entity("east", by_op["cart.get"]) == POD
    assert by_op["cart.get"].attributes["k8s.node.name"] == "worker-1"
    assert span_entity("east", by_op["cart.own"]) == "east pod shop/cart-own-0"  # its own
    crowded = by_op["cart.many"]  # still bounded, and still names its pod
    assert len(crowded.attributes) == MOST_ATTRIBUTES and span_entity("east", crowded) == POD
    # a capture holds the spans as read: the pod survives its document
    again = Trace.model_validate_json(trace.model_dump_json())
    assert span_entity("east", next(s for s in again.spans if s.operation == "cart.get")) == POD
    signals, edges = trace_signals([trace], T0 - 600, T0 + 60)
    assert POD in {s.entity for s in signals}
    assert ("east pod shop/frontend-7d9-abc", POD) in edges
    [quoted] = failing_through([trace], POD, T0 + 60)
    assert quoted.trace_id == TRACE and quoted.error == "db timeout"


def test_the_quoted_root_is_redacted_and_printable() -> None:
    """The root text goes to the RCA JSON, the page's tooltip and the incident report: a
    token in its URL is redacted, and no control character reaches a terminal."""
    secret = "GET /oauth/callback?access_token=s3cr3tT0kenValue&x=1\x1b[31m"
    root = Span(trace_id=TRACE, span_id="1" * 16, service_name="frontend", operation=secret,
                start_ns=T0 * 10**9, duration_ns=50_000_000)  # fmt: skip
    child = Span(trace_id=TRACE, span_id="2" * 16, parent_span_id="1" * 16,
                 service_name="cart", operation=secret, start_ns=T0 * 10**9 + 10**6,
                 duration_ns=30_000_000, status=SpanStatus.ERROR,
                 attributes={"k8s.pod.name": "cart-0", "k8s.namespace.name": "shop"})  # fmt: skip
    [quoted] = failing_through([Trace(trace_id=TRACE, cluster="east", spans=[root, child])],
                               "east pod shop/cart-0", T0 + 60)  # fmt: skip
    for text in (quoted.root, quoted.error):
        assert "s3cr3tT0kenValue" not in text and "[REDACTED]" in text
        assert "\x1b" not in text
    assert quoted.root.startswith("frontend GET /oauth/callback")


def failing(n: int, at_s: float) -> Trace:
    trace_id = f"{n:032x}"
    return Trace(trace_id=trace_id, cluster="east", spans=[Span(
        trace_id=trace_id, span_id="1" * 16, service_name="cart", operation="op",
        start_ns=int(at_s * 1e9), duration_ns=10**6, status=SpanStatus.ERROR,
        attributes={"k8s.pod.name": "cart-0", "k8s.namespace.name": "shop"})])  # fmt: skip


def test_the_traces_quoted_are_those_at_the_change() -> None:
    """In a 35-minute window the first failing traces are the baseline's noise: around the
    change, those at or after it come first (nearest first), then those just before it; at
    most ``most``, in start order. Without it, the first by start, as before."""
    change, end = T0, T0 + 300
    times = [change - 1800, change - 1500, change - 600, change - 30, change + 20, change + 120,
             change + 250]  # fmt: skip
    traces = [failing(i + 1, t) for i, t in enumerate(times)]
    starts = lambda got: [t.start_s for t in got]  # noqa: E731
    pod = "east pod shop/cart-0"
    assert starts(failing_through(traces, pod, end)) == times[:3]  # unchanged by default
    assert starts(failing_through(traces, pod, end, around=change)) == times[4:]
    assert starts(failing_through(traces, pod, end, most=5, around=change)) == times[2:]
    # only one at or after it: the nearest before it fill the rest
    assert starts(failing_through(traces[:5], pod, end, around=change)) == times[2:5]
    # one that fails after the end is not known yet, around or not
    assert starts(failing_through(traces, pod, change + 200, around=change)) == [
        change - 30, change + 20, change + 120]  # fmt: skip
