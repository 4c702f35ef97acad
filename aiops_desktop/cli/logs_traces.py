"""``aiops-desktop logs`` and ``aiops-desktop traces``: a cluster's Loki lines for a LogQL
query (or their live tail) and its Tempo traces (a search, or one trace as a span tree), as
text or JSON. Lines and names from the servers are printed one line each, controls removed."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from aiops_desktop.cli.args import (
    JSON_HELP,
    TIMEOUT,
    Io,
    duration,
    examples,
    instant,
    json_text,
    trace_duration,
    trace_id,
    whole,
)
from aiops_desktop.models.enums import LogDirection, SpanStatus
from aiops_desktop.models.errors import EXIT_OK, UsageError
from aiops_desktop.models.observability import LOG_DEFAULT_LIMIT, LOG_MAX_LIMIT, depth_first
from aiops_desktop.models.text import count, one_line, time_text
from aiops_desktop.services.queries.logs_traces import failing_traceql
from collectors.errors import CollectorTimeout
from collectors.tempo import with_filters

if TYPE_CHECKING:
    from aiops_desktop.services.core import Core

MOST_LINES_ASKED = 50_000
T = TypeVar("T")


def add_commands(sub: Any) -> None:
    logs = sub.add_parser(
        "logs", help="a cluster's log lines from Loki for a LogQL query, or their live tail",
        epilog=examples(
            "aiops-desktop logs --cluster prod-east-1 '{k8s_namespace_name=\"shop\"} |= \"error\"'",
            "aiops-desktop logs --cluster prod-east-1 '{k8s_pod_name=~\"api-.*\"}' --since 1h "
            "--json",
            "aiops-desktop logs --cluster prod-east-1 '{k8s_namespace_name=\"shop\"}' --tail",
            "aiops-desktop logs --cluster lab '{service_name=\"ts-contacts-service\"}' "
            "--until 2023-01-29T08:50:00Z --since 10m --limit 500",
        ),
    )  # fmt: skip
    logs.add_argument("--cluster", required=True, metavar="NAME", help="the registered cluster")
    logs.add_argument(
        "logql", help='the LogQL query, e.g. \'{k8s_namespace_name="shop"} |= "error"\''
    )
    logs.add_argument("--since", type=duration, default=timedelta(minutes=15), metavar="DURATION",
                      help="how far back from --until, e.g. 15m, 1h, 2d")  # fmt: skip
    logs.add_argument("--until", type=instant, metavar="TIME",
                      help="the window's end, ISO 8601 or Unix time (default: now)")  # fmt: skip
    logs.add_argument("--limit", type=int, metavar="N",
                      help=f"the most lines to print (1 to {MOST_LINES_ASKED:,}; default "
                      f"{LOG_DEFAULT_LIMIT}, read {LOG_MAX_LIMIT:,} a page; with --tail: stop "
                      "after N lines, default never)")  # fmt: skip
    logs.add_argument("--forward", action="store_true", help="oldest first (default: newest first)")
    logs.add_argument("--tenant", choices=("application", "infrastructure", "audit"),
                      help="the LokiStack tenant (default: the endpoint's, else "
                      "application)")  # fmt: skip
    logs.add_argument("--tail", action="store_true",
                      help="follow new lines live (Ctrl+C ends it), starting at --since "
                      "ago")  # fmt: skip
    logs.add_argument("--timeout", type=TIMEOUT, default=60.0, metavar="SECONDS",
                      help="give up after this long, at most 300 (not --tail)")  # fmt: skip
    logs.add_argument("--json", action="store_true", help=JSON_HELP)
    logs.set_defaults(handler=_logs)

    traces = sub.add_parser(
        "traces", help="a cluster's traces from Tempo: a search, or one trace by its id",
        epilog=examples(
            "aiops-desktop traces --cluster prod-east-1 --service checkout --min-duration 500ms",
            "aiops-desktop traces --cluster prod-east-1 --errors --since 1h --json",
            "aiops-desktop traces --cluster prod-east-1 --id 51def24606746811fa552389b02d2d3f",
        ),
    )  # fmt: skip
    traces.add_argument("--cluster", required=True, metavar="NAME", help="the registered cluster")
    traces.add_argument("--id", type=trace_id, metavar="TRACE_ID",
                        help="show this trace (hex id) as a span tree")  # fmt: skip
    traces.add_argument("--service", metavar="NAME", help="traces through this service")
    traces.add_argument("--operation", metavar="NAME", help="traces with this span name")
    traces.add_argument("--min-duration", type=trace_duration, metavar="DURATION",
                        help="at least this long, e.g. 500ms")  # fmt: skip
    traces.add_argument("--max-duration", type=trace_duration, metavar="DURATION",
                        help="at most this long, e.g. 2s")  # fmt: skip
    traces.add_argument("--errors", action="store_true", help="only traces with an error span")
    traces.add_argument("--traceql", metavar="QUERY",
                        help="a TraceQL query, the fields above written into it, e.g. "
                        "'{ resource.service.name = \"checkout\" && duration > 1s }'")  # fmt: skip
    traces.add_argument("--since", type=duration, default=timedelta(hours=1), metavar="DURATION",
                        help="how far back from --until")  # fmt: skip
    traces.add_argument("--until", type=instant, metavar="TIME",
                        help="the window's end, ISO 8601 or Unix time (default: now)")  # fmt: skip
    traces.add_argument("--limit", type=whole(1, 500, "traces"), default=20, metavar="N",
                        help="the most traces to list (1 to 500)")  # fmt: skip
    traces.add_argument("--timeout", type=TIMEOUT, default=30.0, metavar="SECONDS",
                        help="give up after this long, at most 300")  # fmt: skip
    traces.add_argument("--json", action="store_true", help=JSON_HELP)
    traces.set_defaults(handler=_traces)


async def _within(args: argparse.Namespace, asked: Awaitable[T]) -> T:
    """``asked`` given up on after ``--timeout``: a read of many pages, or retries, would
    otherwise go on as long as each request's own bounds allow."""
    try:
        async with asyncio.timeout(args.timeout):
            return await asked
    except TimeoutError:
        raise CollectorTimeout(f"{args.cluster} did not answer within {args.timeout:g} s "
                               "(--timeout)") from None  # fmt: skip


