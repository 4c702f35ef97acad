"""The wall's GPU and PTP tiles say how old each figure is (a panel whose query keeps failing
is not shown as of now, and a tile built from it alone is aged and badged stale); a GPU or
PTP cluster down when the wall starts has its tile (UNKNOWN, never left out); the tile that
counts what a page does not show keeps its title, and the page names every CRITICAL group
or incident, shown or not (the window flashes for a new one, not for a resolution)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import numpy as np
import pytest

from aiops_desktop.models import AlertSeverity, EndpointKind, utcnow
from aiops_desktop.models.alerts import Alert
from aiops_desktop.models.enums import FindingSeverity, IncidentStatus
from aiops_desktop.models.fleet import ClusterTruth, Coverage, Domain, Finding, FleetTruth, Health
from aiops_desktop.models.incidents import Incident, IncidentSignal
from aiops_desktop.models.polling import Source, SourceStatus
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.models.wall import Tile
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.wall import ALERT_GROUPS, INCIDENT_TILES

NOW = utcnow().replace(microsecond=0)
T_NOW, T_OLD = NOW.timestamp(), NOW.timestamp() - 6 * 3600
GPU0 = {"Hostname": "n1", "gpu": "0"}
PORT = {"node": "n1", "iface": "ens1"}


async def add(core: Core, *names: str, gpus: int = 0, ptp: bool = False) -> None:
    caps = {"gpu_count": gpus, "gpu_nodes": 1 if gpus else 0, "has_ptp": ptp}
    for name in names:
        await core.registry.add(ClusterSpec(name=name, endpoint_urls={
            EndpointKind.PROMETHEUS: "http://127.0.0.1:9"}))  # fmt: skip
        if gpus or ptp:
            await core.registry.change(name, lambda c: c.model_copy(update={
                "capabilities": c.capabilities.model_copy(update=caps)}))  # fmt: skip


def tiles(core: Core, page: str) -> dict[str, Tile]:
    (built,) = core.wall.build([page], now=NOW).pages
    return {t.title: t for t in built.tiles}


def put(core: Core, cluster: str, panel: str, labels: dict[str, str], t: float, v: float) -> None:
    core.live.append(cluster, panel, labels, np.array([t]), np.array([v]))


# -- defect 4: each figure aged against now ---------------------------------------------------
@pytest.mark.asyncio
async def test_old_gpu_utilisation_is_not_shown_as_current(core: Core) -> None:
    await add(core, "gpu-a", "gpu-b", "gpu-c")
    put(core, "gpu-a", "gpu_temperature", GPU0, T_NOW, 50.0)  # fresh
    put(core, "gpu-a", "gpu_util", GPU0, T_OLD, 95.0)  # its query has failed for 6 h
    put(core, "gpu-b", "gpu_util", GPU0, T_OLD, 95.0)  # utilisation only, 6 h old
    put(core, "gpu-c", "gpu_temperature", GPU0, T_NOW, 50.0)  # both fresh: as before
    put(core, "gpu-c", "gpu_util", GPU0, T_NOW, 40.0)
    shown = tiles(core, "gpu")
    a, b, c = shown["gpu-a"], shown["gpu-b"], shown["gpu-c"]
    # the old figure is marked with its age, not read as now; the tile is as old as it
    assert a.lines[1] == "1 GPU · 95% busy (6.0 h ago)"
    assert a.age_s == pytest.approx(6 * 3600) and a.stale
    assert b.lines[1] == "1 GPU · 95% busy (6.0 h ago)"
    assert b.age_s == pytest.approx(6 * 3600) and b.stale  # no temperatures: aged all the same
    assert c.lines[1] == "1 GPU · 40% busy" and c.age_s == pytest.approx(0) and not c.stale


@pytest.mark.asyncio
async def test_old_ptp_offsets_are_not_shown_as_current(core: Core) -> None:
    await add(core, "ran-a")
    put(core, "ran-a", "ptp_clock_state", PORT, T_NOW, 1.0)  # LOCKED now
    put(core, "ran-a", "ptp_offset", PORT, T_OLD, 900.0)  # 6 h old: not an offset of now
    tile = tiles(core, "ptp")["ran-a"]
    assert tile.lines[1:] == ["1/1 ports LOCKED", "offset 900 ns at n1/ens1 (6.0 h ago)"]
    assert tile.age_s == pytest.approx(6 * 3600) and tile.stale


# -- defect 5: a GPU/PTP cluster down when the wall starts ------------------------------------
@pytest.mark.asyncio
async def test_a_cluster_down_at_start_has_its_gpu_and_ptp_tiles(core: Core) -> None:
    await add(core, "gpu-a", "gpu-b", gpus=8, ptp=True)
    await add(core, "plain")  # no GPUs, no PTP: on neither page
    await core.registry.apply_check("gpu-a", {EndpointKind.API_SERVER: True,
                                              EndpointKind.PROMETHEUS: True}, at=NOW)  # fmt: skip
    await core.registry.apply_check("gpu-b", {EndpointKind.API_SERVER: False,
                                              EndpointKind.PROMETHEUS: False},
                                    "connect timeout", at=NOW)  # fmt: skip
    put(core, "gpu-a", "gpu_temperature", GPU0, T_NOW, 50.0)
    put(core, "gpu-a", "ptp_clock_state", PORT, T_NOW, 1.0)
    for src in (Source.HEALTH, Source.METRICS, Source.ALERTS):
        core.poller.status[("gpu-a", src)] = SourceStatus("gpu-a", src, 30, NOW, NOW, 5.0,
                                                          0, 0, 3)  # fmt: skip
        core.poller.status[("gpu-b", src)] = SourceStatus("gpu-b", src, 30, NOW, None, None,
                                                          3, 3, 3, "connect timeout")  # fmt: skip
    await asyncio.wait_for(core.fleet.refresh(), 60)
    assert tiles(core, "fleet")["gpu-b"].lines[0].startswith("OFFLINE")
    model = core.wall.build(["gpu", "ptp"], now=NOW)
    for page, what in zip(model.pages, ("GPU", "PTP"), strict=True):
        shown = {t.title: t for t in page.tiles}
        assert set(shown) == {"gpu-a", "gpu-b"}
        down = shown["gpu-b"]
        assert down.state == "UNKNOWN" and down.age_s is None
        assert down.lines == ["UNKNOWN · cluster OFFLINE", f"no {what} data since start"]
        assert page.worst == "UNKNOWN"


@pytest.mark.asyncio
async def test_no_data_is_never_ok_and_a_critical_finding_is_never_hidden(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gpu-c judged OK (no GPU finding) but with no GPU figure: UNKNOWN; a hub member with
    no live data whose truth has a CRITICAL GPU finding (an XID): its tile, CRITICAL."""
    await add(core, "gpu-c", gpus=8)
    read = {"metrics": Coverage.READ, "findings": Coverage.READ}
    xid = Finding(Domain.GPU, FindingSeverity.CRITICAL, "n1/gpu0", "XID 79")
    truth = FleetTruth(NOW, [
        ClusterTruth("gpu-c", "gpu-c", None, Health.OK, 100, 5.0, [], read),
        ClusterTruth("cell-9", "cell-9", "hub", Health.CRITICAL, 40, 5.0, [xid], read),
    ])  # fmt: skip
    monkeypatch.setattr(core.fleet, "snapshot", lambda: truth)
    monkeypatch.setattr(core.fleet, "last", truth)
    shown = tiles(core, "gpu")
    assert shown["gpu-c"].state == "UNKNOWN"
    assert shown["gpu-c"].lines == ["UNKNOWN · no GPU findings", "no GPU data since start"]
    assert shown["cell-9"].state == "CRITICAL"
    assert shown["cell-9"].lines == ["CRITICAL · n1/gpu0: XID 79", "no GPU data since start"]


