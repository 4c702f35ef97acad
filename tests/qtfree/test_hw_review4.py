"""A review of the hardware fixes: nvidia-smi's exit 15 (a GPU fell off the bus) is the node's
failure again, with the rows it printed kept (ed3e81b made every exit that printed rows a
note: the lost GPU vanished with no finding and no unread domain); a failed XID-window query
is an unknown window, not "no XIDs" (a GPU CRITICAL from an XID 79 in the window read OK and
fresh on the page); a GPU's history asks the hubs listing its cluster only where its own
Prometheus is absent or failed (ed3e81b asked them always: the charts waited on a hub not
needed, and its failure was said under them)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import Cluster, ClusterKind
from aiops_desktop.models.enums import QueryStatus
from aiops_desktop.models.fleet import Domain
from aiops_desktop.models.gpu import GpuReading, GpuState
from aiops_desktop.models.metrics import ClusterOutcome, PromSeries, QueryAnswer, TaggedSeries
from aiops_desktop.services.fleet.findings import note_unread
from aiops_desktop.services.gpu_cnf.gpu import gpu_queries, read_gpu_fleet
from aiops_desktop.services.gpu_cnf.gpu_fallback import by_exec, read_gpus, read_node
from aiops_desktop.services.gpu_cnf.readers import GpuCnfReaders
from collectors.errors import ExecExited
from collectors.nvidia_smi import APPS_COMMAND, GPU_COMMAND, PIDS_COMMAND
from tests.qtfree.test_hw_review3 import _prom, _Registry

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


# -- 1. nvidia-smi's exit 15 is the node's failure, its rows kept --------------------------------
ROW = ("{i}, GPU-0000000{i}-aaaa, NVIDIA H100, 550.54.15, 81920, 71000, 10920, 97, 60, 50, "
       "612.2, 700.00, [N/A]\n")  # fmt: skip
APPS = "GPU-00000001-aaaa, 48211, /usr/bin/python3, 71000\n"


class _Exec:
    """The driver pod: ``exits``: command ("gpu", "apps") -> the code it exits with after
    printing what it can (GPU 0 lost: only GPU 1's row)."""

    def __init__(self, exits: dict[str, int]) -> None:
        self.exits = exits

    async def exec_read(self, ns: str, pod: str, command: Any, *, container: Any = None) -> str:
        assert command in (GPU_COMMAND, APPS_COMMAND, PIDS_COMMAND)
        what = "gpu" if command == GPU_COMMAND else "apps"
        out = ROW.format(i=1) if what == "gpu" else APPS
        if what in self.exits:
            code = self.exits[what]
            raise ExecExited(f"c: nvidia-smi ({what}) in {ns}/{pod} exited {code}: Unable to "
                             "determine the device handle for GPU0000:1B:00.0: GPU is lost",
                             backend="c", code=code, output=out)  # fmt: skip
        return out


@pytest.mark.parametrize("code", [15, 9])
@pytest.mark.asyncio
async def test_an_exit_other_than_14_is_the_nodes_failure_with_its_rows_kept(code: int) -> None:
    node = await read_node(_Exec({"gpu": code}), "gpu-operator", "drv", "gpu-node-7")  # type: ignore[arg-type]
    assert node.error is not None and f"exited {code}" in node.error
    assert node.note is None
    assert [g.index for g in node.gpus] == [1]  # the GPUs still answering are shown
    assert [a.pid for a in node.apps] == [48211]


@pytest.mark.asyncio
async def test_the_apps_commands_exit_15_is_the_nodes_failure_too() -> None:
    node = await read_node(_Exec({"apps": 15}), "gpu-operator", "drv", "gpu-node-7")  # type: ignore[arg-type]
    assert node.error is not None and "(apps)" in node.error and "exited 15" in node.error
    assert node.note is None
    assert [g.index for g in node.gpus] == [1] and [a.pid for a in node.apps] == [48211]


@pytest.mark.asyncio
async def test_an_exit_14_on_the_gpus_then_15_on_the_apps_is_a_failure_not_a_note() -> None:
    node = await read_node(_Exec({"gpu": 14, "apps": 15}), "gpu-operator", "drv", "gpu-node-7")  # type: ignore[arg-type]
    assert node.error is not None and "exited 15" in node.error
    assert node.note is None


class _NoDcgm:
    async def run(self, query: Any, clusters: list[Cluster]) -> QueryAnswer:
        return QueryAnswer(query, QueryStatus.SUCCESS, [],
                           [ClusterOutcome(c.name, True, 1.0) for c in clusters], 1.0)  # fmt: skip


class _Kube:
    def __init__(self, client: _Exec) -> None:
        self.client = client

    async def gpus_by_exec(self, name: str) -> list[Any]:
        return [await read_node(self.client, "gpu-operator", "drv", "gpu-node-7")]  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_lost_gpu_leaves_the_clusters_gpu_read_unread_for_the_fleet() -> None:
    readings, outcomes, notes = await by_exec(_Kube(_Exec({"gpu": 15})), "prod-a",
                                              gpus_known=True)  # fmt: skip
    assert [r.gpu for r in readings] == ["1"] and notes == []
    assert [o.cluster for o in outcomes if not o.ok] == ["prod-a"]
    assert "exited 15" in (outcomes[0].error or "")

    prod = Cluster(name="prod-a", api_server_url="https://a:6443", endpoints=_prom("prod-a"))
    fleet = await read_gpus(_NoDcgm(), [prod], _Kube(_Exec({"gpu": 15})))  # type: ignore[arg-type]
    unread: dict[str, Any] = {}
    note_unread(unread, Domain.GPU, fleet.outcomes)
    assert Domain.GPU in unread.get("prod-a", {})  # the fleet keeps what it knew
    assert [h.reading.gpu for h in fleet.gpus] == ["1"] and fleet.notes == []


# -- 2. a failed XID-window query is an unknown window ------------------------------------------
WINDOW = gpu_queries()["recent_xids"]


def _gpu_series(cluster: str, node: str, value: float) -> TaggedSeries:
    labels = {"Hostname": node, "gpu": "0", "UUID": f"GPU-{node}"}
    return TaggedSeries(cluster, PromSeries(labels, np.array([NOW.timestamp()]),
                                            np.array([value])))  # fmt: skip


class _WindowFails:
    """Every cluster answers every field (one GPU each, 50 C, no XID now, nothing in the
    window); ``down``: the clusters (a hub: its members' too) whose window query fails."""

    def __init__(self, down: set[str], reason: str = "timed_out") -> None:
        self.down, self.reason = down, reason

    async def run(self, query: Any, clusters: list[Cluster]) -> QueryAnswer:
        series, outcomes = [], []
        for c in clusters:
            if query.promql == WINDOW and c.name in self.down:
                outcomes.append(ClusterOutcome(c.name, False, 1.0, reason=self.reason,
                                               error=f"query timed out: {WINDOW}"))  # fmt: skip
                continue
            outcomes.append(ClusterOutcome(c.name, True, 1.0))
            if query.promql == WINDOW:
                continue  # no XID in the last hour: no series
            value = 50.0 if "TEMP" in query.promql else 0.0
            members = c.status.members if c.kind is ClusterKind.FLEET else [c.name]
            series += [_gpu_series(m, f"{m}-n1", value) for m in members]
        status = QueryStatus.PARTIAL if any(not o.ok for o in outcomes) else QueryStatus.SUCCESS
        return QueryAnswer(query, status, series, outcomes, 1.0)


@pytest.mark.asyncio
async def test_a_clusters_failed_xid_window_is_unknown_not_no_xids() -> None:
    clusters = [Cluster(name=n, endpoints=_prom(n)) for n in ("prod-a", "prod-b")]
    fleet = await read_gpu_fleet(_WindowFails({"prod-a"}), clusters)  # type: ignore[arg-type]
    xids = {h.reading.cluster: h.reading.recent_xids for h in fleet.gpus}
    assert xids == {"prod-a": None, "prod-b": []}
    assert {h.reading.cluster: h.state for h in fleet.gpus} == {
        "prod-a": GpuState.OK, "prod-b": GpuState.OK}  # fmt: skip
    assert [o.cluster for o in fleet.outcomes] == ["prod-a"]


@pytest.mark.asyncio
async def test_a_hubs_failed_xid_window_is_unknown_for_its_members_only() -> None:
    hub = Cluster(name="ran-hub", kind=ClusterKind.FLEET, endpoints=_prom("ran-hub"))
    hub.status.members = ["ran-east"]
    lab = Cluster(name="lab-1", endpoints=_prom("lab-1"))
    fleet = await read_gpu_fleet(_WindowFails({"ran-hub"}), [hub, lab])  # type: ignore[arg-type]
    xids = {h.reading.cluster: h.reading.recent_xids for h in fleet.gpus}
    assert xids == {"ran-east": None, "lab-1": []}


@pytest.mark.asyncio
async def test_a_member_whose_own_window_answered_knows_its_xids_while_its_hub_fails() -> None:
    hub = Cluster(name="ran-hub", kind=ClusterKind.FLEET, endpoints=_prom("ran-hub"))
    hub.status.members = ["ran-east"]
    east = Cluster(name="ran-east", endpoints=_prom("ran-east"))
    fleet = await read_gpu_fleet(_WindowFails({"ran-hub"}), [hub, east])  # type: ignore[arg-type]
    assert {
        h.reading.recent_xids is None for h in fleet.gpus if h.reading.cluster == "ran-east"
    } == {False}


@pytest.mark.asyncio
async def test_a_capture_without_the_window_has_an_unknown_window() -> None:
    clusters = [Cluster(name="prod-a", endpoints=_prom("prod-a"))]
    fleet = await read_gpu_fleet(_WindowFails({"prod-a"}, "not_configured"), clusters)  # type: ignore[arg-type]
    assert [h.reading.recent_xids for h in fleet.gpus] == [None]
    assert fleet.outcomes == [] and fleet.notes  # said as a note, as before


# -- 3. a GPU's history asks the hubs only where its own Prometheus cannot answer ----------------
class _History:
    """``answers``: the sources that answer (ran-hub with ran-east's series); any other is
    refused, a hub after ``hub_s`` (a timeout)."""

    def __init__(self, answers: set[str], hub_s: float = 0.0) -> None:
        self.answers, self.hub_s = answers, hub_s
        self.asked: list[list[str]] = []

    async def run(self, query: Any, clusters: list[Cluster]) -> QueryAnswer:
        self.asked.append(sorted(c.name for c in clusters))
        series, outcomes = [], []
        for c in clusters:
            if c.kind is ClusterKind.FLEET and self.hub_s:
                await asyncio.sleep(self.hub_s)
            if c.name in self.answers:
                outcomes.append(ClusterOutcome(c.name, True, 1.0))
                series.append(TaggedSeries("ran-east", PromSeries(
                    {"UUID": "GPU-1"}, np.array([NOW.timestamp()]), np.array([71.0]))))  # fmt: skip
            else:
                outcomes.append(ClusterOutcome(c.name, False, 1.0, reason="unreachable",
                                               error=f"{c.name}: connection refused"))  # fmt: skip
        return QueryAnswer(query, QueryStatus.PARTIAL, series, outcomes, 1.0)


def _history_readers(queries: _History, own: bool = True) -> GpuCnfReaders:
    hub = Cluster(name="ran-hub", kind=ClusterKind.FLEET, endpoints=_prom("ran-hub"))
    hub.status.members = ["ran-east"]
    east = Cluster(name="ran-east", api_server_url="https://api.ran-east.example:6443",
                   endpoints=_prom("ran-east") if own else [])  # fmt: skip
    return GpuCnfReaders(_Registry([hub, east]), queries, None, None,  # type: ignore[arg-type]
                         clock=lambda: NOW)  # fmt: skip


READING = GpuReading("ran-east", "gpu-0", "0", "GPU-1")


@pytest.mark.asyncio
async def test_a_gpus_history_answered_by_its_own_prometheus_never_waits_on_its_hub() -> None:
    queries = _History({"ran-east"}, hub_s=1.0)
    started = time.perf_counter()
    history = await _history_readers(queries).gpu_history(READING)
    assert time.perf_counter() - started < 0.5
    assert queries.asked and all(asked == ["ran-east"] for asked in queries.asked)
    assert history.outcomes == [] and history.series.get("util_pct") is not None


@pytest.mark.asyncio
async def test_a_gpus_history_comes_through_its_hub_where_its_own_failed() -> None:
    queries = _History({"ran-hub"})
    history = await _history_readers(queries).gpu_history(READING)
    # each query: its own first, then the hub for what failed
    assert queries.asked and set(map(tuple, queries.asked)) == {("ran-east",), ("ran-hub",)}
    assert len(queries.asked) == 2 * len(history.series)
    assert history.series.get("util_pct") is not None
    assert history.outcomes == []  # the hub's answer is the one shown: nothing failed in it


@pytest.mark.asyncio
async def test_a_gpus_history_with_no_prometheus_of_its_own_asks_its_hub_only() -> None:
    queries = _History({"ran-hub"})
    history = await _history_readers(queries, own=False).gpu_history(READING)
    assert queries.asked and all(asked == ["ran-hub"] for asked in queries.asked)
    assert history.series.get("util_pct") is not None and history.outcomes == []


@pytest.mark.asyncio
async def test_a_gpus_history_no_source_answered_says_both_failures() -> None:
    history = await _history_readers(_History(set())).gpu_history(READING)
    assert history.series == {}
    assert sorted(o.cluster for o in history.outcomes) == ["ran-east", "ran-hub"]
