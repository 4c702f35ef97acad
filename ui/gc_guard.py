"""Run Python's cyclic garbage collector on the UI thread only (as qutebrowser does).

Worker threads (the SQLite writer, keyring calls, executors) allocate enough to trigger the
automatic collector there; if a cycle it frees holds a Qt object, that object is destroyed on
the wrong thread ("QObject::~QObject: Timers cannot be stopped from another thread") and can
crash. So automatic collection is switched off while the window lives, and a timer on the UI
thread collects whenever the allocation counts pass the usual thresholds.

A full collection walks every object the process tracks (a big fleet: 100-300 ms on the UI
thread). So the objects made while the app starts (modules, widgets, the registry) are moved
out of the collector's sight once it has loaded (``freeze``), and a full collection runs at a
tenth of the usual rate; the young generations, where garbage is, keep theirs.
"""

from __future__ import annotations

import gc
import linecache

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 200
FULL_EVERY = 10  # a full collection after this many times the usual middle-generation count


class MainThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._was_enabled = gc.isenabled()
        self.collections = 0

    def start(self) -> None:
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        gc.unfreeze()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def freeze(self) -> None:
        """What lives now lives on (the app has loaded): full collections skip it. The source
        lines PySide read of every module imported after it (its ``__feature__`` check, 17 MB
        for this app) are let go: a traceback reads them again."""
        linecache.clearcache()
        gc.collect()
        gc.freeze()

    def _on_timer_timeout(self) -> None:
        threshold = list(gc.get_threshold())
        threshold[2] *= FULL_EVERY
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > threshold[generation]:
                gc.collect(generation)
                self.collections += 1
                break
