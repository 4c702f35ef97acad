"""Alerts, logs and traces (docs/architecture.md#rules)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pydantic import Field, field_validator

from aiops_desktop.models.base import DomainModel
from aiops_desktop.models.enums import (
    LogDirection,
    SpanKind,
    SpanStatus,
)

LOG_DEFAULT_LIMIT = 100
LOG_MAX_LIMIT = 5000
#: bounds on what a server answers and a capture holds (a crafted one is refused, not read
#: into gigabytes): a time in ns past NS_MOST holds in no int64 (nor sums as a float)
NS_MOST = 2**63 - 1
MOST_LINE_CHARS = 16_384  # a log line is cut here, and says so (collectors.loki)
CUT_NOTE_CHARS = 64
MOST_LABELS = 128
MOST_ATTRIBUTES = 128
MOST_EVENTS = 128


class LogQuery(DomainModel):
    logql: str = Field(min_length=1)
    start_ns: int | None = None
    end_ns: int | None = None
    direction: LogDirection = LogDirection.BACKWARD
    limit: int = Field(default=LOG_DEFAULT_LIMIT, ge=1, le=LOG_MAX_LIMIT)


class LogEntry(DomainModel):
    cluster: str
    timestamp_ns: int = Field(ge=0, le=NS_MOST)
    line: str = Field(max_length=MOST_LINE_CHARS + CUT_NOTE_CHARS)
    labels: dict[str, str] = Field(default_factory=dict, max_length=MOST_LABELS)


class LogResult(DomainModel):
    """What a LogQL query gave: log lines (newest first for BACKWARD), or for a metric query
    (``count_over_time`` ...) its series; ``truncated``: more lines matched than were read;
    ``notes``: what the person should know of how it was read (lines that could not be)."""

    entries: list[LogEntry] = Field(default_factory=list)
    series: list[LogSeries] = Field(default_factory=list)
    truncated: bool = False
    pages: int = 0
    notes: list[str] = Field(default_factory=list)


class LogSeries(DomainModel):
    """One series of a LogQL metric query: its labels and (unix s, value) points."""

    labels: dict[str, str] = Field(default_factory=dict)
    points: list[tuple[float, float]] = Field(default_factory=list)


#: a trace id as Tempo takes one: up to 32 hex digits (its search writes them without
#: leading zeros); collectors.tempo's TRACE_ID is this one (the models may not import it)
HEX_TRACE_ID = re.compile(r"[0-9a-f]{1,32}")


def _trace_id(value: str) -> str:
    """A trace's id, lower case, or refused: one from a capture (a file from outside) is
    printed and shown, and an id that is not hex would put its text there as it is."""
    lower = value.lower()
    if not HEX_TRACE_ID.fullmatch(lower):
        raise ValueError(f"a trace id is 1 to 32 hex digits, not {value[:40]!r}")
    return lower


class TraceSummary(DomainModel):
    """One trace a search found."""

    trace_id: str
    root_service: str = ""
    root_name: str = ""
    # bounded as a span's times are: a time past NS_MOST is no date (the views, the CLI and
    # the assistant write it as one)
    start_ns: int = Field(default=0, ge=0, le=NS_MOST)
    duration_ms: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    cluster: str = ""

    @field_validator("trace_id")
    @classmethod
    def _hex_trace_id(cls, value: str) -> str:
        return _trace_id(value)


class SpanEvent(DomainModel):
    """A span event, shown as a log line in the trace view."""

    timestamp_ns: int = Field(ge=0, le=NS_MOST)
    name: str
    attributes: dict[str, str] = Field(default_factory=dict, max_length=MOST_ATTRIBUTES)


class Span(DomainModel):
    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    service_name: str
    operation: str
    kind: SpanKind = SpanKind.UNSPECIFIED
    start_ns: int = Field(ge=0, le=NS_MOST)
    duration_ns: int = Field(ge=0, le=NS_MOST)
    status: SpanStatus = SpanStatus.UNSET
    status_message: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict, max_length=MOST_ATTRIBUTES)
    events: list[SpanEvent] = Field(default_factory=list, max_length=MOST_EVENTS)

    @property
    def end_ns(self) -> int:
        """When it ended: when its status and duration became known."""
        return self.start_ns + self.duration_ns

    @field_validator("trace_id", "span_id", "parent_span_id")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            int(value, 16)
        except ValueError as exc:
            raise ValueError(f"span/trace id {value!r} is not hexadecimal") from exc
        return value.lower()


class Trace(DomainModel):
    trace_id: str
    cluster: str
    spans: list[Span] = Field(default_factory=list)
    #: how many spans the trace had where it was cut (the client's MOST_SPANS, a capture's
    #: bound): then ``spans`` holds fewer, chosen by ``spans_to_keep``; None: not cut (or a
    #: capture written before it was said, which cut without saying)
    spans_total: int | None = Field(default=None, ge=0, le=NS_MOST)

    @field_validator("trace_id")
    @classmethod
    def _hex_trace_id(cls, value: str) -> str:
        return _trace_id(value)

    @property
    def root(self) -> Span | None:
        ids = {s.span_id for s in self.spans}
        return next((s for s in self.spans if s.parent_span_id not in ids), None)

    @property
    def has_error(self) -> bool:
        return any(s.status is SpanStatus.ERROR for s in self.spans)

    @property
    def cut(self) -> bool:
        """Whether spans were left out (``spans_total`` says how many it had)."""
        return self.spans_total is not None and self.spans_total > len(self.spans)

    @property
    def spans_said(self) -> str:
        """Its span count as every view, the CLI and the assistant write it: "3 spans", or
        "20,000 of 25,000 spans" when it was cut."""
        kept = len(self.spans)
        if not self.cut:
            return f"{kept:,} {'span' if kept == 1 else 'spans'}"
        return f"{kept:,} of {self.spans_total:,} spans"

    def cut_to(self, most: int) -> Trace:
        """This trace with at most ``most`` spans (``spans_to_keep``: its errors and their
        parents first, then the earliest), saying how many it had; itself when they fit."""
        if len(self.spans) <= most:
            return self
        keys = [(s.span_id, s.parent_span_id, s.status is SpanStatus.ERROR, s.start_ns)
                for s in self.spans]  # fmt: skip
        kept = [self.spans[i] for i in spans_to_keep(keys, most)]
        total = max(self.spans_total or 0, len(self.spans))
        return self.model_copy(update={"spans": kept, "spans_total": total})


#: what ``spans_to_keep`` reads of a span: (span id, parent span id, failed, start in ns)
SpanKey = tuple[str, str | None, bool, int]


def spans_to_keep(keys: Sequence[SpanKey], most: int) -> list[int]:
    """Which of a trace's spans to keep when it holds more than ``most`` (their indices, in
    the order given): the failed spans, each with the chain of its parents up to the root
    (the earliest errors first), so a failing trace cut short still shows its failure and
    where it was called from; then the earliest spans by start. The one way a trace is cut:
    a client reading one (``collectors.tempo``) and a capture keeping one alike."""
    if len(keys) <= most:
        return list(range(len(keys)))
    if most <= 0:
        return []
    first: dict[str, int] = {}
    for index, (span_id, *_) in enumerate(keys):
        first.setdefault(span_id, index)
    kept: dict[int, None] = {}  # ordered: each index once
    errors = sorted((at for at, key in enumerate(keys) if key[2]), key=lambda at: keys[at][3])
    for error in errors:
        # the error, then its parents while they are not kept already (a loop stops there)
        at: int | None = error
        while at is not None and at not in kept and len(kept) < most:
            kept[at] = None
            parent = keys[at][1]
            at = first.get(parent) if parent is not None else None
        if len(kept) >= most:
            break
    for earliest in sorted(range(len(keys)), key=lambda at: keys[at][3]):
        if len(kept) >= most:
            break
        kept.setdefault(earliest, None)
    return sorted(kept)


# -- reading logs and traces (the pages, the CLI and the signals read them alike) ---------
def quoted(text: str) -> str:
    """``text`` inside a LogQL or TraceQL double-quoted string: a quote or a backslash in it
    cannot end it (here, with the models, so that a view completing a label value can quote
    it as the services quote theirs)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


