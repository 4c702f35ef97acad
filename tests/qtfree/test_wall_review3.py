"""A wall never looks fine when it cannot see: the incidents page is as old as the fleet's
findings they are grouped from, and "none open" is not OK while a cluster is not read; a
CRITICAL finding kept from an unread cluster stays CRITICAL on the GPU page (badged stale),
as on the Fleet page; the tile counting the alert groups not shown is aged as they are; and
an alert that starts a little ahead of the wall's clock has lasted 0 s, not -40 s."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aiops_desktop.models import AlertSeverity, EndpointKind, utcnow
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.fleet import Domain, Finding, FindingSeverity
from aiops_desktop.models.polling import Source, SourceStatus
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.models.wall import Tile
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.wall import ALERT_GROUPS, INCIDENTS_STALE_S

NOW = utcnow().replace(microsecond=0)


@pytest.fixture(autouse=True)
def _now() -> None:
    """NOW is each test's start: the core judges freshness by the real clock, and a NOW taken
    at import was minutes old by the time the whole suite reached these tests (a cluster's
    metrics polled at NOW then read stale)."""
    global NOW  # noqa: PLW0603
    NOW = utcnow().replace(microsecond=0)


async def add(core: Core, name: str, *, alertmanager: bool = False) -> None:
    urls = {EndpointKind.PROMETHEUS: "http://127.0.0.1:9"}
    if alertmanager:
        urls[EndpointKind.ALERTMANAGER] = "http://127.0.0.1:9"
    await core.registry.add(ClusterSpec(name=name, endpoint_urls=urls))
    core.poller.status[(name, Source.METRICS)] = SourceStatus(
        name, Source.METRICS, 30.0, last_attempt=NOW, last_success=NOW, polls=10
    )


async def with_gpus(core: Core, name: str) -> None:
    gpus = {"gpu_count": 8, "gpu_nodes": 1}
    await core.registry.change(name, lambda c: c.model_copy(update={
        "capabilities": c.capabilities.model_copy(update=gpus)}))  # fmt: skip


def findings_read(core: Core, at: timedelta, *names: str) -> None:
    """The fleet's findings last refreshed ``at`` before NOW, every one of ``names`` read."""
    core.fleet._refreshed_at = NOW - at
    core.fleet._read_at = dict.fromkeys(names, NOW - at)


def tiles(core: Core, page: str) -> dict[str, Tile]:
    (built,) = core.wall.build([page], now=NOW).pages
    return {t.title: t for t in built.tiles}


# -- defect 1: the incidents page ages with the findings it is grouped from -----------------
@pytest.mark.asyncio
async def test_no_open_incidents_is_ok_only_where_every_cluster_was_read(core: Core) -> None:
    await add(core, "ran-east")
    findings_read(core, timedelta(seconds=10), "ran-east")
    core.wall.incidents_read = (NOW - timedelta(seconds=5), [])
    core.wall._grouped([])  # this run has grouped (before it: UNKNOWN)
    tile = tiles(core, "incidents")["No open incidents"]
    assert tile.state == "OK" and not tile.stale
    assert tile.age_s == pytest.approx(10.0)  # the older of the store read and the findings'


@pytest.mark.asyncio
async def test_incidents_grouped_from_a_hung_findings_refresh_are_not_ok(core: Core) -> None:
    await add(core, "ran-east")
    findings_read(core, timedelta(minutes=10), "ran-east")  # no refresh since: it hangs
    core.wall.incidents_read = (NOW - timedelta(seconds=5), [])  # the store read 5 s ago
    tile = tiles(core, "incidents")["No open incidents"]
    assert tile.state == "UNKNOWN" and tile.stale
    assert tile.age_s == pytest.approx(600.0)  # the refresh, not the store read
    assert INCIDENTS_STALE_S < 600.0
    assert tile.lines[0].startswith("UNKNOWN")


@pytest.mark.asyncio
async def test_none_open_is_unknown_while_a_cluster_is_unreachable(core: Core) -> None:
    await add(core, "ran-east")
    findings_read(core, timedelta(seconds=10), "ran-east")
    core.poller.status[("ran-east", Source.METRICS)] = SourceStatus(
        "ran-east", Source.METRICS, 30.0, last_attempt=NOW,
        last_success=NOW - timedelta(hours=2), consecutive_errors=50, polls=400,
        last_error="connect timeout",
    )  # fmt: skip
    core.wall.incidents_read = (NOW - timedelta(seconds=5), [])
    tile = tiles(core, "incidents")["No open incidents"]
    assert tile.state == "UNKNOWN" and tile.stale
    assert "ran-east" in " ".join(tile.lines)


