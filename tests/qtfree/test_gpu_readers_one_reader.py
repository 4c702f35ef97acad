"""One GPU reader (DCGM, else nvidia-smi in the driver pods) for the GPU page, the fleet's
findings (tiles, wall, CLI, notifications) and drift: a cluster without a DCGM exporter whose
GPU runs at 86 C is CRITICAL everywhere, not only on the GPU page; where nvidia-smi cannot
run, its GPUs are "not read", never OK."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.cluster import Cluster, ClusterCapabilities, ClusterKind, Endpoint
from aiops_desktop.models.enums import QueryStatus
from aiops_desktop.models.fleet import Coverage, Domain, FindingSeverity, Health
from aiops_desktop.models.gpu import GpuState
from aiops_desktop.models.metrics import ClusterOutcome, QueryAnswer
from aiops_desktop.services.fleet.state import FleetState, read_metric_findings
from aiops_desktop.services.gpu_cnf.gpu_fallback import NodeGpus, read_gpus
from aiops_desktop.services.gpu_cnf.readers import GpuCnfReaders
from collectors.errors import CollectorError
from collectors.nvidia_smi import parse_compute_apps, parse_gpus

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
HOT = ("0, GPU-5d1c2f5e-0000-1111-2222-333344445555, NVIDIA A100-SXM4-80GB, {driver}, 81920, "
       "80000, 1920, 100, 97, 86, 398.12, 400.00, [N/A]\n")  # fmt: skip
APPS = "GPU-5d1c2f5e-0000-1111-2222-333344445555, 48211, /usr/bin/python3, 71000\n"


def cluster(name: str, *, api: bool = True, gpus: int | None = None, hub: bool = False) -> Cluster:
    """``gpus``: what discovery found (None: not discovered yet)."""
    found = ClusterCapabilities() if gpus is None else ClusterCapabilities(
        gpu_count=gpus, discovered_at=NOW)  # fmt: skip
    return Cluster(
        name=name,
        api_server_url=f"https://{name}.invalid:6443" if api else None,
        endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS, url=f"http://{name}.invalid:9090")],
        capabilities=found,
        kind=ClusterKind.FLEET if hub else ClusterKind.CLUSTER,
    )


class NoDcgm:
    """A Prometheus that answers every query, with no series (no DCGM exporter)."""

    async def run(self, query: Any, clusters: list[Cluster]) -> QueryAnswer:
        return QueryAnswer(query, QueryStatus.SUCCESS, [],
                           [ClusterOutcome(c.name, True, 1.0) for c in clusters], 1.0)  # fmt: skip


class Kube:
    """nvidia-smi in the driver pods: ``drivers``: cluster -> driver version of its one GPU."""

    def __init__(self, drivers: dict[str, str], fail: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.drivers, self.fail = drivers, fail
        self.asked: list[str] = []

    async def ptp_thresholds(self, **_kw: Any) -> tuple[dict[Any, Any], list[str]]:
        return {}, []  # no PtpConfig profiles

    async def gpus_by_exec(self, name: str) -> list[NodeGpus]:
        self.asked.append(name)
        if name in self.fail:
            raise CollectorError(f"{name}: 403 forbidden")
        if name not in self.drivers:
            return []
        gpus = parse_gpus(HOT.format(driver=self.drivers[name]))
        return [NodeGpus("gpu-node-1", "nvidia-gpu-operator/drv-x", gpus, parse_compute_apps(APPS))]

    async def objects_of_each(self, path: str, **_kw: Any) -> dict[str, Any]:
        return {}  # no SR-IOV operator objects (the fleet's SR-IOV read)


class Registry:
    def __init__(self, clusters: list[Cluster]) -> None:
        self._clusters = clusters

    def clusters(self) -> list[Cluster]:
        return self._clusters

    def members(self, cluster: Cluster, seen: Any = ()) -> list[str]:
        return []


@pytest.mark.asyncio
async def test_the_gpu_page_and_the_fleets_findings_read_the_same_nvidia_smi_gpus() -> None:
    edge = cluster("edge-1")
    kube = Kube({"edge-1": "550.54.15"})
    page = await GpuCnfReaders(Registry([edge]), NoDcgm(), kube, None,  # type: ignore[arg-type]
                               clock=lambda: NOW).gpu_fleet()  # fmt: skip
    (gpu,) = page.gpus
    assert gpu.state is GpuState.CRITICAL and gpu.reading.key == "edge-1/gpu-node-1/gpu0"
    assert gpu.reading.pods == ["pid 48211 /usr/bin/python3 (71000 MiB)"]

    found, unread, _ = await read_metric_findings(NoDcgm(), [edge], NOW, kube=kube)  # type: ignore[arg-type]
    (finding,) = [f for f in found["edge-1"] if f.domain is Domain.GPU]
    assert finding.severity is FindingSeverity.CRITICAL
    assert finding.subject == "gpu-node-1/gpu0" and "86 C" in finding.reason
    assert unread == {}


@pytest.mark.asyncio
async def test_the_fleets_truth_judges_a_cluster_by_its_nvidia_smi_gpus() -> None:
    class Poller:
        status: dict[Any, Any] = {}  # noqa: RUF012
        alerts: dict[str, Any] = {}  # noqa: RUF012
        member_seen: dict[str, Any] = {}  # noqa: RUF012

    class Anomalies:
        async def current(self, within: Any) -> list[Any]:
            return []

    class Bus:
        def publish(self, topic: str, payload: Any) -> None:
            pass

    def fleet(kube: Kube) -> FleetState:
        return FleetState(Registry([cluster("edge-1")]), Poller(), NoDcgm(), Anomalies(), Bus(),  # type: ignore[arg-type]
                          kube=kube, clock=lambda: NOW)  # type: ignore[arg-type]  # fmt: skip

    truth = await fleet(Kube({"edge-1": "550.54.15"})).refresh()
    edge = truth.get("edge-1")
    assert edge is not None and edge.state is Health.CRITICAL
    assert [f.subject for f in edge.findings if f.domain is Domain.GPU] == ["gpu-node-1/gpu0"]
    assert [key[:2] for key in truth.critical()] == [("edge-1", "GPU")]  # notified

    # nvidia-smi refused: the GPUs are not read, and the cluster is not OK
    truth = await fleet(Kube({}, fail={"edge-1"})).refresh()
    edge = truth.get("edge-1")
    assert edge is not None and edge.state is Health.STALE
    assert edge.coverage["findings"] is Coverage.UNREACHABLE
    assert "403 forbidden" in edge.unread["findings"]


@pytest.mark.asyncio
async def test_where_nvidia_smi_cannot_run_the_gpus_are_not_read() -> None:
    clusters = [
        cluster("no-session"),  # an API, but nothing to exec through
        cluster("no-api-gpus", api=False, gpus=4),  # discovery found GPUs; no API to exec
        cluster("no-api-unknown", api=False),  # nothing says it has GPUs: nothing to say
        cluster("no-gpus", gpus=0),  # discovered without GPUs or operator: no exec
    ]
    fleet = await read_gpus(NoDcgm(), clusters, None)  # type: ignore[arg-type]
    unread = {o.cluster: o.error for o in fleet.outcomes if not o.ok}
    assert set(unread) == {"no-session", "no-api-gpus"}
    assert "no Kubernetes session" in (unread["no-session"] or "")
    assert "no Kubernetes API" in (unread["no-api-gpus"] or "")

    _, not_read, _ = await read_metric_findings(NoDcgm(), clusters, NOW)  # type: ignore[arg-type]
    assert set(not_read) == {"no-session", "no-api-gpus"}
    assert all(Domain.GPU in per for per in not_read.values())

    kube = Kube({})
    fleet = await read_gpus(NoDcgm(), clusters, kube)  # type: ignore[arg-type]
    assert kube.asked == ["no-session"]
    assert [o.cluster for o in fleet.outcomes] == ["no-api-gpus"]


@pytest.mark.asyncio
async def test_a_capture_and_a_fleet_hub_are_not_execd_into() -> None:
    kube = Kube({"edge-1": "550.54.15", "hub": "550.54.15"})
    recorded = await read_gpus(NoDcgm(), [cluster("edge-1")], kube, recorded=True)  # type: ignore[arg-type]
    assert recorded.gpus == [] and recorded.outcomes == [] and kube.asked == []
    # a hub's GPUs are its members' series: a failed exec into it would mark them all unread
    hub = await read_gpus(NoDcgm(), [cluster("hub", hub=True, gpus=8)], kube)  # type: ignore[arg-type]
    assert hub.gpus == [] and hub.outcomes == [] and kube.asked == []


@pytest.mark.asyncio
async def test_drift_compares_the_drivers_nvidia_smi_read() -> None:
    clusters = [cluster("ran-a"), cluster("ran-b"), cluster("ran-c"), cluster("ran-d")]
    kube = Kube({"ran-a": "550.54.15", "ran-b": "550.54.15", "ran-c": "535.104.05"},
                fail={"ran-d"})  # fmt: skip

    read = GpuCnfReaders(Registry(clusters), NoDcgm(), kube, None, clock=lambda: NOW)  # type: ignore[arg-type]
    report = await read.drift()
    (drift,) = report.drifts
    assert (drift.kind, drift.setting) == ("GPU driver", "driver version")
    assert drift.outliers == ["ran-c/gpu-node-1"]
    assert set(report.gpu_unread) == {"ran-d"} and "403" in report.gpu_unread["ran-d"]
