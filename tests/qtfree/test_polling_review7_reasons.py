"""A black-holed endpoint (every connect times out) and one that refuses: the HTTP client
does not retry a connect timeout within the request (the next poll is its retry), and the
reason a poll gives names the endpoint and the connect failure, also when the poll's limit
cut a read short (fake transports; no servers)."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.polling import Source
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.polling.poller import Poller
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.settings import HttpPolicy, PollerSettings
from collectors.alertmanager import AlertmanagerClient
from collectors.errors import CollectorTimeout, CollectorUnreachable
from collectors.http import BackendClient
from collectors.prometheus import PrometheusClient
from tests.qtfree.test_poller_schedule_fixes import PANELS, NoStore

PROM_URL = "https://prom.site-b-7.example:9090"
AM_URL = "https://alertmanager.site-b-7.example:9093"


class BlackHole(httpx.AsyncBaseTransport):
    """No connection is ever made: each request waits out its connect timeout."""

    def __init__(self) -> None:
        self.tries = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.tries += 1
        await asyncio.sleep(request.extensions["timeout"]["connect"])
        raise httpx.ConnectTimeout("timed out", request=request)


class Refusing(httpx.AsyncBaseTransport):
    """Every connection refused at once."""

    def __init__(self) -> None:
        self.tries = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.tries += 1
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def _backend(url: str, transport: httpx.AsyncBaseTransport, **policy: float) -> BackendClient:
    name = "prometheus" if "prom" in url else "alertmanager"
    return BackendClient(url, name=name, policy=HttpPolicy(**policy), transport=transport)


# -- B: a connect timeout is not retried within the request ---------------------------------
@pytest.mark.asyncio
async def test_a_connect_timeout_is_not_retried_within_the_request() -> None:
    """Each retry of a black hole waited out another connect timeout: a poll held its slot
    until its limit (metrics 27 s, alerts 30 s with a 10 s connect timeout). One connect
    timeout now ends the request, said as such."""
    hole = BlackHole()
    client = _backend(PROM_URL, hole, connect_timeout_s=0.05, retries=3, backoff_base_s=0.0)
    try:
        with pytest.raises(CollectorTimeout, match=r"no connection within 0\.05 s") as caught:
            await client.get_json("/api/v1/query", {"query": "up"})
    finally:
        await client.aclose()
    assert hole.tries == 1
    assert PROM_URL in str(caught.value)
    assert isinstance(caught.value.__cause__, httpx.ConnectTimeout)


@pytest.mark.asyncio
async def test_a_refused_connection_is_still_retried() -> None:
    """A refusal costs nothing to ask again (a restarting pod): its retries stay."""
    refusing = Refusing()
    client = _backend(PROM_URL, refusing, retries=3, backoff_base_s=0.0)
    try:
        with pytest.raises(CollectorUnreachable, match="Connection refused"):
            await client.get_json("/api/v1/query", {"query": "up"})
    finally:
        await client.aclose()
    assert refusing.tries == 4


# -- 3: the reason a poll gives ---------------------------------------------------------------
def _site_b() -> Cluster:
    return Cluster(
        name="site-b-7",
        endpoints=[Endpoint(kind=EndpointKind.PROMETHEUS, url=PROM_URL),
                   Endpoint(kind=EndpointKind.ALERTMANAGER, url=AM_URL)],
    )  # fmt: skip


class Registry:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def clusters(self) -> list[Cluster]:
        return [self.cluster]

    def get(self, _name: str) -> Cluster:
        return self.cluster

    async def apply_check(self, *_: object, **__: object) -> None:
        pass


class Pool:
    def __init__(self, transport: httpx.AsyncBaseTransport, **policy: float) -> None:
        self.prom = PrometheusClient(_backend(PROM_URL, transport, **policy))
        self.am = AlertmanagerClient(_backend(AM_URL, transport, **policy))

    async def prometheus(self, _cluster: Cluster) -> PrometheusClient:
        return self.prom

    async def alertmanager(self, _cluster: Cluster) -> AlertmanagerClient:
        return self.am

    async def aclose(self) -> None:
        await self.prom.http.aclose()
        await self.am.http.aclose()


def _poller(cluster: Cluster, pool: Pool, timeout_s: float) -> Poller:
    settings = PollerSettings(timeout_s=timeout_s)
    return Poller(Registry(cluster), pool, series=NoStore(), live=LiveBuffers(), bus=EventBus(),  # type: ignore[arg-type]
                  supervisor=None, catalog=PANELS[1:3], settings=settings)  # type: ignore[arg-type]  # fmt: skip


@pytest.mark.asyncio
async def test_a_black_holed_sources_reason_names_the_endpoint_and_the_connect_failure() -> None:
    """A connect timeout a third of the poll's limit (10 s of 30 s): the retries used the
    panel's budget up, and metrics said "no answer within 27 s", alerts "the poll's time
    limit (30 s) ended it": no endpoint, no connect failure."""
    site = _site_b()
    hole = BlackHole()
    pool = Pool(hole, connect_timeout_s=0.1, retries=3, backoff_base_s=0.01)
    poller = _poller(site, pool, timeout_s=0.3)
    try:
        outcomes = await asyncio.gather(*(poller.run_source(site, s)
                                          for s in (Source.METRICS, Source.ALERTS)))  # fmt: skip
    finally:
        await pool.aclose()
    assert outcomes == [False, False]
    for source, url in ((Source.METRICS, PROM_URL), (Source.ALERTS, AM_URL)):
        said = poller.status[(site.name, source)].last_error or ""
        assert url in said and "no connection within 0.1 s" in said, said
    assert hole.tries == 2  # one connect each


@pytest.mark.asyncio
async def test_a_read_cut_short_between_retries_says_the_failure_it_was_retrying() -> None:
    """Refused connections retried with a backoff longer than the poll has left: the poll's
    limit cut the read while it waited to ask again, and the refusal was lost ("no answer
    within 0.27 s", "the poll's time limit ended it"). It is said now."""
    site = _site_b()
    refusing = Refusing()
    pool = Pool(refusing, retries=3, backoff_base_s=5.0, backoff_max_s=8.0)
    poller = _poller(site, pool, timeout_s=0.3)
    try:
        outcomes = await asyncio.gather(*(poller.run_source(site, s)
                                          for s in (Source.METRICS, Source.ALERTS)))  # fmt: skip
    finally:
        await pool.aclose()
    assert outcomes == [False, False]
    metrics = poller.status[(site.name, Source.METRICS)].last_error or ""
    assert re.search(r"no answer within 0\.2\d* s", metrics), metrics  # (0.9 of what is left)
    assert f"prometheus ({PROM_URL}) is unreachable" in metrics and "refused" in metrics, metrics
    alerts = poller.status[(site.name, Source.ALERTS)].last_error or ""
    assert "the poll's time limit (0.3 s) ended it" in alerts, alerts
    assert f"alertmanager ({AM_URL}) is unreachable" in alerts and "refused" in alerts, alerts
    assert refusing.tries == 2  # each cut in its first backoff
