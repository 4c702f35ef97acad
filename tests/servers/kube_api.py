"""A Kubernetes API on loopback for the integration tests: kmock behind nginx (TLS, tokens).

The API itself is ``kube_api_server.py`` in a child process (its aiohttp loop never meets the
tests' loops); nginx in front terminates TLS with the test CA and maps bearer tokens to users
(``X-Remote-User``), answering 401 in the API server's Status JSON for any other token.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_binary
from tests.servers.kube_api_server import TOKENS
from tests.servers.nginx import HEAD, prepare_workdir
from tests.servers.processes import ServerProcess, free_port
from tests.servers.tls import TestPki

SERVER_SCRIPT = Path(__file__).with_name("kube_api_server.py")
UNAUTHORIZED = json.dumps(
    {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    },
    separators=(",", ":"),
)

NGINX = (
    HEAD
    + """  map $http_authorization $kube_user {{
    default "";
{token_map}
  }}
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {server_cert};
    ssl_certificate_key {server_key};
    default_type application/json;
    location ~ ^/api/v1/namespaces/[^/]+/pods/[^/]+/exec {{
      if ($kube_user = "") {{
        return 401 '{unauthorized}';
      }}
      proxy_set_header X-Remote-User $kube_user;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_pass http://127.0.0.1:{exec_port};
    }}
    location / {{
      if ($kube_user = "") {{
        return 401 '{unauthorized}';
      }}
      proxy_set_header X-Remote-User $kube_user;
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_read_timeout 600s;
      proxy_pass http://127.0.0.1:{upstream};
    }}
  }}
}}
"""
)


@dataclass
class RunningKubeApi:
    api: ServerProcess
    nginx: ServerProcess
    port: int
    ca_pem: str

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.nginx.stop()
        self.api.stop()


def start_kube_api(
    workdir: Path,
    pki: TestPki,
    objects: list[dict[str, Any]],
    *,
    bare: bool = False,
    churn: float = 0.0,
) -> RunningKubeApi:
    """``churn``: Event objects created/updated per second in namespace ``churn`` (0: none),
    streamed to every events watch (the scale benchmark's load)."""
    workdir.mkdir(parents=True, exist_ok=True)
    objects_file = workdir / "objects.json"
    objects_file.write_text(json.dumps(objects))
    upstream, exec_port = free_port(), free_port()
    api = ServerProcess(
        [
            sys.executable,
            str(SERVER_SCRIPT),
            "--port",
            str(upstream),
            "--exec-port",
            str(exec_port),
            "--objects",
            str(objects_file),
            *(["--bare"] if bare else []),
            *(["--churn", f"{churn:g}"] if churn > 0 else []),
        ],
        cwd=workdir,
        log_name="kube-api",
    )
    try:
        api.wait_for_log("kube-api ready")
        prepare_workdir(workdir)
        port = free_port()
        conf = workdir / "nginx.conf"
        conf.write_text(
            NGINX.format(
                prefix=workdir,
                port=port,
                upstream=upstream,
                exec_port=exec_port,
                server_cert=pki.server_cert,
                server_key=pki.server_key,
                unauthorized=UNAUTHORIZED,
                token_map="\n".join(f'    "Bearer {t}" {u};' for t, u in TOKENS.items()),
            )
        )
        nginx = ServerProcess(
            [require_binary("nginx"), "-p", str(workdir), "-c", str(conf), "-e", "stderr",
             "-g", "daemon off;"],
            cwd=workdir,
            log_name="nginx",
        )  # fmt: skip
        nginx.wait_for_port(port)
    except BaseException:
        api.stop()
        raise
    return RunningKubeApi(api, nginx, port, pki.ca_pem)


@pytest.fixture(scope="session")
def kube_api(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Iterator[RunningKubeApi]:
    from tests.servers.kube_objects import cluster_objects

    server = start_kube_api(tmp_path_factory.mktemp("kube-api"), pki, cluster_objects())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def bare_kube_api(
    tmp_path_factory: pytest.TempPathFactory, pki: TestPki
) -> Iterator[RunningKubeApi]:
    """A plain Kubernetes cluster: no operator CRDs, no routes, two worker nodes."""
    from tests.servers.kube_objects import bare_objects

    server = start_kube_api(tmp_path_factory.mktemp("kube-bare"), pki, bare_objects(), bare=True)
    try:
        yield server
    finally:
        server.stop()
