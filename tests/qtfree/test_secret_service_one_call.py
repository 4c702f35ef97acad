"""The Secret Service is asked one call at a time from this process: gnome-keyring asked by
several threads at once answers now and then that a stored token does not exist (an endpoint
then said "bearer auth without a token"), and may go on failing. A token the keyring does not
give is said as such, and no client is kept without it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import keyring.backend
import pytest
from keyring.backends import SecretService

from aiops_desktop.models import (
    AuthMethod,
    Cluster,
    CredentialKind,
    CredentialRef,
    Endpoint,
    EndpointKind,
)
from aiops_desktop.secrets import SecretStore
from aiops_desktop.services.clusters.connections import ClientPool
from collectors.errors import CollectorAuthError

TOKENS = {f"cluster/one-call-{i}/prometheus": f"sha256~Qm9uZUNhbGw{i}xZ8kT2vR" for i in range(4)}


class CountingSecretService(SecretService.Keyring):
    """The Secret Service backend, its reads counted as they overlap (none reaches D-Bus)."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = 0
        self.most = 0
        self._count = threading.Lock()

    def get_password(self, service: str, username: str) -> str | None:
        with self._count:
            self.inside += 1
            self.most = max(self.most, self.inside)
        time.sleep(0.02)
        with self._count:
            self.inside -= 1
        return TOKENS.get(username)


def test_the_secret_service_is_asked_one_call_at_a_time() -> None:
    backend = CountingSecretService()
    store = SecretStore(backend)
    refs = [CredentialRef(kind=CredentialKind.BEARER_TOKEN, key=key) for key in TOKENS] * 3
    with ThreadPoolExecutor(4) as workers:
        read = list(workers.map(store.get, refs))
    assert read == [TOKENS[ref.key] for ref in refs]
    assert backend.most == 1  # was 4


@pytest.mark.integration
def test_the_real_secret_service_read_by_four_threads_gives_every_token(secret_service) -> None:  # type: ignore[no-untyped-def]
    store = SecretStore(secret_service.backend())
    refs = [CredentialRef(kind=CredentialKind.BEARER_TOKEN, key=key) for key in TOKENS]
    for ref in refs:
        store.put(ref, TOKENS[ref.key])
    try:
        with ThreadPoolExecutor(4) as workers:
            read = Counter(
                "ok" if value == TOKENS[ref.key] else repr(value)
                for ref, value in zip(refs * 100, workers.map(store.get, refs * 100), strict=True)
            )
        assert read == {"ok": 400}
    finally:
        for ref in refs:
            store.delete(ref)


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


KEY = "cluster/keyring-gone/prometheus"
CLUSTER = Cluster(name="keyring-gone", endpoints=[Endpoint(
    kind=EndpointKind.PROMETHEUS, url="https://prom.keyring-gone.example", auth=AuthMethod.BEARER,
    credential=CredentialRef(kind=CredentialKind.BEARER_TOKEN, key=KEY),
)])  # fmt: skip


@pytest.mark.asyncio
async def test_a_token_the_keyring_does_not_give_is_said_and_no_client_is_kept() -> None:
    backend = MemoryKeyring()
    pool = ClientPool(SecretStore(backend))
    try:
        with pytest.raises(CollectorAuthError) as refused:
            await pool.prometheus(CLUSTER)
        assert str(refused.value) == (
            f"keyring-gone/prometheus: its token is not in the keyring (entry {KEY}); "
            "give the endpoint its token again"
        )
        backend.set_password("aiops-desktop", KEY, "sha256~S2V5cmluZ0JhY2s9xR4")
        client = await pool.prometheus(CLUSTER)  # was: the token-less client, kept
        assert client.http.auth.token == "sha256~S2V5cmluZ0JhY2s9xR4"
    finally:
        await pool.aclose()
