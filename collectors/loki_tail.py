"""Loki's live tail: ``/loki/api/v1/tail`` over a WebSocket, with the endpoint's auth and TLS,
reconnecting (backing off, 1 s doubling to 30 s) after a cut connection.

A connection made again asks from the newest line's time; Loki answers with the NEWEST
``limit`` lines since then (its querier reads that history backward), so the tail reads the
rest of the gap back itself: from the newest line shown up to the first line the new
connection sent, with ``query_range`` (forward, paged), before any new line is shown. The
lines already shown are not shown twice (``Resume``); a line stamped in the future moves where
the tail resumes no further than Loki's now (``ServerClock``: the Date its answers say, asked
again at a reconnect; not known, the local clock's and a minute). A gap of more than
BACKFILL_MOST lines is shown up to that many, and the rest are counted (a LogQL count, to the
millisecond) and said in the batch's note; a gap that cannot be read back is said too (where
Loki's replay was full). The first connection shows the newest ``limit`` lines since
``start_ns``, as Loki sends them (a tail is about what comes next: a query reads the past);
so does a first connection made again because the first failed (refused, never made) before
any line.

Each frame is bounded (MAX_FRAME_BYTES, no compression), each line cut like a queried one;
a line, stream or frame not in Loki's shape is left out and said, and the tail goes on;
an answer of 400 (a bad LogQL), 401 or 403 ends the tail with the server's reason (a 401
first reads the credential again, once a connection, as the HTTP requests do). A tail
Loki refuses after the upgrade (a Close 1011 before any frame: "max concurrent tail requests
limit exceeded", a query limit) is a failed connection, backed off like one; MOST_FAILURES
failed connections in a row (none of them sent a frame or lasted HEALTHY_S) end the tail,
with the server's reason. Never through a proxy (the app is air-gapped)."""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from aiops_desktop.models import AuthMethod
from aiops_desktop.models.enums import LogDirection
from aiops_desktop.models.observability import LogEntry, LogQuery
from aiops_desktop.models.text import count, cut_line
from collectors.auth import ssl_context
from collectors.errors import (
    REFUSED_WORDS,
    CollectorAuthError,
    CollectorBadResponse,
    CollectorError,
    CollectorInvalidQuery,
    CollectorServerError,
    CollectorUnreachable,
)
from collectors.http import without_lone_surrogates
from collectors.loki import LineKeys, LokiClient, LokiPaths, Unread, parse_streams
from collectors.shapes import SHAPE_ERRORS, read_json

if TYPE_CHECKING:
    from collectors.auth import EndpointAuth
    from collectors.http import BackendClient

MAX_FRAME_BYTES = 4 * 1024 * 1024
#: a frame longer is read, and told from the lines shown, in a worker: one of short lines
#: holds thousands (a 1 MB one of 25,000 held the loop 0.3 s); a frame shorter costs the loop
#: at most some 60 ms
FRAME_OFFLOAD_BYTES = 256 * 1024
MOST_FAILURES = 8
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
#: a connection that lasted this long worked, frame or none (a quiet stream sends none)
HEALTHY_S = 30.0
#: the most lines a reconnect reads back of what was written while the tail was cut, and
#: how many a page of that read holds
BACKFILL_MOST = 10_000
BACKFILL_PAGE = 1_000
#: the most lines Loki puts in one tail frame (its querier's maxEntriesPerTailResponse)
LOKI_FRAME_LINES = 100
#: the lines a tail remembers to tell one sent again (a reconnect's replay, a repeat): the
#: newest this many, each as a hash (a line may be 16 KiB; lines at one instant, without end)
RECENT_LINES = 10_000
#: where Loki's clock is not known (no answer said a Date that can be believed), how far past
#: the local clock a line's time may hold the resume point. Small: a node's clock fast by
#: more than this lets go the lines written after a reconnect for as long as it is fast (a
#: quarter of an hour let go every line of a node 10 min fast); a workstation's clock behind
#: Loki's by more than this moves the resume point back over lines shown (those read again
#: are known by their hashes, up to RECENT_LINES). A minute covers a clock kept by NTP.
LOCAL_CLOCK_SLACK_NS = 60 * 1_000_000_000
#: a Date further than this from the local clock is not Loki's (a proxy's clock dead since
#: 1970, a forged header): believed, it moved the resume point to 1970 (every line in Loki
#: read back as "written while the tail was cut") or to 9999 (every new line let go)
CLOCK_BELIEVED_NS = 60 * 60 * 1_000_000_000
#: the local clock is taken to have been set (NTP, a resume from suspend) where it moved this
#: much more or less than the monotonic one since Loki's was read: that reading is not used
CLOCK_STEP_NS = 5 * 1_000_000_000
#: a reconnect asks Loki's clock again where it was read longer ago than this (or the local
#: clock was set since), within CLOCK_ASK_S: a slow answer holds the next connection no longer
CLOCK_FRESH_S = 5 * 60.0
CLOCK_ASK_S = 2.0


