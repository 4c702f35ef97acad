"""Who gets read, and when a poll counts as failed: a panel slower than the poll's time limit
does not hold the others; a poll that read some panels is a success of its source (what
failed is said, nothing backs off, the health check keeps Prometheus up); clusters whose
endpoints black-hole take their slots from a small budget of their own, so healthy clusters
are polled on time (fakes and an injected clock; no servers)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pytest

from aiops_desktop.models import Cluster, ClusterKind, EndpointKind
from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.metrics import PromSeries
from aiops_desktop.models.polling import BreakerState, Source
from aiops_desktop.services.polling.breaker import CircuitBreaker
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.polling.poller import Poller
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.settings import PollerSettings
from collectors.errors import CollectorServerError
from collectors.prometheus import PromResult
from tests.qtfree.poller_fakes import Clock

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
PROM = EndpointKind.PROMETHEUS
PANELS = [Panel(id=name, title=name, promql=f"{name}_query")
          for name in ("slow", "cpu", "mem", "net")]  # fmt: skip


class Registry:
    def __init__(self, clusters: list[Cluster]) -> None:
        self._clusters = clusters
        self.checks: list[dict[EndpointKind, bool]] = []

    def clusters(self) -> list[Cluster]:
        return list(self._clusters)

    def get(self, name: str) -> Cluster:
        return next(c for c in self._clusters if c.name == name)

    async def apply_check(
        self, _name: str, results: dict[EndpointKind, bool], _e: object, **_kw: object
    ) -> None:
        self.checks.append(dict(results))

    async def set_members(self, *_: object, **__: object) -> None:
        pass


class FakeProm:
    """Prometheus: a point a step; ``slow`` queries take ``slow_s``, ``failing`` ones answer
    503, ``hang`` makes every request wait for ever (a black-holed connection)."""

    def __init__(self, *, slow_s: float = 0.0, each_s: float = 0.0, hang: bool = False) -> None:
        self.asked: list[str] = []
        self.failing: set[str] = set()
        self.slow_s, self.each_s, self.hang = slow_s, each_s, hang

    async def query_range(self, promql: str, start: float, end: float, step: float) -> PromResult:
        self.asked.append(promql.removesuffix("_query"))
        if self.hang:
            await asyncio.sleep(3600)
        if self.each_s:
            await asyncio.sleep(self.each_s)
        if promql.startswith("slow") and self.slow_s:
            await asyncio.sleep(self.slow_s)
        if any(promql.startswith(bad) for bad in self.failing):
            raise CollectorServerError(
                "HTTP 503 from prometheus: query timed out", backend="prometheus", status=503
            )
        ts = start + np.arange(int((end - start) // step) + 1) * step
        return PromResult("matrix", [PromSeries({"instance": "n1"}, ts, ts.copy())], [])

    async def newest_sample_age(self) -> float:
        return 0.0

    async def ready(self) -> bool:
        if self.hang:
            await asyncio.sleep(3600)
        return True


@dataclass
class Pool:
    proms: dict[str, FakeProm]

    async def prometheus(self, cluster: Cluster) -> FakeProm:
        return self.proms[cluster.name]


class NoStore:
    def append(self, _batches: object) -> None:
        pass


def cluster(name: str = "east-1", **kw: object) -> Cluster:
    return Cluster(name=name, endpoints=[Endpoint(kind=PROM, url="http://127.0.0.1:9/p")], **kw)


def make_poller(
    clusters: list[Cluster],
    proms: dict[str, FakeProm],
    clock: Callable[[], datetime] | None = None,
    catalog: list[Panel] = PANELS,
    **settings: float,
) -> tuple[Poller, Registry]:
    registry = Registry(clusters)
    poller = Poller(registry, Pool(proms), series=NoStore(), live=LiveBuffers(), bus=EventBus(),  # type: ignore[arg-type]
                    supervisor=None, catalog=catalog, settings=PollerSettings(**settings),  # type: ignore[arg-type]
                    clock=clock or Clock(T0))  # fmt: skip
    return poller, registry


# -- 1: a panel slower than the poll's time limit ------------------------------------------
@pytest.mark.asyncio
async def test_a_panel_slower_than_the_poll_does_not_starve_the_others() -> None:
    """apiserver_p99 taking 40 s against a 30 s poll: the poll ended inside it, its read mark
    never moved, so "stalest first" put it first in every later poll, each ending in it: no
    other panel was read again. Now its read has a limit of its own, it goes to the back of
    the next poll's order, and its failure is said."""
    clock, prom, east = Clock(T0), FakeProm(slow_s=60), cluster()
    poller, _ = make_poller([east], {"east-1": prom}, clock, timeout_s=0.4)
    polls = []
    for _ in range(6):
        prom.asked.clear()
        await poller.run_source(east, Source.METRICS)
        polls.append(list(prom.asked))
        clock.advance(seconds=30)
    for asked in polls[1:]:  # after the first, every other panel is read in every poll
        assert {"cpu", "mem", "net"} <= set(asked), polls
    assert sum("slow" in asked for asked in polls) >= 3  # tried, not given up on
    assert polls[1][-1] == "slow"  # a panel that timed out goes last next time
    said = poller.status[("east-1", Source.METRICS)].last_error or ""
    assert "slow: no answer within" in said, said


