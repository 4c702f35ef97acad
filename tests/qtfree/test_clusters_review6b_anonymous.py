"""Review 6b of a refused credential's advice: an API server added by URL alone (no
credential) that answers 401 is told to be given a credential, as a metrics endpoint without
one is, never to import a kubeconfig context again (it has none) nor that the keyring was
read again."""

from __future__ import annotations

import pytest

from aiops_desktop.models.registry import ClusterSpec
from aiops_desktop.services.core import Core
from collectors.errors import CollectorAuthError
from tests.memory_keyring import MemoryKeyring
from tests.qtfree.test_clusters_review6_auth import opened, refusing  # noqa: F401 (fixtures)
from tests.servers import tls

pytestmark = pytest.mark.integration


@pytest.mark.asyncio
async def test_a_401_of_an_api_server_added_without_a_credential_says_none_is_configured(
    opened: tuple[Core, MemoryKeyring],  # noqa: F811
    refusing: tuple[str, list[str | None]],  # noqa: F811
    pki: tls.TestPki,
) -> None:
    core, _ = opened
    url, seen = refusing
    cluster = await core.registry.add(
        ClusterSpec(name="anon-1", api_server_url=url, ca_bundle_pem=pki.ca_pem)
    )
    assert cluster.credential is None
    client = await core.pool.kube(cluster)
    with pytest.raises(CollectorAuthError) as caught:
        await client.get("/version")
    said = str(caught.value)
    assert "none is configured" in said and "give it a token" in said
    assert "import-kubeconfig" not in said and "Import kubeconfig" not in said
    assert "keyring" not in said
    assert caught.value.status == 401
    assert seen == [None]  # nothing to read again, so not asked twice
