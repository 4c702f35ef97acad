"""Exporting a capture from the window (File > Export capture…), as ``capture export`` does
on the command line: chosen clusters and a span of the live cache into a file, run on the
app's loop (the export's recordings are awaited, its SQLite copy runs in a worker thread), so
the UI thread never waits on it. Written, it is said in one line (the file, its size, its
clusters and series) with what could not be read; refused, its message; cancelled, nothing
more is asked of the clusters.

The export is given, bound to the live Core, by the composition root (a presenter never holds
the Core); the window offers it only where the role may export and no capture is open."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Signal

from aiops_desktop.models.errors import AppError
from aiops_desktop.models.text import count, cut_line
from aiops_desktop.services.outputs.capture import SUFFIX, CaptureManifest
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.presenters.base import Presenter

#: what could not be read, shown up to this many lines (then how many more)
UNREAD_SHOWN = 3
UNREAD_WIDTH = 160
TASK_NAME = "capture-export"


class ExportCapture(Protocol):
    """``services.outputs.capture.export_capture`` bound to the live Core."""

    def __call__(
        self,
        out: Path,
        *,
        clusters: list[str],
        since: timedelta,
        until: datetime | None = None,
        not_read: list[str] | None = None,
    ) -> Awaitable[CaptureManifest]: ...


def size_text(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{max(size / 1e3, 0.1):.1f} kB"


def result_text(out: Path, size: int, manifest: CaptureManifest, unread: list[str]) -> str:
    """The export said as the command line says it: one line (the file, its size, how many
    clusters and series, what of the span it left out), then what could not be read, cut to
    a few lines and how many more."""
    clusters = count(len(manifest.clusters), "cluster")
    members = len(manifest.members)
    if members > len(manifest.clusters):  # a fleet hub brings its members' data
        clusters += f" (data of {count(members, 'cluster')})"
    said = (f"Wrote {out} ({size_text(size)}): {clusters}, "
            f"{count(manifest.counts.get('series', 0), 'series', 'series')}")  # fmt: skip
    if manifest.left_out():
        said += f"; {manifest.left_out()}"
    said += "."
    if manifest.counts.get("chunks", 0) == 0:  # written all the same: its events may matter
        said += " It holds no samples of that period (was anything polled then?)."
    if not unread:
        return said
    lines = [f"  {cut_line(line, UNREAD_WIDTH)}" for line in unread[:UNREAD_SHOWN]]
    if len(unread) > UNREAD_SHOWN:
        lines.append(f"  and {len(unread) - UNREAD_SHOWN} more")
    head = (f"{count(len(unread), 'source')} could not be read (the capture shows "
            f"{'it' if len(unread) == 1 else 'them'} as not read):")  # fmt: skip
    return "\n".join([said, head, *lines])


class CaptureExportPresenter(Presenter):
    """Signals: sig_done(int, str): export request N wrote its file, said as ``result_text``
    says it; sig_failed(int, str): request N could not be exported, why (an AppError's
    message; in sig_error too); sig_cancelled(int): request N was stopped. A dialog takes
    only its own request's answer."""

    sig_done = Signal(int, str)
    sig_failed = Signal(int, str)
    sig_cancelled = Signal(int)

    #: a capture file's conventional suffix (what the save dialog offers)
    suffix = SUFFIX

    def __init__(
        self,
        *,
        export: ExportCapture,
        cluster_names: Callable[[], list[str]],
        folder: Path,
        tasks: TaskSupervisor,
        check_out: Callable[[Path], object] | None = None,
        clock: Callable[[], datetime] | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``folder``: where the app keeps what it writes (the reports folder), the file's
        default. ``check_out``: blocking; refuses (AppError) a file the export would refuse
        only once written, minutes later (one that exists and is no capture)."""
        super().__init__(tasks, parent=parent)
        self._export = export
        self._cluster_names = cluster_names
        self.folder = folder
        self._check_out = check_out
        self._clock = clock or (lambda: datetime.now(UTC))
        self.request = 0  # the number of the export running (or run last)
        self._running: asyncio.Task[None] | None = None
        self._closed = False  # the app is closing: a stopped export is said to no one

    def cluster_names(self) -> list[str]:
        return self._cluster_names()

    def now(self) -> datetime:
        return self._clock()

    @property
    def running(self) -> bool:
        return self._running is not None and not self._running.done()

    def default_path(self) -> Path:
        """A new file in the reports folder, named by the moment (UTC), never one there."""
        stem = f"capture-{self.now().astimezone(UTC):%Y%m%d-%H%M%S}"
        path = self.folder / f"{stem}{SUFFIX}"
        n = 1
        while path.exists():
            n += 1
            path = self.folder / f"{stem}-{n}{SUFFIX}"
        return path

    def export(
        self, out: Path, clusters: list[str], since: timedelta, until: datetime | None
    ) -> int | None:
        """Export ``clusters`` from ``until - since`` to ``until`` (None: now) into ``out``;
        the request's number, or None while another export runs (nothing is started)."""
        if self.running:
            return None
        self.request += 1
        request = self.request

        def failed(text: str) -> None:
            self.sig_failed.emit(request, text)
            self.sig_error.emit(text)

        async def work() -> None:
            unread: list[str] = []
            try:
                if self._check_out is not None:
                    await asyncio.to_thread(self._check_out, out)
                manifest = await self._export(
                    out, clusters=list(clusters), since=since, until=until, not_read=unread
                )
                size = await asyncio.to_thread(lambda: out.stat().st_size)
            except AppError as exc:  # refused or not written: its message, never a traceback
                failed(str(exc))
                return
            self.sig_done.emit(request, result_text(out, size, manifest, unread))

        self._running = self.spawn(TASK_NAME, work(), on_error=failed)
        # said once stopped, also where it was stopped before it began
        self._running.add_done_callback(lambda t: self._on_stopped(request, t))
        return request

    def _on_stopped(self, request: int, task: asyncio.Task[None]) -> None:
        if task.cancelled() and not self._closed:
            self.sig_cancelled.emit(request)

    def cancel(self, request: int) -> bool:
        """Stop export ``request`` if it is the one running (whether it was)."""
        if request != self.request or not self.running:
            return False
        assert self._running is not None
        self._running.cancel()
        return True

    def close(self) -> None:
        self._closed = True
        if self._running is not None:
            self._running.cancel()
        super().close()
