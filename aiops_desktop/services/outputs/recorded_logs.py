"""Logs and traces in a capture: what a capture keeps of its clusters' Loki and Tempo (the
error lines of its window, at most MOST_LINES, and its failing traces, at most MOST_TRACES of
at most MOST_SPANS spans each, each cluster its share of them: one busy cluster does not
leave the next none, said as "no errors"; and, for the time calls spend outside the pod they
call, the newest SAMPLED_PER_STEP traces of each of its last SAMPLED_MINUTES minutes, as RCA
samples them live, at most SAMPLED_SPANS spans each), and how an opened capture answers from them,
offline, as the live clients answer: LogQL selectors with line filters and the metric
queries the app asks (``analysis.logql``), trace searches and traces by id. A capture is a
file from outside: what it holds is checked (shapes, sizes) before it is read."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.enums import LogDirection, SpanStatus
from aiops_desktop.models.errors import AppError, NotFoundError, UsageError
from aiops_desktop.models.observability import (
    CUT_NOTE_CHARS,
    LOG_DEFAULT_LIMIT,
    MOST_LINE_CHARS,
    LogEntry,
    LogResult,
    LogSeries,
    Span,
    Trace,
    TraceSummary,
)
from aiops_desktop.models.text import printable
from aiops_desktop.services.queries.logs_traces import (
    ERRORS,
    NS,
    LogsTraces,
    failing_traceql,
    ns,
    volume_query,
    volume_step,
)
from aiops_desktop.services.queries.trace_sampling import newest_traces
from aiops_desktop.services.runtime.gathering import gather_all
from aiops_desktop.store import capture_load
from aiops_desktop.store.capture import CaptureError, unopenable_document
from analysis.logql import LogQLError, LogSelector, MetricQuery, parse
from analysis.rca.traces import SAMPLED_PER_STEP, STEP_S
from collectors.llm_redaction import redact_fields, redact_for_llm

if TYPE_CHECKING:
    from collectors.loki_tail import TailBatch

log = logging.getLogger("aiops.services.recorded_logs")
LOGS_TRACES_KEY = "recorded_logs_traces"
MOST_LINES = 20_000
MOST_TRACES = 20
MOST_SPANS = 2_000
SAMPLED_MINUTES = 35  # RCA's window: 30 min before its first signal, 5 after
MOST_SAMPLED = SAMPLED_MINUTES * SAMPLED_PER_STEP
#: a sampled trace's first spans (by start; Train Ticket's hold 44 at the median, 189 at
#: most), each with only what a call's time needs: its pod, not its events or other attributes
SAMPLED_SPANS = 256
SAMPLED_ATTRIBUTES = ("k8s.pod.name", "k8s.namespace.name")
#: the most a capture's logs and traces document may hold: its lines and traces at their
#: bounds (a Train Ticket half hour is about 9 MB)
MOST_DOC_CHARS = 64 * 1024 * 1024
#: the spans a capture's document may hold in all (its failing traces' and sampled traces'
#: at their bounds), and the JSON objects (spans, their attributes and events, lines and
#: their labels: those spans' and lines' with room for events): counted before the document
#: is parsed, for pydantic checks a list's length only after it built every item (710,000
#: spans in one trace of a 63 MiB document were 1.3 GB of memory, and 21 s, before the
#: trace's MOST_SPANS was checked)
MOST_ALL_SPANS = MOST_TRACES * MOST_SPANS + MOST_SAMPLED * SAMPLED_SPANS
MOST_OBJECTS = 1_000_000
SAMPLE_WITHIN_S = 30.0  # the most sampling may take; what was read by then is kept
RECORD_ERRORS = '{k8s_namespace_name=~".+"}' + ERRORS


#: the most a capture says of why it holds no lines or traces of a cluster
GAP_CHARS = 300
MOST_NOTES = 20  # what a cluster's read said, at most
Gap = Annotated[str, StringConstraints(max_length=GAP_CHARS)]
GapName = Annotated[str, StringConstraints(max_length=253)]  # a cluster's name at most


class LinesRead(BaseModel):
    """How a cluster's error lines were read when the capture was made, where it was not
    "all of them, nothing to say": more matched than it kept (the newest were kept), and
    what the reading said (lines that could not be read)."""

    model_config = ConfigDict(extra="forbid")

    truncated: bool = False
    notes: list[Gap] = Field(default_factory=list, max_length=MOST_NOTES)


class RecordedLogsTracesDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[LogEntry] = Field(default_factory=list, max_length=MOST_LINES)
    traces: list[Trace] = Field(default_factory=list, max_length=MOST_TRACES)
    sampled: list[Trace] = Field(default_factory=list, max_length=MOST_SAMPLED)
    #: cluster -> why its Loki (``logs_unread``) or Tempo (``traces_unread``) could not be
    #: read when the capture was made: an opened capture says so, not "no errors"
    logs_unread: dict[GapName, Gap] = Field(default_factory=dict, max_length=1000)
    traces_unread: dict[GapName, Gap] = Field(default_factory=dict, max_length=1000)
    #: cluster -> how its lines were read, where more matched than were kept or the read
    #: said something (a capture without it, older: not known, read as all kept)
    logs_read: dict[GapName, LinesRead] = Field(default_factory=dict, max_length=1000)


class NotRecorded(AppError):
    """A capture holds none of a cluster's lines or traces: they could not be read when it
    was made."""


async def record_logs_traces(
    logs: LogsTraces | RecordedLogsTraces, clusters: list[Cluster], start: datetime,
    end: datetime, *, within_s: float | None = None, not_read: list[str] | None = None,
) -> str:  # fmt: skip
    """The window's error lines and failing traces of the clusters with Loki or Tempo, as the
    capture keeps them (JSON). The clusters are read side by side, each its share of what is
    kept and each within ``within_s`` (None: unbounded): read one after another inside one
    bound, kept only if all finished, one slow Loki lost every cluster's lines. What a
    cluster cannot answer, or not in time, is left out, logged and said in the document (an
    open says it could not be read, not "no errors"), and in ``not_read`` ("cluster/logs:
    why"): that cluster's gap, not the whole recording's."""
    doc = RecordedLogsTracesDoc()
    loki = [c.name for c in clusters if c.endpoint(EndpointKind.LOKI)]
    tempo = [c.name for c in clusters if c.endpoint(EndpointKind.TEMPO)]
    lines, traces, sampled = await gather_all(
        gather_all(*(_error_lines(logs, name, start, end, room, within_s=within_s)
                     for name, room in zip(loki, _shares(MOST_LINES, len(loki)), strict=True))),
        gather_all(*(_failing_traces(logs, name, start, end, room, within_s=within_s)
                     for name, room in zip(tempo, _shares(MOST_TRACES, len(tempo)),
                                           strict=True))),
        _sampled(logs, tempo, start, end),
    )  # fmt: skip
    for name, (found, why, read) in zip(loki, lines, strict=True):
        doc.lines += found
        if why is not None:
            doc.logs_unread[name] = why
        if read is not None:
            doc.logs_read[name] = read
    for name, (kept, why) in zip(tempo, traces, strict=True):
        doc.traces += kept
        if why is not None and not kept:  # some read: those are what it kept
            doc.traces_unread[name] = why
    doc.sampled = sampled
    if not_read is not None:
        not_read += [f"{name}/logs: {why}" for name, why in doc.logs_unread.items()]
        not_read += [f"{name}/traces: {why}" for name, why in doc.traces_unread.items()]
    # redacted, written and checked in a thread: 20,000 lines of 3.7 KB stack traces take
    # minutes of CPU to redact, which held the loop (and the export's own time bound)
    return await asyncio.to_thread(_finished, doc, not_read)


def _shares(most: int, clusters: int) -> list[int]:
    """Each of ``clusters`` read side by side its share of ``most`` (20 traces among 3
    clusters: 7, 7 and 6; among 25: one each for the first 20, none for the rest)."""
    return [most // clusters + (i < most % clusters) for i in range(clusters)]


def _late(within_s: float | None) -> TimeoutError:
    """Why a cluster's read was left: its time (``within_s``) ran out."""
    return TimeoutError(f"not read within the export's {within_s:g} s to record")


def _finished(doc: RecordedLogsTracesDoc, not_read: list[str] | None = None) -> str:
    """The document as the capture keeps it: redacted, within what an open reads (its
    characters, and its bytes as the capture holds them: 20,000 lines of Java stack traces
    were 76 MiB, and 10 failing traces of 2,000 spans with long attributes 128 MB, and the
    whole capture was refused; and its JSON objects: 20 traces of 2,000 spans with 20 events
    each fit the bytes but were 1.7 million objects), checked as an open checks it. The
    failing traces it leaves out to fit are added to ``not_read`` ("cluster/traces: what")."""
    doc = _redacted(doc)
    text = doc.model_dump_json()
    most = _Size(min(MOST_DOC_CHARS, capture_load.META_KEYS[LOGS_TRACES_KEY]), MOST_OBJECTS)
    if not _size_of(text).within(most):
        doc, traces_left_out = _newest_within(doc, most)
        text = doc.model_dump_json()
        if not_read is not None:
            not_read += [f"{name}/traces: {why}" for name, why in traces_left_out.items()]
    why = _unreadable(text) or unopenable_document(LOGS_TRACES_KEY, text)
    if why is not None:
        raise CaptureError(f"the capture's recorded logs and traces would be refused when "
                           f"opened (they {why}): not written; export a shorter span or fewer "
                           "clusters")  # fmt: skip
    return text


@dataclass(frozen=True, slots=True)
class _Size:
    """What a document (or a part of it, or the room left) is to an open: its JSON's UTF-8
    bytes, and its JSON objects as ``_unreadable`` counts them."""

    bytes: int
    objects: int

    def __add__(self, other: _Size) -> _Size:
        return _Size(self.bytes + other.bytes, self.objects + other.objects)

    def __sub__(self, other: _Size) -> _Size:
        return _Size(self.bytes - other.bytes, self.objects - other.objects)

    def within(self, most: _Size) -> bool:
        return self.bytes <= most.bytes and self.objects <= most.objects


_NOTHING = _Size(0, 0)
#: what a cluster's note that its older lines (or traces) were not kept may add to the
#: document (its name, the note, and the JSON around them: a lines' note is an object)
_NOTE = _Size(4 * (253 + GAP_CHARS) + 64, 1)


def _size_of(text: str) -> _Size:
    """The JSON ``text``'s size to an open: its bytes, and its objects counted as an open
    counts them where it matters (``_counted_exactly``: a log line's braces are no objects)."""
    return _Size(len(text.encode("utf-8")), _counted_exactly(text)[0])


def _newest_within(
    doc: RecordedLogsTracesDoc, most: _Size
) -> tuple[RecordedLogsTracesDoc, dict[str, str]]:
    """``doc`` within ``most`` (bytes and objects): its failing traces at least half the room
    (all the lines leave), its lines the rest, each cluster's newest of each within its share
    (``_newest_of``); each measured once (a trace of 2,000 spans is 13 MB: the document
    is not written again for each one left out). A cluster's lines left out are said as its
    read (more matched than it kept; why); its failing traces left out are returned
    (cluster -> what was left out) and, where it keeps none, said as not read (an open says
    so, not "no failing traces")."""
    comma = _Size(1, 0)
    line_sizes = [_size_of(e.model_dump_json()) + comma for e in doc.lines]
    trace_sizes = [_size_of(t.model_dump_json()) + comma for t in doc.traces]
    rest = _size_of(doc.model_copy(update={"lines": [], "traces": []}).model_dump_json())
    line_clusters = [e.cluster for e in doc.lines]
    trace_clusters = [t.cluster for t in doc.traces]
    noted = len({*line_clusters}) + len({*trace_clusters})
    room = most - rest - _Size(noted * _NOTE.bytes, noted * _NOTE.objects)
    lines_all = sum(line_sizes, _NOTHING)
    traces_room = _Size(
        max(room.bytes // 2, room.bytes - lines_all.bytes),
        max(room.objects // 2, room.objects - lines_all.objects),
    )
    first = [min((s.start_ns for s in t.spans), default=0) for t in doc.traces]
    traces_kept = _newest_of(trace_clusters, first, trace_sizes, traces_room)
    lines_room = room - sum((trace_sizes[i] for i in traces_kept), _NOTHING)
    times = [e.timestamp_ns for e in doc.lines]
    lines_kept = _newest_of(line_clusters, times, line_sizes, lines_room)
    whole = rest + lines_all + sum(trace_sizes, _NOTHING)
    over = [f"{most.bytes:,} characters"] if whole.bytes > most.bytes else []
    over += [f"{most.objects:,} JSON objects"] if whole.objects > most.objects else []
    bound = " and ".join(over)  # what the document was over, said of what it left out

    read = dict(doc.logs_read)
    for cluster, lines, kept in _cut_short(line_clusters, lines_kept, "error lines", bound):
        notes = read[cluster].notes if cluster in read else []
        note = (f"{lines - kept:,} older error lines not kept: a capture holds at most "
                f"{bound} of logs and traces")  # fmt: skip
        read[cluster] = LinesRead(truncated=True, notes=[*notes[: MOST_NOTES - 1], note])
    left_out: dict[str, str] = {}
    unread = dict(doc.traces_unread)
    for cluster, traces, kept in _cut_short(trace_clusters, traces_kept, "failing traces", bound):
        left_out[cluster] = (f"the oldest {traces - kept:,} of {traces:,} failing traces "
                             f"not kept: a capture holds at most {bound} of logs and "
                             "traces")  # fmt: skip
        if not kept:
            unread[cluster] = left_out[cluster]
    newest = [e for i, e in enumerate(doc.lines) if i in lines_kept]
    failing = [t for i, t in enumerate(doc.traces) if i in traces_kept]
    return doc.model_copy(update={"lines": newest, "logs_read": read, "traces": failing,
                                  "traces_unread": unread}), left_out  # fmt: skip


def _newest_of(clusters: list[str], times: list[int], sizes: list[_Size], room: _Size) -> set[int]:
    """The items (their indexes) of each cluster's newest (``times``) whose ``sizes`` keep
    them within the cluster's share of ``room`` (its bytes and its objects), what one leaves
    passed on to the next (as their counts are shared)."""
    mine: dict[str, list[int]] = {}
    for i, cluster in enumerate(clusters):
        mine.setdefault(cluster, []).append(i)
    kept: set[int] = set()
    for after, items in enumerate(mine.values(), start=1):
        left = len(mine) - after + 1
        share, used = _Size(_share(room.bytes, left), _share(room.objects, left)), _NOTHING
        for i in sorted(items, key=lambda i: -times[i]):
            if not (used + sizes[i]).within(share):
                break
            used += sizes[i]
            kept.add(i)
        room -= used
    return kept


def _cut_short(
    clusters: list[str], kept: set[int], what: str, bound: str
) -> Iterator[tuple[str, int, int]]:
    """(cluster, its items, how many are ``kept``) of each cluster some of whose items (by
    index) are not kept, each logged as a warning."""
    counts: dict[str, tuple[int, int]] = {}
    for i, cluster in enumerate(clusters):
        had, held = counts.get(cluster, (0, 0))
        counts[cluster] = (had + 1, held + (i in kept))
    for cluster, (items, held) in counts.items():
        if held < items:
            log.warning("the capture keeps %s of %s's %s, the newest: the rest are over the "
                        "%s an open reads", f"{held:,}", cluster, what, bound,
                        extra={"cluster": cluster})  # fmt: skip
            yield cluster, items, held


def _share(room: int, clusters: int) -> int:
    """A cluster's share of ``room`` among the ``clusters`` still to be read (rounded up: 20
    traces among 3 clusters are 7, 7 and 6); none when there is no room left."""
    return -(-room // clusters) if room > 0 and clusters > 0 else 0


def _no_room(what: str, most: int, cluster: str) -> str:
    """Why a capture keeps none of a cluster's ``what``: more clusters than it keeps of
    them."""
    log.warning("the capture keeps no %s of %s: its %s were shared by other clusters", what,
                cluster, f"{most:,}", extra={"cluster": cluster})  # fmt: skip
    return (f"not kept: the capture keeps at most {most:,} {what} in all, shared among "
            "more clusters than that")  # fmt: skip


def _left_out(what: str, cluster: str, exc: BaseException) -> str:
    """A cluster's part the capture goes without, said in the app's log (redacted there);
    why, as the capture keeps it (redacted, cut)."""
    log.warning("the capture keeps no %s of %s: %s", what, cluster, exc,
                extra={"cluster": cluster})  # fmt: skip
    return redact_for_llm(str(exc) or type(exc).__name__)[:GAP_CHARS]


async def _error_lines(
    logs: LogsTraces | RecordedLogsTraces, cluster: str, start: datetime, end: datetime,
    room: int, *, within_s: float | None = None,
) -> tuple[list[LogEntry], str | None, LinesRead | None]:  # fmt: skip
    """At most ``room`` of the cluster's error lines, the newest (none asked when there is no
    room: a document over MOST_LINES could not be opened again), read within ``within_s``;
    why none were kept, and how they were read when that is more than "all of them" (more
    matched, notes)."""
    if room <= 0:
        return [], _no_room("error lines", MOST_LINES, cluster), None
    try:
        async with asyncio.timeout(within_s):
            found = await logs.logs(cluster, RECORD_ERRORS, start=start, end=end, limit=5000,
                                    most=room)  # fmt: skip
    except TimeoutError:
        return [], _left_out("error lines", cluster, _late(within_s)), None
    except (AppError, ValueError) as exc:
        return [], _left_out("error lines", cluster, exc), None
    truncated = found.truncated or len(found.entries) > room
    notes = [redact_for_llm(n)[:GAP_CHARS] for n in found.notes[:MOST_NOTES]]
    read = LinesRead(truncated=truncated, notes=notes) if truncated or notes else None
    return found.entries[:room], None, read


async def _failing_traces(
    logs: LogsTraces | RecordedLogsTraces, cluster: str, start: datetime, end: datetime,
    room: int, *, within_s: float | None = None,
) -> tuple[list[Trace], str | None]:  # fmt: skip
    """At most ``room`` of the cluster's failing traces, each cut to MOST_SPANS spans as every
    trace is cut (``Trace.cut_to``: its errors and their parents first, then the earliest;
    saying how many it had), a server that answers more than the limit asked cut too, those
    read within ``within_s``; and why no more were read."""
    if room <= 0:
        return [], _no_room("failing traces", MOST_TRACES, cluster)
    kept: list[Trace] = []
    try:
        async with asyncio.timeout(within_s):
            summaries = await logs.traces(cluster, start=start, end=end,
                                          traceql=failing_traceql(), limit=room)  # fmt: skip
            for summary in summaries[:room]:
                trace = await logs.trace(cluster, summary.trace_id)
                kept.append(trace.cut_to(MOST_SPANS))
    except TimeoutError:  # those read in time are kept
        return kept, _left_out("more failing traces", cluster, _late(within_s))
    except (AppError, ValueError) as exc:  # those read so far are kept
        return kept, _left_out("more failing traces", cluster, exc)
    return kept, None


#: the longest line a capture holds (LogEntry's own bound): a redaction may lengthen a line
#: ("pw=x" -> "pw=[REDACTED]"), and a line over it would make the capture unreadable
_MOST_KEPT_LINE = MOST_LINE_CHARS + CUT_NOTE_CHARS


def _redacted(doc: RecordedLogsTracesDoc) -> RecordedLogsTracesDoc:
    """What leaves the site, redacted as strongly as what goes to a model (a log line is
    where a secret is most often written): every line, span status, operation and event as
    text, and every label and attribute field by field (a value whose name says it is a
    secret, a cookie or an API key header, whole)."""
    lines = [e.model_copy(update={"line": redact_for_llm(e.line)[:_MOST_KEPT_LINE],
                                  "labels": redact_fields(e.labels)})
             for e in doc.lines]  # fmt: skip

    def span(s: Span) -> Span:
        events = [e.model_copy(update={"name": redact_for_llm(e.name),
                                       "attributes": redact_fields(e.attributes)})
                  for e in s.events]  # fmt: skip
        message = redact_for_llm(s.status_message) if s.status_message is not None else None
        return s.model_copy(update={"status_message": message, "events": events,
                                    "operation": redact_for_llm(s.operation),
                                    "attributes": redact_fields(s.attributes)})  # fmt: skip

    def trace(t: Trace) -> Trace:
        return t.model_copy(update={"spans": [span(s) for s in t.spans]})

    return doc.model_copy(update={"lines": lines, "traces": [trace(t) for t in doc.traces],
                                  "sampled": [trace(t) for t in doc.sampled]})  # fmt: skip


async def _sampled(
    logs: LogsTraces | RecordedLogsTraces, clusters: list[str], start: datetime, end: datetime
) -> list[Trace]:
    """The newest traces of each of the window's last SAMPLED_MINUTES minutes, as RCA samples
    them live (``newest_traces``, the clusters at once; MOST_SAMPLED in all), each cut to
    SAMPLED_SPANS spans; what cannot be read, or not within SAMPLE_WITHIN_S, is left out."""
    first = max(start.timestamp(), end.timestamp() - SAMPLED_MINUTES * STEP_S)
    deadline = asyncio.get_running_loop().time() + SAMPLE_WITHIN_S
    samples = await gather_all(*(newest_traces(logs, c, first, end.timestamp(), deadline)
                                     for c in clusters))  # fmt: skip
    for cluster, sample in zip(clusters, samples, strict=True):
        if sample.failed:  # the traces read are kept; the first reason is enough to say
            _left_out(f"{len(sample.failed)} sampled reads", cluster, sample.failed[0])
    return [_slim(t) for sample in samples for t in sample.traces][:MOST_SAMPLED]


def _slim(trace: Trace) -> Trace:
    """What a sampled trace keeps: SAMPLED_SPANS spans at most, cut as every trace is
    (``Trace.cut_to``: its errors and their parents, then the earliest), by start, each with
    its pod only."""
    trace = trace.cut_to(SAMPLED_SPANS)
    spans = sorted(trace.spans, key=lambda s: s.start_ns)
    return trace.model_copy(update={"spans": [s.model_copy(update={
        "attributes": {k: v for k, v in s.attributes.items() if k in SAMPLED_ATTRIBUTES},
        "events": [], "status_message": None,
    }) for s in spans]})  # fmt: skip


def read_recorded(text: str | None, where: str) -> RecordedLogsTracesDoc | None:
    """The capture's logs and traces, checked (None where it has none): at most
    MOST_DOC_CHARS, and every list, map and time within the models' bounds."""
    if text is None:
        return None
    why = _unreadable(text)
    if why is not None:
        raise CaptureError(f"{where}: its recorded logs and traces {why}")
    try:
        doc = RecordedLogsTracesDoc.model_validate_json(text)
    except ValidationError as exc:
        raise CaptureError(f"{where}: its recorded logs and traces are not what this app "
                           f"writes ({exc.error_count()} problems)") from None  # fmt: skip
    if any(len(t.spans) > MOST_SPANS for t in doc.traces):
        raise CaptureError(f"{where}: a recorded trace holds more than {MOST_SPANS:,} spans")
    if any(len(t.spans) > SAMPLED_SPANS for t in doc.sampled):
        raise CaptureError(f"{where}: a sampled trace holds more than {SAMPLED_SPANS} spans")
    return doc


def _unreadable(text: str) -> str | None:
    """Why the logs and traces document ``text`` is refused before it is parsed (its
    characters, its spans, its objects), or None: what an open checks, and an export too."""
    if len(text) > MOST_DOC_CHARS:
        return (f"are larger than this app writes ({len(text):,} characters; at most "
                f"{MOST_DOC_CHARS:,})")  # fmt: skip
    objects, spans = _counted(text)
    if spans > MOST_ALL_SPANS:
        return f"hold more spans than this app writes ({spans:,}; at most {MOST_ALL_SPANS:,})"
    if objects > MOST_OBJECTS:
        return f"hold more objects than this app reads ({objects:,}; at most {MOST_OBJECTS:,})"
    return None


_LEVEL = np.zeros(256, dtype=np.int8)  # what a byte does to the depth: { and [ open, } and ] close
_LEVEL[[ord("{"), ord("[")]] = 1
_LEVEL[[ord("}"), ord("]")]] = -1
_QUOTE, _OPEN = ord('"'), ord("{")
#: where the document's spans are: {"traces": [{"spans": [{...}]}]} (and "sampled" alike)
_SPAN_DEPTH = 5
_BLOCK = 1 << 20  # counted a block at a time: a few MB of memory, whatever the document's size


def _counted(text: str) -> tuple[int, int]:
    """The JSON objects of ``text`` outside its strings (a JSON log line is no object of the
    document) and the spans among them (objects at a span's depth), counted without parsing
    it: numpy over its brackets, a block at a time, each bracket's depth and whether it is in
    a string (the quotes before it, escaped ones left out) carried from block to block."""
    braces = text.count("{")
    if braces <= MOST_ALL_SPANS:  # an over-count of both, and within both
        return braces, braces
    return _counted_exactly(text)


def _counted_exactly(text: str) -> tuple[int, int]:
    """``_counted`` without its shortcut."""
    objects = spans = depth = quotes = 0
    at = 0
    while at < len(text):
        end = min(at + _BLOCK, len(text))
        while end < len(text) and text[end - 1] == "\\":  # an escape is not split
            end += 1
        # escapes out (pairs of backslashes, then escaped quotes): every quote left opens
        # or closes a string
        block = text[at:end].replace("\\\\", "").replace('\\"', "")
        raw = np.frombuffer(block.encode("utf-8", "replace"), dtype=np.uint8)
        marks = np.flatnonzero(raw == _QUOTE)
        brackets = np.flatnonzero(_LEVEL[raw])
        outside = (np.searchsorted(marks, brackets) + quotes) % 2 == 0
        brackets = brackets[outside]
        levels = depth + np.cumsum(_LEVEL[raw[brackets]], dtype=np.int64)
        opened = raw[brackets] == _OPEN
        objects += int(opened.sum())
        spans += int((opened & (levels == _SPAN_DEPTH)).sum())
        depth = int(levels[-1]) if levels.size else depth
        quotes += marks.size
        at = end
    return objects, spans


class RecordedLogsTraces:
    """``LogsTraces``' questions answered from a capture (see the module)."""

    def __init__(
        self, doc: RecordedLogsTracesDoc | None, clusters: Callable[[], list[str]],
        registered: Callable[[], list[Cluster]] | None = None,
    ) -> None:  # fmt: skip
        # None: the capture recorded no logs or traces at all, which is not "none there"
        self._recorded = doc is not None
        self._doc = doc or RecordedLogsTracesDoc()
        self._clusters = clusters  # the capture's clusters (its registry, once loaded)
        #: the capture's registered clusters with their endpoints as they were when it was
        #: made: one without Loki (Tempo) had none of its logs (traces) recorded
        self._registered = registered
        # the kept traces, the newest first (as Tempo answers a search), each with what a
        # search asks of it, worked out once: a search or an open is then a scan of at most
        # MOST_TRACES + MOST_SAMPLED rows (RCA opens hundreds, on the event loop)
        failing = {(t.cluster, t.trace_id) for t in self._doc.traces}
        kept = self._doc.traces + [t for t in self._doc.sampled
                                   if (t.cluster, t.trace_id) not in failing]  # fmt: skip
        self._kept = sorted((_Kept.of(t) for t in kept if t.spans), key=lambda k: -k.first)
        self._by_id = {(k.trace.cluster, k.trace.trace_id): k.trace for k in self._kept}
        # a cut cluster's oldest line kept: the capture kept the newest, so a query reaching
        # back to it may miss lines (one after it misses none)
        self._oldest: dict[str, int] = {}
        self._lines_kept: Counter[str] = Counter()
        for e in self._doc.lines:
            if e.cluster in self._doc.logs_read:
                self._lines_kept[e.cluster] += 1
                at = self._oldest.get(e.cluster, e.timestamp_ns)
                self._oldest[e.cluster] = min(at, e.timestamp_ns)

    def _known(self, cluster: str) -> None:
        if cluster not in self._clusters():
            # as an unknown cluster is everywhere else (exit 4): the name, not the query, is wrong
            raise NotFoundError(f"the capture has no cluster named {cluster!r}")

    def _read_then(self, cluster: str, what: str, unread: dict[str, str]) -> None:
        """A cluster the capture holds, whose ``what`` (logs, traces) it could read when it
        was made: none kept because none could be read is not "none there"."""
        self._known(cluster)
        self._recorded_of(cluster, what)
        if cluster in unread:
            raise NotRecorded(f"the capture holds no {what} of {cluster}: they could not be "
                              f"read when it was made ({printable(unread[cluster])})")  # fmt: skip

    def _recorded_of(self, cluster: str, what: str) -> None:
        """NotRecorded where the capture recorded no ``what`` (logs, traces) of the cluster
        at all, said as such, not answered as "none there": it holds no logs and traces
        document, or the cluster had no Loki (Tempo) when it was made (as live: it has no
        endpoint)."""
        backend = "Loki" if what == "logs" else "Tempo"
        kind = EndpointKind.LOKI if what == "logs" else EndpointKind.TEMPO
        for c in self._registered() if self._registered is not None else []:
            if c.name == cluster and c.endpoint(kind) is None:
                raise NotRecorded(f"the capture holds no {what} of {cluster}: {cluster} had no "
                                  f"{backend} endpoint when it was made")  # fmt: skip
        if not self._recorded:
            raise NotRecorded(f"the capture recorded no {what}: none of its clusters had Loki "
                              "or Tempo, their recording did not finish in time, or it was "
                              "made before captures kept them")  # fmt: skip

    def _selected(self, cluster: str, logql: str, start: datetime, end: datetime
                  ) -> tuple[LogSelector | MetricQuery, list[LogEntry]]:  # fmt: skip
        """The kept lines ``logql`` selects (up to 20,000 read: in a worker thread): a log
        query's from ``start`` to before ``end``, a metric query's every step's window reads
        (its range before ``start`` to ``end``, as Loki reads them)."""
        self._known(cluster)
        try:
            query = parse(logql)
        except LogQLError as exc:
            raise UsageError(f"the capture cannot answer that query: {exc}") from exc
        # a bad query is said as one first: it is bad whatever the capture holds
        self._read_then(cluster, "logs", self._doc.logs_unread)
        lo, hi = ns(start), ns(end)
        if isinstance(query, MetricQuery):
            selector = query.selector
            lo, hi = lo - query.range_s * NS + 1, hi + 1  # (start - range, end]
        else:
            selector = query
        keep = selector.line_filter()
        lines = [e for e in self._doc.lines
                 if e.cluster == cluster and lo <= e.timestamp_ns < hi
                 and selector.matches(e.labels) and keep(e.line)]  # fmt: skip
        return query, lines

    async def logs(
        self, cluster: str, logql: str, *, start: datetime, end: datetime,
        limit: int = LOG_DEFAULT_LIMIT, most: int | None = None,
        direction: LogDirection = LogDirection.BACKWARD, tenant: str | None = None,
    ) -> LogResult:  # fmt: skip
        query, lines = await asyncio.to_thread(self._selected, cluster, logql, start, end)
        if isinstance(query, MetricQuery):
            # series, as Loki answers a metric query (asked without a step: Loki's default)
            step = max(int((end - start).total_seconds() // 250), 1)
            series = await asyncio.to_thread(_series, query, lines, ns(start), ns(end), step)
            cut, notes = self._as_read(cluster, start - timedelta(seconds=query.range_s))
            return LogResult(series=series, truncated=cut, pages=1,
                             notes=[*_not_kept(query.selector), *notes])  # fmt: skip
        lines.sort(key=lambda e: e.timestamp_ns, reverse=direction is LogDirection.BACKWARD)
        wanted = most if most is not None else limit  # most=0: none (not the default)
        cut, notes = self._as_read(cluster, start)
        return LogResult(entries=lines[:wanted], truncated=len(lines) > wanted or cut,
                         pages=1, notes=[*_not_kept(query), *notes])  # fmt: skip

    def _as_read(self, cluster: str, start: datetime) -> tuple[bool, list[str]]:
        """Whether a query of the cluster's kept lines from ``start`` may lack lines the
        capture did not keep (more matched than it kept: the older ones), and what its read
        said then."""
        read = self._doc.logs_read.get(cluster)
        if read is None:
            return False, []
        notes = [printable(n) for n in read.notes]
        oldest = self._oldest.get(cluster)
        cut = read.truncated and (oldest is None or ns(start) <= oldest)
        if cut:
            notes.append(f"the capture kept the newest {self._lines_kept[cluster]:,} of "
                         f"{cluster}'s error lines: more matched, the older ones were not "
                         "kept")  # fmt: skip
        return cut, notes

    async def volume(
        self, cluster: str, logql: str, *, start: datetime, end: datetime,
        tenant: str | None = None,
    ) -> tuple[int, list[LogSeries]]:  # fmt: skip
        step = volume_step(end - start)
        query = volume_query(logql, step)  # as the live volume asks it
        return step, await self.counts(cluster, query, start=start, end=end, step_s=step)

    async def counts(
        self, cluster: str, metric_logql: str, *, start: datetime, end: datetime, step_s: int,
        tenant: str | None = None,
    ) -> list[LogSeries]:  # fmt: skip
        """A metric query's series from the kept lines, as Loki answers it (``_series``);
        whether the capture's cut leaves lines out of them: ``counted``."""
        found = await self.counted(cluster, metric_logql, start=start, end=end, step_s=step_s)
        return found.series

    async def counted(
        self, cluster: str, metric_logql: str, *, start: datetime, end: datetime, step_s: int
    ) -> LogResult:
        """``counts``' series, and as ``logs`` says it (``_as_read``) whether they may lack
        lines the capture did not keep: counted from the kept lines only, a pod that erred
        steadily all along reads none before the oldest kept line (``kept_from``) and its
        lines after it, a rise that is none."""
        if step_s <= 0:
            raise UsageError(f"the capture cannot answer a step of {step_s} s: Loki takes "
                             "only a step over zero")  # fmt: skip
        query, lines = await asyncio.to_thread(self._selected, cluster, metric_logql, start, end)
        if not isinstance(query, MetricQuery):
            raise UsageError("the capture counts lines of a metric query such as "
                             f"sum(count_over_time({metric_logql.strip()} [1m])), not of "
                             "a log query")  # fmt: skip
        series = await asyncio.to_thread(_series, query, lines, ns(start), ns(end), step_s)
        cut, notes = self._as_read(cluster, start - timedelta(seconds=query.range_s))
        return LogResult(series=series, truncated=cut, pages=1,
                         notes=[*_not_kept(query.selector), *notes])  # fmt: skip

    def kept_from(self, cluster: str) -> float | None:
        """The oldest kept line of a cluster whose lines the capture cut (unix s): counts
        from before it lack the lines not kept. None: none cut (or none kept)."""
        oldest = self._oldest.get(cluster)
        read = self._doc.logs_read.get(cluster)
        return oldest / 1e9 if oldest is not None and read and read.truncated else None

    async def labels(
        self, cluster: str, name: str | None = None, *, tenant: str | None = None
    ) -> list[str]:
        """The names or one name's values of the lines recorded (``tenant`` taken as ``logs``
        takes it: the capture's lines are what there is to complete from)."""
        self._read_then(cluster, "logs", self._doc.logs_unread)
        mine = [e.labels for e in self._doc.lines if e.cluster == cluster]
        if name is None:
            return sorted({k for labels in mine for k in labels})
        return sorted({labels[name] for labels in mine if name in labels})

    async def tail(
        self, cluster: str, logql: str, *, start: datetime | None = None,
        tenant: str | None = None,
    ) -> AsyncGenerator[TailBatch, None]:  # fmt: skip
        raise UsageError("a capture is offline: it has no live tail (Run shows what it kept)")
        yield  # an async generator, like the live one

    async def traces(
        self, cluster: str, *, start: datetime, end: datetime, service: str | None = None,
        operation: str | None = None, min_duration: str | None = None,
        max_duration: str | None = None, traceql: str | None = None, limit: int = 20,
    ) -> list[TraceSummary]:  # fmt: skip
        self._known(cluster)
        errors_only, named = _answerable(traceql)  # a bad query said first, as of logs
        shortest = _ms(min_duration) if min_duration else None
        longest = _ms(max_duration) if max_duration else None
        self._read_then(cluster, "traces", self._doc.traces_unread)
        # TraceQL reads every condition of a { } of one span, and the live client writes the
        # service and operation asked into it: a trace whose failed span is another
        # service's is not this service's failing trace. Without one, Tempo's own search:
        # each filter of any span
        one_span = bool(traceql and traceql.strip())
        services = {s for s in (service, named) if s}
        out = []
        for kept in self._kept:
            trace = kept.trace
            if trace.cluster != cluster or not ns(start) <= kept.first <= ns(end):
                continue
            if one_span:
                if not any(_meets(s, errors_only, services, operation) for s in trace.spans):
                    continue
            elif (service and all(s.service_name != service for s in trace.spans)) or (
                operation and all(s.operation != operation for s in trace.spans)
            ):
                continue
            if (shortest is not None and kept.took_ms < shortest) or (
                longest is not None and kept.took_ms > longest
            ):
                continue
            root = trace.root or trace.spans[0]
            out.append(TraceSummary(trace_id=trace.trace_id, root_service=root.service_name,
                                    root_name=root.operation, start_ns=kept.first,
                                    duration_ms=kept.took_ms, cluster=cluster))  # fmt: skip
            if len(out) >= limit:
                break
        return out

    async def trace(self, cluster: str, trace_id: str) -> Trace:
        self._known(cluster)
        self._recorded_of(cluster, "traces")
        # not whether its failing traces were read: its sampled ones may have been
        wanted = trace_id.strip().lower().zfill(32)
        found = self._by_id.get((cluster, wanted))
        if found is not None:
            return found
        raise UsageError(f"the capture did not keep trace {wanted} (it keeps failing traces "
                         "and a sample of each minute's newest)")  # fmt: skip


#: what each range function makes of a window's lines: (weighed by their UTF-8 bytes, not
#: counted; per second of the range, not in all), as Loki's range_vector.go (the bytes of a
#: line as the capture kept it: redacted, cut at MOST_LINE_CHARS); any other function is
#: refused, not counted
_FUNCTIONS = {"count_over_time": (False, False), "rate": (False, True),
              "bytes_over_time": (True, False), "bytes_rate": (True, True)}  # fmt: skip
MOST_POINTS = 11_000  # the most points Loki answers a series


def _series(query: MetricQuery, lines: list[LogEntry], lo: int, hi: int, step_s: int
            ) -> list[LogSeries]:  # fmt: skip
    """``query``'s series over ``lines`` from ``lo`` to ``hi`` (ns), as Loki evaluates it: at
    each step ``t = lo + k * step`` up to ``hi``, its function over the lines of the window
    ``(t - range, t]`` (left open, right closed), a series a stream (labels summed by what a
    ``sum by`` names, all in one for a ``sum``); a point whose window holds no line is left
    out, as Loki leaves it out. Where ``hi`` is not on a step, a last point is stamped at it:
    the next step's window, its lines up to ``hi`` (a clock minute's end could fall after
    the window: its lines would be read by no step)."""
    if query.function not in _FUNCTIONS:
        raise UsageError(f"the capture cannot answer {query.function}: it computes "
                         f"{', '.join(_FUNCTIONS)}")  # fmt: skip
    weighed, per_second = _FUNCTIONS[query.function]
    step, span = step_s * NS, query.range_s * NS
    if hi < lo:
        return []
    if (hi - lo) // step + 2 > MOST_POINTS:
        raise UsageError(f"the capture cannot answer more than {MOST_POINTS:,} points a "
                         f"series, as Loki: a step over {step_s} s answers it")  # fmt: skip
    at = np.arange(lo, hi + 1, step, dtype=np.int64)  # each point's time, its window's end
    since = at - span  # its window's start (not in it)
    if at[-1] < hi:  # the last step, cut short
        since = np.append(since, at[-1] + step - span)
        at = np.append(at, hi)
    streams: dict[tuple[tuple[str, str], ...], list[LogEntry]] = {}
    for e in lines:
        if query.by is None:
            key = tuple(sorted(e.labels.items()))
        else:
            key = tuple(sorted({k: e.labels[k] for k in query.by if k in e.labels}.items()))
        streams.setdefault(key, []).append(e)
    out = []
    for key, mine in sorted(streams.items()):
        mine.sort(key=lambda e: e.timestamp_ns)
        times = np.array([e.timestamp_ns for e in mine], dtype=np.int64)
        weights = [len(e.line.encode("utf-8")) if weighed else 1 for e in mine]
        total = np.concatenate(([0.0], np.cumsum(weights, dtype=np.float64)))
        upto = np.searchsorted(times, at, side="right")  # the lines at or before a point
        before = np.searchsorted(times, since, side="right")  # and at or before its start
        values = (total[upto] - total[before]) / (query.range_s if per_second else 1)
        held = upto > before
        if not held.any():  # its lines between windows (a range shorter than the step)
            continue
        out.append(LogSeries(labels=dict(key), points=list(zip(
            (at[held] / 1e9).tolist(), values[held].tolist(), strict=True))))  # fmt: skip
    return out


#: the words of the line filter the capture kept lines by (RECORD_ERRORS', in any case)
_RECORDED_WORDS = ("error", "exception", "fatal")
_LITERAL = re.compile(r"[\w :/-]*")  # a pattern's alternative that is text only


def _errors_only(selector: LogSelector) -> bool:
    """Whether every line ``selector`` reads is one the capture kept: it filters for a text
    that holds one of its filter's words (a line holding "ERROR" matches "(?i)error"), or by
    a pattern each of whose alternatives is such a text (the capture's own filter among
    them). Its other filters only read fewer of those."""
    for op, text in selector.filters:
        if op == "|=":
            alternatives = [text]
        elif op == "|~":
            alternatives = text.removeprefix("(?i)").split("|")
            if not all(_LITERAL.fullmatch(a) for a in alternatives):
                continue
        else:
            continue
        if all(any(w in a.lower() for w in _RECORDED_WORDS) for a in alternatives):
            return True
    return False


def _not_kept(selector: LogSelector) -> list[str]:
    """What an answer of ``selector`` from the capture says first where it asks for lines the
    capture did not keep (it kept only those of RECORD_ERRORS' filter): its answer is of the
    error lines only, not of every line Loki held; a filter that drops lines (``!=``,
    ``!~``) asks for those it never kept: none found is no answer. Nothing where it asks for
    error lines only (its answer is whole)."""
    if _errors_only(selector):
        return []
    kept = f"the capture kept only error lines (those matching {ERRORS.strip()})"
    if any(op in ("!=", "!~") for op, _ in selector.filters):
        why = ("this query drops lines, and asks for lines it never kept: what it finds is "
               "among the error lines only, and none found is not none there")  # fmt: skip
        return [f"{kept}; {why}"]
    why = ("this answers from those only, not from every line the cluster wrote (its volume "
           "is of its error lines)")  # fmt: skip
    return [f"{kept}: {why}"]


_ERRORS_ONLY = re.compile(r"status\s*=\s*error")
_SERVICE = re.compile(r'resource\.service\.name\s*=\s*"((?:[^"\\]|\\.)+)"')


def _answerable(traceql: str | None) -> tuple[bool, str | None]:
    """What a capture answers of a TraceQL query: whether only failing traces, and through
    which service. It answers ``{}``, ``status = error`` and ``resource.service.name = "…"``
    joined by ``&&``; anything else is refused, not ignored (which answered every trace)."""
    if traceql is None or not traceql.strip():
        return False, None
    body = traceql.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise UsageError(f"a capture answers TraceQL such as {{ status = error }}: {traceql!r}")
    errors_only, service = False, None
    for part in filter(None, (p.strip() for p in body[1:-1].split("&&"))):
        if _ERRORS_ONLY.fullmatch(part):
            errors_only = True
        elif named := _SERVICE.fullmatch(part):
            service = re.sub(r"\\(.)", r"\1", named.group(1))
        else:
            raise UsageError(f"a capture answers TraceQL of status = error and "
                             f'resource.service.name = "…" only, not {part!r}')  # fmt: skip
    return errors_only, service


def _meets(span: Span, errors_only: bool, services: set[str], operation: str | None) -> bool:
    """Whether one span meets every condition: failed (``errors_only``), of each of
    ``services`` (two different ones: none does), named ``operation``."""
    return ((not errors_only or span.status is SpanStatus.ERROR)
            and all(span.service_name == s for s in services)
            and (operation is None or span.operation == operation))  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Kept:
    """A kept trace and what a search asks of it."""

    trace: Trace
    first: int  # its first span's start (ns)
    took_ms: float  # from its first span's start to its last span's end

    @classmethod
    def of(cls, trace: Trace) -> _Kept:
        first = min(s.start_ns for s in trace.spans)
        last = max(s.end_ns for s in trace.spans)
        return cls(trace, first, (last - first) / 1e6)


def _ms(text: str) -> float:
    found = re.fullmatch(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text.strip())
    if found is None:
        raise UsageError(f"{text!r} is not a duration such as 500ms, 2s or 1m")
    scale = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}
    return float(found.group(1)) * scale[found.group(2)]


__all__ = ["LOGS_TRACES_KEY", "RecordedLogsTraces", "read_recorded", "record_logs_traces"]
