"""Review 6 of the clusters' credentials: a 401 says how to replace the credential as it was
given (importing a kubeconfig again only for a kubeconfig context: for a cluster added by URL
and token that registers another cluster), and a basic-auth or client-certificate credential
whose keyring entry is gone is refused before anything is sent, as a bearer token's is."""

from __future__ import annotations

import asyncio
import http.server
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
import pytest_asyncio

from aiops_desktop.logs import REDACTED
from aiops_desktop.models import AuthMethod, CredentialKind, CredentialRef, EndpointKind
from aiops_desktop.models.cluster import Endpoint
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters.connections import resolve_auth
from aiops_desktop.services.core import Core
from aiops_desktop.settings import resolve_paths
from collectors.auth import REIMPORT, refused_advice
from collectors.errors import CollectorAuthError
from tests.memory_keyring import MemoryKeyring
from tests.servers import tls

pytestmark = pytest.mark.integration
PROM = EndpointKind.PROMETHEUS
ENDPOINT_TOKEN = "opaque-endpoint-token-7c31d9"
API_TOKEN = "sha256~api-token-by-url-4be8e1"
HUB_PASSWORD = "hub-password-91f0c2"


class _Refusing(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization"))
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:  # a query is a POST
        self.do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing(pki: tls.TestPki) -> Iterator[tuple[str, list[str | None]]]:
    """An HTTPS server (the test CA's certificate) that answers every request 401, and the
    Authorization headers it was sent."""
    seen: list[str | None] = []
    handler = type("Handler", (_Refusing,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest_asyncio.fixture
async def opened(tmp_path: Path) -> AsyncIterator[tuple[Core, MemoryKeyring]]:
    keyring = MemoryKeyring()
    core = Core.open(resolve_paths(tmp_path / "home"), secrets=SecretStore(keyring))
    await core.registry.load()
    yield core, keyring
    await core.shutdown()


def test_the_advice_of_a_refused_credential_follows_how_it_was_given() -> None:
    token = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key="cluster/abc/prometheus")
    said = refused_advice(None, credential=token)
    assert REIMPORT not in said and "import-kubeconfig" not in said
    assert "'cluster/abc/prometheus'" in said and "add it again" in said
    context = CredentialRef(kind=CredentialKind.KUBECONFIG_CONTEXT, key="cluster/abc/kubeconfig",
                            context="admin")  # fmt: skip
    assert REIMPORT in refused_advice(None, credential=context)


@pytest.mark.asyncio
async def test_a_401_of_an_endpoint_added_by_url_and_token_never_says_to_import_a_kubeconfig(
    opened: tuple[Core, MemoryKeyring],
    refusing: tuple[str, list[str | None]],
    pki: tls.TestPki,
) -> None:
    core, _ = opened
    url, _ = refusing
    cluster = await core.registry.add(
        ClusterSpec(name="ran-east", endpoint_urls={PROM: url}, ca_bundle_pem=pki.ca_pem),
        ClusterSecrets(endpoint_tokens={PROM: ENDPOINT_TOKEN}),
    )
    ref = cluster.endpoint(PROM).credential  # type: ignore[union-attr]
    assert ref is not None
    with pytest.raises(CollectorAuthError) as caught:
        await (await core.pool.prometheus(cluster)).query("up")
    said = str(caught.value)
    assert "import-kubeconfig" not in said and "Import kubeconfig" not in said
    assert repr(ref.key) in said and "add it again" in said
    assert ENDPOINT_TOKEN not in said and REDACTED not in said


@pytest.mark.asyncio
async def test_a_401_of_an_api_server_added_by_url_and_token_never_says_to_import_a_kubeconfig(
    opened: tuple[Core, MemoryKeyring],
    refusing: tuple[str, list[str | None]],
    pki: tls.TestPki,
) -> None:
    core, _ = opened
    url, _ = refusing
    cluster = await core.registry.add(
        ClusterSpec(name="core-1", api_server_url=url, ca_bundle_pem=pki.ca_pem),
        ClusterSecrets(token=API_TOKEN),
    )
    assert cluster.credential is not None
    client = await core.pool.kube(cluster)
    with pytest.raises(CollectorAuthError) as caught:
        await client.get("/version")
    said = str(caught.value)
    assert "refused too" in said
    assert "import-kubeconfig" not in said and "Import kubeconfig" not in said
    assert repr(cluster.credential.key) in said and "add it again" in said
    assert REDACTED not in said


@pytest.mark.asyncio
async def test_a_basic_auth_credential_whose_keyring_entry_is_gone_is_never_sent(
    opened: tuple[Core, MemoryKeyring],
    refusing: tuple[str, list[str | None]],
    pki: tls.TestPki,
) -> None:
    core, keyring = opened
    url, seen = refusing
    cluster = await core.registry.add(
        ClusterSpec(name="hub-1", endpoint_urls={PROM: url}, ca_bundle_pem=pki.ca_pem),
        ClusterSecrets(basic_username="noc", basic_password=HUB_PASSWORD),
    )
    keyring.store.clear()  # deleted by hand, or a home restored without its keyring
    with pytest.raises(CollectorAuthError, match="is not in the keyring") as caught:
        await (await core.pool.prometheus(cluster)).query("up")
    assert "token" not in str(caught.value)  # a user name and password, not a token
    assert seen == []


@pytest.mark.parametrize("method", [AuthMethod.BASIC, AuthMethod.MTLS])
def test_a_structured_credential_whose_entry_is_gone_is_refused_as_not_in_the_keyring(
    method: AuthMethod,
) -> None:
    kind = {AuthMethod.BASIC: CredentialKind.BASIC_AUTH,
            AuthMethod.MTLS: CredentialKind.CLIENT_CERTIFICATE}[method]  # fmt: skip
    ref = CredentialRef(kind=kind, key="cluster/abc/api")
    endpoint = Endpoint(kind=PROM, url="https://thanos.example", auth=method, credential=ref)
    with pytest.raises(CollectorAuthError, match="is not in the keyring"):
        resolve_auth(endpoint, SecretStore(MemoryKeyring()), whose="hub-1/prometheus: its")


@pytest.mark.asyncio
async def test_an_endpoint_credential_resolved_carries_its_entry(
    opened: tuple[Core, MemoryKeyring],
) -> None:
    core, _ = opened
    cluster = await core.registry.add(
        ClusterSpec(name="ran-west", endpoint_urls={PROM: "https://thanos.ran-west.example"}),
        ClusterSecrets(endpoint_tokens={PROM: ENDPOINT_TOKEN}),
    )
    endpoint = cluster.endpoint(PROM)
    assert endpoint is not None
    auth = await asyncio.to_thread(resolve_auth, endpoint, core.secrets)
    assert auth.credential == endpoint.credential
