"""The poller, fourth review: a query the HTTP client gave up on is that panel slow, not the
endpoint down; a hub with a panel failing every poll still forgets a member gone a day; a
health check's copy of the fleet does not work out every cluster's polls again; a clock set
back leaves no member seen "in the future"; a source answering every poll, each slowly, is
not stale (fakes, an injected clock, an HTTP client on a mock transport; no servers)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import httpx
import numpy as np
import pytest

from aiops_desktop.models import Cluster, ClusterKind, EndpointKind
from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.metrics import PromSeries
from aiops_desktop.models.polling import BreakerState, Source
from aiops_desktop.services.polling.breaker import CircuitBreaker
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.polling.poller import MEMBER_KEPT, Poller
from aiops_desktop.services.runtime.bus import CLUSTERS_CHANGED, EventBus
from aiops_desktop.settings import HttpPolicy, PollerSettings
from collectors.errors import CollectorServerError
from collectors.http import BackendClient
from collectors.prometheus import PrometheusClient, PromResult
from tests.qtfree.poller_fakes import Clock
from tests.qtfree.test_poller_schedule_fixes import T0, NoStore

PANELS = [Panel(id=n, title=n, promql=f"{n}_q") for n in ("slow", "cpu", "mem", "net")]


class Registry:
    def __init__(self, clusters: list[Cluster]) -> None:
        self.listed = clusters

    def clusters(self) -> list[Cluster]:
        return list(self.listed)

    def get(self, name: str) -> Cluster:
        return next(c for c in self.listed if c.name == name)

    async def set_members(self, name: str, members: list[str]) -> None:
        hub = self.get(name)
        status = hub.status.model_copy(update={"members": members})
        self.listed = [c if c is not hub else c.model_copy(update={"status": status})
                       for c in self.listed]  # fmt: skip


def poller(registry: Registry, pool: object, catalog: list[Panel], **settings: float) -> Poller:
    return Poller(registry, pool, series=NoStore(), live=LiveBuffers(), bus=EventBus(),  # type: ignore[arg-type]
                  supervisor=None, catalog=catalog, settings=PollerSettings(**settings),  # type: ignore[arg-type]
                  clock=Clock(T0))  # fmt: skip


# -- 1: the HTTP client's timeout on one query -------------------------------------------
def prometheus(fail: type[httpx.TimeoutException], asked: list[str]) -> PrometheusClient:
    """A Prometheus whose ``slow_q`` ends in ``fail`` (the HTTP client's read limit, or no
    connection made), every other query answered."""

    async def handler(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        asked.append(form["query"])
        if form["query"] == "slow_q":
            raise fail("timed out", request=request)
        body = {"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"instance": "n1"}, "values": [[float(form["end"]), "1"]]}]}}  # fmt: skip
        return httpx.Response(200, json=body)

    http = BackendClient("http://prom.test", name="prometheus",
                         policy=HttpPolicy(read_timeout_s=30, retries=0),
                         transport=httpx.MockTransport(handler))  # fmt: skip
    return PrometheusClient(http)


def prom_cluster(name: str = "east-1") -> Cluster:
    return Cluster(name=name, endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS,
                                                  url="http://prom.test")])  # fmt: skip


@pytest.mark.asyncio
async def test_a_query_the_http_client_gave_up_on_is_slow_not_the_endpoint_down() -> None:
    """[poller].timeout_s above [http].read_timeout_s: a heavy query ends in the HTTP client's
    timeout. It was taken for "endpoint down": as the first panel, the whole poll failed, and
    kept first (no failed mark) every poll failed, the breaker opened, no panel was read."""
    asked: list[str] = []
    c = prom_cluster()
    client = prometheus(httpx.ReadTimeout, asked)
    p = poller(Registry([c]), SimpleNamespace(prometheus=lambda _c: _aw(client)), PANELS,
               timeout_s=120)  # fmt: skip
    breaker = CircuitBreaker()
    for _ in range(3):
        assert await p.run_source(c, Source.METRICS, breaker)
    status = p.status[("east-1", Source.METRICS)]
    assert status.consecutive_errors == 0 and breaker.state is BreakerState.CLOSED
    assert "slow" in (status.last_error or "")
    assert all(p.live.snapshot("east-1", n).series for n in ("cpu", "mem", "net"))
    # read after the others from the second poll on: it held none of them
    assert asked[4:8] == ["cpu_q", "mem_q", "net_q", "slow_q"]


@pytest.mark.asyncio
async def test_a_panel_with_no_connection_made_still_stops_the_poll_and_goes_last() -> None:
    """No connection within the connect timeout: the endpoint is down, no further panel is
    started; that panel goes after the others next time (it kept its place, first, and held
    every poll's first try)."""
    asked: list[str] = []
    c = prom_cluster()
    client = prometheus(httpx.ConnectTimeout, asked)
    p = poller(Registry([c]), SimpleNamespace(prometheus=lambda _c: _aw(client)), PANELS)
    assert not await p.run_source(c, Source.METRICS)
    assert asked == ["slow_q"]
    assert await p.run_source(c, Source.METRICS)
    assert asked[1] == "cpu_q"


async def _aw(value: object) -> object:
    return value


# -- 2: a hub with a panel that fails every poll -----------------------------------------
class HubProm:
    """A hub's Prometheus: a series of each member for every query but ``bad_q`` (a 503)."""

    def __init__(self, members: list[str]) -> None:
        self.members = members

    async def query_range(self, promql: str, start: float, end: float, step: float) -> PromResult:
        if promql == "bad_q":
            raise CollectorServerError("HTTP 503 from prometheus", backend="prometheus", status=503)
        ts = np.array([end])
        series = [PromSeries({"cluster": m}, ts, ts.copy()) for m in self.members]
        return PromResult("matrix", series, [])

    async def newest_sample_age(self) -> float:
        return 0.0


def hub() -> Cluster:
    prom = Endpoint(kind=EndpointKind.PROMETHEUS, url="http://127.0.0.1:9/p")
    return Cluster(name="hub", kind=ClusterKind.FLEET, endpoints=[prom])


@pytest.mark.asyncio
async def test_a_hub_with_a_panel_failing_every_poll_still_forgets_a_member_gone_a_day() -> None:
    """A poll a panel of failed forgot no member: one panel failing for good (a 503, a slow
    query) kept a powered-off member listed STALE for ever, its marks and buffers with it."""
    registry, prom = Registry([hub()]), HubProm(["m-a", "m-b"])
    catalog = [Panel(id="cpu", title="cpu", promql="cpu_q"),
               Panel(id="bad", title="bad", promql="bad_q")]  # fmt: skip
    p = poller(registry, SimpleNamespace(prometheus=lambda _c: _aw(prom)), catalog)
    clock = p._clock
    assert isinstance(clock, Clock)
    assert await p.run_source(registry.get("hub"), Source.METRICS)
    prom.members = ["m-a"]  # m-b powered off
    clock.advance(hours=12)
    assert await p.run_source(registry.get("hub"), Source.METRICS)
    assert registry.get("hub").status.members == ["m-a", "m-b"]  # STALE, still listed
    clock.advance(seconds=(MEMBER_KEPT - timedelta(hours=12)).total_seconds() + 60)
    assert await p.run_source(registry.get("hub"), Source.METRICS)
    assert registry.get("hub").status.members == ["m-a"]
    assert "m-b" not in p.member_seen["hub"] and p.live.clusters() == ["m-a"]


@pytest.mark.asyncio
async def test_a_hub_that_reads_no_panel_forgets_no_member() -> None:
    """The hub not answering says nothing of its members: none is dropped, however long."""
    registry, prom = Registry([hub()]), HubProm(["m-a", "m-b"])
    p = poller(registry, SimpleNamespace(prometheus=lambda _c: _aw(prom)),
               [Panel(id="cpu", title="cpu", promql="cpu_q")])  # fmt: skip
    clock = p._clock
    assert isinstance(clock, Clock)
    assert await p.run_source(registry.get("hub"), Source.METRICS)
    p.catalog = [Panel(id="bad", title="bad", promql="bad_q")]
    clock.advance(days=3)
    assert not await p.run_source(registry.get("hub"), Source.METRICS)
    assert registry.get("hub").status.members == ["m-a", "m-b"]


# -- 3: a health check's copy of the fleet ------------------------------------------------
class Task:
    def cancel(self) -> None:
        pass


class Supervisor:
    def __init__(self) -> None:
        self.spawned: list[str] = []

    def spawn(self, coro: object, name: str) -> Task:
        coro.close()  # type: ignore[attr-defined]
        self.spawned.append(name)
        return Task()


def test_a_health_checks_copy_of_a_cluster_does_not_work_out_its_polls_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each health check publishes the fleet (its cluster's status changed) and the poller
    worked out what every cluster's every source reads with, each endpoint and CA bundle
    dumped to JSON: 500 clusters checked every 30 s took 0.5 s of the UI's thread a second.
    A copy with only its status new costs nothing; a changed endpoint still restarts."""
    kinds = (EndpointKind.PROMETHEUS, EndpointKind.ALERTMANAGER)
    clusters = [Cluster(name=f"c{i:03d}", endpoints=[
        Endpoint(kind=k, url=f"https://{k.value.lower()}.c{i}.example") for k in kinds])
        for i in range(3)]  # fmt: skip
    registry, bus, supervisor = Registry(clusters), EventBus(), Supervisor()
    p = Poller(registry, None, series=NoStore(), live=LiveBuffers(), bus=bus,  # type: ignore[arg-type]
               supervisor=supervisor, catalog=PANELS)  # type: ignore[arg-type]  # fmt: skip
    p.start()
    assert len(supervisor.spawned) == 9
    worked_out = 0
    uses = Poller._uses

    def counted(cluster: Cluster, source: str) -> object:
        nonlocal worked_out
        worked_out += 1
        return uses(cluster, source)

    monkeypatch.setattr(Poller, "_uses", staticmethod(counted))
    for _ in range(5):  # a health check each: only a status changed
        checked = [c.model_copy(update={"status": c.status.model_copy(update={"health_score": 50})})
                   for c in registry.listed]  # fmt: skip
        registry.listed = checked
        bus.publish(CLUSTERS_CHANGED, checked)
    assert worked_out == 0 and len(supervisor.spawned) == 9
    moved = clusters[0].endpoints[0].model_copy(update={"url": "https://prom.moved.example"})
    changed = clusters[0].model_copy(update={"endpoints": [moved, clusters[0].endpoints[1]]})
    registry.listed = [changed, *registry.listed[1:]]
    bus.publish(CLUSTERS_CHANGED, registry.listed)
    assert (
        "poll-c000-metrics" in supervisor.spawned[9:]
        and "poll-c000-health" in supervisor.spawned[9:]
    )
    assert "poll-c000-alerts" not in supervisor.spawned[9:] and len(supervisor.spawned) == 11
    p.stop()


# -- 4: a clock set back -------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_clock_set_back_leaves_no_member_seen_in_the_future() -> None:
    """The clock ran an hour ahead and was set right: a member seen then was an hour "in the
    future", fresh (age 0) for the whole hour it had stopped reporting in."""
    registry, prom = Registry([hub()]), HubProm(["m-a", "m-b"])
    p = poller(registry, SimpleNamespace(prometheus=lambda _c: _aw(prom)),
               [Panel(id="cpu", title="cpu", promql="cpu_q")])  # fmt: skip
    clock = p._clock
    assert isinstance(clock, Clock)
    clock.advance(hours=1)
    assert await p.run_source(registry.get("hub"), Source.METRICS)
    clock.at = T0  # set right
    prom.members = ["m-a"]  # m-b stops reporting now
    assert await p.run_source(registry.get("hub"), Source.METRICS)
    assert p.member_seen["hub"]["m-b"] == T0


# -- 5: a source that answers every poll, slowly --------------------------------------------
class SlowManager:
    async def alerts(self, _name: str) -> list[object]:
        return []


@pytest.mark.asyncio
async def test_a_source_answering_every_poll_slowly_is_not_stale() -> None:
    """An answer stamped when the poll ends, the next poll an interval after: an Alertmanager
    answering every poll in 21 s of its 30 s was 10 s + 21 s old before each answer, over
    the 3 x 10 s limit, STALE with no poll failed. A poll's time limit is its due on top."""
    c = Cluster(name="east-1", endpoints=[Endpoint(kind=EndpointKind.ALERTMANAGER,
                                                   url="http://127.0.0.1:9/am")])  # fmt: skip
    p = poller(Registry([c]), SimpleNamespace(alertmanager=lambda _c: _aw(SlowManager())), [],
               timeout_s=30)  # fmt: skip
    assert await p.run_source(c, Source.ALERTS)
    status = p.status[("east-1", Source.ALERTS)]
    assert status.last_success is not None and status.interval_s == 10
    # the next poll began 11 s after (jitter) and answers in 29 s: 40 s old just before
    assert not status.stale(status.last_success + timedelta(seconds=40))
    assert not status.stale(status.last_success + timedelta(seconds=59))
    assert status.stale(status.last_success + timedelta(seconds=61))  # 3 x 10 s + 30 s
