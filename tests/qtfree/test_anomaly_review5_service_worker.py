"""Review 5, #6: a detection process that dies (the OOM killer, SIGKILL) or cannot start is
said (``DetectWorker.degraded``), and a fresh process is tried after RETRY_PROCESS_S: detection
goes back to its own process once one starts again, instead of staying in the window's
process (a thread: the window's repaints wait for it) for good with only a log line."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from aiops_desktop.services.intelligence.detect_worker import RETRY_PROCESS_S, DetectWorker


class Clock:
    """The worker's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def assert_nothing_left(threads: set[threading.Thread]) -> None:
    """No child process and no thread started since ``threads`` is still alive (a broken
    pool's own threads end by themselves, soon)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        extra = set(threading.enumerate()) - threads
        if not multiprocessing.active_children() and not extra:
            return
        time.sleep(0.05)
    assert multiprocessing.active_children() == []
    assert set(threading.enumerate()) - threads == set()


@pytest.mark.asyncio
async def test_a_killed_process_is_said_and_a_fresh_one_is_tried_after_the_back_off() -> None:
    threads = set(threading.enumerate())
    clock = Clock()
    worker = DetectWorker(isolated=True, clock=clock)
    try:
        first = await worker.run(os.getpid)
        assert first != os.getpid() and worker.degraded is None
        os.kill(first, signal.SIGKILL)
        assert await worker.run(os.getpid) == os.getpid()  # in the window's process now
        assert worker.degraded is not None and "process" in worker.degraded
        moved = worker.generation
        clock.now += RETRY_PROCESS_S - 1  # still backing off: no new process yet
        assert await worker.run(os.getpid) == os.getpid()
        assert worker.degraded is not None
        clock.now += 1
        again = await worker.run(os.getpid)
        assert again not in (first, os.getpid())  # a fresh process of its own
        assert worker.degraded is None
        assert worker.generation == moved + 1  # the thread's detectors are not there
    finally:
        worker.close()
    assert_nothing_left(threads)


@pytest.mark.asyncio
async def test_a_process_that_cannot_start_is_said_and_tried_again_only_after_the_back_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tries: list[int] = []

    def refuse(*_a: object, **_k: object) -> ProcessPoolExecutor:
        tries.append(1)
        raise OSError("no processes here")

    monkeypatch.setattr(
        "aiops_desktop.services.intelligence.detect_worker.ProcessPoolExecutor", refuse
    )
    threads = set(threading.enumerate())
    clock = Clock()
    worker = DetectWorker(isolated=True, clock=clock)
    try:
        assert await worker.run(os.getpid) == os.getpid()
        assert await worker.run(os.getpid) == os.getpid()
        assert len(tries) == 1  # not a failed start every call
        assert worker.degraded is not None and "no processes here" in worker.degraded
        assert worker.generation == 0  # no process ever held a detector: nothing moved
        clock.now += RETRY_PROCESS_S
        assert await worker.run(os.getpid) == os.getpid()
        assert len(tries) == 2 and worker.degraded is not None
    finally:
        worker.close()
    assert_nothing_left(threads)


@pytest.mark.asyncio
async def test_a_thread_worker_by_design_is_not_degraded() -> None:
    worker = DetectWorker(isolated=False)
    try:
        assert await worker.run(os.getpid) == os.getpid()
        assert worker.degraded is None
    finally:
        worker.close()
