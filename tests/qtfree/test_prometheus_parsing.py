"""Parsing Prometheus API answers in their exact upstream format (httpx.MockTransport)."""

from __future__ import annotations

import json
import math

import httpx
import pytest

from collectors.errors import CollectorBadResponse, CollectorInvalidQuery
from collectors.http import BackendClient, HttpPolicy
from collectors.prometheus import PrometheusClient, parse_query_data

MATRIX = {
    "status": "success",
    "data": {
        "resultType": "matrix",
        "result": [
            {
                "metric": {"__name__": "up", "job": "node"},
                "values": [[1700000000, "1"], [1700000015, "NaN"], [1700000030, "+Inf"]],
            }
        ],
    },
    "warnings": ["PromQL info: metric might not be a counter"],
}


def test_matrix_with_special_values() -> None:
    result = parse_query_data(MATRIX)
    (series,) = result.series
    assert series.metric == "up" and series.labels["job"] == "node"
    assert series.values[0] == 1 and math.isnan(series.values[1]) and math.isinf(series.values[2])
    assert result.warnings == ["PromQL info: metric might not be a counter"]


@pytest.mark.parametrize(
    ("payload", "error", "text"),
    [
        (
            {"status": "error", "errorType": "bad_data", "error": "parse error"},
            CollectorInvalidQuery,
            "parse error",
        ),
        ({"foo": 1}, CollectorBadResponse, "not a Prometheus API response"),
        ({"status": "success", "data": {}}, CollectorBadResponse, "no data.resultType"),
        (
            {"status": "success", "data": {"resultType": "tensor", "result": []}},
            CollectorBadResponse,
            "unknown resultType",
        ),
        (
            {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}},
            CollectorBadResponse,
            "not in Prometheus format",
        ),
        (
            {
                "status": "success",
                "data": {"resultType": "vector", "result": [{"value": [1, "abc"]}]},
            },
            CollectorBadResponse,
            "not a number",
        ),
        (
            {"status": "success", "data": {"resultType": "scalar", "result": None}},
            CollectorBadResponse,
            "scalar",
        ),
    ],
)
def test_bad_answers(payload: dict, error: type[Exception], text: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(error, match=text):
        parse_query_data(payload)


@pytest.mark.asyncio
async def test_requests_are_form_posts_with_timeout_and_retries_on_503() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(503, json={"status": "error", "error": "overloaded"})
        return httpx.Response(200, content=json.dumps(MATRIX).encode())

    http = BackendClient(
        "http://prom.test",
        name="p",
        transport=httpx.MockTransport(handler),
        policy=HttpPolicy(retries=2, backoff_base_s=0.001),
    )
    client = PrometheusClient(http)
    try:
        result = await client.query_range("up", 1700000000, 1700000030, 15, timeout_s=12)
    finally:
        await client.aclose()
    assert len(seen) == 2 and result.series[0].timestamps.size == 3
    form = dict(httpx.QueryParams(seen[-1].content.decode()))
    assert form == {
        "query": "up",
        "start": "1700000000.000",
        "end": "1700000030.000",
        "step": "15",
        "timeout": "12s",
    }
    assert seen[-1].url.path == "/api/v1/query_range"
