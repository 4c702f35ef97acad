"""The writer's queue never loses a wake-up: a batch's linger (``get`` with a timeout of a
few milliseconds) ends by its timeout, whatever the load.

CPython 3.11's ``queue.SimpleQueue.get(timeout=...)`` takes the queue's lock when it is free,
then waits again with the time left; when that time has already run out it waits with a
negative, so endless, timeout. In a loaded CI run a write's future was never resolved: the
writer sat in that linger, the caller in ``result()``, for 300 s (one in about 10,000 runs of
a three-write test under load). The writer's queue type is held to a repro of that turn."""

from __future__ import annotations

import contextlib
import queue
import threading
from pathlib import Path

from aiops_desktop.store.writer import WriterThread


def test_the_writers_queue_ends_a_linger_whose_deadline_passed(tmp_path: Path) -> None:
    writer = WriterThread(tmp_path / "cache.sqlite3")
    try:
        kind = type(writer._queue)
    finally:
        writer.close()
    ended: list[int] = []

    def linger() -> None:
        for i in range(20_000):
            q = kind()
            q.put(i)
            q.get()  # taken without waiting: the queue's lock is left free
            with contextlib.suppress(queue.Empty):
                q.get(timeout=1e-6)  # its deadline passes while it takes that lock
        ended.append(i)

    thread = threading.Thread(target=linger, daemon=True)
    thread.start()
    thread.join(30)
    assert ended == [19_999], "a get with a timeout never returned (SimpleQueue's endless wait)"
