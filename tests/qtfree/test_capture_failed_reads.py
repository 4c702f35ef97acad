"""A read that failed at export travels with the capture: the cluster it failed for opens as
not read (its findings source unreachable: STALE), never as read with nothing found (OK 100).
``RecordingQueries`` keeps each query's failed clusters (and why, redacted) beside its series;
``RecordedQueries`` answers them as failures for those clusters; the fleet in a capture counts
them as a live refresh does. A capture made before failures were kept opens as it did."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
import pytest_asyncio

from aiops_desktop.models import Cluster, QueryStatus
from aiops_desktop.models.fleet import Coverage, Domain, Health
from aiops_desktop.models.metrics import (
    ClusterOutcome,
    MetricQuery,
    PromSeries,
    QueryAnswer,
    TaggedSeries,
)
from aiops_desktop.services.core import Core
from aiops_desktop.services.fleet.state import FleetState, read_metric_findings
from aiops_desktop.services.outputs.capture import open_capture
from aiops_desktop.services.outputs.recorded import RecordedQueries, RecordingQueries
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.store.capture import CaptureError
from tests.qtfree.test_fleet_truth_failures import SAMPLE, NoAnomalies, Poller

AT = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
EAST = Cluster(name="east", api_server_url="https://east:6443")
WEST = Cluster(name="west", api_server_url="https://west:6443")


class WestTimesOut:
    """East answers one series; west's read times out, its error naming a secret."""

    async def run(self, query: MetricQuery, clusters: list[Cluster]) -> QueryAnswer:
        series, outcomes = [], []
        for c in clusters:
            if c.name == "west":
                why = "west: no answer within 30 s (https://west/?token=hunter2secret)"
                outcomes.append(ClusterOutcome(c.name, False, 3e4, reason="timed_out", error=why))
            else:
                stamp = np.array([AT.timestamp()])
                one = PromSeries({"gpu": "0"}, stamp, np.array([1.0]))
                series.append(TaggedSeries(c.name, one))
                outcomes.append(ClusterOutcome(c.name, True, 5.0, series=1))
        return QueryAnswer(query, QueryStatus.PARTIAL, series, outcomes, 30000.0)


@pytest.mark.asyncio
async def test_a_read_that_failed_at_export_is_answered_as_failed_for_its_cluster() -> None:
    recorder = RecordingQueries(WestTimesOut(), None)  # type: ignore[arg-type]
    query = MetricQuery(promql="DCGM_FI_DEV_GPU_TEMP", end=AT)
    await recorder.run(query, [EAST, WEST])
    text = recorder.dump()
    assert "hunter2secret" not in text  # what leaves the site is redacted
    replayed = RecordedQueries(None, json.loads(text), ends=AT)  # type: ignore[arg-type]
    answer = await replayed.run(query, [EAST, WEST])
    assert answer.status is QueryStatus.PARTIAL
    assert [s.cluster for s in answer.series] == ["east"]
    assert [(o.cluster, o.ok) for o in answer.outcomes] == [("east", True), ("west", False)]
    (west,) = answer.failures
    assert west.reason == "timed_out" and "no answer within 30 s" in (west.error or "")
    # the failure is the query's own: another recorded query still answers west
    alone = await replayed.run(query, [WEST])
    assert alone.status is QueryStatus.ERROR and alone.failures[0].cluster == "west"


@pytest.mark.asyncio
async def test_a_capture_made_before_failures_were_kept_answers_as_before() -> None:
    old = {"INSTANT up": [["east", {"job": "x"}, [AT.timestamp()], [1.0]]]}
    answer = await RecordedQueries(None, old, ends=AT).run(  # type: ignore[arg-type]
        MetricQuery(promql="up"), [EAST, WEST]
    )
    assert answer.status is QueryStatus.SUCCESS
    assert [(o.cluster, o.ok) for o in answer.outcomes] == [("east", True), ("west", True)]


