"""Review fixes in the collectors: the Kubernetes client never takes the environment's proxy,
a refused credential that has expired says so (and what replaces it), and a client-certificate
endpoint's TLS context is made once per pair, in a worker thread, never on the event loop."""

from __future__ import annotations

import asyncio
import base64
import http.server
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from aiops_desktop.models import AuthMethod
from collectors import http as http_module
from collectors.auth import EndpointAuth, ssl_context
from collectors.errors import CollectorAuthError, CollectorError
from collectors.http import BackendClient
from collectors.kube_config import bearer_expiry, kubeconfig_for_token
from collectors.kubernetes import KubeClient
from tests.servers import tls


class _Listener:
    """A TCP listener on 127.0.0.1 that records the first bytes of each connection and closes
    it (a stand-in for a proxy, or for an API server that ends every handshake)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(4096))
                except OSError:
                    self.received.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def listeners() -> Iterator[tuple[_Listener, _Listener]]:
    proxy, server = _Listener(), _Listener()
    try:
        yield proxy, server
    finally:
        proxy.close()
        server.close()


def _jwt(exp: float) -> str:
    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{b64({'alg': 'RS256'})}.{b64({'sub': 'noc', 'exp': int(exp)})}.c2lnbmF0dXJl"


# -- 1: no proxy from the environment --------------------------------------------------------


@pytest.mark.asyncio
async def test_kube_api_calls_never_go_through_the_environments_proxy(
    listeners: tuple[_Listener, _Listener], monkeypatch: pytest.MonkeyPatch
) -> None:
    """kubernetes 37's Configuration takes HTTPS_PROXY from the environment: every API call,
    its bearer token included, went to that proxy (a CONNECT to the API server)."""
    proxy, server = listeners
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    config = kubeconfig_for_token(f"https://127.0.0.1:{server.port}", "sha256~secret-token")
    client = await KubeClient.open(config, name="prod-east", timeout_s=3)
    try:
        with pytest.raises(CollectorError):  # the "server" ends the handshake
            await client.get("/version")
    finally:
        await client.aclose()
    await asyncio.sleep(0.3)  # the listeners' threads record what came
    assert proxy.received == []
    assert server.received and server.received[0][:1] == b"\x16"  # a TLS ClientHello, direct


# -- 4: a refused credential that has expired says so -------------------------------------


class _Refusing(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"kind": "Status", "status": "Failure", "message": "Unauthorized",
                           "reason": "Unauthorized", "code": 401}).encode()  # fmt: skip
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_api(pki: tls.TestPki) -> Iterator[str]:
    """An HTTPS API server (the test CA's certificate) that answers every request 401."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@pytest.mark.asyncio
async def test_an_expired_kube_token_refused_says_when_it_expired_and_how_to_replace_it(
    refusing_api: str, pki: tls.TestPki
) -> None:
    expired = time.time() - 3600
    token = _jwt(expired)
    assert bearer_expiry(token) == int(expired)
    config = kubeconfig_for_token(refusing_api, token, ca_pem=pki.ca_pem)

    async def reload() -> dict[str, object]:  # the keyring holds the same token
        return config

    client = await KubeClient.open(config, name="prod-east", reload=reload, timeout_s=5)
    try:
        with pytest.raises(CollectorAuthError) as caught:
            await client.get("/version")
    finally:
        await client.aclose()
    said = str(caught.value)
    assert f"the token expired at {_utc(int(expired))}" in said
    assert "aiops-desktop clusters import-kubeconfig" in said
    assert "Import kubeconfig" in said
    assert "store a new one" not in said
    assert token not in said and token.split(".")[1] not in said


@pytest.mark.asyncio
async def test_an_expired_endpoint_token_refused_says_when_it_expired() -> None:
    expired = time.time() - 7200
    token = _jwt(expired)
    auth = EndpointAuth(AuthMethod.BEARER, token=token)

    async def reauth() -> EndpointAuth:  # the keyring holds the same token
        return auth

    backend = BackendClient(
        "https://thanos.prod-east.example", name="prod-east/prometheus", auth=auth,
        transport=httpx.MockTransport(lambda _request: httpx.Response(401)), reauth=reauth,
    )  # fmt: skip
    try:
        with pytest.raises(CollectorAuthError) as caught:
            await backend.get_json("/api/v1/query", {"query": "up"})
    finally:
        await backend.aclose()
    said = str(caught.value)
    assert f"the token expired at {_utc(int(expired))}" in said
    assert "aiops-desktop clusters import-kubeconfig" in said
    assert "store a new one" not in said
    assert token not in said and token.split(".")[1] not in said


@pytest.mark.asyncio
async def test_a_refused_token_not_known_to_have_expired_says_neither_a_time() -> None:
    token = _jwt(time.time() + 3600)  # valid for an hour: revoked, not expired
    auth = EndpointAuth(AuthMethod.BEARER, token=token)
    backend = BackendClient(
        "https://thanos.prod-east.example", name="prod-east/prometheus", auth=auth,
        transport=httpx.MockTransport(lambda _request: httpx.Response(401)),
    )  # fmt: skip
    try:
        with pytest.raises(CollectorAuthError) as caught:
            await backend.get_json("/api/v1/query", {"query": "up"})
    finally:
        await backend.aclose()
    said = str(caught.value)
    assert "expired at" not in said
    assert "revoked" in said and "import-kubeconfig" in said
    assert token not in said


# -- 8: a client-certificate context: once per pair, off the event loop ------------------


def test_an_mtls_context_is_made_once_per_pair_and_still_verifies(pki: tls.TestPki) -> None:
    cert, key = pki.client_cert.read_text(), pki.client_key.read_text()
    auth = EndpointAuth(AuthMethod.MTLS, client_cert_pem=cert, client_key_pem=key)
    first = ssl_context(verify=True, ca_pem=None, auth=auth)
    assert isinstance(first, ssl.SSLContext)
    again = ssl_context(verify=True, ca_pem=None, auth=auth)
    assert again is first  # not the system's CAs loaded once more
    assert first.verify_mode is ssl.CERT_REQUIRED and first.check_hostname
    # another CA, or verification off, is another context, never the verifying one changed
    own_ca = ssl_context(verify=True, ca_pem=pki.ca_pem, auth=auth)
    assert isinstance(own_ca, ssl.SSLContext) and own_ca is not first
    unverified = ssl_context(verify=False, ca_pem=None, auth=auth)
    assert isinstance(unverified, ssl.SSLContext) and unverified is not first
    assert unverified.verify_mode is ssl.CERT_NONE
    assert first.verify_mode is ssl.CERT_REQUIRED and first.check_hostname
    # a pair that cannot be used is refused each time, never cached as usable
    broken = EndpointAuth(AuthMethod.MTLS, client_cert_pem=cert, client_key_pem="garbage")
    for _ in range(2):
        with pytest.raises(CollectorAuthError, match="not a PEM private key"):
            ssl_context(verify=True, ca_pem=None, auth=broken)


@pytest.mark.asyncio
async def test_a_backend_client_makes_its_tls_context_off_the_event_loop(
    pki: tls.TestPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The httpx client is made at the first request, on the event loop (qasync: the UI
    thread): loading the CAs and the key pair there stalled the window."""
    made_on: list[threading.Thread] = []
    real = http_module.ssl_context

    def recording(**kwargs: object) -> ssl.SSLContext | bool:
        made_on.append(threading.current_thread())
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(http_module, "ssl_context", recording)
    auth = EndpointAuth(AuthMethod.MTLS, client_cert_pem=pki.client_cert.read_text(),
                        client_key_pem=pki.client_key.read_text())  # fmt: skip
    backend = BackendClient(
        "https://prom.edge-1.example", name="edge-1/prometheus", auth=auth, ca_pem=pki.ca_pem,
        transport=httpx.MockTransport(lambda _request: httpx.Response(200, json={"ok": 1})),
    )  # fmt: skip
    try:
        assert await backend.get_json("/api/v1/status/buildinfo") == {"ok": 1}
        assert await backend.get_json("/api/v1/status/buildinfo") == {"ok": 1}
    finally:
        await backend.aclose()
    assert len(made_on) == 1  # once per client
    assert made_on[0] is not threading.main_thread()
