"""Loki's live tail: ``/loki/api/v1/tail`` over a WebSocket, with the endpoint's auth and TLS,
reconnecting (backing off, 1 s doubling to 30 s) and resuming from the newest line's time
after a cut connection, so no line is lost and none is shown twice (``Resume``).

Each frame is bounded (MAX_FRAME_BYTES, no compression), each line cut like a queried one;
an answer of 400 (a bad LogQL), 401 or 403 ends the tail with the server's reason, and so do
MOST_FAILURES failed connections in a row. Never through a proxy (the app is air-gapped)."""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from aiops_desktop.models import AuthMethod
from aiops_desktop.models.observability import LogEntry
from collectors.auth import ssl_context
from collectors.errors import (
    CollectorAuthError,
    CollectorBadResponse,
    CollectorInvalidQuery,
    CollectorUnreachable,
)
from collectors.loki import LokiPaths, parse_streams
from collectors.shapes import SHAPE_ERRORS, read_json

if TYPE_CHECKING:
    from collectors.http import BackendClient

MAX_FRAME_BYTES = 4 * 1024 * 1024
FRAME_OFFLOAD_BYTES = 1024 * 1024
MOST_FAILURES = 8
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
#: the lines a tail remembers to tell one sent again (a reconnect's replay, a repeat): the
#: newest this many, each as a hash (a line may be 16 KiB; lines at one instant, without end)
RECENT_LINES = 10_000


@dataclass
class TailBatch:
    """Lines of one frame (oldest first), how many the server dropped (it said so), and a
    note for the person when the connection was cut and is being made again."""

    entries: list[LogEntry] = field(default_factory=list)
    dropped: int = 0
    note: str = ""


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


def _refusal(exc: InvalidStatus, where: str, backend: str) -> Exception | None:
    status = exc.response.status_code
    said = bytes(exc.response.body or b"")[:500].decode("utf-8", "replace").strip()
    if status == 400:
        return CollectorInvalidQuery(f"{where} refused the tail: {said}", upstream=said,
                                     backend=backend, status=status)  # fmt: skip
    if status in (401, 403):
        what = "rejected the credentials" if status == 401 else "denied access"
        return CollectorAuthError(f"{where} {what} (HTTP {status}): check the token",
                                  backend=backend, status=status)  # fmt: skip
    return None


def parse_frame(text: str | bytes, cluster: str) -> TailBatch:
    """A tail frame (``{"streams": [...], "dropped_entries": [...]}``) as its lines, oldest
    first, and how many the server dropped; anything else is CollectorBadResponse."""
    frame = read_json(text, "a tail frame")
    try:
        dropped = frame.get("dropped_entries") or []
        if not isinstance(dropped, list):  # a list of the lines' labels and times
            raise TypeError(f"dropped_entries is not a list: {str(dropped)[:40]}")
        entries = parse_streams(frame.get("streams") or [], cluster)
    except SHAPE_ERRORS as exc:
        raise CollectorBadResponse(
            f"a tail frame not in Loki's shape ({type(exc).__name__}: {exc})"[:300]
        ) from exc
    entries.sort(key=lambda e: e.timestamp_ns)
    return TailBatch(entries, len(dropped))


class Resume:
    """Where a tail is, so that one made again shows neither a line twice nor misses one:
    the newest line's time (a new connection starts there, and Loki sends again the lines
    from it on) and the newest RECENT_LINES lines shown (as hashes), by which a line sent
    again is known.

    While a connection lasts every line not shown before is shown, older than the newest
    or not (Loki takes lines written out of order). Once a connection was made again, a line
    older than where it resumed is let go: it was read before, or it was written late while
    the tail was cut and cannot be told from one read before; ``let_go`` counts those."""

    def __init__(self, start_ns: int | None) -> None:
        self.last_ns = start_ns
        self.let_go = 0
        self._resumed_at: int | None = None  # the time a connection made again started at
        self._recent: dict[int, None] = {}  # hashes of the lines shown, oldest first

    def reconnecting(self) -> None:
        """The connection was cut; the next one starts at ``last_ns``."""
        self._resumed_at = self.last_ns

    def fresh(self, entries: list[LogEntry]) -> list[LogEntry]:
        """``entries`` (oldest first) less those shown before, and less those older than
        where a connection made again resumed (counted in ``let_go``)."""
        out = []
        for entry in entries:
            key = hash((entry.timestamp_ns, entry.line, repr(sorted(entry.labels.items()))))
            if key in self._recent:
                continue  # shown before: a reconnect's replay, or the server's repeat
            if self._resumed_at is not None and entry.timestamp_ns < self._resumed_at:
                self.let_go += 1
                continue
            self._remember(key)
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
    resume = Resume(start_ns)
    failures = 0
    while True:
        params = {"query": logql, "limit": str(limit), "delay_for": str(delay_for_s)}
        if resume.last_ns is not None:
            params["start"] = str(resume.last_ns)
        url = _ws_url(http.base_url, paths.path("tail", tenant), params)
        try:
            async with connect(
                url, additional_headers=_headers(http), user_agent_header="aiops-desktop",
                proxy=None, ssl=_tls(http), compression=None, max_size=MAX_FRAME_BYTES,
                open_timeout=http.policy.connect_timeout_s, close_timeout=5,
            ) as socket:  # fmt: skip
                failures = 0
                async for message in socket:
                    # a big frame is read in a worker; either way the loop gets its turn
                    # between frames that arrived together
                    if len(message) > FRAME_OFFLOAD_BYTES:
                        batch = await asyncio.to_thread(parse_frame, message, cluster)
                    else:
                        batch = parse_frame(message, cluster)
                        await asyncio.sleep(0)
                    let_go = resume.let_go
                    fresh = resume.fresh(batch.entries)
                    note = _let_go_note(resume.let_go) if resume.let_go > let_go else ""
                    if fresh or batch.dropped or note:
                        yield TailBatch(fresh, batch.dropped, note)
                reason = "the server closed the tail"
        except InvalidStatus as exc:
            refused = _refusal(exc, where, http.name)
            if refused is not None:
                raise refused from exc
            reason = f"HTTP {exc.response.status_code}"
        except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
            reason = f"{exc.__class__.__name__}: {str(exc)[:160]}"
        failures += 1
        if failures > MOST_FAILURES:
            raise CollectorUnreachable(
                f"{where}: the tail failed {MOST_FAILURES} times in a row ({reason})",
                backend=http.name,
            )
        resume.reconnecting()
        wait = BACKOFF_S[min(failures - 1, len(BACKOFF_S) - 1)]
        yield TailBatch(note=f"tail cut ({reason}); reconnecting in {wait:g} s")
        await asyncio.sleep(wait)


def _let_go_note(let_go: int) -> str:
    """Says how many lines a resumed tail let go (see ``Resume``)."""
    return (f"{let_go:,} line{'s' if let_go != 1 else ''} older than where the tail resumed "
            "not shown (read before the cut, or written late while it was cut)")  # fmt: skip
