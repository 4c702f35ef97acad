"""The live tail's reading of Loki's clock (``ServerClock``), seventh review: a Date far from
the local clock (a proxy's dead clock, a forged header: 1970, 1900, 9999) is not believed (it
moved the resume point to 1970 and the read-back showed again every line in Loki, or to 9999,
which let every new line go); two Date headers on the upgrade no longer end the tail; the clock
is read again at each reconnect (a local clock stepped after it was read moved the resume point
back over lines shown); and with Loki's clock not known the resume point is held to a minute
past the local clock, not a quarter of an hour (a node 10 min fast let every line written after
a reconnect go), and the note of the lines let go says the clock was not known."""

from __future__ import annotations

import asyncio
import json
import time
import types
from collections import Counter
from contextlib import aclosing
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
from tests.qtfree.test_loki_review6b_clock import MINUTE, MS, QUERY, S, _date, _frame, _streams

EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"
FAR_DATES = [EPOCH, "Mon, 01 Jan 1900 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT"]


class _LocalClock:
    """The workstation's wall clock ``ahead_ns`` off the real one, which a test may step (an
    NTP correction, a resume from suspend); its monotonic clock goes on unstepped."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, ahead_ns: int = 0) -> None:
        self.ahead_ns = ahead_ns
        monkeypatch.setattr(loki_tail, "time", types.SimpleNamespace(
            time_ns=lambda: time.time_ns() + self.ahead_ns, monotonic=time.monotonic,
            monotonic_ns=time.monotonic_ns,
        ))  # fmt: skip


def _shown(resume: Resume, transport: httpx.MockTransport | None = None) -> loki_tail._Shown:
    def nothing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_streams([]))

    http = BackendClient("http://loki.test", name="loki", text_backend=True,
                         transport=transport or httpx.MockTransport(nothing))  # fmt: skip
    return loki_tail._Shown(http, LokiPaths(), QUERY, "c", None, 100, resume)


# -- 1: a Date far from the local clock is not believed ---------------------------------------


@pytest.mark.parametrize("date", [*FAR_DATES, "two hours on", "two hours back"])
def test_a_date_far_from_the_local_clock_is_not_believed(date: str) -> None:
    now = time.time_ns()
    if date.startswith("two hours"):
        date = _date(now + (2 if date.endswith("on") else -2) * 60 * MINUTE)
    clock = ServerClock()
    assert not clock.heard(httpx.Headers({"Date": date}))
    assert not clock.known
    assert now <= clock.latest_ns() <= time.time_ns() + loki_tail.LOCAL_CLOCK_SLACK_NS
    assert "clock" in clock.not_known_why() and "hour" in clock.not_known_why()


@pytest.mark.parametrize("date", FAR_DATES)
def test_a_far_date_moves_no_resume_point_back_nor_lets_a_line_of_2262_hold_it(date: str) -> None:
    now = time.time_ns()
    for newest in (now - 2 * S, 9_000_000_000_000_000_000):  # a line of 2262: hostile
        shown = _shown(Resume(now - MINUTE))
        shown.resume.fresh([LogEntry(cluster="c", timestamp_ns=newest, line="x", labels={})])
        shown.clock.heard(httpx.Headers({"Date": date}))
        shown.reconnecting(worked=True)
        assert shown.resume.last_ns is not None and shown.gap_from == shown.resume.last_ns
        assert min(newest, now) <= shown.resume.last_ns <= time.time_ns() + MINUTE


@pytest.mark.parametrize("date", [_date(time.time_ns() + 50 * MINUTE), _date(time.time_ns())])
def test_a_date_within_the_hour_is_believed(date: str) -> None:
    clock = ServerClock()
    assert clock.heard(httpx.Headers({"Date": date}))
    assert clock.known and clock.not_known_why() == ""


# -- 2: two Date headers ----------------------------------------------------------------------


def test_two_date_headers_are_read_without_raising_and_believed_only_when_they_agree() -> None:
    now = time.time_ns()
    differ = Headers([("Date", _date(now)), ("Date", _date(now - 3 * S))])
    clock = ServerClock()
    assert not clock.heard(differ)
    assert not clock.known and "Date" in clock.not_known_why()
    assert not clock.heard(httpx.Headers([("Date", _date(now)), ("Date", _date(now - 3 * S))]))
    same = Headers([("Date", _date(now)), ("Date", _date(now))])
    assert clock.heard(same) and clock.known


# -- 1 and 2 end to end: a stand-in Loki whose Dates are a proxy's ---------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["epoch", "year9999", "twodates"])
async def test_a_tail_behind_a_proxy_with_a_bad_date_shows_each_line_once_and_goes_on(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """600 lines in Loki from before the tail began (never part of it), 3,000 shown, 200
    written while it was cut. A Date of 1970 made the read-back show the 600 again as
    "written while the tail was cut"; one of 9999 let the 200 go; two Dates on the upgrade
    ended the tail ("logs tail failed: 'Date'")."""
    monkeypatch.setattr(loki_tail, "BACKOFF_S", (0.01,))
    now = time.time_ns()
    old = [now - 60 * MINUTE + i * S for i in range(600)]
    before = [now - 2 * MINUTE + i * 10 * MS for i in range(3000)]
    cut = [now - 10 * S + i * 10 * MS for i in range(200)]
    lines = old + before
    starts: list[int] = []
    bad = {"epoch": EPOCH, "year9999": FAR_DATES[2]}.get(mode)

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        starts.append(int(parse_qs(urlparse(ws.request.path).query)["start"][0]))
        if len(starts) == 1:
            for at in range(0, len(before), 100):
                await ws.send(_frame(before[at : at + 100]))
            lines.extend(cut)
            await ws.close()
            return
        await ws.send(_frame(cut[-100:]))
        await ws.wait_closed()

    def process_request(ws: ServerConnection, request: Request) -> Response | None:
        url = urlparse(request.path)
        if url.path.endswith("/tail"):
            return None
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = b"{}"
        if url.path.endswith("/query_range"):
            start, end = int(params["start"]), int(params["end"])
            body = _streams(sorted(t for t in lines if start <= t < end)[: int(params["limit"])])
        headers = Headers([("Content-Type", "application/json"), ("Connection", "close"),
                           ("Content-Length", str(len(body))),
                           ("Date", bad or _date(time.time_ns()))])  # fmt: skip
        return Response(200, "OK", headers, body)

    def process_response(ws: ServerConnection, request: Request, response: Response) -> None:
        if response.status_code == 101:
            del response.headers["Date"]
            if mode == "twodates":  # a proxy's Date beside the server's
                response.headers["Date"] = _date(time.time_ns())
                response.headers["Date"] = _date(time.time_ns() - 2 * S)
            elif bad:
                response.headers["Date"] = bad

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
    assert starts[1] == before[-1]
    assert [t for t in old if t in times] == []
    assert [t for t, n in times.items() if n > 1] == []
    assert [t for t in before + cut if t not in times] == []


# -- 3: the clock read again after the local one stepped --------------------------------------


def test_a_local_clock_stepped_after_the_server_clock_was_read_moves_no_resume_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Read while the local clock was 10 min fast; then NTP set it right: the offset read
    then is not used (the resume point moved 10 min back over lines shown)."""
    local = _LocalClock(monkeypatch, 10 * MINUTE)
    shown = _shown(Resume(None))
    assert shown.clock.heard(httpx.Headers({"Date": _date(time.time_ns())}))
    local.ahead_ns = 0
    newest = time.time_ns() - S
    shown.resume.fresh([LogEntry(cluster="c", timestamp_ns=newest, line="x", labels={})])
    shown.reconnecting(worked=True)
    assert shown.resume.last_ns == newest == shown.gap_from
    assert not shown.clock.known and "changed" in shown.clock.not_known_why()


