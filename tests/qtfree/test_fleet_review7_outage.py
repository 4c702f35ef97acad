"""The fleet's findings refresh during a site outage (review 7).

Every cluster's Prometheus black-holed at a site held a slot of each findings query for its
whole limit (35 s): the minute's refresh took three minutes, and as its findings were stamped
with the refresh's start every healthy cluster read STALE most of the time. A cluster whose
metrics poll fails now is left out of the read (its findings kept, said not read, with the
poll's reason: never OK), read again as soon as its poll answers; each cluster's findings are
as old as its own read, taken when that read ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.fleet import Coverage, FleetTruth, Health
from aiops_desktop.models.polling import Source, SourceStatus
from aiops_desktop.services.fleet.state import (
    FINDINGS_STALE_AFTER,
    FLEET_CHANGED,
    FleetState,
    unread_sources,
)
from aiops_desktop.services.polling.catalog import field_queries
from aiops_desktop.services.polling.poller import POLL_STATUS_CHANGED
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.settings import HttpPolicy
from collectors.http import BackendClient
from collectors.prometheus import PrometheusClient

T0 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
NOT_READY = field_queries("kube")["not_ready"]
DOWN = "prometheus (https://prometheus.dark-1.example.net) is unreachable: connection timed out"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Site(httpx.AsyncBaseTransport):
    """Each cluster's Prometheus, by host: ``dark`` ones fail to connect, ``refusing`` ones
    answer 401, the others answer every query (``du-1`` NotReady on ``sick`` ones); ``on_ask``
    runs as each query is answered (a read that takes time: the clock moves)."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.dark: set[str] = set()
        self.refusing: set[str] = set()
        self.sick: set[str] = set()
        self.on_ask: Callable[[str], None] = lambda host: None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host.split(".")[1]  # prometheus.<cluster>.example.net
        self.asked.append(host)
        if host in self.dark:
            raise httpx.ConnectTimeout("timed out", request=request)
        if host in self.refusing:
            return httpx.Response(401, json={"error": "Unauthorized"})
        self.on_ask(host)
        promql = parse_qs(request.content.decode()).get("query", [""])[0]
        if request.url.path.endswith("query_range"):
            data = {"resultType": "matrix", "result": []}
        elif promql == NOT_READY and host in self.sick:
            sample = [T0.timestamp(), "1"]
            data = {
                "resultType": "vector",
                "result": [{"metric": {"node": "du-1"}, "value": sample}],
            }
        else:
            data = {"resultType": "vector", "result": []}
        return httpx.Response(200, json={"status": "success", "data": data})


class Pool:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.clients: dict[str, PrometheusClient] = {}

    async def prometheus(self, cluster: Cluster) -> PrometheusClient:
        if cluster.name not in self.clients:
            url = cluster.endpoint(EndpointKind.PROMETHEUS).url  # type: ignore[union-attr]
            http = BackendClient(url, name="prometheus", policy=HttpPolicy(retries=0),
                                 transport=self.site)  # fmt: skip
            self.clients[cluster.name] = PrometheusClient(http)
        return self.clients[cluster.name]

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()


def cluster(name: str) -> Cluster:
    url = f"https://prometheus.{name}.example.net"
    return Cluster(name=name, endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS, url=url)])


class Registry:
    def __init__(self, clusters: list[Cluster]) -> None:
        self.listed = clusters

    def clusters(self) -> list[Cluster]:
        return list(self.listed)

    def members(self, hub: Cluster, seen: object = ()) -> list[str]:
        return []


class Poller:
    """What the truth reads of the poller: each cluster's metrics poll."""

    def __init__(self, clusters: list[Cluster], clock: Clock) -> None:
        self.clock = clock
        self.alerts: dict[str, list[object]] = {}
        self.member_seen: dict[str, dict[str, datetime | None]] = {}
        self.status: dict[tuple[str, str], SourceStatus] = {}
        for c in clusters:
            self.status[(c.name, Source.METRICS)] = SourceStatus(
                c.name, Source.METRICS, 30.0, timeout_s=30.0
            )
            self.answers(c.name)

    def answers(self, name: str) -> SourceStatus:
        s = self.status[(name, Source.METRICS)]
        s.polls += 1
        s.consecutive_errors, s.last_error, s.last_success = 0, None, self.clock()
        return s

    def fails(self, name: str, why: str) -> SourceStatus:
        s = self.status[(name, Source.METRICS)]
        s.polls += 1
        s.consecutive_errors += 1
        s.total_errors += 1
        s.last_error = why
        return s


class NoAnomalies:
    async def current(self, within: timedelta) -> list[object]:
        return []


class Fleet:
    def __init__(self, *names: str) -> None:
        self.clock = Clock()
        self.clusters = [cluster(n) for n in names]
        self.site = Site()
        self.pool = Pool(self.site)
        self.poller = Poller(self.clusters, self.clock)
        self.bus = EventBus()
        self.state = FleetState(Registry(self.clusters), self.poller,  # type: ignore[arg-type]
                                MultiClusterQuery(self.pool), NoAnomalies(),  # type: ignore[arg-type]
                                self.bus, clock=self.clock)  # fmt: skip

    def truth(self, name: str, truth: FleetTruth | None = None) -> object:
        return next(t for t in (truth or self.state.snapshot()).clusters if t.name == name)


