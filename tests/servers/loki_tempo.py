"""The Loki/Tempo stand-in (``loki_tempo_server.py``, a child process) over the Train Ticket
day of ../shared/data/rca/nezha-train-ticket, plain on loopback and behind nginx with TLS
(the test CA) as an OpenShift route would front a LokiStack/TempoStack gateway; the
WebSocket of the live tail passes through nginx too."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.conftest import require_binary
from tests.servers.nginx import HEAD, prepare_workdir
from tests.servers.processes import ServerProcess, free_port
from tests.servers.tls import TestPki

SERVER_SCRIPT = Path(__file__).with_name("loki_tempo_server.py")
DAY = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "rca"
    / "nezha-train-ticket"
    / "2023-01-29"
)
TOKEN, READER_TOKEN = "loki-token", "reader-token"
#: the minutes served: the first faults of the day (contacts-service 08:43 and 08:52,
#: basic-service 09:03) with the quiet minutes before them
FIRST, LAST = "08_40", "09_10"

NGINX = (
    HEAD
    + """  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {server_cert};
    ssl_certificate_key {server_key};
    location / {{
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_buffering off;
      proxy_read_timeout 600s;
      proxy_pass http://127.0.0.1:{upstream};
    }}
  }}
}}
"""
)


@dataclass
class RunningLokiTempo:
    server: ServerProcess
    nginx: ServerProcess
    plain_port: int
    tls_port: int
    ca_pem: str

    @property
    def url(self) -> str:
        """Loki's and Tempo's own paths, plain http."""
        return f"http://127.0.0.1:{self.plain_port}"

    @property
    def gateway_url(self) -> str:
        """The gateway's root over TLS (tenant paths under it, a bearer token wanted)."""
        return f"https://127.0.0.1:{self.tls_port}"

    def fault(self, mode: str, count: int = 1) -> None:
        """The next ``count`` requests answer ``mode`` (429, 500, hang, slow, bigline, binary,
        cut)."""
        answer = httpx.post(f"{self.url}/__fault", params={"mode": mode, "count": count})
        assert answer.status_code == 200

    def requests(self) -> list[str]:
        seen: list[str] = httpx.get(f"{self.url}/__requests").json()
        return seen

    def stop(self) -> None:
        self.nginx.stop()
        self.server.stop()


def start_loki_tempo(workdir: Path, pki: TestPki) -> RunningLokiTempo:
    if not (DAY / "log").is_dir():
        pytest.fail(f"the Train Ticket day the Loki/Tempo stand-in serves is missing: {DAY}")
    workdir.mkdir(parents=True, exist_ok=True)
    upstream = free_port()
    server = ServerProcess(
        [sys.executable, str(SERVER_SCRIPT), "--port", str(upstream), "--day", str(DAY),
         "--first", FIRST, "--last", LAST, "--token", TOKEN, "--reader-token", READER_TOKEN],
        cwd=workdir, log_name="loki-tempo",
    )  # fmt: skip
    try:
        server.wait_for_log("loki-tempo ready", timeout=120)
        server.wait_for_port(upstream)
        prepare_workdir(workdir)
        port = free_port()
        conf = workdir / "nginx.conf"
        pem = {"server_cert": pki.server_cert, "server_key": pki.server_key}
        conf.write_text(NGINX.format(prefix=workdir, port=port, upstream=upstream, **pem))
        nginx = ServerProcess(
            [require_binary("nginx"), "-p", str(workdir), "-c", str(conf), "-e", "stderr",
             "-g", "daemon off;"],
            cwd=workdir, log_name="nginx-loki-tempo",
        )  # fmt: skip
        nginx.wait_for_port(port)
    except BaseException:
        server.stop()
        raise
    return RunningLokiTempo(server, nginx, upstream, port, pki.ca_pem)


@pytest.fixture(scope="session")
def loki_tempo(
    tmp_path_factory: pytest.TempPathFactory, pki: TestPki
) -> Iterator[RunningLokiTempo]:
    running = start_loki_tempo(tmp_path_factory.mktemp("loki-tempo"), pki)
    try:
        yield running
    finally:
        running.stop()


@pytest_asyncio.fixture
async def lab_core(
    tmp_path: Path, loki_tempo: RunningLokiTempo, secret_service: Any
) -> AsyncIterator[Any]:
    """A Core over a fresh cache whose cluster "lab" has the stand-in as Loki and Tempo."""
    from aiops_desktop.models import EndpointKind
    from aiops_desktop.models.registry import ClusterSpec
    from aiops_desktop.secrets import SecretStore
    from aiops_desktop.services.core import Core
    from aiops_desktop.settings import resolve_paths

    core = Core.open(
        resolve_paths(tmp_path / "home"), secrets=SecretStore(secret_service.backend())
    )
    urls = {EndpointKind.LOKI: loki_tempo.url, EndpointKind.TEMPO: loki_tempo.url}
    await core.registry.add(ClusterSpec(name="lab", endpoint_urls=urls))
    try:
        yield core
    finally:
        await core.shutdown()
