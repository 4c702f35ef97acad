"""What traces and error logs say to RCA: per entity (a pod, else a service), how many of its
spans failed and how slow its slowest span was, minute by minute; who calls whom (a caller
depends on what it calls: its errors may be the called one's); and the failing traces through
a cause, to quote.

An entity is named as ``analysis.incidents.entity_of`` names a pod (``"<cluster> pod
<namespace>/<pod>"``) when the span says its pod (OpenTelemetry's ``k8s.pod.name`` and
``k8s.namespace.name``), else ``"<cluster> service <name>"``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Protocol, TypeVar

import numpy as np

from aiops_desktop.logs import redact
from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import Span, Trace
from aiops_desktop.models.text import one_line, printable
from analysis.rca.model import Signal, SignalKind
from analysis.rca.topology import Edge

STEP_S = 60.0
#: traces a step read for the time calls spend outside their callee (Tempo's search gives
#: the newest of each minute): chosen on the RCA benchmark's development part (README)
SAMPLED_PER_STEP = 16
CALL_TIME = "network ms of calls in"


def span_entity(cluster: str, span: Span) -> str:
    pod = span.attributes.get("k8s.pod.name")
    namespace = span.attributes.get("k8s.namespace.name")
    if pod and namespace:
        return f"{cluster} pod {namespace}/{pod}"
    return f"{cluster} service {span.service_name}"


def _steps(start_s: float, end_s: float, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The steps of a window: where each begins (on the step's multiples) and when what
    happened in it is known: at its end, the last (cut short) at ``end_s``."""
    starts = np.arange(start_s - start_s % step_s, end_s, step_s)
    return starts, np.minimum(starts + step_s, end_s)


