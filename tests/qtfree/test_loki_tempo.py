"""Loki and Tempo through the app's clients, against the stand-in serving the Train Ticket day
(tests/servers/loki_tempo_server.py; neither Loki nor Tempo can run on these machines): paging
past a page's limit, labels, the volume of lines, LogQL refused with Loki's words, the
LokiStack/TempoStack gateway over TLS with a bearer token (401, 403), 429/5xx/hang/huge
lines/bytes that are not UTF-8, the live tail (and its reconnect after a cut WebSocket), a
trace's spans and errors, and the jump from an injected fault's pod to its error logs and
error traces."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from aiops_desktop.models import AuthMethod
from aiops_desktop.models.enums import LogDirection, SpanStatus
from aiops_desktop.models.observability import MOST_LINE_CHARS, LogQuery, trace_id_in
from aiops_desktop.services.queries.logs_traces import (
    NS,
    failing_traceql,
    pod_logql,
    volume_query,
)
from aiops_desktop.settings import HttpPolicy
from collectors.auth import EndpointAuth
from collectors.errors import (
    CollectorAuthError,
    CollectorInvalidQuery,
    CollectorRateLimited,
    CollectorServerError,
    CollectorTimeout,
)
from collectors.http import BackendClient
from collectors.loki import LokiClient, LokiPaths, gateway_root
from collectors.loki_tail import tail
from collectors.tempo import TempoClient
from tests.servers.loki_tempo import DAY, READER_TOKEN, TOKEN, RunningLokiTempo

pytestmark = pytest.mark.integration

#: the day's first fault: ts-contacts-service answers wrongly ("return") from 08:43:04
FAULT_AT = datetime(2023, 1, 29, 8, 43, 4, tzinfo=UTC)
FAULT_POD = "ts-contacts-service-866bd68c97-xcqfx"
CONTACTS = '{service_name="ts-contacts-service"}'


def _ns(when: datetime) -> int:
    return int(when.timestamp() * NS)


def _backend(url: str, **kw: object) -> BackendClient:
    policy = HttpPolicy(read_timeout_s=2, connect_timeout_s=2, retries=1,
                        backoff_base_s=0.05, backoff_max_s=0.1)  # fmt: skip
    return BackendClient(url, name="lab/loki", text_backend=True, policy=policy, **kw)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def loki(loki_tempo: RunningLokiTempo) -> AsyncIterator[LokiClient]:
    client = LokiClient(_backend(loki_tempo.url), "lab")
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def tempo(loki_tempo: RunningLokiTempo) -> AsyncIterator[TempoClient]:
    client = TempoClient(_backend(loki_tempo.url), "lab")
    yield client
    await client.aclose()


@pytest.mark.asyncio
async def test_a_query_pages_past_its_limit_without_losing_or_repeating_a_line(
    loki: LokiClient,
) -> None:
    span = {"start_ns": _ns(FAULT_AT), "end_ns": _ns(FAULT_AT + timedelta(seconds=40))}
    window = LogQuery(logql='{k8s_namespace_name="train-ticket"}', limit=200, **span)
    one = await loki.query_range(window.model_copy(update={"limit": 5000}))
    assert 1000 < len(one.entries) < 5000 and one.pages == 1  # every line of the window
    assert not one.truncated
    paged = await loki.query_range(window, most=5000)
    assert paged.pages >= 5 and not paged.truncated
    key = [(e.timestamp_ns, e.line, e.labels["k8s_pod_name"]) for e in paged.entries]
    assert sorted(key, reverse=True) == sorted(
        [(e.timestamp_ns, e.line, e.labels["k8s_pod_name"]) for e in one.entries], reverse=True
    )  # the same lines (duplicates in the data kept as often as Loki has them)
    assert [e.timestamp_ns for e in paged.entries] == sorted(
        (e.timestamp_ns for e in paged.entries), reverse=True
    )  # newest first
    forward = await loki.query_range(
        window.model_copy(update={"direction": LogDirection.FORWARD}), most=700
    )
    assert len(forward.entries) == 700 and forward.truncated
    stamps = [e.timestamp_ns for e in forward.entries]
    assert stamps == sorted(stamps) and stamps[0] >= _ns(FAULT_AT)


@pytest.mark.asyncio
async def test_labels_values_series_and_the_volume_of_lines(loki: LokiClient) -> None:
    assert {"k8s_pod_name", "service_name", "k8s_namespace_name"} <= set(await loki.labels())
    services = await loki.label_values("service_name")
    assert "ts-contacts-service" in services and len(services) > 10
    series = await loki.series([CONTACTS])
    assert series and all(s["service_name"] == "ts-contacts-service" for s in series)
    start, end = FAULT_AT, FAULT_AT + timedelta(minutes=10)
    lines = await loki.query_range(
        LogQuery(logql=CONTACTS, start_ns=_ns(start), end_ns=_ns(end), limit=5000), most=20_000
    )
    volume = await loki.query_range(
        LogQuery(logql=volume_query(CONTACTS, 60), start_ns=_ns(start), end_ns=_ns(end)),
        step_s=60,
    )
    [counts] = volume.series
    assert len(counts.points) >= 3  # minutes without a line have no point, as in Loki
    # each bar counts the minute before it: together they are the window's lines
    assert sum(v for _, v in counts.points) == len(lines.entries)


@pytest.mark.asyncio
async def test_bad_logql_is_refused_with_lokis_words(loki: LokiClient) -> None:
    with pytest.raises(CollectorInvalidQuery) as refused:
        await loki.query_range(LogQuery(logql='{service_name="x"'))
    assert "parse error at line 1, col 18" in str(refused.value)
    with pytest.raises(CollectorInvalidQuery, match="at least one regexp or equality matcher"):
        await loki.query_range(LogQuery(logql='{service_name!="x"}'))


@pytest.mark.asyncio
async def test_the_gateway_over_tls_wants_its_token_per_tenant(
    loki_tempo: RunningLokiTempo,
) -> None:
    root, paths = gateway_root(f"{loki_tempo.gateway_url}/api/logs/v1/application")
    assert root == loki_tempo.gateway_url and paths == LokiPaths(gateway=True)
    query = LogQuery(logql=CONTACTS, start_ns=_ns(FAULT_AT),
                     end_ns=_ns(FAULT_AT + timedelta(minutes=1)), limit=10)  # fmt: skip

    def client(token: str | None) -> LokiClient:
        auth = EndpointAuth(AuthMethod.BEARER, token) if token else EndpointAuth()
        return LokiClient(_backend(root, auth=auth, ca_pem=loki_tempo.ca_pem), "lab", paths)

    good = client(TOKEN)
    try:
        assert len((await good.query_range(query)).entries) == 10
    finally:
        await good.aclose()
    for token, status, tenant in ((None, 401, None), ("wrong", 401, None),
                                  (READER_TOKEN, 403, "audit")):  # fmt: skip
        refused = client(token)
        try:
            with pytest.raises(CollectorAuthError) as said:
                await refused.query_range(query, tenant=tenant)
            assert said.value.status == status
        finally:
            await refused.aclose()
    bearer = EndpointAuth(AuthMethod.BEARER, TOKEN)
    tenant_url = f"{loki_tempo.gateway_url}/api/traces/v1/dev"
    tempo = TempoClient(_backend(tenant_url, auth=bearer, ca_pem=loki_tempo.ca_pem), "lab")
    try:
        assert "service.name" in await tempo.tags()
        assert "ts-contacts-service" in await tempo.tag_values("service.name")
    finally:
        await tempo.aclose()
    seen = loki_tempo.requests()
    assert any(r.startswith("GET /api/logs/v1/application/loki/api/v1/query_range?") for r in seen)
    assert "GET /api/traces/v1/dev/tempo/api/search/tags" in seen


@pytest.mark.asyncio
async def test_rate_limits_failures_hangs_and_hostile_lines(
    loki: LokiClient, loki_tempo: RunningLokiTempo
) -> None:
    query = LogQuery(logql=CONTACTS, start_ns=_ns(FAULT_AT),
                     end_ns=_ns(FAULT_AT + timedelta(minutes=1)), limit=5)  # fmt: skip
    loki_tempo.fault("429")
    with pytest.raises(CollectorRateLimited, match="wait 2 s"):
        await loki.query_range(query)
    loki_tempo.fault("500", count=2)  # the first try and its one retry
    with pytest.raises(CollectorServerError, match="boom"):
        await loki.query_range(query)
    loki_tempo.fault("500", count=1)  # one failure: the retry answers
    assert len((await loki.query_range(query)).entries) == 5
    loki_tempo.fault("hang", count=2)
    with pytest.raises(CollectorTimeout):
        await loki.query_range(query)
    loki_tempo.fault("bigline")
    [cut] = [e.line for e in (await loki.query_range(query)).entries if "[cut: " in e.line]
    assert len(cut) < MOST_LINE_CHARS + 100 and cut.endswith("[cut: 1,048,576 characters]")
    loki_tempo.fault("binary")
    lines = [e.line for e in (await loki.query_range(query)).entries]
    assert "bad \ufffd\ufffd bytes" in lines


@pytest.mark.asyncio
async def test_the_live_tail_resumes_after_a_cut_without_loss_or_repeats(
    loki_tempo: RunningLokiTempo,
) -> None:
    start = _ns(FAULT_AT)
    http = _backend(loki_tempo.gateway_url, auth=EndpointAuth(AuthMethod.BEARER, TOKEN),
                    ca_pem=loki_tempo.ca_pem)  # fmt: skip
    paths = LokiPaths(gateway=True)

    async def read(n: int) -> tuple[list[tuple[int, str]], list[str]]:
        got: list[tuple[int, str]] = []
        notes: list[str] = []
        batches = tail(http, paths, CONTACTS, cluster="lab", start_ns=start)
        async with asyncio.timeout(30), aclosing(batches):
            async for batch in batches:
                notes += [batch.note] if batch.note else []
                got += [(e.timestamp_ns, e.line) for e in batch.entries]
                if len(got) >= n:
                    return got[:n], notes
        return got, notes

    try:
        whole, notes = await read(250)
        assert notes == [] and [t for t, _ in whole] == sorted(t for t, _ in whole)
        loki_tempo.fault("cut")  # the next tail connection is dropped after its first frame
        again, notes = await read(250)
        assert len(notes) == 1 and notes[0].startswith("tail cut (")
        assert again == whole  # resumed from the last line's time: nothing lost, nothing twice
    finally:
        await http.aclose()
    with pytest.raises(CollectorInvalidQuery, match="parse error"):
        async for _ in tail(_backend(loki_tempo.url), LokiPaths(), '{a="', cluster="lab"):
            pass


@pytest.mark.asyncio
async def test_a_traces_spans_errors_and_events(tempo: TempoClient) -> None:
    end = FAULT_AT + timedelta(minutes=10)
    found = await tempo.search(traceql='{ resource.service.name = "ts-contacts-service" && '
                               "status = error }", start_s=int(FAULT_AT.timestamp()),
                               end_s=int(end.timestamp()), limit=5)  # fmt: skip
    assert found and all(len(t.trace_id) == 32 for t in found)
    trace = await tempo.trace(found[0].trace_id)
    assert trace.root is not None and trace.root.service_name == "ts-gateway-service"
    errors = [s for s in trace.spans if s.status is SpanStatus.ERROR]
    assert errors and {s.service_name for s in errors} >= {"ts-contacts-service"}
    assert all(len(s.span_id) == 16 and int(s.span_id, 16) >= 0 for s in trace.spans)
    assert any(e.attributes.get("message") for s in errors for e in s.events)
    span = {"start_s": int(FAULT_AT.timestamp()), "end_s": int(end.timestamp())}
    slow = await tempo.search(service="ts-contacts-service", min_duration="1s", limit=50, **span)
    assert slow and all(t.duration_ms >= 1000 for t in slow)
    with pytest.raises(ValueError, match="not a duration"):
        await tempo.search(min_duration="fast")
    with pytest.raises(Exception, match=r"no trace 0{31}1"):
        await tempo.trace("1")


@pytest.mark.asyncio
async def test_from_the_injected_faults_pod_to_its_error_logs_and_error_traces(
    loki: LokiClient, tempo: TempoClient
) -> None:
    """The fault list names the pod; its error lines in the five minutes after the injection
    name traces, and those traces hold error spans of that pod's service."""
    faults = json.loads((DAY / "2023-01-29-fault_list.json").read_text())
    first = faults["08"][0]
    assert (first["inject_pod"], first["inject_time"]) == (FAULT_POD, "2023-01-29 08:43:04")
    window = LogQuery(logql=pod_logql("train-ticket", FAULT_POD, errors_only=True),
                      start_ns=_ns(FAULT_AT), end_ns=_ns(FAULT_AT + timedelta(minutes=5)),
                      limit=1000)  # fmt: skip
    errors = (await loki.query_range(window)).entries
    assert errors and all("ERROR" in e.line for e in errors)
    assert {e.labels["k8s_pod_name"] for e in errors} == {FAULT_POD}
    trace_ids = {trace_id_in(e.line) for e in errors} - {None}
    assert trace_ids
    trace = await tempo.trace(sorted(trace_ids)[0])  # type: ignore[type-var]
    failing = [s for s in trace.spans if s.status is SpanStatus.ERROR]
    assert failing and failing[0].service_name == "ts-contacts-service"


def test_pod_queries_and_trace_ids_in_lines() -> None:
    assert pod_logql("ns", 'we"ird') == '{k8s_namespace_name="ns", k8s_pod_name="we\\"ird"}'
    assert trace_id_in("TraceID: 51DEF24606746811FA552389B02D2D3F SpanID: b0") == (
        "51def24606746811fa552389b02d2d3f"
    )
    assert trace_id_in("no id here 1234") is None
    assert failing_traceql('we"ird') == '{ status = error && resource.service.name = "we\\"ird" }'
    assert failing_traceql(None) == "{ status = error }"
