"""Third review of the Kubernetes client: pods/exec's WebSocket never goes through a proxy the
environment names, is bounded by its request's deadline (a handshake never answered held a
worker thread for good), and trusts the CA an exec-plugin cluster gave as data; a credential
refused again and again keeps at most one replaced API client open, not one per call."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import ssl
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from collectors.errors import (
    CollectorAuthError,
    CollectorTimeout,
    CollectorUnreachable,
    KubeForbidden,
)
from collectors.kube_config import kubeconfig_for_token
from collectors.kubernetes import KUBE_THREADS, KubeClient
from tests.servers import tls as pkis

BEARER = "kq8Zr2-exec-bearer-71f3c0"
NVIDIA_SMI = ["nvidia-smi", "--query-gpu=uuid", "--format=csv"]
VERSION = b'{"gitVersion":"v1.30.0"}'
UNAUTHORIZED = json.dumps({"kind": "Status", "code": 401, "message": "Unauthorized"}).encode()
FORBIDDEN = b'{"kind":"Status","code":403,"message":"pods \\"drv\\" is forbidden"}'


def answer(status: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
    )


class RawServer:
    """A server on 127.0.0.1 that reads one request a connection and answers what ``reply``
    gives for it; ``b""``: no answer, the connection held until ``close``. Over TLS where
    ``tls`` is given. ``seen``: each request's first line."""

    def __init__(self, reply: Callable[[bytes], bytes], tls: ssl.SSLContext | None = None) -> None:
        self.seen: list[str] = []
        self._reply, self._tls = reply, tls
        self._held: list[socket.socket] = []
        self._closing = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed
                return
            self._held.append(conn)
            self._threads.append(threading.Thread(target=self._serve, args=(conn,), daemon=True))
            self._threads[-1].start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            sock = self._tls.wrap_socket(conn, server_side=True) if self._tls else conn
            with sock:
                request = sock.recv(65536)
                if not request:
                    return
                self.seen.append(request.split(b"\r\n")[0].decode(errors="replace"))
                reply = self._reply(request)
                if reply:
                    sock.sendall(reply)
                else:
                    self._closing.wait()

    def close(self) -> None:
        self._closing.set()
        for sock in [self._listener, *self._held]:  # (a blocked accept ends on shutdown)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for thread in self._threads:
            thread.join(5)


@contextlib.contextmanager
def raw_server(
    reply: Callable[[bytes], bytes], tls: ssl.SSLContext | None = None
) -> Iterator[RawServer]:
    server = RawServer(reply, tls)
    try:
        yield server
    finally:
        server.close()


def tls_context(pki: pkis.TestPki) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    return context


def forbid_all(request: bytes) -> bytes:
    return answer(b"403 Forbidden", FORBIDDEN)


# -- 1. no environment proxy -------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.asyncio
@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
async def test_an_exec_never_goes_through_a_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch, pki: pkis.TestPki, tls: bool
) -> None:
    """API reads go to the API server directly whatever HTTPS_PROXY says; pods/exec did not
    (websocket-client reads the environment itself): the exec, its bearer token with it, was
    tunnelled through the proxy (one that intercepts TLS read it on an unverified cluster)."""
    with (
        raw_server(forbid_all) as proxy,
        raw_server(forbid_all, tls_context(pki) if tls else None) as api,
    ):
        for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        scheme = "https" if tls else "http"
        config = kubeconfig_for_token(
            f"{scheme}://127.0.0.1:{api.port}", BEARER, ca_pem=pki.ca_pem if tls else None
        )
        client = await KubeClient.open(config, name="proxied", timeout_s=5)
        try:
            with pytest.raises(KubeForbidden):
                await client.get("/version")
            with pytest.raises(KubeForbidden):
                await client.exec_read("gpu-operator", "drv", NVIDIA_SMI)
        finally:
            await client.aclose()
    assert proxy.seen == []
    assert api.seen[0] == "GET /version HTTP/1.1"
    assert api.seen[1].startswith("GET /api/v1/namespaces/gpu-operator/pods/drv/exec?")


@pytest.mark.integration
@pytest.mark.asyncio
async def test_an_exec_redirected_elsewhere_is_not_followed() -> None:
    """The API server's redirects are not followed; pods/exec's were (three of them), its
    bearer token sent on to whichever host the answer named."""
    with raw_server(forbid_all) as elsewhere:

        def redirect(request: bytes) -> bytes:
            to = f"ws://127.0.0.1:{elsewhere.port}/steal".encode()
            return answer(b"302 Found", b"").replace(
                b"\r\n\r\n", b"\r\nLocation: " + to + b"\r\n\r\n", 1
            )

        with raw_server(redirect) as api:
            config = kubeconfig_for_token(f"http://127.0.0.1:{api.port}", BEARER)
            client = await KubeClient.open(config, name="redirected", timeout_s=5)
            try:
                with pytest.raises(CollectorUnreachable, match="Redirect limit"):
                    await client.exec_read("gpu-operator", "drv", NVIDIA_SMI)
            finally:
                await client.aclose()
    assert elsewhere.seen == []


# -- 2. a handshake never answered -------------------------------------------------------------
def hang_exec(request: bytes) -> bytes:
    if b"/exec" in request.split(b"\r\n")[0]:
        return b""  # the upgrade is never answered (a hung kubelet behind the API server)
    return answer(b"200 OK", VERSION)


@contextlib.asynccontextmanager
async def hung_exec_client(deadline_s: float, timeout_s: float) -> AsyncIterator[KubeClient]:
    with raw_server(hang_exec) as api:
        config = kubeconfig_for_token(f"http://127.0.0.1:{api.port}", BEARER)
        client = await KubeClient.open(
            config, name="hung", deadline_s=deadline_s, timeout_s=timeout_s
        )
        try:
            yield client
        finally:
            api.close()  # before aclose: frees a thread still held, were the fix gone
            await client.aclose()


