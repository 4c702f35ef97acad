"""The query review's defects: a partial answer's warnings were dropped and it read SUCCESS; a
member two hubs name was counted twice; a native histogram failed the whole cluster and a
string result vanished; SUM turned NaN into 0; values were cut to 6 digits; a long range
at a short step was past Prometheus' 11,000 points and every cluster refused it."""

from __future__ import annotations

import argparse
import io
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from aiops_desktop.cli.args import Io
from aiops_desktop.cli.data import _query
from aiops_desktop.models import Aggregation, ClusterKind, EndpointKind, QueryStatus, QueryType
from aiops_desktop.models.cluster import Cluster, Endpoint
from aiops_desktop.models.metrics import (
    ClusterOutcome,
    MetricQuery,
    PromSeries,
    QueryAnswer,
    TaggedSeries,
    value_text,
)
from aiops_desktop.services.queries.multicluster import (
    MOST_OUTCOME_WARNINGS,
    OUTCOME_WARNING_CHARS,
    MultiClusterQuery,
    aggregate,
)
from collectors.prometheus import PromResult, parse_query_data

T0 = 1_700_000_000.0


def _cluster(
    name: str, kind: ClusterKind = ClusterKind.CLUSTER, members: list[str] | None = None
) -> Cluster:
    c = Cluster(
        name=name,
        kind=kind,
        endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS, url=f"http://{name}.invalid:9090")],
    )
    if members is not None:
        c.status.members = members
    return c


class _Prom:
    """A Prometheus that answers ``result`` to every query, and keeps the range reads asked."""

    def __init__(self, result: PromResult) -> None:
        self.result = result
        self.ranges: list[tuple[float, float, float]] = []

    async def query(
        self, promql: str, at: Any = None, timeout_s: float | None = None
    ) -> PromResult:
        return self.result

    async def query_range(
        self, promql: str, start: float, end: float, step: float, timeout_s: float | None = None
    ) -> PromResult:
        self.ranges.append((start, end, step))
        return self.result


class _Pool:
    def __init__(self, clients: dict[str, _Prom]) -> None:
        self.clients = clients

    async def prometheus(self, cluster: Cluster) -> _Prom:
        return self.clients[cluster.name]


def _vector(labels: dict[str, str], value: float) -> PromSeries:
    return PromSeries(labels, np.array([T0]), np.array([value]))


# -- 1: a partial answer's warnings --------------------------------------------------------------
PARTIAL = "No StoreAPIs matched for this query: store eu-west-3 unavailable, partial response"


@pytest.mark.asyncio
async def test_an_answer_with_warnings_is_partial_and_keeps_them_bounded() -> None:
    """A Thanos partial response (data and warnings) read SUCCESS, its warning thrown away."""
    noisy = [f"line one {i}\nline two " + "x" * 5_000 for i in range(30)]
    clients = {
        "east-1": _Prom(PromResult("vector", [_vector({"job": "api"}, 3.0)], [PARTIAL])),
        "west-2": _Prom(PromResult("vector", [_vector({"job": "api"}, 4.0)], noisy)),
        "north-3": _Prom(PromResult("vector", [_vector({"job": "api"}, 5.0)], [])),
    }
    engine = MultiClusterQuery(_Pool(clients))  # type: ignore[arg-type]
    answer = await engine.run(MetricQuery(promql="sum(up)"), [_cluster(n) for n in clients])
    assert answer.status is QueryStatus.PARTIAL
    assert not answer.failures  # every cluster answered: the series are all there
    said = {o.cluster: o.warnings for o in answer.outcomes}
    assert said["east-1"] == [PARTIAL]
    assert said["north-3"] == []
    assert len(said["west-2"]) == MOST_OUTCOME_WARNINGS + 1  # and "… and N more"
    assert "more" in said["west-2"][-1]
    for w in said["west-2"]:
        assert "\n" not in w and len(w) <= OUTCOME_WARNING_CHARS
    doc = json.loads(answer.to_model().model_dump_json())
    assert {"cluster": "east-1", "warning": PARTIAL} in doc["warnings"]


@pytest.mark.asyncio
async def test_an_answer_without_warnings_stays_success() -> None:
    clients = {"east-1": _Prom(PromResult("vector", [_vector({"job": "api"}, 3.0)], []))}
    engine = MultiClusterQuery(_Pool(clients))  # type: ignore[arg-type]
    answer = await engine.run(MetricQuery(promql="up"), [_cluster("east-1")])
    assert answer.status is QueryStatus.SUCCESS
    assert answer.to_model().warnings == []


