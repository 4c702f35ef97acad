"""Resolved credentials of one endpoint, and the TLS context they make: kept apart from the
HTTP client so that reading the registry never loads httpx."""

from __future__ import annotations

import contextlib
import enum
import functools
import hashlib
import ipaddress
import os
import ssl
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiops_desktop.models import AuthMethod, CredentialKind, CredentialRef
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
    #: the keyring entry they were read from: a refusal says how to replace them by it
    credential: CredentialRef | None = None


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


class ExtraCA(str):
    """A CA bundle trusted beside the system's CAs, not instead of them: the cluster's (its
    API server's) that an endpoint without a CA of its own inherits. The endpoint is another
    host (a route, an ingress), whose certificate the system may well vouch for; a plain
    ``str`` CA bundle, set for the endpoint itself, is trusted alone."""

    __slots__ = ()


def _trusting(ca_pem: str | None, with_system: bool) -> ssl.SSLContext:
    """A verifying context: ``ca_pem`` alone, the system's CAs and ``ca_pem`` where
    ``with_system``, or the system's CAs where there is no ``ca_pem``."""
    if ca_pem and not with_system:
        return ssl.create_default_context(cadata=ca_pem)
    ctx = ssl.create_default_context()
    if ca_pem:
        ctx.load_verify_locations(cadata=ca_pem)
    return ctx


@functools.lru_cache(maxsize=64)
def _verifying(ca_pem: str | None, with_system: bool) -> ssl.SSLContext:
    """A context of ``_trusting``'s, made once per CA and mode and shared (an SSLContext
    serves any number of connections): loading the system's CAs takes tens of milliseconds,
    which a client built on the UI thread must not pay each time."""
    return _trusting(ca_pem, with_system)


#: client-pair contexts kept (most recently used last), by verification, CA, whether the
#: system's CAs are trusted too, and the pair's digest (the cache holds no PEM text of its own)
_paired: OrderedDict[tuple[bool, str | None, bool, bytes], ssl.SSLContext] = OrderedDict()
_paired_lock = threading.Lock()
PAIRED_KEPT = 64


def ssl_context(*, verify: bool, ca_pem: str | None, auth: EndpointAuth) -> ssl.SSLContext | bool:
    """The TLS context of an endpoint. ``ca_pem``: the CA bundle trusted alone, or beside
    the system's CAs where it is an ``ExtraCA``. Blocking the first time for a CA or a client
    pair (tens of milliseconds): an event loop calls it in a worker thread."""
    if not verify and auth.method is not AuthMethod.MTLS:
        return False
    with_system = isinstance(ca_pem, ExtraCA)
    if auth.method is not AuthMethod.MTLS:
        return _verifying(ca_pem or None, with_system)
    if not (auth.client_cert_pem and auth.client_key_pem):
        raise CollectorAuthError("mTLS needs a client certificate and key")
    return _paired_context(
        verify, ca_pem or None, with_system, auth.client_cert_pem, auth.client_key_pem
    )


def _paired_context(
    verify: bool, ca_pem: str | None, with_system: bool, cert_pem: str, key_pem: str
) -> ssl.SSLContext:
    """A context with the client pair loaded, made once per CA, mode and pair and shared (by
    the cluster's endpoints, a client made again): as for ``_verifying``, loading the
    system's CAs is what takes the time, and a context cannot be copied with another pair in
    it."""
    digest = hashlib.sha256(f"{cert_pem}\0{key_pem}".encode()).digest()
    key = (verify, ca_pem, with_system, digest)
    with _paired_lock:
        if key in _paired:
            _paired.move_to_end(key)
            return _paired[key]
    ctx = _trusting(ca_pem, with_system)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    _load_pair(ctx, cert_pem, key_pem)  # a pair that cannot be used is never kept
    with _paired_lock:
        ctx = _paired.setdefault(key, ctx)  # one made meanwhile by another thread wins
        while len(_paired) > PAIRED_KEPT:
            _paired.popitem(last=False)
    return ctx


