"""The live tail with the workstation's clock behind Loki's: where a reconnected tail resumes
is held to the SERVER's clock (the Date its answers say), not the local one. Held to the local
clock, a workstation minutes behind moved the resume point (and the read-back's start) minutes
back over lines shown: read again past what the tail remembers, they were shown twice and used
up the read-back before the lines written while the tail was cut (never shown). A line stamped
in the future is still held back (to the server's now): the lines after it are shown. Against
a stand-in Loki on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
import types
from collections import Counter
from contextlib import aclosing
from email.utils import formatdate
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from aiops_desktop.models.observability import LogEntry
from aiops_desktop.settings import HttpPolicy
from collectors import loki_tail
from collectors.http import BackendClient
from collectors.loki import LokiPaths
from collectors.loki_tail import Resume, ServerClock, TailBatch

MS = 1_000_000
S = 1_000 * MS
MINUTE = 60 * S
QUERY = '{app="api"}'


def _frame(times: list[int]) -> str:
    values = [[str(t), f"L{t}"] for t in times]
    return json.dumps({"streams": [{"stream": {"app": "api"}, "values": values}]})


def _streams(times: list[int]) -> bytes:
    values = [[str(t), f"L{t}"] for t in times]
    result = [{"stream": {"app": "api"}, "values": values}] if values else []
    doc = {"status": "success", "data": {"resultType": "streams", "result": result}}
    return json.dumps(doc).encode()


def _answer(lines: list[int], params: dict[str, str]) -> bytes:
    """Loki's query_range over ``lines``: [start, end), its direction, at most limit."""
    start, end, limit = int(params["start"]), int(params["end"]), int(params["limit"])
    got = sorted((t for t in lines if start <= t < end), reverse=params["direction"] == "backward")
    return _streams(got[:limit])


def _date(at_ns: int) -> str:
    """An HTTP Date (whole seconds) of ``at_ns``."""
    return formatdate(at_ns / 1e9, usegmt=True)


def _slow_local_clock(monkeypatch: pytest.MonkeyPatch, behind_ns: int) -> None:
    """The workstation's clock ``behind_ns`` behind Loki's (the test's real clock)."""
    monkeypatch.setattr(loki_tail, "time", types.SimpleNamespace(
        time_ns=lambda: time.time_ns() - behind_ns, monotonic=time.monotonic,
        monotonic_ns=time.monotonic_ns,
    ))  # fmt: skip