@dataclass
class TailBatch:
    """Lines of one frame (oldest first), how many the server dropped (it said so), and a
    note for the person; ``cut``: the note says the connection was cut and is being made
    again (true only until the next connection's lines come)."""

    entries: list[LogEntry] = field(default_factory=list)
    dropped: int = 0
    note: str = ""
    cut: bool = False


def _ws_url(base: str, path: str, params: dict[str, str]) -> str:
    scheme, rest = base.split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{path}?{urlencode(params)}"


def _headers(http: BackendClient) -> dict[str, str]:
    auth = http.auth
    if auth.method is AuthMethod.BEARER and auth.token:
        return {"Authorization": f"Bearer {auth.token}"}
    if auth.method is AuthMethod.BASIC:
        pair = f"{auth.username or ''}:{auth.password or ''}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    return {}


def _tls(http: BackendClient) -> ssl.SSLContext | None:
    if not http.base_url.startswith("https://"):
        return None
    made = ssl_context(verify=http.verify, ca_pem=http.ca_pem, auth=http.auth)
    if isinstance(made, ssl.SSLContext):
        return made
    unverified = ssl.create_default_context()  # verification turned off for this endpoint
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    return unverified


def _refusal(
    exc: InvalidStatus, where: str, backend: str, *, read_again: bool
) -> CollectorError | None:
    """What an answer to the upgrade that ends the tail says; ``read_again``: the credential
    was read again (after a 401) for this upgrade."""
    status = exc.response.status_code
    said = bytes(exc.response.body or b"")[:500].decode("utf-8", "replace").strip()
    if status == 400:
        return CollectorInvalidQuery(f"{where} refused the tail: {said}", upstream=said,
                                     backend=backend, status=status)  # fmt: skip
    if status in (401, 403):
        what = REFUSED_WORDS[401] if status == 401 else REFUSED_WORDS[403]
        again = "; the credential read again from the keyring was refused too"
        return CollectorAuthError(f"{where} {what} (HTTP {status}): check the token"
                                  f"{again if read_again and status == 401 else ''}",
                                  backend=backend, status=status)  # fmt: skip
    return None


async def _authenticate_again(
    http: BackendClient, offered: EndpointAuth, denied: CollectorError, exc: InvalidStatus,
    *, done: bool,
) -> None:  # fmt: skip
    """After the tail's upgrade was refused (``denied``): a 401 reads the credential again
    (the token may have been renewed), once a connection (``done``: it was), as the HTTP
    requests do; where one of them already did (the client's is no longer the one
    ``offered``), that one is tried. Anything else, or nothing new to try, ends the tail."""
    if not isinstance(denied, CollectorAuthError) or denied.status != 401 or done:
        raise denied from exc
    if http.auth == offered:
        await http.authenticate_again(denied)  # raises where the keyring has nothing new


