"""The third query review: a keyring waiting on its unlock prompt held every cluster's answer
(the console stayed "Running…"); the "10 parallel queries" were 10 per run, so the GPU page's
25 fields over 12 clusters had a hundred and more in flight; a string result read PARTIAL."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref
from typing import Any

import numpy as np
import pytest

from aiops_desktop.models import (
    AuthMethod,
    CredentialKind,
    CredentialRef,
    EndpointKind,
    QueryStatus,
)
from aiops_desktop.models.cluster import Cluster, Endpoint
from aiops_desktop.models.metrics import MetricQuery, PromSeries
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters.connections import ClientPool
from aiops_desktop.services.queries.field_reads import read_fields
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from collectors.prometheus import PromResult, parse_query_data

T0 = 1_700_000_000.0
ONE_SERIES = PromResult("vector", [PromSeries({"job": "api"}, np.array([T0]), np.array([1.0]))], [])


def _cluster(name: str, **endpoint: Any) -> Cluster:
    url = endpoint.pop("url", f"http://{name}.invalid:9090")
    return Cluster(
        name=name, endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS, url=url, **endpoint)]
    )


class _Prom:
    """A Prometheus that answers ``result`` after ``delay_s``, counting the reads in flight."""

    def __init__(self, result: PromResult, delay_s: float = 0.0) -> None:
        self.result = result
        self.delay_s = delay_s
        self.in_flight = 0
        self.most_in_flight = 0

    async def query(
        self, promql: str, at: Any = None, timeout_s: float | None = None
    ) -> PromResult:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.in_flight -= 1
        return self.result


class _OnePromPool:
    """Every cluster's Prometheus is the same one: its count is the fleet's reads in flight."""

    def __init__(self, prom: _Prom) -> None:
        self.prom = prom

    async def prometheus(self, cluster: Cluster) -> _Prom:
        return self.prom


# -- 1: a credential read that never ends is the cluster's timeout, not the query's --------------
class _LockedKeyring(SecretStore):
    """A keyring whose unlock prompt nobody answers: its reads wait until ``unlocked``."""

    def __init__(self) -> None:
        super().__init__()
        self.unlocked = threading.Event()

    def get(self, ref: CredentialRef) -> str | None:
        self.unlocked.wait()
        return None


class _EastAnswersWestAsksTheKeyring:
    """east-1 answers at once; every other cluster's client is made by a real pool."""

    def __init__(self, pool: ClientPool) -> None:
        self.pool = pool

    async def prometheus(self, cluster: Cluster) -> Any:
        if cluster.name == "east-1":
            return _Prom(ONE_SERIES)
        return await self.pool.prometheus(cluster)


@pytest.mark.asyncio
async def test_a_keyring_waiting_on_its_prompt_times_that_cluster_out_the_others_are_shown() -> (
    None
):
    keyring = _LockedKeyring()
    pool = ClientPool(keyring)
    ref = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key="cluster/west-2/prometheus")
    locked = _cluster(
        "west-2", url="https://west-2.invalid:9090", auth=AuthMethod.BEARER, credential=ref
    )
    engine = MultiClusterQuery(_EastAnswersWestAsksTheKeyring(pool))  # type: ignore[arg-type]
    try:
        started = time.monotonic()
        async with asyncio.timeout(15):  # before the fix: no answer at all, ever
            answer = await engine.run(
                MetricQuery(promql="up", timeout_s=0.1), [_cluster("east-1"), locked]
            )
        assert time.monotonic() - started < 10
    finally:
        keyring.unlocked.set()  # the worker thread ends; the test's loop closes
        await pool.aclose()
    assert answer.status is QueryStatus.PARTIAL
    assert [t.cluster for t in answer.series] == ["east-1"]
    (failed,) = answer.failures
    assert (failed.cluster, failed.reason) == ("west-2", "timed_out")


