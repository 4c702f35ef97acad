"""The wall calls a GPU or PTP tile's data stale only when it is older than its cluster's own
polling lets a healthy cluster's be: a FAR_EDGE cluster is read every 120 s (+-10 %) in 120 s
steps, so its newest sample is routinely 4 minutes old just before a poll (a fixed 180 s
badged 6 % of a healthy cell's refreshes STALE); a HUB's is read every 15 s, so 3 minutes is
stale there."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from aiops_desktop.models import EndpointKind, utcnow
from aiops_desktop.models.cluster import ClusterType
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.services.core import Core


def gpu_tile_stale(core: Core, name: str, age_s: float) -> bool:
    tiles = {t.title: t for t in core.wall.build(["gpu"], now=NOW + timedelta(seconds=age_s))
             .pages[0].tiles}  # fmt: skip
    assert tiles[name].age_s == pytest.approx(age_s)
    return bool(tiles[name].stale)


NOW = utcnow()


@pytest.mark.asyncio
async def test_a_far_edge_clusters_data_is_stale_by_its_own_interval(core: Core) -> None:
    for name, kind in (("cell-17", ClusterType.FAR_EDGE), ("hub-1", ClusterType.HUB)):
        await core.registry.add(ClusterSpec(name=name, cluster_type=kind,
                                            endpoint_urls={EndpointKind.PROMETHEUS:
                                                           "http://127.0.0.1:9"}))  # fmt: skip
        core.live.append(name, "gpu_temperature", {"Hostname": "n1", "gpu": "0"},
                         np.array([NOW.timestamp()]), np.array([50.0]))  # fmt: skip
    await core.registry.load()
    # a step (120 s) and a jittered interval (132 s) late is a healthy far-edge cell's worst
    assert not gpu_tile_stale(core, "cell-17", 250)
    assert gpu_tile_stale(core, "cell-17", 400)  # three polls missed: stale
    assert not gpu_tile_stale(core, "hub-1", 150)
    assert gpu_tile_stale(core, "hub-1", 200)  # a HUB polled every 15 s: 180 s is its most


@pytest.mark.asyncio
async def test_a_series_that_stopped_reporting_is_not_counted_as_current(core: Core) -> None:
    """ptp4l died on du-1 an hour ago and its series is gone from Prometheus; du-0 goes on.
    The tile counted du-1's last LOCKED as if it were now ("2/2 ports LOCKED"), aged by
    du-0's fresh sample; the same for a GPU whose temperature series ended."""
    await core.registry.add(ClusterSpec(name="ran-east", endpoint_urls={
        EndpointKind.PROMETHEUS: "http://127.0.0.1:9"}))  # fmt: skip
    await core.registry.load()
    now = NOW.timestamp()
    ts = np.arange(now - 6 * 3600, now, 30.0)
    dead = ts[ts < now - 3600]
    for node, stamps in (("du-0", ts), ("du-1", dead)):
        core.live.append("ran-east", "ptp_clock_state", {"node": node, "iface": "ens1f0"},
                         stamps, np.ones(stamps.size))  # fmt: skip
        hot = 85.0 if node == "du-1" else 50.0  # the dead GPU's last: not the hottest now
        core.live.append("ran-east", "gpu_temperature", {"Hostname": node, "gpu": "0"},
                         stamps, np.full(stamps.size, hot))  # fmt: skip
    model = core.wall.build(["ptp", "gpu"], now=NOW)
    ptp, gpu = ({t.title: t for t in page.tiles}["ran-east"] for page in model.pages)
    assert ptp.lines[1] == "1/1 ports LOCKED · 1 port stopped reporting"
    assert gpu.lines[1].startswith("1 GPU ·")
    assert gpu.lines[2] == "hottest 50 C · 0 >= 80 C, 0 >= 70 C · 1 GPU stopped reporting"
