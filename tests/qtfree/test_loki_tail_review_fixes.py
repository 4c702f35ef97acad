"""The live tail, a review's findings: a FIRST connection that fails (Loki's Close 1011 "max
concurrent tail requests limit exceeded", a refused socket) is tried again as a first one
(Loki's newest ``limit`` lines since the start, nothing read back as a "gap", nothing said
missing), and a tail refused with a 401 reads the credential again (the keyring holds the
renewed one), once, as the HTTP requests do. Against a stand-in Loki on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from aiops_desktop.models import AuthMethod
from aiops_desktop.settings import HttpPolicy
from collectors import loki_tail
from collectors.auth import EndpointAuth
from collectors.errors import CollectorAuthError
from collectors.http import BackendClient
from collectors.loki import LokiPaths
from collectors.loki_tail import tail

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
QUERY = '{app="api"}'
OLD = "sha256~expired-token-aaaaaaaaaaaaaaaa"
NEW = "sha256~renewed-token-bbbbbbbbbbbbbbbb"


def _at(i: int) -> int:
    return T0 + (i + 1) * MS  # a line a millisecond


def _frame(lines: list[tuple[int, str]]) -> str:
    values = [[str(t), text] for t, text in sorted(lines)]
    return json.dumps({"streams": [{"stream": {"app": "api"}, "values": values}]})


Script = Callable[["Loki", ServerConnection, int], Awaitable[None]]


async def _stay(loki: Loki, ws: ServerConnection, n: int) -> None:
    await ws.wait_closed()


@dataclass
class Loki:
    """Loki's tail (history: the newest ``limit`` lines since ``start``, at most 100 a frame;
    then ``script``, given the accepted connection's number from 0) and ``query_range``
    ([start, end), direction, limit). A tail's upgrade is answered 401 unless it carries
    ``token`` (when set)."""

    script: Script = _stay
    lines: list[tuple[int, str]] = field(default_factory=list)
    token: str | None = None
    upgrades: list[str] = field(default_factory=list)  # each tail upgrade's Authorization
    tails: list[int] = field(default_factory=list)  # each accepted tail's start
    ranges: list[dict[str, str]] = field(default_factory=list)
    on_upgrade: Callable[[int], None] = lambda n: None

    async def process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        url = urlparse(request.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path.endswith("/tail"):
            said = request.headers.get("Authorization", "")
            self.upgrades.append(said)
            self.on_upgrade(len(self.upgrades) - 1)
            if self.token is not None and said != f"Bearer {self.token}":
                return ws.respond(401, "Unauthorized\n")
            return None
        self.ranges.append(q)
        start, end, limit = int(q["start"]), int(q["end"]), int(q["limit"])
        got = sorted((x for x in self.lines if start <= x[0] < end),
                     reverse=q["direction"] == "backward")[:limit]  # fmt: skip
        values = [[str(t), text] for t, text in got]
        result = [{"stream": {"app": "api"}, "values": values}] if values else []
        body = json.dumps({"status": "success", "data": {"resultType": "streams",
                                                         "result": result}}).encode()  # fmt: skip
        headers = Headers([("Content-Type", "application/json"), ("Connection", "close"),
                           ("Content-Length", str(len(body)))])  # fmt: skip
        return Response(200, "OK", headers, body)

    async def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        q = {k: v[0] for k, v in parse_qs(urlparse(ws.request.path).query).items()}
        start, limit = int(q.get("start", T0)), int(q["limit"])
        self.tails.append(start)
        n = len(self.tails) - 1
        if n > 0 or self.script is _stay:  # (a script's first connection does its own)
            await self.replay(ws, start, limit)
        await self.script(self, ws, n)

    async def replay(self, ws: ServerConnection, start: int, limit: int = 100) -> None:
        history = sorted(x for x in self.lines if x[0] >= start)[-limit:]  # the newest
        for at in range(0, len(history), 100):
            await ws.send(_frame(history[at : at + 100]))

    def write(self, first: int, last: int) -> None:
        self.lines += [(_at(i), f"line {i}") for i in range(first, last)]


@asynccontextmanager
async def _running(
    loki: Loki,
    auth: EndpointAuth | None = None,
    reauth: Callable[[], Awaitable[EndpointAuth]] | None = None,
) -> AsyncIterator[BackendClient]:
    async with serve(loki.handler, "127.0.0.1", 0, process_request=loki.process_request) as srv:
        port = srv.sockets[0].getsockname()[1]
        policy = HttpPolicy(read_timeout_s=2, connect_timeout_s=2, retries=0,
                            backoff_base_s=0.01, backoff_max_s=0.01)  # fmt: skip
        http = BackendClient(f"http://127.0.0.1:{port}", name="loki", policy=policy, auth=auth,
                             reauth=reauth, text_backend=True)  # fmt: skip
        try:
            yield http
        finally:
            await http.aclose()


async def _read(http: BackendClient, until: str, start_ns: int | None = T0) -> tuple[
    list[str], list[str]
]:  # fmt: skip
    """The lines and notes a tail shows until it shows ``until`` (and a moment more, for a
    batch that would come after it)."""
    shown: list[str] = []
    notes: list[str] = []
    batches = tail(http, LokiPaths(), QUERY, cluster="c1", start_ns=start_ns)
    async with aclosing(batches):
        try:
            async with asyncio.timeout(20):
                async for batch in batches:
                    shown += [e.line for e in batch.entries]
                    notes += [batch.note] if batch.note else []
                    if until in shown:
                        break
            async with asyncio.timeout(0.3):
                async for batch in batches:  # nothing more is due
                    shown += [e.line for e in batch.entries]
                    notes += [batch.note] if batch.note else []
        except TimeoutError:
            pass
    return shown, notes


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loki_tail, "BACKOFF_S", (0.01, 0.02, 0.04, 0.08))


# -- a first connection that fails is tried again as a first one ------------------------------
@pytest.mark.asyncio
@pytest.mark.usefixtures("fast_backoff")
async def test_a_first_connection_loki_refuses_is_tried_again_as_a_first_one() -> None:
    """3,000 lines in the window, Loki refuses the first tail (1011, before any frame): the
    retry shows Loki's newest 100, as a first connection does; it used to read the whole
    window back as a "gap" (3,000 lines, and a note of lines missed past 10,000)."""

    async def refuse_first(loki: Loki, ws: ServerConnection, n: int) -> None:
        if n == 0:
            await ws.close(1011, "max concurrent tail requests limit exceeded")
            return
        await ws.wait_closed()

    loki = Loki(refuse_first)
    loki.write(0, 3000)
    async with _running(loki) as http:
        shown, notes = await _read(http, "line 2999")
    assert shown == [f"line {i}" for i in range(2900, 3000)]  # Loki's replay, none read back
    assert loki.ranges == []
    assert loki.tails == [T0, T0]  # asked from the start again
    assert len(notes) == 1
    assert notes[0].startswith("tail cut (refused: max concurrent tail requests")


@pytest.mark.asyncio
@pytest.mark.usefixtures("fast_backoff")
async def test_a_first_connection_that_cannot_be_made_is_tried_again_as_a_first_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The socket refused (an OSError) on the first try: no gap read back, no line said
    "written while the tail was cut" (there was none shown to be cut from)."""
    real = loki_tail.connect
    tries = 0

    def connect(*args: Any, **kwargs: Any) -> Any:
        nonlocal tries
        tries += 1
        if tries == 1:
            raise ConnectionRefusedError(111, "Connection refused")  # an OSError
        return real(*args, **kwargs)

    monkeypatch.setattr(loki_tail, "connect", connect)
    monkeypatch.setattr(loki_tail, "BACKFILL_MOST", 500)
    monkeypatch.setattr(loki_tail, "BACKFILL_PAGE", 250)
    loki = Loki()
    loki.write(0, 1500)
    async with _running(loki) as http:
        shown, notes = await _read(http, "line 1499")
    assert shown == [f"line {i}" for i in range(1400, 1500)]
    assert loki.ranges == []
    assert len(notes) == 1 and notes[0].startswith("tail cut (ConnectionRefusedError: ")
    assert not any("while the tail was cut" in n for n in notes)