# -- a Prometheus info annotation is not a partial answer ------------------------------------------
#: what Prometheus 2.52 (OpenShift 4.16) sends with rate() of a DCGM gauge-named counter
PROMQL_INFO = (
    "PromQL info: metric might not be a counter, name does not end in "
    '_total/_sum/_count/_bucket: "DCGM_FI_DEV_POWER_VIOLATION" (1:6)'
)
THANOS_PARTIAL = "receive-1: rpc error: code = Unavailable desc = store not reachable"


async def _annotated(warnings: list[str]) -> QueryAnswer:
    payload = {"status": "success", "warnings": warnings, "data": {"resultType": "vector",
               "result": [{"metric": {"Hostname": "gpu-0"}, "value": [T0, "0.0"]}]}}  # fmt: skip
    engine = MultiClusterQuery(_Pool({"east-1": _Prom(parse_query_data(payload, "east-1"))}))  # type: ignore[arg-type]
    promql = "rate(DCGM_FI_DEV_POWER_VIOLATION[5m])"
    return await engine.run(MetricQuery(promql=promql), [_cluster("east-1")])


@pytest.mark.asyncio
async def test_a_promql_info_annotation_is_shown_but_the_answer_stays_success() -> None:
    """Prometheus 2.4x-2.5x send their query annotations (how the query reads, not data
    missing) in ``warnings``: a complete answer read PARTIAL, amber, and the CLI exited 3."""
    notice = "PromQL warning: encountered a mix of histograms and floats for aggregation"
    answer = await _annotated([PROMQL_INFO, notice])
    assert answer.status is QueryStatus.SUCCESS
    assert answer.outcomes[0].warnings == [PROMQL_INFO, notice]  # still shown
    out, err = io.StringIO(), io.StringIO()
    code = await _query(_Core(answer), _args(False), Io(out, io.StringIO(), err))  # type: ignore[arg-type]
    assert code == 0  # EXIT_OK
    assert f"SUCCESS: east-1: warning: {PROMQL_INFO}" in err.getvalue()


@pytest.mark.asyncio
@pytest.mark.parametrize("other", [PARTIAL, THANOS_PARTIAL])
async def test_a_store_warning_beside_an_info_annotation_still_makes_it_partial(
    other: str,
) -> None:
    answer = await _annotated([PROMQL_INFO, other])
    assert answer.status is QueryStatus.PARTIAL
    assert answer.outcomes[0].warnings == [PROMQL_INFO, other]


# -- 2: a member two hubs name -------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_member_two_hubs_name_is_counted_once() -> None:
    """An ACM hub and a Thanos querier over the same fleet: each member's series came twice,
    a SUM doubled. The first hub by name answers for it; a series only the other has stays."""
    members = {"ran-a": 1.0, "ran-b": 10.0}

    def hub_answer(extra: list[PromSeries]) -> _Prom:
        series = [_vector({"cluster": m, "job": "x"}, v) for m, v in members.items()]
        return _Prom(PromResult("vector", series + extra, []))

    clients = {
        "thanos-global": hub_answer([_vector({"cluster": "ran-a", "job": "only-thanos"}, 7.0)]),
        "acm-hub": hub_answer([]),
    }
    hubs = [_cluster(n, ClusterKind.FLEET, list(members)) for n in clients]  # thanos first
    engine = MultiClusterQuery(_Pool(clients))  # type: ignore[arg-type]
    merged = await engine.run(MetricQuery(promql="up"), hubs)
    rows = sorted(
        (t.cluster, t.series.labels["job"], float(t.series.values[0])) for t in merged.series
    )
    assert rows == [("ran-a", "only-thanos", 7.0), ("ran-a", "x", 1.0), ("ran-b", "x", 10.0)]
    counted = {o.cluster: o.series for o in merged.outcomes}
    assert counted == {"acm-hub": 2, "thanos-global": 1}  # acm-hub comes first by name
    summed = await engine.run(MetricQuery(promql="up", aggregation=Aggregation.SUM), hubs)
    by_job = {t.series.labels["job"]: t.series.values.tolist() for t in summed.series}
    assert by_job == {"x": [11.0], "only-thanos": [7.0]}


# -- 5: native histograms and string results ---------------------------------------------------
H = {"count": "12", "sum": "3.5", "buckets": [[0, "0.5", "1", "12"]]}


