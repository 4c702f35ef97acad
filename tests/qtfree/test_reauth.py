"""A rotated credential is picked up from the keyring on the next 401 (once per request), and a
refused one says so clearly: against the nginx bearer front and the real Secret Service, and
with recorded answers for the Kubernetes client."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from aiops_desktop.models import AuthMethod, EndpointKind
from aiops_desktop.models.metrics import MetricQuery
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.services.core import Core
from collectors.errors import CollectorAuthError
from collectors.http import BackendClient, EndpointAuth, HttpPolicy
from tests.servers.fixtures import FRONT_TOKEN, Dataset

pytestmark = pytest.mark.integration
PROM = EndpointKind.PROMETHEUS


@pytest.mark.asyncio
async def test_a_token_rotated_in_the_keyring_is_used_without_editing_the_endpoint(
    core: Core,
    nginx_front,
    dataset: Dataset,  # type: ignore[no-untyped-def]
) -> None:
    await core.registry.add(
        ClusterSpec(name="rotated-1", endpoint_urls={PROM: nginx_front.bearer_url}),
        ClusterSecrets(endpoint_tokens={PROM: "stale-token-0001"}),
    )
    cluster = core.registry.get("rotated-1")
    query = MetricQuery(promql="up", end=datetime.fromtimestamp(dataset.end_s, UTC))
    refused = await core.queries.run(query, [cluster])
    assert [o.reason for o in refused.failures] == ["auth_failed"]
    assert "the credential in the keyring is the one refused" in str(refused.failures[0].error)

    ref = cluster.endpoint(PROM).credential  # type: ignore[union-attr]
    assert ref is not None
    core.secrets.put(ref, FRONT_TOKEN)  # the token was rotated (oc login, a vault agent ...)
    answer = await core.queries.run(query, [cluster])  # the same pooled client
    assert not answer.failures and answer.series


@pytest.mark.asyncio
async def test_a_401_reads_the_credential_again_once_per_request() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization", ""))
        if request.headers.get("Authorization") == "Bearer fresh":
            return httpx.Response(200, json={"status": "success", "data": []})
        return httpx.Response(401, text="Unauthorized")

    reads: list[int] = []

    async def stays_stale() -> EndpointAuth:
        reads.append(1)
        return EndpointAuth(AuthMethod.BEARER, token="stale-9")

    async def rotated() -> EndpointAuth:
        reads.append(1)
        return EndpointAuth(AuthMethod.BEARER, token="fresh")

    policy = HttpPolicy(retries=0)
    stale = BackendClient(
        "http://p", name="p", auth=EndpointAuth(AuthMethod.BEARER, token="stale-9"),
        policy=policy, transport=httpx.MockTransport(handler), reauth=stays_stale,
    )  # fmt: skip
    with pytest.raises(CollectorAuthError, match="is the one refused"):
        await stale.get_json("/api/v1/labels")
    assert seen == ["Bearer stale-9"] and reads == [1]  # one re-read, no second try
    await stale.aclose()

    seen.clear()
    reads.clear()
    fresh = BackendClient(
        "http://p", name="p", auth=EndpointAuth(AuthMethod.BEARER, token="stale-9"),
        policy=policy, transport=httpx.MockTransport(handler), reauth=rotated,
    )  # fmt: skip
    assert await fresh.get_json("/api/v1/labels") == {"status": "success", "data": []}
    assert await fresh.get_json("/api/v1/labels") == {"status": "success", "data": []}
    assert seen == ["Bearer stale-9", "Bearer fresh", "Bearer fresh"] and reads == [1]
    await fresh.aclose()


@pytest.mark.asyncio
async def test_a_401_after_the_re_read_says_both_were_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, text="Unauthorized")

    async def other() -> EndpointAuth:
        return EndpointAuth(AuthMethod.BEARER, token="other-token")

    client = BackendClient(
        "http://p", name="p", auth=EndpointAuth(AuthMethod.BEARER, token="first-token"),
        policy=HttpPolicy(retries=0), transport=httpx.MockTransport(handler), reauth=other,
    )  # fmt: skip
    with pytest.raises(CollectorAuthError, match="read again from the keyring was refused too"):
        await client.get_json("/api/v1/labels")
    await client.aclose()