@pytest.mark.asyncio
@pytest.mark.usefixtures("fast_backoff")
async def test_a_quiet_first_connection_that_worked_still_reads_its_gap_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A first connection that worked (Loki's replay from the start was empty, then quiet
    until an idle timeout) and nothing was shown: what was written while it was cut lies
    after the start, and is read back past Loki's newest 100 as after any cut."""
    monkeypatch.setattr(loki_tail, "HEALTHY_S", 0.1)

    async def quiet_then_cut(loki: Loki, ws: ServerConnection, n: int) -> None:
        if n == 0:
            await asyncio.sleep(0.15)  # nothing in the window yet, and nothing comes
            loki.write(0, 300)  # 300 lines while the tail is cut
            await ws.close()
            return
        await ws.wait_closed()

    loki = Loki(quiet_then_cut)
    async with _running(loki) as http:
        shown, notes = await _read(http, "line 299")
    assert shown == [f"line {i}" for i in range(300)]  # all, in order, none twice
    [asked] = loki.ranges
    assert int(asked["start"]) == T0 and int(asked["end"]) == _at(200) + 1
    assert len(notes) == 1 and notes[0].startswith("tail cut (")


# -- a 401 reads the renewed credential, once ------------------------------------------------
def _keyring(*answers: str) -> tuple[Callable[[], Awaitable[EndpointAuth]], list[str]]:
    """A keyring answering ``answers`` in turn (the last one from then on), and its reads."""
    reads: list[str] = []

    async def read() -> EndpointAuth:
        token = answers[min(len(reads), len(answers) - 1)]
        reads.append(token)
        return EndpointAuth(AuthMethod.BEARER, token)

    return read, reads