def test_a_native_histogram_in_a_vector_is_left_out_with_a_warning_not_failing_the_rest() -> None:
    payload = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"__name__": "http_requests_total", "code": "200"}, "value": [T0, "42"]},
        {"metric": {"__name__": "http_request_duration_seconds"}, "histogram": [T0, H]},
    ]}}  # fmt: skip
    result = parse_query_data(payload, "east-1")
    assert [s.metric for s in result.series] == ["http_requests_total"]
    assert result.series[0].values.tolist() == [42.0]
    assert len(result.warnings) == 1
    assert "native histogram" in result.warnings[0]
    assert "http_request_duration_seconds" in result.warnings[0]


def test_a_native_histogram_range_is_left_out_with_a_warning_not_an_empty_series() -> None:
    payload = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"__name__": "http_request_duration_seconds"},
         "histograms": [[T0, H], [T0 + 30, H]]},
        {"metric": {"__name__": "mixed"}, "values": [[T0, "1"]], "histograms": [[T0 + 30, H]]},
    ]}}  # fmt: skip
    result = parse_query_data(payload, "east-1")
    # a series that turned into a native histogram keeps its float samples
    assert [(s.metric, s.values.tolist()) for s in result.series] == [("mixed", [1.0])]
    (warning,) = result.warnings
    assert "native histogram samples of 2 series" in warning
    assert "http_request_duration_seconds" in warning and "mixed" in warning


def test_many_native_histograms_make_one_bounded_warning() -> None:
    items = [{"metric": {"__name__": f"h{i}", "pod": "p" * 300}, "histogram": [T0, H]}
             for i in range(1_000)]  # fmt: skip
    payload = {"status": "success", "data": {"resultType": "vector", "result": items}}
    result = parse_query_data(payload, "east-1")
    assert result.series == []
    (warning,) = result.warnings
    assert warning.startswith("the native histogram samples of 1000 series left out")
    assert len(warning) <= 1_000


def test_a_string_result_is_said_not_dropped() -> None:
    payload = {"status": "success", "data": {"resultType": "string", "result": [T0, "hello"]}}
    result = parse_query_data(payload, "east-1")
    assert result.series == []
    assert result.warnings == ["a string result, not a series: 'hello'"]
    long = {"status": "success", "data": {"resultType": "string", "result": [T0, "y" * 10**6]}}
    assert len(parse_query_data(long, "east-1").warnings[0]) < 1_000


# -- 6: SUM of NaN -------------------------------------------------------------------------------
def _tagged(cluster: str, ts: list[float], values: list[float]) -> TaggedSeries:
    return TaggedSeries(cluster, PromSeries({"q": "p99"}, np.array(ts), np.array(values)))


@pytest.mark.parametrize(
    "how", [Aggregation.SUM, Aggregation.AVG, Aggregation.MAX, Aggregation.MIN]
)
def test_a_step_no_cluster_has_a_value_at_aggregates_to_nan_not_zero(how: Aggregation) -> None:
    """NaN + NaN was 0 (a p99 that does not exist read "0"); AVG warned "Mean of empty
    slice". A step only some clusters have a value at aggregates those; a missing step too."""
    series = [
        _tagged("east-1", [T0, T0 + 60, T0 + 120], [math.nan, math.nan, 2.0]),
        _tagged("west-2", [T0, T0 + 60], [math.nan, 7.0]),  # no sample at T0 + 120
    ]
    (out,) = aggregate(series, how)
    assert out.series.timestamps.tolist() == [T0, T0 + 60, T0 + 120]
    values = out.series.values.tolist()
    assert math.isnan(values[0])
    assert values[1:] == [7.0, 2.0]


# -- 7: last values shown whole ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1234567.0, "1234567"),
        (1234568.0, "1234568"),
        (17179869184.0, "17179869184"),
        (-3.0, "-3"),
        (0.1, "0.1"),
        (1 / 3, "0.333333333333333"),
        (1.5e-9, "1.5e-09"),
        (1e20, "1e+20"),
        (math.nan, "NaN"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
    ],
)
def test_value_text_shows_integers_exactly_and_floats_near_whole(value: float, text: str) -> None:
    assert value_text(value) == text