def parse_frame(text: str | bytes, cluster: str, *, skip_unreadable: bool = False) -> TailBatch:
    """A tail frame (``{"streams": [...], "dropped_entries": [...]}``) as its lines, oldest
    first, and how many the server dropped; anything else is CollectorBadResponse. A lone
    surrogate (half an emoji) is read as U+FFFD, as in an HTTP answer: stdout and a saved
    output cannot encode one.

    ``skip_unreadable`` (the tail's own reading: one bad frame must not end it): a line or
    stream not in Loki's shape is left out, a frame not in it at all is skipped, and the
    batch's note says what was."""
    unread = Unread() if skip_unreadable else None
    try:
        frame = without_lone_surrogates(read_json(text, "a tail frame"), text)
        try:
            dropped = frame.get("dropped_entries") or []
            if not isinstance(dropped, list):  # a list of the lines' labels and times
                raise TypeError(f"dropped_entries is not a list: {cut_line(str(dropped), 40)}")
            entries = parse_streams(frame.get("streams") or [], cluster, unread)
        except SHAPE_ERRORS as exc:
            raise CollectorBadResponse(
                f"a tail frame not in Loki's shape ({type(exc).__name__}: {exc})"[:300]
            ) from exc
    except CollectorBadResponse as exc:
        if not skip_unreadable:
            raise
        return TailBatch(note=cut_line(f"{exc}", 300) + ": skipped, the tail goes on")
    entries.sort(key=lambda e: e.timestamp_ns)
    note = ""
    if unread is not None and unread.lines:
        note = (f"{count(unread.lines, 'line')} of a tail frame not shown, not in Loki's "
                f"shape ({unread.why})")  # fmt: skip
    return TailBatch(entries, len(dropped), note)


def _read_frame(text: str | bytes, cluster: str) -> TailBatch:
    """A frame as the tail shows it: one not in Loki's shape is read again leaving out what
    cannot be read, and said (it would end the tail: the lines in it and after it lost). A
    good frame, nearly every one, is read once."""
    try:
        return parse_frame(text, cluster)
    except CollectorBadResponse:
        return parse_frame(text, cluster, skip_unreadable=True)


class ServerClock:
    """Loki's clock, as the Date of an answer said (a tail's upgrade, or an answer asked for
    it), kept as its offset from the local clock (which goes on through a suspend, unlike a
    monotonic one): the latest a line may be stamped for a tail to resume from it. Not the
    local clock itself: one minutes behind Loki's moved the resume point back over lines
    shown. A Date holds whole seconds: the server's now is read up to a second early (lines
    of that second read again are known by their hashes).

    A Date is believed only within CLOCK_BELIEVED_NS of the local clock, and only one (an
    answer may carry several: a proxy's beside the server's); a reading is dropped once the
    local clock was set since (CLOCK_STEP_NS). Not known, the local clock and
    LOCAL_CLOCK_SLACK_NS stand for Loki's, and ``not_known_why`` says why."""

    def __init__(self) -> None:
        self._ahead_ns: int | None = None  # how far Loki's clock is ahead of the local one
        self._read_at = (0, 0.0)  # the local clock and the monotonic one when it was read
        self._why = "no answer said its Date"

    @property
    def known(self) -> bool:
        """Loki's clock was read, and the local clock was not set since."""
        if self._ahead_ns is None:
            return False
        wall_ns, mono = self._read_at
        moved_ns = (time.time_ns() - wall_ns) - int((time.monotonic() - mono) * 1e9)
        if abs(moved_ns) > CLOCK_STEP_NS:
            self._ahead_ns = None
            self._why = "this computer's clock changed since its Date was read"
        return self._ahead_ns is not None

    @property
    def fresh(self) -> bool:
        """Known, and read less than CLOCK_FRESH_S ago: not asked again at a reconnect."""
        return self.known and time.monotonic() - self._read_at[1] < CLOCK_FRESH_S

    def not_known_why(self) -> str:
        """Why Loki's clock is not known (a fixed phrase, none of the server's text); empty
        where it is."""
        return "" if self.known else self._why

    def heard(self, headers: Mapping[str, str] | None) -> bool:
        """Whether ``headers`` said the server's Date, one to believe (then its clock is known
        from it); a Date not believed leaves what was known before. Never raises."""
        dates = _dates(headers)
        if not dates:
            return False
        try:
            said = {parsedate_to_datetime(date) for date in dates}
            at = {(d if d.tzinfo is not None else d.replace(tzinfo=UTC)).timestamp() for d in said}
        except (TypeError, ValueError, IndexError, OverflowError):
            return False  # not a date
        if len(at) != 1:
            self._why = "its answer said more than one Date"
            return False
        local_ns = time.time_ns()
        ahead_ns = int(at.pop()) * 1_000_000_000 - local_ns
        if abs(ahead_ns) > CLOCK_BELIEVED_NS:
            self._why = "its Date lay more than an hour from this computer's clock"
            return False
        self._ahead_ns, self._read_at = ahead_ns, (local_ns, time.monotonic())
        return True

    def latest_ns(self) -> int:
        """The server's now, or, not known, the local clock's and LOCAL_CLOCK_SLACK_NS."""
        if not self.known or self._ahead_ns is None:
            return time.time_ns() + LOCAL_CLOCK_SLACK_NS
        return time.time_ns() + self._ahead_ns


