"""The Prometheus and Alertmanager clients against real servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest
import pytest_asyncio

from aiops_desktop.models import AlertSeverity, AlertState, AuthMethod
from collectors.alertmanager import AlertmanagerClient
from collectors.errors import (
    CollectorAuthError,
    CollectorBadResponse,
    CollectorError,
    CollectorInvalidQuery,
    CollectorResponseTooLarge,
    CollectorServerError,
    CollectorTimeout,
    CollectorTLSError,
    CollectorUnreachable,
)
from collectors.http import BackendClient, EndpointAuth, HttpPolicy
from collectors.prometheus import PrometheusClient
from tests.servers.fixtures import COUNT, FRONT_TOKEN, STEP_S, Dataset
from tests.servers.processes import SilentServer, free_port

pytestmark = pytest.mark.integration
FAST = HttpPolicy(connect_timeout_s=2, read_timeout_s=5, retries=1, backoff_base_s=0.01)


def prom(url: str, **kw) -> PrometheusClient:  # type: ignore[no-untyped-def]
    return PrometheusClient(
        BackendClient(url, name="prometheus", policy=kw.pop("policy", FAST), **kw)
    )


@pytest_asyncio.fixture
async def client(prometheus) -> AsyncIterator[PrometheusClient]:  # type: ignore[no-untyped-def]
    c = prom(prometheus.url)
    yield c
    await c.aclose()


@pytest.mark.asyncio
async def test_instant_and_range_queries_return_the_backfilled_data(
    client: PrometheusClient, dataset: Dataset
) -> None:
    result = await client.query('node_load1{cluster="east-1"}', at=dataset.end_s)
    assert result.result_type == "vector"
    got = {s.labels["instance"]: s.values[0] for s in result.series}
    assert got == {
        "east-1-node-0:9100": Dataset.load("east-1", 0, COUNT - 1),
        "east-1-node-1:9100": Dataset.load("east-1", 1, COUNT - 1),
    }
    rng = await client.query_range(
        'node_load1{cluster="west-2",instance="west-2-node-1:9100"}',
        dataset.start_s,
        dataset.end_s,
        STEP_S,
    )
    (series,) = rng.series
    assert series.timestamps.size == COUNT
    expected = [Dataset.load("west-2", 1, i) for i in range(COUNT)]
    assert np.allclose(series.values, expected)
    model = series.to_metric_series("west-2")
    assert model.metric == "node_load1" and len(model.samples) == COUNT
    scalar = await client.query("scalar(sum(up))", at=dataset.end_s)
    assert scalar.result_type == "scalar" and scalar.series[0].values[0] == 6


@pytest.mark.asyncio
async def test_metadata_endpoints(client: PrometheusClient) -> None:
    assert {"cluster", "instance", "job", "__name__"} <= set(await client.labels())
    assert await client.label_values("cluster") == ["east-1", "edge-7", "west-2"]
    series = await client.series(['up{cluster="edge-7"}'])
    assert len(series) == 2 and all(s["job"] == "node" for s in series)
    assert (await client.buildinfo())["version"].startswith("2.")
    assert isinstance(await client.metadata(), dict)
    assert await client.ready() is True


@pytest.mark.asyncio
async def test_invalid_promql_carries_prometheus_own_error(client: PrometheusClient) -> None:
    with pytest.raises(CollectorInvalidQuery) as info:
        await client.query("sum(rate(node_load1[5m])")
    assert "parse error" in info.value.upstream
    assert "refused the query" in str(info.value)


@pytest.mark.asyncio
async def test_bearer_token_front(nginx_front) -> None:  # type: ignore[no-untyped-def]
    good = prom(nginx_front.bearer_url, auth=EndpointAuth(AuthMethod.BEARER, token=FRONT_TOKEN))
    bad = prom(
        nginx_front.bearer_url, auth=EndpointAuth(AuthMethod.BEARER, token="wrong-token-123")
    )
    try:
        assert (await good.query("vector(1)")).series[0].values[0] == 1
        with pytest.raises(CollectorAuthError, match="HTTP 401"):
            await bad.query("vector(1)")
    finally:
        await good.aclose()
        await bad.aclose()
    assert "wrong-token-123" not in repr(bad.http.auth)


@pytest.mark.asyncio
async def test_tls_verified_by_default_and_custom_ca(nginx_front, pki) -> None:  # type: ignore[no-untyped-def]
    auth = EndpointAuth(AuthMethod.BEARER, token=FRONT_TOKEN)
    untrusted = prom(nginx_front.tls_url, auth=auth)
    trusted = prom(nginx_front.tls_url, auth=auth, ca_pem=pki.ca_pem)
    mtls = prom(
        nginx_front.mtls_url,
        ca_pem=pki.ca_pem,
        auth=EndpointAuth(
            AuthMethod.MTLS,
            client_cert_pem=pki.client_cert.read_text(),
            client_key_pem=pki.client_key.read_text(),
        ),
    )
    no_cert = prom(nginx_front.mtls_url, ca_pem=pki.ca_pem)
    try:
        with pytest.raises(CollectorTLSError, match="not trusted"):
            await untrusted.query("vector(1)")
        assert (await trusted.query("vector(2)")).series[0].values[0] == 2
        assert (await mtls.query("vector(3)")).series[0].values[0] == 3
        with pytest.raises(CollectorError, match=r"HTTP 400: .*No required SSL certificate"):
            await no_cert.query("vector(4)")
    finally:
        for c in (untrusted, trusted, mtls, no_cert):
            await c.aclose()


@pytest.mark.asyncio
async def test_faults_give_the_right_errors(nginx_front, prometheus, dataset: Dataset) -> None:  # type: ignore[no-untyped-def]
    silent = SilentServer()
    clients = {
        "500": prom(nginx_front.fault_url("error500")),
        "malformed": prom(nginx_front.fault_url("malformed")),
        "huge": prom(prometheus.url, policy=HttpPolicy(retries=0, max_response_bytes=500_000)),
        "silent": prom(
            silent.url, policy=HttpPolicy(connect_timeout_s=1, read_timeout_s=0.5, retries=0)
        ),
        "closed": prom(
            f"http://127.0.0.1:{free_port()}", policy=HttpPolicy(retries=1, backoff_base_s=0.01)
        ),
    }
    try:
        with pytest.raises(CollectorServerError, match="HTTP 500"):
            await clients["500"].query("up")
        with pytest.raises(CollectorBadResponse, match="malformed JSON"):
            await clients["malformed"].query("up")
        with pytest.raises(CollectorResponseTooLarge, match="500,000-byte limit"):
            # every series at a 1 s step: about 860 KB of real Prometheus JSON
            await clients["huge"].query_range("{__name__=~'.+'}", dataset.start_s, dataset.end_s, 1)
        with pytest.raises(CollectorTimeout, match="did not answer in time"):
            await clients["silent"].query("up")
        with pytest.raises(CollectorUnreachable, match="unreachable"):
            await clients["closed"].query("up")
    finally:
        for c in clients.values():
            await c.aclose()
        silent.stop()


@pytest.mark.asyncio
async def test_alertmanager_alerts(alertmanager) -> None:  # type: ignore[no-untyped-def]
    alertmanager.post_alerts(
        [
            {
                "labels": {
                    "alertname": "NodeDown",
                    "severity": "critical",
                    "cluster": "east-1",
                    "namespace": "infra",
                },
                "annotations": {"summary": "node gone"},
            },
            {"labels": {"alertname": "HighLoad", "severity": "warning", "namespace": "apps"}},
        ]
    )
    client = AlertmanagerClient(BackendClient(alertmanager.url, name="alertmanager", policy=FAST))
    try:
        assert await client.ready()
        alerts = {a.name: a for a in await client.alerts("fallback-cluster")}
        assert alerts["NodeDown"].severity is AlertSeverity.CRITICAL
        assert alerts["NodeDown"].cluster == "east-1" and alerts["NodeDown"].summary == "node gone"
        assert alerts["HighLoad"].cluster == "fallback-cluster"  # no cluster label: the endpoint's
        assert all(a.state is AlertState.FIRING for a in alerts.values())
        assert alerts["NodeDown"].namespace == "infra"
        groups = await client.alert_groups()
        assert groups and "alerts" in groups[0]
        assert await client.silences() == []
    finally:
        await client.aclose()


@pytest.mark.asyncio
async def test_prometheus_own_tls_and_basic_auth(
    prometheus_tls_basic, pki, dataset: Dataset
) -> None:  # type: ignore[no-untyped-def]
    from tests.servers.fixtures import WEB_PASSWORD, WEB_USER

    url = prometheus_tls_basic.url.replace("http://", "https://")
    good = prom(
        url,
        ca_pem=pki.ca_pem,
        auth=EndpointAuth(AuthMethod.BASIC, username=WEB_USER, password=WEB_PASSWORD),
    )
    wrong = prom(
        url,
        ca_pem=pki.ca_pem,
        auth=EndpointAuth(AuthMethod.BASIC, username=WEB_USER, password="nope"),
    )
    plain = prom(url)  # the system CA store does not know the test CA
    try:
        assert await good.ready() is True
        result = await good.query('node_load1{instance="west-2-node-0:9100"}', at=dataset.end_s)
        assert result.series[0].values[0] == Dataset.load("west-2", 0, COUNT - 1)
        with pytest.raises(CollectorAuthError, match="HTTP 401"):
            await wrong.query("up")
        with pytest.raises(CollectorTLSError):
            await plain.query("up")
    finally:
        for c in (good, wrong, plain):
            await c.aclose()
    assert WEB_PASSWORD not in repr(good.http.auth)
