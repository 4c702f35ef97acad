"""``aiops-desktop query|alerts|fleet|analyse``: PromQL over many clusters, the alerts firing,
the fleet's state after one poll, and anomalies in a query's series (no LLM)."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiops_desktop.cli.args import (
    JSON_HELP,
    TIMEOUT,
    Io,
    chosen_clusters,
    default_text,
    duration,
    enum_arg,
    examples,
    json_text,
    names,
    promql,
)
from aiops_desktop.models import Aggregation, EndpointKind, QueryStatus, QueryType
from aiops_desktop.models.anomalies import ANOMALY_LOOKBACK
from aiops_desktop.models.enums import AnomalyMethod, GroupBy, Sensitivity, UserRole
from aiops_desktop.models.errors import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    NotFoundError,
    UsageError,
)
from aiops_desktop.models.fleet import ClusterTruth, Health
from aiops_desktop.models.text import age_text, cut_line, labels_text, one_line, time_text
from aiops_desktop.services.runtime.gathering import gather_all

if TYPE_CHECKING:
    from aiops_desktop.models.anomalies import Anomaly
    from aiops_desktop.models.metrics import ConsoleRequest, QueryAnswer, QueryRecord
    from aiops_desktop.models.polling import SourceStatus
    from aiops_desktop.services.core import Core
    from analysis.detect import SeriesInput


def add_commands(sub: Any) -> None:
    query = sub.add_parser(
        "query", help="run one PromQL over clusters in parallel",
        epilog=examples(
            "aiops-desktop query up",
            "aiops-desktop query 'max(DCGM_FI_DEV_GPU_TEMP)' --clusters ran-east,ai-lab --agg max",
            "aiops-desktop query 'rate(node_network_receive_drop_total[5m])' --range 6h --step 5m"
            " --json",
        ),
    )  # fmt: skip
    query.add_argument("promql", type=promql, help="the PromQL expression (quote it)")
    query.add_argument(
        "--clusters", metavar="NAMES",
        help="comma-separated names (default: every cluster with metrics)",
    )  # fmt: skip
    query.add_argument(
        "--range", type=duration, metavar="DURATION",
        help="a range query over this lookback, e.g. 30m, 1h, 2d (default: an instant query)",
    )  # fmt: skip
    query.add_argument("--step", type=duration, default=timedelta(minutes=1), metavar="DURATION",
                       help="the range query's resolution, e.g. 15s, 1m")  # fmt: skip
    query.add_argument(
        "--agg",
        type=enum_arg(Aggregation),
        default=Aggregation.MERGE,
        help="combine the clusters' series point by point: merge (keep them apart, the "
        "default), sum, avg, max, min",
    )
    query.add_argument("--timeout", type=TIMEOUT, default=30.0, metavar="SECONDS",
                       help="give up after this long, at most 300")  # fmt: skip
    query.add_argument(
        "--save", metavar="NAME",
        help="also keep this query (its clusters, range, step and aggregation) under NAME in "
        "the saved queries (the console's Saved list; `saved-queries` lists them)",
    )  # fmt: skip
    query.add_argument("--json", action="store_true", help=JSON_HELP)

    saved = sub.add_parser(
        "saved-queries", help="the saved queries (the console's Saved list)",
        epilog=examples(
            "aiops-desktop saved-queries",
            "aiops-desktop saved-queries --json",
            "aiops-desktop saved-queries --delete 'GPU temperatures'",
        ),
    )  # fmt: skip
    saved.add_argument("--delete", metavar="NAME", help="delete the saved query NAME")
    saved.add_argument("--json", action="store_true", help=JSON_HELP)

    alerts = sub.add_parser(
        "alerts", help="firing alerts of every cluster, grouped",
        epilog=examples(
            "aiops-desktop alerts",
            "aiops-desktop alerts --group-by cluster",
            "aiops-desktop alerts --json",
        ),
    )  # fmt: skip
    alerts.add_argument(
        "--group-by", type=GroupBy, choices=list(GroupBy), default=GroupBy.ALERTNAME,
        help="group the alerts by " + ", ".join(g.value for g in GroupBy),
    )  # fmt: skip
    alerts.add_argument("--json", action="store_true", help=JSON_HELP)

    fleet = sub.add_parser(
        "fleet",
        help="state, health and freshness of every cluster (one poll); exit 0 when every "
        "source was read, 3 when some could not be",
        epilog=examples(
            "aiops-desktop fleet",
            "aiops-desktop fleet --json",
            "aiops-desktop --capture site-east.aiops fleet  # as the capture recorded it",
        ),
    )
    fleet.add_argument("--json", action="store_true", help=JSON_HELP)

    analyse = sub.add_parser(
        "analyse", help="find anomalies in a PromQL's series over a lookback (no LLM)",
        epilog=examples(
            "aiops-desktop analyse --query 'DCGM_FI_DEV_GPU_TEMP' --clusters ai-lab --since 6h",
            "aiops-desktop analyse --query 'openshift_ptp_offset_ns' --since 2d --step 1m"
            " --sensitivity high --json",
            "aiops-desktop analyse --query 'node_load1' --methods MAD,LEVEL_SHIFT",
        ),
    )  # fmt: skip
    analyse.add_argument("--query", required=True, type=promql, metavar="PROMQL",
                         help="the PromQL whose series to analyse (quote it)")  # fmt: skip
    analyse.add_argument(
        "--clusters", metavar="NAMES",
        help="comma-separated names (default: every cluster with metrics)",
    )  # fmt: skip
    analyse.add_argument(
        "--since", type=duration, metavar="DURATION",
        help=f"the lookback, e.g. 6h, 2d (default: {default_text(ANOMALY_LOOKBACK)})",
    )  # fmt: skip
    analyse.add_argument(
        "--step", type=duration, metavar="DURATION",
        help="the resolution, e.g. 1m (default: about 2,000 points, at least 15s)",
    )  # fmt: skip
    analyse.add_argument(
        "--sensitivity",
        type=enum_arg(Sensitivity),
        default=Sensitivity.MEDIUM,
        help="low (3.0), medium (2.5, default), high (2.0), extreme (1.5)",
    )
    analyse.add_argument(
        "--unit", type=_unit,
        help=f"override the signal type by unit: {', '.join(UNITS).replace('%', '%%')} "
        "(default: guessed)",
    )  # fmt: skip
    analyse.add_argument(
        "--methods",
        type=_methods,
        metavar="M,M",
        help="instead of the benchmarked detector (CONTEXT, the default), these of "
        + ", ".join(m.value for m in AnomalyMethod)
        + " (e.g. MAD,LEVEL_SHIFT,ETS)",
    )
    analyse.add_argument("--timeout", type=TIMEOUT, default=60.0, metavar="SECONDS",
                         help="give up after this long, at most 300")  # fmt: skip
    analyse.add_argument("--json", action="store_true", help=JSON_HELP)
    for command, handler in COMMANDS.items():
        sub.choices[command].set_defaults(handler=handler)


def _say_failures(answer: QueryAnswer, io: Io) -> None:
    """On stderr: each cluster not read, each warning beside an answer (a partial response:
    what is printed may not be all), and the notes (a coarser step than the one asked)."""
    for failed in answer.failures:
        error = one_line(failed.error or "")
        io.err.write(f"{answer.status.value}: {failed.cluster}: {failed.reason}: {error}\n")
    for outcome in answer.outcomes:
        for warning in outcome.warnings:
            said = one_line(warning)
            io.err.write(f"{answer.status.value}: {outcome.cluster}: warning: {said}\n")
    for note in answer.notes:
        io.err.write(f"note: {one_line(note)}\n")


#: the recorded queries a capture's "cannot answer" names, at most (it records about 50)
NAMED_RECORDED = 10
#: the most of a saved query's PromQL (and clusters) ``saved-queries`` prints
SAVED_PROMQL_SHOWN = 300


def _unanswerable(core: Core, request: ConsoleRequest, answer: QueryAnswer) -> None:
    """A capture that cannot answer a query: invalid input (2, as ``cli._exit_code`` has it),
    not a source that failed (1). A UsageError naming what it does answer: the queries its
    export recorded, of the kind asked, and its stored series. Nothing where live."""
    if core.capture is None or answer.status is not QueryStatus.ERROR:
        return
    kind = QueryType.RANGE if request.range_s else QueryType.INSTANT
    recorded = core.console.recorded(kind) or []  # None: a capture that recorded no answers
    why = one_line(answer.failures[0].error or "") if answer.failures else "not recorded"
    named = ", ".join(repr(q) for q in recorded[:NAMED_RECORDED])
    more = len(recorded) - NAMED_RECORDED
    named += f" and {more} more" if more > 0 else ""
    what = f"these {kind.value.lower()} queries: {named}" if recorded else "none of them"
    stored = core.series.stats()["series"]
    raise UsageError(
        f"this capture cannot answer {request.promql!r} "
        f"{'over a range' if request.range_s else 'as an instant query'} ({why}): it answers "
        f"only the queries its export recorded, {what}; its {stored} stored series are the "
        "charts' panels, which the window (aiops-desktop --capture FILE) and `report` read"
    )


async def _query(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    from aiops_desktop.models.metrics import ConsoleRequest, value_text

    range_s = int(args.range.total_seconds()) if args.range else None
    step_s = max(1, int(args.step.total_seconds()))
    if range_s is not None and range_s < step_s:  # 0 s was an instant query, said nowhere
        raise UsageError(f"--range {default_text(args.range)} is shorter than one step "
                         f"(--step {default_text(args.step)}, whole seconds): give a longer "
                         "--range, a shorter --step, or no --range for an instant "
                         "query")  # fmt: skip
    request = ConsoleRequest(
        promql=args.promql,
        clusters=names(args.clusters),
        range_s=range_s,
        step_s=step_s,
        aggregation=args.agg,
        timeout_s=args.timeout,
    )
    chosen_clusters(core, args.clusters)  # says so when there is nothing to ask
    if (name := getattr(args, "save", None)) is not None:  # a save refused is never asked
        name = core.console.check_save(name, request)
    answer = await core.console.run(request)
    if args.json:
        out.write(answer.to_model().model_dump_json(indent=2) + "\n")
    else:
        out.write(f"{'CLUSTER':<20} {'POINTS':>6} {'LAST':>14}  SERIES\n")
        for tagged in answer.series:
            last = tagged.series.last
            value = value_text(last[1]) if last else "-"
            out.write(
                f"{tagged.cluster:<20} {tagged.series.values.size:>6} {value:>14}  "
                f"{labels_text(tagged.series.labels)}\n"
            )
    _say_failures(answer, io)
    if name is not None:
        await _save_answerable(core, name, request, answer, io)
    if answer.status is QueryStatus.ERROR:
        _unanswerable(core, request, answer)
        return refused_or_error(answer)
    return EXIT_PARTIAL if answer.status is QueryStatus.PARTIAL else EXIT_OK


async def _save_answerable(
    core: Core, name: str, request: ConsoleRequest, answer: QueryAnswer, io: Io
) -> None:
    """``query --save``, once the query has run: kept unless every cluster refused the query
    itself (bad PromQL can never answer); kept where they were only unreachable (an answer
    may come later)."""
    if answer.status is QueryStatus.ERROR and refused_or_error(answer) == EXIT_USAGE:
        io.err.write(f"{name!r} is not saved: every cluster refused the query as invalid\n")
        return
    kept = await core.console.save(name, request)
    io.err.write(f"saved as {one_line(kept)!r}\n")


def refused_or_error(answer: QueryAnswer) -> int:
    """An answer with nothing: the query itself refused by every cluster (bad PromQL) is
    invalid input, exit 2, live as on a capture (docs/architecture.md); else an error, 1 (a
    script tells a typo from an outage)."""
    refused = answer.failures and all(o.reason == "invalid_query" for o in answer.failures)
    return EXIT_USAGE if refused else EXIT_ERROR


async def _alerts(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    from aiops_desktop.models.polling import Source
    from aiops_desktop.services.queries.alerts import group_alerts

    sources = [c for c in core.registry.clusters() if c.endpoint(EndpointKind.ALERTMANAGER)]
    if not sources:
        raise NotFoundError("no cluster with an Alertmanager endpoint is registered")
    results = await gather_all(*(core.poller.run_source(c, Source.ALERTS) for c in sources))
    alerts = [a for group in core.poller.alerts.values() for a in group]
    groups = group_alerts(alerts, args.group_by)
    if args.json:
        payload = {
            "alerts": [a.model_dump(mode="json") for a in alerts],
            "groups": [
                {
                    "key": g.key,
                    "severity": g.severity.value,
                    "count": len(g.alerts),
                    "clusters": g.clusters,
                    "namespaces": g.namespaces,
                }
                for g in groups
            ],
            "failed": [c.name for c, ok in zip(sources, results, strict=True) if not ok],
        }
        out.write(json_text(payload) + "\n")
    else:
        out.write(f"{'SEVERITY':<9} {'COUNT':>5}  {args.group_by.value.upper():<28} CLUSTERS\n")
        for g in groups:
            out.write(
                f"{g.severity.value:<9} {len(g.alerts):>5}  {one_line(g.key):<28} "
                f"{one_line(', '.join(g.clusters))}\n"
            )
    word = "PARTIAL" if any(results) else "ERROR"
    for cluster, ok in zip(sources, results, strict=True):
        if not ok:
            error = core.poller.status[(cluster.name, Source.ALERTS)].last_error
            io.err.write(f"{word}: {cluster.name}: {one_line(error or '')}\n")
    return EXIT_OK if all(results) else (EXIT_PARTIAL if any(results) else EXIT_ERROR)


def fleet_table(clusters: list[ClusterTruth]) -> list[str]:
    """`fleet`'s text: a header and one line per cluster, worst first as the truth has them
    (HEALTH is the health score, 0 to 100; "-" when unknown)."""
    lines = [f"{'NAME':<24} {'STATE':<14} {'HEALTH':>6} {'DATA':<10} FINDINGS"]
    for t in clusters:
        name = f"{t.name} (via {t.hub})" if t.hub else t.name
        score = "-" if t.health_score is None else str(t.health_score)
        age = "-" if t.data_age_s is None else age_text(t.data_age_s)
        worst = t.worst()
        said = t.summary() + (f"; worst: {worst.subject}: {worst.reason}" if worst else "")
        if t.state in (Health.OFFLINE, Health.STALE) and t.last_error:
            said = f"{said}; {t.last_error}" if said else t.last_error
        lines.append(
            f"{one_line(name):<24} {t.state.value:<14} {score:>6} {age:<10} {one_line(said)}"
        )
    return lines


async def _fleet(core: Core, args: argparse.Namespace, io: Io) -> int:
    """Every cluster and hub member as the fleet's one truth judges it (services/fleet)."""
    out = io.out
    if not core.registry.clusters():  # a mistyped --data-dir read as a quiet fleet, exit 0
        raise NotFoundError(
            "no cluster is registered: add one (clusters add, clusters import), or give the "
            "--data-dir (or --capture) that has them"
        )
    # a capture's sources are its recorded answers: nothing is polled
    polled = await core.poller.poll_once() if core.capture is None else []
    truth = await core.fleet.refresh()
    if args.json:
        out.write(json_text([t.as_json() for t in truth.clusters]) + "\n")
    else:
        for line in fleet_table(truth.clusters):
            out.write(line + "\n")
    # the clusters' states are data, not errors: the exit code says whether all was read
    return EXIT_PARTIAL if say_unread(polled, truth.clusters, io) else EXIT_OK


