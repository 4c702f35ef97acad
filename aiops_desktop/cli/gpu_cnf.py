"""``aiops-desktop gpu|ptp``: every GPU's health, and the PTP timing board with compliance."""

from __future__ import annotations

import argparse
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiops_desktop.cli.args import (
    JSON_HELP,
    Io,
    bounded,
    chosen_clusters,
    duration,
    examples,
    instant,
    json_text,
)
from aiops_desktop.models.errors import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, UsageError
from aiops_desktop.models.ptp import OFFSET_THRESHOLD_NS
from aiops_desktop.models.text import one_line, pct_text, time_text

if TYPE_CHECKING:
    from aiops_desktop.models.ptp import PtpBoard, PtpRow
    from aiops_desktop.services.core import Core


def add_commands(sub: Any) -> None:
    gpu = sub.add_parser(
        "gpu", help="every GPU's state and health reasons (DCGM, else nvidia-smi), worst first",
        epilog=examples(
            "aiops-desktop gpu",
            "aiops-desktop gpu --clusters ran-east --json",
        ),
    )  # fmt: skip
    gpu.add_argument(
        "--clusters", metavar="NAMES",
        help="comma-separated names, a hub's members too (default: every cluster with metrics)",
    )  # fmt: skip
    gpu.add_argument("--json", action="store_true", help=JSON_HELP)
    ptp = sub.add_parser(
        "ptp", help="the PTP timing board of every cluster with compliance",
        epilog=examples(
            "aiops-desktop ptp",
            "aiops-desktop ptp --clusters ran-east --window 24h --threshold-ns 50",
            "aiops-desktop ptp --until 2026-11-27T06:00:00Z --window 8h  # last night's incident",
        ),
    )  # fmt: skip
    ptp.add_argument(
        "--clusters", metavar="NAMES",
        help="comma-separated names, a hub's members too (default: every cluster with metrics)",
    )  # fmt: skip
    ptp.add_argument("--window", type=duration, default=timedelta(hours=1), metavar="DURATION",
                     help="the compliance window before --until, e.g. 30m, 24h")  # fmt: skip
    ptp.add_argument(
        "--until", type=instant, metavar="TIME",
        help="end the window here (ISO 8601 or Unix time; default now): last night's incident",
    )  # fmt: skip
    ptp.add_argument(
        "--threshold-ns", type=bounded(0, 1e9, "ns"), metavar="NS",
        help="the +/- offset band in nanoseconds for nodes whose PtpConfig profile sets no "
        f"ptpClockThreshold (default: {OFFSET_THRESHOLD_NS:g}, the PTP operator's)",
    )  # fmt: skip
    ptp.add_argument("--json", action="store_true", help=JSON_HELP)
    for command, handler in COMMANDS.items():
        sub.choices[command].set_defaults(handler=handler)


def _unreadable(outcomes: list[Any]) -> list[str]:
    """One line per cluster that could not be read (each reader asks several queries)."""
    return sorted({f"{o.cluster}: {o.error}" for o in outcomes})


def _reader_exit(
    failed: list[str], *, found: bool, clusters: list[Any], outcomes: list[Any],
    in_part: list[str],
) -> int:  # fmt: skip
    """0 all read; 3 (partial) where something failed and something was read: a chosen
    cluster that answered (with no GPU or PTP port, found nothing is not read nothing), as
    ``query`` says, or where an answer may not be all (``in_part``: a Thanos partial
    response); 1 where nothing was."""
    if not failed:
        return EXIT_PARTIAL if in_part else EXIT_OK
    unread = {o.cluster for o in outcomes if not o.ok}
    read_some = found or any(c.name not in unread for c in clusters)
    return EXIT_PARTIAL if read_some else EXIT_ERROR


