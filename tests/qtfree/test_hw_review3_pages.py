"""The fleet's memory totals count each physical GPU's memory once: where each of a GPU's MIG
instances reports the whole device's framebuffer (the bundled sample, tests/servers/gpu_fleet.py:
every instance at 81,559 MiB), the device is counted once, not once per instance; where each
reports its own slice (DCGM since 3.1.3: two 3g.40gb instances of some 40,000 MiB each, or four
1g.6gb of an A30 at 6,012 free each), the slices add up, equal or not."""

from __future__ import annotations

import numpy as np

from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuReading
from aiops_desktop.models.metrics import PromSeries, TaggedSeries
from aiops_desktop.services.gpu_cnf.gpu import gpu_queries, join_readings, xid_table
from analysis.gpu_health import assess
from tests.servers.gpu_fleet import FB_TOTAL, gpu_fleet_series


def _gpu(
    node: str, index: str, total: float | None, used: float | None, **more: object
) -> GpuHealth:
    reading = GpuReading("ai-lab", node, index, f"GPU-{node}-{index}", mem_total_mib=total,
                         mem_used_mib=used, temperature_c=50.0, dbe_errors=0, xid=0,
                         **more)  # type: ignore[arg-type]  # fmt: skip
    return assess(reading, xid_table())


def test_mig_instances_repeating_the_devices_memory_count_it_once() -> None:
    gpus = [
        _gpu("dgx-0", "0", FB_TOTAL, 1024.0, mig_id="1", mig_profile="3g.40gb"),
        _gpu("dgx-0", "0", FB_TOTAL, 1024.0, mig_id="2", mig_profile="3g.40gb"),
        _gpu("dgx-0", "1", FB_TOTAL, 2048.0),
    ]
    s = GpuFleet(gpus, []).summary()
    assert s["gpus"] == 2
    assert (s["mem_total_mib"], s["mem_used_mib"]) == (2 * FB_TOTAL, 1024.0 + 2048.0)
    assert s["mem_unknown_gpus"] == 0


def test_mig_slices_of_one_size_still_add_up() -> None:
    """An A30 in four 1g.6gb instances, each reporting its own 6,144 MiB: 24,576 in all."""
    gpus = [_gpu("a30", "0", 6144.0, 132.0, mig_id=str(i), mig_profile="1g.6gb")
            for i in (3, 4, 5, 6)]  # fmt: skip
    s = GpuFleet(gpus, []).summary()
    assert (s["mem_total_mib"], s["mem_used_mib"]) == (4 * 6144.0, 4 * 132.0)


def test_an_instance_repeating_the_device_tells_its_memory_for_an_unknown_one() -> None:
    """One instance's memory query came back empty: the other still reports the whole
    device's, so the device is counted (once) and not said unknown."""
    gpus = [
        _gpu("dgx-0", "0", FB_TOTAL, 1024.0, mig_id="1", mig_profile="3g.40gb"),
        _gpu("dgx-0", "0", None, None, mig_id="2", mig_profile="3g.40gb"),
        _gpu("dgx-0", "1", FB_TOTAL, 2048.0),
    ]
    s = GpuFleet(gpus, []).summary()
    assert s["mem_unknown_gpus"] == 0
    assert (s["mem_total_mib"], s["mem_used_mib"]) == (2 * FB_TOTAL, 1024.0 + 2048.0)


def test_the_sample_fleets_memory_is_its_64_gpus_once_each() -> None:
    """The bundled sample's DCGM series, read as the GPU reader reads them: 65 readings (one
    H100 in two MIG instances) of 64 H100s; the total was 65 x 81,559 MiB."""
    metric = {query: name for name, query in gpu_queries().items()}
    wanted = ("mem_used_mib", "mem_free_mib", "mem_reserved_mib", "temperature_c")
    answers: dict[str, list[TaggedSeries]] = {}
    for name, labels, value in gpu_fleet_series():
        if (field := metric.get(name)) in wanted:
            own = {k: v for k, v in labels.items() if k != "cluster"}
            series = PromSeries(own, np.array([1.7e9]), np.array([value(0)]))
            answers.setdefault(field, []).append(TaggedSeries(labels["cluster"], series))
    readings = join_readings(answers)
    assert len(readings) == 65 and sum(1 for r in readings if r.mig_id) == 2
    s = GpuFleet([assess(r, xid_table()) for r in readings], []).summary()
    assert s["gpus"] == 64 and s["mem_unknown_gpus"] == 0
    assert s["mem_total_mib"] == 64 * FB_TOTAL
    used = sum(r.mem_used_mib or 0.0 for r in readings if not r.mig_id) + 1024.0
    assert s["mem_used_mib"] == used
