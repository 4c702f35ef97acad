"""Logs and traces under a review's cases: a Loki label's name and value and a span's and an
event's name are cut as a span attribute is (a 20 MB pod label took 34.6 s to show three
lines, a 42 MB span name 5.2 s a waterfall paint); label completion asks the tenant picked,
not the endpoint's; a TraceQL metrics answer is read off the event loop (2,000 series of
780 points held it 1.66 s)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.services.queries.logs_traces import LogsTraces
from collectors import tempo
from collectors.http import BackendClient, HttpPolicy
from collectors.loki import LokiClient, LokiPaths, parse_streams
from collectors.tempo import MAX_ATTRIBUTE_CHARS, TempoClient, parse_trace

T_NS = 1_700_000_000_000_000_000
LONG = "api-" * 500_000  # 2 MB: a label or a name no one reads whole


def test_a_loki_label_name_value_and_metadata_are_cut_like_a_span_attribute() -> None:
    result = [{"stream": {"k8s_pod_name": LONG + "\u202e", LONG: "x"},
               "values": [[str(T_NS), "line", {"trace_id": LONG}]]}]  # fmt: skip
    [entry] = parse_streams(json.loads(json.dumps(result)), "c")
    assert entry.labels["k8s_pod_name"] == LONG[:MAX_ATTRIBUTE_CHARS]
    assert entry.labels["trace_id"] == LONG[:MAX_ATTRIBUTE_CHARS]
    assert max(map(len, entry.labels)) == MAX_ATTRIBUTE_CHARS


def _span_id(i: int) -> str:
    return base64.b64encode(i.to_bytes(8, "big")).decode()


def test_a_span_name_and_an_event_name_are_cut_like_an_attribute() -> None:
    trace_id = base64.b64encode(bytes(range(16))).decode()
    payload = {"batches": [{"scopeSpans": [{"spans": [{
        "traceId": trace_id, "spanId": _span_id(1), "name": LONG,
        "startTimeUnixNano": str(T_NS), "endTimeUnixNano": str(T_NS + 1000),
        "events": [{"timeUnixNano": str(T_NS), "name": LONG}],
    }]}]}]}  # fmt: skip
    trace = parse_trace(payload, "000102030405060708090a0b0c0d0e0f", "c")
    [span] = trace.spans
    assert span.operation == LONG[:MAX_ATTRIBUTE_CHARS]
    assert span.events[0].name == LONG[:MAX_ATTRIBUTE_CHARS]


@pytest.mark.asyncio
async def test_label_completion_asks_the_tenant_picked_not_the_endpoints() -> None:
    paths: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(200, json={"status": "success", "data": ["openshift-etcd"]})

    url = "https://gw.example/api/logs/v1/application"
    cluster = Cluster(name="prod", endpoints=[Endpoint(kind=EndpointKind.LOKI, url=url)])
    client = LokiClient(BackendClient("https://gw.example", name="loki", text_backend=True,
                                      policy=HttpPolicy(retries=0),
                                      transport=httpx.MockTransport(answer)),
                        "prod", LokiPaths(gateway=True, tenant="application"))  # fmt: skip

    class Pool:
        async def loki(self, _cluster: Cluster) -> LokiClient:
            return client

    class Registry:
        def get(self, _name: str) -> Cluster:
            return cluster

    logs = LogsTraces(Registry(), Pool())  # type: ignore[arg-type]
    try:
        values = await logs.labels("prod", "k8s_namespace_name", tenant="infrastructure")
        await logs.labels("prod", tenant="audit")
        await logs.labels("prod", "k8s_namespace_name")  # none picked: the endpoint's
    finally:
        await client.aclose()
    assert values == ["openshift-etcd"]
    assert paths == [
        "/api/logs/v1/infrastructure/loki/api/v1/label/k8s_namespace_name/values",
        "/api/logs/v1/audit/loki/api/v1/labels",
        "/api/logs/v1/application/loki/api/v1/label/k8s_namespace_name/values",
    ]


#: a cluster of 2,000 pods read 13 h back at a 5 min step: answers of a few MB each, whose
#: JSON (decoded in a worker, holding the GIL) does not itself stall the loop near the bound
PODS, STEP = 2000, 300


def _metrics_body(start_s: int, end_s: int) -> bytes:
    series = [{"labels": [{"key": "resource.k8s.pod.name", "value": {"stringValue": f"pod-{i}"}}],
               "samples": [{"timestampMs": str(t * 1000), "value": 0.5}
                           for t in range(start_s, end_s, STEP)]}
              for i in range(PODS)]  # fmt: skip
    return json.dumps({"series": series}).encode()


@pytest.mark.asyncio
async def test_a_big_traceql_metrics_answer_does_not_stall_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The poller's first read of a Tempo panel on a cluster of 2,000 pods: 2,000 series in
    five pieces, parsed and merged off the loop (the UI's thread), which keeps turning."""
    end = 1_700_000_000
    bodies: dict[tuple[int, int], bytes] = {}
    client = TempoClient(BackendClient(
        "http://tempo", name="tempo", policy=HttpPolicy(retries=0),
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=bodies[
            (int(r.url.params["start"]), int(r.url.params["end"]))])),
    ), "c")  # fmt: skip
    start = end - 13 * 3600  # the poller's first read: five pieces, a step short of 3 h each
    at = start
    while at < end:  # answers built before: the stall measured is the client's alone
        upto = min(end, at + 3 * 3600 - STEP)
        bodies[(at, upto)] = _metrics_body(at, upto)
        at = upto
    read_on: set[int] = set()  # the threads that parsed and merged the answer

    def on_thread(work: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any) -> Any:
            read_on.add(threading.get_ident())
            return work(*args)

        return recorded

    monkeypatch.setattr(tempo, "parse_metrics", on_thread(tempo.parse_metrics))
    monkeypatch.setattr(tempo, "merged_series", on_thread(tempo.merged_series))
    longest, last = 0.0, time.perf_counter()

    async def ticker() -> None:
        nonlocal longest, last
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            longest, last = max(longest, now - last), now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    try:
        found = await client.metrics_range("{ status = error } | rate() by (resource.k8s.pod.name)",
                                           start_s=start, end_s=end, step_s=STEP)  # fmt: skip
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()
    assert len(found) == PODS and len(found[0].points) == (end - start) // STEP
    assert found[0].points == sorted(found[0].points)
    assert read_on and threading.get_ident() not in read_on
    assert longest < 0.5, f"the event loop stalled for {longest * 1000:.0f} ms"
