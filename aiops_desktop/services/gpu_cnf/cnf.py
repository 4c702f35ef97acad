"""CNF workloads by type (vDU, vCU, UPF, AMF, SMF, NRF by namespace and labels;
docs/architecture.md#rules): the pods that hold SR-IOV VFs or DPDK ports (from the metrics),
and the pods a cluster labels with ``app.kubernetes.io/component`` or runs in a CNF namespace
(from its Kubernetes API), each with its data plane."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from typing import Any

from aiops_desktop.models import Cluster, CNFType
from aiops_desktop.models.cnf import CnfWorkload, DpdkPortRow, SriovObjects, VfRow
from aiops_desktop.models.errors import AppError
from aiops_desktop.services.gpu_cnf.sriov import network_rows, node_sync_rows
from aiops_desktop.services.kube.discovery import component_cnf_type, namespace_cnf_type
from aiops_desktop.services.kube.session import KubeSession
from aiops_desktop.services.kube.validation import has_kube_api
from aiops_desktop.services.runtime.gathering import gather_all

SRIOV_NETWORKS = "/apis/sriovnetwork.openshift.io/v1/sriovnetworks"
PODS = "/api/v1/pods"
NAMESPACES = "/api/v1/namespaces"
#: the CNF namespaces of one cluster whose pods are listed, at most (one list each): more
#: are said, not read
MOST_CNF_NAMESPACES = 32
#: a namespace's name as the API allows it (an RFC 1123 label): another is no selector's
_NAMESPACE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", re.ASCII)

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


def _name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    return str(meta.get("name", "")) if isinstance(meta, dict) else ""


async def cnf_namespace_pods(
    kube: KubeSession, name: str
) -> tuple[list[dict[str, Any]], str | None]:
    """The pods of a cluster's CNF namespaces (``namespace_cnf_type``: its pods are typed by
    it, labelled or not: an AMF pod in ``amf-core`` without the component label was not
    read), one list per namespace (``fieldSelector``: the API selects no namespace by its
    prefix), each bounded as every list is, at most ``MOST_CNF_NAMESPACES`` of them; and
    what was not read, said: these pods add to the labelled ones, and a cluster whose
    namespaces cannot be listed keeps its node states and labelled pods shown."""
    try:
        namespaces = await kube.objects(name, NAMESPACES)
        typed = sorted({n for ns in namespaces if _NAMESPACE_NAME.fullmatch(n := _name(ns))
                        and namespace_cnf_type(n) is not None})  # fmt: skip
        lists = await gather_all(*(
            kube.objects(name, PODS, field_selector=f"metadata.namespace={n}")
            for n in typed[:MOST_CNF_NAMESPACES]
        ))  # fmt: skip
    except AppError as exc:
        return [], f"{name}: the pods of its CNF namespaces were not read: {exc}"
    # the namespace is checked again on our side, as labels are (an API that ignored the
    # selector listed every pod of the cluster as this namespace's)
    pods = [pod for n, found in zip(typed, lists, strict=False) for pod in found
            if _pod_key(pod)[0] == n]  # fmt: skip
    if len(typed) <= MOST_CNF_NAMESPACES:
        return pods, None
    return pods, (f"{name}: the pods of {len(typed) - MOST_CNF_NAMESPACES} more CNF namespaces "
                  f"were not read (at most {MOST_CNF_NAMESPACES} a cluster)")  # fmt: skip


def _pod_key(pod: dict[str, Any]) -> tuple[str, str]:
    meta = pod.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


async def _listed(
    read: Awaitable[list[dict[str, Any]]],
) -> tuple[list[dict[str, Any]], AppError | None]:
    """A list shown beside a cluster's node states, and what kept it unread (a 403 on
    SriovNetworks, a timeout): the node states (read fine, some Failed) still shown, as the
    fleet shows them."""
    try:
        return await read, None
    except AppError as exc:
        return [], exc


async def read_sriov_objects(
    kube: KubeSession, clusters: list[Cluster], failed: dict[str, AppError] | None = None
) -> SriovObjects:
    """Node states, SriovNetworks and CNF pods (component-labelled, or in a CNF namespace:
    ``cnf_namespace_pods``) of every cluster with a Kubernetes API, every cluster and list
    read at once; a cluster whose node states cannot be read (its API's error, a locked
    keyring, an offline pool: any ``AppError``) is named with why, the others still shown;
    its other lists, and a malformed SriovNetwork, not read are said, its node states kept.
    ``failed``: where given, each cluster's first list not read (SriovNetworks, labelled
    pods) with its error: a capture's export records it as the cluster's failure (said only
    in the problems, the capture opened said "not recorded" instead of the 403)."""

    async def one(name: str) -> SriovObjects:
        states, (networks, nets_error), (labelled, pods_error), (in_namespaces, unsaid) = (
            await gather_all(
                kube.sriov_states(name),
                _listed(kube.objects(name, SRIOV_NETWORKS)),
                _listed(kube.objects(name, PODS, label_selector=COMPONENT_LABEL)),
                cnf_namespace_pods(kube, name),
            )
        )  # fmt: skip
        # node states not in Kubernetes format raise CollectorError here: that cluster unread
        nodes = node_sync_rows(states)
        lost = {"SriovNetworks": nets_error, "labelled CNF pods": pods_error}
        said: list[str] = []
        try:
            nets = network_rows(networks, said)
        except AppError as exc:  # a malformed SriovNetwork: the networks unread, not the nodes
            nets, lost["SriovNetworks"] = [], exc
        if failed is not None and (first := nets_error or pods_error) is not None:
            failed.setdefault(name, first)  # a malformed one was read: recorded, as it is
        pods = {_pod_key(pod): pod for pod in [*labelled, *in_namespaces]}  # each pod once
        problems = [f"{name}: its {what} were not read: {exc}"
                    for what, exc in lost.items() if exc is not None]  # fmt: skip
        return SriovObjects(
            nodes=[(name, row) for row in nodes],
            networks=[(name, row) for row in nets],
            pods=[(name, pod) for pod in pods.values()],
            problems=problems + [f"{name}: {why}" for why in said] + ([unsaid] if unsaid else []),
        )

    names = [c.name for c in clusters if has_kube_api(c)]
    # each cluster's error kept as its answer (as KubeSession.objects_of_each): one locked
    # keyring or offline pool must not blank the others' Failed nodes
    answers = await asyncio.gather(*(one(n) for n in names), return_exceptions=True)
    out = SriovObjects()
    for name, answer in zip(names, answers, strict=True):
        if isinstance(answer, AppError):
            out.problems.append(f"{name}: {answer}")
            out.unread[name] = str(answer)
        elif isinstance(answer, BaseException):
            raise answer  # a bug, not an unreadable cluster
        else:
            out.nodes += answer.nodes
            out.networks += answer.networks
            out.pods += answer.pods
            out.problems += answer.problems
    return out