@pytest.mark.asyncio
@pytest.mark.usefixtures("fast_backoff")
async def test_a_tail_refused_with_401_reads_the_renewed_token_and_goes_on() -> None:
    loki = Loki(token=NEW)
    loki.write(0, 5)
    reauth, reads = _keyring(NEW)
    async with _running(loki, EndpointAuth(AuthMethod.BEARER, OLD), reauth) as http:
        shown, notes = await _read(http, "line 4")
        assert http.auth.token == NEW  # used from now on, as the HTTP requests do
    assert shown == [f"line {i}" for i in range(5)]
    assert notes == []  # not a cut: the upgrade made again at once, with the new token
    assert loki.upgrades == [f"Bearer {OLD}", f"Bearer {NEW}"]
    assert len(reads) == 1


@pytest.mark.asyncio
@pytest.mark.usefixtures("fast_backoff")
async def test_a_tail_refused_with_the_token_read_again_ends_on_the_auth_error() -> None:
    """The keyring holds another token the server refuses too: read once, then the 401
    ends the tail; the same token as refused: nothing to try. Never a token said."""
    cases = (((NEW,), "read again from the keyring was refused too"),
             ((OLD,), "the credential in the keyring is the one refused"))  # fmt: skip
    for keyring, said in cases:
        loki = Loki(token="sha256~some-other-token")
        reauth, reads = _keyring(*keyring)
        async with _running(loki, EndpointAuth(AuthMethod.BEARER, OLD), reauth) as http:
            with pytest.raises(CollectorAuthError) as raised:
                await _read(http, "line 0")
        assert raised.value.status == 401
        assert "rejected the credentials (HTTP 401)" in str(raised.value)
        assert said in str(raised.value)
        assert OLD not in str(raised.value) and NEW not in str(raised.value)
        assert len(reads) == 1
        assert len(loki.upgrades) == (2 if keyring == (NEW,) else 1)


@pytest.mark.asyncio
@pytest.mark.usefixtures("fast_backoff")
async def test_a_token_renewed_again_later_is_read_again_on_the_next_connection() -> None:
    """Once per connection, not once per tail: a tail that ran for hours outlives tokens."""
    third = "sha256~renewed-again-cccccccccccccccc"

    async def renew_then_cut(loki: Loki, ws: ServerConnection, n: int) -> None:
        if n == 0:
            loki.write(0, 3)
            await ws.send(_frame(loki.lines[-3:]))
            loki.token = third  # the server takes only the newest token from now on
            loki.write(3, 6)
            await ws.close(1011, "cut")
            return
        await ws.wait_closed()

    loki = Loki(renew_then_cut, token=NEW)
    reauth, reads = _keyring(NEW, third)
    async with _running(loki, EndpointAuth(AuthMethod.BEARER, OLD), reauth) as http:
        shown, _ = await _read(http, "line 5")
    assert shown == [f"line {i}" for i in range(6)]
    assert reads == [NEW, third]


@pytest.mark.asyncio
@pytest.mark.usefixtures("fast_backoff")
async def test_a_token_another_request_already_read_again_is_used_without_asking() -> None:
    """An HTTP request re-read the keyring while the tail's upgrade was refused: the tail
    takes the client's credential as it is now (asking the keyring would find the same one
    and call it refused)."""
    loki = Loki(token=NEW)
    loki.write(0, 2)
    reauth, reads = _keyring(NEW)
    async with _running(loki, EndpointAuth(AuthMethod.BEARER, OLD), reauth) as http:

        def renewed_meanwhile(n: int) -> None:
            if n == 0:
                http.auth = EndpointAuth(AuthMethod.BEARER, NEW)

        loki.on_upgrade = renewed_meanwhile
        shown, notes = await _read(http, "line 1")
    assert shown == ["line 0", "line 1"] and notes == []
    assert reads == []
