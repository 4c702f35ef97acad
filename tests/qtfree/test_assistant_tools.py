"""The assistant's read-only tools over the bundled sample capture (offline, nothing connects
out): every tool through ``ToolBox.call`` with JSON-text arguments, as the chat and the MCP
server call them; refusals (unknown tool, bad JSON, unknown or out-of-bounds arguments,
unknown names) come back as errors the model can read; answers are bounded; nothing the
person owns changes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from aiops_desktop.models import ClusterKind, EndpointKind
from aiops_desktop.models.anomalies import AnomalyFilter
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.services.assistant.toolbox import MAX_RESULT_BYTES, ToolBox
from aiops_desktop.services.assistant.tools import all_tools
from aiops_desktop.services.core import Core
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.settings import resources_dir
from aiops_desktop.store.capture import read_manifest

SAMPLE = resources_dir() / "samples" / "sample.aiops"
#: a moment in the sample when du-2's clock has been in FREERUN a few minutes (it goes at
#: 20 minutes before the capture's end), as the tools take it: without a zone (UTC)
DURING_FREERUN = datetime.fromisoformat(read_manifest(SAMPLE).until) - timedelta(minutes=16)
AT = DURING_FREERUN.strftime("%Y-%m-%dT%H:%M:00")
PROM = EndpointKind.PROMETHEUS
NAMES = [
    "list_clusters", "get_cluster_status", "query_metrics", "get_metric_labels", "list_alerts",
    "list_incidents", "get_incident", "get_gpu_nodes", "get_gpu_processes", "get_gpu_summary",
    "get_cnf_workloads", "get_ptp_status", "get_dpdk_stats", "get_sriov_status", "query_logs",
    "search_traces", "get_trace", "detect_anomalies", "analyze_root_cause", "generate_report",
]  # fmt: skip
#: one valid call of every tool (the sample capture's names and times)
EVERY_CALL: list[tuple[str, dict[str, Any]]] = [
    ("list_clusters", {}),
    ("get_cluster_status", {"cluster": "ran-east"}),
    ("query_metrics", {"promql": "DCGM_FI_DEV_GPU_TEMP"}),
    ("query_metrics", {"promql": "node_cpu", "range_minutes": 120}),
    ("get_metric_labels", {}),
    ("get_metric_labels", {"metric": "gpu_util"}),
    ("list_alerts", {}),
    ("list_incidents", {}),
    ("get_gpu_nodes", {}),
    ("get_gpu_processes", {}),
    ("get_gpu_summary", {}),
    ("get_cnf_workloads", {}),
    ("get_ptp_status", {"window_minutes": 60}),
    ("get_dpdk_stats", {}),
    ("get_sriov_status", {}),
    ("detect_anomalies", {"promql": "ptp_clock_state", "since_minutes": 120}),
    ("analyze_root_cause", {"cluster": "ran-east", "at": AT + "Z"}),
    ("generate_report", {"type": "executive", "since_hours": 2, "format": "json"}),
]


@pytest_asyncio.fixture
async def box(tmp_path: Path) -> AsyncIterator[ToolBox]:
    """The tools over a Core opened from the sample capture; reports go to tmp_path."""
    core = await asyncio.to_thread(open_capture, SAMPLE, reports_dir=tmp_path / "reports")
    try:
        await core.registry.load()
        yield ToolBox(core, all_tools())
    finally:
        await core.shutdown()


async def ok(box: ToolBox, name: str, arguments: dict[str, Any] | None = None) -> Any:
    """A call that must succeed (JSON-text arguments, as a model sends them): its result."""
    out = await box.call(name, json.dumps(arguments or {}))
    assert not out.is_error, out.content
    assert len(out.content.encode()) <= MAX_RESULT_BYTES
    return json.loads(out.content)["result"]


async def refused(box: ToolBox, name: str, arguments: str | dict[str, Any]) -> str:
    out = await box.call(name, arguments if isinstance(arguments, str) else json.dumps(arguments))
    assert out.is_error, out.content
    return out.content


def test_the_twenty_tools_in_order_each_with_a_described_bounded_schema() -> None:
    tools = all_tools()
    assert [t.name for t in tools] == NAMES
    for tool in tools:
        schema = tool.schema()
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert "$defs" not in json.dumps(schema)  # inline choices: small models follow no $ref
        assert all(p.get("description") for p in schema["properties"].values()), tool.name
        assert 20 < len(tool.description) <= 160, tool.name
        assert tool.openai_spec()["function"]["name"] == tool.name


@pytest.mark.asyncio
async def test_clusters_and_a_clusters_status(box: ToolBox) -> None:
    listed = await ok(box, "list_clusters")
    (hub,) = listed["clusters"]
    assert (hub["name"], hub["kind"]) == ("ran-hub", "FLEET")
    assert hub["members"] == ["ai-lab", "ran-east", "ran-west"]
    assert "SAMPLE DATA" in listed["source"]

    east = await ok(box, "get_cluster_status", {"cluster": "ran-east"})
    assert (east["name"], east["hub"], east["state"]) == ("ran-east", "ran-hub", "CRITICAL")
    assert any(f["domain"] == "PTP" and f["reason"] == "clock in FREERUN (clock class 165)"
               for f in east["findings"])  # fmt: skip
    west = await ok(box, "get_cluster_status", {"cluster": "ran-west"})
    assert west["state"] == "DEGRADED"

    said = await refused(box, "get_cluster_status", {"cluster": "nope"})
    assert "no cluster named 'nope'; the clusters are: ai-lab, ran-east, ran-hub, ran-west" in said


@pytest.mark.asyncio
async def test_metrics_as_figures_from_the_recorded_answers_and_the_stored_series(
    box: ToolBox,
) -> None:
    stored = await ok(box, "query_metrics", {"promql": "gpu_temperature", "clusters": ["ran-east"],
                                             "range_minutes": 60})  # fmt: skip
    assert stored["source"] == "stored" and stored["series_count"] == 24
    assert {s["cluster"] for s in stored["series"]} == {"ran-east"}
    hot = next(s for s in stored["series"] if s["labels"] == {"Hostname": "gpu-0", "gpu": "5"})
    assert hot["last"] == hot["max"] == 84.0 and hot["points"] >= 100
    for series in stored["series"]:  # figures, never the samples
        assert set(series) <= {"cluster", "labels", "points", "last", "last_at", "min", "max",
                               "mean"}  # fmt: skip

    recorded = await ok(box, "query_metrics", {"promql": "DCGM_FI_DEV_GPU_TEMP"})
    assert recorded["source"] == "recorded" and recorded["series_count"] == 65
    assert max(s["last"] for s in recorded["series"]) == 84.0

    said = await refused(box, "query_metrics", {"promql": "up"})
    assert "did not record 'up'" in said and "gpu_temperature" in said

    metrics = await ok(box, "get_metric_labels")
    offset = next(m for m in metrics["metrics"] if m["metric"] == "ptp_offset")
    assert offset["unit"] == "ns" and offset["clusters"] == ["ran-east", "ran-west"]
    labels = await ok(box, "get_metric_labels", {"metric": "ptp_offset", "max_values": 3})
    assert labels["series"] == 14 and sorted(labels["labels"]) == ["iface", "node"]
    assert labels["labels"]["node"]["distinct"] == 8
    assert labels["labels"]["node"]["values"] == ["du-0", "du-1", "du-2"]  # bounded
    west = await ok(box, "get_metric_labels", {"metric": "ptp_offset", "cluster": "ran-west"})
    assert west["clusters"] == ["ran-west"] and west["series"] < 14
    said = await refused(box, "get_metric_labels", {"metric": "nope"})
    assert "no stored metric named 'nope'" in said and "ptp_offset" in said


@pytest.mark.asyncio
async def test_alerts_incidents_and_root_causes(box: ToolBox) -> None:
    alerts = await ok(box, "list_alerts")
    assert alerts["alerts"] == []  # the sample recorded no firings by name: its counts say
    assert {(c["cluster"], c["severity"], c["firing"]) for c in alerts["firing_counts"]} == {
        ("ai-lab", "CRITICAL", 1.0), ("ran-east", "WARNING", 1.0)}  # fmt: skip
    warning = await ok(box, "list_alerts", {"severity": "warning"})  # any case
    assert [c["cluster"] for c in warning["firing_counts"]] == ["ran-east"]
    lab = await ok(box, "list_alerts", {"cluster": "ai-lab"})
    assert [c["cluster"] for c in lab["firing_counts"]] == ["ai-lab"]

    listed = await ok(box, "list_incidents")
    assert listed["count"] == 6
    assert [i["severity"] for i in listed["incidents"]][:3] == ["CRITICAL"] * 3
    freerun = next(i for i in listed["incidents"] if "clock in FREERUN" in i["title"])
    assert (await ok(box, "list_incidents", {"state": "resolved"}))["count"] == 0
    west = await ok(box, "list_incidents", {"cluster": "ran-west"})
    assert west["count"] == 2 and all(i["clusters"] == ["ran-west"] for i in west["incidents"])

    one = await ok(box, "get_incident", {"incident_id": freerun["id"]})
    seen = [s["first_seen"] for s in one["timeline"]]
    assert len(seen) == 4 and seen == sorted(seen)
    assert {s["entity"] for s in one["timeline"]} == {"ran-east du-2/ens1f0"}
    said = await refused(box, "get_incident", {"incident_id": "INC-nope"})
    assert "no incident 'INC-nope'" in said

    rca = await ok(box, "analyze_root_cause", {"incident_id": freerun["id"]})
    top = rca["causes"][0]
    assert top["entity"] == "ran-east du-2/ens1f0" and top["confidence"] > 0.5
    assert [c["key"] for c in top["next_checks"]] == [
        "clock in FREERUN",
        "clock class 165",
        "PTP offset",
    ]  # the worst signal's first
    assert rca["causes_total"] >= len(rca["causes"]) > 1
    at = await ok(box, "analyze_root_cause", {"cluster": "ran-east", "at": AT})
    assert at["subject"] == f"ran-east at {DURING_FREERUN:%Y-%m-%d %H:%M} UTC"  # no zone: UTC
    assert at["causes"][0]["entity"] == "ran-east du-2/ens1f0"
    said = await refused(box, "analyze_root_cause", {"cluster": "ran-east"})
    assert "cluster needs at" in said
    said = await refused(box, "analyze_root_cause", {"cluster": "x", "at": AT + "Z"})
    assert "no cluster named 'x'" in said
    # as the CLI: a time after now is refused, and reading nothing is said, not "no causes"
    said = await refused(
        box, "analyze_root_cause", {"cluster": "ran-east", "at": "2099-01-01T00:00:00Z"}
    )
    assert "after now" in said
    said = await refused(
        box, "analyze_root_cause", {"cluster": "ran-east", "at": "1971-01-01T00:00:00Z"}
    )
    assert "nothing was read between" in said
    assert listed["unread"] == []  # a capture's sources are what it recorded
    # read, never acknowledged
    again = await ok(box, "list_incidents")
    assert {i["state"] for i in again["incidents"]} == {"OPEN"}


@pytest.mark.asyncio
async def test_gpus(box: ToolBox) -> None:
    summary = await ok(box, "get_gpu_summary")
    assert summary["gpus"] == 64 and summary["by_state"] == {"CRITICAL": 2, "WARNING": 2, "OK": 60}
    assert summary["unhealthy"][0]["gpu"] == "ran-east/gpu-0/gpu5"
    assert summary["unhealthy"][0]["temperature_c"] == 84.0
    assert any(u.get("xid") == 79 for u in summary["unhealthy"])
    lab = await ok(box, "get_gpu_summary", {"cluster": "ai-lab"})
    assert (lab["gpus"], lab["clusters"]) == (24, 1)  # a GPU split in MIG instances: one
    hub = await ok(box, "get_gpu_summary", {"cluster": "ran-hub"})  # a hub: all its members
    assert hub["gpus"] == 64

    nodes = await ok(box, "get_gpu_nodes")
    assert nodes["count"] == 8
    first = nodes["nodes"][0]
    assert (first["cluster"], first["node"], first["state"]) == ("ran-east", "gpu-0", "CRITICAL")
    assert first["max_temperature_c"] == 84.0 and first["gpus"] == 8
    assert [n["state"] for n in nodes["nodes"]][-1] == "OK"  # worst first

    processes = await ok(box, "get_gpu_processes", {"cluster": "ran-east", "node": "gpu-0"})
    (busy,) = processes["gpus_with_pods"]
    assert busy["pods"] == ["ml/trainer-0 (pytorch)"] and busy["util_pct"] == 95.0
    assert (processes["gpus"], processes["idle_gpus"]) == (8, 7)
    said = await refused(box, "get_gpu_processes", {"node": "nope"})
    assert "no node named 'nope' has GPUs" in said


@pytest.mark.asyncio
async def test_cnf_workloads_ptp_dpdk_and_sriov(box: ToolBox) -> None:
    cnf = await ok(box, "get_cnf_workloads")
    assert cnf["by_type"] == {"vDU": 8, "vCU": 4, "UPF": 1}
    upf = await ok(box, "get_cnf_workloads", {"cnf_type": "upf"})  # any case
    assert [(w["cluster"], w["pod"], w["dpdk_ports"]) for w in upf["workloads"]] == [
        ("ran-west", "upf-core/upf-0", 1)]  # fmt: skip

    ptp = await ok(box, "get_ptp_status")
    assert ptp["by_state"] == {"FREERUN": 1, "LOCKED": 13} and len(ptp["ports"]) == 14
    worst = ptp["ports"][0]
    assert (worst["cluster"], worst["node"], worst["state"]) == ("ran-east", "du-2", "FREERUN")
    assert worst["compliance"]["freerun_s"] > 0 and worst["threshold"] == "+/-100 ns"
    assert "history" not in worst
    bad = await ok(box, "get_ptp_status", {"problems_only": True})
    assert [(p["node"], p["state"]) for p in bad["ports"]] == [("du-2", "FREERUN"),
                                                               ("du-4", "LOCKED")]  # fmt: skip
    west = await ok(box, "get_ptp_status", {"cluster": "ran-west"})
    assert {p["cluster"] for p in west["ports"]} == {"ran-west"}

    dpdk = await ok(box, "get_dpdk_stats")
    assert dpdk["count"] == 3 and dpdk["with_drops_or_errors"] == 1
    assert dpdk["ports"][0]["rx_missed_ps"] > 100  # the troubled port first
    sriov = await ok(box, "get_sriov_status")
    assert sriov["vf_count"] == 12 and sriov["vfs_with_drops_or_errors"] == 1
    east = await ok(box, "get_sriov_status", {"cluster": "ran-east", "node": "worker-0"})
    assert east["vf_count"] == 3 and {v["node"] for v in east["vfs"]} == {"worker-0"}


@pytest.mark.asyncio
async def test_logs_and_traces_say_they_are_not_configured(box: ToolBox) -> None:
    said = await refused(box, "query_logs", {"logql": '{namespace="ran-du"}', "since_minutes": 30})
    assert "logs are not configured" in said and "Loki" in said
    said = await refused(box, "search_traces", {"service": "amf", "min_duration_ms": 500})
    assert "traces are not configured" in said and "Tempo" in said
    said = await refused(box, "get_trace", {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"})
    assert "traces are not configured" in said
    said = await refused(box, "get_trace", {"trace_id": "not-hex"})
    assert "not valid" in said and "trace_id" in said
    said = await refused(box, "query_logs", {"logql": "{}", "cluster": "nope"})
    assert "no cluster named 'nope'" in said


@pytest.mark.asyncio
async def test_anomalies_detected_in_a_stored_metric(box: ToolBox) -> None:
    found = await ok(box, "detect_anomalies", {"promql": "ptp_offset", "since_minutes": 120})
    assert found["source"] == "stored" and found["series"] == 14
    places = {(a["cluster"], a["labels"]["node"]) for a in found["anomalies"]}
    assert places == {("ran-east", "du-2"), ("ran-west", "du-4")}
    times = [a["timestamp"] for a in found["anomalies"]]
    assert times == sorted(times)
    assert all(a["type"] and a["severity"] and "beyond" in a["explanation"]
               for a in found["anomalies"])  # fmt: skip
    east = await ok(box, "detect_anomalies", {"promql": "ptp_offset", "clusters": ["ran-west"],
                                              "since_minutes": 120})  # fmt: skip
    assert {a["cluster"] for a in east["anomalies"]} == {"ran-west"}
    # read-only: what it finds is kept nowhere, so it joins no incident
    kept = await box.core.anomalies.stored(AnomalyFilter(limit=10_000))
    extreme = await ok(box, "detect_anomalies", {"promql": "ptp_offset", "since_minutes": 120,
                                                 "sensitivity": "EXTREME"})  # fmt: skip
    assert len(extreme["anomalies"]) >= len(found["anomalies"])
    assert await box.core.anomalies.stored(AnomalyFilter(limit=10_000)) == kept


@pytest.mark.asyncio
async def test_a_report_is_written_into_the_reports_folder(box: ToolBox, tmp_path: Path) -> None:
    made = await ok(box, "generate_report", {"type": "incident", "since_hours": 2})
    path = Path(made["path"])
    assert path.parent == tmp_path / "reports" and path.suffix == ".md"
    text = path.read_text()
    assert text.startswith("# Incident report") and made["bytes"] == path.stat().st_size
    assert "Incidents" in made["sections"]
    assert any("ran-east du-2/ens1f0" in r for r in made["recommendations"])
    said = await refused(box, "generate_report", {"clusters": ["ran-east"]})
    assert "'ran-east' is a member of the fleet hub 'ran-hub': name the hub" in said


@pytest.mark.asyncio
async def test_refusals_are_said_for_the_model(box: ToolBox) -> None:
    out = await box.call("delete_cluster", "{}")
    assert out.is_error and "no tool named 'delete_cluster'" in out.content
    assert "list_clusters" in out.content
    said = await refused(box, "list_clusters", "{not json")
    assert "not JSON" in said
    said = await refused(box, "list_clusters", "[1, 2]")
    assert "must be a JSON object" in said
    said = await refused(box, "list_clusters", "[" * 8000)  # an MCP client's, nested deep
    assert "nested too deep" in said
    said = await refused(box, "get_gpu_summary", {"cluster": "ran-east", "verbose": True})
    assert "verbose" in said and "Extra inputs are not permitted" in said
    said = await refused(box, "detect_anomalies", {"promql": "node_cpu", "since_minutes": 5000})
    assert "since_minutes" in said and "less than or equal to 1440" in said
    said = await refused(box, "query_metrics", {"promql": "x" * 4001})
    assert "promql" in said and "at most 4000" in said
    said = await refused(box, "get_ptp_status", {"window_minutes": 1})
    assert "greater than or equal to 5" in said
    said = await refused(box, "list_alerts", {"severity": "LOUD"})
    assert "severity" in said
    said = await refused(box, "get_cluster_status", {})
    assert "cluster" in said and "Field required" in said
    said = await refused(box, "analyze_root_cause", {"incident_id": "INC-1", "cluster": "x",
                                                     "at": AT + "Z"})  # fmt: skip
    assert "not both" in said
    said = await refused(box, "analyze_root_cause", {"cluster": "x", "at": "1800-01-01T00:00Z"})
    assert "between 1970 and 2100" in said


@pytest.mark.asyncio
async def test_every_answer_is_bounded_and_nothing_the_person_owns_changes(
    box: ToolBox, tmp_path: Path
) -> None:
    core = box.core
    before = [c.model_dump(mode="json") for c in core.registry.clusters()]
    settings = core.paths.settings_file.read_bytes() if core.paths.settings_file.exists() else None
    called = set()
    for name, arguments in EVERY_CALL:
        out = await box.call(name, json.dumps(arguments))
        assert not out.is_error, (name, out.content)
        assert len(out.content.encode()) <= MAX_RESULT_BYTES, name
        assert json.loads(out.content)["result"], name  # something, not an empty answer
        called.add(name)
    assert called | {"get_incident", "query_logs", "search_traces", "get_trace"} == set(NAMES)
    assert [c.model_dump(mode="json") for c in core.registry.clusters()] == before
    now = core.paths.settings_file.read_bytes() if core.paths.settings_file.exists() else None
    assert now == settings
    assert all(i.acknowledged_at is None for i in await core.incidents.listed())
    assert [p.suffix for p in (tmp_path / "reports").iterdir()] == [".json"]  # the one report


@pytest.mark.integration
@pytest.mark.asyncio
async def test_on_a_live_site_the_tools_ask_prometheus(core: Core, prometheus) -> None:  # type: ignore[no-untyped-def]
    """A fleet hub's Prometheus, asked live: a member's name is learned from the first poll,
    PromQL and a stored metric's name both run there, nothing is registered or removed."""
    await core.registry.add(
        ClusterSpec(name="acm-hub", kind=ClusterKind.FLEET, endpoint_urls={PROM: prometheus.url})
    )
    box = ToolBox(core, all_tools())
    load = await ok(box, "query_metrics", {"promql": "node_load1", "clusters": ["west-2"],
                                           "range_minutes": 30})  # fmt: skip
    assert load["source"] == "prometheus" and load["series_count"] == 2
    assert {s["cluster"] for s in load["series"]} == {"west-2"}
    assert all(s["points"] > 1 and s["min"] <= s["mean"] <= s["max"] for s in load["series"])
    up = await ok(box, "query_metrics", {"promql": "up"})
    assert {s["cluster"] for s in up["series"]} == {"east-1", "west-2", "edge-7"}
    assert {s["last"] for s in up["series"]} == {1.0}
    cpu = await ok(box, "query_metrics", {"promql": "node_cpu"})  # the panel's PromQL
    assert cpu["series_count"] > 0 and all(0 <= s["last"] <= 100 for s in cpu["series"])

    status = await ok(box, "get_cluster_status", {"cluster": "east-1"})
    assert status["hub"] == "acm-hub" and status["coverage"]["metrics"] == "read"
    said = await refused(box, "list_alerts", {})
    assert "no cluster with an Alertmanager endpoint" in said
    found = await ok(box, "detect_anomalies", {"promql": "node_load1", "clusters": ["east-1"]})
    assert found["source"] == "prometheus" and found["series"] == 2
    assert (await ok(box, "get_gpu_summary"))["gpus"] == 0  # no DCGM exporter there
    said = await refused(box, "get_cluster_status", {"cluster": "nope"})
    assert "the clusters are: acm-hub, east-1, edge-7, west-2" in said
    assert [c.name for c in core.registry.clusters()] == ["acm-hub"]
