"""The poller, fifth review: a hub's member is judged stale by the rule its hub's source is
(a poll's time limit on top of 3 intervals), by the truth and the poller alike; a poll whose
answer was cut forgets no member of the hub; a hung endpoint (every query the HTTP client's
read timeout) fails its poll at the second timeout, not at the poll's limit (fakes, an
injected clock, an HTTP client on a mock transport; no servers)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest

import aiops_desktop.services.polling.poller as poller_module
from aiops_desktop.models import Cluster, ClusterKind, EndpointKind
from aiops_desktop.models.catalog import Panel
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.fleet import Coverage, Health
from aiops_desktop.models.polling import Source
from aiops_desktop.services.polling.breaker import CircuitBreaker
from aiops_desktop.settings import HttpPolicy
from collectors.http import BackendClient
from collectors.prometheus import PrometheusClient
from tests.qtfree.poller_fakes import Clock
from tests.qtfree.test_fleet_truth_failures import cluster
from tests.qtfree.test_fleet_truth_hubs import T0, fleet_of
from tests.qtfree.test_poller_review4 import (
    PANELS,
    HubProm,
    Registry,
    _aw,
    hub,
    poller,
    prom_cluster,
)


# -- 1: a member's freshness, by its hub's source's rule ------------------------------------
def slow_polls(statuses: object, *hubs: str) -> None:
    """Each hub's sources as the poller sets them: every 10 s, 30 s for a poll."""
    for name in hubs:
        for source in (Source.METRICS, Source.ALERTS):
            status = statuses[(name, source)]  # type: ignore[index]
            status.interval_s, status.timeout_s = 10.0, 30.0


def test_a_member_of_a_hub_answering_every_poll_slowly_is_not_stale() -> None:
    """The hub's answer 40 s old (the next poll began 11 s after, answering 29 s in): the hub
    READ by its status (3 x 10 s + 30 s), its member, seen in the same poll, was STALE (3 x
    10 s): part of every slow poll each member of a healthy hub was STALE."""
    hub = cluster("acm-hub", hub=True, members=("ran-east",))
    fleet, poller_ = fleet_of([hub], {"ran-east": [], "acm-hub": []})
    slow_polls(poller_.status, "acm-hub")
    poller_.member_seen = {"acm-hub": {"ran-east": T0}}
    fleet._clock = lambda: T0 + timedelta(seconds=40)
    east = fleet.snapshot().get("ran-east")
    assert east is not None and east.coverage["metrics"] is Coverage.READ
    assert east.state is Health.OK
    fleet._clock = lambda: T0 + timedelta(seconds=61)  # past its hub's limit: STALE both
    east = fleet.snapshot().get("ran-east")
    assert east is not None and east.coverage["metrics"] is Coverage.STALE


def test_a_member_of_two_hubs_stays_with_the_first_while_it_answers_slowly() -> None:
    """acm-hub (first by name) has ran-east 40 s ago, in time by its rule: the member was
    judged from thanos-hub, whose last poll had it, and the two took turns."""
    a = cluster("acm-hub", hub=True, members=("ran-east",))
    b = cluster("thanos-hub", hub=True, members=("ran-east",))
    fleet, poller_ = fleet_of([a, b], {"ran-east": []})
    slow_polls(poller_.status, "acm-hub", "thanos-hub")
    now = T0 + timedelta(seconds=40)
    poller_.status[("thanos-hub", Source.METRICS)].last_success = now
    poller_.member_seen = {"acm-hub": {"ran-east": T0}, "thanos-hub": {"ran-east": now}}
    fleet._clock = lambda: now
    east = fleet.snapshot().get("ran-east")
    assert east is not None and east.hub == "acm-hub"
    assert east.coverage["metrics"] is Coverage.READ


