"""The wall's incidents page never reads "No open incidents" (OK, green) before this run has
grouped any: the store then holds the last run's grouping (a capture's working copy none), so
"none open" is UNKNOWN, not grouped yet; and a grouping's incidents are on the wall as soon
as they are published (``INCIDENTS_CHANGED``), not at the next 30 s read."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from aiops_desktop.models.incidents import Incident
from aiops_desktop.services.core import Core
from aiops_desktop.services.intelligence.incidents import INCIDENTS_CHANGED
from aiops_desktop.services.outputs.wall import WallService


def wired(core: Core) -> WallService:
    """The core's wall with the core's bus (as the app's wall is given it)."""
    return dataclasses.replace(core.wall, bus=core.bus)


@pytest.mark.asyncio
async def test_none_open_before_this_runs_first_grouping_is_unknown(core: Core) -> None:
    wall = wired(core)
    task = asyncio.ensure_future(wall.follow_incidents(every_s=3600))
    try:
        for _ in range(200):  # its first read, of the store before any grouping
            await asyncio.sleep(0.01)
            if wall.incidents_read is not None:
                break
        (page,) = wall.build(["incidents"]).pages
        assert page.worst == "UNKNOWN", page.tiles
        assert page.tiles[0].lines[0] == "UNKNOWN · not grouped yet"
        await core.incidents.refresh()  # this run's first grouping: none open (no cluster)
        (page,) = wall.build(["incidents"]).pages  # at once, not at the next read
        assert [(t.title, t.state) for t in page.tiles] == [("No open incidents", "OK")]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.asyncio
async def test_a_read_begun_before_a_grouping_does_not_overwrite_it(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    wall = wired(core)
    grouped: list[Incident] = []
    reading = asyncio.Event()
    go_on = asyncio.Event()

    async def slow_listed() -> list[Incident]:  # the store read before the grouping wrote
        reading.set()
        await go_on.wait()
        return []

    monkeypatch.setattr(core.incidents, "listed", slow_listed)
    task = asyncio.ensure_future(wall.follow_incidents(every_s=3600))
    try:
        await asyncio.wait_for(reading.wait(), 5)
        core.bus.publish(INCIDENTS_CHANGED, grouped)  # the grouping published meanwhile
        go_on.set()
        await asyncio.sleep(0.05)
        assert wall.incidents_read is not None and wall.incidents_read[1] is grouped
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.asyncio
async def test_the_sample_captures_critical_incidents_come_without_a_green_start(
    sample_core: Core,
) -> None:
    """As ``WallApp.load`` starts the wall on a capture: its three CRITICAL incidents were
    shown as "No open incidents", OK, for the first 30 s."""
    core = sample_core
    wall = wired(core)
    core.incidents.follow(core.supervisor)
    core.supervisor.spawn(core.fleet.run(), name="fleet-truth")
    core.supervisor.spawn(wall.follow_incidents(), name="wall-incidents")
    seen = []
    start = time.monotonic()
    while time.monotonic() - start < 25:
        (page,) = wall.build(["incidents"]).pages
        seen.append(page.worst)
        if page.worst == "CRITICAL":
            break
        await asyncio.sleep(0.1)
    assert "OK" not in seen, seen
    assert seen[-1] == "CRITICAL", seen
    assert time.monotonic() - start < 20  # as soon as grouped, not at the next 30 s read
