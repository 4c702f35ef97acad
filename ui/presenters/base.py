"""The one presenter base: supervised async work with failures shown to the user, an optional
timer, and reads that never pile up.

A presenter receives the services it uses (never the whole app) and turns their answers into
Qt signals. ``refresh()`` runs ``read()`` as a supervised task; a refresh asked for while a
read runs is not dropped and not run beside it: it is done once when that read ends. A
presenter whose data is already in memory (the poller's state) overrides ``refresh()``
instead and emits at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor

log = logging.getLogger("aiops.ui.presenters")


class Presenter(QObject):
    """Signals: sig_error(str): a read failed, or what is shown is stale; the text is for the
    user ("" when all is well again)."""

    sig_error = Signal(str)

    def __init__(
        self, tasks: TaskSupervisor, interval_ms: int | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._busy = False
        self._again = False  # asked again while a read ran: read once more when it ends
        self._timer: QTimer | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        if interval_ms is not None:
            self._timer = QTimer(self)
            self._timer.setInterval(interval_ms)
            self._timer.timeout.connect(self.refresh)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Read now and then on the timer (idempotent)."""
        if self._timer is not None and not self._timer.isActive():
            self._timer.start()
        self.refresh()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._again = False

    def listen(self, bus: EventBus, topic: str, callback: Callable[[Any], None]) -> None:
        """Subscribe to a service topic until ``close``."""
        self._unsubscribe.append(bus.subscribe(topic, callback))

    def close(self) -> None:
        """The app is closing: stop, and stop listening."""
        self.stop()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    # -- reads -----------------------------------------------------------------------------
    def refresh(self) -> None:
        if self._busy:
            self._again = True
            return
        self._busy, self._again = True, False

        async def work() -> None:
            try:
                await self.read()
            finally:
                self._busy = False
                if self._again:
                    QTimer.singleShot(0, self, self.refresh)

        self.spawn(type(self).__name__, work())

    async def read(self) -> None:
        """One read of the services; emit what was found."""

    @property
    def superseded(self) -> bool:
        """A refresh was asked for while this read ran: its answer may be dropped (another
        read follows at once)."""
        return self._again

    # -- tasks -----------------------------------------------------------------------------
    def spawn(
        self,
        name: str,
        work: Coroutine[Any, Any, None],
        on_error: Callable[[str], None] | None = None,
    ) -> asyncio.Task[None]:
        """Run ``work`` as a supervised task; a failure reaches the user (``sig_error`` unless
        ``on_error`` says where) instead of ending silently. The task is returned so that the
        person can stop it (a chat reply)."""
        report = on_error or self.sig_error.emit

        async def guarded() -> None:
            try:
                await work
            except Exception as exc:
                log.exception("%s failed", name)
                report(f"{name} failed: {exc or type(exc).__name__}")

        task = self._tasks.spawn(guarded(), name=name)
        # stopped before it ran (asked again at once): ``work`` never started, and would be
        # a coroutine never awaited; closing a finished one does nothing
        task.add_done_callback(lambda _t: work.close())
        return task