def _dates(headers: Mapping[str, str] | None) -> list[str]:
    """Every Date ``headers`` say: a WebSocket upgrade's (``get_all``) or an httpx answer's
    (``get_list``) may say several, and their ``get`` raises or joins them."""
    if not headers:
        return []
    for every in ("get_all", "get_list"):
        read = getattr(headers, every, None)
        if callable(read):
            return [str(date) for date in read("Date")]
    said = headers.get("Date")
    return [said] if said else []


async def _server_headers(
    http: BackendClient, paths: LokiPaths, tenant: str | None
) -> httpx.Headers | None:
    """The headers of a small answer of the server (its build, or a refusal: any answer says
    its Date), for its clock where the tail's upgrade said none (Loki's says none); None
    where it did not answer within CLOCK_ASK_S (the tail goes on, on what it knew or the
    local clock)."""
    try:
        client = await http.ready_client()
        async with asyncio.timeout(min(http.policy.connect_timeout_s, CLOCK_ASK_S)):
            request = client.build_request("GET", paths.path("status/buildinfo", tenant))
            response = await client.send(request, stream=True)
            await response.aclose()  # its body is not read
    except (httpx.HTTPError, OSError, TimeoutError, CollectorError):
        return None
    return response.headers


class Resume:
    """Where a tail is, so that one made again shows no line twice: the newest line's time
    (a new connection starts there, or at the server's now where that is earlier; Loki sends
    again the newest of the lines from it on, and the tail reads back the others, see the
    module) and the newest RECENT_LINES lines shown (as hashes), by which a line sent or
    read again is known.

    While a connection lasts every line not shown before is shown, older than the newest
    or not (Loki takes lines written out of order). Once a connection was made again, a line
    older than where it resumed is let go: it was read before, or it was written late while
    the tail was cut and cannot be told from one read before; ``let_go`` counts those."""

    def __init__(self, start_ns: int | None) -> None:
        self.last_ns = start_ns
        self.shown_any = False  # ``last_ns`` is a line's time, not only the start asked for
        self.let_go = 0
        self._resumed_at: int | None = None  # the time a connection made again started at
        self._recent: dict[int, None] = {}  # hashes of the lines shown, oldest first

    def reconnecting(self, latest_ns: int | None = None) -> None:
        """The connection was cut; the next one starts at ``last_ns``, moved back to
        ``latest_ns`` (the server's now, ``ServerClock``; None: not known) where it is later:
        a line stamped in the future (a node's clock fast, a hostile line of 2262) would let
        every line written after the cut go as older. The lines shown since then are known by
        their hashes, not shown twice."""
        if self.last_ns is not None:
            latest = ServerClock().latest_ns() if latest_ns is None else latest_ns
            self.last_ns = min(self.last_ns, latest)
        self._resumed_at = self.last_ns

    def fresh(self, entries: list[LogEntry]) -> list[LogEntry]:
        """``entries`` (oldest first) less those shown before, and less those older than
        where a connection made again resumed (counted in ``let_go``)."""
        out = []
        line_key = LineKeys()  # each stream's labels hashed once, not once a line
        for entry in entries:
            key = hash(line_key(entry))
            if key in self._recent:
                continue  # shown before: a reconnect's replay, or the server's repeat
            if self._resumed_at is not None and entry.timestamp_ns < self._resumed_at:
                self.let_go += 1
                continue
            self._remember(key)
            self.shown_any = True
            if self.last_ns is None or entry.timestamp_ns > self.last_ns:
                self.last_ns = entry.timestamp_ns
            out.append(entry)
        return out

    def _remember(self, key: int) -> None:
        self._recent[key] = None
        if len(self._recent) > RECENT_LINES:  # the oldest goes (dicts keep their order)
            del self._recent[next(iter(self._recent))]


