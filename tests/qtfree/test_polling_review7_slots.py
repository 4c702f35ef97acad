"""Who gets the poller's slots in a site outage (fakes; no servers, no clock waits): a dark
cluster's polls queued before it was known to fail go to the failing share once it is (the
choice is made when a slot comes free, for the cluster), and a poll waiting for its cluster's
slot holds no global one meanwhile."""

from __future__ import annotations

import asyncio
import random

import pytest

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.polling import Source
from collectors.errors import CollectorServerError, CollectorTimeout
from collectors.prometheus import PromResult
from tests.qtfree.test_poller_schedule_fixes import PANELS, FakeProm, cluster, make_poller


class DarkProm(FakeProm):
    """A black-holed Prometheus: its readiness probe fails (no connection within the connect
    timeout), its queries never answer."""

    def __init__(self) -> None:
        super().__init__(hang=True)

    async def ready(self) -> bool:
        raise CollectorTimeout(
            "prometheus (https://prom.site-b.example:9090) did not answer in time "
            "(no connection within 10 s)",
            backend="prometheus",
        )


class HeldProm(FakeProm):
    """A healthy Prometheus whose answers wait for the test."""

    def __init__(self, answer: asyncio.Event) -> None:
        super().__init__()
        self.answer = answer

    async def query_range(self, promql: str, start: float, end: float, step: float) -> PromResult:
        await self.answer.wait()
        return await super().query_range(promql, start, end, step)


async def _settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


