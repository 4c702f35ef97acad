"""A capture never looks fine where its export could not see (found in review):

1. a cluster whose Prometheus failed the export's check, or whose Kubernetes API failed, or
   whose reads the export's time cut, has failed entries recorded for it (opened: not read,
   never OK 100 or not configured), and the export says so on stderr and exits 3;
2. a recorded answer gives only the series of the clusters asked (and a hub's members);
3. the clusters' logs and traces are read side by side, each within its own limit: one slow
   Loki loses only its own lines, said as not read;
4. a crafted answer whose timestamps are nested lists, or not finite, is refused on open."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import Cluster, ClusterKind, EndpointKind, QueryStatus, utcnow
from aiops_desktop.models.cluster import ClusterStatus
from aiops_desktop.models.fleet import Coverage, Health
from aiops_desktop.models.metrics import (
    ClusterOutcome,
    MetricQuery,
    PromSeries,
    QueryAnswer,
    TaggedSeries,
)
from aiops_desktop.models.observability import LogEntry, LogResult
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.services.core import Core
from aiops_desktop.services.kube.session import SRIOV_STATES
from aiops_desktop.services.outputs import capture as cap
from aiops_desktop.services.outputs import recorded
from aiops_desktop.services.outputs.capture import export_capture, open_capture
from aiops_desktop.services.outputs.recorded import RecordedQueries
from aiops_desktop.services.outputs.recorded_logs import (
    NotRecorded,
    read_recorded,
    record_logs_traces,
)
from aiops_desktop.store.capture import CaptureError
from tests.qtfree.cli_runner import call_main
from tests.servers.processes import free_port
from tests.site_data import TOKEN, build_site

AT = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def _answer(query: MetricQuery, outcomes: list[ClusterOutcome],
            series: list[TaggedSeries] | None = None) -> QueryAnswer:  # fmt: skip
    ok = sum(o.ok for o in outcomes)
    status = (QueryStatus.SUCCESS if ok == len(outcomes) else
              QueryStatus.PARTIAL if ok else QueryStatus.ERROR)  # fmt: skip
    return QueryAnswer(query, status, series or [], outcomes, 1.0)


class WestDown:
    """Every Prometheus answers (nothing found) but west's: connection refused. What each
    cluster was asked is kept."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def run(self, query: MetricQuery, clusters: list[Cluster]) -> QueryAnswer:
        self.asked += [c.name for c in clusters]
        return _answer(query, [
            ClusterOutcome(c.name, False, 1.0, reason="unreachable",
                           error="west: connection refused")
            if c.name == "west" else ClusterOutcome(c.name, True, 1.0, series=0)
            for c in clusters
        ])  # fmt: skip


async def _fleet(opened: Core) -> dict[str, Any]:
    await opened.registry.load()
    return {t.name: t for t in (await opened.fleet.refresh()).clusters}


# -- 1: what the export could not read is recorded as failed, and said ---------------------


@pytest.mark.asyncio
async def test_a_prometheus_down_at_export_opens_as_not_read(core: Core, tmp_path: Path) -> None:
    await build_site(core)
    live = WestDown()
    core.__dict__["queries"] = live
    out, not_read = tmp_path / "x.aiops", list[str]()
    await export_capture(core, out, clusters=["east", "west"], since=timedelta(hours=2),
                         not_read=not_read)  # fmt: skip
    assert live.asked.count("west") == 1  # the check only: nothing more was asked of it
    assert [line for line in not_read if line.startswith("west/")] == [
        "west/metrics: west: connection refused"
    ]
    assert not any(line.startswith("east/") for line in not_read)
    opened = await asyncio.to_thread(open_capture, out)
    try:
        truth = await _fleet(opened)
        assert truth["west"].coverage["findings"] is Coverage.UNREACHABLE
        assert truth["west"].state is not Health.OK and truth["west"].health_score != 100
        assert "connection refused" in truth["west"].unread["findings"]
        assert "findings" not in truth["east"].unread
    finally:
        await opened.shutdown()


class Hangs:
    """East answers at once; a query of west never returns."""

    async def run(self, query: MetricQuery, clusters: list[Cluster]) -> QueryAnswer:
        if any(c.name == "west" for c in clusters) and query.promql != "vector(1)":
            await asyncio.sleep(3600)
        return _answer(query, [ClusterOutcome(c.name, True, 1.0, series=0) for c in clusters])


