"""The nvidia-smi fallback's own defects: a node whose driver pod is not running is named,
never silently absent; crafted or runaway output is bounded; the processes
``--query-compute-apps`` lists are shown on their GPU."""

from __future__ import annotations

import time
from typing import Any

import pytest

from aiops_desktop.models.gpu import MAX_GPU_INDEX, PODS_SHOWN
from aiops_desktop.services.gpu_cnf.gpu_fallback import (
    NodeGpus,
    node_readings,
    not_running,
    read_fleet_gpus,
)
from collectors.errors import KubeNotFound
from collectors.nvidia_smi import (
    MAX_APPS_PER_NODE,
    MAX_GPUS_PER_NODE,
    MAX_TEXT_CHARS,
    NvidiaSmiFormatError,
    parse_compute_apps,
    parse_gpus,
)

ROW = ("{i}, GPU-{i:08d}-aaaa-bbbb-cccc-dddddddddddd, {name}, 550.54.15, 81920, 10, 81910, 0, 0, "
       "33, 61.2, 400.00, [N/A]\n")  # fmt: skip


def rows(count: int, name: str = "NVIDIA A100-SXM4-80GB") -> str:
    return "".join(ROW.format(i=i, name=name) for i in range(count))


# -- a driver pod not running -----------------------------------------------------------------
def pod(name: str, node: str, phase: str | None = "Running", **status: Any) -> dict[str, Any]:
    state = dict(status) | ({"phase": phase} if phase else {})
    return {"metadata": {"name": name}, "spec": {"nodeName": node}, "status": state}


def waiting(reason: str) -> list[dict[str, Any]]:
    return [{"name": "k8s-driver-manager", "state": {"waiting": {"reason": reason}}}]


class Client:
    def __init__(self, pods: list[dict[str, Any]], namespace: str = "nvidia-gpu-operator") -> None:
        self.pods, self.namespace = pods, namespace
        self.execd: list[str] = []

    async def list(self, path: str, label_selector: str | None = None) -> Any:
        if f"/{self.namespace}/" not in path:
            raise KubeNotFound("not found")
        return self.pods, None

    async def exec_read(self, ns: str, pod: str, cmd: list[str], container: str = "") -> str:
        self.execd.append(pod)
        return rows(1) if "--query-gpu" in cmd[1] else ""


@pytest.mark.asyncio
async def test_a_node_whose_driver_pod_is_not_running_is_a_failure() -> None:
    client = Client([
        pod("drv-a", "gpu-node-1"),
        pod("drv-b", "gpu-node-2", "Pending", initContainerStatuses=waiting("CrashLoopBackOff")),
    ])  # fmt: skip
    nodes = await read_fleet_gpus(client)  # type: ignore[arg-type]
    readings, failed = node_readings("ran-east", nodes)
    assert client.execd == ["drv-a"] * 3  # nothing is exec'd into a pod not running
    assert [r.key for r in readings] == ["ran-east/gpu-node-1/gpu0"]
    assert [o.error for o in failed] == [
        "nvidia-smi on gpu-node-2: driver pod Pending: CrashLoopBackOff"
    ]


@pytest.mark.asyncio
async def test_every_driver_pod_down_is_no_silent_no_gpu() -> None:
    """A driver that fails to build on every node (exactly when it matters): each is named."""
    client = Client([
        pod("drv-a", "gpu-node-1", "Pending", initContainerStatuses=waiting("CrashLoopBackOff")),
        pod("drv-b", "gpu-node-2", "Failed", reason="Evicted"),
    ], namespace="gpu-operator")  # fmt: skip
    readings, failed = node_readings("ran-east", await read_fleet_gpus(client))  # type: ignore[arg-type]
    assert readings == [] and client.execd == []
    assert [o.error for o in failed] == [
        "nvidia-smi on gpu-node-1: driver pod Pending: CrashLoopBackOff",
        "nvidia-smi on gpu-node-2: driver pod Failed: Evicted",
    ]
    assert all(not o.ok and o.cluster == "ran-east" for o in failed)


@pytest.mark.asyncio
async def test_a_running_driver_pod_speaks_for_its_node() -> None:
    """An evicted pod beside its running replacement is no failure; a node is read once."""
    client = Client([
        pod("drv-old", "gpu-node-1", "Failed", reason="Evicted"),
        pod("drv-new", "gpu-node-1"),
        pod("drv-twin", "gpu-node-1"),
        pod("drv-x", "gpu-node-2", None),  # no phase yet: the exec says
    ])  # fmt: skip
    nodes = await read_fleet_gpus(client)  # type: ignore[arg-type]
    assert [(n.node, n.pod, n.error) for n in nodes] == [
        ("gpu-node-1", "nvidia-gpu-operator/drv-new", None),
        ("gpu-node-2", "nvidia-gpu-operator/drv-x", None),
    ]


