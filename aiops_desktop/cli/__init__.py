"""The command line: the GUI by default, and script-friendly subcommands on the same services.

One module per command group (``clusters``, ``data``: query/alerts/fleet/analyse, ``gpu_cnf``:
gpu/ptp, ``capture``, ``reports``, ``wall``); each adds its parsers and sets their handler,
``async handler(core, args, io) -> exit code``. Every error the app raises on purpose is an
``AppError`` that carries its exit code:
  0 success; 1 runtime error (keyring, cache, a source); 2 invalid input or usage;
  3 partial result (some sources could not be read); 4 not found; 5 already exists.
Secrets are read only from stdin or a file, never from an argument (process lists, history).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import NoReturn, TextIO

from aiops_desktop import __version__
from aiops_desktop.cli import (
    assistant,
    capture,
    clusters,
    data,
    gpu_cnf,
    incidents,
    logs_traces,
    reports,
    wall,
)
from aiops_desktop.cli.args import Io, Parser, Printable, enum_arg, examples, size
from aiops_desktop.logs import configure_logging, shutdown_logging
from aiops_desktop.models.enums import UserRole
from aiops_desktop.models.errors import EXIT_CODES_TEXT, EXIT_USAGE, AppError
from aiops_desktop.models.text import one_line
from aiops_desktop.settings import AppPaths, resolve_paths

COMMAND_GROUPS = (
    clusters, data, gpu_cnf, incidents, logs_traces, capture, reports, wall, assistant,
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="aiops-desktop",
        description="AIOps Desktop: a NOC console for OpenShift/Kubernetes fleets. Without a "
        "COMMAND it opens the window; `aiops-desktop COMMAND --help` says what a command takes.",
        epilog=f"Exit codes: {EXIT_CODES_TEXT}.\n\n"
        + examples(
            "aiops-desktop  # open the window",
            "aiops-desktop fleet  # every cluster's state, health and data age",
            "aiops-desktop --capture site-east.aiops fleet  # the same, from a capture",
            "aiops-desktop --offscreen --screenshot fleet.png --view fleet --size 1920x1080",
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                        help="print the version and exit")  # fmt: skip
    parser.add_argument(
        "--data-dir", metavar="DIR",
        help="cache, logs and reports folder (default: $AIOPS_DESKTOP_HOME, else the "
        "platform's data folder)",
    )  # fmt: skip
    parser.add_argument("--verbose", "-v", action="store_true", help="also log to stderr")
    parser.add_argument(
        "--role", type=enum_arg(UserRole), metavar="ROLE",
        help="run as admin (clusters, credentials, settings), operator (all but clusters, "
        "credentials and settings) or viewer (read only); at most the role this account's "
        "settings give (default: that role; the wall always runs as viewer)",
    )  # fmt: skip
    parser.add_argument(
        "--capture", type=Path, metavar="FILE",
        help="work on a capture (read-only, offline) instead of the cache",
    )  # fmt: skip
    gui = parser.add_argument_group("window")
    gui.add_argument("--offscreen", action="store_true", help="render without a display")
    gui.add_argument("--screenshot", metavar="PATH", help="save the window as PNG and exit")
    # a dest of its own: argparse copies a command's defaults over the window's, so a shared
    # ``force`` dropped `aiops-desktop --force report --out X`'s (the report's own is False)
    gui.add_argument(
        "--force", action="store_true", dest="screenshot_force",
        help="with --screenshot: replace a file that is there already (without, it is "
        "refused; the --capture file never is)",
    )  # fmt: skip
    gui.add_argument(
        "--view", default=None, metavar="NAME",
        help="view to open or screenshot: main, a page (fleet, alerts, incidents, anomalies, "
        "gpu, ptp, sriov, drift, logs, traces, reports, chat, console, diagnostics), "
        "cluster:NAME or details:NAME (default: main)",
    )  # fmt: skip
    gui.add_argument(
        "--size", type=size, default=None, metavar="WxH",
        help="window size in pixels, at least 200x150, at most 7680x4320 (default: 1400x900; "
        "at most 90 %% of the screen; the wall: full screen)",
    )  # fmt: skip
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", help="what to run (none: open the window)"
    )
    for group in COMMAND_GROUPS:
        group.add_commands(sub)
    return parser


def _fail(message: str, code: int) -> NoReturn:
    # one line: the message often quotes a server (an error body), whose line breaks would
    # otherwise print as lines of their own
    Printable(sys.stderr).write(f"aiops-desktop: error: {one_line(message)}\n")
    raise SystemExit(code)


def _exit_code(exc: AppError) -> int:
    """An error's exit code; a query the server refused is invalid input (2), as a capture
    that cannot answer it says (a UsageError), not a runtime failure."""
    from collectors.errors import CollectorInvalidQuery

    return EXIT_USAGE if isinstance(exc, CollectorInvalidQuery) else exc.exit_code


def _run_command(args: argparse.Namespace, paths: AppPaths, io: Io) -> int:
    from aiops_desktop.services.core import Core

    try:
        if args.capture:
            from aiops_desktop.services.outputs.capture import open_capture
            from aiops_desktop.settings import Settings

            own = Settings.load(paths.settings_file)[0]  # the person's, never the file's
            core = open_capture(args.capture, reports_dir=paths.reports_dir, person=own,
                                role=args.role)  # fmt: skip
        else:
            core = Core.open(paths, role=args.role)
    except AppError as exc:
        _fail(str(exc), exc.exit_code)

    async def run() -> int:
        try:
            await core.registry.load()
            code: int = await args.handler(core, args, io)
            return code
        finally:
            await core.supervisor.shutdown()
            await core.pool.aclose()

    try:
        for notice in core.notices:
            io.err.write(f"aiops-desktop: {notice}\n")
        return asyncio.run(run())
    except AppError as exc:
        _fail(str(exc), _exit_code(exc))
    finally:
        core.close()


def main(
    argv: list[str] | None = None, *, stdin: TextIO | None = None, out: TextIO | None = None
) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.screenshot_force and not args.screenshot:  # else accepted and never used
        parser.error("--force before a command replaces --screenshot's file: give it with "
                     "--screenshot; a command's own --force goes after the command")  # fmt: skip
    try:
        return _main(args, stdin, out)
    except KeyboardInterrupt:
        # Ctrl+C (a command waiting on a dead cluster takes minutes): asyncio.run has
        # cancelled the command, and every ``finally`` on the way (the pool, the supervisor,
        # the cache, the log) has closed what it opened; what is left to say is one line
        Printable(sys.stderr).write("aiops-desktop: interrupted\n")
        return 130


def _main(args: argparse.Namespace, stdin: TextIO | None, out: TextIO | None) -> int:
    try:
        paths = resolve_paths(args.data_dir)
    except AppError as exc:  # an empty --data-dir: never the person's real cache instead
        _fail(str(exc), exc.exit_code)
    if args.command == "capture" and args.action == "open":
        args.capture, args.command = args.file, None
    if args.command is None:
        from aiops_desktop.app import run_gui

        return run_gui(args, paths)
    if args.command == "wall":
        from aiops_desktop.wall_app import run_wall

        return run_wall(args, paths)
    try:
        configure_logging(paths.ensure().log_file, stderr=args.verbose)
    except AppError as exc:
        _fail(str(exc), exc.exit_code)
    answer = _Answer(out or sys.stdout)
    io = Io(answer, stdin or sys.stdin, Printable(sys.stderr))
    try:
        code = _run_command(args, paths, io)
        io.out.flush()  # here, where a closed pipe can be caught
        return code
    except BrokenPipeError:  # `... | head`: the reader has all it wanted
        _quiet_stdout()
        return 1
    except OSError as exc:  # stdout on a full disk, a device that refuses it, ...
        if exc is not answer.failed:
            raise
        if out is None:
            _quiet_stdout()  # else the interpreter's last flush fails on it again
        _fail(f"cannot write the answer to stdout: {exc.strerror or exc}", 1)
    finally:
        shutdown_logging()


class _Answer(Printable):
    """stdout, which remembers the error its write or flush raised: that one is said in a
    line (exit 1), as a full disk is; any other ``OSError`` is a command's own to say."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.failed: OSError | None = None

    def write(self, text: str) -> int:
        try:
            return super().write(text)
        except OSError as exc:
            self.failed = exc
            raise

    def flush(self) -> None:
        try:
            super().flush()
        except OSError as exc:
            self.failed = exc
            raise


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush finds no broken pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, AttributeError, ValueError):
        pass
