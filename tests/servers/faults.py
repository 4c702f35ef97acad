"""A misbehaving HTTP server on 127.0.0.1, one fault per instance, for the fault matrix.

Faults: refused (nothing listens), never-accept (the listen queue is full: a connect hangs),
accept-and-hang (reads the request, never answers), slow (answers after ``slow_s``), drip
(a byte every ``drip_s``, for ever), 5xx, 401, 403, 429, truncated JSON, wrong shape, an HTML
page, a huge body, huge headers, untrusted TLS (a self-signed certificate), a redirect to
another host, and reset (RST right after the request). Written with sockets, not a framework,
so each fault is exactly what a broken proxy or a hostile host sends.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

FAULTS = (
    "refused", "never-accept", "accept-and-hang", "slow", "drip", "5xx", "401", "403", "429",
    "truncated-json", "wrong-shape", "html", "huge-body", "huge-headers", "untrusted-tls",
    "redirect", "reset",
)  # fmt: skip

HTML = b"<html><head><title>Sign in - Corporate Proxy</title></head><body>...</body></html>"


def _response(status: str, body: bytes, ctype: str = "application/json", extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n{extra}\r\n"
    )
    return head.encode() + body


def self_signed(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "self.crt", folder / "self.key"
    if not cert.exists():
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    return cert, key


class FaultServer:
    """``wrong_shape``: the JSON body that is valid JSON but not what the API documents (each
    source has its own), or under "answer" the well-formed answer to serve; "echo" quotes the
    credential it was sent in a 500; ``huge_body_bytes``: how much the huge body claims and
    sends."""

    def __init__(
        self,
        fault: str,
        *,
        workdir: Path,
        wrong_shape: bytes = b'{"unexpected": [1, 2, 3]}',
        slow_s: float = 3.0,
        drip_s: float = 0.3,
        huge_body_bytes: int = 8 * 2**20,
        tls: bool = False,
    ) -> None:
        """``tls``: serve the fault over TLS with a self-signed certificate (``cert``: trust
        it to reach the fault itself)."""
        assert fault in (*FAULTS, "echo", "answer"), fault
        self.fault = fault
        self.last_authorization = ""
        self.wrong_shape = wrong_shape
        self.slow_s, self.drip_s, self.huge_body_bytes = slow_s, drip_s, huge_body_bytes
        self.requests = 0
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._tls: ssl.SSLContext | None = None
        self.cert: Path | None = None
        self._wrap = tls
        if fault == "untrusted-tls" or tls:
            self.cert, key = self_signed(workdir / "faults-tls")
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(self.cert, key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        if fault == "refused":
            self.sock.close()  # the port is free again: a connect is refused
            return
        if fault == "never-accept":
            self.sock.listen(0)
            for _ in range(4):  # fill the accept queue: further connects are never answered
                filler = socket.socket()
                filler.setblocking(False)
                with contextlib.suppress(BlockingIOError, OSError):
                    filler.connect(("127.0.0.1", self.port))
                self._conns.append(filler)
            return
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self._accepting = threading.Thread(target=self._accept, name=f"fault-{fault}", daemon=True)
        self._accepting.start()

    @property
    def url(self) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    # -- serving ----------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self._conns.append(conn)
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _read_request(self, conn: socket.socket) -> bool:
        conn.settimeout(5)
        data = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return False
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
                if line.lower().startswith(b"authorization:"):
                    self.last_authorization = line.split(b":", 1)[1].strip().decode()
            while len(rest) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                rest += chunk
            self.requests += 1
            return True
        return False

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self._tls is not None:
                conn.settimeout(5)
                try:
                    conn = self._tls.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError):
                    return  # the untrusted case: the client refuses the certificate
                self._conns.append(conn)  # the wrapper is closed at stop, like the socket
                if not self._wrap:
                    self._read_request(conn)
                    return
            if not self._read_request(conn):
                return
            self._answer(conn)
        except OSError:
            return
        finally:
            if self.fault not in ("accept-and-hang",):
                with contextlib.suppress(OSError):
                    conn.close()

    def _answer(self, conn: socket.socket) -> None:  # noqa: PLR0912 (one branch per fault)
        fault = self.fault
        if fault == "echo":  # a server that quotes the credential it was sent in its error
            token = self.last_authorization.partition(" ")[2]
            said = f'{{"error": "bad request: credential {token} is not valid here"}}'.encode()
            conn.sendall(_response("500 Internal Server Error", said))
            return
        if fault == "answer":  # a well-formed answer, whatever it holds (``wrong_shape``)
            conn.sendall(_response("200 OK", self.wrong_shape))
            return
        if fault == "accept-and-hang":
            self._stop.wait()
        elif fault == "slow":
            if not self._stop.wait(self.slow_s):
                conn.sendall(_response("200 OK", self.wrong_shape))
        elif fault == "drip":
            payload = _response("200 OK", b'{"status":"success","data":{}}' + b" " * 10_000)
            for byte in payload:
                if self._stop.wait(self.drip_s):
                    return
                conn.sendall(bytes([byte]))
        elif fault == "5xx":
            conn.sendall(_response("503 Service Unavailable", b'{"error":"upstream down"}'))
        elif fault in ("401", "403", "429"):
            text = {
                "401": "401 Unauthorized",
                "403": "403 Forbidden",
                "429": "429 Too Many Requests",
            }
            conn.sendall(_response(text[fault], b'{"error":"no"}', extra="Retry-After: 30\r\n"))
        elif fault == "truncated-json":
            conn.sendall(_response("200 OK", b'{"status":"success","data":{"resultType":"vec'))
        elif fault == "wrong-shape":
            conn.sendall(_response("200 OK", self.wrong_shape))
        elif fault == "html":
            conn.sendall(_response("200 OK", HTML, ctype="text/html"))
        elif fault == "huge-body":
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {self.huge_body_bytes}\r\nConnection: close\r\n\r\n"
            )
            conn.sendall(head.encode())
            block = b"[" + b"1," * 32767 + b"1"
            sent = 0
            while sent < self.huge_body_bytes and not self._stop.is_set():
                conn.sendall(block[: self.huge_body_bytes - sent])
                sent += len(block)
        elif fault == "huge-headers":
            headers = "".join(f"X-Filler-{i}: {'x' * 1000}\r\n" for i in range(2000))
            conn.sendall(f"HTTP/1.1 200 OK\r\n{headers}Content-Length: 2\r\n\r\n{{}}".encode())
        elif fault == "redirect":
            conn.sendall(
                _response("302 Found", b"", extra="Location: http://evil.example/steal\r\n")
            )
        elif fault == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        if self.fault not in ("refused", "never-accept"):
            self._accepting.join(5)
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()
        with contextlib.suppress(OSError):
            self.sock.close()
        for worker in self._threads:
            worker.join(5)
        time.sleep(0)


class FaultProcess:
    """Fault servers run in a child process, for tests that time the app's own event loop:
    a server thread in the test's process takes the GIL from the loop it measures (every
    drip byte, TLS handshake and huge-body block). ``servers``: name -> (fault, tls); each
    name then has a ``url`` and a ``cert`` like a FaultServer's."""

    def __init__(self, servers: dict[str, tuple[str, bool]], *, workdir: Path) -> None:
        spec = json.dumps({"workdir": str(workdir), "servers": servers})
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.servers.faults", spec],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=Path(__file__).parents[2],
        )  # fmt: skip
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self._proc.wait(10)
            raise RuntimeError(f"the fault servers' process ended: {self._proc.returncode}")
        self.urls: dict[str, str] = {}
        self.certs: dict[str, Path | None] = {}
        for name, (url, cert) in json.loads(line).items():
            self.urls[name] = url
            self.certs[name] = Path(cert) if cert else None

    def stop(self) -> None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        try:
            self._proc.wait(30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(10)
        self._proc.stdout.close()


def _serve_in_child(spec: str) -> None:
    """The child of a FaultProcess: start the servers, print their addresses, serve until
    the parent closes stdin."""
    wanted = json.loads(spec)
    workdir = Path(wanted["workdir"])
    servers = {
        name: FaultServer(fault, workdir=workdir, tls=tls)
        for name, (fault, tls) in wanted["servers"].items()
    }
    answer = {n: (s.url, str(s.cert) if s.cert else "") for n, s in servers.items()}
    print(json.dumps(answer), flush=True)
    sys.stdin.read()
    for server in servers.values():
        server.stop()


if __name__ == "__main__":
    _serve_in_child(sys.argv[1])