# -- defect 3: a kept CRITICAL stays CRITICAL on the GPU page -------------------------------
@pytest.mark.asyncio
async def test_an_unread_clusters_critical_gpu_finding_stays_critical(core: Core) -> None:
    await add(core, "gpu-east")
    await add(core, "ran-west")
    await with_gpus(core, "gpu-east")
    findings_read(core, timedelta(seconds=5), "ran-west")
    core.fleet._read_at["gpu-east"] = NOW - timedelta(seconds=65)
    core.fleet._found = {
        "gpu-east": [Finding(Domain.GPU, FindingSeverity.CRITICAL, "node-3/gpu2",
                             "XID 79: fallen off the bus", stale=True)],
        "ran-west": [Finding(Domain.PTP, FindingSeverity.WARNING, "du-1/ens1f0",
                             "offset 120 ns beyond band")],
    }  # fmt: skip
    core.fleet._unread = {"gpu-east": "gpu: query timed out"}  # this minute's read failed
    model = core.wall.build(["fleet", "gpu", "ptp"], now=NOW)
    assert [p.name for p in model.pages] == ["fleet", "gpu", "ptp"]  # CRITICAL before WARNING
    gpu = next(p for p in model.pages if p.name == "gpu")
    (tile,) = gpu.tiles
    assert tile.state == "CRITICAL" and tile.stale
    assert tile.lines[0].startswith("CRITICAL · node-3/gpu2: XID 79")
    assert "query timed out" in tile.lines[0] or "unreachable" in tile.lines[0]


@pytest.mark.asyncio
async def test_an_unread_cluster_with_no_finding_is_unknown_not_ok(core: Core) -> None:
    await add(core, "gpu-east")
    await with_gpus(core, "gpu-east")
    findings_read(core, timedelta(seconds=5), "gpu-east")
    core.fleet._unread = {"gpu-east": "gpu: query timed out"}
    tile = tiles(core, "gpu")["gpu-east"]
    assert tile.state == "UNKNOWN" and tile.lines[0].startswith("UNKNOWN")


# -- defect 5: the tile counting the rest is aged as they are -------------------------------
@pytest.mark.asyncio
async def test_more_alert_groups_is_aged_and_badged_as_its_groups(core: Core) -> None:
    await add(core, "east", alertmanager=True)
    lost_at = NOW - timedelta(hours=1)
    core.poller.status[("east", Source.ALERTS)] = SourceStatus(
        "east", Source.ALERTS, 30.0, last_attempt=NOW, last_success=lost_at,
        consecutive_errors=100, polls=200, last_error="connection refused",
    )  # fmt: skip
    core.poller.alerts["east"] = [
        Alert(fingerprint=f"f{i}", cluster="east", name=f"Alert{i:02d}",
              severity=AlertSeverity.CRITICAL, starts_at=NOW - timedelta(hours=2))
        for i in range(ALERT_GROUPS + 3)
    ]  # fmt: skip
    shown = tiles(core, "alerts")
    rest, one = shown["More alert groups"], shown["Alert00"]
    assert one.stale and one.age_s == pytest.approx(3600.0)
    assert rest.stale and rest.age_s == pytest.approx(3600.0)
    assert rest.stale_since == lost_at == one.stale_since


# -- defect 6: a cluster's clock ahead of the wall's ----------------------------------------
@pytest.mark.asyncio
async def test_an_alert_starting_ahead_of_the_walls_clock_has_lasted_0_s(core: Core) -> None:
    await add(core, "east", alertmanager=True)
    core.poller.status[("east", Source.ALERTS)] = SourceStatus(
        "east", Source.ALERTS, 30.0, last_attempt=NOW, last_success=NOW, polls=2
    )
    core.poller.alerts["east"] = [Alert(fingerprint="a", cluster="east", name="NodeDown",
        severity=AlertSeverity.CRITICAL, starts_at=NOW + timedelta(seconds=40))]  # fmt: skip
    assert tiles(core, "alerts")["NodeDown"].lines[2] == "for 0 s"
