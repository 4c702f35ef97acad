"""The Kubernetes API, read-only and off the event loop, through one chokepoint.

Built on the official ``kubernetes`` client from a kubeconfig (token, client certificate, exec
plugin, OIDC auth provider, CA and ``proxy-url`` all handled as kubectl would). Every call runs
in a worker thread; the caller sees the project's own errors, never urllib3 or ApiException.

Read-only by construction: ``get`` / ``list`` / ``watch`` issue GETs only, and the one POST
(``review``) is allowed only to the self-review APIs, which create nothing in the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import functools
import json
import logging
import re
import threading
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    MutableSequence,
    Sequence,
)
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any, TypeVar

from aiops_desktop.models import CredentialRef
from aiops_desktop.models.text import cut_line
from collectors import json_pieces
from collectors.auth import NONE_CONFIGURED, NoCredential, refused_advice
from collectors.deadline import Deadline, register
from collectors.errors import (
    CollectorAuthError,
    CollectorBadResponse,
    CollectorError,
    CollectorRateLimited,
    CollectorResponseTooLarge,
    CollectorServerError,
    CollectorTimeout,
    CollectorTLSError,
    CollectorUnreachable,
    ExecExited,
    KubeConfigInvalid,
    KubeForbidden,
    KubeGone,
    KubeNotFound,
    ReadOnlyViolation,
    headers_too_large,
    root_cause,
)
from collectors.kube_config import (
    CLIENT_PAIR,
    load_api_client,
)

log = logging.getLogger("aiops.collectors.kubernetes")

T = TypeVar("T")

TIMEOUT_S = 10.0  # connect, and each read
DEADLINE_S = 30.0  # one whole request, at the least (3 x TIMEOUT_S where that is more)
ENDS_WITHIN_S = 5.0  # a request past its deadline: its thread has ended by then
#: the threads one client's blocking reads run in: its own, so that an API server that answers
#: slowly (each read may take up to its deadline) never takes the threads of other clusters or
#: of the rest of the app (the cache's reads, the keyring: asyncio's default executor is small)
KUBE_THREADS = 8


def _in_worker(workers: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    return asyncio.get_running_loop().run_in_executor(workers, functools.partial(fn, *args))


#: the most loading a kubeconfig may take where the caller gives no deadline: an exec plugin
#: (kubelogin waiting for a browser login or an MFA prompt) or an OIDC refresh may never answer
LOAD_WITHIN_S = 30.0
#: kubeconfigs load in threads of their own, at most this many at once: a plugin that never
#: answers holds one of them for good (a thread cannot be stopped from Python), never one of
#: asyncio's default executor (the keyring's reads, the cache's)
LOAD_THREADS = 4
LOAD_THREAD_PREFIX = "kube-load"


class _Loaders:
    """At most ``LOAD_THREADS`` daemon threads, each started when work waits and ended when
    none does: one stuck in a plugin holds neither the app's exit (a ThreadPoolExecutor's
    threads are joined at exit) nor idle threads while nothing loads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._work: list[tuple[Future[Any], Callable[[], Any]]] = []
        self._threads = 0

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            self._work.append((future, fn))
            if self._threads < self._size:
                self._threads += 1
                thread = threading.Thread(
                    target=self._serve, name=f"{LOAD_THREAD_PREFIX}-{self._threads}", daemon=True
                )
                thread.start()
        return future

    def _serve(self) -> None:
        while True:
            with self._lock:
                if not self._work:
                    self._threads -= 1
                    return
                future, fn = self._work.pop(0)
            if not future.set_running_or_notify_cancel():  # its caller gave up meanwhile
                continue
            try:
                result = fn()
            except BaseException as exc:  # handed to the caller, as an executor would
                future.set_exception(exc)
            else:
                future.set_result(result)


_loaders = _Loaders(LOAD_THREADS)


