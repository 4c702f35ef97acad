"""Review 4 fixes: the client pool makes a backend's client again when the cluster's CA bundle
(the one the client trusts) changes, and closes the one it replaces; an API server's error
text is cut to one short printable line before it becomes an error (last_error, every
health-history row); a list is bounded by the bytes of all its pages, not only each page's."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from aiops_desktop.models import Cluster, Endpoint, EndpointKind
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters.connections import ClientPool
from collectors import kubernetes
from collectors.errors import CollectorResponseTooLarge, CollectorServerError
from collectors.http import BackendClient
from collectors.kubernetes import KubeClient
from collectors.prometheus import UPSTREAM_CHARS
from tests.qtfree.test_cluster_input_hostile import MemoryKeyring
from tests.qtfree.test_kube_client_bounds import serving


# -- 1. the pool's clients follow the cluster's CA bundle ---------------------------------------
def ca_pem(name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


OLD_CA, NEW_CA, OWN_CA = ca_pem("old CA"), ca_pem("new CA"), ca_pem("the endpoint's own CA")
KINDS = [EndpointKind.PROMETHEUS, EndpointKind.ALERTMANAGER, EndpointKind.LOKI, EndpointKind.TEMPO]
EDGE = Cluster(
    name="edge-01",
    ca_bundle_pem=OLD_CA,
    endpoints=[Endpoint(kind=k, url=f"https://{k.value.lower()}.edge.example") for k in KINDS],
)


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> list[BackendClient]:
    """The backend clients closed, in order."""
    seen: list[BackendClient] = []
    original = BackendClient.aclose

    async def aclose(self: BackendClient) -> None:
        seen.append(self)
        await original(self)

    monkeypatch.setattr(BackendClient, "aclose", aclose)
    return seen


@pytest_asyncio.fixture
async def pool() -> AsyncIterator[ClientPool]:
    made = ClientPool(SecretStore(MemoryKeyring()))
    yield made
    await made.aclose()


async def backends(pool: ClientPool, cluster: Cluster) -> list[BackendClient]:
    """The HTTP client under each of the cluster's clients (Prometheus, Alertmanager, Loki,
    Tempo, and the plain ones of Loki's and Tempo's readiness probes)."""
    return [
        (await pool.prometheus(cluster)).http,
        (await pool.alertmanager(cluster)).http,
        (await pool.loki(cluster)).http,
        (await pool.tempo(cluster)).http,
        await pool.backend(cluster, EndpointKind.LOKI),
        await pool.backend(cluster, EndpointKind.TEMPO),
    ]


@pytest.mark.asyncio
async def test_a_changed_cluster_ca_makes_the_clients_again(
    pool: ClientPool, closed: list[BackendClient]
) -> None:
    """The signature was the endpoint only: after the cluster's CA bundle changed the pool
    kept the clients made with the old one (a fixed CA fixed nothing until a restart; a CA
    taken out, compromised, was still trusted)."""
    old = await backends(pool, EDGE)
    assert all(b.ca_pem == OLD_CA for b in old)
    assert await backends(pool, EDGE) == old  # nothing changed: kept

    renewed = await backends(pool, EDGE.model_copy(update={"ca_bundle_pem": NEW_CA}))
    assert all(b.ca_pem == NEW_CA for b in renewed)
    assert not any(b in old for b in renewed)

    removed = await backends(pool, EDGE.model_copy(update={"ca_bundle_pem": None}))
    assert all(b.ca_pem is None for b in removed)  # the system store, the old CA no more

    await pool.aclose()
    assert all(b in closed for b in old + renewed + removed)  # replaced ones too: none leaks


@pytest.mark.asyncio
async def test_an_endpoints_own_ca_wins_and_the_cluster_ca_then_changes_nothing(
    pool: ClientPool,
) -> None:
    """The CA the client trusts is in its signature, not every field of the cluster: an
    endpoint with its own CA keeps its client when the cluster's changes."""
    own = Endpoint(
        kind=EndpointKind.PROMETHEUS, url="https://prom.edge.example", ca_bundle_pem=OWN_CA
    )
    cluster = EDGE.model_copy(update={"endpoints": [own]})
    first = await pool.prometheus(cluster)
    assert first.http.ca_pem == OWN_CA
    later = cluster.model_copy(update={"ca_bundle_pem": NEW_CA, "display_name": "Edge 01"})
    assert await pool.prometheus(later) is first


