"""Review 8: an incident tile held open (its cluster unreadable), or of the last run (not
grouped yet in this one), is badged stale with why, and is as old as its newest signal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from aiops_desktop.models import utcnow
from aiops_desktop.models.enums import FindingSeverity, IncidentStatus
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.models.wall import Tile
from aiops_desktop.secrets import NoSecrets
from aiops_desktop.services.core import Core
from aiops_desktop.settings import resolve_paths


@pytest_asyncio.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    opened = Core.open(resolve_paths(tmp_path / "home"), secrets=NoSecrets())
    yield opened
    await opened.shutdown()


def incident(now: datetime, *, held: bool) -> Incident:
    then = now - timedelta(days=2)
    sig = IncidentSignal(key="alert:ran-a:KubeNodeNotReady", source="alert", cluster="ran-a",
                         subject="KubeNodeNotReady", severity=FindingSeverity.CRITICAL,
                         reason="node du-1 not ready", first_seen=then - timedelta(hours=1),
                         last_seen=then)  # fmt: skip
    return Incident(id="INC-0001", title="ran-a: KubeNodeNotReady: node du-1 not ready",
                    severity=FindingSeverity.CRITICAL, state=IncidentStatus.OPEN,
                    opened_at=then - timedelta(hours=1), updated_at=then, signals=[sig],
                    unread=["ran-a"] if held else [],
                    held_by=["Prometheus of ran-a"] if held else [])  # fmt: skip


def tile(core: Core, now: datetime) -> Tile:
    (page,) = core.wall.build(["incidents"], now=now).pages
    (shown,) = page.tiles
    return shown


@pytest.mark.asyncio
async def test_an_incident_of_the_last_run_not_grouped_yet_is_stale_and_two_days_old(
    core: Core,
) -> None:
    now = utcnow()
    core.fleet._refreshed_at = now
    core.wall.incidents_read = (now, [incident(now, held=False)])
    shown = tile(core, now)
    assert shown.state == "CRITICAL"
    assert shown.stale
    assert shown.age_s == pytest.approx(2 * 86400, abs=5)
    assert shown.stale_since == now - timedelta(days=2)
    assert any("not grouped yet" in line for line in shown.lines)


@pytest.mark.asyncio
async def test_an_incident_held_open_says_why_and_is_stale_after_grouping(core: Core) -> None:
    now = utcnow()
    core.fleet._refreshed_at = now
    core.wall._grouped([incident(now, held=True)])  # this run grouped it: held open
    shown = tile(core, now)
    assert shown.stale
    assert shown.age_s == pytest.approx(2 * 86400, abs=5)
    assert any("held open: Prometheus of ran-a" in line for line in shown.lines)


@pytest.mark.asyncio
async def test_an_incident_seen_in_this_runs_grouping_is_not_stale(core: Core) -> None:
    now = utcnow()
    fresh = incident(now, held=False)
    fresh.signals[0].last_seen = now - timedelta(seconds=20)
    core.fleet._refreshed_at = now
    core.wall._grouped([fresh])
    shown = tile(core, now)
    assert not shown.stale
    assert shown.age_s == pytest.approx(20, abs=1)
    assert not any("held open" in line or "not grouped" in line for line in shown.lines)