_REPLICA_HASHES = re.compile(r"-[a-z0-9]{6,10}-[a-z0-9]{5}$")
_ENTITY_POD = re.compile(r"^(?P<cluster>\S+) pod (?P<namespace>[^/]+)/(?P<pod>.+)$")


def service_of_pod(pod: str) -> str:
    """A Deployment's pod's service: its name without the ReplicaSet's and the pod's hashes
    ("ts-contacts-service-866bd68c97-xcqfx" -> "ts-contacts-service")."""
    return _REPLICA_HASHES.sub("", pod)


def pod_entity(entity: str) -> tuple[str, str, str] | None:
    """(cluster, namespace, pod) of an RCA or incident entity that names a pod, else None."""
    found = _ENTITY_POD.match(entity)
    return (found["cluster"], found["namespace"], found["pod"]) if found else None


#: an id the text says is the trace's (``trace_id=``, ``TraceID: ``, ``"traceId": "``)
TRACE_ID = re.compile(r"trace_?id[=: \"']+([0-9a-f]{32})\b", re.IGNORECASE)
_BARE_ID = re.compile(r"\b[0-9a-f]{32}\b", re.IGNORECASE)
_ID_LABEL = re.compile(r"trace_?id", re.IGNORECASE)
_LABEL_ID = re.compile(r"[0-9a-f]{1,32}", re.IGNORECASE)  # as Tempo takes one (collectors.tempo)


