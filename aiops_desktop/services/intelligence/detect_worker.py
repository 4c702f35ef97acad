"""Where anomaly detection runs: a worker thread, or (the window and the wall) a process.

Detection is CPU-bound Python and numpy (medians, ETS fits). In a thread of the window's
process it holds the GIL for most of each second, and every call from Qt into Python (a
table asking a model for a cell, a timer) waits for the interpreter's switch interval: a
20,000-pod table then took most of a second per repaint. In its own process it takes none
of the window's GIL and none of its memory (statsmodels, scipy, pandas stay out of the
window). The process is started with ``spawn`` (forking a process that runs Qt threads is
unsafe) on first use; when it cannot start or dies, detection goes on in a thread and says so
in the log. In the packaged app its children are started with the app's launcher, whose
entry point (aiops_desktop.__main__.main) runs multiprocessing's own command lines.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("aiops.services.detect_worker")


class DetectWorker:
    def __init__(self, *, isolated: bool) -> None:
        """``isolated``: detect in a process of its own (else in one worker thread)."""
        self._isolated = isolated
        self._process: ProcessPoolExecutor | None = None
        self._thread: ThreadPoolExecutor | None = None
        #: counts the places detection moved to: state kept in the old place (the live
        #: detectors) is gone when it changes
        self.generation = 0

    def _executor(self) -> Executor:
        if self._isolated and self._process is None:
            try:
                self._process = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn")
                )
            except (OSError, ValueError) as exc:
                self._fall_back(exc)
        if self._process is not None:
            return self._process
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aiops-detect")
        return self._thread

    def _fall_back(self, exc: BaseException) -> None:
        log.warning("anomaly detection runs in a thread: its process failed (%s)", exc)
        self._isolated = False
        self.generation += 1
        if self._process is not None:
            self._process.shutdown(wait=False, cancel_futures=True)
            self._process = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the worker (a module-level function with picklable arguments)."""
        loop = asyncio.get_running_loop()
        executor = self._executor()
        try:
            return await loop.run_in_executor(executor, fn, *args)
        except BrokenProcessPool as exc:
            if executor is not self._process:
                raise
            self._fall_back(exc)
            return await loop.run_in_executor(self._executor(), fn, *args)

    def close(self) -> None:
        for executor in (self._process, self._thread):
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
        self._process = self._thread = None
