"""A review of the hardware fixes: a registered cluster whose GPU series come through a hub
keeps its history charts (777e829 asked only the cluster itself); nvidia-smi's processes
count when the apps command exits 14 too, and a node whose rows were read is a note, not a
failed read the fleet keeps an old CRITICAL for (fb7a26d); a capture's export records the
PtpConfigs and nodes of a slow cluster (681f67c bounded it at the board's 10 s)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import Cluster, ClusterKind
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.enums import EndpointKind, QueryStatus
from aiops_desktop.models.fleet import Domain
from aiops_desktop.models.gpu import GpuReading
from aiops_desktop.models.metrics import ClusterOutcome, PromSeries, QueryAnswer, TaggedSeries
from aiops_desktop.services.fleet.findings import gpu_findings, kept_stale, note_unread
from aiops_desktop.services.gpu_cnf.gpu_fallback import read_gpus, read_node
from aiops_desktop.services.gpu_cnf.readers import GpuCnfReaders
from aiops_desktop.services.kube import session as session_module
from aiops_desktop.services.kube.session import NODES, PTPCONFIGS, KubeSession
from aiops_desktop.services.outputs.recorded import record_objects
from collectors.errors import ExecExited
from collectors.nvidia_smi import APPS_COMMAND, GPU_COMMAND, PIDS_COMMAND

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


# -- 1. a registered cluster's GPU history through its hub ---------------------------------------
def _prom(name: str) -> list[Endpoint]:
    return [Endpoint(kind=EndpointKind.PROMETHEUS, url=f"https://prom.{name}.example")]


class _Registry:
    """As ClusterRegistry: hubs_of() is [] for a registered name."""

    def __init__(self, clusters: list[Cluster]) -> None:
        self._clusters = clusters

    def clusters(self) -> list[Cluster]:
        return list(self._clusters)

    def hubs_of(self, name: str) -> list[Cluster]:
        if any(c.name == name for c in self._clusters):
            return []
        return [c for c in self._clusters
                if c.kind is ClusterKind.FLEET and name in c.status.members]  # fmt: skip


class _HubQueries:
    """ran-hub holds ran-east's DCGM series; every other cluster's Prometheus is down."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    async def run(self, query: Any, clusters: list[Cluster]) -> QueryAnswer:
        self.asked.append(sorted(c.name for c in clusters))
        series, outcomes = [], []
        for c in clusters:
            if c.name == "ran-hub":
                outcomes.append(ClusterOutcome("ran-hub", True, 1.0))
                series.append(TaggedSeries("ran-east", PromSeries(
                    {"UUID": "GPU-1"}, np.array([NOW.timestamp()]), np.array([71.0]))))  # fmt: skip
            else:
                outcomes.append(ClusterOutcome(c.name, False, 1.0, reason="unreachable",
                                               error=f"{c.name}: connection refused"))  # fmt: skip
        return QueryAnswer(query, QueryStatus.PARTIAL, series, outcomes, 1.0)


@pytest.mark.parametrize("own_prometheus", [False, True], ids=["none", "down"])
@pytest.mark.asyncio
async def test_a_registered_clusters_gpu_history_comes_through_its_hub(
    own_prometheus: bool,
) -> None:
    hub = Cluster(name="ran-hub", kind=ClusterKind.FLEET, endpoints=_prom("ran-hub"))
    hub.status.members = ["ran-east"]
    other = Cluster(name="lab-hub", kind=ClusterKind.FLEET, endpoints=_prom("lab-hub"))
    other.status.members = ["lab-1"]
    east = Cluster(name="ran-east", api_server_url="https://api.ran-east.example:6443",
                   endpoints=_prom("ran-east") if own_prometheus else [])  # fmt: skip
    lab = Cluster(name="lab-1", endpoints=_prom("lab-1"))
    queries = _HubQueries()
    readers = GpuCnfReaders(_Registry([hub, other, east, lab]), queries,  # type: ignore[arg-type]
                            None, None, clock=lambda: NOW)  # type: ignore[arg-type]  # fmt: skip
    history = await readers.gpu_history(GpuReading("ran-east", "gpu-0", "0", "GPU-1"))
    # its own first (down here), then its hub; never lab-hub
    mine = {("ran-east",), ("ran-hub",)} if own_prometheus else {("ran-hub",)}
    assert queries.asked and {tuple(asked) for asked in queries.asked} == mine
    assert history.series.get("util_pct") is not None


