"""Start real server binaries on 127.0.0.1 and find the port they bound."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from tests.conftest import require_binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A child process whose output is collected; stopped (and reaped) by ``stop``."""

    def __init__(self, argv: Sequence[str], *, cwd: Path, log_name: str) -> None:
        require_binary(argv[0])
        self.log_path = cwd / f"{log_name}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.argv = list(argv)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = regex.search(self.output())
            if match:
                return match
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.argv[0]} exited ({self.proc.returncode}):\n{self.output()[-3000:]}"
                )
            time.sleep(0.05)
        raise TimeoutError(f"{self.argv[0]} did not log {pattern!r}:\n{self.output()[-3000:]}")

    def wait_for_port(self, port: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited:\n{self.output()[-3000:]}")
            time.sleep(0.05)
        raise TimeoutError(f"{self.argv[0]} did not open port {port}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class SilentServer:
    """Accepts TCP connections and never answers: the 'slow endpoint' fault."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="silent-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self._held.append(conn)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._held:
            conn.close()
        self.sock.close()
