"""Tempo HTTP API client (read-only): a trace by id (``/api/traces/<id>``, OTLP JSON: the
``batches`` of Tempo 1/2 or the ``trace.resourceSpans`` of ``/api/v2/traces``), search
(``/api/search``: service, operation, min/max duration, tags, or a TraceQL ``q`` that the
others are written into), tags and tag values, and TraceQL metrics
(``/api/metrics/query_range``: the error and slow-span rates the poller records). Span and
trace ids come base64 in OTLP JSON and are shown hex; status code 2 (``STATUS_CODE_ERROR``)
is an error; span events are kept (the trace view shows them as log lines).

Paths: Tempo's own (``/api/...``) or a TempoStack gateway's for one tenant, when the URL is
given with it (``https://gw/api/traces/v1/<tenant>`` -> ``.../tempo/api/...``). Everything is
bounded: at most MOST_SPANS spans per trace (a trace cut says how many it had, and keeps its
errors), MOST_TRACES per search and MOST_SERIES series per metrics query are read."""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import re
from itertools import islice
from typing import TYPE_CHECKING, Any

from aiops_desktop.models.enums import SpanKind, SpanStatus
from aiops_desktop.models.observability import (
    HEX_TRACE_ID,
    MOST_ATTRIBUTES,
    MOST_EVENTS,
    NS_MOST,
    LogSeries,
    Span,
    SpanEvent,
    SpanKey,
    Trace,
    TraceSummary,
    quoted,
    spans_to_keep,
)
from collectors.errors import CollectorBadResponse, CollectorError, CollectorInvalidQuery
from collectors.shapes import SHAPE_ERRORS

if TYPE_CHECKING:
    from collectors.http import BackendClient

MOST_SPANS = 20_000
MOST_TRACES = 500
MOST_SERIES = 2_000
MOST_TAGS = 10_000  # tag names, or one tag's values, read for completion
#: the longest window one TraceQL metrics query may ask (Tempo's default
#: ``query_frontend.metrics.max_duration``, 3 h): a longer one is asked in pieces
RANGE_MOST_S = 3 * 3600
#: the most of a name or value from outside kept (an attribute, a span's or an event's name,
#: a Loki label's name and value): a 42 MB span name took 5.2 s a waterfall paint
MAX_ATTRIBUTE_CHARS = 2_000
#: a batch's resource attributes that each of its spans carries: OpenTelemetry's
#: k8sattributes processor names the pod in the resource, not in each span, and RCA names a
#: span's pod as Loki and the stored series do (``analysis.rca.traces.span_entity``)
RESOURCE_ON_SPANS = ("k8s.pod.name", "k8s.namespace.name", "k8s.node.name")
_GATEWAY = re.compile(r"/api/traces/v1/[A-Za-z0-9_-]+/?$")
#: a duration as Tempo reads one (``minDuration``, TraceQL's ``traceDuration``): 500ms, 1.5s
DURATION = re.compile(r"\d+(\.\d+)?(ns|us|µs|ms|s|m|h)")
#: a trace id as asked: up to 32 hex digits (Tempo's search writes them without leading zeros)
TRACE_ID = HEX_TRACE_ID  # the models check theirs by it (models.observability)
_KINDS = {
    "SPAN_KIND_INTERNAL": SpanKind.INTERNAL, "SPAN_KIND_SERVER": SpanKind.SERVER,
    "SPAN_KIND_CLIENT": SpanKind.CLIENT, "SPAN_KIND_PRODUCER": SpanKind.PRODUCER,
    "SPAN_KIND_CONSUMER": SpanKind.CONSUMER, 1: SpanKind.INTERNAL, 2: SpanKind.SERVER,
    3: SpanKind.CLIENT, 4: SpanKind.PRODUCER, 5: SpanKind.CONSUMER,
}  # fmt: skip
_STATUS = {2: SpanStatus.ERROR, "STATUS_CODE_ERROR": SpanStatus.ERROR,
           1: SpanStatus.OK, "STATUS_CODE_OK": SpanStatus.OK}  # fmt: skip