def test_a_second_hub_does_not_file_a_member_the_first_reads_slowly() -> None:
    """hub-a reads m in every poll, each slowly (40 s old by the next answer): hub-b filed m
    too (two time grids in one series, a zig-zag), by the old 3 x interval rule."""
    a, b = (Cluster(name=n, kind=ClusterKind.FLEET,
                    endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS, url=f"http://{n}.invalid")])
            for n in ("hub-a", "hub-b"))  # fmt: skip
    p = poller(Registry([a, b]), None, [], timeout_s=30)
    clock = p._clock
    assert isinstance(clock, Clock)
    status = p._status(a, Source.METRICS, 10.0)
    status.last_success, status.polls = clock(), 1
    p.member_seen = {"hub-a": {"m": clock()}}
    clock.advance(seconds=40)
    assert not p._files(b, Source.METRICS)("m")
    clock.advance(seconds=21)  # hub-a's answer 61 s old: stale, hub-b's copy is taken
    assert p._files(b, Source.METRICS)("m")


# -- 2: an answer cut at PANEL_MOST_SERIES -----------------------------------------------
@pytest.mark.asyncio
async def test_a_hub_whose_answers_are_cut_forgets_no_member_past_the_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every answer cut (more series than are read): the members past the cut, reported by
    the hub every poll, were never seen and dropped a day later."""
    monkeypatch.setattr(poller_module, "PANEL_MOST_SERIES", 2)
    listed = hub()
    listed.status.members = ["m-a", "m-b", "m-c"]
    registry, prom = Registry([listed]), HubProm(["m-a", "m-b", "m-c"])
    p = poller(registry, SimpleNamespace(prometheus=lambda _c: _aw(prom)),
               [Panel(id="cpu", title="cpu", promql="cpu_q")])  # fmt: skip
    clock = p._clock
    assert isinstance(clock, Clock)
    assert await p.run_source(registry.get("hub"), Source.METRICS)
    assert "only the first 2 read" in (p.status[("hub", Source.METRICS)].last_error or "")
    clock.advance(hours=25)
    assert await p.run_source(registry.get("hub"), Source.METRICS)
    assert registry.get("hub").status.members == ["m-a", "m-b", "m-c"]


# -- 3: a hung endpoint -------------------------------------------------------------------
def timing_out(asked: list[str], answers: set[str]) -> PrometheusClient:
    """A Prometheus whose queries but ``answers`` end in the HTTP client's read timeout."""

    async def handler(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        asked.append(form["query"])
        if form["query"] not in answers:
            raise httpx.ReadTimeout("timed out", request=request)
        body = {"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"instance": "n1"}, "values": [[float(form["end"]), "1"]]}]}}  # fmt: skip
        return httpx.Response(200, json=body)

    http = BackendClient("http://prom.test", name="prometheus",
                         policy=HttpPolicy(read_timeout_s=30, retries=0),
                         transport=httpx.MockTransport(handler))  # fmt: skip
    return PrometheusClient(http)


@pytest.mark.asyncio
async def test_a_hung_endpoint_fails_its_poll_at_the_second_timeout() -> None:
    """Connected, never answering: each read timeout was "one slow panel", so each poll of it
    asked every panel and took the poll's whole limit (120 s, not 30 s), holding a failing
    slot and its cluster's. Nothing read, a second timeout is the endpoint down."""
    asked: list[str] = []
    c = prom_cluster()
    client = timing_out(asked, set())
    p = poller(Registry([c]), SimpleNamespace(prometheus=lambda _c: _aw(client)), PANELS,
               timeout_s=120)  # fmt: skip
    breaker = CircuitBreaker()
    assert not await p.run_source(c, Source.METRICS, breaker)
    assert asked == ["slow_q", "cpu_q"]
    assert p.status[("east-1", Source.METRICS)].consecutive_errors == 1
    assert not await p.run_source(c, Source.METRICS, breaker)
    assert asked[2:] == ["mem_q", "net_q"]  # those not asked go first next time


@pytest.mark.asyncio
async def test_timeouts_after_a_panel_was_read_are_each_that_panel_slow() -> None:
    """One panel answered: the endpoint is there, a timeout after it is that query slow."""
    asked: list[str] = []
    c = prom_cluster()
    client = timing_out(asked, {"cpu_q", "net_q"})
    p = poller(Registry([c]), SimpleNamespace(prometheus=lambda _c: _aw(client)), PANELS,
               timeout_s=120)  # fmt: skip
    assert await p.run_source(c, Source.METRICS)
    assert asked == ["slow_q", "cpu_q", "mem_q", "net_q"]
    status = p.status[("east-1", Source.METRICS)]
    assert "slow" in (status.last_error or "") and "mem" in (status.last_error or "")
