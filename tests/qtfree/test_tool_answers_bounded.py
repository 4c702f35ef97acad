"""A tool's answer reaches the model (and an MCP client, and the chat session's file) bounded
to MAX_RESULT_BYTES, its error answer too: get_trace joins what every Tempo said, 80 of them
42 KB. A LogQL metric query's answer (``sum(count_over_time(...))``) is its series, summarised,
not "no lines"."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.errors import AppError
from aiops_desktop.models.observability import LogQuery, LogResult, LogSeries
from aiops_desktop.services.assistant.toolbox import MAX_RESULT_BYTES, MAX_ROWS, Tool, ToolBox
from aiops_desktop.services.assistant.tools import QueryLogsInput, all_tools, query_logs
from collectors.http import BackendClient, HttpPolicy
from collectors.loki import LokiClient

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
ERRORS = 'sum(count_over_time({k8s_namespace_name="shop"} |= "error" [5m]))'


class _Tempo:
    def __init__(self, n: int) -> None:
        self.name = f"ran-site-{n:03d}"

    def endpoint(self, kind: EndpointKind) -> object | None:
        return object() if kind is EndpointKind.TEMPO else None


@pytest.mark.asyncio
async def test_an_error_answer_is_cut_to_the_bound_and_says_so() -> None:
    async def trace(name: str, trace_id: str) -> Any:  # a Tempo behind a proxy: its 500 chars
        page = "upstream connect error or disconnect/reset before headers. " * 8
        raise AppError(f"Tempo of {name} answered HTTP 502: {page}")

    sites = [_Tempo(n) for n in range(80)]
    core = SimpleNamespace(registry=SimpleNamespace(clusters=lambda: sites),
                           logs_traces=SimpleNamespace(trace=trace))  # fmt: skip
    out = await ToolBox(core, all_tools()).call("get_trace", {"trace_id": "abc123"})  # type: ignore[arg-type]
    assert out.is_error
    assert len(out.content.encode()) <= MAX_RESULT_BYTES
    assert out.content.startswith("get_trace: no cluster has trace abc123: ran-site-000: Tempo of")
    assert "characters cut]" in out.content


def _loki(cluster: str, handler: Any) -> LokiClient:
    http = BackendClient("http://loki", name="loki", policy=HttpPolicy(retries=0),
                         transport=httpx.MockTransport(handler), text_backend=True)  # fmt: skip
    return LokiClient(http, cluster)


@pytest.mark.asyncio
async def test_a_logql_metric_query_answers_its_series_not_no_lines() -> None:
    def handler(request: httpx.Request) -> httpx.Response:  # 412 errors in the window
        points = [[NOW.timestamp() - 60, "212"], [NOW.timestamp(), "200"]]
        return httpx.Response(200, json={"status": "success", "data": {
            "resultType": "matrix", "result": [{"metric": {}, "values": points}]}})  # fmt: skip

    class Logs:
        async def logs(self, cluster: str, logql: str, *, start: datetime, end: datetime,
                       limit: int, most: int | None = None) -> LogResult:  # fmt: skip
            query = LogQuery(logql=logql, start_ns=int(start.timestamp() * 1e9),
                             end_ns=int(end.timestamp() * 1e9), limit=limit)  # fmt: skip
            return await _loki(prod.name, handler).query_range(query, most=most)

    prod = Cluster(name="prod-1", endpoints=[Endpoint(kind=EndpointKind.LOKI, url="https://loki")])
    core = SimpleNamespace(registry=SimpleNamespace(clusters=lambda: [prod]), logs_traces=Logs(),
                           now=lambda: NOW)  # fmt: skip
    box = ToolBox(core, [Tool("query_logs", "logs", QueryLogsInput, query_logs)])  # type: ignore[arg-type]
    out = await box.call("query_logs", {"logql": ERRORS})
    assert not out.is_error, out.content
    result = json.loads(out.content)["result"]
    assert "lines" not in result
    assert result["series_count"] == 1
    [row] = result["series"]
    assert (row["cluster"], row["labels"], row["last"], row["max"]) == ("prod-1", {}, 200, 212)
    assert "metric query" in result["note"]


@pytest.mark.asyncio
async def test_a_logql_metric_query_of_many_series_is_bounded_and_says_what_it_left_out() -> None:
    class Logs:
        async def logs(self, cluster: str, logql: str, **_: Any) -> LogResult:
            return LogResult(series=[
                LogSeries(labels={"k8s_pod_name": f"api-{n:04d}-" + "x" * 200},
                          points=[(NOW.timestamp() - 60, float(n)), (NOW.timestamp(), 1.0)])
                for n in range(500)
            ])  # fmt: skip

    prod = Cluster(name="prod-1", endpoints=[Endpoint(kind=EndpointKind.LOKI, url="https://loki")])
    core = SimpleNamespace(registry=SimpleNamespace(clusters=lambda: [prod]), logs_traces=Logs(),
                           now=lambda: NOW)  # fmt: skip
    box = ToolBox(core, [Tool("query_logs", "logs", QueryLogsInput, query_logs)])  # type: ignore[arg-type]
    out = await box.call(
        "query_logs", {"logql": 'sum by (k8s_pod_name) (count_over_time({app="x"} [5m]))'}
    )
    assert not out.is_error, out.content
    assert len(out.content.encode()) <= MAX_RESULT_BYTES
    result = json.loads(out.content)["result"]
    shown = len(result["series"])
    assert 1 <= shown <= MAX_ROWS and result["series_count"] == 500
    assert result["series_left_out"] == 500 - shown
    assert f"the first {shown} series" in result["note"]
    assert result["series"][0]["labels"]["k8s_pod_name"].startswith("api-0000-")