def trace_id_in(line: str, labels: Mapping[str, str] | None = None) -> str | None:
    """The trace id a log line names, if any: its entry's ``trace_id`` label (Loki's
    structured metadata), else an id its text labels (``TraceID: 51de...``,
    ``trace_id=...``), else its first bare 32-hex token. A labelled one goes first: an ETag
    or an MD5 earlier in the line is 32 hex digits too, and names no trace."""
    for key, value in (labels or {}).items():
        if _ID_LABEL.fullmatch(key) and _LABEL_ID.fullmatch(value.strip()):
            return value.strip().lower()
    labelled = TRACE_ID.search(line)
    if labelled:
        return labelled.group(1).lower()
    bare = _BARE_ID.search(line)
    return bare.group(0).lower() if bare else None


_LEVEL = re.compile(
    r"\b(?P<word>FATAL|CRITICAL|ERROR|ERR|WARNING|WARN|INFO|DEBUG|TRACE)\b"
    r"|level[\"']?\s*[=:]\s*[\"']?(?P<kv>fatal|critical|error|err|warning|warn|info|debug)",
    re.IGNORECASE,
)
_LEVELS = {"fatal": "error", "critical": "error", "error": "error", "err": "error",
           "warning": "warn", "warn": "warn", "info": "info", "debug": "debug",
           "trace": "debug"}  # fmt: skip


def line_level(line: str) -> str | None:
    """A log line's level (error, warn, info, debug) from its first level word or a
    ``level=``/``"level":`` field; None when it says none."""
    found = _LEVEL.search(line[:400])
    if found is None:
        return None
    return _LEVELS[(found["word"] or found["kv"]).lower()]


def depth_first(trace: Trace) -> list[tuple[int, Span]]:
    """The spans from the root(s) down, children by start time, each with its depth: the
    waterfall's rows (a span whose parent is missing starts a root of its own). Each span id
    is shown once: a server that repeats a span, or a crafted trace whose parents loop,
    gives each span one row, never a walk that multiplies."""
    ids = {s.span_id for s in trace.spans}
    by_start = sorted(trace.spans, key=lambda s: s.start_ns)
    children: dict[str | None, list[Span]] = {}
    for span in by_start:
        parent = span.parent_span_id if span.parent_span_id in ids else None
        children.setdefault(parent, []).append(span)
    out: list[tuple[int, Span]] = []
    shown: set[str] = set()
    # the roots, then any span not reached from one (parents that loop among themselves)
    for root in [*children.get(None, []), *by_start]:
        stack = [(0, root)]
        while stack:
            depth, span = stack.pop()
            if span.span_id in shown:
                continue
            shown.add(span.span_id)
            out.append((depth, span))
            stack += [(depth + 1, c) for c in reversed(children.get(span.span_id, []))]
    return out


def service_calls(trace: Trace) -> dict[tuple[str, str], tuple[int, int]]:
    """(caller service, called service) -> (calls, failed calls): a span whose parent is in
    another service is a call between them (the service dependency graph); the call failed
    when that span, or one under it in the called service, is an error."""
    by_id = {s.span_id: s for s in trace.spans}
    failed = _failed_within_service(trace.spans)
    calls: dict[tuple[str, str], tuple[int, int]] = {}
    for span in trace.spans:
        parent = by_id.get(span.parent_span_id or "")
        if parent is None or parent.service_name == span.service_name:
            continue
        key = (parent.service_name, span.service_name)
        n, bad = calls.get(key, (0, 0))
        calls[key] = (n + 1, bad + ((span.span_id, span.service_name) in failed))
    return calls


def _failed_within_service(spans: list[Span]) -> set[tuple[str, str]]:
    """The (span id, service) of each span that failed or has a failed span under it in its
    own service: worked out once, up from each error along its parents in that service (each
    span marked once, so a trace whose ids repeat, or whose parents loop, costs one pass:
    a walk down from every call cost the square of the spans, 13 s for 10,000)."""
    by_key: dict[tuple[str, str], list[Span]] = {}
    for span in spans:
        by_key.setdefault((span.span_id, span.service_name), []).append(span)
    failed: set[tuple[str, str]] = set()
    climb = [(s.span_id, s.service_name) for s in spans if s.status is SpanStatus.ERROR]
    while climb:
        key = climb.pop()
        if key in failed:
            continue  # marked from another error below it: its parents are marked too
        failed.add(key)
        for span in by_key.get(key, []):
            up = (span.parent_span_id or "", key[1])
            if up in by_key and up not in failed:
                climb.append(up)
    return failed
