"""GPUs read by ``nvidia-smi`` in the NVIDIA driver daemonset's pods, for clusters whose
Prometheus has no DCGM exporter series (docs/architecture.md#rules). One exec per GPU node, in
parallel; a node that cannot answer is reported with its reason, the others still count."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from collectors.errors import CollectorError, KubeNotFound
from collectors.kubernetes import KubeClient
from collectors.nvidia_smi import (
    APPS_COMMAND,
    GPU_COMMAND,
    ComputeApp,
    GpuReading,
    NvidiaSmiFormatError,
    parse_compute_apps,
    parse_gpus,
)

DRIVER_NAMESPACES = ("nvidia-gpu-operator", "gpu-operator")
DRIVER_SELECTOR = "app=nvidia-driver-daemonset"
DRIVER_CONTAINER = "nvidia-driver-ctr"


@dataclass
class NodeGpus:
    node: str
    pod: str
    gpus: list[GpuReading] = field(default_factory=list)
    apps: list[ComputeApp] = field(default_factory=list)
    error: str | None = None


async def driver_pods(client: KubeClient) -> list[tuple[str, str, str]]:
    """(namespace, pod, node) of the running driver pods, in the first namespace that has any."""
    for namespace in DRIVER_NAMESPACES:
        try:
            pods, _ = await client.list(
                f"/api/v1/namespaces/{namespace}/pods", label_selector=DRIVER_SELECTOR
            )
        except KubeNotFound:
            continue
        found = [
            (namespace, p["metadata"]["name"], (p.get("spec") or {}).get("nodeName", ""))
            for p in pods
            if (p.get("status") or {}).get("phase", "Running") == "Running"
        ]
        if found:
            return sorted(found, key=lambda f: f[2])
    return []


async def read_node(client: KubeClient, namespace: str, pod: str, node: str) -> NodeGpus:
    result = NodeGpus(node=node, pod=f"{namespace}/{pod}")
    try:
        text = await client.exec_read(namespace, pod, GPU_COMMAND, container=DRIVER_CONTAINER)
        result.gpus = parse_gpus(text)
        apps = await client.exec_read(namespace, pod, APPS_COMMAND, container=DRIVER_CONTAINER)
        result.apps = parse_compute_apps(apps)
    except (CollectorError, NvidiaSmiFormatError) as exc:
        result.error = str(exc)
    return result


async def read_fleet_gpus(client: KubeClient) -> list[NodeGpus]:
    """Every GPU node's nvidia-smi readings (empty when no driver daemonset runs)."""
    pods = await driver_pods(client)
    return list(await asyncio.gather(*(read_node(client, ns, pod, node) for ns, pod, node in pods)))
