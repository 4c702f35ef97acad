"""A real VictoriaMetrics (single node) on 127.0.0.1: a second PromQL engine and fleet hub."""

from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import require_binary
from tests.servers.processes import ServerProcess, free_port


@dataclass
class RunningVictoria:
    process: ServerProcess
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _post(self, path: str, body: bytes = b"") -> None:
        request = urllib.request.Request(f"{self.url}{path}", data=body, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            assert response.status in (200, 204)

    def import_prometheus_text(self, text: str) -> None:
        """Samples in Prometheus exposition format with millisecond timestamps."""
        self._post("/api/v1/import/prometheus", text.encode())
        self._post("/internal/force_flush")
        time.sleep(1.5)  # the search cache sees flushed data after a moment

    def stop(self) -> None:
        self.process.stop()


def start_victoria(workdir: Path) -> RunningVictoria:
    binary = require_binary("victoria-metrics")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = ServerProcess(
        [
            binary,
            f"-httpListenAddr=127.0.0.1:{port}",
            f"-storageDataPath={workdir / 'data'}",
            "-retentionPeriod=100y",
            "-search.latencyOffset=0s",
            "-search.disableCache",
        ],
        cwd=workdir,
        log_name="victoria-metrics",
    )
    proc.wait_for_port(port)
    return RunningVictoria(proc, port)
