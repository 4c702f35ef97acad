"""Loki's queries, a review's findings: a paged read from a server (or a caching proxy) that
ignores the time asked keeps no line twice and none outside the window, and stops once a page
brings nothing new; a metric answer whose sample time is no date (NaN, inf, 1e300, before
1970) is a bad answer, as Prometheus' is and as a log line's is; and ``aiops-desktop logs``
prints a metric query's points with their times (Loki leaves out the empty steps)."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import httpx
import pytest

from aiops_desktop.cli import logs_traces as cli
from aiops_desktop.cli.args import Io, Printable
from aiops_desktop.models.enums import LogDirection
from aiops_desktop.models.observability import LogQuery, LogResult
from collectors.errors import CollectorBadResponse
from collectors.http import BackendClient
from collectors.loki import LokiClient, parse_matrix

if TYPE_CHECKING:
    from aiops_desktop.services.core import Core

T0 = 1_700_000_000_000_000_000
MS = 1_000_000


def _streams(stamps: list[int]) -> dict[str, Any]:
    result = [{"stream": {"app": "api"}, "values": [[str(t), f"line {t}"] for t in stamps]}]
    return {"status": "success", "data": {"resultType": "streams", "result": result}}


async def _paged(
    answer: Any, direction: LogDirection, *, most: int = 5_000
) -> tuple[LogResult, list[httpx.Request]]:
    asked: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return answer(request)

    http = BackendClient("http://loki.test", name="loki", text_backend=True,
                         transport=httpx.MockTransport(record))  # fmt: skip
    try:
        query = LogQuery(logql='{app="api"}', start_ns=T0, end_ns=T0 + 3_000 * MS, limit=1_000,
                         direction=direction)  # fmt: skip
        return await LokiClient(http, "c1").query_range(query, most=most), asked
    finally:
        await http.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("direction", [LogDirection.BACKWARD, LogDirection.FORWARD])
async def test_a_server_ignoring_the_window_fills_no_rows_with_copies(
    direction: LogDirection,
) -> None:
    stamps = [T0 + i * MS for i in range(3_000)]

    def same_page(request: httpx.Request) -> httpx.Response:  # honours limit, not start/end
        backward = request.url.params["direction"] == "backward"
        got = sorted(stamps, reverse=backward)[: int(request.url.params["limit"])]
        return httpx.Response(200, json=_streams(got))

    got, asked = await _paged(same_page, direction)
    copies = Counter(e.timestamp_ns for e in got.entries)
    assert len(got.entries) == len(copies) == 1_000  # the first page, each line once
    assert len(asked) == 2  # the second brought nothing new: no third asked
    assert got.truncated and got.notes  # more may match: said, not silently complete


@pytest.mark.asyncio
@pytest.mark.parametrize("direction", [LogDirection.BACKWARD, LogDirection.FORWARD])
async def test_lines_outside_the_asked_window_are_not_kept(direction: LogDirection) -> None:
    inside = [T0 + i * MS for i in range(10)]
    outside = [T0 - MS, T0 + 3_000 * MS, T0 + 5_000 * MS]  # before start; at and past end

    def loose(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=_streams(inside + outside))

    got, _ = await _paged(loose, direction)
    assert sorted(e.timestamp_ns for e in got.entries) == inside
    assert not got.truncated


@pytest.mark.parametrize("at", ["NaN", "inf", "-inf", "1e300", -1, 2**63])
def test_a_metric_point_whose_time_is_no_date_is_a_bad_answer(at: Any) -> None:
    bad = [{"metric": {"pod": "api"}, "values": [[1_700_000_000, "5"], [at, "7"]]}]
    with pytest.raises(CollectorBadResponse, match="time"):
        parse_matrix(json.loads(json.dumps(bad)))
    with pytest.raises(CollectorBadResponse, match="time"):  # an instant query's vector too
        parse_matrix([{"metric": {}, "value": [at, "1"]}])


def test_a_metric_points_non_finite_value_is_kept_as_prometheus_keeps_it() -> None:
    [series] = parse_matrix([{"metric": {}, "values": [[1_700_000_000, "NaN"],
                                                        [1_700_000_060, "+Inf"]]}])  # fmt: skip
    assert series.points[0][0] == 1_700_000_000
    assert series.points[1] == (1_700_000_060, float("inf"))


T = 1_700_000_000  # 2023-11-14 22:13:20 UTC
MATRIX = {"status": "success", "data": {"resultType": "matrix", "result": [
    {"metric": {"k8s_pod_name": "api-1"}, "values": [[T, "3"], [T + 45 * 60, "2"]]}]}}  # fmt: skip


class _Logs:
    async def logs(self, cluster: str, logql: str, **_: Any) -> LogResult:
        http = BackendClient("http://loki.test", name="loki", text_backend=True,
                             transport=httpx.MockTransport(
                                 lambda _r: httpx.Response(200, json=MATRIX)))  # fmt: skip
        try:
            return await LokiClient(http, cluster).query_range(LogQuery(logql=logql), step_s=60)
        finally:
            await http.aclose()


class _Core:
    logs_traces = _Logs()

    def now(self) -> datetime:
        return datetime.fromtimestamp(T + 3600, UTC)


def _print_logs(*, as_json: bool) -> str:
    args = argparse.Namespace(
        cluster="c1", logql='sum by (k8s_pod_name) (count_over_time({app="api"} [1m]))',
        since=timedelta(hours=1), until=None, limit=None, forward=False, tenant=None,
        tail=False, timeout=30, json=as_json,
    )  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    said = Io(out=Printable(out), stdin=io.StringIO(), err=Printable(err))
    assert asyncio.run(cli._logs(cast("Core", _Core()), args, said)) == 0
    return out.getvalue()


def test_logs_prints_each_metric_point_with_its_time() -> None:
    out = _print_logs(as_json=False)
    assert "k8s_pod_name=api-1" in out
    assert "2023-11-14 22:13:20 UTC  3" in out
    assert "2023-11-14 22:58:20 UTC  2" in out


def test_logs_json_keeps_the_points_as_they_were() -> None:
    doc = json.loads(_print_logs(as_json=True))
    assert doc["series"] == [{"labels": {"k8s_pod_name": "api-1"},
                              "points": [[T, 3.0], [T + 45 * 60, 2.0]]}]  # fmt: skip
