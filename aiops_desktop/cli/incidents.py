"""``aiops-desktop incidents`` and ``aiops-desktop rca``: the incidents grouped from the fleet's
findings, alerts and anomalies, and the root-cause analysis of one (or of a cluster at a
moment), as text or JSON; from the cache or a capture, offline."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiops_desktop.cli.args import JSON_HELP, Io, examples, instant, json_text
from aiops_desktop.cli.data import say_unread
from aiops_desktop.models.enums import IncidentStatus
from aiops_desktop.models.errors import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_PARTIAL,
    AppError,
    NotFoundError,
    UsageError,
)
from aiops_desktop.models.text import one_line, time_text
from aiops_desktop.services.runtime.access import Action

if TYPE_CHECKING:
    from aiops_desktop.models.incidents import Incident
    from aiops_desktop.services.assistant.explain import Explained
    from aiops_desktop.services.core import Core
    from aiops_desktop.services.intelligence.rca import RcaResult


def add_commands(sub: Any) -> None:
    listed = sub.add_parser(
        "incidents", help="group what the fleet shows now into incidents and list them",
        epilog=examples(
            "aiops-desktop incidents",
            "aiops-desktop incidents --ack INC-20261204-205144-44416e",
            "aiops-desktop --capture site-east.aiops incidents --json",
        ),
    )  # fmt: skip
    listed.add_argument("--json", action="store_true", help=JSON_HELP)
    listed.add_argument("--ack", metavar="ID", help="acknowledge this incident (its id, INC-...)")
    listed.set_defaults(handler=_incidents)
    rca = sub.add_parser(
        "rca", help="rank the likely root causes of an incident, with evidence",
        epilog=examples(
            "aiops-desktop rca --incident INC-20261204-205144-44416e",
            "aiops-desktop rca --cluster ran-east --at 2026-11-27T03:40:00Z --json",
            "aiops-desktop rca --incident INC-20261204-205144-44416e --explain",
        ),
    )  # fmt: skip
    which = rca.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--incident", metavar="ID",
        help="the incident's id, INC-... (`aiops-desktop incidents` lists them)",
    )  # fmt: skip
    which.add_argument("--cluster", metavar="NAME", help="with --at: what changed there then")
    rca.add_argument(
        "--at", type=instant, metavar="TIME",
        help="the analysis time, ISO 8601 or Unix time (default: now; --cluster needs it); "
        "nothing after it is read",
    )  # fmt: skip
    rca.add_argument("--json", action="store_true", help=JSON_HELP)
    rca.add_argument(
        "--explain", action="store_true",
        help="also ask the local model (`llm set`) to explain it; each sentence is checked "
        "against the evidence and marked verified (its numbers, times, dates and names match "
        "the items it cites), not checked (it cites items but holds nothing to match) or "
        "unverified",
    )  # fmt: skip
    rca.set_defaults(handler=_rca)


async def _regroup(core: Core, io: Io) -> bool:
    """Group what the fleet shows now; whether every source could be read (those that could
    not are said on stderr, the Warning events grouping reads among them: an incident list
    without them is not the whole fleet's)."""
    polled = []
    if core.capture is None:
        polled = await core.poller.poll_once()  # the window's poller has; this process has not
    await core.incidents.regroup()
    truth = core.fleet.last or core.fleet.snapshot()
    return not say_unread([*polled, *core.incidents.events_read()], truth.clusters, io)


async def _incidents(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    seen = None  # the incident to acknowledge as listed before, and read before this grouping
    if args.ack is not None:  # refused before the poll: a minute and more on a dead endpoint
        if core.capture is not None:
            raise UsageError("a capture is read-only: acknowledge incidents in the live cache")
        core.access.require(Action.ACKNOWLEDGE)
        seen = await core.incidents.get(args.ack)
        if seen is None:  # one grouped now was never listed
            raise NotFoundError(f"no incident {args.ack!r}; `aiops-desktop incidents` lists them")
    whole = await _regroup(core, io)
    if seen is not None:
        await _acknowledge(core, seen, io)
    shown = await core.incidents.listed()
    if core.incidents.left_out:  # the store's limit: the least pressing are not listed
        io.err.write(f"{core.incidents.left_out} less pressing incidents not listed\n")
    if args.json:
        out.write(json_text([i.model_dump(mode="json") for i in shown]) + "\n")
        return EXIT_OK if whole else EXIT_PARTIAL
    if not shown:
        out.write("no incidents: nothing the fleet shows belongs to one\n" if whole else
                  "no incidents in what could be read\n")  # fmt: skip
    for i in shown:
        out.write(f"{i.id}  {i.state.value:<12} {i.severity.value:<8} "
                  f"{time_text(i.opened_at)}  {one_line(i.title)}\n")  # fmt: skip
        for why in (i.reopened_because, i.held_because):
            if why:
                out.write(f"    {one_line(why)}\n")
        told, more = i.most_telling(TIMELINE_SHOWN)
        for s in told:
            out.write(f"    {time_text(s.first_seen, seconds=True)} {s.cluster} {s.source}: "
                      f"{one_line(s.place)}: {one_line(s.reason)}\n")  # fmt: skip
        if more > 0:
            out.write(f"    … and {more} more signal{'s' if more > 1 else ''}\n")
    return EXIT_OK if whole else EXIT_PARTIAL


async def _acknowledge(core: Core, seen: Incident, io: Io) -> None:
    """Acknowledge an open incident, no worse than ``seen`` (as read before this run grouped
    the fleet: the person never saw a CRITICAL that grouping added). One acknowledged
    already is said (nothing to do: the list follows); one resolved, or worse than seen,
    fails (a script acknowledging what it pages on must learn that nothing was
    acknowledged: it ended, was grouped again under another id, or needs looking at
    again)."""
    incident_id = seen.id
    before = await core.incidents.get(incident_id)
    # whoever may not is refused here
    done = await core.incidents.acknowledge(incident_id, seen=seen.severity)
    if done is None:
        raise NotFoundError(f"no incident {incident_id!r}; `aiops-desktop incidents` lists them")
    if done.state is IncidentStatus.RESOLVED:  # resolved before, or by a grouping since
        raise UsageError(f"{incident_id} is RESOLVED: nothing to acknowledge "
                         "(`aiops-desktop incidents` lists those open)")  # fmt: skip
    if done.state is IncidentStatus.OPEN:  # made worse since it was read
        raise UsageError(f"{incident_id} is {done.severity.value} now ({seen.severity.value} "
                         "when read): not acknowledged; `aiops-desktop incidents` lists it as "
                         "it is now, acknowledge it again")  # fmt: skip
    # acknowledged by someone before (not by this call: another process may have reopened
    # it meanwhile, and this one acknowledged that)
    if (before is not None and before.state is IncidentStatus.ACKNOWLEDGED
            and done.acknowledged_at == before.acknowledged_at):  # fmt: skip
        at = "" if done.acknowledged_at is None else f" at {time_text(done.acknowledged_at)}"
        io.err.write(f"{one_line(incident_id)} is already acknowledged{at}: nothing to do\n")


#: the signals of an incident listed under it (the rest are counted)
TIMELINE_SHOWN = 5


async def _rca(core: Core, args: argparse.Namespace, io: Io) -> int:
    from aiops_desktop.services.intelligence.rca import nothing_read
    from analysis.grounding import Verdict

    result, incident = await _analysed(core, args, io)
    empty = nothing_read(result)
    if empty is not None:
        io.err.write(empty + "\n")
        return EXIT_ERROR
    for what in result.unread:  # ranked without them: not the whole picture
        io.err.write(f"unread: {one_line(what)}\n")
    said = EXIT_PARTIAL if result.unread else EXIT_OK
    if args.json:  # one document: the explanation, or why there is none, inside it
        doc = result.as_json()
        if args.explain:
            explained, failed = await _explained(core, result, incident, io)
            if explained is not None:
                doc["explanation"] = explained.explanation.as_json()
            else:
                doc["explanation_error"], said = failed, EXIT_PARTIAL
        io.out.write(json_text(doc) + "\n")
        return said
    _print(result, io)  # the analysis first: it stands whether or not a model explains it
    if args.explain:
        io.out.flush()  # shown while the model writes
        explained, _ = await _explained(core, result, incident, io)
        if explained is None:
            return EXIT_PARTIAL
        e = explained.explanation
        out = io.out
        out.write(f"\nExplanation by the local model: {e.verified} of {len(e.sentences)} "
                  f"sentences verified against the evidence; {e.unchecked} cited, not checked; "
                  f"{e.unverified} unverified\n")  # fmt: skip
        # a sentence that cites real items but holds nothing to match is not checked, never
        # "verified"; a verdict not known here is said as the worst
        marks = {Verdict.VERIFIED: "verified", Verdict.CITED: "NOT CHECKED"}
        for s in e.sentences:
            out.write(f"  [{marks.get(s.verdict, 'UNVERIFIED'):11}] {one_line(s.text)}\n")
            for reason in s.reasons:
                out.write(f"                {one_line(reason)}\n")
    return said


async def _explained(
    core: Core, result: RcaResult, incident: Incident | None, io: Io
) -> tuple[Explained | None, str]:
    """The model's explanation of ``result``; else None and why (said on stderr): no model
    set, its server down or refusing. The analysis is whole without it (exit 3, partial)."""
    from aiops_desktop.services.assistant.explain import explain

    try:
        return await explain(result, core.llm.client, incident), ""
    except AppError as exc:  # a bug is no model failure: it keeps its traceback
        failed = str(exc)
    io.err.write(f"no explanation: {one_line(failed)}\n")
    return None, failed


async def _analysed(
    core: Core, args: argparse.Namespace, io: Io
) -> tuple[RcaResult, Incident | None]:
    """The analysis ``args`` ask for: of an incident, or of a cluster at a moment."""
    from aiops_desktop.services.intelligence.rca import analysis_time, rca_clusters

    at = analysis_time(core.now(), args.at)
    if args.incident is None:
        if args.at is None:
            raise UsageError("--cluster needs --at TIME: the moment to explain")

        chosen = rca_clusters(core.registry, args.cluster)
        return await core.rca.for_cluster(args.cluster, chosen, at), None
    if not args.incident.strip():
        raise UsageError("--incident needs an id (INC-...: `aiops-desktop incidents` lists them)")
    if core.capture is not None:  # a capture's incidents are grouped as it is opened
        await _regroup(core, io)
    incident = await core.incidents.get(args.incident)
    if incident is None:
        raise NotFoundError(f"no incident {args.incident!r}; `aiops-desktop incidents` lists them")
    return await core.rca.for_incident(incident, at=at), incident


def _print(result: RcaResult, io: Io) -> None:
    """As the RCA page shows it: the window with its times, each cause with when it first
    changed, its evidence (baseline -> its most deviant value, and when it left its
    baseline) and its next checks."""
    from aiops_desktop.services.intelligence.rca import NO_BASELINE

    out = io.out
    out.write(f"Root cause analysis: {one_line(result.subject)}\n")
    out.write(f"{result.signals_read} signals read, {one_line(result.shown().window)}\n")
    if not result.causes:  # `rca` refuses it first (``nothing_read``): no all-clear
        out.write(f"{NO_BASELINE} in the window: nothing can be said to have deviated\n")
    for n, cause in enumerate(result.causes, start=1):
        began = "" if cause.onset_s is None else f", first changed {_clock(cause.onset_s)}"
        out.write(f"{n:>2}. {one_line(cause.entity)}  confidence {cause.confidence:.2f}"
                  f"{began}\n")  # fmt: skip
        for e in cause.evidence[:3]:
            left = "" if e.first_deviation_s is None else f", from {_clock(e.first_deviation_s)}"
            out.write(f"      {one_line(e.signal)}: z {e.z:.1f} ({e.baseline:.4g} -> "
                      f"{e.peak:.4g}{left})\n")  # fmt: skip
        for check in result.checks.get(cause.entity, []):
            out.write(f"      next: {one_line(check.key)}: {one_line(check.check)} "
                      f"Safe action: {one_line(check.safe_action)}\n")  # fmt: skip


def _clock(seconds: float) -> str:
    return time_text(datetime.fromtimestamp(seconds, UTC), seconds=True)
