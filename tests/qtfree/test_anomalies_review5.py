"""A window and a wall on one cache: one runs its live detection (``one_per_cache``), the
other waits and runs no live round. What the waiting one counts now (the fleet's findings,
the incidents) and marks on its charts is what the other found, read from the store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

from aiops_desktop.models.anomalies import AnomalyFilter
from aiops_desktop.models.enums import AnomalySeverity
from aiops_desktop.services.runtime.one_per_cache import LIVE_DETECTION_LOCK, run_alone
from tests.qtfree.test_anomalies_review3 import GPU, App

STEP = 15.0


@pytest_asyncio.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[App, App]]:
    """The wall, holding the cache's live detection, and the window beside it, waiting."""
    wall, window = App(tmp_path), App(tmp_path)
    lock = tmp_path / LIVE_DETECTION_LOCK
    held = asyncio.create_task(
        run_alone(lock, lambda: wall.svc.run_live(interval_s=0.05), retry_s=0.05)
    )
    await asyncio.sleep(0.2)
    waits = asyncio.create_task(
        run_alone(lock, lambda: window.svc.run_live(interval_s=0.05), retry_s=0.05)
    )
    await asyncio.sleep(0.1)
    yield wall, window
    for task in (held, waits):
        task.cancel()
    await asyncio.gather(held, waits, return_exceptions=True)
    wall.close()
    window.close()


async def _both_poll(wall: App, window: App, temp: np.ndarray, *, ends_s: float = 0.0) -> None:
    """Both processes poll the same GPU (``ends_s`` before now); the wall's rounds store
    what they find."""
    n = temp.size
    ts = (time.time() - ends_s) // STEP * STEP - n * STEP + np.arange(n) * STEP
    await wall.poll("gpu_temperature", GPU, ts, temp)
    window.live.append("east", "gpu_temperature", GPU, ts, temp)
    for _ in range(100):
        if await wall.svc.stored(AnomalyFilter()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the wall's live rounds stored nothing")


@pytest.mark.asyncio
async def test_the_waiting_process_counts_the_others_open_episode_now(
    pair: tuple[App, App],
) -> None:
    """A GPU at 92 C for 90 min and still (its worst point its first): the wall's rounds
    count it going on; the window, whose rounds do not run, counted nothing (its live
    rounds' own open episodes were all it counted open)."""
    wall, window = pair
    temp = np.full(720, 55.0)
    temp[-360:] = 92.0
    await _both_poll(wall, window, temp)
    seen = []
    for app in (wall, window):
        (now,) = await app.svc.current(timedelta(hours=1))
        seen.append((now.identity, now.severity, now.actual, now.open))
    assert seen[1] == seen[0] and seen[0][1:] == (AnomalySeverity.CRITICAL, 92.0, True)
    assert wall.svc.detecting and not window.svc.detecting


@pytest.mark.asyncio
async def test_the_waiting_process_marks_what_the_other_finds(pair: tuple[App, App]) -> None:
    """The window's dashboard shows "east" (its markers read once from the store, none yet),
    then the wall finds a GPU at 92 C: shown again, the window's chart marks it."""
    wall, window = pair
    await window.svc.load_stored("east")
    assert window.svc.for_panel("east", "gpu_temperature") == []
    temp = np.full(400, 55.0)
    temp[-5:] = 92.0
    await _both_poll(wall, window, temp)
    moved = await window.svc.load_stored("east")
    (marker,) = window.svc.for_panel("east", "gpu_temperature")
    assert moved == {"gpu_temperature"}
    assert (marker.severity, marker.actual) == (AnomalySeverity.CRITICAL, 92.0)
    assert await window.svc.load_stored("east", ["gpu_temperature"]) == set()  # none moved


@pytest.mark.asyncio
async def test_an_episode_stored_open_long_ago_is_not_going_on(pair: tuple[App, App]) -> None:
    """An episode stored open whose last point found is two hours old (the process that
    found it ended, or its breach stopped with no round to say so): the window does not
    count it going on."""
    wall, window = pair
    temp = np.full(400, 55.0)
    temp[-5:] = 92.0
    await _both_poll(wall, window, temp, ends_s=2 * 3600)
    assert await window.svc.current(timedelta(hours=1)) == []
