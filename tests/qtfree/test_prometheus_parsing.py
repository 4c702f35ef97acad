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


@pytest.mark.parametrize(
    "payload",
    [
        {"status": "success", "data": {"resultType": "matrix", "result": [["x"]]}},
        {"status": "success", "data": {"resultType": "matrix", "result": ["x"]}},
        {"status": "success", "data": {"resultType": "vector", "result": ["x"]}},
        {"status": "success", "warnings": 5, "data": {"resultType": "vector", "result": []}},
        {"status": "success", "warnings": "a", "data": {"resultType": "vector", "result": []}},
        {"status": "success", "data": {"resultType": "matrix", "result": 7}},
        {
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": {}, "value": [10**400, "1"]}]},
        },
        {
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, 10**400]}]},
        },
        {
            "status": "success",
            "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [[10**400, 1]]}]},
        },
        {"status": "success", "data": {"resultType": "scalar", "result": [10**400, "1"]}},
    ],
    ids=[
        "matrix-item-list",
        "matrix-item-string",
        "vector-item-string",
        "warnings-number",
        "warnings-string",
        "result-number",
        "vector-time-huge-int",
        "vector-value-huge-int",
        "matrix-time-huge-int",
        "scalar-time-huge-int",
    ],
)
def test_a_malformed_answer_is_a_bad_response_not_a_python_error(payload: dict) -> None:  # type: ignore[type-arg]
    """A list where a series belongs, a number for the warnings, a JSON integer past a
    float's range: each raised AttributeError, TypeError or OverflowError, which no caller
    handling "a bad answer" catches."""
    with pytest.raises(CollectorBadResponse, match="prometheus"):
        parse_query_data(payload, "prometheus")


def test_a_servers_error_text_is_cut() -> None:
    """A 200 {"status": "error"} with megabytes of error text kept all of it (a 1 MB one froze
    the console 2.8 s); a refusal's body (upstream_error) is already cut to 500 characters."""
    huge = "parse error near " + "x " * 500_000
    with pytest.raises(CollectorInvalidQuery) as caught:
        parse_query_data({"status": "error", "errorType": "bad_data", "error": huge}, "prom")
    assert caught.value.upstream.startswith("parse error near x")
    assert len(caught.value.upstream) <= 501 and len(str(caught.value)) < 600


def test_warnings_are_text_and_bounded() -> None:
    payload = {
        "status": "success",
        "warnings": ["w" * 100_000, {"a": 1}, *[f"w{i}" for i in range(1000)]],
        "data": {"resultType": "vector", "result": []},
    }
    warnings = parse_query_data(payload).warnings
    assert all(isinstance(w, str) and len(w) <= 501 for w in warnings)
    assert warnings[1] == "{'a': 1}" and len(warnings) <= 21
    assert "more" in warnings[-1]


@pytest.mark.asyncio
async def test_an_unexpected_answer_of_the_label_api_is_cut() -> None:
    body = {"status": "error", "error": "y" * 1_000_000}
    http = BackendClient(
        "http://prom.test",
        name="p",
        transport=httpx.MockTransport(lambda _r: httpx.Response(200, json=body)),
        policy=HttpPolicy(retries=0),
    )
    client = PrometheusClient(http)
    try:
        with pytest.raises(CollectorBadResponse) as caught:
            await client.labels()
    finally:
        await client.aclose()
    assert len(str(caught.value)) < 600