# -- 2. nvidia-smi exiting 14 on both commands ---------------------------------------------------
GPUS = ("0, GPU-00000000-aaaa, NVIDIA H100, 550.54.15, 81920, 71000, 10920, 97, 60, {t}, 612.2, "
        "700.00, [N/A]\n"
        "1, GPU-00000001-aaaa, NVIDIA H100, 550.54.15, 81920, 10, 81910, 0, 0, 33, 61.2, 700.00, "
        "[N/A]\n")  # fmt: skip
APPS = "GPU-00000000-aaaa, 48211, /usr/bin/python3, 71000\n"


class _Exec:
    """The driver pod: ``exits``: which commands exit 14 (infoROM) after printing their rows."""

    def __init__(self, temperature: int, exits: set[str], apps: str = APPS) -> None:
        self.gpus, self.apps, self.exits = GPUS.format(t=temperature), apps, exits

    async def exec_read(self, ns: str, pod: str, command: Any, *, container: Any = None) -> str:
        what = "gpu" if command == GPU_COMMAND else "apps"
        assert command in (GPU_COMMAND, APPS_COMMAND, PIDS_COMMAND)
        out = self.gpus if what == "gpu" else self.apps
        if what in self.exits:
            raise ExecExited(f"c: nvidia-smi ({what}) in {ns}/{pod} exited 14: infoROM corrupted",
                             backend="c", code=14, output=out)  # fmt: skip
        return out


@pytest.mark.parametrize("exits", [{"gpu", "apps"}, {"apps"}])
@pytest.mark.asyncio
async def test_the_apps_commands_rows_count_when_it_exits_14(exits: set[str]) -> None:
    node = await read_node(_Exec(88, exits), "gpu-operator", "drv-1", "gpu-node-7")  # type: ignore[arg-type]
    assert [g.temperature_c for g in node.gpus] == [88.0, 33.0]
    assert [(a.gpu_uuid, a.pid) for a in node.apps] == [("GPU-00000000-aaaa", 48211)]
    assert node.error is None
    first = "(gpu)" if "gpu" in exits else "(apps)"  # the first command's exit is said
    assert node.note is not None and first in node.note and "exited 14" in node.note


@pytest.mark.asyncio
async def test_an_apps_exit_with_no_rows_is_no_process_not_a_failure() -> None:
    node = await read_node(_Exec(40, {"apps"}, apps=""), "gpu-operator", "drv-1", "gpu-node-7")  # type: ignore[arg-type]
    assert len(node.gpus) == 2 and node.apps == [] and node.error is None
    assert node.note is not None


class _NoDcgm:
    async def run(self, query: Any, clusters: list[Cluster]) -> QueryAnswer:
        return QueryAnswer(query, QueryStatus.SUCCESS, [],
                           [ClusterOutcome(c.name, True, 1.0) for c in clusters], 1.0)  # fmt: skip


