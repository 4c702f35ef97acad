"""A rotated token is no dead site (review 7).

Every endpoint of a cluster answers 401: the health check says it reachable (registry
DEGRADED), yet the fleet's truth counted each failing poll UNREACHABLE and called it OFFLINE,
score 0, sorted with the sites that are gone. A source that answered but refused the
credential is STALE, said as "credentials refused: ...", and never makes a cluster OFFLINE; a
black-holed one stays UNREACHABLE.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.fleet import Coverage, Health
from aiops_desktop.models.polling import Source
from aiops_desktop.services.clusters import health
from aiops_desktop.services.fleet.state import FleetState, refused, unread_sources
from aiops_desktop.services.polling.catalog import load_catalog
from aiops_desktop.services.polling.live import LiveBuffers
from aiops_desktop.services.polling.poller import Poller
from aiops_desktop.services.queries.multicluster import MultiClusterQuery
from aiops_desktop.services.runtime.bus import EventBus
from aiops_desktop.settings import HttpPolicy, PollerSettings
from collectors.alertmanager import AlertmanagerClient
from collectors.http import BackendClient
from collectors.prometheus import PrometheusClient
from tests.qtfree.test_fleet_review7_outage import Fleet

POLICY = HttpPolicy(retries=0)


class Answers(httpx.AsyncBaseTransport):
    """Every request of ``east-1`` answered 401 (its token rotated); ``west-2``'s cannot
    connect (its site dark)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host.endswith("west-2.example.net"):
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(401, json={"error": "Unauthorized"})


def cluster(name: str) -> Cluster:
    return Cluster(name=name, endpoints=[
        Endpoint(kind=EndpointKind.PROMETHEUS, url=f"https://prometheus.{name}.example.net"),
        Endpoint(kind=EndpointKind.ALERTMANAGER, url=f"https://alertmanager.{name}.example.net"),
    ])  # fmt: skip


class Pool:
    def __init__(self) -> None:
        self.made: list[PrometheusClient | AlertmanagerClient] = []

    def _http(self, cluster: Cluster, kind: EndpointKind, name: str) -> BackendClient:
        url = cluster.endpoint(kind).url  # type: ignore[union-attr]
        return BackendClient(url, name=name, policy=POLICY, transport=Answers())

    async def prometheus(self, cluster: Cluster) -> PrometheusClient:
        client = PrometheusClient(self._http(cluster, EndpointKind.PROMETHEUS, "prometheus"))
        self.made.append(client)
        return client

    async def alertmanager(self, cluster: Cluster) -> AlertmanagerClient:
        http = self._http(cluster, EndpointKind.ALERTMANAGER, "alertmanager")
        client = AlertmanagerClient(http)
        self.made.append(client)
        return client

    async def close(self) -> None:
        for client in self.made:
            await client.aclose()


class Registry:
    def __init__(self, clusters: list[Cluster]) -> None:
        self.by_name = {c.name: c for c in clusters}
        self.checked: dict[str, bool] = {}  # name -> reachable, as the health check said

    def clusters(self) -> list[Cluster]:
        return list(self.by_name.values())

    def get(self, name: str) -> Cluster:
        return self.by_name[name]

    def members(self, hub: Cluster, seen: object = ()) -> list[str]:
        return []

    async def apply_check(self, name, results, errors, answered=()) -> None:  # type: ignore[no-untyped-def]
        self.checked[name] = health.reachable(results, answered)


class NoStore:
    def append(self, batch: object) -> None:
        pass


class NoAnomalies:
    async def current(self, within: timedelta) -> list[object]:
        return []


@pytest.mark.asyncio
async def test_a_rotated_token_is_stale_with_its_reason_not_offline() -> None:
    east, west = cluster("east-1"), cluster("west-2")
    registry, pool = Registry([east, west]), Pool()
    catalog = [p for p in load_catalog() if p.source is EndpointKind.PROMETHEUS][:2]
    poller = Poller(registry, pool, series=NoStore(), live=LiveBuffers(),  # type: ignore[arg-type]
                    bus=EventBus(), supervisor=None, catalog=catalog,  # type: ignore[arg-type]
                    settings=PollerSettings())  # fmt: skip
    try:
        for c in (east, west):
            for source in (Source.METRICS, Source.ALERTS, Source.HEALTH):
                await poller.run_source(c, source)
        assert registry.checked == {"east-1": True, "west-2": False}  # "down but there"
        fleet = FleetState(
            registry,
            poller,
            MultiClusterQuery(pool),  # type: ignore[arg-type]
            NoAnomalies(),
            EventBus(),
        )  # type: ignore[arg-type]
        truth = await fleet.refresh()
        by = {t.name: t for t in truth.clusters}

        rotated = by["east-1"]
        assert rotated.state is Health.STALE  # not OFFLINE: it answered
        assert rotated.coverage == {"metrics": Coverage.STALE, "alerts": Coverage.STALE,
                                    "findings": Coverage.STALE}  # fmt: skip
        assert rotated.health_score == 100 - 3 * 15
        for source in ("metrics", "alerts", "findings"):
            said = rotated.unread[source]
            assert said.startswith("credentials refused: "), said
            assert "(HTTP 401)" in said
        assert rotated.last_error is not None
        assert rotated.last_error.startswith("credentials refused: ")

        dark = by["west-2"]  # a site gone is still OFFLINE, and sorted before
        assert dark.state is Health.OFFLINE and dark.health_score == 0
        assert set(dark.coverage.values()) == {Coverage.UNREACHABLE}
        assert [t.name for t in truth.clusters] == ["west-2", "east-1"]

        # "nothing found" is not "all clear": its sources are said not read
        said, _ = unread_sources(poller.status.values(), truth.clusters)
        east_said = {line.split(":")[0] for line in said if line.startswith("east-1/")}
        assert {"east-1/metrics", "east-1/alerts", "east-1/findings"} <= east_said
    finally:
        await pool.close()


@pytest.mark.asyncio
async def test_a_findings_read_refused_while_the_poll_answers_is_stale() -> None:
    """The poll's token reads the panels; the findings' queries are refused (403): the
    findings source is stale with its reason, not unreachable."""
    fleet = Fleet("east-1")
    fleet.site.refusing.add("east-1")
    try:
        truth = await fleet.state.refresh()
        (east,) = truth.clusters
        assert east.coverage["findings"] is Coverage.STALE
        assert east.unread["findings"].startswith("credentials refused: ")
        assert east.state is Health.STALE and east.health_score == 85
    finally:
        await fleet.pool.close()


@pytest.mark.parametrize(
    ("why", "refusal"),
    [
        ("prometheus (https://p) rejected the credentials (HTTP 401): check the token or its "
         "permissions", True),
        ("alertmanager (https://am) denied access (HTTP 403): check the token or its "
         "permissions", True),
        ("prometheus (https://p) rejected the credentials (HTTP 401): check the token or its "
         "permissions; the credential read again from the keyring was refused too: rotate it",
         True),
        ("prometheus (https://p) is unreachable: connection refused", False),
        ("prometheus (https://p) answered HTTP 502: Bad Gateway", False),
        ("the poll's time limit (30 s) ended it", False),
        ("", False),
    ],
)  # fmt: skip
def test_what_reads_as_a_refused_credential(why: str, refusal: bool) -> None:
    assert refused(why) is refusal
