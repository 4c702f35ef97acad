"""Where anomaly detection runs: a worker thread, or (the window and the wall) a process.

Detection is CPU-bound Python and numpy (medians, ETS fits). In a thread of the window's
process it holds the GIL for most of each second, and every call from Qt into Python (a
table asking a model for a cell, a timer) waits for the interpreter's switch interval: a
20,000-pod table then took most of a second per repaint. In its own process it takes none
of the window's GIL and none of its memory (statsmodels, scipy, pandas stay out of the
window). The process is started with ``spawn`` (forking a process that runs Qt threads is
unsafe) on first use; when it cannot start or dies, detection goes on in a thread, says so
(``degraded``: Diagnostics and the Anomalies page show it) and tries a fresh process after
RETRY_PROCESS_S, going back to it once one runs. In the packaged app its children are started
with the app's launcher, whose entry point (aiops_desktop.__main__.main) runs
multiprocessing's own command lines.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("aiops.services.detect_worker")

#: how long detection stays in the window's process after its own process died or could not
#: start before a fresh one is tried: the thread costs the window repaint time for good, a
#: process that keeps failing costs a failed start each time (and nothing more: see ``_ran``)
RETRY_PROCESS_S = 300.0


class DetectWorker:
    def __init__(self, *, isolated: bool, clock: Callable[[], float] = time.monotonic) -> None:
        """``isolated``: detect in a process of its own (else in one worker thread)."""
        self._isolated = isolated
        self._clock = clock
        self._process: ProcessPoolExecutor | None = None
        self._thread: ThreadPoolExecutor | None = None
        #: counts the places detection moved to: state kept in the old place (the live
        #: detectors) is gone when it changes
        self.generation = 0
        #: why detection runs in a thread of this (the window's) process though a process of
        #: its own was asked for; None while it runs where it was asked to
        self.degraded: str | None = None
        self._retry_at = -float("inf")  # when a process is tried next (after a failure)
        self._ran = False  # whether the process answered a call (holds state to lose)

    def _executor(self) -> Executor:
        if self._isolated and self._process is None and self._clock() >= self._retry_at:
            try:
                self._process = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn")
                )
                self._ran = False
            except (OSError, ValueError) as exc:
                self._fall_back(exc)
        if self._process is not None:
            return self._process
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aiops-detect")
        return self._thread

    def _fall_back(self, exc: BaseException) -> None:
        log.warning("anomaly detection runs in a thread: its process failed (%s); a new one "
                    "is tried in %.0f s", exc, RETRY_PROCESS_S)  # fmt: skip
        self.degraded = (f"anomaly detection runs in the window's process (its repaints wait "
                         f"for it): its own process failed ({exc or type(exc).__name__}); a "
                         f"new one is tried every {RETRY_PROCESS_S / 60:.0f} min")  # fmt: skip
        self._retry_at = self._clock() + RETRY_PROCESS_S
        if self._ran:  # a process that never answered held no detectors: nothing moved
            self.generation += 1
        if self._process is not None:
            self._process.shutdown(wait=False, cancel_futures=True)
            self._process = None

    def _answered(self) -> None:
        """The process answered: detection is where it was asked to be (back, after a
        failure: the detectors the thread kept are not there)."""
        self._ran = True
        if self.degraded is not None:
            log.info("anomaly detection runs in its own process again")
            self.degraded = None
            self.generation += 1

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the worker (a module-level function with picklable arguments)."""
        loop = asyncio.get_running_loop()
        executor = self._executor()
        try:
            out = await loop.run_in_executor(executor, fn, *args)
        except BrokenProcessPool as exc:
            if executor is self._process:  # (not a call beside it that fell back already)
                self._fall_back(exc)
            elif executor is self._thread:
                raise
            executor = self._executor()
            out = await loop.run_in_executor(executor, fn, *args)
        if executor is self._process:
            self._answered()
        return out

    def close(self) -> None:
        for executor in (self._process, self._thread):
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
        self._process = self._thread = None
