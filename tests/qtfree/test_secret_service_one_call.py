"""The Secret Service is asked one call at a time from this process: gnome-keyring asked by
several threads at once answers now and then that a stored token does not exist (an endpoint
then said "bearer auth without a token"), and may go on failing. A token the keyring does not
give is said as such, and no client is kept without it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

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
from collectors.errors import CollectorAuthError, KubeConfigInvalid
from tests.memory_keyring import MemoryKeyring

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
            f"keyring-gone/prometheus: its token is not in the keyring (service 'aiops-desktop', "
            f"entry '{KEY}'): put it back there, or remove the cluster and add it again with "
            "its credential"
        )
        backend.set_password("aiops-desktop", KEY, "sha256~S2V5cmluZ0JhY2s9xR4")
        client = await pool.prometheus(CLUSTER)  # was: the token-less client, kept
        assert client.http.auth.token == "sha256~S2V5cmluZ0JhY2s9xR4"
    finally:
        await pool.aclose()


def test_a_call_kept_waiting_by_an_unanswered_prompt_is_told_not_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Was: every keyring call of the process waited for good behind one whose prompt nobody
    answered (a delete the keyring asked to confirm)."""
    from aiops_desktop import secrets as secrets_module

    monkeypatch.setattr(secrets_module, "KEYRING_BUSY_S", 0.2)
    store = SecretStore(CountingSecretService())
    ref = CredentialRef(kind=CredentialKind.BEARER_TOKEN, key=next(iter(TOKENS)))
    with (
        secrets_module._SECRET_SERVICE_CALLS,  # the call before, on its prompt
        pytest.raises(secrets_module.SecretsError, match="keyring is busy"),
    ):
        store.get(ref)
    assert store.get(ref) == TOKENS[ref.key]  # its turn, once the one before ended


class GatedKeyring(MemoryKeyring):
    """Every read waits until the gate opens (a keyring waiting on its unlock prompt)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.waiting = 0
        self.most_waiting = 0
        self._count = threading.Lock()

    def get_password(self, service: str, username: str) -> str | None:
        with self._count:
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
        self.gate.wait(10)
        with self._count:
            self.waiting -= 1
        return super().get_password(service, username)


def _gated_cluster(n: int) -> Cluster:
    key = f"cluster/gated-{n}/prometheus"
    return Cluster(name=f"gated-{n}", endpoints=[Endpoint(
        kind=EndpointKind.PROMETHEUS, url=f"https://prom.gated-{n}.example",
        auth=AuthMethod.BEARER, credential=CredentialRef(kind=CredentialKind.BEARER_TOKEN, key=key),
    )])  # fmt: skip


@pytest.mark.asyncio
async def test_credential_reads_waiting_on_a_prompt_take_few_threads() -> None:
    """Was: each endpoint's read took a thread of the default executor (two clusters' five
    endpoints took qasync's ten), and nothing else could run in a thread until the prompt
    was answered."""
    import asyncio

    from aiops_desktop.services.clusters.connections import KEYRING_THREADS

    backend = GatedKeyring()
    for n in range(8):
        backend.set_password("aiops-desktop", f"cluster/gated-{n}/prometheus", f"sha256~G{n}xq7Zk")
    pool = ClientPool(SecretStore(backend))
    try:
        asked = [asyncio.create_task(pool.prometheus(_gated_cluster(n))) for n in range(8)]
        await asyncio.sleep(0.3)
        assert backend.most_waiting <= KEYRING_THREADS  # was 8
        assert await asyncio.wait_for(asyncio.to_thread(lambda: "free"), 2) == "free"
        backend.gate.set()
        clients = await asyncio.wait_for(asyncio.gather(*asked), 10)
        assert [c.http.auth.token for c in clients] == [f"sha256~G{n}xq7Zk" for n in range(8)]
    finally:
        backend.gate.set()
        await pool.aclose()


def test_an_api_server_token_the_keyring_does_not_give_is_said() -> None:
    """Was: a kubeconfig with no credential, its client's requests anonymous, kept until the
    cluster changed (only a 401 reloads it)."""
    from aiops_desktop.services.kube.validation import kubeconfig_for

    key = "cluster/api-gone/api"
    cluster = Cluster(
        name="api-gone", api_server_url="https://api.api-gone.example:6443",
        credential=CredentialRef(kind=CredentialKind.BEARER_TOKEN, key=key),
    )  # fmt: skip
    backend = MemoryKeyring()
    with pytest.raises(KubeConfigInvalid, match="api-gone: its API server token is not in the"):
        kubeconfig_for(cluster, SecretStore(backend))
    backend.set_password("aiops-desktop", key, "sha256~QXBpQmFjaw9xT5")
    config = kubeconfig_for(cluster, SecretStore(backend))
    assert "sha256~QXBpQmFjaw9xT5" in str(config)


def test_a_reread_of_a_token_gone_from_the_keyring_is_refused_as_the_first_read() -> None:
    """The refusal is in the read itself, so a 401's re-read (``reauth``) says it too: it
    gave a client without a token ("bearer auth without a token")."""
    from aiops_desktop.services.clusters.connections import resolve_auth

    backend = MemoryKeyring()
    backend.set_password("aiops-desktop", KEY, "sha256~UmVyZWFkMQ9xR7")
    endpoint = CLUSTER.endpoints[0]
    store = SecretStore(backend)
    assert resolve_auth(endpoint, store).token == "sha256~UmVyZWFkMQ9xR7"
    backend.delete_password("aiops-desktop", KEY)
    with pytest.raises(CollectorAuthError, match=r"^keyring-gone/prometheus: its token is not"):
        resolve_auth(endpoint, store, whose="keyring-gone/prometheus: its token")
