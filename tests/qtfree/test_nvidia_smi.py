"""The nvidia-smi fallback: the CSV parser ([N/A] is unknown, never 0) and the reads by pod
exec in the driver daemonset through a real WebSocket exec (the API server's v4 protocol)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.services.core import Core
from aiops_desktop.services.gpu_cnf.gpu_fallback import read_fleet_gpus
from collectors.errors import ReadOnlyViolation
from collectors.kube_config import kubeconfig_for_token
from collectors.kubernetes import KubeClient
from collectors.nvidia_smi import GPU_COMMAND, NvidiaSmiFormatError, parse_compute_apps, parse_gpus
from tests.servers.kube_api import RunningKubeApi
from tests.servers.kube_api_server import NVIDIA_SMI_GPUS
from tests.servers.prometheus import RunningPrometheus, openmetrics, start_prometheus

A100_PCIE = (  # one line per GPU, values in the asked order, ", " between them, no units
    "0, GPU-1c2d3e4f-5a6b-7c8d-9e0f-a1b2c3d4e5f6, NVIDIA A100-PCIE-40GB, 535.104.05, 40960, "
    "3, 40337, 0, 0, 33, 35.47, 250.00, [N/A]\n"
    "1, GPU-2c2d3e4f-5a6b-7c8d-9e0f-a1b2c3d4e5f6, NVIDIA A100-PCIE-40GB, 535.104.05, 40960, "
    "[N/A], [N/A], [Not Supported], [N/A], 41, [Unknown Error], 250.00, 30\n"
)


def test_gpu_lines_parse_with_unknowns_as_none() -> None:
    first, second = parse_gpus(A100_PCIE)
    assert (first.index, first.name, first.driver) == (0, "NVIDIA A100-PCIE-40GB", "535.104.05")
    assert first.memory_total_mib == 40960 and first.memory_used_mib == 3
    assert first.util_gpu_pct == 0 and first.temperature_c == 33 and first.power_draw_w == 35.47
    assert first.fan_pct is None  # [N/A]: unknown, not 0
    assert second.memory_used_mib is None and second.util_gpu_pct is None
    assert second.power_draw_w is None and second.fan_pct == 30
    assert parse_gpus("\n") == []
    assert "--format=csv,noheader,nounits" in GPU_COMMAND


def test_wrong_output_is_named() -> None:
    with pytest.raises(NvidiaSmiFormatError, match="has 3 values, expected 13"):
        parse_gpus("0, GPU-x, NVIDIA H100\n")
    with pytest.raises(NvidiaSmiFormatError, match=r"temperature\.gpu: 'hot' is not a number"):
        parse_gpus(A100_PCIE.replace(", 33,", ", hot,"))
    apps = parse_compute_apps("GPU-a, 4242, /usr/bin/python3, 1024\nGPU-b, 7, [N/A], [N/A]\n")
    assert [(a.pid, a.used_memory_mib) for a in apps] == [(4242, 1024), (7, None)]


async def client(api: RunningKubeApi, token: str) -> KubeClient:
    config = kubeconfig_for_token(api.url, token, ca_pem=api.ca_pem)
    return await KubeClient.open(config, name="ran-east", timeout_s=10)


@pytest.mark.integration
@pytest.mark.asyncio
async def test_fleet_gpus_by_exec_in_the_driver_pods(kube_api: RunningKubeApi) -> None:
    admin = await client(kube_api, "admin-token")
    try:
        nodes = await read_fleet_gpus(admin)
        with pytest.raises(ReadOnlyViolation, match="not allowed"):
            await admin.exec_read("nvidia-gpu-operator", "x", ["sh", "-c", "reboot"])
        with pytest.raises(ReadOnlyViolation, match="not allowed"):
            await admin.exec_read("nvidia-gpu-operator", "x", ["nvidia-smi", "-r"])
    finally:
        await admin.aclose()
    assert [n.node for n in nodes] == ["gpu-0", "gpu-1"] and all(n.error is None for n in nodes)
    gpus = nodes[0].gpus
    assert gpus == parse_gpus(NVIDIA_SMI_GPUS) and len(gpus) == 4
    assert gpus[2].temperature_c == 83 and gpus[2].util_gpu_pct == 97
    assert gpus[3].power_draw_w is None and all(g.fan_pct is None for g in gpus)
    assert [a.pid for a in nodes[0].apps] == [481516, 481517]
    assert nodes[0].pod == "nvidia-gpu-operator/nvidia-driver-daemonset-416.94-7xk2p"

    viewer = await client(kube_api, "viewer-token")  # may not exec: told per node, no crash
    try:
        denied = await read_fleet_gpus(viewer)
    finally:
        await viewer.aclose()
    assert len(denied) == 2 and all("403" in (n.error or "") for n in denied)
    assert all(n.gpus == [] for n in denied)


@pytest.fixture(scope="module")
def dcgm_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPrometheus]:
    """A Prometheus holding the last hour of one GPU's DCGM utilisation."""
    step, count = 15, 240
    start = int(time.time()) // step * step - count * step
    labels = {"gpu": "0", "UUID": "GPU-5b8e2d2a", "modelName": "NVIDIA H100 80GB HBM3",
              "Hostname": "gpu-0"}  # fmt: skip
    text = openmetrics([("DCGM_FI_DEV_GPU_UTIL", labels, lambda i: 90.0)], start, count, step)
    server = start_prometheus(tmp_path_factory.mktemp("prom-dcgm"), text)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.integration
@pytest.mark.asyncio
async def test_gpu_readings_come_from_dcgm_else_nvidia_smi(
    core: Core, kube_api: RunningKubeApi, dcgm_prometheus, member_prometheus
) -> None:  # type: ignore[no-untyped-def]
    api = {"api_server_url": kube_api.url, "ca_bundle_pem": kube_api.ca_pem}
    token = ClusterSecrets(token="admin-token")
    prom = EndpointKind.PROMETHEUS
    plain = member_prometheus["east-1"].url  # node metrics, no DCGM exporter
    await core.registry.add(
        ClusterSpec(name="dcgm-1", endpoint_urls={prom: dcgm_prometheus.url}, **api), token
    )
    await core.registry.add(ClusterSpec(name="smi-1", endpoint_urls={prom: plain}, **api), token)
    await core.registry.add(ClusterSpec(name="metrics-1", endpoint_urls={prom: plain}))
    assert await core.kube.gpu_source("dcgm-1") == "dcgm"
    assert await core.kube.gpu_source("smi-1") == "nvidia-smi"
    assert await core.kube.gpu_source("metrics-1") == "none"
    nodes = await core.kube.gpus_by_exec("smi-1")
    assert sum(len(n.gpus) for n in nodes) == 8
    # the GPU page's reader: DCGM where it has series, nvidia-smi where Prometheus has none
    fleet = await core.gpu_cnf.gpu_fleet()
    by_cluster: dict[str, int] = {}
    for health in fleet.gpus:
        by_cluster[health.reading.cluster] = by_cluster.get(health.reading.cluster, 0) + 1
    assert by_cluster == {"dcgm-1": 1, "smi-1": 8}  # 2 nodes of 4 GPUs; metrics-1: no API
    hot = next(h for h in fleet.gpus if h.reading.cluster == "smi-1")
    assert hot.reading.model == "NVIDIA H100 80GB HBM3" and hot.reading.temperature_c == 83
    assert fleet.outcomes == []