def test_a_new_capture_keeps_the_shape_an_older_app_reads() -> None:
    """Every recorded value is still a list of [cluster, labels, timestamps, values]: an app
    from before failures were kept opens the capture (and asks no failure key)."""
    recorder = RecordingQueries(WestTimesOut(), None)  # type: ignore[arg-type]
    asyncio.run(recorder.run(MetricQuery(promql="x", end=AT), [EAST, WEST]))
    doc = json.loads(recorder.dump())
    assert len(doc) == 2  # the answer, and its failures beside it
    for rows in doc.values():
        assert all(isinstance(r, list) and len(r) == 4 for r in rows)
    assert RecordedQueries(None, doc).promql(MetricQuery(promql="x").query_type) == ["x"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "row",
    [["west", {"reason": "timed_out"}, [1.0], [1.0]],  # a failure holds no sample
     ["west", {"reason": 3}, [], []], "west"],
)  # fmt: skip
def test_a_malformed_recorded_failure_is_refused(row: Any) -> None:
    good = RecordingQueries(WestTimesOut(), None)  # type: ignore[arg-type]
    asyncio.run(good.run(MetricQuery(promql="x", end=AT), [EAST, WEST]))
    doc = json.loads(good.dump())
    (failed,) = [k for k in doc if k != "INSTANT x"]
    doc[failed] = [row]
    with pytest.raises(CaptureError):
        RecordedQueries(None, doc)  # type: ignore[arg-type]


class DcgmTimesOut:
    """The hub's DCGM queries time out (the export's vector(1) probe still answered)."""

    def __init__(self, real: Any) -> None:
        self.real = real

    async def run(self, query: MetricQuery, clusters: list[Cluster]) -> QueryAnswer:
        if "DCGM" not in query.promql:
            return await self.real.run(query, clusters)
        out = [
            ClusterOutcome(c.name, False, 3e4, reason="timed_out", error=f"{c.name}: no answer")
            for c in clusters
        ]
        return QueryAnswer(query, QueryStatus.ERROR, [], out, 30000.0)


@pytest_asyncio.fixture
async def sample() -> AsyncIterator[Core]:
    core = await asyncio.to_thread(open_capture, SAMPLE)
    try:
        await core.registry.load()
        yield core
    finally:
        await core.shutdown()


async def opened_truth(core: Core, inner: Any) -> dict[str, Any]:
    """A capture exported through ``inner``, opened: each cluster's truth."""
    at, clusters = core.now(), core.registry.clusters()
    recorder = RecordingQueries(inner, core.pool)
    await read_metric_findings(recorder, clusters, at)
    replayed = RecordedQueries(core.pool, json.loads(recorder.dump()), ends=at)
    fleet = FleetState(core.registry, Poller(), replayed, NoAnomalies(), EventBus(),  # type: ignore[arg-type]
                       clock=core.now, recorded=True)  # fmt: skip
    return {t.name: t for t in (await fleet.refresh()).clusters}


@pytest.mark.asyncio
async def test_a_hub_whose_gpus_were_not_read_at_export_opens_stale_not_ok(sample: Core) -> None:
    read = await opened_truth(sample, sample.queries)
    assert read["ai-lab"].state is Health.DEGRADED  # the capture as its hub answered
    assert not any(t.unread for t in read.values())
    truth = await opened_truth(sample, DcgmTimesOut(sample.queries))
    for name in ("ran-hub", "ai-lab", "ran-east", "ran-west"):
        t = truth[name]
        assert t.state is not Health.OK and t.health_score != 100, name
        assert t.coverage["findings"] is Coverage.UNREACHABLE, name
        assert "GPU: ran-hub: no answer" in t.unread["findings"], name
        assert not [f for f in t.findings if f.domain is Domain.GPU], name
    assert truth["ai-lab"].state is Health.STALE
    # its PTP findings were read: still told (ran-east's FREERUN port)
    assert [f for f in truth["ran-east"].findings if f.domain is Domain.PTP]


class NeverAnswers:
    async def run(self, query: MetricQuery, clusters: list[Cluster]) -> QueryAnswer:
        await asyncio.sleep(3600)
        raise AssertionError("not reached")


@pytest.mark.asyncio
async def test_a_query_the_exports_time_limit_cut_is_recorded_failed_not_left_out() -> None:
    """The export records for a minute at most: a query still unanswered then was asked and
    not answered (its clusters not read), not a query the capture never asked."""
    recorder = RecordingQueries(NeverAnswers(), None)  # type: ignore[arg-type]
    query = MetricQuery(promql="DCGM_FI_DEV_GPU_TEMP", end=AT)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await recorder.run(query, [EAST, WEST])
    replayed = RecordedQueries(None, json.loads(recorder.dump()), ends=AT)  # type: ignore[arg-type]
    answer = await replayed.run(query, [EAST, WEST])
    assert answer.status is QueryStatus.ERROR
    assert {o.reason for o in answer.outcomes} == {"timed_out"}
    assert "not answered within the export's time" in (answer.outcomes[0].error or "")


