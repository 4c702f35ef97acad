"""A GPU split into MIG instances is one GPU in every count of the assistant's GPU tools
(get_gpu_summary said 24 GPUs and 25 H100s: its models and busy GPUs were counted per MIG
instance, as get_gpu_processes' GPUs and get_gpu_nodes' states were)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuReading, GpuState
from aiops_desktop.services.assistant import tools
from aiops_desktop.services.assistant.toolbox import ToolBox
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.settings import resources_dir

SAMPLE = resources_dir() / "samples" / "sample.aiops"


def _gpu(node: str, gpu: str, *, mig: str | None = None, busy: bool = False,
         state: GpuState = GpuState.OK) -> GpuHealth:  # fmt: skip
    reading = GpuReading("east", node, gpu, f"GPU-east-{node}-{gpu}", model="NVIDIA H100",
                         mig_id=mig, util_pct=95.0 if busy else 10.0)  # fmt: skip
    return GpuHealth(reading, state, [], busy)


def _mig_core() -> Any:
    """east: GPU 0 split into two MIG instances (both busy, one WARNING), GPU 1 whole."""
    gpus = [_gpu("n1", "0", mig="1", busy=True, state=GpuState.WARNING),
            _gpu("n1", "0", mig="2", busy=True), _gpu("n1", "1")]  # fmt: skip
    gpus[0].reading.pods = ["ml/train-0 (main)"]
    gpus[1].reading.pods = ["ml/train-1 (main)"]

    async def gpu_fleet() -> GpuFleet:
        return GpuFleet(gpus, [])

    def targets(names: list[str]) -> tuple[list[SimpleNamespace], None]:
        return [SimpleNamespace(name=n) for n in names], None

    registry = SimpleNamespace(targets=targets, members=lambda *_: [], hubs=set(),
                               clusters=lambda: [SimpleNamespace(name="east")])  # fmt: skip
    return SimpleNamespace(gpu_cnf=SimpleNamespace(gpu_fleet=gpu_fleet), registry=registry,
                           capture=None, series=SimpleNamespace(cluster_names=list),
                           poller=SimpleNamespace(status={}))  # fmt: skip


async def _answer(core: Any, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    out = await ToolBox(core, tools.all_tools()).call(name, json.dumps(arguments))
    assert not out.is_error, out.content
    result: dict[str, Any] = json.loads(out.content)["result"]
    return result


@pytest.mark.asyncio
async def test_the_gpu_summary_counts_models_and_busy_gpus_per_physical_gpu() -> None:
    doc = await _answer(_mig_core(), "get_gpu_summary", {})
    assert doc["gpus"] == 2
    assert doc["models"] == {"NVIDIA H100": 2}
    assert doc["high_utilisation"] == 1


@pytest.mark.asyncio
async def test_the_gpu_processes_count_physical_gpus() -> None:
    doc = await _answer(_mig_core(), "get_gpu_processes", {})
    assert len(doc["gpus_with_pods"]) == 2  # each MIG instance's pods, apart
    assert doc["gpus"] == 2 and doc["idle_gpus"] == 1, doc


@pytest.mark.asyncio
async def test_the_gpu_nodes_count_states_per_physical_gpu() -> None:
    (node,) = (await _answer(_mig_core(), "get_gpu_nodes", {}))["nodes"]
    assert node["gpus"] == 2 and node["mig_instances"] == 2
    assert node["by_state"] == {"WARNING": 1, "OK": 1}, node
    assert node["avg_util_pct"] == 52.5  # GPU 0 (95 %, in two instances) and GPU 1 (10 %)


@pytest.mark.asyncio
async def test_the_sample_captures_models_add_up_to_its_gpus(tmp_path: Path) -> None:
    core = await asyncio.to_thread(open_capture, SAMPLE, reports_dir=tmp_path / "reports")
    try:
        await core.registry.load()
        doc = await _answer(core, "get_gpu_summary", {"cluster": "ai-lab"})
        assert sum(doc["models"].values()) == doc["gpus"], doc
        assert doc["high_utilisation"] <= doc["gpus"]
    finally:
        await core.shutdown()