def api_prefix(url: str) -> str:
    """``/tempo`` under a TempoStack gateway's tenant URL, nothing for Tempo's own."""
    return "/tempo" if _GATEWAY.search(url.rstrip("/") + "/") else ""


def hex_id(value: Any, what: str = "id", width: int = 16) -> str:
    """An OTLP id as hex: base64 (OTLP JSON, always padded) or already hex (Tempo's search
    writes trace ids hex, without their leading zeros: given back ``width`` digits long)."""
    text = str(value or "")
    if re.fullmatch(r"[0-9a-fA-F]{1,32}", text):
        return text.lower().zfill(width)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        said = f"a {what} that is neither base64 nor hex: {text[:40]!r}"
        raise CollectorBadResponse(said) from exc
    if len(raw) not in (8, 16):
        raise CollectorBadResponse(f"a {what} of {len(raw)} bytes (8 or 16 expected)")
    return raw.hex()


def attribute_text(value: Any) -> str:
    """A name or value from outside as text, its first MAX_ATTRIBUTE_CHARS (Loki's labels are
    read by it too)."""
    return str(value)[:MAX_ATTRIBUTE_CHARS]


def _value(v: Any) -> str:
    if not isinstance(v, dict):
        return attribute_text(v)
    for key in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if key in v:
            return attribute_text(v[key])
    if "arrayValue" in v:
        return attribute_text(", ".join(_value(x) for x in (v["arrayValue"].get("values") or [])))
    return ""


def _attributes(items: Any) -> dict[str, str]:
    """OTLP attributes as text, the first MOST_ATTRIBUTES of them, each name cut as its value
    is (a 5,000,000-character name went whole into a capture)."""
    found = (a for a in items or [] if isinstance(a, dict))
    return {attribute_text(a.get("key")): _value(a.get("value"))
            for a in islice(found, MOST_ATTRIBUTES)}  # fmt: skip


def _with_resource(own: dict[str, str], resource: dict[str, str]) -> dict[str, str]:
    """A span's attributes with its resource's RESOURCE_ON_SPANS that it does not set itself,
    still at most MOST_ATTRIBUTES: a span at the bound gives up its last others for them."""
    added = {k: v for k, v in resource.items() if k not in own}
    if len(own) + len(added) <= MOST_ATTRIBUTES:
        return {**own, **added}
    named = {k: v for k, v in own.items() if k in RESOURCE_ON_SPANS}
    others = ((k, v) for k, v in own.items() if k not in RESOURCE_ON_SPANS)
    return {**dict(islice(others, MOST_ATTRIBUTES - len(named) - len(added))), **named, **added}