async def tail(
    http: BackendClient, paths: LokiPaths, logql: str, *, cluster: str,
    start_ns: int | None = None, limit: int = 100, delay_for_s: int = 0,
    tenant: str | None = None,
) -> AsyncGenerator[TailBatch, None]:  # fmt: skip
    """Batches of new lines of ``logql`` until cancelled (see the module)."""
    where = f"{http.name} ({http.base_url})"
    shown = _Shown(http, paths, logql, cluster, tenant, limit, Resume(start_ns))
    failures = 0
    authenticated_again = False  # on a 401, since the last upgrade the server accepted
    clock_asked = False  # Loki's clock was asked (in vain) just before this connection
    while True:
        params = {"query": logql, "limit": str(limit), "delay_for": str(delay_for_s)}
        if shown.resume.last_ns is not None:
            params["start"] = str(shown.resume.last_ns)
        url = _ws_url(http.base_url, paths.path("tail", tenant), params)
        framed = False  # a frame came on this connection: it works
        opened: float | None = None
        refused = ""  # the server's reason, when it refused the tail after the upgrade
        offered = http.auth  # the credential this upgrade carries
        try:
            async with connect(
                url, additional_headers=_headers(http), user_agent_header="aiops-desktop",
                proxy=None, ssl=_tls(http), compression=None, max_size=MAX_FRAME_BYTES,
                open_timeout=http.policy.connect_timeout_s, close_timeout=5,
            ) as socket:  # fmt: skip
                opened, authenticated_again = time.monotonic(), False
                upgrade = socket.response  # its Date, if any, says the server's clock
                said = upgrade.headers if upgrade is not None else None
                await shown.clock_from(said, asked=clock_asked)
                async for message in socket:
                    framed, failures = True, 0
                    for batch in await shown.frame(message):
                        yield batch
                reason = "the server closed the tail"
        except InvalidStatus as exc:
            denied = _refusal(exc, where, http.name, read_again=authenticated_again)
            if denied is not None:  # ends the tail, unless a 401 with a credential to try
                await _authenticate_again(http, offered, denied, exc, done=authenticated_again)
                authenticated_again = True
                continue  # asked again at once, with the credential read again
            reason = f"HTTP {exc.response.status_code}"
        except ConnectionClosed as exc:
            refused = "" if framed else _refused(exc)
            reason = f"refused: {refused}" if refused else _cut(exc)
        except (InvalidHandshake, OSError, TimeoutError) as exc:
            reason = _cut(exc)
        lasted = opened is not None and time.monotonic() - opened >= HEALTHY_S
        if not framed and lasted:
            failures = 0  # a quiet stream, cut after a while (an idle timeout): it worked
        failures += 1
        if failures >= MOST_FAILURES:
            if refused:
                raise CollectorServerError(
                    f"{where} refused the tail {MOST_FAILURES} times in a row: {refused}",
                    backend=http.name,
                )
            raise CollectorUnreachable(
                f"{where}: the tail failed {MOST_FAILURES} times in a row ({reason})",
                backend=http.name,
            )
        wait = BACKOFF_S[min(failures - 1, len(BACKOFF_S) - 1)]
        yield TailBatch(note=f"tail cut ({reason}); reconnecting in {wait:g} s", cut=True)
        await asyncio.sleep(wait)
        clock_asked = await shown.ask_clock()
        shown.reconnecting(worked=(framed or lasted) and not refused)


def _refused(exc: ConnectionClosed) -> str:
    """The server's reason when it closed with 1011 (Loki's querier could not start the tail:
    a limit, an error; said in the close frame, before any line), else empty."""
    if exc.rcvd is None or exc.rcvd.code != 1011:
        return ""
    return cut_line(exc.rcvd.reason.strip(), 200) or "no reason given"


def _cut(exc: Exception) -> str:
    return f"{exc.__class__.__name__}: {cut_line(str(exc), 160)}"