@pytest.mark.asyncio
async def test_a_reconnecting_tail_reads_the_server_clock_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The local clock 10 min fast when the tail began, set right while it was connected;
    Loki's upgrade says no Date (it does not): the tail asks again at the reconnect and
    resumes from the newest line shown, not 10 min before it."""
    monkeypatch.setattr(loki_tail, "BACKOFF_S", (0.01,))
    local = _LocalClock(monkeypatch, 10 * MINUTE)
    now = time.time_ns()
    before = [now - MINUTE + i * 10 * MS for i in range(3000)]
    cut = [now - 20 * S + i * 10 * MS for i in range(200)]
    lines = list(before)
    starts: list[int] = []
    asked: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        starts.append(int(parse_qs(urlparse(ws.request.path).query)["start"][0]))
        if len(starts) == 1:
            for at in range(0, len(before), 100):
                await ws.send(_frame(before[at : at + 100]))
            lines.extend(cut)
            await ws.close()
            return
        await ws.send(_frame(cut[-100:]))
        await ws.wait_closed()

    def process_request(ws: ServerConnection, request: Request) -> Response | None:
        url = urlparse(request.path)
        asked.append(url.path.rsplit("/", 1)[-1])
        if url.path.endswith("/tail"):
            return None
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = b"{}"
        if url.path.endswith("/query_range"):
            start, end = int(params["start"]), int(params["end"])
            body = _streams(sorted(t for t in lines if start <= t < end)[: int(params["limit"])])
        headers = Headers([("Content-Type", "application/json"), ("Connection", "close"),
                           ("Content-Length", str(len(body))),
                           ("Date", _date(time.time_ns()))])  # fmt: skip
        return Response(200, "OK", headers, body)

    def process_response(ws: ServerConnection, request: Request, response: Response) -> None:
        if response.status_code == 101:
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
                    local.ahead_ns = 0  # NTP sets the workstation's clock right
                    times.update(e.timestamp_ns for e in batch.entries)
                    if cut[-1] in times:
                        break
        finally:
            await http.aclose()
    assert starts[1] == before[-1]
    assert asked[: asked.index("tail", 1)].count("buildinfo") == 2  # at the start, and again
    assert [t for t, n in times.items() if n > 1] == []
    assert [t for t in lines if t not in times] == []


@pytest.mark.asyncio
async def test_the_server_clock_is_asked_within_a_short_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An HTTP path that does not answer holds the tail no longer than CLOCK_ASK_S (not the
    endpoint's whole connect timeout)."""
    monkeypatch.setattr(loki_tail, "CLOCK_ASK_S", 0.2)
    release = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200)

    http = BackendClient("http://loki.test", name="loki", text_backend=True,
                         policy=HttpPolicy(connect_timeout_s=30, read_timeout_s=30, retries=0),
                         transport=httpx.MockTransport(slow))  # fmt: skip
    began = time.monotonic()
    try:
        assert await loki_tail._server_headers(http, LokiPaths(), None) is None
    finally:
        release.set()
        await http.aclose()
    assert time.monotonic() - began < 2


