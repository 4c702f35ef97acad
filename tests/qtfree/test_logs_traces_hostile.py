"""Logs and traces where the workload or the server is careless or hostile: a secret in a log
line reaches neither the model nor a capture (a quote JSON escapes, a key cut before its end, a
header or attribute named a secret), a capture of busy clusters still opens, a malformed answer
is the collectors' own error and one cluster's gap (never a raw exception that ends a whole
capture), the live tail shows lines written out of order and holds a bounded memory, a trace
whose span ids repeat costs one pass, and a burst at one nanosecond is said to be cut."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from aiops_desktop.logs import REDACTED
from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.enums import LogDirection, SpanStatus
from aiops_desktop.models.observability import (
    LogEntry,
    LogQuery,
    LogResult,
    Span,
    SpanEvent,
    Trace,
    TraceSummary,
    service_calls,
)
from aiops_desktop.services.assistant.toolbox import Tool, ToolBox
from aiops_desktop.services.assistant.tools import (
    GetTraceInput,
    QueryLogsInput,
    get_trace,
    query_logs,
)
from aiops_desktop.services.outputs.recorded_logs import (
    MOST_LINES,
    NotRecorded,
    RecordedLogsTraces,
    RecordedLogsTracesDoc,
    _redacted,
    read_recorded,
    record_logs_traces,
)
from aiops_desktop.services.queries.trace_sampling import read_within
from collectors.errors import CollectorBadResponse, CollectorError
from collectors.http import BackendClient, HttpPolicy
from collectors.llm_redaction import names_a_secret, redact_for_llm
from collectors.loki import LokiClient
from collectors.loki_tail import RECENT_LINES, Resume, parse_frame
from collectors.tempo import TempoClient, parse_search, parse_trace

T = 1_700_000_000_000_000_000
NOW = datetime.fromtimestamp(T / 1e9, UTC)
KEY_LINE = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0\n"
PEM = "-----BEGIN RSA PRIVATE KEY-----\n" + KEY_LINE * 30 + "-----END RSA PRIVATE KEY-----"
NESTED = b"[" * 100_000 + b"]" * 100_000  # past any recursion limit


def _backend(handler: Callable[[httpx.Request], httpx.Response]) -> BackendClient:
    return BackendClient("http://backend", name="backend", policy=HttpPolicy(retries=0),
                         transport=httpx.MockTransport(handler), text_backend=True)  # fmt: skip


def _streams(values: list[Any], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "streams", "result": [
        {"stream": labels or {"app": "x"}, "values": values}]}}  # fmt: skip


def _loki_cluster(name: str) -> Cluster:
    return Cluster(name=name, endpoints=[Endpoint(kind=EndpointKind.LOKI, url="https://loki")])


class _LokiPerCluster:
    """``LogsTraces.logs`` over a real LokiClient per cluster, each answering its handler."""

    def __init__(self, answers: dict[str, Callable[[httpx.Request], httpx.Response]]) -> None:
        self.answers = answers

    async def logs(self, cluster: str, logql: str, *, start: datetime, end: datetime,
                   limit: int, most: int | None = None, **_: Any) -> LogResult:  # fmt: skip
        client = LokiClient(_backend(self.answers[cluster]), cluster)
        query = LogQuery(logql=logql, start_ns=int(start.timestamp() * 1e9),
                         end_ns=int(end.timestamp() * 1e9), limit=limit)  # fmt: skip
        try:
            return await client.query_range(query, most=most)
        finally:
            await client.aclose()


@pytest.fixture
def warnings_logged() -> Iterator[list[str]]:
    """What the capture's recording says in the app's log (its warnings)."""
    said: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("aiops.services.recorded_logs")
    logger.addHandler(handler)
    try:
        yield said
    finally:
        logger.removeHandler(handler)


# -- 1. the model is given no secret of a log line or a span's status ---------------------------
def test_a_secret_in_json_text_or_a_cut_key_is_redacted() -> None:
    """Redaction over a JSON document's text (a quote escaped) redacts what it redacts in the
    raw text, and leaves the JSON whole; a private key cut before its END is redacted to the
    end of the text (or of the JSON string it is in)."""
    line = '{"level":"info","password":"hunter2-real-pw","authorization":"Token abcdef123456"}'
    encoded = json.dumps({"line": line, "after": "kept"})
    out = redact_for_llm(encoded)
    assert "hunter2" not in out and "abcdef123456" not in out
    assert json.loads(out)["after"] == "kept"  # the JSON text is whole
    assert json.loads(out)["line"].count(REDACTED) == 2
    cut = "loaded key " + PEM[:300]
    assert redact_for_llm(cut) == f"loaded key {REDACTED}"
    inside = redact_for_llm(json.dumps({"a": cut, "b": "kept"}))
    assert "MIIEow" not in inside and json.loads(inside)["b"] == "kept"


@pytest.mark.asyncio
async def test_the_models_query_logs_and_get_trace_carry_no_secret() -> None:
    """Each line and status is redacted before it is cut to 500 characters and encoded: a
    password in a JSON log line and a private key longer than the cut never reach the
    model (the whole answer's text was redacted, after both)."""
    lines = ['level=info msg="db login" user=app password="hunter2-real-pw"',
             '{"level":"info","msg":"config","password":"hunter2-real-pw"}',
             "loaded TLS key " + PEM]  # fmt: skip

    class Logs:
        async def logs(self, cluster: str, logql: str, **_: Any) -> LogResult:
            return LogResult(entries=[LogEntry(cluster=cluster, timestamp_ns=T + i, line=x)
                                      for i, x in enumerate(lines)])  # fmt: skip

        async def trace(self, cluster: str, trace_id: str) -> Trace:
            failed = Span(trace_id=trace_id, span_id="b" * 16, service_name="db",
                          operation="login", start_ns=T, duration_ns=1,
                          status=SpanStatus.ERROR, status_message="tls: " + PEM)  # fmt: skip
            return Trace(trace_id=trace_id, cluster=cluster, spans=[failed])

    cluster = Cluster(name="prod-1", endpoints=[
        Endpoint(kind=k, url="https://x.example") for k in (EndpointKind.LOKI, EndpointKind.TEMPO)
    ])  # fmt: skip
    core = SimpleNamespace(registry=SimpleNamespace(clusters=lambda: [cluster]),
                           logs_traces=Logs(), now=lambda: NOW)  # fmt: skip
    box = ToolBox(core, [Tool("query_logs", "logs", QueryLogsInput, query_logs),  # type: ignore[arg-type]
                         Tool("get_trace", "trace", GetTraceInput, get_trace)])  # fmt: skip
    logs = await box.call("query_logs", {"logql": '{app="x"}'})
    trace = await box.call("get_trace", {"trace_id": "a" * 32})
    for out in (logs, trace):
        assert not out.is_error, out.content
        assert "hunter2" not in out.content and "MIIEow" not in out.content, out.content
        json.loads(out.content)  # still JSON
    assert json.loads(logs.content)["result"]["lines"][0]["line"] == f"loaded TLS key {REDACTED}"


# -- 2. a capture of busy clusters opens -------------------------------------------------------
@pytest.mark.asyncio
async def test_a_capture_of_two_busy_clusters_holds_at_most_its_lines_and_opens() -> None:
    """Two clusters each with more error lines than the capture holds: each keeps its share
    (the first used to fill MOST_LINES and the second, never asked, read as "no errors"),
    each is said cut, and the document, within its own bound, opens."""
    asked: list[str] = []

    def busy(cluster: str) -> Callable[[httpx.Request], httpx.Response]:
        def answer(request: httpx.Request) -> httpx.Response:  # a line a millisecond
            asked.append(cluster)
            q = request.url.params
            top = (int(q["end"]) - 1) // 10**6 * 10**6
            stamps = range(top, top - int(q["limit"]) * 10**6, -(10**6))
            return httpx.Response(200, json=_streams([[str(t), f"ERROR {t}"] for t in stamps]))

        return answer

    logs = _LokiPerCluster({"east": busy("east"), "west": busy("west")})
    text = await record_logs_traces(logs, [_loki_cluster("east"), _loki_cluster("west")],  # type: ignore[arg-type]
                                    NOW - timedelta(minutes=30), NOW)  # fmt: skip
    doc = read_recorded(text, "busy.aiops")
    assert doc is not None and len(doc.lines) == MOST_LINES
    assert {"east", "west"} <= set(asked)
    for name in ("east", "west"):
        assert sum(e.cluster == name for e in doc.lines) == MOST_LINES // 2
        assert doc.logs_read[name].truncated

    client = LokiClient(_backend(busy("none")), "c")
    assert await client.query_range(LogQuery(logql='{a="b"}'), most=0) == LogResult()
    assert "none" not in asked  # none wanted: nothing asked


# -- 3. a capture keeps no secret the model's path removes -------------------------------------
def test_a_capture_keeps_no_secret_of_its_lines_labels_or_attributes() -> None:
    lines = ["boto: using AKIAIOSFODNN7EXAMPLE for s3 upload",
             "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
             "GET /api Authorization: Token 9f8e7d6c5b4a39281706f5e4d3c2b1a0",
             "git clone with ghp_abcdefghijklmnopqrstuvwxyz0123456789",
             "db_pass=Sup3rS3cret! connecting"]  # fmt: skip
    secrets = ["AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "9f8e7d6c5b4a", "ghp_abcdef",
               "Sup3rS3cret", "hunter2hunter2", "k-12345678abcdef", "s3cr3tSessionId",
               "tok-9876543210"]  # fmt: skip
    attributes = {"db.password": "hunter2hunter2",
                  "http.request.header.x-api-key": "k-12345678abcdef",
                  "http.request.header.cookie": "session=s3cr3tSessionId",
                  "k8s.pod.name": "shop-0", "http.route": "/bypass"}  # fmt: skip
    span = Span(trace_id="a" * 32, span_id="b" * 16, service_name="svc", operation="op",
                start_ns=T, duration_ns=1, attributes=attributes,
                events=[SpanEvent(timestamp_ns=T, name="auth",
                                  attributes={"authToken": "tok-9876543210"})])  # fmt: skip
    doc = RecordedLogsTracesDoc(
        lines=[LogEntry(cluster="c", timestamp_ns=T, line=x, labels={"apiKey": "k-12345678abcdef"})
               for x in lines],
        traces=[Trace(trace_id="a" * 32, cluster="c", spans=[span])],
    )  # fmt: skip
    kept = _redacted(doc).model_dump_json()
    for secret in secrets:
        assert secret not in kept, secret
    out = _redacted(doc).traces[0].spans[0].attributes
    assert out["k8s.pod.name"] == "shop-0" and out["http.route"] == "/bypass"  # not secrets
    assert out["db.password"] == REDACTED
    assert [names_a_secret(n) for n in ("db_pass", "privateKey", "X-API-KEY", "set-cookie")] == [
        True] * 4  # fmt: skip
    assert [names_a_secret(n) for n in ("bypass", "keyspace", "k8s_pod_name", "tokens")] == [
        False] * 4  # fmt: skip


def test_a_redacted_line_never_outgrows_what_a_capture_may_hold() -> None:
    """A line at its most, full of short secrets: redacted ("p=x" -> "p=[REDACTED]") it
    would be longer than a LogEntry may be, and the capture would not open."""
    from aiops_desktop.models.observability import CUT_NOTE_CHARS, MOST_LINE_CHARS

    line = ("pass=x " * 10_000)[: MOST_LINE_CHARS + CUT_NOTE_CHARS]
    doc = RecordedLogsTracesDoc(lines=[LogEntry(cluster="c", timestamp_ns=T, line=line)])
    assert read_recorded(_redacted(doc).model_dump_json(), "x.aiops") is not None


# -- 6. malformed answers are the collectors' own errors ---------------------------------------
@pytest.mark.asyncio
@pytest.mark.parametrize("status", [400, 500])
async def test_a_refusal_nested_past_the_recursion_limit_is_said(status: int) -> None:
    loki = LokiClient(_backend(lambda _r: httpx.Response(status, content=NESTED)), "c")
    with pytest.raises(CollectorError, match=f"HTTP {status}|refused"):
        await loki.labels()


@pytest.mark.asyncio
async def test_malformed_loki_and_tempo_answers_are_bad_responses() -> None:
    as_objects = _streams([{"ts": "1", "line": "hello"}])
    loki = LokiClient(_backend(lambda _r: httpx.Response(200, json=as_objects)), "c")
    with pytest.raises(CollectorBadResponse, match="not in the documented shape"):
        await loki.query_range(LogQuery(logql='{app="x"}'))
    for answer in (["a"], {"tagNames": 3}, {"tagValues": {"a": 1}}):
        tempo = TempoClient(_backend(lambda _r, a=answer: httpx.Response(200, json=a)), "c")  # type: ignore[misc]
        with pytest.raises(CollectorBadResponse, match="tags answer"):
            await (tempo.tags() if "tagValues" not in str(answer) else tempo.tag_values("x"))
    empty = TempoClient(_backend(lambda _r: httpx.Response(200, json={})), "c")
    assert await empty.tags() == []


@pytest.mark.parametrize("trace", [
    {"startTimeUnixNano": "99999999999999999999999", "durationMs": 5},  # year 3170843
    {"startTimeUnixNano": "-1", "durationMs": 5},
    {"startTimeUnixNano": "1", "durationMs": "NaN"},
    {"startTimeUnixNano": "1", "durationMs": "inf"},
])  # fmt: skip
def test_a_search_answer_whose_time_is_no_date_is_a_bad_answer(trace: dict[str, Any]) -> None:
    found = {"traces": [{"traceID": "51def24606746811fa552389b02d2d3f", **trace}]}
    with pytest.raises(CollectorBadResponse, match="out of range"):
        parse_search(found, "c")
    with pytest.raises(ValueError):  # the model's own bound, whoever builds one
        TraceSummary(trace_id="a" * 32, start_ns=10**23)


@pytest.mark.parametrize("frame", [
    json.dumps({"streams": [], "dropped_entries": 3}),
    "[" * 50_000 + "]" * 50_000,
    json.dumps({"streams": [{"stream": {}, "values": [{"a": 1}]}]}),
    json.dumps(["not", "a", "frame"]),
])  # fmt: skip
def test_a_malformed_tail_frame_is_a_bad_answer(frame: str) -> None:
    with pytest.raises(CollectorBadResponse):
        parse_frame(frame, "c")


@pytest.mark.asyncio
@pytest.mark.parametrize("odd", [
    lambda _r: httpx.Response(200, json=_streams([{"ts": str(T), "line": "x"}])),
    lambda _r: httpx.Response(502, content=NESTED),
])  # fmt: skip
async def test_one_clusters_bad_answer_is_its_own_gap_in_a_capture(
    odd: Callable[[httpx.Request], httpx.Response], warnings_logged: list[str]
) -> None:
    good = _streams([[str(T), "ERROR good cluster line"]])
    logs = _LokiPerCluster({"good": lambda _r: httpx.Response(200, json=good), "odd": odd})
    clusters = [_loki_cluster("odd"), _loki_cluster("good")]
    window = (NOW - timedelta(hours=1), NOW + timedelta(minutes=1))
    text = await record_logs_traces(logs, clusters, *window)  # type: ignore[arg-type]
    assert "ERROR good cluster line" in text
    assert any("keeps no error lines of odd" in said for said in warnings_logged)
    # opened, the capture says it could not read odd's lines, not that odd wrote no error
    opened = RecordedLogsTraces(read_recorded(text, "gap.aiops"), lambda: ["odd", "good"])
    with pytest.raises(NotRecorded, match=r"holds no logs of odd: they could not be read"):
        await opened.logs("odd", '{k8s_namespace_name="a"}', start=window[0], end=window[1])
    with pytest.raises(NotRecorded):  # RCA's error counts: that cluster's logs said unread
        await opened.counts("odd", 'sum(count_over_time({k8s_namespace_name="a"}[1m]))',
                            start=window[0], end=window[1], step_s=60)  # fmt: skip
    good_lines = await opened.logs("good", '{app="x"}', start=window[0],
                                   end=window[1])  # fmt: skip
    assert [e.line for e in good_lines.entries] == ["ERROR good cluster line"]


@pytest.mark.asyncio
async def test_a_read_nested_too_deep_is_that_reads_failure_not_the_samples() -> None:
    async def deep() -> int:
        raise RecursionError("maximum recursion depth exceeded while decoding")

    async def fine() -> int:
        return 1

    loop = asyncio.get_running_loop()
    values, failed, late = await read_within(loop.time() + 5, [deep(), fine()])
    assert values == [1] and len(failed) == 1 and late == 0


# -- 7. the live tail ------------------------------------------------------------------------
def _entry(at: int, line: str, pod: str = "api-1") -> LogEntry:
    return LogEntry(cluster="c", timestamp_ns=at, line=line, labels={"pod": pod})


def test_the_tail_shows_a_line_written_out_of_order_and_lets_go_only_after_a_cut() -> None:
    resume = Resume(None)
    assert resume.fresh([_entry(T + 500, "api-1 GET /x 200")])
    late = _entry(T + 200, "api-2 ERROR payment failed", "api-2")  # older, in the next frame
    assert resume.fresh([late]) == [late]  # connected: shown, not dropped
    assert resume.fresh([late]) == []  # the same line again: shown once
    resume.reconnecting()  # cut; the next connection starts at T + 500
    replay = [_entry(T + 500, "api-1 GET /x 200"), _entry(T + 500, "api-1 GET /y 200")]
    assert [e.line for e in resume.fresh(replay)] == ["api-1 GET /y 200"]
    assert resume.fresh([_entry(T + 100, "written while cut")]) == [] and resume.let_go == 1


def test_the_tail_remembers_a_bounded_number_of_lines_at_one_instant() -> None:
    """Lines that share one timestamp without end: the tail held each (212 MiB after 200
    frames); it keeps the newest RECENT_LINES, as hashes."""
    resume = Resume(None)
    for frame in range(30):
        batch = [_entry(T, f"{frame}-{i} " + "x" * 2000) for i in range(500)]
        assert len(resume.fresh(batch)) == 500
    assert len(resume._recent) == RECENT_LINES


# -- 8. a trace whose span ids repeat ----------------------------------------------------------
def test_a_trace_whose_span_ids_repeat_is_read_and_graphed_in_one_pass() -> None:
    def b64(hex_text: str) -> str:
        return base64.b64encode(bytes.fromhex(hex_text)).decode()

    def raw(span_id: str, parent: str | None, i: int, error: bool = False) -> dict[str, Any]:
        return {"traceId": b64("ab" * 16), "spanId": b64(span_id), "name": "op",
                "parentSpanId": b64(parent) if parent else "",
                "startTimeUnixNano": str(1000 + i), "endTimeUnixNano": str(2000 + i),
                "status": {"code": 2 if error else 0}}  # fmt: skip

    half = 10_000
    front = [raw("01" * 8, None, 0)]
    back = [raw("02" * 8, "01" * 8, i) for i in range(half)]  # one id, ten thousand times
    back += [raw(f"{i + 16:016x}", "02" * 8, i, error=i == half - 1) for i in range(half)]

    def batch(service: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
        named = [{"key": "service.name", "value": {"stringValue": service}}]
        return {"resource": {"attributes": named}, "scopeSpans": [{"spans": spans}]}

    payload = {"batches": [batch("a", front), batch("b", back)]}
    trace = parse_trace(payload, "ab" * 16, "c")
    assert len(trace.spans) == 1 + 1 + half  # each span id once
    assert service_calls(trace) == {("a", "b"): (1, 1)}  # failed under it, in b
    repeated = Trace(trace_id="ab" * 16, cluster="c", spans=[
        Span(trace_id="ab" * 16, span_id=f"{n % 3 + 1:016x}", parent_span_id=f"{n % 3:016x}",
             service_name="b" if n % 3 else "a", operation="op", start_ns=n, duration_ns=1,
             status=SpanStatus.ERROR if n == 5 else SpanStatus.UNSET)
        for n in range(20_000)])  # fmt: skip
    started = time.perf_counter()
    calls = service_calls(repeated)  # the server's trace, unread by parse_trace (a capture's)
    assert time.perf_counter() - started < 1.0  # was 49 s, on the UI thread
    assert calls[("a", "b")][1] == calls[("a", "b")][0]  # every call reaches span 3's error


# -- 10. a burst at one nanosecond -------------------------------------------------------------
@pytest.mark.asyncio
@pytest.mark.parametrize("direction", [LogDirection.BACKWARD, LogDirection.FORWARD])
async def test_a_burst_past_a_page_at_one_instant_is_said_cut_and_read_past(
    direction: LogDirection,
) -> None:
    """250 lines at one nanosecond, 50 before and 50 after it, 100 a page: the burst's first
    page is read, the rest of it cannot be (a page starts at an instant) and is said; the
    lines on either side of it are read."""
    lines = [(T, f"burst {i}") for i in range(250)]
    lines += [(T - 10**9, f"before {i}") for i in range(50)]
    lines += [(T + 10**9, f"after {i}") for i in range(50)]

    def loki(request: httpx.Request) -> httpx.Response:
        q = request.url.params
        start, end, limit = int(q["start"]), int(q["end"]), int(q["limit"])
        backward = q["direction"] == "backward"
        chosen = sorted([x for x in lines if start <= x[0] < end],
                        key=lambda x: -x[0] if backward else x[0])[:limit]  # fmt: skip
        return httpx.Response(200, json=_streams([[str(t), s] for t, s in chosen]))

    client = LokiClient(_backend(loki), "c")
    query = LogQuery(logql='{app="x"}', start_ns=T - 60 * 10**9, end_ns=T + 60 * 10**9,
                     limit=100, direction=direction)  # fmt: skip
    result = await client.query_range(query, most=1000)
    assert len(result.entries) == 200 and len({e.line for e in result.entries}) == 200
    assert sum(e.line.startswith(("before", "after")) for e in result.entries) == 100
    assert result.truncated and len(result.notes) == 1
    assert "more than 100 lines share one instant" in result.notes[0]
