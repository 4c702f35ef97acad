"""The wall says what the Fleet page and the fleet's truth say: a cluster without an
Alertmanager is "alerts not configured", not "no findings"; a fleet hub's own GPUs and PTP
ports have tiles; a hub member's tile says how old the hub's newest sample is; sources not
read for an hour are not "polling OK"; and a PTP port within its profile's band is no
trouble on a tile the truth judges OK."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import pytest_asyncio

from aiops_desktop.models import ClusterKind, EndpointKind, utcnow
from aiops_desktop.models.fleet import Domain, Finding, FindingSeverity
from aiops_desktop.models.polling import Source, SourceStatus
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, ClockState, PtpBoard, PtpRow, Threshold
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.models.wall import Tile
from aiops_desktop.secrets import NoSecrets
from aiops_desktop.services.core import Core
from aiops_desktop.services.fleet.state import PTP_WINDOW
from aiops_desktop.services.outputs.wall import poll_health
from aiops_desktop.settings import resolve_paths

PROMETHEUS = {EndpointKind.PROMETHEUS: "http://127.0.0.1:9"}


@pytest_asyncio.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    opened = Core.open(resolve_paths(tmp_path / "home"), secrets=NoSecrets())
    yield opened
    await opened.shutdown()


def read(core: Core, name: str, now: datetime, *, interval_s: float = 30.0) -> None:
    """``name``'s metrics read at ``now``, and its findings by a refresh then."""
    core.poller.status[(name, Source.METRICS)] = SourceStatus(
        name, Source.METRICS, interval_s, last_attempt=now, last_success=now, polls=3,
        timeout_s=20,
    )  # fmt: skip
    core.fleet._refreshed_at = now
    core.fleet._read_at[name] = now


def tiles(core: Core, page: str, now: datetime) -> dict[str, Tile]:
    (built,) = core.wall.build([page], now=now).pages
    return {t.title: t for t in built.tiles}


@pytest.mark.asyncio
async def test_a_cluster_without_an_alertmanager_says_alerts_not_configured(core: Core) -> None:
    now = utcnow()
    await core.registry.add(ClusterSpec(name="ran-east", endpoint_urls=PROMETHEUS))
    read(core, "ran-east", now)
    tile = tiles(core, "fleet", now)["ran-east"]
    assert "no findings" not in tile.lines
    assert tile.lines[-1] == "alerts not configured"  # as the Fleet page says it


@pytest.mark.asyncio
async def test_a_fleet_hubs_own_gpus_have_a_tile(core: Core) -> None:
    """Its unlabelled series are filed under the hub's own name, as its members' are under
    theirs; a GPU finding of the hub's own is judged with its figures beside it."""
    now = utcnow()
    await core.registry.add(ClusterSpec(name="hub", kind=ClusterKind.FLEET,
                                        endpoint_urls=PROMETHEUS))  # fmt: skip
    await core.registry.set_members("hub", ["edge-1"])
    read(core, "hub", now, interval_s=15.0)
    ts = np.array([time.time() - 30, time.time() - 5])
    for who in ("hub", "edge-1"):
        labels = {"Hostname": f"{who}-n1", "gpu": "0"}
        core.live.append(who, "gpu_temperature", labels, ts, np.array([60.0, 61.0]))
        core.live.append(who, "gpu_util", labels, ts, np.array([50.0, 55.0]))
    shown = tiles(core, "gpu", now)
    assert set(shown) == {"hub", "edge-1"}
    assert shown["hub"].lines[1:] == ["1 GPU · 55% busy", "hottest 61 C · 0 >= 80 C, 0 >= 70 C"]
    xid = Finding(Domain.GPU, FindingSeverity.CRITICAL, "hub-n1/0", "XID 79")
    core.fleet._found = {"hub": [xid]}
    hub = tiles(core, "gpu", now)["hub"]
    assert hub.state == "CRITICAL"
    assert hub.lines == ["CRITICAL · hub-n1/0: XID 79", "1 GPU · 55% busy",
                         "hottest 61 C · 0 >= 80 C, 0 >= 70 C"]  # fmt: skip


@pytest.mark.asyncio
async def test_a_hub_members_tile_says_how_old_the_hubs_newest_sample_is(core: Core) -> None:
    """Its data age is when a poll of the hub last had its series (3 s ago); the samples in
    it may be minutes old (ACM pushes every 30-300 s): said, as on the Fleet page."""
    now = utcnow()
    await core.registry.add(ClusterSpec(name="acm-hub", kind=ClusterKind.FLEET,
                                        endpoint_urls=PROMETHEUS))  # fmt: skip
    await core.registry.set_members("acm-hub", ["sno-17"])
    read(core, "acm-hub", now - timedelta(seconds=3), interval_s=15.0)
    core.poller.member_seen["acm-hub"] = {"sno-17": now - timedelta(seconds=3)}
    core.poller.hub_newest["acm-hub"] = now - timedelta(seconds=270)
    member = tiles(core, "fleet", now)["sno-17"]
    assert member.age_s == pytest.approx(3.0, abs=1.0)
    assert "the hub's newest sample 4 min ago" in " ".join(member.lines)