class NoCredential(enum.Enum):
    """A client's ``credential`` where its cluster has none configured (added by URL alone),
    told apart from None: a kubeconfig the caller loaded, whose credential is its own, so
    importing it again replaces it."""

    CONFIGURED = "none configured"


NO_CREDENTIAL = NoCredential.CONFIGURED
#: what a 401 says where no credential is configured (nothing to read again or replace)
NONE_CONFIGURED = "asks for a credential and none is configured: give it a token"


REIMPORT = (
    "import the cluster's kubeconfig context again (aiops-desktop clusters import-kubeconfig "
    "FILE --context NAME, or File > Import kubeconfig…): that replaces the credential it holds"
)


def replace_advice(credential: CredentialRef | None, what: str = "credential") -> str:
    """How the credential of keyring entry ``credential`` is replaced, as it was given: a
    kubeconfig context's by importing it again (None: a kubeconfig the caller loaded); one
    given by itself (``clusters add --token-file``) in its own entry, or with the cluster
    added again. Importing a kubeconfig would register another cluster beside it."""
    if credential is None or credential.kind is CredentialKind.KUBECONFIG_CONTEXT:
        return REIMPORT
    entry = f"service {credential.service!r}, entry {credential.key!r}"
    if credential.kind is CredentialKind.BEARER_TOKEN:  # the entry holds the token alone
        return (
            f"put the new token in its keyring entry ({entry}), which is read again at the "
            "next 401, or remove the cluster and add it again with the new token"
        )
    # the entry holds the app's JSON (a user name and password, a certificate and key)
    return f"remove the cluster and add it again with the new {what} (its keyring entry: {entry})"


def refused_advice(
    expires_at: float | None, *, what: str = "token", credential: CredentialRef | None = None
) -> str:
    """What a person is told of a credential refused (HTTP 401) that is the one the keyring
    holds (in ``credential``'s entry): when it expired, where that is known and past, and
    how to replace it. Never the credential itself."""
    advice = replace_advice(credential, what)
    if expires_at is not None and expires_at <= time.time():
        when = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"the {what} expired at {when}; {advice}"
    return f"the {what} was revoked or has expired; {advice}"


def _no_passphrase() -> bytes:
    """Asked for a key's passphrase: there is none to give (without this, OpenSSL asks on
    the terminal the app was started from, and the thread waits there for good)."""
    raise CollectorAuthError(LOCKED_KEY)


LOCKED_KEY = (
    "the client key is protected by a passphrase, which the app cannot ask for: "
    "give it the key decrypted (openssl pkey -in KEY -out PLAIN)"
)


def _load_pair(ctx: ssl.SSLContext, cert_pem: str, key_pem: str) -> None:
    """``ctx`` with the client certificate and key, or a CollectorAuthError saying what is
    wrong with them (never quoting them)."""
    if "-----BEGIN CERTIFICATE-----" not in cert_pem:
        raise CollectorAuthError("the client certificate is not a PEM certificate")
    if "PRIVATE KEY-----" not in key_pem:
        raise CollectorAuthError("the client key is not a PEM private key")
    if "ENCRYPTED" in key_pem:
        raise CollectorAuthError(LOCKED_KEY)
    with _pem_file(cert_pem) as cert, _pem_file(key_pem) as key:
        try:
            ctx.load_cert_chain(cert, key, password=_no_passphrase)
        except ssl.SSLError as exc:
            if exc.reason == "KEY_VALUES_MISMATCH":
                raise CollectorAuthError("the client key is not the client certificate's "
                                         "(they do not belong together)") from None  # fmt: skip
            raise CollectorAuthError("the client certificate or key cannot be read "
                                     f"({exc.reason or 'not PEM'})") from None  # fmt: skip


def check_client_pair(cert_pem: str, key_pem: str) -> None:
    """Raise CollectorAuthError if the client certificate and key cannot be used (where
    they are given, not at the first connection)."""
    _load_pair(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), cert_pem, key_pem)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: localhost or a loopback address (a name that
    merely resolves there is not taken on trust)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