async def _cancelled(tasks: list[asyncio.Task[bool]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.asyncio
async def test_dark_polls_queued_before_their_cluster_failed_go_to_the_failing_share() -> None:
    """100 clusters black-holed at once: their first polls queued as healthy ones, each took
    a global slot when it came free and held it a whole connect timeout, and the healthy
    clusters' polls queued behind them (waits of 169 s, 87 of 150 sources STALE). Whether a
    poll is failing is now decided when a slot comes free for it, for its cluster: the
    health probe failing flags the cluster, and its metrics polls, queued before, take the
    failing share (one slot of four here), the healthy poll behind them the common slots."""
    answer = asyncio.Event()
    busy = [cluster(f"busy-{i}") for i in range(3)]
    dark = [cluster(f"site-b-{i}") for i in range(4)]
    ok = cluster("ok-1")
    proms: dict[str, FakeProm] = {c.name: HeldProm(answer) for c in busy}
    proms |= {c.name: DarkProm() for c in dark} | {"ok-1": FakeProm()}
    poller, _ = make_poller([*busy, *dark, ok], proms, catalog=PANELS[1:2], timeout_s=30.0,
                            global_cap=4)  # fmt: skip
    held = [asyncio.create_task(poller.run_source(c, Source.METRICS)) for c in busy]
    await _settle()  # 3 of the 4 global slots held: the dark clusters' polls queue
    health = [asyncio.create_task(poller.run_source(c, Source.HEALTH)) for c in dark]
    metrics = [asyncio.create_task(poller.run_source(c, Source.METRICS)) for c in dark]
    healthy = asyncio.create_task(poller.run_source(ok, Source.METRICS))
    try:
        await _settle()
        # the probes, one after another on the slot left, failed: the 4 clusters are dark
        assert all(t.done() and not t.result() for t in health)
        assert all(poller.status[(c.name, Source.METRICS)].consecutive_errors == 0 for c in dark)
        # the first dark metrics poll took the failing share's one slot, the others wait
        assert [len(proms[c.name].asked) for c in dark] == [1, 0, 0, 0]
        answer.set()  # the busy polls end: their slots go to the healthy poll, not the dark
        async with asyncio.timeout(2.0):  # not the 30 s of a dark poll behind the others
            assert all(await asyncio.gather(*held))
            assert await healthy
        assert [len(proms[c.name].asked) for c in dark] == [1, 0, 0, 0]
        assert poller._slots.free == 3  # (the dark one holds the fourth)
    finally:
        await _cancelled([*held, *metrics, healthy])


class AmFake:
    """An Alertmanager: black-holed (no connection within the connect timeout) or refusing
    each read (a 503)."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    async def alerts(self, _cluster: str) -> list[object]:
        raise self.exc


def _with_am(name: str) -> Cluster:
    return Cluster(
        name=name,
        endpoints=[
            Endpoint(kind=EndpointKind.PROMETHEUS, url=f"https://prom.{name}.example:9090"),
            Endpoint(kind=EndpointKind.ALERTMANAGER, url=f"https://am.{name}.example:9093"),
        ],
    )


@pytest.mark.asyncio
async def test_a_source_unanswered_marks_its_cluster_dark_a_refused_one_does_not() -> None:
    """The first of a dark cluster's sources to fail for want of an answer (its alerts, read
    every 10 s) makes its other polls failing ones before their own first failure; one whose
    endpoint refuses at once (a 503) holds no slot long and leaves the others alone."""
    dark, refusing = _with_am("site-b-3"), _with_am("east-2")
    ams = {
        "site-b-3": AmFake(CollectorTimeout(
            "alertmanager (https://am.site-b-3.example:9093) did not answer in time "
            "(no connection within 10 s)", backend="alertmanager")),
        "east-2": AmFake(CollectorServerError(
            "alertmanager (https://am.east-2.example:9093) failed (HTTP 503): no healthy "
            "upstream", backend="alertmanager", status=503)),
    }  # fmt: skip
    poller, _ = make_poller([dark, refusing], {"site-b-3": FakeProm(), "east-2": FakeProm()},
                            catalog=PANELS[1:2], timeout_s=5.0)  # fmt: skip
    poller._pool.alertmanager = lambda c: _ready(ams[c.name])  # type: ignore[attr-defined]
    for c in (dark, refusing):
        assert not poller._failing_now(c, Source.METRICS)
        assert not await poller.run_source(c, Source.ALERTS)
    assert poller._failing_now(dark, Source.METRICS)
    assert poller._failing_now(dark, Source.HEALTH)
    assert not poller._failing_now(refusing, Source.METRICS)
    assert poller._failing_now(refusing, Source.ALERTS)  # (itself failing)
    # its metrics answer after that (its alerts' endpoint alone black-holed): they are not
    # sent to the share for it, until its alerts go unanswered again
    assert await poller.run_source(dark, Source.METRICS)
    assert not poller._failing_now(dark, Source.METRICS)
    assert not await poller.run_source(dark, Source.ALERTS)
    assert poller._failing_now(dark, Source.METRICS)
    ams["site-b-3"].alerts = _no_alerts  # type: ignore[method-assign]
    assert await poller.run_source(dark, Source.ALERTS)  # back: no longer dark
    assert not poller._failing_now(dark, Source.METRICS)
    assert not poller._failing_now(dark, Source.HEALTH)  # (never polled: judged by the others)
    poller.forget(refusing)
    assert "east-2" not in poller._unanswered


async def _ready(value: object) -> object:
    return value


async def _no_alerts(_cluster: str) -> list[object]:
    return []


@pytest.mark.asyncio
async def test_a_poll_waiting_for_its_clusters_slot_holds_no_global_one() -> None:
    """A dark cluster with more polls than its own slots (5 sources, 4 slots): the one left
    waiting for its cluster's slot sat on a global slot doing nothing. The cluster's slot is
    now taken first, the global one after it (in that order everywhere: no deadlock)."""
    dark, ok = cluster("dark-1"), cluster("ok-1")
    poller, _ = make_poller([dark, ok], {"dark-1": FakeProm(hang=True), "ok-1": FakeProm()},
                            catalog=PANELS[1:2], timeout_s=30.0, global_cap=2,
                            per_cluster_cap=1)  # fmt: skip
    busy = [
        asyncio.create_task(poller.run_source(dark, s)) for s in (Source.METRICS, Source.HEALTH)
    ]
    await _settle()  # one holds dark-1's slot (and a global one), the other waits for dark-1's
    try:
        async with asyncio.timeout(2.0):  # not the 30 s of the dark poll
            assert await poller.run_source(ok, Source.METRICS)
    finally:
        await _cancelled(busy)


class Flaky(FakeProm):
    """Answers after a turn or two of the loop, or fails (a 503), at random."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng

    async def query_range(self, promql: str, start: float, end: float, step: float) -> PromResult:
        for _ in range(self.rng.randint(0, 3)):
            await asyncio.sleep(0)
        if self.rng.random() < 0.4:
            raise CollectorServerError("HTTP 503 from prometheus", backend="prometheus", status=503)
        return await super().query_range(promql, start, end, step)

    async def ready(self) -> bool:
        for _ in range(self.rng.randint(0, 3)):
            await asyncio.sleep(0)
        return self.rng.random() < 0.6


@pytest.mark.asyncio
async def test_polls_of_many_clusters_on_few_slots_all_end() -> None:
    """Many polls at once, of clusters failing and answering by turns, on 3 global slots and
    1 per cluster: every poll ends (no deadlock between the slots), and every slot is given
    back."""
    rng = random.Random(7)
    clusters = [cluster(f"edge-{i}") for i in range(6)]
    poller, _ = make_poller(clusters, {c.name: Flaky(rng) for c in clusters},
                            catalog=PANELS[1:3], timeout_s=5.0, global_cap=3,
                            per_cluster_cap=1)  # fmt: skip
    async with asyncio.timeout(5.0):
        for _ in range(5):
            polls = [poller.run_source(c, s) for c in clusters
                     for s in (Source.METRICS, Source.HEALTH, Source.METRICS)]  # fmt: skip
            rng.shuffle(polls)
            await asyncio.gather(*polls)
    assert poller._slots.free == 3 and poller._slots.failing_free == 1  # all given back