@pytest.mark.asyncio
async def test_a_slow_endpoint_reads_every_panel_in_turn() -> None:
    """Each query slow, 13 panels more than a poll's time limit allows: each poll goes on
    where the last stopped, none is left out for good (a panel cut at the poll's end is not
    sent to the back for ever), and the poll is a success of its source."""
    catalog = [Panel(id=f"p{i:02d}", title="p", promql=f"p{i:02d}_query") for i in range(13)]
    clock, prom, east = Clock(T0), FakeProm(each_s=0.04), cluster()
    poller, _ = make_poller([east], {"east-1": prom}, clock, catalog, timeout_s=0.4)
    for _ in range(8):
        assert await poller.run_source(east, Source.METRICS)
        clock.advance(seconds=30)
    reads = Counter(prom.asked)
    assert set(reads) == {p.id for p in catalog} and min(reads.values()) >= 3, reads
    assert poller.status[("east-1", Source.METRICS)].consecutive_errors == 0


# -- 2: one panel's failure is not the source's --------------------------------------------
@pytest.mark.asyncio
async def test_one_failing_panel_is_not_a_failure_of_the_source() -> None:
    """A heavy query answered 503 ("query timed out") failed the whole metrics source: the
    backoff doubled, the breaker opened and the health check said Prometheus DOWN ("its
    queries fail"), while every other panel was read. Now the poll is a success, the panel's
    failure is said; only a poll that read no panel counts against the source."""
    prom, east = FakeProm(), cluster()
    prom.failing = {"slow"}
    poller, registry = make_poller([east], {"east-1": prom})
    breaker = CircuitBreaker(reset_after_s=60)
    for _ in range(8):
        assert breaker.allow()
        assert await poller.run_source(east, Source.METRICS, breaker)
    status = poller.status[("east-1", Source.METRICS)]
    assert status.consecutive_errors == 0 and status.last_success is not None
    assert breaker.state is BreakerState.CLOSED and status.breaker is BreakerState.CLOSED
    assert "slow: HTTP 503 from prometheus: query timed out" in (status.last_error or "")
    assert await poller.run_source(east, Source.HEALTH)
    assert registry.checks[-1][PROM] is True  # its queries answer: up
    prom.failing = {"slow", "cpu", "mem", "net"}  # no panel read: that is a failure
    assert not await poller.run_source(east, Source.METRICS, breaker)
    assert status.consecutive_errors == 1 and breaker.failures == 1
    await poller.run_source(east, Source.HEALTH)
    assert registry.checks[-1][PROM] is False


@pytest.mark.asyncio
async def test_a_poll_cut_short_after_reading_panels_is_a_success() -> None:
    """A hub whose newest-sample query hangs after its panels were read: the poll's time limit
    ends it, yet its panels were read (the source answers); what was cut is said."""

    class HangingAge(FakeProm):
        async def newest_sample_age(self) -> float:
            await asyncio.sleep(3600)
            return 0.0

    hub = cluster("hub-1", kind=ClusterKind.FLEET)
    poller, _ = make_poller([hub], {"hub-1": HangingAge()}, timeout_s=0.2)
    assert await poller.run_source(hub, Source.METRICS)
    status = poller.status[("hub-1", Source.METRICS)]
    assert status.consecutive_errors == 0 and status.last_error


# -- 3: black-holed clusters do not take every slot -----------------------------------------
@pytest.mark.asyncio
async def test_failing_clusters_leave_slots_for_healthy_ones() -> None:
    """A site outage whose endpoints black-hole: its clusters' polls each held one of the
    global slots for a whole poll timeout, and a healthy cluster's poll queued behind them
    (STALE). Once failing, they take their slots from a small budget of their own."""
    dead = [cluster(f"site-b-{i}") for i in range(8)]
    ok = cluster("ok-1")
    proms = {c.name: FakeProm(hang=True) for c in dead} | {"ok-1": FakeProm()}
    poller, _ = make_poller([*dead, ok], proms, catalog=PANELS[1:2], timeout_s=0.3,
                            global_cap=4)  # fmt: skip
    first = await asyncio.gather(*(poller.run_source(c, Source.METRICS) for c in dead))
    assert not any(first)  # each failed once: now known to fail
    trying = [asyncio.create_task(poller.run_source(c, Source.METRICS)) for c in dead]
    await asyncio.sleep(0.01)  # they are waiting on their black holes
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await poller.run_source(ok, Source.METRICS)
    assert loop.time() - started < 0.1  # not a poll timeout behind the dead ones
    assert not any(await asyncio.gather(*trying))
    assert all(poller.status[(c.name, Source.METRICS)].consecutive_errors == 2 for c in dead)
