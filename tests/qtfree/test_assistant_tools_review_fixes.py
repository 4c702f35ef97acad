"""The assistant's tools, as reviewers found them: a query answering many series held the event
loop (the Qt thread), a headless process's first poll of a wedged endpoint made every fleet
tool time out, a timed-out anomaly detection held the one detection worker, the MCP server's
answers ignored ``llm.redact_ips``, ``get_ptp_status(problems_only=True)`` dropped faulty
LOCKED ports, and a range query could ask Prometheus for more than 11,000 points."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models.cluster import Cluster, Endpoint
from aiops_desktop.models.enums import EndpointKind, QueryStatus
from aiops_desktop.models.metrics import MetricQuery, PromSeries, QueryAnswer, TaggedSeries
from aiops_desktop.models.polling import SourceStatus
from aiops_desktop.models.ptp import DEFAULT_THRESHOLD, ClockState, PtpBoard, PtpRow
from aiops_desktop.services.assistant import tools
from aiops_desktop.services.assistant.toolbox import (
    CALL_TIMEOUT_S,
    MAX_ROWS,
    Tool,
    ToolBox,
    ToolInput,
)
from aiops_desktop.services.gpu_cnf.ptp import board_rows
from analysis.detectors.live import PROBATION

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _tagged(cluster: str, labels: dict[str, str], points: int = 1, step: float = 1.0
            ) -> TaggedSeries:  # fmt: skip
    stamps = NOW.timestamp() - step * np.arange(points)[::-1]
    return TaggedSeries(cluster, PromSeries(labels, stamps, np.ones(points)))


class _Queries:
    """``core.queries``: answers the given series, and keeps what it was asked."""

    def __init__(self, series: list[TaggedSeries]) -> None:
        self.series = series
        self.asked: list[MetricQuery] = []

    async def run(self, query: MetricQuery, clusters: Any) -> QueryAnswer:
        self.asked.append(query)
        return QueryAnswer(query, QueryStatus.SUCCESS, self.series, [], 1.0)


def _core(answered: list[TaggedSeries], **more: Any) -> Any:
    return SimpleNamespace(
        catalog=[], capture=None, now=lambda: NOW, queries=_Queries(answered),
        console=SimpleNamespace(targets=lambda names: ([SimpleNamespace(name="c0")], None)),
        **more,
    )  # fmt: skip


# -- A3: many series are summarised off the event loop ---------------------------------------
@pytest.mark.asyncio
async def test_query_metrics_over_many_series_does_not_hold_the_event_loop() -> None:
    series = [_tagged(f"c{i % 20}", {"__name__": "up", "pod": f"pod-{i}", "uid": f"{i:032x}"})
              for i in range(20_000)]  # fmt: skip
    box = ToolBox(_core(series), tools.all_tools())
    gaps: list[float] = []

    async def ticker() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            gaps.append(time.perf_counter() - before)

    ticks = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    try:
        out = await box.call("query_metrics", {"promql": "up"})
        await asyncio.sleep(0.05)  # the ticker sees the loop again: a stall ends its sleep
    finally:
        ticks.cancel()
        with pytest.raises(asyncio.CancelledError):
            await ticks
    assert not out.is_error, out.content
    assert max(gaps) < 1.0, f"the event loop was held {max(gaps):.2f} s"
    doc = json.loads(out.content)["result"]
    assert doc["series_count"] == 20_000
    assert 0 < len(doc["series"]) <= MAX_ROWS
    assert doc["series_left_out"] == 20_000 - len(doc["series"])  # the rows the answer holds
    assert doc["series"][0]["cluster"] == "c0" and doc["series"][0]["labels"]["pod"] == "pod-0"
    assert "left out" in doc["note"]


# -- A4: a headless process's first poll has a budget of its own -----------------------------
class _WedgedPoller:
    """One cluster answers at once, the other never (until released)."""

    def __init__(self) -> None:
        self.status: dict[tuple[str, str], SourceStatus] = {}
        self.polls = 0
        self.release = asyncio.Event()
        self.finished = asyncio.Event()

    async def poll_once(self) -> list[SourceStatus]:
        self.polls += 1
        ok = SourceStatus("ok", "metrics", 30.0, polls=1, last_attempt=NOW, last_success=NOW)
        wedged = SourceStatus("wedged", "metrics", 30.0, polls=1, last_attempt=NOW)
        self.status = {("ok", "metrics"): ok, ("wedged", "metrics"): wedged}
        await self.release.wait()
        wedged.consecutive_errors = wedged.total_errors = 1
        wedged.last_error = "the poll's time limit (30 s) ended it"
        self.finished.set()
        return [ok, wedged]


@pytest.mark.asyncio
async def test_a_wedged_endpoint_leaves_the_first_poll_unfinished_not_the_tools(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tools.FIRST_POLL_S < CALL_TIMEOUT_S  # the poll's budget leaves the tool time to answer
    monkeypatch.setattr(tools, "FIRST_POLL_S", 0.3)
    poller = _WedgedPoller()
    truth = SimpleNamespace(
        at=NOW, get=lambda name: SimpleNamespace(as_json=lambda: {"name": name})
    )
    core = _core([], poller=poller, fleet=SimpleNamespace(current=_async(truth)),
                 series=SimpleNamespace(cluster_names=lambda: []),
                 registry=SimpleNamespace(targets=lambda names: ([SimpleNamespace(name="ok")],
                                                                 None),
                                          members=lambda cluster, stored: []))  # fmt: skip
    box = ToolBox(core, tools.all_tools(), timeout_s=5.0)
    try:
        started = time.perf_counter()
        out = await box.call("get_cluster_status", {"cluster": "ok"})
        assert not out.is_error, out.content
        assert time.perf_counter() - started < 3.0
        doc = json.loads(out.content)["result"]
        assert doc["name"] == "ok"
        assert any(u.startswith("wedged/metrics: not answered") for u in doc["unread"])
        assert not any(u.startswith("ok/") for u in doc["unread"])

        started = time.perf_counter()  # the poll still under way: not started again, not waited
        again = await box.call("get_cluster_status", {"cluster": "ok"})
        assert time.perf_counter() - started < 0.2
        assert poller.polls == 1
        assert "wedged/metrics" in again.content
    finally:
        poller.release.set()
    await asyncio.wait_for(poller.finished.wait(), 2.0)
    await asyncio.sleep(0)
    assert await tools._polled(core) == []  # finished: said by the sources' own status from now on
    assert poller.polls == 1


class _Poller:
    """A poller that has read every source (the window's)."""

    def __init__(self) -> None:
        ok = SourceStatus("ok", "metrics", 30.0, polls=1, last_attempt=NOW, last_success=NOW)
        self.status = {("ok", "metrics"): ok}


@pytest.mark.asyncio
async def test_a_wedged_findings_read_leaves_the_fleet_as_last_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tools.FIRST_POLL_S + tools.FLEET_READ_S < CALL_TIMEOUT_S
    monkeypatch.setattr(tools, "FLEET_READ_S", 0.3)
    release = asyncio.Event()
    reads: list[str] = []

    def truth(read: str) -> Any:
        cluster = SimpleNamespace(as_json=lambda: {"name": "ok", "read": read})
        return SimpleNamespace(at=NOW, get=lambda name: cluster)

    async def current() -> Any:  # every cluster's Prometheus at once: one never answers
        reads.append("asked")
        await release.wait()
        return truth("now")

    fleet = SimpleNamespace(current=current, last=truth("last"), snapshot=lambda: truth("last"))
    core = _core([], poller=_Poller(), fleet=fleet,
                 series=SimpleNamespace(cluster_names=lambda: []),
                 registry=SimpleNamespace(targets=lambda names: ([SimpleNamespace(name="ok")],
                                                                 None),
                                          members=lambda cluster, stored: []))  # fmt: skip
    box = ToolBox(core, tools.all_tools(), timeout_s=5.0)
    for _ in range(2):  # the second call waits for the same read: no second beside it
        out = await box.call("get_cluster_status", {"cluster": "ok"})
        assert not out.is_error, out.content
        doc = json.loads(out.content)["result"]
        assert doc["read"] == "last"
        assert [u for u in doc["unread"] if u.startswith("findings: not read again")]
    assert reads == ["asked"]
    release.set()
    await asyncio.sleep(0.01)
    doc = json.loads((await box.call("get_cluster_status", {"cluster": "ok"})).content)["result"]
    assert doc["read"] == "now" and "unread" not in doc


def _async(value: Any) -> Any:
    async def get() -> Any:
        return value

    return get


# -- A5: a detection the tool starts is bounded -----------------------------------------------
@pytest.mark.asyncio
async def test_detect_anomalies_submits_a_bounded_job() -> None:
    series = [_tagged(f"c{i % 5}", {"pod": f"p{i:03}"}, points=3000, step=15.0)
              for i in range(200)]  # fmt: skip
    given: list[Any] = []

    async def analyse(inputs: list[Any], **kwargs: Any) -> list[Any]:
        given.extend(inputs)
        return []

    core = _core(series, anomalies=SimpleNamespace(analyse=analyse))
    doc = await tools.detect_anomalies(
        core, tools.DetectAnomaliesInput(promql="up", since_minutes=1440)
    )
    (query,) = core.queries.asked
    assert query.step.total_seconds() >= 1440 * 60 / tools.DETECT_POINTS
    assert 0 < len(given) <= tools.DETECT_SERIES
    assert all(s.values.size <= tools.DETECT_POINTS + PROBATION for s in given)
    assert all(s.ts[-1] == NOW.timestamp() for s in given)  # the newest point kept
    assert (doc["series"], doc["series_found"]) == (len(given), 200)
    assert f"{tools.DETECT_SERIES} series" in doc["limits"]
    assert f"{tools.DETECT_POINTS} points" in doc["limits"]


# -- A6: the MCP server's answers follow llm.redact_ips ---------------------------------------
class _NoArgs(ToolInput):
    pass


async def _with_ips(core: Any, args: Any) -> dict[str, Any]:
    return {"series": [{"labels": {"instance": "10.20.30.40:9100", "node": "du-2"}}],
            "finding": "kubelet on 192.168.7.12 not ready", "v6": "fd00::1"}  # fmt: skip


@pytest.mark.asyncio
async def test_a_toolbox_asked_to_redact_ips_replaces_them() -> None:
    tool = Tool("query_metrics", "d", _NoArgs, _with_ips)
    kept = await ToolBox(None, [tool]).call("query_metrics", {})  # type: ignore[arg-type]
    assert "10.20.30.40" in kept.content  # the chat's model client redacts them itself
    out = await ToolBox(None, [tool], redact_ips=True).call("query_metrics", {})  # type: ignore[arg-type]
    assert not out.is_error
    for ip in ("10.20.30.40", "192.168.7.12", "fd00::1"):
        assert ip not in out.content
    assert "[IP]" in out.content and "du-2" in out.content


@pytest.mark.asyncio
async def test_aiops_desktop_mcp_serves_with_the_persons_redact_ips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aiops_desktop.cli import assistant
    from aiops_desktop.services.assistant import mcp_server

    served: list[ToolBox] = []

    async def serve(toolbox: ToolBox) -> None:
        served.append(toolbox)

    monkeypatch.setattr(mcp_server, "serve_stdio", serve)
    tool = Tool("query_metrics", "d", _NoArgs, _with_ips)
    core = SimpleNamespace(
        tools=ToolBox(None, [tool]),  # type: ignore[arg-type]
        llm=SimpleNamespace(settings=SimpleNamespace(redact_ips=True)),
    )
    await assistant._mcp(core, argparse.Namespace(), None)  # type: ignore[arg-type]
    (box,) = served
    assert box.names() == ["query_metrics"]
    out = await box.call("query_metrics", {})
    assert "10.20.30.40" not in out.content and "[IP]" in out.content


# -- H5: problems_only keeps every port the board flags --------------------------------------
def _s(value: float, **labels: str) -> TaggedSeries:
    return TaggedSeries("ran", PromSeries(labels, np.array([1000.0]), np.array([float(value)])))


@pytest.mark.asyncio
async def test_ptp_problems_only_keeps_a_faulty_locked_port() -> None:
    port = {"node": "du-1", "iface": "ens2fx", "process": "ptp4l"}
    config = {"node": "du-1", "process": "ptp4l", "config": "ptp4l.0.config"}
    rows = board_rows({
        "clock_state": [_s(1, **port)], "offset": [_s(8, **port)],
        "role": [_s(3, **port)],  # FAULTY
        "process_status": [_s(0, **config)], "clock_class": [_s(248, **config)],
    })  # fmt: skip
    (faulty,) = rows
    assert faulty.state is ClockState.LOCKED and faulty.needs_attention
    fine = PtpRow("ran", "du-2", "ens1f0", "ptp4l", ClockState.LOCKED, offset_ns=5.0,
                  role="SLAVE", offset_in=True)  # fmt: skip
    unknown = PtpRow("ran", "du-3", "ens1f0", "ptp4l", ClockState.UNKNOWN)
    board = PtpBoard([faulty, fine, unknown], timedelta(hours=1), DEFAULT_THRESHOLD, [])

    async def ptp_board(_range: Any) -> tuple[PtpBoard, list[str]]:
        return board, []

    core = SimpleNamespace(gpu_cnf=SimpleNamespace(ptp_board=ptp_board))
    doc = await tools.get_ptp_status(core, tools.PtpInput(problems_only=True))  # type: ignore[arg-type]
    assert [(p["node"], p["role"]) for p in doc["ports"]] == [("du-1", "FAULTY")]
    assert doc["by_state"] == {"LOCKED": 2, "UNKNOWN": 1}
    said = tools.PtpInput.model_json_schema()["properties"]["problems_only"]["description"]
    assert "UNKNOWN" in said


# -- Q8: a range query never asks for more than Prometheus answers ---------------------------
@pytest.mark.asyncio
async def test_a_range_query_asks_at_most_11000_points() -> None:
    """Through the query layer the tools share with the console (its coarser step and its
    note): a day at 5 s asked 17,280 points, and every cluster refused it."""
    from aiops_desktop.services.queries.multicluster import MultiClusterQuery
    from collectors.prometheus import PromResult

    class Prom:
        def __init__(self) -> None:
            self.ranges: list[float] = []

        async def query_range(self, promql: str, start: float, end: float, step: float,
                              timeout_s: float | None = None) -> PromResult:  # fmt: skip
            self.ranges.append(step)
            return PromResult("matrix", [], [])

    class Pool:
        prom = Prom()

        async def prometheus(self, cluster: Any) -> Prom:
            return self.prom

    c0 = Cluster(name="east-1", endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS,
                                                 url="http://east-1.invalid:9090")])  # fmt: skip
    pool = Pool()
    core = _core([])
    core.queries = MultiClusterQuery(pool)  # type: ignore[arg-type]
    core.console = SimpleNamespace(targets=lambda names: ([c0], None))
    args = tools.QueryMetricsInput(promql="up", range_minutes=1440, step_seconds=5)
    doc = await tools.query_metrics(core, args)
    assert pool.prom.ranges == [8] and 86_400 / 8 <= 10_999  # ceil(86,400 / 10,999)
    assert doc["step_seconds"] == 8
    assert "11,000" in doc["note"]
    doc = await tools.query_metrics(core, tools.QueryMetricsInput(promql="up", range_minutes=60,
                                                                  step_seconds=5))  # fmt: skip
    assert pool.prom.ranges[-1] == 5 and doc["step_seconds"] == 5 and "note" not in doc


