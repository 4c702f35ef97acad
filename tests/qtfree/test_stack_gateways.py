"""LokiStack and TempoStack gateways (the observatorium API the Loki and Tempo operators run)
as they route: on the port their route exposes, only a tenant's API
(``/api/logs/v1/<tenant>/loki/api/v1/...``, ``/api/traces/v1/<tenant>/tempo/api/...``); their
``/ready`` is on an internal port no route exposes. A discovered TempoStack gateway is stored
with its tenant (its root URL answered every search 404), one whose tenant cannot be read is
reported and not used; and a gateway's health is probed by a read of its API (asked
``/ready``, a working gateway was said not ready: the cluster DEGRADED, -15 per endpoint)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from aiops_desktop.models import Cluster, EndpointKind
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.enums import EndpointSource
from aiops_desktop.models.polling import Source
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.services.core import Core
from aiops_desktop.services.kube.discovery import interpret, merged
from collectors.http import BackendClient
from collectors.tempo import TempoClient
from tests.servers.loki_tempo import TOKEN, RunningLokiTempo

HOST = "tempo-prod-gateway-openshift-distributed-tracing.apps.example"
NAMESPACE = "openshift-distributed-tracing"


def _stack(tenants: dict[str, Any] | None) -> dict[str, Any]:
    spec = {"tenants": tenants} if tenants is not None else {}
    return {"kind": "TempoStack", "metadata": {"namespace": NAMESPACE, "name": "prod"},
            "spec": spec}  # fmt: skip


def _route(name: str) -> dict[str, Any]:
    return {"metadata": {"namespace": NAMESPACE, "name": name},
            "spec": {"host": HOST, "tls": {"termination": "reencrypt"}}}  # fmt: skip


def _tempo(objects: dict[str, list[dict[str, Any]]]) -> Any:
    found = interpret("prod", objects, {"gitVersion": "v1.29.8"}, [], [])
    assert found.capabilities.has_tempo  # a TempoStack runs, whether or not it can be read
    return next(f for f in found.endpoints if f.kind is EndpointKind.TEMPO), found


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["openshift", "static", None])
async def test_a_discovered_tempostack_gateway_is_read_under_its_tenant(mode: str | None) -> None:
    tenants: dict[str, Any] = {
        "authentication": [
            {"tenantName": "dev", "tenantId": "1610b0c3"},
            {"tenantName": "prod", "tenantId": "6094b3ba"},
        ]
    }
    if mode is not None:  # the operator's default mode is static
        tenants["mode"] = mode
    tempo, _ = _tempo({"tempostacks": [_stack(tenants)], "routes": [_route("tempo-prod-gateway")]})
    assert tempo.url == f"https://{HOST}/api/traces/v1/dev" and tempo.external
    asked: list[str] = []

    def gateway(request: httpx.Request) -> httpx.Response:  # observatorium's routing
        asked.append(request.url.path)
        if request.url.path.startswith("/api/traces/v1/dev/tempo/api/"):
            return httpx.Response(200, json={"traces": []})
        return httpx.Response(404, text="404 page not found")

    http = BackendClient(tempo.url, name="prod/tempo", transport=httpx.MockTransport(gateway),
                         text_backend=True)  # fmt: skip
    try:
        assert await TempoClient(http, "prod").search(service="checkout") == []
    finally:
        await http.aclose()
    assert asked == ["/api/traces/v1/dev/tempo/api/search"]


@pytest.mark.parametrize(
    "tenants",
    [None, {"mode": "openshift"}, {"mode": "openshift", "authentication": [{"tenantId": "x1"}]},
     {"mode": "multi", "authentication": [{"tenantName": "dev"}]},
     {"authentication": [{"tenantName": "team a"}]}],
)  # fmt: skip
def test_a_tempostack_gateway_whose_tenant_cannot_be_read_is_reported_not_used(
    tenants: dict[str, Any] | None,
) -> None:
    tempo, found = _tempo(
        {"tempostacks": [_stack(tenants)], "routes": [_route("tempo-prod-gateway")]}
    )
    assert not tempo.external and tempo.url == f"https://{HOST}"
    assert "no tenant was read" in tempo.how, tempo.how
    cluster = Cluster(name="prod", api_server_url="https://api.example:6443")
    assert merged(cluster, found).endpoint(EndpointKind.TEMPO) is None


def test_a_tempostack_query_frontend_route_is_its_jaeger_ui_not_tempo() -> None:
    """Without a gateway the operator's route is the query frontend's Jaeger UI port: Tempo's
    API (``/api/search``) is not there. Its service (Tempo's own API, in-cluster) is said."""
    service = {"metadata": {"namespace": NAMESPACE, "name": "tempo-prod-query-frontend"},
               "spec": {"ports": [{"name": "jaeger-ui", "port": 16686},
                                  {"name": "http", "port": 3200}]}}  # fmt: skip
    tempo, found = _tempo({"tempostacks": [_stack(None)],
                           "routes": [_route("tempo-prod-query-frontend")],
                           "services": [service]})  # fmt: skip
    assert not tempo.external
    assert tempo.url == f"http://tempo-prod-query-frontend.{NAMESPACE}.svc:3200"
    cluster = Cluster(name="prod", api_server_url="https://api.example:6443")
    assert merged(cluster, found).endpoint(EndpointKind.TEMPO) is None


def _query_frontend() -> dict[str, list[dict[str, Any]]]:
    """A TempoStack without a gateway: its query frontend's route (the Jaeger UI) and
    service."""
    service = {"metadata": {"namespace": NAMESPACE, "name": "tempo-prod-query-frontend"},
               "spec": {"ports": [{"name": "jaeger-ui", "port": 16686},
                                  {"name": "http", "port": 3200}]}}  # fmt: skip
    return {"tempostacks": [_stack(None)], "routes": [_route("tempo-prod-query-frontend")],
            "services": [service]}  # fmt: skip


@pytest.mark.parametrize(
    "objects",
    [_query_frontend(),
     {"tempostacks": [_stack({"mode": "openshift"})], "routes": [_route("tempo-prod-gateway")]}],
    ids=["query-frontend", "tenant-less-gateway"],
)  # fmt: skip
def test_a_tempo_endpoint_an_earlier_discovery_stored_goes_when_it_is_not_used_now(
    objects: dict[str, list[dict[str, Any]]],
) -> None:
    """An earlier release stored the query frontend's route (the Jaeger UI) or a tenant-less
    gateway's root as the cluster's Tempo: re-discovered, it is only reported, and the
    discovered endpoint goes (it answered every search 404); one the user set stays."""
    tempo, found = _tempo(objects)
    assert not tempo.external  # reported, not used
    stored = Endpoint(kind=EndpointKind.TEMPO, url=f"https://{HOST}",
                      source=EndpointSource.DISCOVERED)  # fmt: skip
    cluster = Cluster(name="prod", api_server_url="https://api.example:6443", endpoints=[stored])
    assert merged(cluster, found).endpoint(EndpointKind.TEMPO) is None
    assert tempo in found.endpoints  # the find is still said

    mine = stored.model_copy(update={"source": EndpointSource.USER})
    cluster = cluster.model_copy(update={"endpoints": [mine]})
    assert merged(cluster, found).endpoint(EndpointKind.TEMPO) == mine


def test_a_discovered_endpoint_stays_when_the_routes_could_not_be_read() -> None:
    """Routes denied (403), the in-cluster service is all that is found: that says nothing of
    the route stored before, which stays."""
    objects = _query_frontend() | {"routes": []}
    found = interpret("prod", objects, {"gitVersion": "v1.29.8"}, [], ["routes"])
    stored = Endpoint(kind=EndpointKind.TEMPO, url=f"https://{HOST}/api/traces/v1/dev",
                      source=EndpointSource.DISCOVERED)  # fmt: skip
    cluster = Cluster(name="prod", api_server_url="https://api.example:6443", endpoints=[stored])
    assert merged(cluster, found).endpoint(EndpointKind.TEMPO) == stored


@pytest.mark.integration
def test_the_stand_in_refuses_ready_under_a_gateway_prefix(loki_tempo: RunningLokiTempo) -> None:
    """As the gateway does: under a tenant only the tenant's API is routed."""
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(verify=False, headers=bearer) as http:  # noqa: S501 (the test CA)
        for path in ("/api/logs/v1/application/ready", "/api/traces/v1/dev/ready",
                     "/api/traces/v1/dev/tempo/ready", "/api/logs/v1/application/api/search",
                     "/api/traces/v1/dev/loki/api/v1/labels"):  # fmt: skip
            assert http.get(f"{loki_tempo.gateway_url}{path}").status_code == 404, path
        labels = http.get(f"{loki_tempo.gateway_url}/api/logs/v1/application/loki/api/v1/labels")
        assert labels.status_code == 200
        tags = http.get(f"{loki_tempo.gateway_url}/api/traces/v1/dev/tempo/api/search/tags")
        assert tags.status_code == 200
    assert httpx.get(f"{loki_tempo.url}/ready").status_code == 200  # Loki's and Tempo's own


@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_gateway_is_probed_by_a_read_of_its_api(
    core: Core, loki_tempo: RunningLokiTempo
) -> None:
    gateway = {EndpointKind.LOKI: f"{loki_tempo.gateway_url}/api/logs/v1/application",
               EndpointKind.TEMPO: f"{loki_tempo.gateway_url}/api/traces/v1/dev"}  # fmt: skip
    await core.registry.add(
        ClusterSpec(name="lab-gw", endpoint_urls=gateway, ca_bundle_pem=loki_tempo.ca_pem),
        ClusterSecrets(endpoint_tokens=dict.fromkeys(gateway, TOKEN)),
    )
    own = dict.fromkeys((EndpointKind.LOKI, EndpointKind.TEMPO), loki_tempo.url)
    await core.registry.add(ClusterSpec(name="lab-own", endpoint_urls=own))
    before = len(loki_tempo.requests())
    for name in ("lab-gw", "lab-own"):
        await core.poller.run_source(core.registry.get(name), Source.HEALTH)
        status = core.registry.get(name).status
        assert status.endpoint_health == {EndpointKind.LOKI: True, EndpointKind.TEMPO: True}, (
            name, status.last_error)  # fmt: skip
    seen = loki_tempo.requests()[before:]
    assert any(r.startswith("GET /api/logs/v1/application/loki/api/v1/labels?") for r in seen)
    assert any(r.startswith("GET /api/traces/v1/dev/tempo/api/search?") for r in seen), seen
    assert not any(r.startswith("GET /api/") and r.endswith("/ready") for r in seen), seen
    assert seen.count("GET /ready") == 2  # Loki's and Tempo's own: their /ready
