"""The client pool makes each cluster's clients apart: one slow credential (a keyring waiting
on its unlock prompt, a hung exec plugin) stalls only the clients that need it. Each client is
still made once, and every client made is closed (forgotten, or with the pool)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import keyring.backend
import pytest
import pytest_asyncio

from aiops_desktop.models import (
    AuthMethod,
    Cluster,
    CredentialKind,
    CredentialRef,
    Endpoint,
    EndpointKind,
)
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters.connections import ClientPool, EndpointNotConfigured
from collectors.http import BackendClient

SERVICE = "aiops-desktop"
SLOW_KEY = "cluster/slow/api"


class GatedKeyring(keyring.backend.KeyringBackend):
    """An in-memory keyring whose slow entry is read only once the gate opens."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.reads = 0
        self.store = {(SERVICE, SLOW_KEY): "tok-abcdef"}

    def get_password(self, service: str, username: str) -> str | None:
        self.reads += 1
        if username == SLOW_KEY:
            self.entered.set()
            self.gate.wait(10)
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


SLOW = Cluster(name="slow-1", endpoints=[Endpoint(
    kind=EndpointKind.PROMETHEUS, url="https://prom.slow.example", auth=AuthMethod.BEARER,
    credential=CredentialRef(kind=CredentialKind.BEARER_TOKEN, key=SLOW_KEY),
)])  # fmt: skip
FAST = Cluster(name="fast-1", endpoints=[
    Endpoint(kind=EndpointKind.PROMETHEUS, url="https://prom.fast.example"),
])  # fmt: skip


@pytest.fixture
def keyring_() -> Iterator[GatedKeyring]:
    gated = GatedKeyring()
    yield gated
    gated.gate.set()  # no worker thread is left waiting


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
async def pool(keyring_: GatedKeyring) -> AsyncIterator[ClientPool]:
    made = ClientPool(SecretStore(keyring_))
    yield made
    keyring_.gate.set()
    await made.aclose()


async def entered(keyring_: GatedKeyring) -> None:
    """Until the slow read is under way (in its worker thread)."""
    await asyncio.wait_for(asyncio.to_thread(keyring_.entered.wait, 5), 6)
    assert keyring_.entered.is_set()


async def finish(task: asyncio.Task[Any]) -> Any:
    return await asyncio.wait_for(task, 5)


@pytest.mark.asyncio
async def test_a_slow_credential_stalls_no_other_clusters_client(
    pool: ClientPool, keyring_: GatedKeyring
) -> None:
    slow = asyncio.create_task(pool.prometheus(SLOW))
    await entered(keyring_)
    async with asyncio.timeout(1):  # was: until the slow credential came (the whole pool)
        fast = await pool.prometheus(FAST)
    assert await pool.prometheus(FAST) is fast
    assert not slow.done()
    keyring_.gate.set()
    client = await finish(slow)
    assert await pool.prometheus(SLOW) is client


@pytest.mark.asyncio
async def test_a_client_asked_for_at_once_is_made_once(
    pool: ClientPool, keyring_: GatedKeyring
) -> None:
    waiting = [asyncio.create_task(pool.prometheus(SLOW)) for _ in range(5)]
    await entered(keyring_)
    keyring_.gate.set()
    made = await asyncio.wait_for(asyncio.gather(*waiting), 5)
    assert all(client is made[0] for client in made)
    assert keyring_.reads == 1


@pytest.mark.asyncio
async def test_a_client_made_while_its_cluster_is_forgotten_is_not_kept(
    pool: ClientPool, keyring_: GatedKeyring, closed: list[BackendClient]
) -> None:
    fast = await pool.prometheus(FAST)
    slow = asyncio.create_task(pool.prometheus(SLOW))
    await entered(keyring_)
    async with asyncio.timeout(1):  # forgetting waits for no credential
        await pool.forget(SLOW.id)
    keyring_.gate.set()
    stale = await finish(slow)
    assert await pool.prometheus(SLOW) is not stale  # made again: the old one was not kept
    assert await pool.prometheus(FAST) is fast
    await pool.aclose()
    assert stale.http in closed  # closed with the pool, like every client it made


@pytest.mark.asyncio
async def test_a_client_made_while_the_pool_closes_is_closed(
    pool: ClientPool, keyring_: GatedKeyring, closed: list[BackendClient]
) -> None:
    fast = await pool.prometheus(FAST)
    slow = asyncio.create_task(pool.prometheus(SLOW))
    await entered(keyring_)
    async with asyncio.timeout(1):  # closing waits for no credential
        await pool.aclose()
    assert fast.http in closed
    keyring_.gate.set()
    with pytest.raises(EndpointNotConfigured, match="closed"):
        await finish(slow)
    assert len(closed) == 2  # the one being made too, once it was
    with pytest.raises(EndpointNotConfigured, match="closed"):
        await pool.prometheus(FAST)


@pytest.mark.asyncio
async def test_callers_that_give_up_leave_one_keyring_read_waiting(
    pool: ClientPool, keyring_: GatedKeyring
) -> None:
    """Was: each caller that gave up (a query's time) left its own worker thread waiting on
    the keyring, until the default executor's threads were all taken."""
    for _ in range(3):
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await pool.prometheus(SLOW)
    assert keyring_.reads == 1  # was 3
    waiting = asyncio.create_task(pool.prometheus(SLOW))
    await asyncio.sleep(0.05)
    keyring_.gate.set()
    client = await finish(waiting)  # the read under way is the one it takes
    assert keyring_.reads == 1
    assert client.http.auth.token == "tok-abcdef"
    assert await pool.prometheus(SLOW) is client
