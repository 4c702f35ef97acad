"""Resolved credentials of one endpoint, and the TLS context they make: kept apart from the
HTTP client so that reading the registry never loads httpx."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import os
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiops_desktop.models import AuthMethod
from collectors.errors import CollectorAuthError


@dataclass(frozen=True)
class EndpointAuth:
    """Resolved credentials for one endpoint. ``repr`` never shows a secret."""

    method: AuthMethod = AuthMethod.NONE
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_cert_pem: str | None = field(default=None, repr=False)
    client_key_pem: str | None = field(default=None, repr=False)


@contextlib.contextmanager
def _pem_file(pem: str) -> Iterator[str]:
    """A path holding ``pem`` for ssl's file-only API; in memory (memfd) where possible."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("aiops-pem", 0)
        try:
            os.write(fd, pem.encode())
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    handle, path = tempfile.mkstemp(prefix="aiops-pem-")  # pragma: no cover (non-Linux)
    try:
        os.write(handle, pem.encode())
        os.close(handle)
        yield path
    finally:
        os.unlink(path)


@functools.lru_cache(maxsize=64)
def _verifying(ca_pem: str | None) -> ssl.SSLContext:
    """A context that verifies against ``ca_pem`` or the system's CAs. Made once per CA and
    shared (an SSLContext serves any number of connections): loading the system's CAs takes
    tens of milliseconds, which a client built on the UI thread must not pay each time."""
    return ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()


def ssl_context(*, verify: bool, ca_pem: str | None, auth: EndpointAuth) -> ssl.SSLContext | bool:
    if not verify and auth.method is not AuthMethod.MTLS:
        return False
    if auth.method is not AuthMethod.MTLS:
        return _verifying(ca_pem or None)
    ctx = ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if auth.method is AuthMethod.MTLS:
        if not (auth.client_cert_pem and auth.client_key_pem):
            raise CollectorAuthError("mTLS needs a client certificate and key")
        with _pem_file(auth.client_cert_pem) as cert, _pem_file(auth.client_key_pem) as key:
            ctx.load_cert_chain(cert, key)
    return ctx


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: localhost or a loopback address (a name that
    merely resolves there is not taken on trust)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
