"""Loki HTTP API client (read-only): ``query``, ``query_range`` with paging past one page's
limit, ``labels``, ``label/<name>/values``, ``series``; the live tail over WebSocket lives in
``collectors.loki_tail``.

Paths: a Loki's own (``/loki/api/v1/...``) or a LokiStack gateway's per tenant
(``/api/logs/v1/<tenant>/loki/api/v1/...``, tenants application, infrastructure, audit), with
the user's bearer token like every request of the chokepoint (``collectors.http``).

What comes back is text from outside, bounded: a line longer than MOST_LINE_CHARS is cut (and
says so), a label's name and value past MAX_ATTRIBUTE_CHARS (as a span's attributes are), one
page holds at most LOG_MAX_LIMIT lines (Loki's own maximum) and a paged read at most MOST_LINES;
bytes that are not UTF-8 read as U+FFFD (the backend is a text backend)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from aiops_desktop.models.enums import LogDirection
from aiops_desktop.models.observability import (
    LOG_MAX_LIMIT,
    MOST_LABELS,
    MOST_LINE_CHARS,
    NS_MOST,
    LogEntry,
    LogQuery,
    LogResult,
    LogSeries,
)
from aiops_desktop.models.text import cut_line
from collectors.errors import CollectorBadResponse
from collectors.shapes import SHAPE_ERRORS
from collectors.tempo import attribute_text

if TYPE_CHECKING:
    from collectors.http import BackendClient

log = logging.getLogger("aiops.collectors.loki")

TENANTS = ("application", "infrastructure", "audit")
#: the most lines one paged read holds, whatever was asked
MOST_LINES = 50_000
#: label names, or one label's values, read for completion: a label of a pod per build job
#: can have hundreds of thousands. Loki answers them sorted, so a cut keeps the start of the
#: alphabet whatever is typed: the cap is as high as the completer's sorted model allows
#: (100,000: a few MB, sorted once per answer in about a third of a second, then a prefix
#: looked up in milliseconds a keystroke), and a cut answer says so by the query box
MOST_COMPLETIONS = 100_000
_GATEWAY = re.compile(r"^(?P<root>.*?)/api/logs/v1/(?P<tenant>[a-z0-9-]+)/?$")


@dataclass(frozen=True)
class LokiPaths:
    """Where the API lives: ``gateway`` (a LokiStack's, tenant per request) or Loki's own."""

    gateway: bool = False
    tenant: str = "application"

    def path(self, op: str, tenant: str | None = None) -> str:
        tenant = tenant or self.tenant
        if tenant not in TENANTS:
            raise ValueError(f"unknown LokiStack tenant {tenant!r}: one of {', '.join(TENANTS)}")
        prefix = f"/api/logs/v1/{tenant}" if self.gateway else ""
        return f"{prefix}/loki/api/v1/{op}"


def gateway_root(url: str) -> tuple[str, LokiPaths | None]:
    """A URL typed with its tenant (``https://gw/api/logs/v1/audit``): the gateway's root and
    its paths with that tenant; any other URL as it is (None: decide by where it came from)."""
    found = _GATEWAY.match(url.rstrip("/"))
    if found is None or found["tenant"] not in TENANTS:
        return url, None
    return found["root"], LokiPaths(gateway=True, tenant=found["tenant"])


def _line(text: Any) -> str:
    line = str(text)
    if len(line) > MOST_LINE_CHARS:
        return f"{line[:MOST_LINE_CHARS]} … [cut: {len(line):,} characters]"
    return line


def _labels(raw: Any) -> dict[str, str]:
    """A stream's labels (or a line's structured metadata), each name and value cut as a
    span's attribute is: a 20 MB pod label took 34.6 s to show three lines."""
    if not isinstance(raw, dict):
        raise CollectorBadResponse(f"Loki labels are not an object: {cut_line(str(raw), 80)}")
    return {attribute_text(k): attribute_text(v) for k, v in islice(raw.items(), MOST_LABELS)}


@dataclass
class Unread:
    """What of a live tail's frame was left out, not being in Loki's shape: how many lines
    (a stream whose labels cannot be read, all of its lines) and why the first was (one line:
    the server's text in it is said in the tail's one-line status)."""

    lines: int = 0
    why: str = ""

    def add(self, exc: Exception, lines: int = 1) -> None:
        self.lines += lines
        self.why = self.why or cut_line(f"{type(exc).__name__}: {exc}", 200)


#: what a stream or line not in Loki's shape raises (``_labels``: CollectorBadResponse)
_UNREADABLE = (*SHAPE_ERRORS, CollectorBadResponse)


def parse_streams(result: Any, cluster: str, unread: Unread | None = None) -> list[LogEntry]:
    """Loki's ``streams`` result as entries (``[{"stream": {...}, "values": [[ns, line],
    ...]}]``; a third element, structured metadata, joins the labels). A line or stream not
    in that shape refuses the whole answer, or, given ``unread`` (a live tail, which one bad
    line must not end), is left out and counted there."""
    entries: list[LogEntry] = []
    try:
        for stream in result:
            try:
                labels = _labels(stream.get("stream") or {})
                values = stream.get("values") or []
                if not isinstance(values, list):
                    said = cut_line(str(values), 60)
                    raise TypeError(f"a stream's values are not a list: {said}")
            except _UNREADABLE as exc:
                if unread is None:
                    raise
                lines = stream.get("values") if isinstance(stream, dict) else None
                unread.add(exc, len(lines) if isinstance(lines, list) else 1)
                continue
            for value in values:
                try:
                    entries.append(_entry(value, labels, cluster))
                except _UNREADABLE as exc:
                    if unread is None:
                        raise
                    unread.add(exc)
    except SHAPE_ERRORS as exc:
        raise CollectorBadResponse(
            f"Loki streams not in the documented shape ({type(exc).__name__}: {exc})"[:300]
        ) from exc
    return entries


def _entry(value: Any, labels: dict[str, str], cluster: str) -> LogEntry:
    """One line of a stream (``[ns, line(, metadata)]``) with the stream's ``labels``."""
    if not isinstance(value, list):  # [ns, line(, metadata)], nothing else
        raise TypeError(f"a line that is not [time, text]: {cut_line(str(value), 60)}")
    at = int(value[0])
    if not 0 <= at <= NS_MOST:
        raise ValueError(f"a line's time out of range ({at} ns)")
    extra = _labels(value[2]) if len(value) > 2 and value[2] else None
    # the fields are checked here (an int, text, text labels): no second check (tens of
    # thousands of lines a second come through here)
    return LogEntry.model_construct(
        cluster=cluster, timestamp_ns=at, line=_line(value[1]),
        labels=dict(islice({**labels, **extra}.items(), MOST_LABELS))
        if extra else labels,  # structured metadata joins, within the bound
    )  # fmt: skip


#: the latest time a metric point may have, in seconds: a log line's (NS_MOST ns, 2262)
_POINT_MOST_S = NS_MOST / 1e9


def _point_time(value: Any) -> float:
    """A metric point's time (unix s), bounded as a line's is: a time that is no date (NaN,
    inf, 1e300, before 1970) refuses the answer, as Prometheus' client refuses a sample's
    (it would sort, chart and print as nonsense)."""
    t = float(value)
    if not 0 <= t <= _POINT_MOST_S:  # False for NaN too
        raise ValueError(f"a point's time out of range ({str(value)[:40]})")
    return t


def parse_matrix(result: Any) -> list[LogSeries]:
    """A metric query's ``matrix`` (or ``vector``) result as series; a value may be NaN or
    infinite (a ratio over an idle window), as Prometheus' may."""
    try:
        out = []
        for item in result:
            pairs = item.get("values") or ([item["value"]] if "value" in item else [])
            points = [(_point_time(t), float(v)) for t, v in pairs]
            out.append(LogSeries(labels=_labels(item.get("metric") or {}), points=points))
        return out
    except SHAPE_ERRORS as exc:
        raise CollectorBadResponse(
            f"Loki matrix not in the documented shape ({type(exc).__name__}: {exc})"[:300]
        ) from exc


def _data(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict) or payload.get("status") not in ("success", None):
        raise CollectorBadResponse(f"Loki answered without data: {str(payload)[:160]}")
    data = payload.get("data")
    if not isinstance(data, dict) and not isinstance(data, list):
        raise CollectorBadResponse(f"Loki answered without data: {str(payload)[:160]}")
    return data if isinstance(data, dict) else {"list": data}


def _page(
    payload: Any, cluster: str, backward: bool = True
) -> tuple[list[LogEntry], list[LogSeries]]:
    """A page as entries in the order asked (newest first when ``backward``), or series."""
    data = _data(payload)
    kind = data.get("resultType")
    if kind == "streams":
        entries = parse_streams(data.get("result") or [], cluster)
        entries.sort(key=lambda e: e.timestamp_ns, reverse=backward)
        return entries, []
    if kind in ("matrix", "vector"):
        return [], parse_matrix(data.get("result") or [])
    raise CollectorBadResponse(f"Loki answered an unknown result type {str(kind)[:40]!r}")


class LineKeys:
    """Tells a line from another by its time, text and labels, each labels dict hashed once:
    a stream's lines share one (``parse_streams``) of up to MOST_LABELS names and values of
    MAX_ATTRIBUTE_CHARS each, and writing them out for every line held the event loop 10 s
    for a tail frame. The labels' key is their hash, order aside (as a line's is where the
    tail remembers it); the dicts hashed are kept, so that their ids name them meanwhile."""

    def __init__(self) -> None:
        self._hashed: dict[int, tuple[dict[str, str], int]] = {}

    def __call__(self, entry: LogEntry) -> tuple[int, str, int]:
        labels = entry.labels
        known = self._hashed.get(id(labels))
        if known is None:
            known = self._hashed[id(labels)] = (labels, hash(frozenset(labels.items())))
        return entry.timestamp_ns, entry.line, known[1]


class LokiClient:
    def __init__(self, http: BackendClient, cluster: str, paths: LokiPaths | None = None) -> None:
        self.http = http
        self.cluster = cluster
        self.paths = paths or LokiPaths()

    @property
    def name(self) -> str:
        return self.http.name

    async def query(
        self, logql: str, at_ns: int | None = None, *, limit: int = 100,
        direction: LogDirection = LogDirection.BACKWARD, tenant: str | None = None,
    ) -> LogResult:  # fmt: skip
        """An instant query (mostly for metric queries: ``sum(count_over_time(...))``)."""
        params: dict[str, str] = {"query": logql, "limit": str(min(limit, LOG_MAX_LIMIT)),
                                  "direction": direction.value.lower()}  # fmt: skip
        if at_ns is not None:
            params["time"] = str(at_ns)
        entries, series = await self.http.get_json(
            self.paths.path("query", tenant), params, then=lambda p: _page(p, self.cluster)
        )
        return LogResult(entries=entries, series=series, pages=1)

    async def query_range(
        self, query: LogQuery, *, most: int | None = None, step_s: float | None = None,
        tenant: str | None = None,
    ) -> LogResult:  # fmt: skip
        """Lines of ``query`` between its start and end, ``query.limit`` per page, reading
        further pages (from the last line's time on, the boundary's lines not twice) until
        ``most`` lines (``query.limit`` by default, MOST_LINES at most; 0: none, nothing
        asked) or the end. More lines at one instant than a page holds cannot be paged
        through (a page starts at an instant): the rest of them are skipped, and said."""
        wanted = min(most if most is not None else query.limit, MOST_LINES)
        if wanted <= 0:
            return LogResult()
        start, end = query.start_ns, query.end_ns
        entries: list[LogEntry] = []
        notes: list[str] = []
        backward = query.direction is LogDirection.BACKWARD
        edge: int | None = None  # the last page's last time, and its lines there
        at_edge: set[tuple[int, str, int]] = set()
        line_key = LineKeys()
        pages = 0
        while True:
            params: dict[str, str] = {"query": query.logql, "limit": str(query.limit),
                                      "direction": query.direction.value.lower()}  # fmt: skip
            if start is not None:
                params["start"] = str(start)
            if end is not None:
                params["end"] = str(end)
            if step_s is not None:
                params["step"] = f"{step_s:g}s"
            # read into entries where the answer is decoded (a worker thread for a big one)
            page, series = await self.http.get_json(
                self.paths.path("query_range", tenant), params,
                then=lambda payload: _page(payload, self.cluster, backward),
            )  # fmt: skip
            pages += 1
            if series or not page:
                return LogResult(entries=entries, series=series, pages=pages,
                                 truncated=bool(notes), notes=notes)  # fmt: skip
            # a page's lines outside the window asked are not kept (a server or a caching
            # proxy that ignores it answers the same page again); inside, only the lines at
            # the edge's time can come again (the next page starts there)
            inside = [e for e in page if _within(e.timestamp_ns, start, end)]
            fresh = [e for e in inside if e.timestamp_ns != edge or line_key(e) not in at_edge]
            room = wanted - len(entries)
            entries += fresh[:room]
            full = len(page) >= query.limit
            if len(entries) >= wanted:
                # more matched: this page's lines past the room (read, not kept), or a full
                # page (the next one may hold more)
                cut = full or len(fresh) > room or bool(notes)
                return LogResult(entries=entries, truncated=cut, pages=pages, notes=notes)
            if not full:
                return LogResult(entries=entries, pages=pages, truncated=bool(notes),
                                 notes=notes)  # fmt: skip
            if not fresh and edge is not None and all(e.timestamp_ns == edge for e in page):
                # a whole page at the edge's instant, every line read before: the lines at it
                # past the first page's cannot be asked for; read on from the next instant
                notes.append(_burst_note(edge, query.limit))
                start, end = _past(edge, start, end, backward)
                edge, at_edge = None, set()
                continue
            if not fresh:
                # nothing new in a full page: the server answered outside the window asked
                # (or the same page again); asking on would bring the same
                notes.append(_unpaged_note(len(entries)))
                return LogResult(entries=entries, truncated=True, pages=pages, notes=notes)
            # the next page starts at the last line's time (end is exclusive in Loki: +1 ns
            # keeps the lines that share it; ``at_edge`` drops the ones already read)
            edge = inside[-1].timestamp_ns
            at_edge = {line_key(e) for e in inside if e.timestamp_ns == edge}
            if backward:
                end = edge + 1
            else:
                start = edge

    async def labels(
        self, start_ns: int | None = None, end_ns: int | None = None, tenant: str | None = None
    ) -> Completions:
        params = _span(start_ns, end_ns)
        data = _data(await self.http.get_json(self.paths.path("labels", tenant), params))
        return _completions(data, "label names")

    async def label_values(
        self, name: str, start_ns: int | None = None, end_ns: int | None = None,
        tenant: str | None = None,
    ) -> Completions:  # fmt: skip
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"{name!r} is not a label name")
        path = self.paths.path(f"label/{name}/values", tenant)
        data = _data(await self.http.get_json(path, _span(start_ns, end_ns)))
        return _completions(data, f"values of {name}")

    async def series(
        self, match: Iterable[str], start_ns: int | None = None, end_ns: int | None = None,
        tenant: str | None = None,
    ) -> list[dict[str, str]]:  # fmt: skip
        params = [("match[]", m) for m in match] + list(_span(start_ns, end_ns).items())
        data = _data(await self.http.get_json(self.paths.path("series", tenant), params))
        return [_labels(item) for item in data.get("list") or []]

    async def aclose(self) -> None:
        await self.http.aclose()