def test_sources_not_read_for_hours_are_not_polling_ok() -> None:
    now = utcnow()
    hours_ago = now - timedelta(hours=2)
    statuses = {(c, s): SourceStatus(c, s, 30.0, last_attempt=hours_ago, last_success=hours_ago,
                                     polls=5, timeout_s=20.0)
                for c in ("east-1", "west-2") for s in ("health", "metrics", "alerts")}  # fmt: skip
    statuses["west-2", "health"].last_success = now  # read just now: not stale
    src = SimpleNamespace(capture=None, poller=SimpleNamespace(status=statuses))
    said = poll_health(src, now)  # type: ignore[arg-type]
    assert said == "5 of 6 sources stale · east-1/health last read 2.0 h ago"
    statuses["west-2", "metrics"].consecutive_errors = 2  # failing: said first, stale counted
    statuses["west-2", "metrics"].last_error = "connect: connection refused"
    said = poll_health(src, now)  # type: ignore[arg-type]
    assert said == ("1 of 6 sources failing · west-2/metrics: connect: connection refused"
                    " · 4 stale")  # fmt: skip
    for status in statuses.values():  # all read now: well
        status.consecutive_errors, status.last_success = 0, now
    assert poll_health(src, now) == "polling OK · 6 sources"  # type: ignore[arg-type]


def ptp_bands(core: Core, bands: dict[tuple[str, str, str], Threshold]) -> None:
    """A refresh's PTP board: each ptp4l port (cluster, node, iface) with its profile's band."""
    rows = [PtpRow(cluster, node, iface, "ptp4l", ClockState.LOCKED, threshold=band)
            for (cluster, node, iface), band in bands.items()]  # fmt: skip
    core.fleet._note_ptp_bands(PtpBoard(rows, PTP_WINDOW, DEFAULT_THRESHOLD, []), {})


def ptp_port(core: Core, port: dict[str, str], offset: float, *, ago_s: float = 5.0) -> None:
    at = np.array([time.time() - ago_s])
    core.live.append("ran-east", "ptp_clock_state", port, at, np.array([1.0]))
    core.live.append("ran-east", "ptp_offset", port, at, np.array([offset]))


@pytest.mark.asyncio
async def test_a_ptp_port_is_judged_by_its_profiles_band_as_the_truth_judges_it(
    core: Core,
) -> None:
    """A port 500 ns off, within its PtpConfig profile's +/-1500 ns (the band the truth's
    refresh read with the profiles): no trouble line; one 2000 ns off, beyond it, is trouble,
    whatever the truth found at its last refresh; a port no refresh has read a band of is
    judged by the default +/-100 ns."""
    now = utcnow()
    await core.registry.add(ClusterSpec(name="ran-east", endpoint_urls=PROMETHEUS))
    read(core, "ran-east", now)
    wide = Threshold.symmetric(1500.0)
    ptp_bands(core, {("ran-east", "du-1", "ens1f0"): wide, ("ran-east", "du-1", "ens2f0"): wide})
    ptp_port(core, {"node": "du-1", "iface": "ens1f0", "process": "ptp4l"}, 500.0)
    tile = tiles(core, "ptp", now)["ran-east"]
    assert tile.lines == ["OK · no PTP findings", "1/1 ports LOCKED"]
    ptp_port(core, {"node": "du-1", "iface": "ens2f0", "process": "ptp4l"}, 2000.0)
    ptp_port(core, {"node": "du-2", "iface": "ens1f0", "process": "ptp4l"}, 500.0)
    tile = tiles(core, "ptp", now)["ran-east"]
    trouble = "offset 2000 ns at du-1/ens2f0 · offset 500 ns at du-2/ens1f0"
    assert tile.lines[1:] == ["3/3 ports LOCKED", trouble]


@pytest.mark.asyncio
async def test_a_ptp_ports_trouble_is_its_live_offset_judged_not_the_last_refreshs_finding(
    core: Core,
) -> None:
    """The trouble line says ptp4l's offset now: judged by its band, not by whether the
    truth (refreshed every 60 s) has an offset finding on the port: ts2phc's finding there is
    not ptp4l's; a port back in band is no longer trouble; a new excursion is trouble at once."""
    now = utcnow()
    await core.registry.add(ClusterSpec(name="ran-east", endpoint_urls=PROMETHEUS))
    read(core, "ran-east", now)
    ptp_bands(core, {("ran-east", "gm-0", "ens2fx"): DEFAULT_THRESHOLD})
    port = {"node": "gm-0", "iface": "ens2fx"}  # the panel: max by (cluster, node, iface)
    ptp_port(core, port, 8.0)  # ptp4l: 8 ns, well in band
    ts2phc = Finding(Domain.PTP, FindingSeverity.WARNING, "gm-0/ens2fx (ts2phc)",
                     "offset 4000 ns beyond ±100 ns")  # fmt: skip
    core.fleet._found = {"ran-east": [ts2phc]}
    assert tiles(core, "ptp", now)["ran-east"].lines[1:] == ["1/1 ports LOCKED"]
    earlier = Finding(Domain.PTP, FindingSeverity.WARNING, "gm-0/ens2fx (ptp4l)",
                      "offset 2000 ns beyond ±100 ns")  # fmt: skip
    core.fleet._found = {"ran-east": [earlier]}  # the last refresh's: back at 8 ns since
    assert tiles(core, "ptp", now)["ran-east"].lines[1:] == ["1/1 ports LOCKED"]
    core.fleet._found = {"ran-east": []}
    ptp_port(core, port, 1e6, ago_s=1.0)  # 1 ms off now; no refresh since
    tile = tiles(core, "ptp", now)["ran-east"]
    assert tile.lines[1:] == ["1/1 ports LOCKED", "offset 1000000 ns at gm-0/ens2fx"]