@pytest.mark.asyncio
async def test_a_cluster_whose_metrics_poll_fails_is_left_out_and_said_not_read() -> None:
    fleet = Fleet("dark-1", "ok-1")
    fleet.site.sick.add("dark-1")
    try:
        first = await fleet.state.refresh()
        assert fleet.truth("dark-1", first).state is Health.DEGRADED  # its NotReady node

        # the site goes dark: its poll fails, then the minute's findings refresh
        fleet.site.dark.add("dark-1")
        fleet.poller.fails("dark-1", DOWN)
        fleet.site.asked.clear()
        truth = await fleet.state.refresh()
        assert "dark-1" not in fleet.site.asked  # not one query waited on it
        assert "ok-1" in fleet.site.asked
        dark = fleet.truth("dark-1", truth)
        assert dark.coverage["findings"] is Coverage.UNREACHABLE  # never OK
        assert DOWN in dark.unread["findings"]  # the poll's reason
        assert dark.state is Health.OFFLINE
        kept = [f for f in dark.findings if f.subject == "node du-1"]
        assert kept and kept[0].stale  # what it had, kept, not dropped
        said, _ = unread_sources(fleet.poller.status.values(), truth.clusters)
        assert any(line.startswith("dark-1/findings: ") and DOWN in line for line in said)
        assert fleet.truth("ok-1", truth).state is Health.OK

        # its poll answers: the next refresh reads it again
        fleet.site.dark.clear()
        fleet.poller.answers("dark-1")
        fleet.site.asked.clear()
        again = await fleet.state.refresh()
        assert "dark-1" in fleet.site.asked
        back = fleet.truth("dark-1", again)
        assert "findings" not in back.coverage and "findings" not in back.unread
        assert [f.stale for f in back.findings if f.subject == "node du-1"] == [False]
    finally:
        await fleet.pool.close()


@pytest.mark.asyncio
async def test_findings_are_as_old_as_each_clusters_own_read_not_the_refreshs_start() -> None:
    """A read that ended 2 minutes after the refresh began: 100 s after it ended its findings
    are 100 s old, not 220 s (STALE after 180 s: every healthy cluster was, most of the time)."""
    fleet = Fleet("ok-1")
    started = fleet.clock.now
    ended = started + timedelta(seconds=120)

    def slow(host: str) -> None:
        fleet.clock.now = ended

    fleet.site.on_ask = slow
    try:
        await fleet.state.refresh()
        assert fleet.state.refreshed_at == started  # what the findings are as of
        fleet.clock.now = ended + timedelta(seconds=100)
        fleet.poller.answers("ok-1")
        assert (fleet.clock.now - started) > FINDINGS_STALE_AFTER
        ok = fleet.truth("ok-1")
        assert "findings" not in ok.coverage
        assert ok.state is Health.OK and ok.health_score == 100
        fleet.clock.now = ended + FINDINGS_STALE_AFTER + timedelta(seconds=1)
        fleet.poller.answers("ok-1")
        late = fleet.truth("ok-1")
        assert late.coverage["findings"] is Coverage.STALE  # three refreshes missed: said
        assert late.stale_since == ended
    finally:
        await fleet.pool.close()


@pytest.mark.asyncio
async def test_a_cluster_left_out_is_read_again_as_soon_as_its_poll_answers() -> None:
    """Not a minute later: the refresh loop wakes when a left-out cluster's poll answers."""
    fleet = Fleet("dark-1", "ok-1")
    fleet.site.dark.add("dark-1")
    fleet.poller.fails("dark-1", DOWN)
    published: asyncio.Queue[FleetTruth] = asyncio.Queue()
    fleet.bus.subscribe(FLEET_CHANGED, published.put_nowait)
    task = asyncio.create_task(fleet.state.run(every_s=3600.0, soonest_s=0.0))
    try:
        first = await asyncio.wait_for(published.get(), 5)
        assert fleet.truth("dark-1", first).coverage["findings"] is Coverage.UNREACHABLE
        # another source's poll, or its poll failing again, wakes nothing
        fleet.bus.publish(POLL_STATUS_CHANGED, fleet.poller.fails("dark-1", DOWN))
        fleet.bus.publish(POLL_STATUS_CHANGED, fleet.poller.answers("ok-1"))
        await asyncio.sleep(0.05)
        assert published.empty()
        fleet.site.dark.clear()
        fleet.bus.publish(POLL_STATUS_CHANGED, fleet.poller.answers("dark-1"))
        again = await asyncio.wait_for(published.get(), 5)
        assert "findings" not in fleet.truth("dark-1", again).coverage
        assert fleet.truth("dark-1", again).state is Health.OK
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await fleet.pool.close()