# -- 2: at most 10 reads of one Prometheus in flight, however many runs are asked at once -------
class _PromPerCluster:
    """Each cluster's Prometheus its own, counting its reads in flight."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.proms: dict[str, _Prom] = {}

    async def prometheus(self, cluster: Cluster) -> _Prom:
        return self.proms.setdefault(cluster.name, _Prom(ONE_SERIES, self.delay_s))


@pytest.mark.asyncio
async def test_read_fields_over_twelve_clusters_keeps_ten_reads_of_each_in_flight_at_most() -> None:
    pool = _PromPerCluster(delay_s=0.01)
    engine = MultiClusterQuery(pool)  # type: ignore[arg-type]
    clusters = [_cluster(f"gpu-{i:02d}") for i in range(12)]
    catalog = {f"field{i}": f"DCGM_FI_X{i}" for i in range(25)}
    answers, failures, in_part = await read_fields(engine, clusters, catalog, list(catalog))
    assert failures == [] and in_part == []
    assert all(len(series) == 12 for series in answers.values())
    # 25 before: each of the 25 runs at once sent every cluster its read
    assert max(p.most_in_flight for p in pool.proms.values()) == 10


@pytest.mark.asyncio
async def test_a_smaller_bound_holds_across_concurrent_runs_of_one_engine() -> None:
    prom = _Prom(ONE_SERIES, delay_s=0.01)
    engine = MultiClusterQuery(_OnePromPool(prom), parallel=3)  # type: ignore[arg-type]
    runs = [engine.run(MetricQuery(promql=f"up{i}"), [_cluster("east-1")]) for i in range(5)]
    answers = await asyncio.gather(*runs)
    assert [a.status for a in answers] == [QueryStatus.SUCCESS] * 5
    assert prom.most_in_flight == 3


@pytest.mark.asyncio
async def test_a_run_reads_its_clusters_side_by_side_not_ten_in_all() -> None:
    """The bound is each Prometheus's: twenty runs over twelve clusters are not read ten
    reads at a time in all (the GPU page over a fleet waited on a queue of thousands)."""
    pool = _PromPerCluster(delay_s=0.05)
    engine = MultiClusterQuery(pool)  # type: ignore[arg-type]
    clusters = [_cluster(f"gpu-{i:02d}") for i in range(12)]
    started = time.monotonic()
    answers = await asyncio.gather(
        *(engine.run(MetricQuery(promql=f"up{i}"), clusters) for i in range(20))
    )
    assert all(a.status is QueryStatus.SUCCESS for a in answers)
    assert time.monotonic() - started < 0.05 * 24 * 0.8  # 24 rounds of 10 if ten in all


def test_one_engine_answers_on_one_event_loop_after_another() -> None:
    """The CLI runs each command in an ``asyncio.run`` of its own, and the app opens its core
    off the UI's loop: an engine's bound serves whichever loop it is asked on (a semaphore
    waited on in one loop refuses every other)."""
    prom = _Prom(ONE_SERIES, delay_s=0.01)
    engine = MultiClusterQuery(_OnePromPool(prom), parallel=2)  # type: ignore[arg-type]
    clusters = [_cluster(f"east-{i}") for i in range(5)]
    for _ in range(2):
        answer = asyncio.run(engine.run(MetricQuery(promql="up"), clusters))
        assert answer.status is QueryStatus.SUCCESS
    assert prom.most_in_flight == 2


class _HungProm:
    """A Prometheus that never answers."""

    async def query(self, *args: Any, **kwargs: Any) -> PromResult:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


class _HungPool:
    async def prometheus(self, cluster: Cluster) -> _HungProm:
        return _HungProm()


@pytest.mark.asyncio
async def test_a_query_waiting_for_a_slow_clusters_slot_times_out_within_its_own_bound() -> None:
    """The slot is waited for within the cluster's timeout: the console's query waited behind
    the GPU page's runs first (timeout_s=1: ERROR after 17.9 s, its bound 6 s)."""
    engine = MultiClusterQuery(_HungPool(), parallel=1)  # type: ignore[arg-type]
    slow = _cluster("slow")
    ahead = asyncio.create_task(engine.run(MetricQuery(promql="up", timeout_s=10), [slow]))
    await asyncio.sleep(0.05)  # it holds the slot (for 15 s)
    started = time.monotonic()
    try:
        async with asyncio.timeout(9):
            answer = await engine.run(MetricQuery(promql="up", timeout_s=0.1), [slow])
    finally:
        ahead.cancel()
    assert time.monotonic() - started < 5.1 + 2  # its bound, the query's timeout + 5 s
    (failed,) = answer.failures
    assert (failed.cluster, failed.reason) == ("slow", "timed_out")
    with pytest.raises(asyncio.CancelledError):
        await ahead


