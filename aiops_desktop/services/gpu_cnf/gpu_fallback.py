"""GPUs read by ``nvidia-smi`` in the NVIDIA driver daemonset's pods, for clusters whose
Prometheus has no DCGM exporter series (docs/architecture.md#rules). One exec per GPU node, in
parallel; a node that cannot answer is reported with its reason, the others still count."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiops_desktop.models.gpu import GpuReading as Reading
from aiops_desktop.models.metrics import ClusterOutcome
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
    except (CollectorError, NvidiaSmiFormatError, ValueError, OverflowError) as exc:
        # one node's output (crafted, or a driver that prints something new) is that node's
        # error: every other node's readings still count
        result.error = str(exc) or type(exc).__name__
    return result


async def read_fleet_gpus(client: KubeClient) -> list[NodeGpus]:
    """Every GPU node's nvidia-smi readings (empty when no driver daemonset runs)."""
    pods = await driver_pods(client)
    return list(await asyncio.gather(*(read_node(client, ns, pod, node) for ns, pod, node in pods)))


def node_readings(
    cluster: str, nodes: list[NodeGpus]
) -> tuple[list[Reading], list[ClusterOutcome]]:
    """The nodes' nvidia-smi readings as the GPU page's readings of ``cluster`` (judged by the
    same rules as DCGM's; nvidia-smi has no XID or ECC counters: a GPU it cannot give a
    temperature for reads UNKNOWN), and a failure per node that could not answer."""
    readings = [
        Reading(
            cluster=cluster, node=n.node, gpu=str(g.index), uuid=g.uuid, model=g.name,
            driver=g.driver, util_pct=g.util_gpu_pct, mem_used_mib=g.memory_used_mib,
            mem_free_mib=g.memory_free_mib, mem_total_mib=g.memory_total_mib,
            temperature_c=g.temperature_c, power_w=g.power_draw_w,
        )
        for n in nodes
        for g in n.gpus
    ]  # fmt: skip
    failed = [
        ClusterOutcome(
            cluster, False, 0.0, reason="nvidia_smi", error=f"nvidia-smi on {n.node}: {n.error}"
        )
        for n in nodes
        if n.error
    ]
    return readings, failed
