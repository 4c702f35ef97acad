"""The GPU, PTP and dataplane tools read only the clusters asked, each within CLUSTER_READ_S:
one Prometheus that never answered held the fleet's read, and each of these tools answered
"did not finish within 30 s" even for a healthy cluster asked. Read a cluster at a time, a fleet
hub's copies of a member are counted once. And a GPU split into MIG instances is one GPU in
every count (get_gpu_summary said 24 GPUs and 25 H100s)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aiops_desktop.models.cluster import Cluster, Endpoint
from aiops_desktop.models.cnf import DpdkPortRow, SriovObjects, VfRow
from aiops_desktop.models.enums import EndpointKind
from aiops_desktop.models.errors import NotFoundError
from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuReading, GpuState
from aiops_desktop.models.metrics import ClusterOutcome
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, ClockState, PtpBoard, PtpRow
from aiops_desktop.models.time_range import TimeRange
from aiops_desktop.services.assistant import tools
from aiops_desktop.services.assistant.toolbox import ToolBox
from aiops_desktop.services.gpu_cnf import readers
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.settings import resources_dir

SAMPLE = resources_dir() / "samples" / "sample.aiops"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
WEDGED = "dark"  # its Prometheus accepts and never answers


def _gpu(cluster: str, node: str, gpu: str, *, mig: str | None = None, busy: bool = False,
         state: GpuState = GpuState.OK) -> GpuHealth:  # fmt: skip
    reading = GpuReading(cluster, node, gpu, f"GPU-{cluster}-{node}-{gpu}", model="NVIDIA H100",
                         mig_id=mig, util_pct=95.0 if busy else 10.0)  # fmt: skip
    return GpuHealth(reading, state, [], busy)


class _Readers:
    """The GPU/CNF readers over clusters of which ``dark`` never answers: each read of a
    cluster list answers its clusters' rows (``rows``) and notes which lists it was asked."""

    def __init__(self, gpus: dict[str, list[GpuHealth]], hubs: Collection[str] = ()) -> None:
        self.gpus = gpus
        self.hubs = set(hubs)
        self.asked: list[list[str]] = []

    def _clusters(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(name=n) for n in self.gpus]

    with_gpus = with_metrics = _clusters

    async def _read(self, names: Collection[str] | None) -> list[str]:
        asked = list(names if names is not None else self.gpus)
        self.asked.append(asked)
        if WEDGED in asked:
            await asyncio.Event().wait()
        return asked

    async def gpu_fleet(self, names: Collection[str] | None = None) -> GpuFleet:
        asked = await self._read(names)
        return GpuFleet([h for n in asked for h in self.gpus[n]], [])

    async def ptp_profiles(self) -> tuple[dict[Any, Any], list[str]]:
        return {}, []

    async def ptp_board(self, shown: TimeRange, names: Collection[str] | None = None, *,
                        thresholds: Any = None) -> tuple[PtpBoard, list[str]]:  # fmt: skip
        asked = await self._read(names)
        rows = [PtpRow(n, "du-1", "ens1f0", "ptp4l", ClockState.LOCKED) for n in asked]
        return PtpBoard(rows, shown.window, DEFAULT_THRESHOLD, []), []

    async def dataplane(
        self, names: Collection[str] | None = None
    ) -> tuple[list[VfRow], list[DpdkPortRow], list[ClusterOutcome]]:
        asked = await self._read(names)
        vfs = [VfRow(n, "worker-0", "ens1f0", "0", "0000:3b:00.2", pod="ran/du-0") for n in asked]
        ports = [DpdkPortRow(n, "worker-0", "0", pod="ran/du-0", rx_missed_ps=1.0) for n in asked]
        return vfs, ports, []

    async def sriov_objects(self) -> SriovObjects:
        return SriovObjects()


def _core(gpu_cnf: _Readers, members: dict[str, list[str]] | None = None) -> Any:
    """A live site's Core as the tools see it: its registry, and its GPU/CNF readers."""
    members = members or {}

    def targets(names: list[str]) -> tuple[list[SimpleNamespace], frozenset[str] | None]:
        (name,) = names
        if name in gpu_cnf.gpus:
            return [SimpleNamespace(name=name)], None
        hubs = [SimpleNamespace(name=h) for h, named in members.items() if name in named]
        if not hubs:
            raise NotFoundError(f"no cluster {name}")
        return hubs, frozenset({name})

    def member_list(cluster: Any, _stored: Any = None) -> list[str]:
        return members.get(cluster.name, [])

    registry = SimpleNamespace(targets=targets, members=member_list,
                               hubs=set(members), clusters=gpu_cnf._clusters)  # fmt: skip
    return SimpleNamespace(
        gpu_cnf=gpu_cnf, registry=registry, capture=None,
        series=SimpleNamespace(cluster_names=list),
        poller=SimpleNamespace(status={("east", "metrics"): object()}),
    )  # fmt: skip


def _fleet() -> _Readers:
    gpus = _Readers({"east": [_gpu("east", "n1", "0"), _gpu("east", "n1", "1")],
                     WEDGED: [_gpu(WEDGED, "n9", "0")]})  # fmt: skip
    gpus.gpus["east"][0].reading.pods = ["ml/train-0 (main)"]
    return gpus