@pytest.mark.parametrize("minutes", [60, 180, 1440])
@pytest.mark.asyncio
async def test_detect_anomalies_reads_what_the_detector_learns_from_before_the_window(
    minutes: int,
) -> None:
    """The detector learns from a series' first 750 samples: the tool read at most 720 over
    the lookback and so judged none, every call "no anomalies". It reads them before the
    window and reports only what lies in the window."""
    from aiops_desktop.models.enums import Sensitivity
    from analysis.detect import detect_all

    lead = PROBATION
    step = max(15, -(-minutes * 60 // tools.DETECT_POINTS))
    # as Prometheus answers the range: both its ends (at 3 h and more, 720 + 750 + 1 points
    # were thinned to every second one, under the 750 the detector learns from: none judged)
    count = minutes * 60 // step + lead + 1
    values = 40 + np.random.default_rng(3).normal(0, 1, count)
    spike = count - 1 - 1500 // step  # 25 min ago
    values[[lead - 3, spike]] = 400.0  # one in what is read to learn from, one in the window
    stamps = NOW.timestamp() - step * np.arange(count)[::-1]
    series = [TaggedSeries("c0", PromSeries({"pod": "p0"}, stamps, values))]

    async def analyse(inputs: list[Any], **kwargs: Any) -> list[Any]:
        assert all(i.values.size == count for i in inputs)  # none thinned away
        found = detect_all(inputs, Sensitivity.MEDIUM, None, None, None)
        asked = kwargs["report_from"]  # as the service: what lies before is not reported
        return [a for a in found if (a.last_at or a.timestamp).timestamp() >= asked]

    core = _core(series, anomalies=SimpleNamespace(analyse=analyse))
    doc = await tools.detect_anomalies(
        core, tools.DetectAnomaliesInput(promql="app_queue_depth", since_minutes=minutes)
    )
    (query,) = core.queries.asked
    assert query.start == NOW - timedelta(minutes=minutes) - timedelta(seconds=lead * step)
    found = [a for a in doc["anomalies"] if a["grade"] == "HIGH"]
    assert [a["timestamp"] for a in found] == [
        datetime.fromtimestamp(stamps[spike], UTC).isoformat(timespec="seconds")
    ]
    asked_from = (NOW - timedelta(minutes=minutes)).isoformat(timespec="seconds")
    assert all(a["timestamp"] >= asked_from for a in doc["anomalies"])
    assert doc["partly_judged"] == 0 and doc["too_short"] == 0


@pytest.mark.asyncio
async def test_a_stored_series_lead_is_read_at_the_slowest_poll_step() -> None:
    """A capture's stored series are at the poll's step (30 s), not the tool's (15 s for an
    hour): the lead read at the tool's step held 375 samples, and every series was too
    short to judge."""
    from aiops_desktop.models.catalog import Panel

    asked: list[tuple[int, int]] = []

    def read(panel: str, *, start_ms: int, end_ms: int, **_: Any) -> list[Any]:
        asked.append((start_ms, end_ms))
        return []

    async def analyse(inputs: list[Any], **kwargs: Any) -> list[Any]:
        return []

    core = SimpleNamespace(
        catalog=[Panel(id="gpu_temperature", title="GPU temperature",
                       promql="DCGM_FI_DEV_GPU_TEMP")],
        capture=object(), now=lambda: NOW, series=SimpleNamespace(read=read),
        anomalies=SimpleNamespace(analyse=analyse),
    )  # fmt: skip
    doc = await tools.detect_anomalies(
        core, tools.DetectAnomaliesInput(promql="gpu_temperature", since_minutes=60)
    )
    assert doc["source"] == "stored"
    [(start_ms, end_ms)] = asked
    reach_s = (end_ms - start_ms) / 1000
    assert reach_s >= 3600 + PROBATION * tools.STORED_STEP_S
