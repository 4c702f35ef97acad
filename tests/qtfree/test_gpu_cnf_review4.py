"""Review fixes (fourth round) to the GPU and CNF reads: a cluster registered with a
Kubernetes API and no Prometheus has its GPUs read by nvidia-smi (README: where a cluster has
no DCGM series), never left out unsaid; a tenant's process named with a comma no longer
fails its node's whole process list; and CNF pods are typed vDU, vCU, UPF, AMF, SMF, NRF by
namespace as well as by label, the pods of a CNF namespace read whether labelled or not."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from aiops_desktop.models import CNFType, EndpointKind
from aiops_desktop.models.cluster import Cluster, ClusterCapabilities, Endpoint
from aiops_desktop.models.cnf import VfRow
from aiops_desktop.models.enums import QueryStatus
from aiops_desktop.models.metrics import ClusterOutcome, QueryAnswer
from aiops_desktop.services.gpu_cnf.cnf import (
    COMPONENT_LABEL,
    MOST_CNF_NAMESPACES,
    NAMESPACES,
    PODS,
    SRIOV_NETWORKS,
    cnf_workloads_by_type,
    read_sriov_objects,
)
from aiops_desktop.services.gpu_cnf.gpu_fallback import NodeGpus, node_readings, read_node
from aiops_desktop.services.gpu_cnf.readers import GpuCnfReaders
from aiops_desktop.services.kube.discovery import namespace_cnf_type
from collectors.errors import CollectorError
from collectors.nvidia_smi import NvidiaSmiFormatError, parse_compute_apps, parse_gpus

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
UUID_A = "GPU-aaaaaaaa-0000-1111-2222-333344445555"
UUID_B = "GPU-bbbbbbbb-0000-1111-2222-333344445555"
GPU_ROW = ("{i}, {uuid}, NVIDIA A100-SXM4-80GB, 550.54, 81920, 80000, 1920, 100, 97, 86, 398.12, "
           "400.00, [N/A]\n")  # fmt: skip
GPUS = GPU_ROW.format(i=0, uuid=UUID_A) + GPU_ROW.format(i=1, uuid=UUID_B)


# -- 1. a cluster with a Kubernetes API and no Prometheus ------------------------------------------
def kube_only(name: str = "edge-7") -> Cluster:
    """Discovery found 8 GPUs and the GPU operator; no Prometheus is registered."""
    found = ClusterCapabilities(gpu_count=8, has_gpu_operator=True, discovered_at=NOW)
    return Cluster(name=name, api_server_url=f"https://{name}.invalid:6443", capabilities=found)


def with_prometheus(name: str = "core-1") -> Cluster:
    return Cluster(
        name=name,
        api_server_url=f"https://{name}.invalid:6443",
        endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS, url=f"http://{name}.invalid:9090")],
    )


class Registry:
    def __init__(self, clusters: list[Cluster]) -> None:
        self._clusters = clusters

    def clusters(self) -> list[Cluster]:
        return self._clusters

    def hubs_of(self, name: str) -> list[Cluster]:
        return []


class NoDcgm:
    """A Prometheus that answers with no series; names every cluster asked."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    async def run(self, query: Any, clusters: list[Cluster]) -> QueryAnswer:
        self.asked |= {c.name for c in clusters}
        return QueryAnswer(query, QueryStatus.SUCCESS, [],
                           [ClusterOutcome(c.name, True, 1.0) for c in clusters], 1.0)  # fmt: skip