async def _answer(core: Any, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    out = await ToolBox(core, tools.all_tools()).call(name, json.dumps(arguments))
    assert not out.is_error, out.content
    result: dict[str, Any] = json.loads(out.content)["result"]
    return result


SCOPED = ["get_gpu_summary", "get_gpu_nodes", "get_gpu_processes", "get_ptp_status",
          "get_dpdk_stats", "get_sriov_status", "get_cnf_workloads"]  # fmt: skip


# -- 1: only the clusters asked are read, each within CLUSTER_READ_S ---------------------------
@pytest.mark.asyncio
@pytest.mark.parametrize("name", SCOPED)
async def test_a_tool_asked_of_a_healthy_cluster_reads_only_it(name: str) -> None:
    gpu_cnf = _fleet()
    doc = await asyncio.wait_for(_answer(_core(gpu_cnf), name, {"cluster": "east"}), 5)
    assert gpu_cnf.asked and all(asked == ["east"] for asked in gpu_cnf.asked), gpu_cnf.asked
    assert not doc["unread"], doc


@pytest.mark.asyncio
@pytest.mark.parametrize("name", SCOPED)
async def test_a_cluster_that_never_answers_is_said_unread_beside_the_others(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tools, "CLUSTER_READ_S", 0.2)
    doc = await asyncio.wait_for(_answer(_core(_fleet()), name, {}), 5)
    assert doc["unread"] == [f"{WEDGED}: not answered within 0.2 s"], doc
    shown = json.dumps(doc)
    assert f'"{WEDGED}/' not in shown and f'"cluster": "{WEDGED}"' not in shown
    assert "east" in shown or doc["gpus"] == 2, doc  # get_gpu_summary names no cluster


@pytest.mark.asyncio
async def test_a_hubs_copy_of_a_member_read_on_its_own_is_not_counted_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Thanos hub answers its members' series: one read over them all kept the hub's copy
    only of a member whose own read failed (``read_once``); read a cluster at a time, the same."""
    monkeypatch.setattr(tools, "CLUSTER_READ_S", 0.2)
    hub_rows = [_gpu("thanos", "n1", "0"), _gpu("west", "n1", "0"), _gpu("west", "n1", "1"),
                _gpu(WEDGED, "n9", "0")]  # fmt: skip
    gpu_cnf = _Readers({"east": [_gpu("east", "n1", "0")], WEDGED: [], "thanos": hub_rows})
    core = _core(gpu_cnf, {"thanos": ["east", "west", WEDGED]})
    doc = await _answer(core, "get_gpu_summary", {})
    # east: its own read; west: only the hub has it; dark: its own read was late, the hub's copy
    assert doc["gpus"] == 5 and doc["clusters"] == 4, doc
    assert doc["unread"] == [f"{WEDGED}: not answered within 0.2 s"]
    west = await _answer(core, "get_gpu_nodes", {"cluster": "west"})  # a member: its hub read
    assert gpu_cnf.asked[-1] == ["thanos"]
    assert [(n["cluster"], n["gpus"]) for n in west["nodes"]] == [("west", 2)]


@pytest.mark.asyncio
async def test_the_readers_read_only_the_clusters_named(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[list[str]] = []

    async def fake_read(_queries: Any, clusters: list[Any], *_: Any, **__: Any) -> Any:
        read.append([c.name for c in clusters])
        return GpuFleet([], [])

    async def fake_dataplane(_queries: Any, clusters: list[Any]) -> Any:
        read.append([c.name for c in clusters])
        return [], [], []

    async def fake_board(_queries: Any, clusters: list[Any], **kwargs: Any) -> PtpBoard:
        read.append([c.name for c in clusters])
        assert kwargs["thresholds"] == {("east", "du-1"): DEFAULT_THRESHOLD}
        return PtpBoard([], timedelta(hours=1), DEFAULT_THRESHOLD, [])

    async def no_profiles(**_: Any) -> Any:
        raise AssertionError("the profiles were given")

    monkeypatch.setattr(readers, "read_gpus", fake_read)
    monkeypatch.setattr(readers, "read_dataplane", fake_dataplane)
    monkeypatch.setattr(readers, "read_ptp_board", fake_board)
    registry = SimpleNamespace(clusters=lambda: [_registered("east"), _registered("west")])
    kube = SimpleNamespace(ptp_thresholds=no_profiles)
    gpu_cnf = readers.GpuCnfReaders(registry, None, kube, None, clock=lambda: NOW)  # type: ignore[arg-type]
    await gpu_cnf.gpu_fleet(["west"])
    await gpu_cnf.dataplane(["east"])
    _, unread = await gpu_cnf.ptp_board(
        TimeRange(3600), ["west"], thresholds={("east", "du-1"): DEFAULT_THRESHOLD}
    )
    await gpu_cnf.gpu_fleet()
    assert read == [["west"], ["east"], ["west"], ["east", "west"]]
    assert unread == []


def _registered(name: str) -> Cluster:
    url = f"https://prometheus.{name}.example:9091"
    return Cluster(name=name, endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS, url=url)])


# -- 2: a GPU split into MIG instances is one GPU in every count -------------------------------
def _mig_core() -> Any:
    gpus = [_gpu("east", "n1", "0", mig="1", busy=True, state=GpuState.WARNING),
            _gpu("east", "n1", "0", mig="2", busy=True), _gpu("east", "n1", "1")]  # fmt: skip
    gpus[0].reading.pods = ["ml/train-0 (main)"]
    gpus[1].reading.pods = ["ml/train-1 (main)"]
    return _core(_Readers({"east": gpus}))


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