def say_unread(polled: list[SourceStatus], clusters: list[ClusterTruth], io: Io) -> bool:
    """Say on stderr which sources could not be read (a poll's, the Kubernetes APIs'): what
    is printed from the rest is not the whole fleet. Whether any was."""
    from aiops_desktop.services.fleet.state import unread_sources

    unread, sources = unread_sources(polled, clusters)
    for line in unread:
        io.err.write(f"unread: {one_line(line)}\n")
    if unread:
        io.err.write(f"{len(unread)} of {sources} sources could not be read\n")
    return bool(unread)


#: the units ``analyse --unit`` names in its help (analysis/signals.py classify() knows each)
UNITS = ("%", "percent", "ratio", "s", "seconds", "ms", "ns", "celsius", "c", "errors",
         "errors/s", "errors/min")  # fmt: skip


def _unit(text: str) -> str:
    """A unit the detector knows: any other was taken and silently ignored (type guessed)."""
    from analysis.signals import SignalType, classify

    if classify("", text) is SignalType.GAUGE:  # no unit chooses the fallback type
        raise argparse.ArgumentTypeError(f"{text!r}: choose one of {', '.join(UNITS)}")
    return text


def _methods(text: str) -> tuple[AnomalyMethod, ...]:
    chosen = []
    for part in text.split(","):
        try:
            chosen.append(AnomalyMethod(part.strip().upper()))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{part.strip()!r}: choose from {', '.join(m.value for m in AnomalyMethod)}"
            ) from None
    return tuple(chosen)