@pytest.mark.parametrize(
    ("status", "said"),
    [
        ({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                              "reason": "Unschedulable"}]},
         "driver pod Pending: Unschedulable"),
        ({"phase": "Pending", "containerStatuses": [
            {"state": {"waiting": {"reason": "ImagePullBackOff"}}}]},
         "driver pod Pending: ImagePullBackOff"),
        ({"phase": "Failed", "containerStatuses": [
            {"state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]},
         "driver pod Failed: OOMKilled"),
        ({"phase": "Unknown"}, "driver pod Unknown"),
        ({"phase": "Pending", "initContainerStatuses": "garbage", "reason": 7},
         "driver pod Pending"),
        ({"phase": "Pending", "reason": "x" * 10_000}, "driver pod Pending: " + "x" * 80),
        ({"phase": "Running"}, None),
        ({}, None),
    ],
)  # fmt: skip
def test_why_a_driver_pod_is_not_running(status: dict[str, Any], said: str | None) -> None:
    assert not_running({"status": status}) == said


@pytest.mark.asyncio
async def test_an_unscheduled_driver_pod_is_named_by_itself() -> None:
    unscheduled = {"metadata": {"name": "drv-z"}, "spec": {},
                   "status": {"phase": "Pending", "reason": "Unschedulable"}}  # fmt: skip
    (node,) = await read_fleet_gpus(Client([unscheduled]))  # type: ignore[arg-type]
    assert (node.node, node.error) == ("pod drv-z", "driver pod Pending: Unschedulable")


# -- bounded output ---------------------------------------------------------------------------
def test_more_gpus_than_a_node_holds_is_a_format_error() -> None:
    assert MAX_GPUS_PER_NODE == MAX_GPU_INDEX
    assert len(parse_gpus(rows(MAX_GPUS_PER_NODE))) == MAX_GPUS_PER_NODE
    with pytest.raises(NvidiaSmiFormatError, match=f"more than {MAX_GPUS_PER_NODE} rows"):
        parse_gpus(rows(MAX_GPUS_PER_NODE + 1))
    with pytest.raises(NvidiaSmiFormatError, match="index: 64 is past"):
        parse_gpus(ROW.format(i=MAX_GPU_INDEX, name="A100"))


def test_runaway_output_is_refused_without_reading_it_all() -> None:
    text = rows(200_000, name="A100")  # 200,000 GPUs on one node: ~20 MB
    started = time.perf_counter()
    with pytest.raises(NvidiaSmiFormatError):
        parse_gpus(text)
    assert time.perf_counter() - started < 0.5  # read to the limit only (the whole: seconds)
    apps = "".join(f"GPU-a, {pid}, python, 10\n" for pid in range(MAX_APPS_PER_NODE + 1))
    with pytest.raises(NvidiaSmiFormatError, match="more than"):
        parse_compute_apps(apps)
    assert len(parse_compute_apps(apps.split("\n", 1)[1])) == MAX_APPS_PER_NODE


def test_names_and_uuids_are_cut() -> None:
    crafted = ROW.format(i=0, name="N" * 100_000).replace("GPU-00000000", "GPU-" + "u" * 500)
    (gpu,) = parse_gpus(crafted)
    assert len(gpu.name) == MAX_TEXT_CHARS == 128 and len(gpu.uuid) == MAX_TEXT_CHARS
    (app,) = parse_compute_apps(f"{'G' * 300}, 1, {'/p' * 300}, 10\n")
    assert len(app.gpu_uuid) == MAX_TEXT_CHARS and len(app.process) == MAX_TEXT_CHARS


@pytest.mark.asyncio
async def test_a_crafted_node_loses_only_that_node() -> None:
    class Crafted(Client):
        async def exec_read(self, ns: str, pod: str, cmd: list[str], container: str = "") -> str:
            if pod == "drv-b" and "--query-gpu" in cmd[1]:
                return rows(MAX_GPUS_PER_NODE + 1)
            return await super().exec_read(ns, pod, cmd, container)

    nodes = await read_fleet_gpus(Crafted([pod("drv-a", "n-1"), pod("drv-b", "n-2")]))  # type: ignore[arg-type]
    readings, failed = node_readings("c", nodes)
    assert [r.node for r in readings] == ["n-1"]
    assert [o.error for o in failed] == [
        f"nvidia-smi on n-2: --query-gpu lists more than {MAX_GPUS_PER_NODE} rows for one node"
    ]


# -- processes on their GPU -------------------------------------------------------------------
def test_processes_are_shown_on_their_gpu() -> None:
    gpus = parse_gpus(rows(2))
    first, second = (g.uuid for g in gpus)
    apps = parse_compute_apps(
        f"{first}, 48211, /usr/bin/python3, 71000\n"
        f"{first}, 48212, [N/A], [N/A]\n"
        f"{second}, 7, <b>trainer</b>, 1024\n"
        f"{second}, [N/A], [N/A], 5\n"  # a process nvidia-smi cannot name: not shown
        "GPU-elsewhere, 9, ghost, 1\n"  # no GPU of this node: on none
    )  # fmt: skip
    readings, failed = node_readings("ran-east", [NodeGpus("n-1", "ns/drv", gpus, apps)])
    assert failed == []
    assert [r.pods for r in readings] == [
        ["pid 48211 /usr/bin/python3 (71000 MiB)", "pid 48212"],
        ["pid 7 <b>trainer</b> (1024 MiB)"],  # plain text: the views show it as such
    ]


def test_a_gpu_with_many_processes_shows_the_first_and_counts_the_rest() -> None:
    gpus = parse_gpus(rows(1))
    apps = parse_compute_apps("".join(f"{gpus[0].uuid}, {pid}, p, 1\n" for pid in range(100)))
    (reading,), _ = node_readings("c", [NodeGpus("n-1", "ns/drv", gpus, apps)])
    assert len(reading.pods) == PODS_SHOWN + 1
    assert reading.pods[-1] == f"and {100 - PODS_SHOWN} more processes"
