"""The drift page's read: every cluster read at once, each on its own. One that cannot be
read (unreachable, or not in the capture) or whose objects are not in Kubernetes format is
named as not compared, and the others are compared still; a cluster whose GPU drivers could
not be read is named too, so "nothing differs" is not said of what was never read."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.cluster import Cluster, Endpoint
from aiops_desktop.models.gpu import GpuFleet
from aiops_desktop.models.metrics import ClusterOutcome
from aiops_desktop.services.gpu_cnf import readers as readers_module
from aiops_desktop.services.gpu_cnf.drift import DRIFT_OBJECTS
from aiops_desktop.services.gpu_cnf.readers import GpuCnfReaders
from aiops_desktop.services.kube.session import KubeSession

PTP = DRIFT_OBJECTS["ptpconfigs"]
SRIOV = DRIFT_OBJECTS["sriovnetworknodepolicies"]


def cluster(name: str, *, metrics: bool = True) -> Cluster:
    endpoints = [Endpoint(kind=EndpointKind.PROMETHEUS, url=f"http://{name}.invalid:9090")]
    return Cluster(name=name, api_server_url=f"https://{name}.invalid:6443",
                   endpoints=endpoints if metrics else [])  # fmt: skip


class Registry:
    def __init__(self, clusters: list[Cluster]) -> None:
        self._clusters = clusters

    def clusters(self) -> list[Cluster]:
        return self._clusters


def ptp(opts: str) -> list[dict[str, Any]]:
    return [{"metadata": {"name": "du-ptp"},
             "spec": {"profile": [{"name": "slave", "ptp4lOpts": opts}]}}]  # fmt: skip


def policy(vfs: int) -> list[dict[str, Any]]:
    return [{"metadata": {"name": "du-fh"}, "spec": {"resourceName": "du_fh", "numVfs": vfs}}]


def readers(clusters: list[Cluster], recorded: dict[str, list[dict[str, Any]]]) -> GpuCnfReaders:
    """A capture's Kubernetes session: what it recorded is answered, the rest is an error."""
    registry = Registry(clusters)
    kube = KubeSession(registry, None, None, None)  # type: ignore[arg-type]
    kube.recorded = {f"{name} {path} ": items for (name, path), items in recorded.items()}  # type: ignore[misc]
    return GpuCnfReaders(registry, None, kube, None, clock=lambda: None)  # type: ignore[arg-type, return-value]


@pytest.fixture
def gpu_fleet(monkeypatch: pytest.MonkeyPatch) -> list[GpuFleet]:
    answers = [GpuFleet([], [])]

    async def read_gpus(*_args: object, **_kw: object) -> GpuFleet:  # DCGM, else nvidia-smi
        return answers[0]

    monkeypatch.setattr(readers_module, "read_gpus", read_gpus)
    return answers


@pytest.mark.asyncio
async def test_a_cluster_not_read_is_named_and_the_others_compared(
    gpu_fleet: list[GpuFleet],
) -> None:
    read = readers(
        [cluster("ran-a"), cluster("ran-b"), cluster("ran-c")],
        {("ran-a", PTP): ptp("-2 -s"), ("ran-a", SRIOV): [],
         ("ran-b", PTP): ptp("-2"), ("ran-b", SRIOV): []},
    )  # fmt: skip  # ran-c: not in the capture
    report = await read.drift()
    [drift] = report.drifts
    assert (drift.kind, drift.subject, drift.setting) == ("PTP profile", "slave", "ptp4lOpts")
    assert sorted(scope for _, scopes in drift.values for scope in scopes) == [
        "ran-a/du-ptp", "ran-b/du-ptp"]  # fmt: skip
    assert list(report.not_compared) == ["ran-c"]
    assert "not recorded in the capture" in report.not_compared["ran-c"]
    assert any(p.startswith("ran-c: not compared") for p in report.problems)


@pytest.mark.asyncio
async def test_objects_not_in_kubernetes_format_leave_the_rest_compared(
    gpu_fleet: list[GpuFleet],
) -> None:
    read = readers(
        [cluster("ran-a"), cluster("ran-b"), cluster("ran-c")],
        {("ran-a", PTP): ptp("-2 -s"), ("ran-a", SRIOV): policy(8),
         ("ran-b", PTP): ptp("-2"), ("ran-b", SRIOV): policy(8),
         ("ran-c", PTP): [{"metadata": {"name": "x"}, "spec": {"profile": ["ptp4lOpts"]}}],
         ("ran-c", SRIOV): policy(4)},
    )  # fmt: skip
    report = await read.drift()
    assert [(d.kind, d.setting) for d in report.drifts] == [
        ("PTP profile", "ptp4lOpts"), ("SR-IOV policy", "numVfs")]  # fmt: skip
    sriov = report.drifts[1]
    assert sriov.outliers == ["ran-c/du-fh"]  # ran-c's policies are still compared
    assert list(report.not_compared) == ["ran-c"]
    assert "not in Kubernetes format" in report.not_compared["ran-c"]


@pytest.mark.asyncio
async def test_gpu_drivers_not_read_are_named(gpu_fleet: list[GpuFleet]) -> None:
    gpu_fleet[0] = GpuFleet([], [ClusterOutcome("ran-b", False, 10.0, reason="timed_out",
                                                error="ran-b timed out")])  # fmt: skip
    read = readers([cluster("ran-a"), cluster("ran-b")],
                   {(n, p): [] for n in ("ran-a", "ran-b") for p in (PTP, SRIOV)})  # fmt: skip
    report = await read.drift()
    assert report.drifts == []
    assert report.gpu_unread == {"ran-b": "ran-b timed out"}
    assert report.not_compared == {}
    assert report.problems == ["ran-b: GPU drivers not read: ran-b timed out"]


@pytest.mark.asyncio
async def test_clusters_are_read_at_once(gpu_fleet: list[GpuFleet]) -> None:
    """Every cluster's lists are asked for before any answers: one slow cluster does not hold
    up the others in turn."""
    asked: list[str] = []
    everyone = asyncio.Event()

    class Kube(KubeSession):
        async def objects(self, name: str, path: str, **_kw: Any) -> list[dict[str, Any]]:
            asked.append(name)
            if len(asked) == 3 * len(DRIFT_OBJECTS):
                everyone.set()
            await asyncio.wait_for(everyone.wait(), 5)
            return []

    registry = Registry([cluster("ran-a"), cluster("ran-b"), cluster("ran-c", metrics=False)])
    read = GpuCnfReaders(registry, None, Kube(registry, None, None, None), None,  # type: ignore[arg-type]
                         clock=lambda: None)  # type: ignore[arg-type, return-value]  # fmt: skip
    report = await read.drift()
    assert report.drifts == [] and report.problems == []
    assert sorted(set(asked)) == ["ran-a", "ran-b", "ran-c"]