@pytest.mark.asyncio
async def test_a_slow_local_clock_with_no_server_date_shows_no_line_twice_and_loses_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No answer said the server's Date: the resume point may be as far ahead of the local
    clock as a workstation's kept by NTP is behind (within LOCAL_CLOCK_SLACK_NS), not moved
    back over lines shown."""
    behind_ns = 50 * S
    assert behind_ns < loki_tail.LOCAL_CLOCK_SLACK_NS
    _slow_local_clock(monkeypatch, behind_ns)
    now = time.time_ns()  # Loki's
    before = [now - 5 * MINUTE + i * 25 * MS for i in range(12_000)]  # shown, 40 a second
    cut = [now + S + i * 25 * MS for i in range(400)]  # written while the tail was cut
    every = before + cut

    def loki(request: httpx.Request) -> httpx.Response:
        params = {k: request.url.params[k] for k in request.url.params}
        return httpx.Response(200, content=_answer(every, params))

    http = BackendClient("http://loki.test", name="loki", text_backend=True,
                         transport=httpx.MockTransport(loki))  # fmt: skip
    shown = loki_tail._Shown(http, LokiPaths(), QUERY, "c", None, 100, Resume(before[0] - 1))
    out: list[TailBatch] = []
    for at in range(0, len(before), 100):
        out += await shown.frame(_frame(before[at : at + 100]))
    shown.reconnecting(worked=True)
    assert shown.resume.last_ns == before[-1] == shown.gap_from  # not moved back
    out += await shown.frame(_frame(cut[-100:]))  # Loki's replay: the newest 100
    await http.aclose()
    times = Counter(e.timestamp_ns for b in out for e in b.entries)
    assert [t for t, n in times.items() if n > 1] == []
    assert [t for t in every if t not in times] == []


@pytest.mark.asyncio
@pytest.mark.parametrize("date_on_upgrade", [True, False])
async def test_a_reconnected_tail_resumes_at_the_server_clock_not_a_slow_local_one(
    monkeypatch: pytest.MonkeyPatch, date_on_upgrade: bool
) -> None:
    """The local clock half an hour behind; the server's Date said on the tail's upgrade or,
    where the upgrade says none (Loki's does not), on an answer asked for it. 15,000 lines
    shown (more than the tail remembers), 400 written while it was cut: each shown once."""
    monkeypatch.setattr(loki_tail, "BACKOFF_S", (0.01,))
    _slow_local_clock(monkeypatch, 30 * MINUTE)
    now = time.time_ns()
    before = [now - 11 * MINUTE + i * 40 * MS for i in range(15_000)]  # to a minute ago
    cut = [now - 50 * S + i * 25 * MS for i in range(400)]
    lines: list[int] = list(before)
    tails: list[int] = []
    asked: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        tails.append(int(parse_qs(urlparse(ws.request.path).query)["start"][0]))
        if len(tails) == 1:
            for at in range(0, len(before), 100):
                await ws.send(_frame(before[at : at + 100]))
            lines.extend(cut)  # written while the tail is cut
            await ws.close()
            return
        await ws.send(_frame(cut[-100:]))  # the newest 100 since the start, again
        await ws.wait_closed()

    def process_request(ws: ServerConnection, request: Request) -> Response | None:
        url = urlparse(request.path)
        asked.append(url.path)
        if url.path.endswith("/tail"):
            return None
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = _answer(lines, params) if url.path.endswith("/query_range") else b"{}"
        headers = Headers([("Content-Type", "application/json"), ("Connection", "close"),
                           ("Content-Length", str(len(body))),
                           ("Date", _date(time.time_ns()))])  # fmt: skip
        return Response(200, "OK", headers, body)

    def process_response(ws: ServerConnection, request: Request, response: Response) -> None:
        if not date_on_upgrade and response.status_code == 101:
            del response.headers["Date"]

    times: Counter[int] = Counter()
    async with serve(handler, "127.0.0.1", 0, process_request=process_request,
                     process_response=process_response) as server:  # fmt: skip
        port = server.sockets[0].getsockname()[1]
        http = BackendClient(f"http://127.0.0.1:{port}", name="loki", text_backend=True,
                             policy=HttpPolicy(read_timeout_s=2, connect_timeout_s=2,
                                               retries=0))  # fmt: skip
        batches = loki_tail.tail(http, LokiPaths(), QUERY, cluster="c", start_ns=before[0])
        try:
            async with asyncio.timeout(20), aclosing(batches):
                async for batch in batches:
                    times.update(e.timestamp_ns for e in batch.entries)
                    if cut[-1] in times:
                        break
        finally:
            await http.aclose()
    assert tails[1] == before[-1]  # resumed from the newest line: it is not in the future
    assert [t for t, n in times.items() if n > 1] == []
    assert [t for t in lines if t not in times] == []
    assert any(not p.endswith(("/tail", "/query_range")) for p in asked) is not date_on_upgrade


@pytest.mark.parametrize("behind_ns", [0, 30 * MINUTE])
def test_a_future_line_is_held_back_to_the_server_clock_whatever_the_local_one_says(
    monkeypatch: pytest.MonkeyPatch, behind_ns: int
) -> None:
    _slow_local_clock(monkeypatch, behind_ns)
    now = time.time_ns()
    clock = ServerClock()
    assert clock.heard({"Date": _date(now)})
    resume = Resume(now - MINUTE)
    future = now + 10 * MINUTE  # a node's clock 10 min fast
    resume.fresh([LogEntry(cluster="c", timestamp_ns=future, line="node B", labels={})])
    resume.reconnecting(clock.latest_ns())
    assert resume.last_ns is not None and now - S <= resume.last_ns <= time.time_ns()


@pytest.mark.parametrize("said", [None, {}, {"Date": ""}, {"Date": "yesterday"},
                                  {"Date": "Mon, 99 Foo 2024 99:99:99 GMT"}])  # fmt: skip
def test_a_missing_or_malformed_date_leaves_the_local_clock_and_its_slack(
    said: dict[str, str] | None,
) -> None:
    clock = ServerClock()
    assert not clock.heard(said)
    before = time.time_ns()
    assert before + loki_tail.LOCAL_CLOCK_SLACK_NS <= clock.latest_ns()
