"""The wall reads the GPU panels itself, and a DCGM blank (DCGM_INT32_BLANK 2147483632 and up
to int32's maximum, or anything from 2**47: an fp64/int64 blank) is no reading: it showed as
"hottest 2147483632 C", counted as >= 80 C, and pulled the fleet's utilisation into the
billions. The PTP offsets are not DCGM's: a port 2.1 s off is still said."""

from __future__ import annotations

import numpy as np
import pytest

from aiops_desktop.models import EndpointKind, utcnow
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.models.wall import Tile
from aiops_desktop.services.core import Core
from analysis.rules import DCGM_FP64_BLANK, DCGM_INT32_BLANK

NOW = utcnow().replace(microsecond=0)
T = NOW.timestamp()


async def add(core: Core, name: str, **caps: object) -> None:
    await core.registry.add(ClusterSpec(name=name, endpoint_urls={
        EndpointKind.PROMETHEUS: "http://127.0.0.1:9"}))  # fmt: skip
    await core.registry.change(name, lambda c: c.model_copy(update={
        "capabilities": c.capabilities.model_copy(update=caps)}))  # fmt: skip


def tile(core: Core, page: str, name: str) -> Tile:
    (built,) = core.wall.build([page], now=NOW).pages
    return next(t for t in built.tiles if t.title == name)


def put(core: Core, cluster: str, panel: str, labels: dict[str, str], v: float) -> None:
    core.live.append(cluster, panel, labels, np.array([T]), np.array([v]))


@pytest.mark.asyncio
@pytest.mark.parametrize("blank", [DCGM_INT32_BLANK, DCGM_INT32_BLANK + 2, DCGM_FP64_BLANK,
                                   DCGM_FP64_BLANK * 4])  # fmt: skip
async def test_a_dcgm_blank_is_no_temperature_or_utilisation(core: Core, blank: float) -> None:
    await add(core, "gpu-a", gpu_count=2, gpu_nodes=1)
    gpu0, gpu1 = {"Hostname": "n1", "gpu": "0"}, {"Hostname": "n1", "gpu": "1"}
    put(core, "gpu-a", "gpu_temperature", gpu0, blank)
    put(core, "gpu-a", "gpu_temperature", gpu1, 61.0)
    put(core, "gpu-a", "gpu_util", gpu0, 50.0)
    put(core, "gpu-a", "gpu_util", gpu1, blank)
    lines = tile(core, "gpu", "gpu-a").lines
    assert lines[1:] == ["2 GPUs · 50% busy", "hottest 61 C · 0 >= 80 C, 0 >= 70 C"]


@pytest.mark.asyncio
async def test_only_blanks_read_as_no_temperatures(core: Core) -> None:
    await add(core, "gpu-a", gpu_count=1, gpu_nodes=1)
    gpu0 = {"Hostname": "n1", "gpu": "0"}
    put(core, "gpu-a", "gpu_temperature", gpu0, DCGM_INT32_BLANK)
    put(core, "gpu-a", "gpu_util", gpu0, 30.0)
    assert tile(core, "gpu", "gpu-a").lines[1:] == ["1 GPU · 30% busy", "no temperatures"]


@pytest.mark.asyncio
async def test_a_ptp_offset_in_dcgms_blank_range_is_still_an_offset(core: Core) -> None:
    await add(core, "ran-a", has_ptp=True)
    port = {"node": "n1", "iface": "ens1"}
    put(core, "ran-a", "ptp_clock_state", port, 1.0)
    put(core, "ran-a", "ptp_offset", port, float(DCGM_INT32_BLANK + 8))  # 2.1 s off
    lines = tile(core, "ptp", "ran-a").lines
    assert lines[1:] == ["1/1 ports LOCKED", f"offset {DCGM_INT32_BLANK + 8} ns at n1/ens1"]
