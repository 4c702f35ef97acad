"""``aiops-desktop report|reports``: write a report (PDF, HTML, Markdown, JSON) from the cache
or a capture, and list the ones kept."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiops_desktop.cli.args import Io, duration, examples, instant, names
from aiops_desktop.models.errors import EXIT_OK, EXIT_PARTIAL, AlreadyExistsError
from aiops_desktop.models.reports import ReportType
from aiops_desktop.models.text import one_line
from aiops_desktop.services.runtime.outputs import check_output

if TYPE_CHECKING:
    from aiops_desktop.services.core import Core

REPORT_FORMATS = ("pdf", "html", "md", "json")


def _report_out(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower().lstrip(".") not in REPORT_FORMATS:
        raise argparse.ArgumentTypeError(f"{text!r}: end it in .pdf, .html, .md or .json")
    return path


def add_commands(sub: Any) -> None:
    report = sub.add_parser(
        "report", help="write a report (PDF, HTML, Markdown or JSON) from the cache or a capture",
        epilog=examples(
            "aiops-desktop report",
            "aiops-desktop report --type executive --since 7d --out weekly.pdf --out weekly.md",
            "aiops-desktop report --clusters ran-east --until 2026-11-27T06:00:00Z"
            " --out night-shift.html  # a past shift's handover",
            "aiops-desktop --capture site-east.aiops report --type incident --out east.json",
        ),
    )  # fmt: skip
    report.add_argument(
        "--type", default=ReportType.HANDOVER.value, choices=[t.value for t in ReportType],
        metavar="TYPE", help="the report: " + ", ".join(t.value for t in ReportType),
    )  # fmt: skip
    report.add_argument("--clusters", metavar="NAMES",
                        help="comma-separated names (default: every cluster)")  # fmt: skip
    report.add_argument(
        "--since", type=duration, metavar="DURATION",
        help="the period before --until, e.g. 12h, 7d (default: 12h; 7d for a capacity plan, "
        "whose trend needs days of history)",
    )  # fmt: skip
    report.add_argument(
        "--until", type=instant, metavar="TIME",
        help="the period's end, ISO 8601 or Unix time (default: now): a past shift's handover",
    )  # fmt: skip
    report.add_argument(
        "--out", type=_report_out, action="append", metavar="FILE",
        help="where; the ending picks the format: .pdf .html .md .json (repeat for several; "
        "default: a PDF in the reports folder)",
    )  # fmt: skip
    report.add_argument(
        "--force", action="store_true",
        help="replace an --out file that is there already (without, it is refused)",
    )  # fmt: skip
    report.set_defaults(handler=_report)
    kept = sub.add_parser(
        "reports", help="list the reports kept (90 days) in the reports folder",
        epilog=examples("aiops-desktop reports", "aiops-desktop --data-dir /srv/noc reports"),
    )  # fmt: skip
    kept.set_defaults(handler=_reports)


async def _report(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    reports = core.reports
    shown = Path(args.capture) if getattr(args, "capture", None) else None
    asked = [check_output(o, core.paths, capture=shown) for o in args.out or []]  # first
    for path in asked:  # a file of the person's, last night's handover: not written over unasked
        if not args.force and path.is_file() and path.stat().st_size:
            raise AlreadyExistsError(f"{path} already exists: give --force to replace it")
    chosen = names(args.clusters) or None
    now = args.until is None or args.until >= core.now()
    if now and core.capture is None:  # a period ending now: read it now
        await core.poller.poll_once()  # (the window's poller has; this process has not)
    kind = ReportType(args.type)
    since = args.since if args.since is not None else kind.default_period
    report, unread = await reports.make_told(kind, chosen, since, args.until)
    from aiops_desktop.qt_boot import headless_theme  # Qt, once the outputs are known good
    from ui.report_pdf import write_report_files

    # Qt started before a file name is taken (new_paths leaves an empty file in its place):
    # a ^C or a Qt that cannot start during its second of boot left a 0-byte report listed
    theme = headless_theme()
    outs = asked or reports.new_paths(report, ["pdf"])  # its own file, not one of this second's
    # Qt draws the charts on this thread: the CLI has no window to keep responsive; a file
    # that cannot be written is an AppError naming it (ReportNotWritten)
    written = write_report_files(report, outs, theme)
    reports.prune()
    for path in written:
        out.write(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)\n")
    # written all the same, and said: a report of sources not read is not a quiet shift's
    for line in unread:
        io.err.write(f"unread: {one_line(line)}\n")
    if unread:
        io.err.write(f"{len(unread)} sources could not be read: the report shows them as not "
                     "read\n")  # fmt: skip
    return EXIT_PARTIAL if unread else EXIT_OK


async def _reports(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    kept = core.reports.kept()
    for path in kept:
        out.write(f"{path.name}  {path.stat().st_size / 1e3:.0f} kB\n")
    if not kept:
        out.write(f"no reports in {core.reports.folder}\n")
    return 0
