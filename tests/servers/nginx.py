"""nginx in the foreground in front of a backend: bearer-token check, TLS, mTLS, faults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.conftest import require_binary
from tests.servers.processes import ServerProcess, free_port
from tests.servers.tls import TestPki

#: The top of every test nginx.conf: foreground-friendly paths under the work dir.
HEAD = """
user root;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/tmp/body;
  proxy_temp_path {prefix}/tmp/proxy;
  fastcgi_temp_path {prefix}/tmp/fastcgi;
  uwsgi_temp_path {prefix}/tmp/uwsgi;
  scgi_temp_path {prefix}/tmp/scgi;
"""

TEMPLATE = (
    HEAD
    + """  server {{
    listen 127.0.0.1:{bearer_port};
    location / {{
      if ($http_authorization != "Bearer {token}") {{ return 401 '{{"status":"error","error":"unauthorized"}}'; }}
      proxy_pass {upstream};
    }}
  }}
  server {{
    listen 127.0.0.1:{tls_port} ssl;
    ssl_certificate {server_cert};
    ssl_certificate_key {server_key};
    location / {{
      if ($http_authorization != "Bearer {token}") {{ return 401; }}
      proxy_pass {upstream};
    }}
  }}
  server {{
    listen 127.0.0.1:{mtls_port} ssl;
    ssl_certificate {server_cert};
    ssl_certificate_key {server_key};
    ssl_client_certificate {ca_cert};
    ssl_verify_client on;
    location / {{ proxy_pass {upstream}; }}
  }}
  server {{
    listen 127.0.0.1:{fault_port};
    location /error500/ {{ return 500 '{{"status":"error","error":"boom"}}'; }}
    location /malformed/ {{ default_type application/json; return 200 '{{"status":"success","data":'; }}
  }}
}}
"""
)


@dataclass
class RunningNginx:
    process: ServerProcess
    bearer_port: int
    tls_port: int
    mtls_port: int
    fault_port: int
    token: str

    @property
    def bearer_url(self) -> str:
        return f"http://127.0.0.1:{self.bearer_port}"

    @property
    def tls_url(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}"

    @property
    def mtls_url(self) -> str:
        return f"https://127.0.0.1:{self.mtls_port}"

    def fault_url(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.fault_port}/{kind}"

    def stop(self) -> None:
        self.process.stop()


def prepare_workdir(workdir: Path) -> None:
    """The temp folders HEAD points nginx at."""
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / "tmp" / sub).mkdir(parents=True, exist_ok=True)


def start_nginx(workdir: Path, upstream: str, token: str, pki: TestPki) -> RunningNginx:
    nginx = require_binary("nginx")
    prepare_workdir(workdir)
    ports = {name: free_port() for name in ("bearer_port", "tls_port", "mtls_port", "fault_port")}
    conf = workdir / "nginx.conf"
    conf.write_text(
        TEMPLATE.format(
            prefix=workdir,
            upstream=upstream,
            token=token,
            server_cert=pki.server_cert,
            server_key=pki.server_key,
            ca_cert=pki.ca_cert,
            **ports,
        )
    )
    proc = ServerProcess(
        [nginx, "-p", str(workdir), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"],
        cwd=workdir,
        log_name="nginx",
    )
    for port in ports.values():
        proc.wait_for_port(port)
    return RunningNginx(proc, token=token, **ports)
