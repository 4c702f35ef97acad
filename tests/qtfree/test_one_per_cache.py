"""Live detection runs in one process of a cache at a time (the window and the wall beside
it each stored their own findings of the same samples); the other takes over when the
holder ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from aiops_desktop.services.runtime.one_per_cache import LIVE_DETECTION_LOCK, run_alone


@pytest.mark.asyncio
async def test_a_second_runner_waits_for_the_first_and_takes_over(tmp_path: Path) -> None:
    lock = tmp_path / LIVE_DETECTION_LOCK
    running: list[str] = []
    first_may_end = asyncio.Event()

    async def first() -> None:
        running.append("window")
        await first_may_end.wait()

    async def second() -> None:
        running.append("wall")

    window = asyncio.create_task(run_alone(lock, first, retry_s=0.02))
    await asyncio.sleep(0.1)
    wall = asyncio.create_task(run_alone(lock, second, retry_s=0.02))
    await asyncio.sleep(0.2)
    assert running == ["window"]  # the wall waits: one detection per cache
    first_may_end.set()  # the window closes (or is cancelled): its lock goes
    await asyncio.wait_for(wall, 5)
    await window
    assert running == ["window", "wall"]


@pytest.mark.asyncio
async def test_a_cancelled_runner_lets_go_of_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / LIVE_DETECTION_LOCK

    async def forever() -> None:
        await asyncio.Event().wait()

    held = asyncio.create_task(run_alone(lock, forever, retry_s=0.02))
    await asyncio.sleep(0.1)
    held.cancel()
    with pytest.raises(asyncio.CancelledError):
        await held
    ran: list[bool] = []

    async def once() -> None:
        ran.append(True)

    await asyncio.wait_for(run_alone(lock, once, retry_s=0.02), 5)
    assert ran == [True]
