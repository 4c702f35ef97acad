"""Review 4 fixes: a discovery is applied only to the cluster it was made for (same id, same
API server and credential), so one cluster's token never goes to routes another API server
named, and a removed cluster's discovery stops; one discovery is bounded in time, and the
background loop discovers clusters side by side, so a slow one holds up no other; discovered
routes verify TLS whatever the API server's kubeconfig skips; an overloaded API server
(503/429) is unreachable for now at validation, not invalid."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio

from aiops_desktop.models import Cluster, CredentialKind, CredentialRef, EndpointKind
from aiops_desktop.models.enums import ValidationOutcome
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.core import Core
from aiops_desktop.services.kube import discovery, validation
from aiops_desktop.services.kube.discovery import DiscoveryDiscarded, interpret, merged
from aiops_desktop.settings import resolve_paths
from collectors.errors import (
    CollectorError,
    CollectorRateLimited,
    CollectorServerError,
    CollectorTimeout,
)
from collectors.kubernetes import KubeClient
from tests.qtfree.test_cluster_input_hostile import MemoryKeyring

EVIL_ROUTE = {
    "kind": "Route",
    "metadata": {"namespace": "openshift-monitoring", "name": "thanos-querier"},
    "spec": {"host": "thanos.apps.evil.example", "tls": {"termination": "reencrypt"}},
}


class FakeApi:
    """An API server's lists, as the Kubernetes client gives them: the routes list waits for
    ``release`` (a slow, hostile server) when ``slow``; ``cancelled`` says it was stopped."""

    def __init__(self, name: str, *, slow: bool = False, routes: list[Any] | None = None) -> None:
        self.name = name
        self.slow = slow
        self.routes = routes or []
        self.asked = asyncio.Event()  # the routes list is being read
        self.release = asyncio.Event()
        self.cancelled = False

    async def get(self, path: str, params: Any = None) -> dict[str, Any]:
        return {"gitVersion": "v1.30.0"}

    async def list(self, path: str, params: Any = None) -> tuple[list[Any], str]:
        if path != discovery.READS["routes"]:
            return [], ""
        self.asked.set()
        if self.slow:
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        return self.routes, ""


@pytest_asyncio.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    opened = Core.open(resolve_paths(tmp_path / "home"), secrets=SecretStore(MemoryKeyring()))
    yield opened
    await opened.shutdown()


def serve(core: Core, monkeypatch: pytest.MonkeyPatch, apis: dict[str, FakeApi]) -> None:
    """The pool's Kubernetes client of a cluster: the fake API at its URL."""

    async def kube(cluster: Cluster) -> FakeApi:
        return apis[str(cluster.api_server_url)]

    monkeypatch.setattr(core.pool, "kube", kube)


async def add(core: Core, name: str, url: str, token: str) -> Cluster:
    spec = ClusterSpec(name=name, api_server_url=url)
    return await core.registry.add(spec, ClusterSecrets(token=token))


