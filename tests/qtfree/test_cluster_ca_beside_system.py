"""A cluster's CA bundle (its API server's: kubeconfig certificate-authority-data, or
``clusters add --ca-file``) is trusted by its HTTP endpoints without one of their own beside
the system's CAs, not instead of them: a Prometheus route whose certificate the system
trusts failed on every cluster registered with a private API CA. An endpoint's own CA
bundle still means that CA alone. (SSL_CERT_FILE stands in for the system trust store.)"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from aiops_desktop.models import AuthMethod, Cluster, Endpoint, EndpointKind
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters.connections import ClientPool, backend_signature
from collectors.auth import EndpointAuth, ExtraCA, ssl_context
from collectors.errors import CollectorTLSError
from tests.qtfree.test_cluster_input_hostile import MemoryKeyring
from tests.qtfree.test_kube_collector_review4 import ca_pem
from tests.servers import tls

#: the API server's private CA, which signed nothing the endpoints serve
API_CA = ca_pem("ran-east-01 kube-apiserver CA")
EMPTY_VECTOR = {"status": "success", "data": {"resultType": "vector", "result": []}}


class _Answer(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = json.dumps(EMPTY_VECTOR).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def system_pki(tmp_path_factory: pytest.TempPathFactory) -> tls.TestPki:
    """A CA the machine trusts (through SSL_CERT_FILE), and the endpoint's certificate it
    signed."""
    return tls.make_pki(tmp_path_factory.mktemp("system-pki"))


@contextlib.contextmanager
def serving(pki: tls.TestPki) -> Iterator[str]:
    """An https Prometheus (its answer to any query: no series) with ``pki``'s certificate."""
    server = HTTPServer(("127.0.0.1", 0), _Answer)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def prometheus_route(system_pki: tls.TestPki, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Prometheus whose certificate the system's trust store vouches for."""
    monkeypatch.setenv("SSL_CERT_FILE", str(system_pki.ca_cert))
    with serving(system_pki) as url:
        yield url


@pytest_asyncio.fixture
async def pool() -> AsyncIterator[ClientPool]:
    made = ClientPool(SecretStore(MemoryKeyring()))
    yield made
    await made.aclose()


def ran_east(url: str, *, own_ca: str | None = None) -> Cluster:
    prometheus = Endpoint(kind=EndpointKind.PROMETHEUS, url=url, ca_bundle_pem=own_ca)
    return Cluster(name="ran-east-01", ca_bundle_pem=API_CA, endpoints=[prometheus])


async def query_up(pool: ClientPool, cluster: Cluster) -> None:
    client = await pool.backend(cluster, EndpointKind.PROMETHEUS)
    assert await client.get_json("/api/v1/query", params={"query": "up"}) == EMPTY_VECTOR


@pytest.mark.asyncio
async def test_an_endpoint_inheriting_the_cluster_ca_still_trusts_the_system(
    pool: ClientPool, prometheus_route: str
) -> None:
    """The cluster's CA replaced the system's: the route failed CERTIFICATE_VERIFY_FAILED."""
    await query_up(pool, ran_east(prometheus_route))


@pytest.mark.asyncio
async def test_an_endpoint_inheriting_the_cluster_ca_trusts_that_ca_too(
    pool: ClientPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ingress signed by the cluster's own CA (not the system's) is still trusted."""
    private = tls.make_pki(tmp_path / "private")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-system-roots.pem"))
    with serving(private) as route:
        await query_up(pool, ran_east(route).model_copy(update={"ca_bundle_pem": private.ca_pem}))


@pytest.mark.asyncio
async def test_an_endpoints_own_ca_is_trusted_alone(
    pool: ClientPool, prometheus_route: str
) -> None:
    """Set for the endpoint itself, a CA bundle keeps its meaning: that CA and no other."""
    with pytest.raises(CollectorTLSError, match="not trusted"):
        await query_up(pool, ran_east(prometheus_route, own_ca=API_CA))


@pytest.mark.asyncio
async def test_the_same_ca_inherited_or_own_makes_a_client_of_its_own(
    pool: ClientPool, prometheus_route: str
) -> None:
    """Inherited (with the system's CAs) and own (alone) trust differently: the signature
    tells them apart, so the client is made again when one becomes the other."""
    inherited, own = ran_east(prometheus_route), ran_east(prometheus_route, own_ca=API_CA)
    signatures = {
        backend_signature(c, e)
        for c in (inherited, own)
        for e in [c.endpoint(EndpointKind.PROMETHEUS)]
        if e is not None
    }
    assert len(signatures) == 2
    first = await pool.backend(inherited, EndpointKind.PROMETHEUS)
    assert await pool.backend(own, EndpointKind.PROMETHEUS) is not first


def handshake(context: ssl.SSLContext, url: str) -> None:
    """A TLS handshake with the server at ``url`` (verified as ``context`` says)."""
    where = urlsplit(url)
    host = where.hostname or ""
    with (
        socket.create_connection((host, where.port or 443), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host),
    ):
        pass


def test_a_context_is_made_once_per_ca_and_mode(
    system_pki: tls.TestPki, prometheus_route: str
) -> None:
    """The same CA alone and beside the system's are two contexts, each made once; a client
    pair's context (mTLS) follows the mode as well."""
    plain = EndpointAuth()
    alone = ssl_context(verify=True, ca_pem=API_CA, auth=plain)
    beside = ssl_context(verify=True, ca_pem=ExtraCA(API_CA), auth=plain)
    assert alone is not beside
    assert ssl_context(verify=True, ca_pem=API_CA, auth=plain) is alone
    assert ssl_context(verify=True, ca_pem=ExtraCA(API_CA), auth=plain) is beside

    pair = EndpointAuth(
        AuthMethod.MTLS,
        client_cert_pem=system_pki.client_cert.read_text(),
        client_key_pem=system_pki.client_key.read_text(),
    )
    paired_alone = ssl_context(verify=True, ca_pem=API_CA, auth=pair)
    paired_beside = ssl_context(verify=True, ca_pem=ExtraCA(API_CA), auth=pair)
    assert isinstance(paired_alone, ssl.SSLContext) and isinstance(paired_beside, ssl.SSLContext)
    assert ssl_context(verify=True, ca_pem=ExtraCA(API_CA), auth=pair) is paired_beside
    handshake(paired_beside, prometheus_route)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(paired_alone, prometheus_route)
