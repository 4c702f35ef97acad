"""The fleet's average GPU utilisation is per physical GPU, as its count and temperature are:
each MIG instance repeats its device's utilisation, so one GPU split in seven weighed seven."""

from __future__ import annotations

from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuReading, GpuState


def _gpu(gpu: str, util: float | None, temp: float, mig_id: str | None = None) -> GpuHealth:
    reading = GpuReading("ai-a", "n1", gpu, f"GPU-{gpu}", "A100", mig_id=mig_id,
                         mig_profile="1g.10gb" if mig_id else None, util_pct=util,
                         temperature_c=temp)  # fmt: skip
    return GpuHealth(reading, GpuState.OK, [], high_utilisation=False)


def test_a_gpu_split_in_seven_counts_once_in_the_average_utilisation() -> None:
    busy = [_gpu("0", 100.0, 60.0, str(i)) for i in range(1, 8)]
    idle = [_gpu(str(g), 0.0, 40.0) for g in range(1, 8)]
    summary = GpuFleet(busy + idle, []).summary()
    assert summary["gpus"] == 8
    assert summary["avg_util_pct"] == 12.5  # 100 % on one of eight GPUs
    assert summary["avg_temperature_c"] == 42.5


def test_a_physical_gpu_reads_its_busiest_instance() -> None:
    split = [_gpu("0", 30.0, 50.0, "1"), _gpu("0", 90.0, 50.0, "2"), _gpu("0", None, 50.0, "3")]
    summary = GpuFleet([*split, _gpu("1", 10.0, 40.0)], []).summary()
    assert summary["avg_util_pct"] == 50.0  # (90 + 10) / 2