# -- 4: with Loki's clock not known, a small slack -------------------------------------------


@pytest.mark.asyncio
async def test_with_no_server_clock_a_fast_node_lets_go_only_a_minute_and_says_why() -> None:
    """No answer said Loki's Date; a node 10 min fast sent the newest line. The 300 lines
    written in the 5 min after the reconnect were all let go (resumed 15 min ahead): now only
    those within the slack are, and the note says Loki's clock was not known."""
    now = time.time_ns()
    shown = _shown(Resume(now - MINUTE))
    fast = LogEntry(cluster="c", timestamp_ns=now + 10 * MINUTE, line="node B", labels={})
    out = await shown.frame(json.dumps({"streams": [
        {"stream": {"node": "b"}, "values": [[str(fast.timestamp_ns), fast.line]]}]}))  # fmt: skip
    assert [e.line for b in out for e in b.entries] == ["node B"]
    shown.reconnecting(worked=True)
    after = [now + i * S for i in range(1, 301)]
    batches: list[TailBatch] = []
    for at in range(0, len(after), 100):
        batches += await shown.frame(_frame(after[at : at + 100]))
    await shown.http.aclose()
    got = [e.timestamp_ns for b in batches for e in b.entries]
    assert len(got) >= 300 - 70 and got == sorted(got)
    assert loki_tail.LOCAL_CLOCK_SLACK_NS <= MINUTE
    notes = " ".join(b.note for b in batches)
    assert "not shown" in notes and "Loki's clock was not known" in notes
    assert "no answer said its Date" in notes


@pytest.mark.asyncio
async def test_with_the_server_clock_known_the_let_go_note_says_nothing_of_it() -> None:
    now = time.time_ns()
    shown = _shown(Resume(now - MINUTE))
    assert shown.clock.heard({"Date": _date(now)})
    await shown.frame(_frame([now - 2 * S]))
    shown.reconnecting(worked=True)
    batches = await shown.frame(_frame([now - 3 * S, now]))  # one older than the resume point
    await shown.http.aclose()
    notes = " ".join(b.note for b in batches)
    assert "1 line older than where the tail resumed" in notes and "clock" not in notes
