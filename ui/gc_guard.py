"""Run Python's cyclic garbage collector on the UI thread only (as qutebrowser does).

Worker threads (the SQLite writer, keyring calls, executors) allocate enough to trigger the
automatic collector there; if a cycle it frees holds a Qt object, that object is destroyed on
the wrong thread ("QObject::~QObject: Timers cannot be stopped from another thread") and can
crash. So automatic collection is switched off while the window lives, and a timer on the UI
thread collects whenever the allocation counts pass the usual thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 200


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
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def _on_timer_timeout(self) -> None:
        threshold = gc.get_threshold()
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > threshold[generation]:
                gc.collect(generation)
                self.collections += 1
                break
