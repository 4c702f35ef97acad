"""Clients for a cluster's endpoints, built once and reused: one httpx client per backend.

Credentials come from the keyring (in a worker thread) at first use; the pool forgets a
cluster's clients when its definition changes, and closes everything on shutdown.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit
from uuid import UUID

from aiops_desktop.models import (
    AuthMethod,
    Cluster,
    CredentialKind,
    CredentialRef,
    Endpoint,
    EndpointKind,
    EndpointSource,
)
from aiops_desktop.models.errors import AppError, UsageError
from aiops_desktop.secrets import SecretStore, not_as_stored, not_in_keyring
from aiops_desktop.services.clusters.kubeconfig import bearer_token
from aiops_desktop.settings import HttpPolicy
from collectors.auth import NO_CREDENTIAL, EndpointAuth, ExtraCA, is_loopback, replace_advice
from collectors.errors import CollectorAuthError
from collectors.kubernetes import KubeClient

if TYPE_CHECKING:  # the clients load httpx: imported where a client is made
    from collectors.alertmanager import AlertmanagerClient
    from collectors.http import BackendClient
    from collectors.loki import LokiClient
    from collectors.prometheus import PrometheusClient
    from collectors.tempo import TempoClient


#: how an endpoint of a cluster whose kubeconfig context has no static token (an exec
#: plugin, an identity provider, a client certificate) gets a token: ``clusters add`` is the
#: command that gives an endpoint one
OWN_CREDENTIAL_ADVICE = (
    "give the endpoint a token of its own: remove the cluster and add it again with "
    "`aiops-desktop clusters add NAME --kubeconfig FILE --context CONTEXT --prometheus-url URL "
    "--prometheus-token-file FILE` (--alertmanager-, --loki-, --tempo- likewise)"
)


def no_static_token(ref: CredentialRef) -> str:
    """Why an endpoint cannot be given the kubeconfig context ``ref``'s credential, whose
    keyring entry has no static token (an exec plugin, an identity provider, a client
    certificate), and what to do: said when it is given one and at each request."""
    return (
        f"the kubeconfig context {ref.context!r} has no static token to send to an endpoint; "
        f"{OWN_CREDENTIAL_ADVICE}"
    )


def credential_may_travel(url: str) -> bool:
    """A credential is sent over TLS, or to this machine itself (a port-forward): never in
    clear across a network."""
    parts = urlsplit(url)
    return parts.scheme == "https" or is_loopback(parts.hostname or "")


_T = TypeVar("_T")
#: threads the pool's credential reads wait in (the Secret Service answers one at a time)
KEYRING_THREADS = 2
_Key = tuple[UUID, EndpointKind, str]  # cluster, endpoint, role (a plain backend, Loki, ...)


class EndpointNotConfigured(UsageError, LookupError):
    """The cluster has no such endpoint, or nothing may connect (a capture)."""


def stored_json(
    secrets: SecretStore, ref: CredentialRef, whose: str,
    unusable: type[AppError] = CollectorAuthError,
) -> dict[str, Any] | None:  # fmt: skip
    """Blocking (keyring). The JSON the app stored in ``ref``'s entry (None: the entry is
    gone), or ``unusable`` saying the entry holds something else (a bare token pasted over
    it: every poll said "Expecting value: line 1 column 1 (char 0)") and how to replace it;
    never what it holds (the JSON error is not chained: it keeps the text)."""
    try:
        return secrets.get_json(ref)
    except ValueError:
        raise unusable(not_as_stored(whose, ref, replace_advice(ref))) from None


def _auth_from_secret(ref: CredentialRef, secrets: SecretStore, whose: str) -> EndpointAuth:
    if ref.kind is CredentialKind.BEARER_TOKEN:
        token = secrets.get(ref)
        if not token:  # refused here, so no client is made (or kept) without it
            raise CollectorAuthError(not_in_keyring(whose, ref))
        return EndpointAuth(AuthMethod.BEARER, token=token, credential=ref)
    payload = stored_json(secrets, ref, whose)
    if payload is None:  # the entry is gone: refused as a token's is (not sent empty)
        raise CollectorAuthError(not_in_keyring(whose, ref))
    if ref.kind is CredentialKind.KUBECONFIG_CONTEXT:
        if (token := bearer_token(payload)) is None:
            raise CollectorAuthError(no_static_token(ref))
        return EndpointAuth(AuthMethod.BEARER, token=token, credential=ref)
    if ref.kind is CredentialKind.BASIC_AUTH:
        return EndpointAuth(
            AuthMethod.BASIC, username=payload.get("username"),
            password=payload.get("password"), credential=ref,
        )  # fmt: skip
    return EndpointAuth(
        AuthMethod.MTLS,
        client_cert_pem=payload.get("cert"),
        client_key_pem=payload.get("client_key"),
        credential=ref,
    )


def reads_keyring(endpoint: Endpoint) -> bool:
    """Whether the endpoint's auth is read from the keyring (else it has none to read)."""
    return endpoint.auth is not AuthMethod.NONE and endpoint.credential is not None


