"""A refused credential is not a backend down (review 4): the readiness probes of Prometheus,
Alertmanager, Loki and Tempo raise the auth error on 401/403 (said as a query's refusal is)
and say a redirect as one, instead of "not ready"; an endpoint or API server that answered at
all is reachable (connectivity), whatever it answered, so an expired token is not OFFLINE /
DISCONNECTED; and what a check stores as its error is one short printable line."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from aiops_desktop.models import ClusterState, Connectivity, EndpointKind
from aiops_desktop.models.polling import Source
from aiops_desktop.models.registry import ClusterSecrets, ClusterSpec
from aiops_desktop.services.core import Core
from collectors.alertmanager import AlertmanagerClient
from collectors.errors import CollectorAuthError, CollectorError
from collectors.http import BackendClient, HttpPolicy
from collectors.prometheus import PrometheusClient
from tests.servers import tls
from tests.servers.processes import free_port

API = EndpointKind.API_SERVER
PROM = EndpointKind.PROMETHEUS
AM = EndpointKind.ALERTMANAGER
LOKI = EndpointKind.LOKI
TEMPO = EndpointKind.TEMPO
FAST = HttpPolicy(connect_timeout_s=2, read_timeout_s=5, retries=0)


def _backend(status: int, asked: list[str]) -> BackendClient:
    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        headers = {"Location": "https://sso.example/login"} if 300 <= status < 400 else {}
        return httpx.Response(status, text="Unauthorized\n", headers=headers)

    return BackendClient("http://prom.example:9090", name="east/prometheus", policy=FAST,
                         transport=httpx.MockTransport(answer))  # fmt: skip


# -- the probes ----------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("wrap", [PrometheusClient, AlertmanagerClient])
@pytest.mark.parametrize(
    ("status", "said"),
    [(401, "rejected the credentials (HTTP 401)"), (403, "denied access (HTTP 403)")],
)
async def test_a_probe_refused_its_credential_raises_the_auth_error(
    wrap: type, status: int, said: str
) -> None:
    asked: list[str] = []
    client = wrap(_backend(status, asked))
    try:
        with pytest.raises(CollectorAuthError) as caught:
            await client.ready()
    finally:
        await client.aclose()
    assert caught.value.status == status
    assert said in str(caught.value) and "check the token" in str(caught.value)
    assert "east/prometheus (http://prom.example:9090)" in str(caught.value)
    assert asked == ["/-/ready"]  # not taken for a Prometheus without /-/ready


@pytest.mark.asyncio
@pytest.mark.parametrize("wrap", [PrometheusClient, AlertmanagerClient])
@pytest.mark.parametrize("status", [301, 302, 307])
async def test_a_probe_redirected_says_so(wrap: type, status: int) -> None:
    asked: list[str] = []
    client = wrap(_backend(status, asked))
    try:
        with pytest.raises(CollectorError) as caught:
            await client.ready()
    finally:
        await client.aclose()
    assert not isinstance(caught.value, CollectorAuthError)
    assert caught.value.status == status
    assert f"redirected (HTTP {status}); redirects are not followed" in str(caught.value)


@pytest.mark.asyncio
@pytest.mark.parametrize(("status", "ready"), [(200, True), (503, False), (500, False)])
async def test_a_probe_answered_otherwise_is_ready_or_not(status: int, ready: bool) -> None:
    for wrap in (PrometheusClient, AlertmanagerClient):
        client = wrap(_backend(status, []))
        try:
            assert await client.ready() is ready
        finally:
            await client.aclose()


# -- the health check, end to end -------------------------------------------------------------


@dataclass
class Stub:
    url: str
    server: http.server.ThreadingHTTPServer

    def answer(self, status: int) -> None:
        self.server.status = status  # type: ignore[attr-defined]


class _Answering(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = self.server.status  # type: ignore[attr-defined]
        body = b'{"kind":"Status","code":%d,"message":"Unauthorized"}' % status
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", "https://sso.example/login")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _serve(context: ssl.SSLContext | None) -> Iterator[Stub]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answering)
    server.status = 401  # type: ignore[attr-defined]
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if context is not None else "http"
    try:
        yield Stub(f"{scheme}://127.0.0.1:{server.server_address[1]}", server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def stub() -> Iterator[Stub]:
    """Every endpoint of a cluster on one HTTP server, answering what the test says."""
    yield from _serve(None)


@pytest.fixture
def api_stub(pki: tls.TestPki) -> Iterator[Stub]:
    """An HTTPS API server (the test CA's certificate) answering what the test says."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    yield from _serve(context)


async def _metrics_only(core: Core, stub: Stub) -> None:
    """A fleet hub: no API server, its four endpoints on the stub, each with its token."""
    kinds = (PROM, AM, LOKI, TEMPO)
    await core.registry.add(
        ClusterSpec(name="fleet-hub", endpoint_urls={k: f"{stub.url}/{k.value.lower()}"
                                                     for k in kinds}),
        ClusterSecrets(endpoint_tokens=dict.fromkeys(kinds, "sha256~expired-token-0000")),
    )  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "said"),
    [(401, "rejected the credentials (HTTP 401)"), (403, "denied access (HTTP 403)")],
)
async def test_a_metrics_only_cluster_whose_token_is_refused_is_reachable_and_says_so(
    core: Core, stub: Stub, status: int, said: str
) -> None:
    """Was: OFFLINE, DISCONNECTED, and last_error "prometheus: not ready; alertmanager: not
    ready; ..." for an expired token (the 401 only in the metrics source's status)."""
    stub.answer(status)
    await _metrics_only(core, stub)
    for _ in range(2):
        await core.poller.run_source(core.registry.get("fleet-hub"), Source.HEALTH)
    st = core.registry.get("fleet-hub").status
    assert st.connectivity is Connectivity.CONNECTED
    assert st.state is ClusterState.DEGRADED  # answers, but nothing can be read: not ONLINE
    assert st.health_score == 100 - 20 - 15 - 15
    assert st.endpoint_health == dict.fromkeys((PROM, AM, LOKI, TEMPO), False)
    error = st.last_error or ""
    assert "not ready" not in error
    for kind in ("prometheus", "alertmanager", "loki", "tempo"):
        assert f"fleet-hub/{kind} ({stub.url}/{kind}) {said}" in error, error
    history = await core.registry.health_history("fleet-hub")
    assert history[-1].error == st.last_error


