"""The CLI's output commands: ``capture export|info|open``, ``report`` and ``reports``.
Kept apart from ``cli.py`` so each file stays readable; ``cli.py`` wires them in."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from aiops_desktop.models import utcnow
from aiops_desktop.services.capture import SUFFIX, export_capture
from aiops_desktop.services.core import Core
from aiops_desktop.services.reports import list_reports, make_report, prune_reports, report_path
from aiops_desktop.store.capture import read_manifest
from analysis.reports.model import ReportType


def add_capture_commands(sub: Any, duration: Any, instant: Any) -> None:
    capture = sub.add_parser(
        "capture", help="offline captures: export a site's data, open it on an air-gapped machine"
    ).add_subparsers(dest="action", metavar="ACTION", required=True)
    export = capture.add_parser("export", help=f"write chosen clusters' data to a {SUFFIX} file")
    export.add_argument("--clusters", required=True, help="comma-separated registered names")
    export.add_argument("--since", type=duration, default=timedelta(hours=24), metavar="DURATION")
    export.add_argument("--until", type=instant, metavar="TIME", help="end (default now)")
    export.add_argument("--out", required=True, type=Path, metavar="FILE")
    export.add_argument("--json", action="store_true", help="print the manifest as JSON")
    info = capture.add_parser("info", help="check a capture and print its manifest")
    info.add_argument("file", type=Path)
    info.add_argument("--json", action="store_true")
    opened = capture.add_parser(
        "open", help="open a capture in the app: read-only, offline (same as --capture FILE)"
    )
    opened.add_argument("file", type=Path)


def _print_manifest(doc: dict[str, Any], out: TextIO, as_json: bool) -> None:
    if as_json:
        out.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return
    out.write(f"clusters   {', '.join(doc['clusters'])}\n")
    if doc["members"] != doc["clusters"]:
        out.write(f"data of    {', '.join(doc['members'])}\n")
    out.write(f"from       {doc['since']}\nuntil      {doc['until']}\n")
    out.write(f"created    {doc['created_at']} by AIOps Desktop {doc['app_version']} "
              f"(schema {doc['schema_version']})\n")  # fmt: skip
    counts = ", ".join(f"{n} {table}" for table, n in doc["counts"].items())
    out.write(f"holds      {counts}\n")


async def capture_command(core: Core, args: argparse.Namespace, out: TextIO) -> int:
    if args.action == "info":
        _print_manifest(asdict(read_manifest(args.file)), out, args.json)
        return 0
    names = [n.strip() for n in args.clusters.split(",") if n.strip()]
    manifest = await export_capture(
        core, args.out, clusters=names, since=args.since, until=args.until
    )
    if not args.json:
        out.write(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)\n")
    _print_manifest(asdict(manifest), out, args.json)
    return 0


REPORT_FORMATS = ("pdf", "html", "md", "json")


def _report_out(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower().lstrip(".") not in REPORT_FORMATS:
        raise argparse.ArgumentTypeError(f"{text!r}: end it in .pdf, .html, .md or .json")
    return path


def add_report_commands(sub: Any, duration: Any, instant: Any) -> None:
    report = sub.add_parser(
        "report", help="write a report (PDF, HTML, Markdown or JSON) from the cache or a capture"
    )
    report.add_argument(
        "--type", default=ReportType.HANDOVER.value, choices=[t.value for t in ReportType]
    )
    report.add_argument("--clusters", help="comma-separated names (default: every cluster)")
    report.add_argument("--since", type=duration, default=timedelta(hours=12), metavar="DURATION")
    report.add_argument(
        "--until", type=instant, metavar="TIME",
        help="the period's end (default now): a past shift's handover",
    )  # fmt: skip
    report.add_argument(
        "--out", type=_report_out, action="append", metavar="FILE",
        help="where (.pdf .html .md .json; repeat for several); default: the reports folder",
    )  # fmt: skip
    sub.add_parser("reports", help="list the reports kept (90 days) in the reports folder")


async def report_command(core: Core, args: argparse.Namespace, out: TextIO) -> int:
    from aiops_desktop.app import headless_theme
    from ui.report_pdf import write_report_files

    names = [n.strip() for n in (args.clusters or "").split(",") if n.strip()] or None
    report = await make_report(core, ReportType(args.type), names, args.since, args.until)
    folder = core.paths.reports_dir
    outs = args.out or [report_path(folder, report, "pdf")]
    # Qt draws the charts on this thread: the CLI has no window to keep responsive
    written = write_report_files(report, outs, headless_theme())
    prune_reports(folder, utcnow())
    for path in written:
        out.write(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)\n")
    return 0


async def reports_command(core: Core, args: argparse.Namespace, out: TextIO) -> int:
    kept = list_reports(core.paths.reports_dir)
    for path in kept:
        out.write(f"{path.name}  {path.stat().st_size / 1e3:.0f} kB\n")
    if not kept:
        out.write(f"no reports in {core.paths.reports_dir}\n")
    return 0