class _Kube:
    def __init__(self, client: _Exec) -> None:
        self.client = client

    async def gpus_by_exec(self, name: str) -> list[Any]:
        return [await read_node(self.client, "gpu-operator", "drv-1", "gpu-node-7")]  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_node_read_whole_with_exit_14_is_a_note_and_its_fresh_ok_counts() -> None:
    prod = Cluster(name="prod-a", api_server_url="https://a:6443", endpoints=_prom("prod-a"))

    async def fleet_read(client: _Exec) -> Any:
        return await read_gpus(_NoDcgm(), [prod], _Kube(client))  # type: ignore[arg-type]

    def findings(before: list[Any], fleet: Any) -> list[Any]:  # FleetState._keep_unread
        unread: dict[str, Any] = {}
        note_unread(unread, Domain.GPU, fleet.outcomes)
        now = gpu_findings(fleet).get("prod-a", [])
        return kept_stale(before, now, set(unread.get("prod-a", {})))

    hot = findings([], await fleet_read(_Exec(88, set())))
    assert [f.severity.value for f in hot] == ["CRITICAL"]
    cooled = await fleet_read(_Exec(40, {"gpu", "apps"}))
    assert not [o for o in cooled.outcomes if not o.ok]  # read whole: not a failed read
    assert len(cooled.notes) == 1 and cooled.notes[0].startswith("prod-a: nvidia-smi on gpu-node-7")
    assert "exited 14" in cooled.notes[0]
    assert findings(hot, cooled) == []  # the old CRITICAL is not kept as "last known"


# -- 3. a capture records a slow cluster's PtpConfigs and nodes ----------------------------------
PTP = {"metadata": {"name": "du"}, "spec": {
    "profile": [{"name": "du-oc", "ptpClockThreshold": {"maxOffsetThreshold": 50}}],
    "recommend": [{"profile": "du-oc", "priority": 4,
                   "match": [{"nodeLabel": "node-role.kubernetes.io/du"}]}]}}  # fmt: skip
NODE = {"metadata": {"name": "du-1", "labels": {"node-role.kubernetes.io/du": ""}}}


class _SlowNodes:
    async def list(self, path: str, label_selector: Any = None, field_selector: Any = None) -> Any:
        if path == NODES:
            await asyncio.sleep(0.3)  # past the board's bound (made 0.1 s here)
            return [NODE], None
        return ([PTP] if path == PTPCONFIGS else []), None


class _Pool:
    offline = None

    async def kube(self, cluster: Cluster) -> _SlowNodes:
        return _SlowNodes()


class _OneCluster:
    def __init__(self) -> None:
        self.east = Cluster(name="ran-east", api_server_url="https://api.ran-east.example:6443")

    def clusters(self) -> list[Cluster]:
        return [self.east]

    def get(self, name: str) -> Cluster:
        return self.east


@pytest.mark.asyncio
async def test_a_capture_records_ptp_profiles_slower_than_the_boards_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "PROFILES_WITHIN_S", 0.1)
    registry = _OneCluster()
    kube = KubeSession(registry, _Pool(), None, None)  # type: ignore[arg-type]
    _, unread = await kube.ptp_thresholds()  # the board: still bounded
    assert unread and "not read within 0.1 s" in unread[0]

    into: dict[str, list[dict[str, Any]]] = {}
    await record_objects(kube, [registry.east], into)
    assert "ran-east /api/v1/nodes " in into
    opened = KubeSession(registry, _Pool(), None, None)  # type: ignore[arg-type]
    opened.recorded = into
    found, unread = await opened.ptp_thresholds()
    assert unread == [] and found[("ran-east", "du-1")].profile == "du-oc"


def test_the_gpu_command_says_the_fleets_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node read whole whose nvidia-smi exited 14 is a note (not a failed read): `gpu` says
    it on stderr and in its JSON, as the GPU page shows it."""
    import json

    from aiops_desktop.models.gpu import GpuFleet
    from aiops_desktop.services.gpu_cnf import gpu_fallback
    from aiops_desktop.settings import resources_dir
    from tests.qtfree.cli_runner import call_main

    note = "ran-east: nvidia-smi on gpu-node-7: exited 14: WARNING: infoROM is corrupted"

    async def read_gpus(*_a: object, **_kw: object) -> GpuFleet:
        return GpuFleet(gpus=[], outcomes=[], notes=[note])

    monkeypatch.setattr(gpu_fallback, "read_gpus", read_gpus)
    sample = str(resources_dir() / "samples" / "sample.aiops")
    _code, _out, err = call_main(tmp_path, "--capture", sample, "gpu")
    assert f"note: {note}" in err
    _code, out, _err = call_main(tmp_path, "--capture", sample, "gpu", "--json")
    assert json.loads(out)["notes"] == [note]
