"""The tools' answers where a read was only in part, a PTP window was sampled in part, and many
GPUs are unhealthy (review 7).

A Thanos "partial response" warning (a store gateway not read) made the query engine say
PARTIAL and the CLI exit 3, yet ``query_metrics``, the GPU tools and ``get_ptp_status``
answered ``"unread": []``: an all-clear from half the stores. ``get_ptp_status`` gave a port
LOCKED at every sample of a 2 h capture 4 % locked over a 24 h window, with nothing saying the
rest was never sampled. ``get_gpu_summary`` cut its unhealthy GPUs to 20 rows, each MIG
instance one of them, and said nothing of those left out."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

import numpy as np
import pytest

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.enums import QueryStatus
from aiops_desktop.models.gpu import GpuFleet, GpuHealth, GpuReading, GpuState
from aiops_desktop.models.metrics import (
    ClusterOutcome,
    MetricQuery,
    PromSeries,
    QueryAnswer,
    TaggedSeries,
)
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, ClockState, Compliance, PtpBoard, PtpRow
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.services.assistant import tools
from aiops_desktop.services.assistant.toolbox import ToolBox
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.settings import resources_dir
from tests.qtfree.test_mcp_hung_backend import _core, _labels, _serving

SAMPLE = resources_dir() / "samples" / "sample.aiops"
#: a Thanos querier's warning with a store not read; the address it dialled carries a password
PASSWORD = "Zq8vT3nLw9pK"
WARNING = (f"partial response: store gateway thanos-store-0:10901 unreachable (dial "
           f"https://thanos:{PASSWORD}@thanos-store-0.monitoring.svc:10901/api/v1/store: "
           "connection refused)\nrpc error: data may be missing")  # fmt: skip


async def _thanos(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A Thanos querier whose every answer is whole but for a store gateway it did not read:
    one GPU, one PTP port (its series labels serve every reader), and the warning."""
    while True:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        path = head[0].split(" ")[1]
        sizes = [line.split(":", 1)[1] for line in head[1:]
                 if line.lower().startswith("content-length:")]  # fmt: skip
        form = parse_qs((await reader.readexactly(int(sizes[0]) if sizes else 0)).decode())
        promql = form.get("query", [""])[0]
        now = time.time()
        ranged = path.endswith("query_range")
        point = {"values": [[now - 15, "40"], [now, "40"]]} if ranged else {"value": [now, "40"]}
        found = [] if "XID" in promql else [{"metric": _labels("GPU-a-0"), **point}]
        body = json.dumps({"status": "success", "warnings": [WARNING], "data": {
            "resultType": "matrix" if ranged else "vector", "result": found}}).encode()  # fmt: skip
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip
        await writer.drain()


def _said_in_part(content: str, doc: dict[str, Any]) -> None:
    """The answer says site-a was read in part, on one line, redacted."""
    assert PASSWORD not in content
    lines = doc["read_in_part"]
    assert lines, doc
    assert all(line.startswith("site-a: read in part: partial response") for line in lines)
    assert all("\n" not in line and len(line) <= tools.LINE_CHARS for line in lines), lines
    assert "data may be missing" in lines[0]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("name", "arguments"),
    [("query_metrics", {"promql": "DCGM_FI_DEV_GPU_TEMP"}),
     ("query_metrics", {"promql": "DCGM_FI_DEV_GPU_TEMP", "range_minutes": 5}),
     ("get_gpu_summary", {}), ("get_gpu_nodes", {}), ("get_gpu_processes", {}),
     ("get_ptp_status", {})],
)  # fmt: skip
async def test_a_partial_response_is_said_by_the_tools(
    name: str, arguments: dict[str, Any], tmp_path: Path
) -> None:
    async with (
        _serving(_thanos) as (url, _),
        _core(tmp_path, ClusterSpec(name="site-a",
                                    endpoint_urls={EndpointKind.PROMETHEUS: url})) as core,
    ):  # fmt: skip
        out = await ToolBox(core, tools.all_tools()).call(name, arguments)
    assert not out.is_error, out.content
    doc = json.loads(out.content)["result"]
    assert doc["unread"] == []  # it answered: nothing failed
    _said_in_part(out.content, doc)


