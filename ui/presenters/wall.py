"""Feeds the wall: every few seconds the wall model is built from what the poller holds (an
in-memory read: no I/O on the UI thread) and handed to the window.

A build that fails (a bug, or data no builder expected) does not stop the wall: the window is
told, so that it badges what it shows as not updated since its last model while its clock
goes on, and the next refresh tries again. Each distinct failure is logged once, with its
traceback, and only so many of them (a failure whose text has a count in it is new each time).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from PySide6.QtCore import QObject, Signal

from aiops_desktop.services.outputs.wall import WallService
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from ui.presenters.base import Presenter

log = logging.getLogger("aiops.ui.wall")

MAX_LOGGED_ERRORS = 20  # distinct build failures logged; the rest are counted, not logged
ERROR_KEY_CHARS = 200  # how much of a failure's text tells it from another


class WallPresenter(Presenter):
    """Signals: sig_model(WallModel): the wall, built afresh; sig_stale(datetime, str): it
    could not be built: the time now, and why in a few words (what is shown is as old as the
    last model)."""

    sig_model = Signal(object)
    sig_stale = Signal(object, str)

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
        self._logged: set[tuple[str, str]] = set()
        self._unlogged = 0  # failures beyond MAX_LOGGED_ERRORS distinct ones
        self._failing = False

    def refresh(self) -> None:
        try:
            model = self._wall.build(self.pages)
        except Exception as exc:  # the wall goes on: badged, logged, tried again
            self._failed(exc)
            return
        if self._failing:
            self._failing = False
            log.info("the wall is built again: its display is updated again")
        self.sig_model.emit(model)

    def _failed(self, exc: Exception) -> None:
        self._failing = True
        key = (type(exc).__name__, str(exc)[:ERROR_KEY_CHARS])
        if key in self._logged:
            pass
        elif len(self._logged) < MAX_LOGGED_ERRORS:
            self._logged.add(key)
            log.error("the wall could not be built: it shows its last data, badged as not "
                      "updated", exc_info=exc)  # fmt: skip
        else:
            self._unlogged += 1
            if self._unlogged == 1:
                log.error("the wall could not be built again, %d distinct ways logged: "
                          "further ones are not logged", MAX_LOGGED_ERRORS)  # fmt: skip
        try:
            now = self._wall.now()
        except Exception:  # the clock is the wall's own: the present will do
            now = datetime.now(UTC)
        # the type only: the wall is read across a room, the message is in the app log
        self.sig_stale.emit(now, type(exc).__name__)