def _window(core: Core, args: argparse.Namespace) -> tuple[datetime, datetime]:
    """``--since`` before ``--until``, else before now: a capture's end when one is open."""
    end = args.until or core.now()
    return end - args.since, end


async def _logs(core: Core, args: argparse.Namespace, io: Io) -> int:
    if args.limit is not None and not 1 <= args.limit <= MOST_LINES_ASKED:
        raise UsageError(f"--limit: 1 to {MOST_LINES_ASKED:,}")
    start, end = _window(core, args)
    if args.tail:
        return await _tail(core, args, io, start)
    args.limit = args.limit or LOG_DEFAULT_LIMIT
    result = await _within(args, core.logs_traces.logs(
        args.cluster, args.logql, start=start, end=end, limit=min(args.limit, LOG_MAX_LIMIT),
        most=args.limit, direction=LogDirection.FORWARD if args.forward else LogDirection.BACKWARD,
        tenant=args.tenant,
    ))  # fmt: skip
    if args.json:
        doc = {"cluster": args.cluster, "query": args.logql, "start": start.isoformat(),
               "end": end.isoformat(), "truncated": result.truncated, "notes": result.notes,
               "lines": [e.model_dump(mode="json") for e in result.entries],
               "series": [s.model_dump(mode="json") for s in result.series]}  # fmt: skip
        io.out.write(json_text(doc) + "\n")  # a ratio over an idle window: NaN as null
        return EXIT_OK
    for entry in result.entries:
        io.out.write(_line_text(entry.timestamp_ns, entry.labels, entry.line))
    for series in result.series:  # each point with its time: Loki leaves empty steps out
        labels = ", ".join(f"{k}={v}" for k, v in sorted(series.labels.items())) or "{}"
        io.out.write(f"{one_line(labels)}:\n")
        for at, value in series.points:
            io.out.write(f"  {_when(at)}  {value:g}\n")
    if not result.entries and not result.series:
        io.err.write(f"no line matched between {time_text(start)} and {time_text(end)}\n")
    elif result.truncated:
        io.err.write(f"more lines matched: the first {len(result.entries):,} are shown "
                     "(--limit for more)\n")  # fmt: skip
    for note in result.notes:  # how it was read: lines at one instant cut, for one
        io.err.write(f"note: {one_line(note)}\n")
    return EXIT_OK


