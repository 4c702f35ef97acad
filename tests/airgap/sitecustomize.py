"""The air gap, for the processes of the air-gap test (on PYTHONPATH, Python imports this at
start): every connection attempt and name lookup that is not loopback is written to the file
named by AIOPS_AIRGAP_LOG and refused. Unix sockets (D-Bus for the keyring) and loopback pass."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import traceback

_LOG = os.environ.get("AIOPS_AIRGAP_LOG", "")
_connect, _connect_ex, _getaddrinfo = (
    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo,
)  # fmt: skip


def _loopback(host: object) -> bool:
    text = str(host).strip("[]")
    if text in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(text.split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> OSError:
    with open(_LOG, "a", encoding="utf-8") as log:
        where = traceback.extract_stack(limit=8)[0]
        log.write(f"{os.getpid()} {what} (from {where.filename}:{where.lineno})\n")
    return OSError(errno.ENETUNREACH, f"air-gapped: {what} refused")


def _check(sock: socket.socket, address: object) -> None:
    inet = sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple)
    if inet and not _loopback(address[0]):  # type: ignore[index]
        raise _refuse(f"connect {address[0]}:{address[1]}")  # type: ignore[index]


def connect(self: socket.socket, address: object) -> None:
    _check(self, address)
    return _connect(self, address)


def connect_ex(self: socket.socket, address: object) -> int:
    _check(self, address)
    return _connect_ex(self, address)


def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    if host is not None and not _loopback(host):
        raise socket.gaierror(socket.EAI_NONAME, str(_refuse(f"lookup {host}")))
    return _getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


if _LOG:
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
