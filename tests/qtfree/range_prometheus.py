"""A Prometheus on 127.0.0.1 (a thread of the test) that answers every range query with the
series a test function makes for it, in the HTTP API's format, and every other query with
an empty vector: the CLI's analyse reads through it as through a real one."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: (query, start, end, step) -> the matrix result's series ({"metric": ..., "values": ...})
RangeSeries = Callable[[str, float, float, float], list[dict[str, Any]]]


class RangePrometheus:
    def __init__(self, series: RangeSeries) -> None:
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
                    data = {"resultType": "matrix",
                            "result": series(asked["query"], start, end, step)}  # fmt: skip
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