class Completions(list[str]):
    """Label names or one label's values, sorted, for completion: a list (what a caller of
    ``labels`` always had), and ``answered``, how many Loki answered; more than the list
    holds: it was cut at MOST_COMPLETIONS, and the editor says so by the query box."""

    def __init__(self, values: Iterable[str] = (), *, answered: int | None = None) -> None:
        super().__init__(values)
        self.answered = len(self) if answered is None else answered


def _completions(data: dict[str, Any], what: str) -> Completions:
    """Label names or values as text, sorted, each cut at MAX_ATTRIBUTE_CHARS: at most
    MOST_COMPLETIONS (the first Loki gave), and a cut answer says so in the log and in
    ``answered``."""
    found = data.get("list") or []
    if not isinstance(found, list):
        raise CollectorBadResponse(f"Loki's {what} are not a list: {str(found)[:80]}")
    if len(found) > MOST_COMPLETIONS:
        log.info("Loki answered %s %s: the first %s are offered for completion",
                 f"{len(found):,}", what, f"{MOST_COMPLETIONS:,}")  # fmt: skip
    # each cut as a label is (a 4 MB value held the completer's popup seconds a keystroke);
    # values alike up to the cut are offered once
    offered = {attribute_text(x) for x in found[:MOST_COMPLETIONS]}
    return Completions(sorted(offered), answered=len(found))


