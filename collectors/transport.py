"""The HTTP transport under every ``BackendClient``: httpx's own, with one leak closed.

httpcore (1.0.9) closes a TCP connection whose TLS handshake fails only on an ``Exception``
(``httpcore/_backends/anyio.py``, ``start_tls``): a cancel during the handshake (the request's
deadline, a page switch, shutting down) drops the connected socket unclosed. A server that
accepts and never finishes the handshake then costs one file descriptor per attempt until the
garbage collector finds it (a ``ResourceWarning``). The network backend here closes the stream
on any way out of the handshake.
"""

from __future__ import annotations

import ssl
import typing
from collections.abc import Iterable

import httpcore
import httpx


class _ClosingStream(httpcore.AsyncNetworkStream):
    """A network stream whose failed TLS upgrade, cancelled included, closes the socket."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            return await self._inner.start_tls(ssl_context, server_hostname, timeout)
        except BaseException:
            # the socket's close is scheduled synchronously inside aclose (anyio), before its
            # first await: a second cancel cannot undo it
            await self._inner.aclose()
            raise

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _ClosingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _ClosingStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _ClosingStream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def closing_transport(verify: ssl.SSLContext | bool) -> httpx.AsyncHTTPTransport:
    """httpx's transport with its defaults (HTTP/1.1, its limits, no proxy), on the closing
    network backend. httpx does not take a network backend, so its connection pool is built
    again with one (the same arguments httpx gives it)."""
    context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
    transport = httpx.AsyncHTTPTransport(verify=context, trust_env=False)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
    transport._pool = httpcore.AsyncConnectionPool(  # see above
        ssl_context=context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=False,
        network_backend=_ClosingBackend(),
    )
    return transport