@pytest.mark.asyncio
async def test_a_redirected_probe_is_reachable_and_says_the_redirect(
    core: Core, stub: Stub
) -> None:
    stub.answer(302)
    await _metrics_only(core, stub)
    await core.poller.run_source(core.registry.get("fleet-hub"), Source.HEALTH)
    st = core.registry.get("fleet-hub").status
    assert st.connectivity is Connectivity.CONNECTED and st.state is ClusterState.DEGRADED
    assert "prometheus" in (st.last_error or "")
    assert "redirected (HTTP 302); redirects are not followed" in (st.last_error or "")
    assert "not ready" not in (st.last_error or "")


@pytest.mark.asyncio
async def test_a_not_ready_endpoint_is_not_reachable(core: Core, stub: Stub) -> None:
    """A 503 on /-/ready (review 5): a gateway whose backend is gone answers it too, so it
    says nothing of the endpoint being there: OFFLINE / DISCONNECTED, as before review 4."""
    stub.answer(503)
    await _metrics_only(core, stub)
    await core.poller.run_source(core.registry.get("fleet-hub"), Source.HEALTH)
    st = core.registry.get("fleet-hub").status
    assert st.connectivity is Connectivity.DISCONNECTED and st.state is ClusterState.OFFLINE
    assert "prometheus: not ready" in (st.last_error or "")


@pytest.mark.asyncio
async def test_an_api_server_answering_401_is_reachable_one_refusing_connections_is_not(
    core: Core, api_stub: Stub, pki: tls.TestPki
) -> None:
    """Was: both OFFLINE and DISCONNECTED, told apart only by the error's words."""
    for name, url in (("answers-401", api_stub.url),
                      ("really-down", f"https://127.0.0.1:{free_port()}")):  # fmt: skip
        await core.registry.add(
            ClusterSpec(name=name, api_server_url=url, ca_bundle_pem=pki.ca_pem),
            ClusterSecrets(token="sha256~expiredtoken000000"),
        )
    for cluster in core.registry.clusters():
        for _ in range(2):
            await core.poller.run_source(cluster, Source.HEALTH)
    refused = core.registry.get("answers-401").status
    assert refused.connectivity is Connectivity.CONNECTED
    assert refused.state is ClusterState.DEGRADED and refused.health_score == 50
    assert refused.endpoint_health == {API: False}
    assert "API server answered 401" in (refused.last_error or "")
    assert "refused" in (refused.last_error or "")
    down = core.registry.get("really-down").status
    assert down.connectivity is Connectivity.DISCONNECTED
    assert down.state is ClusterState.OFFLINE and down.health_score == 50
    assert "cannot reach" in (down.last_error or "")


# -- what a check stores ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_checks_error_is_stored_as_one_short_printable_line(core: Core) -> None:
    """A server's error text became last_error and a health record as it came: a 1 MB page
    answered every 15 s grew the 7-day history by gigabytes; line breaks and ESC in it
    reached the terminal of `clusters list`."""
    await core.registry.add(ClusterSpec(name="hub", endpoint_urls={PROM: "http://127.0.0.1:1"}))
    error = "prometheus: " + "\x1b[2J<html>\nline\r\n" * 50_000
    checked = await core.registry.apply_check("hub", {PROM: False}, error)
    said = checked.status.last_error or ""
    assert said.startswith("prometheus: [2J<html> line")
    assert len(said) <= 500 and said.endswith("…")
    assert not any(c in said for c in "\x1b\n\r")
    (record,) = await core.registry.health_history("hub")
    assert record.error == said
    short = await core.registry.apply_check("hub", {PROM: False}, "prometheus: not ready")
    assert short.status.last_error == "prometheus: not ready"