class SmiKube:
    """nvidia-smi in each cluster's driver pods: one node, one hot GPU."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def gpus_by_exec(self, name: str) -> list[NodeGpus]:
        self.asked.append(name)
        return [NodeGpus("gpu-0", "nvidia-gpu-operator/drv", parse_gpus(GPU_ROW.format(
            i=0, uuid=UUID_A)))]  # fmt: skip

    async def objects_of_each(self, path: str, **_kw: Any) -> dict[str, Any]:
        return {}  # no operator objects (drift's other lists)


def readers(clusters: list[Cluster], queries: NoDcgm, kube: SmiKube) -> GpuCnfReaders:
    return GpuCnfReaders(Registry(clusters), queries, kube, None, clock=lambda: NOW)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_cluster_without_prometheus_has_its_gpus_read_by_nvidia_smi() -> None:
    queries, kube = NoDcgm(), SmiKube()
    fleet = await readers([kube_only()], queries, kube).gpu_fleet()
    assert kube.asked == ["edge-7"]
    assert [h.reading.key for h in fleet.gpus] == ["edge-7/gpu-0/gpu0"]
    assert fleet.outcomes == [] and queries.asked == set()  # no Prometheus asked for DCGM


@pytest.mark.asyncio
async def test_beside_a_prometheus_without_dcgm_both_are_read_by_nvidia_smi() -> None:
    queries, kube = NoDcgm(), SmiKube()
    fleet = await readers([with_prometheus(), kube_only()], queries, kube).gpu_fleet()
    assert sorted(kube.asked) == ["core-1", "edge-7"]
    assert sorted(h.reading.cluster for h in fleet.gpus) == ["core-1", "edge-7"]
    assert queries.asked == {"core-1"}  # DCGM only where there is a Prometheus
    assert fleet.outcomes == []


@pytest.mark.asyncio
async def test_drift_compares_the_drivers_of_a_cluster_without_prometheus() -> None:
    queries, kube = NoDcgm(), SmiKube()
    await readers([kube_only()], queries, kube).drift()
    assert kube.asked == ["edge-7"]


def test_the_gpu_page_reads_every_cluster_with_prometheus_or_a_kubernetes_api() -> None:
    neither = Cluster(
        name="lab-0", endpoints=[Endpoint(kind=EndpointKind.LOKI, url="http://lab-0.invalid:3100")]
    )
    page = readers([with_prometheus(), kube_only(), neither], NoDcgm(), SmiKube())
    assert [c.name for c in page.with_gpus()] == ["core-1", "edge-7"]


# -- 2. a process named with a comma -----------------------------------------------------------
def test_a_process_named_with_commas_is_one_process() -> None:
    text = (f"{UUID_A}, 48211, /usr/bin/python3, 71000\n"
            f"{UUID_B}, 50123, train,resume, 38000\n"
            f"{UUID_B}, 50124, a, b ,c, [N/A]\n")  # fmt: skip
    apps = parse_compute_apps(text)
    assert [(a.gpu_uuid, a.pid, a.process, a.used_memory_mib) for a in apps] == [
        (UUID_A, 48211, "/usr/bin/python3", 71000.0),
        (UUID_B, 50123, "train,resume", 38000.0),
        (UUID_B, 50124, "a,b ,c", None),
    ]


def test_a_process_row_with_too_few_values_is_still_no_output_of_nvidia_smi() -> None:
    with pytest.raises(NvidiaSmiFormatError, match="line 1 has 3 values"):
        parse_compute_apps(f"{UUID_A}, 48211, 71000\n")


def test_a_gpu_row_with_an_extra_value_is_still_refused() -> None:
    with pytest.raises(NvidiaSmiFormatError, match="expected 13"):
        parse_gpus(GPU_ROW.format(i=0, uuid=UUID_A).replace("NVIDIA A100", "NVIDIA, A100"))


def test_one_tenants_comma_leaves_every_gpu_its_processes_and_no_failure() -> None:
    apps = f"{UUID_A}, 48211, /usr/bin/python3, 71000\n{UUID_B}, 50123, train,resume, 38000\n"

    class Client:
        async def exec_read(self, ns: str, pod: str, cmd: list[str], container: Any = None) -> str:
            return GPUS if "--query-gpu" in cmd[1] else apps

    node = asyncio.run(read_node(Client(), "nvidia-gpu-operator", "drv-x", "gpu-0"))  # type: ignore[arg-type]
    found, failed = node_readings("ran-east", [node])
    assert [r.pods for r in found] == [
        ["pid 48211 /usr/bin/python3 (71000 MiB)"], ["pid 50123 train,resume (38000 MiB)"],
    ]  # fmt: skip
    assert failed == []


# -- 3. CNF pods by namespace -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("namespace", "kind"),
    [("amf-core", CNFType.AMF), ("smf-core", CNFType.SMF), ("nrf-core", CNFType.NRF),
     ("du-site1", CNFType.VDU), ("amfx", None)],
)  # fmt: skip
def test_amf_smf_and_nrf_namespaces_are_typed(namespace: str, kind: CNFType | None) -> None:
    assert namespace_cnf_type(namespace) is kind


def test_a_vf_pod_in_an_smf_namespace_is_smf() -> None:
    vfs = [VfRow("ran-east", "w1", "ens1f0", "3", "0000:3b:02.3", pod="smf-core/smf-0")]
    (workload,) = cnf_workloads_by_type(vfs, [], [])
    assert workload.cnf_type is CNFType.SMF


def pod(namespace: str, name: str, component: str | None = None) -> dict[str, Any]:
    labels = {} if component is None else {COMPONENT_LABEL: component}
    return {"metadata": {"namespace": namespace, "name": name, "labels": labels},
            "status": {"phase": "Running"}}  # fmt: skip


class CnfKube:
    """A cluster's API: ``pods`` every pod of it; lists as the API answers them (a label
    selector: the pods that carry the label; a namespace field selector: that namespace's)."""

    def __init__(self, namespaces: list[str], pods: list[dict[str, Any]]) -> None:
        self.namespaces, self.pods = namespaces, pods
        self.asked: list[tuple[str, str | None, str | None]] = []

    async def sriov_states(self, name: str) -> list[dict[str, Any]]:
        return []

    async def objects(
        self, name: str, path: str, *, label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        self.asked.append((path, label_selector, field_selector))
        if path == NAMESPACES:
            return [{"metadata": {"name": n}} for n in self.namespaces]
        if path == SRIOV_NETWORKS:
            return []
        assert path == PODS
        found = self.pods
        if label_selector is not None:
            found = [p for p in found if label_selector in p["metadata"]["labels"]]
        if field_selector is not None:
            namespace = field_selector.removeprefix("metadata.namespace=")
            found = [p for p in found if p["metadata"]["namespace"] == namespace]
        return found


def cluster(name: str = "ran-east") -> list[Cluster]:
    return [Cluster(name=name, api_server_url=f"https://api.{name}:6443")]


def test_the_unlabelled_pods_of_cnf_namespaces_are_read_and_typed() -> None:
    kube = CnfKube(
        ["amf-core", "du-site1", "default", "openshift-monitoring"],
        [pod("amf-core", "amf-0"), pod("du-site1", "du-0", "du"), pod("du-site1", "du-helper"),
         pod("default", "web-0"), pod("openshift-monitoring", "prometheus-0"),
         pod("edge-apps", "upf-9", "upf")],
    )  # fmt: skip
    objects = asyncio.run(read_sriov_objects(kube, cluster()))  # type: ignore[arg-type]
    shown = [(w.cnf_type, f"{w.namespace}/{w.pod}", w.phase)
             for w in cnf_workloads_by_type([], [], objects.pods)]  # fmt: skip
    assert shown == [
        (CNFType.VDU, "du-site1/du-0", "Running"), (CNFType.VDU, "du-site1/du-helper", "Running"),
        (CNFType.UPF, "edge-apps/upf-9", "Running"), (CNFType.AMF, "amf-core/amf-0", "Running"),
    ]  # fmt: skip
    # each pod once (du-0 is both labelled and in a CNF namespace); no other namespace listed
    assert len(objects.pods) == 4 and objects.problems == []
    fields = sorted(f for p, _, f in kube.asked if p == PODS and f)
    assert fields == ["metadata.namespace=amf-core", "metadata.namespace=du-site1"]


def test_the_cnf_namespaces_read_are_bounded_and_the_rest_said() -> None:
    many = [f"du-site{i:03}" for i in range(MOST_CNF_NAMESPACES + 3)]
    kube = CnfKube(many, [pod(n, "du-0") for n in many])
    objects = asyncio.run(read_sriov_objects(kube, cluster()))  # type: ignore[arg-type]
    assert len([f for p, _, f in kube.asked if p == PODS and f]) == MOST_CNF_NAMESPACES
    assert len(objects.pods) == MOST_CNF_NAMESPACES
    assert objects.problems == [
        f"ran-east: the pods of 3 more CNF namespaces were not read (at most "
        f"{MOST_CNF_NAMESPACES} a cluster)"
    ]
    assert objects.unread == {}  # what was read is shown, the cluster is no unread one


def test_a_namespace_name_the_api_could_not_hold_is_not_asked_for() -> None:
    kube = CnfKube(["du-a,metadata.name=x", "du-b"], [pod("du-b", "du-0")])
    objects = asyncio.run(read_sriov_objects(kube, cluster()))  # type: ignore[arg-type]
    assert [f for p, _, f in kube.asked if p == PODS and f] == ["metadata.namespace=du-b"]
    assert [p["metadata"]["name"] for _, p in objects.pods] == ["du-0"]


def test_cnf_namespaces_not_read_are_said_and_the_rest_still_shown() -> None:
    class Forbidden(CnfKube):
        async def objects(self, name: str, path: str, **kw: Any) -> list[dict[str, Any]]:
            if path == NAMESPACES:
                raise CollectorError(f"{name}: namespaces is forbidden (403)")
            return await super().objects(name, path, **kw)

    kube = Forbidden(["amf-core"], [pod("amf-core", "amf-0"), pod("edge", "upf-9", "upf")])
    objects = asyncio.run(read_sriov_objects(kube, cluster()))  # type: ignore[arg-type]
    assert [p["metadata"]["name"] for _, p in objects.pods] == ["upf-9"]
    assert objects.problems == [
        "ran-east: the pods of its CNF namespaces were not read: "
        "ran-east: namespaces is forbidden (403)"
    ]
    assert objects.unread == {}


def test_a_process_name_with_a_quote_takes_no_other_row_into_it() -> None:
    text = f'{UUID_A}, 48211, "evil, 100\n{UUID_B}, 50123, /usr/bin/python3, 38000\n'
    apps = parse_compute_apps(text)
    assert [(a.pid, a.process) for a in apps] == [(48211, '"evil'), (50123, "/usr/bin/python3")]


def test_an_api_that_ignores_the_namespace_selector_lists_no_other_namespaces_pods() -> None:
    class Ignoring(CnfKube):
        async def objects(self, name: str, path: str, **kw: Any) -> list[dict[str, Any]]:
            return await super().objects(name, path, label_selector=kw.get("label_selector"))

    kube = Ignoring(["amf-core"], [pod("amf-core", "amf-0"), pod("default", "web-0")])
    objects = asyncio.run(read_sriov_objects(kube, cluster()))  # type: ignore[arg-type]
    assert [p["metadata"]["name"] for _, p in objects.pods] == ["amf-0"]