@dataclass
class _Shown:
    """What a tail showed (``resume``), and after a cut where the lines written meanwhile
    start (``gap_from``): read back when the new connection's first lines come."""

    http: BackendClient
    paths: LokiPaths
    logql: str
    cluster: str
    tenant: str | None
    limit: int
    resume: Resume
    gap_from: int | None = None
    clock: ServerClock = field(default_factory=ServerClock)
    #: why Loki's clock was not known when the tail resumed (it resumed on the local one)
    resumed_unknown: str = ""

    def reconnecting(self, worked: bool) -> None:
        """The connection was cut; ``worked``: it was made (a frame came, or it lasted), so
        Loki's replay from the start was sent, and what is there now was written since.
        With no line shown, one that never worked leaves no gap: the next is a first
        connection again (Loki's newest since the start; the window is not read back as
        lines "written while the tail was cut")."""
        # first: the gap starts where the next connection does
        self.resumed_unknown = self.clock.not_known_why()
        self.resume.reconnecting(self.clock.latest_ns())
        if self.gap_from is None and (self.resume.shown_any or worked):
            # (a connection that sent no line leaves the gap as it was)
            self.gap_from = self.resume.last_ns  # None: no start, nothing to read from

    async def clock_from(self, said: Mapping[str, str] | None, *, asked: bool) -> None:
        """Loki's clock from a connection's upgrade (``said``: its headers) or, where they
        say no Date to believe and what is known is not fresh, from an answer asked for it;
        not where it was asked just before this connection (``asked``: in vain)."""
        if not self.clock.heard(said) and not self.clock.fresh and not asked:
            self.clock.heard(await _server_headers(self.http, self.paths, self.tenant))

    async def ask_clock(self) -> bool:
        """Before a connection is made again: Loki's clock asked again where it was read
        long ago or the local clock was set since (NTP, a resume from suspend), and lines
        were shown (the tail resumes from the newest, held back to Loki's now). Whether it
        was asked."""
        if not self.resume.shown_any or self.clock.fresh:
            return False
        self.clock.heard(await _server_headers(self.http, self.paths, self.tenant))
        return True

    async def frame(self, message: str | bytes) -> list[TailBatch]:
        """A frame's batches to show: the lines read back after a cut first, if any, then
        the frame's lines not shown before."""
        # a big frame is read in a worker; either way the loop gets its turn between frames
        # that arrived together
        big = len(message) > FRAME_OFFLOAD_BYTES
        if big:
            batch = await asyncio.to_thread(_read_frame, message, self.cluster)
        else:
            batch = _read_frame(message, self.cluster)
            await asyncio.sleep(0)
        out = []
        if self.gap_from is not None and batch.entries:
            # the first lines since the cut: what Loki did not send again of the lines
            # written meanwhile (it sends the newest ``limit``) is read back, shown first
            filled, note = await _backfill(
                self.http, self.paths, self.logql, cluster=self.cluster, tenant=self.tenant,
                from_ns=self.gap_from, to_ns=batch.entries[0].timestamp_ns,
                replay_full=len(batch.entries) >= min(self.limit, LOKI_FRAME_LINES),
            )  # fmt: skip
            self.gap_from = None
            filled = self.resume.fresh(filled)
            if filled or note:
                out.append(TailBatch(filled, 0, note))
        let_go = self.resume.let_go
        # a big frame's lines are told from those shown in the worker too (150,000 of them
        # held the loop 0.4 s); nothing else reads ``resume`` meanwhile (this tail awaits it)
        if big:
            fresh = await asyncio.to_thread(self.resume.fresh, batch.entries)
        else:
            fresh = self.resume.fresh(batch.entries)
        let_go_note = ""
        if self.resume.let_go > let_go:
            let_go_note = _let_go_note(self.resume.let_go, self.resumed_unknown)
        note = "; ".join(said for said in (batch.note, let_go_note) if said)  # lines left out
        if fresh or batch.dropped or note:
            out.append(TailBatch(fresh, batch.dropped, note))
        return out