@pytest.mark.asyncio
async def test_a_cut_query_leaves_no_answer_an_older_app_reads_as_nothing_found() -> None:
    """An app from before failures were kept never asks the FAILED key: an empty answer under
    the query's own key read there as answered with no series (SUCCESS), where it said "not
    recorded" before the cut query was kept. Only its failures are written; this app still
    answers it as failed."""
    recorder = RecordingQueries(NeverAnswers(), None)  # type: ignore[arg-type]
    query = MetricQuery(promql="openshift_ptp_clock_state", end=AT)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await recorder.run(query, [EAST, WEST])
    doc = json.loads(recorder.dump())
    assert list(doc) == ["FAILED INSTANT openshift_ptp_clock_state"]  # not "INSTANT …"
    replayed = RecordedQueries(None, doc, ends=AT)  # type: ignore[arg-type]
    assert replayed.promql(query.query_type) == []  # not an answer the capture holds
    answer = await replayed.run(query, [EAST, WEST])
    assert answer.status is QueryStatus.ERROR and not answer.series
    assert [(o.cluster, o.ok, o.reason) for o in answer.outcomes] == [
        ("east", False, "timed_out"), ("west", False, "timed_out")]  # fmt: skip
    # a cluster the cut query was not asked for is not recorded, as before
    other = Cluster(name="north", api_server_url="https://north:6443")
    (north,) = (await replayed.run(query, [other])).outcomes
    assert not north.ok and north.reason == "not_configured"


def crafted_failure(reason: str, error: str, cluster: str = "west") -> dict[str, Any]:
    failed = [[cluster, {"reason": reason, "error": error}, [], []]]
    return {"INSTANT x": [["east", {}, [AT.timestamp()], [1.0]]], "FAILED INSTANT x": failed}


@pytest.mark.asyncio
async def test_a_crafted_failures_text_is_cut_to_one_short_line() -> None:
    """A capture's documents are hostile: its FAILED error goes to the fleet's last_error, the
    CLI and reports, so it is one printable line of at most 500 characters."""
    error = "\x1b]0;owned\x07west: " + "A" * 300_000 + "\nFORGED ROW"
    replayed = RecordedQueries(None, crafted_failure("timed_out", error), ends=AT)  # type: ignore[arg-type]
    (west,) = (await replayed.run(MetricQuery(promql="x", end=AT), [EAST, WEST])).failures
    said = west.error or ""
    assert 0 < len(said) <= 500 and "west: AAA" in said
    assert "\x1b" not in said and "\n" not in said and "\x07" not in said


@pytest.mark.parametrize(
    ("reason", "read"),
    [("timed_out", "timed_out"), ("auth_failed", "auth_failed"), ("nvidia_smi", "nvidia_smi"),
     ("\x1b[2J" + "R" * 10_000, "error"), ("ok", "error"), ("", "error")],
)  # fmt: skip
@pytest.mark.asyncio
async def test_a_crafted_failures_reason_is_one_the_app_writes(reason: str, read: str) -> None:
    replayed = RecordedQueries(None, crafted_failure(reason, "west: no answer"), ends=AT)  # type: ignore[arg-type]
    (west,) = (await replayed.run(MetricQuery(promql="x", end=AT), [EAST, WEST])).failures
    assert west.reason == read


def test_a_failure_naming_a_cluster_not_in_the_capture_is_not_kept() -> None:
    """The FAILED rows read per query are bounded by the capture's clusters: a row naming
    another (a crafted capture's thousands) is skipped, not held."""
    doc = crafted_failure("timed_out", "no answer")
    doc["FAILED INSTANT x"] += [[f"ghost-{i}", {"reason": "timed_out", "error": "x"}, [], []]
                                for i in range(1000)]  # fmt: skip
    replayed = RecordedQueries(None, doc, ends=AT, clusters=["east", "west"])  # type: ignore[arg-type]
    assert set(replayed._at_export["INSTANT x"]) == {"west"}
