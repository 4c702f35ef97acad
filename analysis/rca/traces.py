"""What traces and error logs say to RCA: per entity (a pod, else a service), how many of its
spans failed and how slow its slowest span was, minute by minute; who calls whom (a caller
depends on what it calls: its errors may be the called one's); and the failing traces through
a cause, to quote.

An entity is named as ``analysis.incidents.entity_of`` names a pod (``"<cluster> pod
<namespace>/<pod>"``) when the span says its pod (OpenTelemetry's ``k8s.pod.name`` and
``k8s.namespace.name``), else ``"<cluster> service <name>"``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from aiops_desktop.models.enums import SpanStatus
from aiops_desktop.models.observability import Span, Trace
from analysis.rca.model import Signal, SignalKind
from analysis.rca.topology import Edge

STEP_S = 60.0


def span_entity(cluster: str, span: Span) -> str:
    pod = span.attributes.get("k8s.pod.name")
    namespace = span.attributes.get("k8s.namespace.name")
    if pod and namespace:
        return f"{cluster} pod {namespace}/{pod}"
    return f"{cluster} service {span.service_name}"


def _grid(start_s: float, end_s: float, step_s: float) -> np.ndarray:
    return np.arange(start_s - start_s % step_s, end_s + step_s, step_s)


def trace_signals(
    traces: Iterable[Trace], start_s: float, end_s: float, step_s: float = STEP_S
) -> tuple[list[Signal], list[Edge]]:
    """Each entity's failed spans and slowest span per step between ``start_s`` and
    ``end_s`` (spans after ``end_s`` are not read: causal), and the call edges."""
    grid = _grid(start_s, end_s, step_s)
    errors: dict[str, np.ndarray] = {}
    slowest: dict[str, np.ndarray] = {}
    edges: set[Edge] = set()
    for trace in traces:
        by_id = {s.span_id: s for s in trace.spans}
        for span in trace.spans:
            at = span.start_ns / 1e9
            if not start_s <= at <= end_s:
                continue
            entity = span_entity(trace.cluster, span)
            i = int((at - grid[0]) // step_s)
            errors.setdefault(entity, np.zeros(grid.size))[i] += span.status is SpanStatus.ERROR
            slow = slowest.setdefault(entity, np.zeros(grid.size))
            slow[i] = max(slow[i], span.duration_ns / 1e6)
            parent = by_id.get(span.parent_span_id or "")
            if parent is not None and parent.service_name != span.service_name:
                edges.add((span_entity(trace.cluster, parent), entity))
    signals = [Signal(e, "failed spans", SignalKind.ERRORS, grid, v, resolution=1.0)
               for e, v in errors.items()]  # fmt: skip
    signals += [Signal(e, "slowest span ms", SignalKind.LATENCY, grid, v)
                for e, v in slowest.items()]  # fmt: skip
    return signals, sorted(edges)


def error_log_signals(
    cluster: str, series: Iterable[tuple[dict[str, str], list[tuple[float, float]]]],
    start_s: float, end_s: float, step_s: float = STEP_S,
) -> list[Signal]:  # fmt: skip
    """Loki's per-pod counts of error lines (``sum by (k8s_namespace_name, k8s_pod_name)
    (count_over_time(... [1m]))``) as signals: a minute without a point is 0 lines."""
    grid = _grid(start_s, end_s, step_s)
    out = []
    for labels, points in series:
        pod, namespace = labels.get("k8s_pod_name"), labels.get("k8s_namespace_name")
        if not (pod and namespace):
            continue
        values = np.zeros(grid.size)
        for t, v in points:
            i = int((t - grid[0]) // step_s)
            if 0 <= i < grid.size and t <= end_s:
                values[i] += v
        out.append(Signal(f"{cluster} pod {namespace}/{pod}", "error log lines", SignalKind.ERRORS,
                          grid, values, resolution=1.0))  # fmt: skip
    return out


@dataclass(frozen=True)
class FailingTrace:
    """A failing trace through a cause, as the RCA page and the incident report quote it."""

    start_s: float
    trace_id: str
    root: str  # "<service> <operation>" of its first span
    duration_ms: float
    error: str  # the cause's failed span: its status message, else its operation


def failing_through(traces: Iterable[Trace], entity: str, end_s: float,
                    most: int = 3) -> list[FailingTrace]:  # fmt: skip
    """The first ``most`` traces (by start, none after ``end_s``) in which ``entity``'s own
    span failed."""
    out = []
    for trace in traces:
        if not trace.spans:
            continue
        mine = [s for s in trace.spans
                if s.status is SpanStatus.ERROR and span_entity(trace.cluster, s) == entity
                and s.start_ns / 1e9 <= end_s]  # fmt: skip
        if not mine:
            continue
        first = min(trace.spans, key=lambda s: s.start_ns)
        last_end = max(s.start_ns + s.duration_ns for s in trace.spans)
        failed = min(mine, key=lambda s: s.start_ns)
        out.append(FailingTrace(
            first.start_ns / 1e9, trace.trace_id, f"{first.service_name} {first.operation}",
            (last_end - first.start_ns) / 1e6, failed.status_message or failed.operation,
        ))  # fmt: skip
    return sorted(out, key=lambda t: (t.start_s, t.trace_id))[:most]