async def every_thread_execs(client: KubeClient, within_s: float | None = None) -> list[str]:
    async def one(i: int) -> str:
        try:
            async with asyncio.timeout(within_s):
                await client.exec_read("gpu-operator", f"drv-{i}", NVIDIA_SMI)
        except (CollectorTimeout, TimeoutError) as exc:
            return type(exc).__name__
        return "answered"

    return await asyncio.gather(*(one(i) for i in range(KUBE_THREADS)))


@pytest.mark.integration
@pytest.mark.asyncio
async def test_an_exec_never_answered_ends_at_its_deadline_and_frees_its_thread() -> None:
    """One exec into each GPU node, none answered: each fails at the request's deadline and
    its thread is free again; reads of the cluster still answer (all 8 threads were held for
    good, every later read hung and the cluster was marked down)."""
    async with hung_exec_client(deadline_s=1, timeout_s=30) as client:
        began = time.monotonic()
        assert await every_thread_execs(client) == ["CollectorTimeout"] * KUBE_THREADS
        assert time.monotonic() - began < 5
        async with asyncio.timeout(3):
            assert await client.get("/version") == {"gitVersion": "v1.30.0"}


@pytest.mark.integration
@pytest.mark.asyncio
async def test_an_exec_given_up_by_its_caller_frees_its_thread_at_once() -> None:
    """The caller stops waiting long before the deadline: the WebSocket's socket is shut
    down as urllib3's are (it was not known to the deadline), so the thread ends now."""
    async with hung_exec_client(deadline_s=60, timeout_s=60) as client:
        began = time.monotonic()
        assert await every_thread_execs(client, within_s=0.5) == ["TimeoutError"] * KUBE_THREADS
        async with asyncio.timeout(3):
            assert await client.get("/version") == {"gitVersion": "v1.30.0"}
        assert time.monotonic() - began < 5


# -- 3. a credential refused on every call -----------------------------------------------------
class RevokedApi:
    """Answers 401 to every path but ``/slow``, which answers after ``slow_s``; keeps each
    connection open between requests, as API servers do."""

    def __init__(self, slow_s: float) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10  # a connection the client left open ends by then

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/slow":
                    time.sleep(slow_s)
                    status, body = 200, b"{}"
                else:
                    status, body = 401, UNAUTHORIZED
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Quiet(ThreadingHTTPServer):
            daemon_threads = False  # joined by server_close

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()  # (joins each connection's thread)
        self.thread.join(5)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.integration
@pytest.mark.asyncio
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts /proc/self/fd")
async def test_a_revoked_credential_keeps_at_most_one_replaced_client_open() -> None:
    """Each 401 loads the kubeconfig again and replaces the API client: the replaced ones
    were all kept open until aclose, which a pooled client never reaches (200 calls, 200
    clients and 400 descriptors). At most one is kept now, and a call still reading on an
    older one finishes."""
    api = RevokedApi(slow_s=1.0)
    config = kubeconfig_for_token(api.url, BEARER)

    async def reload() -> dict[str, object]:
        return config

    client = await KubeClient.open(config, name="revoked", timeout_s=5, reload=reload)
    try:
        slow = asyncio.ensure_future(client.get("/slow"))  # on the first client, throughout
        await asyncio.sleep(0.3)
        for _ in range(2):  # each a 401, a reload, a 401 again: the first client replaced
            with pytest.raises(CollectorAuthError):
                await client.get("/version")
        assert await slow == {}

        before = open_fds()
        for _ in range(30):
            with pytest.raises(CollectorAuthError):
                await client.get("/version")
        assert len(client._retired) <= 1
        for _ in range(30):  # the server's side of each closed connection ends too
            if open_fds() <= before + 4:
                break
            await asyncio.sleep(0.1)
        assert open_fds() <= before + 4
    finally:
        await client.aclose()
        await asyncio.to_thread(api.close)


# -- 4. an exec plugin's cluster CA ------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.asyncio
async def test_an_exec_plugin_clusters_exec_trusts_its_ca_after_a_request(
    pki: pkis.TestPki, tmp_path: Path
) -> None:
    """EKS / GKE / AKS (kubelogin) style: the user runs an exec plugin, the cluster's CA is
    data. The loader's refresh hook, run before each request, set the CA temp file (deleted
    after the load) on the configuration again, and pods/exec then failed opening it: the
    nvidia-smi fallback never ran for these clusters."""
    plugin = tmp_path / "token-plugin.py"
    plugin.write_text(
        "import json\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1',"
        f" 'kind': 'ExecCredential', 'status': {{'token': {BEARER!r}}}}}))\n"
    )
    with raw_server(forbid_all, tls_context(pki)) as api:
        config = kubeconfig_for_token(f"https://127.0.0.1:{api.port}", ca_pem=pki.ca_pem)
        config["users"][0]["user"] = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": sys.executable,
                "args": [str(plugin)],
                "interactiveMode": "Never",
            }
        }
        client = await KubeClient.open(config, name="eks-like", timeout_s=5)
        try:
            with pytest.raises(KubeForbidden):  # TLS verified with the CA; the hook has run
                await client.get("/version")
            assert client._api.configuration.ssl_ca_cert is None  # never a deleted file
            with pytest.raises(KubeForbidden, match="Handshake status 403"):
                await client.exec_read("gpu-operator", "drv", NVIDIA_SMI)
        finally:
            await client.aclose()
    assert api.seen[1].startswith("GET /api/v1/namespaces/gpu-operator/pods/drv/exec?")
