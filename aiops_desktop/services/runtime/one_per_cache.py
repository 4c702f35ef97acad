"""Work that one process of a cache does at a time: live anomaly detection.

The window and the wall may run beside each other on one cache (README). Each detecting
wrote its own findings of the same samples to the shared store: its detectors started at
another time and learnt from other samples, so the same stretch was stored twice under two
identities and extra findings appeared, at twice the CPU and two detection workers. The
process that holds the cache's lock file runs it; another waits, and takes over when the
holder ends (its lock goes with it, however it ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

log = logging.getLogger(__name__)

#: how often a process waiting for the lock asks for it again
RETRY_S = 30.0


def _try_lock(path: Path) -> int | None:
    """The lock file at ``path`` held (its descriptor), or None where another process holds
    it. On Windows, where no process can share the cache's file anyway, always held."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    if sys.platform == "win32":  # pragma: no cover (not run here)
        return fd
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


async def run_alone(
    lock: Path, work: Callable[[], Awaitable[None]], *, retry_s: float = RETRY_S
) -> None:
    """Run ``work`` while this process holds ``lock`` (a file beside the cache), waiting
    for it first where another process holds it; the lock is let go when ``work`` ends or
    is cancelled."""
    said = False
    while (fd := await asyncio.to_thread(_try_lock, lock)) is None:
        if not said:
            log.info("another window or wall runs this cache's live detection; waiting",
                     extra={"lock": str(lock)})  # fmt: skip
            said = True
        await asyncio.sleep(retry_s)
    try:
        await work()
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)  # lets go of the lock


LIVE_DETECTION_LOCK = ".live-detection.lock"
