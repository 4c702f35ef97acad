"""One absolute deadline per Kubernetes request, enforced from outside the worker thread.

The official client reads with blocking sockets in a worker thread; its timeouts bound each
read, not the whole answer, so a server that sends a byte every two seconds would hold the
thread (and, at exit, the process) for ever. Each request runs under a ``Deadline``: the
connections it sends on register their socket with it, and when the deadline passes (or the
caller gives up) the sockets are shut down, so the blocked read ends at once and the thread
returns. urllib3's connection classes are extended for it (``track_sockets``), not patched.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()  # the Deadline of the request running on this thread


class Deadline:
    """The sockets one request uses; ``expire`` shuts them down from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = False

    def attach(self, sock: Any) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def __enter__(self) -> Deadline:
        _current.deadline = self
        return self

    def __exit__(self, *exc: object) -> None:
        _current.deadline = None


def _shut(sock: Any) -> None:
    with contextlib.suppress(OSError, ValueError):
        sock.shutdown(socket.SHUT_RDWR)


def register(conn: Any) -> None:
    """Shut ``conn``'s socket (``conn.sock``) when the Deadline of the request running on this
    thread ends (urllib3's connections here; the pods/exec WebSocket in collectors/kubernetes)."""
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None and conn.sock is not None:
        deadline.attach(conn.sock)


class _TrackedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        register(self)


class _TrackedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        register(self)


class _TrackedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TrackedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


def track_sockets(pool_manager: Any) -> bool:
    """Make ``pool_manager`` (urllib3's, as the Kubernetes client builds it) register its
    connections' sockets with the running request's deadline. False where it cannot (a SOCKS
    proxy's own pools): then each read is still bounded by the read timeout."""
    classes = getattr(pool_manager, "pool_classes_by_scheme", None)
    if not isinstance(classes, dict) or classes.get("https") is not HTTPSConnectionPool:
        return False
    pool_manager.pool_classes_by_scheme = {
        "http": _TrackedHTTPConnectionPool,
        "https": _TrackedHTTPSConnectionPool,
    }
    pool_manager.clear()  # pools made before this point (none yet) would not be tracked
    return True