async def load_client(
    kubeconfig: Mapping[str, Any],
    name: str,
    *,
    within_s: float = LOAD_WITHIN_S,
    store_refreshed: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[Any, float | None]:
    """``load_api_client`` in a loader thread, within ``within_s``: past it the caller has
    ``CollectorTimeout``, and the plugin is ended then too (its client, if one came just
    before, is closed). ``store_refreshed``: as ``load_api_client``'s (blocking, called in the
    loader thread or a request's)."""
    load = functools.partial(
        load_api_client, kubeconfig, name, plugin_within_s=within_s,
        store_refreshed=store_refreshed,
    )  # fmt: skip
    done = _loaders.submit(load)
    try:
        async with asyncio.timeout(within_s):  # not wait_for: it can lose a cancel
            return await asyncio.wrap_future(done)
    except TimeoutError:
        if done.cancel():  # never started: every loader thread waits on a plugin
            raise CollectorTimeout(
                f"{name}: the kubeconfig was not loaded within {within_s:.0f} s: "
                f"{LOAD_THREADS} other credential plugins have not answered yet",
                backend=name,
            ) from None
        done.add_done_callback(_close_unused)
        raise CollectorTimeout(
            f"{name}: {_credential_helper(kubeconfig)} did not answer within {within_s:.0f} s "
            "(it may wait for a login in a browser or a terminal: log in with it outside the "
            "app first)",
            backend=name,
        ) from None
    except asyncio.CancelledError:
        if not done.cancel():
            done.add_done_callback(_close_unused)
        raise


def _close_unused(done: Future[Any]) -> None:
    """A client loaded after its caller stopped waiting: closed, never used."""
    if not done.cancelled() and done.exception() is None:
        with contextlib.suppress(Exception):
            done.result()[0].close()


def _credential_helper(kubeconfig: Mapping[str, Any]) -> str:
    """What runs while a kubeconfig loads, in words: its context's exec plugin or identity
    provider."""
    users = [u.get("user") for u in kubeconfig.get("users") or [] if isinstance(u, Mapping)]
    if any(isinstance(u, Mapping) and u.get("exec") for u in users):
        return "the credential plugin"
    if any(isinstance(u, Mapping) and u.get("auth-provider") for u in users):
        return "the identity provider"
    return "loading the kubeconfig"


MAX_BODY_BYTES = 64 * 1024 * 1024
REVIEW_PATHS = frozenset(
    {
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    }
)
EXEC_ALLOWED = frozenset({"nvidia-smi"})  # read-only diagnostics the app may run in a pod
WATCH_TIMEOUT_S = 290  # the server closes a watch after this; we reopen from the last version
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
#: a watch the server ends within this, with no event and no bookmark, failed (client-go's
#: reflector: "very short watch"): a proxy that cannot stream ends each one at once, empty
SHORT_WATCH_S = 1.0
ERRORS_KEPT = 50  # a watch's last errors kept for the diagnostics
LIST_PAGE = 500  # items a list request asks for (kubectl asks 500)
MOST_LISTED = 200_000  # items a list reads at most (the scale benchmark's cluster: 20,000 pods)
#: the most bytes a list reads in all its pages: each page is bounded (MAX_BODY_BYTES) and so
#: are the items (MOST_LISTED), but a server paging 64 MiB answers may send 401 of them first
#: (~25 GiB held, by discovery that runs on registration). 512 MiB holds the scale target's
#: 20,000 pods at 25 KiB each (managedFields, CNI network-status annotations), twice what a
#: cluster of that size lists, without holding more than a desktop can spare
MOST_LIST_BYTES = 512 * 2**20
#: the bytes the list this task reads has read so far: ``_list_pages`` sets it, and ``get``
#: (the one read of each of its pages) adds each answer's size to it
_LIST_BYTES: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "list_bytes", default=None
)
#: the longest watch event line kept: etcd stores an object of at most ~1.5 MiB, its JSON with
#: the event around it a little more; a longer line is skipped (and said), never kept whole
MOST_EVENT_BYTES = 8 * 2**20
#: the most of an exec's output (stdout and stderr, characters) kept: nvidia-smi prints a few
#: hundred a GPU; past it the exec is ended and said to have printed too much, never parsed
MOST_EXEC_OUTPUT = 2**20


# -- label selectors (kmock and some proxies ignore them: filter again here) -------------------
def matches_labels(labels: Mapping[str, str], selector: str | None) -> bool:
    """Equality-based selectors (``a=b,c!=d,e``, ``!f``), as the API server applies them."""
    if not selector:
        return True
    for term in (t.strip() for t in selector.split(",")):
        if not term:
            continue
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term not in labels:
            return False
    return True


class _ContinueExpired(KubeGone):
    """410 for a list's next page: its continue token expired."""


@dataclass
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK | RELISTED
    object: dict[str, Any]


@dataclass
class WatchState:
    """What a watch knows between reconnects (for the UI's diagnostics and the tests)."""

    resource_version: str | None = None
    relists: int = 0
    reconnects: int = 0
    errors: list[str] = field(default_factory=list)  # the last ERRORS_KEPT, oldest first
    skipped: int = 0  # events that were not Kubernetes' (not JSON, too deep, wrong shapes)
    #: the watch failed (``failure`` says how) and has shown no sign of life since: a list,
    #: an event, a bookmark, or a watch the server ended without an error after SHORT_WATCH_S
    #: (an event skipped as malformed is noted, but the watch that delivered it runs on: not
    #: a failure)
    failing: bool = False
    failure: str = ""

    def note(self, error: str) -> None:
        """Keep an error for the diagnostics, the last ``ERRORS_KEPT`` only: a watch runs
        for days on a wall and its errors must not grow without bound."""
        self.errors.append(error)
        del self.errors[:-ERRORS_KEPT]

    def failed(self, error: str) -> None:
        """The watch (or opening its client) failed: not live until it shows life again."""
        self.note(error)
        self.failing, self.failure = True, error

    def alive(self) -> None:
        self.failing = False


