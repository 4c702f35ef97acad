"""Feeds the wall: every few seconds the wall model is built from what the poller holds (an
in-memory read: no I/O on the UI thread) and handed to the window."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from aiops_desktop.services.outputs.wall import WallService
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.presenters.base import Presenter


class WallPresenter(Presenter):
    """Signals: sig_model(WallModel)."""

    sig_model = Signal(object)

    def __init__(
        self,
        *,
        wall: WallService,
        pages: list[str],
        tasks: TaskSupervisor,
        refresh_ms: int = 2000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(tasks, refresh_ms, parent)
        self._wall = wall
        self.pages = pages

    def refresh(self) -> None:
        self.sig_model.emit(self._wall.build(self.pages))