# -- review 5: a gateway's 5xx is no answer; every endpoint keeps its reason -----------------


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_an_api_server_behind_a_gateway_answering_5xx_is_offline(
    core: Core, api_stub: Stub, pki: tls.TestPki, status: int
) -> None:
    """Was: CONNECTED / DEGRADED (any HTTP answer counted as reachable): a Rancher or OCM
    cluster-proxy, or a load balancer, whose cluster is gone answers 502/503/504, and the
    outage was recorded as DEGRADED in the health history and reports."""
    api_stub.answer(status)
    await core.registry.add(
        ClusterSpec(name="east", api_server_url=api_stub.url, ca_bundle_pem=pki.ca_pem),
        ClusterSecrets(token="sha256~validtoken000000000"),
    )
    for _ in range(2):
        await core.poller.run_source(core.registry.get("east"), Source.HEALTH)
    st = core.registry.get("east").status
    assert st.connectivity is Connectivity.DISCONNECTED and st.state is ClusterState.OFFLINE
    assert f"answered {status}" in (st.last_error or "")
    history = await core.registry.health_history("east")
    assert [r.state for r in history] == [ClusterState.OFFLINE] * 2


@pytest.mark.asyncio
async def test_an_api_server_answering_another_4xx_is_still_reachable(
    core: Core, api_stub: Stub, pki: tls.TestPki
) -> None:
    api_stub.answer(404)
    await core.registry.add(
        ClusterSpec(name="east", api_server_url=api_stub.url, ca_bundle_pem=pki.ca_pem),
        ClusterSecrets(token="sha256~validtoken000000000"),
    )
    await core.poller.run_source(core.registry.get("east"), Source.HEALTH)
    st = core.registry.get("east").status
    assert st.connectivity is Connectivity.CONNECTED and st.state is ClusterState.DEGRADED


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [502, 504])
async def test_a_metrics_only_hub_behind_a_gateway_answering_5xx_is_offline(
    core: Core, stub: Stub, status: int
) -> None:
    stub.answer(status)
    await _metrics_only(core, stub)
    await core.poller.run_source(core.registry.get("fleet-hub"), Source.HEALTH)
    st = core.registry.get("fleet-hub").status
    assert st.connectivity is Connectivity.DISCONNECTED and st.state is ClusterState.OFFLINE


@pytest.mark.asyncio
async def test_a_long_first_reason_does_not_cut_off_the_other_endpoints(core: Core) -> None:
    """Was: the joined reasons cut to 500 characters as one: the API server's 401 advice
    (~330 characters) came first and Prometheus's reason, last, was cut off entirely."""
    kinds = (API, AM, LOKI, TEMPO, PROM)
    urls = {k: f"https://127.0.0.1:1/{k.value.lower()}" for k in kinds[1:]}
    await core.registry.add(
        ClusterSpec(name="ran-east-01", api_server_url="https://127.0.0.1:1", endpoint_urls=urls)
    )
    errors = [f"ran-east-01: API server answered 401: {'advice ' * 50}"] + [
        f"ran-east-01/{k.value.lower()} (https://prometheus-k8s.apps.example.com:9091) is "
        f"unreachable: {'[Errno 111] Connect call failed ' * 3}"
        for k in kinds[1:]
    ]
    checked = await core.registry.apply_check("ran-east-01", dict.fromkeys(kinds, False), errors)
    said = checked.status.last_error or ""
    assert len(said) <= 500
    for kind in ("API server", "alertmanager", "loki", "tempo", "prometheus"):
        assert kind in said, said
    (record,) = await core.registry.health_history("ran-east-01")
    assert record.error == said
    one = await core.registry.apply_check("ran-east-01", {API: False}, ["api: " + "x" * 900])
    assert (one.status.last_error or "").startswith("api: xxx")
    assert len(one.status.last_error or "") == 500


@pytest.mark.asyncio
async def test_a_health_check_keeps_every_endpoints_reason(
    core: Core, api_stub: Stub, pki: tls.TestPki
) -> None:
    """The poller hands the reasons one by one: the API server's long 401 advice does not
    crowd out the dead Prometheus after it."""
    dead = free_port()
    await core.registry.add(
        ClusterSpec(name="ran-east-01", api_server_url=api_stub.url, ca_bundle_pem=pki.ca_pem,
                    endpoint_urls={k: f"https://127.0.0.1:{dead}/{k.value.lower()}"
                                   for k in (AM, LOKI, TEMPO, PROM)}),
        ClusterSecrets(token="sha256~expiredtoken000000"),
    )  # fmt: skip
    await core.poller.run_source(core.registry.get("ran-east-01"), Source.HEALTH)
    said = core.registry.get("ran-east-01").status.last_error or ""
    assert len(said) <= 500
    assert "API server answered 401" in said and "ran-east-01/prometheus" in said, said