def _burst_note(at_ns: int, limit: int) -> str:
    """Says which lines a paged read skipped: those past a page's worth at one instant."""
    when = datetime.fromtimestamp(at_ns // 1_000_000_000, UTC).isoformat()
    return (f"more than {limit:,} lines share one instant ({when}, {at_ns} ns): only "
            f"{limit:,} of them were read (a narrower query, by a stream's labels or a line "
            "filter, reads the others)")  # fmt: skip


def _unpaged_note(read: int) -> str:
    """Says why a paged read stopped early: a page brought no line of the time asked."""
    return (f"Loki answered a page with no new line in the time asked (it, or a proxy, "
            f"ignored the window): the {read:,} lines read before are shown, more may "
            "match")  # fmt: skip


def _within(at_ns: int, start: int | None, end: int | None) -> bool:
    """Whether ``at_ns`` lies in a query's window, as Loki reads it: [start, end)."""
    return (start is None or at_ns >= start) and (end is None or at_ns < end)


def _past(
    at_ns: int, start: int | None, end: int | None, backward: bool
) -> tuple[int | None, int | None]:
    """The window of the next page once every line readable at ``at_ns`` was read: the
    lines before it (backward; ``end`` is exclusive) or after it (forward)."""
    return (start, at_ns) if backward else (at_ns + 1, end)


def _span(start_ns: int | None, end_ns: int | None) -> dict[str, str]:
    return {k: str(v) for k, v in (("start", start_ns), ("end", end_ns)) if v is not None}
