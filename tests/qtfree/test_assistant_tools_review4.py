"""The assistant's tools, as a fourth review found them: a dataplane tool failed whole when one
cluster could not be read (its outcome could not be encoded), one Loki or Tempo that never
answered made the logs and traces tools time out for every cluster, a fleet hub's status said
"OK" over a CRITICAL member, a capture without an Alertmanager said "no alerts" beside its own
firing counts, an answer could be three times its byte limit and lose its structure, a node
that does not exist read as an all-clear, a capture's range refusal contradicted itself, the
series note miscounted once the answer was cut, and 64-bit trace ids were refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import pytest_asyncio

from aiops_desktop.models.cluster import Cluster, Endpoint
from aiops_desktop.models.cnf import DpdkPortRow, NodeSync, SriovObjects, VfRow
from aiops_desktop.models.enums import EndpointKind, QueryStatus
from aiops_desktop.models.metrics import ClusterOutcome, PromSeries, QueryAnswer, TaggedSeries
from aiops_desktop.models.observability import LogEntry, LogResult
from aiops_desktop.services.assistant import tools
from aiops_desktop.services.assistant.toolbox import (
    CALL_TIMEOUT_S,
    MAX_RESULT_BYTES,
    ToolBox,
    bounded_json,
)
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.settings import resources_dir

SAMPLE = resources_dir() / "samples" / "sample.aiops"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def box(tmp_path: Path) -> AsyncIterator[ToolBox]:
    """The tools over a Core opened from the sample capture."""
    core = await asyncio.to_thread(open_capture, SAMPLE, reports_dir=tmp_path / "reports")
    try:
        await core.registry.load()
        yield ToolBox(core, tools.all_tools())
    finally:
        await core.shutdown()


async def _ok(box: ToolBox, name: str, arguments: dict[str, Any]) -> Any:
    out = await box.call(name, json.dumps(arguments))
    assert not out.is_error, out.content
    assert len(out.content.encode()) <= MAX_RESULT_BYTES
    return json.loads(out.content)["result"]


async def _refused(box: ToolBox, name: str, arguments: dict[str, Any]) -> str:
    out = await box.call(name, json.dumps(arguments))
    assert out.is_error, out.content
    return out.content


# -- 1: a cluster the dataplane readers could not read is listed, not the tool's failure ------
def _dataplane_core() -> Any:
    vf = VfRow("site-a", "worker-0", "ens1f0", "0", "0000:3b:00.2", rx_drops_ps=3.0)
    port = DpdkPortRow("site-a", "worker-0", "0", rx_missed_ps=112.0)
    failed = ClusterOutcome("site-b", False, 12.0, reason="unreachable",
                            error="site-b: connection refused")  # fmt: skip

    async def dataplane() -> tuple[list[VfRow], list[DpdkPortRow], list[ClusterOutcome]]:
        return [vf], [port], [failed]

    async def sriov_objects() -> SriovObjects:
        return SriovObjects(nodes=[("site-a", NodeSync("worker-0", "Succeeded", ""))])

    return SimpleNamespace(gpu_cnf=SimpleNamespace(dataplane=dataplane,
                                                   sriov_objects=sriov_objects))  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["get_dpdk_stats", "get_sriov_status", "get_cnf_workloads"])
async def test_a_dataplane_tool_lists_the_cluster_it_could_not_read(name: str) -> None:
    out = await ToolBox(_dataplane_core(), tools.all_tools()).call(name, {})
    assert not out.is_error, out.content
    doc = json.loads(out.content)["result"]
    assert doc["unread"] == ["site-b: site-b: connection refused"]
    if name == "get_dpdk_stats":
        assert doc["count"] == 1 and doc["with_drops_or_errors"] == 1
    if name == "get_sriov_status":
        assert doc["vf_count"] == 1


def test_a_dataclass_in_an_answer_is_encoded_as_an_object() -> None:
    outcome = ClusterOutcome("site-b", False, 12.0, reason="unreachable", error="refused")
    doc = json.loads(bounded_json({"outcomes": [outcome]}))["result"]
    assert doc["outcomes"][0]["cluster"] == "site-b"
    assert doc["outcomes"][0]["error"] == "refused"


# -- 2: one Loki or Tempo that never answers leaves the others' answers --------------------------
class _LogsTraces:
    """site-a answers at once; site-b never (until cancelled: recorded)."""

    def __init__(self) -> None:
        self.cancelled: list[str] = []
        self.running = 0

    async def _wedged(self, cluster: str) -> None:
        self.running += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.append(cluster)
            raise
        finally:
            self.running -= 1

    async def logs(self, cluster: str, logql: str, **kw: Any) -> LogResult:
        if cluster == "site-b":
            await self._wedged(cluster)
        line = LogEntry(cluster=cluster, timestamp_ns=int(NOW.timestamp() * 1e9),
                        line="ERROR fronthaul link down", labels={"pod": "du-0"})  # fmt: skip
        return LogResult(entries=[line])

    async def traces(self, cluster: str, **kw: Any) -> list[Any]:
        if cluster == "site-b":
            await self._wedged(cluster)
        return []

    async def trace(self, cluster: str, trace_id: str) -> Any:
        await self._wedged(cluster)


def _two_sites(logs_traces: _LogsTraces) -> Any:
    def site(name: str) -> Cluster:
        return Cluster(name=name, endpoints=[
            Endpoint(kind=kind, url=f"http://{name}.invalid:3100")
            for kind in (EndpointKind.LOKI, EndpointKind.TEMPO)])  # fmt: skip

    clusters = [site("site-a"), site("site-b")]
    return SimpleNamespace(registry=SimpleNamespace(clusters=lambda: clusters), now=lambda: NOW,
                           logs_traces=logs_traces)  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.parametrize("name, arguments", [
    ("query_logs", {"logql": '{app="du"}'}),
    ("search_traces", {}),
    ("get_trace", {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}),
])  # fmt: skip
async def test_a_cluster_that_never_answers_is_said_unread_within_its_own_budget(
    name: str, arguments: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tools.CLUSTER_READ_S <= CALL_TIMEOUT_S * 2 / 3  # well within the tool's deadline
    monkeypatch.setattr(tools, "CLUSTER_READ_S", 0.2)
    backend = _LogsTraces()
    box = ToolBox(_two_sites(backend), tools.all_tools(), timeout_s=3.0)
    out = await box.call(name, arguments)
    assert backend.running == 0 and "site-b" in backend.cancelled  # no read left running
    if name == "get_trace":  # neither has it: said with why
        assert out.is_error and "site-b: not answered within 0.2 s" in out.content, out.content
        return
    assert not out.is_error, out.content
    doc = json.loads(out.content)["result"]
    assert doc["unread"] == ["site-b: not answered within 0.2 s"]
    if name == "query_logs":
        assert [line["cluster"] for line in doc["lines"]] == ["site-a"]


# -- 3: a fleet hub's status says its members' ----------------------------------------------------
@pytest.mark.asyncio
async def test_a_fleet_hubs_status_names_its_members_worst_first(box: ToolBox) -> None:
    hub = await _ok(box, "get_cluster_status", {"cluster": "ran-hub"})
    members = hub["members"]
    assert members[0]["name"] == "ran-east" and members[0]["state"] == "CRITICAL"
    assert members[0]["health_score"] == 0 and members[0]["worst"]
    assert {"ran-east", "ran-west"} <= {m["name"] for m in members}
    assert hub["members_total"] == len(members)
    assert "per member" in hub["note"]
    east = await _ok(box, "get_cluster_status", {"cluster": "ran-east"})
    assert "members" not in east  # a member is no hub


# -- 4: a capture without an Alertmanager says so ---------------------------------------------
@pytest.mark.asyncio
async def test_a_capture_without_an_alertmanager_says_its_alerts_were_not_recorded(
    box: ToolBox,
) -> None:
    doc = await _ok(box, "list_alerts", {"severity": "critical"})
    assert doc["alerts"] == [] and doc["firing_counts"]  # the capture's Prometheus saw one
    (said,) = doc["unread"]
    assert "Alertmanager" in said and "firing_counts" in said


# -- 5: every answer within its byte limit, and still an object ------------------------------
@pytest.mark.parametrize("value", [
    {"reason": "温度" * 6000},
    {"reason": '"' * 12000},
    {"reason": "🔥" * 6000},
    {"alerts": [{"summary": "ノードのディスク容量が不足しています。" * 800}]},
    {"labels": {f"key-{i}": "値" * 50 for i in range(2000)}},  # a dict: no list to cut
    {"rows": [{"a": "x" * 3000, "b": "é" * 3000, "c": "\x01" * 3000} for _ in range(50)]},
])  # fmt: skip
def test_bounded_json_stays_within_its_limit_and_an_object(value: dict[str, Any]) -> None:
    text = bounded_json(value)
    assert len(text.encode()) <= MAX_RESULT_BYTES
    doc = json.loads(text)
    assert isinstance(doc["result"], dict) and doc["truncated"] is True


def test_long_texts_are_shortened_before_rows_are_left_out() -> None:
    rows = [{"name": f"alert-{i}", "summary": "x" * 6000} for i in range(5)]
    doc = json.loads(bounded_json({"alerts": rows}))
    assert doc["truncated"] is True
    kept = doc["result"]["alerts"]
    assert [r["name"] for r in kept] == [f"alert-{i}" for i in range(5)]  # every row
    assert kept[0]["summary"].startswith("x" * 2000)
    assert "4,000 more characters cut" in kept[0]["summary"]


# -- 6: a node that does not exist is refused with the nodes there are ------------------------
@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["get_dpdk_stats", "get_sriov_status"])
async def test_a_node_that_does_not_exist_is_refused_with_the_known_nodes(
    box: ToolBox, name: str
) -> None:
    assert (await _ok(box, name, {"node": "worker-0"})) is not None
    for wrong in ("Worker-0", "worker-0.ran-east.example.com"):
        said = await _refused(box, name, {"node": wrong})
        assert repr(wrong) in said and "worker-0" in said.replace(repr(wrong), ""), said


# -- 7: a capture's range of a query it recorded only as an instant ---------------------------
@pytest.mark.asyncio
async def test_a_range_of_a_query_recorded_only_as_instant_says_so(box: ToolBox) -> None:
    said = await _refused(box, "query_metrics",
                          {"promql": "DCGM_FI_DEV_GPU_TEMP", "range_minutes": 30})  # fmt: skip
    assert "did not record" not in said
    assert "only as at its end" in said and "gpu_temperature" in said, said
    stored = await _ok(box, "query_metrics", {"promql": "gpu_temperature", "range_minutes": 30})
    assert stored["series_count"] > 0
    said = await _refused(box, "query_metrics", {"promql": "no_such_metric", "range_minutes": 5})
    assert "did not record 'no_such_metric'" in said


# -- 8: the series note counts what the answer holds ------------------------------------------
def _gpu(i: int) -> TaggedSeries:
    labels = {"__name__": "DCGM_FI_DEV_GPU_TEMP", "Hostname": f"gpu-node-{i // 8:03d}",
              "gpu": str(i % 8), "UUID": f"GPU-{i:08d}-aaaa-bbbb-cccc-dddddddddddd",
              "modelName": "NVIDIA H100 80GB HBM3",
              "pci_bus_id": f"00000000:{i % 256:02x}:00.0"}  # fmt: skip
    return TaggedSeries("site-a", PromSeries(labels, np.array([NOW.timestamp()]),
                                             np.array([40.0 + i % 7])))  # fmt: skip


@pytest.mark.asyncio
async def test_the_series_note_counts_the_series_the_answer_holds() -> None:
    series = [_gpu(i) for i in range(300)]

    class Queries:
        async def run(self, query: Any, clusters: Any) -> QueryAnswer:
            return QueryAnswer(query, QueryStatus.SUCCESS, series, [], 1.0)

    site = SimpleNamespace(name="site-a")
    console = SimpleNamespace(targets=lambda names: ([site], None))
    core: Any = SimpleNamespace(catalog=[], capture=None, now=lambda: NOW, queries=Queries(),
                                console=console)  # fmt: skip
    out = await ToolBox(core, tools.all_tools()).call("query_metrics", {"promql": "up"})
    doc = json.loads(out.content)
    result = doc["result"]
    shown = len(result["series"])
    assert 40 < shown < 100  # as many as fit, not a blind half
    assert result["series_left_out"] == 300 - shown
    assert f"the first {shown} series" in result["note"]
    assert f"{300 - shown:,} left out" in result["note"]
    assert "truncated" not in doc  # nothing cut after the note was written


# -- 9: a 64-bit trace id -----------------------------------------------------------------------
def test_get_trace_takes_the_trace_ids_tempo_takes() -> None:
    assert tools.GetTraceInput(trace_id="4bf92f3577b34da6").trace_id == "4bf92f3577b34da6"
    assert tools.GetTraceInput(trace_id="4BF92F3577B34DA6").trace_id == "4bf92f3577b34da6"
    with pytest.raises(ValueError, match="hex"):
        tools.GetTraceInput(trace_id="not-hex")
    with pytest.raises(ValueError):
        tools.GetTraceInput(trace_id="0" * 33)


# -- a fifth look: query_metrics sizes only its series list ------------------------------------
async def _metrics_answer(
    monkeypatch: pytest.MonkeyPatch, series: list[TaggedSeries], unread: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """query_metrics' answer as the tool gives it, and as the ToolBox sends it."""

    async def read(core: Any, promql: str, names: Any, minutes: Any, step: Any) -> Any:
        return tools._SeriesRead("prometheus", series, unread, [], None)

    monkeypatch.setattr(tools, "_series", read)
    core: Any = SimpleNamespace()
    doc = await tools.query_metrics(core, tools.QueryMetricsInput(promql="up"))
    text = bounded_json(doc)
    assert len(text.encode()) <= MAX_RESULT_BYTES
    result: dict[str, Any] = json.loads(text)["result"]
    return doc, result


