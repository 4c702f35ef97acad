"""Loki's live tail: ``/loki/api/v1/tail`` over a WebSocket, with the endpoint's auth and TLS,
reconnecting (backing off, 1 s doubling to 30 s) and resuming from the last line's time
after a cut connection, so no line is lost and none is shown twice.

Each frame is bounded (MAX_FRAME_BYTES, no compression), each line cut like a queried one;
an answer of 400 (a bad LogQL), 401 or 403 ends the tail with the server's reason, and so do
MOST_FAILURES failed connections in a row. Never through a proxy (the app is air-gapped)."""

from __future__ import annotations

import asyncio
import base64
import json
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

if TYPE_CHECKING:
    from collectors.http import BackendClient

MAX_FRAME_BYTES = 4 * 1024 * 1024
FRAME_OFFLOAD_BYTES = 1024 * 1024
MOST_FAILURES = 8
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)


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
    try:
        frame = json.loads(text)
        dropped = len(frame.get("dropped_entries") or [])
        entries = parse_streams(frame.get("streams") or [], cluster)
    except (ValueError, AttributeError) as exc:
        raise CollectorBadResponse(f"a tail frame not in Loki's shape ({exc})") from exc
    entries.sort(key=lambda e: e.timestamp_ns)
    return TailBatch(entries, dropped)


class Resume:
    """Where a tail is: the last line's time and the lines shown at that time, so that a tail
    made again from there shows neither a line twice nor misses one."""

    def __init__(self, start_ns: int | None) -> None:
        self.last_ns = start_ns
        self._at_last: set[tuple[str, str]] = set()

    def fresh(self, entries: list[LogEntry]) -> list[LogEntry]:
        """``entries`` (oldest first) less those shown before."""
        out = []
        for entry in entries:
            key = (entry.line, repr(sorted(entry.labels.items())))
            if self.last_ns is not None and (
                entry.timestamp_ns < self.last_ns
                or (entry.timestamp_ns == self.last_ns and key in self._at_last)
            ):
                continue  # seen before the connection was made again
            if entry.timestamp_ns != self.last_ns:
                self.last_ns, self._at_last = entry.timestamp_ns, set()
            self._at_last.add(key)
            out.append(entry)
        return out


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
                    fresh = resume.fresh(batch.entries)
                    if fresh or batch.dropped:
                        yield TailBatch(fresh, batch.dropped)
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
        wait = BACKOFF_S[min(failures - 1, len(BACKOFF_S) - 1)]
        yield TailBatch(note=f"tail cut ({reason}); reconnecting in {wait:g} s")
        await asyncio.sleep(wait)
