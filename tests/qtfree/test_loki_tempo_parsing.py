"""What Loki and Tempo answer, read exactly and refused clearly when it is not their shape:
streams with structured metadata, matrices, OTLP JSON in both of Tempo's envelopes (ids base64
or hex, kinds and status as names or numbers), gateway URLs, and crafted answers."""

from __future__ import annotations

import base64

import pytest

from aiops_desktop.models.enums import SpanKind, SpanStatus
from aiops_desktop.models.observability import MOST_LABELS
from collectors.errors import CollectorBadResponse
from collectors.loki import LokiPaths, gateway_root, parse_matrix, parse_streams
from collectors.tempo import api_prefix, hex_id, parse_metrics, parse_search, parse_trace

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN, PARENT = "b7ad6b7169203331", "00f067aa0ba902b7"


def b64(hex_text: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_text)).decode()


def test_loki_streams_and_matrices() -> None:
    result = [{"stream": {"app": "shop"}, "values": [["1700000000000000001", "GET /"],
               ["1700000000000000002", "boom", {"trace_id": TRACE}]]}]  # fmt: skip
    entries = parse_streams(result, "east")
    assert [e.line for e in entries] == ["GET /", "boom"]
    assert entries[1].labels == {"app": "shop", "trace_id": TRACE}
    assert entries[0].cluster == "east" and entries[0].timestamp_ns == 1700000000000000001
    [series] = parse_matrix([{"metric": {"level": "error"}, "values": [[1700000000, "3"]]}])
    assert series.labels == {"level": "error"} and series.points == [(1700000000.0, 3.0)]
    crafted_lines = ([{"stream": "x", "values": []}], [{"stream": {}, "values": [["x", "y"]]}],
                     [{"stream": {}, "values": [["-5", "before 1970"]]}],
                     [{"stream": {}, "values": [[str(2**63), "past int64"]]}])  # fmt: skip
    for crafted in crafted_lines:
        with pytest.raises(CollectorBadResponse):
            parse_streams(crafted, "east")
    # labels and structured metadata together stay within what a capture may hold
    many = {f"k{n}": "v" for n in range(200)}
    [wide] = parse_streams([{"stream": many, "values": [["1", "x", many]]}], "east")
    assert len(wide.labels) == MOST_LABELS


def test_gateway_urls_and_tenants() -> None:
    assert gateway_root("https://gw.example/api/logs/v1/audit/") == (
        "https://gw.example", LokiPaths(gateway=True, tenant="audit"))  # fmt: skip
    assert gateway_root("https://loki.example") == ("https://loki.example", None)
    assert gateway_root("https://gw/api/logs/v1/nobody") == ("https://gw/api/logs/v1/nobody", None)
    assert LokiPaths().path("query") == "/loki/api/v1/query"
    assert LokiPaths(gateway=True).path("labels", "infrastructure") == (
        "/api/logs/v1/infrastructure/loki/api/v1/labels")  # fmt: skip
    with pytest.raises(ValueError, match="unknown LokiStack tenant"):
        LokiPaths(gateway=True).path("query", "../admin")
    assert api_prefix("https://gw/api/traces/v1/dev") == "/tempo"
    assert api_prefix("https://tempo.example") == ""


def test_otlp_json_in_both_envelopes() -> None:
    span = {"traceId": b64(TRACE), "spanId": b64(SPAN), "parentSpanId": b64(PARENT),
            "name": "GET /cart", "kind": 2, "startTimeUnixNano": "1000", "endTimeUnixNano": "4000",
            "status": {"code": "STATUS_CODE_ERROR", "message": "timeout"},
            "attributes": [{"key": "http.status_code", "value": {"intValue": "504"}}],
            "events": [{"timeUnixNano": "2000", "name": "exception", "attributes": [
                {"key": "exception.message", "value": {"stringValue": "x"}}]}]}  # fmt: skip
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "cart"}}]}
    v1 = {"batches": [{"resource": resource, "instrumentationLibrarySpans": [{"spans": [span]}]}]}
    v2 = {"trace": {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}}
    for payload in (v1, v2):
        [s] = parse_trace(payload, TRACE, "east").spans
        assert (s.trace_id, s.span_id, s.parent_span_id) == (TRACE, SPAN, PARENT)
        assert s.kind is SpanKind.SERVER and s.status is SpanStatus.ERROR
        assert s.status_message == "timeout" and s.duration_ns == 3000
        assert s.attributes == {"http.status_code": "504"} and s.events[0].name == "exception"
        assert s.service_name == "cart"
    assert hex_id(SPAN) == SPAN and hex_id("1f", width=32) == "0" * 30 + "1f"
    with pytest.raises(CollectorBadResponse, match="neither base64 nor hex"):
        hex_id("not an id!")
    with pytest.raises(CollectorBadResponse, match="3 bytes"):
        hex_id(base64.b64encode(b"abc").decode())
    with pytest.raises(CollectorBadResponse):
        parse_trace({"batches": [{"scopeSpans": [{"spans": [{"traceId": "x"}]}]}]}, TRACE, "e")
    short = {"traceID": "2f3e0cee77ae5dc9c17ade3689eb2e5", "rootServiceName": "cart",
             "durationMs": 12}  # fmt: skip
    [found] = parse_search({"traces": [short]}, "e")
    assert found.trace_id == "02f3e0cee77ae5dc9c17ade3689eb2e5" and found.duration_ms == 12


def test_an_infinite_time_is_a_bad_answer_not_a_crash() -> None:
    """Python's json reads ``Infinity`` and ``1e400`` as infinite floats, which no int
    holds: a crafted answer is refused as Tempo's shape, so RCA says it could not read it."""
    span = {"traceId": b64(TRACE), "spanId": b64(SPAN), "name": "x",
            "startTimeUnixNano": float("inf"), "endTimeUnixNano": "4000"}  # fmt: skip
    with pytest.raises(CollectorBadResponse, match="OverflowError"):
        parse_trace({"batches": [{"scopeSpans": [{"spans": [span]}]}]}, TRACE, "e")
    with pytest.raises(CollectorBadResponse):
        parse_search({"traces": [{"traceID": TRACE, "startTimeUnixNano": float("inf")}]}, "e")
    with pytest.raises(CollectorBadResponse):
        parse_metrics({"series": [{"labels": [], "samples": [
            {"timestampMs": float("inf"), "value": 1.0}]}]})  # fmt: skip
