"""Feeds the wall: every few seconds the wall model is built from what the poller holds (an
in-memory read: no I/O on the UI thread) and handed to the window."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from aiops_desktop.services.core import Core
from aiops_desktop.services.wall import build_wall
from ui.presenters.monitoring import TimedPresenter


class WallPresenter(TimedPresenter):
    """Signals: sig_model(WallModel)."""

    sig_model = Signal(object)

    def __init__(
        self, core: Core, pages: list[str], refresh_ms: int = 2000, parent: QObject | None = None
    ) -> None:
        super().__init__(core, refresh_ms, parent)
        self.pages = pages

    def refresh(self) -> None:
        self.sig_model.emit(build_wall(self._core, self.pages))
