"""Error-log and error/slow-span rates as polled signals: the catalog's LogQL and TraceQL
metrics panels are read where a cluster has Loki or Tempo (``logs`` and ``traces`` sources),
into the live buffers and the store under the app's labels (namespace, pod, service), with
the minutes Loki and Tempo leave out counted as 0. Anomaly detection judges them (more errors,
never fewer), an anomaly on a pod's errors opens an incident on that pod, and RCA reads the
stored panels beside what it asks Loki and Tempo itself (the same count never twice).

Against the stand-in's Train Ticket day (tests/servers/loki_tempo_server.py): the poller's
clock is set to that day, 09:08:30, five minutes after the fault injected at 09:03:53."""

from __future__ import annotations

import asyncio
import json
import math
import typing
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import numpy as np
import pytest
from pydantic import ValidationError

from aiops_desktop.models import EndpointKind
from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.polling import Source
from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.services.core import Core
from aiops_desktop.services.intelligence.rca_logs_traces import ERROR_VOLUME
from aiops_desktop.services.polling.catalog import load_catalog
from aiops_desktop.services.polling.live import DEFAULT_CAPACITY
from aiops_desktop.services.polling.poller import Poller, _zero_filled
from aiops_desktop.store.series import SeriesBatch
from analysis.rca.model import SignalKind
from analysis.signals import PROFILES, SignalType, classify
from collectors.errors import CollectorBadResponse
from collectors.http import BackendClient
from collectors.tempo import TempoClient, parse_metrics
from tests.servers.loki_tempo import DAY, RunningLokiTempo

INJECTED = datetime(2023, 1, 29, 9, 3, 53, tzinfo=UTC)

#: Tempo's answer to a TraceQL metrics query, as it writes it (ids and times as strings)
TEMPO_METRICS = {
    "series": [
        {
            "labels": [
                {"key": "resource.service.name", "value": {"stringValue": "cart"}},
                {"key": "resource.k8s.pod.name", "value": {"stringValue": "cart-0"}},
            ],
            "promLabels": '{resource_service_name="cart", resource_k8s_pod_name="cart-0"}',
            "samples": [
                {"timestampMs": "1674982980000", "value": 0.25},
                {"timestampMs": "1674983040000"},  # no value: left out
                {"timestampMs": "1674983100000", "value": 1.5},
            ],
            "exemplars": [],
        }
    ]
}


def test_a_panel_runs_one_query_on_one_source() -> None:
    panels = {p.id: p for p in load_catalog()}
    assert panels["error_log_lines"].source is EndpointKind.LOKI
    assert panels["error_spans"].source is EndpointKind.TEMPO
    assert panels["node_cpu"].source is EndpointKind.PROMETHEUS
    assert panels["error_spans"].relabelled({"resource.k8s.pod.name": "a-0", "x": "1"}) == {
        "pod": "a-0", "x": "1"}  # fmt: skip
    for wrong in ({}, {"promql": "up", "logql": '{a="b"}'}):
        with pytest.raises(ValidationError, match="exactly one of"):
            Panel(id="p", title="P", **wrong)
    # the polled count is the one RCA asks Loki for over its window (one meaning of "error")
    assert panels["error_log_lines"].logql == ERROR_VOLUME.replace("[60s]", "[1m]")
    # errors are judged upward only: fewer errors than usual is never the anomaly
    assert classify("error_log_lines", "errors/min") is SignalType.ERROR_RATE
    assert PROFILES[SignalType.ERROR_RATE].upper_only
    assert classify("span_p99", "s") is SignalType.LATENCY


def test_each_panel_says_what_it_tells_rca_about_its_own_entity() -> None:
    panels = {p.id: p for p in load_catalog()}
    kinds = {p.id: SignalKind(p.rca_kind) for p in panels.values()}  # each one RCA knows
    assert set(typing.get_args(Panel.model_fields["rca_kind"].annotation)) == {
        k.value for k in SignalKind}  # fmt: skip
    assert kinds["node_cpu"] is SignalKind.RESOURCE and kinds["span_p99"] is SignalKind.LATENCY
    assert kinds["error_log_lines"] is kinds["error_spans"] is SignalKind.ERRORS
    assert kinds["apiserver_rate"] is SignalKind.TRAFFIC and kinds["ptp_offset"] is SignalKind.OTHER
    assert [p.id for p in panels.values() if p.counted] == ["error_log_lines"]  # whole lines
    assert Panel(id="mine", title="Mine", promql="up").rca_kind == "other"  # unsaid: no weight
    with pytest.raises(ValidationError, match="rca_kind"):
        Panel(id="mine", title="Mine", promql="up", rca_kind="cause")  # type: ignore[arg-type]