# -- defect 6: the overflow tile keeps its title; the page names every CRITICAL -----------------
def alert(n: int, severity: AlertSeverity) -> Alert:
    return Alert(fingerprint=f"f{n}", cluster=f"c{n}", name=f"Alert{n:02d}", severity=severity,
                 starts_at=NOW - timedelta(hours=1))  # fmt: skip


@pytest.mark.asyncio
async def test_the_alerts_overflow_tile_keeps_its_title(core: Core) -> None:
    firing = [alert(n, AlertSeverity.CRITICAL) for n in range(ALERT_GROUPS + 2)]
    core.poller.alerts["c"] = [*firing, alert(99, AlertSeverity.WARNING)]
    (page,) = core.wall.build(["alerts"], now=NOW).pages
    rest = page.tiles[-1]
    assert rest.title == "More alert groups" and rest.state == "CRITICAL"
    assert rest.lines == ["3 more alert groups not shown", "3 alerts firing · 2 critical"]
    assert page.critical == frozenset(a.name for a in firing)  # the hidden ones too
    core.poller.alerts["c"] = firing[:-1]  # one hidden critical group resolved
    (page,) = core.wall.build(["alerts"], now=NOW).pages
    assert page.tiles[-1].title == "More alert groups"
    assert page.critical == frozenset(a.name for a in firing[:-1])


def incident(n: int, severity: FindingSeverity) -> Incident:
    signal = IncidentSignal(key=f"k{n}", source="alert", cluster="c", subject="KubeNodeNotReady",
                            severity=severity, reason="node not ready", first_seen=NOW,
                            last_seen=NOW)  # fmt: skip
    return Incident(id=f"INC-{n:04d}", title="KubeNodeNotReady on 1 cluster", severity=severity,
                    state=IncidentStatus.OPEN, opened_at=NOW, updated_at=NOW,
                    signals=[signal])  # fmt: skip


@pytest.mark.asyncio
async def test_the_incidents_overflow_tile_keeps_its_title(core: Core) -> None:
    many = [incident(n, FindingSeverity.CRITICAL if n % 2 else FindingSeverity.WARNING)
            for n in range(INCIDENT_TILES + 4)]  # fmt: skip
    core.wall.incidents_read = (NOW, many)
    (page,) = core.wall.build(["incidents"], now=NOW).pages
    rest = page.tiles[-1]
    assert rest.title == "More incidents" and rest.lines[0] == "4 more incidents not shown"
    # by id: incidents may share a title
    assert page.critical == frozenset(i.id for i in many if i.severity is FindingSeverity.CRITICAL)