@pytest.mark.asyncio
async def test_the_queries_the_export_had_no_time_for_are_recorded_failed(
    core: Core, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await build_site(core)
    core.__dict__["queries"] = Hangs()
    monkeypatch.setattr(cap, "RECORD_TIMEOUT_S", 0.5)
    out, not_read = tmp_path / "x.aiops", list[str]()
    await export_capture(core, out, clusters=["east", "west"], since=timedelta(hours=2),
                         not_read=not_read)  # fmt: skip
    assert any(line.startswith("west/metrics: ") and "0.5 s" in line for line in not_read)
    opened = await asyncio.to_thread(open_capture, out)
    try:
        truth = await _fleet(opened)
        # never asked (the time was spent), all the same not read: not "not recorded"
        assert truth["west"].coverage["findings"] is Coverage.UNREACHABLE
        assert truth["west"].state is not Health.OK
        assert "not read within the export's 0.5 s" in truth["west"].unread["findings"]
    finally:
        await opened.shutdown()


@pytest.mark.asyncio
async def test_a_kubernetes_api_down_at_export_is_recorded_failed(
    core: Core, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await core.registry.add(ClusterSpec(name="kapi", api_server_url=f"https://127.0.0.1:{free_port()}"),
                            ClusterSecrets(token=TOKEN))  # fmt: skip
    monkeypatch.setattr(cap, "RECORD_TIMEOUT_S", 20.0)
    out, not_read = tmp_path / "x.aiops", list[str]()
    await export_capture(core, out, clusters=["kapi"], since=timedelta(hours=2),
                         not_read=not_read)  # fmt: skip
    assert [line.split(": ")[0] for line in not_read] == ["kapi/kubernetes"]
    opened = await asyncio.to_thread(open_capture, out)
    try:
        await opened.registry.load()
        with pytest.raises(recorded.FailedAtExport) as failed:
            await opened.kube.objects("kapi", SRIOV_STATES)
        assert failed.value.reason == "unreachable" and "kapi" in str(failed.value)
        answers = await opened.kube.objects_of_each(SRIOV_STATES)
        assert isinstance(answers["kapi"], recorded.FailedAtExport)
        truth = (await opened.fleet.refresh()).get("kapi")  # as it was live: not NOT CONFIGURED
        assert truth is not None and truth.coverage["kubernetes"] is Coverage.UNREACHABLE
    finally:
        await opened.shutdown()


def test_the_export_command_says_what_it_could_not_read_and_exits_3(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, _, err = call_main(home, "clusters", "add", "dark-1", "--prometheus-url",
                             f"http://127.0.0.1:{free_port()}")  # fmt: skip
    assert code == 0, err
    code, _, err = call_main(home, "capture", "export", "--clusters", "dark-1", "--out",
                             str(tmp_path / "dark.aiops"))  # fmt: skip
    assert code == 3, err
    assert "unread: dark-1/metrics: " in err
    assert "sources could not be read: the capture shows them as not read" in err


# -- 2: a recorded answer is the asked clusters' ---------------------------------------------


def _row(cluster: str, value: float) -> list[Any]:
    return [cluster, {"gpu": "0"}, [AT.timestamp()], [value]]


DOC = {"INSTANT DCGM_FI_DEV_GPU_TEMP": [_row("east", 40.0), _row("west", 95.0),
                                        _row("ran-a", 50.0), _row("hub", 60.0)]}  # fmt: skip
PROM = {"endpoints": [{"kind": EndpointKind.PROMETHEUS, "url": "http://prometheus:9090"}]}
EAST, WEST = (Cluster.model_validate({"name": n, **PROM}) for n in ("east", "west"))


def _hub(*members: str) -> Cluster:
    return Cluster.model_validate({"name": "hub", "kind": ClusterKind.FLEET, **PROM,
                                   "status": ClusterStatus(members=list(members))})  # fmt: skip


@pytest.mark.asyncio
async def test_a_recorded_answer_gives_only_the_clusters_asked() -> None:
    replayed = RecordedQueries(None, DOC, ends=AT)  # type: ignore[arg-type]
    query = MetricQuery(promql="DCGM_FI_DEV_GPU_TEMP", end=AT)

    async def asked(*clusters: Cluster) -> list[str]:
        answer = await replayed.run(query, list(clusters))
        assert answer.status is QueryStatus.SUCCESS
        return sorted(t.cluster for t in answer.series)

    assert await asked(EAST) == ["east"]
    assert await asked(EAST, WEST) == ["east", "west"]
    assert await asked(_hub("ran-a")) == ["hub", "ran-a"]  # a hub: its own and its members'
    assert await asked(_hub()) == ["east", "hub", "ran-a", "west"]  # naming none: not known
    answer = await replayed.run(query, [EAST, WEST])
    assert [(o.cluster, o.series) for o in answer.outcomes] == [("east", 1), ("west", 1)]
    # a cluster recorded with nothing found is answered so, not as "recorded later"
    none = await replayed.run(query, [Cluster.model_validate({"name": "north", **PROM})])
    assert none.status is QueryStatus.SUCCESS and none.series == []


@pytest.mark.asyncio
async def test_the_gpu_command_over_a_capture_lists_only_the_clusters_asked(
    core: Core, tmp_path: Path
) -> None:
    class BothHot:
        async def run(self, query: MetricQuery, clusters: list[Cluster]) -> QueryAnswer:
            series = []
            if "DCGM" in query.promql:
                labels = {"Hostname": "node-0", "gpu": "0", "modelName": "NVIDIA H100"}
                now = np.array([utcnow().timestamp()])
                series = [TaggedSeries(c.name, PromSeries(labels | {"UUID": f"GPU-{c.name}"},
                                                          now, np.array([95.0])))
                          for c in clusters]  # fmt: skip
            return _answer(query, [ClusterOutcome(c.name, True, 1.0) for c in clusters], series)

    await build_site(core)
    core.__dict__["queries"] = BothHot()
    out = tmp_path / "x.aiops"
    await export_capture(core, out, clusters=["east", "west"], since=timedelta(hours=2))
    _, printed, err = await asyncio.to_thread(
        call_main, tmp_path / "other", "--capture", str(out), "gpu", "--clusters", "east"
    )
    assert "east/node-0/gpu0" in printed, err
    assert "west" not in printed


# -- 3: the clusters' logs, side by side, each within its own limit ---------------------------


class Logs:
    """Loki of clusters answering three error lines each after ``delays`` seconds."""

    def __init__(self, delays: dict[str, float]) -> None:
        self.delays = delays

    async def logs(self, cluster: str, logql: str, *, end: datetime, **_: object) -> LogResult:
        await asyncio.sleep(self.delays[cluster])
        ns = (int(end.timestamp()) - 60) * 10**9  # a minute before the window's end
        return LogResult(entries=[LogEntry(cluster=cluster, timestamp_ns=ns - i,
                                           line=f"ERROR {i}",
                                           labels={"k8s_namespace_name": "ns"})
                                  for i in range(3)])  # fmt: skip

    async def traces(self, *a: object, **k: object) -> list[Any]:
        return []


def _loki(name: str) -> Cluster:
    return Cluster.model_validate({"name": name, "endpoints": [
        {"kind": EndpointKind.LOKI, "url": "http://loki:3100"}]})  # fmt: skip


@pytest.mark.asyncio
async def test_one_slow_loki_loses_only_its_own_lines() -> None:
    logs = Logs({"fast": 0.0, "slow": 3600.0, "also": 0.0})
    not_read: list[str] = []
    text = await record_logs_traces(logs, [_loki("slow"), _loki("fast"), _loki("also")],  # type: ignore[arg-type]
                                    AT - timedelta(hours=1), AT, within_s=0.5,
                                    not_read=not_read)  # fmt: skip
    doc = read_recorded(text, "x.aiops")
    assert doc is not None
    assert sorted({e.cluster for e in doc.lines}) == ["also", "fast"]
    assert list(doc.logs_unread) == ["slow"] and "0.5 s" in doc.logs_unread["slow"]
    assert not_read == [f"slow/logs: {doc.logs_unread['slow']}"]


@pytest.mark.asyncio
async def test_the_clusters_logs_are_read_side_by_side() -> None:
    """Each takes most of the limit: one after another, the last ones would not be read."""
    names = ["ran-a", "ran-b", "ran-c", "ran-d"]
    logs = Logs(dict.fromkeys(names, 0.4))
    text = await record_logs_traces(logs, [_loki(n) for n in names], AT - timedelta(hours=1),  # type: ignore[arg-type]
                                    AT, within_s=1.0)  # fmt: skip
    doc = read_recorded(text, "x.aiops")
    assert doc is not None and doc.logs_unread == {}
    assert sorted({e.cluster for e in doc.lines}) == names


@pytest.mark.asyncio
async def test_an_export_keeps_the_logs_of_the_clusters_that_answered(
    core: Core, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("fast", "slow"):
        await core.registry.add(ClusterSpec(
            name=name, endpoint_urls={EndpointKind.LOKI: "http://127.0.0.1:9"}))  # fmt: skip
    core.__dict__["logs_traces"] = Logs({"fast": 0.0, "slow": 3600.0})
    monkeypatch.setattr(cap, "RECORD_TIMEOUT_S", 0.5)
    out, not_read = tmp_path / "x.aiops", list[str]()
    await export_capture(core, out, clusters=["fast", "slow"], since=timedelta(hours=2),
                         not_read=not_read)  # fmt: skip
    assert [line.split(": ")[0] for line in not_read] == ["slow/logs"]
    opened = await asyncio.to_thread(open_capture, out)
    try:
        await opened.registry.load()
        errors = '{k8s_namespace_name="ns"} |~ "(?i)error"'
        start, end = opened.now() - timedelta(hours=2), opened.now()
        got = await opened.logs_traces.logs("fast", errors, start=start, end=end)
        assert len(got.entries) == 3
        with pytest.raises(NotRecorded, match="could not be read when it was made"):
            await opened.logs_traces.logs("slow", errors, start=start, end=end)
    finally:
        await opened.shutdown()


# -- 4: a crafted answer's timestamps ---------------------------------------------------------


@pytest.mark.parametrize(
    ("stamps", "values"),
    [
        ([[AT.timestamp(), AT.timestamp()]], [[1.0, 2.0]]),  # 2-D, same length as listed
        ([AT.timestamp()], [[1.0]]),  # values nested alone
        ([math.nan], [1.0]),
        ([math.inf], [1.0]),
    ],
)
def test_a_recorded_answer_with_malformed_times_is_refused(
    stamps: list[Any], values: list[Any]
) -> None:
    doc = json.loads(json.dumps({"INSTANT up": [["east", {}, stamps, values]]}))
    with pytest.raises(CaptureError, match=r"east.*not well formed"):
        RecordedQueries(None, doc, ends=AT)  # type: ignore[arg-type]
