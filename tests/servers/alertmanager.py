"""A real Alertmanager on 127.0.0.1 (no clustering), fed alerts over its v2 API."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import require_binary
from tests.servers.processes import ServerProcess, free_port

CONFIG = """route:
  receiver: "null"
  group_by: [alertname, cluster]
  group_wait: 0s
receivers:
  - name: "null"
"""


@dataclass
class RunningAlertmanager:
    process: ServerProcess
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        now = datetime.now(UTC)
        body = [
            {
                "labels": a["labels"],
                "annotations": a.get("annotations", {}),
                "startsAt": (now - timedelta(minutes=a.get("minutes_ago", 5))).isoformat(),
                "endsAt": (now + timedelta(hours=1)).isoformat(),
                "generatorURL": "http://prometheus.invalid/graph",
            }
            for a in alerts
        ]
        request = urllib.request.Request(  # noqa: S310 (loopback http only)
            f"{self.url}/api/v2/alerts",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            assert response.status == 200

    def stop(self) -> None:
        self.process.stop()


def start_alertmanager(workdir: Path) -> RunningAlertmanager:
    binary = require_binary("prometheus-alertmanager")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "alertmanager.yml").write_text(CONFIG)
    port = free_port()
    proc = ServerProcess(
        [
            binary,
            f"--config.file={workdir / 'alertmanager.yml'}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        cwd=workdir,
        log_name="alertmanager",
    )
    proc.wait_for_port(port)
    return RunningAlertmanager(proc, port)