class KubeClient:
    """One cluster's API server. ``await KubeClient.open(kubeconfig, name=...)``."""

    def __init__(
        self,
        api_client: Any,
        *,
        name: str,
        timeout_s: float = TIMEOUT_S,
        expires_at: float | None = None,
        reload: Callable[[], Awaitable[Mapping[str, Any]]] | None = None,
        deadline_s: float | None = None,
        load_within_s: float = LOAD_WITHIN_S,
        store_refreshed: Callable[[dict[str, Any]], None] | None = None,
        credential: CredentialRef | NoCredential | None = None,
    ) -> None:
        """``reload``: reads the kubeconfig again (the keyring holds the current credential;
        an exec plugin runs again): a 401 asks it once per call, and the call is tried once
        more with it. ``store_refreshed``: keeps the kubeconfig an auth provider's refresh
        changed (``load_api_client``), at each load and refresh of this client.
        ``credential``: the keyring entry the kubeconfig was made from (a refusal says how
        to replace it: importing a kubeconfig again only where it is a context's), or
        ``NO_CREDENTIAL`` where the cluster has none (a refusal says to give it one)."""
        self._api = api_client
        self.name = name
        self.timeout_s = timeout_s
        self.server: str = api_client.configuration.host
        #: when the credential in use expires (exec plugin / OIDC / JWT / client cert), epoch s
        self.expires_at = expires_at
        self._reload = reload
        self._deadline_s = deadline_s
        self._load_within_s = load_within_s
        self._store_refreshed = store_refreshed
        self._none_configured = isinstance(credential, NoCredential)
        self._credential = None if isinstance(credential, NoCredential) else credential
        #: the API client replaced by the last reload (calls may still be on it): closed at
        #: the next reload, or at aclose
        self._retired: list[Any] = []
        self._workers = ThreadPoolExecutor(KUBE_THREADS, thread_name_prefix=f"kube-{name}")

    @classmethod
    async def open(
        cls,
        kubeconfig: Mapping[str, Any],
        *,
        name: str,
        timeout_s: float = TIMEOUT_S,
        reload: Callable[[], Awaitable[Mapping[str, Any]]] | None = None,
        deadline_s: float | None = None,
        load_within_s: float = LOAD_WITHIN_S,
        store_refreshed: Callable[[dict[str, Any]], None] | None = None,
        credential: CredentialRef | NoCredential | None = None,
    ) -> KubeClient:
        """Load the kubeconfig in a loader thread (an exec plugin or OIDC refresh may run),
        within ``load_within_s`` (``CollectorTimeout`` past it; so is loading it again after a
        401). ``timeout_s`` bounds the connect and each read, ``deadline_s`` a whole request
        (by default 3 x ``timeout_s``, at least 30 s)."""
        api, expires = await load_client(
            kubeconfig, name, within_s=load_within_s, store_refreshed=store_refreshed
        )
        return cls(
            api, name=name, timeout_s=timeout_s, expires_at=expires, reload=reload,
            deadline_s=deadline_s, load_within_s=load_within_s, store_refreshed=store_refreshed,
            credential=credential,
        )  # fmt: skip

    # -- the chokepoint ----------------------------------------------------------------------
    @property
    def deadline_s(self) -> float:
        """The most one request may take, whole (connect, headers, body)."""
        return self._deadline_s or max(DEADLINE_S, 3 * self.timeout_s)

    async def _run(
        self,
        fn: Callable[[], T],
        *,
        deadline_s: float | None = None,
        on_expire: Callable[[], None] | None = None,
    ) -> T:
        """``fn`` in a worker thread, within ``deadline_s`` (``deadline_s`` by default): past
        it, or when the caller gives up, the request's sockets are shut down (and
        ``on_expire`` runs) so the thread ends at once."""
        try:
            return await self._bounded(fn, deadline_s, on_expire)
        except CollectorAuthError as exc:
            if exc.status == 401 and self._none_configured:  # nothing to read again
                raise CollectorAuthError(
                    f"{exc} (the API server {NONE_CONFIGURED})", backend=self.name, status=401
                ) from exc
            if exc.status != 401 or self._reload is None:
                raise
            await self._load_again(exc)
        try:
            return await self._bounded(fn, deadline_s, on_expire)
        except CollectorAuthError as exc:
            if exc.status != 401:
                raise
            pair = getattr(self._api.configuration, CLIENT_PAIR, None)
            advice = refused_advice(self.expires_at, credential=self._credential,
                                    what="client certificate" if pair else "token")  # fmt: skip
            raise CollectorAuthError(
                f"{exc}; the credential read again from the keyring was refused too: {advice}",
                backend=self.name,
                status=401,
            ) from exc

    async def _bounded(
        self,
        fn: Callable[[], T],
        deadline_s: float | None,
        on_expire: Callable[[], None] | None,
    ) -> T:
        """The deadline counts from when a worker thread starts ``fn``, not from when it was
        queued: many calls at once (an exec into every GPU node, discovery's lists beside a
        watch) wait for one of ``KUBE_THREADS`` threads, and that wait is not the server's.
        A call whose caller gave up while it waited is never sent."""
        limit = deadline_s or self.deadline_s
        deadline = Deadline()
        loop = asyncio.get_running_loop()
        started: asyncio.Future[None] = loop.create_future()
        lock = threading.Lock()
        begun, gave_up = False, False

        def mark_started() -> None:
            if not started.done():
                started.set_result(None)

        def work() -> T:
            nonlocal begun
            with lock:
                if gave_up:  # the caller stopped waiting while this call was queued
                    raise CollectorTimeout(f"{self.name}: not sent, its caller gave up")
                begun = True
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(mark_started)
            with deadline:
                return self._translate(fn)

        future = _in_worker(self._workers, work)

        async def end_it() -> None:
            nonlocal gave_up
            with lock:
                gave_up, running = True, begun
            if not running:  # still queued: it will not be sent; nothing to wait for
                future.cancel()
                return
            deadline.expire()
            if on_expire is not None:
                on_expire()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(future), ENDS_WITHIN_S)

        try:
            # queued for a thread: as long as the threads ahead take (each bounded by its own
            # deadline); the caller may give up meanwhile
            await asyncio.wait((started, future), return_when=asyncio.FIRST_COMPLETED)
            # asyncio.timeout, not wait_for: Python 3.11's wait_for loses a cancel that comes
            # as the answer (or its error) does, and the caller's loop would run on
            async with asyncio.timeout(limit):
                return await asyncio.shield(future)
        except TimeoutError:
            await end_it()
            raise CollectorTimeout(
                f"{self.name}: {self.server} did not finish answering within {limit:.0f} s",
                backend=self.name,
            ) from None
        except asyncio.CancelledError:
            await end_it()
            raise

    async def _load_again(self, rejected: CollectorAuthError) -> None:
        """After a 401: the kubeconfig as the keyring holds it now, loaded again (an exec
        plugin or OIDC refresh runs again); calls in flight finish on the old client."""
        assert self._reload is not None
        try:
            kubeconfig = await self._reload()
            api, expires = await load_client(
                kubeconfig, self.name, within_s=self._load_within_s,
                store_refreshed=self._store_refreshed,
            )  # fmt: skip
        except KubeConfigInvalid as exc:
            raise CollectorAuthError(
                f"{rejected}; the credential could not be read again: {exc}",
                backend=self.name,
                status=401,
            ) from exc
        self._retire(self._api)
        self._api, self.expires_at = api, expires
        log.info("kubeconfig loaded again after a 401", extra={"backend": self.name})

    def _retire(self, replaced: Any) -> None:
        """Keep the client a reload replaced, and close the one replaced before it: each was
        kept until aclose, which a pooled client never reaches (a credential refused on every
        call left a client and its sockets open per call, until the process ran out of file
        descriptors). Quick (nothing is sent): here, not in a worker thread, which may all
        be busy."""
        for older in self._retired:
            _close_api(older)
        self._retired = [replaced]

    def _translate(self, fn: Callable[[], T]) -> T:
        from kubernetes.client.exceptions import ApiException
        from urllib3 import exceptions as u3

        # retries are off, so urllib3 raises the error itself (never MaxRetryError), and the
        # client wraps a TLS failure in an ApiException without a status
        try:
            return fn()
        except ApiException as exc:
            if not exc.status:  # the client's own wrapping of a TLS failure
                raise CollectorTLSError(
                    f"{self.name}: TLS verification failed for {self.server}: "
                    f"{(exc.reason or '').splitlines()[-1][:200]}",
                    backend=self.name,
                ) from exc
            raise self._status_error(exc.status, exc.reason, exc.body) from exc
        except u3.NewConnectionError as exc:  # (a ConnectTimeoutError subclass in urllib3 2)
            raise CollectorUnreachable(
                f"{self.name}: cannot reach {self.server}: {root_cause(exc)}", backend=self.name
            ) from exc
        except (u3.ConnectTimeoutError, u3.ReadTimeoutError, TimeoutError) as exc:
            raise CollectorTimeout(
                f"{self.name}: {self.server} did not answer within {self.timeout_s:.0f} s",
                backend=self.name,
            ) from exc
        except (HTTPException, u3.ProtocolError) as exc:
            cause = root_cause(exc)
            if "header" in cause.lower() or "line" in cause.lower():  # http.client's limits
                raise headers_too_large(f"{self.name}: {self.server}", cause, self.name) from exc
            raise CollectorUnreachable(
                f"{self.name}: cannot reach {self.server}: {cause}", backend=self.name
            ) from exc
        except (u3.HTTPError, OSError) as exc:
            raise CollectorUnreachable(
                f"{self.name}: cannot reach {self.server}: {root_cause(exc)}", backend=self.name
            ) from exc
        except ValueError as exc:
            # a header http.client will not send (a token of two lines, or not Latin-1): its
            # words quote the header, credential and all, so they are neither repeated nor
            # chained
            if not (isinstance(exc, UnicodeEncodeError) or str(exc).startswith("Invalid header")):
                raise
            raise KubeConfigInvalid(
                f"{self.name}: the request to {self.server} was not sent: a request header, the "
                "credential most likely, holds characters HTTP does not allow; store it again",
                backend=self.name,
            ) from None

    def _status_error(self, status: object, reason: object, body: Any) -> CollectorError:
        """The error for an answer's status. ``status`` may come from the server's JSON (a watch
        ERROR event's Status ``code``): one that is not an int (``"410"``, ``true``) is a bad
        answer, never compared as a number (a TypeError there ended the events watch).
        The server's words are cut as the HTTP collectors cut theirs, to one printable line:
        they become the cluster's last error and every health-history row (a 64 KiB Status
        kept whole each check filled gigabytes of history in a week)."""
        from collectors.prometheus import UPSTREAM_CHARS  # loads numpy: when first needed

        message = cut_line(str(_status_message(body) or reason or "error"), UPSTREAM_CHARS)
        if status is not None and (not isinstance(status, int) or isinstance(status, bool)):
            return CollectorBadResponse(
                f"{self.name}: API server answered an error whose status code is not a number "
                f"({str(status)[:20]!r}): {message}",
                backend=self.name,
            )
        what = f"{self.name}: API server answered {status}: {message}"
        kind: type[CollectorError]
        if status == 401:
            kind = CollectorAuthError
        elif status == 403:
            kind = KubeForbidden
        elif status == 404:
            kind = KubeNotFound
        elif status == 410:
            kind = KubeGone
        elif status == 429:
            kind = CollectorRateLimited
        elif status is not None and status >= 500:
            kind = CollectorServerError
        else:
            kind = CollectorError
        return kind(what, backend=self.name, status=status)

    def _request(
        self, method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None
    ) -> Any:
        return self._request_sized(method, path, query, body)[0]

    def _request_sized(
        self, method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None
    ) -> tuple[Any, int]:
        """The answer's JSON, and its size in bytes."""
        response = self._open(method, path, query, body, read_timeout=self.timeout_s)
        raw = b""
        try:
            raw = response.read(MAX_BODY_BYTES + 1)
        finally:
            if len(raw) > MAX_BODY_BYTES or not response.isclosed():
                _close(response)  # a half-read answer: its connection is not reused
            else:
                response.release_conn()
        if len(raw) > MAX_BODY_BYTES:
            raise CollectorResponseTooLarge(
                f"{self.name}: {path} answered more than {MAX_BODY_BYTES // 2**20} MiB",
                backend=self.name,
            )
        try:
            return json_pieces.loads(raw), len(raw)  # not the GIL for the whole parse
        except (ValueError, RecursionError) as exc:
            html = b"<html" in raw[:4096].lower()
            what = "an HTML page (a proxy or a login page is in the way)" if html else "no JSON"
            raise CollectorBadResponse(
                f"{self.name}: {path} answered {what} ({len(raw)} bytes)", backend=self.name
            ) from exc

    def _open(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None,
        body: Any,
        *,
        read_timeout: float,
    ) -> Any:
        """The one place a request leaves: read-only check, auth, timeouts, status errors.
        Returns the open urllib3 response (the caller reads and releases it)."""
        if method != "GET" and not (method == "POST" and path in REVIEW_PATHS):
            raise ReadOnlyViolation(f"read-only client: {method} {path} is not allowed")
        method, url, headers, payload, post = self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list((query or {}).items()),
            header_params={"Accept": "application/json", "Content-Type": "application/json"},
            body=body,
            auth_settings=["BearerToken"],
        )
        answer = self._api.call_api(
            method,
            url,
            header_params=headers,
            body=payload,
            post_params=post,
            _request_timeout=(self.timeout_s, read_timeout),
        )
        response = answer.response
        if not 200 <= answer.status < 300:
            location = str(response.headers.get("location") or "")[:200]
            try:
                detail = response.read(64 * 1024)
            finally:
                response.release_conn()
            if 300 <= answer.status < 400:
                raise CollectorError(
                    f"{self.name}: the API server redirected to {location or 'nowhere'} "
                    f"(HTTP {answer.status}); redirects are not followed",
                    backend=self.name,
                    status=answer.status,
                )
            raise self._status_error(answer.status, answer.reason, detail)
        return response

    # -- reads -------------------------------------------------------------------------------
    async def get(self, path: str, query: Mapping[str, Any] | None = None) -> dict[str, Any]:
        data, size = await self._run(lambda: self._request_sized("GET", path, query))
        if (listed := _LIST_BYTES.get()) is not None:  # a page of a list: counted in its all
            listed[0] += size
        if not isinstance(data, dict):
            raise CollectorBadResponse(f"{self.name}: {path} is not a JSON object")
        return data

    async def review(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST a self-review (who am I, what may I do): it creates nothing in the cluster."""
        data = await self._run(lambda: self._request("POST", path, None, dict(body)))
        if not isinstance(data, dict):
            raise CollectorBadResponse(f"{self.name}: {path} is not a JSON object")
        return data

    async def _list_pages(
        self, path: str, query: dict[str, Any], label_selector: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        listed = [0]  # the bytes of every page read, as ``get`` counts them
        counting = _LIST_BYTES.set(listed)
        try:
            return await self._read_pages(path, query, label_selector, listed)
        finally:
            _LIST_BYTES.reset(counting)

    async def _read_pages(
        self, path: str, query: dict[str, Any], label_selector: str | None, listed: list[int]
    ) -> tuple[list[dict[str, Any]], str | None]:
        kept: list[dict[str, Any]] = []
        read = 0  # items the server sent (kept or not): a server that ignores ``limit`` is
        # refused as soon as these pass MOST_LISTED, not after MOST_LISTED pages of any size
        version: object = None
        for page in range(MOST_LISTED // LIST_PAGE + 1):  # a server that pages without end
            try:
                data = await self.get(path, query)
            except KubeGone as exc:
                if "continue" not in query:
                    raise
                raise _ContinueExpired(str(exc), backend=self.name, status=exc.status) from exc
            if listed[0] > MOST_LIST_BYTES:  # refused on the page that passed it
                raise CollectorResponseTooLarge(
                    f"{self.name}: {path} answered more than {MOST_LIST_BYTES // 2**20} MiB in "
                    f"all ({page + 1} pages); not read",
                    backend=self.name,
                )
            items = data.get("items")
            if not isinstance(items, list):
                raise CollectorBadResponse(f"{self.name}: {path} is not a list (no items)")
            read += len(items)
            if read > MOST_LISTED:
                break
            kept += [
                i
                for i in items
                if isinstance(i, dict) and matches_labels(_labels_of(i), label_selector)
            ]
            meta = data.get("metadata")
            meta = meta if isinstance(meta, dict) else {}
            version, more = meta.get("resourceVersion"), meta.get("continue")
            if not (isinstance(more, str) and more):
                return kept, version if isinstance(version, str) else None
            query["continue"] = more
        raise CollectorResponseTooLarge(
            f"{self.name}: {path} holds more than {MOST_LISTED:,} items; not read",
            backend=self.name,
        )

    async def list(
        self, path: str, *, label_selector: str | None = None, field_selector: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """(items, resourceVersion) of a collection, read ``LIST_PAGE`` items a request (the
        API server's ``limit``/``continue``: 16,000 pods in one answer passed the body limit,
        and inventory and discovery failed whole); labels filtered again on our side. At
        most ``MOST_LISTED`` items: more is said, not read."""
        query: dict[str, Any] = {"limit": LIST_PAGE}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        restarted = False
        while True:
            try:
                return await self._list_pages(path, dict(query), label_selector)
            except _ContinueExpired as exc:
                # a continue token expired (the server compacted past it while we paged): read
                # the list once more from its start, as client-go's pager falls back to a
                # full list; a second time it is the caller's (a watch backs off)
                if restarted:
                    raise
                restarted = True
                log.info("list %s: its continue token expired, listing again: %s", path, exc)

    async def watch(
        self,
        path: str,
        *,
        state: WatchState | None = None,
        stop: asyncio.Event | None = None,
        backoff: tuple[float, ...] = BACKOFF_S,
    ) -> AsyncIterator[WatchEvent]:
        """List, then watch from the list's resourceVersion, for as long as the caller reads.

        A 410 Gone (an expired resourceVersion) lists again at once and yields one RELISTED
        event holding the fresh items; a second 410 before any event came (a watch cache
        already past every list's version, continue tokens that keep expiring) and other
        errors retry after a growing backoff, each noted in ``state``; so does a watch the
        server ends within SHORT_WATCH_S with nothing sent. Each watch response is closed
        when it ends, fails, or the caller stops reading.
        """
        state = state or WatchState()
        stop = stop or asyncio.Event()
        failures = 0
        need_list = True
        gone = False  # a 410 came, and no event since: another one backs off

        async def pause() -> None:
            nonlocal failures
            delay = backoff[min(failures, len(backoff) - 1)] if backoff else 0
            failures += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):  # not wait_for: it can lose a cancel
                    await stop.wait()

        while not stop.is_set():
            try:
                if need_list:
                    items, version = await self.list(path)
                    state.resource_version = version
                    state.alive()
                    yield WatchEvent("RELISTED", {"items": items})
                    need_list = False
                # events yielded, events and bookmarks heard, and when the server answered
                delivered, heard, opened = 0, 0, [time.monotonic()]
                async for event in self._watch_once(path, state, stop, opened):
                    heard += 1
                    if event.type == "BOOKMARK":
                        continue
                    failures, delivered, gone = 0, delivered + 1, False
                    yield event
                    if stop.is_set():
                        return
            except KubeGone as exc:
                need_list = True
                state.relists += 1
                # the usual 410 (a watch resumed past compaction): list at once; a list that
                # has already started over once (its continue token expired twice) backs off
                if not gone and not isinstance(exc, _ContinueExpired):
                    gone = True
                    continue
                state.failed(str(exc))
                state.reconnects += 1
                log.info("watch %s: 410 again, listing again after a backoff: %s", path, exc)
                await pause()
                continue
            except CollectorError as exc:
                state.failed(str(exc))
                state.reconnects += 1
                log.info("watch %s failed, retrying after a backoff: %s", path, exc)
                await pause()
                continue
            state.reconnects += 1  # the server ended the watch (its timeout, a cut): resume
            # a watch the caller stopped was not ended by the server: alive, as it was
            self._watch_ended(path, state, heard=bool(heard) or stop.is_set(), since=opened[0])
            if not delivered and not stop.is_set():  # ended empty: do not spin
                await pause()

    def _watch_ended(self, path: str, state: WatchState, *, heard: bool, since: float) -> None:
        """The server ended a watch it answered at ``since`` (``time.monotonic``) without an
        error: alive, unless nothing was ``heard`` (no event, no bookmark) within
        SHORT_WATCH_S of its answer, as client-go's reflector says "very short watch": a proxy
        that cannot stream ends each one at once, and the timeline would never move again,
        called live (timed from the answer, not the request: over a slow link, connecting
        took the whole second and every empty watch was called alive)."""
        if heard or time.monotonic() - since >= SHORT_WATCH_S:
            state.alive()
            return
        state.failed(
            f"{self.name}: the API server ended the watch of {path} at once, with nothing "
            "sent (a proxy in the way that cannot stream?)"
        )
        log.info("watch %s: ended at once, empty; retrying after a backoff", path)

    async def _watch_once(
        self, path: str, state: WatchState, stop: asyncio.Event, answered: MutableSequence[float]
    ) -> AsyncIterator[WatchEvent]:
        """One watch's events; ``answered[0]`` set to when the server answered it."""
        query: dict[str, Any] = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": WATCH_TIMEOUT_S,
        }
        if state.resource_version:
            query["resourceVersion"] = state.resource_version

        response = await self._run(
            lambda: self._open(
                "GET", path, query, None, read_timeout=WATCH_TIMEOUT_S + self.timeout_s
            )
        )
        answered[0] = time.monotonic()
        batches = _events(response, self.name)  # read and parsed in the worker thread
        stopped = asyncio.ensure_future(stop.wait())
        reading: asyncio.Future[list[WatchEvent | CollectorError] | None] | None = None
        try:
            while True:
                reading = asyncio.ensure_future(
                    self._run(
                        lambda: next(batches, None),
                        deadline_s=WATCH_TIMEOUT_S + self.timeout_s,
                        on_expire=lambda: _interrupt(response),
                    )
                )
                await asyncio.wait({reading, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if not reading.done():
                    return  # stopped while waiting for the server: the finally unblocks the read
                events = reading.result()
                if events is None:
                    return
                for event in events:
                    if isinstance(event, CollectorError):  # skipped: a reconnect would replay it
                        state.skipped += 1
                        state.note(str(event))
                        continue
                    if event.type == "ERROR":
                        status = event.object
                        raise self._status_error(status.get("code"), status.get("reason"), status)
                    meta = event.object.get("metadata")
                    version = meta.get("resourceVersion") if isinstance(meta, dict) else None
                    if isinstance(version, str):
                        state.resource_version = version
                    state.alive()
                    yield event  # a bookmark too: the watch it came on is not a short one
        finally:
            stopped.cancel()
            _interrupt(response)  # a read blocked in its thread returns at once
            if reading is not None and not reading.done():
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(reading), timeout=self.timeout_s)
            await _in_worker(self._workers, _close, response)

    async def exec_read(
        self, namespace: str, pod: str, command: Sequence[str], *, container: str | None = None
    ) -> str:
        """Run a read-only diagnostic command in a pod (pods/exec over WebSocket) and return
        its stdout. Only EXEC_ALLOWED commands with query/format options may run."""
        if (
            not command
            or command[0] not in EXEC_ALLOWED
            or not all(arg.startswith(("--query-", "--format=")) for arg in command[1:])
        ):
            raise ReadOnlyViolation(f"read-only client: exec {' '.join(command)!r} is not allowed")

        what = f"{command[0]} in {namespace}/{pod}"
        within_s = min(self.timeout_s, self.deadline_s)  # the WebSocket's connect, each read

        def run() -> str:
            from kubernetes import client as k8s
            from kubernetes.client.exceptions import ApiException
            from kubernetes.stream import stream
            from websocket import WebSocketException

            _direct_websocket()
            _websocket_limit.within_s = within_s
            conf = copy.copy(self._api.configuration)
            with contextlib.ExitStack() as files:  # open while the WebSocket connects
                _exec_files(conf, files)
                api = k8s.ApiClient(conf)  # stream() patches its client: its own one
                try:
                    ws = stream(
                        k8s.CoreV1Api(api).connect_get_namespaced_pod_exec,
                        pod,
                        namespace,
                        command=[*command],
                        container=container,
                        stderr=True,
                        stdin=False,
                        stdout=True,
                        tty=False,
                        _preload_content=False,
                    )
                except ApiException as exc:
                    raise self._handshake_error(exc, what, within_s) from exc
            try:
                out, err = self._exec_output(ws, what)
                code = ws.returncode
            except WebSocketException as exc:  # a frame cut short: timed out, or the link lost
                raise self._exec_lost(exc, what, within_s) from exc
            finally:
                ws.close()
                with contextlib.suppress(Exception):  # close() skips a peer-closed socket
                    ws.sock.shutdown()
                api.close()
            if code:
                raise ExecExited(
                    f"{self.name}: {what} exited {code}: {err.strip()[:300]}",
                    backend=self.name,
                    code=int(code),
                    output=out,
                )
            return out

        return await self._run(run)

    def _exec_output(self, ws: Any, what: str) -> tuple[str, str]:
        """(stdout, stderr) of an exec, read until it ends, within ``timeout_s``. At most
        ``MOST_EXEC_OUTPUT`` characters of the two together: past that the exec is ended and
        refused with an error, never kept whole (a runaway nvidia-smi printed 47 MB) nor cut
        short silently (fewer rows that parse as fewer GPUs)."""
        from kubernetes.stream.ws_client import STDERR_CHANNEL, STDOUT_CHANNEL

        # one frame a read: update() otherwise takes every frame already waiting (kubernetes
        # 37; earlier, one frame is all it reads), and a pod that prints fast would be held
        # whole before its size is looked at. A frame TLS has already decrypted is still seen:
        # update() asks the TLS socket for pending bytes before it polls
        ws._frames_immediately_available = lambda: False
        out: list[str] = []
        err: list[str] = []
        printed = 0
        ends = time.monotonic() + self.timeout_s
        while True:
            left = ends - time.monotonic()
            if ws.is_open():
                if left <= 0:
                    raise CollectorTimeout(
                        f"{self.name}: {what} did not finish within {self.timeout_s:.0f} s",
                        backend=self.name,
                    )
                ws.update(timeout=left)
            stdout = ws.read_channel(STDOUT_CHANNEL, timeout=0)
            stderr = ws.read_channel(STDERR_CHANNEL, timeout=0)
            printed += len(stdout) + len(stderr)
            if printed > MOST_EXEC_OUTPUT:
                raise CollectorResponseTooLarge(
                    f"{self.name}: {what} printed more than {MOST_EXEC_OUTPUT // 1024} KiB; "
                    "ended there, its output not read",
                    backend=self.name,
                )
            if stdout:
                out.append(stdout)
            if stderr:
                err.append(stderr)
            if not ws.is_open() and not (stdout or stderr):
                return "".join(out), "".join(err)

    def _handshake_error(self, exc: Any, what: str, within_s: float) -> CollectorError:
        """The WebSocket client reports an HTTP refusal as text: take the status back out.
        Any other failure is its cause's (``stream`` wraps it in a status-less ApiException)."""
        reason = str(getattr(exc, "reason", "") or exc)
        match = re.search(r"Handshake status (\d{3})", reason)
        if match:
            return self._status_error(int(match.group(1)), reason.splitlines()[0][:200], None)
        return self._exec_lost(exc.__context__ or exc, what, within_s)

    def _exec_lost(self, exc: BaseException, what: str, within_s: float) -> CollectorError:
        """An exec's WebSocket failed: not within its time, or could not reach the server."""
        from websocket import WebSocketTimeoutException

        if isinstance(exc, WebSocketTimeoutException | TimeoutError):
            return CollectorTimeout(
                f"{self.name}: {what}: {self.server} did not answer within {within_s:.0f} s",
                backend=self.name,
            )
        reason = (str(getattr(exc, "reason", "") or exc) or type(exc).__name__).splitlines()[0]
        return CollectorUnreachable(
            f"{self.name}: {what} failed: {reason[:200]}", backend=self.name
        )

    async def aclose(self) -> None:
        for api in [*self._retired, self._api]:
            await _in_worker(self._workers, _close_api, api)
        self._retired.clear()
        self._workers.shutdown(wait=False, cancel_futures=True)  # reads end by their deadline


def _close_api(api: Any) -> None:
    """Close an API client's connections now. Its own ``close`` (urllib3 2's ``clear``) only
    lets go of its pools, which close their connections when collected: one that an error's
    traceback holds waits for the cycle collector, its sockets open meanwhile. A connection
    in use (a watch still reading) is closed when its call releases it, not under it."""
    pools = api.rest_client.pool_manager.pools
    for key in pools.keys():  # noqa: SIM118 (iterating it raises: urllib3's container)
        pool = pools.get(key)
        if pool is not None:
            pool.close()
    api.close()


def _batches(response: Any, name: str = "") -> Iterator[list[bytes | CollectorError]]:
    """The complete lines (one JSON watch event each) of each chunk a streaming response
    gives, a list at a time: a watch that replays a thousand events crosses from its worker
    thread to the loop once per chunk, not once per line. A line longer than
    ``MOST_EVENT_BYTES`` is refused: an error in its place."""
    lines = _Lines(name)
    for chunk in response.stream(64 * 1024, decode_content=True):
        batch = lines.feed(chunk)
        if batch:
            yield batch
    last = lines.end()
    if last:
        yield last


class _Lines:
    """A stream's bytes cut into lines. A line's pieces are kept apart and joined once, when
    its newline comes (linear in its length: joining at each chunk was quadratic, 8 s of CPU
    for a 32 MiB line); one that grows past ``MOST_EVENT_BYTES`` is dropped up to its
    newline, never kept whole, and an error stands in its place."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pending: list[bytes] = []  # the start of a line whose newline has not come yet
        self.size = 0
        self.dropping = False  # inside a line already refused

    def feed(self, chunk: bytes) -> list[bytes | CollectorError]:
        if b"\n" not in chunk:
            return self._grow(chunk)
        head, *lines, tail = chunk.split(b"\n")
        if self.dropping:
            self.dropping = False  # the refused line ends here
        else:
            lines.insert(0, b"".join([*self.pending, head]))
        self.pending, self.size = [], 0
        batch: list[bytes | CollectorError] = [
            self._too_long() if len(line) > MOST_EVENT_BYTES else line
            for line in lines
            if len(line) > MOST_EVENT_BYTES or line.strip()  # (a decoded chunk may be long)
        ]
        return batch + self._grow(tail)

    def end(self) -> list[bytes | CollectorError]:
        line = b"".join(self.pending)
        self.pending, self.size = [], 0
        return [line] if line.strip() and not self.dropping else []

    def _grow(self, piece: bytes) -> list[bytes | CollectorError]:
        if self.dropping or not piece:
            return []
        self.pending.append(piece)
        self.size += len(piece)
        if self.size <= MOST_EVENT_BYTES:
            return []
        self.pending, self.size, self.dropping = [], 0, True
        return [self._too_long()]

    def _too_long(self) -> CollectorError:
        return CollectorResponseTooLarge(
            f"{self.name}: a watch event is larger than {MOST_EVENT_BYTES // 2**20} MiB "
            "(etcd holds objects of at most 1.5 MiB); skipped, not read",
            backend=self.name,
        )


def _events(response: Any, name: str) -> Iterator[list[WatchEvent | CollectorError]]:
    """``_batches`` parsed, in the thread that reads them (a large event's JSON is decoded
    there, not on the event loop): events, and in place of a line that is not one, its
    error. Lines that are JSON but not events are left out."""
    for lines in _batches(response, name):
        events: list[WatchEvent | CollectorError] = []
        for line in lines:
            if isinstance(line, CollectorError):
                events.append(line)
                continue
            try:
                event = _parse_event(line, name)
            except CollectorBadResponse as exc:
                events.append(exc)
                continue
            if event is not None:
                events.append(event)
        if events:
            yield events


def _parse_event(line: bytes, name: str) -> WatchEvent | None:
    try:
        data = json.loads(line)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than Python
        raise CollectorBadResponse(f"{name}: a watch event is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        return None
    return WatchEvent(str(data.get("type", "")), data["object"])


def _interrupt(response: Any) -> None:
    """Shut the socket's read side so a read blocked in a worker thread ends now."""
    with contextlib.suppress(ValueError, RuntimeError, OSError, AttributeError):
        response.shutdown()


def _close(response: Any) -> None:
    try:
        response.close()
    finally:
        response.release_conn()


def _labels_of(item: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = item.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return labels if isinstance(labels, dict) else {}


def _status_message(body: Any) -> str | None:
    if isinstance(body, dict):
        message = body.get("message")
        return str(message) if message else None
    if isinstance(body, bytes | str):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # a server's error page, or nested too deep
            return None
        return _status_message(data) if isinstance(data, dict) else None
    return None


def _exec_files(conf: Any, files: contextlib.ExitStack) -> None:
    """The CA and client pair that ``conf`` holds in memory (kube_config.load_api_client
    keeps them out of files) as files in memory (memfd), open while ``files`` is: the
    Kubernetes client's WebSocket (pods/exec) reads them from files only. Its loader's
    refresh hook sets the file fields again before each request (to the none it was given):
    they are set back after it."""
    from collectors.auth import _pem_file

    ca = conf.ca_cert_data
    if ca and not conf.ssl_ca_cert:
        conf.ssl_ca_cert = files.enter_context(
            _pem_file(ca if isinstance(ca, str) else ca.decode())
        )
    pair = getattr(conf, CLIENT_PAIR, None)
    if pair and not conf.cert_file:
        conf.cert_file = files.enter_context(_pem_file(pair[0]))
        conf.key_file = files.enter_context(_pem_file(pair[1]))
    kept = conf.ssl_ca_cert, conf.cert_file, conf.key_file
    hook = conf.refresh_api_key_hook
    if hook is not None:

        def refresh(c: Any) -> None:
            hook(c)
            c.ssl_ca_cert, c.cert_file, c.key_file = kept

        conf.refresh_api_key_hook = refresh


#: the connect and read timeout of the pods/exec WebSocket this thread opens (exec_read sets it)
_websocket_limit = threading.local()


def _direct_websocket() -> None:
    """The Kubernetes client's WebSocket (pods/exec, websocket-client) made to connect as the
    client's other requests do (put in place once per process):

    - never through a proxy: websocket-client reads HTTPS_PROXY from the environment itself
      (``configuration.proxy = None`` is urllib3's only), and an exec, its bearer token in
      its headers, went through whatever proxy that named. Its one way to say none: every
      host exempt (``http_no_proxy``, read only beside a ``http_proxy_host``, which is never
      reached: the exemption is looked at first);
    - no redirect followed (none is by the client's other requests): each one sent the
      bearer token on to wherever the answer pointed;
    - bounded: its connect and each read within the limit exec_read sets, and its socket
      known to the request's Deadline as soon as it is connected, so the deadline (or a
      caller who gives up) shuts it down as it does urllib3's: an upgrade never answered
      held a worker thread for good, and eight of them every read of the cluster."""
    from kubernetes.stream import ws_client

    if getattr(ws_client.WebSocket, "direct", False):
        return

    class DirectWebSocket(ws_client.WebSocket):
        direct = True

        def connect(self, url: str, **options: Any) -> None:
            super().connect(
                url,
                **{
                    **options,
                    "timeout": getattr(_websocket_limit, "within_s", TIMEOUT_S),
                    "http_proxy_host": "no-proxy.invalid",
                    "http_no_proxy": ["*"],
                    "redirect_limit": 0,
                },
            )

        @property
        def sock(self) -> Any:
            return self.__dict__.get("_sock")

        @sock.setter
        def sock(self, sock: Any) -> None:  # set once connected, before the upgrade is sent
            self._sock = sock
            register(self)  # (the Deadline of the request running on this thread)

    setattr(ws_client, "WebSocket", DirectWebSocket)  # noqa: B010 (a module's name)
