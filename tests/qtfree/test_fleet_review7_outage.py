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
from aiops_desktop.models.enums import ClusterState
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
    """What the truth reads of the poller: each cluster's metrics poll, and whether it got
    no answer (``unanswered``: no connection, none in time)."""

    def __init__(self, clusters: list[Cluster], clock: Clock) -> None:
        self.clock = clock
        self.dark: set[str] = set()  # those whose metrics poll got no answer
        self.alerts: dict[str, list[object]] = {}
        self.member_seen: dict[str, dict[str, datetime | None]] = {}
        self.status: dict[tuple[str, str], SourceStatus] = {}
        for c in clusters:
            self.status[(c.name, Source.METRICS)] = SourceStatus(
                c.name, Source.METRICS, 30.0, timeout_s=30.0
            )
            self.answers(c.name)

    def unanswered(self, name: str, source: str) -> bool:
        return source == Source.METRICS and name in self.dark

    def answers(self, name: str) -> SourceStatus:
        self.dark.discard(name)
        s = self.status[(name, Source.METRICS)]
        s.polls += 1
        s.consecutive_errors, s.last_error, s.last_success = 0, None, self.clock()
        return s

    def fails(self, name: str, why: str, *, unanswered: bool = False) -> SourceStatus:
        """Its metrics poll fails with ``why``: for want of an answer (``unanswered``: a
        connect timeout), or answered with a refusal (an HTTP 422)."""
        (self.dark.add if unanswered else self.dark.discard)(name)
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
        fleet.poller.fails("dark-1", DOWN, unanswered=True)
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
    fleet.poller.fails("dark-1", DOWN, unanswered=True)
    published: asyncio.Queue[FleetTruth] = asyncio.Queue()
    fleet.bus.subscribe(FLEET_CHANGED, published.put_nowait)
    task = asyncio.create_task(fleet.state.run(every_s=3600.0, soonest_s=0.0))
    try:
        first = await asyncio.wait_for(published.get(), 5)
        assert fleet.truth("dark-1", first).coverage["findings"] is Coverage.UNREACHABLE
        # another source's poll, or its poll failing again, wakes nothing
        fleet.bus.publish(POLL_STATUS_CHANGED, fleet.poller.fails("dark-1", DOWN, unanswered=True))
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


# -- left out only with no connection (review 7b) ------------------------------------------------
#: Prometheus' refusal of a dashboard panel too heavy for it: it answers, the light findings
#: queries too
HEAVY = (
    "prometheus (https://prometheus.big-1.example.net) refused the query: query processing "
    "would load too many samples into memory in query execution"
)


@pytest.mark.asyncio
async def test_a_cluster_whose_poll_is_refused_not_unanswered_is_read_as_before() -> None:
    """Its metrics poll fails for no outage (a panel refused with HTTP 422, too many samples):
    it was left out of every refresh while the poll failed, and a node gone NotReady meanwhile
    was never found (its Prometheus answered every findings query). It is read."""
    fleet = Fleet("big-1")
    try:
        assert fleet.truth("big-1", await fleet.state.refresh()).state is Health.OK
        fleet.poller.fails("big-1", HEAVY)
        fleet.site.sick.add("big-1")
        fleet.site.asked.clear()
        big = fleet.truth("big-1", await fleet.state.refresh())
        assert "big-1" in fleet.site.asked
        assert [(f.subject, f.stale) for f in big.findings] == [("node du-1", False)]
        assert "findings" not in big.unread and "findings" not in big.coverage
        assert big.worst().subject == "node du-1"  # (its metrics, unread, say so besides)
    finally:
        await fleet.pool.close()