def _when(at_s: float) -> str:
    return time_text(datetime.fromtimestamp(at_s, UTC), seconds=True)


def _line_text(ns: int, labels: dict[str, str], line: str) -> str:
    when = _when(ns / 1e9)
    where = labels.get("k8s_pod_name") or labels.get("service_name") or ""
    return f"{when}  {one_line(where)}  {one_line(line)}\n"


async def _tail(core: Core, args: argparse.Namespace, io: Io, start: datetime) -> int:
    shown = 0
    batches = core.logs_traces.tail(args.cluster, args.logql, start=start, tenant=args.tenant)
    try:
        async with aclosing(batches):
            async for batch in batches:
                if batch.note:
                    io.err.write(one_line(batch.note) + "\n")
                if batch.dropped:
                    io.err.write(f"the server dropped {batch.dropped} lines (too many to send)\n")
                for entry in batch.entries[: None if args.limit is None else args.limit - shown]:
                    if args.json:
                        io.out.write(json_text(entry.model_dump(mode="json"), indent=None) + "\n")
                    else:
                        io.out.write(_line_text(entry.timestamp_ns, entry.labels, entry.line))
                    shown += 1
                io.out.flush()
                if args.limit is not None and shown >= args.limit:
                    break  # a bounded tail (scripts, tests)
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    return EXIT_OK


async def _traces(core: Core, args: argparse.Namespace, io: Io) -> int:
    if args.id:
        trace = await _within(args, core.logs_traces.trace(args.cluster, args.id))
        if args.json:
            io.out.write(json_text(trace.model_dump(mode="json")) + "\n")
            return EXIT_OK
        first = min((s.start_ns for s in trace.spans), default=0)
        errors = sum(s.status is SpanStatus.ERROR for s in trace.spans)
        io.out.write(f"trace {one_line(trace.trace_id)}: {trace.spans_said}, "
                     f"{count(errors, 'error')}\n")  # fmt: skip
        for depth, span in depth_first(trace):
            mark = " ERROR" if span.status is SpanStatus.ERROR else ""
            offset, took = (span.start_ns - first) / 1e6, span.duration_ns / 1e6
            io.out.write(f"{offset:>9.1f} ms {took:>9.1f} ms"
                         f"  {'  ' * depth}{one_line(span.service_name)}: "
                         f"{one_line(span.operation)}{mark}\n")  # fmt: skip
            if span.status_message:
                io.out.write(f"{'':>26}{'  ' * depth}  {one_line(span.status_message)[:200]}\n")
        return EXIT_OK
    start, end = _window(core, args)
    traceql = args.traceql
    if args.errors:  # written into a query given, as --service and the durations are
        traceql = with_filters(traceql, errors=True) if traceql else failing_traceql(args.service)
    found = await _within(args, core.logs_traces.traces(
        args.cluster, start=start, end=end, service=args.service, operation=args.operation,
        min_duration=args.min_duration, max_duration=args.max_duration, traceql=traceql,
        limit=args.limit,
    ))  # fmt: skip
    if args.json:
        io.out.write(json_text([t.model_dump(mode="json") for t in found]) + "\n")
        return EXIT_OK
    io.out.write(f"{'START':<23} {'DURATION':>10}  {'TRACE ID':<32}  ROOT\n")
    for t in found:
        when = _when(t.start_ns / 1e9)
        io.out.write(f"{when:<23} {t.duration_ms:>8.0f} ms  {one_line(t.trace_id):<32}  "
                     f"{one_line(t.root_service)}: {one_line(t.root_name)}\n")  # fmt: skip
    if not found:
        io.err.write(f"no trace matched between {time_text(start)} and {time_text(end)}\n")
    return EXIT_OK
