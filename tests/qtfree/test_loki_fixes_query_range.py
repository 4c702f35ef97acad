"""A paged ``query_range`` that stops at ``most`` lines inside a page says more matched: the
page's lines past the room were dropped while ``truncated`` read False (the Logs page, a
page of 1,000 and at most 5,000, said "5,000 lines shown" of 5,200, no "more matched")."""

from __future__ import annotations

import httpx
import pytest

from aiops_desktop.models.enums import LogDirection
from aiops_desktop.models.observability import LogQuery
from collectors.http import BackendClient
from collectors.loki import LokiClient

T0 = 1_700_000_000_000_000_000
MS = 1_000_000


def _loki(n: int) -> httpx.MockTransport:
    """``n`` lines a millisecond apart, answered as Loki's query_range: [start, end), in the
    direction asked, at most ``limit``."""
    stamps = [T0 + i * MS for i in range(n)]

    def answer(request: httpx.Request) -> httpx.Response:
        q = request.url.params
        start, end = int(q.get("start", 0)), int(q.get("end", 2**63 - 1))
        got = sorted((t for t in stamps if start <= t < end),
                     reverse=q["direction"] == "backward")[: int(q["limit"])]  # fmt: skip
        result = [{"stream": {"app": "api"}, "values": [[str(t), f"line {t}"] for t in got]}]
        return httpx.Response(200, json={"status": "success", "data": {
            "resultType": "streams", "result": result if got else []}})  # fmt: skip

    return httpx.MockTransport(answer)


async def _read(n: int, *, most: int, limit: int, direction: LogDirection) -> tuple[int, bool]:
    http = BackendClient("http://loki.test", name="loki", transport=_loki(n), text_backend=True)
    try:
        query = LogQuery(logql='{app="api"}', start_ns=T0, end_ns=T0 + n * MS, limit=limit,
                         direction=direction)  # fmt: skip
        got = await LokiClient(http, "c1").query_range(query, most=most)
    finally:
        await http.aclose()
    assert len({e.timestamp_ns for e in got.entries}) == len(got.entries)  # none twice
    return len(got.entries), got.truncated


@pytest.mark.asyncio
@pytest.mark.parametrize("direction", [LogDirection.FORWARD, LogDirection.BACKWARD])
@pytest.mark.parametrize(
    ("n", "most", "limit", "shown", "truncated"),
    [
        (5_200, 5_000, 1_000, 5_000, True),  # the Logs page's settings: 200 more matched
        (5_001, 5_000, 1_000, 5_000, True),  # one more
        (1_500, 1_200, 1_000, 1_200, True),  # cut inside the last page, not a full page
        (4_500, 4_500, 1_000, 4_500, False),  # the last page ends just at the room: all read
        (999, 999, 1_000, 999, False),  # one page, not full, all of it
        (1_000, 1_000, 1_000, 1_000, True),  # a full page: more may match (not known)
    ],
)
async def test_a_read_stopped_by_its_bound_says_more_matched(
    n: int, most: int, limit: int, shown: int, truncated: bool, direction: LogDirection
) -> None:
    assert await _read(n, most=most, limit=limit, direction=direction) == (shown, truncated)