async def _gpu(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    clusters, keep = chosen_clusters(core, args.clusters)
    from aiops_desktop.services.gpu_cnf.gpu_fallback import read_gpus

    # the GPU page's and the fleet's reader: DCGM, else nvidia-smi in the driver pods, else
    # "not read" (a cluster without DCGM is not a silent 0 GPUs); a capture execs nothing
    fleet = await read_gpus(core.queries, clusters, core.kube, recorded=core.capture is not None)
    if keep is not None:  # members asked for by name: their GPUs of the hub's answer
        fleet = replace(fleet, gpus=[h for h in fleet.gpus if h.reading.cluster in keep])
    failed = _unreadable(fleet.outcomes)
    if args.json:
        doc = {
            "summary": fleet.summary(),
            "gpus": [
                {**asdict(h.reading), "state": h.state.value, "reasons": h.reasons,
                 "high_utilisation": h.high_utilisation}
                for h in fleet.gpus
            ],
            "errors": failed,
            "notes": fleet.notes,
        }  # fmt: skip
        out.write(json_text(doc) + "\n")
    else:
        s = fleet.summary()
        states = ", ".join(f"{n} {k}" for k, n in sorted(s["by_state"].items())) or "none"
        out.write(f"{s['gpus']} GPUs on {s['nodes']} nodes of {s['clusters']} clusters: {states}\n")
        for h in fleet.gpus:
            r = h.reading
            # labels are any text a server sends: one line each, so none can forge a row
            mig = f" MIG {r.mig_profile}" if r.mig_profile else ""
            util = (
                "-"
                if r.util_pct is None
                else f"{r.util_pct:g}%" + (" (high)" if h.high_utilisation else "")
            )
            temp = "-" if r.temperature_c is None else f"{r.temperature_c:g}C"
            pods = ", ".join(r.pods) or "-"
            out.write(f"{h.state.value:<8} {one_line(r.key):<34} {one_line(r.model + mig):<32} "
                      f"util {util:<9} temp {temp:<5} pods {one_line(pods)}\n")  # fmt: skip
            for reason in h.reasons:
                out.write(f"         - {one_line(reason)}\n")
        for line in failed:  # on stderr, as every command says what it could not read
            io.err.write(f"unreadable: {one_line(line)}\n")
        for note in fleet.notes:  # read, with something to know (nvidia-smi's exit 14)
            io.err.write(f"note: {one_line(note)}\n")
    return _reader_exit(failed, found=bool(fleet.gpus), clusters=clusters,
                        outcomes=fleet.outcomes, in_part=fleet.in_part)  # fmt: skip


async def _ptp(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    from aiops_desktop.models.ptp import Threshold
    from aiops_desktop.models.time_range import LONGEST, TimeRange
    from aiops_desktop.services.gpu_cnf.ptp import PTP_STEP, read_ptp_board

    now = core.now()
    if args.until is not None and args.until > now:  # time nothing can have sampled yet
        later = "after the capture's end" if core.capture is not None else "in the future"
        raise UsageError(f"--until {time_text(args.until, seconds=True)} is {later} "
                         f"({time_text(now, seconds=True)}): give an earlier time, or no "
                         "--until for a window ending now")  # fmt: skip
    clusters, keep = chosen_clusters(core, args.clusters)
    profiles, unread = await core.kube.ptp_thresholds()
    band = OFFSET_THRESHOLD_NS if args.threshold_ns is None else args.threshold_ns
    # the window ends at now: a capture's end while one is open (as the PTP page's does), not
    # the wall clock, which has moved on since the capture was made
    end = args.until or now
    # at the window's step, as the PTP page reads it (``TimeRange.step``); a window past the
    # page's longest at that one's, coarser still where Prometheus answers no more
    # (``read_ptp_board``)
    seconds = min(max(1, round(args.window.total_seconds())), int(LONGEST.total_seconds()))
    board = await read_ptp_board(
        core.queries, clusters, window=args.window, end=end,
        step=TimeRange(seconds).step(PTP_STEP),
        threshold=Threshold.symmetric(band), thresholds=profiles,
    )  # fmt: skip
    if keep is not None:  # members asked for by name: their ports of the hub's answer
        board = replace(board, rows=[r for r in board.rows if r.cluster in keep])
    failed = _unreadable(board.outcomes) + unread
    unrecorded = _unrecorded(board, end) if core.capture is not None else None
    notes = [*([unrecorded] if unrecorded else []), *board.in_part]
    for note in notes:  # on stderr, beside the figures (the JSON's "notes" too)
        io.err.write(f"note: {one_line(note)}\n")
    if args.json:
        rows = []
        for r in board.rows:
            row = asdict(r)
            row.pop("history")  # the chart's data, not a figure
            row["state"] = r.state.value
            rows.append(row)
        doc = {
            "window_s": board.window.total_seconds(),
            "threshold_ns": board.threshold.max_ns,
            "rows": rows,
            "errors": failed,
            "notes": notes,
        }
        out.write(json_text(doc) + "\n")
    else:
        hours = board.window.total_seconds() / 3600
        out.write(
            f"{len(board.rows)} PTP ports, worst first; compliance over {hours:g} h, "
            f"threshold {board.threshold.band} unless a PtpConfig profile sets one\n"
        )
        for r in board.rows:
            c = r.compliance
            offset = "-" if r.offset_ns is None else f"{r.offset_ns:g} ns"
            # shares of the whole window, beside how much of it was sampled: time with no
            # sample is unknown, not out of lock (a port LOCKED at every sample read 50%)
            figures = (
                f"locked {pct_text(c.locked_pct)} within {pct_text(c.within_pct)} of the "
                f"window, sampled {pct_text(c.coverage_pct)} ({c.unknown_s:g} s unknown) "
                f"holdover {c.holdover_s:g} s freerun {c.freerun_s:g} s"
                if c
                else "no history"
            )
            # labels are any text a server sends: one line each, so none can forge a row
            port = one_line(f"{r.cluster}/{r.node}/{r.iface} ({r.process}) {r.role}")
            out.write(f"{r.state.value:<9} {port} class {r.clock_class} offset {offset}"
                      f"{one_line(_running_text(r))} | {figures}\n")  # fmt: skip
            for note in r.notes:
                out.write(f"          - {one_line(note)}\n")
        for line in failed:  # on stderr, as every command says what it could not read
            io.err.write(f"unreadable: {one_line(line)}\n")
    return _reader_exit(failed, found=bool(board.rows), clusters=clusters,
                        outcomes=board.outcomes, in_part=board.in_part)  # fmt: skip


def _running_text(r: PtpRow) -> str:
    """How the port's process runs and a grandmaster's GNSS and DPLL states, those
    reported, each after a "; ": "; ptp4l up, 7 restarts; GNSS 3D fix; DPLL phase locked;
    DPLL frequency locked" ("" where none is; which config is down its notes say)."""
    running = [] if r.process_up is None else ["up" if r.process_up else "down"]
    if r.restarts is not None:
        running.append(f"{r.restarts:g} restart{'' if r.restarts == 1 else 's'}")
    said = [f"{r.process} {', '.join(running)}"] if running else []
    signals = [("GNSS", r.gnss), ("DPLL phase", r.dpll_phase), ("DPLL frequency", r.dpll_frequency)]
    said += [f"{name} {value}" for name, value in signals if value is not None]
    return "".join(f"; {line}" for line in said)


def _unrecorded(board: PtpBoard, end: datetime) -> str | None:
    """In a capture: where the window begins before the PTP history it recorded (its export
    read the board over its own window), what it recorded; None where it covers the window.
    The time before has no sample: every port's figures count it unknown."""
    from aiops_desktop.services.gpu_cnf.ptp import PTP_STEP

    firsts = [float(r.history[0][0]) for r in board.rows
              if r.history is not None and r.history[0].size]  # fmt: skip
    if not firsts:
        return None
    first, start = min(firsts), (end - board.window).timestamp()
    if first - start <= 2 * PTP_STEP.total_seconds():  # the steps' own alignment
        return None
    since = time_text(datetime.fromtimestamp(first, UTC), seconds=True)
    return (f"the capture recorded PTP history from {since} only: the window's first "
            f"{(first - start) / 60:.0f} min has no sample, counted unknown, not out of lock "
            f"(a --window of {(end.timestamp() - first) / 60:.0f} min or less is all "
            "recorded)")  # fmt: skip


COMMANDS = {"gpu": _gpu, "ptp": _ptp}