async def _analyse(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    from aiops_desktop.models.metrics import ConsoleRequest
    from aiops_desktop.services.queries.multicluster import MOST_POINTS
    from analysis.detect import judged_short, lead_points
    from analysis.signals import profile_for

    chosen_clusters(core, args.clusters)  # says so when there is nothing to ask
    args.since = args.since or ANOMALY_LOOKBACK
    since = int(args.since.total_seconds())
    step = int(args.step.total_seconds()) if args.step else max(15, since // 2000)
    chosen = args.methods or profile_for(args.query, args.unit).methods
    # the detectors learn from a series' first samples (the benchmarked one from 750) before
    # they judge one: those are read before the window asked about, or its first part (all
    # of it, at 750 points or fewer) is never judged and said "0 anomalies"
    fewest, lead = lead_points(chosen)
    step = max(1, step)
    # the window and the lead in one read of at most MOST_POINTS: a coarser step asked here
    # keeps all 750 (the query layer's own coarsening cut the lead, and said the series began
    # late)
    fitting = max(step, math.ceil(since / max(1, MOST_POINTS - 2 - lead)))
    if fitting > step:
        io.err.write(f"note: read at a step of {fitting}s, not {step}s: the window and the "
                     f"{lead} samples the detectors learn from before it fit one read of at "
                     f"most {MOST_POINTS:,} points\n")  # fmt: skip
        step = fitting
    request = ConsoleRequest(
        promql=args.query,
        clusters=names(args.clusters),
        range_s=since + lead * step,
        step_s=step,
        aggregation=Aggregation.MERGE,
        timeout_s=args.timeout,
    )
    answer = await core.console.run(request)
    _say_failures(answer, io)
    # a viewer only reads: what its look finds is said, not stored (stored, it would join an
    # incident), as the assistant's read-only tool does
    keep = core.access.role is not UserRole.VIEWER
    if answer.status is QueryStatus.ERROR:
        if args.json:  # the document all the same, with its errors, as `query --json` does
            out.write(json_text(_analysed(args, answer, kept=keep, series=0, found=[], short=0,
                                          partly=0, leads=(fewest, lead))) + "\n")  # fmt: skip
        _unanswerable(core, request, answer)
        return refused_or_error(answer)
    inputs, stored = await _series_read(core, args.query, answer)
    end = answer.query.end.timestamp() if answer.query.end else None
    window_from = (end if end is not None else max(
        (float(i.ts[-1]) for i in inputs if i.ts.size), default=0.0)) - since  # fmt: skip
    # what lies in the lead was read to learn from, not asked about: neither kept nor said
    found = await core.anomalies.analyse(inputs, sensitivity=args.sensitivity, unit=args.unit,
                                         methods=args.methods, keep=keep,
                                         stored=stored,
                                         report_from=window_from)  # fmt: skip
    found.sort(key=lambda a: a.timestamp)
    # the statistics skip a series shorter than they need (analysis/detect.py): counted and
    # said, never a quiet "0 anomalies"; the domain rules judge every point of any series
    ruled = AnomalyMethod.DOMAIN_RULE in chosen
    short, partly = judged_short(inputs, chosen, window_from)
    if args.json:
        out.write(json_text(_analysed(args, answer, kept=keep, series=len(inputs), found=found,
                                      short=short, partly=partly, leads=(fewest, lead)))
                  + "\n")  # fmt: skip
    else:
        unkept = "" if keep else " (not kept: viewer)"
        skipped = f", {short} too short to analyse" if short else ""
        out.write(f"{len(found)} anomalies in {len(inputs)} series over "
                  f"{default_text(args.since)}{skipped}{unkept}\n")  # fmt: skip
        for a in found:
            out.write(
                f"{time_text(a.timestamp, seconds=True)}  {a.cluster:<14} "
                f"{a.severity.level.value:<8} "
                f"{a.type.value:<16} {labels_text(a.labels)}  {a.described}\n"
            )
    if short:
        judged = "judged by the domain rules alone" if ruled else "not analysed"
        io.err.write(f"partial: {short} of {len(inputs)} series had at most "
                     f"{fewest} points with a value: the detectors judge a point "
                     f"only after the {fewest} or more before it, never from "
                     f"fewer than {fewest} points: {judged}; a longer --since or a "
                     "shorter --step gives more\n")  # fmt: skip
    if partly:
        io.err.write(f"note: {partly} of {len(inputs)} series began less than {lead} points "
                     f"before the window: the detectors learn from a series' first {lead} "
                     "before they judge one, so the start of the window was learnt from, "
                     "not judged, in those\n")  # fmt: skip
    partial = answer.status is QueryStatus.PARTIAL or short
    return EXIT_PARTIAL if partial else EXIT_OK


async def _series_read(
    core: Core, query: str, answer: QueryAnswer
) -> tuple[list[SeriesInput], list[Anomaly]]:
    """The series ``answer`` read, as detection takes them, with the stored episodes that
    may reach into them (``AnomalyService.with_episodes``): else each run, its window a
    little later, stored a new episode marked open that nothing ever ended."""
    by_cluster: dict[str, list[tuple[dict[str, str], Any, Any]]] = {}
    for t in answer.series:
        labels = {k: v for k, v in t.series.labels.items() if k != "__name__"}
        by_cluster.setdefault(t.cluster, []).append((labels, t.series.timestamps, t.series.values))
    inputs: list[SeriesInput] = []
    stored: list[Anomaly] = []
    for cluster, reads in by_cluster.items():
        read, held = await core.anomalies.with_episodes(cluster, query, reads)
        inputs += read
        stored += held
    return inputs, stored


def _analysed(
    args: argparse.Namespace,
    answer: QueryAnswer,
    *,
    kept: bool,
    series: int,
    found: list[Anomaly],
    short: int,
    partly: int,
    leads: tuple[int, int],
) -> dict[str, Any]:
    """`analyse --json`'s document: what was found, the series too short to analyse
    (``too_short``: at most ``min_points`` values, none judged), those whose window's start
    was only learnt from (``partly_judged``: fewer than ``lead_points`` values before it)
    and the clusters not read (``errors``)."""
    return {
        "query": args.query,
        "sensitivity": args.sensitivity.value,
        "status": answer.status.value,
        "series": series,
        "too_short": short,
        "min_points": leads[0],
        "partly_judged": partly,
        "lead_points": leads[1],
        "kept": kept,
        "anomalies": [a.model_dump(mode="json") for a in found],
        "errors": [{"cluster": o.cluster, "reason": o.error or ""} for o in answer.failures],
    }


async def _saved_queries(core: Core, args: argparse.Namespace, io: Io) -> int:
    if args.delete is not None:
        deleted = await core.console.delete_saved(args.delete)
        io.err.write(f"deleted {deleted!r}\n")
        return EXIT_OK
    saved = [_shown_saved(r) for r in await core.console.saved()]
    if args.json:
        fields = ("name", "promql", "clusters", "query_type", "range_s", "step_s", "aggregation")
        doc = [{f: getattr(r, f) for f in fields} | {"saved_at": r.run_at} for r in saved]
        io.out.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        return EXIT_OK
    if not saved:
        io.out.write("no saved query (query PROMQL --save NAME, or Save in the console)\n")
    for r in saved:
        scope = (
            f"range {default_text(timedelta(seconds=r.range_s))}, step {r.step_s} s"
            if (r.range_s)
            else "instant"
        )
        where = cut_line(", ".join(r.clusters), SAVED_PROMQL_SHOWN) or "every cluster with metrics"
        io.out.write(f"{r.name}: {r.promql}\n"
                     f"  {scope}, {r.aggregation.lower()}, on {where}\n")  # fmt: skip
    return EXIT_OK


def _shown_saved(rec: QueryRecord) -> QueryRecord:
    """``rec`` as ``saved-queries`` prints it, as text or JSON: its words each one printable
    line, cut (SAVED_NAME_CHARS, SAVED_PROMQL_SHOWN). An opened capture's saved queries are a
    file someone sent, never kept by ``save``'s rule: line breaks forged rows, a right-to-left
    override read backwards, a 200 KB name was printed whole."""
    from aiops_desktop.services.queries.console import SAVED_NAME_CHARS

    return replace(
        rec,
        name=cut_line(rec.name, SAVED_NAME_CHARS),
        promql=cut_line(rec.promql, SAVED_PROMQL_SHOWN),
        clusters=[cut_line(c, SAVED_NAME_CHARS) for c in rec.clusters],
        query_type=cut_line(rec.query_type, SAVED_NAME_CHARS),
        aggregation=cut_line(rec.aggregation, SAVED_NAME_CHARS),
        run_at=cut_line(rec.run_at, SAVED_NAME_CHARS),
    )


COMMANDS = {"query": _query, "saved-queries": _saved_queries, "alerts": _alerts,
            "fleet": _fleet, "analyse": _analyse}  # fmt: skip
