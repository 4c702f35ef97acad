"""The live tail against a stand-in Loki that answers as Loki's querier does (one process,
127.0.0.1): a connection made again gets back only the NEWEST ``limit`` lines since its start
(the querier reads that history backward), so the tail reads the rest of the gap back with
``query_range`` before it shows a new line, says how many it could not (a gap past its
bound), and says lines may be missing where it could not read them back; a tail Loki refuses
after the upgrade (Close 1011 before any frame) backs off and ends with Loki's reason."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from aiops_desktop.settings import HttpPolicy
from collectors import loki_tail
from collectors.errors import CollectorServerError, CollectorUnreachable
from collectors.http import BackendClient
from collectors.loki import LokiPaths
from collectors.loki_tail import TailBatch, tail

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
QUERY = '{app="api"}'


def _at(i: int) -> int:
    return T0 + (i + 1) * MS  # a line a millisecond


def _frame(lines: list[tuple[int, str]]) -> str:
    values = [[str(t), text] for t, text in sorted(lines)]
    return json.dumps({"streams": [{"stream": {"app": "api"}, "values": values}]})


def _json(doc: Any) -> Response:
    body = json.dumps(doc).encode()
    headers = Headers([("Content-Type", "application/json"), ("Connection", "close"),
                       ("Content-Length", str(len(body)))])  # fmt: skip
    return Response(200, "OK", headers, body)


Script = Callable[["FakeLoki", ServerConnection, int], Awaitable[None]]


@dataclass
class FakeLoki:
    """Loki's tail (history: the newest ``limit`` lines since ``start``, oldest first, at
    most 100 a frame), ``query_range`` ([start, end), direction, limit) and the instant count
    ``sum(count_over_time(<selector> [<n>ms]))`` over (time - n ms, time]. What each tail
    connection does after its history is ``script``'s (the connection's number from 0)."""

    script: Script
    lines: list[tuple[int, str]] = field(default_factory=list)
    tails: list[dict[str, int]] = field(default_factory=list)
    ranges: list[dict[str, str]] = field(default_factory=list)
    counts: list[dict[str, str]] = field(default_factory=list)
    http_answers: bool = True

    async def process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        url = urlparse(request.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path.endswith("/tail"):
            return None
        if not self.http_answers:
            return connection.respond(503, "query frontend down\n")
        if url.path.endswith("/query_range"):
            self.ranges.append(q)
            start, end, limit = int(q["start"]), int(q["end"]), int(q["limit"])
            got = sorted((x for x in self.lines if start <= x[0] < end),
                         reverse=q["direction"] == "backward")[:limit]  # fmt: skip
            values = [[str(t), text] for t, text in got]
            return _json({"status": "success", "data": {"resultType": "streams", "result": [
                {"stream": {"app": "api"}, "values": values}] if values else []}})  # fmt: skip
        self.counts.append(q)
        found = re.fullmatch(r"sum\(count_over_time\((.*) \[(\d+)ms\]\)\)", q["query"])
        assert found is not None and found[1] == QUERY, q["query"]
        at, span = int(q["time"]), int(found[2]) * MS
        n = sum(1 for t, _ in self.lines if at - span < t <= at)
        result = [{"metric": {}, "value": [at / 1e9, str(n)]}] if n else []
        return _json({"status": "success", "data": {"resultType": "vector", "result": result}})

    async def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        q = {k: v[0] for k, v in parse_qs(urlparse(ws.request.path).query).items()}
        start, limit = int(q.get("start", T0)), int(q["limit"])
        self.tails.append({"start": start, "limit": limit})
        history = sorted(x for x in self.lines if x[0] >= start)[-limit:]  # the newest
        for at in range(0, len(history), 100):
            await ws.send(_frame(history[at : at + 100]))
        await self.script(self, ws, len(self.tails) - 1)

    async def write(self, ws: ServerConnection | None, first: int, last: int) -> None:
        """Lines ``first`` to ``last`` - 1 are written (and sent, a frame each, to ``ws``)."""
        for i in range(first, last):
            self.lines.append((_at(i), f"line {i}"))
            if ws is not None:
                await ws.send(_frame([self.lines[-1]]))


@asynccontextmanager
async def _running(loki: FakeLoki) -> AsyncIterator[BackendClient]:
    async with serve(loki.handler, "127.0.0.1", 0, process_request=loki.process_request) as srv:
        port = srv.sockets[0].getsockname()[1]
        policy = HttpPolicy(read_timeout_s=2, connect_timeout_s=2, retries=0,
                            backoff_base_s=0.01, backoff_max_s=0.01)  # fmt: skip
        http = BackendClient(f"http://127.0.0.1:{port}", name="loki", policy=policy,
                             text_backend=True)  # fmt: skip
        try:
            yield http
        finally:
            await http.aclose()


async def _read_until(http: BackendClient, last: str) -> tuple[list[str], list[str]]:
    """The lines and notes a tail from T0 shows until it shows ``last``."""
    shown: list[str] = []
    notes: list[str] = []
    batches = tail(http, LokiPaths(), QUERY, cluster="c1", start_ns=T0)
    async with asyncio.timeout(20), aclosing(batches):
        async for batch in batches:
            shown += [e.line for e in batch.entries]
            notes += [batch.note] if batch.note else []
            if last in shown:
                break
    return shown, notes


async def _cut_after_ten_then_300_written(loki: FakeLoki, ws: ServerConnection, n: int) -> None:
    if n == 0:
        await loki.write(ws, 0, 10)  # ten lines live
        await loki.write(None, 10, 310)  # 300 more while the tail is cut
        await ws.close(1011, "cut")  # (after frames: a cut, not a refusal)
        return
    await ws.wait_closed()


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loki_tail, "BACKOFF_S", (0.01, 0.02, 0.04, 0.08))


@pytest.mark.asyncio
@pytest.mark.usefixtures("fast_backoff")
async def test_a_reconnect_reads_back_what_loki_does_not_send_again() -> None:
    """300 lines written while cut, Loki sends the newest 100 again: the 200 before them are
    read back (forward, from the newest line shown), shown first, none twice."""
    loki = FakeLoki(_cut_after_ten_then_300_written)
    async with _running(loki) as http:
        shown, notes = await _read_until(http, "line 309")
    assert shown == [f"line {i}" for i in range(310)]  # all, in order, none twice
    assert len(notes) == 1 and notes[0].startswith("tail cut (")  # nothing said missing
    assert loki.tails[1] == {"start": _at(9), "limit": 100}
    [asked] = loki.ranges  # one read back, forward, to the first line Loki sent again
    assert asked["direction"] == "forward" and int(asked["start"]) == _at(9)
    assert int(asked["end"]) == _at(210) + 1
    assert loki.counts == []


@pytest.mark.asyncio
@pytest.mark.usefixtures("fast_backoff")
async def test_a_gap_past_the_read_back_bound_says_how_many_lines_are_not_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loki_tail, "BACKFILL_MOST", 50)
    monkeypatch.setattr(loki_tail, "BACKFILL_PAGE", 20)
    loki = FakeLoki(_cut_after_ten_then_300_written)
    async with _running(loki) as http:
        shown, notes = await _read_until(http, "line 309")
    # line 9 read again (known), lines 10-58 read back, 59-209 not, 210-309 sent again
    expected = [f"line {i}" for i in (*range(59), *range(210, 310))]
    assert shown == expected
    assert len(loki.ranges) == 3  # pages of 20: 20 + 20 + 10
    [said] = [n for n in notes if not n.startswith("tail cut (")]
    assert said.startswith("at least 151 lines written while the tail was cut, between ")
    assert "not shown: more than the 50 read back" in said


@pytest.mark.asyncio
@pytest.mark.usefixtures("fast_backoff")
async def test_a_gap_that_cannot_be_read_back_says_lines_may_be_missing() -> None:
    loki = FakeLoki(_cut_after_ten_then_300_written, http_answers=False)
    async with _running(loki) as http:
        shown, notes = await _read_until(http, "line 309")
    assert shown == [f"line {i}" for i in (*range(10), *range(210, 310))]
    [said] = [n for n in notes if not n.startswith("tail cut (")]
    assert "may be missing: Loki sent only the newest again" in said and "503" in said


@pytest.mark.asyncio
@pytest.mark.usefixtures("fast_backoff")
async def test_a_short_gap_loki_sent_whole_is_shown_without_a_word_even_unread() -> None:
    """Ten lines written while cut: Loki's replay holds them all (fewer than ``limit``), so
    a read back that fails says nothing is missing, for nothing is."""

    async def script(loki: FakeLoki, ws: ServerConnection, n: int) -> None:
        if n == 0:
            await loki.write(ws, 0, 5)
            await loki.write(None, 5, 15)
            await ws.close(1011, "cut")
            return
        await ws.wait_closed()

    loki = FakeLoki(script, http_answers=False)
    async with _running(loki) as http:
        shown, notes = await _read_until(http, "line 14")
    assert shown == [f"line {i}" for i in range(15)]
    assert len(notes) == 1 and notes[0].startswith("tail cut (")


# -- a tail Loki refuses after the upgrade --------------------------------------------------
async def _tail_notes(http: BackendClient, seconds: float = 20) -> list[TailBatch]:
    got: list[TailBatch] = []
    batches = tail(http, LokiPaths(), QUERY, cluster="c1")
    async with asyncio.timeout(seconds), aclosing(batches):
        async for batch in batches:
            got.append(batch)
    return got


@pytest.mark.asyncio
@pytest.mark.usefixtures("fast_backoff")
async def test_a_tail_loki_refuses_backs_off_and_ends_with_lokis_reason() -> None:
    """Loki's querier refuses (Close 1011 "max concurrent tail requests limit exceeded")
    right after the upgrade: each handshake used to count as a success, so the tail tried
    again every second forever. Now the waits grow, and MOST_FAILURES refusals end it."""

    async def refuse(loki: FakeLoki, ws: ServerConnection, n: int) -> None:
        await ws.close(1011, "max concurrent tail requests limit exceeded")

    loki = FakeLoki(refuse)
    notes: list[str] = []
    async with _running(loki) as http:
        with pytest.raises(CollectorServerError) as raised:
            batches = tail(http, LokiPaths(), QUERY, cluster="c1")
            async with asyncio.timeout(20), aclosing(batches):
                async for batch in batches:
                    notes.append(batch.note)
    assert len(loki.tails) == loki_tail.MOST_FAILURES
    assert str(raised.value).endswith(
        f"refused the tail {loki_tail.MOST_FAILURES} times in a row: "
        "max concurrent tail requests limit exceeded"
    )
    waits = [float(re.search(r"reconnecting in ([\d.]+) s", n)[1]) for n in notes]  # type: ignore[index]
    assert waits == [0.01, 0.02, 0.04, 0.08, 0.08, 0.08, 0.08]  # backing off
    assert all(n.startswith("tail cut (refused: max concurrent tail") for n in notes)


@pytest.mark.asyncio
@pytest.mark.usefixtures("fast_backoff")
async def test_a_connection_that_sends_lines_is_a_working_one() -> None:
    """A frame, then a cut (even a 1011): the connection worked, the count starts again, the
    tail goes on (more cuts than MOST_FAILURES, and no end)."""

    async def frame_then_cut(loki: FakeLoki, ws: ServerConnection, n: int) -> None:
        await loki.write(ws, n, n + 1)
        await ws.close(1011, "ingester gone")

    loki = FakeLoki(frame_then_cut)
    rounds = loki_tail.MOST_FAILURES * 2
    shown: list[str] = []
    notes: list[str] = []
    async with _running(loki) as http:
        batches = tail(http, LokiPaths(), QUERY, cluster="c1", start_ns=T0)
        async with asyncio.timeout(20), aclosing(batches):
            async for batch in batches:
                shown += [e.line for e in batch.entries]
                notes += [batch.note] if batch.note else []
                if len(shown) >= rounds:
                    break
    assert shown == [f"line {i}" for i in range(rounds)]
    cuts = [n for n in notes if n.startswith("tail cut (")]
    assert all("reconnecting in 0.01 s" in n and "refused" not in n for n in cuts)


@pytest.mark.asyncio
@pytest.mark.usefixtures("fast_backoff")
async def test_a_quiet_connection_that_lasted_is_a_working_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No line for a while, then closed (a proxy's idle timeout): it worked. A connection
    closed at once, no frame, fails; MOST_FAILURES of them end the tail."""
    monkeypatch.setattr(loki_tail, "HEALTHY_S", 0.2)

    async def quiet(loki: FakeLoki, ws: ServerConnection, n: int) -> None:
        await asyncio.sleep(0.25)
        await ws.close()

    loki = FakeLoki(quiet)
    async with _running(loki) as http:
        with pytest.raises(TimeoutError):
            await _tail_notes(http, seconds=(loki_tail.MOST_FAILURES + 2) * 0.3)
    assert len(loki.tails) > loki_tail.MOST_FAILURES

    async def closed_at_once(loki: FakeLoki, ws: ServerConnection, n: int) -> None:
        await ws.close()

    loki = FakeLoki(closed_at_once)
    async with _running(loki) as http:
        with pytest.raises(CollectorUnreachable, match="failed 8 times in a row"):
            await _tail_notes(http)
    assert len(loki.tails) == loki_tail.MOST_FAILURES