@pytest.mark.asyncio
async def test_a_cluster_whose_health_check_reached_nothing_is_left_out() -> None:
    """Its metrics poll refused at once (connection refused, no timeout) and its health check
    reached no endpoint (OFFLINE): no connection, left out as a dark one is."""
    fleet = Fleet("dark-1", "ok-1")
    refused = (
        "prometheus (https://prometheus.dark-1.example.net) is unreachable: connection refused"
    )
    try:
        await fleet.state.refresh()
        fleet.poller.fails("dark-1", refused)
        health = SourceStatus("dark-1", Source.HEALTH, 30.0, consecutive_errors=1,
                              last_error=refused)  # fmt: skip
        fleet.poller.status[("dark-1", Source.HEALTH)] = health
        dark = fleet.clusters[0]
        offline = dark.status.model_copy(update={"state": ClusterState.OFFLINE})
        fleet.clusters[0] = dark.model_copy(update={"status": offline})
        fleet.state._registry.listed = list(fleet.clusters)  # type: ignore[attr-defined]
        fleet.site.asked.clear()
        truth = await fleet.state.refresh()
        assert "dark-1" not in fleet.site.asked and "ok-1" in fleet.site.asked
        assert fleet.truth("dark-1", truth).coverage["findings"] is Coverage.UNREACHABLE
        # its health check reaches it again (its poll still failing): read
        fleet.poller.status[("dark-1", Source.HEALTH)] = SourceStatus("dark-1", Source.HEALTH, 30.0)
        fleet.site.asked.clear()
        await fleet.state.refresh()
        assert "dark-1" in fleet.site.asked
    finally:
        await fleet.pool.close()


class Heavy(Site):
    """The site, where ``heavy`` clusters' Prometheus refuses every range query (a dashboard
    panel's) as too heavy, HTTP 422, and answers the instant ones."""

    def __init__(self) -> None:
        super().__init__()
        self.heavy: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host.split(".")[1]
        if host in self.heavy and request.url.path.endswith("query_range"):
            self.asked.append(host)
            return httpx.Response(422, json={
                "status": "error", "errorType": "execution",
                "error": "query processing would load too many samples into memory in query "
                         "execution"})  # fmt: skip
        return await super().handle_async_request(request)


@pytest.mark.asyncio
async def test_the_pollers_own_failures_decide_who_is_left_out() -> None:
    """The real poller's metrics polls: one refused (HTTP 422) is failing but answered, read
    by the findings refresh; one black-holed (a connect timeout) is unanswered, left out."""
    from aiops_desktop.services.polling.live import LiveBuffers
    from aiops_desktop.services.polling.poller import Poller as RealPoller
    from aiops_desktop.settings import PollerSettings
    from tests.qtfree.test_poller_schedule_fixes import PANELS, NoStore

    fleet = Fleet("big-1", "dark-1")
    site = Heavy()
    fleet.site = fleet.pool.site = site
    poller = RealPoller(Registry(fleet.clusters), fleet.pool, series=NoStore(),  # type: ignore[arg-type]
                        live=LiveBuffers(), bus=fleet.bus, supervisor=None,  # type: ignore[arg-type]
                        catalog=PANELS[1:2], settings=PollerSettings(timeout_s=5.0),
                        clock=fleet.clock)  # fmt: skip
    fleet.state = FleetState(
        Registry(fleet.clusters),
        poller,
        MultiClusterQuery(fleet.pool),  # type: ignore[arg-type]
        NoAnomalies(),
        fleet.bus,
        clock=fleet.clock,
    )  # type: ignore[arg-type]
    big, dark = fleet.clusters
    site.heavy.add("big-1")
    site.dark.add("dark-1")
    site.sick.update({"big-1", "dark-1"})
    try:
        assert not await poller.run_source(big, Source.METRICS)
        assert not await poller.run_source(dark, Source.METRICS)
        assert poller.status[("big-1", Source.METRICS)].consecutive_errors == 1
        assert not poller.unanswered("big-1", Source.METRICS)
        assert poller.unanswered("dark-1", Source.METRICS)
        site.asked.clear()
        truth = await fleet.state.refresh()
        assert "big-1" in site.asked and "dark-1" not in site.asked
        assert [f.subject for f in fleet.truth("big-1", truth).findings] == ["node du-1"]
        assert fleet.truth("dark-1", truth).coverage["findings"] is Coverage.UNREACHABLE
    finally:
        await fleet.pool.close()