def trace_signals(
    traces: Iterable[Trace], start_s: float, end_s: float, step_s: float = STEP_S
) -> tuple[list[Signal], list[Edge]]:
    """Each entity's failed spans and slowest span per step between ``start_s`` and
    ``end_s``, and the call edges. Causal: a span counts once it has ended (its status and
    duration are known then), in the step it ended in; one that ends after ``end_s`` is not
    read. A step without spans of an entity is unknown (NaN) for its slowest span."""
    starts, known_at = _steps(start_s, end_s, step_s)
    errors: dict[str, np.ndarray] = {}
    slowest: dict[str, np.ndarray] = {}
    edges: set[Edge] = set()
    for trace in traces if starts.size else ():
        by_id = {s.span_id: s for s in trace.spans}
        for span in trace.spans:
            ended = span.end_ns / 1e9
            if not (start_s <= span.start_ns / 1e9 and ended <= end_s):
                continue
            entity = span_entity(trace.cluster, span)
            i = min(max(int((ended - starts[0]) // step_s), 0), starts.size - 1)
            errors.setdefault(entity, np.zeros(starts.size))[i] += span.status is SpanStatus.ERROR
            slow = slowest.setdefault(entity, np.full(starts.size, np.nan))
            slow[i] = np.fmax(slow[i], span.duration_ns / 1e6)
            parent = by_id.get(span.parent_span_id or "")
            if parent is not None and parent.service_name != span.service_name:
                edges.add((span_entity(trace.cluster, parent), entity))
    signals = [Signal(e, "failed spans", SignalKind.ERRORS, known_at, v, resolution=1.0)
               for e, v in errors.items()]  # fmt: skip
    signals += [Signal(e, "slowest span ms", SignalKind.LATENCY, known_at, v)
                for e, v in slowest.items()]  # fmt: skip
    return signals, sorted(edges)


def _log_stamps(start_s: float, end_s: float, step_s: float) -> np.ndarray:
    """Where Loki's counts asked from ``start_s`` every ``step_s`` have their points."""
    stamps = np.arange(start_s, end_s + step_s / 2, step_s)
    return stamps[stamps <= end_s]


def error_log_signals(
    cluster: str, series: Iterable[tuple[dict[str, str], list[tuple[float, float]]]],
    start_s: float, end_s: float, step_s: float = STEP_S,
) -> list[Signal]:  # fmt: skip
    """Loki's per-pod counts of error lines (``sum by (k8s_namespace_name, k8s_pod_name)
    (count_over_time(... [1m]))``, asked from ``start_s`` every ``step_s``) as signals: a
    point counts the step before it, so it is stamped at its own time, never earlier (a
    step without a point is 0 lines); none after ``end_s`` is read."""
    stamps = _log_stamps(start_s, end_s, step_s)
    out = []
    for labels, points in series:
        pod, namespace = labels.get("k8s_pod_name"), labels.get("k8s_namespace_name")
        if not (pod and namespace) or not stamps.size:
            continue
        values = np.zeros(stamps.size)
        for t, v in points:
            if start_s <= t <= end_s:  # at the first stamp at or after it: never early
                values[min(int(np.searchsorted(stamps, t)), stamps.size - 1)] += v
        out.append(Signal(f"{cluster} pod {namespace}/{pod}", "error log lines", SignalKind.ERRORS,
                          stamps, values, resolution=1.0))  # fmt: skip
    return out


#: what the name of each template's signal begins with; the template follows (the evidence,
#: the RCA's charts and the model's facts are keyed by name: they say which kind rose)
ERROR_TEMPLATE = "error lines: "
#: characters of a template its signal's name shows (a row's and a chart legend's width)
TEMPLATE_NAME_CHARS = 80
#: words of a log line that make its template (ids, hashes and numbers masked): chosen on
#: the RCA benchmark's development cases (README; 8 to 20 gave the same rankings there)
TEMPLATE_WORDS = 12
#: characters of a line read for its template: its first words are all a template keeps,
#: and a line can be 16 KiB (a stack trace, a JSON body); no benchmark line's words run past
TEMPLATE_CHARS = 1_000
#: templates kept per entity: a service whose lines carry a value the masks miss must not
#: make thousands of signals. Those with the most lines in one step of the window, then in
#: all: a burst of a new kind in the incident's minutes outranks a trickle written all along
#: (the most lines in all would keep the trickle). No benchmark case has over 4 a service
TEMPLATES_KEPT = 20
_HEX = re.compile(r"[0-9a-fA-F][0-9a-fA-F-]{7,}")  # ids, hashes, uuids
_DIGITS = re.compile(r"\d+")


def log_template(line: str) -> str:
    """A log line's template: its first ``TEMPLATE_WORDS`` words with ids, hashes and
    numbers masked (a line's time, trace id and values vary, its wording does not). A
    template's template is itself (the masks leave nothing they would mask again)."""
    masked = _DIGITS.sub("<N>", _HEX.sub("<H>", line[:TEMPLATE_CHARS]))
    return " ".join(masked.split()[:TEMPLATE_WORDS])


def _template_names(templates: Iterable[str]) -> dict[str, str]:
    """Each of an entity's templates' signal name: ``ERROR_TEMPLATE`` and the template as
    one printable line, redacted (it is a server's text: a line's first words can hold a
    secret), cut to ``TEMPLATE_NAME_CHARS``. Two that cutting or redaction made alike get
    " (2)", " (3)"... in the order given: two of one name would share one chart."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for template in templates:
        shown = redact(one_line(template))  # redacted before it is cut: no secret half-cut
        if len(shown) > TEMPLATE_NAME_CHARS:
            shown = shown[: TEMPLATE_NAME_CHARS - 1] + "…"
        name, n = ERROR_TEMPLATE + shown, 1
        while name in taken:
            n += 1
            name = f"{ERROR_TEMPLATE}{shown} ({n})"
        taken.add(name)
        names[template] = name
    return names


def error_template_signals(
    lines: Iterable[tuple[str, float, str]], stamps: Iterable[float], start_s: float,
    end_s: float,
) -> list[Signal]:  # fmt: skip
    """Per entity and error template, its error lines per step between ``start_s`` and
    ``end_s``, from ``(entity, stamp, line)`` of error lines (``stamp``: when the step that
    holds the line is known, never before the line) and the ``stamps`` at which logs were
    read (a read stamp without a template's line is 0 of it).

    Each kind of error apart: a kind an entity never wrote in its baseline stands out (a
    baseline of none) even where the entity writes other errors all along, whose total
    count hid it (Train Ticket's exception faults). Causal: nothing stamped outside the
    window is read, so the ``TEMPLATES_KEPT`` an entity keeps are chosen on the window's
    lines alone, and a line after ``end_s`` never changes a ranking."""
    per: dict[str, dict[str, dict[float, int]]] = {}  # entity -> template -> stamp -> lines
    for entity, at, line in lines:
        if start_s <= at <= end_s:
            counts = per.setdefault(entity, {}).setdefault(log_template(line), {})
            counts[at] = counts.get(at, 0) + 1
    read = {t for t in stamps if start_s <= t <= end_s}
    out = []
    for entity, templates in sorted(per.items()):
        most = sorted(templates, key=lambda t: (-max(templates[t].values()),
                                                -sum(templates[t].values()), t))  # fmt: skip
        names = _template_names(sorted(most[:TEMPLATES_KEPT]))
        for template, name in names.items():
            counts = templates[template]
            ts = np.array(sorted(read | set(counts)))
            out.append(Signal(entity, name, SignalKind.ERRORS, ts,
                              np.array([float(counts.get(t, 0)) for t in ts]),
                              resolution=1.0))  # fmt: skip
    return out


def error_line_signals(
    cluster: str, lines: Iterable[tuple[Mapping[str, str], float, str]], start_s: float,
    end_s: float, *, read_from_s: float | None = None, step_s: float = STEP_S,
) -> list[Signal]:  # fmt: skip
    """Loki's error lines ``(labels, unix s, line)`` as each pod's lines per template
    (``error_template_signals``), on the stamps of its counts (``error_log_signals``): a
    line counts at the first stamp at or after it, as in ``count_over_time``, so the first
    stamp holds the step before ``start_s`` (the last, the rest up to ``end_s``, as there).
    ``read_from_s``: how far back a read cut by its limit reached (the newest lines first):
    a step that began before it is not known in full, so it is not read (a template's
    baseline is never a run of zeros it was not)."""
    stamps = _log_stamps(start_s, end_s, step_s)
    if not stamps.size:
        return []
    known = stamps if read_from_s is None else stamps[stamps - step_s >= read_from_s]
    kept = set(known.tolist())
    rows = []
    for labels, at, line in lines:
        pod, namespace = labels.get("k8s_pod_name"), labels.get("k8s_namespace_name")
        if not (pod and namespace) or not start_s - step_s < at <= end_s:
            continue
        stamp = float(stamps[min(int(np.searchsorted(stamps, at)), stamps.size - 1)])
        if stamp in kept:
            rows.append((f"{cluster} pod {namespace}/{pod}", stamp, line))
    return error_template_signals(rows, kept, start_s, end_s)


@dataclass(frozen=True)
class FailingTrace:
    """A failing trace through a cause, as the RCA page and the incident report quote it."""

    start_s: float
    trace_id: str
    root: str  # "<service> <operation>" of its first span
    duration_ms: float
    error: str  # the cause's failed span: its status message, else its operation


def first_failed(trace: Trace, end_s: float) -> dict[str, Span]:
    """Each entity's first span (by start) that failed in ``trace`` by ``end_s``: the one
    whose text ``failing_through`` quotes for it. With the trace's first span, the only spans
    whose texts are quoted: the service redacts those for what leaves the site."""
    out: dict[str, Span] = {}
    for span in trace.spans:
        if span.status is SpanStatus.ERROR and span.end_ns / 1e9 <= end_s:
            entity = span_entity(trace.cluster, span)
            if entity not in out or span.start_ns < out[entity].start_ns:
                out[entity] = span
    return out


def failing_through(traces: Iterable[Trace], entity: str, end_s: float, most: int = 3,
                    around: float | None = None) -> list[FailingTrace]:  # fmt: skip
    """At most ``most`` traces in which ``entity``'s own span failed by ``end_s`` (a span's
    failure is known when it ends), by start: the first ones, or, ``around`` a time (the
    window's change: its first traces are the baseline's noise), the nearest starting at or
    after it, then the nearest before it. Their texts are a server's: redacted, printable."""
    out = []
    for trace in traces:
        failed = first_failed(trace, end_s).get(entity)
        if failed is None:
            continue
        first = min(trace.spans, key=lambda s: s.start_ns)
        ended = [s.end_ns for s in trace.spans if s.end_ns / 1e9 <= end_s]
        out.append(FailingTrace(
            first.start_ns / 1e9, trace.trace_id,
            # a server's texts (an operation may be a URL with a token): no secret, and no
            # control character that could split one from its redaction
            redact(printable(f"{first.service_name} {first.operation}")),
            (max(ended) - first.start_ns) / 1e6,  # as far as it was known by the end
            redact(printable(failed.status_message or failed.operation)),
        ))  # fmt: skip
    by_start = attrgetter("start_s", "trace_id")
    if around is not None:  # those at or after it first, nearest first; then before it
        after = sorted((t for t in out if t.start_s >= around), key=by_start)
        before = sorted((t for t in out if t.start_s < around), key=by_start, reverse=True)
        out = (after + before)[:most]
    return sorted(out, key=by_start)[:most]


class SpanLike(Protocol):
    """What the time outside a callee needs of a span (``Span`` has it; so does a recorded
    row)."""

    @property
    def span_id(self) -> str: ...
    @property
    def parent_span_id(self) -> str | None: ...
    @property
    def service_name(self) -> str: ...
    @property
    def start_ns(self) -> int: ...
    @property
    def duration_ns(self) -> int: ...


_S = TypeVar("_S", bound=SpanLike)


def time_outside(spans: Sequence[_S], ended_by_ns: int | None = None) -> Iterator[tuple[_S, float]]:
    """Each span called from another service's span, with the time (ms) its caller's span
    lasted beyond it: the call's time on the network, in queues and in the client, outside
    the called service. A delay on a pod's network shows here on every call into it, while
    its callers' own spans only grow by what they wait (a symptom). ``ended_by_ns``: only
    the calls whose caller's span had ended by then (what was known at that time)."""
    by_id = {s.span_id: s for s in spans}
    for span in spans:
        parent = by_id.get(span.parent_span_id or "")
        if parent is None or parent.service_name == span.service_name:
            continue
        if ended_by_ns is None or parent.start_ns + parent.duration_ns <= ended_by_ns:
            yield span, max(parent.duration_ns - span.duration_ns, 0) / 1e6


def call_time_signals(
    samples: Iterable[tuple[str, float, float]], start_s: float, end_s: float,
    step_s: float = STEP_S,
) -> list[Signal]:  # fmt: skip
    """Per callee entity and step, the median time its calls spent outside it, from
    ``(entity, unix s, ms)`` samples (``time_outside``); a step without calls is unknown
    (NaN), none after ``end_s`` is read; a step's median is stamped at its end, when it is
    known (the last, cut short, at ``end_s``). The entity's own network: a resource of its
    own."""
    grid, known_at = _steps(start_s, end_s, step_s)
    per: dict[str, list[list[float]]] = {}
    for entity, at, ms in samples:
        if start_s <= at <= end_s and grid.size:
            steps = per.setdefault(entity, [[] for _ in grid])
            steps[min(int((at - grid[0]) // step_s), grid.size - 1)].append(ms)
    return [
        Signal(entity, CALL_TIME, SignalKind.RESOURCE, known_at,
               np.array([float(np.median(v)) if v else np.nan for v in steps]))
        for entity, steps in per.items()
    ]  # fmt: skip
