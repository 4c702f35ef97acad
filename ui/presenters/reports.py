"""Reports in the app: generate one (the cache read and the report built off the UI thread,
then drawn to PDF/HTML here, where Qt may draw), list the ones kept, prune past 90 days."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from aiops_desktop.models import utcnow
from aiops_desktop.services.core import Core
from aiops_desktop.services.reports import list_reports, make_report, prune_reports, report_path
from analysis.reports.model import ReportType
from ui.presenters.tasks import spawn_guarded
from ui.report_pdf import write_report_files
from ui.theme import Theme


class ReportsPresenter(QObject):
    """Signals: sig_progress(str, int): a step and how far (0-100); sig_done(list[str]): the
    files written; sig_listed(list[tuple[str, int, float]]): name, bytes, modified (epoch s);
    sig_error(str)."""

    sig_progress = Signal(str, int)
    sig_done = Signal(list)
    sig_listed = Signal(list)
    sig_error = Signal(str)

    def __init__(self, core: Core, theme: Theme, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self._theme = theme
        self.busy = False

    @property
    def folder(self) -> Path:
        return self._core.paths.reports_dir

    def cluster_names(self) -> list[str]:
        return [c.name for c in self._core.registry.clusters()]

    def generate(
        self, kind: ReportType, names: list[str] | None, since: timedelta, formats: list[str]
    ) -> None:
        if self.busy:
            return
        self.busy = True

        async def work() -> None:
            try:
                self.sig_progress.emit("Reading the cache and building the report…", 10)
                report = await make_report(self._core, kind, names, since)
                self.sig_progress.emit("Drawing the charts and writing the files…", 60)
                await asyncio.sleep(0)  # let the bar repaint first
                outs = [report_path(self.folder, report, fmt) for fmt in formats]
                written = write_report_files(report, outs, self._theme)
                await asyncio.to_thread(prune_reports, self.folder, utcnow())
                self.sig_progress.emit("Done", 100)
                self.sig_done.emit([str(p) for p in written])
            finally:
                self.busy = False
            await self._list()

        spawn_guarded(self._core, "report", work(), self.sig_error.emit)

    def refresh(self) -> None:
        spawn_guarded(self._core, "reports list", self._list(), self.sig_error.emit)

    async def _list(self) -> None:
        def rows() -> list[tuple[str, int, float]]:
            return [
                (p.name, p.stat().st_size, p.stat().st_mtime) for p in list_reports(self.folder)
            ]

        self.sig_listed.emit(await asyncio.to_thread(rows))
