"""One httpx chokepoint per backend: auth, TLS, timeouts, retries, size limit, own errors.

Every request of a backend goes through ``BackendClient.get_json``/``post_json``: one lazily
created ``httpx.AsyncClient`` per backend (docs/architecture.md#habits), TLS verified by default (a
custom CA bundle is trusted in addition to none: it replaces the system store, as kubectl does),
bounded retries with exponential backoff on connection errors and 5xx (not on a connect timeout:
a black hole, asked again, takes another; the caller's next try is its retry), and a
response-size limit enforced while streaming, so a huge answer is refused before it is held in
memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import re
import ssl
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx

from aiops_desktop.models import AuthMethod
from aiops_desktop.settings import HttpPolicy
from collectors import json_pieces
from collectors.auth import EndpointAuth, refused_advice, ssl_context
from collectors.errors import (
    CollectorAuthError,
    CollectorBadResponse,
    CollectorError,
    CollectorInvalidQuery,
    CollectorRateLimited,
    CollectorResponseTooLarge,
    CollectorServerError,
    CollectorTimeout,
    CollectorTLSError,
    CollectorUnreachable,
    auth_refused,
    headers_too_large,
    root_cause,
)
from collectors.kube_config import bearer_expiry
from collectors.shapes import JSON_ERRORS, document_without_surrogates, read_json
from collectors.transport import closing_transport

log = logging.getLogger("aiops.collectors.http")
#: Bodies larger than this are decoded (and handed to ``then``) in a worker thread, so a big
#: answer never stalls the event loop (and with it the UI).
OFFLOAD_BYTES = 256 * 1024
#: where a body may hold a lone surrogate: a "\ud800".."\udfff" escape, or such a code
#: point's own bytes (json.loads reads bytes with surrogatepass) ...
_MAY_HOLD_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
#: ... or, in a text (a WebSocket's text frame), the escape or the code point itself
_TEXT_MAY_HOLD_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


class RetriedFailures:
    """The failures requests retried (``retried_failures``): the last one, and how many;
    noted in the enclosing ones too."""

    def __init__(self, outer: RetriedFailures | None = None) -> None:
        self.last: CollectorError | None = None
        self.count = 0
        self.outer = outer

    def note(self, exc: CollectorError) -> None:
        noted: RetriedFailures | None = self
        while noted is not None:
            noted.last, noted.count = exc, noted.count + 1
            noted = noted.outer


#: where the failures a request retries are noted (each would be lost when the request is cut
#: short from outside while it waits to ask again: a poll's time limit)
_RETRIED: contextvars.ContextVar[RetriedFailures | None] = contextvars.ContextVar(
    "retried", default=None
)


@contextlib.contextmanager
def retried_failures() -> Iterator[RetriedFailures]:
    """The failures the requests made within (in this task, and tasks it starts) retry: a
    caller that cuts a request short says what it was failing with."""
    noted = RetriedFailures(_RETRIED.get())
    token = _RETRIED.set(noted)
    try:
        yield noted
    finally:
        _RETRIED.reset(token)


def upstream_error(body: bytes) -> str:
    """What a refusal's body says: its JSON error (or message), an HTML page's title, or the
    start of its text; a body that is no JSON, or JSON nested too deep to read, is text."""
    try:
        data = read_json(body, "an error body")
        if isinstance(data, dict):
            return str(data.get("error") or data.get("message") or data)[:500]
        return str(data)[:500]
    except (CollectorBadResponse, RecursionError):  # writing it out recurses as deep
        text = body[:2000].decode("utf-8", "replace").strip()
        title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        if title:  # an HTML error page (proxies, ingress): its title says it
            return " ".join(title.group(1).split())
        return " ".join(text[:300].split())


class BackendClient:
    """HTTP access to one backend (a Prometheus, an Alertmanager, ...)."""

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        auth: EndpointAuth | None = None,
        verify: bool = True,
        ca_pem: str | None = None,
        policy: HttpPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        reauth: Callable[[], Awaitable[EndpointAuth]] | None = None,
        text_backend: bool = False,
    ) -> None:
        """``reauth``: reads the credential again (the keyring holds the current one): a 401
        asks it once per request, and the request is tried once more with what it gives.
        ``text_backend``: a backend of text from outside (Loki, Tempo): its 400 answers are
        plain text (the query's refusal, said as it is), and bytes in its answer that are not
        UTF-8 are read as U+FFFD instead of refusing the whole answer."""
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.auth = auth or EndpointAuth()
        self.verify = verify
        self.ca_pem = ca_pem
        self.policy = policy or HttpPolicy()
        self._transport = transport
        self._reauth = reauth
        self.text_backend = text_backend
        self._client: httpx.AsyncClient | None = None
        self._retired: list[httpx.AsyncClient] = []  # replaced after a re-read credential

    def _build(self, verify: ssl.SSLContext | bool) -> httpx.AsyncClient:
        """The client, with ``verify`` (``ssl_context``'s, made beforehand)."""
        headers = {"Accept": "application/json", "User-Agent": "aiops-desktop"}
        auth: httpx.Auth | None = None
        if self.auth.method is AuthMethod.BEARER:
            if not self.auth.token:
                raise CollectorAuthError(f"{self.name}: bearer auth without a token")
            headers["Authorization"] = f"Bearer {self.auth.token}"
        elif self.auth.method is AuthMethod.BASIC:
            if not (self.auth.username or self.auth.password):  # never "Basic Og=="
                raise CollectorAuthError(f"{self.name}: basic auth without a user name")
            auth = httpx.BasicAuth(self.auth.username or "", self.auth.password or "")
        timeout = httpx.Timeout(self.policy.read_timeout_s, connect=self.policy.connect_timeout_s)
        return httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            auth=auth,
            timeout=timeout,
            verify=verify,
            transport=self._transport or closing_transport(verify),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: air-gapped by default
        )

    @property
    def client(self) -> httpx.AsyncClient:
        """The client, made here if need be (blocking: requests use ``ready_client``)."""
        if self._client is None:
            verify = ssl_context(verify=self.verify, ca_pem=self.ca_pem, auth=self.auth)
            self._client = self._build(verify)
        return self._client

    async def ready_client(self) -> httpx.AsyncClient:
        """The client, its TLS context made in a worker thread: loading CAs and a client key
        pair takes tens of milliseconds, which the event loop (the UI thread) must not wait."""
        while self._client is None:
            auth = self.auth
            verify = await asyncio.to_thread(
                ssl_context, verify=self.verify, ca_pem=self.ca_pem, auth=auth
            )
            # meanwhile another request may have made it, or a 401 replaced the credential
            if self._client is None and self.auth is auth:
                self._client = self._build(verify)
        return self._client

    async def aclose(self) -> None:
        for client in [*self._retired, self._client]:
            if client is not None:
                await client.aclose()
        self._client = None
        self._retired.clear()

    async def _authenticate_again(self, rejected: CollectorAuthError) -> None:
        """After a 401: read the credential again and use it from now on; when it is the
        one just refused, there is nothing to try (the refusal stands, said clearly)."""
        fresh = await self._reauth() if self._reauth is not None else None
        if self.auth.method is AuthMethod.NONE and (fresh is None or fresh == self.auth):
            raise CollectorAuthError(
                f"{rejected} (the endpoint asks for a credential and none is configured: "
                "give it a token)",
                backend=self.name,
                status=401,
            ) from rejected
        if fresh is None or fresh == self.auth:
            raise CollectorAuthError(
                f"{rejected} (the credential in the keyring is the one refused: "
                f"{self._refused_advice()})",
                backend=self.name,
                status=401,
            ) from rejected
        self.auth = fresh
        if self._client is not None:  # requests in flight finish on it; closed at aclose
            self._retired.append(self._client)
            self._client = None
        log.info("credential read again after a 401", extra={"backend": self.name})

    def _refused_advice(self) -> str:
        """What to do about the credential in use, refused: its expiry, where its JWT says."""
        bearer = self.auth.method is AuthMethod.BEARER
        return refused_advice(bearer_expiry(self.auth.token) if bearer else None,
                              what="token" if bearer else "credential",
                              credential=self.auth.credential)  # fmt: skip

    async def authenticate_again(self, rejected: CollectorAuthError) -> None:
        """The same, for a connection this client does not make itself (the live tail's
        WebSocket upgrade): its 401 reads the keyring again as a request's does."""
        await self._authenticate_again(rejected)

    async def get_json(
        self,
        path: str,
        params: Any = None,
        *,
        timeout_s: float | None = None,
        then: Callable[[Any], Any] | None = None,
    ) -> Any:
        """GET and decode JSON; ``then`` post-processes it (in the worker for big bodies)."""
        return await self._request("GET", path, params=params, timeout_s=timeout_s, then=then)

    async def post_json(
        self,
        path: str,
        data: Any = None,
        *,
        timeout_s: float | None = None,
        then: Callable[[Any], Any] | None = None,
    ) -> Any:
        return await self._request("POST", path, data=data, timeout_s=timeout_s, then=then)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        data: Any = None,
        timeout_s: float | None = None,
        then: Callable[[Any], Any] | None = None,
    ) -> Any:
        attempt = 0
        authenticated_again = False
        where = f"{self.name} ({self.base_url})"
        # one deadline for the request and its retries: what one exchange may take (a read
        # bound and a connect), so a server that never answers is given up on when the
        # timeout said, not once per retry (4 x 30 s where "did not answer in time (30 s)")
        loop = asyncio.get_running_loop()
        connect_s = self.policy.connect_timeout_s
        deadline = loop.time() + (timeout_s or self.policy.read_timeout_s) + connect_s
        while True:
            try:
                status, body, headers = await self._send(
                    method, path, params=params, data=data, timeout_s=timeout_s,
                    left_s=deadline - loop.time(),
                )  # fmt: skip
                self._refuse_status(status, headers, where)
                if len(body) > OFFLOAD_BYTES:  # decode big answers off the event loop
                    return await asyncio.to_thread(self._finish, status, body, where, then)
                return self._finish(status, body, where, then)
            except CollectorAuthError as exc:
                if exc.status != 401:
                    raise
                if authenticated_again:
                    raise CollectorAuthError(
                        f"{exc}; the credential read again from the keyring was refused too: "
                        f"{self._refused_advice()}",
                        backend=self.name,
                        status=401,
                    ) from exc
                authenticated_again = True  # once per request: bounded
                await self._authenticate_again(exc)
            except (CollectorUnreachable, CollectorServerError, CollectorTimeout) as exc:
                if isinstance(exc, CollectorTLSError) or attempt >= self.policy.retries:
                    raise
                if isinstance(exc.__cause__, httpx.ConnectTimeout):
                    # no connection within the connect timeout: a black hole (a site down,
                    # a firewall dropping), where each try waits the whole timeout out; a poll
                    # held its slot until its limit, and said nothing of the connect failure
                    raise
                noted = _RETRIED.get()
                if noted is not None:
                    noted.note(exc)
                attempt += 1
                delay = min(
                    self.policy.backoff_max_s, self.policy.backoff_base_s * 2 ** (attempt - 1)
                )
                delay *= random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not security)
                if deadline - (loop.time() + delay) <= connect_s:
                    raise  # no time left for another exchange before the deadline
                log.info(
                    "retrying request",
                    extra={
                        "backend": self.name,
                        "path": path,
                        "attempt": attempt,
                        "error": str(exc),
                    },
                )
                await asyncio.sleep(delay)

    async def status(self, path: str) -> int:
        """The HTTP status of a GET (readiness probes); transport errors raise as usual. A 401
        reads the credential again once (when it changed) and asks again."""
        status, _, _ = await self._send("GET", path, params=None, data=None, timeout_s=None)
        if status == 401 and self._reauth is not None:
            try:
                await self._authenticate_again(CollectorAuthError("HTTP 401", status=401))
            except CollectorAuthError:
                return status  # the same credential: refused, as the first answer said
            status, _, _ = await self._send("GET", path, params=None, data=None, timeout_s=None)
        return status

    def _finish(
        self, status: int, body: bytes, where: str, then: Callable[[Any], Any] | None
    ) -> Any:
        decoded = self._decode(status, body, where)
        return then(decoded) if then is not None else decoded

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Any,
        data: Any,
        timeout_s: float | None,
        left_s: float | None = None,
    ) -> tuple[int, bytes, httpx.Headers]:
        """One exchange; ``left_s``: what is left of the request's deadline (a retry's
        bounds are cut to it)."""
        where = f"{self.name} ({self.base_url})"
        timeout: Any = httpx.USE_CLIENT_DEFAULT
        read_s, connect_s = timeout_s or self.policy.read_timeout_s, self.policy.connect_timeout_s
        # httpx bounds each read; this bounds the whole answer (a byte every few seconds
        # would otherwise never end)
        whole = read_s + connect_s
        bound = whole if left_s is None else max(0.001, min(whole, left_s))
        if timeout_s is not None or bound < whole:
            timeout = httpx.Timeout(min(read_s, bound), connect=min(connect_s, bound))
        with transport_errors(where, self.name, whole=whole,
                              connect_s=self.policy.connect_timeout_s,
                              read_s=timeout_s or self.policy.read_timeout_s):  # fmt: skip
            async with asyncio.timeout(bound):
                client = await self.ready_client()
                request = client.build_request(
                    method, path, params=params, data=data, timeout=timeout
                )
                response = await client.send(request, stream=True)
                try:
                    body = await self._read_limited(response, where)
                finally:
                    await response.aclose()
        return response.status_code, body, response.headers

    def _refuse_status(self, status: int, headers: httpx.Headers, where: str) -> None:
        """Answers that are neither the data nor the API's own refusal, said plainly."""
        if status == 429:
            after = headers.get("retry-after", "")
            wait = f"; it asks to wait {after[:16]} s" if after.isdigit() else ""
            raise CollectorRateLimited(
                f"{where} is rate limiting this app (HTTP 429){wait}",
                backend=self.name,
                status=status,
            )
        if 300 <= status < 400:
            target = headers.get("location", "")[:200] or "nowhere"
            raise CollectorError(
                f"{where} redirected to {target} (HTTP {status}); redirects are not followed: "
                "give the endpoint's own URL",
                backend=self.name,
                status=status,
            )

    async def _read_limited(self, response: httpx.Response, where: str) -> bytes:
        return await read_limited(response, self.policy.max_response_bytes, where, self.name)

    def _decode(self, status: int, body: bytes, where: str) -> Any:
        if status in (401, 403):
            raise auth_refused(where, self.name, status)
        if status in (400, 422):
            upstream = upstream_error(body)
            if _is_json_error(body) or (self.text_backend and _html_title(body) is None):
                # the API's own refusal: a PromQL parse error (JSON), a LogQL one (text)
                raise CollectorInvalidQuery(
                    f"{where} refused the query: {upstream}",
                    upstream=upstream,
                    backend=self.name,
                    status=status,
                )
            raise CollectorError(
                f"{where} answered HTTP {status}: {upstream}", backend=self.name, status=status
            )
        if status >= 500:
            raise CollectorServerError(
                f"{where} failed (HTTP {status}): {upstream_error(body)}",
                backend=self.name,
                status=status,
            )
        if status >= 300:
            raise CollectorError(
                f"{where} answered HTTP {status}", backend=self.name, status=status
            )
        try:
            # in pieces: a big answer, decoded in a worker, would hold the GIL throughout
            document = json_pieces.loads(body.decode("utf-8", "replace") if self.text_backend
                                         else body)  # fmt: skip
        except JSON_ERRORS as exc:
            title = _html_title(body)
            if title is not None:  # a login page of a proxy, an ingress's error page
                raise CollectorBadResponse(
                    f"{where} answered an HTML page ({title!r}) instead of JSON: "
                    "a proxy or a login page is in the way",
                    backend=self.name,
                    status=status,
                ) from exc
            raise CollectorBadResponse(
                f"{where} answered with malformed JSON ({exc.__class__.__name__}: "
                f"{str(exc)[:120]})",
                backend=self.name,
                status=status,
            ) from exc
        return without_lone_surrogates(document, body)


