"""The live tail, a review's findings: a line stamped in the future (a node's clock ahead, a
hostile line stamped 2262) does not move where a reconnected tail resumes past the server's
clock (every line written after it would be let go as "older"), and a malformed frame (a line
whose time is no date, text that is not JSON, a stream whose labels are no object) is left out
and said, not the end of the tail. Against a stand-in Loki on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from urllib.parse import parse_qs, urlparse

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from aiops_desktop.models.observability import NS_MOST, LogEntry
from aiops_desktop.settings import HttpPolicy
from collectors import loki_tail
from collectors.http import BackendClient
from collectors.loki import LokiPaths
from collectors.loki_tail import Resume, TailBatch, parse_frame

MS = 1_000_000
MINUTE = 60_000 * MS
QUERY = '{app="api"}'
EMPTY = json.dumps({"status": "success", "data": {"resultType": "streams", "result": []}})


def _frame(lines: list[tuple[int, str]]) -> str:
    values = [[str(t), text] for t, text in lines]
    return json.dumps({"streams": [{"stream": {"app": "api"}, "values": values}]})


def _entry(at: int, line: str) -> LogEntry:
    return LogEntry(cluster="c", timestamp_ns=at, line=line, labels={"app": "api"})


async def _tail(
    handler: Callable[[ServerConnection], Awaitable[None]], seconds: float,
    starts: list[str] | None = None, *, start_ns: int,
) -> list[TailBatch]:  # fmt: skip
    """The batches a tail of ``handler``'s Loki gave in ``seconds`` (``starts``: each tail
    connection's start); its query_range answers no line."""

    async def process_request(ws: ServerConnection, request: Request) -> Response | None:
        url = urlparse(request.path)
        if url.path.endswith("/tail"):
            if starts is not None:
                starts.append(parse_qs(url.query)["start"][0])
            return None
        headers = Headers(
            [("Content-Type", "application/json"), ("Content-Length", str(len(EMPTY)))]
        )
        return Response(200, "OK", headers, EMPTY.encode())

    got: list[TailBatch] = []
    async with serve(handler, "127.0.0.1", 0, process_request=process_request) as server:
        port = server.sockets[0].getsockname()[1]
        http = BackendClient(f"http://127.0.0.1:{port}", name="loki", text_backend=True,
                             policy=HttpPolicy(read_timeout_s=2, connect_timeout_s=2,
                                               retries=0))  # fmt: skip
        batches = loki_tail.tail(http, LokiPaths(), QUERY, cluster="c", start_ns=start_ns)
        try:
            async with aclosing(batches):
                async with asyncio.timeout(seconds):
                    async for batch in batches:
                        got.append(batch)
        except TimeoutError:
            pass
        finally:
            await http.aclose()
    return got


def _shown(batches: list[TailBatch]) -> list[str]:
    return [e.line for b in batches for e in b.entries]


@pytest.mark.parametrize("ahead_ns", [10 * MINUTE, NS_MOST])  # a fast clock; a line of 2262
def test_a_line_from_the_future_does_not_move_the_resume_point_past_now(ahead_ns: int) -> None:
    now = time.time_ns()
    resume = Resume(now - MINUTE)
    future = min(now + ahead_ns, NS_MOST)
    shown = resume.fresh([_entry(now - 1_000 * MS, "node A"), _entry(future, "node B")])
    assert len(shown) == 2
    resume.reconnecting(time.time_ns())  # the server's now (its clock the local one here)
    assert resume.last_ns is not None and resume.last_ns <= time.time_ns()
    later = time.time_ns()
    again = resume.fresh([_entry(future, "node B"), _entry(later, "node A, after the cut")])
    assert [e.line for e in again] == ["node A, after the cut"]  # node B's not twice
    assert resume.let_go == 0


@pytest.mark.asyncio
async def test_a_reconnected_tail_shows_new_lines_after_a_future_stamped_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loki_tail, "BACKOFF_S", (0.01,))
    now = time.time_ns()
    future = now + 10 * MINUTE  # node B's clock is 10 min fast
    connections = 0

    async def loki(ws: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        if connections == 1:
            await ws.send(_frame([(now - 1_000 * MS, "line 1"), (future, "line 2 (node B)")]))
            await ws.close()  # cut (an idle timeout, a router)
            return
        # reconnected: Loki's replay holds node B's line again, then node A writes on
        await ws.send(_frame([(future, "line 2 (node B)")]))
        await ws.send(_frame([(time.time_ns(), "line 3")]))
        await ws.send(_frame([(time.time_ns(), "line 4")]))
        await ws.wait_closed()

    starts: list[str] = []
    got = await _tail(loki, 2.0, starts, start_ns=now - MINUTE)
    assert _shown(got) == ["line 1", "line 2 (node B)", "line 3", "line 4"]
    assert len(starts) == 2 and int(starts[1]) < future  # resumed from now, not from 2262
    assert not any("older than where the tail resumed" in b.note for b in got)


UNLABELLED = {"stream": ["not", "labels"], "values": [["4", "hidden"]]}
BAD_FRAMES = [  # each with the line of it still shown, if any
    (_frame([(2 * MS, "line 2"), (-1, "a line whose time is no date")]), "line 2"),
    ("this is not JSON", None),
    (json.dumps({"streams": [UNLABELLED, json.loads(_frame([(5, "line 5")]))["streams"][0]]}),
     "line 5"),
    (json.dumps({"streams": [{"stream": {"app": "api"}, "values": [{"a": 1}, ["6", "line 6"]]}]}),
     "line 6"),
    (json.dumps(["not", "a", "frame"]), None),
]  # fmt: skip


@pytest.mark.asyncio
async def test_a_malformed_frame_is_left_out_and_said_and_the_tail_goes_on() -> None:
    async def loki(ws: ServerConnection) -> None:
        await ws.send(_frame([(MS, "line 1")]))
        for frame, _ in BAD_FRAMES:
            await ws.send(frame)
        await ws.send(_frame([(7 * MS, "line 7")]))
        await ws.wait_closed()

    got = await _tail(loki, 1.5, start_ns=0)
    assert _shown(got) == ["line 1", "line 2", "line 5", "line 6", "line 7"]
    notes = [b.note for b in got if b.note]
    assert len(notes) == len(BAD_FRAMES)  # each bad frame said, once
    assert "a line's time out of range (-1 ns)" in notes[0] and "1 line" in notes[0]
    assert "not JSON" in notes[1]
    assert all("not shown" in note or "skipped" in note for note in notes)
    assert not any(b.cut for b in got)  # the connection stayed: no reconnect


@pytest.mark.asyncio
async def test_many_bad_frames_in_a_row_keep_the_tail_and_hold_nothing() -> None:
    async def loki(ws: ServerConnection) -> None:
        for _ in range(2_000):
            await ws.send("{not json")
        await ws.send(_frame([(MS, "the good line after them")]))
        await ws.wait_closed()

    got = await _tail(loki, 3.0, start_ns=0)
    assert _shown(got) == ["the good line after them"]
    assert not any(b.cut for b in got)


def test_a_frame_read_for_the_tail_keeps_its_good_lines() -> None:
    batch = parse_frame(BAD_FRAMES[0][0], "c", skip_unreadable=True)
    assert [e.line for e in batch.entries] == ["line 2"]
    assert "1 line" in batch.note
    whole = parse_frame("[1, 2", "c", skip_unreadable=True)
    assert not whole.entries and "skipped" in whole.note
