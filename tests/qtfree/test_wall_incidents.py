"""The wall's incidents page (PRODUCT.md: its pages rotate "fleet, GPU, PTP, incidents"): the
incidents not resolved, as the Incidents page lists them, read from the store (the window,
the CLI or the wall itself groups them), UNKNOWN until read, badged stale when not read for
a while, the rest counted rather than dropped."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from aiops_desktop.models import utcnow
from aiops_desktop.models.enums import FindingSeverity, IncidentStatus
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.models.wall import WALL_PAGES
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.wall import INCIDENT_TILES, INCIDENTS_STALE_S

NOW = utcnow().replace(microsecond=0)


def incident(n: int, severity: FindingSeverity, state: IncidentStatus, *clusters: str) -> Incident:
    opened = NOW - timedelta(hours=2)
    signals = [
        IncidentSignal(
            key=f"k{n}-{c}",
            source="alert",
            cluster=c,
            subject="KubeNodeNotReady",
            severity=severity,
            reason="node not ready",
            first_seen=opened,
            last_seen=NOW,
        )
        for c in clusters
    ]
    return Incident(
        id=f"INC-{n:04d}", title=f"KubeNodeNotReady on {len(clusters)} clusters", severity=severity,
        state=state, opened_at=opened, updated_at=NOW, signals=signals,
        resolved_at=NOW if state is IncidentStatus.RESOLVED else None,
        acknowledged_at=NOW if state is IncidentStatus.ACKNOWLEDGED else None,
    )  # fmt: skip


def page(core: Core, now=NOW):  # type: ignore[no-untyped-def]
    (built,) = core.wall.build(["incidents"], now=now).pages
    return built


def test_the_incidents_page_is_one_of_the_walls() -> None:
    assert "incidents" in WALL_PAGES


@pytest.mark.asyncio
async def test_incidents_not_read_yet_are_unknown_never_ok(core: Core) -> None:
    built = page(core)
    assert built.worst == "UNKNOWN"
    assert built.tiles[0].lines == ["UNKNOWN · not read yet"]


@pytest.mark.asyncio
async def test_the_open_incidents_read_from_the_store_worst_first(core: Core) -> None:
    stored = [
        incident(1, FindingSeverity.WARNING, IncidentStatus.OPEN, "ran-a"),
        incident(
            2,
            FindingSeverity.CRITICAL,
            IncidentStatus.ACKNOWLEDGED,
            "ran-a",
            "ran-b",
            "ran-c",
            "ran-d",
        ),
        incident(3, FindingSeverity.CRITICAL, IncidentStatus.RESOLVED, "ran-a"),
    ]
    await asyncio.wrap_future(core.incidents.repo.save(stored))  # as grouping keeps them
    await core.wall.read_incidents()
    built = page(core)
    assert built.worst == "CRITICAL"
    assert [t.state for t in built.tiles] == ["WARNING", "CRITICAL"]  # open first, as listed
    critical = built.tiles[1]
    assert critical.title == "KubeNodeNotReady on 4 clusters"
    # the last run's, not grouped yet in this one: badged, and said so
    assert critical.stale and critical.lines == [
        "CRITICAL · 4 signals · acknowledged · for 2.0 h", "ran-a, ran-b, ran-c …",
        "last run's: not grouped yet in this run"]  # fmt: skip
    assert core.wall.incidents_read is not None
    core.wall._grouped(core.wall.incidents_read[1])  # this run's grouping found them so
    grouped = page(core).tiles[1]
    assert grouped.lines == ["CRITICAL · 4 signals · acknowledged", "ran-a, ran-b, ran-c …",
                             "for 2.0 h"]  # fmt: skip
    read_at = core.wall.incidents_read[0]  # (NOW is when the module was imported)
    aged = page(core, read_at + timedelta(seconds=30)).tiles[1]
    assert not aged.stale  # its newest signal: NOW
    later = page(core, read_at + timedelta(seconds=INCIDENTS_STALE_S + 60))
    assert all(t.stale for t in later.tiles)  # not read again since: badged


@pytest.mark.asyncio
async def test_more_incidents_than_a_page_shows_are_counted(core: Core) -> None:
    many = [incident(n, FindingSeverity.CRITICAL if n % 5 == 0 else FindingSeverity.WARNING,
                     IncidentStatus.OPEN, f"c{n}") for n in range(INCIDENT_TILES + 6)]  # fmt: skip
    await asyncio.wrap_future(core.incidents.repo.save(many))
    await core.wall.read_incidents()
    built = page(core)
    assert len(built.tiles) == INCIDENT_TILES + 1
    rest = built.tiles[-1]
    assert rest.title == "More incidents" and rest.lines[0] == "6 more incidents not shown"


@pytest.mark.asyncio
async def test_no_open_incident_is_ok_and_says_what_was_resolved(core: Core) -> None:
    resolved = incident(1, FindingSeverity.CRITICAL, IncidentStatus.RESOLVED, "ran-a")
    await asyncio.wrap_future(core.incidents.repo.save([resolved]))
    core.wall._grouped([])  # this run has grouped (before it: UNKNOWN)
    await core.wall.read_incidents()
    (tile,) = page(core).tiles
    assert (tile.title, tile.state) == ("No open incidents", "OK")
    assert tile.lines == ["OK · none open", "1 incident resolved in the last week"]
