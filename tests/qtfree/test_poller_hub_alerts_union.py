"""A member of two fleet hubs has the alerts of both hubs' Alertmanagers: acm-a (first by
name) answering with none for ran-east left acm-b's CRITICAL for it filed nowhere (fakes and
an injected clock; no servers)."""

from __future__ import annotations

import pytest

from aiops_desktop.models import Cluster
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.polling import Source
from aiops_desktop.services.polling.poller import ALERTS_CHANGED, Poller
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from tests.qtfree.poller_fakes import Clock
from tests.qtfree.test_poller_data_fixes import (
    AM,
    PROM,
    T0,
    FakeAM,
    Pool,
    fingerprints,
    fleet_hub,
    make_poller,
)


def two_hubs(
    bus: EventBus | None = None, supervisor: TaskSupervisor | None = None
) -> tuple[Poller, Cluster, Cluster, dict[str, FakeAM]]:
    """acm-a alerts on itself only, acm-b on ran-east; both list ran-east."""
    hub_a, hub_b = fleet_hub("acm-a", (PROM, AM)), fleet_hub("acm-b", (PROM, AM))
    for each in (hub_a, hub_b):
        each.status.members = ["ran-east"]
    ams = {"acm-a": FakeAM({"watchdog": "acm-a"}), "acm-b": FakeAM({"ptp-freerun": "ran-east"})}
    poller = make_poller([hub_a, hub_b], Pool(**ams), None, Clock(T0), [], bus, supervisor)
    return poller, hub_a, hub_b, ams


async def rounds(poller: Poller, *hubs: Cluster, n: int = 2) -> None:
    for _ in range(n):
        for hub in hubs:
            await poller.run_source(hub, Source.ALERTS)


@pytest.mark.asyncio
async def test_a_second_hubs_alerts_for_a_shared_member_are_filed() -> None:
    poller, hub_a, hub_b, ams = two_hubs()
    await rounds(poller, hub_a, hub_b)
    assert fingerprints(poller, "ran-east") == {"ptp-freerun"}
    assert fingerprints(poller, "acm-a") == {"watchdog"}
    ams["acm-a"].firing["node-down"] = "ran-east"  # both hubs' alerts, each once
    await rounds(poller, hub_a, hub_b)
    assert fingerprints(poller, "ran-east") == {"ptp-freerun", "node-down"}
    ams["acm-b"].firing = {}  # acm-b's ended: acm-a's are left
    await rounds(poller, hub_a, hub_b, n=1)
    assert fingerprints(poller, "ran-east") == {"node-down"}


@pytest.mark.asyncio
async def test_an_alert_both_hubs_forward_is_filed_once() -> None:
    poller, hub_a, hub_b, ams = two_hubs()
    for am in ams.values():
        am.firing["ptp-freerun"] = "ran-east"
    await rounds(poller, hub_a, hub_b)
    assert [a.fingerprint for a in poller.alerts["ran-east"]] == ["ptp-freerun"]


@pytest.mark.asyncio
async def test_a_failing_hub_stops_adding_its_alerts() -> None:
    poller, hub_a, hub_b, ams = two_hubs()
    ams["acm-a"].firing["node-down"] = "ran-east"
    await rounds(poller, hub_a, hub_b)
    ams["acm-a"].failing = True
    await rounds(poller, hub_a, hub_b, n=1)
    assert fingerprints(poller, "ran-east") == {"ptp-freerun"}
    ams["acm-a"].failing = False
    await rounds(poller, hub_a, n=1)
    assert fingerprints(poller, "ran-east") == {"ptp-freerun", "node-down"}


@pytest.mark.asyncio
async def test_a_removed_hubs_alerts_go_with_it() -> None:
    """Forgotten, or gone from the registry: the other hub's alerts for the member are left."""
    for removal in ("forget", "reconcile"):
        bus, supervisor = EventBus(), TaskSupervisor()
        published: list[dict[str, list[Alert]]] = []
        bus.subscribe(ALERTS_CHANGED, published.append)
        poller, hub_a, hub_b, ams = two_hubs(bus, supervisor)
        ams["acm-a"].firing["node-down"] = "ran-east"
        try:
            await rounds(poller, hub_a, hub_b)
            assert fingerprints(poller, "ran-east") == {"ptp-freerun", "node-down"}
            published.clear()
            if removal == "forget":
                poller.forget(hub_b, ["acm-b"])
            else:
                poller._registry._clusters = [hub_a]  # type: ignore[assignment]
                poller._on_clusters_changed([hub_a])
            assert fingerprints(poller, "ran-east") == {"node-down"}, removal
            assert {a.fingerprint for a in published[-1]["ran-east"]} == {"node-down"}, removal
            await rounds(poller, hub_a, n=1)
            assert fingerprints(poller, "ran-east") == {"node-down"}, removal
        finally:
            poller.stop()
            await supervisor.shutdown()
