"""Alert history: each firing kept with when it was first and last seen and when it ended."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from aiops_desktop.models import AlertSeverity
from aiops_desktop.models.alerts import Alert
from aiops_desktop.services.core import Core

T0 = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def alert(name: str, fingerprint: str) -> Alert:
    return Alert(fingerprint=fingerprint, cluster="east", name=name,
                 severity=AlertSeverity.WARNING, starts_at=T0,
                 annotations={"summary": f"{name} is firing"})  # fmt: skip


@pytest.mark.asyncio
async def test_firings_are_kept_and_resolved_when_they_stop(core: Core) -> None:
    events = core.alert_events
    await asyncio.wrap_future(events.record("east", [alert("A", "1"), alert("B", "2")], T0))
    await asyncio.wrap_future(events.record("east", [alert("A", "1")], T0 + timedelta(minutes=5)))
    await asyncio.wrap_future(events.record("west", [], T0 + timedelta(minutes=5)))
    found = {e.name: e for e in events.between(["east"], T0, T0 + timedelta(hours=1))}
    assert found["A"].resolved_at is None and found["A"].last_seen == T0 + timedelta(minutes=5)
    assert found["B"].resolved_at == T0 + timedelta(minutes=5)  # gone at the second poll
    assert found["B"].summary == "B is firing" and found["B"].severity == "WARNING"
    # the same firing seen again later is the same event, firing again
    await asyncio.wrap_future(events.record("east", [alert("B", "2")], T0 + timedelta(minutes=9)))
    again = {e.name: e for e in events.between(["east"], T0, T0 + timedelta(hours=1))}
    assert again["B"].resolved_at is None and len(again) == 2
    assert events.between(["east"], T0 + timedelta(hours=2), T0 + timedelta(hours=3)) == []
    assert await asyncio.wrap_future(events.prune(T0 + timedelta(days=8))) == 2


@pytest.mark.asyncio
async def test_the_walls_alert_and_fleet_pages(core: Core) -> None:
    from aiops_desktop.models import ClusterKind, EndpointKind
    from aiops_desktop.models.registry import ClusterSpec
    from aiops_desktop.services.outputs.wall import build_wall

    prom = {EndpointKind.PROMETHEUS: "http://127.0.0.1:9"}
    await core.registry.add(ClusterSpec(name="east", endpoint_urls=prom))
    await core.registry.add(ClusterSpec(name="hub", kind=ClusterKind.FLEET, endpoint_urls=prom))
    await core.registry.apply_check("east", {EndpointKind.PROMETHEUS: True})
    page = alert("NodeDown", "9").model_copy(update={"severity": AlertSeverity.CRITICAL})
    core.poller.alerts["east"] = [page, alert("DiskFilling", "8")]
    model = build_wall(core, ["fleet", "alerts"], now=T0 + timedelta(minutes=30))
    fleet, alerts = model.pages
    # both pages hold a CRITICAL item (the fleet's one truth: a critical alert makes its
    # cluster CRITICAL), so the chosen order stays
    assert (fleet.name, fleet.worst, alerts.name, alerts.worst) == (
        "fleet", "CRITICAL", "alerts", "CRITICAL",
    )  # fmt: skip
    assert [(t.title, t.state) for t in alerts.tiles] == [
        ("NodeDown", "CRITICAL"), ("DiskFilling", "WARNING"),
    ]  # fmt: skip
    assert alerts.tiles[0].lines == ["1 firing · CRITICAL", "east", "for 30 min"]
    east = next(t for t in fleet.tiles if t.title == "east")
    assert east.state == "CRITICAL" and east.lines[1] == "alerts 1 ✖ 1 ⚠"
    assert east.lines[2].startswith("NodeDown")  # the worst finding
    hub = next(t for t in fleet.tiles if t.title == "hub")
    assert hub.state == "UNKNOWN" and hub.lines[0] == "NO DATA · score –"  # never polled: not OK
    assert model.health == "nothing polled yet" and model.badge == ""


@pytest.mark.asyncio
async def test_a_wall_with_nothing_registered_is_never_ok(core: Core) -> None:
    from aiops_desktop.services.outputs.wall import build_wall

    model = build_wall(core, ["fleet", "alerts"], now=T0)
    fleet, alerts = model.pages
    assert fleet.tiles == [] and fleet.worst == "UNKNOWN"
    assert [(t.title, t.state, t.lines[0]) for t in alerts.tiles] == [
        ("Alertmanager", "UNKNOWN", "not configured"),
    ]
    assert model.health == "nothing polled yet"