# -- 2. an API server's error text is bounded ----------------------------------------------------
HUGE = "etcdserver: request timed out\n\x1b[2J" + "x" * 60_000


def test_a_status_message_is_cut_to_one_printable_line() -> None:
    client = KubeClient.__new__(KubeClient)
    client.name = "hub-01"
    error = client._status_error(500, "Internal Server Error", {"message": HUGE})
    text = str(error)
    assert "etcdserver: request timed out" in text  # what it said is still said
    assert len(text) <= UPSTREAM_CHARS + 100, len(text)  # was the whole 60 KB
    assert text.isprintable()  # no line break forging a row, no ESC
    long_reason = client._status_error(503, "Unavailable " * 10_000, None)
    assert len(str(long_reason)) <= UPSTREAM_CHARS + 100


@pytest.mark.integration
@pytest.mark.asyncio
async def test_an_api_servers_long_error_is_cut_before_it_is_kept() -> None:
    """Read from a server: its 64 KiB Status went whole into last_error and into each
    health-history row (a hub checked every 15 s: gigabytes a week)."""

    def route(path: str, query: dict[str, str]) -> tuple[int, Any]:
        return 500, {"kind": "Status", "code": 500, "message": HUGE}

    async with serving(route) as (_, client):
        with pytest.raises(CollectorServerError) as raised:
            await client.get("/version")
    assert "request timed out" in str(raised.value)
    assert len(str(raised.value)) <= UPSTREAM_CHARS + 200


# -- 3. a list is bounded by the bytes of all its pages ------------------------------------------
PAGE_ITEMS = 50


def paged(pages: int, padding: int) -> Any:
    """An API server that pages a list: ``pages`` pages of ``PAGE_ITEMS`` items, each item
    holding ``padding`` bytes of annotation."""

    def route(path: str, query: dict[str, str]) -> tuple[int, Any]:
        n = int(query.get("continue", "0"))
        items = [
            {"metadata": {"name": f"p{n}-{i}", "annotations": {"a": "z" * padding}}}
            for i in range(PAGE_ITEMS)
        ]
        meta = {"continue": str(n + 1)} if n + 1 < pages else {"resourceVersion": "9"}
        return 200, {"items": items, "metadata": meta}

    return route


@pytest.fixture
def small_list_budget(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    most = 2**20
    monkeypatch.setattr(kubernetes, "MOST_LIST_BYTES", most)
    yield most


@pytest.mark.integration
@pytest.mark.asyncio
async def test_a_list_larger_in_all_than_its_bound_is_refused(small_list_budget: int) -> None:
    """Each page under the body limit, the list was never bounded in all: a server paging
    64 MiB answers up to the item bound (401 pages) made discovery hold ~25 GiB."""
    big, small = paged(pages=40, padding=8000), paged(pages=3, padding=3000)  # ~400, ~150 KB a page

    def route(path: str, query: dict[str, str]) -> tuple[int, Any]:
        return (big if path == "/api/v1/pods" else small)(path, query)

    async with serving(route) as (api, client):
        with pytest.raises(CollectorResponseTooLarge, match=r"more than 1 MiB in all") as raised:
            await client.list("/api/v1/pods")
        assert len(api.asked) == 3  # refused on the page that passed the bound, not 40 later
        assert "/api/v1/pods" in str(raised.value) and "c1" in str(raised.value)
        # lists within the bound, on the same client, are read whole: what one list read is
        # not counted in the next (three of them read more than the bound together)
        for _ in range(3):
            items, version = await client.list("/api/v1/nodes")
            assert len(items) == 3 * PAGE_ITEMS and version == "9"
