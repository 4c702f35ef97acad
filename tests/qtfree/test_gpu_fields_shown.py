"""PRODUCT.md 3: per GPU "memory total/used/free (MiB), utilisation GPU/memory (%), power
draw/limit (W), clocks", "driver", "uuid", and fleet summaries with "memory totals". nvidia-smi's
power.limit and utilization.memory reach the reading; DCGM's memory copy utilisation is read;
``[N/A]`` / missing stays None (unknown, never 0); the fleet's summary has its memory totals."""

from __future__ import annotations

import numpy as np
import pytest

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.cluster import Cluster, Endpoint
from aiops_desktop.models.gpu import GpuFleet, GpuReading
from aiops_desktop.models.metrics import PromSeries, TaggedSeries
from aiops_desktop.services.gpu_cnf.gpu import (
    gpu_queries,
    join_readings,
    read_gpu_fleet,
    xid_table,
)
from aiops_desktop.services.gpu_cnf.gpu_fallback import NodeGpus, node_readings
from aiops_desktop.services.outputs.recorded import RecordedQueries
from analysis.gpu_health import assess
from collectors.nvidia_smi import parse_gpus

SMI = (
    "0, GPU-5f1c, NVIDIA H100 80GB HBM3, 550.54.15, 81559, 71234, 9786, 97, 61, 75, 612.3,"
    " 700.00, [N/A]\n"
    "1, GPU-77aa, NVIDIA H100 80GB HBM3, 550.54.15, [N/A], [N/A], [N/A], 3, [N/A], 40, [N/A],"
    " [N/A], [N/A]\n"
)


def dcgm(gpu: str, value: float, cluster: str = "east", **extra: str) -> TaggedSeries:
    """A DCGM exporter series as the upstream labels name it (test_gpu_review_fixes')."""
    labels = {"Hostname": "gpu-node-1", "gpu": gpu, "UUID": f"GPU-{gpu}", "modelName": "T4"}
    return TaggedSeries(
        cluster, PromSeries(labels | extra, np.array([1000.0]), np.array([float(value)]))
    )


def test_nvidia_smis_power_limit_and_memory_utilisation_reach_the_reading() -> None:
    gpus = parse_gpus(SMI)
    (known, unknown), failed = node_readings("prod", [NodeGpus("node-1", "ns/pod", gpus)])
    assert not failed
    assert (known.uuid, known.model, known.driver) == (
        "GPU-5f1c", "NVIDIA H100 80GB HBM3", "550.54.15"
    )  # fmt: skip
    assert (known.mem_total_mib, known.mem_used_mib, known.mem_free_mib) == (81559, 71234, 9786)
    assert (known.util_pct, known.util_memory_pct) == (97, 61)
    assert (known.power_w, known.power_limit_w) == (612.3, 700.0)
    # [N/A] is unknown, never 0
    assert unknown.util_memory_pct is None and unknown.power_limit_w is None
    assert unknown.power_w is None and unknown.mem_total_mib is None


def test_dcgms_memory_utilisation_clocks_and_driver_reach_the_reading() -> None:
    assert gpu_queries()["util_memory_pct"] == "DCGM_FI_DEV_MEM_COPY_UTIL"
    driver = {"DCGM_FI_DRIVER_VERSION": "535.183.01"}
    answers = {
        "util_pct": [dcgm("0", 90, **driver), dcgm("1", 10, **driver)],
        "util_memory_pct": [dcgm("0", 37, **driver)],  # GPU 1 sends none: unknown
        "mem_used_mib": [dcgm("0", 1000, **driver)],
        "mem_free_mib": [dcgm("0", 14000, **driver)],
        "mem_reserved_mib": [dcgm("0", 360, **driver)],
        "power_w": [dcgm("0", 61.5, **driver)],
        "sm_clock_mhz": [dcgm("0", 1590, **driver)],
        "mem_clock_mhz": [dcgm("0", 5000, **driver)],
    }
    first, second = join_readings(answers)
    assert (first.uuid, first.driver) == ("GPU-0", "535.183.01")
    assert first.util_memory_pct == 37.0 and second.util_memory_pct is None
    assert (first.mem_used_mib, first.mem_free_mib, first.mem_total_mib) == (1000, 14000, 15360)
    assert (first.sm_clock_mhz, first.mem_clock_mhz, first.power_w) == (1590, 5000, 61.5)
    # DCGM's default counters have no power limit: unknown, never 0
    assert first.power_limit_w is None


@pytest.mark.asyncio
async def test_a_capture_recorded_before_memory_utilisation_was_read_is_no_failure() -> None:
    """An older capture (the bundled sample) has no DCGM_FI_DEV_MEM_COPY_UTIL answer: its
    GPUs' memory utilisation is unknown, not a cluster that could not be read."""
    prometheus = Endpoint(kind=EndpointKind.PROMETHEUS, url="http://east:9090")
    east = [Cluster(name="east", api_server_url="https://api:6443", endpoints=[prometheus])]
    row = ["east", {"Hostname": "n1", "gpu": "0", "UUID": "GPU-0"}, [1000.0], [50.0]]
    doc = {f"INSTANT {q}": [row] for k, q in gpu_queries().items() if k != "util_memory_pct"}
    fleet = await read_gpu_fleet(RecordedQueries(None, doc), east)  # type: ignore[arg-type]
    assert fleet.outcomes == [] and fleet.notes == []
    (health,) = fleet.gpus
    assert health.reading.util_memory_pct is None and health.reading.util_pct == 50.0
    # one that recorded it reads it
    doc[f"INSTANT {gpu_queries()['util_memory_pct']}"] = [[*row[:3], [12.0]]]
    fleet = await read_gpu_fleet(RecordedQueries(None, doc), east)  # type: ignore[arg-type]
    assert fleet.outcomes == [] and fleet.gpus[0].reading.util_memory_pct == 12.0


def _gpu(node: str, gpu: str, total: float | None, used: float | None, **kw: object) -> GpuReading:
    return GpuReading("c1", node, gpu, f"GPU-{node}-{gpu}", model="H100",
                      mem_total_mib=total, mem_used_mib=used, temperature_c=50.0,
                      **kw)  # type: ignore[arg-type]  # fmt: skip


def test_the_fleet_summary_has_its_memory_totals() -> None:
    readings = [
        _gpu("n1", "0", 81559, 71234),
        _gpu("n1", "1", 81559, 1000),
        # a GPU split into two MIG instances: each holds its own slice of the memory
        _gpu("n2", "0", 40000, 100, mig_id="1", mig_profile="3g.40gb"),
        _gpu("n2", "0", 40000, 200, mig_id="2", mig_profile="3g.40gb"),
        _gpu("n2", "1", None, None),  # memory unknown: said, never counted as 0
    ]
    fleet = GpuFleet([assess(r, xid_table()) for r in readings], [])
    s = fleet.summary()
    assert s["gpus"] == 4
    assert (s["mem_total_mib"], s["mem_used_mib"]) == (81559 * 2 + 80000, 71234 + 1000 + 300)
    assert s["mem_unknown_gpus"] == 1
    # none known: unknown, not 0 MiB
    s = GpuFleet([assess(_gpu("n1", "0", None, None), xid_table())], []).summary()
    assert s["mem_total_mib"] is None and s["mem_used_mib"] is None
    assert s["mem_unknown_gpus"] == 1
    assert GpuFleet([], []).summary()["mem_total_mib"] is None