class _Queries:
    def __init__(self, series: list[TaggedSeries]) -> None:
        self.series = series

    async def run(self, query: MetricQuery, clusters: Any) -> QueryAnswer:
        outcomes = [
            ClusterOutcome("site-a", True, 1.0, len(self.series), warnings=[WARNING]),
            ClusterOutcome("site-b", True, 1.0, 0, warnings=[
                "PromQL info: metric might not be a counter, name does not end in _total"]),
        ]  # fmt: skip
        coarser = "read at a 60 s step: 15 s asks more than 11,000 points"
        return QueryAnswer(query, QueryStatus.PARTIAL, self.series, outcomes, 1.0, notes=[coarser])


@pytest.mark.asyncio
async def test_detect_anomalies_says_a_partial_read_and_the_querys_notes() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    stamps = now.timestamp() - 15.0 * np.arange(2000)[::-1]
    series = [TaggedSeries("site-a", PromSeries({"pod": "du-0"}, stamps, np.full(2000, 40.0)))]

    async def analyse(inputs: list[Any], **kwargs: Any) -> list[Any]:
        return []

    core = SimpleNamespace(
        catalog=[], capture=None, now=lambda: now, queries=_Queries(series),
        anomalies=SimpleNamespace(analyse=analyse),
        console=SimpleNamespace(targets=lambda names: ([SimpleNamespace(name="site-a"),
                                                        SimpleNamespace(name="site-b")], None)),
    )  # fmt: skip
    out = await ToolBox(core, tools.all_tools()).call("detect_anomalies", {"promql": "up"})
    assert not out.is_error, out.content
    doc = json.loads(out.content)["result"]
    _said_in_part(out.content, doc)
    assert "read at a 60 s step" in doc["note"]
    # Prometheus's own query annotation is no partial read: said apart, as the CLI says it
    assert "site-b: PromQL info: metric might not be a counter" in doc["note"]
    assert not any(line.startswith("site-b") for line in doc["read_in_part"])


@pytest.mark.asyncio
async def test_many_partial_reads_are_said_within_a_bound() -> None:
    lines = [f"c{i:03}: read in part: {WARNING} {'x' * 3000}" for i in range(150)]
    fleet = GpuFleet([], [], notes=lines, in_part=lines)

    async def gpu_fleet() -> GpuFleet:
        return fleet

    core = SimpleNamespace(gpu_cnf=SimpleNamespace(gpu_fleet=gpu_fleet), capture=None)
    out = await ToolBox(core, tools.all_tools()).call("get_gpu_summary", {})
    assert not out.is_error, out.content
    doc = json.loads(out.content)["result"]
    said = doc["read_in_part"]
    assert len(said) == tools.IN_PART_LINES + 1
    assert said[-1] == f"… and {150 - tools.IN_PART_LINES} more read in part, left out"
    assert PASSWORD not in out.content
    assert "notes" not in doc  # the notes are those read in part: said once


# -- a PTP window longer than what was sampled -------------------------------------------------
def _locked_row(samples: int, steps: int, step_s: float) -> PtpRow:
    share = samples / steps * 100
    return PtpRow("ran-west", "du-0", "ens1f0", "ptp4l", ClockState.LOCKED, offset_ns=10.0,
                  role="SLAVE", process_up=True,
                  compliance=Compliance(samples, share, share, 0.0, 0.0, 0, 0.0, steps=steps,
                                        unknown_s=(steps - samples) * step_s,
                                        resolution_s=step_s))  # fmt: skip


@pytest.mark.asyncio
async def test_get_ptp_status_says_how_much_of_the_window_was_sampled() -> None:
    """A port LOCKED at every sample of 2 h of a 24 h window: locked 8.3 % of the window,
    all of the time sampled, and the rest said unknown, not out of lock."""
    row = _locked_row(samples=120, steps=1440, step_s=60.0)
    whole = PtpRow("ran-west", "du-1", "ens1f0", "ptp4l", ClockState.LOCKED, offset_ns=5.0,
                   role="SLAVE", compliance=Compliance(1440, 100.0, 100.0, 0.0, 0.0, 0, 0.0,
                                                       steps=1440, resolution_s=60.0))  # fmt: skip
    board = PtpBoard([row, whole], timedelta(hours=24), DEFAULT_THRESHOLD, [])

    async def ptp_board(_range: Any) -> tuple[PtpBoard, list[str]]:
        return board, []

    core = SimpleNamespace(gpu_cnf=SimpleNamespace(ptp_board=ptp_board), capture=None)
    out = await ToolBox(core, tools.all_tools()).call("get_ptp_status", {"window_minutes": 1440})
    doc = json.loads(out.content)["result"]
    du0, du1 = doc["ports"]
    assert du0["compliance"]["locked_pct"] == pytest.approx(8.33333)
    assert du0["compliance"]["sampled_pct"] == pytest.approx(8.33333)
    assert du1["compliance"]["sampled_pct"] == 100.0
    (note,) = doc["notes"]
    assert "1 of 2 ports" in note and "8.3%" in note
    assert "unknown, not out of lock" in note and "shares of the whole window" in note


