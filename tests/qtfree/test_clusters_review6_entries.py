"""Review 6 of the clusters' credentials: a keyring entry that is not what the app stored
there (a bare token pasted over a kubeconfig context's JSON in the password manager) is said
as such, with the entry and how to replace it, never quoting it: not "Expecting value: line 1
column 1 (char 0)" at every poll, nor a traceback out of ``clusters validate``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from aiops_desktop.logs import REDACTED
from aiops_desktop.models import AuthMethod, Cluster, CredentialKind, CredentialRef, EndpointKind
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.enums import ValidationOutcome
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters.connections import resolve_auth
from aiops_desktop.services.clusters.registry import RegistryError
from aiops_desktop.services.core import Core
from aiops_desktop.services.kube.validation import kubeconfig_for, validate
from aiops_desktop.settings import resolve_paths
from collectors.auth import REIMPORT
from collectors.errors import CollectorAuthError, KubeConfigInvalid
from tests.memory_keyring import MemoryKeyring
from tests.qtfree.kubeconfigs import write_kubeconfig

PROM = EndpointKind.PROMETHEUS
PASTED = "sha256~a-new-token-pasted-here-8d41"
CONTEXT = "default/api-ocp-prod-example-com:6443/kube:admin"
#: what the user may have pasted: a bare token, and text that is JSON but no object
PASTED_TEXTS = [PASTED, "20240611123456"]


@pytest_asyncio.fixture
async def opened(tmp_path: Path) -> AsyncIterator[tuple[Core, MemoryKeyring]]:
    keyring = MemoryKeyring()
    core = Core.open(resolve_paths(tmp_path / "home"), secrets=SecretStore(keyring))
    await core.registry.load()
    yield core, keyring
    await core.shutdown()


async def _imported(core: Core, keyring: MemoryKeyring, folder: Path, pasted: str) -> Cluster:
    """The kubeconfig context imported, its keyring entry then replaced by ``pasted``."""
    [cluster] = (
        await core.registry.import_kubeconfig(write_kubeconfig(folder), [CONTEXT])
    ).imported
    assert cluster.credential is not None
    keyring.store[(cluster.credential.service, cluster.credential.key)] = pasted
    return cluster


def _says_the_entry_is_not_the_apps(said: str, ref: CredentialRef, pasted: str) -> None:
    assert "is not what the app stored" in said
    assert repr(ref.key) in said
    assert pasted not in said
    assert "Expecting value" not in said
    assert REDACTED not in said  # none of the advice reads as a secret


@pytest.mark.asyncio
@pytest.mark.parametrize("pasted", PASTED_TEXTS)
async def test_a_kubeconfig_context_entry_pasted_over_is_said_with_how_to_replace_it(
    opened: tuple[Core, MemoryKeyring], tmp_path: Path, pasted: str
) -> None:
    core, keyring = opened
    cluster = await _imported(core, keyring, tmp_path, pasted)
    assert cluster.credential is not None
    with pytest.raises(KubeConfigInvalid) as caught:
        await asyncio.to_thread(kubeconfig_for, cluster, core.secrets)
    _says_the_entry_is_not_the_apps(str(caught.value), cluster.credential, pasted)
    assert REIMPORT in str(caught.value)
    with pytest.raises(KubeConfigInvalid) as polled:
        await core.pool.kube(cluster)
    _says_the_entry_is_not_the_apps(str(polled.value), cluster.credential, pasted)


@pytest.mark.asyncio
async def test_validate_says_an_entry_pasted_over_is_not_the_apps_instead_of_raising(
    opened: tuple[Core, MemoryKeyring], tmp_path: Path
) -> None:
    core, keyring = opened
    cluster = await _imported(core, keyring, tmp_path, PASTED)
    assert cluster.credential is not None
    result = await validate(cluster, core.secrets)
    assert result.outcome is ValidationOutcome.INVALID
    _says_the_entry_is_not_the_apps(result.reason, cluster.credential, PASTED)


@pytest.mark.asyncio
async def test_a_client_certificate_entry_pasted_over_is_said_with_how_to_replace_it(
    opened: tuple[Core, MemoryKeyring],
) -> None:
    core, keyring = opened
    ref = CredentialRef(kind=CredentialKind.CLIENT_CERTIFICATE, key="cluster/abc/api")
    cluster = Cluster(name="edge-3", api_server_url="https://api.edge-3:6443", credential=ref)
    keyring.store[(ref.service, ref.key)] = PASTED
    with pytest.raises(KubeConfigInvalid) as caught:
        await asyncio.to_thread(kubeconfig_for, cluster, core.secrets)
    _says_the_entry_is_not_the_apps(str(caught.value), ref, PASTED)
    assert "add it again" in str(caught.value) and "import-kubeconfig" not in str(caught.value)


@pytest.mark.parametrize("pasted", PASTED_TEXTS)
@pytest.mark.parametrize(
    ("kind", "method"),
    [(CredentialKind.KUBECONFIG_CONTEXT, AuthMethod.BEARER),
     (CredentialKind.BASIC_AUTH, AuthMethod.BASIC),
     (CredentialKind.CLIENT_CERTIFICATE, AuthMethod.MTLS)],
)  # fmt: skip
def test_an_endpoint_credential_entry_pasted_over_is_an_auth_error_that_says_so(
    kind: CredentialKind, method: AuthMethod, pasted: str
) -> None:
    ref = CredentialRef(kind=kind, key="cluster/abc/api", context="admin")
    keyring = MemoryKeyring()
    keyring.store[(ref.service, ref.key)] = pasted
    endpoint = Endpoint(kind=PROM, url="https://thanos.example", auth=method, credential=ref)
    with pytest.raises(CollectorAuthError) as caught:
        resolve_auth(endpoint, SecretStore(keyring), whose="hub-1/prometheus: its credential")
    _says_the_entry_is_not_the_apps(str(caught.value), ref, pasted)


@pytest.mark.asyncio
async def test_an_endpoint_given_a_context_whose_entry_was_pasted_over_is_refused_saying_so(
    opened: tuple[Core, MemoryKeyring], tmp_path: Path
) -> None:
    core, keyring = opened
    cluster = await _imported(core, keyring, tmp_path, PASTED)
    assert cluster.credential is not None
    with pytest.raises(RegistryError) as caught:
        await core.registry.set_endpoint(
            cluster.name, PROM, "https://thanos.example", use_cluster_token=True
        )
    _says_the_entry_is_not_the_apps(str(caught.value), cluster.credential, PASTED)


@pytest.mark.asyncio
async def test_a_bearer_token_entry_is_still_read_as_text(
    opened: tuple[Core, MemoryKeyring],
) -> None:
    """A token that happens to be JSON text (digits) is a token: only the entries the app
    stores as JSON are read so."""
    core, _ = opened
    cluster = await core.registry.add(
        ClusterSpec(name="ran-east", endpoint_urls={PROM: "https://thanos.ran-east.example"}),
        ClusterSecrets(endpoint_tokens={PROM: "20240611123456"}),
    )
    endpoint = cluster.endpoint(PROM)
    assert endpoint is not None
    auth = await asyncio.to_thread(resolve_auth, endpoint, core.secrets)
    assert auth.token == "20240611123456"