def resolve_auth(
    endpoint: Endpoint, secrets: SecretStore, *, whose: str = "the endpoint's token"
) -> EndpointAuth:
    """Blocking (keyring): call from a worker thread. ``whose``: how a bearer token the
    keyring does not give is named where it is refused (a client kept without it failed
    every request until the endpoint changed, though the keyring held it again)."""
    ref = endpoint.credential
    if ref is None or not reads_keyring(endpoint):
        return EndpointAuth()
    return _auth_from_secret(ref, secrets, whose)


class ClientPool:
    """One client per cluster and endpoint. ``offline``: why no client may be made (a capture
    opened on an air-gapped workstation): every request for one says so instead."""

    def __init__(
        self, secrets: SecretStore, policy: HttpPolicy | None = None, *, offline: str | None = None
    ) -> None:
        self._secrets = secrets
        self._policy = policy or HttpPolicy()
        self.offline = offline
        self._retired: list[tuple[float, Any]] = []  # (when, client) replaced, closing soon
        self._clients: dict[_Key, tuple[str, Any]] = {}
        #: one lock per client: it is made once, and the slow work of making it (a keyring
        #: waiting on its unlock prompt, an exec plugin) stalls no other cluster's clients.
        #: Kept until the pool closes (a lock replaced while waited on would let a second
        #: maker in): a few small objects per cluster ever used.
        self._making: dict[_Key, asyncio.Lock] = {}
        #: bumped when a cluster is forgotten: a client of it made meanwhile is not kept
        self._forgotten: dict[UUID, int] = {}
        #: credential reads under way, by what they read (see ``_read_shared``)
        self._reading: dict[tuple[Any, ...], asyncio.Future[Any]] = {}
        #: the threads the reads wait in: their own few, so a keyring waiting on its unlock
        #: prompt holds at most these, never the default executor's (every endpoint's read
        #: took one of those: two clusters' took qasync's ten, and nothing else ran in a
        #: thread, not the cache's reads, until the prompt was answered)
        self._keyring_threads = ThreadPoolExecutor(
            max_workers=KEYRING_THREADS, thread_name_prefix="aiops-credentials"
        )
        self._closed = False

    async def _read_shared(self, what: tuple[Any, ...], read: Callable[[], _T]) -> _T:
        """``read`` (blocking: the keyring) in a worker thread, one at a time per ``what``:
        a caller that gives up (its query's time, a cancelled Refresh) leaves its read to
        the next caller, which waits for that one instead of starting another. A thread
        cannot be stopped, so each timed-out caller left one more waiting on a keyring's
        unlock prompt, until the default executor's few threads were all taken and nothing
        else went to a thread (TLS contexts, the cache's reads). Futures, not tasks:
        nothing is left to close with the pool."""
        loop = asyncio.get_running_loop()
        key = (id(loop), *what)
        pending = self._reading.get(key)
        if pending is None:
            pending = loop.run_in_executor(self._keyring_threads, read)
            self._reading[key] = pending

            def done(future: asyncio.Future[Any]) -> None:
                if self._reading.get(key) is future:
                    del self._reading[key]
                if not future.cancelled():
                    future.exception()  # said to whoever awaits; never "never retrieved"

            pending.add_done_callback(done)
        result: _T = await asyncio.shield(pending)
        return result

    def _refuse_offline(self, cluster: Cluster) -> None:
        if self.offline:
            raise EndpointNotConfigured(f"{cluster.name}: {self.offline}")

    def _refuse_closed(self, cluster: Cluster) -> None:
        if self._closed:
            raise EndpointNotConfigured(f"{cluster.name}: the connections are closed")

    async def _cached(
        self,
        cluster: Cluster,
        key: _Key,
        signature: str | None,
        make: Callable[[], Awaitable[tuple[str, Any]]],
    ) -> Any:
        """The client kept under ``key`` while its ``signature`` (what it is made of: the
        endpoint as configured, the CA it trusts) holds, else one ``make`` makes (and the one
        it replaces retired). Only this key's lock is held while it is made."""
        self._refuse_closed(cluster)
        cached = self._clients.get(key)
        if cached is not None and cached[0] == signature:
            return cached[1]
        async with self._making.setdefault(key, asyncio.Lock()):
            self._refuse_closed(cluster)
            cached = self._clients.get(key)
            if cached is not None and cached[0] == signature:
                return cached[1]  # made while this one waited
            if cached is not None:  # the endpoint (or its CA) changed: a new client from now on
                del self._clients[key]
                await self._retire(cached[1])
            generation = self._forgotten.get(cluster.id, 0)
            made_signature, client = await make()
            if self._closed:  # the pool closed while it was made: nothing may keep it
                await client.aclose()
                raise EndpointNotConfigured(f"{cluster.name}: the connections are closed")
            if self._forgotten.get(cluster.id, 0) != generation:
                await self._retire(client)  # forgotten meanwhile: serves this call only
            else:
                self._clients[key] = (made_signature, client)
            return client

    async def _backend(
        self, cluster: Cluster, kind: EndpointKind, *, url: str | None = None
    ) -> tuple[str, BackendClient]:
        """``url``: where requests go when not the endpoint's own URL (a gateway's root)."""
        self._refuse_offline(cluster)
        endpoint = cluster.endpoint(kind)
        if endpoint is None:
            raise EndpointNotConfigured(f"{cluster.name} has no {kind.value.lower()} endpoint")
        if endpoint.auth is not AuthMethod.NONE and not credential_may_travel(endpoint.url):
            raise EndpointNotConfigured(
                f"{cluster.name}: its {kind.value.lower()} endpoint {endpoint.url} is plain http: "
                "its credential is not sent in clear; give the endpoint's https URL"
            )
        credential = ("auth", endpoint.auth, endpoint.model_dump_json(include={"credential"}))
        shared = endpoint.credential is not None and endpoint.credential == cluster.credential
        noun = "token" if endpoint.auth is AuthMethod.BEARER else "credential"
        whose = f"{cluster.name}/{kind.value.lower()}: " + (
            f"the cluster's {noun}" if shared else f"its {noun}"
        )

        def read() -> EndpointAuth:
            return resolve_auth(endpoint, self._secrets, whose=whose)

        if reads_keyring(endpoint):
            auth = await self._read_shared(credential, read)
        else:  # nothing to read: no thread to wait for
            auth = EndpointAuth()
        signature = backend_signature(cluster, endpoint)

        async def reauth() -> EndpointAuth:  # the keyring holds the credential of now
            return await self._read_shared(credential, read)

        from collectors.http import BackendClient

        backend = BackendClient(
            url or endpoint.url,
            name=f"{cluster.name}/{kind.value.lower()}",
            auth=auth,
            verify=endpoint.tls_verify,
            ca_pem=trusted_ca(cluster, endpoint),
            policy=self._policy,
            reauth=reauth,
            text_backend=kind in (EndpointKind.LOKI, EndpointKind.TEMPO),
        )
        return signature, backend

    async def _get(
        self,
        cluster: Cluster,
        kind: EndpointKind,
        wrap: Callable[[BackendClient], Any],
        *,
        role: str = "",
        url: str | None = None,
    ) -> Any:
        """The cached client of ``role`` (a plain backend, a Loki client, ...) on the endpoint
        of ``kind``, made anew when the endpoint changed."""
        endpoint = cluster.endpoint(kind)

        async def make() -> tuple[str, Any]:
            signature, backend = await self._backend(cluster, kind, url=url)
            return signature, wrap(backend)

        signature = backend_signature(cluster, endpoint) if endpoint is not None else None
        return await self._cached(cluster, (cluster.id, kind, role), signature, make)

    async def prometheus(self, cluster: Cluster) -> PrometheusClient:
        from collectors.prometheus import PrometheusClient

        client: PrometheusClient = await self._get(
            cluster, EndpointKind.PROMETHEUS, PrometheusClient
        )
        return client

    async def alertmanager(self, cluster: Cluster) -> AlertmanagerClient:
        from collectors.alertmanager import AlertmanagerClient

        client: AlertmanagerClient = await self._get(
            cluster, EndpointKind.ALERTMANAGER, AlertmanagerClient
        )
        return client

    async def backend(self, cluster: Cluster, kind: EndpointKind) -> BackendClient:
        """The plain HTTP client of an endpoint (Loki, Tempo: readiness probes), with the
        endpoint's auth, CA and limits like every other."""
        client: BackendClient = await self._get(cluster, kind, lambda backend: backend)
        return client

    async def loki(self, cluster: Cluster) -> LokiClient:
        """The cluster's Loki: a LokiStack gateway (discovered, or typed with its tenant:
        ``https://gw/api/logs/v1/application``) asks per tenant; any other URL is Loki's own."""
        from collectors.loki import LokiClient, LokiPaths, gateway_root

        endpoint = cluster.endpoint(EndpointKind.LOKI)
        url, paths = gateway_root(endpoint.url) if endpoint else ("", None)
        if paths is None and endpoint is not None and endpoint.source is EndpointSource.DISCOVERED:
            paths = LokiPaths(gateway=True)  # discovery finds LokiStack gateways only
        client: LokiClient = await self._get(
            cluster, EndpointKind.LOKI, lambda b: LokiClient(b, cluster.name, paths),
            role="loki", url=url or None,
        )  # fmt: skip
        return client

    async def tempo(self, cluster: Cluster) -> TempoClient:
        """The cluster's Tempo (a TempoStack gateway's URL names its tenant:
        ``https://gw/api/traces/v1/<tenant>``)."""
        from collectors.tempo import TempoClient

        client: TempoClient = await self._get(
            cluster, EndpointKind.TEMPO, lambda b: TempoClient(b, cluster.name), role="tempo"
        )
        return client

    async def kube(self, cluster: Cluster) -> KubeClient:
        """The cluster's Kubernetes API client (kubeconfig from the keyring, in a thread)."""
        self._refuse_offline(cluster)
        key = (cluster.id, EndpointKind.API_SERVER, "")
        signature = kube_signature(cluster)

        async def make() -> tuple[str, KubeClient]:
            from aiops_desktop.services.kube.validation import kubeconfig_for, refreshed_into

            def read() -> dict[str, Any]:
                return kubeconfig_for(cluster, self._secrets)

            kubeconfig = await self._read_shared(("kubeconfig", cluster.id, signature), read)

            async def reload() -> dict[str, Any]:  # the keyring holds the credential of now
                return await self._read_shared(("kubeconfig", cluster.id, signature), read)

            # a cluster added by URL alone has no credential: a 401 says to give it one
            ref = cluster.credential
            client = await KubeClient.open(
                kubeconfig, name=cluster.name, reload=reload,
                store_refreshed=refreshed_into(cluster, self._secrets),
                credential=NO_CREDENTIAL if ref is None else ref,
            )  # fmt: skip
            return signature, client

        client: KubeClient = await self._cached(cluster, key, signature, make)
        return client

    async def forget(self, cluster_id: UUID) -> None:
        """Drop a cluster's clients (retired: requests under way may end); one being made
        now is not kept either. Waits for no credential."""
        self._forgotten[cluster_id] = self._forgotten.get(cluster_id, 0) + 1
        gone = [self._clients.pop(k)[1] for k in [k for k in self._clients if k[0] == cluster_id]]
        for client in gone:
            await self._retire(client)

    async def _retire(self, client: Any) -> None:
        """A replaced client may still carry requests begun before the change: it is closed
        once they have had time to end (the read timeout), or when the pool closes."""
        if self._closed:  # nothing would close it later
            await client.aclose()
            return
        now = time.monotonic()
        self._retired.append((now, client))
        grace = self._policy.connect_timeout_s + self._policy.read_timeout_s + 5
        while self._retired and now - self._retired[0][0] > grace:
            await self._retired.pop(0)[1].aclose()

    async def aclose(self) -> None:
        """Close every client, and refuse to make more; one being made now is closed once
        made. Waits for no credential."""
        self._closed = True
        clients = [client for _, client in self._clients.values()]
        clients += [client for _, client in self._retired]
        self._clients.clear()
        self._retired.clear()
        self._making.clear()
        self._reading.clear()  # a read under way ends in its thread; nobody takes it
        self._keyring_threads.shutdown(wait=False, cancel_futures=True)
        for client in clients:
            await client.aclose()