def test_an_engine_keeps_no_event_loop_it_was_asked_on_before_the_last() -> None:
    """A semaphore waited on holds its loop: keyed weakly by the loop, each loop's set kept
    its loop alive for good."""
    prom = _Prom(ONE_SERIES, delay_s=0.01)
    engine = MultiClusterQuery(_OnePromPool(prom), parallel=2)  # type: ignore[arg-type]
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def page() -> None:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        runs = [engine.run(MetricQuery(promql="up"), [_cluster("alpha")]) for _ in range(5)]
        assert all(a.status is QueryStatus.SUCCESS for a in await asyncio.gather(*runs))

    for _ in range(5):
        asyncio.run(page())
    gc.collect()
    assert sum(loop() is not None for loop in loops) <= 1  # the last one's, at most
    assert prom.most_in_flight == 2


# -- 3: a string result is a complete answer, its text said -------------------------------------
def _string_answer(text: str, warnings: list[str] | None = None) -> PromResult:
    payload = {"status": "success", "data": {"resultType": "string", "result": [T0, text]}}
    if warnings:
        payload["warnings"] = warnings
    return parse_query_data(payload, "east-1")


@pytest.mark.asyncio
async def test_a_string_result_is_a_note_and_the_answer_is_complete() -> None:
    engine = MultiClusterQuery(_OnePromPool(_Prom(_string_answer("build-42"))))  # type: ignore[arg-type]
    answer = await engine.run(MetricQuery(promql='"build-42"'), [_cluster("east-1")])
    assert answer.status is QueryStatus.SUCCESS
    assert answer.series == []
    assert [o.warnings for o in answer.outcomes] == [[]]
    assert answer.notes == ["east-1: a string result, not a series: 'build-42'"]


@pytest.mark.asyncio
async def test_a_string_result_with_a_partial_response_warning_is_still_partial() -> None:
    result = _string_answer("build-42", ["store eu-west-3 unavailable, partial response"])
    engine = MultiClusterQuery(_OnePromPool(_Prom(result)))  # type: ignore[arg-type]
    answer = await engine.run(MetricQuery(promql='"build-42"'), [_cluster("east-1")])
    assert answer.status is QueryStatus.PARTIAL
    assert [o.warnings for o in answer.outcomes] == [
        ["store eu-west-3 unavailable, partial response"]
    ]
    assert answer.notes == ["east-1: a string result, not a series: 'build-42'"]


@pytest.mark.asyncio
async def test_a_scalar_result_stays_a_complete_answer_with_its_value() -> None:
    payload = {"status": "success", "data": {"resultType": "scalar", "result": [T0, "2"]}}
    prom = _Prom(parse_query_data(payload, "east-1"))
    engine = MultiClusterQuery(_OnePromPool(prom))  # type: ignore[arg-type]
    answer = await engine.run(MetricQuery(promql="1+1"), [_cluster("east-1")])
    assert answer.status is QueryStatus.SUCCESS
    assert [t.series.values.tolist() for t in answer.series] == [[2.0]]
    assert answer.notes == []