# -- 1. a discovery lands only on the cluster it was made for ------------------------------------
@pytest.mark.asyncio
async def test_a_cluster_removed_and_added_again_gets_nothing_of_the_old_ones_discovery(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = FakeApi("prod", slow=True, routes=[EVIL_ROUTE])
    serve(core, monkeypatch, {"https://wrong.example:6443": hostile,
                              "https://api.prod.example:6443": FakeApi("prod")})  # fmt: skip
    await add(core, "prod", "https://wrong.example:6443", "token-for-the-wrong-cluster")
    running = asyncio.create_task(core.discovery.run("prod"))
    await asyncio.wait_for(hostile.asked.wait(), 5)
    # the engineer sees the wrong API URL: removes prod and registers it again, right
    await core.registry.remove("prod")
    await add(core, "prod", "https://api.prod.example:6443", "GOOD-PROD-TOKEN")
    hostile.release.set()
    with pytest.raises(DiscoveryDiscarded, match="prod"):
        await asyncio.wait_for(running, 5)
    assert hostile.cancelled  # the removal stopped the old cluster's discovery
    prod = core.registry.get("prod")
    assert prod.endpoint(EndpointKind.PROMETHEUS) is None
    assert prod.capabilities.discovered_at is None


@pytest.mark.asyncio
async def test_a_cluster_pointed_elsewhere_meanwhile_gets_nothing_of_the_old_api_servers_routes(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = FakeApi("prod", slow=True, routes=[EVIL_ROUTE])
    serve(core, monkeypatch, {"https://wrong.example:6443": hostile})
    await add(core, "prod", "https://wrong.example:6443", "sha256~pointed-elsewhere-0001")
    running = asyncio.create_task(core.discovery.run("prod"))
    await asyncio.wait_for(hostile.asked.wait(), 5)
    right = "https://api.prod.example:6443"
    await core.registry.change("prod", lambda c: c.model_copy(update={"api_server_url": right}))
    hostile.release.set()
    with pytest.raises(DiscoveryDiscarded, match="changed"):
        await asyncio.wait_for(running, 5)
    prod = core.registry.get("prod")
    assert prod.endpoint(EndpointKind.PROMETHEUS) is None
    assert prod.capabilities.discovered_at is None


# -- 2. bounded, and side by side ----------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_discovery_that_takes_too_long_is_stopped_and_said(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = FakeApi("a-slow", slow=True)
    serve(core, monkeypatch, {"https://slow.example:6443": slow})
    await add(core, "a-slow", "https://slow.example:6443", "t1")
    monkeypatch.setattr(discovery, "DISCOVER_WITHIN_S", 0.3)
    with pytest.raises(CollectorTimeout, match="a-slow"):
        await asyncio.wait_for(core.discovery.run("a-slow"), 5)
    assert slow.cancelled


@pytest.mark.asyncio
async def test_one_slow_cluster_holds_up_no_other_in_the_background(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow, fast = FakeApi("a-slow", slow=True), FakeApi("b-new")
    serve(core, monkeypatch, {"https://slow.example:6443": slow,
                              "https://fast.example:6443": fast})  # fmt: skip
    await add(core, "a-slow", "https://slow.example:6443", "t1")
    loop = asyncio.create_task(core.discovery.run_periodic(check_every_s=600))
    try:
        await asyncio.wait_for(slow.asked.wait(), 5)
        await add(core, "b-new", "https://fast.example:6443", "t2")
        async with asyncio.timeout(5):
            while core.registry.get("b-new").capabilities.discovered_at is None:
                await asyncio.sleep(0.02)
        assert not slow.cancelled and core.registry.get("a-slow").capabilities.discovered_at is None
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert slow.cancelled  # stopped with the loop: nothing left running


# -- 3. discovered routes verify TLS ------------------------------------------------------------
def test_a_discovered_route_verifies_tls_though_the_api_servers_kubeconfig_skips_it() -> None:
    ref = CredentialRef(kind=CredentialKind.KUBECONFIG_CONTEXT, key="cluster/x/kubeconfig",
                        context="lab")  # fmt: skip
    lab = Cluster(name="lab-01", api_server_url="https://api.lab-01.example:6443",
                  credential=ref, tls_verify=False)  # fmt: skip
    found = interpret("lab-01", {"routes": [EVIL_ROUTE]}, {}, [], [])
    endpoint = merged(lab, found).endpoint(EndpointKind.PROMETHEUS)
    assert endpoint is not None and endpoint.credential == ref  # the token goes with it ...
    assert endpoint.tls_verify  # ... only to a host whose certificate is checked


# -- 4. an overloaded API server is unreachable for now, not invalid -----------------------------
@pytest.mark.parametrize(
    "error",
    [
        CollectorServerError("503 the server is unable to handle the request", status=503),
        CollectorRateLimited("429 too many requests", status=429),
    ],
)
@pytest.mark.asyncio
async def test_an_overloaded_api_server_is_unreachable_for_now_not_invalid(
    monkeypatch: pytest.MonkeyPatch, error: CollectorError
) -> None:
    class Busy(SimpleNamespace):
        async def get(self, path: str, params: Any = None) -> dict[str, Any]:
            return {"gitVersion": "v1.30.0"}

        async def review(self, path: str, body: Any) -> dict[str, Any]:
            raise error

        async def aclose(self) -> None:
            pass

    async def opened(*_a: Any, **kw: Any) -> Busy:
        return Busy(name=kw["name"], server="https://api:6443", expires_at=None)

    monkeypatch.setattr(KubeClient, "open", opened)
    cluster = Cluster(name="hub-01", api_server_url="https://api:6443")
    result = await validation.validate(cluster, SecretStore(MemoryKeyring()))
    assert result.outcome is ValidationOutcome.UNREACHABLE, result.reason
    assert "busy" in result.reason and "try again" in result.reason