@pytest.mark.asyncio
async def test_get_ptp_status_over_a_day_of_a_two_hour_capture(tmp_path: Path) -> None:
    """The bundled sample (2 h recorded) over 24 h: the CLI says "sampled 4.2% (82824 s
    unknown)"; the tool said locked_pct 4.16 and no more."""
    core = await asyncio.to_thread(open_capture, SAMPLE, reports_dir=tmp_path / "reports")
    try:
        await core.registry.load()
        out = await ToolBox(core, tools.all_tools()).call(
            "get_ptp_status", {"window_minutes": 1440, "cluster": "ran-west"})  # fmt: skip
    finally:
        await core.shutdown()
    doc = json.loads(out.content)["result"]
    (du0,) = [p for p in doc["ports"] if p["node"] == "du-0"]
    assert du0["state"] == "LOCKED"
    c = du0["compliance"]
    assert c["sampled_pct"] == pytest.approx(c["locked_pct"], rel=1e-3) and c["sampled_pct"] < 10
    assert any("capture" in n and "unknown, not out of lock" in n for n in doc["notes"]), doc


# -- many unhealthy GPUs, one split into MIG instances -----------------------------------------
def _fleet(healthy_after: int = 29) -> GpuFleet:
    gpus = []
    for m in range(7):  # one GPU off the bus, 7 MIG instances: DCGM repeats its XID on each
        r = GpuReading("site-a", "node-0", "0", "GPU-x", model="H100", mig_id=str(m),
                       mig_profile="1g.10gb", xid=79, temperature_c=40.0)  # fmt: skip
        gpus.append(GpuHealth(r, GpuState.CRITICAL, ["XID 79 GPU has fallen off the bus"], False))
    for i in range(healthy_after):
        r = GpuReading("site-b", f"node-{i // 8}", str(i % 8), f"GPU-{i}", model="H100",
                       temperature_c=85.0)  # fmt: skip
        gpus.append(GpuHealth(r, GpuState.WARNING, [f"temperature 85 C (gpu {i})"], False))
    return GpuFleet(gpus, [])


async def _summary(fleet: GpuFleet) -> dict[str, Any]:
    async def gpu_fleet() -> GpuFleet:
        return fleet

    core = SimpleNamespace(gpu_cnf=SimpleNamespace(gpu_fleet=gpu_fleet), capture=None)
    out = await ToolBox(core, tools.all_tools()).call("get_gpu_summary", {})
    assert not out.is_error, out.content
    result: dict[str, Any] = json.loads(out.content)["result"]
    return result


@pytest.mark.asyncio
async def test_unhealthy_gpus_are_physical_and_those_left_out_counted() -> None:
    doc = await _summary(_fleet())
    assert doc["gpus"] == 30 and doc["by_state"] == {"CRITICAL": 1, "WARNING": 29}
    rows = doc["unhealthy"]
    assert doc["unhealthy_total"] == 30
    assert len({r["gpu"] for r in rows}) == len(rows) == tools.UNHEALTHY_ROWS
    assert doc["unhealthy_left_out"] == 30 - tools.UNHEALTHY_ROWS
    assert f"{30 - tools.UNHEALTHY_ROWS} left out" in doc["unhealthy_note"]
    first = rows[0]  # the MIG-split GPU, once, its instances named
    assert first["gpu"] == "site-a/node-0/gpu0" and first["state"] == "CRITICAL"
    assert first["mig_instances"] == [str(m) for m in range(7)]
    assert first["reasons"] == ["XID 79 GPU has fallen off the bus"] and first["xid"] == 79


@pytest.mark.asyncio
async def test_few_unhealthy_gpus_are_all_listed() -> None:
    doc = await _summary(_fleet(healthy_after=3))
    assert doc["unhealthy_total"] == len(doc["unhealthy"]) == 4
    assert "unhealthy_left_out" not in doc and "unhealthy_note" not in doc
