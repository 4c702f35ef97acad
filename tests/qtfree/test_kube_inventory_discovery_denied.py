"""A discovery read the credentials may not do (403) is no answer: the capabilities it would
have told keep their value from before and are reported unreadable, never vanished."""

from __future__ import annotations

import argparse
import io
from types import SimpleNamespace
from typing import Any

import pytest

from aiops_desktop.cli import clusters as clusters_cli
from aiops_desktop.cli.args import Io
from aiops_desktop.models import Cluster, utcnow
from aiops_desktop.models.cluster import ClusterCapabilities
from aiops_desktop.services.kube.discovery import READS, interpret, merged

RAN = ClusterCapabilities(
    gpu_nodes=4, gpu_count=32, gpu_types=["NVIDIA-H100"], has_gpu_operator=True,
    has_ptp=True, has_sriov=True, has_prometheus=True, has_service_mesh=True,
    discovered_at=utcnow(),
)  # fmt: skip
RAN_READS = ["nodes", "clusterpolicies", "ptpconfigs", "nodeptpdevices",
             "sriovnetworknodestates", "sriovnetworks"]  # fmt: skip


def cluster(capabilities: ClusterCapabilities = RAN) -> Cluster:
    return Cluster(
        name="ran-east", api_server_url="https://api.ran-east:6443", capabilities=capabilities
    )


def prometheus_service() -> dict[str, Any]:
    return {"metadata": {"name": "prometheus-k8s", "namespace": "openshift-monitoring"},
            "spec": {"ports": [{"name": "web", "port": 9091}]}}  # fmt: skip


def test_denied_reads_keep_what_they_would_have_told() -> None:
    objects: dict[str, list[dict[str, Any]]] = {name: [] for name in READS}
    objects["services"] = [prometheus_service()]
    objects["namespaces"] = [{"metadata": {"name": "istio-system"}}]
    found = interpret("ran-east", objects, {"gitVersion": "v1.29.8"}, [], RAN_READS)
    assert found.unreadable == ["gpu operator", "gpus", "ptp", "sr-iov"]
    after = merged(cluster(), found).capabilities
    assert (after.gpu_nodes, after.gpu_count, after.gpu_types) == (4, 32, ["NVIDIA-H100"])
    assert after.has_gpu_operator and after.has_ptp and after.has_sriov
    assert after.has_prometheus and after.has_service_mesh
    assert after.vanished == [] and found.vanished == []
    assert found.to_json()["unreadable"] == found.unreadable


def test_what_is_still_readable_can_vanish_beside_a_denied_read() -> None:
    objects: dict[str, list[dict[str, Any]]] = {
        name: [] for name in READS
    }  # istio-system gone; no Prometheus any more
    found = interpret("ran-east", objects, {"gitVersion": "v1.29.8"}, [], ["nodes"])
    assert found.unreadable == ["gpus"]
    after = merged(cluster(), found).capabilities
    assert after.gpu_count == 32
    assert after.vanished == ["gpu operator", "prometheus", "ptp", "service mesh", "sr-iov"]


def test_a_capability_found_in_spite_of_a_denied_read_is_known() -> None:
    objects: dict[str, list[dict[str, Any]]] = {name: [] for name in READS}
    objects["services"] = [prometheus_service()]
    objects["sriovnetworks"] = [{"metadata": {"name": "fh", "namespace": "ran"}}]
    denied = ["routes", "sriovnetworknodestates"]
    found = interpret("ran-east", objects, {"gitVersion": "v1.29.8"}, [], denied)
    assert "prometheus" not in found.unreadable and "sr-iov" not in found.unreadable
    assert {"thanos", "loki", "tempo"} <= set(found.unreadable)  # their routes: unknown
    before = cluster(ClusterCapabilities(has_thanos=True, discovered_at=utcnow()))
    after = merged(before, found).capabilities
    assert after.has_prometheus and after.has_sriov and after.has_thanos
    assert after.vanished == []


def test_the_first_discovery_with_denied_reads_knows_nothing_of_them() -> None:
    found = interpret("new-one", {}, {"gitVersion": "v1.29.8"}, [], RAN_READS)
    after = merged(cluster(ClusterCapabilities()), found).capabilities
    assert after.gpu_count == 0 and not after.has_ptp and after.vanished == []
    assert "gpus" in found.unreadable  # said: not known, rather than "none"


def test_an_absent_api_is_an_answer() -> None:
    found = interpret(
        "ran-east", {}, {"gitVersion": "v1.29.8"}, ["ptpconfigs", "nodeptpdevices"], []
    )
    assert found.unreadable == []
    after = merged(cluster(), found).capabilities
    assert not after.has_ptp and "ptp" in after.vanished  # the PTP operator was removed


@pytest.mark.asyncio
async def test_clusters_discover_says_what_it_could_not_read_and_kept() -> None:
    """The text of `clusters discover` said "not readable nodes, ..." but not which
    capabilities that left as they were (the JSON did)."""
    objects: dict[str, list[dict[str, Any]]] = {name: [] for name in READS}
    found = interpret("ran-east", objects, {"gitVersion": "v1.29.8"}, [], RAN_READS)

    async def run(_name: str) -> object:
        return found

    said = Io(out=io.StringIO(), stdin=io.StringIO(), err=io.StringIO())
    core = SimpleNamespace(discovery=SimpleNamespace(run=run))
    args = argparse.Namespace(name="ran-east", json=False)
    assert await clusters_cli._discover(core, args, said) == 0  # type: ignore[arg-type]
    out = said.out.getvalue()  # type: ignore[attr-defined]
    assert "  unreadable    gpu operator, gpus, ptp, sr-iov (kept as before)\n" in out