def _resource(batch: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """A batch's service and the RESOURCE_ON_SPANS its resource sets, looked for among all
    its attributes (k8sattributes may add many of a pod's labels before them); the first of
    each name is read."""
    wanted = ("service.name", *RESOURCE_ON_SPANS)
    found: dict[str, str] = {}
    for a in (batch.get("resource") or {}).get("attributes") or []:
        key = a.get("key") if isinstance(a, dict) else None
        if key in wanted and key not in found:
            found[key] = _value(a.get("value"))
    service = found.pop("service.name", None)
    return service if service is not None else "unknown", {k: v for k, v in found.items() if v}


def _span(raw: dict[str, Any], service: str, resource: dict[str, str]) -> Span:
    start, end = int(raw["startTimeUnixNano"]), int(raw["endTimeUnixNano"])
    status = raw.get("status") or {}
    parent = raw.get("parentSpanId") or None
    events = [
        SpanEvent(timestamp_ns=int(e.get("timeUnixNano") or start),
                  name=attribute_text(e.get("name", "")),
                  attributes=_attributes(e.get("attributes")))
        for e in (raw.get("events") or [])[:MOST_EVENTS]
    ]  # fmt: skip
    return Span(
        trace_id=hex_id(raw["traceId"], "trace id", 32), span_id=hex_id(raw["spanId"], "span id"),
        parent_span_id=hex_id(parent, "parent id") if parent else None,
        service_name=service, operation=attribute_text(raw.get("name", "")),
        kind=_KINDS.get(raw.get("kind"), SpanKind.UNSPECIFIED), start_ns=start,
        duration_ns=max(0, end - start), status=_STATUS.get(status.get("code"), SpanStatus.UNSET),
        status_message=attribute_text(status["message"]) if status.get("message") else None,
        attributes=_with_resource(_attributes(raw.get("attributes")), resource), events=events,
    )  # fmt: skip


def parse_trace(payload: Any, trace_id: str, cluster: str) -> Trace:
    """Tempo's OTLP JSON of one trace as a Trace, each span id once (a span the server
    repeats is read the first time, so the waterfall, the service graph and the calls count
    each span once). A trace of more than MOST_SPANS spans is cut as every trace is
    (``spans_to_keep``: its errors and their parents first, then the earliest; only those
    are read), and says how many it had (``spans_total``), never "20,000 spans, 0 errors".
    Each span carries its batch's pod, namespace and node (RESOURCE_ON_SPANS) where it does
    not name its own: RCA and the views read a span's pod from its attributes."""
    if not isinstance(payload, dict):
        raise CollectorBadResponse("a trace that is not a JSON object")
    batches = payload.get("batches")
    if batches is None:
        batches = (payload.get("trace") or {}).get("resourceSpans") or payload.get("resourceSpans")
    spans: dict[str, Span] = {}  # by span id, in the order read
    try:
        found = [(batch, raw) for batch in batches or []
                 for scope in batch.get("scopeSpans") or batch.get("instrumentationLibrarySpans")
                 or [] for raw in scope.get("spans") or []]  # fmt: skip
        total = None  # how many it had, where it is cut
        if len(found) > MOST_SPANS:  # more than are read: the spans kept alone are read
            keys = [_raw_key(raw) for _, raw in found]
            ids = len({key[0] for key in keys})  # each id once
            if ids > MOST_SPANS:
                total = ids
                found = [found[at] for at in spans_to_keep(keys, MOST_SPANS)]
        # each batch's service and the resource attributes its spans carry, read once
        resources: dict[int, tuple[str, dict[str, str]]] = {}
        for batch, raw in found:
            if id(batch) not in resources:
                resources[id(batch)] = _resource(batch)
            span = _span(raw, *resources[id(batch)])
            spans.setdefault(span.span_id, span)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise CollectorBadResponse(
            f"a trace not in OTLP JSON ({exc.__class__.__name__}: {exc})"
        ) from exc
    return Trace(trace_id=trace_id.lower(), cluster=cluster, spans=list(spans.values()),
                 spans_total=total)  # fmt: skip


def _raw_key(raw: dict[str, Any]) -> SpanKey:
    """What ``spans_to_keep`` reads of a span not read yet: its ids as sent (a trace's ids
    come in one form, base64 in OTLP JSON: not decoded for a span that is not kept), a start
    that is no number last."""
    start, parent = raw.get("startTimeUnixNano"), raw.get("parentSpanId")
    status = (raw.get("status") or {}).get("code")
    return (str(raw.get("spanId") or ""), str(parent) if parent else None,
            _STATUS.get(status) is SpanStatus.ERROR,
            int(str(start)) if str(start).isdigit() else NS_MOST)  # fmt: skip


def parse_search(payload: Any, cluster: str) -> list[TraceSummary]:
    """Tempo's search answer as summaries (at most MOST_TRACES); a start that is no date
    (past NS_MOST, before 1970) or a duration that is no number is a bad answer: every
    view, the CLI and the assistant write the start as a date."""
    if not isinstance(payload, dict):
        raise CollectorBadResponse("a search answer that is not a JSON object")
    out = []
    try:
        for t in (payload.get("traces") or [])[:MOST_TRACES]:
            start = int(t.get("startTimeUnixNano") or 0)
            took = float(t.get("durationMs") or 0)
            if not 0 <= start <= NS_MOST or not (math.isfinite(took) and took >= 0):
                raise ValueError(f"a trace's start ({start} ns) or duration ({took} ms) "
                                 "out of range")  # fmt: skip
            out.append(TraceSummary(
                trace_id=hex_id(t["traceID"], "trace id", 32),
                root_service=attribute_text(t.get("rootServiceName") or ""),
                root_name=attribute_text(t.get("rootTraceName") or ""), start_ns=start,
                duration_ms=took, cluster=cluster,
            ))  # fmt: skip
    except (*SHAPE_ERRORS, ArithmeticError) as exc:
        raise CollectorBadResponse(
            f"a search answer not in Tempo's shape ({type(exc).__name__}: {exc})"[:300]
        ) from exc
    return out


def _names(payload: Any, key: str) -> list[str]:
    """A tags answer's list under ``key`` (``tagNames``, ``tagValues``) as text, at most
    MOST_TAGS; an answer of another shape (a list, a number) is a bad answer."""
    body = {} if payload is None else payload
    if not isinstance(body, dict) or not isinstance(body.get(key) or [], list):
        raise CollectorBadResponse(f"a tags answer not in Tempo's shape: {str(payload)[:80]}")
    return [attribute_text(v) for v in (body.get(key) or [])[:MOST_TAGS]]


def parse_metrics(payload: Any) -> list[LogSeries]:
    """A TraceQL metrics answer (``/api/metrics/query_range``: ``series`` of OTLP-style
    ``labels`` and ``samples`` of ``timestampMs`` and ``value``) as series (unix s, value);
    at most MOST_SERIES series, a sample without a number is left out."""
    if not isinstance(payload, dict):
        raise CollectorBadResponse("a TraceQL metrics answer that is not a JSON object")
    out = []
    try:
        for item in (payload.get("series") or [])[:MOST_SERIES]:
            labels = _attributes(item.get("labels"))
            points = []
            for sample in item.get("samples") or []:
                value = sample.get("value")
                if isinstance(value, int | float) and math.isfinite(value):
                    points.append((int(sample["timestampMs"]) / 1000.0, float(value)))
            out.append(LogSeries(labels=labels, points=points))
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise CollectorBadResponse(
            f"a TraceQL metrics answer not in Tempo's shape ({exc})"
        ) from exc
    return out


def merged_series(pieces: list[list[LogSeries]]) -> list[LogSeries]:
    """The series of a query's pieces (``TempoClient.metrics_range``) merged by labels, each
    one's points in time order (a later piece's point at a time it shares wins), at most
    MOST_SERIES."""
    merged: dict[tuple[tuple[str, str], ...], dict[float, float]] = {}
    for found in pieces:
        for series in found:
            key = tuple(sorted(series.labels.items()))
            merged.setdefault(key, {}).update(series.points)
    return [LogSeries(labels=dict(k), points=sorted(p.items()))
            for k, p in islice(merged.items(), MOST_SERIES)]  # fmt: skip


class TempoInputError(CollectorInvalidQuery, ValueError):
    """A search or a trace id this client will not send: a duration Tempo cannot read, an id
    that is no hex, filters a TraceQL query cannot take. The asker's input, never sent (an
    invalid query, exit 2 on the command line); a ValueError too, as the callers that check
    what they were given catch."""


def _duration(text: str | None, what: str) -> str | None:
    if text is None:
        return None
    if not DURATION.fullmatch(text):
        raise TempoInputError(f"{what} {text!r} is not a duration such as 500ms, 2s or 1m")
    return text


class TempoClient:
    def __init__(self, http: BackendClient, cluster: str) -> None:
        self.http = http
        self.cluster = cluster
        self._prefix = api_prefix(http.base_url)

    @property
    def name(self) -> str:
        return self.http.name

    async def trace(self, trace_id: str) -> Trace:
        wanted = trace_id.strip().lower()
        if not TRACE_ID.fullmatch(wanted):
            raise TempoInputError(f"{trace_id!r} is not a trace id (up to 32 hex digits)")
        wanted = wanted.zfill(32)
        try:
            payload = await self.http.get_json(f"{self._prefix}/api/traces/{wanted}")
        except CollectorError as exc:
            if exc.status == 404:
                raise CollectorError(f"{self.name}: no trace {wanted} (HTTP 404)",
                                     backend=self.name, status=404) from exc  # fmt: skip
            raise
        # up to 20,000 spans: parsed off the event loop (the UI's thread under qasync)
        return await asyncio.to_thread(parse_trace, payload, wanted, self.cluster)

    async def search(
        self, *, service: str | None = None, operation: str | None = None,
        min_duration: str | None = None, max_duration: str | None = None,
        tags: dict[str, str] | None = None, traceql: str | None = None, limit: int = 20,
        start_s: int | None = None, end_s: int | None = None,
    ) -> list[TraceSummary]:  # fmt: skip
        """Traces by service, operation (a span's name), duration and tags, or by a TraceQL
        query: with one, the other filters are written into it (Tempo's TraceQL search
        reads ``q`` alone: ``tags``, ``minDuration`` and ``maxDuration`` beside it are
        ignored, so "errors only, slower than 500ms" answered fast traces too)."""
        params: dict[str, str] = {"limit": str(max(1, min(limit, MOST_TRACES)))}
        shortest = _duration(min_duration, "the minimum duration")
        longest = _duration(max_duration, "the maximum duration")
        if traceql:
            params["q"] = with_filters(traceql, service=service, operation=operation,
                                       tags=tags, min_duration=shortest,
                                       max_duration=longest)  # fmt: skip
        else:
            pairs = dict(tags or {})
            if service:
                pairs["service.name"] = service
            if operation:
                pairs["name"] = operation
            if pairs:  # logfmt: a value with a space or a quote is quoted
                params["tags"] = " ".join(f"{k}={_logfmt(v)}" for k, v in pairs.items())
            bounds = {"minDuration": shortest, "maxDuration": longest}
            params.update({k: v for k, v in bounds.items() if v})
        for key, when in (("start", start_s), ("end", end_s)):
            if when is not None:
                params[key] = str(when)
        payload = await self.http.get_json(f"{self._prefix}/api/search", params)
        return parse_search(payload, self.cluster)

    async def metrics_range(
        self, traceql: str, *, start_s: int, end_s: int, step_s: int
    ) -> list[LogSeries]:
        """A TraceQL metrics query over a window (``{ status = error } | rate() by (...)``;
        Tempo 2.4 or later): one point per ``step_s``. A window longer than RANGE_MOST_S
        (Tempo's default most per query) is asked in pieces, merged by labels. Each piece is
        parsed, and the pieces merged, off the event loop (the UI's thread under qasync):
        2,000 series of 780 points held it 1.66 s."""
        pieces: list[list[LogSeries]] = []
        # Tempo rounds a piece's ends out to the step before it checks the most it allows:
        # a piece a step shorter than RANGE_MOST_S, whole steps long, is never refused
        piece = max(step_s, (RANGE_MOST_S - step_s) // step_s * step_s)
        at = start_s
        while True:
            upto = min(end_s, at + piece)
            pieces.append(await self._metrics_piece(traceql, at, upto, step_s))
            if upto >= end_s:
                break
            at = upto
        return await asyncio.to_thread(merged_series, pieces)

    async def _metrics_piece(
        self, traceql: str, start_s: int, end_s: int, step_s: int
    ) -> list[LogSeries]:
        params = {"q": traceql, "start": str(start_s), "end": str(end_s), "step": f"{step_s}s"}
        try:
            # parsed where the answer is decoded (a worker thread for a big one)
            return await self.http.get_json(
                f"{self._prefix}/api/metrics/query_range", params, then=parse_metrics
            )
        except CollectorError as exc:
            if exc.status == 404:
                raise CollectorError(f"{self.name}: no TraceQL metrics here (HTTP 404; they "
                                     "need Tempo 2.4 or later)", backend=self.name,
                                     status=404) from exc  # fmt: skip
            raise

    async def tags(self) -> list[str]:
        payload = await self.http.get_json(f"{self._prefix}/api/search/tags")
        return _names(payload, "tagNames")

    async def tag_values(self, tag: str) -> list[str]:
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", tag):
            raise ValueError(f"{tag!r} is not a tag name")
        payload = await self.http.get_json(f"{self._prefix}/api/search/tag/{tag}/values")
        return _names(payload, "tagValues")

    async def aclose(self) -> None:
        await self.http.aclose()


_TAG = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def with_filters(
    traceql: str, *, service: str | None = None, operation: str | None = None,
    tags: dict[str, str] | None = None, min_duration: str | None = None,
    max_duration: str | None = None, errors: bool = False,
) -> str:  # fmt: skip
    """``traceql`` with the search's other filters written into it, as one TraceQL query:
    ``{ status = error }`` with service shop, operation checkout and 500ms at least reads
    ``{ status = error && resource.service.name = "shop" && name = "checkout" &&
    traceDuration >= 500ms }`` (the durations are the trace's, as ``minDuration`` and
    ``maxDuration`` are: at least, at most; values quoted by ``quoted``); ``errors``: only
    traces with a failed span (``status = error``). A filter the
    query holds already is not written twice. Only a query of one ``{ ... }`` takes them:
    one of several spansets or a pipeline (``| count() > 2``) is refused with them, not
    sent without them."""
    wanted = ["status = error"] if errors else []
    if service:
        wanted.append(f'resource.service.name = "{quoted(service)}"')
    if operation:
        wanted.append(f'name = "{quoted(operation)}"')
    for key, value in (tags or {}).items():
        if not _TAG.fullmatch(key):
            raise TempoInputError(f"{key!r} is not a tag name TraceQL can filter on")
        wanted.append(f'.{key} = "{quoted(value)}"')
    if min_duration:
        wanted.append(f"traceDuration >= {min_duration}")
    if max_duration:
        wanted.append(f"traceDuration <= {max_duration}")
    query = traceql.strip()
    if not wanted:
        return query
    inner = _one_spanset(query)
    if inner is None:
        raise TempoInputError(
            f"the TraceQL query {query[:200]!r} is not one {{ ... }} (it joins spansets or "
            f"pipes them): write the other filters into it ({' && '.join(wanted)})"
        )
    if "||" in _outside_strings(inner):  # an or kept whole: "a || b && c" is not meant
        parts, have = [f"({inner.strip()})"], set()
    else:
        parts = [p for p in (p.strip() for p in _split_and(inner)) if p]
        have = {" ".join(p.split()) for p in parts}
    parts += [w for w in wanted if w not in have]
    return "{ " + " && ".join(parts) + " }"


def _outside_strings(text: str) -> str:
    """``text`` with each TraceQL string ("...", with its escapes, or `...`) blanked out: what
    is left is the query's own syntax."""
    return re.sub(r'"(?:[^"\\]|\\.)*"?|`[^`]*`?', lambda m: " " * len(m.group()), text)


def _one_spanset(query: str) -> str | None:
    """What is inside the braces of a query of one ``{ ... }`` (None for any other)."""
    bare = _outside_strings(query)
    if not (bare.startswith("{") and bare.endswith("}")):
        return None
    if "{" in bare[1:-1] or "}" in bare[1:-1]:
        return None
    return query[1:-1]


def _split_and(inner: str) -> list[str]:
    """``inner`` split at each ``&&`` outside its strings."""
    bare = _outside_strings(inner)
    cuts = [m.start() for m in re.finditer("&&", bare)]
    ends = [0, *(c + 2 for c in cuts)]
    return [inner[a : (cuts[i] if i < len(cuts) else len(inner))] for i, a in enumerate(ends)]


def _logfmt(value: str) -> str:
    if re.fullmatch(r"[^\s\"=]+", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
