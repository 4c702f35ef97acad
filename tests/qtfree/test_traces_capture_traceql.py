"""A trace search with a TraceQL query sends every filter inside it: Tempo's TraceQL search
reads ``q`` alone (``minDuration``, ``maxDuration`` and ``tags`` beside it are ignored), so
"errors only, slower than 500ms" answered fast traces too, and ``traces --errors --operation
checkout`` sent only ``{ status = error }``. A query the filters cannot be written into is
refused, not sent without them."""

from __future__ import annotations

import httpx
import pytest

from aiops_desktop.services.queries.logs_traces import failing_traceql
from collectors.http import BackendClient
from collectors.tempo import TempoClient, with_filters


def _tempo() -> tuple[TempoClient, list[dict[str, str]]]:
    sent: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(dict(request.url.params))
        return httpx.Response(200, json={"traces": [], "metrics": {}})

    http = BackendClient("http://tempo.test", name="tempo", transport=httpx.MockTransport(answer),
                         text_backend=True)  # fmt: skip
    return TempoClient(http, "c1"), sent


@pytest.mark.asyncio
async def test_errors_only_with_a_service_and_a_duration_is_one_query() -> None:
    client, sent = _tempo()
    await client.search(service="shop", min_duration="500ms", max_duration="2s",
                        traceql=failing_traceql("shop"), limit=50)  # fmt: skip
    assert sent[-1] == {"limit": "50", "q": '{ status = error && resource.service.name = "shop"'
                        " && traceDuration >= 500ms && traceDuration <= 2s }"}  # fmt: skip
    await client.search(operation="checkout", traceql=failing_traceql())
    assert sent[-1] == {"limit": "20", "q": '{ status = error && name = "checkout" }'}
    await client.aclose()


@pytest.mark.asyncio
async def test_without_traceql_the_search_is_tempos_own() -> None:
    client, sent = _tempo()
    await client.search(service="shop", operation="pay now", min_duration="1s", start_s=5)
    assert sent[-1] == {"limit": "20", "tags": 'service.name=shop name="pay now"',
                        "minDuration": "1s", "start": "5"}  # fmt: skip
    with pytest.raises(ValueError, match="not a duration"):
        await client.search(traceql="{}", min_duration="soon")
    await client.aclose()


def test_values_are_quoted_and_a_query_of_ors_is_kept_whole() -> None:
    said = with_filters('{ .a = "x && }" || .b = 1 }', service='we"ird\\', operation="a && b")
    assert said == ('{ (.a = "x && }" || .b = 1) && resource.service.name = "we\\"ird\\\\" '
                    '&& name = "a && b" }')  # fmt: skip
    assert with_filters("{}", operation="op") == '{ name = "op" }'
    assert with_filters("  { status = error }  ") == "{ status = error }"
    assert with_filters("{ }", tags={"http.route": "/pay"}) == '{ .http.route = "/pay" }'
    with pytest.raises(ValueError, match="tag name"):
        with_filters("{}", tags={"a b": "x"})


@pytest.mark.parametrize("query", ['{ status = error } && { name = "x" }',
                                   "{ status = error } | count() > 2",
                                   '{ .a = "}" } >> { }', "status = error"])  # fmt: skip
def test_a_query_the_filters_cannot_join_is_refused_not_sent_without_them(query: str) -> None:
    with pytest.raises(ValueError, match="write the other filters into it"):
        with_filters(query, min_duration="500ms")
    assert with_filters(query) == query  # with none to add, it goes as written