def without_lone_surrogates(document: Any, body: str | bytes) -> Any:
    """``document`` (``body`` parsed) with each lone surrogate (half an emoji a server cut)
    read as U+FFFD: one cannot be encoded as UTF-8, so stdout, a report and the cache (an
    alert's history) would each refuse all that holds it. Walked only where ``body`` may hold
    one: a scan of it costs little, a walk of a big answer about half its parse."""
    if isinstance(body, str):
        if _TEXT_MAY_HOLD_SURROGATE.search(body) is None:
            return document
    elif _MAY_HOLD_SURROGATE.search(body) is None:
        return document
    return document_without_surrogates(document)


async def read_limited(response: httpx.Response, limit: int, where: str, backend: str) -> bytes:
    """A body of at most ``limit`` bytes, refused before it is held: by its declared length,
    else while it streams (a server may declare nothing, or lie)."""
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise CollectorResponseTooLarge(
            f"{where} answered {int(declared):,} bytes, over the {limit:,}-byte limit",
            backend=backend,
        )
    chunks = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise CollectorResponseTooLarge(
                f"{where} answered more than the {limit:,}-byte limit", backend=backend
            )
        chunks.append(chunk)
    return b"".join(chunks)


@contextlib.contextmanager
def transport_errors(
    where: str, backend: str, *, whole: float, connect_s: float, read_s: float
) -> Iterator[None]:
    """httpx's and asyncio's failures of one exchange as the collectors' own errors, said for
    a person: ``whole`` bounds the exchange, ``connect_s`` the connection, ``read_s`` a read."""
    try:
        yield
    except TimeoutError as exc:
        raise CollectorTimeout(
            f"{where} did not finish answering within {whole:.0f} s", backend=backend
        ) from exc
    except httpx.ConnectTimeout as exc:
        raise CollectorTimeout(
            f"{where} did not answer in time (no connection within {connect_s:g} s)",
            backend=backend,
        ) from exc
    except httpx.TimeoutException as exc:
        raise CollectorTimeout(
            f"{where} did not answer in time ({read_s:g} s)", backend=backend
        ) from exc
    except httpx.ConnectError as exc:
        if _is_tls_error(exc):
            raise CollectorTLSError(
                f"{where}: TLS certificate not trusted ({root_cause(exc)}); add the CA bundle",
                backend=backend,
            ) from exc
        raise CollectorUnreachable(
            f"{where} is unreachable: {root_cause(exc)}", backend=backend
        ) from exc
    except httpx.RemoteProtocolError as exc:
        cause = root_cause(exc)
        if "too long" in cause or "header" in cause.lower():  # h11's own limits
            raise headers_too_large(where, cause, backend) from exc
        raise CollectorUnreachable(
            f"{where} broke the connection: {cause}", backend=backend
        ) from exc
    except httpx.NetworkError as exc:
        raise CollectorUnreachable(
            f"{where} broke the connection: {root_cause(exc)}", backend=backend
        ) from exc
    except httpx.DecodingError as exc:  # a corrupt gzip/deflate/brotli body
        raise CollectorBadResponse(
            f"{where} sent a body that cannot be decoded ({root_cause(exc)})",
            backend=backend,
        ) from exc
    except (httpx.LocalProtocolError, UnicodeEncodeError) as exc:
        # a header h11 or httpx will not send (a token of two lines, or not ASCII): h11's words
        # quote the header, credential and all, so they are neither repeated nor chained
        raise CollectorAuthError(
            f"{where}: the request was not sent ({type(exc).__name__}): a request header, the "
            "credential most likely, holds characters HTTP does not allow; store it again",
            backend=backend,
        ) from None


def _html_title(body: bytes) -> str | None:
    head = body[:4096].decode("utf-8", "replace")
    if "<html" not in head.lower():
        return None
    title = re.search(r"<title>(.*?)</title>", head, re.IGNORECASE | re.DOTALL)
    return " ".join(title.group(1).split())[:120] if title else "untitled"


def _is_json_error(body: bytes) -> bool:
    """Whether a 400's body is the API's own JSON refusal (``{"error": ...}``)."""
    try:
        data = read_json(body, "an error body")
    except CollectorBadResponse:
        return False
    return isinstance(data, dict) and "error" in data


def _is_tls_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


__all__ = [
    "BackendClient",
    "CollectorError",
    "EndpointAuth",
    "HttpPolicy",
    "RetriedFailures",
    "retried_failures",
    "ssl_context",
]
