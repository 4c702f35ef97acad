"""The GPU page reads a fleet whose clusters are registered by their Kubernetes API alone (no
Prometheus): their GPUs are read by nvidia-smi in the driver pods, and the page shows them."""

from __future__ import annotations

from typing import Any

from aiops_desktop.models import Cluster
from aiops_desktop.models.gpu import GpuFleet, GpuReading, GpuState
from aiops_desktop.services.gpu_cnf.gpu import xid_table
from aiops_desktop.services.runtime.supervisor import TaskSupervisor
from analysis.gpu_health import assess
from tests.ui.conftest import run_coro
from ui.presenters.gpu_cnf import GpuPresenter


class Readers:
    """``GpuCnfReaders`` of one cluster with a Kubernetes API and no Prometheus."""

    def __init__(self) -> None:
        self.read = 0

    def with_metrics(self) -> list[Cluster]:
        return []

    def with_kube(self) -> list[Cluster]:
        return [Cluster(name="edge-7", api_server_url="https://edge-7.example:6443")]

    async def gpu_fleet(self) -> GpuFleet:
        self.read += 1
        hot = GpuReading("edge-7", "gpu-0", "0", "GPU-5d1c2f5e", model="A100", temperature_c=86.0)
        return GpuFleet([assess(hot, xid_table())], [])


def test_the_gpus_of_a_cluster_without_prometheus_are_shown(qtbot, qloop) -> None:  # type: ignore[no-untyped-def]
    readers = Readers()
    presenter = GpuPresenter(readers=readers, tasks=TaskSupervisor())  # type: ignore[arg-type]
    fleets: list[Any] = []
    presenter.sig_fleet.connect(fleets.append)
    try:
        run_coro(qtbot, presenter.read())
    finally:
        presenter.close()
    assert readers.read == 1
    ((health,),) = [f.gpus for f in fleets]
    assert health.reading.key == "edge-7/gpu-0/gpu0" and health.state is GpuState.CRITICAL
