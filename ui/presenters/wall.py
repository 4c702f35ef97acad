"""Feeds the wall: every few seconds the wall model is built from what the poller holds (an
in-memory read: no I/O on the UI thread) and handed to the window."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from aiops_desktop.services.core import Core
from aiops_desktop.services.wall import build_wall


class WallPresenter(QObject):
    """Signals: sig_model(WallModel)."""

    sig_model = Signal(object)

    def __init__(
        self, core: Core, pages: list[str], refresh_ms: int = 2000, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._core = core
        self.pages = pages
        self._timer = QTimer(self)
        self._timer.setInterval(refresh_ms)
        self._timer.timeout.connect(self.refresh)

    def start(self) -> None:
        self._timer.start()
        self.refresh()

    def stop(self) -> None:
        self._timer.stop()

    def refresh(self) -> None:
        self.sig_model.emit(build_wall(self._core, self.pages))
