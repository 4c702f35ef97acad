"""``aiops-desktop capture export|info|open``: offline captures, exported at a site and opened
on an air-gapped workstation."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiops_desktop.cli.args import Io, Printable, duration, examples, instant, json_text, names
from aiops_desktop.models.errors import EXIT_PARTIAL, UsageError
from aiops_desktop.models.text import one_line
from aiops_desktop.services.runtime.outputs import check_output
from aiops_desktop.store.capture import SUFFIX, CaptureManifest, replaceable

if TYPE_CHECKING:
    from aiops_desktop.services.core import Core


def add_commands(sub: Any) -> None:
    capture = sub.add_parser(
        "capture", help="offline captures: export a site's data, open it on an air-gapped machine",
        epilog=examples(
            f"aiops-desktop capture export --clusters ran-east --out site-east{SUFFIX}",
            f"aiops-desktop capture info site-east{SUFFIX}",
            f"aiops-desktop capture open site-east{SUFFIX}",
        ),
    ).add_subparsers(dest="action", metavar="ACTION", required=True, help="what to do")  # fmt: skip
    export = capture.add_parser(
        "export", help=f"write chosen clusters' data to a {SUFFIX} file",
        epilog=examples(
            f"aiops-desktop capture export --clusters ran-east,ai-lab --out site-east{SUFFIX}",
            f"aiops-desktop capture export --clusters ran-east --since 8h"
            f" --until 2026-11-27T06:00:00Z --out night-shift{SUFFIX} --json",
        ),
    )  # fmt: skip
    export.add_argument("--clusters", required=True, metavar="NAMES",
                        help="comma-separated registered names")  # fmt: skip
    export.add_argument("--since", type=duration, default=timedelta(hours=24), metavar="DURATION",
                        help="how far back before --until, e.g. 8h, 2d")  # fmt: skip
    export.add_argument("--until", type=instant, metavar="TIME",
                        help="the end, ISO 8601 or Unix time (default: now)")  # fmt: skip
    export.add_argument("--out", required=True, type=Path, metavar="FILE",
                        help=f"the capture file to write (conventionally *{SUFFIX})")  # fmt: skip
    export.add_argument("--json", action="store_true", help="print the manifest as JSON")
    info = capture.add_parser(
        "info", help="check a capture and print its manifest",
        epilog=examples(
            f"aiops-desktop capture info site-east{SUFFIX}",
            f"aiops-desktop capture info site-east{SUFFIX} --json",
        ),
    )  # fmt: skip
    info.add_argument("file", type=Path, help="the capture file")
    info.add_argument("--json", action="store_true", help="print the manifest as JSON")
    opened = capture.add_parser(
        "open", help="open a capture in the app: read-only, offline (same as --capture FILE)",
        epilog=examples(f"aiops-desktop capture open site-east{SUFFIX}"),
    )  # fmt: skip
    opened.add_argument("file", type=Path, help="the capture file")
    for action in ("export", "info"):
        capture.choices[action].set_defaults(handler=_capture)


def _print_manifest(manifest: CaptureManifest, out: Printable, as_json: bool) -> None:
    doc = asdict(manifest)
    if as_json:
        out.write(json_text(doc, sort_keys=True) + "\n")
        return
    out.write(f"clusters   {', '.join(doc['clusters'])}\n")
    if doc["members"] != doc["clusters"]:
        out.write(f"data of    {', '.join(doc['members'])}\n")
    out.write(f"from       {doc['since']}\nuntil      {doc['until']}\n")
    out.write(f"created    {doc['created_at']} by AIOps Desktop {doc['app_version']} "
              f"(schema {doc['schema_version']})\n")  # fmt: skip
    counts = ", ".join(f"{n} {table}" for table, n in doc["counts"].items())
    out.write(f"holds      {counts}\n")
    if manifest.left_out():  # a partial capture looked whole
        out.write(f"partial    {manifest.left_out()}\n")


def checked_manifest(path: Path) -> CaptureManifest:
    """The manifest of the capture at ``path`` once it is checked as ``capture open`` checks
    it (its rows, records and documents): the manifest alone passed a capture that every
    open then refused. Blocking: the capture is opened and closed again."""
    from aiops_desktop.services.outputs.capture import open_capture

    core = open_capture(path)
    try:
        assert core.capture is not None  # a capture's Core
        return core.capture
    finally:
        core.close()


async def _capture(core: Core, args: argparse.Namespace, io: Io) -> int:
    out = io.out
    if args.action == "info":
        manifest = await asyncio.to_thread(checked_manifest, args.file)
        _print_manifest(manifest, out, args.json)
        return 0
    from aiops_desktop.services.outputs.capture import CAPTURE_NOT_EXPORTED, export_capture

    if core.capture is not None:  # before the --out file is looked at (the export checks too)
        raise UsageError(CAPTURE_NOT_EXPORTED)
    # refused before the minutes its live pages may take to record (the export checks again)
    replaceable(check_output(args.out, core.paths))
    unread: list[str] = []
    manifest = await export_capture(
        core, args.out, clusters=names(args.clusters), since=args.since, until=args.until,
        not_read=unread,
    )  # fmt: skip
    if not args.json:
        out.write(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)\n")
    _print_manifest(manifest, out, args.json)
    # written all the same, and said: a capture of sources not read is no quiet site's
    for line in unread:
        io.err.write(f"unread: {one_line(line)}\n")
    if unread:
        io.err.write(f"{len(unread)} sources could not be read: the capture shows them as not "
                     "read\n")  # fmt: skip
    if manifest.left_out():  # written all the same, the rest of the site's data in it
        io.err.write(f"aiops-desktop: {manifest.left_out()}\n")
    if manifest.counts.get("chunks", 0) == 0:  # written all the same: its events may matter
        io.err.write(f"aiops-desktop: the capture holds no samples of "
                     f"{', '.join(manifest.clusters)} from {manifest.since} to {manifest.until} "
                     f"(was anything polled then?)\n")  # fmt: skip
        return EXIT_PARTIAL
    return EXIT_PARTIAL if unread or manifest.left_out() else 0
