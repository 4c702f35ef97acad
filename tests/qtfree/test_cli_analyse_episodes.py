"""`aiops-desktop analyse` run again over a breach that began before its window goes on with
the stored episode (as the service's history analysis does): each run stored a new identity
marked open (its start: the window's first sample), and nothing ever ended those."""

from __future__ import annotations

import json
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from aiops_desktop.models import utcnow
from aiops_desktop.models.errors import EXIT_OK
from aiops_desktop.services.queries import console
from aiops_desktop.settings import resolve_paths
from tests.qtfree.cli_runner import call_main


class _FreerunPrometheus:
    """A Prometheus whose one PTP clock has been in FREERUN (state 0) all along: every range
    query is answered with 0 at each step of the range asked."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                split = urllib.parse.urlsplit(self.path)
                asked = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
                asked.update({k: v[0] for k, v in urllib.parse.parse_qs(split.query).items()})
                if split.path.endswith("/query_range"):
                    start, end, step = (float(asked[k]) for k in ("start", "end", "step"))
                    n = int((end - start) // step) + 1
                    data = {"resultType": "matrix", "result": [
                        {"metric": {"__name__": asked["query"], "node": "du-1"},
                         "values": [[start + i * step, "0"] for i in range(n)]}]}  # fmt: skip
                else:
                    data = {"resultType": "vector", "result": []}
                raw = json.dumps({"status": "success", "data": data}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                self.do_POST()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def freerun() -> Iterator[_FreerunPrometheus]:
    server = _FreerunPrometheus()
    yield server
    server.stop()


def test_analyse_run_again_over_one_ongoing_breach_stores_one_episode(
    tmp_path: Path, freerun: _FreerunPrometheus, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = call_main(tmp_path, "clusters", "add", "lab-1", "--prometheus-url",
                             freerun.url)  # fmt: skip
    assert code == 0, err
    began = utcnow()
    for run in range(3):  # 5 minutes apart: each window begins after the breach began
        later = began + timedelta(minutes=5 * run)
        monkeypatch.setattr(console, "utcnow", lambda at=later: at)
        code, out, err = call_main(tmp_path, "analyse", "--query", "openshift_ptp_clock_state",
                                   "--since", "20m", "--step", "1m", "--json")  # fmt: skip
        assert code == EXIT_OK, err
        [found] = json.loads(out)["anomalies"]
        assert found["severity"] == "CRITICAL"
    with closing(sqlite3.connect(resolve_paths(tmp_path).db_path)) as db:
        rows = db.execute("SELECT COUNT(*) FROM anomalies").fetchone()[0]
    assert rows == 1  # one episode, its start before the first window: not one a run