# -- 8: the 11,000 points a series Prometheus answers ---------------------------------------------
@pytest.mark.asyncio
async def test_a_range_past_11000_points_is_read_at_a_coarser_step_and_says_so() -> None:
    prom = _Prom(PromResult("matrix", [], []))
    engine = MultiClusterQuery(_Pool({"east-1": prom}))  # type: ignore[arg-type]
    end = datetime(2026, 12, 6, 12, 0, 7, tzinfo=UTC)
    query = MetricQuery(
        promql="up",
        query_type=QueryType.RANGE,
        start=end - timedelta(days=8),
        end=end,
        step=timedelta(minutes=1),
    )
    answer = await engine.run(query, [_cluster("east-1")])
    ((start, stop, step),) = prom.ranges
    assert (stop - start) / step <= 11_000  # what Prometheus checks (web/api/v1/api.go)
    assert step == math.ceil(8 * 86_400 / 10_999)
    assert answer.query.step == timedelta(seconds=step)
    assert answer.status is QueryStatus.SUCCESS
    assert (
        len(answer.notes) == 1 and "11,000" in answer.notes[0] and f"{step:g}s" in answer.notes[0]
    )
    assert answer.to_model().notes == answer.notes
    # a range within the limit is read at the step asked, and nothing is said
    short = query.model_copy(update={"start": end - timedelta(days=7)})
    answer = await engine.run(short, [_cluster("east-1")])
    assert prom.ranges[-1][2] == 60 and answer.notes == []


# -- the CLI: warnings, notes and whole values ---------------------------------------------------
class _Registry:
    def __init__(self, *clusters: Cluster) -> None:
        self._clusters = list(clusters)

    def clusters(self) -> list[Cluster]:
        return self._clusters


class _Console:
    def __init__(self, answer: QueryAnswer) -> None:
        self.answer = answer

    async def run(self, request: Any) -> QueryAnswer:
        return self.answer


class _Core:
    def __init__(self, answer: QueryAnswer) -> None:
        self.registry = _Registry(_cluster("east-1"))
        self.console = _Console(answer)


def _args(as_json: bool) -> argparse.Namespace:
    return argparse.Namespace(promql="up", clusters=None, range=None, step=timedelta(minutes=1),
                              agg=Aggregation.MERGE, timeout=30.0, json=as_json)  # fmt: skip


def _cli_answer() -> QueryAnswer:
    series = [
        TaggedSeries("east-1", _vector({"__name__": "drops"}, v)) for v in (1234567.0, 1234568.0)
    ]
    outcomes = [ClusterOutcome("east-1", True, 1.0, series=2, warnings=[PARTIAL])]
    return QueryAnswer(MetricQuery(promql="up"), QueryStatus.PARTIAL, series, outcomes, 1.0,
                       notes=["read at a step of 63s"])  # fmt: skip


@pytest.mark.asyncio
async def test_cli_query_text_shows_whole_values_the_warnings_and_the_notes() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = await _query(_Core(_cli_answer()), _args(False), Io(out, io.StringIO(), err))  # type: ignore[arg-type]
    assert code == 3  # PARTIAL
    assert "1234567" in out.getvalue() and "1234568" in out.getvalue()
    assert "e+06" not in out.getvalue()
    assert f"PARTIAL: east-1: warning: {PARTIAL}" in err.getvalue()
    assert "note: read at a step of 63s" in err.getvalue()


@pytest.mark.asyncio
async def test_cli_query_json_carries_the_warnings_and_the_notes() -> None:
    out, err = io.StringIO(), io.StringIO()
    await _query(_Core(_cli_answer()), _args(True), Io(out, io.StringIO(), err))  # type: ignore[arg-type]
    doc = json.loads(out.getvalue())
    assert doc["status"] == "PARTIAL"
    assert doc["warnings"] == [{"cluster": "east-1", "warning": PARTIAL}]
    assert doc["notes"] == ["read at a step of 63s"]


@pytest.mark.asyncio
async def test_the_console_says_the_coarser_step_too() -> None:
    """The console (the window's and the CLI's ``query --range``) passes the note on: it built
    its own answer and left the note behind."""
    from concurrent.futures import Future

    from aiops_desktop.models.metrics import ConsoleRequest
    from aiops_desktop.services.queries.console import QueryConsole

    class Repo:
        def record(self, _record: Any) -> Future[None]:
            done: Future[None] = Future()
            done.set_result(None)
            return done

    prom = _Prom(PromResult("matrix", [], []))
    engine = MultiClusterQuery(_Pool({"east-1": prom}))  # type: ignore[arg-type]
    console = QueryConsole(_Registry(_cluster("east-1")), engine, Repo())  # type: ignore[arg-type]
    answer = await console.run(ConsoleRequest("up", range_s=8 * 86_400, step_s=60))
    assert len(answer.notes) == 1 and "11,000" in answer.notes[0], answer.notes