def trusted_ca(cluster: Cluster, endpoint: Endpoint) -> str | None:
    """The CA bundle an endpoint's client trusts: its own, alone; else its cluster's, beside
    the system's CAs. The cluster's is its API server's (a kubeconfig's, ``--ca-file``):
    trusted alone, it failed every route the system vouches for on a cluster with a private
    API CA, and neither the CLI nor the UI gives an endpoint a CA of its own."""
    if endpoint.ca_bundle_pem:
        return endpoint.ca_bundle_pem
    return ExtraCA(cluster.ca_bundle_pem) if cluster.ca_bundle_pem else None


def backend_signature(cluster: Cluster, endpoint: Endpoint) -> str:
    """What an endpoint's client is made of: the endpoint (its URL, auth, credential and TLS
    check), and the CA it trusts and how (its own alone, or its cluster's beside the
    system's: the same CA either way is another client). The cluster's CA is in it (the
    endpoint alone kept a client trusting a CA the cluster no longer names, compromised or
    replaced, until a restart)."""
    ca = trusted_ca(cluster, endpoint)
    return json.dumps([endpoint.model_dump_json(), ca, isinstance(ca, ExtraCA)])


def kube_signature(cluster: Cluster) -> str:
    """What a cluster's Kubernetes API client is made of (its URL, credential, CA and TLS
    check): changed, the client is made again, and the poller's health check restarted."""
    return cluster.model_dump_json(
        include={"api_server_url", "credential", "ca_bundle_pem", "tls_verify"}
    )
