"""CNF workloads by type (vDU, vCU, UPF, AMF, SMF, NRF by namespace and labels;
docs/architecture.md#rules): the pods that hold SR-IOV VFs or DPDK ports (from the metrics),
and the pods a cluster labels with ``app.kubernetes.io/component`` (from its Kubernetes API),
each with its data plane."""

from __future__ import annotations

from typing import Any

from aiops_desktop.models import Cluster, CNFType
from aiops_desktop.models.cnf import CnfWorkload, DpdkPortRow, SriovObjects, VfRow
from aiops_desktop.services.gpu_cnf.sriov import network_rows, node_sync_rows
from aiops_desktop.services.kube.discovery import component_cnf_type, namespace_cnf_type
from aiops_desktop.services.kube.session import KubeSession
from aiops_desktop.services.kube.validation import has_kube_api
from collectors.errors import CollectorError

SRIOV_NETWORKS = "/apis/sriovnetwork.openshift.io/v1/sriovnetworks"
PODS = "/api/v1/pods"

#: the label the Kubernetes API is asked for (``labelSelector``: pods that carry it)
COMPONENT_LABEL = "app.kubernetes.io/component"


def cnf_workloads_by_type(
    vfs: list[VfRow], ports: list[DpdkPortRow], pods: list[tuple[str, dict[str, Any]]]
) -> list[CnfWorkload]:
    """``pods``: (cluster, Pod object) from the Kubernetes API. A pod is typed by its component
    label, else by its namespace's prefix; a pod that holds VFs or DPDK ports but is neither
    labelled nor in a CNF namespace is "other". In the specification's order of types."""
    rows: dict[tuple[str, str, str], CnfWorkload] = {}

    def row(
        cluster: str, namespace: str, pod: str, labels: dict[str, str], *, dataplane: bool
    ) -> CnfWorkload | None:
        key = (cluster, namespace, pod)
        if key not in rows:
            kind = component_cnf_type(labels) or namespace_cnf_type(namespace)
            if kind is None and not dataplane:
                return None
            rows[key] = CnfWorkload(
                kind or CNFType.OTHER, cluster, namespace, pod,
                component=labels.get(COMPONENT_LABEL, ""),
            )  # fmt: skip
        return rows[key]

    for cluster, obj in pods:
        meta = obj.get("metadata") or {}
        found = row(cluster, str(meta.get("namespace", "")), str(meta.get("name", "")),
                    dict(meta.get("labels") or {}), dataplane=False)  # fmt: skip
        if found is not None:
            found.phase = str((obj.get("status") or {}).get("phase", ""))
    planes: list[VfRow | DpdkPortRow] = [*vfs, *ports]
    for plane in planes:
        if not plane.pod:
            continue
        namespace, _, pod = plane.pod.partition("/")
        found = row(plane.cluster, namespace, pod, {}, dataplane=True)
        assert found is not None  # a data-plane pod always gets a row
        if isinstance(plane, VfRow):
            found.vfs += 1
        else:
            found.dpdk_ports += 1
        found.rx_bps += plane.rx_bps or 0.0
        found.tx_bps += plane.tx_bps or 0.0
        found.trouble_ps += plane.trouble
    order = list(CNFType)
    return sorted(
        rows.values(), key=lambda w: (order.index(w.cnf_type), w.cluster, w.namespace, w.pod)
    )


async def read_sriov_objects(kube: KubeSession, clusters: list[Cluster]) -> SriovObjects:
    """Node states, SriovNetworks and component-labelled pods of every cluster with a
    Kubernetes API; a cluster that cannot be read is named with why, the others still shown."""
    out = SriovObjects()
    for cluster in clusters:
        if not has_kube_api(cluster):
            continue
        try:
            states = await kube.sriov_states(cluster.name)
            networks = await kube.objects(cluster.name, SRIOV_NETWORKS)
            pods = await kube.objects(cluster.name, PODS, label_selector=COMPONENT_LABEL)
            nodes, nets = node_sync_rows(states), network_rows(networks)
        except CollectorError as exc:  # unreadable, or objects not in Kubernetes format
            out.problems.append(f"{cluster.name}: {exc}")
            continue
        out.nodes += [(cluster.name, row) for row in nodes]
        out.networks += [(cluster.name, row) for row in nets]
        out.pods += [(cluster.name, pod) for pod in pods]
    return out
