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