async def _backfill(
    http: BackendClient, paths: LokiPaths, logql: str, *, cluster: str, tenant: str | None,
    from_ns: int, to_ns: int, replay_full: bool,
) -> tuple[list[LogEntry], str]:  # fmt: skip
    """The lines written while the tail was cut, those from ``from_ns`` (the newest line
    shown) to ``to_ns`` (the oldest the new connection sent), both included, oldest first and
    at most BACKFILL_MOST; and a note saying what of them cannot be shown, if any.

    Where they cannot be read back, the note says lines may be missing if the new
    connection's first frame was full (``replay_full``: Loki sent ``limit`` lines again, or
    a frame's most, so it may have left older ones out); a frame less full held all."""
    if to_ns < from_ns:
        return [], ""
    client = LokiClient(http, cluster, paths)
    query = LogQuery(logql=logql, start_ns=from_ns, end_ns=to_ns + 1,
                     direction=LogDirection.FORWARD, limit=BACKFILL_PAGE)  # fmt: skip
    try:
        got = await client.query_range(query, most=BACKFILL_MOST, tenant=tenant)
    except CollectorError as exc:
        if not replay_full:
            return [], ""
        return [], (f"lines written while the tail was cut, after {_when(from_ns)}, may be "
                    f"missing: Loki sent only the newest again, and reading the others back "
                    f"failed ({cut_line(str(exc), 200)})")  # fmt: skip
    notes = list(got.notes)  # lines at one instant past a page's worth
    if got.truncated and len(got.entries) >= BACKFILL_MOST:
        last = got.entries[-1].timestamp_ns
        span = f"between {_when(last)} and {_when(to_ns)}"
        try:
            missed = await _count_missed(client, logql, tenant, after_ns=last, before_ns=to_ns)
        except CollectorError as exc:
            missed, why = None, f"counting them failed: {cut_line(str(exc), 160)}"
        else:
            why = "too close together to count"
        if missed is None:
            notes.insert(0, f"more lines were written while the tail was cut than the "
                            f"{BACKFILL_MOST:,} read back: those {span} are not shown ({why}; "
                            "a query over that time shows them)")  # fmt: skip
        elif missed:
            notes.insert(0, f"at least {missed:,} line{'s' if missed != 1 else ''} written "
                            f"while the tail was cut, {span}, not shown: more than the "
                            f"{BACKFILL_MOST:,} read back (a query over that time shows "
                            "them)")  # fmt: skip
    return got.entries, "; ".join(notes)


async def _count_missed(
    client: LokiClient, logql: str, tenant: str | None, *, after_ns: int, before_ns: int
) -> int | None:
    """At least how many lines of ``logql`` lie after ``after_ns`` and before ``before_ns``
    (neither end's lines): a LogQL count over whole milliseconds (the finest a LogQL range
    takes) inside that time, so what the first part of a millisecond holds goes uncounted;
    None where that time holds no whole millisecond."""
    at = before_ns - 1
    span_ms = (at - after_ns - 1) // 1_000_000  # the range starts after ``after_ns``
    if span_ms < 1:
        return None
    result = await client.query(f"sum(count_over_time({logql} [{span_ms}ms]))", at_ns=at,
                                tenant=tenant)  # fmt: skip
    return round(sum(series.points[-1][1] for series in result.series if series.points))


def _when(at_ns: int) -> str:
    return datetime.fromtimestamp(at_ns / 1e9, UTC).isoformat(timespec="milliseconds")


def _let_go_note(let_go: int, clock_unknown: str = "") -> str:
    """Says how many lines a resumed tail let go (see ``Resume``), and, where it resumed with
    Loki's clock not known (``clock_unknown``: why), that it may have resumed ahead of it (a
    line stamped in the future held the resume point up to LOCAL_CLOCK_SLACK_NS ahead)."""
    why = "read before the cut, or written late while it was cut"
    if clock_unknown:
        why += (f"; Loki's clock was not known ({clock_unknown}): the tail resumed at most "
                f"{LOCAL_CLOCK_SLACK_NS / 1e9:g} s past this computer's")  # fmt: skip
    return (f"{let_go:,} line{'s' if let_go != 1 else ''} older than where the tail resumed "
            f"not shown ({why})")  # fmt: skip
