"""The objects of the test cluster served by kmock: an OpenShift RAN site with GPUs, PTP and
SR-IOV, written as the API server returns them (``__plural__`` tells kmock where each goes)."""

from __future__ import annotations

from typing import Any

CREATED = "2026-11-20T08:00:00Z"


def _meta(name: str, namespace: str | None = None, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "uid": f"uid-{namespace or 'cluster'}-{name}",
        "resourceVersion": "1001",
        "creationTimestamp": CREATED,
    }
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    return meta


def _namespace(name: str, **labels: str) -> dict[str, Any]:
    return {
        "__plural__": "namespaces",
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _meta(name, **labels),
        "status": {"phase": "Active"},
    }


def _node(name: str, role: str, gpus: int = 0, *, ready: bool = True) -> dict[str, Any]:
    labels = {f"node-role.kubernetes.io/{role}": "", "kubernetes.io/hostname": name}
    capacity = {"cpu": "64", "memory": "527973604Ki", "pods": "250"}
    if gpus:
        labels |= {
            "nvidia.com/gpu.present": "true",
            "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
            "nvidia.com/gpu.count": str(gpus),
        }
        capacity["nvidia.com/gpu"] = str(gpus)
    return {
        "__plural__": "nodes",
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": _meta(name, **labels),
        "spec": {},
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "reason": "KubeletReady" if ready else "KubeletNotReady",
                    "message": "kubelet is posting ready status"
                    if ready
                    else "PLEG is not healthy: pleg was last seen active 3m0s ago",
                    "lastTransitionTime": CREATED,
                },
                {
                    "type": "MemoryPressure",
                    "status": "False",
                    "reason": "KubeletHasSufficientMemory",
                    "lastTransitionTime": CREATED,
                },
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.29.8+f10c92d",
                "osImage": "Red Hat Enterprise Linux CoreOS 416.94.202409040013-0",
                "containerRuntimeVersion": "cri-o://1.29.8-5.rhaos4.16.git0a8b3f5.el9",
            },
        },
    }


def cluster_objects() -> list[dict[str, Any]]:
    return [
        _namespace("default"),
        _namespace("openshift-monitoring", **{"openshift.io/cluster-monitoring": "true"}),
        _namespace("ran-du", **{"cnf-type": "vDU"}),
        _node("master-0", "master"),
        _node("worker-0", "worker"),
        _node("gpu-0", "worker", gpus=8),
        _node("gpu-1", "worker", gpus=8, ready=False),
        {
            "__plural__": "clusterversions",
            "apiVersion": "config.openshift.io/v1",
            "kind": "ClusterVersion",
            "metadata": _meta("version"),
            "spec": {"channel": "stable-4.16", "clusterID": "5d2f0a7e-3c1b-4b8e-9a51-2f6f0c9d1e42"},
            "status": {
                "desired": {"version": "4.16.14"},
                "history": [{"state": "Completed", "version": "4.16.14"}],
            },
        },
    ]