def test_tempo_metrics_are_read_as_tempo_writes_them() -> None:
    [series] = parse_metrics(TEMPO_METRICS)
    assert series.labels == {"resource.service.name": "cart", "resource.k8s.pod.name": "cart-0"}
    assert series.points == [(1674982980.0, 0.25), (1674983100.0, 1.5)]
    for bad in ([], {"series": [{"samples": [{"value": 1.0}]}]}):
        with pytest.raises(CollectorBadResponse):
            parse_metrics(bad)


@pytest.mark.asyncio
async def test_tempo_without_traceql_metrics_says_which_version_it_needs() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/metrics/query_range"
        assert request.url.params["step"] == "60s"
        return httpx.Response(404, text="404 page not found")

    http = BackendClient("http://tempo.test", name="tempo", text_backend=True,
                         transport=httpx.MockTransport(answer))  # fmt: skip
    client = TempoClient(http, "east")
    with pytest.raises(Exception, match=r"Tempo 2\.4 or later"):
        await client.metrics_range("{ status = error } | rate()", start_s=0, end_s=60, step_s=60)
    await client.aclose()


@pytest.mark.asyncio
async def test_a_long_tempo_metrics_window_is_asked_in_pieces_and_merged() -> None:
    asked: list[tuple[int, int]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        start, end = int(request.url.params["start"]), int(request.url.params["end"])
        asked.append((start, end))
        samples = [{"timestampMs": str(t * 1000), "value": 1.0} for t in (start, end)]
        return httpx.Response(200, json={"series": [{"labels": [
            {"key": "resource.k8s.pod.name", "value": {"stringValue": "cart-0"}}],
            "samples": samples}]})  # fmt: skip

    http = BackendClient("http://tempo.test", name="tempo",
                         transport=httpx.MockTransport(answer))  # fmt: skip
    client = TempoClient(http, "east")
    hour = 3600
    [series] = await client.metrics_range("{ } | rate()", start_s=0, end_s=7 * hour, step_s=60)
    await client.aclose()
    # pieces whole steps long and a step short of Tempo's 3 h: Tempo rounds a piece's ends
    # out to the step before it checks the 3 h, so even a start off the step is never refused
    piece = 3 * hour - 60
    assert asked == [(0, piece), (piece, 2 * piece), (2 * piece, 7 * hour)]
    assert all(end - start <= 3 * hour - 60 for start, end in asked)
    assert [t for t, _ in series.points] == [0, piece, 2 * piece, 7 * hour]  # once each


def test_a_step_without_errors_is_zero_and_a_quiet_series_keeps_going() -> None:
    panel = next(p for p in load_catalog() if p.id == "error_log_lines")
    raw = {"k8s_namespace_name": "shop", "k8s_pod_name": "cart-0"}
    ts, values = np.array([120.0, 241.0]), np.array([3.0, 5.0])  # 241: Loki's step, snapped
    quiet = (("namespace", "shop"), ("pod", "web-0"))  # known before, no errors this time
    found = _zero_filled(panel, [(raw, ts, values)], 61.0, 300.0, step=60.0, known=[quiet])
    by_pod = {panel.relabelled(r)["pod"]: (t, v) for r, t, v in found}
    assert by_pod["cart-0"][0].tolist() == [120.0, 180.0, 240.0, 300.0]
    assert by_pod["cart-0"][1].tolist() == [3.0, 0.0, 5.0, 0.0]
    assert by_pod["web-0"][1].tolist() == [0.0] * 4


def _poller(core: Core, at: datetime) -> Poller:
    return Poller(core.registry, core.pool, series=core.series, live=core.live, bus=core.bus,
                  supervisor=core.supervisor, catalog=core.catalog, clock=lambda: at)  # fmt: skip


def _fault_pod() -> str:
    faults = [f for hour in json.loads((DAY / "2023-01-29-fault_list.json").read_text()).values()
              for f in hour]  # fmt: skip
    fault = next(f for f in faults if f["inject_time"] == "2023-01-29 09:03:53")
    return str(fault["inject_pod"])


@pytest.mark.integration
@pytest.mark.asyncio
async def test_errors_from_loki_and_tempo_are_polled_per_pod(
    lab_core: Core, loki_tempo: RunningLokiTempo
) -> None:
    pod = _fault_pod()
    await lab_core.registry.add(ClusterSpec(name="plain", endpoint_urls={
        EndpointKind.PROMETHEUS: "http://127.0.0.1:9"}))  # fmt: skip
    at = INJECTED + timedelta(minutes=4, seconds=37)  # 09:08:30
    poller = _poller(lab_core, at)
    statuses = {
        (s.cluster, s.source): s for s in await poller.poll_once([lab_core.registry.get("lab")])
    }
    assert {Source.LOGS, Source.TRACES} <= {s for _, s in statuses}
    for source in (Source.HEALTH, Source.LOGS, Source.TRACES):
        assert statuses[("lab", source)].last_error is None, statuses[("lab", source)].last_error
    plain = lab_core.registry.get("plain")
    assert Source.LOGS not in poller._sources(plain) and Source.TRACES not in poller._sources(plain)

    logs = lab_core.live.snapshot("lab", "error_log_lines").series
    key = (("namespace", "train-ticket"), ("pod", pod))
    ts, counts = logs[key]
    assert np.all(np.diff(ts) == 60) and ts[-1] == 9 * 3600 + 8 * 60 + INJECTED.replace(
        hour=0, minute=0, second=0).timestamp()  # the last whole minute  # fmt: skip
    # read 13 h back at first, past the detector's probation (the store keeps it all, the
    # buffer its newest): a quiet minute is 0, not a gap
    assert ts.size == DEFAULT_CAPACITY and 0.0 in counts
    await asyncio.wrap_future(lab_core.series.flush())
    [stored] = [d for d in lab_core.series.read("error_log_lines", cluster="lab")
                if d.labels.get("pod") == pod]  # fmt: skip
    assert stored.timestamps_ms[0] / 1000 == ts[-1] - 13 * 3600 and stored.values.size == 781
    before, after = counts[ts <= INJECTED.timestamp()], counts[ts > INJECTED.timestamp() + 60]
    assert after.mean() > before.mean()  # the faulty pod logs more errors after the fault
    # Tempo's too, in queries of at most 3 h (its default cap: the stand-in refuses more)
    [spans_stored] = [d for d in lab_core.series.read("error_spans", cluster="lab")
                      if d.labels.get("pod") == pod]  # fmt: skip
    assert spans_stored.timestamps_ms[0] / 1000 == ts[-1] - 13 * 3600
    assert spans_stored.values.size == 781 and spans_stored.values[-30:].max() > 0
    asked = [parse_qs(urlparse(r.split(" ", 1)[1]).query) for r in loki_tempo.requests()
             if "/api/metrics/query_range" in r and "status+%3D+error" in r]  # fmt: skip
    spans_asked = [(int(q["start"][0]), int(q["end"][0])) for q in asked][-5:]
    assert all(0 < end - start <= 3 * 3600 for start, end in spans_asked)
    assert spans_asked[0][0] == ts[-1] - 13 * 3600 - 60 and spans_asked[-1][1] == ts[-1]
    spans = lab_core.live.snapshot("lab", "error_spans").series
    mine = [k for k in spans if dict(k).get("pod") == pod]
    assert mine and dict(mine[0])["service"] and dict(mine[0])["namespace"] == "train-ticket"
    assert spans[mine[0]][1].max() > 0
    assert any(v.size for _, v in lab_core.live.snapshot("lab", "span_p99").series.values())

    # a poll within the same minute has nothing whole to read: it asks nothing, adds nothing
    again = _poller(lab_core, at + timedelta(seconds=20))
    again._since, again._answered = poller._since, poller._answered  # the same poller, later
    before_requests = len(loki_tempo.requests())
    await again.run_source(lab_core.registry.get("lab"), Source.LOGS)
    await again.run_source(lab_core.registry.get("lab"), Source.TRACES)
    assert not [r for r in loki_tempo.requests()[before_requests:] if "query_range" in r]
    assert lab_core.live.snapshot("lab", "error_log_lines").series[key][0].size == ts.size
    # the next poll reads on from the newest minute held: nothing twice
    later = _poller(lab_core, at + timedelta(minutes=2))
    later._since, later._answered = poller._since, poller._answered
    before_requests = len(loki_tempo.requests())
    await later.run_source(lab_core.registry.get("lab"), Source.LOGS)
    asked = [r for r in loki_tempo.requests()[before_requests:] if "query_range" in r]
    start_ns = int(parse_qs(urlparse(asked[-1].split(" ", 1)[1]).query)["start"][0])
    assert start_ns == int((ts[-1] + 60) * 1e9)
    ts2, _ = lab_core.live.snapshot("lab", "error_log_lines").series[key]
    assert np.all(np.diff(ts2) == 60) and ts2[-1] == ts[-1] + 120

    # RCA reads the stored panels; the pod's error lines are counted once (asked of Loki)
    await asyncio.wrap_future(lab_core.series.flush())
    result = await lab_core.rca.for_cluster("lab", ["lab"], INJECTED + timedelta(minutes=5))
    cause = next(c for c in result.causes if pod in c.entity)
    names = [e.signal for e in cause.evidence]
    assert any(n.startswith("error_spans ") for n in names), names
    assert "error log lines" in names and not any(n.startswith("error_log_lines") for n in names)


@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_tempo_without_traceql_metrics_is_left_alone_not_failing(
    lab_core: Core, loki_tempo: RunningLokiTempo
) -> None:
    """Tempo before 2.4 answers 404 to TraceQL metrics: the traces source is not a failing
    one (no error counted: the wall counts nothing failing), its status says why (it was
    deleted, and nothing told why the trace panels went), its panels are not offered, and it
    is asked again later."""
    poller = _poller(lab_core, INJECTED)
    lab = lab_core.registry.get("lab")
    loki_tempo.fault("404")
    assert await poller.run_source(lab, Source.TRACES)
    assert "Tempo 2.4 or later" in poller.unsupported[("lab", Source.TRACES)]
    status = poller.status[("lab", Source.TRACES)]
    assert status.consecutive_errors == 0 and status.last_error.startswith("not offered: ")
    assert await poller.run_source(lab, Source.TRACES)  # an upgraded Tempo: read again
    assert not poller.unsupported and poller.status[("lab", Source.TRACES)].last_error is None


@pytest.mark.asyncio
async def test_a_burst_of_error_lines_is_an_anomaly_and_opens_an_incident_on_its_pod(
    core: Core,
) -> None:
    """Twelve quiet hours of a pod's error lines a minute (the first six stored, the rest in
    the live buffer), then a burst: the live path reports it on that pod; a pod whose errors
    fall silent is not an anomaly."""
    labels = {"namespace": "shop", "pod": "cart-0"}
    calm = {"namespace": "shop", "pod": "web-0"}
    end = int(core.now().timestamp()) // 60 * 60
    ts = np.arange(end - 1080 * 60, end + 1, 60.0)
    rng = np.random.default_rng(3)
    burst = rng.poisson(1.0, ts.size).astype(float)
    burst[-4:] = [40.0, 55.0, 61.0, 58.0]
    quiet = rng.poisson(20.0, ts.size).astype(float)
    quiet[-4:] = 0.0  # errors stop: better, not an anomaly
    stored = ts < ts[-720]
    await asyncio.wrap_future(core.series.append([
        SeriesBatch("east", "error_log_lines", labels, (ts[stored] * 1000).astype(np.int64),
                    burst[stored]),
        SeriesBatch("east", "error_log_lines", calm, (ts[stored] * 1000).astype(np.int64),
                    quiet[stored]),
    ]))  # fmt: skip
    await asyncio.wrap_future(core.series.flush())
    core.live.append("east", "error_log_lines", labels, ts[~stored], burst[~stored])
    core.live.append("east", "error_log_lines", calm, ts[~stored], quiet[~stored])
    await core.anomalies.analyse_live(force=True)
    found = core.anomalies.for_panel("east", "error_log_lines")
    assert found and {a.labels["pod"] for a in found} == {"cart-0"}, found
    assert max(a.timestamp.timestamp() for a in found) >= ts[-4]
    assert all(
        math.isfinite(a.actual) and a.actual >= 40
        for a in found
        if a.timestamp.timestamp() >= ts[-4]
    )
    await core.incidents.refresh()
    incidents = await core.incidents.listed()
    mine = [i for i in incidents if any(s.entity == "east pod shop/cart-0" for s in i.signals)]
    assert mine and "pod:shop/cart-0" in {t for s in mine[0].signals for t in s.topology}
