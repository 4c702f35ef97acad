"""Review 4 of the client pool: a query that gave up on a keyring waiting on its unlock prompt
left its worker thread waiting there, and the next query started another: after min(32, CPUs +
4) of them no worker was left for any ``asyncio.to_thread`` of the app (a settings save, an LLM
request). A client is now made by one task per key, which a caller that gives up leaves running
and the next caller waits on."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading

import pytest

from aiops_desktop.models import AuthMethod, CredentialKind, CredentialRef, EndpointKind
from aiops_desktop.models.cluster import Cluster, Endpoint
from aiops_desktop.secrets import SecretsError, SecretStore
from aiops_desktop.services.clusters.connections import ClientPool, EndpointNotConfigured

TOKEN = "glc_9f8e7d6c5b4a39281706"
WEST = Cluster(name="west-2", endpoints=[Endpoint(
    kind=EndpointKind.PROMETHEUS, url="https://west-2.invalid:9090", auth=AuthMethod.BEARER,
    credential=CredentialRef(kind=CredentialKind.BEARER_TOKEN, key="cluster/west-2/prometheus"),
)])  # fmt: skip


class LockedKeyring(SecretStore):
    """A keyring whose unlock prompt is answered only once ``unlocked`` is set; each read
    counted, and ``failures`` reads refused (the prompt dismissed) before any is answered."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__()
        self.unlocked = threading.Event()
        self.failures = failures
        self.reads = 0
        self._count = threading.Lock()

    def get(self, ref: CredentialRef) -> str | None:
        with self._count:
            self.reads += 1
        self.unlocked.wait(10)
        with self._count:
            if self.failures:
                self.failures -= 1
                raise SecretsError("the credential was not read: the prompt was dismissed")
        return TOKEN


async def gives_up(pool: ClientPool) -> None:
    """A query's timeout while the client waits on the keyring."""
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await pool.prometheus(WEST)


async def until_made(pool: ClientPool) -> None:
    """Until no client is being made (its task ended and was let go)."""
    async with asyncio.timeout(5):
        while pool._making:
            await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_queries_that_give_up_on_the_keyring_leave_one_read_waiting_not_one_each() -> None:
    keyring = LockedKeyring()
    pool = ClientPool(keyring)
    try:
        for _ in range(5):
            await gives_up(pool)
        assert keyring.reads == 1  # was 5: a worker thread each, until none was left
        keyring.unlocked.set()
        async with asyncio.timeout(5):
            client = await pool.prometheus(WEST)  # the read left running made it
        assert keyring.reads == 1
        assert await pool.prometheus(WEST) is client
    finally:
        keyring.unlocked.set()
        await pool.aclose()


@pytest.mark.asyncio
async def test_a_failed_read_is_tried_again_by_the_next_caller() -> None:
    keyring = LockedKeyring(failures=1)
    pool = ClientPool(keyring)
    try:
        await gives_up(pool)
        keyring.unlocked.set()
        await until_made(pool)  # failed, with no caller left to be told
        async with asyncio.timeout(5):
            client = await pool.prometheus(WEST)
        assert keyring.reads == 2
        assert await pool.prometheus(WEST) is client
        keyring.failures = 1
        await pool.forget(WEST.id)
        with pytest.raises(SecretsError, match="dismissed"):  # said to the caller waiting
            await pool.prometheus(WEST)
        assert await pool.prometheus(WEST) is not client  # and not kept as the answer
    finally:
        keyring.unlocked.set()
        await pool.aclose()


def test_a_read_left_running_ends_quietly_when_the_pool_and_its_loop_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing said at shutdown: no task destroyed pending, no exception never retrieved."""
    keyring = LockedKeyring(failures=1)

    async def gave_up_then_failed() -> None:  # the read fails with no caller left
        pool = ClientPool(keyring)
        await gives_up(pool)
        keyring.unlocked.set()
        await until_made(pool)
        await pool.aclose()

    async def gave_up_then_closed() -> None:  # the loop ends while the read still waits
        pool = ClientPool(keyring)
        await gives_up(pool)
        await pool.aclose()
        with pytest.raises(EndpointNotConfigured, match="closed"):
            await pool.prometheus(WEST)

    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        asyncio.run(gave_up_then_failed())
        keyring.unlocked.clear()
        try:
            asyncio.run(gave_up_then_closed())
        finally:
            keyring.unlocked.set()
        gc.collect()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
