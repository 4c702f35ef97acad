"""Reports in the app: generate one (the cache read and the report built off the UI thread,
its charts drawn here, where Qt may draw widgets, the files laid out and written off it
again), list the ones kept, prune past 90 days."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from aiops_desktop.models.reports import Report, ReportType
from aiops_desktop.services.outputs.reports import ReportService, release_unwritten
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.presenters.base import Presenter
from ui.report_pdf import Images, chart_image, needs_images, write_report_files
from ui.theme import Theme


class ReportsPresenter(Presenter):
    """Signals: sig_progress(str, int): a step and how far (0-100); sig_done(list[str]): the
    files written; sig_failed(str): the report could not be made, why (in sig_error too);
    sig_listed(list[tuple[str, int, float]]): name, bytes, modified (epoch s); sig_error(str).
    The first three are about request number ``request`` as they are emitted (a dialog
    takes only its own request's)."""

    sig_progress = Signal(str, int)
    sig_done = Signal(list)
    sig_failed = Signal(str)
    sig_listed = Signal(list)

    def __init__(
        self,
        *,
        reports: ReportService,
        theme: Theme,
        tasks: TaskSupervisor,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(tasks, parent=parent)
        self._reports = reports
        self._theme = theme
        self.busy = False
        self.request = 0  # the number of the request being made (or made last)

    @property
    def folder(self) -> Path:
        return self._reports.folder

    def cluster_names(self) -> list[str]:
        return self._reports.cluster_names()

    def generate(
        self, kind: ReportType, names: list[str] | None, since: timedelta, formats: list[str]
    ) -> int | None:
        """Make a report; returns its request's number, or None when one is being made
        already (then nothing is started: the one being made is not another's answer)."""
        if self.busy:
            return None
        self.busy = True
        self.request += 1

        async def work() -> None:
            try:
                self.sig_progress.emit("Reading the cache and building the report…", 10)
                report = await self._reports.make(kind, names, since)
                self.sig_progress.emit("Drawing the charts and writing the files…", 60)
                await asyncio.sleep(0)  # let the bar repaint first
                # files of its own: another report of this second (the CLI's) keeps its own
                outs = await asyncio.to_thread(self._reports.new_paths, report, formats)
                try:
                    written = await self._write(report, outs)
                except BaseException:
                    # the app quit (cancelled) or a chart failed while drawn: the names
                    # claimed empty are let go, else listed among the reports as empty files
                    release_unwritten(outs, [])
                    raise
                await asyncio.to_thread(self._reports.prune)
                self.sig_progress.emit("Done", 100)
                self.sig_done.emit([str(p) for p in written])
            finally:
                self.busy = False
            self.refresh()  # the list of reports: a failure to read it is not the report's

        self.spawn("report", work(), on_error=self._failed)
        return self.request

    async def _write(self, report: Report, outs: list[Path]) -> list[Path]:
        """``report`` written to ``outs`` (claimed): its charts drawn here, a widget grabbed
        one at a time, then laid out and written off the UI thread (a long report takes
        seconds)."""
        images: Images = {}
        if needs_images(outs):
            for chart in (c for s in report.sections for c in s.charts):
                images[id(chart)] = chart_image(chart, self._theme)
                await asyncio.sleep(0)
        return await asyncio.to_thread(write_report_files, report, outs, self._theme, images)

    def _failed(self, text: str) -> None:
        self.sig_failed.emit(text)
        self.sig_error.emit(text)

    async def read(self) -> None:
        """The reports kept, newest first."""

        def rows() -> list[tuple[str, int, float]]:
            return [(p.name, p.stat().st_size, p.stat().st_mtime) for p in self._reports.kept()]

        self.sig_listed.emit(await asyncio.to_thread(rows))