def _as_many_as_fit(doc: dict[str, Any], result: dict[str, Any], series: list[TaggedSeries]
                    ) -> int:  # fmt: skip
    """The series the answer shows, checked to be as many as it could hold: all that the tool
    put in it, its count said is the one shown, and with one more bounded_json cuts them."""
    shown = len(doc["series"])
    assert len(result["series"]) == shown
    assert result["series_left_out"] == len(series) - shown
    assert f"the first {shown} series" in result["note"]
    left = len(series) - shown
    more = dict(doc, series=tools._summaries(series)[: shown + 1], series_left_out=left - 1,
                note=doc["note"].replace(f"the first {shown} ", f"the first {shown + 1} ")
                .replace(f"{left:,} left out", f"{left - 1:,} left out"))  # fmt: skip
    assert len(json.loads(bounded_json(more))["result"]["series"]) < shown + 1
    return shown


@pytest.mark.asyncio
async def test_many_unread_clusters_do_not_cut_the_series_to_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a hub's 150 members behind a dead Thanos: the unread list alone is over MAX_ROWS (cut by
    # bounded_json whatever the series), which left 1 series of 300 in the answer
    series = [_gpu(i) for i in range(300)]
    unread = [f"edge-{i:03d}: the query timed out after 20 s" for i in range(150)]
    doc, result = await _metrics_answer(monkeypatch, series, unread)
    assert result["unread"] == unread[: len(result["unread"])]
    assert _as_many_as_fit(doc, result, series) > 20


@pytest.mark.asyncio
async def test_one_long_label_does_not_cut_the_series_to_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # an annotation of 20,000 characters: bounded_json shortens it, and the other series fit
    series = [_gpu(i) for i in range(300)]
    series[0].series.labels["annotation"] = "y" * 20_000
    doc, result = await _metrics_answer(monkeypatch, series, [])
    assert "more characters cut" in result["series"][0]["labels"]["annotation"]
    assert _as_many_as_fit(doc, result, series) > 20


# -- a fifth look: a node on a cluster that was not read is not refused ------------------------
@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["get_dpdk_stats", "get_sriov_status"])
async def test_a_node_that_may_be_on_an_unread_cluster_is_not_refused(name: str) -> None:
    box = ToolBox(_dataplane_core(), tools.all_tools())
    out = await box.call(name, {"node": "site-b-worker-7"})  # site-b could not be read
    assert not out.is_error, out.content
    result = json.loads(out.content)["result"]
    assert result.get("ports", result.get("vfs")) == []
    assert "site-b-worker-7" in result["note"] and "not read" in result["note"], result
    assert any("site-b" in u for u in result["unread"])
